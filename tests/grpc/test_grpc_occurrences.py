"""``ReminderService.ListOccurrences``: the preview of REST's ``GET /reminders/{id}/occurrences``
(responsible-calling.md §14, §18), compared field by field with the REST body for the same
reminder. The suite runs on the system clock: the contract's example is moved to 2030."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from grpc_support import Rest, Server, Stubs, fails, local
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_grpc._pb.dialcues.v1 import reminders_pb2

R = reminders_pb2
ZONES = ["America/New_York"]


# ----------------------------------------------------------------------------- helpers
def seconds_text(ts: timestamp_pb2.Timestamp) -> str:
    """Return a Timestamp as REST renders a whole-second time."""
    return ts.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def occurrences_json(found: R.ListOccurrencesResponse) -> dict[str, Any]:
    """Return a ListOccurrencesResponse in REST's shape (written apart from the edge)."""
    return {
        "reminder_id": found.reminder_id,
        "items": [
            {
                "occurrence_at": seconds_text(item.occurrence_at),
                "local_time": item.local_time,
                "plan": item.plan,
                "attempt_at": (
                    seconds_text(item.attempt_at) if item.HasField("attempt_at") else None
                ),
                "reason": item.reason if item.HasField("reason") else None,
                "window_zones": list(item.window_zones),
            }
            for item in found.items
        ],
    }


async def preview(api: Stubs, rid: int, count: int | None = None) -> R.ListOccurrencesResponse:
    """Run ListOccurrences on ``rid`` (``count`` unset when None)."""
    request = R.ListOccurrencesRequest(id=rid, count=count)
    return await api.reminders.ListOccurrences(request, metadata=api.md)


@pytest.fixture
async def twice_a_day(api: Stubs, dc: Dialcues, tenant: Tenant) -> int:
    """The contract's example in 2030: a window 08:00–21:00, 2030-03-27 blocked, and a reminder
    at 07:30 and 12:30 in New York to a New York number from 2030-03-26 (EDT, UTC-4)."""
    changes = {
        "calling_window": {"start": "08:00", "end": "21:00"},
        "blocked_dates": ["2030-03-27"],
    }
    dc.policies.update(tenant.org.id, changes, actor=Actor("admin", "t"))
    created = await api.create(
        phone_number="+12125550143",
        scheduled_at=local("2030-03-26T07:30:00"),
        recurrence=R.Recurrence(cron="30 7,12 * * *"),
    )
    return int(created.id)


# ----------------------------------------------------------------------------- the preview
async def test_the_preview_equals_the_rest_body_with_waits_dials_and_skips(
    api: Stubs, rest: Rest, twice_a_day: int
) -> None:
    found = await preview(api, twice_a_day, count=4)
    body = await rest.get(f"/reminders/{twice_a_day}/occurrences", count="4")
    assert occurrences_json(found) == body
    assert body == {
        "reminder_id": twice_a_day,
        "items": [
            {
                "occurrence_at": "2030-03-26T11:30:00Z",
                "local_time": "2030-03-26T07:30:00",
                "plan": "wait",
                "attempt_at": "2030-03-26T12:00:00Z",
                "reason": "outside_calling_window",
                "window_zones": ZONES,
            },
            {
                "occurrence_at": "2030-03-26T16:30:00Z",
                "local_time": "2030-03-26T12:30:00",
                "plan": "dial",
                "attempt_at": "2030-03-26T16:30:00Z",
                "reason": None,
                "window_zones": ZONES,
            },
            {
                "occurrence_at": "2030-03-27T11:30:00Z",
                "local_time": "2030-03-27T07:30:00",
                "plan": "skip",
                "attempt_at": None,
                "reason": "outside_calling_window",
                "window_zones": ZONES,
            },
            {
                "occurrence_at": "2030-03-27T16:30:00Z",
                "local_time": "2030-03-27T12:30:00",
                "plan": "skip",
                "attempt_at": None,
                "reason": "outside_calling_window",
                "window_zones": ZONES,
            },
        ],
    }


async def test_rest_nulls_are_unset_fields(api: Stubs, twice_a_day: int) -> None:
    _, dial, skip, _ = (await preview(api, twice_a_day, count=4)).items
    assert not dial.HasField("reason") and dial.HasField("attempt_at")
    assert not skip.HasField("attempt_at") and skip.HasField("reason")


async def test_an_unset_count_is_the_default_of_ten(
    api: Stubs, rest: Rest, twice_a_day: int
) -> None:
    found = await preview(api, twice_a_day)
    assert len(found.items) == 10
    assert occurrences_json(found) == await rest.get(f"/reminders/{twice_a_day}/occurrences")


# ----------------------------------------------------------------------------- refusals
async def test_list_occurrences_needs_the_reminders_read_scope(
    server: Server, dc: Dialcues, tenant: Tenant, twice_a_day: int
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "reminders:read"]
    stubs = server.stubs(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
    failed = await fails(preview(stubs, twice_a_day))
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "reminders:read"}


@pytest.mark.parametrize("count", [0, 101, -1])
async def test_a_count_outside_1_to_100_is_invalid_argument_naming_count(
    api: Stubs, twice_a_day: int, count: int
) -> None:
    failed = await fails(preview(api, twice_a_day, count=count))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {"count"}


async def test_an_unknown_reminder_is_not_found(api: Stubs) -> None:
    failed = await fails(preview(api, 999))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
    assert failed.metadata == {"resource": "reminder", "id": "999"}


async def test_another_users_reminder_is_not_found(
    server: Server, dc: Dialcues, tenant: Tenant, twice_a_day: int
) -> None:
    other = server.stubs(make_tenant(dc, org=tenant.org).api_key)
    failed = await fails(preview(other, twice_a_day))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
