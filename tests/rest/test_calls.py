"""``POST /calls`` over the real app: the queued execution, refusals, scope and idempotency.

No dispatcher runs here (the e2e suite dials); the platform's clock is fixed at
2026-03-01T12:00:00Z, so a call placed now is due at exactly that instant.
"""

from __future__ import annotations

from typing import Any

from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ExecutionRow
from dialcues_core.kernel.scopes import ALL_SCOPES
from rest.support import Api

NUMBER = "+14155552671"


def call(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /calls`` body with ``overrides``."""
    return {"to": NUMBER, "message": "Your table is ready", **overrides}


def keyed(key: str) -> dict[str, str]:
    """Headers carrying an ``Idempotency-Key``."""
    return {"Idempotency-Key": key}


async def test_placed_call_is_201_with_a_queued_execution(api: Api, tenant: Tenant) -> None:
    reply = await api.post("/calls", json=call(title="Table"))
    assert reply.status == 201, reply.text
    assert reply.body == {
        "id": reply.body["id"],
        "reminder_id": None,
        "reminder_title": "Table",
        "status": "queued",
        "attempt": 1,
        "call_id": None,
        "line_id": tenant.line.id,
        "to": NUMBER,
        "scheduled_for": "2026-03-01T12:00:00.000Z",
        "executed_at": None,
        "ended_at": None,
        "ended_reason": None,
        "duration_s": None,
        "cost": None,
        "error_message": None,
        "purpose": "informational",
        "occurrence_at": "2026-03-01T12:00:00.000Z",
        "skip_reason": None,
        "confirmation": None,
        "confirmed_at": None,
        "actions": [],
        "direction": "outbound",
        "from": tenant.line.phone_number,  # the line the call goes out from
        "route": None,
        "answer_by": None,
        "fallback_message_id": None,
    }


async def test_placed_call_reads_back_from_executions(api: Api) -> None:
    placed = await api.post("/calls", json=call())
    fetched = await api.get(f"/executions/{placed.body['id']}")
    assert fetched.status == 200
    assert fetched.body == placed.body


async def test_missing_and_unknown_fields_are_named(api: Api) -> None:
    reply = await api.post("/calls", json={"phone_number": NUMBER})
    assert reply.status == 400
    assert reply.code == "validation_error"
    assert reply.fields == {
        "to": "is required",
        "message": "is required",
        "phone_number": "is not a known field",
    }


async def test_number_that_is_not_e164_is_refused(api: Api) -> None:
    reply = await api.post("/calls", json=call(to="555-1234"))
    assert (reply.status, list(reply.fields)) == (400, ["to"])


async def test_body_that_is_not_json_is_a_validation_error(api: Api) -> None:
    reply = await api.post("/calls", data=b"{to:")
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_query_parameters_are_refused(api: Api) -> None:
    reply = await api.post("/calls", json=call(), params={"now": "1"})
    assert (reply.status, reply.fields) == (400, {"now": "is not a known field"})


async def test_organization_without_a_line_gets_missing_outbound_line(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    dc.accounts.remove_line(tenant.org.id, tenant.line.id)
    reply = await api.post("/calls", json=call())
    assert (reply.status, reply.code) == (400, "missing_outbound_line")


async def test_key_without_calls_write_gets_insufficient_scope(
    anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "calls:write"]
    key = dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw
    reply = await anon.as_key(key).post("/calls", json=call())
    assert (reply.status, reply.code) == (403, "insufficient_scope")
    assert reply.body["error"]["details"] == {"scope": "calls:write"}
    assert ExecutionRow.select().count() == 0


async def test_calls_write_alone_is_enough(anon: Api, dc: Dialcues, tenant: Tenant) -> None:
    key = dc.accounts.create_api_key(tenant.user.id, scopes=["calls:write"]).raw
    reply = await anon.as_key(key).post("/calls", json=call())
    assert reply.status == 201


async def test_no_credentials_is_401(anon: Api) -> None:
    reply = await anon.post("/calls", json=call())
    assert (reply.status, reply.code) == (401, "unauthorized")


# ----------------------------------------------------------------------------- idempotency
async def test_ten_retries_with_one_key_queue_one_call(api: Api) -> None:
    replies = [await api.post("/calls", json=call(), headers=keyed("k-1")) for _ in range(10)]
    assert {r.status for r in replies} == {201}
    assert {r.body["id"] for r in replies} == {replies[0].body["id"]}
    assert [r.headers.get("Idempotent-Replayed") for r in replies] == [None] + ["true"] * 9
    assert ExecutionRow.select().count() == 1


async def test_same_key_with_another_body_is_a_mismatch(api: Api) -> None:
    await api.post("/calls", json=call(), headers=keyed("k-2"))
    reply = await api.post("/calls", json=call(message="Another"), headers=keyed("k-2"))
    assert (reply.status, reply.code) == (409, "idempotency_mismatch")
    assert ExecutionRow.select().count() == 1


async def test_refused_call_releases_its_key_for_the_corrected_request(api: Api) -> None:
    refused = await api.post("/calls", json=call(to="nope"), headers=keyed("k-3"))
    fixed = await api.post("/calls", json=call(), headers=keyed("k-3"))
    assert (refused.status, fixed.status) == (400, 201)
    assert fixed.headers.get("Idempotent-Replayed") is None


async def test_different_keys_queue_different_calls(api: Api) -> None:
    first = await api.post("/calls", json=call(), headers=keyed("k-4"))
    second = await api.post("/calls", json=call(), headers=keyed("k-5"))
    assert first.body["id"] != second.body["id"]
    assert ExecutionRow.select().count() == 2
