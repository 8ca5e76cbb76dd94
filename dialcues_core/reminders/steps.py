"""A reminder as the dispatch policy sees it, and its fields after the policy ran."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialcues_core.reminders.model import RecurrenceRule, ReminderStatus


@dataclass(frozen=True, slots=True)
class Attempted:
    """The part of a reminder the policy looks at."""

    status: ReminderStatus
    scheduled_at: datetime
    rule: RecurrenceRule | None
    retry_count: int


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
