"""Suppression entries and consent records between protobuf and the core (``suppressions.proto``,
``consents.proto``; ``responsible-calling.md`` §7–8, §18).

Requests become REST's bodies and query parameters with only the fields they set, so that an
unset required field is "is required" exactly as over REST; a ``Timestamp`` becomes the RFC 3339
text the core parses. Objects are built from the bodies REST answers
(:func:`~dialcues_core.consent.rendering.suppression_payload`,
:func:`~dialcues_core.consent.rendering.consent_payload`), so the two facades cannot drift: a
JSON null is an unset field, a ``source``'s integer id an ``execution_id``, times keep their
milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from dialcues_core.consent.model import ConsentRecord, SuppressionEntry
from dialcues_core.consent.rendering import consent_payload, suppression_payload
from dialcues_core.kernel.paging import Page
from dialcues_grpc._pb.dialcues.v1 import consents_pb2, suppressions_pb2
from dialcues_grpc.convert import (
    Payload,
    Query,
    _bounds,
    _instant_text,
    _page_counts,
    _page_params,
    _timestamp,
)
from dialcues_grpc.policy_convert import actor

S, C = suppressions_pb2, consents_pb2
Json = dict[str, Any]

_SUPPRESSION_FIELDS: Final = ("phone_number", "reason", "note", "external_id")
_SUPPRESSION_FILTERS: Final = ("status", "reason", "phone_number")
_CONSENT_FIELDS: Final = ("phone_number", "type", "purpose", "source", "text")
_CONSENT_FILTERS: Final = ("phone_number", "type", "purpose")
_EVIDENCE_FIELDS: Final = ("url", "ip", "user_agent")


def _set_fields(request: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Return the fields among ``names`` that ``request`` sets."""
    return {name: getattr(request, name) for name in names if request.HasField(name)}


def _moment(text: str | None) -> datetime | None:
    """Return a millisecond time of a body ("2026-03-25T13:00:31.207Z"); None → None."""
    return datetime.fromisoformat(text) if text is not None else None


# ----------------------------------------------------------------------------- suppressions
def new_suppression(request: S.CreateSuppressionRequest) -> Payload:
    """Return REST's ``POST /suppressions`` body: only the fields the request sets."""
    return _set_fields(request, _SUPPRESSION_FIELDS)


def suppression_query(request: S.ListSuppressionsRequest) -> tuple[Query, str]:
    """Return REST's query parameters for a suppression listing, and the page token."""
    params: Query = _set_fields(request, _SUPPRESSION_FILTERS)
    _bounds(request, params)
    return _page_params(request, params)


def removal(request: S.RemoveSuppressionRequest) -> tuple[str, str | None]:
    """Return the number and the ``consent_id`` of a removal (None when unset)."""
    consent_id = request.consent_id if request.HasField("consent_id") else None
    return request.phone_number, consent_id


def source(shape: Json) -> S.SuppressionSource:
    """Return REST's ``{"type", "id", "user_id", "external_id"}``; an integer id is an
    execution's."""
    ident = shape["id"]
    return S.SuppressionSource(
        type=shape["type"],
        id=ident if isinstance(ident, str) else None,
        execution_id=ident if isinstance(ident, int) else None,
        user_id=shape["user_id"],
        external_id=shape["external_id"],
    )


def suppression(entry: SuppressionEntry) -> S.SuppressionEntry:
    """Return an entry with every field of the REST object (times in milliseconds)."""
    body = suppression_payload(entry)
    removed_by = body["removed_by"]
    return S.SuppressionEntry(
        id=body["id"],
        phone_number=body["phone_number"],
        status=body["status"],
        reason=body["reason"],
        source=source(body["source"]),
        note=body["note"],
        created_at=_timestamp(_moment(body["created_at"]), millis=True),
        removed_at=_timestamp(_moment(body["removed_at"]), millis=True),
        removed_by=actor(removed_by) if removed_by is not None else None,
        removal_consent_id=body["removal_consent_id"],
    )


def added(result: tuple[SuppressionEntry, bool]) -> S.CreateSuppressionResponse:
    """Return the active entry and whether this request added it (REST's 201 vs 200)."""
    entry, created = result
    return S.CreateSuppressionResponse(entry=suppression(entry), created=created)


def suppression_page(found: Page[SuppressionEntry], next_token: str) -> S.ListSuppressionsResponse:
    """Return one page of entries."""
    return S.ListSuppressionsResponse(
        items=[suppression(e) for e in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )


# ----------------------------------------------------------------------------- consents
def new_consent(request: C.CreateConsentRequest) -> Payload:
    """Return REST's ``POST /consents`` body: only the fields the request sets."""
    payload: Payload = _set_fields(request, _CONSENT_FIELDS)
    if request.HasField("captured_at"):
        payload["captured_at"] = _instant_text(request.captured_at, "captured_at")
    if request.HasField("evidence"):
        payload["evidence"] = _set_fields(request.evidence, _EVIDENCE_FIELDS)
    return payload


def consent_query(request: C.ListConsentsRequest) -> tuple[Query, str]:
    """Return REST's query parameters for a consent listing, and the page token."""
    params: Query = _set_fields(request, _CONSENT_FILTERS)
    if request.HasField("active"):
        params["active"] = "true" if request.active else "false"
    _bounds(request, params)
    return _page_params(request, params)


def revocation_body(request: C.RevokeConsentRequest) -> Payload:
    """Return REST's ``POST /consents/{id}/revoke`` body (``{}`` without a note)."""
    return _set_fields(request, ("note",))


def _revocation(shape: Json | None) -> C.ConsentRevocation | None:
    if shape is None:
        return None
    return C.ConsentRevocation(
        reason=shape["reason"], source=source(shape["source"]), note=shape["note"]
    )


def _evidence(shape: Json | None) -> C.ConsentEvidence | None:
    """Return REST's ``evidence``; a null member stays unset."""
    return None if shape is None else C.ConsentEvidence(**shape)


def consent(record: ConsentRecord) -> C.Consent:
    """Return a record with every field of the REST object (times in milliseconds)."""
    body = consent_payload(record)
    return C.Consent(
        id=body["id"],
        phone_number=body["phone_number"],
        type=body["type"],
        purpose=body["purpose"],
        source=body["source"],
        text=body["text"],
        captured_at=_timestamp(_moment(body["captured_at"]), millis=True),
        evidence=_evidence(body["evidence"]),
        created_at=_timestamp(_moment(body["created_at"]), millis=True),
        created_by=actor(body["created_by"]),
        revoked_at=_timestamp(_moment(body["revoked_at"]), millis=True),
        revocation=_revocation(body["revocation"]),
    )


def consent_page(found: Page[ConsentRecord], next_token: str) -> C.ListConsentsResponse:
    """Return one page of records."""
    return C.ListConsentsResponse(
        items=[consent(r) for r in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )
