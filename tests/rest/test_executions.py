"""``GET /executions`` and ``GET /executions/{id}``: call attempts, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from support.platform import Tenant

from dialcues_core.calls.actions import Action, ActionType, CallActions
from rest.support import Api, add_execution


def at(text: str) -> datetime:
    """Return the aware UTC instant of an ISO string."""
    return datetime.fromisoformat(text).astimezone(UTC)


async def test_get_returns_every_field_with_millisecond_times(api: Api, tenant: Tenant) -> None:
    reminder = await api.create()
    eid = add_execution(
        tenant,
        reminder,
        status="completed",
        call_id="call_123",
        executed_at=at("2026-03-25T13:00:00.412+00:00"),
        ended_at=at("2026-03-25T13:00:42.005+00:00"),
        ended_reason="assistant-ended-call",
        duration_s=42,
        cost=0.031,
    )
    reply = await api.get(f"/executions/{eid}")
    assert reply.status == 200
    assert reply.body == {
        "id": eid,
        "reminder_id": reminder["id"],
        "reminder_title": "Stand-up",
        "status": "completed",
        "attempt": 1,
        "call_id": "call_123",
        "line_id": tenant.line.id,
        "to": "+14155552671",
        "scheduled_for": "2026-03-25T13:00:00.000Z",
        "executed_at": "2026-03-25T13:00:00.412Z",
        "ended_at": "2026-03-25T13:00:42.005Z",
        "ended_reason": "assistant-ended-call",
        "duration_s": 42,
        "cost": 0.031,
        "error_message": None,
        "purpose": "informational",
        "occurrence_at": "2026-03-25T13:00:00.000Z",
        "skip_reason": None,
        "confirmation": None,
        "confirmed_at": None,
        "actions": [],
        "direction": "outbound",
        "from": None,
        "route": None,
        "answer_by": None,
        "fallback_message_id": None,
    }


async def test_call_placed_now_has_a_null_reminder_id(api: Api, tenant: Tenant) -> None:
    eid = add_execution(tenant, None, status="queued")
    reply = await api.get(f"/executions/{eid}")
    assert (reply.body["reminder_id"], reply.body["executed_at"]) == (None, None)


async def test_list_is_newest_first(api: Api, tenant: Tenant) -> None:
    older, newer = add_execution(tenant, None), add_execution(tenant, None)
    reply = await api.get("/executions")
    assert [item["id"] for item in reply.body["items"]] == [newer, older]


async def test_list_is_a_page_with_counts(api: Api, tenant: Tenant) -> None:
    for _ in range(3):
        add_execution(tenant, None)
    reply = await api.get("/executions", params={"page_size": "2"})
    counts = {k: v for k, v in reply.body.items() if k != "items"}
    assert counts == {"total": 3, "page": 1, "page_size": 2, "total_pages": 2}


async def test_list_filters_by_reminder_id(api: Api, tenant: Tenant) -> None:
    reminder = await api.create()
    mine = add_execution(tenant, reminder)
    add_execution(tenant, None)
    reply = await api.get("/executions", params={"reminder_id": str(reminder["id"])})
    assert [item["id"] for item in reply.body["items"]] == [mine]


async def test_list_filters_by_status(api: Api, tenant: Tenant) -> None:
    busy = add_execution(tenant, None, status="busy")
    add_execution(tenant, None, status="completed")
    reply = await api.get("/executions", params={"status": "busy"})
    assert [item["id"] for item in reply.body["items"]] == [busy]


async def test_list_date_bounds_apply_to_executed_at(api: Api, tenant: Tenant) -> None:
    inside = add_execution(tenant, None, executed_at=at("2026-03-10T00:00:00+00:00"))
    add_execution(tenant, None, executed_at=at("2026-03-11T00:00:00+00:00"))
    params = {"date_from": "2026-03-10T00:00:00Z", "date_to": "2026-03-11T00:00:00Z"}
    reply = await api.get("/executions", params=params)
    assert [item["id"] for item in reply.body["items"]] == [inside]


async def test_list_rejects_a_sort_parameter(api: Api) -> None:
    reply = await api.get("/executions", params={"sort": "scheduled_at_asc"})
    assert (reply.code, list(reply.fields)) == ("validation_error", ["sort"])


async def test_list_rejects_an_unknown_status(api: Api) -> None:
    reply = await api.get("/executions", params={"status": "ringing"})
    assert list(reply.fields) == ["status"]


async def test_get_of_an_unknown_execution_is_not_found(api: Api) -> None:
    reply = await api.get("/executions/31337")
    assert (reply.status, reply.code) == (404, "not_found")


SNOOZE_THEN_CONFIRM = CallActions(
    (
        Action(
            ActionType.SNOOZE,
            at("2026-03-25T13:00:10.250+00:00"),
            "keypad",
            "applied",
            {"minutes": 10, "attempt_at": "2026-03-25T13:10:10.250Z"},
            tool_call_id="call_1",
            result="Okay, I'll call you back at 9:10 AM. Goodbye.",
        ),
        Action(ActionType.CONFIRM, at("2026-03-25T13:00:20.500+00:00"), "voice", "applied"),
    )
)


async def test_an_execution_shows_its_in_call_actions_and_confirmation(
    api: Api, tenant: Tenant
) -> None:
    """responsible-calling.md section 11 and 13.2: the actions in order (never the tool call's
    id or our answer), the confirmation that counts and when it was applied."""
    eid = add_execution(
        tenant,
        None,
        confirmation="confirmed",
        confirmed_at=at("2026-03-25T13:00:20.500+00:00"),
        actions=SNOOZE_THEN_CONFIRM.stored(),
    )
    body = (await api.get(f"/executions/{eid}")).body
    assert (body["confirmation"], body["confirmed_at"]) == ("confirmed", "2026-03-25T13:00:20.500Z")
    assert body["actions"] == [
        {
            "type": "snooze",
            "at": "2026-03-25T13:00:10.250Z",
            "via": "keypad",
            "outcome": "applied",
            "detail": {"minutes": 10, "attempt_at": "2026-03-25T13:10:10.250Z"},
        },
        {
            "type": "confirm",
            "at": "2026-03-25T13:00:20.500Z",
            "via": "voice",
            "outcome": "applied",
            "detail": {},
        },
    ]


async def test_list_filters_by_confirmation(api: Api, tenant: Tenant) -> None:
    opted_out = add_execution(tenant, None, confirmation="opted_out")
    add_execution(tenant, None, confirmation="no_input")
    add_execution(tenant, None)
    reply = await api.get("/executions", params={"confirmation": "opted_out"})
    assert [item["id"] for item in reply.body["items"]] == [opted_out]
    bad = await api.get("/executions", params={"confirmation": "maybe"})
    assert (bad.status, list(bad.fields)) == (400, ["confirmation"])
