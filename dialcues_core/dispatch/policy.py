"""What a reminder does next after an attempt's outcome, a skip, or being found too late. Pure.

The rules (``public-api-v1.md`` "What the dispatcher guarantees", as ``responsible-calling.md``
§5–6 amend them):

* delivered (``completed``, or ``voicemail`` when voicemail is not retried), an outcome not
  worth retrying, or the occurrence's attempt budget spent: a one-off is ``completed`` (its
  last dialed attempt delivered) or ``failed``; a recurring reminder moves to its next
  occurrence after the current one (``scheduled``, ``retry_count`` 0) or is ``completed``
  when the series has ended;
* otherwise the retry waits the retry policy's delay for that outcome, counted from the
  attempt's end, moved to the calling window's opening. When that lies past the occurrence's
  deadline (the lateness cap, and strictly before the series' next occurrence) the retry is
  not scheduled: the occurrence ends and one ``skipped`` execution (``retry_window_closed``)
  records the attempt that would have been;
* a skip by the gate ends the occurrence the same way; an occurrence found past its deadline
  is ``missed``: a one-off becomes ``failed``, a series moves to its next *future* occurrence.

Retries, waits and late runs never shift a series: occurrences are always computed from the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialcues_core.calling import gate
from dialcues_core.calling.policy import AttemptRules
from dialcues_core.calling.zones import Place
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.reminders import lifecycle, recurrence
from dialcues_core.reminders.lifecycle import Action
from dialcues_core.reminders.model import RecurrenceRule, ReminderStatus
from dialcues_core.reminders.steps import Attempted, NextStep

OUTCOME_KEYS: dict[ExecutionStatus, str] = {
    ExecutionStatus.BUSY: "busy",
    ExecutionStatus.NO_ANSWER: "no_answer",
    ExecutionStatus.FAILED: "failed",
    ExecutionStatus.VOICEMAIL: "voicemail",
}
"""The retry policy's delay list each outcome reads."""


@dataclass(frozen=True, slots=True)
class Closed:
    """A retry that could not be placed before the deadline (recorded ``skipped``)."""

    scheduled_for: datetime
    attempt: int


def deadline_of(r: Attempted, cap: timedelta) -> datetime:
    """The last instant an attempt of the reminder's current occurrence may be placed."""
    return gate.deadline(r.scheduled_at, cap, _after(r.rule, r.scheduled_at))


def after_outcome(
    r: Attempted,
    status: ExecutionStatus,
    retry: bool,
    ended_at: datetime,
    rules: AttemptRules,
    place: Place,
) -> tuple[NextStep, Closed | None]:
    """Return the reminder's next step after an attempt ended with ``status`` (and the
    skipped retry to record, when the window and the cap leave it no room)."""
    attempt = r.retry_count + 1
    delay = _delay(status, retry, attempt, rules)
    if delay is None:
        return _move_on(r, r.scheduled_at, delivered=status.is_delivered), None
    wanted = ended_at + timedelta(seconds=delay)
    at = gate.opening(rules.rules, place, wanted, deadline_of(r, rules.cap))
    if at is None:
        moved = _move_on(r, r.scheduled_at, delivered=status.is_delivered)
        return moved, Closed(wanted, attempt + 1)
    state = lifecycle.transition(r.status, Action.RETRY)
    return NextStep(state, r.scheduled_at, r.retry_count + 1, at), None


def may_retry(status: ExecutionStatus, retry: bool) -> bool:
    """Tell whether a retry policy could retry this outcome (else the occurrence ends)."""
    if OUTCOME_KEYS.get(status) is None:
        return False  # completed, canceled, …: never retried
    return status is ExecutionStatus.VOICEMAIL or retry  # else a failure never retried


def after_final(r: Attempted, status: ExecutionStatus) -> NextStep:
    """The next step after an outcome no policy retries (:func:`may_retry` is false)."""
    return _move_on(r, r.scheduled_at, delivered=status.is_delivered)


def _delay(status: ExecutionStatus, retry: bool, attempt: int, rules: AttemptRules) -> int | None:
    if not may_retry(status, retry):
        return None
    return rules.retry.delay(OUTCOME_KEYS[status], attempt)


def after_wait(r: Attempted, at: datetime) -> NextStep:
    """The gate moved the attempt to ``at`` (the window's opening, a cap freeing)."""
    state = lifecycle.transition(r.status, Action.WAIT)
    return NextStep(state, r.scheduled_at, r.retry_count, at)


def after_skip(r: Attempted) -> NextStep:
    """The gate refused the attempt: the occurrence ends (not delivered)."""
    return _move_on(r, r.scheduled_at, delivered=False)


SUPPRESSIBLE = frozenset(
    s for s, targets in lifecycle.TRANSITIONS[Action.SUPPRESS].items() if targets
)
"""The statuses a reminder may become ``suppressed`` from."""


def after_suppressed(r: Attempted) -> NextStep:
    """The number is on the suppression list (a skip at the gate, or a stop in the call): the
    reminder becomes ``suppressed`` and waits for nothing."""
    state = lifecycle.transition(r.status, Action.SUPPRESS)
    return NextStep(state, r.scheduled_at, r.retry_count, None)


def snooze_at(r: Attempted, wanted: datetime, rules: AttemptRules, place: Place) -> datetime | None:
    """When a snooze asked for ``wanted`` would call back: moved to the window's opening;
    None when the occurrence has no attempt left or that is past its deadline (§11)."""
    if r.retry_count + 1 >= rules.retry.max_attempts:
        return None
    return gate.opening(rules.rules, place, wanted, deadline_of(r, rules.cap))


def after_snooze(r: Attempted, at: datetime) -> NextStep:
    """The person asked to be called again at ``at``: the next attempt of the occurrence;
    ``scheduled_at`` stays, so the series never drifts."""
    state = lifecycle.transition(r.status, Action.RETRY)
    return NextStep(state, r.scheduled_at, r.retry_count + 1, at)


def after_missed(r: Attempted, now: datetime) -> NextStep:
    """Return the next step of a reminder whose occurrence was found too late."""
    return _move_on(r, now, delivered=False)


def _move_on(r: Attempted, after: datetime, delivered: bool) -> NextStep:
    if r.rule is None:
        final = ReminderStatus.COMPLETED if delivered else ReminderStatus.FAILED
        state = lifecycle.transition(r.status, Action.FINISH, final)
        return NextStep(state, r.scheduled_at, r.retry_count, None)
    upcoming = _after(r.rule, after)
    if upcoming is None:
        state = lifecycle.transition(r.status, Action.FINISH, ReminderStatus.COMPLETED)
        return NextStep(state, r.scheduled_at, 0, None)
    return NextStep(lifecycle.transition(r.status, Action.ADVANCE), upcoming, 0, None)


def _after(rule: RecurrenceRule | None, moment: datetime) -> datetime | None:
    return recurrence.next_occurrence(rule, moment) if rule is not None else None
