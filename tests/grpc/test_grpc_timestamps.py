"""Every Timestamp of every request refuses invalid values as ``validation_error``.

The request Timestamps of ``proto/dialcues/v1`` (no request carries a Duration): the
``date_from``/``date_to`` bounds of ListReminders, ListExecutions and ListUsageEvents, the
``instant`` of the TimeInputs of CreateReminder, UpdateReminder and ResumeReminder, and
CreateApiKey's ``expires_at``. Each is called through a real server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from grpc_support import Stubs, fails, reminder_request
from support.platform import Tenant

from dialcues_grpc._pb.dialcues.v1 import (
    api_keys_pb2,
    common_pb2,
    executions_pb2,
    reminders_pb2,
    usage_pb2,
    usage_pb2_grpc,
)

FIRST = -62_135_596_800
"""0001-01-01T00:00:00Z, the first second a Timestamp may hold."""
INVALID = {
    "far-future": {"seconds": 2**62},
    "far-past": {"seconds": -(2**40)},
    "negative-nanos": {"nanos": -5},
    "a-second-nanos": {"nanos": 1_000_000_000},
    "year-10000": {"seconds": 253_402_300_800},
    "before-year-1": {"seconds": FIRST - 1},
}
Call = Callable[[Stubs, timestamp_pb2.Timestamp], Awaitable[Any]]


def ts(fields: dict[str, int]) -> timestamp_pb2.Timestamp:
    """A Timestamp with exactly ``fields`` (the client does not check them)."""
    return timestamp_pb2.Timestamp(**fields)


def at(value: timestamp_pb2.Timestamp) -> common_pb2.TimeInput:
    """A TimeInput holding an instant."""
    return common_pb2.TimeInput(instant=value)


async def list_usage(api: Stubs, field: str, value: timestamp_pb2.Timestamp) -> Any:
    """Call ListUsageEvents with one bound."""
    stub = usage_pb2_grpc.UsageServiceStub(api.channel)
    request = usage_pb2.ListUsageEventsRequest(**{field: value})
    return await stub.ListUsageEvents(request, metadata=api.md)


async def list_executions(api: Stubs, field: str, value: timestamp_pb2.Timestamp) -> Any:
    """Call ListExecutions with one bound."""
    request = executions_pb2.ListExecutionsRequest(**{field: value})
    return await api.executions.ListExecutions(request, metadata=api.md)


async def list_reminders(api: Stubs, field: str, value: timestamp_pb2.Timestamp) -> Any:
    """Call ListReminders with one bound."""
    request = reminders_pb2.ListRemindersRequest(**{field: value})
    return await api.reminders.ListReminders(request, metadata=api.md)


async def create_reminder(api: Stubs, field: str, value: timestamp_pb2.Timestamp) -> Any:
    """Create a daily reminder whose ``field`` is the instant ``value``."""
    request = reminder_request(recurrence=reminders_pb2.Recurrence(daily={}), **{field: at(value)})
    return await api.reminders.CreateReminder(request, metadata=api.md)


async def update_reminder(api: Stubs, field: str, value: timestamp_pb2.Timestamp) -> Any:
    """Change ``field`` of a new reminder to the instant ``value``."""
    created = await api.create()
    mask = field_mask_pb2.FieldMask(paths=[field])
    request = reminders_pb2.UpdateReminderRequest(
        id=created.id, update_mask=mask, **{field: at(value)}
    )
    return await api.reminders.UpdateReminder(request, metadata=api.md)


async def resume_reminder(api: Stubs, field: str, value: timestamp_pb2.Timestamp) -> Any:
    """Resume a paused reminder at the instant ``value``."""
    created = await api.create()
    pause = reminders_pb2.PauseReminderRequest(id=created.id)
    await api.reminders.PauseReminder(pause, metadata=api.md)
    request = reminders_pb2.ResumeReminderRequest(id=created.id, **{field: at(value)})
    return await api.reminders.ResumeReminder(request, metadata=api.md)


CASES = {
    "ListUsageEvents.date_from": (list_usage, "date_from"),
    "ListUsageEvents.date_to": (list_usage, "date_to"),
    "ListExecutions.date_from": (list_executions, "date_from"),
    "ListExecutions.date_to": (list_executions, "date_to"),
    "ListReminders.date_from": (list_reminders, "date_from"),
    "ListReminders.date_to": (list_reminders, "date_to"),
    "CreateReminder.scheduled_at": (create_reminder, "scheduled_at"),
    "CreateReminder.recurrence_end_at": (create_reminder, "recurrence_end_at"),
    "UpdateReminder.scheduled_at": (update_reminder, "scheduled_at"),
    "UpdateReminder.recurrence_end_at": (update_reminder, "recurrence_end_at"),
    "ResumeReminder.scheduled_at": (resume_reminder, "scheduled_at"),
}


@pytest.mark.parametrize("value", INVALID.values(), ids=INVALID.keys())
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_an_invalid_timestamp_is_a_validation_error_naming_the_field(
    api: Stubs, case: tuple[Any, str], value: dict[str, int]
) -> None:
    call, field = case
    failed = await fails(call(api, field, ts(value)))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert list(failed.violations) == [field]
    assert failed.violations[field].startswith("must be a valid timestamp from ")


@pytest.mark.parametrize("value", INVALID.values(), ids=INVALID.keys())
async def test_an_invalid_api_key_expiry_is_a_validation_error(
    admin: Stubs, tenant: Tenant, value: dict[str, int]
) -> None:
    request = api_keys_pb2.CreateApiKeyRequest(user_id=tenant.user.id, expires_at=ts(value))
    failed = await fails(admin.api_keys.CreateApiKey(request, metadata=admin.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert failed.violations == {
        "expires_at": "must be a valid timestamp from 0001-01-01T00:00:00Z to "
        "9999-12-31T23:59:59Z with nanos from 0 to 999999999"
    }


@pytest.mark.parametrize("seconds", [FIRST, FIRST + 86_399])
async def test_an_instant_read_in_a_zone_must_stay_a_day_inside_the_range(
    api: Stubs, seconds: int
) -> None:
    # Go's zero time.Time is 0001-01-01T00:00:00Z: read in New York it would be year 0.
    failed = await fails(create_reminder(api, "scheduled_at", ts({"seconds": seconds})))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert failed.violations == {
        "scheduled_at": "must be a valid timestamp from 0001-01-02T00:00:00Z to "
        "9999-12-30T23:59:59Z with nanos from 0 to 999999999"
    }


@pytest.mark.parametrize("case", list(CASES.values())[:6], ids=list(CASES)[:6])
async def test_the_first_valid_timestamp_is_a_usable_list_bound(
    api: Stubs, case: tuple[Any, str]
) -> None:
    call, field = case
    page = await call(api, field, ts({"seconds": FIRST}))
    assert page.page == 1
