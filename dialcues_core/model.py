"""The domain's nouns: frozen dataclasses and string enums, free of any framework.

Instants are aware UTC ``datetime`` objects. A reminder also keeps its local wall-clock anchor
(naive) and zone name, because recurrence and DST rules are defined on local time.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar, cast

from dialcues_core.errors import InsufficientScope

T = TypeVar("T")
UseCase = TypeVar("UseCase", bound=Callable[..., Any])

READ_REMINDERS = "reminders:read"
WRITE_REMINDERS = "reminders:write"
READ_EXECUTIONS = "executions:read"
READ_LINES = "lines:read"
WRITE_CALLS = "calls:write"
READ_USAGE = "usage:read"
MANAGE_WEBHOOKS = "webhooks:manage"

#: Every scope a credential may carry; a key created without ``--scopes`` has them all.
ALL_SCOPES: tuple[str, ...] = (
    "reminders:read",
    "reminders:write",
    "executions:read",
    "lines:read",
    "calls:write",
    "usage:read",
    "webhooks:manage",
)


class ReminderStatus(StrEnum):
    """Where a reminder is in its life (see ``lifecycle``)."""

    SCHEDULED = "scheduled"
    PAUSED = "paused"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class ExecutionStatus(StrEnum):
    """The state or outcome of one call attempt."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    MISSED = "missed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """Tell whether the attempt is over."""
        return self not in (ExecutionStatus.QUEUED, ExecutionStatus.IN_PROGRESS)

    @property
    def is_delivered(self) -> bool:
        """Tell whether the message reached the person (or their voicemail)."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.VOICEMAIL)


class RecurrenceKind(StrEnum):
    """How a recurring reminder repeats (the REST ``custom`` type is one of two kinds here)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    INTERVAL_DAYS = "interval_days"
    WEEKDAYS = "weekdays"
    CRON = "cron"


class Provider(StrEnum):
    """Who places the calls of an outbound line."""

    SIMULATED = "simulated"
    VAPI = "vapi"


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    """A repetition rule, complete enough to compute occurrences without anything else.

    ``anchor`` is the naive local wall-clock time of the reminder's ``scheduled_at`` as the
    user gave it (the first occurrence for daily/weekly/interval_days; the earliest possible
    one for weekdays/cron); ``zone`` the IANA name it is read in. ``weekdays`` uses
    0 = Sunday … 6 = Saturday. ``end_at`` (aware UTC) is inclusive.
    """

    kind: RecurrenceKind
    anchor: datetime
    zone: str
    interval_days: int | None = None
    weekdays: tuple[int, ...] = ()
    cron: str | None = None
    end_at: datetime | None = None
    end_local: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """An organization's voice-provider account; secrets are write-only (see ``masked``)."""

    provider: Provider
    api_key: str
    assistant_id: str
    webhook_secret: str
    base_url: str = "https://api.vapi.ai"
    concurrency: int = 10
    retry_delays: tuple[int, ...] | None = None

    def masked(self) -> dict[str, object]:
        """Return the settings safe to print: secrets reduced to their last 4 characters."""
        return {
            "provider": self.provider.value,
            "api_key": _mask(self.api_key),
            "assistant_id": self.assistant_id,
            "webhook_secret": _mask(self.webhook_secret),
            "base_url": self.base_url,
            "concurrency": self.concurrency,
            "retry_delays": list(self.retry_delays) if self.retry_delays is not None else None,
        }


def _mask(secret: str) -> str:
    return "…" + secret[-4:] if len(secret) > 4 else "…"


@dataclass(frozen=True, slots=True)
class Organization:
    """A customer account; its users share its outbound lines and provider settings."""

    id: str
    name: str
    created_at: datetime
    provider: ProviderSettings | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A person (or service) acting through API keys, in exactly one organization."""

    id: str
    organization_id: str
    email: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: never the raw key, only its hash and printable hints."""

    id: str
    user_id: str
    organization_id: str
    name: str | None
    prefix: str
    last4: str
    key_hash: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A key just created: the stored record and the raw key, shown this once."""

    key: ApiKey
    raw: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the authenticated user behind a credential."""

    user: User
    api_key_id: str | None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_SCOPES))
    client_id: str | None = None
    """The OAuth client whose access token this is (then ``api_key_id`` is None)."""

    @property
    def user_id(self) -> str:
        """Return the acting user's id."""
        return self.user.id

    @property
    def organization_id(self) -> str:
        """Return the acting user's organization id."""
        return self.user.organization_id

    def require(self, scope: str) -> None:
        """Raise ``insufficient_scope`` (naming ``scope``) unless the credential carries it.

        Inside :func:`recording_scopes` the scope is also recorded (checked or refused).
        """
        required = _REQUIRED_SCOPES.get()
        if required is not None and scope not in required:
            required.append(scope)
        if scope not in self.scopes:
            raise InsufficientScope(scope)


_REQUIRED_SCOPES: ContextVar[list[str] | None] = ContextVar(
    "dialcues_required_scopes", default=None
)
"""The scopes :meth:`Principal.require` was asked for in the innermost recording, if any."""


@contextmanager
def recording_scopes() -> Iterator[list[str]]:
    """Record every scope :meth:`Principal.require` checks while the block runs.

    Yields the list the scopes are appended to (each once, in order). The recording belongs to
    the current context (thread or task); a nested recording also adds its scopes to the outer
    one when it ends. Idempotency uses it to store what a use case required with its reply, so
    a replay demands the same scopes.
    """
    required: list[str] = []
    token = _REQUIRED_SCOPES.set(required)
    try:
        yield required
    finally:
        _REQUIRED_SCOPES.reset(token)
        outer = _REQUIRED_SCOPES.get()
        if outer is not None:
            outer.extend(s for s in required if s not in outer)


_SCOPE_ATTRIBUTE: Final = "required_scope"
"""The attribute :func:`requires` sets on a use case: the scope it demands."""


def requires(scope: str) -> Callable[[UseCase], UseCase]:
    """Make a use-case method demand ``scope`` of its principal before it does anything else.

    The method takes the principal as its first argument after ``self`` (sync or ``async``).
    The check is :meth:`Principal.require` (so :func:`recording_scopes` sees it), and the
    scope is kept on the method as ``required_scope``: an edge that must parse a request
    before calling the use case checks it first with :func:`check_scope`, so a credential
    lacking the scope is refused the same way whatever it sent.
    """

    def decorate(method: UseCase) -> UseCase:
        wrap = _checked_async if inspect.iscoroutinefunction(method) else _checked_sync
        checked = wrap(method, scope)
        setattr(checked, _SCOPE_ATTRIBUTE, scope)
        return cast(UseCase, checked)

    return decorate


def _checked_sync(method: Callable[..., Any], scope: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def checked(self: object, principal: Principal, *args: Any, **kwargs: Any) -> Any:
        principal.require(scope)
        return method(self, principal, *args, **kwargs)

    return checked


def _checked_async(method: Callable[..., Any], scope: str) -> Callable[..., Any]:
    @functools.wraps(method)
    async def checked(self: object, principal: Principal, *args: Any, **kwargs: Any) -> Any:
        principal.require(scope)
        return await method(self, principal, *args, **kwargs)

    return checked


def required_scope(use_case: Callable[..., Any]) -> str | None:
    """Return the scope a use case (plain or bound method) demands; None when it has no rule."""
    scope = getattr(use_case, _SCOPE_ATTRIBUTE, None)
    return scope if isinstance(scope, str) else None


def check_scope(principal: Principal, use_case: Callable[..., Any]) -> None:
    """Raise ``insufficient_scope`` unless ``principal`` may run ``use_case`` (:func:`requires`).

    A use case without a scope rule passes: the rule stays with the use case, in the core.
    """
    scope = required_scope(use_case)
    if scope is not None:
        principal.require(scope)


@dataclass(frozen=True, slots=True)
class OutboundLine:
    """A phone number an organization calls from."""

    id: str
    organization_id: str
    provider: Provider
    phone_number: str
    label: str | None
    is_default: bool
    created_at: datetime
    provider_line_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A scheduled call.

    ``scheduled_at`` is the occurrence; a pending retry shows in ``next_attempt_at``.
    """

    id: int
    user_id: str
    organization_id: str
    title: str
    message: str
    phone_number: str
    scheduled_at: datetime
    timezone: str
    local_time: datetime
    status: ReminderStatus
    line_id: str | None
    line_label: str | None
    recurrence: RecurrenceRule | None
    retry_count: int
    next_attempt_at: datetime | None
    last_execution_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def recurrence_end_at(self) -> datetime | None:
        """Return the inclusive end of the series, if any."""
        return self.recurrence.end_at if self.recurrence else None


@dataclass(frozen=True, slots=True)
class Execution:
    """One call attempt (or a ``missed`` record, or a call placed now)."""

    id: int
    user_id: str
    organization_id: str
    reminder_id: int | None
    reminder_title: str | None
    status: ExecutionStatus
    attempt: int
    call_id: str | None
    line_id: str | None
    to: str
    scheduled_for: datetime
    executed_at: datetime | None
    ended_at: datetime | None
    ended_reason: str | None
    duration_s: int | None
    cost: float | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def total_pages(self) -> int:
        """Return the number of pages (0 for an empty result)."""
        return -(-self.total // self.page_size) if self.total else 0
