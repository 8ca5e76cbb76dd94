"""What a reminder does next after an attempt's outcome, or when it is found too late. Pure.

The rules (``public-api-v1.md``, "What the dispatcher guarantees"):

* delivered (``completed``/``voicemail``), or an outcome not worth retrying: a one-off is
  ``completed`` (delivered) or ``failed``; a recurring reminder moves to its next occurrence
  after the current one (``scheduled``, ``retry_count`` 0) or is ``completed`` when the series
  has ended;
* a retryable outcome with budget left: ``scheduled`` again, ``retry_count`` + 1,
  ``next_attempt_at`` = now + the next delay — but only while that time is within the grace
  window of the occurrence and before the series' next occurrence (a retry still pending
  when the next occurrence comes due is dropped);
* an occurrence found more than the grace window late (measured from the occurrence itself,
  retries included) is not dialed: one ``missed`` execution, and a one-off becomes ``failed``
  while a series moves to its next *future* occurrence.

Retries and late runs never shift a series: occurrences are always computed from the rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.reminders import lifecycle, recurrence
from dialcues_core.reminders.lifecycle import Action
from dialcues_core.reminders.model import RecurrenceRule, ReminderStatus
from dialcues_core.reminders.steps import Attempted, NextStep


def is_missed(scheduled_at: datetime, now: datetime, grace_seconds: int) -> bool:
    """Tell whether an occurrence is too late to dial."""
    return now - scheduled_at > timedelta(seconds=grace_seconds)


def after_outcome(
    r: Attempted,
    status: ExecutionStatus,
    retry: bool,
    now: datetime,
    delays: tuple[int, ...],
    grace_seconds: int,
) -> NextStep:
    """Return the reminder's next step after an attempt ended with ``status``."""
    if not status.is_delivered and retry and r.retry_count < len(delays):
        retry_at = now + timedelta(seconds=delays[r.retry_count])
        upcoming = _after(r.rule, r.scheduled_at)
        in_grace = retry_at - r.scheduled_at <= timedelta(seconds=grace_seconds)
        if in_grace and (upcoming is None or retry_at < upcoming):
            state = lifecycle.transition(r.status, Action.RETRY)
            return NextStep(state, r.scheduled_at, r.retry_count + 1, retry_at)
    return _move_on(r, r.scheduled_at, delivered=status.is_delivered)


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
