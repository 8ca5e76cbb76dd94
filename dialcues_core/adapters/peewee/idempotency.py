"""The peewee implementation of :class:`~dialcues_core.platform.ports.IdempotencyStore`.

One statement per operation, each atomic on SQLite and PostgreSQL alike: the claim is an
``INSERT … ON CONFLICT DO NOTHING``, every change of an existing key a conditional
``UPDATE``/``DELETE`` whose row count says who won. The lease end is the holder's token:
completing or releasing a claim matches it exactly.

The three statements every keyed request runs (read, claim, complete) are plain SQL written
once here, with the backend's parameter marker: building them through peewee cost ≈ 0.3 ms
each, which made a keyed ``POST`` cost twice an unkeyed one (measured by ``bench/api.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import peewee as pw

from dialcues_core.adapters.peewee.tables import (
    IdempotencyRow,
    database_proxy,
    from_ms,
    to_ms,
)
from dialcues_core.platform.ports import IdempotencyRecord, StoredReply

_TABLE: Final = "idempotency_keys"
_GET: Final = (
    "SELECT fingerprint, lease_until, status, body, content_type, scopes, created_at "
    f'FROM {_TABLE} WHERE user_id = ? AND "key" = ?'
)
_INSERT: Final = (
    f'INSERT INTO {_TABLE} (user_id, "key", fingerprint, lease_until, created_at) '
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_COMPLETE: Final = (
    f"UPDATE {_TABLE} SET status = ?, body = ?, content_type = ?, scopes = ? "
    'WHERE user_id = ? AND "key" = ? AND lease_until = ? AND status IS NULL'
)


def _run(sql: str, params: tuple[Any, ...]) -> Any:
    """Execute ``sql`` (written with ``?`` markers) on the bound database; return the cursor."""
    db: pw.Database = database_proxy.obj
    if db.param != "?":
        sql = sql.replace("?", db.param)
    return db.execute_sql(sql, params)


def _this(user_id: str, key: str) -> object:
    """Return the condition selecting one user's key."""
    return (IdempotencyRow.user_id == user_id) & (IdempotencyRow.key == key)


def _held(user_id: str, key: str, lease_until: datetime) -> object:
    """Return the condition selecting a key still held, unfinished, under this lease."""
    return (
        _this(user_id, key)
        & (IdempotencyRow.lease_until == lease_until)
        & IdempotencyRow.status.is_null()
    )


class PeeweeIdempotencyStore:
    """Idempotency keys in the ``idempotency_keys`` table."""

    def insert(self, record: IdempotencyRecord) -> bool:
        """Insert the claim unless (user, key) exists; True if this call inserted it."""
        params = (
            record.user_id,
            record.key,
            record.fingerprint,
            to_ms(record.lease_until),
            to_ms(record.created_at),
        )
        return bool(_run(_INSERT, params).rowcount)

    def get(self, user_id: str, key: str) -> IdempotencyRecord | None:
        """Return the stored key or None."""
        row = _run(_GET, (user_id, key)).fetchone()
        if row is None:
            return None
        fingerprint, lease_until, status, body, content_type, scopes, created_at = row
        reply = None
        if status is not None:
            reply = StoredReply(status, bytes(body or b""), content_type or "")
        return IdempotencyRecord(
            user_id,
            key,
            fingerprint,
            from_ms(lease_until),
            from_ms(created_at),
            reply,
            tuple(s for s in (scopes or "").split(",") if s),
        )

    def take_over(self, user_id: str, key: str, now: datetime, lease_until: datetime) -> bool:
        """Renew an unfinished claim whose lease ended before ``now``; True for the winner."""
        query = IdempotencyRow.update(lease_until=lease_until).where(
            _this(user_id, key)
            & IdempotencyRow.status.is_null()
            & (IdempotencyRow.lease_until < now)
        )
        return bool(query.execute())

    def complete(
        self,
        user_id: str,
        key: str,
        lease_until: datetime,
        reply: StoredReply,
        scopes: tuple[str, ...],
    ) -> bool:
        """Store the reply and its required scopes on the caller's unfinished claim.

        False when the claim was lost.
        """
        params = (
            reply.status,
            reply.body,
            reply.content_type,
            ",".join(scopes),
            user_id,
            key,
            to_ms(lease_until),
        )
        return bool(_run(_COMPLETE, params).rowcount)

    def release(self, user_id: str, key: str, lease_until: datetime) -> None:
        """Delete the caller's unfinished claim."""
        IdempotencyRow.delete().where(_held(user_id, key, lease_until)).execute()

    def expire(self, user_id: str, key: str, cutoff: datetime) -> bool:
        """Delete the key if it was created before ``cutoff``; True when it was."""
        query = IdempotencyRow.delete().where(
            _this(user_id, key) & (IdempotencyRow.created_at < cutoff)
        )
        return bool(query.execute())

    def sweep(self, cutoff: datetime) -> int:
        """Delete every key created before ``cutoff``; return how many."""
        return int(IdempotencyRow.delete().where(IdempotencyRow.created_at < cutoff).execute())
