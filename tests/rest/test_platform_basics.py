"""X-Request-Id on every reply, RFC 9457 problem details by content negotiation, /health."""

from __future__ import annotations

import pytest

from dialcues_rest.errors import prefers_problem
from rest.support import Api

PROBLEM = {"Accept": "application/problem+json"}


async def test_every_reply_carries_a_fresh_request_id(api: Api) -> None:
    first, second = await api.get("/me"), await api.get("/nowhere")
    assert len(first.headers["X-Request-Id"]) == 32
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


async def test_a_valid_incoming_request_id_is_echoed(api: Api) -> None:
    reply = await api.get("/me", headers={"X-Request-Id": "req-42.abc"})
    assert reply.headers["X-Request-Id"] == "req-42.abc"


async def test_an_invalid_incoming_request_id_is_replaced(api: Api) -> None:
    reply = await api.get("/me", headers={"X-Request-Id": "bad id with spaces"})
    assert reply.headers["X-Request-Id"] != "bad id with spaces"


async def test_errors_carry_the_request_id_too(anon: Api) -> None:
    reply = await anon.get("/me")
    assert reply.status == 401 and reply.headers["X-Request-Id"]


async def test_problem_details_when_the_client_prefers_them(anon: Api) -> None:
    reply = await anon.get("/me", headers={**PROBLEM, "X-Request-Id": "r1"})
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert reply.body == {
        "type": "https://dialcues.dev/errors/unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": reply.body["detail"],
        "instance": "/api/public/v1/me",
        "code": "unauthorized",
        "request_id": "r1",
    }


async def test_validation_problems_point_at_each_bad_field(api: Api) -> None:
    reply = await api.post("/reminders", json={"title": ""}, headers=PROBLEM)
    assert reply.status == 400
    pointers = {e["pointer"] for e in reply.body["errors"]}
    assert {"/title", "/message", "/phone_number"} <= pointers


async def test_unknown_route_is_a_problem_too(api: Api) -> None:
    reply = await api.get("/nowhere", headers=PROBLEM)
    assert (reply.status, reply.body["code"]) == (404, "not_found")


async def test_plain_json_clients_keep_the_contract_shape(api: Api) -> None:
    reply = await api.get("/nowhere", headers={"Accept": "application/json"})
    assert reply.body["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/problem+json", True),
        ("application/json, application/problem+json", True),
        ("application/problem+json;q=0.5, application/json", False),
        ("*/*", False),
        ("application/problem+json;q=0", False),
        ("", False),
    ],
)
def test_accept_negotiation(accept: str, expected: bool) -> None:
    assert prefers_problem(accept) is expected


async def test_health_reports_version_database_and_dispatcher(api: Api) -> None:
    reply = await api.get("/health")
    assert reply.status == 200
    assert reply.body["status"] == "ok"
    assert reply.body["database"] == "ok"
    assert set(reply.body) == {
        "status",
        "version",
        "database",
        "dispatcher",
        "workers",
        "oldest_due_at",
        "last_claim_at",
        "tzdata",
    }
    assert set(reply.body["workers"]) == {"alive", "last_seen_at"}


async def test_health_needs_a_valid_credential(anon: Api) -> None:
    assert (await anon.get("/health")).status == 401
