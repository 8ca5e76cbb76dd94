"""Webhook nouns and ports: subscriptions, outbox messages, delivery attempts, their stores.

The nouns are frozen dataclasses; the stores are Protocols, kept beside them (they are few and
read together), implemented in ``adapters.peewee.webhooks``. Every store method runs inside
the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from dialcues_core.kernel.paging import Page

EVENT_TYPES: tuple[str, ...] = (
    "execution.started",
    "execution.finished",
    "execution.skipped",
    "reminder.completed",
    "reminder.failed",
    "reminder.suppressed",
    "suppression.created",
    "suppression.removed",
    "consent.revoked",
    "number.assigned",
    "number.assign_failed",
    "number.released",
    "call.ringing",
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.received",
)
"""Every event a subscription may ask for."""


class DisabledReason(StrEnum):
    """Why a subscription stopped receiving events."""

    BY_USER = "by_user"
    GONE = "gone"
    """The receiver answered 410 Gone."""
    FAILING = "failing"
    """No successful delivery for three days."""


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """Where to POST which of a user's events, signed with ``secret`` (and, for a while, the
    ``previous_secret`` it replaced)."""

    id: str
    user_id: str
    organization_id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    disabled_reason: DisabledReason | None
    secret: str
    previous_secret: str | None
    previous_expires_at: datetime | None
    failing_since: datetime | None
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """Return the secrets that sign a message sent at ``now`` (newest first)."""
        expires = self.previous_expires_at
        if self.previous_secret and expires is not None and now < expires:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A subscription with its new secret, shown this once (create, rotate)."""

    subscription: WebhookSubscription
    secret: str


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One delivery attempt of one message, as the delivery log keeps it."""

    id: int
    subscription_id: str
    message_id: str
    event_type: str
    attempt: int
    status_code: int | None
    latency_ms: int
    error: str | None
    attempted_at: datetime


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message about to enter the outbox, in the transaction of its change."""

    message_id: str
    subscription_id: str
    event_type: str
    body: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class DueMessage:
    """A claimed message: what one attempt needs (``attempt`` counts from 1)."""

    outbox_id: int
    message_id: str
    event_type: str
    body: str
    attempt: int
    subscription: WebhookSubscription


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt got: an HTTP status, or an error (timeout, refused address, …)."""

    message: DueMessage
    status_code: int | None
    latency_ms: int
    error: str | None
    at: datetime

    @property
    def succeeded(self) -> bool:
        """Tell whether the receiver took the message (any 2xx)."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class Interest:
    """An enabled subscription's wish: its id, its user and the events it wants."""

    subscription_id: str
    user_id: str
    events: frozenset[str]


class WebhookRepository(Protocol):
    """Subscriptions and their delivery log, always read through their owner."""

    def add(self, subscription: WebhookSubscription) -> None:
        """Store a new subscription."""
        ...

    def get(self, user_id: str, subscription_id: str) -> WebhookSubscription | None:
        """Return the user's subscription (locked for the transaction) or None."""
        ...

    def save(self, subscription: WebhookSubscription) -> None:
        """Write every field of an existing subscription."""
        ...

    def delete(self, subscription_id: str) -> None:
        """Delete a subscription with its messages and delivery log."""
        ...

    def list(self, user_id: str, page: int, page_size: int) -> Page[WebhookSubscription]:
        """Return one page of the user's subscriptions, oldest first."""
        ...

    def deliveries(self, subscription_id: str, page: int, page_size: int) -> Page[WebhookDelivery]:
        """Return one page of a subscription's delivery attempts, newest first."""
        ...


class OutboxStore(Protocol):
    """The outbox: written by the dispatcher's transactions, drained by the deliverer."""

    def interests(self, user_ids: set[str]) -> list[Interest]:
        """Return the enabled subscriptions of these users."""
        ...

    def organization_interests(self, organization_ids: set[str]) -> dict[str, list[Interest]]:
        """Return the enabled subscriptions of these organizations, by organization."""
        ...

    def execution_objects(self, ids: Sequence[int]) -> dict[int, Any]:
        """Return executions by id (domain ``Execution`` objects)."""
        ...

    def reminder_objects(self, ids: Sequence[int]) -> dict[int, Any]:
        """Return reminders by id (domain ``Reminder`` objects, with their line label)."""
        ...

    def enqueue(self, messages: list[NewMessage]) -> None:
        """Insert messages ``pending``."""
        ...

    def next_due(self, skip: Collection[str] = ()) -> datetime | None:
        """Return when the earliest message :meth:`claim` would consider is due (None: none).

        Pending messages of enabled subscriptions not in ``skip``; no lock.
        """
        ...

    def claim(
        self,
        now: datetime,
        limit: int,
        lease_until: datetime,
        in_flight: Mapping[str, int],
        per_subscription: int,
    ) -> list[DueMessage]:
        """Lease up to ``limit`` due messages of enabled subscriptions (skip locked).

        A subscription gets at most ``per_subscription`` minus its ``in_flight`` count.
        """
        ...

    def log(self, result: AttemptResult) -> None:
        """Append one attempt to the delivery log."""
        ...

    def settle(self, message: DueMessage, status: str, next_attempt_at: datetime | None) -> bool:
        """Record where a message stands after its attempt; tell whether it was recorded.

        Only an attempt that still holds the message (not settled, not claimed again) does.
        """
        ...

    def succeeded(self, subscription_id: str, at: datetime) -> None:
        """Record a success: clear the subscription's failing streak."""
        ...

    def failed(self, subscription_id: str, at: datetime) -> datetime:
        """Record a failure; return when the current failing streak began."""
        ...

    def disable(self, subscription_id: str, reason: DisabledReason, at: datetime) -> None:
        """Stop a subscription (its pending messages wait, unsent, unless re-enabled)."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """Tell whether a failed transaction may succeed if run again.

        A deadlock, a serialization failure, a busy database.
        """
        ...
