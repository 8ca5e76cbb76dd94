"""Place a call now: validation, the queued execution, and the dispatcher path with no reminder.

A SQLite file; the dispatcher runs with the real simulated dialer (0.05 s calls).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.dispatch.attempts import Finished
from dialcues_core.dispatch.dispatcher import Dispatcher
from dialcues_core.errors import InsufficientScope, MissingOutboundLine, ValidationFailed
from dialcues_core.kernel.scopes import ALL_SCOPES, WRITE_CALLS
from dialcues_core.testing import FakeClock

NUMBER = "+14155552671"


def call(**overrides: Any) -> dict[str, Any]:
    """A valid ``place`` payload with ``overrides``."""
    payload: dict[str, Any] = {"to": NUMBER, "message": "Your table is ready"}
    payload.update(overrides)
    return payload


def problems(dc: Dialcues, tenant: Tenant, payload: Any) -> dict[str, str]:
    """Return the fields ``place`` refuses in ``payload``."""
    with pytest.raises(ValidationFailed) as caught:
        dc.calls.place(tenant.principal, payload)
    return caught.value.fields


@asynccontextmanager
async def running(dc: Dialcues) -> AsyncIterator[Dispatcher]:
    """Run the platform's dispatcher until the block ends."""
    offloader = dc.offloader(threads=4)
    dispatcher = dc.dispatcher(offloader)
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()
        await asyncio.wait_for(task, 10)
        offloader.shutdown()


async def settled(dc: Dialcues, tenant: Tenant, execution_id: int) -> Execution:
    """Wait (at most 5 s) until the execution has ended; return it."""
    async with asyncio.timeout(5):
        while True:
            found = dc.executions.get(tenant.principal, execution_id)
            if found.status.is_final:
                return found
            await asyncio.sleep(0.02)


# ----------------------------------------------------------------------------- placing
def test_placed_call_is_a_queued_execution_without_a_reminder(dc: Dialcues, tenant: Tenant) -> None:
    placed = dc.calls.place(tenant.principal, call(title="Table"))
    assert placed.status is ExecutionStatus.QUEUED
    assert (placed.reminder_id, placed.reminder_title, placed.attempt) == (None, "Table", 1)
    assert (placed.to, placed.line_id, placed.executed_at) == (NUMBER, tenant.line.id, None)


def test_placed_call_is_listed_among_the_users_executions(dc: Dialcues, tenant: Tenant) -> None:
    placed = dc.calls.place(tenant.principal, call())
    assert dc.executions.get(tenant.principal, placed.id).status is ExecutionStatus.QUEUED
    assert [e.id for e in dc.executions.list(tenant.principal, {}).items] == [placed.id]


def test_named_line_is_used(dc: Dialcues, tenant: Tenant) -> None:
    other = dc.accounts.add_line(tenant.org.id, "simulated", "+14155550111", label="Second")
    placed = dc.calls.place(tenant.principal, call(vapi_line_id=other.id))
    assert placed.line_id == other.id


def test_placing_wakes_the_listeners_with_the_due_time(dc: Dialcues, tenant: Tenant) -> None:
    woken: list[datetime | None] = []
    dc.calls.listeners.append(woken.append)
    placed = dc.calls.place(tenant.principal, call())
    assert woken == [placed.scheduled_for]


def test_calls_share_the_reminders_listeners(dc: Dialcues) -> None:
    assert dc.calls.listeners is dc.reminders.listeners


# ----------------------------------------------------------------------------- refusals
def test_missing_fields_are_named(dc: Dialcues, tenant: Tenant) -> None:
    assert problems(dc, tenant, {}) == {"to": "is required", "message": "is required"}


def test_unknown_field_is_refused(dc: Dialcues, tenant: Tenant) -> None:
    assert problems(dc, tenant, call(phone_number=NUMBER)) == {
        "phone_number": "is not a known field"
    }


@pytest.mark.parametrize("bad", ["555-1234", "+15555550100", 14155552671, None])
def test_bad_number_is_refused_like_a_reminders(dc: Dialcues, tenant: Tenant, bad: Any) -> None:
    assert set(problems(dc, tenant, call(to=bad))) == {"to"}


@pytest.mark.parametrize("bad", ["", "   ", "x" * 1001, 7])
def test_bad_message_is_refused(dc: Dialcues, tenant: Tenant, bad: Any) -> None:
    assert set(problems(dc, tenant, call(message=bad))) == {"message"}


def test_too_long_title_is_refused(dc: Dialcues, tenant: Tenant) -> None:
    assert set(problems(dc, tenant, call(title="t" * 256))) == {"title"}


def test_another_organizations_line_is_refused(dc: Dialcues, tenant: Tenant) -> None:
    stranger = make_tenant(dc)
    assert set(problems(dc, tenant, call(vapi_line_id=stranger.line.id))) == {"vapi_line_id"}


def test_body_that_is_not_an_object_is_refused(dc: Dialcues, tenant: Tenant) -> None:
    assert problems(dc, tenant, ["to", NUMBER]) == {}


def test_organization_without_a_line_gets_missing_outbound_line(dc: Dialcues) -> None:
    tenant = make_tenant(dc)
    dc.accounts.remove_line(tenant.org.id, tenant.line.id)
    with pytest.raises(MissingOutboundLine):
        dc.calls.place(tenant.principal, call())


def test_credential_without_calls_write_is_refused_first(dc: Dialcues, tenant: Tenant) -> None:
    scopes = frozenset(ALL_SCOPES) - {WRITE_CALLS}
    narrow = dataclasses.replace(tenant.principal, scopes=scopes)
    with pytest.raises(InsufficientScope) as caught:
        dc.calls.place(narrow, {"bad": "payload"})
    assert caught.value.details == {"scope": "calls:write"}


# ----------------------------------------------------------------------------- dispatching
async def test_dispatcher_dials_the_call_and_records_its_outcome(
    dc: Dialcues, tenant: Tenant
) -> None:
    async with running(dc):
        placed = dc.calls.place(tenant.principal, call())
        done = await settled(dc, tenant, placed.id)
    assert done.status is ExecutionStatus.COMPLETED
    assert done.call_id is not None and done.call_id.startswith("sim-")
    assert done.reminder_id is None


async def test_failed_call_is_one_attempt_and_is_not_retried(dc: Dialcues, tenant: Tenant) -> None:
    async with running(dc):
        placed = dc.calls.place(tenant.principal, call(to="+14155550005"))  # failed, retryable
        done = await settled(dc, tenant, placed.id)
    listed = dc.executions.list(tenant.principal, {}).items
    assert done.status is ExecutionStatus.FAILED
    assert [e.id for e in listed] == [placed.id]


@pytest.fixture
def clocked(sqlite_url: str) -> Iterator[tuple[Dialcues, FakeClock]]:
    """The platform on a fake clock."""
    clock = FakeClock(datetime.fromisoformat("2026-03-01T12:00:00+00:00"))
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=clock)
    yield platform, clock
    platform.close()


def test_claim_takes_the_call_and_its_retryable_failure_ends_it(
    clocked: tuple[Dialcues, FakeClock],
) -> None:
    dc, clock = clocked
    tenant = make_tenant(dc)
    placed = dc.calls.place(tenant.principal, call())
    attempts = dc.attempts()
    (claimed,) = attempts.claim(10)
    failed = Finished(placed.id, ExecutionStatus.FAILED, True, clock.now(), error_message="x")
    attempts.finish([failed])
    assert claimed.execution.id == placed.id and claimed.execution.reminder_id is None
    assert dc.executions.get(tenant.principal, placed.id).status is ExecutionStatus.FAILED
    assert attempts.claim(10) == []


def test_call_nobody_dialed_within_the_grace_window_is_missed(
    clocked: tuple[Dialcues, FakeClock],
) -> None:
    dc, clock = clocked
    tenant = make_tenant(dc)
    placed = dc.calls.place(tenant.principal, call())
    clock.advance(timedelta(seconds=dc.settings.max_lateness_seconds + 1).total_seconds())
    assert dc.attempts().claim(10) == []
    assert dc.executions.get(tenant.principal, placed.id).status is ExecutionStatus.MISSED


async def test_call_is_dialed_once_on_each_backend(any_url: str) -> None:
    platform = Dialcues.open(settings=settings_for(any_url))
    try:
        tenant = make_tenant(platform)
        async with running(platform) as dispatcher:
            placed = platform.calls.place(tenant.principal, call())
            done = await settled(platform, tenant, placed.id)
        assert done.status is ExecutionStatus.COMPLETED
        assert dispatcher.dialed == 1
    finally:
        platform.close()
