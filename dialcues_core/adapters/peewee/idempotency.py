"""The peewee implementation of :class:`~dialcues_core.ports.IdempotencyStore`.

One statement per operation, each atomic on SQLite and PostgreSQL alike: the claim is an
``INSERT … ON CONFLICT DO NOTHING`` (SQLite ``INSERT OR IGNORE``), every change of an
existing key a conditional ``UPDATE``/``DELETE`` whose row count says who won. The lease end
is the holder's token: completing or releasing a claim matches it exactly.
"""

from __future__ import annotations

from datetime import datetime

from dialcues_core.adapters.peewee.tables import IdempotencyRow
from dialcues_core.ports import IdempotencyRecord, StoredReply


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


def _record(row: IdempotencyRow) -> IdempotencyRecord:
    reply = None
    if row.status is not None:
        reply = StoredReply(row.status, bytes(row.body or b""), row.content_type or "")
    return IdempotencyRecord(
        row.user_id, row.key, row.fingerprint, row.lease_until, row.created_at, reply
    )


class PeeweeIdempotencyStore:
    """Idempotency keys in the ``idempotency_keys`` table."""

    def insert(self, record: IdempotencyRecord) -> bool:
        """Insert the claim unless (user, key) exists; True if this call inserted it."""
        query = IdempotencyRow.insert(
            user_id=record.user_id,
            key=record.key,
            fingerprint=record.fingerprint,
            lease_until=record.lease_until,
            created_at=record.created_at,
        )
        return bool(query.on_conflict_ignore().as_rowcount().execute())

    def get(self, user_id: str, key: str) -> IdempotencyRecord | None:
        """Return the stored key or None."""
        row = IdempotencyRow.get_or_none(_this(user_id, key))
        return _record(row) if row is not None else None

    def take_over(self, user_id: str, key: str, now: datetime, lease_until: datetime) -> bool:
        """Renew an unfinished claim whose lease ended before ``now``; True for the winner."""
        query = IdempotencyRow.update(lease_until=lease_until).where(
            _this(user_id, key)
            & IdempotencyRow.status.is_null()
            & (IdempotencyRow.lease_until < now)
        )
        return bool(query.execute())

    def complete(self, user_id: str, key: str, lease_until: datetime, reply: StoredReply) -> bool:
        """Store the reply on the caller's unfinished claim; False when the claim was lost."""
        query = IdempotencyRow.update(
            status=reply.status, body=reply.body, content_type=reply.content_type
        ).where(_held(user_id, key, lease_until))
        return bool(query.execute())

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
