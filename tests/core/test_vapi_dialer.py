"""The Vapi dialer against the fake Vapi on loopback, and the server-message parser.

The fake checks every create against the official SDK's ``CreateOutboundCallDto`` strictly
and every server message it sends against the SDK's model of its type (``support.vapi_sdk``);
the tests below also check the adapter's body and the fake's messages against the SDK
directly, so that neither can drift from Vapi's schema unnoticed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.vapi_server import (
    Failure,
    FakeVapi,
    MessageOrder,
    check_message,
    sdk_models,
    start_fake_vapi,
)
from support.vapi_sdk import strict_errors

from dialcues_core.accounts.model import OutboundLine, Provider, ProviderSettings
from dialcues_core.adapters.providers.vapi.voice import (
    EVENTS_PATH,
    VapiDialer,
    build_call_body,
    call_to_event,
    parse_server_message,
)
from dialcues_core.calling.policy import Identity
from dialcues_core.calls.calltoken import call_token, token_matches
from dialcues_core.calls.ports import CallRequest
from dialcues_core.errors import (
    ProviderRejected,
    ProviderThrottled,
    ProviderUnknownOutcome,
    ProviderUnreachable,
)
from dialcues_core.kernel.crypto import hashes_match

pytestmark = pytest.mark.xdist_group("vapi_sdk")  # one worker pays the SDK's ~10 s import

API_KEY = "vapi-private-key-1234"
SECRET = "whsec-5678"
CORRELATION = {"execution_id": "17", "organization_id": "org-1"}
TOKEN = call_token(SECRET, 17)  # execution 17's call token: what Vapi must send back
ACME = Identity("Acme Pharmacy", "+14155550100")
PUBLIC = "https://dialcues.example"


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
    message: str = "Time to take your pills.",
    identity: Identity | None = ACME,
) -> CallRequest:
    """A request for one Vapi call (execution 17) from line ``pn-1``, by Acme Pharmacy."""
    line = OutboundLine(
        "line-1", "org-1", Provider.VAPI, "+14155550100", None, True,
        datetime(2026, 1, 1, tzinfo=UTC), provider_line_id="pn-1",
    )  # fmt: skip
    provider = ProviderSettings(Provider.VAPI, api_key, "asst-1", SECRET, base_url=base_url)
    return CallRequest(
        17, 3, "org-1", line, provider, to, title, message,
        correlation if correlation is not None else dict(CORRELATION), identity=identity,
    )  # fmt: skip


def a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


async def post_create(vapi: FakeVapi, body: object) -> tuple[int, Any]:
    """POST a raw create body to the fake; return its status and decoded answer."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(vapi.base_url + "/call", json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def a_body(public_url: str = "http://127.0.0.1:1", **changes: Any) -> dict[str, Any]:
    """The adapter's create body for ``public_url``, its transient ``assistant`` changed
    (None drops a key)."""
    body = build_call_body(call_request("http://127.0.0.1:1"), public_url)
    merged = {**body["assistant"], **changes}
    body["assistant"] = {key: v for key, v in merged.items() if v is not None}
    return body


def merged(base: Any, change: Any) -> Any:
    """``base`` with ``change`` laid over it, objects merged key by key at every depth."""
    if not isinstance(base, dict) or not isinstance(change, dict):
        return copy.deepcopy(change)
    return {**base, **{key: merged(base.get(key), value) for key, value in change.items()}}


# ----------------------------------------------------------------------------- create
async def test_a_well_formed_create_places_exactly_one_call(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver
) -> None:
    call_id = await dialer.place_call(call_request(vapi.base_url))
    assert [call["id"] for call in vapi.calls] == [call_id]
    assert vapi.rejections == []
    assert vapi.calls[0]["assistantOverrides"] == {"metadata": CORRELATION}
    assert vapi.calls[0]["assistant"]["server"] == {
        "url": receiver.url + EVENTS_PATH,
        "headers": {"x-vapi-secret": TOKEN},
        "timeoutSeconds": 20,
    }


async def test_the_create_body_is_a_transient_assistant_and_the_correlation_ids(
    vapi: FakeVapi,
) -> None:
    body = build_call_body(call_request(vapi.base_url), PUBLIC)
    assert set(body) == {"phoneNumberId", "customer", "assistant", "assistantOverrides", "name"}
    assert (body["phoneNumberId"], body["customer"], body["name"]) == (
        "pn-1", {"number": "+14155550123"}, "Take the pills",
    )  # fmt: skip
    assert body["assistantOverrides"] == {"metadata": CORRELATION}
    assert set(body["assistant"]) == {
        "firstMessage", "firstMessageMode", "model", "keypadInputPlan", "voicemailMessage",
        "server", "serverMessages", "metadata",
    }  # fmt: skip
    assert body["assistant"]["metadata"] == CORRELATION


def test_the_create_body_passes_the_sdks_create_outbound_call_dto_strictly() -> None:
    body = build_call_body(call_request("http://x"), PUBLIC)
    assert strict_errors(sdk_models().create, body, closed_enums=True) == []
    sdk_models().create.model_validate(body)  # and the SDK's own (lax) validation


def test_the_server_block_names_the_call_token_and_the_messages_outcomes_need() -> None:
    assistant = build_call_body(call_request("http://x"), "https://d.example/")["assistant"]
    assert assistant["server"] == {
        "url": "https://d.example/api/providers/vapi/events",
        "headers": {"x-vapi-secret": call_token(SECRET, 17)},
        "timeoutSeconds": 20,
    }
    assert assistant["server"]["headers"]["x-vapi-secret"] != SECRET  # never the org's secret
    assert assistant["serverMessages"] == ["status-update", "end-of-call-report", "tool-calls"]


@pytest.mark.parametrize(
    ("message", "spoken"),
    [("Time to take your pills.", "Time to take your pills."), ("  ", "Take the pills")],
)
def test_the_call_and_the_voicemail_speak_the_reminders_message(message: str, spoken: str) -> None:
    assistant = build_call_body(call_request("http://x", message=message), PUBLIC)["assistant"]
    assert (
        f"with a reminder. You're speaking with an automated assistant. {spoken} "
        in (assistant["firstMessage"])
    )
    assert assistant["voicemailMessage"] == (
        "This is Acme Pharmacy with a reminder. You're speaking with an automated assistant."
        f" {spoken} To stop these calls, call +1 415-555-0100."
    )


def test_each_execution_gets_its_own_token() -> None:
    other = CallRequest(**{**_fields(call_request("http://x")), "execution_id": 18})
    headers = build_call_body(other, PUBLIC)["assistant"]["server"]["headers"]
    assert headers == {"x-vapi-secret": call_token(SECRET, 18)} != {"x-vapi-secret": TOKEN}


def test_the_call_name_is_cut_to_forty_characters() -> None:
    body = build_call_body(call_request("http://x", title="x" * 60), PUBLIC)
    assert body["name"] == "x" * 40


async def test_the_legacy_create_path_accepts_the_same_body(vapi: FakeVapi) -> None:
    body = build_call_body(call_request(vapi.base_url), "http://127.0.0.1:1")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(vapi.base_url + "/call/phone", json=body, headers=headers) as response,
    ):
        assert response.status == 201
    assert len(vapi.calls) == 1


MISPLACED: list[tuple[dict[str, Any], str]] = [
    ({"metadata": {"execution_id": "1"}}, "/metadata: property metadata should not exist"),
    ({"customer": {"number": "+14155550123", "phone": "x"}}, "/customer/phone: property phone"),
    ({"phone_number_id": "pn-1"}, "/phone_number_id: property phone_number_id should not"),
    (
        {"assistantOverrides": {"server": {"url": "http://x/e", "secret": "s"}}},
        "/assistantOverrides/server/secret: property secret should not exist",
    ),
    (
        {"assistantOverrides": {"serverMessages": ["status-updates"]}},
        "/assistantOverrides/serverMessages/0: must be one of",
    ),
    (
        {"assistantOverrides": {"server": {"url": "http://x/e", "timeoutSeconds": "20"}}},
        "/assistantOverrides/server/timeoutSeconds: must be a number",
    ),
    (
        {"assistant": {"server": {"secret": "s"}}},
        "/assistant/server/secret: property secret should not exist",
    ),
    ({"assistant": {"serverMessages": ["tool-call"]}}, "/assistant/serverMessages/0: must be"),
    ({"assistant": {"firstMessageMode": "speak-first"}}, "/assistant/firstMessageMode: must be"),
    ({"assistant": {"keypadInputPlan": {"delimiters": "9"}}}, "/assistant/keypadInputPlan/de"),
    ({"assistant": {"model": {"model": "gpt-9"}}}, "/assistant/model/model: must be one of"),
    (
        {
            "assistant": {
                "model": {
                    "tools": [
                        {
                            "type": "function",
                            "function": {
                                "name": "x",
                                "parameters": {
                                    "type": "object",
                                    "properties": {"m": {"type": "integer", "minimum": 1}},
                                },
                            },
                        }
                    ]
                }
            }
        },
        "/assistant/model/tools/0/function/parameters/properties/m/minimum: property minimum",
    ),
]


@pytest.mark.parametrize(("change", "expected"), MISPLACED)
def test_the_strict_validator_refuses_what_vapis_schema_lacks(
    change: dict[str, Any], expected: str
) -> None:
    body = merged(build_call_body(call_request("http://x"), "http://127.0.0.1:1"), change)
    errors = strict_errors(sdk_models().create, body, closed_enums=True)
    assert any(error.startswith(expected) for error in errors), errors
    sdk_models().create.model_validate(body)  # the SDK alone lets these through


@pytest.mark.parametrize(("change", "expected"), MISPLACED)
async def test_the_fake_refuses_what_vapis_schema_lacks(
    vapi: FakeVapi, change: dict[str, Any], expected: str
) -> None:
    body = merged(build_call_body(call_request(vapi.base_url), "http://127.0.0.1:1"), change)
    status, answer = await post_create(vapi, body)
    assert (status, answer["statusCode"], answer["error"]) == (400, 400, "Bad Request")
    assert any(message.startswith(expected) for message in answer["message"]), answer
    assert vapi.calls == []
    assert [r.status for r in vapi.rejections] == [400]


async def test_the_fake_refuses_a_create_that_is_not_an_object(vapi: FakeVapi) -> None:
    status, answer = await post_create(vapi, ["not", "a", "create"])
    assert status == 400 and answer["message"] == [
        "/: must be an object (CreateOutboundCallDto), not an array"
    ]


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


async def test_a_create_without_a_phone_number_id_or_assistant_is_refused(vapi: FakeVapi) -> None:
    body = a_body()
    no_line = {key: value for key, value in body.items() if key != "phoneNumberId"}
    no_assistant = {key: value for key, value in body.items() if key != "assistant"}
    assert (await post_create(vapi, no_line))[1]["message"].startswith("Couldn't Get Phone")
    assert (await post_create(vapi, no_assistant))[1]["message"].startswith("Couldn't Get Assis")
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


async def test_an_unreachable_vapi_is_unreachable_not_unknown(dialer: VapiDialer) -> None:
    # nothing was sent, so the call was certainly not placed (vapi.md's table)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderUnreachable, match="could not be reached"):
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


async def test_find_call_pages_back_past_a_full_listing(vapi: FakeVapi, dialer: VapiDialer) -> None:
    # A burst: 1,500 newer calls on the line. A first page (1,000, newest first) without ours
    # proves nothing: "not found" would redial a person who was called.
    request = call_request(vapi.base_url)
    await dialer.place_call(request)
    ours = vapi.calls[0]
    start = datetime.fromisoformat(ours["createdAt"].replace("Z", "+00:00"))
    for n in range(1, 1501):
        created = (start + timedelta(milliseconds=n)).isoformat(timespec="milliseconds")
        other = {**copy.deepcopy(ours), "id": f"burst-{n}"}
        other["createdAt"] = created.replace("+00:00", "Z")
        other["assistantOverrides"]["metadata"] = {"execution_id": str(10_000 + n)}
        vapi.calls.append(other)

    found = await dialer.find_call(request, a_minute_ago())

    assert found is not None and found.call_id == ours["id"]


async def test_find_call_says_not_found_only_after_the_last_page(
    vapi: FakeVapi, dialer: VapiDialer
) -> None:
    other = {"execution_id": "18", "organization_id": "org-1"}
    await dialer.place_call(call_request(vapi.base_url, correlation=other))
    template = vapi.calls[0]
    for n in range(1200):
        vapi.calls.append({**copy.deepcopy(template), "id": f"b-{n}"})  # same createdAt

    with pytest.raises(ProviderUnknownOutcome, match="does not advance"):
        await dialer.find_call(call_request(vapi.base_url), a_minute_ago())


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
async def test_the_fake_delivers_the_messages_with_the_creates_call_token(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver
) -> None:
    call_id = await dialer.place_call(call_request(vapi.base_url, to="+14155550002"))
    deliveries = await vapi.wait_for_deliveries(3)
    assert {(path, secret) for path, secret, _ in receiver.received} == {(EVENTS_PATH, TOKEN)}
    assert {(d.secret, tuple(d.headers.items())) for d in deliveries} == {
        (TOKEN, (("x-vapi-secret", TOKEN),))
    }
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


async def test_the_fake_sends_exactly_the_headers_the_create_names(
    vapi: FakeVapi, receiver: Receiver
) -> None:
    server = {"url": receiver.url + EVENTS_PATH, "headers": {"X-Vapi-Secret": "t", "x-a": "b"}}
    assert (await post_create(vapi, a_body(server=server)))[0] == 201
    deliveries = await vapi.wait_for_deliveries(3)
    assert [secret for _, secret, _ in receiver.received] == ["t", "t", "t"]
    assert {(d.secret, tuple(sorted(d.headers.items()))) for d in deliveries} == {
        ("t", (("X-Vapi-Secret", "t"), ("x-a", "b")))
    }


async def test_a_create_naming_no_headers_gets_messages_without_a_secret(
    vapi: FakeVapi, receiver: Receiver
) -> None:
    assert (await post_create(vapi, a_body(server={"url": receiver.url + EVENTS_PATH})))[0] == 201
    await vapi.settle()
    assert [secret for _, secret, _ in receiver.received] == [None, None, None]
    assert {(d.secret, len(d.headers)) for d in vapi.deliveries} == {(None, 0)}


async def test_the_org_secret_knob_sends_the_organizations_secret(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver
) -> None:
    vapi.send_org_secret = True
    await dialer.place_call(call_request(vapi.base_url))
    await vapi.settle()
    assert {secret for _, secret, _ in receiver.received} == {SECRET}
    assert {d.secret for d in vapi.deliveries} == {SECRET}


async def test_a_call_without_a_server_url_reports_to_the_org_server_with_its_secret(
    vapi: FakeVapi, receiver: Receiver
) -> None:
    assert (await post_create(vapi, a_body(server=None)))[0] == 201
    await vapi.settle()
    assert vapi.deliveries == []  # no server anywhere: nobody to tell
    vapi.org_server_url = receiver.url + EVENTS_PATH
    assert (await post_create(vapi, a_body(server=None)))[0] == 201
    await vapi.settle()
    assert {(path, secret) for path, secret, _ in receiver.received} == {(EVENTS_PATH, SECRET)}
    assert len(receiver.received) == 3


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        (["end-of-call-report"], ["end-of-call-report"]),
        (["status-update"], ["status-update", "status-update"]),
        (["status-update", "end-of-call-report"], ["status-update"] * 2 + ["end-of-call-report"]),
        (None, ["status-update"] * 2 + ["end-of-call-report"]),  # the fake's default: both
        (["hang", "transcript"], []),
    ],
)
async def test_the_fake_sends_only_the_message_types_the_create_lists(
    vapi: FakeVapi, receiver: Receiver, listed: list[str] | None, expected: list[str]
) -> None:
    body = a_body(receiver.url, serverMessages=listed)
    assert (await post_create(vapi, body))[0] == 201
    await vapi.settle()
    assert [payload["message"]["type"] for _, _, payload in receiver.received] == expected
    assert [d.type for d in vapi.deliveries] == expected


@pytest.mark.parametrize("order", list(MessageOrder))
@pytest.mark.parametrize("to", ["+14155550002", "+14155550004", "+14155550009"])
async def test_every_message_the_fake_sends_passes_the_sdks_models_strictly(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver, order: MessageOrder, to: str
) -> None:
    vapi.message_order, vapi.duplicate = order, True
    vapi.set_outcome("+14155550009", "call.start.error-subscription-concurrency-limit-reached")
    await dialer.place_call(call_request(vapi.base_url, to=to))
    await vapi.settle()
    assert receiver.received and vapi.faults == []
    for _, _, payload in receiver.received:
        assert set(payload) == {"message"}
        model = sdk_models().messages[payload["message"]["type"]]
        # Strict but for the documented top-level extras of real end-of-call reports.
        assert check_message(payload) == []
        model.model_validate(payload["message"])
        assert strict_errors(sdk_models().call, payload["message"]["call"]) == []
    assert [strict_errors(sdk_models().call, call) for call in vapi.calls] == [[]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"durationMinutes": 1.0}, "/message/durationMinutes: property durationMinutes"),
        ({"summaries": "x"}, "/message/summaries: property summaries should not exist"),
        ({"artifact": None}, "/message/artifact: must not be null"),
        ({"call": {"id": "c-1"}}, "/message/call/orgId: is required (Call)"),
        ({"type": "transcript"}, "/message/type: the fake sends no 'transcript' message"),
    ],
)
async def test_the_fakes_message_check_refuses_what_the_sdk_lacks(
    vapi: FakeVapi, receiver: Receiver, change: dict[str, Any], expected: str
) -> None:
    vapi.message_order = MessageOrder.REPORT_ONLY
    vapi.send_in_progress = False
    assert (await post_create(vapi, a_body(receiver.url)))[0] == 201
    await vapi.settle()
    report = receiver.received[-1][2]
    assert check_message(report) == []
    changed = {"message": {**report["message"], **change}}
    assert any(error.startswith(expected) for error in check_message(changed))
    assert check_message({**report, "extra": 1}) == [
        "/: a server message is exactly {'message': {…}}"
    ]


async def test_a_message_the_sdk_would_refuse_is_a_fault_of_the_fake(
    vapi: FakeVapi, dialer: VapiDialer, receiver: Receiver
) -> None:
    vapi.line_numbers = {"pn-1": 14155550100}  # type: ignore[dict-item]  # not a string
    await dialer.place_call(call_request(vapi.base_url))
    await vapi.settle()
    assert receiver.received == []  # nothing the SDK refuses leaves the fake
    assert vapi.faults and "/message/phoneNumber" in vapi.faults[0]
    with pytest.raises(AssertionError, match="SDK refuses"):
        vapi.check()
    vapi.faults.clear()  # let the fixture's own check pass


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


# ----------------------------------------------------------------------------- call token
# The adapter names the token; the core checks it (dialcues_core.calls.calltoken and .keys).
def test_the_call_token_is_the_hmac_of_the_execution_under_the_org_secret() -> None:
    digest = hmac.new(SECRET.encode(), b"execution:17", hashlib.sha256).digest()
    expected = "dct_" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert call_token(SECRET, 17) == expected
    assert "=" not in expected and len(expected) == 4 + 43


def test_the_token_check_accepts_only_that_executions_exact_token() -> None:
    assert token_matches(SECRET, 17, TOKEN)
    assert not token_matches(SECRET, 18, TOKEN)  # another execution's token
    assert not token_matches("other-secret", 17, TOKEN)  # another organization's
    assert not token_matches(SECRET, 17, TOKEN + "x")
    assert not token_matches(SECRET, 17, TOKEN[:-1])
    assert not token_matches(SECRET, 17, None)
    assert not token_matches(SECRET, 17, SECRET)  # the org secret is not a call token
    assert not token_matches(SECRET, 17, "sécret")  # non-ASCII compares, unequal
    assert not token_matches("", 17, call_token("", 17))  # a blank secret opens nothing


def test_the_constant_time_comparison_compares_exactly() -> None:
    assert hashes_match(SECRET, SECRET)
    assert not hashes_match(SECRET, SECRET + "x")
    assert not hashes_match(SECRET, "sécret")


async def test_a_report_carries_the_top_level_fields_real_vapi_sends_beyond_the_sdk(
    vapi: FakeVapi, receiver: Receiver
) -> None:
    vapi.message_order = MessageOrder.REPORT_ONLY
    vapi.send_in_progress = False
    assert (await post_create(vapi, a_body(receiver.url)))[0] == 201
    await vapi.settle()
    report = receiver.received[-1][2]["message"]

    assert {"summary", "transcript", "recordingUrl"} <= set(report)
    assert ("durationSeconds" in report) == bool(report.get("startedAt"))
    status = {**report, "type": "status-update", "status": "ended"}
    assert any("end-of-call report only" in e for e in check_message({"message": status}))
