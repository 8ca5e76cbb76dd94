"""Reminders in peewee (hot statements prepared)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import peewee as pw

from dialcues_core.adapters.peewee.prepared import PreparedInsert, PreparedSelect
from dialcues_core.adapters.peewee.tables import LineRow, ReminderRow
from dialcues_core.calling.retry import retry_from_stored, retry_to_stored
from dialcues_core.calling.shapes import window_from_stored, window_to_stored
from dialcues_core.calling.zones import NumberZones, number_zones
from dialcues_core.kernel.fields import SEARCH_SEPARATOR, fold
from dialcues_core.kernel.paging import Page
from dialcues_core.reminders.model import RecurrenceKind, RecurrenceRule, Reminder, ReminderStatus
from dialcues_core.reminders.ports import ReminderQuery

# ----------------------------------------------------------------------------- reminders
_INSERT_REMINDER = PreparedInsert(ReminderRow)
_REMINDER_SORTS: dict[str, tuple[Any, ...]] = {
    "scheduled_at_asc": (ReminderRow.scheduled_at.asc(), ReminderRow.id.asc()),
    "scheduled_at_desc": (ReminderRow.scheduled_at.desc(), ReminderRow.id.desc()),
    "updated_at_desc": (ReminderRow.updated_at.desc(), ReminderRow.id.desc()),
}
_REMINDER_BY_ID = PreparedSelect(
    lambda reminder_id, user_id: (
        ReminderRow.select(ReminderRow, LineRow.label)
        .join(LineRow, pw.JOIN.LEFT_OUTER, on=(ReminderRow.line_id == LineRow.id))
        .where((ReminderRow.id == reminder_id) & (ReminderRow.user_id == user_id))
    ),
    arity=2,
)


class PeeweeReminderRepository:
    """Reminders in the ``reminders`` table, always read through their owner."""

    def add(self, reminder: Reminder) -> Reminder:
        """Store a new reminder and return it with its id."""
        values = reminder_values(reminder)
        new_id = _INSERT_REMINDER.execute(values)  # prepared: the hot path of POST /reminders
        zones = reminder.number_zones or number_zones(reminder.phone_number)  # lru-cached
        return _replace_id(reminder, new_id, zones)

    def get(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder or None (prepared: the hot path of GetReminder)."""
        row = _REMINDER_BY_ID.first(reminder_id, user_id)
        if row is None:
            return None
        row["line_label"] = row.pop("label")
        return reminder_from_row(SimpleNamespace(**row))

    def get_for_update(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder, its row locked until the transaction ends."""
        query = ReminderRow.select().where(
            (ReminderRow.id == reminder_id) & (ReminderRow.user_id == user_id)
        )
        if isinstance(ReminderRow._meta.database.obj, pw.PostgresqlDatabase):
            query = query.for_update()
        row = query.first()
        if row is None:
            return None
        return self.get(user_id, reminder_id)

    def save(self, reminder: Reminder) -> None:
        """Write every field of an existing reminder."""
        values = reminder_values(reminder)
        ReminderRow.update(**values).where(ReminderRow.id == reminder.id).execute()

    def delete(self, user_id: str, reminder_id: int) -> None:
        """Delete the user's reminder."""
        ReminderRow.delete().where(
            (ReminderRow.id == reminder_id) & (ReminderRow.user_id == user_id)
        ).execute()

    def list(self, user_id: str, query: ReminderQuery) -> Page[Reminder]:
        """Return one page of the user's reminders, filtered and sorted."""
        where = ReminderRow.user_id == user_id
        if query.status is not None:
            where &= ReminderRow.status == query.status.value
        if query.date_from is not None:
            where &= ReminderRow.scheduled_at >= query.date_from
        if query.date_to is not None:
            where &= ReminderRow.scheduled_at < query.date_to
        if query.search:
            where &= _contains(ReminderRow.search_text, fold(query.search))
        total = ReminderRow.select().where(where).count()
        order = _REMINDER_SORTS[query.sort]
        # Deferred join: page through the covering index first, then read only the page's rows.
        page_ids = (
            ReminderRow.select(ReminderRow.id)
            .where(where)
            .order_by(*order)
            .paginate(query.page, query.page_size)
        )
        rows = self._select().where(ReminderRow.id.in_(page_ids)).order_by(*order)
        items = [reminder_from_row(r) for r in rows] if total else []
        return Page(items, total, query.page, query.page_size)

    def scheduled_after(self, after_id: int, limit: int) -> Sequence[Reminder]:
        """Every user's ``scheduled`` reminders with an id above ``after_id``, by id."""
        rows = (
            self._select()
            .where(
                (ReminderRow.status == ReminderStatus.SCHEDULED.value) & (ReminderRow.id > after_id)
            )
            .order_by(ReminderRow.id)
            .limit(limit)
        )
        return [reminder_from_row(r) for r in rows]

    @staticmethod
    def _select() -> Any:
        # .objects(): put the joined ``line_label`` on the reminder row itself (peewee would
        # otherwise attach it to a nested ``row.linerow`` and the label would read as None).
        return (
            ReminderRow.select(ReminderRow, LineRow.label.alias("line_label"))
            .join(LineRow, pw.JOIN.LEFT_OUTER, on=(ReminderRow.line_id == LineRow.id))
            .objects()
        )


def _contains(column: pw.Field, needle: str) -> pw.Expression:
    """Return ``needle in column`` as SQL (``instr`` on SQLite, ``strpos`` on PostgreSQL)."""
    if isinstance(ReminderRow._meta.database.obj, pw.PostgresqlDatabase):
        return pw.fn.STRPOS(column, needle) > 0
    return pw.fn.INSTR(column, needle) > 0


def reminder_values(r: Reminder) -> dict[str, Any]:
    """Return the column values of a reminder (``due_at`` derived from its status)."""
    rule = r.recurrence
    due_at = None
    if r.status is ReminderStatus.SCHEDULED:
        due_at = r.next_attempt_at or r.scheduled_at
    return {
        "user_id": r.user_id,
        "organization_id": r.organization_id,
        "title": r.title,
        "message": r.message,
        "phone_number": r.phone_number,
        "scheduled_at": r.scheduled_at,
        "timezone": r.timezone,
        "local_time": r.local_time.isoformat(timespec="seconds"),
        "status": r.status.value,
        "line_id": r.line_id,
        "recurrence_kind": rule.kind.value if rule else None,
        "interval_days": rule.interval_days if rule else None,
        "weekdays": ",".join(map(str, rule.weekdays)) if rule and rule.weekdays else None,
        "cron": rule.cron if rule else None,
        "recurrence_end_at": rule.end_at if rule else None,
        "recurrence_end_local": _local_text(rule.end_local) if rule else None,
        "retry_count": r.retry_count,
        "next_attempt_at": r.next_attempt_at,
        "last_execution_id": r.last_execution_id,
        "due_at": due_at,
        "search_text": f"{fold(r.title)}{SEARCH_SEPARATOR}{fold(r.message)}",
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "purpose": r.purpose,
        "calling_window": window_to_stored(r.calling_window),
        "max_lateness_seconds": r.max_lateness_seconds,
        "retry_policy": (retry_to_stored(r.retry_policy)),
        "number_zones": (r.number_zones or number_zones(r.phone_number)).stored(),
        "fallback": json.dumps(dict(r.fallback)) if r.fallback is not None else None,
    }


def _local_text(local: datetime | None) -> str | None:
    return local.isoformat(timespec="seconds") if local is not None else None


def _local_or_none(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def reminder_from_row(row: Any) -> Reminder:
    """Map a reminder row (optionally carrying ``line_label``) to the domain object."""
    local = datetime.fromisoformat(row.local_time)
    rule = None
    if row.recurrence_kind:
        rule = RecurrenceRule(
            kind=RecurrenceKind(row.recurrence_kind),
            anchor=local,
            zone=row.timezone,
            interval_days=row.interval_days,
            weekdays=tuple(int(d) for d in row.weekdays.split(",")) if row.weekdays else (),
            cron=row.cron,
            end_at=row.recurrence_end_at,
            end_local=_local_or_none(row.recurrence_end_local),
        )
    return Reminder(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        title=row.title,
        message=row.message,
        phone_number=row.phone_number,
        scheduled_at=row.scheduled_at,
        timezone=row.timezone,
        local_time=local,
        status=ReminderStatus(row.status),
        line_id=row.line_id,
        line_label=getattr(row, "line_label", None),
        recurrence=rule,
        retry_count=row.retry_count,
        next_attempt_at=row.next_attempt_at,
        last_execution_id=row.last_execution_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        purpose=row.purpose,
        calling_window=window_from_stored(row.calling_window),
        max_lateness_seconds=row.max_lateness_seconds,
        retry_policy=retry_from_stored(row.retry_policy),
        number_zones=NumberZones.from_stored(row.number_zones),
        fallback=json.loads(row.fallback) if getattr(row, "fallback", None) else None,
    )


def _replace_id(reminder: Reminder, new_id: int, zones: NumberZones | None) -> Reminder:
    from dataclasses import replace

    return replace(reminder, id=new_id, number_zones=zones)
