"""The asyncio dispatcher end to end: real SimulatedDialer, real clock, a SQLite file.

Reminders are created a fraction of a second to a second ahead, so the whole file runs in
a few seconds; the simulated calls last 0.05 s unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from support.platform import Tenant, make_tenant
from support.platform import settings_for as settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Provider
from dialcues_core.adapters.providers.simulated.voice import SimulatedDialer
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import Dialer
from dialcues_core.dispatch.dispatcher import Dispatcher
from dialcues_core.reminders.model import Reminder, ReminderStatus

T = TypeVar("T")
Factory = Callable[..., Dialcues]


@pytest.fixture
def platform(sqlite_url: str) -> Iterator[Factory]:
    """Open the platform on a fresh SQLite file with settings changed as asked."""
    opened: list[Dialcues] = []

    def open_with(**changes: object) -> Dialcues:
        dc = Dialcues.open(settings=settings_for(sqlite_url, **changes))
        opened.append(dc)
        return dc

    yield open_with
    for dc in opened:
        dc.close()


@asynccontextmanager
async def running(dc: Dialcues, poll_seconds: float | None = None) -> AsyncIterator[Dispatcher]:
    """Run the platform's dispatcher until the block ends, then stop it cleanly."""
    offloader = dc.offloader(threads=4)
    dispatcher = dc.dispatcher(offloader)
    if poll_seconds is not None:
        dispatcher.poll_seconds = poll_seconds
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()
        await asyncio.wait_for(task, 10)
        offloader.shutdown()


def seconds_ahead(seconds: float) -> str:
    """The first whole second at least ``seconds`` from now, as an ISO instant (API precision)."""
    moment = time.time() + seconds
    return datetime.fromtimestamp(math.ceil(moment), tz=UTC).isoformat().replace("+00:00", "Z")


def remind(dc: Dialcues, tenant: Tenant, when: str, phone: str = "+14155550123") -> Reminder:
    """Create a one-off reminder for the tenant's user."""
    return dc.reminders.create(
        tenant.principal,
        {
            "title": "Stand-up",
            "message": "Time for stand-up",
            "phone_number": phone,
            "timezone": "UTC",
            "scheduled_at": when,
        },
    )


def executions_of(dc: Dialcues, tenant: Tenant, reminder: Reminder) -> list[Execution]:
    """The reminder's executions, oldest first."""
    page = dc.executions.list(
        tenant.principal, {"reminder_id": str(reminder.id), "page_size": "100"}
    )
    return sorted(page.items, key=lambda e: e.id)


def status_of(dc: Dialcues, tenant: Tenant, reminder: Reminder) -> ReminderStatus:
    """The reminder's status as stored now."""
    return dc.reminders.get(tenant.principal, reminder.id).status


async def eventually(check: Callable[[], T], within: float) -> T:
    """Return ``check()`` once it is truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"not true within {within} s"
            return value
        await asyncio.sleep(0.02)


def lateness(run: Execution) -> timedelta:
    """How long after its due time an attempt was placed."""
    assert run.executed_at is not None
    return run.executed_at - run.scheduled_for


# ----------------------------------------------------------------------------- dialing
async def test_due_reminders_are_dialed_once_and_completed(platform: Factory) -> None:
    dc = platform()
    tenant = make_tenant(dc)
    when = seconds_ahead(1)
    reminders = [remind(dc, tenant, when) for _ in range(3)]

    async with running(dc) as dispatcher:
        await eventually(
            lambda: all(status_of(dc, tenant, r) is ReminderStatus.COMPLETED for r in reminders),
            within=4,
        )

    runs = [executions_of(dc, tenant, r) for r in reminders]
    assert [[e.status for e in r] for r in runs] == [[ExecutionStatus.COMPLETED]] * 3
    assert dispatcher.dialed == 3


async def test_a_busy_one_off_is_retried_twice_then_fails(platform: Factory) -> None:
    dc = platform(retry_delays=(1, 1))
    tenant = make_tenant(dc)
    reminder = remind(dc, tenant, seconds_ahead(0.5), phone="+14155550002")

    async with running(dc):
        await eventually(lambda: status_of(dc, tenant, reminder) is ReminderStatus.FAILED, within=6)

    runs = executions_of(dc, tenant, reminder)
    assert [(e.attempt, e.status) for e in runs] == [
        (1, ExecutionStatus.BUSY),
        (2, ExecutionStatus.BUSY),
        (3, ExecutionStatus.BUSY),
    ]


async def test_a_stop_waits_briefly_for_calls_in_the_air_and_leaves_none_in_progress(
    platform: Factory,
) -> None:
    dc = platform(simulated_delay=0.5)
    tenant = make_tenant(dc)
    reminder = remind(dc, tenant, seconds_ahead(0.3))
    offloader = dc.offloader(threads=4)
    dispatcher = dc.dispatcher(offloader)
    task = asyncio.create_task(dispatcher.run())
    await eventually(lambda: dispatcher.dialed == 1, within=3)

    started = time.monotonic()
    await dispatcher.stop()
    await asyncio.wait_for(task, 5)
    took = time.monotonic() - started
    offloader.shutdown()

    runs = executions_of(dc, tenant, reminder)
    assert took < 1.5
    assert [e.status for e in runs] == [ExecutionStatus.COMPLETED]
    assert status_of(dc, tenant, reminder) is ReminderStatus.COMPLETED


# ----------------------------------------------------------------------------- waking
async def test_a_new_reminder_wakes_the_dispatcher_instead_of_waiting_for_the_poll(
    platform: Factory,
) -> None:
    dc = platform()
    tenant = make_tenant(dc)

    # A long poll: only wake() can explain a dial on time.
    async with running(dc, poll_seconds=5):
        await asyncio.sleep(0.2)  # the loop found nothing to do and sleeps
        await asyncio.sleep((0.7 - time.time()) % 1.0)  # the next whole second is 0.3 s away
        reminder = remind(dc, tenant, seconds_ahead(0.2))
        (run,) = await eventually(lambda: executions_of(dc, tenant, reminder), within=2)

    assert lateness(run) < timedelta(seconds=0.5)


async def test_a_wake_arriving_while_the_loop_reads_the_next_due_time_is_not_lost(
    platform: Factory,
) -> None:
    # The reminder is committed (and wake() called) while the loop's "when is the next
    # due time?" query is answering: the answer is stale, so only the wake can tell the
    # loop to look again before its (long) poll ends.
    dc = platform()
    tenant = make_tenant(dc)
    offloader = dc.offloader(threads=4)
    dialers: dict[Provider, Dialer] = {}
    created: list[Reminder] = []

    async def offload(fn: Callable[..., Any], *args: Any) -> Any:
        result = await offloader.run(fn, *args)
        if fn == dispatcher.attempts.next_due_at and not created:
            created.append(await offloader.run(remind, dc, tenant, seconds_ahead(0.3)))
        return result

    dispatcher = Dispatcher(dc.attempts(), dialers, offload, dc.settings, dc.clock, poll_seconds=2)
    dialers[Provider.SIMULATED] = SimulatedDialer(dispatcher.on_event, dc.settings.simulated_delay)
    dc.reminders.listeners.append(dispatcher.wake)
    task = asyncio.create_task(dispatcher.run())
    try:
        await eventually(lambda: created, within=2)
        (run,) = await eventually(lambda: executions_of(dc, tenant, created[0]), within=3)
    finally:
        await dispatcher.stop()
        await asyncio.wait_for(task, 5)
        offloader.shutdown()

    assert lateness(run) < timedelta(seconds=0.5)
