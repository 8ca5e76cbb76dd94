"""The agent smoke flow's temporary line serves only its own reminder (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import OutboundLine
from dialcues_core.adapters.peewee import database
from dialcues_core.errors import MissingOutboundLine, NotFound, ValidationFailed
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.platform.smoke import _Flow

PAYLOAD = {"to": "+14155552671", "message": "Hello"}


@pytest.fixture
def platform(any_url: str) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file, then on the real PostgreSQL."""
    opened = Dialcues.open(settings=settings_for(any_url))
    yield opened
    opened.close()


def lineless_tenant(dc: Dialcues, email: str) -> Tenant:
    """A user of a new organization without any line of its own."""
    org = dc.accounts.create_organization("No lines")
    return member(dc, org.id, email)


def member(dc: Dialcues, org_id: str, email: str) -> Tenant:
    """Another user (with every scope) of the organization ``org_id``."""
    user = dc.accounts.create_user(org_id, email, "Jane")
    issued = dc.accounts.create_api_key(user.id, name="test", scopes=sorted(ALL_SCOPES))
    principal = dc.authenticate(issued.raw)
    org = dc.accounts.get_organization(org_id)
    return Tenant(org, user, None, issued.raw, principal)  # type: ignore[arg-type]


def smoke_line(dc: Dialcues, tenant: Tenant) -> OutboundLine:
    """Create the smoke flow's temporary line the way the flow does (its first step only)."""
    flow = _Flow(dc.smoke, tenant.principal, _inline)
    asyncio.run(flow.create_line())
    assert flow.line is not None
    return flow.line


async def _inline(fn: Any, *args: Any) -> Any:
    return fn(*args)


def test_another_users_call_does_not_fall_back_to_the_smoke_line(platform: Dialcues) -> None:
    runner = lineless_tenant(platform, "runner@example.com")
    other = member(platform, runner.org.id, "other@example.com")
    smoke_line(platform, runner)

    with pytest.raises(MissingOutboundLine):
        platform.calls.place(other.principal, PAYLOAD)


def test_another_users_reminder_does_not_fall_back_to_the_smoke_line(platform: Dialcues) -> None:
    runner = lineless_tenant(platform, "runner@example.com")
    other = member(platform, runner.org.id, "other@example.com")
    smoke_line(platform, runner)
    payload = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155550123",
        "timezone": "UTC",
        "scheduled_at": "2030-01-01T00:05:00Z",
    }

    with pytest.raises(MissingOutboundLine):
        platform.reminders.create(other.principal, payload)


def test_the_smoke_line_cannot_be_named(platform: Dialcues) -> None:
    runner = lineless_tenant(platform, "runner@example.com")
    other = member(platform, runner.org.id, "other@example.com")
    line = smoke_line(platform, runner)

    with pytest.raises(ValidationFailed) as caught:
        platform.calls.place(other.principal, {**PAYLOAD, "vapi_line_id": line.id})
    assert "vapi_line_id" in caught.value.fields
    with pytest.raises(NotFound):
        platform.accounts.set_default_line(runner.org.id, line.id)
    with pytest.raises(NotFound):
        platform.accounts.remove_line(runner.org.id, line.id)


def test_the_smoke_line_is_not_listed(platform: Dialcues) -> None:
    runner = lineless_tenant(platform, "runner@example.com")
    smoke_line(platform, runner)

    assert platform.accounts.lines_of(runner.principal) == []
    assert platform.accounts.list_lines(runner.org.id) == []


def test_a_line_added_during_a_smoke_run_becomes_the_default(platform: Dialcues) -> None:
    runner = lineless_tenant(platform, "runner@example.com")
    smoke_line(platform, runner)

    added = platform.accounts.add_line(runner.org.id, "simulated", "+14155550100", label="Main")

    assert added.is_default
    assert platform.calls.place(runner.principal, PAYLOAD).line_id == added.id


def test_the_smoke_run_passes_in_an_organization_without_lines(platform: Dialcues) -> None:
    runner = lineless_tenant(platform, "runner@example.com")

    async def run() -> None:
        offloader = platform.offloader(threads=4)
        dispatcher = platform.dispatcher(offloader)
        task = asyncio.create_task(dispatcher.run())
        try:
            steps = await platform.smoke.run(runner.principal, offloader.run)
        finally:
            await dispatcher.stop()
            await asyncio.wait_for(task, 10)
            offloader.shutdown()
        assert {s.result for s in steps} == {"ok"}

    asyncio.run(run())
    assert platform.accounts.list_lines(runner.org.id) == []


def test_v7_adds_the_column_to_a_database_without_it(platform: Dialcues) -> None:
    db = platform.db
    with db.atomic():
        db.execute_sql("ALTER TABLE outbound_lines DROP COLUMN temporary")
        db.execute_sql("DELETE FROM schema_version WHERE version >= 7")
    assert "temporary" not in {c.name for c in db.get_columns("outbound_lines")}

    assert database.migrate(db) == len(database.MIGRATIONS)

    assert "temporary" in {c.name for c in db.get_columns("outbound_lines")}
    runner = lineless_tenant(platform, "runner@example.com")
    smoke_line(platform, runner)
    assert platform.accounts.list_lines(runner.org.id) == []
