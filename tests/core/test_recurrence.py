"""Recurrence: checked against ``dateutil.rrule`` on local time, and pinned across real DST changes.

The oracle for the day-based kinds is RFC 5545 as ``dateutil.rrule`` computes it, over naive
local wall-clock times, each mapped to an instant by ``localtime.to_instant`` (``fold=0``).
The pinned cases assert literal ISO instants so a reader can check them against a calendar.
(Past 400 lines on purpose: one module's contract, kept in one place to read side by side.)
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil import rrule as rr
from hypothesis import given, settings
from hypothesis import strategies as st

from dialcues_core.kernel.localtime import load_zone, to_instant, to_local
from dialcues_core.reminders.model import RecurrenceKind, RecurrenceRule
from dialcues_core.reminders.recurrence import first_occurrence, next_occurrence, parse_cron

NEW_YORK = "America/New_York"
ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "UTC",
)
# dateutil's weekdays indexed by the contract's numbering: 0 = Sunday … 6 = Saturday.
RRULE_DAYS = (rr.SU, rr.MO, rr.TU, rr.WE, rr.TH, rr.FR, rr.SA)
WINDOW = timedelta(days=2 * 366)
FAST = settings(max_examples=200, deadline=None)

# ----------------------------------------------------------------------------- helpers


def utc(text: str) -> datetime:
    """Parse an ISO instant written in a test."""
    return datetime.fromisoformat(text).astimezone(UTC)


def series(rule: RecurrenceRule, count: int) -> list[str]:
    """Return the first ``count`` occurrences (fewer if the series ends) as ISO strings."""
    found: list[str] = []
    occurrence = first_occurrence(rule)
    while occurrence is not None and len(found) < count:
        found.append(occurrence.isoformat())
        occurrence = next_occurrence(rule, occurrence)
    return found


def rrule_for(rule: RecurrenceRule) -> rr.rrule:
    """Build the RFC 5545 oracle for a day-based rule over naive local times."""
    if rule.kind is RecurrenceKind.WEEKDAYS:
        days = [RRULE_DAYS[day] for day in rule.weekdays]
        return rr.rrule(rr.WEEKLY, byweekday=days, dtstart=rule.anchor)
    if rule.kind is RecurrenceKind.WEEKLY:
        return rr.rrule(rr.WEEKLY, dtstart=rule.anchor)
    return rr.rrule(rr.DAILY, interval=rule.interval_days or 1, dtstart=rule.anchor)


def oracle_next(rule: RecurrenceRule, after: datetime) -> datetime:
    """Return the first oracle instant strictly after ``after``."""
    zone = load_zone(rule.zone)
    # No local time more than a day before ``after``'s own can ring after it (gaps < 1 day).
    start = to_local(after, zone) - timedelta(days=3)
    for local in rrule_for(rule).xafter(start, inc=True):
        instant = to_instant(local, zone)
        if instant > after:
            return instant
    raise AssertionError("the oracle series ended")


@functools.cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Return the instants (2000–2040, to the minute) at which ``zone_name`` changes offset."""
    zone = load_zone(zone_name)
    midnights = [datetime(2000, 1, 1, tzinfo=UTC) + timedelta(days=n) for n in range(41 * 366)]
    offsets = [day.astimezone(zone).utcoffset() for day in midnights]
    return tuple(
        first_minute_of_new_offset(day, zone_name)
        for day, offset, following in zip(midnights, offsets, offsets[1:], strict=False)
        if offset != following
    )


def first_minute_of_new_offset(day: datetime, zone_name: str) -> datetime:
    """Bisect the UTC day starting at ``day`` for the minute its zone's offset changes."""
    zone = load_zone(zone_name)
    low, high = 0, 1440
    while high - low > 1:
        middle = (low + high) // 2
        instant = day + timedelta(minutes=middle)
        same = instant.astimezone(zone).utcoffset() == day.astimezone(zone).utcoffset()
        low, high = (middle, high) if same else (low, middle)
    return day + timedelta(minutes=high)


# ----------------------------------------------------------------------------- strategies

times_of_day = st.one_of(
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
    st.builds(time, st.integers(1, 3), st.integers(0, 59)),  # where the DST changes are
)
anchors = st.builds(datetime.combine, st.dates(date(2000, 1, 1), date(2035, 12, 31)), times_of_day)
zones = st.sampled_from(ZONES)


def afters(rule: RecurrenceRule) -> st.SearchStrategy[datetime]:
    """Draw instants within two years of the anchor, often within hours of a DST change."""
    start = to_instant(rule.anchor, load_zone(rule.zone))
    anywhere = st.builds(
        lambda minutes: start + timedelta(minutes=minutes),
        st.integers(-3 * 1440, WINDOW.days * 1440),
    )
    changes = [t for t in transitions(rule.zone) if start <= t <= start + WINDOW]
    if not changes:
        return anywhere
    near_change = st.builds(
        lambda change, minutes: change + timedelta(minutes=minutes),
        st.sampled_from(changes),
        st.one_of(st.integers(-1440, 1440), st.integers(-180, 180)),
    )
    return st.one_of(anywhere, near_change)


def day_rules(kind: RecurrenceKind) -> st.SearchStrategy[RecurrenceRule]:
    """Draw rules of a day-based ``kind`` over every test zone."""
    extra: dict[str, st.SearchStrategy[object]] = {}
    if kind is RecurrenceKind.INTERVAL_DAYS:
        extra["interval_days"] = st.integers(1, 365)
    if kind is RecurrenceKind.WEEKDAYS:
        extra["weekdays"] = st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))
    return st.builds(RecurrenceRule, kind=st.just(kind), anchor=anchors, zone=zones, **extra)


def assert_matches_oracle(rule: RecurrenceRule, after: datetime) -> None:
    """Check that ``next_occurrence`` agrees with the rrule oracle."""
    assert next_occurrence(rule, after) == oracle_next(rule, after)


# ----------------------------------------------------------------------------- properties


@FAST
@given(st.data())
def test_daily_next_occurrence_matches_rrule(data: st.DataObject) -> None:
    rule = data.draw(day_rules(RecurrenceKind.DAILY))
    assert_matches_oracle(rule, data.draw(afters(rule)))


@FAST
@given(st.data())
def test_weekly_next_occurrence_matches_rrule(data: st.DataObject) -> None:
    rule = data.draw(day_rules(RecurrenceKind.WEEKLY))
    assert_matches_oracle(rule, data.draw(afters(rule)))


@FAST
@given(st.data())
def test_interval_days_next_occurrence_matches_rrule(data: st.DataObject) -> None:
    rule = data.draw(day_rules(RecurrenceKind.INTERVAL_DAYS))
    assert_matches_oracle(rule, data.draw(afters(rule)))


@FAST
@given(st.data())
def test_weekdays_next_occurrence_matches_rrule(data: st.DataObject) -> None:
    rule = data.draw(day_rules(RecurrenceKind.WEEKDAYS))
    assert_matches_oracle(rule, data.draw(afters(rule)))


@FAST
@given(day_rules(RecurrenceKind.WEEKDAYS))
def test_weekdays_first_occurrence_is_the_first_rrule_instant(rule: RecurrenceRule) -> None:
    expected = to_instant(rrule_for(rule)[0], load_zone(rule.zone))
    assert first_occurrence(rule) == expected


@FAST
@given(st.data())
def test_cron_at_a_fixed_time_of_day_rings_like_daily(data: st.DataObject) -> None:
    daily_rule = data.draw(day_rules(RecurrenceKind.DAILY))
    at, zone = daily_rule.anchor, daily_rule.zone
    cron_rule = RecurrenceRule(RecurrenceKind.CRON, at, zone, cron=f"{at.minute} {at.hour} * * *")
    after = data.draw(afters(daily_rule))
    assert next_occurrence(cron_rule, after) == next_occurrence(daily_rule, after)


def brute_force_cron_next(
    minutes: set[int], hours: set[int], rule: RecurrenceRule, after: datetime
) -> datetime:
    """Map every quarter-hour around ``after`` that matches, keep the earliest instant after it."""
    zone = load_zone(rule.zone)
    base = to_local(after, zone).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    steps = (base + timedelta(minutes=15 * n) for n in range(4 * 24 * 8))
    matching = (t for t in steps if t.minute in minutes and t.hour in hours and t >= rule.anchor)
    return min(i for i in (to_instant(t, zone) for t in matching) if i > after)


@FAST
@given(st.data())
def test_cron_next_occurrence_is_the_earliest_mapped_local_match(data: st.DataObject) -> None:
    minutes = data.draw(st.sets(st.sampled_from([0, 15, 30, 45]), min_size=1))
    hours = data.draw(st.sets(st.integers(0, 23), min_size=1))
    expression = f"{','.join(map(str, sorted(minutes)))} {','.join(map(str, sorted(hours)))} * * *"
    zone = data.draw(zones)
    anchor = data.draw(anchors)
    rule = RecurrenceRule(RecurrenceKind.CRON, anchor, zone, cron=expression)
    after = data.draw(afters(rule))
    assert next_occurrence(rule, after) == brute_force_cron_next(minutes, hours, rule, after)


# ----------------------------------------------------------------------------- pinned DST cases


def daily(anchor: datetime, zone: str = NEW_YORK) -> RecurrenceRule:
    return RecurrenceRule(RecurrenceKind.DAILY, anchor, zone)


def cron(expression: str, anchor: datetime, zone: str = NEW_YORK) -> RecurrenceRule:
    return RecurrenceRule(RecurrenceKind.CRON, anchor, zone, cron=expression)


def test_daily_keeps_local_time_across_spring_forward() -> None:
    assert series(daily(datetime(2026, 3, 7, 9, 0)), 3) == [
        "2026-03-07T14:00:00+00:00",
        "2026-03-08T13:00:00+00:00",
        "2026-03-09T13:00:00+00:00",
    ]


def test_daily_keeps_local_time_across_fall_back() -> None:
    assert series(daily(datetime(2026, 10, 31, 9, 0)), 3) == [
        "2026-10-31T13:00:00+00:00",
        "2026-11-01T14:00:00+00:00",
        "2026-11-02T14:00:00+00:00",
    ]


def test_daily_time_in_spring_forward_gap_rings_offset_shifted() -> None:
    rule = daily(datetime(2026, 3, 7, 2, 30))
    assert next_occurrence(rule, utc("2026-03-07T07:30:00Z")) == utc("2026-03-08T07:30:00Z")


def test_daily_time_in_fall_back_overlap_rings_once_at_the_first_instant() -> None:
    assert series(daily(datetime(2026, 10, 31, 1, 30)), 3) == [
        "2026-10-31T05:30:00+00:00",
        "2026-11-01T05:30:00+00:00",
        "2026-11-02T06:30:00+00:00",
    ]


def test_london_gap_time_rings_at_the_gmt_reading() -> None:
    assert series(daily(datetime(2026, 3, 28, 1, 30), "Europe/London"), 3) == [
        "2026-03-28T01:30:00+00:00",
        "2026-03-29T01:30:00+00:00",
        "2026-03-30T00:30:00+00:00",
    ]


def test_london_overlap_time_rings_once_at_the_bst_reading() -> None:
    assert series(daily(datetime(2026, 10, 24, 1, 30), "Europe/London"), 3) == [
        "2026-10-24T00:30:00+00:00",
        "2026-10-25T00:30:00+00:00",
        "2026-10-26T01:30:00+00:00",
    ]


def test_lord_howe_half_hour_gap_shifts_by_thirty_minutes() -> None:
    assert series(daily(datetime(2026, 10, 3, 2, 15), "Australia/Lord_Howe"), 3) == [
        "2026-10-02T15:45:00+00:00",
        "2026-10-03T15:45:00+00:00",
        "2026-10-04T15:15:00+00:00",
    ]


def test_daily_gap_time_earlier_in_local_terms_than_after_still_rings_after_it() -> None:
    rule = daily(datetime(2026, 3, 1, 2, 45))
    # 07:20Z is 03:20 EDT; the day's 02:45 does not exist and rings at 07:45Z.
    assert next_occurrence(rule, utc("2026-03-08T07:20:00Z")) == utc("2026-03-08T07:45:00Z")


def test_weekly_repeats_on_the_anchor_weekday_at_local_time() -> None:
    rule = RecurrenceRule(RecurrenceKind.WEEKLY, datetime(2026, 3, 4, 9, 0), NEW_YORK)
    assert series(rule, 3) == [
        "2026-03-04T14:00:00+00:00",
        "2026-03-11T13:00:00+00:00",
        "2026-03-18T13:00:00+00:00",
    ]


def test_weekdays_ring_on_each_listed_day() -> None:
    rule = RecurrenceRule(
        RecurrenceKind.WEEKDAYS, datetime(2026, 3, 1, 9, 0), NEW_YORK, weekdays=(1, 3, 5)
    )
    assert series(rule, 5) == [
        "2026-03-02T14:00:00+00:00",
        "2026-03-04T14:00:00+00:00",
        "2026-03-06T14:00:00+00:00",
        "2026-03-09T13:00:00+00:00",
        "2026-03-11T13:00:00+00:00",
    ]


def test_weekdays_first_occurrence_skips_an_unlisted_anchor_day() -> None:
    rule = RecurrenceRule(
        RecurrenceKind.WEEKDAYS, datetime(2026, 3, 7, 9, 0), NEW_YORK, weekdays=(0,)
    )
    assert first_occurrence(rule) == utc("2026-03-08T13:00:00Z")


def test_interval_days_counts_from_the_anchor_date() -> None:
    rule = RecurrenceRule(
        RecurrenceKind.INTERVAL_DAYS, datetime(2026, 3, 6, 9, 0), NEW_YORK, interval_days=3
    )
    assert series(rule, 3) == [
        "2026-03-06T14:00:00+00:00",
        "2026-03-09T13:00:00+00:00",
        "2026-03-12T13:00:00+00:00",
    ]


def test_interval_days_far_after_the_anchor_stays_aligned() -> None:
    rule = RecurrenceRule(
        RecurrenceKind.INTERVAL_DAYS, datetime(2000, 1, 1, 9, 0), "UTC", interval_days=3
    )
    # 2000-01-01 to 2400-01-01 is 146 097 days, a multiple of 3.
    assert next_occurrence(rule, utc("2399-12-31T23:00:00Z")) == utc("2400-01-01T09:00:00Z")


def test_first_occurrence_of_daily_is_the_anchor() -> None:
    assert first_occurrence(daily(datetime(2026, 7, 1, 9, 0))) == utc("2026-07-01T13:00:00Z")


def test_next_occurrence_before_the_anchor_is_the_first_occurrence() -> None:
    rule = daily(datetime(2026, 7, 1, 9, 0))
    assert next_occurrence(rule, utc("2020-01-01T00:00:00Z")) == utc("2026-07-01T13:00:00Z")


def test_next_occurrence_reads_after_in_any_zone() -> None:
    after = datetime(2026, 7, 1, 9, 0, tzinfo=load_zone(NEW_YORK))
    assert next_occurrence(daily(datetime(2026, 7, 1, 9, 0)), after) == utc("2026-07-02T13:00:00Z")


def test_occurrence_exactly_at_end_at_is_returned() -> None:
    rule = RecurrenceRule(
        RecurrenceKind.DAILY, datetime(2026, 1, 1, 9, 0), "UTC", end_at=utc("2026-01-03T09:00Z")
    )
    assert next_occurrence(rule, utc("2026-01-02T09:00Z")) == utc("2026-01-03T09:00Z")


def test_no_occurrence_after_end_at() -> None:
    rule = RecurrenceRule(
        RecurrenceKind.DAILY, datetime(2026, 1, 1, 9, 0), "UTC", end_at=utc("2026-01-03T09:00Z")
    )
    assert next_occurrence(rule, utc("2026-01-03T09:00Z")) is None


def test_first_occurrence_after_end_at_is_none() -> None:
    rule = RecurrenceRule(
        RecurrenceKind.WEEKDAYS,
        datetime(2026, 3, 7, 9, 0),
        "UTC",
        weekdays=(1,),
        end_at=utc("2026-03-08T23:59Z"),
    )
    assert first_occurrence(rule) is None


def test_naive_after_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_occurrence(daily(datetime(2026, 1, 1, 9, 0)), datetime(2026, 1, 1))


def test_weekdays_rule_without_days_is_rejected() -> None:
    rule = RecurrenceRule(RecurrenceKind.WEEKDAYS, datetime(2026, 1, 1, 9, 0), "UTC")
    with pytest.raises(ValueError, match="weekdays"):
        first_occurrence(rule)


# ----------------------------------------------------------------------------- cron


def test_cron_gap_hour_rings_at_the_shifted_instant() -> None:
    rule = cron("0 2 * * *", datetime(2026, 3, 7))
    assert next_occurrence(rule, utc("2026-03-07T12:00Z")) == utc("2026-03-08T07:00:00Z")


def test_cron_hour_after_the_gap_rings_at_its_own_instant() -> None:
    rule = cron("0 3 * * *", datetime(2026, 3, 7))
    assert next_occurrence(rule, utc("2026-03-07T12:00Z")) == utc("2026-03-08T07:00:00Z")


def test_cron_local_times_mapping_to_one_instant_ring_once() -> None:
    assert series(cron("0 2,3 * * *", datetime(2026, 3, 7, 12, 0)), 3) == [
        "2026-03-08T07:00:00+00:00",
        "2026-03-09T06:00:00+00:00",
        "2026-03-09T07:00:00+00:00",
    ]


def test_cron_overlap_time_rings_once() -> None:
    assert series(cron("30 1 * * *", datetime(2026, 10, 31, 12, 0)), 2) == [
        "2026-11-01T05:30:00+00:00",
        "2026-11-02T06:30:00+00:00",
    ]


def test_cron_gap_time_earlier_in_local_terms_than_after_still_rings_after_it() -> None:
    rule = cron("45 2 * * *", datetime(2026, 3, 1))
    assert next_occurrence(rule, utc("2026-03-08T07:20:00Z")) == utc("2026-03-08T07:45:00Z")


def test_cron_gap_time_rings_after_a_later_local_time_that_exists() -> None:
    # Lord Howe skips 02:00-02:30: 02:15 reads as 02:45 and so rings after 02:40.
    assert series(cron("15,40 2 * * *", datetime(2026, 10, 4), "Australia/Lord_Howe"), 3) == [
        "2026-10-03T15:40:00+00:00",
        "2026-10-03T15:45:00+00:00",
        "2026-10-04T15:15:00+00:00",
    ]


def test_cron_matches_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    rule = cron("0 9 13 * 5", datetime(2026, 1, 1), "UTC")
    assert series(rule, 6) == [
        "2026-01-02T09:00:00+00:00",
        "2026-01-09T09:00:00+00:00",
        "2026-01-13T09:00:00+00:00",
        "2026-01-16T09:00:00+00:00",
        "2026-01-23T09:00:00+00:00",
        "2026-01-30T09:00:00+00:00",
    ]


def test_cron_equal_day_range_means_that_single_day() -> None:
    rule = cron("0 9 * * fri-fri", datetime(2026, 1, 1), "UTC")
    assert series(rule, 2) == ["2026-01-02T09:00:00+00:00", "2026-01-09T09:00:00+00:00"]


def test_cron_first_occurrence_includes_a_matching_anchor() -> None:
    rule = cron("0 9 * * 1-5", datetime(2026, 3, 9, 9, 0))
    assert first_occurrence(rule) == utc("2026-03-09T13:00:00Z")


def test_cron_first_occurrence_skips_a_non_matching_anchor_day() -> None:
    rule = cron("0 9 * * 1-5", datetime(2026, 3, 7, 10, 0))
    assert first_occurrence(rule) == utc("2026-03-09T13:00:00Z")


def test_cron_far_after_the_anchor_is_found() -> None:
    rule = cron("*/15 * * * *", datetime(2000, 1, 1), "Asia/Kolkata")
    assert next_occurrence(rule, utc("2400-01-01T00:01:00Z")) == utc("2400-01-01T00:15:00Z")


# ----------------------------------------------------------------------------- parse_cron


@pytest.mark.parametrize(
    "expression", ["0 9 * * 1-5", "*/15 8-17 * jan-jun mon,wed", "0 0 29 2 *", "5-7/2 * * * 7"]
)
def test_parse_cron_accepts_standard_fields(expression: str) -> None:
    assert parse_cron(expression) == expression


def test_parse_cron_joins_fields_with_single_spaces() -> None:
    assert parse_cron("  0\t9  * *   1-5 ") == "0 9 * * 1-5"


def test_parse_cron_lower_cases_names() -> None:
    assert parse_cron("0 9 * JAN-Jun MON") == "0 9 * jan-jun mon"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("@daily", "macros"),
        ("0 0 L * *", "no L, W, # or ?"),
        ("0 0 15W * *", "no L, W, # or ?"),
        ("0 0 * * 5#3", "no L, W, # or ?"),
        ("0 0 ? * *", "no L, W, # or ?"),
        ("0 0 0 * * *", "five fields"),
        ("0 9 * *", "five fields"),
        ("61 * * * *", "outside 0-59"),
        ("0 0 * 13 *", "outside 1-12"),
        ("0 0 * * 8", "outside 0-7"),
        ("0 0 * * 5-1", "backwards"),
        ("*/0 * * * *", "step"),
        ("0 0 31 2 *", "never matches"),
        ("0 0 1,,2 * *", "not valid"),
        ("H * * * *", "not valid"),
    ],
)
def test_parse_cron_rejects_non_standard_expressions(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_cron(expression)
