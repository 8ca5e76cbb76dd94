"""Recurring reminders through the dispatcher's use cases, across DST, on a fake clock.

Each test dials occurrence after occurrence (claim → delivered) and asserts the literal
UTC instants the series rang at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.platform import make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.dispatch.attempts import Attempts, Finished
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    platform = Dialcues.open(settings=settings_for(any_url, retry_delays=(300, 900)), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def me(dc: Dialcues) -> Principal:
    return make_tenant(dc).principal


def schedule(dc: Dialcues, me: Principal, **fields: Any) -> int:
    body = {"title": "T", "message": "M", "phone_number": "+14155552671", **fields}
    return dc.reminders.create(me, body).id


def ring(
    dc: Dialcues, clock: FakeClock, me: Principal, rid: int, outcome: str = "completed"
) -> str:
    """Move the clock to the reminder's next attempt, dial it, finish it; return when it rang."""
    reminder = dc.reminders.get(me, rid)
    due = reminder.next_attempt_at or reminder.scheduled_at
    clock.set(due)
    att: Attempts = dc.attempts()
    (claim,) = att.claim(10)
    status = ExecutionStatus(outcome)
    att.finish(
        [Finished(claim.execution.id, status, status is not ExecutionStatus.COMPLETED, clock.now())]
    )
    return due.isoformat().replace("+00:00", "Z")


def rings(dc: Dialcues, clock: FakeClock, me: Principal, rid: int, times: int) -> list[str]:
    return [ring(dc, clock, me, rid) for _ in range(times)]


def test_daily_nine_am_new_york_keeps_local_time_across_spring_forward(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="America/New_York",
        scheduled_at="2026-03-07T09:00:00",
        recurrence_type="daily",
    )
    assert rings(dc, clock, me, rid, 3) == [
        "2026-03-07T14:00:00Z",
        "2026-03-08T13:00:00Z",
        "2026-03-09T13:00:00Z",
    ]


def test_daily_time_in_the_spring_gap_rings_offset_shifted(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="America/New_York",
        scheduled_at="2026-03-07T02:30:00",
        recurrence_type="daily",
    )
    assert rings(dc, clock, me, rid, 3) == [
        "2026-03-07T07:30:00Z",
        "2026-03-08T07:30:00Z",
        "2026-03-09T06:30:00Z",
    ]


def test_daily_time_in_the_fall_overlap_rings_once_at_the_first(dc, clock, me) -> None:
    clock.set(datetime(2026, 10, 30, tzinfo=UTC))
    rid = schedule(
        dc,
        me,
        timezone="America/New_York",
        scheduled_at="2026-10-31T01:30:00",
        recurrence_type="daily",
    )
    assert rings(dc, clock, me, rid, 3) == [
        "2026-10-31T05:30:00Z",
        "2026-11-01T05:30:00Z",
        "2026-11-02T06:30:00Z",
    ]


def test_weekly_london_across_the_spring_gap(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="Europe/London",
        scheduled_at="2026-03-22T01:30:00",
        recurrence_type="weekly",
    )
    assert rings(dc, clock, me, rid, 3) == [
        "2026-03-22T01:30:00Z",
        "2026-03-29T01:30:00Z",
        "2026-04-05T00:30:00Z",
    ]


def test_weekly_london_across_the_fall_overlap(dc, clock, me) -> None:
    clock.set(datetime(2026, 10, 1, tzinfo=UTC))
    rid = schedule(
        dc,
        me,
        timezone="Europe/London",
        scheduled_at="2026-10-18T01:30:00",
        recurrence_type="weekly",
    )
    assert rings(dc, clock, me, rid, 3) == [
        "2026-10-18T00:30:00Z",
        "2026-10-25T00:30:00Z",
        "2026-11-01T01:30:00Z",
    ]


def test_weekdays_ring_on_each_listed_day(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="UTC",
        scheduled_at="2026-03-02T08:00:00",
        recurrence_type="custom",
        recurrence_config={"weekdays": [1, 3, 5]},
    )
    assert rings(dc, clock, me, rid, 4) == [
        "2026-03-02T08:00:00Z",
        "2026-03-04T08:00:00Z",
        "2026-03-06T08:00:00Z",
        "2026-03-09T08:00:00Z",
    ]


def test_interval_days_count_from_the_first_occurrence(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="America/New_York",
        scheduled_at="2026-03-05T09:00:00",
        recurrence_type="custom",
        recurrence_config={"interval_days": 3},
    )
    assert rings(dc, clock, me, rid, 3) == [
        "2026-03-05T14:00:00Z",
        "2026-03-08T13:00:00Z",
        "2026-03-11T13:00:00Z",
    ]


def test_cron_is_evaluated_in_the_reminders_zone(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="America/New_York",
        scheduled_at="2026-03-06T00:00:00",
        recurrence_type="cron",
        recurrence_config={"expression": "0 9 * * 1-5"},
    )
    assert rings(dc, clock, me, rid, 3) == [
        "2026-03-06T14:00:00Z",
        "2026-03-09T13:00:00Z",
        "2026-03-10T13:00:00Z",
    ]


def test_cron_gap_times_mapping_to_one_instant_ring_once(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="America/New_York",
        scheduled_at="2026-03-08T00:00:00",
        recurrence_type="cron",
        recurrence_config={"expression": "0 2,3 8 3 *"},
    )
    assert rings(dc, clock, me, rid, 1) == ["2026-03-08T07:00:00Z"]
    assert dc.reminders.get(me, rid).scheduled_at == datetime(2027, 3, 8, 7, tzinfo=UTC)


def test_a_retry_does_not_shift_the_series(dc, clock, me) -> None:
    rid = schedule(
        dc, me, timezone="UTC", scheduled_at="2026-03-02T08:00:00", recurrence_type="daily"
    )
    first = ring(dc, clock, me, rid, outcome="busy")
    retry = ring(dc, clock, me, rid)
    assert (first, retry) == ("2026-03-02T08:00:00Z", "2026-03-02T08:05:00Z")
    assert dc.reminders.get(me, rid).scheduled_at == datetime(2026, 3, 3, 8, tzinfo=UTC)


def test_resumed_series_continues_after_now_without_catch_up_calls(dc, clock, me) -> None:
    rid = schedule(
        dc, me, timezone="UTC", scheduled_at="2026-03-02T08:00:00", recurrence_type="daily"
    )
    dc.reminders.update(me, rid, {"status": "paused"})
    clock.set(datetime(2026, 3, 5, 12, tzinfo=UTC))
    resumed = dc.reminders.update(me, rid, {"status": "scheduled"})
    assert resumed.scheduled_at == datetime(2026, 3, 6, 8, tzinfo=UTC)
    assert dc.attempts().claim(10) == []


def test_downtime_past_the_grace_window_records_one_missed_execution(dc, clock, me) -> None:
    rid = schedule(
        dc, me, timezone="UTC", scheduled_at="2026-03-02T08:00:00", recurrence_type="daily"
    )
    clock.set(datetime(2026, 3, 5, 12, tzinfo=UTC))
    assert dc.attempts().claim(10) == []
    page = dc.executions.list(me, {})
    assert [e.status.value for e in page.items] == ["missed"]
    assert dc.reminders.get(me, rid).scheduled_at == datetime(2026, 3, 6, 8, tzinfo=UTC)


def test_late_but_within_grace_is_still_dialed(dc, clock, me) -> None:
    rid = schedule(dc, me, timezone="UTC", scheduled_at="2026-03-02T08:00:00")
    clock.set(datetime(2026, 3, 2, 8, 29, tzinfo=UTC))
    (claim,) = dc.attempts().claim(10)
    assert claim.execution.reminder_id == rid


def test_series_rings_at_its_inclusive_end_then_completes(dc, clock, me) -> None:
    rid = schedule(
        dc,
        me,
        timezone="UTC",
        scheduled_at="2026-03-02T08:00:00",
        recurrence_type="daily",
        recurrence_end_at="2026-03-03T08:00:00",
    )
    assert rings(dc, clock, me, rid, 2) == ["2026-03-02T08:00:00Z", "2026-03-03T08:00:00Z"]
    assert dc.reminders.get(me, rid).status.value == "completed"


def test_missed_one_off_fails(dc, clock, me) -> None:
    rid = schedule(dc, me, timezone="UTC", scheduled_at="2026-03-02T08:00:00")
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(minutes=1))
    dc.attempts().claim(10)
    assert dc.reminders.get(me, rid).status.value == "failed"
