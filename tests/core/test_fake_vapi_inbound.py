"""The fake Vapi's inbound calls (``telephony.md`` §1.6, §3.2): ``assistant-request`` to the
imported number's server, Vapi's strictness about our answer (one route, the SDK's model, 7.5 s),
the call's end by route, and events that carry ``call.id`` but no metadata of ours unless the
answer set some.

A small receiver stands in for our REST edge here, answering each route's shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.vapi_server import (
    FakeVapi,
    InboundEnd,
    check_message,
    judge_answer,
    start_fake_vapi,
)

from dialcues_core.adapters.providers.vapi.numbers import import_body
from dialcues_core.adapters.providers.vapi.voice import (
    EVENTS_PATH,
    call_to_event,
    parse_server_message,
)

pytestmark = pytest.mark.xdist_group("vapi_sdk")  # one worker pays the SDK's ~10 s import

API_KEY, SECRET = "vapi-key", "whsec-1"
CREDENTIAL = "5b0a3c1e-8a51-4b8e-9d0c-2f4f1f1e7a10"
LINE, CALLER = "+14155550142", "+14155550123"
METADATA = {"execution_id": "41", "organization_id": "org-1"}
REJECT = {"error": "This number does not accept calls."}
TRANSFER = {"destination": {"type": "number", "number": "+14155550199", "message": ""}}
SAVED = {
    "assistantId": "asst-1",
    "assistantOverrides": {
        "metadata": METADATA,
        "variableValues": {"caller_number": CALLER, "line_number": LINE},
    },
}
TRANSIENT = {
    "assistant": {"firstMessage": "You have 1 upcoming reminder.", "metadata": METADATA},
    "assistantOverrides": {"metadata": METADATA},
}


@dataclass
class Edge:
    """Our side, as far as this test needs it: answers ``assistant-request`` with ``answer``
    (a JSON body, or text) after ``delay``, refuses a wrong secret with 401, acknowledges
    every other message."""

    url: str = ""
    status: int = 200
    answer: Any = field(default_factory=lambda: dict(REJECT))
    delay: float = 0.0
    asked: list[tuple[str | None, Any]] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)

    async def on_post(self, request: web.Request) -> web.Response:
        payload = await request.json()
        secret = request.headers.get("x-vapi-secret")
        if payload["message"]["type"] != "assistant-request":
            self.events.append(payload)
            return web.json_response({})
        self.asked.append((secret, payload))
        if secret != SECRET:
            return web.json_response({"error": {"code": "invalid_provider_event"}}, status=401)
        await asyncio.sleep(self.delay)
        if isinstance(self.answer, str):
            return web.Response(status=self.status, text=self.answer)
        return web.json_response(self.answer, status=self.status)

    def messages(self, kind: str) -> list[dict[str, Any]]:
        return [e["message"] for e in self.events if e["message"]["type"] == kind]


@pytest.fixture
async def edge() -> AsyncIterator[Edge]:
    edge = Edge()
    app = web.Application()
    app.router.add_post(EVENTS_PATH, edge.on_post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    edge.url = f"http://{host}:{port}"
    yield edge
    await runner.cleanup()


@pytest.fixture
async def vapi() -> AsyncIterator[FakeVapi]:
    async with start_fake_vapi(api_key=API_KEY, webhook_secret=SECRET) as fake:
        yield fake


async def vapi_request(vapi: FakeVapi, method: str, path: str, body: object = None) -> Any:
    """Send one authorized request to the fake; return its decoded answer (201/200 only)."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, vapi.base_url + path, json=body, headers=headers) as response,
    ):
        assert response.status in (200, 201), await response.text()
        return await response.json()


@pytest.fixture
async def line(vapi: FakeVapi, edge: Edge) -> str:
    """A Telnyx number imported as Dialcues imports one; its Vapi id."""
    body = import_body(
        LINE, "Front desk", credential_id=CREDENTIAL, server_url=edge.url + EVENTS_PATH,
        secret=SECRET,
    )  # fmt: skip
    created = await vapi_request(vapi, "POST", "/phone-number", body)
    return str(created["id"])


async def ring_and_settle(vapi: FakeVapi, line: str, **options: Any) -> Any:
    """Ring the line and wait until the call has sent all its messages."""
    ring = await vapi.ring(line, **options)
    await vapi.settle()
    return ring


def no_metadata(call: dict[str, Any]) -> bool:
    """Tell whether a message's call carries none of our correlation ids."""
    return "assistantOverrides" not in call and "assistant" not in call


# ----------------------------------------------------------------------------- the request
async def test_the_request_names_the_line_by_id_and_the_caller(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    ring = await ring_and_settle(vapi, line, caller=CALLER)
    message = edge.asked[0][1]["message"]
    assert (message["type"], message["call"]["type"], message["call"]["phoneNumberId"]) == (
        "assistant-request",
        "inboundPhoneCall",
        line,
    )
    assert (message["call"]["id"], message["customer"], message["call"]["customer"]) == (
        ring.call_id,
        {"number": CALLER},
        {"number": CALLER},
    )


async def test_the_requests_phone_number_is_the_import_without_an_id(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    await ring_and_settle(vapi, line)
    phone_number = edge.asked[0][1]["message"]["phoneNumber"]
    assert (phone_number["provider"], phone_number["number"], "id" in phone_number) == (
        "telnyx",
        LINE,
        False,
    )


async def test_the_request_goes_with_the_numbers_secret_and_no_metadata(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    await ring_and_settle(vapi, line)
    secret, payload = edge.asked[0]
    assert (secret, no_metadata(payload["message"]["call"])) == (SECRET, True)


async def test_the_request_passes_the_sdks_model_strictly(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    ring = await ring_and_settle(vapi, line)
    assert check_message(ring.payload) == []


async def test_a_withheld_caller_id_sends_no_customer(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    await ring_and_settle(vapi, line, caller=None)
    message = edge.asked[0][1]["message"]
    assert ("customer" in message, "customer" in message["call"]) == (False, False)


# ----------------------------------------------------------------------------- each route
async def test_an_error_answer_is_spoken_and_ends_the_call_returned_error(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    ring = await ring_and_settle(vapi, line)
    ended = edge.messages("end-of-call-report")
    assert (ring.http_status, ring.route, ring.ended_reason) == (
        200,
        "error",
        "assistant-request-returned-error",
    )
    assert [m["endedReason"] for m in ended] == [InboundEnd.RETURNED_ERROR]


async def test_a_destination_answer_forwards_the_call(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    edge.answer = TRANSFER
    ring = await ring_and_settle(vapi, line)
    statuses = [m["status"] for m in edge.messages("status-update")]
    assert (ring.ended_reason, statuses) == (InboundEnd.FORWARDED, ["forwarding", "ended"])
    assert edge.messages("status-update")[0]["destination"] == TRANSFER["destination"]


async def test_a_saved_assistant_with_overrides_talks_until_the_caller_hangs_up(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    edge.answer = SAVED
    ring = await ring_and_settle(vapi, line)
    statuses = [m["status"] for m in edge.messages("status-update")]
    assert (ring.route, ring.ended_reason) == ("assistant", "customer-ended-call")
    assert statuses == ["in-progress", "ended"]


async def test_a_transient_assistant_is_accepted_and_speaks_first(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    edge.answer = TRANSIENT
    ring = await ring_and_settle(vapi, line)
    report = edge.messages("end-of-call-report")[0]
    assert (ring.route, report["artifact"]["messages"][0]["message"]) == (
        "assistant",
        "You have 1 upcoming reminder.",
    )


@pytest.mark.parametrize("answer", [REJECT, TRANSFER], ids=["error", "destination"])
async def test_events_of_a_call_the_answer_gave_no_metadata_carry_only_the_call_id(
    vapi: FakeVapi, edge: Edge, line: str, answer: dict[str, Any]
) -> None:
    edge.answer = answer
    ring = await ring_and_settle(vapi, line)
    calls = [e["message"]["call"] for e in edge.events]
    assert {c["id"] for c in calls} == {ring.call_id}
    assert all(no_metadata(c) and call_to_event(c).execution_id is None for c in calls)


@pytest.mark.parametrize("answer", [SAVED, TRANSIENT], ids=["saved", "transient"])
async def test_events_carry_the_metadata_the_answer_set(
    vapi: FakeVapi, edge: Edge, line: str, answer: dict[str, Any]
) -> None:
    edge.answer = answer
    ring = await ring_and_settle(vapi, line)
    parsed = [parse_server_message(event) for event in edge.events]
    assert {(e.call_id, e.execution_id) for e in parsed if e is not None} == {(ring.call_id, 41)}


async def test_every_message_of_an_inbound_call_passes_the_sdks_models(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    edge.answer = TRANSFER
    await ring_and_settle(vapi, line)
    assert len(edge.events) == 3
    assert [check_message(event) for event in edge.events] == [[], [], []]


# ----------------------------------------------------------------------------- strictness
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({**REJECT, "metadata": METADATA}, InboundEnd.INVALID_ASSISTANT),
        ({"assistantId": "asst-1", "route": "assistant"}, InboundEnd.INVALID_ASSISTANT),
        ({**REJECT, **TRANSFER}, InboundEnd.INVALID_ASSISTANT),
        ({"assistantId": "a", "assistant": {"firstMessage": "Hi"}}, InboundEnd.INVALID_ASSISTANT),
        ({"destination": {"type": "number", "number": "4155550199"}}, InboundEnd.INVALID_ASSISTANT),
        ({"error": 42}, InboundEnd.INVALID_ASSISTANT),
        ("not json", InboundEnd.INVALID_ASSISTANT),
        ({}, InboundEnd.NO_ASSISTANT),
        ({"assistantOverrides": {"metadata": METADATA}}, InboundEnd.NO_ASSISTANT),
        ({"error": "  "}, InboundEnd.UNSPEAKABLE_ERROR),
    ],
    ids=[
        "unknown-top-level-key", "unknown-key-beside-assistant", "two-routes",
        "assistant-and-id", "destination-not-e164", "error-not-text", "not-json", "empty",
        "overrides-alone", "blank-error",
    ],
)  # fmt: skip
async def test_an_answer_vapi_cannot_use_ends_the_call_with_its_reason(
    vapi: FakeVapi, edge: Edge, line: str, answer: Any, reason: InboundEnd
) -> None:
    edge.answer = answer
    ring = await ring_and_settle(vapi, line)
    reasons = [m["endedReason"] for m in edge.messages("end-of-call-report")]
    assert (ring.ended_reason, reasons) == (reason, [reason])


async def test_an_unknown_key_is_named_among_the_problems(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    edge.answer = {**REJECT, "metadata": METADATA}
    ring = await ring_and_settle(vapi, line)
    assert any("property metadata should not exist" in p for p in ring.problems)


async def test_an_answer_slower_than_the_deadline_fails_the_request(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    vapi.assistant_request_deadline = 0.2
    edge.delay = 1.0
    ring = await ring_and_settle(vapi, line)
    assert (ring.http_status, ring.ended_reason) == (None, InboundEnd.FAILED)
    assert ring.elapsed < 1.0


async def test_the_deadline_is_seven_and_a_half_seconds_by_default(vapi: FakeVapi) -> None:
    assert vapi.assistant_request_deadline == 7.5


async def test_an_error_status_fails_the_request_whatever_the_body(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    edge.status = 500
    ring = await ring_and_settle(vapi, line)
    assert (ring.http_status, ring.route, ring.ended_reason) == (500, None, InboundEnd.FAILED)


async def test_a_wrong_secret_is_refused_and_the_call_fails(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    ring = await ring_and_settle(vapi, line, headers={"x-vapi-secret": "wrong"})
    assert (edge.asked[0][0], ring.http_status, ring.ended_reason) == (
        "wrong",
        401,
        InboundEnd.FAILED,
    )


async def test_a_duplicate_request_carries_the_same_call_id(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    ring = await ring_and_settle(vapi, line, duplicate=True)
    call_ids = [payload["message"]["call"]["id"] for _, payload in edge.asked]
    assert (call_ids, ring.repeats) == ([ring.call_id, ring.call_id], ((200, REJECT),))


async def test_a_refused_answer_goes_to_the_numbers_fallback_destination(
    vapi: FakeVapi, edge: Edge
) -> None:
    body = import_body(
        LINE, "Front desk", credential_id=CREDENTIAL, server_url=edge.url + EVENTS_PATH,
        secret=SECRET,
    )  # fmt: skip
    body["fallbackDestination"] = {"type": "number", "number": "+14155550177"}
    created = await vapi_request(vapi, "POST", "/phone-number", body)
    edge.status = 503
    ring = await ring_and_settle(vapi, created["id"])
    statuses = [m["status"] for m in edge.messages("status-update")]
    assert (ring.route, statuses) == ("fallback", ["forwarding", "ended"])


def test_judging_exactly_one_route_needs_no_server() -> None:
    verdict = judge_answer(200, SAVED)
    assert (verdict.route, verdict.reason, verdict.problems) == (
        "assistant",
        InboundEnd.CUSTOMER_ENDED,
        (),
    )


# ----------------------------------------------------------------------------- reconciling
async def test_get_call_finds_the_inbound_call_once_it_rang(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    ring = await ring_and_settle(vapi, line)
    call = await vapi_request(vapi, "GET", f"/call/{ring.call_id}")
    assert (call["type"], call["status"], call["endedReason"]) == (
        "inboundPhoneCall",
        "ended",
        InboundEnd.RETURNED_ERROR,
    )


async def test_the_call_listing_includes_the_lines_inbound_calls(
    vapi: FakeVapi, edge: Edge, line: str
) -> None:
    ring = await ring_and_settle(vapi, line)
    listed = await vapi_request(vapi, "GET", f"/call?phoneNumberId={line}")
    assert [call["id"] for call in listed] == [ring.call_id]


async def test_ringing_an_unknown_number_is_a_key_error(vapi: FakeVapi) -> None:
    with pytest.raises(KeyError):
        await vapi.ring("no-such-number")
