"""Public fakes for tests of the core and of host apps (no patching of internals needed)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from dialcues_core.reminders.model import Reminder, ReminderStatus

if TYPE_CHECKING:
    from dialcues_core.bootstrap import Dialcues


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the fake current time."""
        return self._now

    def monotonic(self) -> float:
        """Return the fake time as seconds since the epoch (moves only with the fake time)."""
        return self._now.timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by ``seconds`` and return the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (aware)."""
        self._now = moment


def one_off_reminder(
    user_id: str,
    organization_id: str,
    line_id: str | None,
    due: datetime,
    *,
    title: str = "Reminder",
    message: str = "A reminder call",
    phone_number: str = "+14155552671",
    status: ReminderStatus = ReminderStatus.SCHEDULED,
    created_at: datetime | None = None,
) -> Reminder:
    """Return a one-off reminder due at the aware UTC ``due`` (not yet stored; id 0).

    It was created at ``created_at`` (default: ``due`` itself; nothing here reads the clock).
    """
    now = created_at or due
    return Reminder(
        id=0, user_id=user_id, organization_id=organization_id, title=title, message=message,
        phone_number=phone_number, scheduled_at=due, timezone="UTC",
        local_time=due.replace(tzinfo=None), status=status, line_id=line_id, line_label=None,
        recurrence=None, retry_count=0, next_attempt_at=None, last_execution_id=None,
        created_at=now, updated_at=now,
    )  # fmt: skip


def insert_reminders(dc: Dialcues, reminders: Iterable[Reminder], chunk: int = 500) -> None:
    """Bulk-insert reminders in one transaction, bypassing validation (tests, benchmarks)."""
    from dialcues_core.adapters.peewee.reminders import reminder_values
    from dialcues_core.adapters.peewee.tables import ReminderRow

    rows = [reminder_values(r) for r in reminders]
    with dc.db.atomic():
        for start in range(0, len(rows), chunk):
            ReminderRow.insert_many(rows[start : start + chunk]).execute()
