"""The public wire shape of reminders and executions, defined once.

The REST API renders them with these functions, and webhook events carry exactly the same
objects in their ``data`` (the contract: "the execution object" as ``GET`` shows it). gRPC
renders protobuf messages instead (``dialcues_grpc.convert``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dialcues_core.model import Execution, Reminder
from dialcues_core.services import spec_of


def seconds(moment: datetime | None) -> str | None:
    """Return RFC 3339 UTC in whole seconds (``…T13:00:00Z``), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"


def millis(moment: datetime | None) -> str | None:
    """Return RFC 3339 UTC with milliseconds (``…T13:00:00.412Z``), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


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
    }


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
    }
