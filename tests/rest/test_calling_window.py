"""The calling window at create and update, and on calls placed now (responsible-calling.md
section 4.4, 4.6, 17; Done when 1, 2, 3, 5, 6, 7, 28) through the real app.

The platform's own window is off in tests; each test sets the organization's policy as an
operator would (the embedding API, actor ``admin``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.testing import FakeClock
from rest.support import Api, reminder_payload

NEW_YORK_TO_SF = {"timezone": "America/New_York", "phone_number": "+14155552671"}
NEW_YORK_TO_NY = {"timezone": "America/New_York", "phone_number": "+12125550143"}


def set_policy(dc: Dialcues, tenant: Tenant, **changes: Any) -> None:
    """Change the tenant's organization's policy as an operator."""
    dc.policies.update(tenant.org.id, changes, actor=Actor("admin", "test"))


@pytest.fixture
def default_window(dc: Dialcues, tenant: Tenant) -> None:
    """The organization's window: 08:00–21:00 every day (the platform default)."""
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})


async def test_a_one_off_at_0630_is_422_naming_scheduled_at_with_zones_and_opening(
    api: Api, default_window: None
) -> None:
    reply = await api.post(
        "/reminders", json=reminder_payload(**NEW_YORK_TO_SF, scheduled_at="2026-03-25T06:30:00")
    )
    assert reply.status == 422, reply.text
    assert reply.code == "outside_calling_window"
    details = reply.body["error"]["details"]
    assert set(details["fields"]) == {"scheduled_at"}
    assert details["window_zones"] == ["America/New_York", "America/Los_Angeles"]
    # 08:00 in Los Angeles (PDT, UTC-7) is the first instant inside in both zones
    assert details["next_allowed_at"] == "2026-03-25T15:00:00Z"
    assert "America/New_York" in details["fields"]["scheduled_at"]


async def test_problem_details_carry_the_pointer_of_the_refused_field(
    api: Api, default_window: None
) -> None:
    reply = await api.post(
        "/reminders",
        json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at="2026-03-25T06:30:00"),
        headers={"Accept": "application/problem+json"},
    )
    assert reply.status == 422
    assert reply.body["code"] == "outside_calling_window"
    assert [e["pointer"] for e in reply.body["errors"]] == ["/scheduled_at"]


async def test_the_end_minute_is_inside_and_the_next_is_not(api: Api, default_window: None) -> None:
    at_nine = await api.post(
        "/reminders", json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at="2026-03-25T21:00:00")
    )
    past_nine = await api.post(
        "/reminders", json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at="2026-03-25T21:01:00")
    )
    assert (at_nine.status, past_nine.status) == (201, 422)


async def test_a_bypass_with_a_reason_is_201_shown_and_audited(
    api: Api, default_window: None, dc: Dialcues, tenant: Tenant
) -> None:
    body = await api.create(
        **NEW_YORK_TO_NY,
        scheduled_at="2026-03-25T06:30:00",
        calling_window={"bypass": True, "reason": "Asked for a 06:30 wake-up call"},
    )
    assert body["calling_window"] == {
        "bypass": True,
        "reason": "Asked for a 06:30 wake-up call",
        "bypassed_at": "2026-03-01T12:00:00Z",
        "bypassed_by": {
            "type": "api_key",
            "id": tenant.principal.api_key_id,
            "user_id": tenant.user.id,
        },
    }
    assert body["next_eligible_at"] == body["scheduled_at"]
    assert (await api.get(f"/reminders/{body['id']}")).body["calling_window"] == body[
        "calling_window"
    ]
    events = (await api.get("/audit/events", params={"action": "calling_window.bypassed"})).body
    assert [(e["subject"], e["detail"], e["actor"]["type"]) for e in events["items"]] == [
        (
            {"type": "reminder", "id": str(body["id"])},
            {"reason": body["calling_window"]["reason"]},
            "api_key",
        )
    ]


async def test_a_bypass_while_the_policy_forbids_one_is_400_bypass_not_allowed(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, allow_window_bypass=False)
    reply = await api.post(
        "/reminders",
        json=reminder_payload(calling_window={"bypass": True, "reason": "Night shift"}),
    )
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.body["error"]["details"]["reasons"] == {"calling_window": "bypass_not_allowed"}


async def test_an_override_wider_than_the_policy_is_400_and_a_narrower_one_applies(
    api: Api, default_window: None
) -> None:
    wider = await api.post(
        "/reminders",
        json=reminder_payload(calling_window={"start": "07:00", "end": "21:00"}),
    )
    assert (wider.status, wider.body["error"]["details"]["reasons"]) == (
        400,
        {"calling_window": "wider_than_policy"},
    )
    narrower = await api.post(
        "/reminders",
        json=reminder_payload(
            **NEW_YORK_TO_NY,
            scheduled_at="2026-03-25T09:00:00",
            calling_window={"start": "10:00", "end": "17:00", "days": [5, 1, 2, 3, 4]},
        ),
    )
    assert narrower.status == 422  # 09:00 is outside the reminder's own 10:00–17:00
    ok = await api.create(
        **NEW_YORK_TO_NY,
        scheduled_at="2026-03-25T10:00:00",
        calling_window={"start": "10:00", "end": "17:00", "days": [5, 1, 2, 3, 4]},
    )
    assert ok["calling_window"] == {"start": "10:00", "end": "17:00", "days": [1, 2, 3, 4, 5]}


async def test_a_daily_series_at_0600_is_422_and_a_cron_partly_inside_is_201(
    api: Api, default_window: None
) -> None:
    daily = await api.post(
        "/reminders",
        json=reminder_payload(
            **NEW_YORK_TO_NY, scheduled_at="2026-03-25T06:00:00", recurrence_type="daily"
        ),
    )
    assert (daily.status, daily.code) == (422, "outside_calling_window")
    cron = await api.create(
        **NEW_YORK_TO_NY,
        scheduled_at="2026-03-25T07:30:00",
        recurrence_type="cron",
        recurrence_config={"expression": "30 7,12 * * *"},
    )
    # the 07:30 occurrence waits for the window's opening (the default cap covers 30 minutes)
    assert cron["scheduled_at"] == "2026-03-25T11:30:00Z"
    assert cron["next_eligible_at"] == "2026-03-25T12:00:00Z"


async def test_the_number_zone_counts_unless_the_basis_is_the_reminder_zone(
    api: Api, default_window: None, dc: Dialcues, tenant: Tenant
) -> None:
    at = {"timezone": "America/New_York", "phone_number": "+14155552671"}
    early = await api.post(
        "/reminders", json=reminder_payload(**at, scheduled_at="2026-03-25T10:30:00")
    )
    eleven = await api.post(
        "/reminders", json=reminder_payload(**at, scheduled_at="2026-03-25T11:00:00")
    )
    toll_free = await api.post(
        "/reminders",
        json=reminder_payload(
            timezone="America/New_York",
            phone_number="+18005550199",
            scheduled_at="2026-03-25T08:00:00",
        ),
    )
    assert (early.status, eleven.status, toll_free.status) == (422, 201, 201)
    set_policy(dc, tenant, window_basis="reminder_zone")
    again = await api.post(
        "/reminders", json=reminder_payload(**at, scheduled_at="2026-03-25T10:30:00")
    )
    assert again.status == 201


async def test_the_opening_on_the_spring_forward_day_follows_the_wall_clock(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    spring = await api.post(
        "/reminders", json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at="2027-03-14T07:00:00")
    )
    before = await api.post(
        "/reminders", json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at="2027-03-13T07:00:00")
    )
    assert spring.body["error"]["details"]["next_allowed_at"] == "2027-03-14T12:00:00Z"
    assert before.body["error"]["details"]["next_allowed_at"] == "2027-03-13T13:00:00Z"
    set_policy(dc, tenant, calling_window={"start": "02:30", "end": "21:00"})
    gap = await api.post(
        "/reminders", json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at="2027-03-14T01:00:00")
    )
    assert gap.body["error"]["details"]["next_allowed_at"] == "2027-03-14T07:00:00Z"  # 03:00 EDT


async def test_blocked_dates_and_us_strict(api: Api, dc: Dialcues, tenant: Tenant) -> None:
    set_policy(dc, tenant, calling_window={"profile": "us_strict"}, blocked_dates=["2026-03-26"])
    blocked = await api.post(
        "/reminders", json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at="2026-03-26T12:00:00")
    )
    assert (blocked.status, blocked.code) == (422, "outside_calling_window")
    statuses = []
    for local in ("2026-03-29T11:00:00", "2026-03-29T12:00:00", "2026-03-28T20:01:00"):
        reply = await api.post(
            "/reminders", json=reminder_payload(**NEW_YORK_TO_NY, scheduled_at=local)
        )
        statuses.append(reply.status)
    assert statuses == [422, 201, 422]  # Sunday 11:00, Sunday 12:00, Saturday 20:01


async def test_a_patch_moving_the_time_outside_is_refused_and_changes_nothing(
    api: Api, default_window: None
) -> None:
    body = await api.create(**NEW_YORK_TO_NY, scheduled_at="2026-03-25T09:00:00")
    reply = await api.patch(
        f"/reminders/{body['id']}", json={"scheduled_at": "2026-03-25T22:00:00"}
    )
    assert (reply.status, reply.code) == (422, "outside_calling_window")
    assert (await api.get(f"/reminders/{body['id']}")).body == body
    # a field that does not move the schedule is accepted (marketing would need consent)
    title_only = await api.patch(f"/reminders/{body['id']}", json={"max_lateness_seconds": 1200})
    assert (title_only.status, title_only.body["max_lateness_seconds"]) == (200, 1200)
    assert title_only.body["scheduled_at"] == body["scheduled_at"]


async def test_calls_placed_now_outside_the_window_are_422(
    api: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    call = {"to": "+12125550143", "message": "Hi"}  # 12:00Z is 07:00 in New York
    refused = await api.post("/calls", json=call)
    assert (refused.status, refused.code) == (422, "outside_calling_window")
    bypassed = await api.post(
        "/calls", json={**call, "calling_window": {"bypass": True, "reason": "Urgent"}}
    )
    assert bypassed.status == 201, bypassed.text
    audited = await api.get("/audit/events", params={"action": "calling_window.bypassed"})
    assert [(e["subject"], e["detail"]) for e in audited.body["items"]] == [
        ({"type": "execution", "id": str(bypassed.body["id"])}, {"reason": "Urgent"})
    ]


async def test_a_call_to_an_unlocated_number_needs_a_timezone(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, window_basis="reminder_zone")
    reply = await api.post("/calls", json={"to": "+447911123456", "message": "Hi"})
    assert (reply.status, set(reply.fields)) == (400, {"timezone"})
    located = await api.post(
        "/calls", json={"to": "+447911123456", "message": "Hi", "timezone": "Europe/London"}
    )
    assert located.status == 201, located.text
    assert located.body["purpose"] == "informational"


async def test_a_call_while_the_numbers_cap_is_full_is_422_with_free_at(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, frequency_caps={"per_24h": 1, "per_30d": None})
    with dc.db.connection_context():
        dc.db.execute_sql(
            "INSERT INTO executions (user_id, organization_id, status, attempt, to_number,"
            " scheduled_for, executed_at, created_at, purpose)"
            " VALUES (?, ?, 'completed', 1, '+12125550143', ?, ?, ?, 'informational')",
            (tenant.user.id, tenant.org.id, 1772362800000, 1772362800000, 1772362800000),
        )
    reply = await api.post("/calls", json={"to": "+12125550143", "message": "Hi"})
    assert (reply.status, reply.code) == (422, "frequency_cap_reached")
    assert reply.body["error"]["details"] == {
        "per_24h": {"limit": 1, "count": 1},
        "per_30d": None,
        "free_at": "2026-03-02T11:00:00Z",
    }


async def test_get_policy_shows_what_applies_and_what_is_inherited(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    body = (await api.get("/policy")).body
    assert body["calling_window"] == {
        "start": "00:00",
        "end": "23:59",
        "days": [0, 1, 2, 3, 4, 5, 6],
    }
    assert body["inherited"] == [
        "calling_window",
        "max_lateness_seconds",
        "retry_policy",
        "frequency_caps",
    ]
    set_policy(dc, tenant, max_lateness_seconds=1200)
    after = (await api.get("/policy")).body
    assert after["max_lateness_seconds"] == 1200
    assert "max_lateness_seconds" not in after["inherited"]
    for method in ("post", "patch", "put", "delete"):
        reply = await api.call(method.upper(), "/policy", json={})
        assert reply.status == 405


async def test_the_preview_shows_waits_dials_and_skips_as_the_contract_example(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(
        dc,
        tenant,
        calling_window={"start": "08:00", "end": "21:00"},
        blocked_dates=["2026-03-27"],
    )
    body = await api.create(
        **NEW_YORK_TO_NY,
        scheduled_at="2026-03-26T07:30:00",
        recurrence_type="cron",
        recurrence_config={"expression": "30 7,12 * * *"},
    )
    reply = await api.get(f"/reminders/{body['id']}/occurrences", params={"count": "4"})
    assert reply.status == 200, reply.text
    zones = ["America/New_York"]
    assert reply.body == {
        "reminder_id": body["id"],
        "items": [
            {
                "occurrence_at": "2026-03-26T11:30:00Z",
                "local_time": "2026-03-26T07:30:00",
                "plan": "wait",
                "attempt_at": "2026-03-26T12:00:00Z",
                "reason": "outside_calling_window",
                "window_zones": zones,
            },
            {
                "occurrence_at": "2026-03-26T16:30:00Z",
                "local_time": "2026-03-26T12:30:00",
                "plan": "dial",
                "attempt_at": "2026-03-26T16:30:00Z",
                "reason": None,
                "window_zones": zones,
            },
            {
                "occurrence_at": "2026-03-27T11:30:00Z",
                "local_time": "2026-03-27T07:30:00",
                "plan": "skip",
                "attempt_at": None,
                "reason": "outside_calling_window",
                "window_zones": zones,
            },
            {
                "occurrence_at": "2026-03-27T16:30:00Z",
                "local_time": "2026-03-27T12:30:00",
                "plan": "skip",
                "attempt_at": None,
                "reason": "outside_calling_window",
                "window_zones": zones,
            },
        ],
    }
    assert body["next_eligible_at"] == reply.body["items"][0]["attempt_at"]
    bad = await api.get(f"/reminders/{body['id']}/occurrences", params={"count": "101"})
    assert (bad.status, set(bad.fields)) == (400, {"count"})


async def test_the_preview_foresees_a_full_frequency_cap(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    set_policy(dc, tenant, frequency_caps={"per_24h": 2, "per_30d": None})
    body = await api.create(
        **NEW_YORK_TO_NY,
        scheduled_at="2026-03-26T09:00:00",
        recurrence_type="cron",
        recurrence_config={"expression": "0 9,10,11 * * *"},
    )
    reply = await api.get(f"/reminders/{body['id']}/occurrences", params={"count": "3"})
    # the third attempt within 24 hours waits past its deadline (the next occurrence): skipped
    assert [(i["plan"], i["reason"]) for i in reply.body["items"]] == [
        ("dial", None),
        ("dial", None),
        ("skip", "frequency_cap"),
    ]


async def test_executions_filter_by_skip_reason_and_number(
    api: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    set_policy(dc, tenant, frequency_caps={"per_24h": 1, "per_30d": None})
    for _ in range(2):
        await api.create(**NEW_YORK_TO_NY, scheduled_at="2026-03-25T09:00:00")
    other = await api.create(
        timezone="America/New_York", phone_number="+12125550199", scheduled_at="2026-03-25T09:00:00"
    )
    clock.set(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    dc.attempts().claim(10)
    skipped = await api.get("/executions", params={"skip_reason": "frequency_cap"})
    assert [e["to"] for e in skipped.body["items"]] == ["+12125550143"]
    to_other = await api.get("/executions", params={"to": "+12125550199"})
    assert [e["reminder_id"] for e in to_other.body["items"]] == [other["id"]]
    bad = await api.get("/executions", params={"skip_reason": "bored", "to": "12"})
    assert (bad.status, set(bad.fields)) == (400, {"skip_reason", "to"})


async def test_an_audit_event_names_the_request_that_made_the_change(
    api: Api, default_window: None
) -> None:
    """responsible-calling.md section 16: an audited change made through the API carries the
    request's id (``X-Request-Id``); one made by an operator or the system carries none."""
    reply = await api.post(
        "/reminders",
        json=reminder_payload(
            **NEW_YORK_TO_NY,
            scheduled_at="2026-03-25T06:30:00",
            calling_window={"bypass": True, "reason": "Early shift"},
        ),
    )
    assert reply.status == 201
    events = (await api.get("/audit/events")).body["items"]
    by_action = {e["action"]: e for e in events}
    assert by_action["calling_window.bypassed"]["request_id"] == reply.headers["X-Request-Id"]
    assert by_action["policy.updated"]["request_id"] is None  # the operator's change


async def test_a_blocked_date_in_the_numbers_zone_is_named(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    """00:30 on 2026-03-26 in New York is 21:30 on 2026-03-25 in Los Angeles: the window
    (00:00–23:59) is open in both, but the 25th is blocked, and only in Los Angeles."""
    set_policy(dc, tenant, blocked_dates=["2026-03-25"])
    reply = await api.post(
        "/reminders",
        json=reminder_payload(
            timezone="America/New_York",
            phone_number="+14155552671",
            scheduled_at="2026-03-26T00:30:00",
        ),
    )
    assert reply.status == 422
    assert reply.fields["scheduled_at"] == (
        "2026-03-25 in America/Los_Angeles is a blocked date of the calling window"
    )


def _ring_all(dc: Dialcues, clock: FakeClock) -> int:
    """Claim what is due now and end each call as the simulated dialer would; return how many."""
    from dialcues_core.adapters.providers.simulated.voice import simulated_reason
    from dialcues_core.calls.ports import CallEvent

    att = dc.attempts()
    claimed = att.claim(20)
    for claim in claimed:
        e = claim.execution
        ended = clock.advance(1)
        att.apply_events(
            [
                (
                    e.id,
                    CallEvent(f"sim-{e.id}", e.id, "ended", simulated_reason(e.to), ended_at=ended),
                )
            ]
        )
    return len(claimed)


async def test_a_claim_outside_the_window_waits_then_dials_as_the_api_shows(
    api: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    """Done when 4 through the API: no execution while it waits, the opening in
    next_attempt_at, dialed then; with a 20-minute cap the next 07:30 is skipped."""
    set_policy(dc, tenant, calling_window={"start": "08:00", "end": "21:00"})
    body = await api.create(
        **NEW_YORK_TO_NY,
        scheduled_at="2026-03-25T07:30:00",
        recurrence_type="cron",
        recurrence_config={"expression": "30 7,12 * * *"},
    )
    clock.set(datetime(2026, 3, 25, 11, 30, tzinfo=UTC))
    assert _ring_all(dc, clock) == 0
    waiting = (await api.get(f"/reminders/{body['id']}")).body
    assert (waiting["next_attempt_at"], waiting["next_eligible_at"]) == (
        "2026-03-25T12:00:00Z",
        "2026-03-25T12:00:00Z",
    )
    assert (await api.get("/executions")).body["items"] == []
    clock.set(datetime(2026, 3, 25, 12, 0, tzinfo=UTC))
    assert _ring_all(dc, clock) == 1
    set_policy(dc, tenant, max_lateness_seconds=1200)
    for hour in (16, 11):  # 12:30 is dialed; the next day's 07:30 cannot wait 30 minutes
        clock.set(datetime(2026, 3, 25 if hour == 16 else 26, hour, 30, tzinfo=UTC))
        _ring_all(dc, clock)
    runs = (await api.get("/executions", params={"reminder_id": str(body["id"])})).body["items"]
    assert [(e["status"], e["skip_reason"]) for e in runs] == [
        ("skipped", "outside_calling_window"),
        ("completed", None),
        ("completed", None),
    ]


async def test_a_busy_number_is_tried_as_its_retry_policy_says_as_the_api_shows(
    api: Api, dc: Dialcues, clock: FakeClock
) -> None:
    """Done when 9 through the API: max_attempts 3, busy delays 1 s and 2 s."""
    body = await api.create(
        timezone="America/New_York",
        phone_number="+12125550002",  # the simulated dialer answers busy
        scheduled_at="2026-03-25T09:00:00",
        retry_policy={"max_attempts": 3, "delays": {"busy": [1, 2]}},
    )
    clock.set(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    for _ in range(6):
        _ring_all(dc, clock)
        clock.advance(1)
    runs = (await api.get("/executions", params={"reminder_id": str(body["id"])})).body["items"]
    assert [e["status"] for e in runs] == ["busy", "busy", "busy"]
    assert (await api.get(f"/reminders/{body['id']}")).body["status"] == "failed"
