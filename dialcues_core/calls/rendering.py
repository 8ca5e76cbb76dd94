"""The public execution object (REST replies and webhook payloads)."""

from __future__ import annotations

from typing import Any

from dialcues_core.calls.model import Execution
from dialcues_core.kernel.timefmt import millis


def execution_payload(e: Execution) -> dict[str, Any]:
    """Return an execution as the public API renders it (``GET /executions/{id}``)."""
    return {
        "id": e.id,
        "reminder_id": e.reminder_id,
        "reminder_title": e.reminder_title,
        "status": e.status.value,
        "attempt": e.attempt,
        "call_id": e.call_id,
        "line_id": e.line_id,
        "to": e.to,
        "scheduled_for": millis(e.scheduled_for),
        "executed_at": millis(e.executed_at),
        "ended_at": millis(e.ended_at),
        "ended_reason": e.ended_reason,
        "duration_s": e.duration_s,
        "cost": e.cost,
        "error_message": e.error_message,
        "purpose": e.purpose,
        "occurrence_at": millis(e.occurrence_at or e.scheduled_for),
        "skip_reason": e.skip_reason,
        "confirmation": e.confirmation,
        "confirmed_at": millis(e.confirmed_at),
        "actions": e.actions.to_json(),
        "direction": e.direction,
        "from": e.from_number,
        "route": dict(e.route) if e.route is not None else None,
        "answer_by": millis(e.answer_by),
        "fallback_message_id": e.fallback_message_id,
    }
