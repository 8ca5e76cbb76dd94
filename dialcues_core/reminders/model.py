"""The reminder, its statuses and its repetition rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from dialcues_core.calling.retry import RetryPolicy
from dialcues_core.calling.shapes import Bypass
from dialcues_core.calling.windows import Window
from dialcues_core.calling.zones import NumberZones


class ReminderStatus(StrEnum):
    """Where a reminder is in its life (see ``lifecycle``)."""

    SCHEDULED = "scheduled"
    PAUSED = "paused"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    """The person said stop (the number is on the suppression list): never dialed again until
    its owner resumes it after the entry's consent-backed removal."""


class RecurrenceKind(StrEnum):
    """How a recurring reminder repeats (the REST ``custom`` type is one of two kinds here)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    INTERVAL_DAYS = "interval_days"
    WEEKDAYS = "weekdays"
    CRON = "cron"


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    """A repetition rule, complete enough to compute occurrences without anything else.

    ``anchor`` is the naive local wall-clock time of the reminder's ``scheduled_at`` as the
    user gave it (the first occurrence for daily/weekly/interval_days; the earliest possible
    one for weekdays/cron); ``zone`` the IANA name it is read in. ``weekdays`` uses
    0 = Sunday … 6 = Saturday. ``end_at`` (aware UTC) is inclusive.
    """

    kind: RecurrenceKind
    anchor: datetime
    zone: str
    interval_days: int | None = None
    weekdays: tuple[int, ...] = ()
    cron: str | None = None
    end_at: datetime | None = None
    end_local: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A scheduled call.

    ``scheduled_at`` is the occurrence; a pending retry shows in ``next_attempt_at``.
    """

    id: int
    user_id: str
    organization_id: str
    title: str
    message: str
    phone_number: str
    scheduled_at: datetime
    timezone: str
    local_time: datetime
    status: ReminderStatus
    line_id: str | None
    line_label: str | None
    recurrence: RecurrenceRule | None
    retry_count: int
    next_attempt_at: datetime | None
    last_execution_id: int | None
    created_at: datetime
    updated_at: datetime
    purpose: str = "informational"
    calling_window: Window | Bypass | None = None
    """The reminder's own window (narrower hours, a profile or a bypass); None: the
    organization's."""
    max_lateness_seconds: int | None = None
    retry_policy: RetryPolicy | None = None
    number_zones: NumberZones | None = None
    """The number's zones, stored whenever the number is set (None: not yet computed)."""
    fallback: Mapping[str, Any] | None = None
    """The SMS fallback (``telephony.md`` §4.6) in its wire form, or None."""
    next_eligible_at: datetime | None = None
    """Computed on read by the use cases (never stored)."""

    @property
    def recurrence_end_at(self) -> datetime | None:
        """Return the inclusive end of the series, if any."""
        return self.recurrence.end_at if self.recurrence else None
