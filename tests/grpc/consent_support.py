"""Helpers of the suppression and consent suites: requests, and the messages in REST's shape.

The ``*_json`` converters are written apart from the edge (``dialcues_grpc.consent_convert``)
from the REST objects of ``responsible-calling.md`` §7, §8 and §11: an unset field is null, a
source's or actor's id is a string or an integer, times carry milliseconds. The suites compare
their output with the core's renderers, the bodies REST answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format, timestamp_pb2
from grpc_support import Stubs

from dialcues_grpc._pb.dialcues.v1 import (
    common_pb2,
    consents_pb2,
    executions_pb2,
    suppressions_pb2,
)

S, C = suppressions_pb2, consents_pb2
Json = dict[str, Any]
TEXT = "I agree that Acme may call me at this number with offers, using an automated voice."


# ----------------------------------------------------------------------------- requests
def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """Return an aware instant as a Timestamp."""
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment)
    return out


def consent_request(number: str, captured_at: datetime, **fields: Any) -> C.CreateConsentRequest:
    """A valid CreateConsentRequest: express written marketing consent, unless ``fields`` say
    otherwise."""
    values: Json = {
        "phone_number": number,
        "type": "express_written",
        "purpose": "marketing",
        "source": "web_form",
        "text": TEXT,
        "captured_at": timestamp(captured_at),
        **fields,
    }
    return C.CreateConsentRequest(**values)


async def record_consent(api: Stubs, number: str, minutes: float = -60, **fields: Any) -> C.Consent:
    """Record a consent of ``number`` captured ``minutes`` from now (default: an hour ago)."""
    captured = datetime.now(UTC) + timedelta(minutes=minutes)
    return await api.consents.CreateConsent(
        consent_request(number, captured, **fields), metadata=api.md
    )


async def suppress(api: Stubs, number: str, **fields: Any) -> S.CreateSuppressionResponse:
    """Suppress ``number`` over gRPC."""
    request = S.CreateSuppressionRequest(phone_number=number, **fields)
    return await api.suppressions.CreateSuppression(request, metadata=api.md)


# ----------------------------------------------------------------------------- REST's shape
def millis_text(ts: timestamp_pb2.Timestamp) -> str:
    """Return a Timestamp as REST renders a millisecond time (``…T13:00:31.207Z``)."""
    return ts.ToDatetime(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(message: Any, name: str) -> str | None:
    return millis_text(getattr(message, name)) if message.HasField(name) else None


def _opt(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def actor_json(actor: common_pb2.Actor) -> Json:
    """Return an Actor as REST's ``{"type", "id", "user_id"}``."""
    which = actor.WhichOneof("actor_id")
    return {
        "type": actor.type,
        "id": getattr(actor, which) if which else None,
        "user_id": _opt(actor, "user_id"),
    }


def source_json(source: S.SuppressionSource) -> Json:
    """Return a SuppressionSource as REST's ``{"type", "id", "user_id", "external_id"}``."""
    which = source.WhichOneof("source_id")
    return {
        "type": source.type,
        "id": getattr(source, which) if which else None,
        "user_id": _opt(source, "user_id"),
        "external_id": _opt(source, "external_id"),
    }


def entry_json(entry: S.SuppressionEntry) -> Json:
    """Return a SuppressionEntry as REST's entry (§7)."""
    return {
        "id": entry.id,
        "phone_number": entry.phone_number,
        "status": entry.status,
        "reason": entry.reason,
        "source": source_json(entry.source),
        "note": _opt(entry, "note"),
        "created_at": millis_text(entry.created_at),
        "removed_at": _time(entry, "removed_at"),
        "removed_by": actor_json(entry.removed_by) if entry.HasField("removed_by") else None,
        "removal_consent_id": _opt(entry, "removal_consent_id"),
    }


def consent_json(record: C.Consent) -> Json:
    """Return a Consent as REST's record (§8); evidence has every member, null when unset."""
    evidence = None
    if record.HasField("evidence"):
        evidence = {name: _opt(record.evidence, name) for name in ("url", "ip", "user_agent")}
    revocation = None
    if record.HasField("revocation"):
        revocation = {
            "reason": record.revocation.reason,
            "source": source_json(record.revocation.source),
            "note": _opt(record.revocation, "note"),
        }
    return {
        "id": record.id,
        "phone_number": record.phone_number,
        "type": record.type,
        "purpose": record.purpose,
        "source": record.source,
        "text": record.text,
        "captured_at": millis_text(record.captured_at),
        "evidence": evidence,
        "created_at": millis_text(record.created_at),
        "created_by": actor_json(record.created_by),
        "revoked_at": _time(record, "revoked_at"),
        "revocation": revocation,
    }


def action_json(action: executions_pb2.ExecutionAction) -> Json:
    """Return an ExecutionAction as REST's ``actions`` item (§11)."""
    return {
        "type": action.type,
        "at": millis_text(action.at),
        "via": action.via,
        "outcome": action.outcome,
        "detail": json_format.MessageToDict(action.detail),
    }


def field_names(message: Any) -> set[str]:
    """Return the names of a message type's fields."""
    return {f.name for f in message.DESCRIPTOR.fields}
