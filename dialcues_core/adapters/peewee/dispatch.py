"""The dispatcher's storage primitives on SQLite and PostgreSQL.

The caller (``dialcues_core.dispatch.attempts``) holds the transaction: on SQLite it is ``BEGIN
IMMEDIATE`` (one writer at a time, so a select-then-update claim is atomic); on PostgreSQL
the selects lock their rows with ``FOR UPDATE SKIP LOCKED`` so that N workers never take the
same row. Hot statements are written as SQL once per backend; rows are plain tuples.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import peewee as pw

from dialcues_core.accounts.model import OutboundLine, Provider, ProviderSettings
from dialcues_core.adapters.peewee.accounts import PROVIDER_COLUMNS, provider_from
from dialcues_core.adapters.peewee.calling import policy_from_row
from dialcues_core.adapters.peewee.healing import execute_many
from dialcues_core.adapters.peewee.tables import CallingPolicyRow, from_ms, to_ms
from dialcues_core.calling.policy import CallingPolicy
from dialcues_core.calling.retry import retry_from_stored
from dialcues_core.calling.shapes import window_from_stored
from dialcues_core.calling.zones import NumberZones
from dialcues_core.calls.actions import CallActions
from dialcues_core.calls.model import Execution, ExecutionStatus, readback_ids
from dialcues_core.calls.ports import LiveExecution, NewExecution, OutcomeRecord
from dialcues_core.dispatch.ports import DueReminder
from dialcues_core.reminders.model import RecurrenceKind, RecurrenceRule, Reminder, ReminderStatus
from dialcues_core.reminders.steps import Attempted, NextStep

_REMINDER_COLS = (
    "id, user_id, organization_id, title, message, phone_number, line_id, due_at, status, "
    "scheduled_at, timezone, local_time, recurrence_kind, interval_days, weekdays, cron, "
    "recurrence_end_at, retry_count, purpose, calling_window, max_lateness_seconds, "
    "retry_policy, number_zones"
)
_LINE_COLS = (
    "id, organization_id, provider, phone_number, label, is_default, created_at, provider_line_id,"
    " temporary"
)
_PROVIDER_COLS = "id, " + ", ".join(PROVIDER_COLUMNS)
_EXECUTION_COLS = (
    "id, user_id, organization_id, reminder_id, reminder_title, status, attempt, line_id, "
    "to_number, message, scheduled_for, executed_at, call_id, due_at, occurrence_at, "
    "purpose, timezone, calling_window, actions, from_number, route"
)


_SECRETS = frozenset({"predial_secret", "predial_previous_secret", "predial_previous_expires_at"})
_POLICY_NAMES = tuple(
    f.column_name for f in CallingPolicyRow._meta.sorted_fields if f.column_name not in _SECRETS
)
"""The columns the gate reads of a policy (never the pre-dial secrets)."""
_POLICY_COLS = ", ".join(_POLICY_NAMES)


class PeeweeDispatchStore:
    """Dispatch primitives over the bound peewee database."""

    def __init__(self, db: pw.Database):
        self.db = db
        self.pg = isinstance(db, pw.PostgresqlDatabase)
        self.p = "%s" if self.pg else "?"
        self.lock = " FOR UPDATE SKIP LOCKED" if self.pg else ""

    def _sql(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        return self.db.execute_sql(sql.replace("?", self.p), params)

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        execute_many(self.db, sql.replace("?", self.p), rows)

    # ------------------------------------------------------------------ selecting work
    def due_reminders(
        self, now: datetime, limit: int, skip_orgs: set[str] | None = None
    ) -> list[DueReminder]:
        """Return due reminders in due order, locked (skip locked on PostgreSQL)."""
        if limit <= 0:
            return []
        skip, params = _not_in("organization_id", skip_orgs)
        cursor = self._sql(
            f"SELECT {_REMINDER_COLS} FROM reminders WHERE due_at <= ? AND status = 'scheduled'"
            f"{skip} ORDER BY due_at, id LIMIT ?{self.lock}",
            (to_ms(now), *params, limit),
        )
        return [_due(row) for row in cursor.fetchall()]

    def queued_executions(
        self, now: datetime, limit: int, skip_orgs: set[str] | None = None
    ) -> list[LiveExecution]:
        """Return due queued executions, locked."""
        if limit <= 0:
            return []
        skip, params = _not_in("organization_id", skip_orgs)
        cursor = self._sql(
            f"SELECT {_EXECUTION_COLS} FROM executions WHERE due_at <= ? AND status = 'queued'"
            f"{skip} ORDER BY due_at, id LIMIT ?{self.lock}",
            (to_ms(now), *params, limit),
        )
        return [_live(row) for row in cursor.fetchall()]

    def expired_executions(self, now: datetime, limit: int) -> list[LiveExecution]:
        """Return in-progress executions whose lease has run out, locked."""
        cursor = self._sql(
            f"SELECT {_EXECUTION_COLS} FROM executions WHERE status = 'in_progress'"
            f" AND lease_until < ? ORDER BY lease_until LIMIT ?{self.lock}",
            (to_ms(now), limit),
        )
        return [_live(row) for row in cursor.fetchall()]

    def executions_by_id(self, ids: list[int]) -> dict[int, LiveExecution]:
        """Return executions by id, locked."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        lock = " FOR UPDATE" if self.pg else ""
        cursor = self._sql(
            f"SELECT {_EXECUTION_COLS} FROM executions WHERE id IN ({marks}){lock}", ids
        )
        return {row[0]: _live(row) for row in cursor.fetchall()}

    def execution_by_call_id(self, call_id: str) -> LiveExecution | None:
        """Return the execution of a provider call id."""
        row = self._sql(
            f"SELECT {_EXECUTION_COLS} FROM executions WHERE call_id = ? LIMIT 1", (call_id,)
        ).fetchone()
        return _live(row) if row else None

    def attempted(self, reminder_ids: list[int]) -> dict[int, tuple[Attempted, int | None]]:
        """Return each reminder's policy view and last execution id, locked."""
        if not reminder_ids:
            return {}
        marks = ",".join("?" * len(reminder_ids))
        lock = " FOR UPDATE" if self.pg else ""
        cursor = self._sql(
            f"SELECT {_REMINDER_COLS}, last_execution_id FROM reminders"
            f" WHERE id IN ({marks}){lock}",
            reminder_ids,
        )
        return {row[0]: (_attempted(row), row[23]) for row in cursor.fetchall()}

    # ------------------------------------------------------------------ the gate
    def policies_of(self, org_ids: set[str]) -> dict[str, CallingPolicy]:
        """The stored calling policies of these organizations (absent: never set)."""
        if not org_ids:
            return {}
        ids = sorted(org_ids)
        cursor = self._sql(  # prebuilt SQL: once per claim batch, on the dispatcher's hot path
            f"SELECT {_POLICY_COLS} FROM calling_policies"
            f" WHERE organization_id IN ({','.join('?' * len(ids))})",
            ids,
        )
        found = {}
        for values in cursor.fetchall():
            row = SimpleNamespace(**dict(zip(_POLICY_NAMES, values, strict=True)))
            row.updated_at = from_ms(row.updated_at) if row.updated_at is not None else None
            found[row.organization_id] = policy_from_row(row)
        return found

    def placed_attempts(
        self, numbers: set[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str], list[datetime]]:
        """When each (organization, number) was dialed after ``since``: the attempts the
        frequency caps count (placed, and not ``provider_unreachable``: nothing was sent)."""
        if not numbers:
            return {}
        orgs = sorted({org for org, _ in numbers})
        tos = sorted({to for _, to in numbers})
        cursor = self._sql(
            "SELECT organization_id, to_number, executed_at FROM executions"
            f" WHERE organization_id IN ({','.join('?' * len(orgs))})"
            f" AND to_number IN ({','.join('?' * len(tos))}) AND executed_at > ?"
            f" AND status IN ({','.join('?' * len(_COUNTED))})"
            " AND NOT (status = ? AND error_message LIKE ?)",
            (
                *orgs,
                *tos,
                to_ms(since),
                *_COUNTED,
                ExecutionStatus.FAILED.value,
                "provider_unreachable%",
            ),
        )
        placed: dict[tuple[str, str], list[datetime]] = {}
        for org, to, at in cursor.fetchall():
            if (org, to) in numbers:
                placed.setdefault((org, to), []).append(from_ms(at))
        return placed

    def lock_numbers(
        self, numbers: list[tuple[str, str]], exclusive: set[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Take the numbers' transaction-scoped locks without waiting; return those taken.

        On PostgreSQL, ``pg_try_advisory_xact_lock`` (exclusive: the number's frequency caps
        are counted) or its ``_shared`` form, in sorted order; a number whose lock another
        claim holds is left for the next round. SQLite's single writer serializes anyway.
        """
        if not self.pg:
            return set(numbers)
        taken: set[tuple[str, str]] = set()
        for pair in sorted(set(numbers)):
            kind = (
                "pg_try_advisory_xact_lock"
                if pair in exclusive
                else ("pg_try_advisory_xact_lock_shared")
            )
            (got,) = self._sql(f"SELECT {kind}(?)", (number_lock_key(*pair),)).fetchone()
            if got:
                taken.add(pair)
        return taken

    # ------------------------------------------------------------------ writing
    def insert_executions(self, rows: list[NewExecution]) -> list[int]:
        """Insert executions; return their ids in order."""
        if not rows:
            return []
        values = ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"] * len(rows))
        params: list[Any] = []
        for r in rows:
            params.extend(_execution_params(r))
        cursor = self._sql(
            "INSERT INTO executions (user_id, organization_id, reminder_id, reminder_title,"
            " status, attempt, line_id, to_number, message, scheduled_for, executed_at,"
            " lease_until, error_message, ended_at, created_at, due_at, occurrence_at,"
            " skip_reason, purpose)"
            f" VALUES {values}"
            " RETURNING id",
            params,
        )
        return sorted(row[0] for row in cursor.fetchall())

    def start_executions(
        self, starts: list[tuple[int, str | None]], now: datetime, lease_until: datetime
    ) -> None:
        """Mark queued executions in progress with a lease, on the line they are dialed from."""
        self._many(
            "UPDATE executions SET status = ?, executed_at = ?, lease_until = ?,"
            " due_at = NULL, line_id = COALESCE(?, line_id),"
            " from_number = (SELECT phone_number FROM outbound_lines"
            " WHERE outbound_lines.id = COALESCE(?, executions.line_id)) WHERE id = ?",
            [
                (
                    ExecutionStatus.IN_PROGRESS.value,
                    to_ms(now),
                    to_ms(lease_until),
                    line_id,
                    line_id,
                    i,
                )
                for i, line_id in starts
            ],
        )

    def extend_leases(self, ids: list[int], lease_until: datetime) -> None:
        """Push leases forward."""
        self._many(
            "UPDATE executions SET lease_until = ? WHERE id = ?",
            [(to_ms(lease_until), i) for i in ids],
        )

    def mark_dialing(self, dialing: list[tuple[int, int, ReminderStatus]], now: datetime) -> None:
        """Write the status of reminders being dialed and their new execution."""
        self._many(
            "UPDATE reminders SET status = ?, due_at = NULL, last_execution_id = ?,"
            " updated_at = ? WHERE id = ?",
            [
                (status.value, execution_id, to_ms(now), reminder_id)
                for reminder_id, execution_id, status in dialing
            ],
        )

    def set_reminder_steps(
        self, steps: list[tuple[int, NextStep, int | None]], now: datetime
    ) -> None:
        """Write the policy's next steps: (reminder id, step, last execution id or None)."""
        self._many(
            "UPDATE reminders SET status = ?, scheduled_at = ?, retry_count = ?,"
            " next_attempt_at = ?, due_at = ?, updated_at = ?,"
            " last_execution_id = COALESCE(?, last_execution_id) WHERE id = ?",
            [_step_params(reminder_id, step, now, last) for reminder_id, step, last in steps],
        )

    def record_call_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Store call ids where none is stored yet."""
        self._many(
            "UPDATE executions SET call_id = ? WHERE id = ? AND call_id IS NULL",
            [(call_id, execution_id) for execution_id, call_id in pairs],
        )

    def record_outcomes(self, outcomes: list[tuple[int, OutcomeRecord]]) -> None:
        """Write the final facts of attempts and release their leases."""
        self._many(
            "UPDATE executions SET status = ?, ended_at = ?, ended_reason = ?, duration_s = ?,"
            " cost = ?, error_message = ?, call_id = COALESCE(call_id, ?), confirmation = ?,"
            " confirmed_at = ?, lease_until = NULL, due_at = NULL WHERE id = ?",
            [_outcome_params(execution_id, o) for execution_id, o in outcomes],
        )

    def set_skip_reason(self, execution_id: int, reason: str) -> None:
        """Record why the gate refused an attempt (its outcome is written already); a skipped
        attempt was never placed, so it has no ``executed_at``."""
        self._sql(
            "UPDATE executions SET skip_reason = ?, executed_at = NULL WHERE id = ?",
            (reason, execution_id),
        )

    def snooze_occurrence(self, reminder_id: int, at: datetime) -> bool:
        """A readback's snooze: the scheduled reminder's next occurrence is first dialed at
        ``at`` (its attempt budget untouched); False when it is not ``scheduled``."""
        updated = self._sql(
            "UPDATE reminders SET next_attempt_at = ?, due_at = ? WHERE id = ?"
            " AND status = 'scheduled'",
            (to_ms(at), to_ms(at), reminder_id),
        ).rowcount
        return bool(updated)

    def readback_of(self, execution_id: int) -> list[int]:
        """The reminders a readback read, in order (stored with its inbound execution)."""
        row = self._sql("SELECT message FROM executions WHERE id = ?", (execution_id,)).fetchone()
        return readback_ids(row[0] if row else None)

    def set_actions(
        self,
        execution_id: int,
        actions: CallActions,
        confirmation: str | None,
        confirmed_at: datetime | None,
    ) -> None:
        """Record a call's in-call actions (and, once it ended, its confirmation)."""
        self._sql(
            "UPDATE executions SET actions = ?, confirmation = COALESCE(?, confirmation),"
            " confirmed_at = COALESCE(?, confirmed_at) WHERE id = ?",
            (
                actions.stored(),
                confirmation,
                to_ms(confirmed_at) if confirmed_at else None,
                execution_id,
            ),
        )

    def set_executed_at(self, execution_id: int, at: datetime) -> None:
        """Record when an attempt was placed (after its pre-dial hook let it through)."""
        self._sql("UPDATE executions SET executed_at = ? WHERE id = ?", (to_ms(at), execution_id))

    def predial_secrets(self, org_ids: set[str], now: datetime) -> dict[str, tuple[str, ...]]:
        """The secrets each organization's pre-dial hook is signed with: the current one,
        then a rotated-out one until it expires."""
        if not org_ids:
            return {}
        ids = sorted(org_ids)
        cursor = self._sql(
            "SELECT organization_id, predial_secret, predial_previous_secret,"
            " predial_previous_expires_at FROM calling_policies"
            f" WHERE organization_id IN ({','.join('?' * len(ids))})",
            ids,
        )
        found: dict[str, tuple[str, ...]] = {}
        for org, current, previous, until in cursor.fetchall():
            keep = previous is not None and until is not None and until > to_ms(now)
            found[org] = tuple(s for s in (current, previous if keep else None) if s)
        return found

    def attempt_objects(
        self, execution_id: int, reminder_id: int | None
    ) -> tuple[Execution, Reminder | None]:
        """The execution and its reminder, as the public API reads them."""
        from dialcues_core.adapters.peewee.webhooks import PeeweeOutboxStore

        objects = PeeweeOutboxStore(self.db)
        execution = objects.execution_objects([execution_id])[execution_id]
        reminders = objects.reminder_objects([reminder_id]) if reminder_id is not None else {}
        return execution, reminders.get(reminder_id or 0)

    def requeue(self, execution_id: int, due_at: datetime) -> None:
        """Put an execution back to queued until ``due_at``."""
        self._sql(
            "UPDATE executions SET status = ?, due_at = ?, lease_until = NULL WHERE id = ?",
            (ExecutionStatus.QUEUED.value, to_ms(due_at), execution_id),
        )

    # ------------------------------------------------------------------ lookups
    def lines_of(self, org_ids: set[str]) -> dict[str, list[OutboundLine]]:
        """Return each organization's lines, default first, temporary (smoke) lines last.

        A temporary line is loaded so the smoke reminder naming it dials on it; being last, it
        is the fallback of no other reminder while the organization has a lasting line.
        """
        found: dict[str, list[OutboundLine]] = {org: [] for org in org_ids}
        if not org_ids:
            return found
        marks = ",".join("?" * len(org_ids))
        cursor = self._sql(
            f"SELECT {_LINE_COLS} FROM outbound_lines WHERE organization_id IN ({marks})"
            " ORDER BY temporary, is_default DESC, created_at, id",
            sorted(org_ids),
        )
        for row in cursor.fetchall():
            found[row[1]].append(_line_of(row))
        return found

    def providers_of(self, org_ids: set[str]) -> dict[str, ProviderSettings | None]:
        """Return each organization's provider settings."""
        if not org_ids:
            return {}
        marks = ",".join("?" * len(org_ids))
        cursor = self._sql(
            f"SELECT {_PROVIDER_COLS} FROM organizations WHERE id IN ({marks})", sorted(org_ids)
        )
        return {row[0]: _provider_of(row) for row in cursor.fetchall()}

    def in_flight(self, org_id: str) -> int:
        """Count the organization's provider calls in the air."""
        if self.pg:
            self._sql("SELECT pg_advisory_xact_lock(hashtext(?))", (org_id,))
        row = self._sql(
            "SELECT COUNT(*) FROM executions e JOIN outbound_lines l ON l.id = e.line_id"
            " WHERE e.organization_id = ? AND e.status = 'in_progress' AND l.provider = ?",
            (org_id, Provider.VAPI.value),
        ).fetchone()
        return int(row[0])

    def next_due_at(self) -> datetime | None:
        """Return the earliest due time of anything waiting."""
        row = self._sql("SELECT MIN(due_at) FROM reminders WHERE status = 'scheduled'").fetchone()
        queued = self._sql("SELECT MIN(due_at) FROM executions WHERE status = 'queued'").fetchone()
        times = [t for t in (row[0], queued[0]) if t is not None]
        return from_ms(min(times)) if times else None


# ----------------------------------------------------------------------------- mapping
def _not_in(column: str, values: set[str] | None) -> tuple[str, list[str]]:
    if not values:
        return "", []
    return f" AND {column} NOT IN ({','.join('?' * len(values))})", sorted(values)


def _step_params(
    reminder_id: int, step: NextStep, now: datetime, last: int | None
) -> tuple[Any, ...]:
    due = step.due_at
    return (
        step.status.value,
        to_ms(step.scheduled_at),
        step.retry_count,
        to_ms(step.next_attempt_at) if step.next_attempt_at else None,
        to_ms(due) if due else None,
        to_ms(now),
        last,
        reminder_id,
    )


def _outcome_params(execution_id: int, o: OutcomeRecord) -> tuple[Any, ...]:
    return (
        o.status.value,
        to_ms(o.ended_at) if o.ended_at else None,
        o.ended_reason,
        o.duration_s,
        o.cost,
        o.error_message,
        o.call_id,
        o.confirmation,
        to_ms(o.confirmed_at) if o.confirmed_at else None,
        execution_id,
    )


def _execution_params(r: NewExecution) -> tuple[Any, ...]:
    return (
        r.user_id,
        r.organization_id,
        r.reminder_id,
        r.reminder_title,
        r.status.value,
        r.attempt,
        r.line_id,
        r.to,
        r.message,
        to_ms(r.scheduled_for),
        to_ms(r.executed_at) if r.executed_at else None,
        to_ms(r.lease_until) if r.lease_until else None,
        r.error_message,
        to_ms(r.ended_at) if r.ended_at else None,
        to_ms(r.executed_at or r.scheduled_for),
        to_ms(r.scheduled_for) if r.status is ExecutionStatus.QUEUED else None,
        to_ms(r.occurrence_at) if r.occurrence_at else None,
        r.skip_reason,
        r.purpose,
    )


def _line_of(row: tuple[Any, ...]) -> OutboundLine:
    return OutboundLine(
        id=row[0],
        organization_id=row[1],
        provider=Provider(row[2]),
        phone_number=row[3],
        label=row[4],
        is_default=bool(row[5]),
        created_at=from_ms(row[6]),
        provider_line_id=row[7],
        temporary=bool(row[8]),
    )


def _provider_of(row: tuple[Any, ...]) -> ProviderSettings | None:
    return provider_from(row[1:])


@functools.lru_cache(maxsize=4096)
def _zones(stored: str | None) -> NumberZones | None:
    return NumberZones.from_stored(stored)


def _attempted(row: tuple[Any, ...]) -> Attempted:
    rule = None
    if row[12]:
        rule = RecurrenceRule(
            kind=RecurrenceKind(row[12]),
            anchor=datetime.fromisoformat(row[11]),
            zone=row[10],
            interval_days=row[13],
            weekdays=tuple(int(d) for d in row[14].split(",")) if row[14] else (),
            cron=row[15],
            end_at=from_ms(row[16]) if row[16] is not None else None,
        )
    return Attempted(
        ReminderStatus(row[8]),
        from_ms(row[9]),
        rule,
        row[17],
        timezone=row[10],
        phone_number=row[5],
        number_zones=_zones(row[22]),
        calling_window=window_from_stored(row[19]),
        max_lateness_seconds=row[20],
        retry_policy=retry_from_stored(row[21]),
        purpose=row[18],
    )


def _due(row: tuple[Any, ...]) -> DueReminder:
    return DueReminder(
        id=row[0],
        user_id=row[1],
        organization_id=row[2],
        title=row[3],
        message=row[4],
        phone_number=row[5],
        line_id=row[6],
        due_at=from_ms(row[7]),
        attempted=_attempted(row),
    )


def _live(row: tuple[Any, ...]) -> LiveExecution:
    return LiveExecution(
        id=row[0],
        user_id=row[1],
        organization_id=row[2],
        reminder_id=row[3],
        title=row[4] or "Call",
        status=ExecutionStatus(row[5]),
        attempt=row[6],
        line_id=row[7],
        to=row[8],
        message=row[9] or "",
        scheduled_for=from_ms(row[10]),
        executed_at=from_ms(row[11]) if row[11] is not None else None,
        call_id=row[12],
        due_at=from_ms(row[13]) if row[13] is not None else None,
        occurrence_at=from_ms(row[14]) if row[14] is not None else None,
        purpose=row[15],
        timezone=row[16],
        calling_window=window_from_stored(row[17]),
        actions=CallActions.from_stored(row[18]),
        from_number=row[19],
        route_type=_route_type(row[20]),
    )


def _route_type(stored: str | None) -> str | None:
    """The type of an inbound execution's stored route (JSON), if any."""
    if not stored:
        return None
    found = json.loads(stored)
    kind = found.get("type") if isinstance(found, dict) else None
    return kind if isinstance(kind, str) else None


_COUNTED = tuple(
    s.value
    for s in (
        ExecutionStatus.IN_PROGRESS,
        ExecutionStatus.COMPLETED,
        ExecutionStatus.VOICEMAIL,
        ExecutionStatus.NO_ANSWER,
        ExecutionStatus.BUSY,
        ExecutionStatus.CANCELED,
        ExecutionStatus.FAILED,
    )
)
"""The statuses of attempts the frequency caps count (responsible-calling.md §9)."""


def number_lock_key(organization_id: str, number: str) -> int:
    """The advisory-lock key of one organization's number (a signed 64-bit hash)."""
    digest = hashlib.blake2b(f"{organization_id}:{number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
