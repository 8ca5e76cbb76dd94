"""The core's ports: what it needs from the outside world, as Protocols.

Implementations: ``adapters.clock.SystemClock`` and ``testing.FakeClock``; the peewee
repositories in ``adapters.peewee``; dialers in ``adapters.dialers``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.model import (
    ApiKey,
    Execution,
    ExecutionStatus,
    Organization,
    OutboundLine,
    Page,
    ProviderSettings,
    Reminder,
    ReminderStatus,
    User,
)
from dialcues_core.scheduling import Attempted, NextStep


class Clock(Protocol):
    """The only source of the current time."""

    def now(self) -> datetime:
        """Return the current aware UTC time."""
        ...

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back (for intervals, not instants)."""
        ...


@dataclass(frozen=True, slots=True)
class ReminderQuery:
    """A validated reminder listing request."""

    status: ReminderStatus | None = None
    search: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    sort: str = "scheduled_at_asc"
    page: int = 1
    page_size: int = 20


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    """A validated execution listing request."""

    status: ExecutionStatus | None = None
    reminder_id: int | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    page: int = 1
    page_size: int = 20


class Transactions(Protocol):
    """Run a block of repository calls as one transaction."""

    def atomic(self) -> AbstractContextManager[object]:
        """Return a context manager around one transaction (nested → savepoint)."""
        ...


class OrganizationRepository(Protocol):
    """Organizations and their provider settings."""

    def add(self, org: Organization) -> None:
        """Store a new organization."""
        ...

    def get(self, org_id: str) -> Organization | None:
        """Return the organization or None."""
        ...

    def set_provider(self, org_id: str, settings: ProviderSettings) -> None:
        """Replace the organization's provider settings."""
        ...

    def exists_any(self) -> bool:
        """Tell whether any organization exists (an empty database gets the demo)."""
        ...


class UserRepository(Protocol):
    """Users, each in one organization."""

    def add(self, user: User) -> None:
        """Store a new user (``AlreadyExists`` if the e-mail is taken in the organization)."""
        ...

    def get(self, user_id: str) -> User | None:
        """Return the user or None."""
        ...


class ApiKeyRepository(Protocol):
    """API keys, found by hash."""

    def add(self, key: ApiKey) -> None:
        """Store a new key."""
        ...

    def find_by_hash(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """Return the key with this hash and its user, or None."""
        ...

    def get(self, key_id: str) -> ApiKey | None:
        """Return the key or None."""
        ...

    def list_for_user(self, user_id: str) -> list[ApiKey]:
        """Return the user's keys, newest first."""
        ...

    def revoke(self, key_id: str, at: datetime) -> None:
        """Mark the key revoked at ``at`` (idempotent: the first time wins)."""
        ...

    def touch(self, last_used: dict[str, datetime]) -> None:
        """Record ``last_used_at`` for many keys at once."""
        ...


class LineRepository(Protocol):
    """Outbound lines."""

    def add(self, line: OutboundLine) -> None:
        """Store a new line; a default line makes the others non-default."""
        ...

    def get(self, org_id: str, line_id: str) -> OutboundLine | None:
        """Return the organization's line or None."""
        ...

    def list_for_org(self, org_id: str) -> list[OutboundLine]:
        """Return the organization's lines, oldest first."""
        ...

    def default_for(self, org_id: str) -> OutboundLine | None:
        """Return the organization's default line (or its oldest line, or None)."""
        ...

    def remove(self, org_id: str, line_id: str) -> bool:
        """Delete the line; tell whether it existed."""
        ...

    def set_default(self, org_id: str, line_id: str) -> bool:
        """Make the line the default; tell whether it existed."""
        ...


class ReminderRepository(Protocol):
    """Reminders, always read through their owner."""

    def add(self, reminder: Reminder) -> Reminder:
        """Store a new reminder (its ``id`` is ignored) and return it with its id."""
        ...

    def get(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder or None."""
        ...

    def get_for_update(self, user_id: str, reminder_id: int) -> Reminder | None:
        """Return the user's reminder, locking its row until the transaction ends."""
        ...

    def save(self, reminder: Reminder) -> None:
        """Write every field of an existing reminder."""
        ...

    def delete(self, user_id: str, reminder_id: int) -> None:
        """Delete the user's reminder."""
        ...

    def list(self, user_id: str, query: ReminderQuery) -> Page[Reminder]:
        """Return one page of the user's reminders."""
        ...


class ExecutionRepository(Protocol):
    """Executions, always read through their owner."""

    def get(self, user_id: str, execution_id: int) -> Execution | None:
        """Return the user's execution or None."""
        ...

    def list(self, user_id: str, query: ExecutionQuery) -> Page[Execution]:
        """Return one page of the user's executions, newest first."""
        ...


class Health(Protocol):
    """Whether the storage answers."""

    def ping(self) -> bool:
        """Tell whether the database answers a trivial query."""
        ...


# ----------------------------------------------------------------------------- dialing
@dataclass(frozen=True, slots=True)
class CallRequest:
    """Everything a dialer needs to place one call for one execution.

    ``provider`` is the organization's provider account (None for simulated lines).
    ``correlation`` travels with the call (Vapi: ``assistantOverrides.metadata``) and comes
    back in every provider message.
    """

    execution_id: int
    reminder_id: int | None
    organization_id: str
    line: OutboundLine
    provider: ProviderSettings | None
    to: str
    title: str
    message: str
    correlation: dict[str, str]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """What a provider reported about a call (a status change or its final report).

    ``status`` is the provider's call status (``queued``, ``ringing``, ``in-progress``,
    ``forwarding``, ``ended``); ``ended_reason`` is set when it ended (Vapi's vocabulary,
    which the simulated dialer speaks too). ``execution_id`` comes from the correlation ids.
    """

    call_id: str
    execution_id: int | None
    status: str
    ended_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: int | None = None
    cost: float | None = None
    organization_id: str | None = None

    @property
    def is_final(self) -> bool:
        """Tell whether the call is over."""
        return self.status == "ended"


class CallEventSink(Protocol):
    """Receives provider events (the dispatcher); dialers that learn outcomes push here."""

    async def __call__(self, event: CallEvent) -> None:
        """Apply one event (idempotent)."""
        ...


class Dialer(Protocol):
    """Places calls through one provider. Raises ``ProviderError`` subclasses on failure:
    ``ProviderRejected`` (permanent), ``ProviderThrottled`` (not attempted; try later),
    ``ProviderUnknownOutcome`` (timeout or 5xx on create: reconcile before dialing again).
    """

    async def place_call(self, request: CallRequest) -> str:
        """Create the call; return the provider's call id."""
        ...

    async def fetch_call(self, request: CallRequest, call_id: str) -> CallEvent | None:
        """Return the call's current state, or None if the provider does not know it."""
        ...

    async def find_call(self, request: CallRequest, created_after: datetime) -> CallEvent | None:
        """Find the call placed for ``request`` (by correlation ids) since ``created_after``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


# ----------------------------------------------------------------------------- dispatch
@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder whose attempt is due, as the claim sees it."""

    id: int
    user_id: str
    organization_id: str
    title: str
    message: str
    phone_number: str
    line_id: str | None
    due_at: datetime
    attempted: Attempted


@dataclass(frozen=True, slots=True)
class NewExecution:
    """An execution about to be inserted by the dispatcher."""

    user_id: str
    organization_id: str
    reminder_id: int | None
    reminder_title: str | None
    status: ExecutionStatus
    attempt: int
    line_id: str | None
    to: str
    message: str
    scheduled_for: datetime
    executed_at: datetime | None
    lease_until: datetime | None
    error_message: str | None = None
    ended_at: datetime | None = None
    occurrence_at: datetime | None = None
    """The occurrence this attempt belongs to (None: ``scheduled_for``, e.g. a call placed now)."""


@dataclass(frozen=True, slots=True)
class LiveExecution:
    """An execution the dispatcher owns (claimed or reclaimed), with what dialing needs."""

    id: int
    user_id: str
    organization_id: str
    reminder_id: int | None
    title: str
    status: ExecutionStatus
    attempt: int
    line_id: str | None
    to: str
    message: str
    scheduled_for: datetime
    executed_at: datetime | None
    call_id: str | None
    due_at: datetime | None = None
    """When a ``queued`` execution is due (placed, or requeued after a throttle); else None."""
    occurrence_at: datetime | None = None
    """The occurrence the attempt belongs to; its lateness cap counts from it."""

    @property
    def occurrence(self) -> datetime:
        """Return the occurrence's time (``scheduled_for`` for an execution without one)."""
        return self.occurrence_at or self.scheduled_for


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """The final facts of an attempt, to be written on its execution."""

    status: ExecutionStatus
    ended_at: datetime | None
    ended_reason: str | None
    duration_s: int | None
    cost: float | None
    error_message: str | None
    call_id: str | None


class DispatchStore(Protocol):
    """The dispatcher's storage primitives; the caller holds the transaction."""

    def due_reminders(
        self, now: datetime, limit: int, skip_orgs: set[str] | None = None
    ) -> list[DueReminder]:
        """Return due reminders in due order (not of ``skip_orgs``), locked (skip locked)."""
        ...

    def queued_executions(
        self, now: datetime, limit: int, skip_orgs: set[str] | None = None
    ) -> list[LiveExecution]:
        """Return due ``queued`` executions (not of ``skip_orgs``), locked (skip locked)."""
        ...

    def expired_executions(self, now: datetime, limit: int) -> list[LiveExecution]:
        """Return ``in_progress`` executions whose lease ended, locked (skip locked)."""
        ...

    def insert_executions(self, rows: list[NewExecution]) -> list[int]:
        """Insert executions; return their ids in the same order."""
        ...

    def start_executions(
        self, starts: list[tuple[int, str | None]], now: datetime, lease_until: datetime
    ) -> None:
        """Mark queued executions ``in_progress`` with a lease: (execution id, line id dialed).

        A line id of None keeps the execution's line.
        """
        ...

    def extend_leases(self, ids: list[int], lease_until: datetime) -> None:
        """Push the lease of executions forward."""
        ...

    def mark_dialing(self, pairs: list[tuple[int, int]], now: datetime) -> None:
        """Set reminders ``in_progress`` with their new execution: (reminder id, execution id)."""
        ...

    def set_reminder_steps(
        self, steps: list[tuple[int, NextStep, int | None]], now: datetime
    ) -> None:
        """Write reminders' next steps: (reminder id, step, last execution id or None)."""
        ...

    def lines_of(self, org_ids: set[str]) -> dict[str, list[OutboundLine]]:
        """Return each organization's lines (default first)."""
        ...

    def providers_of(self, org_ids: set[str]) -> dict[str, ProviderSettings | None]:
        """Return each organization's provider settings."""
        ...

    def in_flight(self, org_id: str) -> int:
        """Count the organization's provider calls in the air (lock the count on PostgreSQL)."""
        ...

    def executions_by_id(self, ids: list[int]) -> dict[int, LiveExecution]:
        """Return executions by id (locked for this transaction)."""
        ...

    def execution_by_call_id(self, call_id: str) -> LiveExecution | None:
        """Return the execution of a provider call id."""
        ...

    def attempted(self, reminder_ids: list[int]) -> dict[int, tuple[Attempted, int | None]]:
        """Return each reminder's policy view and its last execution id (locked)."""
        ...

    def record_call_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Store provider call ids on executions that have none yet."""
        ...

    def record_outcomes(self, outcomes: list[tuple[int, OutcomeRecord]]) -> None:
        """Write attempts' final facts and release their leases."""
        ...

    def requeue(self, execution_id: int, due_at: datetime) -> None:
        """Put an execution back to ``queued`` until ``due_at`` (provider throttling)."""
        ...

    def next_due_at(self) -> datetime | None:
        """Return the earliest time anything is due (reminders or queued executions)."""
        ...


# ----------------------------------------------------------------------------- calls, smoke
class CallRepository(Protocol):
    """Calls placed now: executions stored ``queued`` and due at once, with no reminder."""

    def queue(self, call: NewExecution) -> Execution:
        """Insert the ``queued`` execution (due at its ``scheduled_for``) and return it."""
        ...


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
