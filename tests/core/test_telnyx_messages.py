"""The Telnyx carrier's text messages against the strict fake Telnyx on loopback.

Sends go through real HTTP to ``tests/fakes/telnyx_server.py``, which refuses any field it does
not know, so the bodies asserted here are the bodies Telnyx gets. Events are the fake's own
signed deliveries, read back with :meth:`TelnyxCarrier.read_event` (``telephony.md`` §4.4,
§4.5).
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from fakes.telnyx_server import (
    DEFAULT_AGENT,
    DEFAULT_PROFILE,
    FakeTelnyx,
    Fault,
    start_fake_telnyx,
)

from dialcues_core.adapters.providers.telnyx.carrier import TelnyxCarrier
from dialcues_core.adapters.providers.telnyx.client import Reply, classify
from dialcues_core.errors import (
    CarrierRejected,
    CarrierThrottled,
    CarrierUnknownOutcome,
    CarrierUnreachable,
    ProviderEventRejected,
)
from dialcues_core.messages.model import (
    CarrierReport,
    IncomingText,
    Message,
    MessageCost,
    MessageStatus,
    OutgoingMessage,
    SendReceipt,
)
from dialcues_core.numbers.model import CarrierEvent, CarrierEventKind, CarrierSettings, Refusal
from dialcues_core.testing import FakeClock

KEY = "telnyx-key-ours"
START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
LINE = "+14155550142"
HANDSET = "+14155550100"
TEXT = "Hi Ada, see you at 3 pm."
NOWHERE = "https://dialcues.example/api/providers/telnyx/events/org_1?message_id=msg_1"


@dataclass
class Receiver:
    """Our webhook endpoint's stand-in: records each delivery, answers 200."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=200)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body)["data"] for _, body in self.received]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def telnyx(clock: FakeClock) -> AsyncIterator[FakeTelnyx]:
    fake = await start_fake_telnyx(api_keys=(KEY,), clock=clock.now, auto_deliver_messages=False)
    yield fake
    await fake.close()


@pytest.fixture
async def receiver(telnyx: FakeTelnyx) -> AsyncIterator[Receiver]:
    """Listens for events; the fake's profile webhook (inbound texts) points at it too."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/events", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/events"
    telnyx.set_profile_webhook(DEFAULT_PROFILE, receiver.url)
    yield receiver
    await runner.cleanup()


def settings(fake: FakeTelnyx, **changes: Any) -> CarrierSettings:
    """Our Telnyx settings pointing at the fake, with an RCS agent."""
    values: dict[str, Any] = {
        "carrier": "telnyx", "api_key": KEY, "public_key": fake.public_key,
        "messaging_profile_id": DEFAULT_PROFILE, "base_url": fake.url,
        "rcs_agent_id": DEFAULT_AGENT, **changes,
    }  # fmt: skip
    return CarrierSettings(**values)


@pytest.fixture
async def carrier(telnyx: FakeTelnyx) -> AsyncIterator[TelnyxCarrier]:
    carrier = TelnyxCarrier(settings(telnyx), timeout=2.0)
    yield carrier
    await carrier.close()


def outgoing(
    channel: str = "sms",
    *,
    to: str = HANDSET,
    text: str = TEXT,
    media: tuple[str, ...] = (),
    fallback: bool = False,
    webhook_url: str = NOWHERE,
) -> OutgoingMessage:
    return OutgoingMessage(
        message_id="msg_1", organization_id="org_1", channel=channel, to=to,
        from_number=LINE, text=text, media_urls=media, sms_fallback=fallback,
        webhook_url=webhook_url,
    )  # fmt: skip


def ours(receiver: Receiver, message_id: str = "msg_1") -> str:
    """The webhook URL the core would give: ours, naming the message."""
    return f"{receiver.url}?message_id={message_id}"


def read_all(carrier: TelnyxCarrier, receiver: Receiver) -> list[CarrierEvent]:
    return [carrier.read_event(headers, body, START) for headers, body in receiver.received]


def only_send(telnyx: FakeTelnyx) -> dict[str, Any]:
    [request] = [r for r in telnyx.requests if r.method == "POST"]
    assert isinstance(request.json, dict)
    return request.json


async def sent_and_reported(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver, message: OutgoingMessage
) -> list[CarrierEvent]:
    """Send ``message``, let the fake deliver its events, read them back."""
    receipt = await carrier.send(message)
    await telnyx.deliver_message(receipt.carrier_message_id)
    return read_all(carrier, receiver)


# ----------------------------------------------------------------------------- send
async def test_an_sms_is_posted_with_exactly_the_specified_body(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    receipt = await carrier.send(outgoing())
    assert only_send(telnyx) == {
        "from": LINE, "to": HANDSET, "text": TEXT, "type": "SMS",
        "messaging_profile_id": DEFAULT_PROFILE, "webhook_url": NOWHERE,
    }  # fmt: skip
    [request] = telnyx.requests_to("POST", "/messages")
    assert request.api_key == KEY and request.status == 200
    assert receipt == SendReceipt(next(iter(telnyx.messaging.messages)), segments=1, cost=None)


async def test_an_mms_carries_its_media_urls_and_type_mms(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    media = ("https://cdn.example/a.png", "https://cdn.example/b.png")
    await carrier.send(outgoing("mms", media=media))
    assert only_send(telnyx) == {
        "from": LINE, "to": HANDSET, "text": TEXT, "type": "MMS", "media_urls": list(media),
        "messaging_profile_id": DEFAULT_PROFILE, "webhook_url": NOWHERE,
    }  # fmt: skip


async def test_an_rcs_message_goes_to_the_rcs_endpoint_with_the_agent(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    receipt = await carrier.send(outgoing("rcs"))
    [request] = telnyx.requests_to("POST", "/messages/rcs")
    assert request.json == {
        "agent_id": DEFAULT_AGENT, "to": HANDSET, "messaging_profile_id": DEFAULT_PROFILE,
        "agent_message": {"content_message": {"text": TEXT}}, "webhook_url": NOWHERE,
    }  # fmt: skip
    assert receipt.carrier_message_id in telnyx.messaging.messages


async def test_an_rcs_message_asks_for_the_sms_fallback_when_told(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    await carrier.send(outgoing("rcs", fallback=True))
    [request] = telnyx.requests_to("POST", "/messages/rcs")
    assert request.json["sms_fallback"] == {"from": LINE, "text": TEXT}


async def test_a_long_sms_reports_its_segments(carrier: TelnyxCarrier) -> None:
    receipt = await carrier.send(outgoing(text="x" * 200))
    assert receipt.segments == 2


async def test_rcs_without_an_agent_is_not_configured_and_nothing_is_sent(
    telnyx: FakeTelnyx,
) -> None:
    carrier = TelnyxCarrier(settings(telnyx, rcs_agent_id=None))
    with pytest.raises(CarrierRejected) as caught:
        await carrier.send(outgoing("rcs"))
    assert caught.value.meaning == Refusal.NOT_CONFIGURED and telnyx.requests == []


async def test_a_send_without_a_messaging_profile_is_not_configured(telnyx: FakeTelnyx) -> None:
    carrier = TelnyxCarrier(settings(telnyx, messaging_profile_id=None))
    with pytest.raises(CarrierRejected) as caught:
        await carrier.send(outgoing())
    assert caught.value.meaning == Refusal.NOT_CONFIGURED and telnyx.requests == []


async def test_settle_reports_nothing_telnyx_reports_by_webhook(carrier: TelnyxCarrier) -> None:
    message = Message(
        id="msg_1", organization_id="org_1", user_id=None, direction="outbound", source="api",
        channel="sms", status=MessageStatus.SENDING, to=HANDSET, from_number=LINE,
        line_id=None, text=TEXT, purpose="informational", created_at=START, updated_at=START,
    )  # fmt: skip
    assert await carrier.settle(message, START) == []


# ----------------------------------------------------------------------------- send failures
async def test_a_stop_block_is_an_opt_out_40300(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    await telnyx.receive_text(HANDSET, LINE, "Stop")
    with pytest.raises(CarrierRejected) as caught:
        await carrier.send(outgoing())
    assert (caught.value.carrier_code, caught.value.meaning) == ("40300", Refusal.OPTED_OUT)
    assert telnyx.messaging.messages == {}


async def test_start_lifts_the_block(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    await telnyx.receive_text(HANDSET, LINE, "STOP")
    await telnyx.receive_text(HANDSET, LINE, "unstop")
    assert (await carrier.send(outgoing())).carrier_message_id


async def test_an_unregistered_10dlc_sender_refused_at_once_is_campaign_not_registered(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.messaging.unregistered.add(LINE)
    telnyx.messaging.ten_dlc_refusal = "sync"
    with pytest.raises(CarrierRejected) as caught:
        await carrier.send(outgoing())
    assert (caught.value.carrier_code, caught.value.meaning) == ("40010", Refusal.CAMPAIGN)


async def test_rcs_to_an_incapable_handset_without_fallback_is_channel_unavailable(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.messaging.rcs_incapable.add(HANDSET)
    with pytest.raises(CarrierRejected) as caught:
        await carrier.send(outgoing("rcs"))
    assert (caught.value.carrier_code, caught.value.meaning) == (
        "40001", Refusal.CHANNEL_UNAVAILABLE,
    )  # fmt: skip


async def test_a_40001_on_an_sms_keeps_its_code_as_a_rejection() -> None:
    error = classify(Reply(422, {"errors": [{"code": "40001"}]}), "POST /messages")
    assert isinstance(error, CarrierRejected) and error.meaning == Refusal.REJECTED


async def test_a_throttled_send_is_sent_again_and_sends_once(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.fail_next(Fault.THROTTLE, method="POST", path="/messages")
    await carrier.send(outgoing())
    statuses = [r.status for r in telnyx.requests_to("POST", "/messages")]
    assert statuses == [429, 200] and len(telnyx.messaging.messages) == 1


async def test_a_send_throttled_every_time_raises_throttled_and_sends_nothing(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.throttle_all = True
    with pytest.raises(CarrierThrottled):
        await carrier.send(outgoing())
    assert telnyx.messaging.messages == {}


async def test_a_throttle_longer_than_a_minute_is_raised_with_its_delay(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.throttle_all, telnyx.ratelimit_reset = True, 90
    with pytest.raises(CarrierThrottled) as caught:
        await carrier.send(outgoing())
    assert caught.value.retry_after == 90 and len(telnyx.sends_to(HANDSET)) == 1


@pytest.mark.parametrize("code", ["10011", "40011", "40318"])
def test_throttling_codes_on_a_send_are_throttled(code: str) -> None:
    error = classify(Reply(400, {"errors": [{"code": code}]}), "POST /messages")
    assert isinstance(error, CarrierThrottled)


@pytest.mark.parametrize(
    ("code", "meaning"),
    [("10009", Refusal.ACCOUNT), ("20100", Refusal.ACCOUNT), ("40317", Refusal.REJECTED)],
)
def test_account_and_other_codes_on_a_send_are_classified(code: str, meaning: Refusal) -> None:
    error = classify(Reply(422, {"errors": [{"code": code}]}), "POST /messages")
    assert isinstance(error, CarrierRejected) and (error.carrier_code, error.meaning) == (
        code, meaning,
    )  # fmt: skip


async def test_a_timed_out_send_is_unknown_and_never_sent_again(
    telnyx: FakeTelnyx, receiver: Receiver
) -> None:
    carrier = TelnyxCarrier(settings(telnyx), timeout=0.3)
    telnyx.fail_next(Fault.DONE_THEN_HANG, method="POST", to=HANDSET)
    try:
        with pytest.raises(CarrierUnknownOutcome):
            await carrier.send(outgoing(webhook_url=ours(receiver)))
    finally:
        await carrier.close()
    assert len(telnyx.sends_to(HANDSET)) == 1
    [carrier_id] = telnyx.messaging.messages  # accepted: its events name it by our id
    await telnyx.deliver_message(carrier_id)
    reports = [event.report for event in read_all(carrier, receiver)]
    assert {(r.message_id, r.carrier_message_id) for r in reports if r} == {("msg_1", carrier_id)}


async def test_a_send_answered_5xx_is_unknown_and_never_sent_again(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.fail_next(Fault.DONE_THEN_500, method="POST", path="/messages")
    with pytest.raises(CarrierUnknownOutcome):
        await carrier.send(outgoing())
    assert len(telnyx.sends_to(HANDSET)) == 1 and len(telnyx.messaging.messages) == 1


async def test_a_dropped_connection_after_sending_is_unknown(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.fail_next(Fault.DONE_THEN_DROP, method="POST", path="/messages")
    with pytest.raises(CarrierUnknownOutcome):
        await carrier.send(outgoing())
    assert len(telnyx.sends_to(HANDSET)) == 1


async def test_a_carrier_nobody_listens_for_is_unreachable(telnyx: FakeTelnyx) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v2"
    carrier = TelnyxCarrier(settings(telnyx, base_url=closed), timeout=1.0)
    try:
        with pytest.raises(CarrierUnreachable):
            await carrier.send(outgoing())
    finally:
        await carrier.close()


# ----------------------------------------------------------------------------- status events
@pytest.mark.parametrize(
    ("outcome", "code", "expected"),
    [
        ("delivered", None, (MessageStatus.DELIVERED, False, None, None)),
        ("delivery_unconfirmed", None, (MessageStatus.SENT, True, None, None)),
        ("delivery_failed", None, (MessageStatus.UNDELIVERED, False, "undeliverable", "40008")),
        ("expired", None, (MessageStatus.UNDELIVERED, False, "undeliverable", "40005")),
        ("sending_failed", None, (MessageStatus.FAILED, False, "carrier_rejected", "40012")),
        (
            "sending_failed",
            "40010",
            (MessageStatus.FAILED, False, "campaign_not_registered", "40010"),
        ),
        ("sending_failed", "40300", (MessageStatus.FAILED, False, "recipient_suppressed", "40300")),
    ],
)
async def test_the_finalized_status_is_translated_by_the_table(
    telnyx: FakeTelnyx,
    carrier: TelnyxCarrier,
    receiver: Receiver,
    outcome: str,
    code: str | None,
    expected: tuple[MessageStatus, bool, str | None, str | None],
) -> None:
    telnyx.set_outcome(HANDSET, outcome, code)
    events = await sent_and_reported(
        telnyx, carrier, receiver, outgoing(webhook_url=ours(receiver))
    )
    final = events[-1]
    assert (final.kind, final.type) == (CarrierEventKind.MESSAGE_STATUS, "message.finalized")
    assert final.report is not None
    report = final.report
    got = (report.status, report.completed, report.error_code, report.carrier_error_code)
    assert got == expected
    assert (report.message_id, report.delivered_channel, report.occurred_at) == (
        "msg_1", "sms", START,
    )  # fmt: skip
    assert (report.error_message is None) == (expected[3] is None)


async def test_sent_then_finalized_with_cost_segments_and_ids(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    receipt = await carrier.send(outgoing(webhook_url=ours(receiver)))
    await telnyx.deliver_message(receipt.carrier_message_id)
    sent, final = (event.report for event in read_all(carrier, receiver))
    assert sent == CarrierReport(
        status=MessageStatus.SENT, carrier_message_id=receipt.carrier_message_id,
        message_id="msg_1", delivered_channel="sms", segments=1, occurred_at=START,
    )  # fmt: skip
    assert final is not None and final.cost == MessageCost("0.0040", "USD")


async def test_a_sending_failed_error_message_is_telnyxs_title(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    telnyx.messaging.unregistered.add(LINE)  # default: accepted, then sending_failed 40010
    [final] = await sent_and_reported(
        telnyx, carrier, receiver, outgoing(webhook_url=ours(receiver))
    )
    assert final.report is not None
    assert final.report.error_message == "Unregistered 10DLC message"


async def test_rcs_delivered_by_the_sms_fallback_reports_the_sms_channel(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    telnyx.messaging.rcs_incapable.add(HANDSET)
    message = outgoing("rcs", fallback=True, webhook_url=ours(receiver))
    events = await sent_and_reported(telnyx, carrier, receiver, message)
    assert [e.report.delivered_channel for e in events if e.report] == ["sms", "sms"]
    assert events[-1].report is not None and events[-1].report.status is MessageStatus.DELIVERED


async def test_rcs_delivered_as_rcs_reports_the_rcs_channel(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    events = await sent_and_reported(
        telnyx, carrier, receiver, outgoing("rcs", webhook_url=ours(receiver))
    )
    assert [e.report.delivered_channel for e in events if e.report] == ["rcs", "rcs"]


async def test_an_rcs_handset_unreachable_at_the_end_is_channel_unavailable(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    telnyx.messaging.rcs_incapable.add(HANDSET)
    telnyx.messaging.rcs_refusal = "final"
    [final] = await sent_and_reported(
        telnyx, carrier, receiver, outgoing("rcs", webhook_url=ours(receiver))
    )
    assert final.report is not None
    assert (final.report.status, final.report.error_code) == (
        MessageStatus.FAILED, "channel_unavailable",
    )  # fmt: skip


def status_event(telnyx: FakeTelnyx, payload: dict[str, Any], kind: str = "message.sent") -> bytes:
    return telnyx.event_body(kind, payload)


def payload(status: str = "sent", **changes: Any) -> dict[str, Any]:
    return {
        "id": "c0ffee00-0000-4000-8000-000000000001", "type": "SMS",
        "to": [{"phone_number": HANDSET, "status": status}], "webhook_url": NOWHERE,
        **changes,
    }  # fmt: skip


def read(carrier: TelnyxCarrier, telnyx: FakeTelnyx, body: bytes) -> CarrierEvent:
    return carrier.read_event(telnyx.sign(body), body, START)


@pytest.mark.parametrize("status", ["queued", "sending"])
async def test_queued_and_sending_are_sending(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, status: str
) -> None:
    event = read(carrier, telnyx, status_event(telnyx, payload(status)))
    assert event.report is not None and event.report.status is MessageStatus.SENDING


@pytest.mark.parametrize("written", ["sms", "Sms", "SMS"])
async def test_the_type_is_compared_in_any_case(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, written: str
) -> None:
    event = read(carrier, telnyx, status_event(telnyx, payload(type=written)))
    assert event.report is not None and event.report.delivered_channel == "sms"


@pytest.mark.parametrize(
    "url",
    [
        "https://dialcues.example/events/org_1?message_id=abc",
        "https://dialcues.example/events/org_1",
        "https://dialcues.example/events/org_1?message_id=msg_1&message_id=msg_2",
        None,
    ],
)
async def test_only_our_msg_id_in_the_webhook_url_names_the_message(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, url: str | None
) -> None:
    event = read(carrier, telnyx, status_event(telnyx, payload(webhook_url=url)))
    assert event.report is not None and event.report.message_id is None
    assert event.report.carrier_message_id == payload()["id"]


async def test_message_read_is_ignored(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    event = read(carrier, telnyx, status_event(telnyx, payload("read"), "message.read"))
    assert (event.kind, event.report, event.incoming) == (CarrierEventKind.OTHER, None, None)


@pytest.mark.parametrize(
    "changes",
    [
        {"to": "+14155550100"},
        {"to": []},
        {"to": [{"phone_number": HANDSET, "status": "webhook_delivered"}]},
        {"id": None, "webhook_url": None},
        {"to": [{"status": 7}]},
    ],
)
async def test_an_unreadable_status_payload_gives_no_report_and_no_error(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, changes: dict[str, Any]
) -> None:
    event = read(carrier, telnyx, status_event(telnyx, payload(**changes)))
    assert event.kind is CarrierEventKind.MESSAGE_STATUS and event.report is None


async def test_odd_fields_are_left_out_rather_than_guessed(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    odd = payload(
        "delivered", parts=True, cost={"amount": "lots", "currency": "USD"}, type="fax",
        errors=[{"code": 40008, "title": "x" * 500}],
    )  # fmt: skip
    event = read(carrier, telnyx, status_event(telnyx, odd, "message.finalized"))
    report = event.report
    assert report is not None
    assert (report.segments, report.cost, report.delivered_channel) == (None, None, None)
    assert report.carrier_error_code == "40008" and len(report.error_message or "") == 200


async def test_a_payload_that_is_not_an_object_gives_nothing(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    body = json.dumps({"data": {"id": "e1", "event_type": "message.finalized", "payload": [1]}})
    event = read(carrier, telnyx, body.encode())
    assert (event.kind, event.report) == (CarrierEventKind.MESSAGE_STATUS, None)


async def test_a_forged_message_event_is_refused(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    body = status_event(telnyx, payload("delivered"), "message.finalized")
    headers = telnyx.sign(body)
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(headers, body.replace(b"delivered", b"delivery_failed"), START)
    other = await start_fake_telnyx()
    try:
        with pytest.raises(ProviderEventRejected):
            carrier.read_event(other.sign(body), body, START)
    finally:
        await other.close()


async def test_a_stale_message_event_is_refused(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    body = status_event(telnyx, payload("delivered"), "message.finalized")
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(telnyx.sign(body, stale=True), body, START)


# ----------------------------------------------------------------------------- inbound
async def received(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver, text: str, **kwargs: Any
) -> IncomingText:
    await telnyx.receive_text(HANDSET, LINE, text, **kwargs)
    event = read_all(carrier, receiver)[-1]
    assert (event.kind, event.report) == (CarrierEventKind.MESSAGE_RECEIVED, None)
    assert event.incoming is not None
    return event.incoming


async def test_an_inbound_text_is_translated(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    incoming = await received(telnyx, carrier, receiver, "Running late, sorry")
    [payload] = telnyx.messaging.received
    assert incoming == IncomingText(
        from_number=HANDSET, to_number=LINE, text="Running late, sorry", channel="sms",
        carrier_message_id=payload["id"], media_urls=(), autoresponse_type=None,
        received_at=START,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "autoresponse"),
    [
        ("STOP", "STOP"), ("stop all", "STOP"), ("Unsubscribe", "STOP"), ("quit", "STOP"),
        ("START", "START"), ("unstop", "START"), ("help", "HELP"),
        ("REVOKE", None), ("opt out", None), ("please stop texting me", None), ("INFO", None),
    ],
)  # fmt: skip
async def test_the_carriers_autoresponse_type_is_kept(
    telnyx: FakeTelnyx,
    carrier: TelnyxCarrier,
    receiver: Receiver,
    text: str,
    autoresponse: str | None,
) -> None:
    incoming = await received(telnyx, carrier, receiver, text)
    assert (incoming.text, incoming.autoresponse_type) == (text, autoresponse)


async def test_rcs_inbound_text_comes_from_body_text(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    incoming = await received(telnyx, carrier, receiver, "Snooze 10 min", kind="RCS")
    assert (incoming.text, incoming.channel) == ("Snooze 10 min", "rcs")
    assert "text" not in telnyx.messaging.received[0]


async def test_an_inbound_mms_keeps_its_media_urls(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    media = ["https://media.telnyx.example/1.jpg"]
    incoming = await received(telnyx, carrier, receiver, "", kind="MMS", media_urls=media)
    assert (incoming.channel, incoming.media_urls, incoming.text) == ("mms", tuple(media), "")


async def test_an_inbound_payload_without_its_numbers_gives_no_text(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    body = telnyx.event_body("message.received", {"id": "m1", "text": "hi", "from": "x"})
    event = read(carrier, telnyx, body)
    assert (event.kind, event.incoming) == (CarrierEventKind.MESSAGE_RECEIVED, None)


@pytest.mark.parametrize("status", ["delivery_failed", "expired"])
async def test_a_final_40300_is_an_opt_out_whatever_the_status(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, status: str
) -> None:
    """A 40300 in the final event means the carrier holds an opt-out for the pair
    (``telephony.md`` §4.4): failed ``recipient_suppressed``, never merely undeliverable."""
    errors = [{"code": "40300", "title": "Blocked due to STOP message"}]
    body = status_event(telnyx, payload(status, errors=errors), "message.finalized")
    event = read(carrier, telnyx, body)
    assert event.report is not None
    assert (event.report.status, event.report.error_code, event.report.carrier_error_code) == (
        MessageStatus.FAILED, "recipient_suppressed", "40300",
    )  # fmt: skip
