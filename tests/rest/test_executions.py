"""``GET /executions`` and ``GET /executions/{id}``: call attempts, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from support.platform import Tenant

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
