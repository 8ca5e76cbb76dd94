"""``LineService.GetLine``/``UpdateLine`` and ``CallService.AnswerInboundCall`` (``telephony.md``
§3.1, §3.4, §6.5): REST's ``GET``/``PATCH /lines/{id}`` and ``POST /calls/inbound/answer`` over
gRPC, a route being the ``Route`` oneof.

A waiting ``external`` call is made through the core (``dc.inbound.ring_line`` on a line whose
route is ``external`` with a 5 s timeout): its execution waits, route unset, until a decision
or its ``answer_by``. No handler holds it open, so nothing applies the fallback while a test
runs; except where ``dc.ring_line`` (``dialcues lines ring``'s path) rings in a thread and
waits for the decision as the provider's handler does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from e2e.parity_support import to_rest
from google.protobuf import field_mask_pb2
from grpc_support import Rest, Stubs, fails
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_grpc._pb.dialcues.v1 import (
    calls_pb2,
    calls_pb2_grpc,
    executions_pb2,
    lines_pb2,
)

L, E = lines_pb2, executions_pb2
CALLER = "+14155552671"
TRANSFER_TO = "+14155550199"
EXTERNAL = {"type": "external", "timeout_ms": 5000}


# ----------------------------------------------------------------------------- helpers
def route_json(route: L.Route | L.DecidedRoute) -> dict[str, Any]:
    """Return a route as REST's object: ``{"type": <member>, <every field of it>}``."""
    kind = route.WhichOneof("type")
    assert kind is not None, "a route read back always has a type"
    member = getattr(route, kind)
    body: dict[str, Any] = {"type": kind}
    for field in member.DESCRIPTOR.fields:
        value = getattr(member, field.name)
        body[field.name] = route_json(value) if field.message_type is not None else value
    return body


def line_json(line: L.Line) -> dict[str, Any]:
    """Return a Line in REST's shape (its route as REST's object, or None)."""
    bare = L.Line()
    bare.CopyFrom(line)
    bare.ClearField("route")
    return {**to_rest(bare), "route": route_json(line.route) if line.HasField("route") else None}


def execution_json(found: E.Execution) -> dict[str, Any]:
    """Return an Execution in REST's shape (its route as REST's object, or None)."""
    bare = E.Execution()
    bare.CopyFrom(found)
    bare.ClearField("route")
    route = route_json(found.route) if found.HasField("route") else None
    return {**to_rest(bare), "route": route}


def update(line_id: str, paths: list[str], **fields: Any) -> L.UpdateLineRequest:
    """An UpdateLineRequest masking ``paths``."""
    mask = field_mask_pb2.FieldMask(paths=paths)
    return L.UpdateLineRequest(id=line_id, update_mask=mask, **fields)


def transfer(number: str) -> L.Route:
    """A transfer route."""
    return L.Route(transfer=L.TransferRoute(number=number))


def calls(api: Stubs) -> calls_pb2_grpc.CallServiceStub:
    """The CallService stub of ``api``'s channel."""
    return calls_pb2_grpc.CallServiceStub(api.channel)


def ring(dc: Dialcues, tenant: Tenant) -> int:
    """Put the tenant's line on an ``external`` route and ring it; return the waiting call's
    execution id."""
    dc.lines.update_for(tenant.org.id, tenant.line.id, {"route": EXTERNAL})
    answer = dc.inbound.ring_line(tenant.org.id, tenant.line.id, CALLER)
    assert answer.execution_id is not None and answer.route is None
    return answer.execution_id


def decide(
    execution_id: int | None = None, call_id: str | None = None, request_id: str = ""
) -> calls_pb2.AnswerInboundCallRequest:
    """An AnswerInboundCallRequest deciding a ``message`` route."""
    route = L.DecidedRoute(message=L.MessageRoute(text="We are closed today."))
    return calls_pb2.AnswerInboundCallRequest(
        execution_id=execution_id, call_id=call_id, route=route, request_id=request_id
    )


# ----------------------------------------------------------------------------- GetLine
async def test_get_line_equals_the_rest_line(api: Stubs, rest: Rest, tenant: Tenant) -> None:
    found = await api.lines.GetLine(L.GetLineRequest(id=tenant.line.id), metadata=api.md)
    assert (found.id, list(found.features), found.HasField("route")) == (
        tenant.line.id,
        ["voice"],
        False,
    )
    assert line_json(found) == await rest.get(f"/lines/{tenant.line.id}")


async def test_another_organizations_line_is_not_found(api: Stubs, dc: Dialcues) -> None:
    stranger = make_tenant(dc)
    request = L.GetLineRequest(id=stranger.line.id)
    failed = await fails(api.lines.GetLine(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


# ----------------------------------------------------------------------------- UpdateLine
async def test_update_line_sets_a_route_that_reads_back_as_over_rest(
    api: Stubs, rest: Rest, tenant: Tenant
) -> None:
    request = update(tenant.line.id, ["route"], route=transfer(TRANSFER_TO))
    changed = await api.lines.UpdateLine(request, metadata=api.md)
    assert route_json(changed.route) == {"type": "transfer", "number": TRANSFER_TO}
    read = await api.lines.GetLine(L.GetLineRequest(id=tenant.line.id), metadata=api.md)
    assert read == changed
    assert line_json(read) == await rest.get(f"/lines/{tenant.line.id}")


async def test_an_external_route_reads_back_with_its_defaults(api: Stubs, tenant: Tenant) -> None:
    route = L.Route(external=L.ExternalRoute())
    changed = await api.lines.UpdateLine(
        update(tenant.line.id, ["route"], route=route), metadata=api.md
    )
    assert route_json(changed.route) == {
        "type": "external",
        "timeout_ms": 4000,
        "fallback": {"type": "reject"},
    }


async def test_a_masked_route_left_unset_clears_it(api: Stubs, tenant: Tenant) -> None:
    await api.lines.UpdateLine(
        update(tenant.line.id, ["route"], route=transfer(TRANSFER_TO)), metadata=api.md
    )
    cleared = await api.lines.UpdateLine(update(tenant.line.id, ["route"]), metadata=api.md)
    assert not cleared.HasField("route")


async def test_the_label_changes_and_the_route_stays(api: Stubs, tenant: Tenant) -> None:
    await api.lines.UpdateLine(
        update(tenant.line.id, ["route"], route=transfer(TRANSFER_TO)), metadata=api.md
    )
    changed = await api.lines.UpdateLine(
        update(tenant.line.id, ["label"], label="  Front desk "), metadata=api.md
    )
    assert (changed.label, changed.route.transfer.number) == ("Front desk", TRANSFER_TO)


@pytest.mark.parametrize(
    ("route", "field"),
    [
        (transfer("+19005550100"), "route.number"),  # premium rate
        (transfer("+14155550100"), "route.number"),  # the tenant's own line
        (L.Route(transfer=L.TransferRoute()), "route.number"),
        (L.Route(), "route.type"),
        (
            L.Route(external=L.ExternalRoute(timeout_ms=100, fallback=L.DecidedRoute())),
            "route.fallback.type",
        ),
    ],
)
async def test_an_invalid_route_is_invalid_argument_naming_its_field(
    api: Stubs, tenant: Tenant, route: L.Route, field: str
) -> None:
    request = update(tenant.line.id, ["route"], route=route)
    failed = await fails(api.lines.UpdateLine(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert field in failed.violations


async def test_is_default_false_and_an_unknown_path_are_refused(api: Stubs, tenant: Tenant) -> None:
    request = update(tenant.line.id, ["is_default"], is_default=False)
    failed = await fails(api.lines.UpdateLine(request, metadata=api.md))
    assert list(failed.violations) == ["is_default"]
    failed = await fails(api.lines.UpdateLine(update(tenant.line.id, ["nope"]), metadata=api.md))
    assert list(failed.violations) == ["update_mask"]


async def test_update_line_without_lines_write_is_refused_naming_it(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "lines:write"]
    limited = api.with_token(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
    request = update(tenant.line.id, ["route"], route=transfer(TRANSFER_TO))
    failed = await fails(limited.lines.UpdateLine(request, metadata=limited.md))
    assert (failed.code, failed.reason, failed.metadata) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "insufficient_scope",
        {"scope": "lines:write"},
    )
    assert "lines:write" in failed.message
    read = await limited.lines.GetLine(L.GetLineRequest(id=tenant.line.id), metadata=limited.md)
    assert not read.HasField("route")


async def test_update_line_with_a_request_id_replays(api: Stubs, tenant: Tenant) -> None:
    request = update(tenant.line.id, ["label"], label="Desk", request_id="label-once")
    first = await api.lines.UpdateLine(request, metadata=api.md)
    again = await api.lines.UpdateLine(request, metadata=api.md)
    assert again == first
    other = update(tenant.line.id, ["label"], label="Other", request_id="label-once")
    failed = await fails(api.lines.UpdateLine(other, metadata=api.md))
    assert failed.reason == "idempotency_mismatch"


# ----------------------------------------------------------------------------- AnswerInboundCall
async def test_answering_a_waiting_call_stores_the_route(
    api: Stubs, rest: Rest, dc: Dialcues, tenant: Tenant
) -> None:
    waiting = ring(dc, tenant)
    before = await api.executions.GetExecution(E.GetExecutionRequest(id=waiting), metadata=api.md)
    assert not before.HasField("route") and before.HasField("answer_by")
    answered = await calls(api).AnswerInboundCall(decide(waiting), metadata=api.md)
    assert answered.direction == E.EXECUTION_DIRECTION_INBOUND
    assert (getattr(answered, "from"), answered.to) == (CALLER, tenant.line.phone_number)
    assert route_json(answered.route) == {"type": "message", "text": "We are closed today."}
    assert answered.answer_by == before.answer_by
    assert execution_json(answered) == await rest.get(f"/executions/{waiting}")


async def test_the_ringing_handler_answers_with_the_decision(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    dc.lines.update_for(tenant.org.id, tenant.line.id, {"route": EXTERNAL})
    ringing = asyncio.create_task(
        asyncio.to_thread(dc.ring_line, tenant.org.id, tenant.line.id, CALLER)
    )
    waiting = await first_inbound(api)
    await calls(api).AnswerInboundCall(decide(waiting), metadata=api.md)
    answer, ended = await asyncio.wait_for(ringing, 10)
    assert answer.error == "We are closed today."
    assert ended is not None and (ended.id, ended.status.value) == (waiting, "completed")


async def first_inbound(api: Stubs, within: float = 5.0) -> int:
    """Poll ListExecutions until an inbound execution exists; return its id."""
    request = E.ListExecutionsRequest(direction=E.EXECUTION_DIRECTION_INBOUND)
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        found = await api.executions.ListExecutions(request, metadata=api.md)
        if found.items:
            return found.items[0].id
        await asyncio.sleep(0.02)
    raise AssertionError(f"no inbound execution after {within} s")


async def test_a_second_answer_is_call_already_answered(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    waiting = ring(dc, tenant)
    await calls(api).AnswerInboundCall(decide(waiting), metadata=api.md)
    failed = await fails(calls(api).AnswerInboundCall(decide(waiting), metadata=api.md))
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "call_already_answered",
    )


async def test_a_call_is_named_by_its_call_id_too(api: Stubs, dc: Dialcues, tenant: Tenant) -> None:
    waiting = ring(dc, tenant)
    call_id = dc.inbound.execution(waiting).call_id  # type: ignore[union-attr]
    answered = await calls(api).AnswerInboundCall(decide(call_id=call_id), metadata=api.md)
    assert (answered.id, answered.call_id) == (waiting, call_id)


async def test_a_replayed_answer_returns_the_stored_execution(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    waiting = ring(dc, tenant)
    request = decide(waiting, request_id="answer-once")
    first = await calls(api).AnswerInboundCall(request, metadata=api.md)
    assert await calls(api).AnswerInboundCall(request, metadata=api.md) == first


async def test_another_organizations_call_is_not_found(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    stranger = make_tenant(dc)
    theirs = ring(dc, stranger)
    failed = await fails(calls(api).AnswerInboundCall(decide(theirs), metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
    still = dc.inbound.execution(theirs)
    assert still is not None and still.route is None


async def test_an_answer_naming_no_call_or_no_route_is_invalid(api: Stubs) -> None:
    unnamed = calls_pb2.AnswerInboundCallRequest(route=L.DecidedRoute(reject=L.RejectRoute()))
    failed = await fails(calls(api).AnswerInboundCall(unnamed, metadata=api.md))
    assert (failed.code, list(failed.violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["call_id"],
    )
    routeless = calls_pb2.AnswerInboundCallRequest(execution_id=1)
    failed = await fails(calls(api).AnswerInboundCall(routeless, metadata=api.md))
    assert list(failed.violations) == ["route"]


# ----------------------------------------------------------------------------- ListExecutions
async def test_list_executions_filters_by_direction(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    waiting = ring(dc, tenant)
    inbound = E.ListExecutionsRequest(direction=E.EXECUTION_DIRECTION_INBOUND)
    found = await api.executions.ListExecutions(inbound, metadata=api.md)
    assert [e.id for e in found.items] == [waiting]
    outbound = E.ListExecutionsRequest(direction=E.EXECUTION_DIRECTION_OUTBOUND)
    assert (await api.executions.ListExecutions(outbound, metadata=api.md)).items == []
