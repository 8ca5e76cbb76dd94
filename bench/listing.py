"""`GET /reminders` at 1M reminders (10k per user) against the same at 10k, in one run.

    .venv/bin/python bench/listing.py [sqlite|postgres]

Measures the core's listing use case (what the REST and gRPC handlers call) for one user:
the default page, a status filter, a date range, a search and a deep page, each repeated,
reporting p50 and p95 in milliseconds. Rows are bulk-inserted with the repository's own
column mapping, so the indexes are the ones the product creates.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))  # the support package

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.adapters.peewee.reminders import reminder_values
from dialcues_core.adapters.peewee.tables import ReminderRow
from dialcues_core.config import Settings
from dialcues_core.reminders.model import Reminder, ReminderStatus

PER_USER = 10_000
QUERIES = {
    "default page": {},
    "status=paused": {"status": "paused"},
    "date range": {"date_from": "2030-01-10T00:00:00Z", "date_to": "2030-01-20T00:00:00Z"},
    "search": {"search": "dentist"},
    "page 400": {"page": "400", "page_size": "20"},
    "updated_at_desc": {"sort": "updated_at_desc"},
}


def seed(dc: Dialcues, users: int) -> Principal:
    """Create ``users`` users with PER_USER reminders each; return the first user."""
    org = dc.accounts.create_organization("Bench")
    line = dc.accounts.add_line(org.id, "simulated", "+14155550100", label="Main")
    first: Principal | None = None
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for u in range(users):
        user = dc.accounts.create_user(org.id, f"u{u}@example.com", f"User {u}")
        first = first or dc.as_user(user.id)
        rows = [
            reminder_values(_reminder(user.id, org.id, line.id, start, i)) for i in range(PER_USER)
        ]
        with dc.db.atomic():
            for at in range(0, len(rows), 1000):
                ReminderRow.insert_many(rows[at : at + 1000]).execute()
    assert first is not None
    return first


def _reminder(user_id: str, org_id: str, line_id: str, start: datetime, i: int) -> Reminder:
    when = start + timedelta(minutes=7 * i)
    status = ReminderStatus.PAUSED if i % 10 == 0 else ReminderStatus.SCHEDULED
    title = "Call the dentist" if i % 500 == 0 else f"Reminder {i}"
    return Reminder(
        id=0,
        user_id=user_id,
        organization_id=org_id,
        title=title,
        message=f"Message {i}",
        phone_number="+14155552671",
        scheduled_at=when,
        timezone="UTC",
        local_time=when.replace(tzinfo=None),
        status=status,
        line_id=line_id,
        line_label=None,
        recurrence=None,
        retry_count=0,
        next_attempt_at=None,
        last_execution_id=None,
        created_at=start,
        updated_at=when,
    )


def measure(dc: Dialcues, me: Principal, repeat: int = 50) -> dict[str, tuple[float, float]]:
    """Return p50/p95 milliseconds of each query."""
    results = {}
    for name, params in QUERIES.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            dc.reminders.list(me, params)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        results[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    return results


def run(url_for: str, users: int) -> dict[str, tuple[float, float]]:
    """Seed a fresh database with ``users`` users and measure."""
    if url_for == "postgres":
        from support.databases import PG_URL, reset_postgres  # tests/ is on sys.path (top)

        reset_postgres()
        url = PG_URL
        dc = Dialcues.open(
            settings=Settings(
                database_url=url,
                rate_limits=None,
                calling_window="off",
                frequency_caps=(None, None),
            )
        )
        me = seed(dc, users)
        dc.db.execute_sql("ANALYZE")
        out = measure(dc, me)
        dc.close()
        return out
    with tempfile.TemporaryDirectory() as tmp:
        dc = Dialcues.open(
            settings=Settings(
                database_url=f"sqlite:///{tmp}/l.db",
                rate_limits=None,
                calling_window="off",
                frequency_caps=(None, None),
            )
        )
        me = seed(dc, users)
        dc.db.execute_sql("ANALYZE")
        out = measure(dc, me)
        dc.close()
        return out


def main(argv: list[str]) -> None:
    """Run 10k then 1M and print them side by side."""
    backend = argv[1] if len(argv) > 1 else "sqlite"
    small = run(backend, 1)
    large = run(backend, 100)
    print(f"{backend}: GET /reminders, p50 / p95 ms (target p50 ≤ 5 ms and flat)")
    print(f"{'query':<18}{'10k rows':>16}{'1M rows':>16}")
    for name in QUERIES:
        s, b = small[name], large[name]
        print(f"{name:<18}{s[0]:>8.2f} /{s[1]:>6.2f}{b[0]:>8.2f} /{b[1]:>6.2f}")


if __name__ == "__main__":
    main(sys.argv)
