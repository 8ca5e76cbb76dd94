"""The ports of call attempts: dialers and their requests and events, the execution and
call repositories, and the execution records the dispatcher writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.accounts.model import OutboundLine, ProviderSettings
from dialcues_core.calling.policy import Identity
from dialcues_core.calling.shapes import Bypass
from dialcues_core.calling.windows import Window
from dialcues_core.calls.actions import NO_ACTIONS, CallActions, ToolCall
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.kernel.paging import Page


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    """A validated execution listing request."""

    status: ExecutionStatus | None = None
    reminder_id: int | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    skip_reason: str | None = None
    to: str | None = None
    confirmation: str | None = None
    direction: str | None = None
    page: int = 1
    page_size: int = 20


class ExecutionRepository(Protocol):
    """Executions, always read through their owner."""

    def get(
        self, user_id: str, execution_id: int, organization_id: str | None = None
    ) -> Execution | None:
        """Return the user's execution (or, given the organization, its inbound one)."""
        ...

    def list(
        self, user_id: str, query: ExecutionQuery, organization_id: str | None = None
    ) -> Page[Execution]:
        """Return one page of the user's executions (and the organization's inbound ones)."""
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
    purpose: str = "informational"
    identity: Identity | None = None
    """What the call says of its caller (the organization's policy); None: nobody hears it."""
    attempt: int = 1
    """The attempt's number within its occurrence (the simulated person acts on it)."""


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


PROVIDER_EVENT_PATHS: dict[str, str] = {"vapi": "/api/providers/vapi/events"}
"""Where, under the public URL, each provider sends its server messages about our calls."""

PROVIDER_TOOL_PATHS: dict[str, str] = {"vapi": "/api/providers/vapi/tools"}
"""Where, under the public URL, each provider sends the tool calls of our calls (§11)."""


@dataclass(frozen=True, slots=True)
class ServerMessage:
    """What a provider's server message says, as its adapter read it.

    ``secret`` is the credential it carried (a call token or the organization's secret);
    ``about`` the call it names, whatever its type (to authenticate it); ``event`` what to
    apply, or None for a type that changes nothing.
    """

    secret: str | None
    about: CallEvent | None
    event: CallEvent | None
    opt_out: str | None = None
    """An opt-out the end-of-call transcript shows (``opt_out_keypress``: a keypad 9;
    ``opt_out_voice``: a turn that is only a stop word), applied if no stop was (§11)."""


@dataclass(frozen=True, slots=True)
class ToolMessage:
    """A provider's tool-calls message, as its adapter read it: the credential, the call it
    names, the tool calls in order, and how the person acted (``keypad`` or ``voice``)."""

    secret: str | None
    about: CallEvent | None
    calls: list[ToolCall]
    via: str


class ToolReader(Protocol):
    """Reads one provider's tool-calls messages."""

    def read_tools(self, headers: Mapping[str, str], body: bytes) -> ToolMessage:
        """Return what the message asks; raise ``validation_error`` if it is not JSON or has
        no tool calls. ``headers`` have lower-case names."""
        ...


class MessageReader(Protocol):
    """Reads one provider's server messages from the bytes and headers that carried them."""

    def read(self, headers: Mapping[str, str], body: bytes) -> ServerMessage:
        """Return what the message says; raise ``validation_error`` if it is not JSON.

        ``headers`` have lower-case names.
        """
        ...


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
    skip_reason: str | None = None
    """Why the gate refused it (``status`` ``skipped``); else None."""
    purpose: str = "informational"
    timezone: str | None = None
    """A call placed now: the recipient's zone it was given."""
    calling_window: Window | Bypass | None = None
    """A call placed now: its own window or bypass."""


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
    purpose: str = "informational"
    timezone: str | None = None
    """A call placed now: the recipient's zone it was given, if any."""
    calling_window: Window | Bypass | None = None
    """A call placed now: its own window (a bypass), else the organization's."""
    actions: CallActions = NO_ACTIONS
    from_number: str | None = None
    """Inbound: the caller (a readback's stop suppresses this number, not ``to``)."""
    route_type: str | None = None
    """Inbound: the type of the route applied (its outcome rows depend on it)."""
    """What the person did during the call so far (§11)."""

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
    confirmation: str | None = None
    confirmed_at: datetime | None = None


# ----------------------------------------------------------------------------- calls, smoke
class CallRepository(Protocol):
    """Calls placed now: executions stored ``queued`` and due at once, with no reminder."""

    def queue(self, call: NewExecution) -> Execution:
        """Insert the ``queued`` execution (due at its ``scheduled_for``) and return it."""
        ...
