"""What the dispatcher's use cases pass around: a claimed attempt, a final outcome, the
provider budget of a claim batch, and the rows an attempt writes (``attempts`` uses them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from dialcues_core.accounts.model import OutboundLine, Provider, ProviderSettings
from dialcues_core.calling.gate import SkipReason
from dialcues_core.calling.policy import Identity
from dialcues_core.calling.predial import PredialTarget
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.outcomes import classify
from dialcues_core.calls.ports import CallEvent, LiveExecution, NewExecution
from dialcues_core.dispatch.gatekeeper import Gatekeeper
from dialcues_core.dispatch.ports import DispatchStore, DueReminder
from dialcues_core.reminders.model import ReminderStatus
from dialcues_core.reminders.steps import Attempted

MISSED_MESSAGE = "missed: the attempt could not be placed before the occurrence's lateness cap"
MISSING_LINE = "missing_outbound_line: the organization has no outbound line to call from"
ORPHAN_MESSAGE = "not dialed: the reminder was paused or deleted before its attempt"
UNKNOWN_MESSAGE = (
    "outcome_unknown: the provider could not confirm whether the call was placed before the"
    " occurrence's lateness cap; not redialed, since the person may have been called"
)
UNREACHABLE_MESSAGE = "provider_unreachable: {reason}"
IDENTITY_MESSAGE = (
    "caller_identity_required: the organization's calling policy has no {missing}; a call on a"
    " Vapi line must say who is calling (dialcues orgs set-policy)"
)


def identity_message(missing: list[str]) -> str:
    """The ``error_message`` of an attempt gate check 6 refused."""
    return IDENTITY_MESSAGE.format(missing=" and no ".join(missing))


def unidentified(
    keeper: Gatekeeper, org: str, purpose: str, line: OutboundLine | None
) -> list[str]:
    """Gate check 6: what a Vapi line's call lacks to say who is calling ([] when nothing,
    or when the line is simulated: nobody hears it)."""
    if line is None or line.provider is not Provider.VAPI or line.temporary:
        return []
    return keeper.effective(org).identity.missing(purpose)


@dataclass(frozen=True, slots=True)
class Claimed:
    """An execution this worker now owns and should dial (or reconcile)."""

    execution: LiveExecution
    line: OutboundLine
    provider: ProviderSettings | None
    predial: PredialTarget | None = None
    """The organization's pre-dial hook, asked before the dial (its ``execution.started`` is
    written only when the dial proceeds)."""
    identity: Identity | None = None
    """What the call says of its caller (the organization's policy)."""


@dataclass(frozen=True, slots=True)
class Finished:
    """A final outcome to apply to an execution."""

    execution_id: int
    status: ExecutionStatus
    retry: bool
    ended_at: datetime | None
    ended_reason: str | None = None
    duration_s: int | None = None
    cost: float | None = None
    error_message: str | None = None
    call_id: str | None = None
    operator_alert: bool = False
    """A configuration or billing problem the operator must fix (logged at ERROR)."""
    skip_reason: str | None = None
    """The pre-dial hook refused the attempt (``status`` ``skipped``): ``vetoed`` or
    ``predial_unavailable``."""

    @classmethod
    def from_event(cls, execution_id: int, event: CallEvent) -> Finished:
        """Build the outcome of a provider's final event (through the one outcome table)."""
        outcome = classify(event.ended_reason)
        return cls(
            execution_id=execution_id,
            status=outcome.status,
            retry=outcome.retry,
            ended_at=event.ended_at,
            ended_reason=event.ended_reason,
            duration_s=event.duration_s,
            cost=event.cost,
            error_message=outcome.error_message,
            call_id=event.call_id,
            operator_alert=outcome.operator_alert,
        )


class Budget:
    """Provider concurrency per organization, counted in the database across workers."""

    def __init__(self, store: DispatchStore, providers: dict[str, ProviderSettings | None]):
        self.store = store
        self.providers = providers
        self.left: dict[str, int] = {}
        self.refused: set[str] = set()

    def admit(self, org_id: str, line: OutboundLine | None) -> bool:
        """Tell whether one more call of the organization may go out on ``line`` now."""
        provider = self.providers.get(org_id)
        if line is None or line.provider is not Provider.VAPI or provider is None:
            return True
        if org_id not in self.left:
            self.left[org_id] = provider.concurrency - self.store.in_flight(org_id)
        if self.left[org_id] <= 0:
            self.refused.add(org_id)
            return False
        self.left[org_id] -= 1
        return True


def line_of(
    lines: dict[str, list[OutboundLine]], line_id: str | None, org: str
) -> OutboundLine | None:
    """Return the reminder's line, else the organization's default line, else None."""
    org_lines = lines.get(org, [])
    for line in org_lines:
        if line.id == line_id:
            return line
    return org_lines[0] if org_lines else None


def own_line(lines: dict[str, list[OutboundLine]], e: LiveExecution) -> OutboundLine | None:
    """Return the line an attempt was dialed from, if it still exists (no fallback)."""
    return next((line for line in lines.get(e.organization_id, []) if line.id == e.line_id), None)


def waits_for(found: tuple[Attempted, int | None] | None, execution_id: int) -> bool:
    """Tell whether a reminder (as ``attempted`` returned it) still waits for this attempt."""
    return (
        found is not None
        and found[1] == execution_id
        and found[0].status is ReminderStatus.IN_PROGRESS
    )


def as_retried(f: Finished) -> tuple[ExecutionStatus, bool]:
    """The outcome the retry policy sees: an unavailable pre-dial hook counts as a failed
    attempt (its delays, one attempt of the budget); a veto is never retried."""
    if f.skip_reason == SkipReason.PREDIAL_UNAVAILABLE.value:
        return ExecutionStatus.FAILED, True
    return f.status, f.retry


def acted(f: Finished, e: LiveExecution) -> Finished:
    """An outcome as the person's in-call actions make it: with an applied action the
    execution is ``completed`` (and never retried), whatever the provider reported."""
    if not e.actions.any_applied or f.skip_reason is not None:
        return f
    return replace(f, status=ExecutionStatus.COMPLETED, retry=False, error_message=None)


def no_line(execution_id: int, now: datetime) -> Finished:
    return Finished(execution_id, ExecutionStatus.FAILED, False, now, error_message=MISSING_LINE)


def new_execution(
    r: DueReminder,
    status: ExecutionStatus,
    line_id: str | None,
    now: datetime,
    lease_until: datetime | None,
) -> NewExecution:
    missed = status is ExecutionStatus.MISSED
    placed = status not in (ExecutionStatus.MISSED, ExecutionStatus.SKIPPED)
    return NewExecution(
        user_id=r.user_id,
        organization_id=r.organization_id,
        reminder_id=r.id,
        reminder_title=r.title,
        status=status,
        attempt=r.attempted.retry_count + 1,
        line_id=line_id,
        to=r.phone_number,
        message=r.message,
        scheduled_for=r.due_at,
        executed_at=now if placed else None,  # a missed or skipped attempt was never placed
        lease_until=lease_until,
        error_message=MISSED_MESSAGE if missed else None,
        ended_at=now if missed or status is ExecutionStatus.SKIPPED else None,
        occurrence_at=r.attempted.scheduled_at,
        purpose=r.attempted.purpose,
    )


def live_from(new_id: int, row: NewExecution) -> LiveExecution:
    return LiveExecution(
        id=new_id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        reminder_id=row.reminder_id,
        title=row.reminder_title or "Call",
        status=row.status,
        attempt=row.attempt,
        line_id=row.line_id,
        to=row.to,
        message=row.message,
        scheduled_for=row.scheduled_for,
        executed_at=row.executed_at,
        call_id=None,
        occurrence_at=row.occurrence_at,
        purpose=row.purpose,
    )
