"""Random series through the real dispatcher's use cases, judged by the window oracle
(responsible-calling.md §4, §5; Done when 8: "no dialed execution has executed_at −
occurrence_at above the cap").

Each scenario draws a zone, a number (one zone, several, a mobile whose zones agree, none), a
window (hours, days, maybe a blocked date, maybe ``reminder_zone``), a cap and a cron series,
then runs the dispatcher on a fake clock from due time to due time for four days, every call
completing at once. Every dialed attempt must be inside the window in the oracle's window
zones, at most the cap after its occurrence and before the series' next occurrence.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from oracle.windows import hours_of, oracle_inside, oracle_window_zones
from support.platform import make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.providers.simulated.voice import simulated_reason
from dialcues_core.audit.model import Actor
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.ports import CallEvent
from dialcues_core.errors import OutsideCallingWindow
from dialcues_core.testing import FakeClock

START = datetime(2027, 3, 11, 0, 0, tzinfo=UTC)  # US DST starts on the 14th, EU on the 28th
ZONES = (
    "America/New_York",
    "Europe/London",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
)
NUMBERS = ("+12125550143", "+14155552671", "+17015550123", "+447911123456", "+18005550199")
SCENARIOS = 40


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock."""
    return FakeClock(START)


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on SQLite, on the fake clock, no retries."""
    platform = Dialcues.open(settings=settings_for(sqlite_url, retry_delays=()), clock=clock)
    yield platform
    platform.close()


def draw(seed: int) -> dict[str, Any]:
    """One scenario."""
    rng = random.Random(seed)
    start, end = rng.randint(6, 10) * 60 + rng.choice((0, 30)), rng.randint(17, 22) * 60
    days = sorted(rng.sample(range(7), rng.randint(4, 7)))
    minute, hours = rng.choice((0, 15, 30, 45)), rng.choice(("*/3", "*/5", "7,12,20", "6-9"))
    return {
        "zone": rng.choice(ZONES),
        "number": rng.choice(NUMBERS),
        "start": start,
        "end": end,
        "days": days,
        "basis": rng.choice(("strictest", "strictest", "reminder_zone")),
        "blocked": [date(2027, 3, 13)] if rng.random() < 0.3 else [],
        "cap": rng.choice((600, 1800, 3600, 7200)),
        "cron": f"{minute} {hours} * * *",
    }


@pytest.mark.parametrize("seed", range(SCENARIOS))
def test_every_dialed_attempt_is_inside_and_on_time(
    dc: Dialcues, clock: FakeClock, seed: int
) -> None:
    s = draw(seed)
    tenant = make_tenant(dc)
    window = {"start": f"{s['start'] // 60:02d}:{s['start'] % 60:02d}"}
    window |= {"end": f"{s['end'] // 60:02d}:{s['end'] % 60:02d}", "days": s["days"]}
    dc.policies.update(
        tenant.org.id,
        {
            "calling_window": window,
            "window_basis": s["basis"],
            "blocked_dates": [d.isoformat() for d in s["blocked"]],
            "max_lateness_seconds": s["cap"],
        },
        actor=Actor("admin", "fuzz"),
    )
    try:
        r = dc.reminders.create(
            tenant.principal,
            {
                "title": "Fuzz",
                "message": "Hello",
                "phone_number": s["number"],
                "timezone": s["zone"],
                "scheduled_at": "2027-03-12T00:00:00",  # after START in every zone
                "recurrence_type": "cron",
                "recurrence_config": {"expression": s["cron"]},
            },
        )
    except OutsideCallingWindow as refused:
        # never inside in 400 days: refused at create (section 4.4), naming the field
        assert set(refused.fields) == {"scheduled_at"}
        assert refused.details is not None and refused.details["window_zones"]
        return
    att = dc.attempts()
    horizon = START + timedelta(days=4)
    while (due := att.next_due_at()) is not None and due < horizon:
        clock.set(max(due, clock.now()))
        for claim in att.claim(10):
            e = claim.execution
            ended = clock.now()
            event = CallEvent(f"sim-{e.id}", e.id, "ended", simulated_reason(e.to), ended_at=ended)
            att.apply_events([(e.id, event)])
    runs = dc.executions.list(tenant.principal, {"reminder_id": str(r.id), "page_size": "100"})
    dialed = [e for e in runs.items if e.executed_at is not None]
    hours = hours_of(s["start"], s["end"], s["days"])
    cap = timedelta(seconds=s["cap"])
    for e in dialed:
        assert e.occurrence_at is not None and e.executed_at is not None
        zones = oracle_window_zones(s["zone"], s["number"], s["basis"], e.executed_at)
        assert oracle_inside(e.executed_at, zones, hours, s["blocked"]), (seed, e)
        assert e.executed_at - e.occurrence_at <= cap, (seed, e)
    assert all(
        e.status in (ExecutionStatus.COMPLETED, ExecutionStatus.SKIPPED, ExecutionStatus.MISSED)
        for e in runs.items
    )
    # each occurrence has one execution; a skipped one had no inside minute before its deadline
    ordered = sorted(runs.items, key=lambda e: e.occurrence_at or START)
    for e, following in itertools.pairwise(ordered):
        if e.status is not ExecutionStatus.SKIPPED:
            continue
        assert e.occurrence_at is not None and following.occurrence_at is not None
        assert e.skip_reason == "outside_calling_window", (seed, e)
        last = min(e.occurrence_at + cap, following.occurrence_at - timedelta(milliseconds=1))
        minute = e.occurrence_at
        while minute <= last:
            zones = oracle_window_zones(s["zone"], s["number"], s["basis"], minute)
            assert not oracle_inside(minute, zones, hours, s["blocked"]), (seed, e, minute)
            minute = minute.replace(second=0, microsecond=0) + timedelta(minutes=1)
