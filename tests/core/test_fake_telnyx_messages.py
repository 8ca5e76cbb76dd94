"""The fake Telnyx's messaging half keeps its promises (``telephony-facts.md`` §12).

Raw HTTP, no adapter: what the fake answers, what it delivers and when, so that a test of the
platform against it can rely on its switches.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.telnyx_server import (
    DEFAULT_AGENT,
    DEFAULT_PROFILE,
    FakeTelnyx,
    Fault,
    keyword,
    segments,
    start_fake_telnyx,
)

from dialcues_core.testing import FakeClock

KEY = "telnyx-key-ours"
OTHER_KEY = "telnyx-key-theirs"
START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
LINE = "+14155550142"
LINE_2 = "+14155550143"
HANDSET = "+14155550100"


@dataclass
class Receiver:
    """A webhook endpoint: records deliveries, answers ``status`` after ``delay`` seconds."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            self.headers.append(dict(request.headers))
            self.received.append(json.loads(await request.read()))
            return web.Response(status=self.status)
        finally:
            self.in_flight -= 1

    def types(self) -> list[str]:
        return [event["data"]["event_type"] for event in self.received]


async def listening(receiver: Receiver) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/events", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/events"
    return runner


@pytest.fixture
async def telnyx() -> AsyncIterator[FakeTelnyx]:
    clock = FakeClock(START)
    fake = await start_fake_telnyx(
        api_keys=(KEY, OTHER_KEY), clock=clock.now, auto_deliver_messages=False
    )
    yield fake
    await fake.close()


@pytest.fixture
async def receiver(telnyx: FakeTelnyx) -> AsyncIterator[Receiver]:
    """The message webhook_url and the default profile's webhook."""
    receiver = Receiver()
    runner = await listening(receiver)
    telnyx.set_profile_webhook(DEFAULT_PROFILE, receiver.url)
    yield receiver
    await runner.cleanup()


async def raw(
    telnyx: FakeTelnyx, method: str, path: str, key: str | None = KEY, **kwargs: Any
) -> tuple[int, Any]:
    """One request to the fake (``path`` under ``/v2`` unless it starts ``/_test/``)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    base = telnyx.url.removesuffix("/v2") if path.startswith("/_test/") else telnyx.url
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base + path, headers=headers, **kwargs) as response,
    ):
        return response.status, await response.json()


def sms(**changes: Any) -> dict[str, Any]:
    return {"from": LINE, "to": HANDSET, "text": "Hello", "type": "SMS", **changes}


async def send(telnyx: FakeTelnyx, **changes: Any) -> dict[str, Any]:
    status, answer = await raw(telnyx, "POST", "/messages", json=sms(**changes))
    assert status == 200, answer
    return answer["data"]  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- requests
async def test_a_send_is_answered_queued_with_a_uuid_and_no_cost(telnyx: FakeTelnyx) -> None:
    data = await send(telnyx, webhook_url="https://example.test/e?message_id=msg_1")
    uuid.UUID(data["id"])
    assert (data["record_type"], data["direction"], data["type"]) == ("message", "outbound", "SMS")
    assert data["to"][0]["status"] == "queued" and data["from"]["phone_number"] == LINE
    assert (data["cost"], data["parts"], data["text"]) == (None, 1, "Hello")
    assert data["webhook_url"] == "https://example.test/e?message_id=msg_1"


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/messages", sms(send_at="2026-03-26T00:00:00Z"), "/send_at"),
        (
            "/messages/rcs",
            {"agent_id": DEFAULT_AGENT, "to": HANDSET, "messaging_profile_id": DEFAULT_PROFILE,
             "agent_message": {"content_message": {"text": "Hi", "suggestions": []}}},
            "/agent_message/content_message/suggestions",
        ),
    ],
)  # fmt: skip
async def test_an_unknown_field_at_any_depth_is_a_400_naming_it(
    telnyx: FakeTelnyx, path: str, body: dict[str, Any], pointer: str
) -> None:
    status, answer = await raw(telnyx, "POST", path, json=body)
    [error] = answer["errors"]
    assert (status, error["code"], error["source"]["pointer"]) == (400, "10015", pointer)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (sms(text=""), 400, "10004"),
        (sms(media_urls=["https://cdn.example/a.png"]), 400, "10015"),
        (sms(type="MMS", media_urls=[f"https://cdn.example/{i}.png" for i in range(11)]), 422,
         "40317"),
        (sms(type="MMS", media_urls=["ftp://cdn.example/a.png"]), 400, "10003"),
        (sms(to="4155550100"), 400, "10016"),
        (sms(webhook_url="not a url"), 400, "10003"),
        (sms(messaging_profile_id="mp-nobody-knows"), 400, "10015"),
    ],
)  # fmt: skip
async def test_malformed_sends_are_refused_with_telnyxs_codes(
    telnyx: FakeTelnyx, body: dict[str, Any], status: int, code: str
) -> None:
    answer_status, answer = await raw(telnyx, "POST", "/messages", json=body)
    assert (answer_status, answer["errors"][0]["code"]) == (status, code)
    assert telnyx.messaging.messages == {}


async def test_an_unknown_rcs_agent_is_refused(telnyx: FakeTelnyx) -> None:
    body = {
        "agent_id": "someone-else", "to": HANDSET, "messaging_profile_id": DEFAULT_PROFILE,
        "agent_message": {"content_message": {"text": "Hi"}},
    }  # fmt: skip
    status, answer = await raw(telnyx, "POST", "/messages/rcs", json=body)
    assert (status, answer["errors"][0]["source"]["pointer"]) == (400, "/agent_id")


async def test_the_fake_has_no_idempotency_for_messages(telnyx: FakeTelnyx) -> None:
    first, second = await send(telnyx), await send(telnyx)
    assert first["id"] != second["id"] and len(telnyx.sends_to(HANDSET)) == 2


async def test_a_message_is_read_back_by_its_account_only(telnyx: FakeTelnyx) -> None:
    data = await send(telnyx)
    status, answer = await raw(telnyx, "GET", f"/messages/{data['id']}")
    assert (status, answer["data"]["id"]) == (200, data["id"])
    status, answer = await raw(telnyx, "GET", f"/messages/{data['id']}", key=OTHER_KEY)
    assert (status, answer["errors"][0]["code"]) == (404, "10005")


async def test_a_throttle_for_one_recipient_carries_the_rate_limit_headers(
    telnyx: FakeTelnyx,
) -> None:
    telnyx.fail_next(Fault.THROTTLE, method="POST", to=HANDSET)
    await send(telnyx, to="+14155550199")
    headers = {"Authorization": f"Bearer {KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(telnyx.url + "/messages", json=sms(), headers=headers) as response,
    ):
        assert response.status == 429 and response.headers["x-ratelimit-remaining"] == "0"
        assert (await response.json())["errors"][0]["code"] == "10011"


# ----------------------------------------------------------------------------- deliveries
async def test_events_follow_by_themselves_sent_then_finalized(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    telnyx.auto_deliver_messages = True
    data = await send(telnyx, webhook_url=receiver.url)
    await telnyx.wait_for_deliveries(2)
    assert receiver.types() == ["message.sent", "message.finalized"]
    payloads = [event["data"]["payload"] for event in receiver.received]
    assert [p["to"][0]["status"] for p in payloads] == ["sent", "delivered"]
    assert {p["id"] for p in payloads} == {data["id"]}
    assert payloads[1]["cost"] == {"amount": "0.0040", "currency": "USD"}


async def test_a_sending_failure_has_no_sent_event(telnyx: FakeTelnyx, receiver: Receiver) -> None:
    telnyx.set_outcome(HANDSET, "sending_failed")
    data = await send(telnyx, webhook_url=receiver.url)
    await telnyx.deliver_message(data["id"])
    [event] = receiver.received
    payload = event["data"]["payload"]
    assert (payload["to"][0]["status"], payload["errors"][0]["code"]) == ("sending_failed", "40012")


async def test_finalized_can_come_before_sent(telnyx: FakeTelnyx, receiver: Receiver) -> None:
    telnyx.finalized_first = True
    data = await send(telnyx, webhook_url=receiver.url)
    await telnyx.deliver_message(data["id"])
    assert receiver.types() == ["message.finalized", "message.sent"]


async def test_each_event_can_come_twice_with_the_same_id(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    telnyx.deliver_twice = True
    data = await send(telnyx, webhook_url=receiver.url)
    await telnyx.deliver_message(data["id"])
    ids = [event["data"]["id"] for event in receiver.received]
    attempts = [event["meta"]["attempt"] for event in receiver.received]
    assert attempts == [1, 2, 1, 2] and ids[0] == ids[1] != ids[2] == ids[3]


async def test_events_can_come_concurrently(telnyx: FakeTelnyx, receiver: Receiver) -> None:
    telnyx.deliver_concurrently, receiver.delay = True, 0.2
    data = await send(telnyx, webhook_url=receiver.url)
    await telnyx.deliver_message(data["id"])
    assert receiver.most_in_flight == 2 and sorted(receiver.types()) == [
        "message.finalized", "message.sent",
    ]  # fmt: skip


async def test_a_failing_message_url_falls_back_to_the_profile_url(telnyx: FakeTelnyx) -> None:
    refusing, profile = Receiver(status=204), Receiver()
    runners = [await listening(refusing), await listening(profile)]
    try:
        telnyx.delivery_backoff = 0.0
        telnyx.set_profile_webhook(DEFAULT_PROFILE, profile.url)
        data = await send(telnyx, webhook_url=refusing.url, type="SMS")
        await telnyx.deliver_message(data["id"])
    finally:
        for runner in runners:
            await runner.cleanup()
    assert [e["meta"]["attempt"] for e in refusing.received] == [1, 2, 3, 1, 2, 3]
    assert [e["meta"]["attempt"] for e in profile.received] == [4, 4]
    assert profile.received[0]["meta"]["delivered_to"] == profile.url


async def test_a_message_without_its_own_url_goes_to_the_events_url(telnyx: FakeTelnyx) -> None:
    receiver = Receiver()
    runner = await listening(receiver)
    try:
        telnyx.events_url = receiver.url
        data = await send(telnyx)
        await telnyx.deliver_message(data["id"])
    finally:
        await runner.cleanup()
    assert receiver.types() == ["message.sent", "message.finalized"]


async def test_the_stale_mode_signs_message_events_400_s_early(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    telnyx.stale_signatures = True
    data = await send(telnyx, webhook_url=receiver.url)
    await telnyx.deliver_message(data["id"])
    stamp = int(receiver.headers[0]["telnyx-timestamp"])
    assert stamp == int(START.timestamp()) - 400


async def test_an_incapable_rcs_handset_gets_the_sms_fallback(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    telnyx.messaging.rcs_incapable.add(HANDSET)
    body = {
        "agent_id": DEFAULT_AGENT, "to": HANDSET, "messaging_profile_id": DEFAULT_PROFILE,
        "agent_message": {"content_message": {"text": "Rich hello"}},
        "sms_fallback": {"from": LINE, "text": "Plain hello"}, "webhook_url": receiver.url,
    }  # fmt: skip
    status, answer = await raw(telnyx, "POST", "/messages/rcs", json=body)
    await telnyx.deliver_message(answer["data"]["id"])
    payload = receiver.received[-1]["data"]["payload"]
    assert status == 200 and (payload["type"], payload["text"]) == ("SMS", "Plain hello")
    assert payload["from"]["phone_number"] == LINE


async def test_an_unregistered_sender_fails_at_the_end_by_default(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    telnyx.messaging.unregistered.add(LINE)
    data = await send(telnyx, webhook_url=receiver.url)
    await telnyx.deliver_message(data["id"])
    [event] = receiver.received
    assert event["data"]["payload"]["errors"][0]["code"] == "40010"


# ----------------------------------------------------------------------------- inbound, opt-out
async def test_stop_blocks_the_handset_on_the_whole_profile(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    await telnyx.receive_text(HANDSET, LINE, "  stop   ALL ")
    status, answer = await raw(telnyx, "POST", "/messages", json=sms(**{"from": LINE_2}))
    [error] = answer["errors"]
    assert (status, error["code"], error["title"]) == (422, "40300", "Blocked due to STOP message")
    assert error["detail"] == (
        f"Messages cannot be sent from '{LINE_2}' to '{HANDSET}' due to an existing block rule."
    )
    other = "mp-other-profile"
    telnyx.set_profile_webhook(other, None)
    assert await send(telnyx, messaging_profile_id=other)


async def test_an_opt_out_is_listed_until_start(telnyx: FakeTelnyx, receiver: Receiver) -> None:
    await telnyx.receive_text(HANDSET, LINE, "UNSUBSCRIBE")
    query = {"filter[messaging_profile_id]": DEFAULT_PROFILE}
    _, listed = await raw(telnyx, "GET", "/messaging_optouts", params=query)
    [optout] = listed["data"]
    assert (optout["from"], optout["to"], optout["keyword"]) == (HANDSET, LINE, "unsubscribe")
    await telnyx.receive_text(HANDSET, LINE, "START")
    _, listed = await raw(telnyx, "GET", "/messaging_optouts", params=query)
    assert listed["data"] == [] and await send(telnyx)
    assert [a[2] for a in telnyx.messaging.autoreplies] == ["STOP", "START"]


@pytest.mark.parametrize("text", ["REVOKE", "opt out", "stop.", "STOP please"])
async def test_words_telnyx_does_not_know_block_nothing(
    telnyx: FakeTelnyx, receiver: Receiver, text: str
) -> None:
    payload = await telnyx.receive_text(HANDSET, LINE, text)
    assert payload["autoresponse_type"] is None and await send(telnyx)


async def test_stop_over_rcs_blocks_nothing(telnyx: FakeTelnyx, receiver: Receiver) -> None:
    payload = await telnyx.receive_text(HANDSET, LINE, "STOP", kind="RCS")
    assert payload["autoresponse_type"] is None and payload["body"] == {"text": "STOP"}


async def test_the_control_route_injects_an_inbound_text(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    body = {"from": HANDSET, "to": LINE, "text": "HELP"}
    status, answer = await raw(telnyx, "POST", "/_test/inbound_messages", key=None, json=body)
    assert status == 200 and answer["data"]["autoresponse_type"] == "HELP"
    [event] = receiver.received
    assert event["data"]["event_type"] == "message.received"
    assert event["data"]["payload"]["to"][0]["phone_number"] == LINE
    assert telnyx.requests == []  # control routes are not Telnyx's: not recorded


async def test_the_control_route_is_strict(telnyx: FakeTelnyx) -> None:
    body = {"from": HANDSET, "to": LINE, "text": "hi", "colour": "blue"}
    status, answer = await raw(telnyx, "POST", "/_test/inbound_messages", json=body)
    assert (status, answer["errors"][0]["source"]["pointer"]) == (400, "/colour")


async def test_patching_a_profile_sets_where_inbound_texts_go(telnyx: FakeTelnyx) -> None:
    receiver = Receiver()
    runner = await listening(receiver)
    try:
        path = f"/messaging_profiles/{DEFAULT_PROFILE}"
        status, answer = await raw(telnyx, "PATCH", path, json={"webhook_url": receiver.url})
        assert (status, answer["data"]["webhook_url"]) == (200, receiver.url)
        await telnyx.receive_text(HANDSET, LINE, "hello")
    finally:
        await runner.cleanup()
    assert receiver.types() == ["message.received"]


async def test_patching_an_unknown_profile_is_404(telnyx: FakeTelnyx) -> None:
    status, _ = await raw(telnyx, "PATCH", "/messaging_profiles/nope", json={"webhook_url": None})
    assert status == 404


# ----------------------------------------------------------------------------- pure rules
@pytest.mark.parametrize(
    ("text", "word"),
    [("STOP", "STOP"), ("  stop \t all ", "STOP"), ("StopAll", "STOP"), ("end", "STOP"),
     ("Unstop", "START"), ("help", "HELP"), ("info", None), ("stop!", None), ("", None)],
)  # fmt: skip
def test_keywords_are_the_whole_text_in_any_case(text: str, word: str | None) -> None:
    assert keyword(text) == word


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a" * 160, (1, "GSM-7")), ("a" * 161, (2, "GSM-7")), ("{" * 80, (1, "GSM-7")),
     ("{" * 81, (2, "GSM-7")), ("é" * 70, (1, "GSM-7")), ("ő" * 70, (1, "UCS-2")),
     ("ő" * 71, (2, "UCS-2")), ("😀" * 35, (1, "UCS-2"))],
)  # fmt: skip
def test_segments_follow_gsm7_and_ucs2(text: str, expected: tuple[int, str]) -> None:
    assert segments(text) == expected
