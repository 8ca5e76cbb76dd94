"""The public reminder object (REST replies and webhook payloads)."""

from __future__ import annotations

from typing import Any

from dialcues_core.calling.shapes import window_to_json
from dialcues_core.kernel.timefmt import seconds
from dialcues_core.reminders.model import Reminder
from dialcues_core.reminders.schedule import spec_of


def reminder_payload(r: Reminder) -> dict[str, Any]:
    """Return a reminder as the public API renders it (``GET /reminders/{id}``)."""
    spec = spec_of(r.recurrence)
    return {
        "id": r.id,
        "title": r.title,
        "message": r.message,
        "phone_number": r.phone_number,
        "scheduled_at": seconds(r.scheduled_at),
        "timezone": r.timezone,
        "status": r.status.value,
        "vapi_line_id": r.line_id,
        "outbound_line_label": r.line_label,
        "recurrence_type": spec.wire_type() if spec is not None else None,
        "recurrence_config": spec.wire_config() if spec is not None else None,
        "recurrence_end_at": seconds(r.recurrence_end_at),
        "retry_count": r.retry_count,
        "next_attempt_at": seconds(r.next_attempt_at),
        "last_execution_id": r.last_execution_id,
        "created_at": seconds(r.created_at),
        "updated_at": seconds(r.updated_at),
        "purpose": r.purpose,
        "calling_window": window_to_json(r.calling_window) if r.calling_window else None,
        "max_lateness_seconds": r.max_lateness_seconds,
        "retry_policy": r.retry_policy.to_json() if r.retry_policy else None,
        "next_eligible_at": seconds(r.next_eligible_at),
        "fallback": dict(r.fallback) if r.fallback is not None else None,
    }
