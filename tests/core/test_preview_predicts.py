"""The preview predicts the dispatcher (responsible-calling.md section 14, Done when 27): for
the reminders of items 2, 4, 6 and 19, every previewed occurrence is then dialed at its
``attempt_at`` (never a millisecond before), or skipped for its ``reason``; and
``next_eligible_at`` equals the first item's ``attempt_at``. SQLite and PostgreSQL, fake clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.providers.simulated.voice import simulated_reason
from dialcues_core.audit.model import Actor
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.ports import CallEvent
from dialcues_core.dispatch.attempts import Attempts
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)  # 05:00 in New York
MS = timedelta(milliseconds=1)


def at(text: str) -> datetime:
    """An instant from its ``…Z`` form."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn."""
    platform = Dialcues.open(settings=settings_for(any_url), clock=clock)
    yield platform
    platform.close()


def follow_the_preview(
    dc: Dialcues, tenant: Tenant, clock: FakeClock, payloads: list[dict[str, Any]], count: int
) -> list[tuple[str, str | None]]:
    """Create the reminders, preview the last one, then run the dispatcher through every
    previewed time and check it does what was foreseen; return the plans."""
    att: Attempts = dc.attempts()
    created = [dc.reminders.create(tenant.principal, p) for p in payloads]
    target = created[-1]
    preview = dc.reminders.occurrences(tenant.principal, target.id, {"count": str(count)})
    items = preview["items"]
    shown = dc.reminders.get(tenant.principal, target.id)
    first = items[0]["attempt_at"]
    assert (shown.next_eligible_at and shown.next_eligible_at.isoformat()) == (
        first and at(first).isoformat()
    )
    for item in items:
        occurrence = at(item["occurrence_at"])
        if item["plan"] != "dial":  # the claim at the occurrence waits or skips: no dial
            clock.set(occurrence)
            assert _mine(att, target.id) == []
        if item["plan"] == "skip":
            continue
        due = at(item["attempt_at"])
        clock.set(due - MS)
        assert _mine(att, target.id) == [], f"dialed before {item['attempt_at']}"
        clock.set(due)
        mine = _mine(att, target.id)
        assert len(mine) == 1, f"not dialed at {item['attempt_at']}"
        e = mine[0].execution
        ended = clock.advance(5)
        event = CallEvent(f"sim-{e.id}", e.id, "ended", simulated_reason(e.to), ended_at=ended)
        att.apply_events([(e.id, event)])
    clock.set(at(items[-1]["occurrence_at"]) + timedelta(hours=2))
    att.claim(50)  # let the last skips happen
    executions = dc.executions.list(
        tenant.principal, {"reminder_id": str(target.id), "page_size": "100"}
    ).items
    done = sorted(executions, key=lambda e: e.id)
    got = [
        ("skip", e.skip_reason) if e.status is ExecutionStatus.SKIPPED else ("dial", None)
        for e in done
    ]
    want = [("skip", i["reason"]) if i["plan"] == "skip" else ("dial", None) for i in items]
    assert got == want
    return [(i["plan"], i["reason"]) for i in items]


def _mine(att: Attempts, reminder_id: int) -> list[Any]:
    return [c for c in att.claim(50) if c.execution.reminder_id == reminder_id]


def ny(local: str, **more: Any) -> dict[str, Any]:
    """A reminder in New York to a New York number."""
    return {
        "title": "Pills",
        "message": "Take them",
        "phone_number": "+12125550143",
        "timezone": "America/New_York",
        "scheduled_at": local,
        **more,
    }


def policy(dc: Dialcues, tenant: Tenant, **changes: Any) -> None:
    """Set the organization's policy as an operator."""
    dc.policies.update(tenant.org.id, changes, actor=Actor("admin", "test"))


def test_items_2_and_6_waits_dials_and_blocked_date_skips(dc: Dialcues, clock: FakeClock) -> None:
    tenant = make_tenant(dc)
    policy(
        dc,
        tenant,
        calling_window={"start": "08:00", "end": "21:00"},
        blocked_dates=["2026-03-26"],
    )
    cron = ny("2026-03-25T07:30:00", recurrence_type="cron")
    cron["recurrence_config"] = {"expression": "30 7,12 * * *"}
    plans = follow_the_preview(dc, tenant, clock, [cron], 6)
    assert plans == [
        ("wait", "outside_calling_window"),
        ("dial", None),
        ("skip", "outside_calling_window"),
        ("skip", "outside_calling_window"),
        ("wait", "outside_calling_window"),
        ("dial", None),
    ]


def test_item_4_with_a_short_cap_every_0730_is_skipped(dc: Dialcues, clock: FakeClock) -> None:
    tenant = make_tenant(dc)
    policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"}, max_lateness_seconds=1200)
    cron = ny("2026-03-25T07:30:00", recurrence_type="cron")
    cron["recurrence_config"] = {"expression": "30 7,12 * * *"}
    plans = follow_the_preview(dc, tenant, clock, [cron], 4)
    assert [p for p, _ in plans] == ["skip", "dial", "skip", "dial"]


def test_item_19_the_third_call_in_a_day_is_skipped(dc: Dialcues, clock: FakeClock) -> None:
    tenant = make_tenant(dc)
    policy(dc, tenant, frequency_caps={"per_24h": 2, "per_30d": None})
    cron = ny("2026-03-25T09:00:00", recurrence_type="cron")
    cron["recurrence_config"] = {"expression": "0 9,10,11 * * *"}
    plans = follow_the_preview(dc, tenant, clock, [cron], 3)
    assert plans == [("dial", None), ("dial", None), ("skip", "frequency_cap")]


def test_a_policy_change_is_seen_by_the_next_claim(dc: Dialcues, clock: FakeClock) -> None:
    """Done when 28: the claim after ``set-policy`` commits reads the new window."""
    tenant = make_tenant(dc)
    att = dc.attempts()
    r = dc.reminders.create(tenant.principal, ny("2026-03-25T09:00:00"))  # 13:00Z
    policy(dc, tenant, calling_window={"start": "10:00", "end": "21:00"})
    clock.set(at("2026-03-25T13:00:00Z"))
    assert _mine(att, r.id) == []  # 09:00 is outside now: it waits for 10:00
    waiting = dc.reminders.get(tenant.principal, r.id)
    assert waiting.next_attempt_at == at("2026-03-25T14:00:00Z")
    policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    clock.set(at("2026-03-25T14:00:00Z"))
    assert len(_mine(att, r.id)) == 1


def test_a_reminders_own_hours_stay_within_an_organization_window_narrowed_later(
    dc: Dialcues, clock: FakeClock
) -> None:
    """Section 4.6: an override only narrows; the organization narrowing its window after the
    reminder was saved narrows the reminder's hours too."""
    tenant = make_tenant(dc)
    att = dc.attempts()
    policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    own = {"start": "09:00", "end": "20:00"}
    r = dc.reminders.create(tenant.principal, ny("2026-03-25T09:00:00", calling_window=own))
    policy(dc, tenant, calling_window={"start": "10:00", "end": "21:00"})
    clock.set(at("2026-03-25T13:00:00Z"))  # 09:00 in New York
    assert _mine(att, r.id) == []
    assert dc.reminders.get(tenant.principal, r.id).next_attempt_at == at("2026-03-25T14:00:00Z")


def test_an_overdue_occurrence_is_previewed_missed_and_has_no_next_eligible_time(
    dc: Dialcues, clock: FakeClock
) -> None:
    tenant = make_tenant(dc)
    r = dc.reminders.create(tenant.principal, ny("2026-03-25T09:00:00"))  # 13:00Z, cap 1 h
    clock.set(at("2026-03-25T15:00:00Z"))  # no dispatcher ran
    items = dc.reminders.occurrences(tenant.principal, r.id, {})["items"]
    assert [(i["plan"], i["attempt_at"], i["reason"]) for i in items] == [("skip", None, "missed")]
    assert dc.reminders.get(tenant.principal, r.id).next_eligible_at is None
    assert _mine(dc.attempts(), r.id) == []
    (run,) = dc.executions.list(tenant.principal, {"reminder_id": str(r.id)}).items
    assert run.status is ExecutionStatus.MISSED


def test_a_current_occurrence_waiting_for_the_window_is_previewed_as_a_wait(
    dc: Dialcues, clock: FakeClock
) -> None:
    tenant = make_tenant(dc)
    policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    cron = ny("2026-03-25T07:30:00", recurrence_type="cron")
    cron["recurrence_config"] = {"expression": "30 7,12 * * *"}
    r = dc.reminders.create(tenant.principal, cron)
    clock.set(at("2026-03-25T11:30:00Z"))
    assert _mine(dc.attempts(), r.id) == []  # it waits for 08:00
    clock.set(at("2026-03-25T11:45:00Z"))
    (first,) = dc.reminders.occurrences(tenant.principal, r.id, {"count": "1"})["items"]
    assert (first["plan"], first["attempt_at"], first["reason"]) == (
        "wait",
        "2026-03-25T12:00:00Z",
        "outside_calling_window",
    )
