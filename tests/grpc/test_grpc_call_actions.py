"""An execution's in-call fields over gRPC (responsible-calling.md §11, §13.2, §18; Done when
14): ``confirmation``, ``confirmed_at`` and ``actions`` equal REST's ``GET /executions/{id}``,
ListExecutions filters on ``confirmation``, and a person pressing 9 on a call placed through
``PlaceCall`` (the simulated dialer's ``…0009``) is an opt-out the suppression and consent
services show at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from consent_support import C, S, action_json, entry_json, field_names, record_consent
from e2e.parity_support import to_rest
from grpc_support import Rest, Stubs, add_execution, fails
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.calls.actions import Action, ActionType, CallActions
from dialcues_core.calls.rendering import execution_payload
from dialcues_core.offload import Offloader
from dialcues_grpc._pb.dialcues.v1 import calls_pb2, calls_pb2_grpc, executions_pb2

E = executions_pb2
AT = datetime(2026, 3, 25, 13, 0, 40, 123_456, tzinfo=UTC)
SNOOZE = Action(
    ActionType.SNOOZE,
    AT,
    "keypad",
    "applied",
    {"minutes": 10, "attempt_at": "2026-03-25T13:10:40.123Z"},
    tool_call_id="call_1",
    result="Okay, I'll call you back at 9:10 AM. Goodbye.",
)
REFUSED = Action(
    ActionType.CONFIRM, AT, "voice", "refused", {"refusal": "call_ended"}, tool_call_id="call_2"
)


def execution_json(found: E.Execution) -> dict[str, object]:
    """Return an Execution in REST's shape; its actions apart (``to_rest`` knows neither their
    millisecond times nor a Struct)."""
    bare = E.Execution()
    bare.CopyFrom(found)
    bare.ClearField("actions")
    return {**to_rest(bare), "actions": [action_json(a) for a in found.actions]}


async def get(api: Stubs, eid: int) -> E.Execution:
    """GetExecution."""
    return await api.executions.GetExecution(E.GetExecutionRequest(id=eid), metadata=api.md)


# ----------------------------------------------------------------------------- fields
async def test_actions_and_confirmation_equal_the_rest_body(
    api: Stubs, rest: Rest, tenant: Tenant
) -> None:
    eid = add_execution(
        tenant,
        None,
        confirmation="snoozed",
        actions=CallActions((SNOOZE, REFUSED)).stored(),
    )
    found = await get(api, eid)
    assert found.confirmation == "snoozed" and not found.HasField("confirmed_at")
    assert [(a.type, a.outcome) for a in found.actions] == [
        ("snooze", "applied"),
        ("confirm", "refused"),
    ]
    assert found.actions[0].at.ToDatetime(tzinfo=UTC) == AT.replace(microsecond=123_000)
    assert execution_json(found) == await rest.get(f"/executions/{eid}")


async def test_a_confirmed_execution_shows_when(api: Stubs, rest: Rest, tenant: Tenant) -> None:
    confirm = Action(ActionType.CONFIRM, AT, "keypad", "applied")
    eid = add_execution(
        tenant,
        None,
        confirmation="confirmed",
        confirmed_at=AT,
        actions=CallActions((confirm,)).stored(),
    )
    found = await get(api, eid)
    assert found.confirmed_at.ToDatetime(tzinfo=UTC) == AT.replace(microsecond=123_000)
    assert dict(found.actions[0].detail) == {}
    assert execution_json(found) == await rest.get(f"/executions/{eid}")


async def test_an_execution_without_actions_has_none(
    api: Stubs, rest: Rest, tenant: Tenant
) -> None:
    found = await get(api, add_execution(tenant, None))
    assert list(found.actions) == [] and not found.HasField("confirmation")
    assert found.direction == E.EXECUTION_DIRECTION_OUTBOUND
    assert not any(found.HasField(name) for name in ("from", "route", "answer_by"))
    assert execution_json(found) == await rest.get(f"/executions/{found.id}")


def test_the_execution_carries_exactly_the_rest_fields(tenant: Tenant, dc: Dialcues) -> None:
    eid = add_execution(tenant, None, actions=CallActions((SNOOZE,)).stored())
    body = execution_payload(dc.executions.get(tenant.principal, eid))
    assert field_names(E.Execution) == set(body)
    assert field_names(E.ExecutionAction) == set(body["actions"][0])


async def test_list_executions_filters_by_confirmation(api: Stubs, tenant: Tenant) -> None:
    confirmed = add_execution(tenant, None, confirmation="confirmed", confirmed_at=AT)
    add_execution(tenant, None, confirmation="no_input")
    request = E.ListExecutionsRequest(confirmation="confirmed")
    found = await api.executions.ListExecutions(request, metadata=api.md)
    assert [e.id for e in found.items] == [confirmed]
    bad = E.ListExecutionsRequest(confirmation="maybe")
    failed = await fails(api.executions.ListExecutions(bad, metadata=api.md))
    assert (failed.code, list(failed.violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["confirmation"],
    )


# ----------------------------------------------------------------------------- a real opt-out
@pytest.fixture
async def dispatching(dc: Dialcues, grpc_offloader: Offloader) -> AsyncIterator[None]:
    """Run the platform's dispatcher (simulated dialer) beside the server."""
    dispatcher = dc.dispatcher(grpc_offloader)
    task = asyncio.create_task(dispatcher.run())
    yield
    await dispatcher.stop()
    await asyncio.wait_for(task, 10)


async def finished(api: Stubs, eid: int) -> E.Execution:
    """Wait (up to 5 s) until the execution is no longer queued or in progress."""
    waiting = (E.EXECUTION_STATUS_QUEUED, E.EXECUTION_STATUS_IN_PROGRESS)
    for _ in range(100):
        found = await get(api, eid)
        if found.status not in waiting:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"execution {eid} still {found.status}")


@pytest.mark.usefixtures("dispatching")
async def test_pressing_9_opts_out_and_every_service_shows_it(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    number = "+14155550009"
    consent = await record_consent(api, number, type="express", purpose="informational")
    stub = calls_pb2_grpc.CallServiceStub(api.channel)
    request = calls_pb2.PlaceCallRequest(to=number, message="Your refill is ready")
    placed = await stub.PlaceCall(request, metadata=api.md)
    done = await finished(api, placed.id)
    assert (done.status, done.confirmation) == (E.EXECUTION_STATUS_COMPLETED, "opted_out")
    assert [(a.type, a.via, a.outcome) for a in done.actions] == [("stop", "keypad", "applied")]

    get_entry = S.GetSuppressionRequest(phone_number=number)
    entry = await api.suppressions.GetSuppression(get_entry, metadata=api.md)
    assert entry.reason == "opt_out_keypress"
    assert entry_json(entry)["source"] == {
        "type": "execution",
        "id": placed.id,  # an integer, as over REST
        "user_id": tenant.user.id,
        "external_id": None,
    }
    get_consent = C.GetConsentRequest(id=consent.id)
    revoked = await api.consents.GetConsent(get_consent, metadata=api.md)
    assert revoked.revocation.reason == "opt_out_keypress"
    failed = await fails(stub.PlaceCall(request, metadata=api.md))
    assert failed.reason == "recipient_suppressed"
