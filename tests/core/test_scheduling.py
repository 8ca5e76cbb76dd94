"""The pure retry/advance policy: what a reminder does after an outcome or when found late.

The suite's policy is the compatibility one (``DIALCUES_RETRY_DELAYS=300,900``: three
attempts) with a 30-minute lateness cap and no calling window; windows and the other retry
rules have their own tests (``test_window_oracle.py``, ``test_calling_gate.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dialcues_core.calling import gate
from dialcues_core.calling.policy import AttemptRules
from dialcues_core.calling.retry import RetryPolicy
from dialcues_core.calling.shapes import FrequencyCaps
from dialcues_core.calling.zones import NO_ZONES, Place, WindowBasis
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.dispatch.policy import after_missed, after_outcome
from dialcues_core.reminders.model import RecurrenceKind, RecurrenceRule, ReminderStatus
from dialcues_core.reminders.steps import Attempted, NextStep

DELAYS = (300, 900)
GRACE = 1800

DAILY_0900_UTC = RecurrenceRule(
    kind=RecurrenceKind.DAILY, anchor=datetime(2026, 1, 1, 9, 0), zone="UTC"
)
EVERY_TEN_MINUTES = RecurrenceRule(
    kind=RecurrenceKind.CRON, anchor=datetime(2026, 1, 1, 0, 0), zone="UTC", cron="*/10 * * * *"
)


def at(iso: str) -> datetime:
    """An aware instant from a literal ISO string."""
    return datetime.fromisoformat(iso)


def one_off(scheduled_at: str = "2026-01-01T00:05:00+00:00", retry_count: int = 0) -> Attempted:
    """A one-off reminder with a call in the air."""
    return Attempted(ReminderStatus.IN_PROGRESS, at(scheduled_at), None, retry_count)


def series(
    rule: RecurrenceRule,
    scheduled_at: str,
    retry_count: int = 0,
    status: ReminderStatus | None = None,
) -> Attempted:
    """A recurring reminder (in progress unless told) at one of its occurrences."""
    return Attempted(status or ReminderStatus.IN_PROGRESS, at(scheduled_at), rule, retry_count)


RULES = AttemptRules(
    rules=None,
    basis=WindowBasis.STRICTEST,
    cap=timedelta(seconds=GRACE),
    retry=RetryPolicy.from_delays(DELAYS),
    caps=FrequencyCaps(None, None),
)
NOWHERE = Place("UTC", NO_ZONES)


def outcome(r: Attempted, status: ExecutionStatus, retry: bool, now: str) -> NextStep:
    """Apply the policy with the suite's delays (300 s, 900 s) and cap (30 min)."""
    step, _ = after_outcome(r, status, retry, at(now), RULES, NOWHERE)
    return step


def is_missed(occurrence: datetime, now: datetime, cap: int) -> bool:
    """The gate's check 3: past the occurrence's deadline (a one-off: occurrence + cap)."""
    return now > gate.deadline(occurrence, timedelta(seconds=cap), None)


# ----------------------------------------------------------------------------- delivered
def test_a_delivered_one_off_is_completed() -> None:
    step = outcome(one_off(), ExecutionStatus.COMPLETED, False, "2026-01-01T00:06:00+00:00")

    assert step.status is ReminderStatus.COMPLETED
    assert step.next_attempt_at is None
    assert step.due_at is None


def test_voicemail_counts_as_delivered_and_completes_a_one_off() -> None:
    step = outcome(one_off(), ExecutionStatus.VOICEMAIL, False, "2026-01-01T00:06:00+00:00")

    assert step.status is ReminderStatus.COMPLETED
    assert step.next_attempt_at is None


def test_voicemail_is_never_retried_even_when_asked_to() -> None:
    step = outcome(one_off(), ExecutionStatus.VOICEMAIL, True, "2026-01-01T00:06:00+00:00")

    assert (step.status, step.retry_count) == (ReminderStatus.COMPLETED, 0)


def test_a_delivered_recurring_reminder_moves_to_the_occurrence_after_the_current_one() -> None:
    # The outcome arrives two days late: the next occurrence is counted from the current
    # one (2 January), not from now (which would be 4 January).
    r = series(DAILY_0900_UTC, "2026-01-01T09:00:00+00:00")

    step = outcome(r, ExecutionStatus.COMPLETED, False, "2026-01-03T10:00:00+00:00")

    assert step.status is ReminderStatus.SCHEDULED
    assert step.scheduled_at.isoformat() == "2026-01-02T09:00:00+00:00"
    assert (step.retry_count, step.next_attempt_at) == (0, None)


def test_a_delivered_series_at_its_end_is_completed() -> None:
    ending = RecurrenceRule(
        kind=RecurrenceKind.DAILY,
        anchor=datetime(2026, 1, 1, 9, 0),
        zone="UTC",
        end_at=at("2026-01-02T09:00:00+00:00"),
    )
    r = series(ending, "2026-01-02T09:00:00+00:00")

    step = outcome(r, ExecutionStatus.COMPLETED, False, "2026-01-02T09:01:00+00:00")

    assert step.status is ReminderStatus.COMPLETED
    assert (step.retry_count, step.next_attempt_at) == (0, None)


# ----------------------------------------------------------------------------- retries
@pytest.mark.parametrize(
    "status", [ExecutionStatus.BUSY, ExecutionStatus.NO_ANSWER, ExecutionStatus.FAILED]
)
def test_a_retryable_outcome_with_budget_schedules_a_retry_after_the_first_delay(
    status: ExecutionStatus,
) -> None:
    step = outcome(one_off(), status, True, "2026-01-01T00:06:00+00:00")

    assert step.status is ReminderStatus.SCHEDULED
    assert step.retry_count == 1
    assert step.next_attempt_at is not None
    assert step.next_attempt_at.isoformat() == "2026-01-01T00:11:00+00:00"
    assert step.scheduled_at.isoformat() == "2026-01-01T00:05:00+00:00"


def test_the_second_retry_waits_the_second_delay() -> None:
    r = one_off(retry_count=1)

    step = outcome(r, ExecutionStatus.BUSY, True, "2026-01-01T00:12:00+00:00")

    assert step.retry_count == 2
    assert step.next_attempt_at == at("2026-01-01T00:27:00+00:00")


def test_a_pending_retry_is_what_the_dispatcher_waits_for() -> None:
    step = outcome(one_off(), ExecutionStatus.BUSY, True, "2026-01-01T00:06:00+00:00")

    assert step.due_at == at("2026-01-01T00:11:00+00:00")


def test_a_one_off_whose_retry_budget_is_spent_fails_keeping_its_retry_count() -> None:
    r = one_off(retry_count=2)

    step = outcome(r, ExecutionStatus.NO_ANSWER, True, "2026-01-01T00:28:00+00:00")

    assert step.status is ReminderStatus.FAILED
    assert step.retry_count == 2
    assert step.next_attempt_at is None


def test_a_retry_landing_past_the_grace_window_of_the_occurrence_is_not_scheduled() -> None:
    # 00:31 + 300 s = 00:36, more than 30 minutes after the 00:05 occurrence.
    step = outcome(one_off(), ExecutionStatus.BUSY, True, "2026-01-01T00:31:00+00:00")

    assert step.status is ReminderStatus.FAILED
    assert step.next_attempt_at is None


def test_a_retry_landing_exactly_at_the_end_of_the_grace_window_is_scheduled() -> None:
    step = outcome(one_off(), ExecutionStatus.BUSY, True, "2026-01-01T00:30:00+00:00")

    assert step.status is ReminderStatus.SCHEDULED
    assert step.next_attempt_at == at("2026-01-01T00:35:00+00:00")


def test_a_non_retryable_failure_is_not_retried() -> None:
    step = outcome(one_off(), ExecutionStatus.FAILED, False, "2026-01-01T00:06:00+00:00")

    assert step.status is ReminderStatus.FAILED
    assert (step.retry_count, step.next_attempt_at) == (0, None)


def test_a_recurring_retry_keeps_the_occurrence() -> None:
    r = series(DAILY_0900_UTC, "2026-01-01T09:00:00+00:00")

    step = outcome(r, ExecutionStatus.BUSY, True, "2026-01-01T09:01:00+00:00")

    assert step.status is ReminderStatus.SCHEDULED
    assert step.scheduled_at.isoformat() == "2026-01-01T09:00:00+00:00"
    assert step.next_attempt_at == at("2026-01-01T09:06:00+00:00")
    assert step.retry_count == 1


def test_a_recurring_retry_landing_on_the_next_occurrence_is_dropped_for_it() -> None:
    # 00:15 + 300 s = 00:20, exactly the series' next occurrence.
    r = series(EVERY_TEN_MINUTES, "2026-01-01T00:10:00+00:00")

    step = outcome(r, ExecutionStatus.BUSY, True, "2026-01-01T00:15:00+00:00")

    assert step.status is ReminderStatus.SCHEDULED
    assert step.scheduled_at.isoformat() == "2026-01-01T00:20:00+00:00"
    assert (step.retry_count, step.next_attempt_at) == (0, None)


def test_a_recurring_retry_landing_after_the_next_occurrence_is_dropped_for_it() -> None:
    r = series(EVERY_TEN_MINUTES, "2026-01-01T00:10:00+00:00", retry_count=1)

    step = outcome(r, ExecutionStatus.NO_ANSWER, True, "2026-01-01T00:16:00+00:00")

    assert step.scheduled_at.isoformat() == "2026-01-01T00:20:00+00:00"
    assert (step.retry_count, step.next_attempt_at) == (0, None)


def test_a_recurring_reminder_whose_retries_are_spent_moves_to_its_next_occurrence() -> None:
    r = series(DAILY_0900_UTC, "2026-01-01T09:00:00+00:00", retry_count=2)

    step = outcome(r, ExecutionStatus.BUSY, True, "2026-01-01T09:21:00+00:00")

    assert step.status is ReminderStatus.SCHEDULED
    assert step.scheduled_at.isoformat() == "2026-01-02T09:00:00+00:00"
    assert (step.retry_count, step.next_attempt_at) == (0, None)


# ----------------------------------------------------------------------------- missed
def test_an_occurrence_exactly_the_grace_window_late_is_not_missed() -> None:
    assert not is_missed(at("2026-01-01T00:05:00+00:00"), at("2026-01-01T00:35:00+00:00"), GRACE)


def test_an_occurrence_more_than_the_grace_window_late_is_missed() -> None:
    assert is_missed(at("2026-01-01T00:05:00+00:00"), at("2026-01-01T00:35:01+00:00"), GRACE)


def test_a_missed_one_off_fails() -> None:
    r = Attempted(ReminderStatus.SCHEDULED, at("2026-01-01T00:05:00+00:00"), None, 0)

    step = after_missed(r, at("2026-01-01T03:00:00+00:00"))

    assert step.status is ReminderStatus.FAILED
    assert step.next_attempt_at is None


def test_a_missed_series_moves_once_to_its_next_future_occurrence() -> None:
    # Four occurrences (1–4 January) passed while the platform was down: one step, to the
    # first occurrence after now, not one step per skipped occurrence.
    r = series(DAILY_0900_UTC, "2026-01-01T09:00:00+00:00", status=ReminderStatus.SCHEDULED)

    step = after_missed(r, at("2026-01-04T12:00:00+00:00"))

    assert step.status is ReminderStatus.SCHEDULED
    assert step.scheduled_at.isoformat() == "2026-01-05T09:00:00+00:00"
    assert (step.retry_count, step.next_attempt_at) == (0, None)


def test_a_missed_series_with_a_pending_retry_drops_the_retry() -> None:
    r = series(
        DAILY_0900_UTC, "2026-01-01T09:00:00+00:00", retry_count=1, status=ReminderStatus.SCHEDULED
    )

    step = after_missed(r, at("2026-01-01T12:00:00+00:00"))

    assert step.scheduled_at.isoformat() == "2026-01-02T09:00:00+00:00"
    assert (step.retry_count, step.next_attempt_at) == (0, None)


def test_a_missed_series_that_has_ended_is_completed() -> None:
    ending = RecurrenceRule(
        kind=RecurrenceKind.DAILY,
        anchor=datetime(2026, 1, 1, 9, 0),
        zone="UTC",
        end_at=at("2026-01-03T09:00:00+00:00"),
    )
    r = series(ending, "2026-01-01T09:00:00+00:00", status=ReminderStatus.SCHEDULED)

    step = after_missed(r, at("2026-01-05T12:00:00+00:00"))

    assert step.status is ReminderStatus.COMPLETED
