"""``dialcues.v1.NumberService``: REST's ``/numbers`` routes over gRPC (``telephony.md`` §2).

Authenticate, convert (:mod:`dialcues_grpc.number_convert`), call one core use case, convert
back. The platform interceptor has checked the use case's scope (``numbers:read|write``)
before the request is read. The writes honour ``request_id`` as REST honours
``Idempotency-Key``.

A hold and an extension wait on the carrier, which cannot join a database transaction: their
claim commits first and their result second, with the stored response (``telephony.md`` §0
#8). They run through :func:`~dialcues_grpc.idempotency.idempotent_staged`, the staged twin of
:func:`dialcues_grpc.idempotency.idempotent`.

Two shapes differ from REST's status-only answers, carrying the same facts: ``HoldNumber``
answers the number with ``created`` (REST's 201 when true, 200 when the organization held it
already), and ``DropHold`` answers the released record (REST's 204 has no body).
"""

from __future__ import annotations

import functools
from datetime import datetime

from dialcues_core.numbers.model import NumberRecord
from dialcues_grpc import number_convert as nc
from dialcues_grpc import paging
from dialcues_grpc._pb.dialcues.v1 import numbers_pb2, numbers_pb2_grpc
from dialcues_grpc.errors import translated
from dialcues_grpc.idempotency import idempotent, idempotent_staged
from dialcues_grpc.servicers import Context, _Servicer


class NumberServicer(_Servicer, numbers_pb2_grpc.NumberServiceServicer):
    """``dialcues.v1.NumberService``: the organization's numbers."""

    def _now(self) -> datetime:
        """The instant a record is rendered at (``expired`` is computed on read)."""
        return self.dc.clock.now()

    def _render(self, record: NumberRecord) -> numbers_pb2.PhoneNumber:
        return nc.number(record, self._now())

    @translated
    async def SearchNumbers(  # noqa: N802
        self, request: numbers_pb2.SearchNumbersRequest, context: Context
    ) -> numbers_pb2.SearchNumbersResponse:
        """Return the carrier's available numbers that no other organization claims."""
        who = await self.who(context)
        found = await self.run(self.dc.numbers.search, who, nc.search_query(request))
        return nc.offers(found)

    @translated
    async def HoldNumber(  # noqa: N802
        self, request: numbers_pb2.HoldNumberRequest, context: Context
    ) -> numbers_pb2.HoldNumberResponse:
        """Hold a number; return the hold and whether this request took it."""
        who = await self.who(context)
        staged = await self.run(self.dc.numbers.hold, who, nc.hold_body(request))

        def render(result: tuple[NumberRecord, bool]) -> numbers_pb2.HoldNumberResponse:
            return nc.held(result, self._now())

        return await idempotent_staged(self, context, request, who, staged, render)

    @translated
    async def ExtendHold(  # noqa: N802
        self, request: numbers_pb2.ExtendHoldRequest, context: Context
    ) -> numbers_pb2.PhoneNumber:
        """Extend the organization's hold once; the new expiry is the carrier's."""
        who = await self.who(context)
        staged = await self.run(self.dc.numbers.extend, who, request.number)
        return await idempotent_staged(self, context, request, who, staged, self._render)

    @translated
    async def DropHold(  # noqa: N802
        self, request: numbers_pb2.DropHoldRequest, context: Context
    ) -> numbers_pb2.PhoneNumber:
        """Drop the organization's hold; return the record, now ``released``."""
        who = await self.who(context)
        effect = functools.partial(self.dc.numbers.drop_hold, who, request.number)
        return await idempotent(self, context, request, who, effect, self._render)

    @translated
    async def AssignNumber(  # noqa: N802
        self, request: numbers_pb2.AssignNumberRequest, context: Context
    ) -> numbers_pb2.PhoneNumber:
        """Assign a held number: ``ordering``; the provisioner does the rest."""
        who = await self.who(context)
        body = nc.assign_body(request)
        effect = functools.partial(self.dc.numbers.assign, who, request.number, body)
        return await idempotent(self, context, request, who, effect, self._render)

    @translated
    async def ReleaseNumber(  # noqa: N802
        self, request: numbers_pb2.ReleaseNumberRequest, context: Context
    ) -> numbers_pb2.PhoneNumber:
        """Release a number the organization owns: ``releasing``, its line removed."""
        who = await self.who(context)
        effect = functools.partial(self.dc.numbers.release, who, request.number)
        return await idempotent(self, context, request, who, effect, self._render)

    @translated
    async def GetNumber(  # noqa: N802
        self, request: numbers_pb2.GetNumberRequest, context: Context
    ) -> numbers_pb2.PhoneNumber:
        """Return the organization's latest record of the number."""
        who = await self.who(context)
        return self._render(await self.run(self.dc.numbers.get, who, request.number))

    @translated
    async def ListNumbers(  # noqa: N802
        self, request: numbers_pb2.ListNumbersRequest, context: Context
    ) -> numbers_pb2.ListNumbersResponse:
        """Return one page of the organization's records, newest first."""
        who = await self.who(context)
        params, token = nc.number_query(request)
        params = paging.apply_token("numbers", params, token)
        found = await self.run(self.dc.numbers.list, who, params)
        return nc.number_page(found, paging.next_token("numbers", params, found), self._now())
