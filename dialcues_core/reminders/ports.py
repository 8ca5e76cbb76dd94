"""The reminder repository port and its listing query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.kernel.paging import Page
from dialcues_core.reminders.model import Reminder, ReminderStatus


@dataclass(frozen=True, slots=True)
class ReminderQuery:
    """A validated reminder listing request."""

    status: ReminderStatus | None = None
    search: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    sort: str = "scheduled_at_asc"
    page: int = 1
    page_size: int = 20


class ReminderRepository(Protocol):
    """Reminders, always read through their owner."""

    def add(self, reminder: Reminder) -> Reminder:
        """Store a new reminder (its ``id`` is ignored) and return it with its id."""
        ...

    def get(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder or None."""
        ...

    def get_for_update(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder, locking its row until the transaction ends."""
        ...

    def save(self, reminder: Reminder) -> None:
        """Write every field of an existing reminder."""
        ...

    def delete(self, user_id: str, reminder_id: int) -> None:
        """Delete the user's reminder."""
        ...

    def list(self, user_id: str, query: ReminderQuery) -> Page[Reminder]:
        """Return one page of the user's reminders."""
        ...

    def scheduled_after(self, after_id: int, limit: int) -> Sequence[Reminder]:
        """Every user's ``scheduled`` reminders with an id above ``after_id``, by id (operators)."""
        ...
