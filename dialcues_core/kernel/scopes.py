"""Scopes: the names, and the rule that a use case demands one of its principal."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final, Protocol, TypeVar, cast

from dialcues_core.errors import InsufficientScope

UseCase = TypeVar("UseCase", bound=Callable[..., Any])


class Scoped(Protocol):
    """Whoever acts (a principal): refuses a scope its credential lacks."""

    def require(self, scope: str) -> None:
        """Raise ``insufficient_scope`` unless the credential carries ``scope``."""
        ...


READ_REMINDERS = "reminders:read"
WRITE_REMINDERS = "reminders:write"
READ_EXECUTIONS = "executions:read"
READ_LINES = "lines:read"
WRITE_CALLS = "calls:write"
READ_USAGE = "usage:read"
MANAGE_WEBHOOKS = "webhooks:manage"
READ_POLICY = "policy:read"
READ_AUDIT = "audit:read"
READ_SUPPRESSIONS = "suppressions:read"
WRITE_SUPPRESSIONS = "suppressions:write"
READ_CONSENTS = "consents:read"
WRITE_CONSENTS = "consents:write"
READ_NUMBERS = "numbers:read"
WRITE_NUMBERS = "numbers:write"
WRITE_LINES = "lines:write"
READ_MESSAGES = "messages:read"
WRITE_MESSAGES = "messages:write"
WRITE_TEMPLATES = "templates:write"
#: Every scope a credential may carry; a key created without ``--scopes`` has them all.
ALL_SCOPES: tuple[str, ...] = (
    "reminders:read",
    "reminders:write",
    "executions:read",
    "lines:read",
    "calls:write",
    "usage:read",
    "webhooks:manage",
    "policy:read",
    "audit:read",
    "suppressions:read",
    "suppressions:write",
    "consents:read",
    "consents:write",
    "numbers:read",
    "numbers:write",
    "lines:write",
    "messages:read",
    "messages:write",
    "templates:write",
)

ALL_SCOPES_MARK = "*"
"""How a credential created without an explicit list stores its scopes: every scope of the
day it is used, so it gains the scopes later releases add (``telephony.md`` §0 #4). An
explicit list never grows."""


_REQUIRED_SCOPES: ContextVar[list[str] | None] = ContextVar(
    "dialcues_required_scopes", default=None
)
"""The scopes :func:`demand` was asked for in the innermost recording, if any."""


def demand(scope: str, granted: frozenset[str]) -> None:
    """Raise ``insufficient_scope`` (naming ``scope``) unless ``granted`` carries it.

    Inside :func:`recording_scopes` the scope is also recorded (checked or refused).
    """
    required = _REQUIRED_SCOPES.get()
    if required is not None and scope not in required:
        required.append(scope)
    if scope not in granted:
        raise InsufficientScope(scope)


@contextmanager
def recording_scopes() -> Iterator[list[str]]:
    """Record every scope :func:`demand` checks while the block runs.

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

_RATE_ATTRIBUTE: Final = "rate_class"
"""The attribute :func:`requires` sets on a use case: the rate-limit bucket it is charged to."""

READ: Final = "read"
"""The bucket of operations that change nothing."""
WRITE: Final = "write"
"""The bucket of every other operation."""


def requires(scope: str, *, rate: str | None = None) -> Callable[[UseCase], UseCase]:
    """Make a use-case method demand ``scope`` of its principal before it does anything else.

    The method takes the principal as its first argument after ``self`` (sync or ``async``).
    The check is the principal's ``require`` (so :func:`recording_scopes` sees it), and the
    scope is kept on the method as ``required_scope``: an edge that must parse a request
    before calling the use case checks it first with :func:`check_scope`, so a credential
    lacking the scope is refused the same way whatever it sent.

    ``rate`` is the rate-limit bucket the use case is charged to (:func:`rate_class`): by
    default ``read`` for a scope ending in ``:read``, else ``write``; a use case that reads
    under a broader scope (listing webhook subscriptions under ``webhooks:manage``) says
    ``rate=READ``.
    """
    bucket = rate or (READ if scope.endswith(":read") else WRITE)

    def decorate(method: UseCase) -> UseCase:
        wrap = _checked_async if inspect.iscoroutinefunction(method) else _checked_sync
        checked = wrap(method, scope)
        setattr(checked, _SCOPE_ATTRIBUTE, scope)
        setattr(checked, _RATE_ATTRIBUTE, bucket)
        return cast(UseCase, checked)

    return decorate


def _checked_sync(method: Callable[..., Any], scope: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def checked(self: object, principal: Scoped, *args: Any, **kwargs: Any) -> Any:
        principal.require(scope)
        return method(self, principal, *args, **kwargs)

    return checked


def _checked_async(method: Callable[..., Any], scope: str) -> Callable[..., Any]:
    @functools.wraps(method)
    async def checked(self: object, principal: Scoped, *args: Any, **kwargs: Any) -> Any:
        principal.require(scope)
        return await method(self, principal, *args, **kwargs)

    return checked


def required_scope(use_case: Callable[..., Any]) -> str | None:
    """Return the scope a use case (plain or bound method) demands; None when it has no rule."""
    scope = getattr(use_case, _SCOPE_ATTRIBUTE, None)
    return scope if isinstance(scope, str) else None


def rate_class(use_case: Callable[..., Any] | None) -> str:
    """Return the bucket a use case is charged to; one without a rule (WhoAmI) is a read."""
    bucket = getattr(use_case, _RATE_ATTRIBUTE, None)
    return bucket if isinstance(bucket, str) else READ


def check_scope(principal: Scoped, use_case: Callable[..., Any]) -> None:
    """Raise ``insufficient_scope`` unless ``principal`` may run ``use_case`` (:func:`requires`).

    A use case without a scope rule passes: the rule stays with the use case, in the core.
    """
    scope = required_scope(use_case)
    if scope is not None:
        principal.require(scope)
