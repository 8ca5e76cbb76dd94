"""``dialcues.v1.SuppressionService`` and ``ConsentService``: REST's ``/suppressions`` and
``/consents`` routes over gRPC (``responsible-calling.md`` §7–8, §18).

Authenticate, convert (:mod:`dialcues_grpc.consent_convert`), call one core use case, convert
back. The platform interceptor has checked the use case's scope (``suppressions:read|write``,
``consents:read|write``) before the request is read. The writes honour ``request_id`` as REST
honours ``Idempotency-Key``.

Two shapes differ from REST's status-only answers, carrying the same facts:
``CreateSuppression`` answers the entry with ``created`` (REST's 201 when true, 200 when the
number was already suppressed), and ``RemoveSuppression`` answers the removed entry (REST's
204 has no body; a removal is a soft delete, and the entry stays listed as ``removed``).
"""

from __future__ import annotations

import functools

from dialcues_grpc import consent_convert as cc
from dialcues_grpc import paging
from dialcues_grpc._pb.dialcues.v1 import (
    consents_pb2,
    consents_pb2_grpc,
    suppressions_pb2,
    suppressions_pb2_grpc,
)
from dialcues_grpc.errors import translated
from dialcues_grpc.idempotency import idempotent
from dialcues_grpc.servicers import Context, _Servicer


class SuppressionServicer(_Servicer, suppressions_pb2_grpc.SuppressionServiceServicer):
    """``dialcues.v1.SuppressionService``: the organization's suppression list."""

    @translated
    async def ListSuppressions(  # noqa: N802
        self, request: suppressions_pb2.ListSuppressionsRequest, context: Context
    ) -> suppressions_pb2.ListSuppressionsResponse:
        """Return one page of the organization's entries, newest first."""
        who = await self.who(context)
        params, token = cc.suppression_query(request)
        params = paging.apply_token("suppressions", params, token)
        found = await self.run(self.dc.suppressions.list, who, params)
        return cc.suppression_page(found, paging.next_token("suppressions", params, found))

    @translated
    async def CreateSuppression(  # noqa: N802
        self, request: suppressions_pb2.CreateSuppressionRequest, context: Context
    ) -> suppressions_pb2.CreateSuppressionResponse:
        """Suppress a number; return its active entry and whether this request added it."""
        who = await self.who(context)
        effect = functools.partial(self.dc.suppressions.add, who, cc.new_suppression(request))
        return await idempotent(self, context, request, who, effect, cc.added)

    @translated
    async def GetSuppression(  # noqa: N802
        self, request: suppressions_pb2.GetSuppressionRequest, context: Context
    ) -> suppressions_pb2.SuppressionEntry:
        """Return the number's active entry."""
        who = await self.who(context)
        found = await self.run(self.dc.suppressions.get, who, request.phone_number)
        return cc.suppression(found)

    @translated
    async def RemoveSuppression(  # noqa: N802
        self, request: suppressions_pb2.RemoveSuppressionRequest, context: Context
    ) -> suppressions_pb2.SuppressionEntry:
        """Remove the number's active entry, backed by a newer consent; return it removed."""
        who = await self.who(context)
        number, consent_id = cc.removal(request)
        effect = functools.partial(self.dc.suppressions.remove, who, number, consent_id)
        return await idempotent(self, context, request, who, effect, cc.suppression)


class ConsentServicer(_Servicer, consents_pb2_grpc.ConsentServiceServicer):
    """``dialcues.v1.ConsentService``: the organization's consent records."""

    @translated
    async def CreateConsent(  # noqa: N802
        self, request: consents_pb2.CreateConsentRequest, context: Context
    ) -> consents_pb2.Consent:
        """Record a consent."""
        who = await self.who(context)
        effect = functools.partial(self.dc.consents.create, who, cc.new_consent(request))
        return await idempotent(self, context, request, who, effect, cc.consent)

    @translated
    async def ListConsents(  # noqa: N802
        self, request: consents_pb2.ListConsentsRequest, context: Context
    ) -> consents_pb2.ListConsentsResponse:
        """Return one page of the organization's records, newest first."""
        who = await self.who(context)
        params, token = cc.consent_query(request)
        params = paging.apply_token("consents", params, token)
        found = await self.run(self.dc.consents.list, who, params)
        return cc.consent_page(found, paging.next_token("consents", params, found))

    @translated
    async def GetConsent(  # noqa: N802
        self, request: consents_pb2.GetConsentRequest, context: Context
    ) -> consents_pb2.Consent:
        """Return one record."""
        who = await self.who(context)
        return cc.consent(await self.run(self.dc.consents.get, who, request.id))

    @translated
    async def RevokeConsent(  # noqa: N802
        self, request: consents_pb2.RevokeConsentRequest, context: Context
    ) -> consents_pb2.Consent:
        """Revoke a record (and suppress its number); a revoked one comes back unchanged."""
        who = await self.who(context)
        body = cc.revocation_body(request)
        effect = functools.partial(self.dc.consents.revoke, who, request.id, body)
        return await idempotent(self, context, request, who, effect, cc.consent)
