"""Peewee implementations of the call-now and smoke ports (SQLite and PostgreSQL alike).

A call placed now is an ``executions`` row: ``queued``, ``due_at`` set, ``reminder_id`` null —
exactly what the dispatcher's ``queued_executions`` scan claims.
"""

from __future__ import annotations

from dialcues_core.accounts.model import OutboundLine
from dialcues_core.adapters.peewee.executions import execution_from_row
from dialcues_core.adapters.peewee.tables import ExecutionRow, LineRow, ReminderRow
from dialcues_core.calling.shapes import window_to_stored
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import NewExecution


class PeeweeCallRepository:
    """Calls placed now, in the ``executions`` table."""

    def queue(self, call: NewExecution) -> Execution:
        """Insert the queued execution, due at its ``scheduled_for``, and return it."""
        row = ExecutionRow.create(
            user_id=call.user_id,
            organization_id=call.organization_id,
            reminder_id=call.reminder_id,
            reminder_title=call.reminder_title,
            status=ExecutionStatus.QUEUED.value,
            attempt=call.attempt,
            line_id=call.line_id,
            to_number=call.to,
            from_number=_line_number(call.line_id),
            message=call.message,
            scheduled_for=call.scheduled_for,
            due_at=call.scheduled_for,
            created_at=call.scheduled_for,
            occurrence_at=call.occurrence_at or call.scheduled_for,
            purpose=call.purpose,
            timezone=call.timezone,
            calling_window=window_to_stored(call.calling_window),
        )
        return execution_from_row(row)


class PeeweeSmokeStore:
    """Adds the agent smoke flow's temporary line; removes it with the reminder and executions."""

    def add_line(self, line: OutboundLine) -> None:
        """Store ``line`` as temporary: no line look-up, list or default ever returns it."""
        LineRow.create(
            id=line.id,
            organization=line.organization_id,
            provider=line.provider.value,
            provider_line_id=line.provider_line_id,
            phone_number=line.phone_number,
            label=line.label,
            is_default=False,
            created_at=line.created_at,
            temporary=True,
        )

    def discard(self, user_id: str, reminder_id: int | None, line_id: str | None) -> None:
        """Delete the user's reminder with its executions, then the line (any state)."""
        if reminder_id is not None:
            ExecutionRow.delete().where(
                (ExecutionRow.reminder_id == reminder_id) & (ExecutionRow.user_id == user_id)
            ).execute()
            ReminderRow.delete().where(
                (ReminderRow.id == reminder_id) & (ReminderRow.user_id == user_id)
            ).execute()
        if line_id is not None:
            LineRow.delete().where(LineRow.id == line_id).execute()


def _line_number(line_id: str | None) -> str | None:
    """The number a call goes out from (``from``), when its line is known."""
    if line_id is None:
        return None
    row = LineRow.get_or_none(LineRow.id == line_id)
    return row.phone_number if row is not None else None
