"""Dialed once, on time, the way production behaves: edits while an occurrence is due, pausing
and deleting while a call is in the air, canceled calls, call tokens, outcomes that stay
unknown, providers that cannot be reached. SQLite and PostgreSQL, on a fake clock.

The platform runs with retries after 300 s and 900 s, a 30-minute grace window (the lateness
cap) and a 120-second lease, from 2026-01-01T00:00:00Z.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Provider
from dialcues_core.adapters.peewee.tables import ExecutionRow
from dialcues_core.calls.calltoken import call_token
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.ports import CallEvent, CallRequest
from dialcues_core.dispatch.attempts import Attempts, Claimed
from dialcues_core.dispatch.dispatcher import Dispatcher
from dialcues_core.errors import (
    ProviderEventRejected,
    ProviderThrottled,
    ProviderUnknownOutcome,
    ProviderUnreachable,
)
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.testing import FakeClock

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
    settings = settings_for(any_url, retry_delays=(300, 900), max_lateness_seconds=1800)
    platform = Dialcues.open(settings=settings.replace(lease_seconds=120), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One organization with a simulated default line and one user."""
    return make_tenant(dc)


@pytest.fixture
def att(dc: Dialcues) -> Attempts:
    """The dispatcher's use cases."""
    return dc.attempts()


def remind(dc: Dialcues, t: Tenant, when: str = "2026-01-01T00:05:00Z", **fields: Any) -> Reminder:
    """Create a reminder (one-off unless ``fields`` say otherwise)."""
    payload = {
        "title": "Pills",
        "message": "Take your pills",
        "phone_number": "+14155550123",
        "timezone": "UTC",
        "scheduled_at": when,
        **fields,
    }
    return dc.reminders.create(t.principal, payload)


def reread(dc: Dialcues, t: Tenant, r: Reminder) -> Reminder:
    """The reminder as stored now."""
    return dc.reminders.get(t.principal, r.id)


def statuses(dc: Dialcues, t: Tenant, r: Reminder) -> list[ExecutionStatus]:
    """The statuses of the reminder's executions, oldest first."""
    page = dc.executions.list(t.principal, {"reminder_id": str(r.id), "page_size": "100"})
    return [e.status for e in sorted(page.items, key=lambda e: e.id)]


def end(att: Attempts, claim: Claimed, reason: str) -> None:
    """Apply the provider's final event of a claimed attempt."""
    event = CallEvent(
        f"call-{claim.execution.id}", claim.execution.id, "ended", ended_reason=reason
    )
    att.apply_events([(claim.execution.id, event)])


def schedule_of(r: Reminder) -> tuple[Any, ...]:
    """The fields an edit that does not reshape the series must leave alone."""
    return (r.scheduled_at, r.retry_count, r.next_attempt_at, r.status, r.local_time)


# ----------------------------------------------------------------------------- edits
def test_a_title_edit_while_an_occurrence_is_due_leaves_it_due_and_it_is_dialed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant, recurrence_type="daily")
    clock.set(DUE + timedelta(seconds=30))  # due, not yet dialed
    before = reread(dc, tenant, r)

    edited = dc.reminders.update(tenant.principal, r.id, {"title": "Vitamins"})

    assert schedule_of(edited) == schedule_of(before)
    (claim,) = att.claim(10)
    assert claim.execution.scheduled_for == DUE
    assert claim.execution.title == "Vitamins"


def test_a_message_edit_during_a_pending_retry_keeps_the_retry(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant, recurrence_type="daily")
    clock.set(DUE)
    (claim,) = att.claim(10)
    end(att, claim, "customer-busy")
    waiting = reread(dc, tenant, r)
    assert waiting.next_attempt_at == DUE + timedelta(seconds=300)

    edited = dc.reminders.update(tenant.principal, r.id, {"message": "Two pills"})

    assert schedule_of(edited) == schedule_of(waiting)
    clock.set(DUE + timedelta(seconds=300))
    (retry,) = att.claim(10)
    assert retry.execution.attempt == 2
    assert retry.execution.message == "Two pills"


def test_a_title_edit_when_the_last_occurrence_of_a_series_is_due_is_accepted(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(
        dc,
        tenant,
        recurrence_type="daily",
        recurrence_end_at="2026-01-02T00:05:00Z",
    )
    clock.set(DUE)
    (claim,) = att.claim(10)
    end(att, claim, "customer-ended-call")
    clock.set(DUE + timedelta(days=1, seconds=10))  # the last occurrence is due

    edited = dc.reminders.update(tenant.principal, r.id, {"title": "Last pills"})

    assert edited.scheduled_at == DUE + timedelta(days=1)
    assert [c.execution.scheduled_for for c in att.claim(10)] == [DUE + timedelta(days=1)]


def test_sending_the_current_schedule_back_reshapes_nothing(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant, recurrence_type="daily")
    clock.set(DUE)
    (claim,) = att.claim(10)
    end(att, claim, "customer-busy")
    waiting = reread(dc, tenant, r)
    same = {"timezone": "UTC", "scheduled_at": "2026-01-01T00:05:00Z", "recurrence_type": "daily"}

    edited = dc.reminders.update(tenant.principal, r.id, same)

    assert schedule_of(edited) == schedule_of(waiting)


def test_a_reshape_drops_a_pending_retry(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant, recurrence_type="daily")
    clock.set(DUE)
    (claim,) = att.claim(10)
    end(att, claim, "customer-busy")

    edited = dc.reminders.update(tenant.principal, r.id, {"scheduled_at": "2026-01-03T08:00:00Z"})

    assert (edited.scheduled_at, edited.retry_count, edited.next_attempt_at) == (
        datetime(2026, 1, 3, 8, 0, tzinfo=UTC),
        0,
        None,
    )


# ------------------------------------------------------------------- stop while in the air
def test_a_reminder_in_the_air_can_be_paused_and_nothing_more_is_dialed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant, recurrence_type="daily")
    clock.set(DUE)
    (claim,) = att.claim(10)

    paused = dc.reminders.update(tenant.principal, r.id, {"status": "paused"})
    end(att, claim, "customer-busy")  # retryable: but the person said stop

    assert paused.status is ReminderStatus.PAUSED
    assert statuses(dc, tenant, r) == [ExecutionStatus.BUSY]
    stored = reread(dc, tenant, r)
    assert (stored.status, stored.next_attempt_at) == (ReminderStatus.PAUSED, None)
    clock.set(DUE + timedelta(days=3))
    assert att.claim(10) == []


def test_a_reminder_in_the_air_refuses_other_edits(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant)
    clock.set(DUE)
    att.claim(10)

    with pytest.raises(Exception, match="in_progress cannot be updated"):
        dc.reminders.update(tenant.principal, r.id, {"title": "x"})


def test_a_reminder_in_the_air_can_be_deleted_and_its_outcome_is_still_recorded(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant, recurrence_type="daily")
    clock.set(DUE)
    (claim,) = att.claim(10)

    dc.reminders.delete(tenant.principal, r.id)
    end(att, claim, "customer-did-not-answer")

    stored = dc.executions.get(tenant.principal, claim.execution.id)
    assert (stored.status, stored.reminder_id) == (ExecutionStatus.NO_ANSWER, r.id)
    clock.set(DUE + timedelta(days=2))
    assert att.claim(10) == []


def test_a_throttled_attempt_of_a_paused_reminder_is_canceled_not_dialed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant)
    clock.set(DUE)
    (claim,) = att.claim(10)
    att.requeue(claim.execution.id, 30)  # the provider answered 429
    dc.reminders.update(tenant.principal, r.id, {"status": "paused"})

    clock.set(DUE + timedelta(seconds=31))

    assert att.claim(10) == []
    assert statuses(dc, tenant, r) == [ExecutionStatus.CANCELED]


# ----------------------------------------------------------------------------- canceled
@pytest.mark.parametrize("reason", ["manually-canceled", "scheduled-call-deleted"])
def test_a_call_vapi_canceled_is_canceled_and_a_series_moves_on(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock, reason: str
) -> None:
    r = remind(dc, tenant, recurrence_type="daily")
    clock.set(DUE)
    (claim,) = att.claim(10)

    end(att, claim, reason)

    assert statuses(dc, tenant, r) == [ExecutionStatus.CANCELED]
    stored = reread(dc, tenant, r)
    assert (stored.status, stored.scheduled_at, stored.retry_count) == (
        ReminderStatus.SCHEDULED,
        DUE + timedelta(days=1),
        0,
    )


def test_a_canceled_one_off_is_failed_without_a_retry(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    r = remind(dc, tenant)
    clock.set(DUE)
    (claim,) = att.claim(10)

    end(att, claim, "manually-canceled")

    assert reread(dc, tenant, r).status is ReminderStatus.FAILED


# ----------------------------------------------------------------------------- call tokens
def test_a_server_message_with_the_executions_call_token_is_applied(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    remind(dc, tenant)
    clock.set(DUE)
    (claim,) = att.claim(10)
    event = CallEvent("c1", claim.execution.id, "ended", ended_reason="customer-ended-call")

    assert att.receive_provider_message(call_token("s", claim.execution.id), event, event)


def test_another_executions_call_token_is_refused(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    remind(dc, tenant)
    clock.set(DUE)
    (claim,) = att.claim(10)
    event = CallEvent("c1", claim.execution.id, "ended", ended_reason="customer-ended-call")

    with pytest.raises(ProviderEventRejected):
        att.receive_provider_message(call_token("s", claim.execution.id + 1), event, event)


def test_a_message_of_an_ignored_type_is_still_authenticated(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    dc.accounts.set_provider(tenant.org.id, PROVIDER)
    remind(dc, tenant)
    clock.set(DUE)
    (claim,) = att.claim(10)
    about = CallEvent("c1", claim.execution.id, "in-progress")

    with pytest.raises(ProviderEventRejected):
        att.receive_provider_message("wrong", about, None)
    assert att.receive_provider_message("s", about, None) is False


# ------------------------------------------------------------- providers that never answer
class _Failing:
    """A dialer whose every request fails with ``error`` (no call is ever placed)."""

    def __init__(self, error: Exception):
        self.error = error
        self.creates = 0

    async def place_call(self, request: CallRequest) -> str:
        self.creates += 1
        raise self.error

    async def fetch_call(self, request: CallRequest, call_id: str) -> CallEvent | None:
        raise self.error

    async def find_call(self, request: CallRequest, created_after: datetime) -> CallEvent | None:
        raise self.error

    async def close(self) -> None:
        return None


def _dispatcher(dc: Dialcues, dialer: _Failing, clock: FakeClock) -> Dispatcher:
    async def offload(fn: Any, *args: Any) -> Any:
        return fn(*args)

    return Dispatcher(dc.attempts(), {Provider.VAPI: dialer}, offload, dc.settings, clock)


def _use_vapi(dc: Dialcues, t: Tenant) -> None:
    dc.accounts.set_provider(t.org.id, PROVIDER)
    dc.accounts.add_line(t.org.id, "vapi", "+14155550199", provider_line_id="pn", default=True)


async def _dial_once(dispatcher: Dispatcher, att: Attempts) -> None:
    for claim in att.claim(10):
        await dispatcher._dial(claim)
    await dispatcher.recorder.flush()


def test_an_unreachable_provider_fails_the_attempt_as_not_placed_and_retries(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    _use_vapi(dc, tenant)
    r = remind(dc, tenant)
    dialer = _Failing(ProviderUnreachable("Vapi could not be reached: Connection refused"))
    dispatcher = _dispatcher(dc, dialer, clock)
    clock.set(DUE)

    asyncio.run(_dial_once(dispatcher, att))

    (e,) = dc.executions.list(tenant.principal, {"reminder_id": str(r.id)}).items
    assert e.status is ExecutionStatus.FAILED
    assert (e.error_message or "").startswith("provider_unreachable")
    assert reread(dc, tenant, r).next_attempt_at == DUE + timedelta(seconds=300)


def test_an_unknown_create_ends_outcome_unknown_after_the_cap_and_is_never_redialed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    _use_vapi(dc, tenant)
    r = remind(dc, tenant)
    dialer = _Failing(ProviderUnknownOutcome("Vapi timed out (POST /call)."))
    dispatcher = _dispatcher(dc, dialer, clock)
    clock.set(DUE)
    asyncio.run(_dial_once(dispatcher, att))
    assert statuses(dc, tenant, r) == [ExecutionStatus.IN_PROGRESS]

    async def reconcile_at(moment: datetime) -> None:
        clock.set(moment)
        await dispatcher.reconcile_expired()
        await dispatcher.recorder.flush()

    asyncio.run(reconcile_at(DUE + timedelta(minutes=10)))
    assert statuses(dc, tenant, r) == [ExecutionStatus.IN_PROGRESS]  # still within the cap
    asyncio.run(reconcile_at(DUE + timedelta(minutes=31)))

    (e,) = dc.executions.list(tenant.principal, {"reminder_id": str(r.id)}).items
    assert e.status is ExecutionStatus.FAILED
    assert (e.error_message or "").startswith("outcome_unknown")
    assert reread(dc, tenant, r).status is ReminderStatus.FAILED
    assert dialer.creates == 1


class _NotFound(_Failing):
    """A provider that answers every lookup with "no such call" (and never creates one)."""

    async def find_call(self, request: CallRequest, created_after: datetime) -> CallEvent | None:
        return None


def test_no_such_call_is_not_conclusive_while_a_create_may_still_be_in_flight(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # A lease shorter than a slow create must not turn a create still in flight into "not
    # placed" (the person would be called twice): "not found" answers only after
    # SETTLE_SECONDS, when any create is over.
    _use_vapi(dc, tenant)
    r = remind(dc, tenant)
    dispatcher = _dispatcher(dc, _NotFound(ProviderUnknownOutcome("unused")), clock)
    clock.set(DUE)
    (claim,) = att.claim(10)

    async def lease_runs_out_and_is_reconciled_at(moment: datetime) -> None:
        ExecutionRow.update(lease_until=moment - timedelta(seconds=1)).where(
            ExecutionRow.id == claim.execution.id
        ).execute()
        clock.set(moment)
        await dispatcher.reconcile_expired()
        await dispatcher.recorder.flush()

    asyncio.run(lease_runs_out_and_is_reconciled_at(DUE + timedelta(seconds=5)))
    assert statuses(dc, tenant, r) == [ExecutionStatus.IN_PROGRESS]

    asyncio.run(lease_runs_out_and_is_reconciled_at(DUE + timedelta(seconds=25)))
    assert statuses(dc, tenant, r) == [ExecutionStatus.FAILED]


# ----------------------------------------------------------------------------- operator signals
def test_the_operator_is_told_of_throttles_unknown_creates_and_outcome_unknown(
    dc: Dialcues,
    tenant: Tenant,
    att: Attempts,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _use_vapi(dc, tenant)
    remind(dc, tenant)
    remind(dc, tenant, when="2026-01-01T00:05:01Z")
    clock.set(DUE + timedelta(seconds=1))
    throttled, unknown = att.claim(10)
    dispatcher = _dispatcher(dc, _Failing(ProviderThrottled("slow down", retry_after=7)), clock)
    guessing = _dispatcher(dc, _Failing(ProviderUnknownOutcome("Vapi timed out")), clock)

    with caplog.at_level(logging.WARNING, logger="dialcues.dispatcher"):
        asyncio.run(dispatcher._dial(throttled))
        asyncio.run(guessing._dial(unknown))

        async def past_the_cap() -> None:
            clock.set(DUE + timedelta(minutes=40))
            await guessing.reconcile_expired()
            await guessing.recorder.flush()

        asyncio.run(past_the_cap())

    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert (
        "WARNING",
        f"vapi throttled the create of execution {throttled.execution.id}"
        " (429, Retry-After 7 s); it waits",
    ) in messages
    assert any(
        level == "WARNING" and "unknown outcome" in text and "before any redial" in text
        for level, text in messages
    )
    assert any(level == "ERROR" and "ends outcome_unknown" in text for level, text in messages)


def test_an_outcome_learnt_only_by_reconciliation_is_a_warning(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class _Ended(_Failing):
        async def find_call(
            self, request: CallRequest, created_after: datetime
        ) -> CallEvent | None:
            return CallEvent("c-9", request.execution_id, "ended", ended_reason="voicemail")

    _use_vapi(dc, tenant)
    r = remind(dc, tenant)
    clock.set(DUE)
    att.claim(10)
    dispatcher = _dispatcher(dc, _Ended(ProviderUnknownOutcome("unused")), clock)

    async def lease_ends() -> None:
        clock.set(DUE + timedelta(minutes=3))
        await dispatcher.reconcile_expired()
        await dispatcher.recorder.flush()

    with caplog.at_level(logging.WARNING, logger="dialcues.dispatcher"):
        asyncio.run(lease_ends())

    assert statuses(dc, tenant, r) == [ExecutionStatus.VOICEMAIL]
    assert "its events are not arriving (check DIALCUES_PUBLIC_URL)" in caplog.text


def test_an_attempt_whose_line_was_removed_is_never_redialed_and_ends_outcome_unknown(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # Asking another line's phone number about the call would answer "no such call" and
    # redial a person who may have been called: the attempt waits for its cap instead.
    _use_vapi(dc, tenant)
    r = remind(dc, tenant)
    clock.set(DUE)
    (claim,) = att.claim(10)
    dc.accounts.remove_line(tenant.org.id, claim.line.id)
    dialer = _NotFound(ProviderUnknownOutcome("unused"))
    dispatcher = _dispatcher(dc, dialer, clock)

    async def reconcile_at(moment: datetime) -> None:
        clock.set(moment)
        await dispatcher.reconcile_expired()
        await dispatcher.recorder.flush()

    asyncio.run(reconcile_at(DUE + timedelta(minutes=5)))
    assert statuses(dc, tenant, r) == [ExecutionStatus.IN_PROGRESS]
    asyncio.run(reconcile_at(DUE + timedelta(minutes=40)))

    (e,) = dc.executions.list(tenant.principal, {"reminder_id": str(r.id)}).items
    assert (e.status, (e.error_message or "")[:15]) == (ExecutionStatus.FAILED, "outcome_unknown")
    assert dialer.creates == 0
