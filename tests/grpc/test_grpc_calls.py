"""CallService.PlaceCall and AgentService.Smoke through the generated stubs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_support import Stubs, fails
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ExecutionRow, LineRow, ReminderRow
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.offload import Offloader
from dialcues_grpc._pb.dialcues.v1 import calls_pb2, calls_pb2_grpc, executions_pb2

NUMBER = "+14155552671"
STEPS = ["create_line", "create_reminder", "dispatch", "outcome", "cleanup"]


def calls(api: Stubs) -> calls_pb2_grpc.CallServiceStub:
    """The CallService stub on the api's channel."""
    return calls_pb2_grpc.CallServiceStub(api.channel)


def agent(api: Stubs) -> calls_pb2_grpc.AgentServiceStub:
    """The AgentService stub on the api's channel."""
    return calls_pb2_grpc.AgentServiceStub(api.channel)


async def place(api: Stubs, **fields: Any) -> executions_pb2.Execution:
    """Place a call (a valid request with ``fields``)."""
    values: dict[str, Any] = {"to": NUMBER, "message": "Your table is ready", **fields}
    request = calls_pb2.PlaceCallRequest(**values)
    return await calls(api).PlaceCall(request, metadata=api.md)


async def smoke(api: Stubs) -> calls_pb2.SmokeResponse:
    """Run the smoke flow."""
    return await agent(api).Smoke(calls_pb2.SmokeRequest(), metadata=api.md)


@pytest.fixture
async def dispatching(dc: Dialcues, grpc_offloader: Offloader) -> AsyncIterator[None]:
    """Run the platform's dispatcher (simulated dialer) beside the server."""
    dispatcher = dc.dispatcher(grpc_offloader)
    task = asyncio.create_task(dispatcher.run())
    yield
    await dispatcher.stop()
    await asyncio.wait_for(task, 10)


# ----------------------------------------------------------------------------- PlaceCall
async def test_place_call_returns_the_queued_execution(api: Stubs, tenant: Tenant) -> None:
    placed = await place(api, title="Table")
    assert placed.status == executions_pb2.EXECUTION_STATUS_QUEUED
    assert not placed.HasField("reminder_id")
    assert (placed.reminder_title, placed.to, placed.line_id) == ("Table", NUMBER, tenant.line.id)
    assert placed.attempt == 1 and not placed.HasField("executed_at")


async def test_missing_fields_are_invalid_argument_naming_them(api: Stubs) -> None:
    request = calls_pb2.PlaceCallRequest(title="Only a title")
    failed = await fails(calls(api).PlaceCall(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert failed.violations == {"to": "is required", "message": "is required"}


async def test_organization_without_a_line_is_failed_precondition(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    dc.accounts.remove_line(tenant.org.id, tenant.line.id)
    failed = await fails(place(api))
    assert failed.code == grpc.StatusCode.FAILED_PRECONDITION
    assert failed.reason == "missing_outbound_line"


async def test_credential_without_calls_write_is_permission_denied(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "calls:write"]
    narrow = api.with_token(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
    failed = await fails(place(narrow))
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "calls:write"}


async def test_ten_retries_with_one_request_id_queue_one_call(api: Stubs) -> None:
    placed = [await place(api, request_id="call-1") for _ in range(10)]
    assert {p.id for p in placed} == {placed[0].id}
    assert ExecutionRow.select().count() == 1


async def test_same_request_id_with_another_request_is_already_exists(api: Stubs) -> None:
    await place(api, request_id="call-2")
    failed = await fails(place(api, request_id="call-2", message="Another"))
    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "idempotency_mismatch")


# ----------------------------------------------------------------------------- Smoke
@pytest.mark.usefixtures("dispatching")
async def test_smoke_returns_every_step_and_leaves_nothing(api: Stubs) -> None:
    report = await smoke(api)
    assert report.status == "ok"
    assert [s.name for s in report.steps] == STEPS
    assert {s.result for s in report.steps} == {"ok"}
    assert (LineRow.select().count(), ReminderRow.select().count()) == (1, 0)


async def test_smoke_without_a_dispatcher_is_unavailable_naming_the_step(
    api: Stubs, dc: Dialcues
) -> None:
    dc.smoke.wait_seconds = 0.3
    failed = await fails(smoke(api))
    assert (failed.code, failed.reason) == (grpc.StatusCode.UNAVAILABLE, "smoke_failed")
    assert failed.metadata["step"] == "dispatch"


async def test_smoke_needs_reminders_write(api: Stubs, dc: Dialcues, tenant: Tenant) -> None:
    scopes = [s for s in ALL_SCOPES if s != "reminders:write"]
    narrow = api.with_token(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
    failed = await fails(smoke(narrow))
    assert failed.metadata == {"scope": "reminders:write"}
