"""Executions in peewee, read through their owner."""

from __future__ import annotations

import json
from typing import Any

from dialcues_core.adapters.peewee.tables import ExecutionRow
from dialcues_core.calls.actions import CallActions
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import ExecutionQuery
from dialcues_core.kernel.paging import Page


# ----------------------------------------------------------------------------- executions
class PeeweeExecutionRepository:
    """Executions in the ``executions`` table, always read through their owner."""

    def get(
        self, user_id: str, execution_id: int, organization_id: str | None = None
    ) -> Execution | None:
        """Return the user's execution (or the organization's inbound one) or None."""
        row = ExecutionRow.get_or_none(
            (ExecutionRow.id == execution_id) & _visible(user_id, organization_id)
        )
        return execution_from_row(row) if row else None

    def list(
        self, user_id: str, query: ExecutionQuery, organization_id: str | None = None
    ) -> Page[Execution]:
        """Return one page of the user's executions (and the organization's inbound ones),
        newest first."""
        where = _visible(user_id, organization_id)
        if query.direction is not None:
            where &= ExecutionRow.direction == query.direction
        if query.status is not None:
            where &= ExecutionRow.status == query.status.value
        if query.reminder_id is not None:
            where &= ExecutionRow.reminder_id == query.reminder_id
        if query.date_from is not None:
            where &= ExecutionRow.executed_at >= query.date_from
        if query.date_to is not None:
            where &= ExecutionRow.executed_at < query.date_to
        if query.skip_reason is not None:
            where &= ExecutionRow.skip_reason == query.skip_reason
        if query.confirmation is not None:
            where &= ExecutionRow.confirmation == query.confirmation
        if query.to is not None:
            where &= ExecutionRow.to_number == query.to
        total = ExecutionRow.select().where(where).count()
        rows = (
            ExecutionRow.select()
            .where(where)
            .order_by(ExecutionRow.id.desc())
            .paginate(query.page, query.page_size)
        )
        items = [execution_from_row(r) for r in rows] if total else []
        return Page(items, total, query.page, query.page_size)


def _visible(user_id: str, organization_id: str | None) -> Any:
    """A user's executions, and their organization's inbound ones (organization resources)."""
    mine = ExecutionRow.user_id == user_id
    if organization_id is None:
        return mine
    inbound = (ExecutionRow.direction == "inbound") & (
        ExecutionRow.organization_id == organization_id
    )
    return mine | inbound


def execution_from_row(row: Any) -> Execution:
    """Map an execution row to the domain object."""
    return Execution(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        reminder_id=row.reminder_id,
        reminder_title=row.reminder_title,
        status=ExecutionStatus(row.status),
        attempt=row.attempt,
        call_id=row.call_id,
        line_id=row.line_id,
        to=row.to_number,
        scheduled_for=row.scheduled_for,
        executed_at=row.executed_at,
        ended_at=row.ended_at,
        ended_reason=row.ended_reason,
        duration_s=row.duration_s,
        cost=row.cost,
        error_message=row.error_message,
        purpose=row.purpose,
        occurrence_at=row.occurrence_at or row.scheduled_for,
        skip_reason=row.skip_reason,
        confirmation=row.confirmation,
        confirmed_at=row.confirmed_at,
        actions=CallActions.from_stored(row.actions),
        direction=getattr(row, "direction", None) or "outbound",
        from_number=getattr(row, "from_number", None),
        route=json.loads(row.route) if getattr(row, "route", None) else None,
        answer_by=getattr(row, "answer_by", None),
        fallback_message_id=getattr(row, "fallback_message_id", None),
    )
