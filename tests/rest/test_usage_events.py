"""Usage events over REST: one per public request, listed by GET /usage/events, none lost."""

from __future__ import annotations

from typing import Any

import aiohttp
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow
from dialcues_core.offload import Offloader
from dialcues_core.runtime import Runtime
from dialcues_core.testing import FakeClock
from dialcues_rest.app import create_app, start_rest
from rest.support import Api, reminder_payload


async def flushed_rows(dc: Dialcues, offloader: Offloader) -> list[dict[str, Any]]:
    """Write the pending events, then return every stored row, oldest first."""
    await offloader.run(dc.usage.flush)
    return list(UsageEventRow.select().order_by(UsageEventRow.id).dicts())


async def test_every_request_writes_one_event_failed_authentication_included(
    api: Api, anon: Api, dc: Dialcues, offloader: Offloader, tenant: Tenant
) -> None:
    await api.get("/me")
    await anon.get("/me")
    await api.get("/no-such-route")
    await api.post("/reminders", json={})
    rows = await flushed_rows(dc, offloader)
    summary = [(r["method"], r["route"], r["status"], r["code"], r["user_id"]) for r in rows]
    assert summary == [
        ("GET", "/me", 200, None, tenant.user.id),
        ("GET", "/me", 401, "unauthorized", None),
        ("GET", None, 404, "not_found", tenant.user.id),
        ("POST", "/reminders", 400, "validation_error", tenant.user.id),
    ]


async def test_an_event_records_who_and_the_request_id(
    api: Api, dc: Dialcues, offloader: Offloader, tenant: Tenant
) -> None:
    created = await api.create()
    reply = await api.get(f"/reminders/{created['id']}", headers={"X-Request-Id": "trace-42"})
    row = (await flushed_rows(dc, offloader))[-1]
    assert reply.headers["X-Request-Id"] == "trace-42"
    assert row["request_id"] == "trace-42"
    assert row["route"] == "/reminders/{id}"
    assert (row["api_key_id"], row["organization_id"]) == (
        tenant.principal.api_key_id,
        tenant.org.id,
    )
    assert row["client_id"] is None
    assert row["latency_ms"] >= 0
    assert row["idempotent_replay"] is False


async def test_a_replay_is_marked_as_a_replay(api: Api, dc: Dialcues, offloader: Offloader) -> None:
    headers = {"Idempotency-Key": "usage-replay"}
    for _ in range(2):
        await api.post("/reminders", json=reminder_payload(), headers=headers)
    rows = await flushed_rows(dc, offloader)
    assert [(r["status"], r["idempotent_replay"]) for r in rows] == [(201, False), (201, True)]


async def test_paths_outside_the_public_api_write_no_event(
    anon: Api, dc: Dialcues, offloader: Offloader
) -> None:
    await anon.get("//healthz")
    assert await flushed_rows(dc, offloader) == []


async def test_listing_returns_the_users_events_newest_first(
    api: Api, anon: Api, dc: Dialcues, offloader: Offloader, clock: FakeClock
) -> None:
    await api.get("/me")
    clock.advance(1)
    await api.get("/lines")
    await anon.as_key(make_tenant(dc).api_key).get("/me")  # another user's
    await offloader.run(dc.usage.flush)
    reply = await api.get("/usage/events")
    assert reply.status == 200
    assert [e["route"] for e in reply.body["items"]] == ["/lines", "/me"]
    newest = reply.body["items"][0]
    assert newest["occurred_at"] == "2026-03-01T12:00:01.000Z"
    assert set(newest) == {
        "id", "occurred_at", "request_id", "api_key_id", "client_id", "user_id",
        "organization_id", "method", "route", "status", "code", "latency_ms",
        "idempotent_replay", "deprecated",
    }  # fmt: skip


async def test_listing_pages_and_filters(api: Api, dc: Dialcues, offloader: Offloader) -> None:
    for _ in range(3):
        await api.get("/me")
    await api.get("/reminders/999")
    await offloader.run(dc.usage.flush)
    page = (await api.get("/usage/events", params={"route": "/me", "page_size": "2"})).body
    assert (page["total"], page["total_pages"], len(page["items"])) == (3, 2, 2)
    missing = (await api.get("/usage/events", params={"status": "404"})).body
    assert [(e["route"], e["code"]) for e in missing["items"]] == [("/reminders/{id}", "not_found")]
    coded = (await api.get("/usage/events", params={"code": "not_found"})).body
    assert coded["total"] == 1
    later = await api.get("/usage/events", params={"date_from": "2026-03-01T12:00:01Z"})
    assert later.body["total"] == 0


async def test_unknown_listing_parameters_are_validation_errors(api: Api) -> None:
    reply = await api.get("/usage/events", params={"colour": "red"})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.fields == {"colour": "is not a known field"}


async def test_listing_needs_the_usage_read_scope(anon: Api, dc: Dialcues, tenant: Tenant) -> None:
    key = dc.accounts.create_api_key(tenant.user.id, scopes=["reminders:read"]).raw
    reply = await anon.as_key(key).get("/usage/events")
    assert (reply.status, reply.code) == (403, "insufficient_scope")
    assert reply.body["error"]["details"] == {"scope": "usage:read"}


async def test_a_clean_shutdown_loses_no_event(
    dc: Dialcues, offloader: Offloader, tenant: Tenant
) -> None:
    async with Runtime(dc, offloader, dispatch=False):
        runner = await start_rest(create_app(dc, offloader), "127.0.0.1", 0)
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            client = Api(session, f"http://{host}:{port}", tenant.api_key)
            for _ in range(25):
                assert (await client.get("/me")).status == 200
        await runner.cleanup()  # stop serving first, then leave the runtime: it writes the rest
    assert dc.usage.pending == 0
    assert UsageEventRow.select().count() == 25


async def test_the_calling_routes_write_their_templates_and_no_phone_number(
    api: Api, dc: Dialcues, offloader: Offloader, tenant: Tenant
) -> None:
    """responsible-calling.md Done when 29: every new route writes its usage event, whose
    ``route`` is the template (no id, no number)."""
    created = await api.create()
    await api.get("/policy")
    await api.get("/audit/events")
    await api.get(f"/reminders/{created['id']}/occurrences")
    await api.get("/executions", params={"to": "+14155552671", "skip_reason": "vetoed"})
    rows = await flushed_rows(dc, offloader)
    routes = [(r["route"], r["status"]) for r in rows[1:]]
    assert routes == [
        ("/policy", 200),
        ("/audit/events", 200),
        ("/reminders/{id}/occurrences", 200),
        ("/executions", 200),
    ]
    assert not any("+1415" in str(value) for row in rows for value in row.values())
