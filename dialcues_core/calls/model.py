"""One call attempt: the execution and its statuses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from dialcues_core.calls.actions import NO_ACTIONS, CallActions

INBOUND_USER = ""
"""The ``user_id`` of inbound executions: they belong to the organization, not to a user."""


_READBACK = "readback:"


def readback_message(reminder_ids: list[int]) -> str:
    """How an inbound execution keeps the reminders its readback read, in order (its
    ``message`` column, never shown: an inbound call says nothing of its own)."""
    return _READBACK + ",".join(str(i) for i in reminder_ids)


def readback_ids(message: str | None) -> list[int]:
    """The reminders a readback read, in order (none: not a readback)."""
    if not message or not message.startswith(_READBACK):
        return []
    return [int(part) for part in message[len(_READBACK) :].split(",") if part.isdigit()]


class ExecutionStatus(StrEnum):
    """The state or outcome of one call attempt."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    MISSED = "missed"
    CANCELED = "canceled"
    SKIPPED = "skipped"
    """The gate refused the attempt (``skip_reason`` says why); nothing was dialed."""

    @property
    def is_final(self) -> bool:
        """Tell whether the attempt is over."""
        return self not in (ExecutionStatus.QUEUED, ExecutionStatus.IN_PROGRESS)

    @property
    def is_delivered(self) -> bool:
        """Tell whether the message reached the person (or their voicemail)."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.VOICEMAIL)


@dataclass(frozen=True, slots=True)
class Execution:
    """One call attempt (or a ``missed`` record, or a call placed now)."""

    id: int
    user_id: str
    organization_id: str
    reminder_id: int | None
    reminder_title: str | None
    status: ExecutionStatus
    attempt: int
    call_id: str | None
    line_id: str | None
    to: str
    scheduled_for: datetime
    executed_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None
    duration_s: int | None
    cost: float | None
    error_message: str | None
    purpose: str = "informational"
    occurrence_at: datetime | None = None
    skip_reason: str | None = None
    confirmation: str | None = None
    confirmed_at: datetime | None = None
    actions: CallActions = NO_ACTIONS
    direction: str = "outbound"
    """``outbound`` (a reminder's attempt or a call placed now) or ``inbound``."""
    from_number: str | None = None
    """Outbound: the line's number (null before v12); inbound: the caller (null: withheld)."""
    route: Mapping[str, Any] | None = None
    """Inbound: the route applied (null until an ``external`` call is decided)."""
    answer_by: datetime | None = None
    """Inbound on an ``external`` route: when the line's fallback applies."""
    fallback_message_id: str | None = None
    """The reminder's SMS fallback this attempt's outcome triggered (``telephony.md`` §4.6)."""
