"""Inbound executions and readback reminders on SQLite and PostgreSQL (caller's transaction)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import peewee as pw

from dialcues_core.adapters.peewee.executions import execution_from_row
from dialcues_core.adapters.peewee.tables import ExecutionRow, ReminderRow, to_ms
from dialcues_core.calls.model import INBOUND_USER, Execution, readback_message
from dialcues_core.inbound.model import NewInbound, ReadbackItem

_INSERT = (
    "INSERT INTO executions (user_id, organization_id, status, attempt, call_id, line_id,"
    " to_number, from_number, scheduled_for, executed_at, occurrence_at, created_at,"
    " direction, route, answer_by, purpose, lease_until)"
    " VALUES ({m}, {m}, 'in_progress', 1, {m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}, 'inbound',"
    " {m}, {m}, 'informational', {m})"
    " ON CONFLICT (call_id) WHERE direction = 'inbound' DO NOTHING RETURNING id"
)


RECONCILE_AFTER_MS = 20 * 60 * 1000
"""``telephony.md`` §3.3: when an inbound call without an outcome is asked about."""


class PeeweeInboundStore:
    """Inbound rows of ``executions``; the ``reminders`` a readback reads."""

    def __init__(self, db: pw.Database):
        self.db = db
        self._insert = _INSERT.format(m="%s" if isinstance(db, pw.PostgresqlDatabase) else "?")

    def record(self, new: NewInbound) -> tuple[int, bool]:
        """Insert the call's execution unless it exists; (id, created)."""
        at = to_ms(new.at)
        route = json.dumps(dict(new.route)) if new.route is not None else None
        answer_by = to_ms(new.answer_by) if new.answer_by is not None else None
        params = (
            INBOUND_USER,
            new.organization_id,
            new.call_id,
            new.line_id,
            new.line_number,
            new.caller,
            at,
            at,
            at,
            at,
            route,
            answer_by,
            # an inbound call still in progress 20 minutes after it started is reconciled
            # with the provider (GET /call/{id}) like an outbound one; never redialed
            at + RECONCILE_AFTER_MS,
        )
        row = self.db.execute_sql(self._insert, params).fetchone()
        if row is not None:
            return int(row[0]), True
        found = self.by_call_id(new.call_id)
        assert found is not None, "the conflicting row exists"
        return found.id, False

    def get(self, execution_id: int) -> Execution | None:
        """An inbound execution by id."""
        row = ExecutionRow.get_or_none(
            (ExecutionRow.id == execution_id) & (ExecutionRow.direction == "inbound")
        )
        return execution_from_row(row) if row is not None else None

    def by_call_id(self, call_id: str) -> Execution | None:
        """An inbound execution by call id."""
        row = ExecutionRow.get_or_none(
            (ExecutionRow.call_id == call_id) & (ExecutionRow.direction == "inbound")
        )
        return execution_from_row(row) if row is not None else None

    def set_readback(self, execution_id: int, reminder_ids: list[int]) -> None:
        """Keep the reading order of a readback (its tools name reminders by place)."""
        ExecutionRow.update(message=readback_message(reminder_ids)).where(
            ExecutionRow.id == execution_id
        ).execute()

    def decide(self, execution_id: int, route: Mapping[str, Any]) -> bool:
        """Store the route while none is (one winner)."""
        updated = (
            ExecutionRow.update(route=json.dumps(dict(route)))
            .where(
                (ExecutionRow.id == execution_id)
                & (ExecutionRow.direction == "inbound")
                & ExecutionRow.route.is_null()
            )
            .execute()
        )
        return bool(updated)

    def readback(self, organization_id: str, number: str, limit: int) -> list[ReadbackItem]:
        """The caller's scheduled reminders in the organization, soonest first."""
        rows = (
            ReminderRow.select(
                ReminderRow.id, ReminderRow.title, ReminderRow.scheduled_at, ReminderRow.timezone
            )
            .where(
                (ReminderRow.organization_id == organization_id)
                & (ReminderRow.phone_number == number)
                & (ReminderRow.status == "scheduled")
            )
            .order_by(ReminderRow.scheduled_at, ReminderRow.id)
            .limit(limit)
        )
        return [ReadbackItem(r.id, r.title, r.scheduled_at, r.timezone) for r in rows]
