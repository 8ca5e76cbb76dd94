"""Place a call now: an execution ``queued`` and due at once, dialed by whichever dispatcher runs.

A call placed now takes the path of a reminder's attempt — claim, dial, outcome, webhooks —
with ``reminder_id`` null. It is **one attempt**: the organization's retry delays belong to
reminders, so a busy, unanswered or failed call now stays that way (place another to try
again). Two things still delay it without spending anything: a provider that throttles the
create (429) puts it back ``queued`` until its ``Retry-After``; and a call nobody dialed within
the lateness cap (``max_lateness_seconds``: no dispatcher ran) is recorded ``missed``. It passes
the calling gate like every attempt (the window, the frequency caps), checked first here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from dialcues_core.accounts.lines import line_for, parse_line_id
from dialcues_core.accounts.model import Principal, Provider
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.audit.service import AuditTrail
from dialcues_core.calling.admission import (
    audit_bypass,
    parse_override,
    refuse_outside,
    stamped,
)
from dialcues_core.calling.policy import PURPOSES, EffectivePolicy
from dialcues_core.calling.service import CallingPolicies
from dialcues_core.calling.shapes import Bypass, FrequencyCaps, ShapeError
from dialcues_core.calling.zones import NO_ZONES, Place, number_zones
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import CallRepository, NewExecution
from dialcues_core.consent.guard import refuse_unwanted
from dialcues_core.consent.ports import ConsentStore
from dialcues_core.errors import FrequencyCapReached
from dialcues_core.kernel.fields import (
    MISSING,
    FieldReader,
    choice_parser,
    given,
    parse_message,
    parse_title,
    require_object,
)
from dialcues_core.kernel.moments import parse_zone
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.ports import ChangeListener, Clock, Transactions
from dialcues_core.kernel.scopes import WRITE_CALLS, requires
from dialcues_core.kernel.timefmt import seconds

CALL_FIELDS = frozenset(
    {"to", "message", "title", "vapi_line_id", "purpose", "timezone", "calling_window"}
)
UNLOCATED = "is required: the location of this number is unknown"


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
        policies: CallingPolicies,
        listeners: list[ChangeListener] | None = None,
        audit: AuditTrail | None = None,
        consent: ConsentStore | None = None,
    ):
        self.consent = consent
        self.repos = repos
        self.clock = clock
        self.policies = policies
        self.audit = audit
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
        purpose = given(reader.read("purpose", choice_parser(PURPOSES))) or PURPOSES[0]
        zone = given(reader.read("timezone", _parse_optional_zone))
        now = self.clock.now()
        policy = self.policies.effective_of(principal.organization_id)
        window = given(reader.read("calling_window", lambda v: _call_window(v, policy)))
        rules = policy.for_attempt(window, None, None)
        place = Place(zone, number_zones(to) if to is not MISSING else NO_ZONES, policy.basis)
        if to is not MISSING and rules.rules is not None and not place.located_at(now):
            reader.fail("timezone", UNLOCATED)
        reader.raise_if_any()
        with self.repos.transactions.atomic():
            line = line_for(self.repos.lines, principal, None if line_id is MISSING else line_id)
            if self.consent is not None:
                vapi = line.provider is Provider.VAPI and not line.temporary
                org = principal.organization_id
                refuse_unwanted(self.consent, org, to, purpose, policy, vapi)
            refuse_outside(rules, place, [now], series=False, field="to")
            self._refuse_when_capped(principal.organization_id, to, policy.caps, now)
            call = _queued(
                principal, line.id, to, message, None if title is MISSING else title, now
            )
            call = replace(
                call,
                purpose=purpose,
                timezone=zone,
                calling_window=stamped(window, now, principal),
                occurrence_at=now,
            )
            queued = self.repos.calls.queue(call)
            if self.audit is not None:
                subject = ("execution", str(queued.id))
                audit_bypass(self.audit, principal.organization_id, window, principal, subject)
        for listener in self.listeners:
            listener(now)
        return queued

    def _refuse_when_capped(
        self, organization_id: str, to: str, caps: FrequencyCaps, now: datetime
    ) -> None:
        """422 ``frequency_cap_reached`` while the number's caps are full (§9)."""
        if caps.off:
            return
        counts = self.policies.placed_to(organization_id, to)
        free_at = counts.free_at(caps, now)
        if free_at > now:
            found = counts.counts(caps, now)
            limits = {"per_24h": caps.per_24h, "per_30d": caps.per_30d}
            shown = {
                name: {"limit": limit, "count": found[name]} if limit is not None else None
                for name, limit in limits.items()
            }
            raise FrequencyCapReached(seconds(free_at), shown)


def _call_window(value: Any, policy: EffectivePolicy) -> Bypass | None:
    """A call's ``calling_window``: a bypass or null (``responsible-calling.md`` §21: a call
    placed now has no hours of its own)."""
    found = parse_override(value, policy)
    if found is not None and not isinstance(found, Bypass):
        raise ShapeError('must be a bypass {"bypass": true, "reason": "…"} or null for a call')
    return found


def _parse_optional_zone(value: Any) -> str | None:
    """``timezone``: an IANA zone (where the recipient is), or null."""
    return None if value is None else parse_zone(value)[0]


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
