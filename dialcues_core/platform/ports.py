"""The ports of the platform's request services: idempotency, smoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.accounts.model import OutboundLine


class SmokeStore(Protocol):
    """The agent smoke flow's temporary rows; the caller holds the transaction."""

    def add_line(self, line: OutboundLine) -> None:
        """Store the flow's temporary line, which no other call or reminder can pick or see."""
        ...

    def discard(self, user_id: str, reminder_id: int | None, line_id: str | None) -> None:
        """Delete the user's reminder with all its executions, and the line, in any state."""
        ...


# ----------------------------------------------------------------------------- idempotency
@dataclass(frozen=True, slots=True)
class StoredReply:
    """An edge's rendered reply, stored under an idempotency key and replayed as is.

    REST stores the HTTP status, body bytes and content type; gRPC stores status 0, the
    serialized response message and its full type name.
    """

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """One claimed idempotency key of a user; ``reply`` is None while its request runs.

    ``scopes`` are those the use case required (stored with the reply): a replay demands them
    of the credential presenting the key, as the use case itself would have.
    """

    user_id: str
    key: str
    fingerprint: str
    lease_until: datetime
    created_at: datetime
    reply: StoredReply | None = None
    scopes: tuple[str, ...] = ()


class IdempotencyStore(Protocol):
    """Idempotency keys; every write is atomic on its own (no check-then-insert).

    The lease end of a claim doubles as its token: only the claim's holder completes or
    releases it (``WHERE lease_until = …``).
    """

    def insert(self, record: IdempotencyRecord) -> bool:
        """Insert the claim unless (user, key) exists (on conflict do nothing); True if new."""
        ...

    def get(self, user_id: str, key: str) -> IdempotencyRecord | None:
        """Return the stored key or None."""
        ...

    def take_over(self, user_id: str, key: str, now: datetime, lease_until: datetime) -> bool:
        """Renew an unfinished claim whose lease ended before ``now``; True for the one winner."""
        ...

    def complete(
        self,
        user_id: str,
        key: str,
        lease_until: datetime,
        reply: StoredReply,
        scopes: tuple[str, ...],
    ) -> bool:
        """Store the reply and the scopes it required on the caller's unfinished claim.

        False when the claim was lost.
        """
        ...

    def release(self, user_id: str, key: str, lease_until: datetime) -> None:
        """Delete the caller's unfinished claim (nothing happened; the key is free again)."""
        ...

    def expire(self, user_id: str, key: str, cutoff: datetime) -> bool:
        """Delete the key if it was created before ``cutoff``; True when it was."""
        ...

    def sweep(self, cutoff: datetime) -> int:
        """Delete every key created before ``cutoff``; return how many."""
        ...
