"""A reminder as the dispatch policy sees it, and its fields after the policy ran."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialcues_core.calling.retry import RetryPolicy
from dialcues_core.calling.shapes import Bypass
from dialcues_core.calling.windows import Window
from dialcues_core.calling.zones import NumberZones, Place, WindowBasis, number_zones
from dialcues_core.reminders.model import RecurrenceRule, ReminderStatus


@dataclass(frozen=True, slots=True)
class Attempted:
    """The part of a reminder the policy and the gate look at."""

    status: ReminderStatus
    scheduled_at: datetime
    rule: RecurrenceRule | None
    retry_count: int
    timezone: str | None = None
    phone_number: str = ""
    number_zones: NumberZones | None = None
    """As stored when the number was set (``None``: computed from the number)."""
    calling_window: Window | Bypass | None = None
    max_lateness_seconds: int | None = None
    retry_policy: RetryPolicy | None = None
    purpose: str = "informational"

    def place(self, basis: WindowBasis) -> Place:
        """Where the recipient is, for the calling window."""
        zones = self.number_zones or number_zones(self.phone_number)
        return Place(self.timezone, zones, basis)


@dataclass(frozen=True, slots=True)
class NextStep:
    """A reminder's fields after the policy ran."""

    status: ReminderStatus
    scheduled_at: datetime
    retry_count: int
    next_attempt_at: datetime | None

    @property
    def due_at(self) -> datetime | None:
        """Return when the dispatcher should next pick it up (None: not waiting)."""
        if self.status is not ReminderStatus.SCHEDULED:
            return None
        return self.next_attempt_at or self.scheduled_at
