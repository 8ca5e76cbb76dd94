"""Build and start the gRPC server: the dialcues.v1 services, health and reflection.

The public services are always served; the administration services only with an admin
token (``DIALCUES_ADMIN_TOKEN``): without one they are not registered at all, so calls get
UNIMPLEMENTED and reflection does not list them. The caller owns ``dc`` and ``offloader``
and stops the server (``await server.stop(grace)``) before closing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from dialcues_core import Dialcues
from dialcues_core.deprecations import REGISTRY, Deprecation
from dialcues_core.offload import Offloader
from dialcues_grpc import deprecations as grpc_deprecations
from dialcues_grpc import servicers
from dialcues_grpc._pb.dialcues.v1 import (
    api_keys_pb2,
    api_keys_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    calls_pb2,
    calls_pb2_grpc,
    consents_pb2,
    consents_pb2_grpc,
    executions_pb2,
    executions_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    numbers_pb2,
    numbers_pb2_grpc,
    oauth_clients_pb2,
    oauth_clients_pb2_grpc,
    organizations_pb2,
    organizations_pb2_grpc,
    outbound_lines_pb2,
    outbound_lines_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
    reminders_pb2,
    reminders_pb2_grpc,
    suppressions_pb2,
    suppressions_pb2_grpc,
    usage_pb2,
    usage_pb2_grpc,
    webhooks_pb2,
    webhooks_pb2_grpc,
    workers_pb2,
    workers_pb2_grpc,
)
from dialcues_grpc.auth import AdminAuth
from dialcues_grpc.call_servicers import AgentServicer, CallServicer
from dialcues_grpc.consent_servicers import ConsentServicer, SuppressionServicer
from dialcues_grpc.health import DatabaseHealth
from dialcues_grpc.message_servicers import MessageServicer, MessageTemplateServicer
from dialcues_grpc.number_servicers import NumberServicer
from dialcues_grpc.oauth_servicers import OAuthClientServicer
from dialcues_grpc.platform import PlatformInterceptor
from dialcues_grpc.policy_servicers import AuditServicer, PolicyServicer
from dialcues_grpc.usage_servicers import UsageServicer
from dialcues_grpc.webhook_servicers import WebhookServicer
from dialcues_grpc.worker_servicers import WorkerServicer

Registration = tuple[Callable[[Any, grpc.aio.Server], None], str]


def _service_name(file_descriptor: Any, name: str) -> str:
    return str(file_descriptor.services_by_name[name].full_name)


PUBLIC_SERVICES: dict[type[servicers._Servicer], Registration] = {
    UsageServicer: (
        usage_pb2_grpc.add_UsageServiceServicer_to_server,
        _service_name(usage_pb2.DESCRIPTOR, "UsageService"),
    ),
    servicers.ReminderServicer: (
        reminders_pb2_grpc.add_ReminderServiceServicer_to_server,
        _service_name(reminders_pb2.DESCRIPTOR, "ReminderService"),
    ),
    servicers.ExecutionServicer: (
        executions_pb2_grpc.add_ExecutionServiceServicer_to_server,
        _service_name(executions_pb2.DESCRIPTOR, "ExecutionService"),
    ),
    servicers.LineServicer: (
        lines_pb2_grpc.add_LineServiceServicer_to_server,
        _service_name(lines_pb2.DESCRIPTOR, "LineService"),
    ),
    servicers.IdentityServicer: (
        identity_pb2_grpc.add_IdentityServiceServicer_to_server,
        _service_name(identity_pb2.DESCRIPTOR, "IdentityService"),
    ),
    CallServicer: (
        calls_pb2_grpc.add_CallServiceServicer_to_server,
        _service_name(calls_pb2.DESCRIPTOR, "CallService"),
    ),
    AgentServicer: (
        calls_pb2_grpc.add_AgentServiceServicer_to_server,
        _service_name(calls_pb2.DESCRIPTOR, "AgentService"),
    ),
    WebhookServicer: (
        webhooks_pb2_grpc.add_WebhookServiceServicer_to_server,
        _service_name(webhooks_pb2.DESCRIPTOR, "WebhookService"),
    ),
    PolicyServicer: (
        policy_pb2_grpc.add_PolicyServiceServicer_to_server,
        _service_name(policy_pb2.DESCRIPTOR, "PolicyService"),
    ),
    AuditServicer: (
        audit_pb2_grpc.add_AuditServiceServicer_to_server,
        _service_name(audit_pb2.DESCRIPTOR, "AuditService"),
    ),
    SuppressionServicer: (
        suppressions_pb2_grpc.add_SuppressionServiceServicer_to_server,
        _service_name(suppressions_pb2.DESCRIPTOR, "SuppressionService"),
    ),
    ConsentServicer: (
        consents_pb2_grpc.add_ConsentServiceServicer_to_server,
        _service_name(consents_pb2.DESCRIPTOR, "ConsentService"),
    ),
    NumberServicer: (
        numbers_pb2_grpc.add_NumberServiceServicer_to_server,
        _service_name(numbers_pb2.DESCRIPTOR, "NumberService"),
    ),
    MessageServicer: (
        messages_pb2_grpc.add_MessageServiceServicer_to_server,
        _service_name(messages_pb2.DESCRIPTOR, "MessageService"),
    ),
    MessageTemplateServicer: (
        messages_pb2_grpc.add_MessageTemplateServiceServicer_to_server,
        _service_name(messages_pb2.DESCRIPTOR, "MessageTemplateService"),
    ),
}
"""Servicer class → (registration function, full service name) of the public services."""

ADMIN_SERVICES: dict[type[servicers._AdminServicer], Registration] = {
    servicers.OrganizationServicer: (
        organizations_pb2_grpc.add_OrganizationServiceServicer_to_server,
        _service_name(organizations_pb2.DESCRIPTOR, "OrganizationService"),
    ),
    servicers.ApiKeyServicer: (
        api_keys_pb2_grpc.add_ApiKeyServiceServicer_to_server,
        _service_name(api_keys_pb2.DESCRIPTOR, "ApiKeyService"),
    ),
    servicers.OutboundLineServicer: (
        outbound_lines_pb2_grpc.add_OutboundLineServiceServicer_to_server,
        _service_name(outbound_lines_pb2.DESCRIPTOR, "OutboundLineService"),
    ),
    OAuthClientServicer: (
        oauth_clients_pb2_grpc.add_OAuthClientServiceServicer_to_server,
        _service_name(oauth_clients_pb2.DESCRIPTOR, "OAuthClientService"),
    ),
    WorkerServicer: (
        workers_pb2_grpc.add_WorkerServiceServicer_to_server,
        _service_name(workers_pb2.DESCRIPTOR, "WorkerService"),
    ),
}
"""The administration services, registered only with an admin token."""

HEALTH_SERVICE = _service_name(health_pb2.DESCRIPTOR, "Health")


def add_services(
    server: grpc.aio.Server, dc: Dialcues, offloader: Offloader, admin_token: str | None
) -> list[str]:
    """Register the dialcues.v1 servicers (admin ones only with a token); return their names."""
    names = []
    for cls, (register, name) in PUBLIC_SERVICES.items():
        register(cls(dc, offloader), server)
        names.append(name)
    if admin_token:
        admin = AdminAuth(admin_token)
        for admin_cls, (register, name) in ADMIN_SERVICES.items():
            register(admin_cls(dc, offloader, admin), server)
            names.append(name)
    return names


def _address(host: str, port: int) -> str:
    """Return ``host:port``, bracketing a bare IPv6 address."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


async def start_grpc(
    dc: Dialcues,
    offloader: Offloader,
    host: str,
    port: int,
    admin_token: str | None,
    deprecations: tuple[Deprecation, ...] = REGISTRY,
) -> tuple[grpc.aio.Server, int]:
    """Serve the gRPC API on ``host:port`` (0 picks a free port); return the server and port.

    Registers the dialcues.v1 services (administration only when ``admin_token`` is set and
    non-empty), the health service (SERVING only while ``dc.ping()`` answers) and server
    reflection listing all of them. Every public RPC goes through the platform (rate limit,
    usage event: :mod:`dialcues_grpc.platform`). ``deprecations`` is the deprecation registry
    (``DeprecationService``, the metadata of deprecated calls; a bad one is refused before
    serving). Stop it with ``await server.stop(grace)``.
    """
    grpc_deprecations.check(deprecations, dc.clock.now().date())
    public = [name for _register, name in PUBLIC_SERVICES.values()] + [grpc_deprecations.SERVICE]
    # gRPC sets SO_REUSEPORT by default: a second server on a busy port would then share it
    # silently (the kernel splitting calls between two databases). Refuse instead.
    server = grpc.aio.server(
        interceptors=[PlatformInterceptor(dc, offloader, public, deprecations=deprecations)],
        options=[("grpc.so_reuseport", 0)],
    )
    names = add_services(server, dc, offloader, admin_token)
    names.append(grpc_deprecations.add_deprecation_service(server, deprecations))
    health = DatabaseHealth(dc.ping, offloader, names)
    await health.refresh()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection([*names, HEALTH_SERVICE, reflection.SERVICE_NAME], server)
    bound = server.add_insecure_port(_address(host, port))
    await server.start()
    return server, bound
