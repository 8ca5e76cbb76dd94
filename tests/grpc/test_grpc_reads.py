"""GetExecution, LineService.ListLines and IdentityService.WhoAmI."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from grpc_support import Server, Stubs, add_execution, fails
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_grpc._pb.dialcues.v1 import (
    common_pb2,
    executions_pb2,
    identity_pb2,
    lines_pb2,
)

E = executions_pb2


async def test_get_execution_returns_every_field_in_milliseconds(
    api: Stubs, tenant: Tenant
) -> None:
    rid = (await api.create()).id
    eid = add_execution(
        tenant, rid, call_id="call_1", duration_s=42, cost=0.12, ended_reason="hangup"
    )
    found = await api.executions.GetExecution(E.GetExecutionRequest(id=eid), metadata=api.md)
    assert (found.id, found.reminder_id, found.reminder_title) == (eid, rid, "Stand-up")
    assert (found.status, found.attempt) == (E.EXECUTION_STATUS_COMPLETED, 1)
    assert (found.call_id, found.line_id, found.to) == ("call_1", tenant.line.id, "+14155552671")
    assert found.scheduled_for.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 25, 13, tzinfo=UTC)
    assert found.executed_at.ToDatetime(tzinfo=UTC) == datetime(
        2026, 3, 25, 13, 0, 0, 412_000, tzinfo=UTC
    )
    assert not found.HasField("ended_at")
    assert (found.ended_reason, found.duration_s, found.cost) == ("hangup", 42, 0.12)
    assert not found.HasField("error_message")


async def test_a_call_placed_now_has_no_reminder(api: Stubs, tenant: Tenant) -> None:
    eid = add_execution(tenant, None, status="queued", executed_at=None)
    found = await api.executions.GetExecution(E.GetExecutionRequest(id=eid), metadata=api.md)
    assert not found.HasField("reminder_id") and not found.HasField("reminder_title")
    assert found.status == E.EXECUTION_STATUS_QUEUED


async def test_another_users_execution_is_not_found(
    server: Server, dc: Dialcues, tenant: Tenant
) -> None:
    eid = add_execution(tenant, None)
    other = server.stubs(make_tenant(dc, org=tenant.org).api_key)
    failed = await fails(
        other.executions.GetExecution(E.GetExecutionRequest(id=eid), metadata=other.md)
    )
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
    listed = await other.executions.ListExecutions(E.ListExecutionsRequest(), metadata=other.md)
    assert listed.total == 0


async def test_list_lines_returns_the_organizations_lines(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    second = dc.accounts.add_line(tenant.org.id, "vapi", "+14155550101", provider_line_id="pn_1")
    found = await api.lines.ListLines(lines_pb2.ListLinesRequest(), metadata=api.md)
    assert list(found.items) == [
        lines_pb2.Line(
            id=tenant.line.id,
            label="Main",
            phone_number="+14155550100",
            provider=common_pb2.PROVIDER_SIMULATED,
            is_default=True,
            features=["voice"],
        ),
        lines_pb2.Line(
            id=second.id,
            phone_number="+14155550101",
            provider=common_pb2.PROVIDER_VAPI,
            is_default=False,
            features=["voice"],
        ),
    ]


async def test_who_am_i_names_the_user_organization_and_key(api: Stubs, tenant: Tenant) -> None:
    me = await api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=api.md)
    assert (me.user.id, me.user.email, me.user.name) == (tenant.user.id, "jane@example.com", "Jane")
    assert me.user.organization_id == me.organization_id == tenant.org.id
    assert me.api_key_id == tenant.principal.api_key_id
