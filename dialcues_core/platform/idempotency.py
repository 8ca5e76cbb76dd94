"""Idempotency keys: run a mutating use case at most once per (user, key), replay its reply.

The rule (platform contract, "Idempotency")::

    key absent            → run the effect, render, return (nothing stored)
    key invalid           → validation_error on ``Idempotency-Key`` (1–255 printable ASCII)
    claim (own commit)    → INSERT … ON CONFLICT DO NOTHING of (user, key, fingerprint,
                            lease = now + 30 s); its row count alone decides (an existing
                            key is read first, lock-free, only to skip the insert). If the
                            key exists:
        reply stored      → first demand the scopes the use case required (stored with
                            the reply): a credential lacking one is insufficient_scope,
                            as the use case itself would have answered
        other fingerprint → idempotency_mismatch
        reply stored      → replay it (nothing runs)
        lease live        → idempotency_in_progress
        lease expired     → take it over: UPDATE … WHERE lease_until < now (one winner)
    run (one transaction) → result = effect(); reply = render(result); store the reply and
                            the scopes the effect required (its ``Principal.require``
                            calls, seen by ``recording_scopes``) on the claim; commit. The
                            effect's own transaction nests as a savepoint, so the effect
                            and its stored reply commit together: a crash leaves both or
                            neither (then the lease runs out).
    any error             → roll back, release (delete) the claim, re-raise. Every error
                            releases: refusals (scope, validation, state) and internal errors
                            alike, because the rollback guarantees nothing changed.

Keys are scoped to the principal's user (shared by all its credentials, hence the scope
check on a replay) and kept 24 hours (:meth:`Idempotency.sweep`; a key older than that is
also expired when it is presented again).

Change listeners (the dispatcher's wake-up) fire inside the effect, before the outer
transaction commits; a wake-up then finds nothing new, so they are fired again after commit.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final, TypeVar

from dialcues_core.accounts.model import Principal
from dialcues_core.errors import IdempotencyInProgress, IdempotencyMismatch, ValidationFailed
from dialcues_core.kernel.ports import ChangeListener, Clock, Transactions
from dialcues_core.kernel.scopes import recording_scopes
from dialcues_core.kernel.staged import Staged
from dialcues_core.platform.ports import IdempotencyRecord, IdempotencyStore, StoredReply

T = TypeVar("T")
logger = logging.getLogger("dialcues.idempotency")

KEY_FIELD: Final = "Idempotency-Key"
"""The field a bad key is reported on (the gRPC edge names it ``request_id``)."""
MAX_KEY_LENGTH: Final = 255
LEASE_SECONDS: Final = 30.0
KEEP_HOURS: Final = 24.0
_TRIES: Final = 4


@dataclass(frozen=True, slots=True)
class IdempotentOutcome:
    """What to answer: the reply, and whether it is a stored one replayed."""

    reply: StoredReply
    replayed: bool


class _Claim(Enum):
    """How a claim attempt ended."""

    TAKEN = "taken"
    REPLAY = "replay"
    RETRY = "retry"


def validate_key(key: str, field: str = KEY_FIELD) -> str:
    """Return ``key`` if it is 1–255 printable ASCII characters, else raise ``validation_error``.

    The error names ``field`` (an edge may pre-check under its own field name).
    """
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed.one(field, f"must be 1 to {MAX_KEY_LENGTH} characters long")
    if not all(" " <= ch <= "~" for ch in key):
        raise ValidationFailed.one(field, "must be printable ASCII characters")
    return key


class Idempotency:
    """Run effects at most once per idempotency key (see the module docstring)."""

    def __init__(
        self,
        store: IdempotencyStore,
        transactions: Transactions,
        clock: Clock,
        listeners: Sequence[ChangeListener] = (),
        *,
        lease_seconds: float = LEASE_SECONDS,
        keep_hours: float = KEEP_HOURS,
    ):
        self.store = store
        self.transactions = transactions
        self.clock = clock
        self.listeners = listeners
        self.lease = timedelta(seconds=lease_seconds)
        self.keep = timedelta(hours=keep_hours)

    def run(
        self,
        principal: Principal,
        key: str | None,
        fingerprint: bytes,
        effect: Callable[[], T],
        render: Callable[[T], StoredReply],
    ) -> IdempotentOutcome:
        """Run ``effect`` once for the user's ``key``; replay its stored reply afterwards.

        ``fingerprint`` identifies the request (method, path, canonical body; it is stored as
        its SHA-256); the same key with another fingerprint is ``idempotency_mismatch``.
        Without a key the effect simply runs. Call it outside any transaction: the claim must
        commit on its own.
        """
        if key is None:
            return IdempotentOutcome(render(effect()), replayed=False)
        validate_key(key)
        digest = hashlib.sha256(fingerprint).hexdigest()
        lease_until, stored = self._claim(principal, key, digest)
        if stored is not None:
            return IdempotentOutcome(stored, replayed=True)
        reply = self._execute(principal.user_id, key, lease_until, effect, render)
        self._wake()
        return IdempotentOutcome(reply, replayed=False)

    def run_staged(
        self,
        principal: Principal,
        key: str | None,
        fingerprint: bytes,
        staged: Staged[T],
        render: Callable[[T], StoredReply],
    ) -> IdempotentOutcome:
        """Like :meth:`run`, for a use case whose first step commits on its own before slow
        I/O (a hold waits on the carrier): ``staged.prepare`` runs outside any transaction
        once the key is claimed (an error releases the key), then ``staged.finish`` and the
        stored reply commit together."""
        if key is None:
            return IdempotentOutcome(render(staged.run()), replayed=False)
        validate_key(key)
        digest = hashlib.sha256(fingerprint).hexdigest()
        lease_until, stored = self._claim(principal, key, digest)
        if stored is not None:
            return IdempotentOutcome(stored, replayed=True)
        try:
            with recording_scopes() as early:
                prepared = staged.prepare()
        except BaseException:
            self._release(principal.user_id, key, lease_until)
            raise
        effect = functools.partial(staged.finish, prepared)
        reply = self._execute(principal.user_id, key, lease_until, effect, render, early)
        self._wake()
        return IdempotentOutcome(reply, replayed=False)

    def sweep(self) -> int:
        """Delete the keys older than the keeping time (24 h); return how many."""
        with self.transactions.atomic():
            return self.store.sweep(self.clock.now() - self.keep)

    # ------------------------------------------------------------------ claim
    def _claim(
        self, principal: Principal, key: str, fingerprint: str
    ) -> tuple[datetime, StoredReply | None]:
        """Return (our lease end, None) once claimed, or (_, the reply) to replay."""
        for _ in range(_TRIES):
            now = self.clock.now()
            mine = IdempotencyRecord(principal.user_id, key, fingerprint, now + self.lease, now)
            outcome, stored = self._attempt(principal, mine, now)
            if outcome is _Claim.TAKEN:
                return mine.lease_until, None
            if outcome is _Claim.REPLAY:
                return mine.lease_until, stored
        raise IdempotencyInProgress()  # the key kept changing under us: let the client retry

    def _attempt(
        self, principal: Principal, mine: IdempotencyRecord, now: datetime
    ) -> tuple[_Claim, StoredReply | None]:
        """Make one claim attempt; each write commits on its own.

        The existing key is read first without a write lock (a replay or a refusal then never
        waits for SQLite's single writer); the insert that follows is still the atomic
        ``ON CONFLICT DO NOTHING``, whose row count alone decides who claimed the key.
        """
        found = self.store.get(mine.user_id, mine.key)
        if found is None:
            with self.transactions.atomic():
                inserted = self.store.insert(mine)
            return (_Claim.TAKEN if inserted else _Claim.RETRY), None
        if found.created_at < now - self.keep:  # past its 24 hours: as good as swept
            with self.transactions.atomic():
                self.store.expire(mine.user_id, mine.key, now - self.keep)
            return _Claim.RETRY, None
        return self._decide(principal, found, mine, now)

    def _decide(
        self, principal: Principal, found: IdempotencyRecord, mine: IdempotencyRecord, now: datetime
    ) -> tuple[_Claim, StoredReply | None]:
        """Decide what an existing key means for this request.

        A stored reply is only for a credential carrying every scope its use case required
        (checked before the fingerprint: a refusal is the same whatever the request).
        """
        if found.reply is not None:
            for scope in found.scopes:
                principal.require(scope)
        if found.fingerprint != mine.fingerprint:
            raise IdempotencyMismatch()
        if found.reply is not None:
            return _Claim.REPLAY, found.reply
        if found.lease_until >= now:
            raise IdempotencyInProgress()
        with self.transactions.atomic():
            taken = self.store.take_over(mine.user_id, mine.key, now, mine.lease_until)
        return (_Claim.TAKEN if taken else _Claim.RETRY), None

    # ------------------------------------------------------------------ run
    def _execute(
        self,
        user_id: str,
        key: str,
        lease_until: datetime,
        effect: Callable[[], T],
        render: Callable[[T], StoredReply],
        early: Sequence[str] = (),
    ) -> StoredReply:
        """Run the effect and store its reply in one transaction; release the key on error.

        ``early`` are scopes a staged use case's first step required (stored with the rest).
        """
        try:
            with self.transactions.atomic():
                with recording_scopes() as required:
                    reply = render(effect())
                scopes = tuple(dict.fromkeys([*early, *required]))
                if not self.store.complete(user_id, key, lease_until, reply, scopes):
                    # Our lease ran out and another request took the key over: undo ours.
                    raise IdempotencyInProgress()
            return reply
        except BaseException:
            self._release(user_id, key, lease_until)
            raise

    def _release(self, user_id: str, key: str, lease_until: datetime) -> None:
        """Free the key after a failed run (if this fails too, the lease runs out instead)."""
        try:
            with self.transactions.atomic():
                self.store.release(user_id, key, lease_until)
        except Exception:  # the original error is the one to report
            logger.warning("Releasing idempotency key failed; its lease will expire", exc_info=True)

    def _wake(self) -> None:
        """Fire the change listeners again, now that the effect is committed."""
        for listener in self.listeners:
            listener(None)


__all__ = [
    "Idempotency",
    "IdempotentOutcome",
    "StoredReply",
    "validate_key",
]
