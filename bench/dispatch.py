"""Dispatch benchmarks of ``targets.md``, each beside its baseline in the same run.

    .venv/bin/python bench/dispatch.py lateness      # 1,000 due in one second, simulated lines
    .venv/bin/python bench/dispatch.py sqlite        # 10,000 due at once vs a plain-sqlite3 floor
    .venv/bin/python bench/dispatch.py postgres      # 10,000 due, 50 ms creates: 1 vs 2 workers
    .venv/bin/python bench/dispatch.py gate          # 10,000 due, gate on (100 suppressed) vs off
    .venv/bin/python bench/dispatch.py all

Rate limits are off; every run uses a fresh database (a temporary SQLite file, or the
PostgreSQL database named by DIALCUES_BENCH_PG_URL, default the local ``test`` database,
which is emptied).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))  # the support package

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Provider
from dialcues_core.adapters.peewee.tables import ExecutionRow
from dialcues_core.adapters.providers.simulated.voice import SimulatedDialer
from dialcues_core.config import Settings
from dialcues_core.dispatch.dispatcher import Dispatcher
from dialcues_core.testing import insert_reminders, one_off_reminder

PG_URL = os.environ.get("DIALCUES_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def settings(url: str, **changes: Any) -> Settings:
    """Benchmark settings: rate limits off, no simulated delay, and (as
    ``responsible-calling.md`` §19 asks of benchmarks not about them) the calling window and
    frequency caps off."""
    base = Settings(
        database_url=url,
        rate_limits=None,
        simulated_delay=0.0,
        calling_window="off",
        frequency_caps=(None, None),
    )
    return base.replace(**changes)


def distinct_number(i: int) -> str:
    """The ``i``-th of the distinct San Francisco numbers; they end in 1000-9999, so none is
    one of the simulated dialer's outcome numbers (every call completes)."""
    return f"+1415{2_000_000 + (i // 9000) * 10_000 + 1000 + i % 9000:07d}"


def seed(dc: Dialcues, count: int, due: datetime, *, distinct: bool = False) -> str:
    """Create one tenant and ``count`` one-off reminders all due at ``due`` (to one number, or
    to ``count`` distinct San Francisco numbers); return the organization's id."""
    org = dc.accounts.create_organization("Bench")
    user = dc.accounts.create_user(org.id, "bench@example.com", "Bench")
    line = dc.accounts.add_line(org.id, "simulated", "+14155550100", label="Bench")
    numbers = (distinct_number(i) if distinct else "+14155552671" for i in range(count))
    insert_reminders(
        dc,
        [
            one_off_reminder(user.id, org.id, line.id, due, title="Bench", phone_number=number)
            for number in numbers
        ],
    )
    return org.id


def finished(dc: Dialcues) -> int:
    """Count executions whose outcome is recorded."""
    live = ["in_progress", "queued"]
    return ExecutionRow.select().where(ExecutionRow.status.not_in(live)).count()


async def dispatch_until(
    dc: Dialcues, count: int, create_latency: float = 0.0, give_up: float = 600
) -> float:
    """Run one in-process dispatcher until ``count`` executions finished; return seconds."""
    offloader = dc.offloader(int(os.environ.get("BENCH_THREADS", "8")))
    dialers: dict[Provider, Any] = {}
    dispatcher = Dispatcher(dc.attempts(), dialers, offloader.run, dc.settings, dc.clock)
    dialers[Provider.SIMULATED] = SimulatedDialer(dispatcher.on_event, 0.0, create_latency)
    started = time.perf_counter()
    task = asyncio.create_task(dispatcher.run())
    while await offloader.run(finished, dc) < count:
        if time.perf_counter() - started > give_up:
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await dispatcher.stop()
    await task
    offloader.shutdown()
    return elapsed


# ----------------------------------------------------------------------------- lateness
def bench_lateness(count: int = 1000) -> dict[str, float]:
    """1,000 reminders due in the same second: lateness = executed_at − scheduled_for."""
    with tempfile.TemporaryDirectory() as tmp:
        dc = Dialcues.open(settings=settings(f"sqlite:///{tmp}/lateness.db"))
        due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
        seed(dc, count, due)
        asyncio.run(dispatch_until(dc, count))
        late = sorted(
            (e.executed_at - e.scheduled_for).total_seconds()
            for e in ExecutionRow.select(ExecutionRow.executed_at, ExecutionRow.scheduled_for)
        )
        dc.close()
    p50, p99 = statistics.median(late), late[int(len(late) * 0.99) - 1]
    print(
        f"lateness over {count} calls: p50 {p50:.3f} s (target ≤ 0.1), "
        f"p99 {p99:.3f} s (target ≤ 0.5), max {late[-1]:.3f} s"
    )
    return {"p50": p50, "p99": p99}


# ----------------------------------------------------------------------------- sqlite
def bench_sqlite(count: int = 10_000) -> dict[str, float]:
    """Dialcues on SQLite vs the plain-sqlite3 floor doing the same commits."""
    with tempfile.TemporaryDirectory() as tmp:
        dc = Dialcues.open(settings=settings(f"sqlite:///{tmp}/dispatch.db"))
        seed(dc, count, datetime.now(UTC) - timedelta(seconds=1))
        ours = count / asyncio.run(dispatch_until(dc, count))
        dc.close()
        floor_db = f"{tmp}/floor.db"
        dc = Dialcues.open(settings=settings(f"sqlite:///{floor_db}"))
        seed(dc, count, datetime.now(UTC) - timedelta(seconds=1))
        dc.close()
        floor = count / sqlite_floor(floor_db)
    print(
        f"SQLite dispatch of {count}: {ours:,.0f} rows/s; plain-sqlite3 floor {floor:,.0f} "
        f"rows/s; ratio {ours / floor:.0%} (target ≥ 50 %)"
    )
    return {"ours": ours, "floor": floor}


def sqlite_floor(path: str, batch: int = 100) -> float:
    """The floor: per batch, claim + insert executions (commit), then outcomes (commit)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=normal")
    started = time.perf_counter()
    while True:
        now = int(time.time() * 1000)
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(
            "UPDATE reminders SET status='in_progress', due_at=NULL WHERE id IN (SELECT id FROM"
            " reminders WHERE status='scheduled' AND due_at <= ? ORDER BY due_at LIMIT ?)"
            " RETURNING id, user_id, organization_id, title, phone_number, message, scheduled_at",
            (now, batch),
        ).fetchall()
        if not rows:
            conn.execute("COMMIT")
            break
        ids = [
            conn.execute(
                "INSERT INTO executions (user_id, organization_id, reminder_id, reminder_title,"
                " status, attempt, to_number, message, scheduled_for, executed_at, lease_until,"
                " created_at) VALUES (?,?,?,?,'in_progress',1,?,?,?,?,?,?) RETURNING id",
                (r[1], r[2], r[0], r[3], r[4], r[5], r[6], now, now + 120_000, now),
            ).fetchone()[0]
            for r in rows
        ]
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "UPDATE executions SET status='completed', ended_at=?, call_id=?, lease_until=NULL"
            " WHERE id=?",
            [(now, f"c{i}", i) for i in ids],
        )
        conn.executemany(
            "UPDATE reminders SET status='completed', last_execution_id=?, updated_at=? WHERE id=?",
            [(i, now, r[0]) for i, r in zip(ids, rows, strict=True)],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


# ----------------------------------------------------------------------------- postgres
def _pg_worker(count: int, ready: Any, go: Any, result: Any) -> None:
    dc = Dialcues.open(settings=settings(PG_URL, worker_concurrency=64), migrate=False)
    ready.set()
    go.wait()
    result.put(asyncio.run(dispatch_until(dc, count, create_latency=0.05)))


def run_pg_workers(workers: int, count: int) -> float:
    """Seed PostgreSQL and dispatch ``count`` reminders with ``workers`` processes."""
    from support.databases import reset_postgres  # tests/ is on sys.path (top)

    reset_postgres(PG_URL)
    dc = Dialcues.open(settings=settings(PG_URL))
    seed(dc, count, datetime.now(UTC) - timedelta(seconds=1))
    dc.close()
    ctx = multiprocessing.get_context("spawn")
    ready, go, result = [ctx.Event() for _ in range(workers)], ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_pg_worker, args=(count, ready[i], go, result)) for i in range(workers)
    ]
    for p in procs:
        p.start()
    for r in ready:
        r.wait()
    go.set()
    elapsed = max(result.get() for _ in procs)
    for p in procs:
        p.join()
    return elapsed


def pg_duplicates() -> int:
    """Count reminders dialed more than once in the last run."""
    dc = Dialcues.open(settings=settings(PG_URL), migrate=False)
    rows = dc.db.execute_sql(
        "SELECT COUNT(*) FROM (SELECT reminder_id FROM executions GROUP BY reminder_id"
        " HAVING COUNT(*) > 1) d"
    ).fetchone()
    dc.close()
    return int(rows[0])


def bench_postgres(count: int = 10_000) -> dict[str, float]:
    """1 worker vs 2 workers on PostgreSQL with 50 ms creates."""
    one = count / run_pg_workers(1, count)
    dup_one = pg_duplicates()
    two = count / run_pg_workers(2, count)
    dup_two = pg_duplicates()
    print(
        f"PostgreSQL dispatch of {count} (50 ms creates, 64 in flight per worker): "
        f"1 worker {one:,.0f} rows/s, 2 workers {two:,.0f} rows/s, "
        f"speed-up {two / one:.2f}× (target ≥ 1.6×); duplicates {dup_one} / {dup_two}"
    )
    return {"one": one, "two": two, "duplicates": dup_one + dup_two}


# ----------------------------------------------------------------------------- the gate
GATED_POLICY = {
    # open at any minute but the last of the day, so the window is read in both zones
    # (the reminders' UTC and the numbers' America/Los_Angeles) on every claim
    "calling_window": {"start": "00:00", "end": "23:58"},
    "frequency_caps": {"per_24h": 6, "per_30d": 10},
}
SUPPRESSED = 100
"""How many of the gated run's numbers are on the suppression list (every 100th)."""


def bench_gate(count: int = 10_000) -> dict[str, float]:
    """Dispatch with the gate (window open, caps 6/24 h and 10/30 d, distinct numbers, 100 of
    them suppressed) vs the same run with the window and caps off and no suppressions
    (``responsible-calling.md`` §22). Exits 1 unless exactly the 100 suppressed are skipped."""
    results: dict[str, float] = {}
    for name in ("off", "gated"):
        with tempfile.TemporaryDirectory() as tmp:
            dc = Dialcues.open(settings=settings(f"sqlite:///{tmp}/gate.db"))
            org = seed(dc, count, datetime.now(UTC) - timedelta(seconds=1), distinct=True)
            if name == "gated":
                gate_on(dc, org, [distinct_number(i) for i in range(0, count, count // SUPPRESSED)])
            results[name] = count / asyncio.run(dispatch_until(dc, count))
            results[f"{name}_skipped"], results[f"{name}_suppressed"] = skipped_counts()
            dc.close()
    ratio = results["gated"] / results["off"]
    print(
        f"dispatch with the gate, {count} reminders to distinct numbers ({SUPPRESSED} suppressed):"
        f" {results['gated']:,.0f} rows/s; window and caps off, no suppressions"
        f" {results['off']:,.0f} rows/s; ratio {ratio:.0%} (target >= 80 %); skipped"
        f" {results['gated_skipped']:.0f}, of which suppressed {results['gated_suppressed']:.0f}"
        f" (target exactly {SUPPRESSED}); baseline skipped {results['off_skipped']:.0f}"
    )
    if (results["gated_skipped"], results["gated_suppressed"]) != (SUPPRESSED, SUPPRESSED):
        raise SystemExit(f"expected exactly {SUPPRESSED} skipped executions, all suppressed")
    return results


def gate_on(dc: Dialcues, org: str, suppressed: list[str]) -> None:
    """Give the organization the gated policy and put ``suppressed`` on its list."""
    from dialcues_core.audit.model import Actor

    admin = Actor("admin", "bench")
    dc.policies.update(org, GATED_POLICY, actor=admin)
    for number in suppressed:
        dc.suppressions.add_for(org, {"phone_number": number}, admin)


def skipped_counts() -> tuple[int, int]:
    """Count skipped executions, and those skipped ``suppressed``."""
    skipped = ExecutionRow.select().where(ExecutionRow.status == "skipped")
    return skipped.count(), skipped.where(ExecutionRow.skip_reason == "suppressed").count()


def main(argv: list[str]) -> None:
    """Run the benchmarks named on the command line."""
    which = argv[1:] or ["all"]
    if "lateness" in which or "all" in which:
        bench_lateness()
    if "sqlite" in which or "all" in which:
        bench_sqlite()
    if "postgres" in which or "all" in which:
        bench_postgres()
    if "gate" in which or "all" in which:
        bench_gate()


if __name__ == "__main__":
    main(sys.argv)
