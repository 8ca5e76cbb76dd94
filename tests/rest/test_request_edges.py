"""Edges of every request over the real app: lone surrogates, problem locations, bodies on
routes that take none, and ``Idempotency-Key`` on the smoke check."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from dialcues_core import Dialcues
from dialcues_rest import wire
from dialcues_rest.idempotency import fingerprint
from rest.support import Api, Reply, reminder_payload

PROBLEM = {"Accept": "application/problem+json"}
JSON = {"Content-Type": "application/json"}
SUBSCRIPTIONS = "/webhooks/subscriptions"
HOOK = {"url": "https://93.184.215.14/hooks", "events": ["execution.finished"]}
BIG = b'{"pad": "' + b"x" * 100_000 + b'"}'


def with_title(payload: dict[str, Any], escaped_title: str) -> bytes:
    """Return ``payload`` as JSON text whose ``title`` is the raw JSON ``escaped_title``."""
    text = json.dumps({**payload, "title": "@@"})
    return text.replace('"@@"', f'"{escaped_title}"').encode()


def assert_not_json(reply: Reply) -> None:
    """Assert a ``validation_error`` 400 about the body not being JSON."""
    assert (reply.status, reply.code) == (400, "validation_error"), reply.text
    assert "not valid JSON" in reply.body["error"]["message"]


async def raw_request(api: Api, head: bytes) -> bytes:
    """Send ``head`` (a request without a body) over a fresh connection; return the reply."""
    host, port = api.root.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


# ----------------------------------------------------------------------------- lone surrogates
@pytest.mark.parametrize("key", [None, "surrogate-1"])
async def test_a_lone_surrogate_in_a_body_is_a_validation_error(api: Api, key: str | None) -> None:
    headers = {**JSON, **({"Idempotency-Key": key} if key else {})}
    created = await api.create()
    cases = [
        ("POST", "/reminders", with_title(reminder_payload(), "a\\ud800b")),
        ("PATCH", f"/reminders/{created['id']}", b'{"title": "a\\uDC00"}'),
        ("POST", "/calls", b'{"to": "+14155552671", "message": "hi \\ud83d"}'),
        ("POST", SUBSCRIPTIONS, b'{"url": "https://93.184.215.14/\\udfff", "events": []}'),
        ("POST", "/reminders", b'{"\\ud800": 1}'),
    ]
    for method, path, body in cases:
        assert_not_json(await api.call(method, path, data=body, headers=headers))


async def test_a_surrogate_pair_and_an_escaped_backslash_are_fine(api: Api) -> None:
    paired = await api.post(
        "/reminders", data=with_title(reminder_payload(), "a\\ud83d\\ude00b"), headers=JSON
    )
    backslash = await api.post(
        "/reminders", data=with_title(reminder_payload(), "a\\\\ud800"), headers=JSON
    )
    assert (paired.status, paired.body["title"]) == (201, "a\U0001f600b")
    assert (backslash.status, backslash.body["title"]) == (201, "a\\ud800")


async def test_a_lone_surrogate_on_a_route_without_a_body_is_refused(api: Api) -> None:
    created = await api.create()
    headers = {**JSON, "Idempotency-Key": "surrogate-delete"}
    reply = await api.delete(f"/reminders/{created['id']}", data=b'"\\ud800"', headers=headers)
    assert_not_json(reply)


def test_the_fingerprint_of_a_lone_surrogate_does_not_fail() -> None:
    one, other = (
        fingerprint("POST", "/x", b'["\\ud800"]'),
        fingerprint("POST", "/x", b'["\\ud801"]'),
    )
    assert one.startswith(b"POST /x\njson:") and one != other


async def test_non_utf8_bytes_in_a_bearer_token_are_an_invalid_key(api: Api) -> None:
    head = (
        b"GET /api/public/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dc_live_\xff\xfe\r\n"
        b"Connection: close\r\n\r\n"
    )
    answer = await raw_request(api, head)
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b'"invalid_api_key"' in answer


# ----------------------------------------------------------------------------- problem locations
async def test_problem_pointers_escape_tilde_and_slash(api: Api) -> None:
    payload = {**reminder_payload(), "a/b~c": 1}
    reply = await api.post("/reminders", json=payload, headers=PROBLEM)
    assert reply.status == 400
    wire.Problem.model_validate(reply.body)
    assert reply.body["errors"] == [{"detail": "is not a known field", "pointer": "/a~1b~0c"}]


async def test_a_bad_query_parameter_is_named_as_a_parameter(api: Api) -> None:
    reply = await api.get("/reminders", params={"page": "0", "colour": "red"}, headers=PROBLEM)
    assert reply.status == 400
    wire.Problem.model_validate(reply.body)
    located = {e.get("parameter") for e in reply.body["errors"]}
    assert located == {"page", "colour"}
    assert all(set(e) == {"detail", "parameter"} for e in reply.body["errors"])


async def test_a_bad_idempotency_key_is_named_as_a_header(api: Api) -> None:
    headers = {**PROBLEM, "Idempotency-Key": "k" * 256}
    reply = await api.post("/reminders", json=reminder_payload(), headers=headers)
    assert reply.status == 400
    wire.Problem.model_validate(reply.body)
    assert [set(e) for e in reply.body["errors"]] == [{"detail", "header"}]
    assert reply.body["errors"][0]["header"] == "Idempotency-Key"


def test_a_problem_error_names_exactly_one_location() -> None:
    for bad in ({"detail": "x"}, {"detail": "x", "pointer": "/a", "header": "Idempotency-Key"}):
        with pytest.raises(ValueError):
            wire.ProblemError.model_validate(bad)


# ----------------------------------------------------------------------------- bodiless routes
async def test_routes_without_a_body_refuse_a_large_one(api: Api) -> None:
    created = await api.create()
    sid = (await api.post(SUBSCRIPTIONS, json=HOOK)).body["id"]
    for method, path in [
        ("POST", f"{SUBSCRIPTIONS}/{sid}/rotate-secret"),
        ("DELETE", f"{SUBSCRIPTIONS}/{sid}"),
        ("DELETE", f"/reminders/{created['id']}"),
    ]:
        reply = await api.call(method, path, data=BIG, headers=JSON)
        assert (reply.status, reply.code) == (413, "payload_too_large"), (method, path)
    assert (await api.get(f"/reminders/{created['id']}")).status == 200
    assert (await api.get(f"{SUBSCRIPTIONS}/{sid}")).status == 200


async def test_rotate_secret_refuses_fields_and_takes_an_empty_object(api: Api) -> None:
    sid = (await api.post(SUBSCRIPTIONS, json=HOOK)).body["id"]
    fields = await api.post(f"{SUBSCRIPTIONS}/{sid}/rotate-secret", json={"secret": "mine"})
    not_object = await api.post(f"{SUBSCRIPTIONS}/{sid}/rotate-secret", json=[])
    empty = await api.post(f"{SUBSCRIPTIONS}/{sid}/rotate-secret", json={})
    bare = await api.post(f"{SUBSCRIPTIONS}/{sid}/rotate-secret")
    assert (fields.status, fields.fields) == (400, {"secret": "is not a known field"})
    assert (not_object.status, not_object.code) == (400, "validation_error")
    assert (empty.status, bare.status) == (200, 200)


async def test_deletes_take_no_body_or_an_empty_object(api: Api) -> None:
    first, second = await api.create(), await api.create()
    sid = (await api.post(SUBSCRIPTIONS, json=HOOK)).body["id"]
    field = await api.delete(f"/reminders/{first['id']}", json={"force": True})
    bare = await api.delete(f"/reminders/{first['id']}")
    empty = await api.delete(f"/reminders/{second['id']}", json={})
    unsubscribed = await api.delete(f"{SUBSCRIPTIONS}/{sid}")
    assert (field.status, field.fields) == (400, {"force": "is not a known field"})
    assert [r.status for r in (bare, empty, unsubscribed)] == [204, 204, 204]


# ----------------------------------------------------------------------------- smoke
@pytest.mark.parametrize("key", ["", "k" * 256, "caf\u00e9"])
async def test_smoke_validates_its_idempotency_key(api: Api, dc: Dialcues, key: str) -> None:
    dc.smoke.wait_seconds = 0.5  # before the fix the check ran (and failed: no dispatcher)
    reply = await api.post("/agent/smoke", headers={"Idempotency-Key": key})
    assert (reply.status, reply.code) == (400, "validation_error"), reply.text
    assert list(reply.fields) == ["Idempotency-Key"]


async def test_smoke_takes_a_valid_key_and_replays_nothing(api: Api, dc: Dialcues) -> None:
    dc.smoke.wait_seconds = 0.3  # no dispatcher: each run fails at its outcome step
    headers = {"Idempotency-Key": "smoke-1"}
    replies = [await api.post("/agent/smoke", headers=headers) for _ in range(2)]
    assert [(r.status, r.code) for r in replies] == [(503, "smoke_failed")] * 2
    assert all("Idempotent-Replayed" not in r.headers for r in replies)
