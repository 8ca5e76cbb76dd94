"""The Vapi dialer against the fake Vapi on loopback, and the server-message parser."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from dialcues_core.adapters.dialers.vapi import (
    EVENTS_PATH,
    VapiDialer,
    build_call_body,
    call_to_event,
    parse_server_message,
    secret_matches,
)
from dialcues_core.errors import ProviderRejected, ProviderThrottled, ProviderUnknownOutcome
from dialcues_core.model import OutboundLine, Provider, ProviderSettings
from dialcues_core.ports import CallRequest
from tests.fakes.vapi_server import Failure, FakeVapi, MessageOrder, start_fake_vapi

API_KEY = "vapi-private-key-1234"
SECRET = "whsec-5678"
CORRELATION = {"execution_id": "17", "organization_id": "org-1"}


@dataclass
class Receiver:
    """A tiny stand-in for our REST edge: records every POST it gets."""

    url: str = ""
    received: list[tuple[str, str | None, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.received.append((request.path, request.headers.get("x-vapi-secret"), payload))
        return web.json_response({})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post(EVENTS_PATH, receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}"
    yield receiver
    await runner.cleanup()


@pytest.fixture
async def vapi() -> AsyncIterator[FakeVapi]:
    async with start_fake_vapi(api_key=API_KEY, webhook_secret=SECRET) as fake:
        yield fake


@pytest.fixture
async def dialer(receiver: Receiver) -> AsyncIterator[VapiDialer]:
    dialer = VapiDialer(receiver.url, timeout=2.0)
    yield dialer
    await dialer.close()


def call_request(
    base_url: str,
    to: str = "+14155550123",
    *,
    api_key: str = API_KEY,
    correlation: dict[str, str] | None = None,
    title: str = "Take the pills",
) -> CallRequest:
    """A request for one Vapi call from line ``pn-1``."""
    line = OutboundLine(
        "line-1", "org-1", Provider.VAPI, "+14155550100", None, True,
        datetime(2026, 1, 1, tzinfo=UTC), provider_line_id="pn-1",
    )  # fmt: skip
    provider = ProviderSettings(Provider.VAPI, api_key, "asst-1", SECRET, base_url=base_url)
    return CallRequest(
        17, 3, "org-1", line, provider, to, title, "Time to take your pills.",
        correlation if correlation is not None else dict(CORRELATION),
    )  # fmt: skip


def a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


# ----------------------------------------------------------------------------- create
async def test_a_well_formed_create_places_exactly_one_call(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver
) -> None:
    call_id = await dialer.place_call(call_request(vapi.base_url))
    assert [call["id"] for call in vapi.calls] == [call_id]
    assert vapi.rejections == []
    assert vapi.calls[0]["assistantOverrides"]["metadata"] == CORRELATION
    assert vapi.calls[0]["assistantOverrides"]["server"] == {"url": receiver.url + EVENTS_PATH}


async def test_the_create_body_holds_only_what_vapis_schema_has(vapi: FakeVapi) -> None:
    body = build_call_body(call_request(vapi.base_url), "https://dialcues.example/x")
    assert body == {
        "phoneNumberId": "pn-1",
        "customer": {"number": "+14155550123"},
        "assistantId": "asst-1",
        "assistantOverrides": {
            "firstMessage": "Time to take your pills.",
            "metadata": CORRELATION,
            "server": {"url": "https://dialcues.example/x"},
        },
        "name": "Take the pills",
    }


def test_the_call_name_is_cut_to_forty_characters() -> None:
    body = build_call_body(call_request("http://x", title="x" * 60), "http://y")
    assert body["name"] == "x" * 40


async def test_the_legacy_create_path_accepts_the_same_body(vapi: FakeVapi) -> None:
    body = build_call_body(call_request(vapi.base_url), "http://127.0.0.1:1/e")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(vapi.base_url + "/call/phone", json=body, headers=headers) as response,
    ):
        assert response.status == 201
    assert len(vapi.calls) == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"metadata": {"execution_id": "1"}}, "property metadata should not exist"),
        (
            {"customer": {"number": "+1415", "phone": "x"}},
            "customer.property phone should not exist",
        ),
    ],
)
async def test_the_fake_refuses_properties_outside_vapis_schema(
    vapi: FakeVapi, change: dict[str, Any], expected: str
) -> None:
    body = {**build_call_body(call_request(vapi.base_url), "http://127.0.0.1:1/e"), **change}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(vapi.base_url + "/call", json=body, headers=headers) as response,
    ):
        answer = await response.json()
    assert (response.status, answer["statusCode"], answer["error"]) == (400, 400, "Bad Request")
    assert expected in answer["message"]
    assert vapi.calls == []


async def test_a_bad_key_is_rejected_without_the_key_in_the_message(
    vapi: FakeVapi, dialer: VapiDialer
) -> None:
    with pytest.raises(ProviderRejected, match="Invalid Key") as caught:
        await dialer.place_call(call_request(vapi.base_url, api_key="wrong-key-9999"))
    assert "wrong-key-9999" not in str(caught.value)
    assert (caught.value.details, vapi.calls) == ({"status": 401}, [])


async def test_a_validation_error_is_rejected_with_vapis_message(
    vapi: FakeVapi, dialer: VapiDialer
) -> None:
    with pytest.raises(ProviderRejected, match=r"E\.164") as caught:
        await dialer.place_call(call_request(vapi.base_url, to="0612345678"))
    assert caught.value.message.startswith("Vapi answered 400: customer.number must be")
    assert vapi.calls == []


async def test_a_429_is_throttled_with_its_retry_after(vapi: FakeVapi, dialer: VapiDialer) -> None:
    vapi.fail_next(Failure.THROTTLE_429)
    with pytest.raises(ProviderThrottled) as caught:
        await dialer.place_call(call_request(vapi.base_url))
    assert (caught.value.retry_after, vapi.calls) == (7.0, [])


async def test_a_429_without_retry_after_leaves_the_wait_to_the_caller(
    vapi: FakeVapi, dialer: VapiDialer
) -> None:
    vapi.retry_after = None
    vapi.fail_next(Failure.THROTTLE_429)
    with pytest.raises(ProviderThrottled) as caught:
        await dialer.place_call(call_request(vapi.base_url))
    assert caught.value.retry_after is None


async def test_a_500_is_an_unknown_outcome(vapi: FakeVapi, dialer: VapiDialer) -> None:
    vapi.fail_next(Failure.ERROR_500)
    with pytest.raises(ProviderUnknownOutcome, match="500"):
        await dialer.place_call(call_request(vapi.base_url))


async def test_a_create_that_hangs_is_an_unknown_outcome_after_the_timeout(
    vapi: FakeVapi, receiver: Receiver
) -> None:
    vapi.fail_next(Failure.HANG)
    dialer = VapiDialer(receiver.url, timeout=0.2)
    with pytest.raises(ProviderUnknownOutcome, match="timed out"):
        await dialer.place_call(call_request(vapi.base_url))
    await dialer.close()


async def test_an_unreachable_vapi_is_an_unknown_outcome(dialer: VapiDialer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderUnknownOutcome, match="could not be reached"):
        await dialer.place_call(call_request(f"http://127.0.0.1:{port}"))


async def test_a_request_without_a_provider_account_is_rejected(dialer: VapiDialer) -> None:
    request = call_request("http://127.0.0.1:1")
    with pytest.raises(ProviderRejected, match="no Vapi account"):
        await dialer.place_call(CallRequest(**{**_fields(request), "provider": None}))


def _fields(request: CallRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in request.__dataclass_fields__}


# ----------------------------------------------------------------------------- reconcile
async def test_find_call_finds_a_call_placed_despite_the_500(
    vapi: FakeVapi, dialer: VapiDialer
) -> None:
    request = call_request(vapi.base_url)
    vapi.fail_next(Failure.PLACED_THEN_500)
    with pytest.raises(ProviderUnknownOutcome):
        await dialer.place_call(request)
    found = await dialer.find_call(request, a_minute_ago())
    assert found is not None
    assert (found.call_id, found.execution_id) == (vapi.calls[0]["id"], 17)


async def test_find_call_finds_a_call_placed_by_a_create_that_timed_out(
    vapi: FakeVapi, receiver: Receiver
) -> None:
    request = call_request(vapi.base_url)
    vapi.fail_next(Failure.HANG_PLACED)
    dialer = VapiDialer(receiver.url, timeout=0.2)
    with pytest.raises(ProviderUnknownOutcome):
        await dialer.place_call(request)
    found = await dialer.find_call(request, a_minute_ago())
    await dialer.close()
    assert found is not None and found.call_id == vapi.calls[0]["id"]


async def test_find_call_ignores_calls_of_other_executions(
    vapi: FakeVapi, dialer: VapiDialer
) -> None:
    other = {"execution_id": "18", "organization_id": "org-1"}
    await dialer.place_call(call_request(vapi.base_url, correlation=other))
    assert await dialer.find_call(call_request(vapi.base_url), a_minute_ago()) is None


async def test_find_call_ignores_calls_created_before_the_bound(
    vapi: FakeVapi, dialer: VapiDialer
) -> None:
    request = call_request(vapi.base_url)
    await dialer.place_call(request)
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert await dialer.find_call(request, later) is None


async def test_fetch_call_reports_the_ended_call(vapi: FakeVapi, dialer: VapiDialer) -> None:
    request = call_request(vapi.base_url, to="+14155550004")
    call_id = await dialer.place_call(request)
    await vapi.settle()
    event = await dialer.fetch_call(request, call_id)
    assert event is not None
    assert (event.status, event.ended_reason, event.execution_id) == ("ended", "voicemail", 17)
    assert (event.duration_s, event.cost) == (12, 0.07)


async def test_fetch_call_of_an_unknown_call_is_none(vapi: FakeVapi, dialer: VapiDialer) -> None:
    assert await dialer.fetch_call(call_request(vapi.base_url), "no-such-call") is None


# ----------------------------------------------------------------------------- messages
async def test_the_fake_delivers_the_messages_with_the_secret_header(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver
) -> None:
    call_id = await dialer.place_call(call_request(vapi.base_url, to="+14155550002"))
    await vapi.wait_for_deliveries(3)
    assert {(path, secret) for path, secret, _ in receiver.received} == {(EVENTS_PATH, SECRET)}
    events = [parse_server_message(payload) for _, _, payload in receiver.received]
    assert [(e.call_id, e.status, e.ended_reason) for e in events if e is not None] == [
        (call_id, "in-progress", None),
        (call_id, "ended", "customer-busy"),
        (call_id, "ended", "customer-busy"),
    ]


@pytest.mark.parametrize("order", list(MessageOrder))
async def test_every_order_of_end_messages_parses_to_the_same_end(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver, order: MessageOrder
) -> None:
    vapi.message_order = order
    vapi.duplicate = True
    await dialer.place_call(call_request(vapi.base_url, to="+14155550003"))
    await vapi.settle()
    events = [parse_server_message(payload) for _, _, payload in receiver.received]
    finals = [event for event in events if event is not None and event.is_final]
    assert len(finals) == (4 if order in ("status_first", "report_first") else 2)
    assert {(e.execution_id, e.ended_reason) for e in finals} == {(17, "customer-did-not-answer")}


async def test_the_end_of_call_report_carries_times_cost_and_duration(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver
) -> None:
    vapi.message_order = MessageOrder.REPORT_ONLY
    await dialer.place_call(call_request(vapi.base_url))
    await vapi.settle()
    report = parse_server_message(receiver.received[-1][2])
    assert report is not None and report.started_at is not None and report.ended_at is not None
    assert report.ended_at - report.started_at == timedelta(seconds=12)
    assert (report.duration_s, report.cost, report.organization_id) == (12, 0.07, "org-1")


def _message(kind: str, **fields: Any) -> dict[str, Any]:
    call = {"id": "c-1", "status": "queued", "assistantOverrides": {"metadata": CORRELATION}}
    return {"message": {"type": kind, "call": call, **fields}}


def test_a_status_update_parses_to_its_status() -> None:
    event = parse_server_message(_message("status-update", status="ringing"))
    assert event is not None
    assert (event.call_id, event.execution_id, event.status, event.is_final) == (
        "c-1", 17, "ringing", False,
    )  # fmt: skip


def test_an_ended_status_update_carries_its_reason() -> None:
    event = parse_server_message(_message("status-update", status="ended", endedReason="voicemail"))
    assert event is not None and (event.is_final, event.ended_reason) == (True, "voicemail")


def test_a_report_without_duration_takes_ended_minus_started() -> None:
    payload = _message(
        "end-of-call-report",
        endedReason="customer-ended-call",
        startedAt="2026-03-01T10:00:00.000Z",
        endedAt="2026-03-01T10:00:42.400Z",
        cost=0.1,
    )
    event = parse_server_message(payload)
    assert event is not None
    assert (event.status, event.duration_s, event.cost) == ("ended", 42, 0.1)
    assert event.started_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_a_report_with_unreadable_fields_keeps_what_it_can() -> None:
    payload = _message(
        "end-of-call-report", endedReason=7, startedAt="yesterday", cost=True, durationSeconds="x"
    )
    event = parse_server_message(payload)
    assert event is not None
    assert (event.status, event.ended_reason, event.started_at, event.cost) == (
        "ended", None, None, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "status-update",
        {},
        {"message": None},
        {"message": {"type": "status-update"}},
        {"message": {"type": "status-update", "call": {}}},
        {"message": {"type": "status-update", "call": {"id": 5}}},
        {"message": {"type": "status-update", "status": 3, "call": {"id": "c-1"}}},
        {"message": {"type": "hang", "call": {"id": "c-1"}}},
        {"message": {"type": "transcript", "call": {"id": "c-1"}}},
        {"message": {"call": {"id": "c-1"}}},
    ],
)
def test_junk_and_other_message_types_parse_to_none(payload: object) -> None:
    assert parse_server_message(payload) is None


@pytest.mark.parametrize("execution_id", ["abc", "", None, 1.5, True, "١٢"])
def test_an_unreadable_execution_id_reads_as_none(execution_id: object) -> None:
    call = {"id": "c-1", "assistantOverrides": {"metadata": {"execution_id": execution_id}}}
    assert call_to_event(call).execution_id is None


def test_a_call_without_an_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="id"):
        call_to_event({"status": "ended"})


def test_the_secret_check_accepts_only_the_exact_secret() -> None:
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(SECRET, SECRET + "x")
    assert not secret_matches(SECRET, None)
    assert not secret_matches("", "")
    assert not secret_matches(SECRET, "sécret")
