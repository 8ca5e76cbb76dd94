"""ReminderService: create, get, update, pause, resume, delete, through the generated stubs."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf import field_mask_pb2, timestamp_pb2
from grpc_support import FUTURE, FUTURE_UTC, Server, Stubs, fails, local, reminder_request
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ReminderRow
from dialcues_grpc._pb.dialcues.v1 import common_pb2, reminders_pb2

R = reminders_pb2


def ts(moment: datetime) -> timestamp_pb2.Timestamp:
    """Return ``moment`` as a Timestamp."""
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment)
    return out


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    """Return a FieldMask of ``paths``."""
    return field_mask_pb2.FieldMask(paths=list(paths))


async def update(api: Stubs, rid: int, paths: tuple[str, ...], **fields: object) -> R.Reminder:
    """Call UpdateReminder on ``rid`` with ``paths`` and ``fields``."""
    request = R.UpdateReminderRequest(id=rid, update_mask=mask(*paths), **fields)
    return await api.reminders.UpdateReminder(request, metadata=api.md)


# ----------------------------------------------------------------------------- create
async def test_create_reads_the_local_time_in_the_zone_and_returns_every_field(
    api: Stubs, tenant: Tenant
) -> None:
    created = await api.create()
    assert created.id > 0
    assert (created.title, created.message) == ("Stand-up", "Time for stand-up")
    assert created.phone_number == "+14155552671"
    assert created.scheduled_at.ToDatetime(tzinfo=UTC) == FUTURE_UTC
    assert created.timezone == "America/New_York"
    assert created.status == R.REMINDER_STATUS_SCHEDULED
    assert (created.vapi_line_id, created.outbound_line_label) == (tenant.line.id, "Main")
    assert not created.HasField("recurrence")
    assert not created.HasField("recurrence_end_at")
    assert not created.HasField("next_attempt_at")
    assert not created.HasField("last_execution_id")
    assert created.retry_count == 0
    assert created.created_at.nanos == 0 and created.created_at.seconds > 0
    assert created.updated_at == created.created_at


async def test_create_accepts_an_instant(api: Stubs) -> None:
    when = common_pb2.TimeInput(instant=ts(datetime(2030, 1, 2, 3, 4, 5, 600, tzinfo=UTC)))
    created = await api.create(scheduled_at=when, timezone="Europe/London")
    assert created.scheduled_at.ToDatetime(tzinfo=UTC) == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_create_round_trips_each_recurrence_rule(api: Stubs) -> None:
    rules = [
        R.Recurrence(daily=R.DailyRule()),
        R.Recurrence(weekly=R.WeeklyRule()),
        R.Recurrence(interval_days=3),
        R.Recurrence(weekdays=R.WeekdaysRule(days=[5, 1, 3])),
        R.Recurrence(cron="0 9 * * MON-FRI"),
    ]
    expected = [
        R.Recurrence(daily=R.DailyRule()),
        R.Recurrence(weekly=R.WeeklyRule()),
        R.Recurrence(interval_days=3),
        R.Recurrence(weekdays=R.WeekdaysRule(days=[1, 3, 5])),
        R.Recurrence(cron="0 9 * * mon-fri"),
    ]
    for rule, want in zip(rules, expected, strict=True):
        created = await api.create(recurrence=rule, recurrence_end_at=local("2031-01-01T00:00:00"))
        assert created.recurrence == want
        assert created.recurrence_end_at.ToDatetime(tzinfo=UTC) == datetime(
            2031, 1, 1, 5, 0, tzinfo=UTC
        )


async def test_create_names_each_missing_field(api: Stubs) -> None:
    failed = await fails(api.reminders.CreateReminder(R.CreateReminderRequest(), metadata=api.md))
    assert (failed.code, failed.reason, failed.domain) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "validation_error",
        "dialcues",
    )
    assert failed.violations == {
        name: "is required"
        for name in ("title", "message", "phone_number", "timezone", "scheduled_at")
    }


async def test_create_names_a_bad_recurrence_after_the_request_field(api: Stubs) -> None:
    failed = await fails(api.create(recurrence=R.Recurrence(interval_days=0)))
    assert failed.violations == {"recurrence": "interval_days must be an integer from 1 to 365"}


async def test_create_refuses_a_past_time_and_a_bad_number(api: Stubs) -> None:
    failed = await fails(api.create(scheduled_at=local("2020-01-01T09:00:00"), phone_number="1"))
    assert failed.violations == {
        "phone_number": "must be an E.164 number such as +14155552671",
        "scheduled_at": "must be in the future",
    }


async def test_create_refuses_an_unknown_line(api: Stubs) -> None:
    failed = await fails(api.create(vapi_line_id="line_nope"))
    assert failed.violations == {"vapi_line_id": "is not one of the organization's outbound lines"}


async def test_create_without_any_line_is_a_failed_precondition(
    server: Server, dc: Dialcues
) -> None:
    org = dc.accounts.create_organization("No lines")
    user = dc.accounts.create_user(org.id, "nolines@example.com", "N")
    api = server.stubs(dc.accounts.create_api_key(user.id).raw)
    failed = await fails(api.create())
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "missing_outbound_line",
    )


# ----------------------------------------------------------------------------- get, isolation
async def test_get_returns_what_create_returned(api: Stubs) -> None:
    created = await api.create()
    found = await api.reminders.GetReminder(R.GetReminderRequest(id=created.id), metadata=api.md)
    assert found == created


async def test_get_of_an_unknown_reminder_is_not_found(api: Stubs) -> None:
    failed = await fails(api.reminders.GetReminder(R.GetReminderRequest(id=999), metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
    assert failed.metadata == {"resource": "reminder", "id": "999"}


async def test_another_users_reminder_is_not_found_for_every_rpc(
    api: Stubs, server: Server, dc: Dialcues, tenant: Tenant
) -> None:
    rid = (await api.create()).id
    for org in (tenant.org, None):
        other = server.stubs(make_tenant(dc, org=org).api_key)
        calls = [
            other.reminders.GetReminder(R.GetReminderRequest(id=rid), metadata=other.md),
            other.reminders.PauseReminder(R.PauseReminderRequest(id=rid), metadata=other.md),
            other.reminders.DeleteReminder(R.DeleteReminderRequest(id=rid), metadata=other.md),
            update(other, rid, ("title",), title="Mine now"),
        ]
        for call in calls:
            assert (await fails(call)).code == grpc.StatusCode.NOT_FOUND
        listed = await other.reminders.ListReminders(R.ListRemindersRequest(), metadata=other.md)
        assert listed.total == 0


# ----------------------------------------------------------------------------- update
async def test_update_changes_only_the_masked_fields(api: Stubs) -> None:
    created = await api.create()
    updated = await update(api, created.id, ("title",), title="Retro", message="ignored")
    assert (updated.title, updated.message) == ("Retro", "Time for stand-up")


async def test_update_with_an_empty_mask_is_invalid(api: Stubs) -> None:
    created = await api.create()
    failed = await fails(update(api, created.id, (), title="Retro"))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")


async def test_update_names_an_unknown_mask_path(api: Stubs) -> None:
    created = await api.create()
    failed = await fails(update(api, created.id, ("title", "status", "recurrence_type")))
    assert failed.violations == {"update_mask": "names no updatable field: recurrence_type, status"}


async def test_update_of_a_masked_but_unset_field_means_null(api: Stubs, tenant: Tenant) -> None:
    created = await api.create(recurrence=R.Recurrence(daily=R.DailyRule()))
    updated = await update(api, created.id, ("recurrence", "vapi_line_id"))
    assert not updated.HasField("recurrence")
    assert updated.vapi_line_id == tenant.line.id


async def test_update_of_the_zone_alone_keeps_the_local_time(api: Stubs) -> None:
    created = await api.create()
    updated = await update(api, created.id, ("timezone",), timezone="Europe/Paris")
    assert updated.scheduled_at.ToDatetime(tzinfo=UTC) == datetime(2030, 3, 25, 8, 0, tzinfo=UTC)


async def test_update_names_a_required_field_sent_empty(api: Stubs) -> None:
    created = await api.create()
    failed = await fails(update(api, created.id, ("scheduled_at", "recurrence")))
    assert failed.violations == {
        "scheduled_at": "must be an ISO 8601 date-time such as 2026-03-25T09:00:00"
    }


async def test_update_of_a_reminder_in_progress_is_a_failed_precondition(api: Stubs) -> None:
    created = await api.create()
    ReminderRow.update(status="in_progress").where(ReminderRow.id == created.id).execute()
    failed = await fails(update(api, created.id, ("title",), title="Retro"))
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "invalid_state")
    assert failed.metadata == {"status": "in_progress", "action": "updated"}


# ----------------------------------------------------------------------------- pause, resume
async def test_pause_then_resume(api: Stubs) -> None:
    created = await api.create()
    paused = await api.reminders.PauseReminder(
        R.PauseReminderRequest(id=created.id), metadata=api.md
    )
    assert paused.status == R.REMINDER_STATUS_PAUSED
    resumed = await api.reminders.ResumeReminder(
        R.ResumeReminderRequest(id=created.id), metadata=api.md
    )
    assert resumed.status == R.REMINDER_STATUS_SCHEDULED
    assert resumed.scheduled_at == created.scheduled_at


async def test_resume_of_a_past_one_off_needs_a_new_time(api: Stubs) -> None:
    created = await api.create()
    await api.reminders.PauseReminder(R.PauseReminderRequest(id=created.id), metadata=api.md)
    past = datetime(2020, 1, 1, 14, 0, tzinfo=UTC)
    ReminderRow.update(scheduled_at=past, local_time="2020-01-01T09:00:00").where(
        ReminderRow.id == created.id
    ).execute()
    failed = await fails(
        api.reminders.ResumeReminder(R.ResumeReminderRequest(id=created.id), metadata=api.md)
    )
    assert failed.violations == {"scheduled_at": "must be in the future"}
    resumed = await api.reminders.ResumeReminder(
        R.ResumeReminderRequest(id=created.id, scheduled_at=local(FUTURE)), metadata=api.md
    )
    assert resumed.status == R.REMINDER_STATUS_SCHEDULED
    assert resumed.scheduled_at.ToDatetime(tzinfo=UTC) == FUTURE_UTC


# ----------------------------------------------------------------------------- delete
async def test_delete_removes_the_reminder(api: Stubs) -> None:
    created = await api.create()
    reply = await api.reminders.DeleteReminder(
        R.DeleteReminderRequest(id=created.id), metadata=api.md
    )
    assert reply.ByteSize() == 0
    failed = await fails(
        api.reminders.GetReminder(R.GetReminderRequest(id=created.id), metadata=api.md)
    )
    assert failed.code == grpc.StatusCode.NOT_FOUND


async def test_a_reminder_in_progress_can_be_deleted(api: Stubs) -> None:
    created = await api.create()
    ReminderRow.update(status="in_progress").where(ReminderRow.id == created.id).execute()
    reply = await api.reminders.DeleteReminder(
        R.DeleteReminderRequest(id=created.id), metadata=api.md
    )
    assert reply.ByteSize() == 0


async def test_a_reminder_in_progress_can_be_paused_but_not_edited(api: Stubs) -> None:
    created = await api.create()
    ReminderRow.update(status="in_progress").where(ReminderRow.id == created.id).execute()
    paused = await api.reminders.PauseReminder(
        R.PauseReminderRequest(id=created.id), metadata=api.md
    )
    assert paused.status == R.REMINDER_STATUS_PAUSED
    ReminderRow.update(status="in_progress").where(ReminderRow.id == created.id).execute()
    failed = await fails(
        api.reminders.ResumeReminder(R.ResumeReminderRequest(id=created.id), metadata=api.md)
    )
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "invalid_state")


async def test_create_accepts_a_request_id(api: Stubs) -> None:
    created = await api.reminders.CreateReminder(reminder_request(request_id="r1"), metadata=api.md)
    assert created.id > 0
