"""``PATCH /reminders/{id}``: edits, pause, resume, revive, and the states that refuse them."""

from __future__ import annotations

from typing import Any

import pytest

from dialcues_core.testing import FakeClock
from rest.support import Api, set_reminder

DAY = 86_400


async def patch(api: Api, reminder: dict[str, Any], body: Any) -> Any:
    """PATCH the reminder and return the reply."""
    return await api.patch(f"/reminders/{reminder['id']}", json=body)


async def test_patch_changes_the_title_and_returns_the_reminder(api: Api, clock: FakeClock) -> None:
    created = await api.create()
    clock.advance(30)
    reply = await patch(api, created, {"title": "Retro"})
    assert reply.status == 200
    assert reply.body == {**created, "title": "Retro", "updated_at": "2026-03-01T12:00:30Z"}


async def test_pause_sets_status_paused(api: Api) -> None:
    created = await api.create()
    reply = await patch(api, created, {"status": "paused"})
    assert reply.body["status"] == "paused"


async def test_pause_of_a_recurring_reminder_keeps_its_rule(api: Api) -> None:
    created = await api.create(recurrence_type="weekly")
    reply = await patch(api, created, {"status": "paused"})
    assert (reply.body["status"], reply.body["recurrence_type"]) == ("paused", "weekly")


async def test_resumed_recurring_reminder_continues_after_now_without_catch_up(
    api: Api, clock: FakeClock
) -> None:
    created = await api.create(recurrence_type="daily", scheduled_at="2026-03-02T09:00:00")
    await patch(api, created, {"status": "paused"})
    clock.advance(5 * DAY)  # 2026-03-06T12:00Z = 07:00 in New York: four occurrences missed
    reply = await patch(api, created, {"status": "scheduled"})
    assert (reply.body["status"], reply.body["scheduled_at"]) == (
        "scheduled",
        "2026-03-06T14:00:00Z",
    )


async def test_resumed_future_one_off_keeps_its_time(api: Api) -> None:
    created = await api.create()
    await patch(api, created, {"status": "paused"})
    reply = await patch(api, created, {"status": "scheduled"})
    assert (reply.body["status"], reply.body["scheduled_at"]) == (
        "scheduled",
        "2026-03-25T13:00:00Z",
    )


async def test_resuming_a_past_one_off_without_scheduled_at_names_scheduled_at(
    api: Api, clock: FakeClock
) -> None:
    created = await api.create(scheduled_at="2026-03-02T09:00:00")
    await patch(api, created, {"status": "paused"})
    clock.advance(2 * DAY)
    reply = await patch(api, created, {"status": "scheduled"})
    assert (reply.status, reply.code, list(reply.fields)) == (
        400,
        "validation_error",
        ["scheduled_at"],
    )


async def test_resuming_a_past_one_off_with_a_new_time_schedules_it(
    api: Api, clock: FakeClock
) -> None:
    created = await api.create(scheduled_at="2026-03-02T09:00:00")
    await patch(api, created, {"status": "paused"})
    clock.advance(2 * DAY)
    reply = await patch(
        api, created, {"status": "scheduled", "scheduled_at": "2026-03-10T09:00:00"}
    )
    assert (reply.body["status"], reply.body["scheduled_at"]) == (
        "scheduled",
        "2026-03-10T13:00:00Z",
    )


async def test_timezone_change_keeps_the_local_wall_clock_time(api: Api) -> None:
    created = await api.create()  # 09:00 New York on 2026-03-25 = 13:00Z
    reply = await patch(api, created, {"timezone": "Europe/Paris"})
    assert (reply.body["timezone"], reply.body["scheduled_at"]) == (
        "Europe/Paris",
        "2026-03-25T08:00:00Z",
    )


async def test_timezone_change_into_the_past_names_timezone(api: Api) -> None:
    created = await api.create(
        timezone="America/Los_Angeles", scheduled_at="2026-03-01T09:00:00"
    )  # 17:00Z, five hours ahead of the clock; 09:00 in London has passed
    reply = await patch(api, created, {"timezone": "Europe/London"})
    assert (reply.code, list(reply.fields)) == ("validation_error", ["timezone"])


async def test_new_scheduled_at_revives_a_failed_reminder_with_retry_count_zero(
    api: Api,
) -> None:
    created = await api.create()
    set_reminder(created["id"], status="failed", retry_count=2, due_at=None)
    reply = await patch(api, created, {"scheduled_at": "2026-04-01T09:00:00"})
    assert {k: reply.body[k] for k in ("status", "retry_count", "scheduled_at")} == {
        "status": "scheduled",
        "retry_count": 0,
        "scheduled_at": "2026-04-01T13:00:00Z",
    }


async def test_resuming_a_failed_reminder_without_a_new_time_names_scheduled_at(
    api: Api,
) -> None:
    created = await api.create()
    set_reminder(created["id"], status="failed", due_at=None)
    reply = await patch(api, created, {"status": "scheduled"})
    assert (reply.code, list(reply.fields)) == ("validation_error", ["scheduled_at"])


@pytest.mark.parametrize("status", ["completed", "in_progress"])
async def test_patch_in_a_state_that_forbids_edits_is_invalid_state(api: Api, status: str) -> None:
    created = await api.create()
    set_reminder(created["id"], status=status, due_at=None)
    reply = await patch(api, created, {"title": "Too late"})
    assert (reply.status, reply.code) == (400, "invalid_state")


async def test_pausing_a_paused_reminder_is_accepted_unchanged(api: Api) -> None:
    created = await api.create()
    await patch(api, created, {"status": "paused"})
    reply = await patch(api, created, {"status": "paused"})
    assert (reply.status, reply.body["status"]) == (200, "paused")


async def test_status_other_than_paused_or_scheduled_is_a_validation_error(api: Api) -> None:
    created = await api.create()
    reply = await patch(api, created, {"status": "completed"})
    assert (reply.code, list(reply.fields)) == ("validation_error", ["status"])


async def test_empty_patch_is_a_validation_error(api: Api) -> None:
    created = await api.create()
    reply = await patch(api, created, {})
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_patch_validates_each_field_as_on_create(api: Api) -> None:
    created = await api.create()
    reply = await patch(api, created, {"phone_number": "12345", "nickname": "x"})
    assert set(reply.fields) == {"phone_number", "nickname"}


async def test_patch_with_malformed_json_is_a_validation_error(api: Api) -> None:
    created = await api.create()
    reply = await api.patch(f"/reminders/{created['id']}", data=b"{title}")
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_patch_of_an_unknown_reminder_is_not_found(api: Api) -> None:
    reply = await api.patch("/reminders/424242", json={"title": "x"})
    assert (reply.status, reply.code) == (404, "not_found")


async def test_patch_to_a_recurrence_config_string_is_accepted(api: Api) -> None:
    created = await api.create()
    body = {"recurrence_type": "custom", "recurrence_config": '{"interval_days": 2}'}
    reply = await patch(api, created, body)
    assert reply.body["recurrence_config"] == {"interval_days": 2}


async def test_a_title_edit_while_an_occurrence_is_due_leaves_the_schedule_alone(
    api: Api, dc: Any, clock: FakeClock
) -> None:
    created = await api.create(recurrence_type="daily", scheduled_at="2026-03-02T09:00:00")
    clock.advance(DAY + 2 * 3600 + 60)  # 09:01 in New York on 03-02: due, not yet dialed

    reply = await patch(api, created, {"title": "Vitamins"})

    assert reply.status == 200
    assert (reply.body["scheduled_at"], reply.body["status"]) == (
        "2026-03-02T14:00:00Z",
        "scheduled",
    )
    (claim,) = dc.attempts().claim(10)
    assert claim.execution.scheduled_for.isoformat() == "2026-03-02T14:00:00+00:00"


async def test_a_message_edit_during_a_pending_retry_keeps_the_retry(
    api: Api, clock: FakeClock
) -> None:
    created = await api.create(recurrence_type="daily", scheduled_at="2026-03-02T09:00:00")
    set_reminder(
        created["id"], retry_count=1, next_attempt_at=1772460300000, due_at=1772460300000
    )  # a retry pending at 2026-03-02T14:05:00Z
    before = (await api.get(f"/reminders/{created['id']}")).body

    reply = await patch(api, created, {"message": "Two pills"})

    keep = ("scheduled_at", "retry_count", "next_attempt_at", "status")
    assert {k: reply.body[k] for k in keep} == {k: before[k] for k in keep}
    assert reply.body["next_attempt_at"] == "2026-03-02T14:05:00Z"


async def test_a_reminder_in_the_air_can_be_paused_over_http(api: Api) -> None:
    created = await api.create()
    set_reminder(created["id"], status="in_progress", due_at=None)

    paused = await patch(api, created, {"status": "paused"})
    refused = await patch(api, {"id": created["id"]}, {"title": "x"})

    assert (paused.status, paused.body["status"]) == (200, "paused")
    assert refused.status == 200  # paused now: edits are fine again
