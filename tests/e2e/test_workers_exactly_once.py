"""Exactly once across processes: `dialcues worker` processes against one database.

2,000 reminders fall due in the same second; the fake Vapi counts every call it accepted
and which reminder each was for (our ids travel in ``assistantOverrides.metadata``).
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dialcues_core.adapters.peewee.tables import ReminderRow
from e2e.support import Stack, running_stack, seed_due, start_worker

pytestmark = pytest.mark.slow
BURST = 2000


def calls_per_reminder(stack: Stack) -> Counter[str]:
    """Count the calls the fake accepted, per reminder id."""
    return Counter(
        call["assistantOverrides"]["metadata"]["reminder_id"] for call in stack.vapi.calls
    )


def unfinished() -> int:
    """Count reminders that are not completed yet."""
    return ReminderRow.select().where(ReminderRow.status != "completed").count()


async def burst(stack: Stack, workers: int, kill_one: bool) -> Counter[str]:
    """Run ``workers`` worker processes over a burst (killing one mid-way); count calls."""
    seed_due(stack, BURST, datetime.now(UTC) + timedelta(seconds=3))
    procs = [await start_worker(stack.env) for _ in range(workers)]
    try:
        if kill_one:
            await stack.wait_for(lambda: len(stack.vapi.calls) >= BURST // 5, within=60)
            procs[0].send_signal(signal.SIGKILL)
        await stack.wait_for(lambda: unfinished() == 0, within=120, every=0.5)
        await stack.vapi.settle()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*(proc.wait() for proc in procs))
    return calls_per_reminder(stack)


async def test_three_postgres_workers_dial_each_reminder_once(postgres_url: str) -> None:
    async with running_stack(postgres_url, dispatch=False) as stack:
        counts = await burst(stack, workers=3, kill_one=False)
    assert len(counts) == BURST
    assert set(counts.values()) == {1}


async def test_two_sqlite_workers_dial_each_reminder_once(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        counts = await burst(stack, workers=2, kill_one=False)
    assert len(counts) == BURST
    assert set(counts.values()) == {1}


async def test_killed_postgres_worker_leaves_no_call_twice_and_none_behind(
    postgres_url: str,
) -> None:
    async with running_stack(postgres_url, dispatch=False) as stack:
        counts = await burst(stack, workers=3, kill_one=True)
    assert len(counts) == BURST
    assert set(counts.values()) == {1}


async def test_killed_sqlite_worker_leaves_no_call_twice_and_none_behind(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        counts = await burst(stack, workers=2, kill_one=True)
    assert len(counts) == BURST
    assert set(counts.values()) == {1}
