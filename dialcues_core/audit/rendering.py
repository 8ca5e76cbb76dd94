"""The audit event in the contract's shape (``GET /audit/events``, gRPC, the CLI)."""

from __future__ import annotations

from typing import Any

from dialcues_core.audit.model import AuditEvent
from dialcues_core.kernel.timefmt import millis


def audit_event_to_json(event: AuditEvent) -> dict[str, Any]:
    """One event as ``responsible-calling.md`` §16 shows it."""
    return {
        "id": event.id,
        "occurred_at": millis(event.occurred_at),
        "organization_id": event.organization_id,
        "action": event.action,
        "actor": {
            "type": event.actor.type,
            "id": event.actor.id,
            "user_id": event.actor.user_id,
        },
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "detail": event.detail,
        "request_id": event.request_id,
    }
