"""The wire shapes of suppression entries and consent records (REST, webhooks, the CLI)."""

from __future__ import annotations

from typing import Any

from dialcues_core.audit.model import Actor
from dialcues_core.consent.model import ConsentRecord, Revocation, Source, SuppressionEntry
from dialcues_core.kernel.timefmt import millis


def actor_json(actor: Actor | None) -> dict[str, Any] | None:
    """``{"type", "id", "user_id"}`` (an execution's id stays an integer)."""
    if actor is None:
        return None
    return {"type": actor.type, "id": actor.id, "user_id": actor.user_id}


def source_json(source: Source) -> dict[str, Any]:
    """An entry's ``source``."""
    return {
        "type": source.type,
        "id": source.id,
        "user_id": source.user_id,
        "external_id": source.external_id,
    }


def suppression_payload(entry: SuppressionEntry) -> dict[str, Any]:
    """``GET /suppressions/{number}``."""
    return {
        "id": entry.id,
        "phone_number": entry.phone_number,
        "status": "active" if entry.active else "removed",
        "reason": entry.reason,
        "source": source_json(entry.source),
        "note": entry.note,
        "created_at": millis(entry.created_at),
        "removed_at": millis(entry.removed_at),
        "removed_by": actor_json(entry.removed_by),
        "removal_consent_id": entry.removal_consent_id,
    }


def revocation_json(revocation: Revocation | None) -> dict[str, Any] | None:
    """A consent's ``revocation``: the reason, what revoked it, a note."""
    if revocation is None:
        return None
    return {
        "reason": revocation.reason,
        "source": source_json(revocation.source),
        "note": revocation.note,
    }


def evidence_json(evidence: dict[str, Any] | None) -> dict[str, Any] | None:
    """A consent's ``evidence``: every member, null when it was not given."""
    if evidence is None:
        return None
    return {name: evidence.get(name) for name in ("url", "ip", "user_agent")}


def consent_payload(record: ConsentRecord) -> dict[str, Any]:
    """``GET /consents/{id}``."""
    return {
        "id": record.id,
        "phone_number": record.phone_number,
        "type": record.type,
        "purpose": record.purpose,
        "source": record.source,
        "text": record.text,
        "captured_at": millis(record.captured_at),
        "evidence": evidence_json(record.evidence),
        "created_at": millis(record.created_at),
        "created_by": actor_json(record.created_by),
        "revoked_at": millis(record.revoked_at),
        "revocation": revocation_json(record.revocation),
    }
