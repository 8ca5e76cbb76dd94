"""``dialcues.v1.CallService`` and ``AgentService``: REST's ``POST /calls``,
``POST /calls/inbound/answer`` and ``/agent/smoke``.

``PlaceCall`` and ``AnswerInboundCall`` run through the edge's idempotency (``request_id``).
A decision taken here reaches the handler holding the call open by its poll of the
execution's row (every 50 ms; ``telephony.md`` §3.4 allows 100 ms across processes): the
gRPC server holds no handle on the REST app's waiting handlers, which REST's own answer wakes
at once. ``Smoke`` awaits the core's asyncio smoke flow, which offloads its own database
calls; a failed step is UNAVAILABLE ``smoke_failed`` whose ErrorInfo metadata names the
``step``.
"""

from __future__ import annotations

import functools

from dialcues_grpc import call_convert, convert
from dialcues_grpc._pb.dialcues.v1 import calls_pb2, calls_pb2_grpc, executions_pb2
from dialcues_grpc.errors import translated
from dialcues_grpc.idempotency import idempotent
from dialcues_grpc.servicers import Context, _Servicer


class CallServicer(_Servicer, calls_pb2_grpc.CallServiceServicer):
    """``dialcues.v1.CallService``: place a call now, answer a waiting inbound call."""

    @translated
    async def PlaceCall(  # noqa: N802
        self, request: calls_pb2.PlaceCallRequest, context: Context
    ) -> executions_pb2.Execution:
        """Queue a call for the dispatcher; return its execution."""
        who = await self.who(context)
        payload = call_convert.place_call(request)
        effect = functools.partial(self.dc.calls.place, who, payload)
        return await idempotent(self, context, request, who, effect, convert.execution)

    @translated
    async def AnswerInboundCall(  # noqa: N802
        self, request: calls_pb2.AnswerInboundCallRequest, context: Context
    ) -> executions_pb2.Execution:
        """Decide a waiting ``external`` call; return its execution, route set."""
        who = await self.who(context)
        payload = call_convert.answer_inbound_call(request)
        effect = functools.partial(self.dc.inbound.answer, who, payload)
        return await idempotent(self, context, request, who, effect, convert.execution)


class AgentServicer(_Servicer, calls_pb2_grpc.AgentServiceServicer):
    """``dialcues.v1.AgentService``: the end-to-end self-check."""

    @translated
    async def Smoke(  # noqa: N802
        self, request: calls_pb2.SmokeRequest, context: Context
    ) -> calls_pb2.SmokeResponse:
        """Run the smoke flow; return its steps."""
        who = await self.who(context)
        return call_convert.smoke(await self.dc.smoke.run(who, self.offloader.run))
