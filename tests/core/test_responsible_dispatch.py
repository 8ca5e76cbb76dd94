"""The gate and the retry policy at dispatch (``responsible-calling.md`` §2, §4.5, §5, §6, §9,
§13; Done when 4, 8, 9, 10, 11 (voicemail), 12, 19 and 20 in one process). SQLite and
PostgreSQL, on a fake clock.

The platform's own window and caps are off (``settings_for``) and its retry delays are
``1,2``; each test sets the organization's policy as an operator would. Reminders live in New
York and call a New York number, so "local" is New York time: on 2026-03-25 (EDT, UTC−4)
08:00 is 12:00Z and 21:00 is 01:00Z the next day. A claimed attempt ends the way the
simulated dialer ends it: by the ended reason its table gives the number's last four digits.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.providers.simulated.voice import simulated_reason
from dialcues_core.audit.model import Actor
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import CallEvent
from dialcues_core.dispatch.attempts import Attempts, Claimed
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)  # 05:00 in New York
MS = timedelta(milliseconds=1)
NY = "America/New_York"
PERSON = "+12125550143"  # completes
BUSY = "+12125550002"
NO_ANSWER = "+12125550003"
VOICEMAIL = "+12125550004"
FAILED_RETRIED = "+12125550005"
FAILED_FOR_GOOD = "+12125550006"
WINDOW = {"calling_window": {"start": "08:00", "end": "21:00"}}
CAP_2 = {"frequency_caps": {"per_24h": 2, "per_30d": None}}

SKIPPED, MISSED = ExecutionStatus.SKIPPED, ExecutionStatus.MISSED
SCHEDULED, FAILED = ReminderStatus.SCHEDULED, ReminderStatus.FAILED


def at(text: str) -> datetime:
    """An instant from its ISO form."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-03-25T09:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn: ``DIALCUES_RETRY_DELAYS=1,2``, default cap."""
    platform = Dialcues.open(settings=settings_for(any_url, retry_delays=(1, 2)), clock=clock)
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


# ----------------------------------------------------------------------------- helpers
def set_policy(dc: Dialcues, tenant: Tenant, **changes: Any) -> None:
    """Change the organization's calling policy as an operator."""
    dc.policies.update(tenant.org.id, changes, actor=Actor("admin", "test"))


def remind(dc: Dialcues, t: Tenant, local: str, phone: str = PERSON, **fields: Any) -> Reminder:
    """Create a reminder at the New York wall-clock time ``local`` (one-off unless told)."""
    payload = {
        "title": "Pills",
        "message": "Take your pills",
        "phone_number": phone,
        "timezone": NY,
        "scheduled_at": local,
        **fields,
    }
    return dc.reminders.create(t.principal, payload)


def reread(dc: Dialcues, t: Tenant, r: Reminder) -> Reminder:
    """The reminder as stored now."""
    return dc.reminders.get(t.principal, r.id)


def runs(dc: Dialcues, t: Tenant, r: Reminder | None = None) -> list[Execution]:
    """The executions (of one reminder, or all of the user's), oldest first."""
    query = {"page_size": "100"} | ({"reminder_id": str(r.id)} if r is not None else {})
    return sorted(dc.executions.list(t.principal, query).items, key=lambda e: e.id)


def claim_at(att: Attempts, clock: FakeClock, moment: datetime, limit: int = 50) -> list[Claimed]:
    """Move the clock to ``moment`` and claim."""
    clock.set(moment)
    return att.claim(limit)


def hang_up(att: Attempts, clock: FakeClock, claim: Claimed, seconds: float = 5) -> datetime:
    """Let the call last ``seconds``, then end it as the simulated dialer would; return its
    ``ended_at``."""
    ended = clock.advance(seconds)
    e = claim.execution
    event = CallEvent(
        f"sim-{e.id}", e.id, "ended", ended_reason=simulated_reason(e.to), ended_at=ended
    )
    att.apply_events([(e.id, event)])
    return ended


def ring(att: Attempts, clock: FakeClock, moment: datetime, seconds: float = 5) -> datetime:
    """Claim the one attempt due at ``moment`` and end it; return its ``ended_at``."""
    (claim,) = claim_at(att, clock, moment)
    return hang_up(att, clock, claim, seconds)


def dialed(executions: list[Execution]) -> list[Execution]:
    """The executions that were placed (neither skipped nor missed)."""
    return [e for e in executions if e.status not in (SKIPPED, MISSED)]


def gaps(executions: list[Execution]) -> list[timedelta | None]:
    """How long after each attempt's ``ended_at`` the next one was placed."""
    return [
        b.executed_at - a.ended_at if a.ended_at and b.executed_at else None
        for a, b in itertools.pairwise(executions)
    ]


def lateness(e: Execution) -> timedelta:
    """How long after its occurrence an attempt was placed."""
    assert e.executed_at is not None and e.occurrence_at is not None
    return e.executed_at - e.occurrence_at


# ----------------------------------------------------------------------------- item 4
def test_an_attempt_outside_the_window_waits_for_the_opening_without_an_execution(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, max_lateness_seconds=3600)
    r = remind(
        dc,
        tenant,
        "2026-03-25T07:30:00",
        recurrence_type="cron",
        recurrence_config={"expression": "30 7,12 * * *"},
    )

    claimed = claim_at(att, clock, at("2026-03-25T11:30:00Z"))  # 07:30 EDT

    waiting = reread(dc, tenant, r)
    assert claimed == []
    assert runs(dc, tenant, r) == []
    assert waiting.status is SCHEDULED
    assert waiting.scheduled_at == at("2026-03-25T11:30:00Z")
    assert waiting.next_attempt_at == at("2026-03-25T12:00:00Z")  # 08:00 EDT
    assert waiting.next_eligible_at == at("2026-03-25T12:00:00Z")
    assert waiting.retry_count == 0


def test_an_attempt_that_waited_for_the_window_is_dialed_at_the_opening(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, max_lateness_seconds=3600)
    r = remind(
        dc,
        tenant,
        "2026-03-25T07:30:00",
        recurrence_type="cron",
        recurrence_config={"expression": "30 7,12 * * *"},
    )
    claim_at(att, clock, at("2026-03-25T11:30:00Z"))

    early = claim_at(att, clock, at("2026-03-25T12:00:00Z") - MS)
    (claim,) = claim_at(att, clock, at("2026-03-25T12:00:00Z"))
    hang_up(att, clock, claim)

    (run,) = runs(dc, tenant, r)
    assert early == []
    assert (run.status, run.attempt) == (ExecutionStatus.COMPLETED, 1)
    assert run.executed_at == at("2026-03-25T12:00:00Z")
    assert run.occurrence_at == at("2026-03-25T11:30:00Z")
    moved = reread(dc, tenant, r)
    assert (moved.scheduled_at, moved.next_attempt_at) == (at("2026-03-25T16:30:00Z"), None)


@pytest.mark.parametrize("where", ["policy", "reminder"])
def test_an_attempt_whose_opening_is_past_the_cap_is_skipped_once_and_the_series_moves_on(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock, where: str
) -> None:
    set_policy(dc, tenant, **WINDOW, max_lateness_seconds=1200 if where == "policy" else 3600)
    own: dict[str, Any] = {"max_lateness_seconds": 1200} if where == "reminder" else {}
    r = remind(
        dc,
        tenant,
        "2026-03-25T07:30:00",
        recurrence_type="cron",
        recurrence_config={"expression": "30 7,12 * * *"},
        **own,
    )

    claimed = claim_at(att, clock, at("2026-03-25T11:30:00Z"))

    (run,) = runs(dc, tenant, r)
    assert claimed == []
    assert (run.status, run.skip_reason, run.attempt) == (SKIPPED, "outside_calling_window", 1)
    assert run.ended_at == at("2026-03-25T11:30:00Z")
    assert run.occurrence_at == at("2026-03-25T11:30:00Z")
    assert run.error_message
    moved = reread(dc, tenant, r)
    assert moved.status is SCHEDULED
    assert moved.scheduled_at == at("2026-03-25T16:30:00Z")  # 12:30 EDT
    assert (moved.next_attempt_at, moved.retry_count) == (None, 0)
    assert claim_at(att, clock, at("2026-03-25T16:29:59Z")) == []
    (noon,) = claim_at(att, clock, at("2026-03-25T16:30:00Z"))
    assert noon.execution.occurrence_at == at("2026-03-25T16:30:00Z")


def test_a_one_off_claimed_outside_the_window_past_its_cap_is_skipped_and_fails(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # created while the organization had no window; the operator then set 08:00–21:00
    r = remind(dc, tenant, "2026-03-25T07:30:00")
    set_policy(dc, tenant, **WINDOW, max_lateness_seconds=1200)

    claimed = claim_at(att, clock, at("2026-03-25T11:30:00Z"))

    (run,) = runs(dc, tenant, r)
    assert claimed == []
    assert (run.status, run.skip_reason) == (SKIPPED, "outside_calling_window")
    done = reread(dc, tenant, r)
    assert (done.status, done.next_attempt_at, done.last_execution_id) == (FAILED, None, run.id)
    assert claim_at(att, clock, at("2026-03-25T12:00:00Z")) == []


@pytest.mark.parametrize("reason", ["outside_calling_window", "frequency_cap"])
def test_an_attempt_the_gate_skips_was_never_placed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock, reason: str
) -> None:
    set_policy(dc, tenant, **WINDOW, max_lateness_seconds=1200, **CAP_2)
    if reason == "frequency_cap":
        remind(dc, tenant, "2026-03-25T10:00:00")
        remind(dc, tenant, "2026-03-25T10:05:00")
        r = remind(dc, tenant, "2026-03-25T10:10:00")
        ring(att, clock, at("2026-03-25T14:00:00Z"))
        ring(att, clock, at("2026-03-25T14:05:00Z"))
        claim_at(att, clock, at("2026-03-25T14:10:00Z"))
    else:
        r = remind(
            dc,
            tenant,
            "2026-03-25T07:30:00",
            recurrence_type="cron",
            recurrence_config={"expression": "30 7,12 * * *"},
        )
        claim_at(att, clock, at("2026-03-25T11:30:00Z"))

    (run,) = runs(dc, tenant, r)
    assert (run.status, run.skip_reason) == (SKIPPED, reason)
    assert run.executed_at is None


# ----------------------------------------------------------------------------- item 8
@pytest.mark.parametrize("where", ["policy", "reminder"])
def test_a_series_found_past_its_cap_records_one_missed_and_moves_to_its_next_future_occurrence(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock, where: str
) -> None:
    set_policy(dc, tenant, **WINDOW, max_lateness_seconds=1200 if where == "policy" else 3600)
    own: dict[str, Any] = {"max_lateness_seconds": 1200} if where == "reminder" else {}
    r = remind(dc, tenant, "2026-03-25T09:00:00", recurrence_type="daily", **own)

    # the dispatcher was stopped from before 09:00 on the 25th until the 28th at 10:00 EDT
    claimed = claim_at(att, clock, at("2026-03-28T14:00:00Z"))

    (run,) = runs(dc, tenant, r)
    assert claimed == []
    assert (run.status, run.executed_at) == (MISSED, None)
    assert run.scheduled_for == at("2026-03-25T13:00:00Z")
    moved = reread(dc, tenant, r)
    assert moved.status is SCHEDULED
    assert moved.scheduled_at == at("2026-03-29T13:00:00Z")
    assert (moved.retry_count, moved.next_attempt_at) == (0, None)
    assert moved.last_execution_id == run.id


@pytest.mark.parametrize(
    ("late", "placed"), [(timedelta(seconds=1200), True), (timedelta(seconds=1200) + MS, False)]
)
def test_an_occurrence_is_dialed_up_to_its_cap_and_missed_after_it(
    dc: Dialcues,
    tenant: Tenant,
    att: Attempts,
    clock: FakeClock,
    late: timedelta,
    placed: bool,
) -> None:
    set_policy(dc, tenant, **WINDOW, max_lateness_seconds=1200)
    r = remind(dc, tenant, "2026-03-25T09:00:00", recurrence_type="daily")

    claimed = claim_at(att, clock, at("2026-03-25T13:00:00Z") + late)

    assert len(claimed) == int(placed)
    assert [e.status for e in runs(dc, tenant, r)] == [
        ExecutionStatus.IN_PROGRESS if placed else MISSED
    ]


def test_a_pending_retry_found_past_the_cap_is_missed_and_the_series_moves_on(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(
        dc,
        tenant,
        **WINDOW,
        max_lateness_seconds=1200,
        retry_policy={"max_attempts": 3, "delays": {"busy": [60]}},
    )
    r = remind(dc, tenant, "2026-03-25T09:00:00", BUSY, recurrence_type="daily")
    ring(att, clock, at("2026-03-25T13:00:00Z"), seconds=30)
    assert reread(dc, tenant, r).next_attempt_at == at("2026-03-25T13:01:30Z")

    claimed = claim_at(att, clock, at("2026-03-25T13:30:00Z"))  # stopped meanwhile

    assert claimed == []
    assert [(e.status, e.attempt) for e in runs(dc, tenant, r)] == [
        (ExecutionStatus.BUSY, 1),
        (MISSED, 2),
    ]
    moved = reread(dc, tenant, r)
    assert (moved.status, moved.scheduled_at) == (SCHEDULED, at("2026-03-26T13:00:00Z"))
    assert (moved.retry_count, moved.next_attempt_at) == (0, None)


def test_no_dialed_attempt_is_placed_later_than_the_cap_after_its_occurrence(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # Busy every time, retried every 400 s for up to 10 attempts, cap 1200 s. Day 1 runs on
    # time; on day 2 the dispatcher starts 15 minutes late; on day 3 it is down past the cap.
    set_policy(
        dc,
        tenant,
        **WINDOW,
        max_lateness_seconds=1200,
        retry_policy={"max_attempts": 10, "delays": {"busy": [400]}},
    )
    r = remind(dc, tenant, "2026-03-25T09:00:00", BUSY, recurrence_type="daily")
    starts = {
        at("2026-03-25T13:00:00Z"): at("2026-03-25T13:00:00Z"),
        at("2026-03-26T13:00:00Z"): at("2026-03-26T13:15:00Z"),
        at("2026-03-27T13:00:00Z"): at("2026-03-27T13:25:00Z"),
    }
    while (due := att.next_due_at()) is not None and due < at("2026-03-28T00:00:00Z"):
        for claim in claim_at(att, clock, max(starts.get(due, due), clock.now())):
            hang_up(att, clock, claim, seconds=30)

    executions = runs(dc, tenant, r)
    placed = dialed(executions)
    assert [lateness(e) for e in placed] == [timedelta(seconds=s) for s in (0, 430, 860, 900)]
    assert all(lateness(e) <= timedelta(seconds=1200) for e in placed)
    assert [(e.status, e.skip_reason) for e in executions if e not in placed] == [
        (SKIPPED, "retry_window_closed"),
        (SKIPPED, "retry_window_closed"),
        (MISSED, None),
    ]


# ----------------------------------------------------------------------------- item 9
@pytest.mark.parametrize("where", ["policy", "reminder"])
def test_a_busy_one_off_is_dialed_three_times_1_and_2_seconds_after_each_end_then_fails(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock, where: str
) -> None:
    retry = {"max_attempts": 3, "delays": {"busy": [1, 2]}}
    if where == "policy":
        set_policy(dc, tenant, **WINDOW, retry_policy=retry)
    else:
        set_policy(dc, tenant, **WINDOW, retry_policy={"max_attempts": 1})
    own: dict[str, Any] = {"retry_policy": retry} if where == "reminder" else {}
    r = remind(dc, tenant, "2026-03-25T10:00:00", BUSY, **own)

    first_end = ring(att, clock, at("2026-03-25T14:00:00Z"))
    assert reread(dc, tenant, r).next_attempt_at == first_end + timedelta(seconds=1)
    assert claim_at(att, clock, first_end + timedelta(seconds=1) - MS) == []
    second_end = ring(att, clock, first_end + timedelta(seconds=1))
    assert reread(dc, tenant, r).next_attempt_at == second_end + timedelta(seconds=2)
    assert claim_at(att, clock, second_end + timedelta(seconds=2) - MS) == []
    ring(att, clock, second_end + timedelta(seconds=2))

    executions = runs(dc, tenant, r)
    assert [(e.attempt, e.status) for e in executions] == [
        (1, ExecutionStatus.BUSY),
        (2, ExecutionStatus.BUSY),
        (3, ExecutionStatus.BUSY),
    ]
    assert gaps(executions) == [timedelta(seconds=1), timedelta(seconds=2)]
    done = reread(dc, tenant, r)
    assert (done.status, done.next_attempt_at) == (FAILED, None)
    assert claim_at(att, clock, at("2026-03-25T15:00:00Z")) == []
    assert len(runs(dc, tenant, r)) == 3


# ----------------------------------------------------------------------------- item 10
def test_a_retry_after_2100_waits_for_0800_the_next_day_when_the_cap_covers_it(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(
        dc,
        tenant,
        **WINDOW,
        max_lateness_seconds=43200,
        retry_policy={"max_attempts": 3, "delays": {"busy": [600]}},
    )
    r = remind(dc, tenant, "2026-03-25T20:55:00", BUSY)

    ring(att, clock, at("2026-03-26T00:55:00Z"), seconds=30)  # would retry at 21:05:30 EDT

    waiting = reread(dc, tenant, r)
    assert (waiting.status, waiting.retry_count) == (SCHEDULED, 1)
    assert waiting.next_attempt_at == at("2026-03-26T12:00:00Z")  # 08:00 EDT
    assert claim_at(att, clock, at("2026-03-26T12:00:00Z") - MS) == []
    (retry,) = claim_at(att, clock, at("2026-03-26T12:00:00Z"))
    assert retry.execution.attempt == 2
    assert retry.execution.occurrence_at == at("2026-03-26T00:55:00Z")
    assert [e.status for e in runs(dc, tenant, r)] == [
        ExecutionStatus.BUSY,
        ExecutionStatus.IN_PROGRESS,
    ]


def test_a_retry_follows_the_reminders_own_narrower_hours(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(
        dc,
        tenant,
        **WINDOW,
        max_lateness_seconds=86400,
        retry_policy={"max_attempts": 3, "delays": {"busy": [600]}},
    )
    hours = {"calling_window": {"start": "09:00", "end": "17:00"}}
    r = remind(dc, tenant, "2026-03-25T16:55:00", BUSY, **hours)

    ring(att, clock, at("2026-03-25T20:55:00Z"), seconds=30)  # would retry at 17:05:30 EDT

    assert reread(dc, tenant, r).next_attempt_at == at("2026-03-26T13:00:00Z")  # 09:00 EDT


def test_a_retry_after_2100_past_the_default_cap_is_skipped_retry_window_closed(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, retry_policy={"max_attempts": 3, "delays": {"busy": [600]}})
    assert dc.policies.get_for(tenant.org.id).to_json()["max_lateness_seconds"] == 3600
    r = remind(dc, tenant, "2026-03-25T20:55:00", BUSY)

    ended = ring(att, clock, at("2026-03-26T00:55:00Z"), seconds=30)

    busy, skipped = runs(dc, tenant, r)
    assert busy.status is ExecutionStatus.BUSY
    assert (skipped.status, skipped.skip_reason) == (SKIPPED, "retry_window_closed")
    assert skipped.attempt == 2
    assert skipped.scheduled_for == at("2026-03-26T01:05:30Z")  # the time it would have had
    assert skipped.occurrence_at == at("2026-03-26T00:55:00Z")
    assert (skipped.executed_at, skipped.ended_at) == (None, ended)
    assert skipped.error_message
    done = reread(dc, tenant, r)
    assert (done.status, done.next_attempt_at) == (FAILED, None)
    assert done.last_execution_id == skipped.id
    assert claim_at(att, clock, at("2026-03-26T12:00:00Z")) == []


def test_the_evening_dose_of_section_5_ends_retry_window_closed_and_the_series_moves_on(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # §5 and §13.2: a daily 20:45 dose, busy delays [300, 900]: busy at 20:45 and 20:50;
    # the next retry (21:05) is outside and its opening is past the deadline (21:45).
    set_policy(
        dc, tenant, **WINDOW, retry_policy={"max_attempts": 3, "delays": {"busy": [300, 900]}}
    )
    r = remind(dc, tenant, "2026-03-25T20:45:00", BUSY, recurrence_type="daily")

    first = ring(att, clock, at("2026-03-26T00:45:00Z"), seconds=30)
    ended = ring(att, clock, first + timedelta(seconds=300), seconds=11)

    executions = runs(dc, tenant, r)
    assert [(e.attempt, e.status, e.skip_reason) for e in executions] == [
        (1, ExecutionStatus.BUSY, None),
        (2, ExecutionStatus.BUSY, None),
        (3, SKIPPED, "retry_window_closed"),
    ]
    assert executions[2].scheduled_for == at("2026-03-26T01:05:41Z")
    assert executions[2].ended_at == ended == at("2026-03-26T00:50:41Z")
    moved = reread(dc, tenant, r)
    assert (moved.status, moved.scheduled_at) == (SCHEDULED, at("2026-03-27T00:45:00Z"))
    assert (moved.retry_count, moved.next_attempt_at) == (0, None)


# ----------------------------------------------------------------------------- item 11
def test_a_voicemail_is_dialed_again_when_the_policy_retries_voicemail(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, retry_policy={"max_attempts": 2, "delays": {"voicemail": [1]}})
    r = remind(dc, tenant, "2026-03-25T10:00:00", VOICEMAIL)

    ended = ring(att, clock, at("2026-03-25T14:00:00Z"))

    waiting = reread(dc, tenant, r)
    assert (waiting.status, waiting.retry_count) == (SCHEDULED, 1)
    assert waiting.next_attempt_at == ended + timedelta(seconds=1)
    (again,) = claim_at(att, clock, ended + timedelta(seconds=1))
    assert again.execution.attempt == 2
    hang_up(att, clock, again)
    assert [e.status for e in runs(dc, tenant, r)] == [ExecutionStatus.VOICEMAIL] * 2
    # the budget is spent; the last dialed attempt reached voicemail: delivered (§1, §2)
    assert reread(dc, tenant, r).status is ReminderStatus.COMPLETED


def test_a_voicemail_is_not_dialed_again_when_voicemail_is_null_and_the_reminder_completes(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(
        dc,
        tenant,
        **WINDOW,
        retry_policy={"max_attempts": 3, "delays": {"busy": [1, 2], "voicemail": None}},
    )
    r = remind(dc, tenant, "2026-03-25T10:00:00", VOICEMAIL)

    ring(att, clock, at("2026-03-25T14:00:00Z"))

    done = reread(dc, tenant, r)
    assert (done.status, done.next_attempt_at, done.retry_count) == (
        ReminderStatus.COMPLETED,
        None,
        0,
    )
    assert claim_at(att, clock, at("2026-03-25T15:00:00Z")) == []
    assert [e.status for e in runs(dc, tenant, r)] == [ExecutionStatus.VOICEMAIL]


# ----------------------------------------------------------------------------- item 12
def test_without_a_policy_the_retry_delays_setting_is_the_derived_inherited_policy(
    dc: Dialcues, tenant: Tenant
) -> None:
    shown = dc.policies.get_for(tenant.org.id).to_json()

    assert shown["retry_policy"] == {
        "max_attempts": 3,
        "delays": {"busy": [1, 2], "no_answer": [1, 2], "failed": [1, 2], "voicemail": None},
    }
    assert "retry_policy" in shown["inherited"]


@pytest.mark.parametrize(
    ("phone", "status"),
    [
        (BUSY, ExecutionStatus.BUSY),
        (NO_ANSWER, ExecutionStatus.NO_ANSWER),
        (FAILED_RETRIED, ExecutionStatus.FAILED),
    ],
)
def test_without_a_policy_retry_delays_1_2_retry_twice_1_then_2_seconds_after_each_end(
    dc: Dialcues,
    tenant: Tenant,
    att: Attempts,
    clock: FakeClock,
    phone: str,
    status: ExecutionStatus,
) -> None:
    r = remind(dc, tenant, "2026-03-25T10:00:00", phone)

    due: datetime | None = at("2026-03-25T14:00:00Z")
    while due is not None:
        ring(att, clock, due)
        due = reread(dc, tenant, r).next_attempt_at

    executions = runs(dc, tenant, r)
    assert [(e.attempt, e.status) for e in executions] == [(1, status), (2, status), (3, status)]
    assert gaps(executions) == [timedelta(seconds=1), timedelta(seconds=2)]
    assert reread(dc, tenant, r).status is FAILED


@pytest.mark.parametrize(
    ("phone", "outcome"),
    [
        (VOICEMAIL, (ExecutionStatus.VOICEMAIL, ReminderStatus.COMPLETED)),
        (FAILED_FOR_GOOD, (ExecutionStatus.FAILED, FAILED)),
        (PERSON, (ExecutionStatus.COMPLETED, ReminderStatus.COMPLETED)),
    ],
)
def test_without_a_policy_voicemail_and_permanent_failures_are_not_retried(
    dc: Dialcues,
    tenant: Tenant,
    att: Attempts,
    clock: FakeClock,
    phone: str,
    outcome: tuple[ExecutionStatus, ReminderStatus],
) -> None:
    r = remind(dc, tenant, "2026-03-25T10:00:00", phone)

    ring(att, clock, at("2026-03-25T14:00:00Z"))

    assert claim_at(att, clock, at("2026-03-25T14:10:00Z")) == []
    (run,) = runs(dc, tenant, r)
    assert (run.status, reread(dc, tenant, r).status) == outcome


# ----------------------------------------------------------------------------- item 19


def test_a_third_attempt_within_24_hours_is_skipped_frequency_cap(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, **CAP_2)
    first, second, third = (
        remind(dc, tenant, f"2026-03-25T10:{minute}:00") for minute in ("00", "05", "10")
    )
    ring(att, clock, at("2026-03-25T14:00:00Z"))
    ring(att, clock, at("2026-03-25T14:05:00Z"))

    claimed = claim_at(att, clock, at("2026-03-25T14:10:00Z"))

    (run,) = runs(dc, tenant, third)
    assert claimed == []
    assert (run.status, run.skip_reason, run.attempt) == (SKIPPED, "frequency_cap", 1)
    assert run.ended_at == at("2026-03-25T14:10:00Z")
    assert run.error_message
    assert reread(dc, tenant, third).status is FAILED
    assert [reread(dc, tenant, r).status for r in (first, second)] == [ReminderStatus.COMPLETED] * 2


def test_a_third_attempt_waits_for_the_cap_to_free_when_its_cap_covers_it(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, **CAP_2)
    remind(dc, tenant, "2026-03-25T10:00:00")
    remind(dc, tenant, "2026-03-25T10:05:00")
    third = remind(dc, tenant, "2026-03-25T10:10:00", max_lateness_seconds=86400)
    ring(att, clock, at("2026-03-25T14:00:00Z"))
    ring(att, clock, at("2026-03-25T14:05:00Z"))

    claimed = claim_at(att, clock, at("2026-03-25T14:10:00Z"))

    waiting = reread(dc, tenant, third)
    assert claimed == []
    assert runs(dc, tenant, third) == []
    assert waiting.status is SCHEDULED
    assert waiting.next_attempt_at == at("2026-03-26T14:00:00Z")  # the first ages out
    assert claim_at(att, clock, at("2026-03-26T14:00:00Z") - MS) == []
    (claim,) = claim_at(att, clock, at("2026-03-26T14:00:00Z"))
    assert claim.execution.reminder_id == third.id
    assert claim.execution.occurrence_at == at("2026-03-25T14:10:00Z")


def test_a_cap_that_frees_outside_the_window_waits_for_the_opening_at_the_deadline(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    # Two bypassed 06:00 and 06:05 calls fill the cap until 06:00 the next day, outside the
    # window; the 08:00 reminder (cap 24 h) waits for the opening, 08:00: exactly its deadline.
    set_policy(dc, tenant, **WINDOW, **CAP_2)
    bypass: dict[str, Any] = {
        "calling_window": {"bypass": True, "reason": "Asked for an early call"}
    }
    remind(dc, tenant, "2026-03-25T06:00:00", **bypass)
    remind(dc, tenant, "2026-03-25T06:05:00", **bypass)
    third = remind(dc, tenant, "2026-03-25T08:00:00", max_lateness_seconds=86400)
    ring(att, clock, at("2026-03-25T10:00:00Z"))
    ring(att, clock, at("2026-03-25T10:05:00Z"))

    claim_at(att, clock, at("2026-03-25T12:00:00Z"))

    assert reread(dc, tenant, third).next_attempt_at == at("2026-03-26T12:00:00Z")
    (claim,) = claim_at(att, clock, at("2026-03-26T12:00:00Z"))
    assert claim.execution.reminder_id == third.id


def test_an_attempt_placed_24_hours_ago_no_longer_counts(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, **CAP_2)
    remind(dc, tenant, "2026-03-25T10:00:00")
    remind(dc, tenant, "2026-03-25T10:05:00")
    later = remind(dc, tenant, "2026-03-26T10:00:00")
    ring(att, clock, at("2026-03-25T14:00:00Z"))
    ring(att, clock, at("2026-03-25T14:05:00Z"))

    (claim,) = claim_at(att, clock, at("2026-03-26T14:00:00Z"))

    assert claim.execution.reminder_id == later.id


def test_another_number_is_not_held_back_by_a_full_cap(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, **CAP_2)
    remind(dc, tenant, "2026-03-25T10:00:00")
    remind(dc, tenant, "2026-03-25T10:05:00")
    other = remind(dc, tenant, "2026-03-25T10:10:00", "+12125550199")
    ring(att, clock, at("2026-03-25T14:00:00Z"))
    ring(att, clock, at("2026-03-25T14:05:00Z"))

    (claim,) = claim_at(att, clock, at("2026-03-25T14:10:00Z"))

    assert claim.execution.reminder_id == other.id


def test_the_cap_counts_every_user_of_the_organization_and_no_other_organization(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, **CAP_2)
    colleague = make_tenant(dc, org=tenant.org)
    stranger = make_tenant(dc)
    set_policy(dc, stranger, **WINDOW, **CAP_2)
    remind(dc, colleague, "2026-03-25T10:00:00")
    remind(dc, stranger, "2026-03-25T10:02:00")
    remind(dc, stranger, "2026-03-25T10:03:00")
    remind(dc, tenant, "2026-03-25T10:05:00")
    third = remind(dc, tenant, "2026-03-25T10:10:00")
    for minute in ("00", "02", "03", "05"):
        ring(att, clock, at(f"2026-03-25T14:{minute}:00Z"))

    claim_at(att, clock, at("2026-03-25T14:10:00Z"))

    (run,) = runs(dc, tenant, third)
    assert (run.status, run.skip_reason) == (SKIPPED, "frequency_cap")


def test_a_full_30_day_cap_skips_an_attempt_days_later(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, frequency_caps={"per_24h": None, "per_30d": 2})
    remind(dc, tenant, "2026-03-25T10:00:00")
    remind(dc, tenant, "2026-03-25T10:05:00")
    later = remind(dc, tenant, "2026-03-30T10:00:00")
    ring(att, clock, at("2026-03-25T14:00:00Z"))
    ring(att, clock, at("2026-03-25T14:05:00Z"))

    claimed = claim_at(att, clock, at("2026-03-30T14:00:00Z"))

    (run,) = runs(dc, tenant, later)
    assert claimed == []
    assert (run.status, run.skip_reason) == (SKIPPED, "frequency_cap")


# ----------------------------------------------------------------------------- item 20 (core)
def test_twenty_reminders_due_at_once_to_one_number_place_exactly_the_cap(
    dc: Dialcues, tenant: Tenant, att: Attempts, clock: FakeClock
) -> None:
    set_policy(dc, tenant, **WINDOW, frequency_caps={"per_24h": 6, "per_30d": None})
    reminders = [remind(dc, tenant, "2026-03-25T10:00:00") for _ in range(20)]

    claimed = claim_at(att, clock, at("2026-03-25T14:00:00Z"), limit=100)

    executions = runs(dc, tenant)
    assert len(claimed) == 6
    assert len(executions) == 20
    assert len(dialed(executions)) == 6
    assert (
        sorted(e.skip_reason or "" for e in executions if e.status is SKIPPED)
        == ["frequency_cap"] * 14
    )
    statuses = [reread(dc, tenant, r).status for r in reminders]
    assert statuses.count(ReminderStatus.IN_PROGRESS) == 6
    assert statuses.count(FAILED) == 14
