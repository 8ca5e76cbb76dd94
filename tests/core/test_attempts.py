"""Attempts over SQLite and PostgreSQL: claim, record, retry, advance, reclaim, requeue.

The platform runs on a :class:`FakeClock` starting 2026-01-01T00:00:00Z with retries after
300 s and 900 s, a 30-minute grace window and a 120-second lease; reminders are created in
its future and "time passes" is one call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from support.platform import Tenant, make_tenant
from support.platform import settings_for as settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ExecutionRow
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import CallEvent
from dialcues_core.dispatch.attempts import Attempts, Claimed, Finished
from dialcues_core.errors import ProviderEventRejected
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.testing import FakeClock

T = TypeVar("T")

START = datetime(2026, 1, 1, tzinfo=UTC)
DUE = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
PROVIDER = {"provider": "vapi", "api_key": "k", "assistant_id": "a", "webhook_secret": "s"}


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-01-01T00:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn, on the fake clock."""
    platform = Dialcues.open(
        settings=settings_for(
            any_url, retry_delays=(300, 900), max_lateness_seconds=1800, lease_seconds=120
        ),
        clock=clock,
    )
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One organization with a simulated default line and one user."""
    return make_tenant(dc)


@pytest.fixture
def att(dc: Dialcues) -> Attempts:
    """The dispatcher's use cases over the platform's database."""
    return dc.attempts()


# ----------------------------------------------------------------------------- helpers
def remind(
    dc: Dialcues, tenant: Tenant, when: str = "2026-01-01T00:05:00Z", **fields: Any
) -> Reminder:
    """Create a one-off reminder (unless ``fields`` say otherwise) for the tenant's user."""
    payload = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155550123",
        "timezone": "UTC",
        "scheduled_at": when,
        **fields,
    }
    return dc.reminders.create(tenant.principal, payload)


def reread(dc: Dialcues, tenant: Tenant, reminder: Reminder) -> Reminder:
    """The reminder as stored now."""
    return dc.reminders.get(tenant.principal, reminder.id)


def executions_of(dc: Dialcues, tenant: Tenant, reminder: Reminder) -> list[Execution]:
    """The reminder's executions, oldest first."""
    page = dc.executions.list(
        tenant.principal, {"reminder_id": str(reminder.id), "page_size": "100"}
    )
    return sorted(page.items, key=lambda e: e.id)


def execution(dc: Dialcues, tenant: Tenant, execution_id: int) -> Execution:
    """One execution as stored now."""
    return dc.executions.get(tenant.principal, execution_id)


def committed(dc: Dialcues, read: Callable[[], T]) -> T:
    """Run ``read`` on another thread, hence another connection: it sees committed rows only."""

    def run() -> T:
        try:
            return read()
        finally:
            dc.db.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def claim_at(att: Attempts, clock: FakeClock, moment: datetime, limit: int = 10) -> list[Claimed]:
    """Move the clock to ``moment`` and claim."""
    clock.set(moment)
    return att.claim(limit)


def ended(execution_id: int, reason: str, call_id: str = "call-1") -> tuple[int, CallEvent]:
    """A provider's final event for an execution."""
    return execution_id, CallEvent(call_id, execution_id, "ended", ended_reason=reason)


def use_vapi(dc: Dialcues, tenant: Tenant, concurrency: int = 10) -> None:
    """Give the tenant's organization a Vapi account and a default Vapi line."""
    dc.accounts.set_provider(tenant.org.id, {**PROVIDER, "concurrency": concurrency})
    dc.accounts.add_line(
        tenant.org.id, "vapi", "+14155550199", provider_line_id="pn_1", default=True
    )


# ----------------------------------------------------------------------------- claiming
def test_a_due_reminder_is_claimed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)

    claimed = claim_at(att, clock, DUE)

    assert [c.execution.reminder_id for c in claimed] == [reminder.id]
    assert claimed[0].line.id == tenant.line.id


def test_a_claimed_reminder_is_not_claimed_a_second_time(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    claim_at(att, clock, DUE)

    assert att.claim(10) == []


def test_a_claim_commits_its_execution_in_progress_with_a_lease_before_any_dial(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)

    row = committed(dc, lambda: ExecutionRow.get_by_id(claim.execution.id))

    assert row.status == "in_progress"
    assert row.attempt == 1
    assert row.executed_at == DUE
    assert row.lease_until == DUE + timedelta(seconds=120)
    assert row.call_id is None


def test_a_reminder_not_yet_due_is_not_claimed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)

    assert claim_at(att, clock, DUE - timedelta(seconds=1)) == []


def test_a_paused_reminder_is_not_claimed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    dc.reminders.update(tenant.principal, reminder.id, {"status": "paused"})

    assert claim_at(att, clock, DUE) == []


def test_a_claimed_reminder_is_in_progress_with_its_last_execution(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)

    stored = reread(dc, tenant, reminder)

    assert stored.status is ReminderStatus.IN_PROGRESS
    assert stored.last_execution_id == claim.execution.id


def test_reminders_are_claimed_in_due_order(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    late = remind(dc, tenant, "2026-01-01T00:05:02Z")
    early = remind(dc, tenant, "2026-01-01T00:05:01Z")

    claimed = claim_at(att, clock, DUE + timedelta(seconds=2), limit=1)

    assert [c.execution.reminder_id for c in claimed] == [early.id]
    assert late.id != early.id


# ----------------------------------------------------------------------------- outcomes
def test_a_busy_attempt_schedules_a_retry_after_the_first_delay(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    clock.advance(60)

    att.finish([Finished(claim.execution.id, ExecutionStatus.BUSY, True, clock.now())])

    stored = reread(dc, tenant, reminder)
    assert stored.status is ReminderStatus.SCHEDULED
    assert stored.retry_count == 1
    assert stored.next_attempt_at == datetime(2026, 1, 1, 0, 11, tzinfo=UTC)
    assert stored.scheduled_at == DUE


def test_a_busy_event_records_the_outcome_on_the_execution(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)

    att.apply_events([ended(claim.execution.id, "customer-busy")])

    stored = execution(dc, tenant, claim.execution.id)
    assert stored.status is ExecutionStatus.BUSY
    assert (stored.ended_reason, stored.call_id) == ("customer-busy", "call-1")


def test_a_retry_is_claimed_at_its_time_as_attempt_2(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    (first,) = claim_at(att, clock, DUE)
    clock.advance(60)
    att.apply_events([ended(first.execution.id, "customer-busy")])
    retry_at = datetime(2026, 1, 1, 0, 11, tzinfo=UTC)

    early = claim_at(att, clock, retry_at - timedelta(seconds=1))
    (second,) = claim_at(att, clock, retry_at)

    assert early == []
    assert second.execution.reminder_id == reminder.id
    assert second.execution.id != first.execution.id
    assert second.execution.attempt == 2
    assert second.execution.scheduled_for == retry_at


def test_an_organizations_retry_delays_override_the_platforms(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, {**PROVIDER, "retry_delays": [30, 60]})
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)

    att.apply_events([ended(claim.execution.id, "customer-busy")])

    assert reread(dc, tenant, reminder).next_attempt_at == DUE + timedelta(seconds=30)


def test_a_one_off_not_answered_until_its_retries_are_spent_fails(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    due: datetime | None = DUE
    while due is not None:
        (claim,) = claim_at(att, clock, due)
        clock.advance(30)
        att.apply_events([ended(claim.execution.id, "customer-did-not-answer")])
        due = reread(dc, tenant, reminder).next_attempt_at

    stored = reread(dc, tenant, reminder)
    runs = executions_of(dc, tenant, reminder)
    assert stored.status is ReminderStatus.FAILED
    assert [(e.attempt, e.status) for e in runs] == [
        (1, ExecutionStatus.NO_ANSWER),
        (2, ExecutionStatus.NO_ANSWER),
        (3, ExecutionStatus.NO_ANSWER),
    ]


def test_a_duplicate_final_event_changes_nothing(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    first = att.apply_events([ended(claim.execution.id, "customer-busy")])
    after_first = reread(dc, tenant, reminder)
    clock.advance(30)

    second = att.apply_events([ended(claim.execution.id, "customer-busy")])

    assert (first, second) == (1, 0)
    assert reread(dc, tenant, reminder) == after_first


def test_a_final_event_for_another_call_id_is_ignored(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    att.record_call_ids([(claim.execution.id, "call-A")])

    changed = att.apply_events([ended(claim.execution.id, "customer-busy", call_id="call-B")])

    assert changed == 0
    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.IN_PROGRESS
    assert reread(dc, tenant, reminder).status is ReminderStatus.IN_PROGRESS


def test_a_completed_daily_reminder_moves_one_day_in_local_time(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # New York springs forward on 2026-03-08: 09:00 EST is 14:00Z, 09:00 EDT is 13:00Z.
    clock.set(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    reminder = remind(
        dc,
        tenant,
        "2026-03-07T09:00:00",
        timezone="America/New_York",
        recurrence_type="daily",
    )
    (claim,) = claim_at(att, clock, datetime(2026, 3, 7, 14, 0, tzinfo=UTC))
    clock.advance(60)

    att.apply_events([ended(claim.execution.id, "assistant-ended-call")])

    stored = reread(dc, tenant, reminder)
    assert stored.status is ReminderStatus.SCHEDULED
    assert stored.scheduled_at.isoformat() == "2026-03-08T13:00:00+00:00"
    assert (stored.retry_count, stored.next_attempt_at) == (0, None)


# ----------------------------------------------------------------------------- downtime
def test_a_series_found_past_grace_records_one_missed_execution(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant, recurrence_type="daily")

    claimed = claim_at(att, clock, datetime(2026, 1, 4, 12, 0, tzinfo=UTC))

    runs = executions_of(dc, tenant, reminder)
    assert claimed == []
    assert [e.status for e in runs] == [ExecutionStatus.MISSED]
    assert runs[0].executed_at is None


def test_a_series_found_past_grace_moves_to_its_next_future_occurrence(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant, recurrence_type="daily")

    claim_at(att, clock, datetime(2026, 1, 4, 12, 0, tzinfo=UTC))

    stored = reread(dc, tenant, reminder)
    assert stored.status is ReminderStatus.SCHEDULED
    assert stored.scheduled_at.isoformat() == "2026-01-05T00:05:00+00:00"
    assert stored.retry_count == 0


def test_a_one_off_found_past_grace_fails_with_one_missed_execution(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)

    claimed = claim_at(att, clock, DUE + timedelta(seconds=1801))

    stored = reread(dc, tenant, reminder)
    assert claimed == []
    assert stored.status is ReminderStatus.FAILED
    assert [e.status for e in executions_of(dc, tenant, reminder)] == [ExecutionStatus.MISSED]
    assert stored.last_execution_id == executions_of(dc, tenant, reminder)[0].id


def test_a_one_off_exactly_at_the_end_of_grace_is_still_dialed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)

    claimed = claim_at(att, clock, DUE + timedelta(seconds=1800))

    assert len(claimed) == 1


# ----------------------------------------------------------------------------- leases
def test_a_lease_is_not_reclaimed_before_it_expires(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    claim_at(att, clock, DUE)
    clock.advance(120)

    assert att.reclaim_expired(10) == []


def test_an_expired_lease_is_reclaimed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    clock.advance(121)

    reclaimed = att.reclaim_expired(10)

    assert [c.execution.id for c in reclaimed] == [claim.execution.id]
    assert reclaimed[0].execution.attempt == 1


def test_a_reclaimed_attempt_gets_a_fresh_lease(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    clock.advance(121)
    att.reclaim_expired(10)

    row = committed(dc, lambda: ExecutionRow.get_by_id(claim.execution.id))

    assert row.lease_until == clock.now() + timedelta(seconds=120)
    assert att.reclaim_expired(10) == []


def test_extend_keeps_a_live_call_from_being_reclaimed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    clock.advance(100)
    att.extend([claim.execution.id])
    clock.advance(100)

    assert att.reclaim_expired(10) == []


# ----------------------------------------------------------------------------- requeue
def test_a_throttled_attempt_goes_back_to_queued(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)

    att.requeue(claim.execution.id, 30)

    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.QUEUED


def test_a_throttled_attempt_is_not_claimed_before_its_wait_is_over(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    att.requeue(claim.execution.id, 30)

    assert claim_at(att, clock, DUE + timedelta(seconds=29)) == []


def test_a_throttled_attempt_is_claimed_again_as_the_same_execution_and_attempt(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    att.requeue(claim.execution.id, 30)

    (again,) = claim_at(att, clock, DUE + timedelta(seconds=30))

    assert (again.execution.id, again.execution.attempt) == (claim.execution.id, 1)
    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.IN_PROGRESS
    assert len(executions_of(dc, tenant, reminder)) == 1


def test_a_throttled_attempt_without_retry_after_waits_the_first_retry_delay(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    att.requeue(claim.execution.id, None)

    assert att.next_due_at() == DUE + timedelta(seconds=300)


def test_a_throttled_attempt_without_retry_after_waits_the_organizations_first_retry_delay(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # configuration.md: the organization's retry delays override DIALCUES_RETRY_DELAYS;
    # vapi.md: a 429 without Retry-After waits "the next retry delay".
    dc.accounts.set_provider(tenant.org.id, {**PROVIDER, "retry_delays": [30, 60]})
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)

    att.requeue(claim.execution.id, None)

    assert att.next_due_at() == DUE + timedelta(seconds=30)


def test_a_throttled_attempt_found_past_grace_is_not_dialed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # Throttled for 30 s, then the platform was down for two hours: the occurrence is far
    # past its grace window and must not be dialed ("Downtime" in the contract).
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    att.requeue(claim.execution.id, 30)

    claimed = claim_at(att, clock, DUE + timedelta(hours=2))

    assert claimed == []
    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.MISSED
    assert reread(dc, tenant, reminder).status is ReminderStatus.FAILED


# ----------------------------------------------------------------------------- webhooks
def test_a_provider_event_with_a_wrong_secret_is_rejected_and_changes_nothing(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    _, event = ended(claim.execution.id, "customer-ended-call")

    with pytest.raises(ProviderEventRejected):
        att.receive_provider_message("not-s", event, event)

    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.IN_PROGRESS
    assert reread(dc, tenant, reminder).status is ReminderStatus.IN_PROGRESS


def test_a_provider_event_without_a_secret_is_rejected_and_changes_nothing(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    _, event = ended(claim.execution.id, "customer-ended-call")

    with pytest.raises(ProviderEventRejected):
        att.receive_provider_message(None, event, event)

    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.IN_PROGRESS


def test_a_provider_event_for_an_organization_without_a_provider_is_rejected(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    _, event = ended(claim.execution.id, "customer-ended-call")

    with pytest.raises(ProviderEventRejected):
        att.receive_provider_message("s", event, event)

    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.IN_PROGRESS


def test_a_provider_event_with_another_organizations_secret_is_rejected(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    other = make_tenant(dc)
    dc.accounts.set_provider(other.org.id, {**PROVIDER, "webhook_secret": "theirs"})
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    _, event = ended(claim.execution.id, "customer-ended-call")

    with pytest.raises(ProviderEventRejected):
        att.receive_provider_message("theirs", event, event)

    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.IN_PROGRESS


def test_a_provider_event_for_an_unknown_execution_is_rejected(att: Attempts) -> None:
    event = CallEvent("call-x", 999_999, "ended", ended_reason="customer-ended-call")

    with pytest.raises(ProviderEventRejected):
        att.receive_provider_message("s", event, event)


def test_a_provider_event_with_the_right_secret_is_applied(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    reminder = remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    _, event = ended(claim.execution.id, "customer-ended-call")

    changed = att.receive_provider_message("s", event, event)

    assert changed is True
    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.COMPLETED
    assert reread(dc, tenant, reminder).status is ReminderStatus.COMPLETED


def test_a_provider_event_found_by_call_id_alone_is_applied(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    att.record_call_ids([(claim.execution.id, "call-1")])
    event = CallEvent("call-1", None, "ended", ended_reason="voicemail")

    assert att.receive_provider_message("s", event, event) is True
    assert execution(dc, tenant, claim.execution.id).status is ExecutionStatus.VOICEMAIL


# ----------------------------------------------------------------------------- lines
def test_an_organization_without_an_outbound_line_fails_the_attempt(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    dc.accounts.remove_line(tenant.org.id, tenant.line.id)

    claimed = claim_at(att, clock, DUE)

    (run,) = executions_of(dc, tenant, reminder)
    assert claimed == []
    assert run.status is ExecutionStatus.FAILED
    assert run.error_message is not None and "missing_outbound_line" in run.error_message
    assert reread(dc, tenant, reminder).status is ReminderStatus.FAILED


def test_a_reminder_whose_line_was_removed_calls_from_the_default_line(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    reminder = remind(dc, tenant)
    other = dc.accounts.add_line(tenant.org.id, "simulated", "+14155550177", label="Other")
    dc.accounts.remove_line(tenant.org.id, tenant.line.id)

    (claim,) = claim_at(att, clock, DUE)

    assert claim.line.id == other.id
    assert claim.execution.reminder_id == reminder.id


def test_a_vapi_organization_has_no_more_calls_in_the_air_than_its_concurrency(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    use_vapi(dc, tenant, concurrency=2)
    for _ in range(5):
        remind(dc, tenant)

    first = claim_at(att, clock, DUE)
    second = att.claim(10)

    assert len(first) == 2
    assert second == []


def test_a_vapi_organization_gets_a_call_back_when_one_ends(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    use_vapi(dc, tenant, concurrency=2)
    for _ in range(5):
        remind(dc, tenant)
    first = claim_at(att, clock, DUE)
    att.apply_events([ended(first[0].execution.id, "customer-ended-call")])

    assert len(att.claim(10)) == 1


def test_a_saturated_organization_does_not_hold_back_another_organizations_reminders(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # The busy organization's waiting reminders are due first and fill the claim's limit;
    # the other organization's line has capacity, so its reminder must still go out on time
    # ("On time" in the contract). The dispatcher claims min(100, free workers) at a time.
    use_vapi(dc, tenant, concurrency=2)
    for _ in range(5):
        remind(dc, tenant)
    other = make_tenant(dc)
    theirs = remind(dc, other, "2026-01-01T00:05:01Z")
    claim_at(att, clock, DUE + timedelta(seconds=1), limit=2)

    claimed = att.claim(3)

    assert [c.execution.reminder_id for c in claimed] == [theirs.id]


# ----------------------------------------------------------------------------- due times
def test_next_due_at_is_the_earliest_due_time(dc: Dialcues, tenant: Tenant, att: Attempts) -> None:
    remind(dc, tenant, "2026-01-01T00:07:00Z")
    remind(dc, tenant, "2026-01-01T00:05:00Z")
    remind(dc, tenant, "2026-01-01T00:06:00Z")

    assert att.next_due_at() == DUE


def test_next_due_at_is_a_pending_retry_time(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    remind(dc, tenant)
    (claim,) = claim_at(att, clock, DUE)
    att.apply_events([ended(claim.execution.id, "customer-busy")])

    assert att.next_due_at() == DUE + timedelta(seconds=300)


def test_next_due_at_ignores_paused_reminders(dc: Dialcues, tenant: Tenant, att: Attempts) -> None:
    paused = remind(dc, tenant, "2026-01-01T00:05:00Z")
    remind(dc, tenant, "2026-01-01T00:09:00Z")
    dc.reminders.update(tenant.principal, paused.id, {"status": "paused"})

    assert att.next_due_at() == datetime(2026, 1, 1, 0, 9, tzinfo=UTC)


def test_next_due_at_is_none_when_nothing_waits(att: Attempts) -> None:
    assert att.next_due_at() is None


# ----------------------------------------------------------------------------- concurrency
def test_two_workers_claiming_at_once_never_claim_the_same_reminder(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    for i in range(200):
        remind(dc, tenant, f"2026-01-01T00:05:{i % 60:02d}Z")
    clock.set(DUE + timedelta(minutes=1))
    start = threading.Barrier(2)

    def worker() -> list[int]:
        att = dc.attempts()
        taken: list[int] = []
        try:
            start.wait()
            while batch := att.claim(7):
                taken += [c.execution.reminder_id for c in batch]
        finally:
            dc.db.close()
        return taken

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result() for f in [pool.submit(worker), pool.submit(worker)]]

    everything = results[0] + results[1]
    assert len(everything) == 200
    assert len(set(everything)) == 200
