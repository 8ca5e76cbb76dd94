"""Usage events between protobuf and the core (kept out of ``convert``, already past 400 lines)."""

from __future__ import annotations

from dialcues_core.kernel.paging import Page
from dialcues_core.platform.usage import UsageEvent
from dialcues_grpc._pb.dialcues.v1 import usage_pb2
from dialcues_grpc.convert import Query, _bounds, _page_counts, _page_params, _timestamp


def usage_query(request: usage_pb2.ListUsageEventsRequest) -> tuple[Query, str]:
    """Return REST's query parameters for a usage-event listing, and the page token."""
    params: Query = {}
    _bounds(request, params)
    for name in ("route", "code"):
        if request.HasField(name):
            params[name] = getattr(request, name)
    if request.HasField("status"):
        params["status"] = str(request.status)
    if request.HasField("deprecated"):
        params["deprecated"] = "true" if request.deprecated else "false"
    return _page_params(request, params)


def usage_event(e: UsageEvent) -> usage_pb2.UsageEvent:
    """Return a usage event with every field of the REST object (time in milliseconds)."""
    return usage_pb2.UsageEvent(
        id=e.id or 0,
        occurred_at=_timestamp(e.occurred_at, millis=True),
        request_id=e.request_id,
        api_key_id=e.api_key_id,
        client_id=e.client_id,
        user_id=e.user_id,
        organization_id=e.organization_id,
        method=e.method,
        route=e.route,
        status=e.status,
        code=e.code,
        latency_ms=e.latency_ms,
        idempotent_replay=e.idempotent_replay,
        deprecated=e.deprecated,
    )


def usage_page(found: Page[UsageEvent], next_token: str) -> usage_pb2.ListUsageEventsResponse:
    """Return one page of usage events."""
    return usage_pb2.ListUsageEventsResponse(
        items=[usage_event(e) for e in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )
