"""The responsible-calling fields over gRPC (responsible-calling.md §13, §18): a reminder's
``purpose``, ``calling_window``, ``max_lateness_seconds``, ``retry_policy`` and
``next_eligible_at``; ``PlaceCallRequest``'s ``purpose``, ``timezone`` and ``calling_window``;
and the policy refusals ``outside_calling_window`` and ``frequency_cap_reached``.

Reads are compared with REST's ``GET`` of the same reminder. The test platform turns the
calling window and frequency caps off (``settings_for``): the tests that need them set the
organization's policy. A marketing reminder or call needs an ``express_written`` marketing
consent for its number (§8): the tests that send one record it first (``consented``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from e2e.parity_support import to_rest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from grpc_support import Rest, Stubs, add_execution, fails, local
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_grpc._pb.dialcues.v1 import (
    calls_pb2,
    calls_pb2_grpc,
    common_pb2,
    executions_pb2,
    policy_pb2,
    reminders_pb2,
)

R, P = reminders_pb2, policy_pb2
NEW_YORK = "+12125550143"
"""A New York number: its zone is the reminder's, so only the reminder's zone counts."""
TOLL_FREE = "+18005550199"
"""A number that says nothing about where the person is (no window zone)."""
HOURS = P.CallingWindow(hours=P.CallingHours(start="08:30", end="17:00", days=[5, 1, 3, 2, 4]))
PROFILE = P.CallingWindow(profile="us_strict")
BYPASS = P.CallingWindow(bypass=P.WindowBypass(reason="  Asked for an early call  "))
RETRY = P.RetryPolicy(
    max_attempts=3,
    delays=P.RetryDelaysByOutcome(
        busy=P.DelayList(seconds=[300, 900]), no_answer=P.DelayList(seconds=[900])
    ),
)

FULL: dict[str, Any] = {"purpose": "marketing", "max_lateness_seconds": 600, "retry_policy": RETRY}
"""Every calling field but the window, set."""


@pytest.fixture
def consented(dc: Dialcues, tenant: Tenant) -> None:
    """Record express written marketing consent for both numbers the tests call."""
    for number in (NEW_YORK, TOLL_FREE):
        consent = {
            "phone_number": number,
            "type": "express_written",
            "purpose": "marketing",
            "source": "web_form",
            "text": "Acme may call me with offers, using an automated voice.",
            "captured_at": "2026-03-01T10:12:00Z",
        }
        dc.consents.create(tenant.principal, consent)


def set_policy(dc: Dialcues, tenant: Tenant, **changes: Any) -> None:
    """Change the tenant's organization's calling policy (wire values)."""
    dc.policies.update(tenant.org.id, changes, actor=Actor("admin", "t"))


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    """Return a FieldMask of ``paths``."""
    return field_mask_pb2.FieldMask(paths=list(paths))


async def create(api: Stubs, **fields: Any) -> R.Reminder:
    """Create a one-off to a New York number on Monday 2030-03-25 09:00 there."""
    return await api.create(phone_number=NEW_YORK, **fields)


async def update(api: Stubs, rid: int, paths: tuple[str, ...], **fields: Any) -> R.Reminder:
    """Call UpdateReminder on ``rid`` with ``paths`` and ``fields``."""
    request = R.UpdateReminderRequest(id=rid, update_mask=mask(*paths), **fields)
    return await api.reminders.UpdateReminder(request, metadata=api.md)


async def get(api: Stubs, rid: int) -> R.Reminder:
    """Return one reminder."""
    return await api.reminders.GetReminder(R.GetReminderRequest(id=rid), metadata=api.md)


async def place(api: Stubs, **fields: Any) -> executions_pb2.Execution:
    """Place a call to the toll-free number, read in UTC, with ``fields``."""
    values: dict[str, Any] = {"to": TOLL_FREE, "message": "Hello", "timezone": "UTC", **fields}
    stub = calls_pb2_grpc.CallServiceStub(api.channel)
    return await stub.PlaceCall(calls_pb2.PlaceCallRequest(**values), metadata=api.md)


def one_minute_away(hours: int) -> P.CallingWindow:
    """A one-minute window, in UTC, ``hours`` from now: now is outside it."""
    minute = (datetime.now(UTC) + timedelta(hours=hours)).strftime("%H:%M")
    return P.CallingWindow(hours=P.CallingHours(start=minute, end=minute))


# ----------------------------------------------------------------------------- create, read
@pytest.mark.usefixtures("consented")
@pytest.mark.parametrize("window", [HOURS, PROFILE, BYPASS], ids=["hours", "profile", "bypass"])
async def test_each_window_form_reads_back_as_rests_get(
    api: Stubs, rest: Rest, window: P.CallingWindow
) -> None:
    created = await create(
        api,
        purpose="marketing",
        calling_window=window,
        max_lateness_seconds=600,
        retry_policy=RETRY,
    )
    fetched = await get(api, created.id)
    assert fetched == created
    assert to_rest(fetched) == await rest.get(f"/reminders/{created.id}")


@pytest.mark.usefixtures("consented")
async def test_calling_fields_are_returned_as_sent(api: Stubs) -> None:
    created = await create(api, **FULL, calling_window=HOURS)
    assert (created.purpose, created.max_lateness_seconds) == ("marketing", 600)
    hours = created.calling_window.hours
    assert (hours.start, hours.end, list(hours.days)) == ("08:30", "17:00", [1, 2, 3, 4, 5])
    assert created.retry_policy == RETRY
    assert created.next_eligible_at == created.scheduled_at


async def test_unset_calling_fields_are_the_organizations(api: Stubs, rest: Rest) -> None:
    created = await create(api)
    assert created.purpose == "informational"
    for name in ("calling_window", "max_lateness_seconds", "retry_policy"):
        assert not created.HasField(name), name
    body = await rest.get(f"/reminders/{created.id}")
    assert (body["calling_window"], body["retry_policy"]) == (None, None)
    assert to_rest(created) == body


async def test_a_bypass_shows_who_set_it_and_when(api: Stubs, tenant: Tenant) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    bypass = (await create(api, calling_window=BYPASS)).calling_window.bypass
    assert bypass.reason == "Asked for an early call"
    assert before <= bypass.bypassed_at.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    assert bypass.bypassed_by == common_pb2.Actor(
        type="api_key", id=tenant.principal.api_key_id, user_id=tenant.user.id
    )


async def test_a_bypass_may_not_carry_its_stamp_in_a_request(api: Stubs, tenant: Tenant) -> None:
    stamped = P.CallingWindow()
    stamped.CopyFrom(BYPASS)
    stamped.bypass.bypassed_by.CopyFrom(common_pb2.Actor(type="admin", id="me"))
    failed = await fails(create(api, calling_window=stamped))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert list(failed.violations) == ["calling_window"]


async def test_bad_calling_values_name_their_fields(api: Stubs) -> None:
    backwards = P.CallingWindow(hours=P.CallingHours(start="18:00", end="09:00"))
    failed = await fails(
        create(
            api,
            purpose="spam",
            calling_window=backwards,
            max_lateness_seconds=5,
            retry_policy=P.RetryPolicy(max_attempts=0),
        )
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(failed.violations) == [
        "calling_window",
        "max_lateness_seconds",
        "purpose",
        "retry_policy",
    ]


async def test_a_window_wider_than_the_policy_carries_its_reason(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    wide = P.CallingWindow(hours=P.CallingHours(start="07:00", end="20:00"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await create(api, calling_window=wide)
    status = rpc_status.from_call(caught.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details if d.Is(bad.DESCRIPTOR))
    assert [(v.field, v.reason) for v in bad.field_violations] == [
        ("calling_window", "wider_than_policy")
    ]


async def test_a_one_off_outside_the_window_is_failed_precondition_naming_scheduled_at(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    failed = await fails(create(api, scheduled_at=local("2030-03-25T06:30:00")))
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "outside_calling_window",
    )
    assert list(failed.violations) == ["scheduled_at"]
    assert "06:30 in America/New_York is outside" in failed.violations["scheduled_at"]
    assert failed.metadata == {  # 08:00 EDT
        "next_allowed_at": "2030-03-25T12:00:00Z",
        "window_zones": "America/New_York",
    }


async def test_a_bypassed_one_off_outside_the_window_is_accepted(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    created = await create(api, scheduled_at=local("2030-03-25T06:30:00"), calling_window=BYPASS)
    assert created.next_eligible_at == created.scheduled_at


# ----------------------------------------------------------------------------- update
@pytest.mark.usefixtures("consented")
async def test_each_calling_mask_path_changes_its_field(api: Stubs, rest: Rest) -> None:
    created = await create(api)
    updated = await update(
        api,
        created.id,
        ("purpose", "calling_window", "max_lateness_seconds", "retry_policy"),
        purpose="marketing",
        calling_window=PROFILE,
        max_lateness_seconds=120,
        retry_policy=RETRY,
    )
    assert (updated.purpose, updated.calling_window, updated.max_lateness_seconds) == (
        "marketing",
        PROFILE,
        120,
    )
    assert updated.retry_policy == RETRY
    assert updated.scheduled_at == created.scheduled_at  # the schedule does not move
    assert to_rest(updated) == await rest.get(f"/reminders/{created.id}")


async def test_an_unmasked_calling_field_is_left_alone(api: Stubs) -> None:
    created = await create(api, calling_window=HOURS, max_lateness_seconds=600)
    updated = await update(
        api, created.id, ("title",), title="Renamed", calling_window=PROFILE, purpose="marketing"
    )
    assert (updated.title, updated.calling_window, updated.purpose) == (
        "Renamed",
        created.calling_window,
        "informational",
    )
    assert updated.max_lateness_seconds == 600


async def test_a_masked_unset_calling_window_clears_it(api: Stubs, rest: Rest) -> None:
    created = await create(api, calling_window=BYPASS, max_lateness_seconds=600, retry_policy=RETRY)
    paths = ("calling_window", "max_lateness_seconds", "retry_policy")
    cleared = await update(api, created.id, paths)
    for name in paths:
        assert not cleared.HasField(name), name
    body = await rest.get(f"/reminders/{created.id}")
    assert (body["calling_window"], body["max_lateness_seconds"], body["retry_policy"]) == (
        None,
        None,
        None,
    )


async def test_a_masked_unset_purpose_is_refused_as_over_rest(api: Stubs) -> None:
    created = await create(api)
    failed = await fails(update(api, created.id, ("purpose",)))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failed.violations) == ["purpose"]


async def test_clearing_a_bypass_outside_the_window_is_failed_precondition(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    early = await create(api, scheduled_at=local("2030-03-25T06:30:00"), calling_window=BYPASS)
    failed = await fails(update(api, early.id, ("calling_window",)))
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "outside_calling_window",
    )
    assert list(failed.violations) == ["scheduled_at"]


# ----------------------------------------------------------------------------- PlaceCall
@pytest.mark.usefixtures("consented")
async def test_place_call_carries_its_purpose(api: Stubs) -> None:
    placed = await place(api, purpose="marketing")
    assert (placed.status, placed.purpose) == (
        executions_pb2.EXECUTION_STATUS_QUEUED,
        "marketing",
    )


async def test_place_call_outside_the_window_is_failed_precondition_naming_to(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    hours = one_minute_away(2).hours
    set_policy(dc, tenant, calling_window={"start": hours.start, "end": hours.end})
    failed = await fails(place(api))
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "outside_calling_window",
    )
    assert list(failed.violations) == ["to"]


async def test_place_call_takes_no_hours_of_its_own(api: Stubs) -> None:
    """responsible-calling.md section 21: a call's calling_window is a bypass only."""
    failed = await fails(place(api, calling_window=one_minute_away(2)))
    assert (failed.code, list(failed.violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["calling_window"],
    )


async def test_place_call_with_a_bypass_is_queued_whatever_the_window(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    policy_window = one_minute_away(2).hours
    set_policy(dc, tenant, calling_window={"start": policy_window.start, "end": policy_window.end})
    assert (await fails(place(api))).reason == "outside_calling_window"
    placed = await place(api, calling_window=BYPASS)
    assert placed.status == executions_pb2.EXECUTION_STATUS_QUEUED


async def test_place_call_needs_a_timezone_when_the_number_gives_none(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, calling_window={"start": "00:00", "end": "23:59"})
    stub = calls_pb2_grpc.CallServiceStub(api.channel)
    request = calls_pb2.PlaceCallRequest(to=TOLL_FREE, message="Hello")
    failed = await fails(stub.PlaceCall(request, metadata=api.md))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(failed.violations) == ["timezone"]


async def test_place_call_while_the_frequency_cap_is_full_is_failed_precondition(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, frequency_caps={"per_24h": 1, "per_30d": None})
    just_now = datetime.now(UTC) - timedelta(minutes=5)
    add_execution(tenant, None, to_number=TOLL_FREE, executed_at=just_now, scheduled_for=just_now)
    failed = await fails(place(api))
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "frequency_cap_reached",
    )
    assert "free_at" in failed.metadata


async def test_list_executions_filters_by_skip_reason_and_number(
    api: Stubs, tenant: Tenant
) -> None:
    add_execution(tenant, None, to_number=NEW_YORK, status="skipped", skip_reason="vetoed",
                  executed_at=None)  # fmt: skip
    add_execution(tenant, None, to_number=TOLL_FREE)
    E = executions_pb2  # noqa: N806
    vetoed = await api.executions.ListExecutions(
        E.ListExecutionsRequest(skip_reason="vetoed"), metadata=api.md
    )
    assert [(e.to, e.skip_reason) for e in vetoed.items] == [(NEW_YORK, "vetoed")]
    toll_free = await api.executions.ListExecutions(
        E.ListExecutionsRequest(to=TOLL_FREE), metadata=api.md
    )
    assert [e.to for e in toll_free.items] == [TOLL_FREE]
    failed = await fails(
        api.executions.ListExecutions(E.ListExecutionsRequest(skip_reason="bored"), metadata=api.md)
    )
    assert (failed.code, list(failed.violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["skip_reason"],
    )


async def test_a_calls_bypass_is_audited_with_the_calls_request_id(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    stub = calls_pb2_grpc.CallServiceStub(api.channel)
    request = calls_pb2.PlaceCallRequest(
        to=TOLL_FREE, message="Hi", timezone="UTC", calling_window=BYPASS
    )
    placed = await stub.PlaceCall(request, metadata=(*api.md, ("x-request-id", "rid-bypass-1")))
    (event,) = dc.audit.list_for(tenant.org.id, {"action": "calling_window.bypassed"}).items
    assert (event.subject_type, event.subject_id) == ("execution", str(placed.id))
    assert (event.request_id, event.actor.type) == ("rid-bypass-1", "api_key")


# ----------------------------------------------------------------------------- caller identity
def vapi_line(dc: Dialcues, tenant: Tenant) -> str:
    """Add a Vapi line to the tenant's organization; return its id."""
    return dc.accounts.add_line(tenant.org.id, "vapi", "+14155550101", provider_line_id="pn_1").id


async def test_a_vapi_reminder_without_a_caller_name_is_caller_identity_required(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, caller_name=None)
    failed = await fails(create(api, vapi_line_id=vapi_line(dc, tenant)))
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "caller_identity_required",
    )
    assert failed.metadata == {"missing": "caller_name"}


@pytest.mark.usefixtures("consented")
async def test_a_vapi_marketing_call_needs_a_callback_number(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    failed = await fails(place(api, purpose="marketing", vapi_line_id=vapi_line(dc, tenant)))
    assert (failed.reason, failed.metadata) == (
        "caller_identity_required",
        {"missing": "callback_number"},
    )


async def test_a_simulated_line_needs_no_caller_name(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, caller_name=None)
    assert (await create(api)).status == R.REMINDER_STATUS_SCHEDULED
