"""``dialcues.v1.UsageService``: the REST ``/usage/events`` route."""

from __future__ import annotations

from dialcues_grpc import paging, usage_convert
from dialcues_grpc._pb.dialcues.v1 import usage_pb2, usage_pb2_grpc
from dialcues_grpc.errors import translated
from dialcues_grpc.servicers import Context, _Servicer


class UsageServicer(_Servicer, usage_pb2_grpc.UsageServiceServicer):
    """``dialcues.v1.UsageService``: the caller's user's usage events."""

    @translated
    async def ListUsageEvents(  # noqa: N802
        self, request: usage_pb2.ListUsageEventsRequest, context: Context
    ) -> usage_pb2.ListUsageEventsResponse:
        """Return one page of the user's usage events, newest first."""
        who = await self.who(context)
        params, token = usage_convert.usage_query(request)
        params = paging.apply_token("usage_events", params, token)
        found = await self.run(self.dc.usage.list, who, params)
        return usage_convert.usage_page(found, paging.next_token("usage_events", params, found))
