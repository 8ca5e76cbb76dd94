"""``dialcues.v1.PolicyService`` and ``AuditService``: REST's ``GET /policy`` and
``GET /audit/events``.

Both are reads of the caller's organization (scopes ``policy:read`` and ``audit:read``, checked
by the platform interceptor before the request is read). The policy is changed only through the
admin service (``OrganizationService.UpdateCallingPolicy`` in :mod:`dialcues_grpc.servicers`).
"""

from __future__ import annotations

from dialcues_grpc import audit_convert, paging, policy_convert
from dialcues_grpc._pb.dialcues.v1 import audit_pb2, audit_pb2_grpc, policy_pb2, policy_pb2_grpc
from dialcues_grpc.errors import translated
from dialcues_grpc.servicers import Context, _Servicer


class PolicyServicer(_Servicer, policy_pb2_grpc.PolicyServiceServicer):
    """``dialcues.v1.PolicyService``: the organization's calling policy, read-only."""

    @translated
    async def GetPolicy(  # noqa: N802
        self, request: policy_pb2.GetPolicyRequest, context: Context
    ) -> policy_pb2.CallingPolicy:
        """Return the caller's organization's policy, every default filled in."""
        who = await self.who(context)
        return policy_convert.policy(await self.run(self.dc.policies.get, who))


class AuditServicer(_Servicer, audit_pb2_grpc.AuditServiceServicer):
    """``dialcues.v1.AuditService``: the organization's audit trail."""

    @translated
    async def ListAuditEvents(  # noqa: N802
        self, request: audit_pb2.ListAuditEventsRequest, context: Context
    ) -> audit_pb2.ListAuditEventsResponse:
        """Return one page of the organization's audit events, newest first."""
        who = await self.who(context)
        params, token = audit_convert.audit_query(request)
        params = paging.apply_token("audit_events", params, token)
        found = await self.run(self.dc.audit.list, who, params)
        return audit_convert.audit_page(found, paging.next_token("audit_events", params, found))
