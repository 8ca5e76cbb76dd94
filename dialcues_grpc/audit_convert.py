"""Audit events between protobuf and the core (``audit.proto``).

An event is built from the body REST answers (``audit_event_to_json``): its ``detail`` is a
free-form JSON object, carried as a ``google.protobuf.Struct``; its time keeps milliseconds.
"""

from __future__ import annotations

from google.protobuf import struct_pb2

from dialcues_core.audit.model import AuditEvent
from dialcues_core.audit.rendering import audit_event_to_json
from dialcues_core.kernel.paging import Page
from dialcues_grpc._pb.dialcues.v1 import audit_pb2
from dialcues_grpc.convert import Query, _bounds, _page_counts, _page_params, _timestamp
from dialcues_grpc.policy_convert import actor

FILTERS = ("action", "subject_type", "subject_id")


def audit_query(request: audit_pb2.ListAuditEventsRequest) -> tuple[Query, str]:
    """Return REST's query parameters for an audit listing, and the page token."""
    params: Query = {name: getattr(request, name) for name in FILTERS if request.HasField(name)}
    _bounds(request, params)
    return _page_params(request, params)


def audit_event(event: AuditEvent) -> audit_pb2.AuditEvent:
    """Return an event with every field of the REST object (time in milliseconds)."""
    body = audit_event_to_json(event)
    detail = struct_pb2.Struct()
    detail.update(body["detail"])
    return audit_pb2.AuditEvent(
        id=body["id"],
        occurred_at=_timestamp(event.occurred_at, millis=True),
        organization_id=body["organization_id"],
        action=body["action"],
        actor=actor(body["actor"]),
        subject=audit_pb2.AuditSubject(**body["subject"]),
        detail=detail,
        request_id=body["request_id"],
    )


def audit_page(found: Page[AuditEvent], next_token: str) -> audit_pb2.ListAuditEventsResponse:
    """Return one page of audit events."""
    return audit_pb2.ListAuditEventsResponse(
        items=[audit_event(e) for e in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )
