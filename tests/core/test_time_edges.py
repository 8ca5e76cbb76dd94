"""Time edge cases of the amended contract, as literal instants: instants kept as given in a
repeated hour, cron's ``*`` day rule, tzdata winning over zoneinfo's reading, a zone change on
a one-off set inside a gap, moving a series west, and following a tzdata update."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.operations import follow_tzdata
from dialcues_core.adapters.peewee.tables import ReminderRow, TzdataRow
from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.localtime import load_zone, to_instant, tzdata_version, zone_data
from dialcues_core.reminders.model import Reminder
from dialcues_core.reminders.recurrence import next_occurrence, parse_cron
from dialcues_core.testing import FakeClock

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-01-01T00:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on a SQLite file, on the fake clock."""
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One organization with a simulated default line and one user."""
    return make_tenant(dc)


def remind(dc: Dialcues, t: Tenant, **fields: Any) -> Reminder:
    """Create a reminder from ``fields`` over a fixed title, message and number."""
    payload = {"title": "T", "message": "M", "phone_number": "+14155550123", **fields}
    return dc.reminders.create(t.principal, payload)


def iso(moment: datetime | None) -> str | None:
    """Render an instant as literal ISO text in UTC."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


# ----------------------------------------------------------------------------- instants as given
def test_an_instant_in_the_second_pass_of_a_repeated_hour_rings_then_not_an_hour_early(
    dc: Dialcues, tenant: Tenant
) -> None:
    one_off = remind(dc, tenant, timezone="America/New_York", scheduled_at="2027-11-07T06:30:00Z")
    series = remind(
        dc,
        tenant,
        timezone="America/New_York",
        scheduled_at="2027-11-07T06:30:00Z",
        recurrence_type="daily",
    )

    assert iso(one_off.scheduled_at) == "2027-11-07T06:30:00+00:00"
    assert iso(series.scheduled_at) == "2027-11-07T06:30:00+00:00"
    assert series.recurrence is not None
    later = next_occurrence(series.recurrence, series.scheduled_at)
    assert iso(later) == "2027-11-08T06:30:00+00:00"  # 01:30 EST the next day


def test_the_same_local_time_without_an_offset_rings_at_the_first_pass(
    dc: Dialcues, tenant: Tenant
) -> None:
    r = remind(dc, tenant, timezone="America/New_York", scheduled_at="2027-11-07T01:30:00")

    assert iso(r.scheduled_at) == "2027-11-07T05:30:00+00:00"


# ----------------------------------------------------------------------------- cron's day rule
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # */2 starts with *: unrestricted, so AND — odd days that are Mondays
        ("0 9 */2 * 1", ["2026-01-05", "2026-01-19", "2026-02-09", "2026-02-23"]),
        # 1-31/2 is restricted: OR — odd days, and Mondays
        (
            "0 9 1-31/2 * 1",
            [
                *("2026-01-01", "2026-01-03", "2026-01-05", "2026-01-07"),
                *("2026-01-09", "2026-01-11", "2026-01-12"),  # the 12th: a Monday, even
            ],
        ),
        # * in day-of-week: Mondays never widen the day-of-month rule
        ("0 9 15 * *", ["2026-01-15", "2026-02-15", "2026-03-15", "2026-04-15"]),
        ("0 9 * * */3", ["2026-01-03", "2026-01-04", "2026-01-07", "2026-01-10"]),
    ],
)
def test_cron_day_fields_follow_vixie_crons_star_rule(
    dc: Dialcues, tenant: Tenant, expression: str, expected: list[str]
) -> None:
    r = remind(
        dc,
        tenant,
        timezone="UTC",
        scheduled_at="2026-01-01T00:01:00",
        recurrence_type="cron",
        recurrence_config={"expression": expression},
    )
    assert r.recurrence is not None
    days, moment = [], r.scheduled_at
    for _ in expected:
        days.append(moment.date().isoformat())
        moment = next_occurrence(r.recurrence, moment) or moment

    assert days == expected


@pytest.mark.parametrize("expression", ["0 9 1/2 * *", "0 9 * * 1/2", "5/15 * * * *"])
def test_a_cron_step_after_a_single_value_is_refused(expression: str) -> None:
    with pytest.raises(ValueError, match="a step follows only"):
        parse_cron(expression)


# ----------------------------------------------------------------------------- tzdata wins
def test_a_local_time_zoneinfo_misreads_is_found_by_converting_back() -> None:
    nuuk = load_zone("America/Nuuk")

    instant = to_instant(datetime(2023, 10, 28, 23, 30), nuuk)

    assert iso(instant) == "2023-10-29T01:30:00+00:00"  # exists once, at UTC−2


def test_gap_and_overlap_rules_are_unchanged_by_the_check() -> None:
    new_york = load_zone("America/New_York")

    assert iso(to_instant(datetime(2027, 3, 14, 2, 30), new_york)) == "2027-03-14T07:30:00+00:00"
    assert iso(to_instant(datetime(2027, 11, 7, 1, 30), new_york)) == "2027-11-07T05:30:00+00:00"


# ----------------------------------------------------------------------------- zone changes
def test_a_zone_change_on_a_one_off_set_in_a_gap_keeps_the_asked_wall_clock_time(
    dc: Dialcues, tenant: Tenant
) -> None:
    r = remind(dc, tenant, timezone="America/New_York", scheduled_at="2027-03-14T02:30:00")
    assert iso(r.scheduled_at) == "2027-03-14T07:30:00+00:00"  # 03:30 EDT, offset-shifted

    moved = dc.reminders.update(tenant.principal, r.id, {"timezone": "Europe/London"})

    assert iso(moved.scheduled_at) == "2027-03-14T02:30:00+00:00"  # 02:30 in London, not 03:30


def test_moving_a_series_west_keeps_its_last_occurrence_when_the_end_was_local(
    dc: Dialcues, tenant: Tenant
) -> None:
    r = remind(
        dc,
        tenant,
        timezone="Europe/Paris",
        scheduled_at="2027-01-01T09:00:00",
        recurrence_type="daily",
        recurrence_end_at="2027-01-03T09:00:00",
    )

    moved = dc.reminders.update(tenant.principal, r.id, {"timezone": "America/New_York"})

    assert iso(moved.recurrence_end_at) == "2027-01-03T14:00:00+00:00"
    assert moved.recurrence is not None
    third = next_occurrence(moved.recurrence, datetime(2027, 1, 2, 15, tzinfo=UTC))
    assert iso(third) == "2027-01-03T14:00:00+00:00"


def test_an_end_given_as_an_instant_stays_that_instant_in_a_new_zone(
    dc: Dialcues, tenant: Tenant
) -> None:
    r = remind(
        dc,
        tenant,
        timezone="Europe/Paris",
        scheduled_at="2027-01-01T09:00:00",
        recurrence_type="daily",
        recurrence_end_at="2027-01-03T08:00:00Z",
    )

    moved = dc.reminders.update(tenant.principal, r.id, {"timezone": "America/New_York"})

    assert iso(moved.recurrence_end_at) == "2027-01-03T08:00:00+00:00"


def test_a_zone_change_into_the_past_names_the_timezone(dc: Dialcues, tenant: Tenant) -> None:
    r = remind(dc, tenant, timezone="America/Los_Angeles", scheduled_at="2025-12-31T17:00:00")
    assert iso(r.scheduled_at) == "2026-01-01T01:00:00+00:00"

    with pytest.raises(ValidationFailed) as caught:
        dc.reminders.update(tenant.principal, r.id, {"timezone": "Asia/Tokyo"})

    assert set(caught.value.fields) == {"timezone"}


# ----------------------------------------------------------------------------- tzdata updates
def _forge_old_rules(dc: Dialcues, zone: str, stand_in: str, version: str) -> None:
    """Make the database believe its instants were computed with other rules for ``zone``."""
    TzdataRow.update(version=version).execute()
    TzdataRow.update(tzif=zone_data(stand_in)).where(TzdataRow.name == zone).execute()


def test_a_tzdata_update_recomputes_future_instants_from_their_wall_clock_time(
    dc: Dialcues, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    r = remind(dc, tenant, timezone="Africa/Casablanca", scheduled_at="2027-06-01T09:00:00")
    series = remind(
        dc,
        tenant,
        timezone="Africa/Casablanca",
        scheduled_at="2027-06-02T09:00:00",
        recurrence_type="daily",
    )
    paris = remind(dc, tenant, timezone="Europe/Paris", scheduled_at="2027-06-01T09:00:00")
    # Suppose the rules in force when they were computed said Casablanca was at UTC+3 (as
    # Europe/Moscow is): 09:00 local was then 06:00Z.
    ReminderRow.update(scheduled_at=datetime(2027, 6, 1, 6, tzinfo=UTC)).where(
        ReminderRow.id == r.id
    ).execute()
    ReminderRow.update(
        scheduled_at=datetime(2027, 6, 2, 6, tzinfo=UTC), due_at=datetime(2027, 6, 2, 6, tzinfo=UTC)
    ).where(ReminderRow.id == series.id).execute()
    _forge_old_rules(dc, "Africa/Casablanca", "Europe/Moscow", "2000a")

    with caplog.at_level(logging.WARNING, logger="dialcues.tzdata"):
        moved = follow_tzdata(dc.db, START)

    now_rules = to_instant(datetime(2027, 6, 1, 9), load_zone("Africa/Casablanca"))
    assert moved == 2
    assert dc.reminders.get(tenant.principal, r.id).scheduled_at == now_rules
    assert iso(dc.reminders.get(tenant.principal, paris.id).scheduled_at) == iso(paris.scheduled_at)
    assert f"tzdata changed from 2000a to {tzdata_version()}: 2 reminders" in caplog.text
    assert follow_tzdata(dc.db, START) == 0  # once


def test_instants_already_past_are_history_and_stay(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    r = remind(dc, tenant, timezone="Africa/Casablanca", scheduled_at="2026-01-01T09:00:00")
    stored = r.scheduled_at
    _forge_old_rules(dc, "Africa/Casablanca", "Europe/Moscow", "2000a")

    follow_tzdata(dc.db, datetime(2026, 1, 2, tzinfo=UTC))

    assert dc.reminders.get(tenant.principal, r.id).scheduled_at == stored


def test_a_tzdata_update_recomputes_from_the_asked_time_not_a_gap_shifted_one(
    dc: Dialcues, tenant: Tenant
) -> None:
    # Under the old rules (New York's, say) 02:30 fell in a gap and rang at 03:30 (07:30Z);
    # under today's Bogota rules 02:30 exists: it rings at 02:30 (07:30Z), not 03:30 (08:30Z).
    r = remind(dc, tenant, timezone="America/Bogota", scheduled_at="2027-03-14T02:30:00")
    series = remind(
        dc,
        tenant,
        timezone="America/Bogota",
        scheduled_at="2027-03-14T02:30:00",
        recurrence_type="daily",
    )
    shifted = datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    ReminderRow.update(scheduled_at=shifted).where(ReminderRow.id.in_([r.id, series.id])).execute()
    _forge_old_rules(dc, "America/Bogota", "America/New_York", "2000a")

    follow_tzdata(dc.db, START)

    assert iso(dc.reminders.get(tenant.principal, r.id).scheduled_at) == "2027-03-14T07:30:00+00:00"
    moved = dc.reminders.get(tenant.principal, series.id).scheduled_at
    assert iso(moved) == "2027-03-14T07:30:00+00:00"


def test_an_older_tzdata_than_the_databases_recomputes_nothing_and_says_so(
    dc: Dialcues, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    r = remind(dc, tenant, timezone="Africa/Casablanca", scheduled_at="2027-06-01T09:00:00")
    _forge_old_rules(dc, "Africa/Casablanca", "Europe/Moscow", "2999z")

    with caplog.at_level(logging.WARNING, logger="dialcues.tzdata"):
        assert follow_tzdata(dc.db, START) == 0

    assert dc.reminders.get(tenant.principal, r.id).scheduled_at == r.scheduled_at
    assert "older than the 2999z the database follows" in caplog.text


def test_a_reshape_keeps_an_occurrence_given_in_the_second_pass_of_a_repeated_hour(
    dc: Dialcues, tenant: Tenant
) -> None:
    r = remind(
        dc,
        tenant,
        timezone="America/New_York",
        scheduled_at="2027-11-07T06:30:00Z",
        recurrence_type="daily",
    )

    edited = dc.reminders.update(
        tenant.principal, r.id, {"recurrence_end_at": "2027-12-01T00:00:00"}
    )

    assert iso(edited.scheduled_at) == "2027-11-07T06:30:00+00:00"
