"""The webhook delivery policy: sign, claim, and decide what each attempt's result means.

* **Sign** (Standard Webhooks): ``webhook-signature`` is ``v1,`` + base64 of
  HMAC-SHA256(key, ``"{id}.{timestamp}.{body}"``), the key being the base64 after
  ``whsec_``. Each attempt is signed afresh with a new ``webhook-timestamp`` and the same
  ``webhook-id``; during a rotation's overlap the header carries both signatures,
  space-separated (receivers accept either).
* **Claim** due messages with a lease (one transaction; skip-locked on PostgreSQL, the write
  lock on SQLite), so several processes never make the same attempt twice. A process that
  dies mid-attempt leaves the lease to run out: the message is tried again (at least once).
* **Decide**: 2xx → delivered; 410 → the subscription is disabled at once; anything else
  (or a timeout, or a refused address) → the next attempt after
  ``DIALCUES_WEBHOOK_RETRY_SCHEDULE[n]`` seconds ± 10 % jitter, or given up (logged) when the
  schedule has run out. A subscription with no success for :data:`FAILING_LIMIT` is
  disabled. Every attempt goes to the delivery log.
* **Record** only what this process still holds: the claim's attempt number is the lease
  token, and a result whose message was claimed again (its lease ran out) changes nothing —
  no log row, no streak, no disabling. Results are recorded in batches, one transaction each:
  the messages' rows first, then each subscription once, in id order (two processes recording
  at once lock rows in the same order, so they cannot deadlock each other); a transaction
  that still hits a deadlock or serialization failure is retried, and a batch that cannot be
  recorded is recorded message by message, so one bad result loses only itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialcues_core.errors import StorageUnavailable
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.webhooks.model import AttemptResult, DisabledReason, DueMessage, OutboxStore

log = logging.getLogger("dialcues.webhooks")

LEASE = timedelta(seconds=60)
"""How long a claimed attempt belongs to its process: the 10 s timeout plus a wide margin
for recording its result (a result recorded later is dropped if another process took over)."""
PER_SUBSCRIPTION = 4
"""Attempts one process keeps in flight to one subscription at most."""
FAILING_LIMIT = timedelta(days=3)
RECORD_TRIES = 5
"""Transactions a batch of results gets when it meets deadlocks or serialization failures."""
JITTER = 0.1
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """Return one ``v1,<base64 signature>`` of a message (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(message: DueMessage, now: datetime) -> dict[str, str]:
    """Return the headers of one attempt, signed with every current secret."""
    secrets_now = message.subscription.signing_secrets(now)
    return signed_headers(message.message_id, message.body, secrets_now, now, "Dialcues-Webhooks/1")


def signed_headers(
    message_id: str, body: str, secrets_now: Iterable[str], now: datetime, agent: str
) -> dict[str, str]:
    """Standard Webhooks headers of one POST, signed with each secret (webhook deliveries,
    the pre-dial hook)."""
    stamp = int(now.timestamp())
    signature = " ".join(sign(s, message_id, stamp, body) for s in secrets_now)
    return {
        "content-type": "application/json",
        "user-agent": agent,
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
    }


def retry_delay(
    attempt: int, schedule: tuple[int, ...], rand: Callable[[], float] = random.random
) -> timedelta | None:
    """Return the wait before the attempt after ``attempt`` (None: the schedule ran out)."""
    if attempt > len(schedule):
        return None
    spread = 1 + JITTER * (2 * rand() - 1)
    return timedelta(seconds=schedule[attempt - 1] * spread)


@dataclass
class _Tally:
    """What a batch says about one subscription (its results in attempt order)."""

    success_at: datetime | None = None
    """The latest success."""
    failing_from: datetime | None = None
    """The first failure after the latest success."""
    failing_to: datetime | None = None
    """The latest failure after the latest success."""
    gone_at: datetime | None = None
    """When the receiver answered 410."""

    def add(self, result: AttemptResult) -> None:
        """Count one attempt's result."""
        at = result.at
        if result.succeeded:
            self.success_at, self.failing_from, self.failing_to = at, None, None
        elif result.status_code == 410:
            self.gone_at = at
        else:
            self.failing_from = self.failing_from or at
            self.failing_to = at


def _tallies(results: Sequence[AttemptResult]) -> list[tuple[str, _Tally]]:
    """Return each subscription's tally, by subscription id."""
    tallies: dict[str, _Tally] = {}
    for result in sorted(results, key=lambda r: r.at):
        tallies.setdefault(result.message.subscription.id, _Tally()).add(result)
    return sorted(tallies.items())


class Deliveries:
    """The deliverer's synchronous use cases: claim due attempts, record their results."""

    def __init__(
        self,
        store: OutboxStore,
        tx: Transactions,
        clock: Clock,
        schedule: tuple[int, ...],
        rand: Callable[[], float] = random.random,
    ):
        self.store = store
        self.tx = tx
        self.clock = clock
        self.schedule = schedule
        self.rand = rand

    def next_due(self, in_flight: Mapping[str, int] | None = None) -> datetime | None:
        """Return when the earliest message :meth:`claim` could take is due (None: none).

        ``in_flight`` counts this process's attempts per subscription: subscriptions at
        :data:`PER_SUBSCRIPTION` are left out, as are disabled ones (their messages wait).
        """
        return self.store.next_due(_full(in_flight))

    def claim(self, limit: int, in_flight: Mapping[str, int] | None = None) -> list[DueMessage]:
        """Lease up to ``limit`` due messages (nothing when none is due: no write lock).

        No subscription gets more than :data:`PER_SUBSCRIPTION` attempts in flight, counting
        the ``in_flight`` ones.
        """
        now = self.clock.now()
        counts = dict(in_flight or {})
        due = self.store.next_due(_full(counts))
        if due is None or due > now:
            return []
        with self.tx.atomic():
            return self.store.claim(now, limit, now + LEASE, counts, PER_SUBSCRIPTION)

    def record(self, results: Sequence[AttemptResult]) -> None:
        """Log attempts and settle their messages and subscriptions (see the module notes).

        Raises only when a single result cannot be recorded; its lease then runs out and
        the message is tried again.
        """
        try:
            self._record_retrying(results)
            return
        except StorageUnavailable:
            raise  # nothing can be recorded now: the leases run out and the attempts repeat
        except Exception:
            if len(results) <= 1:
                raise
            log.exception("recording %d webhook attempts failed; recording each", len(results))
        for result in results:
            try:
                self._record_retrying([result])
            except Exception:
                log.exception("recording webhook message %s failed", result.message.message_id)

    def _record_retrying(self, results: Sequence[AttemptResult]) -> None:
        """Record in one transaction, again after a deadlock or serialization failure."""
        for tries in range(1, RECORD_TRIES + 1):
            try:
                with self.tx.atomic():
                    notes = self._record(results)
            except Exception as exc:
                if tries == RECORD_TRIES or not self.store.is_transient(exc):
                    raise
                log.info("recording webhook attempts: %s; trying again", exc)
                time.sleep(0.01 * tries * (1 + self.rand()))  # let the other one finish
                continue
            for note in notes:
                log.warning("%s", note)
            return

    def _record(self, results: Sequence[AttemptResult]) -> list[str]:
        """Settle the messages still held, log them, judge their subscriptions; say what ended."""
        notes: list[str] = []
        held = [r for r in sorted(results, key=_outbox_id) if self._settle(r, notes)]
        for result in held:
            self.store.log(result)
        for sub_id, tally in _tallies(held):
            self._judge(sub_id, tally, notes)
        return notes

    def _settle(self, result: AttemptResult, notes: list[str]) -> bool:
        """Settle one message unless another attempt took it; tell whether it was held."""
        message = result.message
        status, next_at = self._outcome(result)
        if not self.store.settle(message, status, next_at):
            log.info("webhook message %s: a stale attempt's result dropped", message.message_id)
            return False
        if status == FAILED and result.status_code != 410:
            notes.append(
                f"webhook message {message.message_id} ({message.event_type}) given up"
                f" after {message.attempt} attempts"
            )
        return True

    def _outcome(self, result: AttemptResult) -> tuple[str, datetime | None]:
        """Return the message's status after this attempt, and its next attempt's time."""
        if result.succeeded:
            return DELIVERED, None
        if result.status_code == 410:
            return FAILED, None
        wait = retry_delay(result.message.attempt, self.schedule, self.rand)
        return (FAILED, None) if wait is None else (PENDING, result.at + wait)

    def _judge(self, sub_id: str, tally: _Tally, notes: list[str]) -> None:
        """Update one subscription once for its batch: streak, success, disabling."""
        if tally.success_at is not None:
            self.store.succeeded(sub_id, tally.success_at)
        if tally.gone_at is not None:
            self.store.disable(sub_id, DisabledReason.GONE, tally.gone_at)
            notes.append(f"webhook subscription {sub_id} disabled: the receiver answered 410")
            return
        if tally.failing_from is None or tally.failing_to is None:
            return
        since = self.store.failed(sub_id, tally.failing_from)
        if tally.failing_to - since >= FAILING_LIMIT:
            self.store.disable(sub_id, DisabledReason.FAILING, tally.failing_to)
            notes.append(f"webhook subscription {sub_id} disabled: no success for 3 days")


def _full(in_flight: Mapping[str, int] | None) -> Collection[str]:
    """Return the subscriptions with :data:`PER_SUBSCRIPTION` attempts in flight."""
    return {s for s, n in (in_flight or {}).items() if n >= PER_SUBSCRIPTION}


def _outbox_id(result: AttemptResult) -> int:
    return result.message.outbox_id
