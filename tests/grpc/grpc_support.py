"""Helpers of the gRPC suite: stubs with a credential, payloads, row setup, failures.

The fixtures are in this folder's ``conftest.py``. The folder has no ``__init__.py``: a
package named ``grpc`` on ``sys.path`` would shadow grpcio.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from support.platform import Tenant

from dialcues_core.adapters.peewee.tables import ExecutionRow
from dialcues_grpc._pb.dialcues.v1 import (
    api_keys_pb2_grpc,
    audit_pb2_grpc,
    common_pb2,
    consents_pb2_grpc,
    executions_pb2_grpc,
    identity_pb2_grpc,
    lines_pb2_grpc,
    organizations_pb2_grpc,
    outbound_lines_pb2_grpc,
    policy_pb2_grpc,
    reminders_pb2,
    reminders_pb2_grpc,
    suppressions_pb2_grpc,
)

ADMIN_TOKEN = "admin-token-for-tests"
FUTURE = "2030-03-25T09:00:00"
"""A local time safely in the future (the suite runs on the system clock)."""
FUTURE_UTC = datetime(2030, 3, 25, 13, 0, tzinfo=UTC)
"""``FUTURE`` read in America/New_York (EDT, UTC-4)."""


class Stubs:
    """Every client stub of one server, sending one credential (or none)."""

    def __init__(self, channel: grpc.aio.Channel, token: str | None):
        self.channel = channel
        self.token = token
        self.reminders = reminders_pb2_grpc.ReminderServiceStub(channel)
        self.executions = executions_pb2_grpc.ExecutionServiceStub(channel)
        self.lines = lines_pb2_grpc.LineServiceStub(channel)
        self.identity = identity_pb2_grpc.IdentityServiceStub(channel)
        self.organizations = organizations_pb2_grpc.OrganizationServiceStub(channel)
        self.api_keys = api_keys_pb2_grpc.ApiKeyServiceStub(channel)
        self.outbound_lines = outbound_lines_pb2_grpc.OutboundLineServiceStub(channel)
        self.policy = policy_pb2_grpc.PolicyServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)
        self.suppressions = suppressions_pb2_grpc.SuppressionServiceStub(channel)
        self.consents = consents_pb2_grpc.ConsentServiceStub(channel)
        self.health = health_pb2_grpc.HealthStub(channel)
        self.reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

    def with_token(self, token: str | None) -> Stubs:
        """Return stubs of the same channel sending ``token``."""
        return Stubs(self.channel, token)

    @property
    def md(self) -> tuple[tuple[str, str], ...]:
        """The call metadata: ``authorization: Bearer <token>`` (nothing without a token)."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    async def create(self, **fields: Any) -> reminders_pb2.Reminder:
        """Create a reminder from ``reminder_request(**fields)``."""
        return await self.reminders.CreateReminder(reminder_request(**fields), metadata=self.md)


@dataclass
class Server:
    """A running server: its port, stubs factory and what to close."""

    server: grpc.aio.Server
    port: int
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def stubs(self, token: str | None) -> Stubs:
        """Return stubs over a new channel, sending ``token``."""
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        self.channels.append(channel)
        return Stubs(channel, token)


ServeFn = Callable[..., Awaitable[Server]]


@dataclass
class Rest:
    """The REST facade of the same platform, for comparisons: GETs with one API key."""

    session: aiohttp.ClientSession
    base: str
    api_key: str

    async def get(self, path: str, **params: str) -> Any:
        """GET ``path`` (relative to /api/public/v1); return the JSON body of a 200."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        async with self.session.get(self.base + path, params=params, headers=headers) as reply:
            assert reply.status == 200, await reply.text()
            return await reply.json()


# ----------------------------------------------------------------------------- payloads
def local(text: str) -> common_pb2.TimeInput:
    """A TimeInput holding a local wall-clock time."""
    return common_pb2.TimeInput(local_time=text)


def reminder_request(**fields: Any) -> reminders_pb2.CreateReminderRequest:
    """A valid create request (a one-off on 2030-03-25 09:00 New York) with ``fields``."""
    values: dict[str, Any] = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155552671",
        "timezone": "America/New_York",
        "scheduled_at": local(FUTURE),
    }
    values.update(fields)
    return reminders_pb2.CreateReminderRequest(**{k: v for k, v in values.items() if v is not None})


def add_execution(tenant: Tenant, reminder_id: int | None, **columns: Any) -> int:
    """Insert an execution row for the tenant directly (the dispatcher is not under test)."""
    values: dict[str, Any] = {
        "user_id": tenant.user.id,
        "organization_id": tenant.org.id,
        "reminder_id": reminder_id,
        "reminder_title": "Stand-up" if reminder_id else None,
        "status": "completed",
        "attempt": 1,
        "line_id": tenant.line.id,
        "to_number": "+14155552671",
        "scheduled_for": datetime(2026, 3, 25, 13, 0, tzinfo=UTC),
        "executed_at": datetime(2026, 3, 25, 13, 0, 0, 412_345, tzinfo=UTC),
        "created_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
    values.update(columns)
    return int(ExecutionRow.insert(**values).execute())


# ----------------------------------------------------------------------------- failures
@dataclass
class Failure:
    """What a failed call carried: status code, ErrorInfo and BadRequest violations."""

    code: grpc.StatusCode
    message: str
    reason: str
    domain: str
    metadata: dict[str, str]
    violations: dict[str, str]


def failure(exc: grpc.aio.AioRpcError) -> Failure:
    """Decode the google.rpc.Status a failed call carries."""
    status = rpc_status.from_call(exc)
    assert status is not None, f"no rich status on {exc.code()}: {exc.details()}"
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    for detail in status.details:
        if detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(bad.DESCRIPTOR):
            detail.Unpack(bad)
    violations = {v.field: v.description for v in bad.field_violations}
    return Failure(
        exc.code(), status.message, info.reason, info.domain, dict(info.metadata), violations
    )


async def fails(call: Awaitable[Any]) -> Failure:
    """Await a call that must fail; return what it carried."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return failure(caught.value)


async def list_services(stubs: Stubs) -> list[str]:
    """Return the service names the server's reflection lists."""
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    call = stubs.reflection.ServerReflectionInfo(iter([request]))
    names = [s.name async for reply in call for s in reply.list_services_response.service]
    return sorted(names)
