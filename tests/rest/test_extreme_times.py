"""Times near ``datetime``'s limits are refused as validation errors, never a 500."""

from __future__ import annotations

import pytest

from rest.support import Api, reminder_payload


@pytest.mark.parametrize(
    ("scheduled_at", "timezone"),
    [
        ("0001-01-01T00:00:00", "Asia/Tokyo"),
        ("9999-12-31T23:00:00", "America/New_York"),
        ("0001-01-01T00:00:00+05:00", "UTC"),
        ("3000-01-01T00:00:00Z", "UTC"),
        ("1899-12-31T23:59:59", "Europe/London"),
    ],
)
async def test_a_time_outside_the_supported_years_is_a_validation_error(
    api: Api, scheduled_at: str, timezone: str
) -> None:
    payload = reminder_payload(scheduled_at=scheduled_at, timezone=timezone)
    reply = await api.post("/reminders", json=payload)
    assert (reply.status, reply.code) == (400, "validation_error")
    assert set(reply.fields) == {"scheduled_at"}


async def test_the_last_supported_year_is_accepted_and_recurs(api: Api) -> None:
    payload = reminder_payload(
        scheduled_at="2999-12-31T23:59:59", timezone="Pacific/Kiritimati", recurrence_type="daily"
    )
    reply = await api.post("/reminders", json=payload)
    assert reply.status == 201


@pytest.mark.parametrize("bound", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
async def test_a_listing_bound_outside_the_utc_years_is_a_validation_error(
    api: Api, bound: str
) -> None:
    reply = await api.get("/reminders", params={"date_from": bound})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert set(reply.fields) == {"date_from"}
