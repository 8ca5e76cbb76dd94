"""Heartbeats, the dispatch backlog, and following tzdata updates, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import peewee as pw

from dialcues_core.adapters.peewee.database import MigrationLock
from dialcues_core.adapters.peewee.healing import execute_many
from dialcues_core.adapters.peewee.reminders import reminder_from_row
from dialcues_core.adapters.peewee.tables import (
    ExecutionRow,
    ReminderRow,
    TzdataRow,
    WorkerRow,
    from_ms,
    to_ms,
)
from dialcues_core.kernel.localtime import (
    reconvert,
    to_instant,
    tzdata_version,
    zone_data,
    zone_names,
)
from dialcues_core.operations.model import WorkerInfo
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.reminders.recurrence import occurrence_local

log = logging.getLogger("dialcues.tzdata")

_WAITING = (ReminderStatus.SCHEDULED.value, ReminderStatus.PAUSED.value)


class PeeweeOperationsStore:
    """Heartbeat rows in ``workers``; the backlog read from reminders and queued executions."""

    def beat(self, worker: WorkerInfo) -> None:
        """Insert or update the worker's heartbeat row."""
        values = {
            WorkerRow.host: worker.host,
            WorkerRow.pid: worker.pid,
            WorkerRow.started_at: worker.started_at,
            WorkerRow.last_seen_at: worker.last_seen_at,
            WorkerRow.last_claim_at: worker.last_claim_at,
        }
        WorkerRow.insert({WorkerRow.id: worker.id, **values}).on_conflict(
            conflict_target=[WorkerRow.id], update=values
        ).execute()

    def stopped(self, worker_id: str, at: datetime) -> None:
        """Mark the worker stopped."""
        WorkerRow.update(stopped_at=at, last_seen_at=at).where(WorkerRow.id == worker_id).execute()

    def workers(self) -> list[WorkerInfo]:
        """Return every heartbeat row, newest first."""
        rows = WorkerRow.select().order_by(WorkerRow.last_seen_at.desc(), WorkerRow.id)
        return [
            WorkerInfo(
                r.id, r.host, r.pid, r.started_at, r.last_seen_at, r.last_claim_at, r.stopped_at
            )
            for r in rows
        ]

    def forget(self, before: datetime) -> int:
        """Delete heartbeats last seen before ``before``."""
        return int(WorkerRow.delete().where(WorkerRow.last_seen_at < before).execute())

    def oldest_due_at(self, now: datetime) -> datetime | None:
        """Return the earliest due time among attempts due by ``now`` and not yet dialed."""
        reminders = (
            ReminderRow.select(pw.fn.MIN(ReminderRow.due_at))
            .where(
                (ReminderRow.status == ReminderStatus.SCHEDULED.value)
                & (ReminderRow.due_at <= to_ms(now))
            )
            .scalar()
        )
        queued = (
            ExecutionRow.select(pw.fn.MIN(ExecutionRow.due_at))
            .where((ExecutionRow.status == "queued") & (ExecutionRow.due_at <= to_ms(now)))
            .scalar()
        )
        found = [t for t in (reminders, queued) if t is not None]
        return from_ms(min(found)) if found else None


# ----------------------------------------------------------------------------- tzdata
def follow_tzdata(db: pw.Database, now: datetime) -> int:
    """Recompute future instants if the zone rules changed since they were computed.

    The database keeps, per zone, the TZif data its instants were computed with. When this
    process runs another tzdata version, every future ``scheduled_at``, pending
    ``next_attempt_at`` and local-time ``recurrence_end_at`` of a waiting reminder is
    recomputed from the wall-clock time it showed under the old rules (:func:`reconvert`),
    once, under the migration lock; instants already past are history and stay. Returns how
    many reminders moved (and logs it).
    """
    version = tzdata_version()
    if not db.table_exists(TzdataRow._meta.table_name):
        return 0  # a database kept at an older schema version (tests of migrations)
    with MigrationLock(db):
        stored = {row.name: row for row in TzdataRow.select()}
        old = max((row.version for row in stored.values()), default="")
        if stored and old >= version:
            if old > version:
                log.warning(
                    "this process runs tzdata %s, older than the %s the database follows:"
                    " upgrade the tzdata package (nothing was recomputed)",
                    version,
                    old,
                )
            return 0
        moved = _recompute(stored, now) if stored else 0
        _snapshot(db, version)
    if stored:
        log.warning(
            "tzdata changed from %s to %s: %d reminders' future times were recomputed",
            old,
            version,
            moved,
        )
    return moved


def _recompute(stored: dict[str, TzdataRow], now: datetime) -> int:
    moved = 0
    query = ReminderRow.select(ReminderRow.timezone).where(ReminderRow.status.in_(_WAITING))
    zones: set[str] = {str(name) for (name,) in cast(Any, query.distinct().tuples())}
    for name in sorted(zones):
        row = stored.get(name)
        if row is None or name not in zone_names():
            continue
        old = ZoneInfo.from_file(io.BytesIO(bytes(row.tzif)), key=name)
        new = ZoneInfo.from_file(io.BytesIO(zone_data(name)), key=name)
        moved += _recompute_zone(name, old, new, now)
    return moved


def _recompute_zone(name: str, old: ZoneInfo, new: ZoneInfo, now: datetime) -> int:
    moved = 0
    query = ReminderRow.select().where(
        (ReminderRow.timezone == name) & ReminderRow.status.in_(_WAITING)
    )
    for r in query:
        reminder = reminder_from_row(r)
        changes = {}
        for field in ("scheduled_at", "next_attempt_at", "recurrence_end_at"):
            instant = getattr(r, field)
            if instant is None or instant <= now:
                continue
            if field == "recurrence_end_at" and not r.recurrence_end_local:
                continue  # an end given as an instant stays that instant
            again = _again(reminder, field, instant, old, new)
            if again != instant:
                changes[field] = again
        if changes:
            waiting = r.status == ReminderStatus.SCHEDULED.value
            nxt = changes.get("next_attempt_at", r.next_attempt_at)
            due = (nxt or changes.get("scheduled_at", r.scheduled_at)) if waiting else None
            ReminderRow.update(**changes, due_at=due).where(ReminderRow.id == r.id).execute()
            moved += 1
    return moved


def _again(
    reminder: Reminder, field: str, instant: datetime, old: ZoneInfo, new: ZoneInfo
) -> datetime:
    """Return ``instant`` under the new rules, from the wall-clock time the user asked for.

    A one-off's asked time is its ``local_time``; a series occurrence's is the rule's local
    time that rang at ``instant`` (gap-shifted times answer the asked, unshifted one); a
    local series end is its ``end_local``. A pending retry (and an instant given as such) has
    no asked wall-clock time: it keeps the one it showed under the old rules.
    """
    rule = reminder.recurrence
    asked: datetime | None = None
    if field == "recurrence_end_at" and rule is not None:
        asked = rule.end_local
    elif field == "scheduled_at":
        if rule is None:
            asked = reminder.local_time if to_instant(reminder.local_time, old) == instant else None
        else:
            asked = occurrence_local(rule, instant, old)
    return to_instant(asked, new) if asked is not None else reconvert(instant, old, new)


def _snapshot(db: pw.Database, version: str) -> None:
    """Record the TZif data of every zone of this tzdata version."""
    TzdataRow.delete().execute()
    mark = db.param
    sql = f"INSERT INTO tzdata_zones (name, version, tzif) VALUES ({mark}, {mark}, {mark})"
    execute_many(db, sql, [(n, version, zone_data(n)) for n in sorted(zone_names())])
