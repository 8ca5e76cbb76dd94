"""Place a call now: an execution ``queued`` and due at once, dialed by whichever dispatcher runs.

A call placed now takes the path of a reminder's attempt — claim, dial, outcome, webhooks —
with ``reminder_id`` null. It is **one attempt**: the organization's retry delays belong to
reminders, so a busy, unanswered or failed call now stays that way (place another to try
again). Two things still delay it without spending anything: a provider that throttles the
create (429) puts it back ``queued`` until its ``Retry-After``; and a call nobody dialed within
the grace window (``DIALCUES_GRACE_SECONDS``: no dispatcher ran) is recorded ``missed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialcues_core.accounts.lines import line_for, parse_line_id
from dialcues_core.accounts.model import Principal
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import CallRepository, NewExecution
from dialcues_core.kernel.fields import (
    MISSING,
    FieldReader,
    parse_message,
    parse_title,
    require_object,
)
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.ports import ChangeListener, Clock, Transactions
from dialcues_core.kernel.scopes import WRITE_CALLS, requires

CALL_FIELDS = frozenset({"to", "message", "title", "vapi_line_id"})


@dataclass(frozen=True, slots=True)
class CallRepositories:
    """The repositories placing a call needs."""

    transactions: Transactions
    calls: CallRepository
    lines: LineRepository


class Calls:
    """Place calls now on behalf of a principal.

    ``listeners`` are told (with the due time) after a call is queued; the composition root
    passes the reminders' list, so the in-process dispatcher wakes at once. A dispatcher in
    another process notices the call within its one-second poll.
    """

    def __init__(
        self,
        repos: CallRepositories,
        clock: Clock,
        listeners: list[ChangeListener] | None = None,
    ):
        self.repos = repos
        self.clock = clock
        self.listeners: list[ChangeListener] = listeners if listeners is not None else []

    @requires(WRITE_CALLS)
    def place(self, principal: Principal, payload: Mapping[str, Any]) -> Execution:
        """Validate ``payload`` (``to``, ``message``, ``title``?, ``vapi_line_id``?) and queue it.

        Fields follow a reminder's rules (``to`` as ``phone_number``); unknown fields are
        ``validation_error``; without any line the organization gets ``missing_outbound_line``.
        Returns the execution: ``queued``, ``reminder_id`` None, ``attempt`` 1.
        """
        reader = FieldReader(require_object(payload), CALL_FIELDS)
        to = reader.read("to", parse_phone_number, required=True)
        message = reader.read("message", parse_message, required=True)
        title = reader.read("title", _parse_optional_title)
        line_id = reader.read("vapi_line_id", parse_line_id)
        reader.raise_if_any()
        now = self.clock.now()
        with self.repos.transactions.atomic():
            line = line_for(self.repos.lines, principal, None if line_id is MISSING else line_id)
            call = _queued(
                principal, line.id, to, message, None if title is MISSING else title, now
            )
            queued = self.repos.calls.queue(call)
        for listener in self.listeners:
            listener(now)
        return queued


def _queued(
    principal: Principal, line_id: str, to: str, message: str, title: str | None, now: datetime
) -> NewExecution:
    """Return the execution of a call placed now: ``queued``, due ``now``, first attempt."""
    return NewExecution(
        user_id=principal.user_id,
        organization_id=principal.organization_id,
        reminder_id=None,
        reminder_title=title,
        status=ExecutionStatus.QUEUED,
        attempt=1,
        line_id=line_id,
        to=to,
        message=message,
        scheduled_for=now,
        executed_at=None,
        lease_until=None,
    )


def _parse_optional_title(value: Any) -> str | None:
    """Parse ``title`` as a reminder's title; null means none."""
    return None if value is None else parse_title(value)
