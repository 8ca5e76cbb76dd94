"""The agent smoke flow in the core: real dispatcher and simulated dialer on a SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ExecutionRow, LineRow, ReminderRow
from dialcues_core.errors import InsufficientScope, SmokeFailed, ValidationFailed
from dialcues_core.kernel.scopes import ALL_SCOPES, WRITE_REMINDERS
from dialcues_core.offload import Offloader
from dialcues_core.platform.smoke import SmokeStep

STEPS = ["create_line", "create_reminder", "dispatch", "outcome", "cleanup"]


@asynccontextmanager
async def offloaded(dc: Dialcues, dispatch: bool) -> AsyncIterator[Offloader]:
    """An offloader, and the platform's dispatcher running when ``dispatch``."""
    offloader = dc.offloader(threads=4)
    dispatcher = dc.dispatcher(offloader) if dispatch else None
    task = asyncio.create_task(dispatcher.run()) if dispatcher is not None else None
    try:
        yield offloader
    finally:
        if dispatcher is not None and task is not None:
            await dispatcher.stop()
            await asyncio.wait_for(task, 10)
        offloader.shutdown()


async def smoke(dc: Dialcues, tenant: Tenant, dispatch: bool = True) -> list[SmokeStep]:
    """Run the smoke flow as the tenant."""
    async with offloaded(dc, dispatch) as offloader:
        return await dc.smoke.run(tenant.principal, offloader.run)


def leftovers() -> tuple[int, int, int]:
    """Count (lines, reminders, executions) in the database."""
    return LineRow.select().count(), ReminderRow.select().count(), ExecutionRow.select().count()


async def test_smoke_with_a_dispatcher_passes_every_step(dc: Dialcues, tenant: Tenant) -> None:
    steps = await smoke(dc, tenant)
    assert [s.name for s in steps] == STEPS
    assert {s.result for s in steps} == {"ok"}
    assert all(s.duration_ms >= 0 for s in steps)


async def test_smoke_leaves_only_the_organizations_own_line(dc: Dialcues, tenant: Tenant) -> None:
    await smoke(dc, tenant)
    assert leftovers() == (1, 0, 0)
    assert [line.id for line in dc.accounts.list_lines(tenant.org.id)] == [tenant.line.id]


async def test_smoke_without_a_dispatcher_fails_at_dispatch(dc: Dialcues, tenant: Tenant) -> None:
    dc.smoke.wait_seconds = 0.3
    with pytest.raises(SmokeFailed) as caught:
        await smoke(dc, tenant, dispatch=False)
    details = caught.value.details or {}
    assert details["step"] == "dispatch"
    assert "no dispatcher" in details["reason"]
    assert [(s["name"], s["result"]) for s in details["steps"]] == [
        ("create_line", "ok"),
        ("create_reminder", "ok"),
        ("dispatch", "failed"),
        ("cleanup", "ok"),
    ]


async def test_failed_smoke_still_cleans_up(dc: Dialcues, tenant: Tenant) -> None:
    dc.smoke.wait_seconds = 0.3
    with pytest.raises(SmokeFailed):
        await smoke(dc, tenant, dispatch=False)
    assert leftovers() == (1, 0, 0)


async def test_smoke_needs_reminders_write_and_creates_nothing_without_it(
    dc: Dialcues, tenant: Tenant
) -> None:
    narrow = dataclasses.replace(tenant.principal, scopes=frozenset(ALL_SCOPES) - {WRITE_REMINDERS})
    async with offloaded(dc, dispatch=False) as offloader:
        with pytest.raises(InsufficientScope):
            await dc.smoke.run(narrow, offloader.run)
    assert leftovers() == (1, 0, 0)


async def test_smoke_refuses_fields_and_creates_nothing(dc: Dialcues, tenant: Tenant) -> None:
    async with offloaded(dc, dispatch=False) as offloader:
        with pytest.raises(ValidationFailed) as caught:
            await dc.smoke.run(tenant.principal, offloader.run, {"wait": 1})
    assert caught.value.fields == {"wait": "is not a known field"}
    assert leftovers() == (1, 0, 0)


async def test_smoke_passes_and_cleans_up_on_each_backend(any_url: str) -> None:
    platform = Dialcues.open(settings=settings_for(any_url))
    try:
        tenant = make_tenant(platform)
        steps = await smoke(platform, tenant)
        assert {s.result for s in steps} == {"ok"}
        assert leftovers() == (1, 0, 0)
    finally:
        platform.close()


async def test_smoke_is_exempt_from_the_calling_gate(dc: Dialcues, tenant: Tenant) -> None:
    """responsible-calling.md section 2: the smoke flow's fictional call passes no gate, even
    when every date around today is blocked, the caps are one a day and a hook would veto."""
    from datetime import UTC, datetime, timedelta

    from dialcues_core.audit.model import Actor

    today = datetime.now(UTC).date()
    blocked = [(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]
    dc.policies.update(
        tenant.org.id,
        {
            "blocked_dates": blocked,
            "frequency_caps": {"per_24h": 1, "per_30d": 1},
            "predial": {"url": "https://93.184.215.14/never", "timeout_ms": 200},
        },
        actor=Actor("admin", "test"),
    )
    first = await smoke(dc, tenant)
    second = await smoke(dc, tenant)
    assert {s.result for s in first + second} == {"ok"}
