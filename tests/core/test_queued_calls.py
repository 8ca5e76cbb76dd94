"""Queued executions (calls placed now, throttled attempts) on the dispatcher's claim path.

A real SQLite file on a :class:`FakeClock` with a 30-minute grace window: a provider's
throttle is a wait, not a missed occurrence; a call nobody dialed in time is still missed;
a call whose line was removed records the line it was dialed from.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.reminders.model import ReminderStatus
from dialcues_core.testing import FakeClock

START = datetime(2026, 1, 1, tzinfo=UTC)
GRACE = 1800
CALL = {"to": "+14155552671", "message": "Your table is ready"}


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-01-01T00:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on a SQLite file and the fake clock, grace 30 minutes."""
    platform = Dialcues.open(
        settings=settings_for(sqlite_url, max_lateness_seconds=GRACE, lease_seconds=120),
        clock=clock,
    )
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One organization with a simulated default line and one user."""
    return make_tenant(dc)


def status_of(dc: Dialcues, tenant: Tenant, execution_id: int) -> ExecutionStatus:
    """The execution's status as stored now."""
    return dc.executions.get(tenant.principal, execution_id).status


def test_a_call_throttled_past_the_grace_window_is_missed_not_dialed_late(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    # A call placed now is late by its creation (responsible-calling.md: "the organization's
    # [cap], counted from the call's creation"), a provider's wait included.
    placed = dc.calls.place(tenant.principal, CALL)
    att = dc.attempts()
    (first,) = att.claim(10)
    att.requeue(first.execution.id, GRACE + 600)  # Retry-After longer than the grace window

    clock.advance(GRACE + 600)

    assert att.claim(10) == []
    assert status_of(dc, tenant, placed.id) is ExecutionStatus.MISSED


def test_a_reminder_throttled_past_the_grace_window_is_missed_not_dialed_late(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    payload: dict[str, Any] = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155550123",
        "timezone": "UTC",
        "scheduled_at": "2026-01-01T00:05:00Z",
    }
    reminder = dc.reminders.create(tenant.principal, payload)
    att = dc.attempts()
    clock.set(START + timedelta(minutes=5))
    (first,) = att.claim(10)
    att.requeue(first.execution.id, GRACE + 600)

    clock.advance(GRACE + 600)

    # The grace window counts from the occurrence, a provider's wait included (the contract's
    # "Downtime"; responsible-calling.md: no attempt "that waited" is placed after its cap).
    assert att.claim(10) == []
    assert status_of(dc, tenant, first.execution.id) is ExecutionStatus.MISSED
    assert dc.reminders.get(tenant.principal, reminder.id).status is ReminderStatus.FAILED


def test_a_throttled_call_found_past_grace_after_its_wait_is_missed(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    placed = dc.calls.place(tenant.principal, CALL)
    att = dc.attempts()
    (first,) = att.claim(10)
    att.requeue(first.execution.id, 30)

    clock.advance(30 + GRACE + 1)  # nobody dialed it within grace of its new due time

    assert att.claim(10) == []
    assert status_of(dc, tenant, placed.id) is ExecutionStatus.MISSED


def test_a_call_nobody_claimed_within_grace_is_still_missed(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    placed = dc.calls.place(tenant.principal, CALL)

    clock.advance(GRACE + 1)

    assert dc.attempts().claim(10) == []
    assert status_of(dc, tenant, placed.id) is ExecutionStatus.MISSED


def test_a_call_whose_line_was_removed_records_the_fallback_line(
    dc: Dialcues, tenant: Tenant
) -> None:
    placed = dc.calls.place(tenant.principal, CALL)
    other = dc.accounts.add_line(tenant.org.id, "simulated", "+14155550177", label="Other")
    dc.accounts.remove_line(tenant.org.id, tenant.line.id)

    (claim,) = dc.attempts().claim(10)

    assert claim.line.id == other.id
    assert claim.execution.line_id == other.id
    assert dc.executions.get(tenant.principal, placed.id).line_id == other.id
