"""Numbers suppressed while three worker processes are mid-burst (``responsible-calling.md``
§7 "Serialized per number" and "The guarantee"; Done when 15).

Three ``dialcues worker`` processes and a ``dialcues serve --no-dispatcher`` run on one
database (SQLite, then PostgreSQL) with the simulated dialer, the calling window and frequency
caps off; 3,000 reminders to 30 numbers then fall due at once, round-robin, so every number's
attempts spread over the whole burst. Once a quarter of the burst is placed, three of the
numbers are suppressed one after another through ``POST /suppressions``, and the instant each
answer arrived is taken here, on the clock the workers stamp ``executed_at`` (placed) and
``ended_at`` (skipped) with. Then:

- no attempt to a suppressed number is placed at or after that instant, and every attempt
  decided after it is ``skipped`` with ``skip_reason: "suppressed"`` — while attempts claimed
  before it were dialed (the burst really was under way);
- every reminder to it not delivered before the add answered ends ``suppressed`` (one whose
  call was in the air ends so too: §2 "when an occurrence ends");
- the other numbers are dialed as usual, each reminder once.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ExecutionRow, ReminderRow, WorkerRow
from dialcues_core.testing import insert_reminders, one_off_reminder
from e2e.support import BASE, free_port, start_worker, worker_env

NUMBERS = [f"+1415200{1000 + i}" for i in range(30)]
"""Endings 1000–1029: none is one of the simulated dialer's special endings (all complete)."""
SUPPRESSED = NUMBERS[3::10]
BURST = 3000
PER_NUMBER = BURST // len(NUMBERS)
WORKERS = 3
WORKER_SETTINGS = {
    # small claims (at most 16 calls in flight per worker): the three workers take turns
    # at every number all through the burst, which lasts a few seconds
    "DIALCUES_WORKER_CONCURRENCY": "16",
    "DIALCUES_SIMULATED_DELAY": "0.05",
}


@dataclass(frozen=True)
class Added:
    """A number suppressed mid-burst, and the instant its add answered."""

    number: str
    answered: datetime


def decided_at(e: ExecutionRow) -> datetime:
    """When the claim decided an attempt: placed at ``executed_at``, skipped at ``ended_at``."""
    at: datetime = e.executed_at if e.executed_at is not None else e.ended_at
    return at


def tenant(dc: Dialcues) -> tuple[str, str, str, str]:
    """An organization with a simulated line and a user: (org, user, line ids, raw API key)."""
    org = dc.accounts.create_organization("Race")
    line = dc.accounts.add_line(org.id, "simulated", "+14155550100", label="Sim", default=True)
    user = dc.accounts.create_user(org.id, "race@example.com", "Race")
    return org.id, user.id, line.id, dc.accounts.create_api_key(user.id).raw


def seed_burst(dc: Dialcues, org: str, user: str, line: str, due: datetime) -> None:
    """The burst: ``BURST`` one-offs due at ``due``, to the numbers in turn."""
    numbers = itertools.islice(itertools.cycle(NUMBERS), BURST)
    insert_reminders(
        dc, [one_off_reminder(user, org, line, due, title="Race", phone_number=n) for n in numbers]
    )


def placed() -> int:
    """Attempts placed so far."""
    return ExecutionRow.select().where(ExecutionRow.executed_at.is_null(False)).count()


def unfinished() -> int:
    """Reminders not final yet."""
    return ReminderRow.select().where(ReminderRow.status.in_(["scheduled", "in_progress"])).count()


async def until(check: Callable[[], bool], within: float, every: float = 0.02) -> None:
    """Poll ``check`` until it holds (the database reads are a few milliseconds each)."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(every)


@asynccontextmanager
async def serving(env: dict[str, str], key: str) -> AsyncIterator[aiohttp.ClientSession]:
    """Run ``dialcues serve --no-dispatcher``; yield a session of the key at its REST root."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "dialcues_cli.main", "serve", "--no-dispatcher"),
        *("--rest-port", env["DIALCUES_REST_PORT"], "--grpc-port", str(free_port())),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    root, auth = env["DIALCUES_PUBLIC_URL"], {"Authorization": f"Bearer {key}"}
    try:
        async with aiohttp.ClientSession(root, headers=auth) as session:
            yield session
    finally:
        await stop([proc])


async def healthy(session: aiohttp.ClientSession) -> None:
    """Wait until the server answers ``/healthz``."""
    async with asyncio.timeout(60):
        while True:
            try:
                async with session.get("/healthz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


async def stop(procs: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM the processes still running; wait for all."""
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    await asyncio.gather(*(proc.wait() for proc in procs))


async def suppress(session: aiohttp.ClientSession, number: str) -> Added:
    """``POST /suppressions`` the number; return it with the instant the answer arrived."""
    async with session.post(f"{BASE}/suppressions", json={"phone_number": number}) as reply:
        assert reply.status == 201, await reply.text()
    return Added(number, datetime.now(UTC))


async def burst(dc: Dialcues, url: str) -> list[Added]:
    """Run the workers over the burst, suppressing ``SUPPRESSED`` once a quarter is placed."""
    org, user, line, key = tenant(dc)
    port = free_port()
    env = worker_env(url, f"http://127.0.0.1:{port}") | WORKER_SETTINGS
    env["DIALCUES_REST_PORT"] = str(port)
    async with serving(env, key) as api:
        procs = [await start_worker(env) for _ in range(WORKERS)]
        try:
            await healthy(api)
            await until(lambda: WorkerRow.select().count() == WORKERS, within=60, every=0.1)
            seed_burst(dc, org, user, line, datetime.now(UTC) + timedelta(seconds=0.5))
            await until(lambda: placed() >= BURST // 4, within=60)
            added = [await suppress(api, number) for number in SUPPRESSED]
            await until(lambda: unfinished() == 0, within=60, every=0.2)
        finally:
            await stop(procs)
    return added


def check_suppressed(a: Added) -> None:
    """The number's attempts and reminders after the add answered (module docstring)."""
    executions = list(ExecutionRow.select().where(ExecutionRow.to_number == a.number))
    dialed = [e for e in executions if e.executed_at is not None]
    late = [(e.id, e.status, e.skip_reason) for e in dialed if e.executed_at >= a.answered]
    assert not late, f"{a.number} placed after its entry answered at {a.answered}: {late}"
    after = {(e.status, e.skip_reason) for e in executions if decided_at(e) >= a.answered}
    assert after <= {("skipped", "suppressed")}
    outcomes = {(e.status, e.skip_reason) for e in executions}
    assert outcomes == {("completed", None), ("skipped", "suppressed")}, "not mid-burst"
    assert len({e.reminder_id for e in executions}) == len(executions) == PER_NUMBER
    by_reminder = {e.reminder_id: e for e in executions}
    for r in ReminderRow.select().where(ReminderRow.phone_number == a.number):
        e = by_reminder[r.id]
        delivered = e.status == "completed" and e.ended_at < a.answered
        assert r.status == "suppressed" or (r.status == "completed" and delivered), (r.id, e.id)


async def test_no_attempt_to_a_number_starts_after_its_suppression_answered(
    any_url: str,
) -> None:
    dc = Dialcues.open(settings=settings_for(any_url))
    try:
        added = await burst(dc, any_url)
        for a in added:
            check_suppressed(a)
        others = ReminderRow.select().where(ReminderRow.phone_number.not_in(SUPPRESSED))
        outcomes = ExecutionRow.select().where(ExecutionRow.to_number.not_in(SUPPRESSED))
        unaffected = BURST - len(SUPPRESSED) * PER_NUMBER
        assert Counter(r.status for r in others) == {"completed": unaffected}
        assert Counter(e.status for e in outcomes) == {"completed": unaffected}
    finally:
        dc.close()
