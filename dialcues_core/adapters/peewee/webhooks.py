"""Webhook subscriptions, the outbox and the delivery log on SQLite and PostgreSQL.

The caller holds the transaction. The claim locks its rows with ``FOR UPDATE OF o SKIP
LOCKED`` on PostgreSQL (several deliverers take disjoint messages); on SQLite the caller's
``BEGIN IMMEDIATE`` makes select-then-update atomic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import peewee as pw

from dialcues_core.adapters.peewee.database import is_postgres
from dialcues_core.adapters.peewee.executions import execution_from_row
from dialcues_core.adapters.peewee.healing import execute_many
from dialcues_core.adapters.peewee.reminders import reminder_from_row
from dialcues_core.adapters.peewee.tables import (
    ExecutionRow,
    LineRow,
    ReminderRow,
    WebhookDeliveryRow,
    WebhookOutboxRow,
    WebhookSubscriptionRow,
    from_ms,
    to_ms,
)
from dialcues_core.calls.model import Execution
from dialcues_core.kernel.paging import Page
from dialcues_core.reminders.model import Reminder
from dialcues_core.webhooks.model import (
    AttemptResult,
    DisabledReason,
    DueMessage,
    Interest,
    NewMessage,
    WebhookDelivery,
    WebhookSubscription,
)

Sub = WebhookSubscriptionRow
Out = WebhookOutboxRow
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: run the transaction again."""
_SUB_COLS = (
    "s.id, s.user_id, s.organization_id, s.url, s.events, s.enabled, s.disabled_reason,"
    " s.secret, s.previous_secret, s.previous_expires_at, s.failing_since, s.last_success_at,"
    " s.created_at, s.updated_at"
)


def _pg(db: Any) -> bool:
    return is_postgres(getattr(db, "obj", db))  # the proxy, or the database itself


class PeeweeWebhookRepository:
    """Subscriptions and their delivery log."""

    def add(self, subscription: WebhookSubscription) -> None:
        """Store a new subscription."""
        Sub.insert(id=subscription.id, **_values(subscription)).execute()

    def get(self, user_id: str, subscription_id: str) -> WebhookSubscription | None:
        """Return the user's subscription, locked on PostgreSQL, or None."""
        query = Sub.select().where((Sub.id == subscription_id) & (Sub.user_id == user_id))
        if _pg(Sub._meta.database):
            query = query.for_update()
        row = query.first()
        return _subscription_of_row(row) if row else None

    def save(self, subscription: WebhookSubscription) -> None:
        """Write every field of an existing subscription."""
        Sub.update(**_values(subscription)).where(Sub.id == subscription.id).execute()

    def delete(self, subscription_id: str) -> None:
        """Delete a subscription, its messages and its delivery log."""
        Out.delete().where(Out.subscription_id == subscription_id).execute()
        WebhookDeliveryRow.delete().where(
            WebhookDeliveryRow.subscription_id == subscription_id
        ).execute()
        Sub.delete().where(Sub.id == subscription_id).execute()

    def list(self, user_id: str, page: int, page_size: int) -> Page[WebhookSubscription]:
        """Return one page of the user's subscriptions, oldest first."""
        where = Sub.user_id == user_id
        total = Sub.select().where(where).count()
        rows = Sub.select().where(where).order_by(Sub.created_at, Sub.id).paginate(page, page_size)
        return Page([_subscription_of_row(r) for r in rows], total, page, page_size)

    def deliveries(self, subscription_id: str, page: int, page_size: int) -> Page[WebhookDelivery]:
        """Return one page of a subscription's attempts, newest first."""
        d = WebhookDeliveryRow
        where = d.subscription_id == subscription_id
        total = d.select().where(where).count()
        rows = d.select().where(where).order_by(d.id.desc()).paginate(page, page_size)
        return Page([_delivery_of_row(r) for r in rows], total, page, page_size)


class PeeweeOutboxStore:
    """The outbox: messages written by the dispatcher, claimed and settled by deliverers."""

    def __init__(self, db: pw.Database):
        self.db = db
        self.pg = _pg(db)
        self.p = "%s" if self.pg else "?"

    def _sql(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.db.execute_sql(sql.replace("?", self.p), list(params))

    # ------------------------------------------------------------------ writing side
    def interests(self, user_ids: set[str]) -> list[Interest]:
        """Return the enabled subscriptions of these users."""
        if not user_ids:
            return []
        marks = ",".join("?" * len(user_ids))
        cursor = self._sql(
            f"SELECT id, user_id, events FROM webhook_subscriptions WHERE user_id IN ({marks})"
            " AND enabled = ?",
            [*sorted(user_ids), True],
        )
        return [Interest(r[0], r[1], frozenset(r[2].split(","))) for r in cursor.fetchall()]

    def organization_interests(self, organization_ids: set[str]) -> dict[str, list[Interest]]:
        """Return the enabled subscriptions of these organizations, by organization."""
        if not organization_ids:
            return {}
        marks = ",".join("?" * len(organization_ids))
        cursor = self._sql(
            "SELECT id, user_id, events, organization_id FROM webhook_subscriptions"
            f" WHERE organization_id IN ({marks}) AND enabled = ?",
            [*sorted(organization_ids), True],
        )
        found: dict[str, list[Interest]] = {}
        for r in cursor.fetchall():
            found.setdefault(r[3], []).append(Interest(r[0], r[1], frozenset(r[2].split(","))))
        return found

    def execution_objects(self, ids: Sequence[int]) -> dict[int, Execution]:
        """Return executions by id."""
        if not ids:
            return {}
        rows = ExecutionRow.select().where(ExecutionRow.id.in_(list(ids)))
        return {row.id: execution_from_row(row) for row in rows}

    def reminder_objects(self, ids: Sequence[int]) -> dict[int, Reminder]:
        """Return reminders by id, with their line labels."""
        if not ids:
            return {}
        rows = (
            ReminderRow.select(ReminderRow, LineRow.label.alias("line_label"))
            .join(LineRow, pw.JOIN.LEFT_OUTER, on=(ReminderRow.line_id == LineRow.id))
            .where(ReminderRow.id.in_(list(ids)))
            .objects()
        )
        return {row.id: reminder_from_row(row) for row in rows}

    def enqueue(self, messages: list[NewMessage]) -> None:
        """Insert messages ``pending``, due at once."""
        if not messages:
            return
        # executemany: peewee's insert_many costs more than SQLite
        execute_many(
            self.db,
            "INSERT INTO webhook_outbox (message_id, subscription_id, event_type, body, status,"
            " attempts, next_attempt_at, created_at) VALUES (?,?,?,?,'pending',0,?,?)".replace(
                "?", self.p
            ),
            [
                (m.message_id, m.subscription_id, m.event_type, m.body, *[to_ms(m.due_at)] * 2)
                for m in messages
            ],
        )

    # ------------------------------------------------------------------ delivering side
    def next_due(self, skip: Collection[str] = ()) -> datetime | None:
        """Return when the earliest message :meth:`claim` would consider is due.

        The same filter as the claim (pending, subscription enabled, not in ``skip``): a
        disabled subscription's messages must not make the deliverer think work is due.
        """
        not_in, params = _not_in(skip)
        row = self._sql(
            "SELECT o.next_attempt_at FROM webhook_outbox o"
            " JOIN webhook_subscriptions s ON s.id = o.subscription_id"
            f" WHERE o.status = 'pending' AND s.enabled = ?{not_in}"
            " ORDER BY o.next_attempt_at LIMIT 1",
            [True, *params],
        ).fetchone()
        return from_ms(row[0]) if row and row[0] is not None else None

    def claim(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        in_flight: Mapping[str, int],
        per_subscription: int,
    ) -> list[DueMessage]:
        """Lease due messages of enabled subscriptions; count the attempt begun.

        Subscriptions with ``per_subscription`` attempts in flight are left out in SQL; the
        others get what room they have left (the rows passed over stay unleased).
        """
        lock = " FOR UPDATE OF o SKIP LOCKED" if self.pg else ""
        full = [sid for sid, n in in_flight.items() if n >= per_subscription]
        not_in, params = _not_in(full)
        rows = self._sql(
            f"SELECT o.id, o.message_id, o.event_type, o.body, o.attempts, {_SUB_COLS}"
            " FROM webhook_outbox o JOIN webhook_subscriptions s ON s.id = o.subscription_id"
            f" WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND s.enabled = ?{not_in}"
            f" ORDER BY o.next_attempt_at, o.id LIMIT ?{lock}",
            [to_ms(now), True, *params, limit],
        ).fetchall()
        rows = _with_room(rows, in_flight, per_subscription)
        if rows:
            execute_many(
                self.db,
                "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                " lease_until = ? WHERE id = ?".replace("?", self.p),
                [(to_ms(lease_until), to_ms(lease_until), r[0]) for r in rows],
            )
        return [DueMessage(r[0], r[1], r[2], r[3], r[4] + 1, _subscription_of(r[5:])) for r in rows]

    def log(self, result: AttemptResult) -> None:
        """Append one attempt to the delivery log."""
        m = result.message
        WebhookDeliveryRow.insert(
            subscription_id=m.subscription.id,
            message_id=m.message_id,
            event_type=m.event_type,
            attempt=m.attempt,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            error=result.error,
            attempted_at=result.at,
        ).execute()

    def settle(self, message: DueMessage, status: str, next_attempt_at: datetime | None) -> bool:
        """Record the message's state after its attempt, unless another attempt took it.

        The claim's attempt number and the lease are the token: a message claimed again
        counts another attempt, and a settled one has no lease.
        """
        count = (
            Out.update(status=status, next_attempt_at=next_attempt_at, lease_until=None)
            .where(
                (Out.id == message.outbox_id)
                & (Out.attempts == message.attempt)
                & (Out.status == "pending")
                & Out.lease_until.is_null(False)
            )
            .execute()
        )
        return bool(count)

    def succeeded(self, subscription_id: str, at: datetime) -> None:
        """Clear the failing streak."""
        Sub.update(failing_since=None, last_success_at=at).where(
            Sub.id == subscription_id
        ).execute()

    def failed(self, subscription_id: str, at: datetime) -> datetime:
        """Start a failing streak unless one runs; return when it began."""
        Sub.update(failing_since=at).where(
            (Sub.id == subscription_id) & Sub.failing_since.is_null()
        ).execute()
        since = Sub.select(Sub.failing_since).where(Sub.id == subscription_id).scalar()
        return from_ms(since) if isinstance(since, int) else (since or at)

    def disable(self, subscription_id: str, reason: DisabledReason, at: datetime) -> None:
        """Stop the subscription."""
        Sub.update(enabled=False, disabled_reason=reason.value, updated_at=at).where(
            Sub.id == subscription_id
        ).execute()

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether ``exc`` is a deadlock, a serialization failure or a busy SQLite."""
        for cause in _causes(exc):
            if getattr(cause, "sqlstate", None) in TRANSIENT_SQLSTATES:
                return True
            if isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause):
                return True
        return False


def _not_in(ids: Collection[str]) -> tuple[str, list[str]]:
    """Return an ``AND o.subscription_id NOT IN (…)`` clause and its parameters."""
    if not ids:
        return "", []
    return f" AND o.subscription_id NOT IN ({','.join('?' * len(ids))})", sorted(ids)


def _with_room(rows: list[Any], in_flight: Mapping[str, int], per_subscription: int) -> list[Any]:
    """Keep the rows (in order) each subscription has room for (its id is column 5)."""
    taken = dict(in_flight)
    kept = []
    for row in rows:
        if taken.get(row[5], 0) < per_subscription:
            taken[row[5]] = taken.get(row[5], 0) + 1
            kept.append(row)
    return kept


def _causes(exc: BaseException) -> list[BaseException]:
    """Return ``exc`` and what it wraps (peewee passes the driver's error as its first arg)."""
    found: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if isinstance(item, BaseException) and all(item is not f for f in found):
            found.append(item)
            todo += [item.__cause__, item.__context__, *item.args[:1]]
    return found


# ----------------------------------------------------------------------------- mapping
def _values(s: WebhookSubscription) -> dict[str, Any]:
    return {
        "user_id": s.user_id,
        "organization_id": s.organization_id,
        "url": s.url,
        "events": ",".join(s.events),
        "enabled": s.enabled,
        "disabled_reason": s.disabled_reason.value if s.disabled_reason else None,
        "secret": s.secret,
        "previous_secret": s.previous_secret,
        "previous_expires_at": s.previous_expires_at,
        "failing_since": s.failing_since,
        "last_success_at": s.last_success_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _subscription_of_row(row: Any) -> WebhookSubscription:
    return _subscription_of(
        (
            row.id, row.user_id, row.organization_id, row.url, row.events, row.enabled,
            row.disabled_reason, row.secret, row.previous_secret,
            _ms(row.previous_expires_at), _ms(row.failing_since), _ms(row.last_success_at),
            _ms(row.created_at), _ms(row.updated_at),
        )
    )  # fmt: skip


def _ms(moment: datetime | None) -> int | None:
    return to_ms(moment) if moment is not None else None


def _opt(ms: int | None) -> datetime | None:
    return from_ms(ms) if ms is not None else None


def _subscription_of(r: Sequence[Any]) -> WebhookSubscription:
    """Map raw columns (in ``_SUB_COLS`` order, instants as epoch ms) to a subscription."""
    return WebhookSubscription(
        id=r[0],
        user_id=r[1],
        organization_id=r[2],
        url=r[3],
        events=tuple(e for e in r[4].split(",") if e),
        enabled=bool(r[5]),
        disabled_reason=DisabledReason(r[6]) if r[6] else None,
        secret=r[7],
        previous_secret=r[8],
        previous_expires_at=_opt(r[9]),
        failing_since=_opt(r[10]),
        last_success_at=_opt(r[11]),
        created_at=from_ms(r[12]),
        updated_at=from_ms(r[13]),
    )


def _delivery_of_row(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        subscription_id=row.subscription_id,
        message_id=row.message_id,
        event_type=row.event_type,
        attempt=row.attempt,
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        error=row.error,
        attempted_at=row.attempted_at,
    )
