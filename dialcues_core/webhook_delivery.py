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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from dialcues_core.ports import Clock, Transactions
from dialcues_core.webhook_model import AttemptResult, DisabledReason, DueMessage, OutboxStore

log = logging.getLogger("dialcues.webhooks")

LEASE = timedelta(seconds=60)
"""How long a claimed attempt belongs to its process (well above the 10 s timeout)."""
FAILING_LIMIT = timedelta(days=3)
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
    stamp = int(now.timestamp())
    secrets_now = message.subscription.signing_secrets(now)
    signature = " ".join(sign(s, message.message_id, stamp, message.body) for s in secrets_now)
    return {
        "content-type": "application/json",
        "user-agent": "Dialcues-Webhooks/1",
        "webhook-id": message.message_id,
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

    def next_due(self) -> datetime | None:
        """Return when the earliest pending message is due (None: nothing waits)."""
        return self.store.next_due()

    def claim(self, limit: int) -> list[DueMessage]:
        """Lease up to ``limit`` due messages (nothing when none is due: no write lock)."""
        now = self.clock.now()
        due = self.store.next_due()
        if due is None or due > now:
            return []
        with self.tx.atomic():
            return self.store.claim(now, limit, now + LEASE)

    def record(self, results: list[AttemptResult]) -> None:
        """Log attempts and settle their messages and subscriptions, in one transaction."""
        with self.tx.atomic():
            for result in results:
                self.store.log(result)
                self._settle(result)

    def _settle(self, result: AttemptResult) -> None:
        message, at = result.message, result.at
        sub_id = message.subscription.id
        if result.succeeded:
            self.store.settle(message, DELIVERED, None)
            self.store.succeeded(sub_id, at)
            return
        if result.status_code == 410:
            self.store.settle(message, FAILED, None)
            self.store.disable(sub_id, DisabledReason.GONE, at)
            log.warning("webhook subscription %s disabled: the receiver answered 410", sub_id)
            return
        self._retry_or_give_up(message, at)
        if at - self.store.failed(sub_id, at) >= FAILING_LIMIT:
            self.store.disable(sub_id, DisabledReason.FAILING, at)
            log.warning("webhook subscription %s disabled: no success for 3 days", sub_id)

    def _retry_or_give_up(self, message: DueMessage, at: datetime) -> None:
        wait = retry_delay(message.attempt, self.schedule, self.rand)
        if wait is None:
            self.store.settle(message, FAILED, None)
            log.warning(
                "webhook message %s (%s) given up after %d attempts",
                message.message_id,
                message.event_type,
                message.attempt,
            )
            return
        self.store.settle(message, PENDING, at + wait)
