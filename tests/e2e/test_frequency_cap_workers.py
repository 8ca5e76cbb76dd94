"""A frequency cap across processes (``responsible-calling.md`` §9; Done when 20): two
`dialcues worker` processes on PostgreSQL, 20 reminders to one number due in the same second.

The organization's cap is 6 a day (set through the core, as an operator would, before the
workers start); with the default lateness cap (3600 s) the wait for the cap to free (24 h) is
past every deadline, so exactly 6 attempts are placed and the other 14 are skipped
``frequency_cap``, whichever worker claims them. The fake Vapi counts the calls it accepted.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta

import pytest

from dialcues_core.adapters.peewee.tables import ExecutionRow, ReminderRow
from dialcues_core.audit.model import Actor
from e2e.support import Stack, running_stack, seed_due, start_worker

pytestmark = pytest.mark.slow
DUE_AT_ONCE = 20
CAP = 6
NUMBER = "+14155552671"


def unfinished() -> int:
    """Count reminders not yet final (completed, or failed after a skip)."""
    return ReminderRow.select().where(ReminderRow.status.in_(["scheduled", "in_progress"])).count()


async def burst(stack: Stack, env: dict[str, str]) -> None:
    """Run two worker processes until every reminder of the burst is final."""
    stack.dc.policies.update(
        stack.org_id,
        {"frequency_caps": {"per_24h": CAP, "per_30d": None}},
        actor=Actor("admin", "test"),
    )
    seed_due(stack, DUE_AT_ONCE, datetime.now(UTC) + timedelta(seconds=2), number=NUMBER)
    procs = [await start_worker(env) for _ in range(2)]
    try:
        await stack.wait_for(lambda: unfinished() == 0, within=30, every=0.2)
        await stack.vapi.settle()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*(proc.wait() for proc in procs))


@pytest.mark.parametrize("claims", ["batched", "interleaved"])
async def test_two_postgres_workers_place_exactly_the_cap_and_skip_the_rest(
    postgres_url: str, claims: str
) -> None:
    async with running_stack(postgres_url, dispatch=False) as stack:
        env = dict(stack.env)
        if claims == "interleaved":  # small claims: both workers take turns at the number
            env["DIALCUES_WORKER_CONCURRENCY"] = "2"
        await burst(stack, env)
        executions = list(ExecutionRow.select().where(ExecutionRow.to_number == NUMBER))
        calls = list(stack.vapi.calls)

    placed = [e for e in executions if e.status not in ("skipped", "missed")]
    skipped = [e for e in executions if e.status == "skipped"]
    assert len(calls) == CAP
    assert len(executions) == DUE_AT_ONCE
    assert len(placed) == CAP
    assert [e.skip_reason for e in skipped] == ["frequency_cap"] * (DUE_AT_ONCE - CAP)
    assert len({e.reminder_id for e in executions}) == DUE_AT_ONCE
