"""The fake Vapi's person and tool calls (``responsible-calling.md`` §11, "The fake Vapi"):
each ending's act, the three argument shapes, the tool's own URL and headers, the transcript
in the end-of-call report, and Vapi's strictness about our answers.

A small receiver stands in for our REST edge here; the real one is in ``tests/e2e``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from fakes.vapi_server import (
    KEYPAD_PREFIX,
    ArgumentShape,
    FakeVapi,
    ToolRequest,
    check_message,
    start_fake_vapi,
)

from dialcues_core.accounts.model import OutboundLine, Provider, ProviderSettings
from dialcues_core.adapters.providers.vapi.tools import tool_call
from dialcues_core.adapters.providers.vapi.voice import EVENTS_PATH, VapiDialer
from dialcues_core.calling.policy import Identity
from dialcues_core.calls.actions import ToolCall
from dialcues_core.calls.calltoken import call_token
from dialcues_core.calls.ports import PROVIDER_TOOL_PATHS, CallRequest

pytestmark = pytest.mark.xdist_group("vapi_sdk")  # one worker pays the SDK's ~10 s import

API_KEY, SECRET = "vapi-key", "whsec-1"
TOOLS_PATH = PROVIDER_TOOL_PATHS["vapi"]
TOKEN = call_token(SECRET, 17)
Answer = Callable[[list[ToolCall]], tuple[int, Any]]


def good_answer(calls: list[ToolCall]) -> tuple[int, Any]:
    """What our edge answers: one applied, call-ending result per tool call."""
    return 200, {
        "results": [
            {
                "toolCallId": c.id,
                "name": c.name,
                "result": f"Did {c.name}.",
                "message": {
                    "type": "request-complete",
                    "content": f"Did {c.name}.",
                    "endCallAfterSpokenEnabled": True,
                },
            }
            for c in calls
        ]
    }


@dataclass
class Edge:
    """Our side, as far as this test needs it: events acknowledged, tools answered."""

    url: str = ""
    answer: Answer = good_answer
    tool_posts: list[tuple[str | None, Any]] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)

    async def on_event(self, request: web.Request) -> web.Response:
        self.events.append(await request.json())
        return web.json_response({})

    async def on_tools(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self.tool_posts.append((request.headers.get("x-vapi-secret"), payload))
        calls = [tool_call(item) for item in payload["message"]["toolCallList"]]
        status, body = self.answer([c for c in calls if c is not None])
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)

    def reports(self) -> list[dict[str, Any]]:
        return [e["message"] for e in self.events if e["message"]["type"] == "end-of-call-report"]


@pytest.fixture
async def edge() -> AsyncIterator[Edge]:
    edge = Edge()
    app = web.Application()
    app.router.add_post(EVENTS_PATH, edge.on_event)
    app.router.add_post(TOOLS_PATH, edge.on_tools)
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


def call_request(base_url: str, to: str, reminder_id: str = "3") -> CallRequest:
    line = OutboundLine(
        "line-1", "org-1", Provider.VAPI, "+14155550199", None, True,
        datetime(2026, 1, 1, tzinfo=UTC), provider_line_id="pn-1",
    )  # fmt: skip
    provider = ProviderSettings(Provider.VAPI, API_KEY, None, SECRET, base_url=base_url)
    correlation = {"execution_id": "17", "organization_id": "org-1", "reminder_id": reminder_id}
    return CallRequest(
        17, int(reminder_id), "org-1", line, provider, to, "Pills", "Take your pills.",
        correlation, identity=Identity("Acme Pharmacy", "+14155550100"),
    )  # fmt: skip


async def place(vapi: FakeVapi, edge: Edge, to: str, reminder_id: str = "3") -> str:
    """Place one call through the real dialer; wait until the fake has sent everything."""
    dialer = VapiDialer(edge.url, timeout=5.0)
    try:
        call_id = await dialer.place_call(call_request(vapi.base_url, to, reminder_id))
    finally:
        await dialer.close()
    await vapi.settle()
    return call_id


# ----------------------------------------------------------------------------- the person
@pytest.mark.parametrize("shape", list(ArgumentShape))
async def test_pressing_1_sends_confirm_to_the_tools_url_with_the_tools_own_header(
    vapi: FakeVapi, edge: Edge, shape: ArgumentShape
) -> None:
    vapi.argument_shape = shape
    await place(vapi, edge, "+14155550007")

    (exchange,) = vapi.tool_exchanges
    assert exchange.url == edge.url + TOOLS_PATH
    assert dict(exchange.headers) == {"x-vapi-secret": TOKEN}
    assert [secret for secret, _ in edge.tool_posts] == [TOKEN]
    assert exchange.automatic and exchange.problems == [] and exchange.shape is shape
    message = exchange.payload["message"]
    (item,) = message["toolCallList"]
    assert tool_call(item) == ToolCall(exchange.requests[0].id, "confirm_reminder", {})
    assert ("parameters" in item) == (shape is ArgumentShape.FLATTENED)
    assert isinstance(item.get("function", {}).get("arguments"), str) == (
        shape is ArgumentShape.JSON_STRING
    )
    assert message["artifact"]["messages"][-1]["message"] == KEYPAD_PREFIX + "1"
    assert check_message(exchange.payload) == []


async def test_the_report_holds_the_conversation_and_the_spoken_answer(
    vapi: FakeVapi, edge: Edge
) -> None:
    await place(vapi, edge, "+14155550009")
    (report,) = edge.reports()
    turns = [(t["role"], t["message"]) for t in report["artifact"]["messages"]]
    assert turns[1:] == [("user", "User's Keypad Entry: 9"), ("bot", "Did stop_calls.")]
    assert turns[0][0] == "bot" and turns[0][1].startswith("This is Acme Pharmacy")
    assert report["endedReason"] == "assistant-ended-call-after-message-spoken"


async def test_saying_stop_is_a_spoken_turn(vapi: FakeVapi, edge: Edge) -> None:
    await place(vapi, edge, "+14155550010")
    (exchange,) = vapi.tool_exchanges
    assert exchange.requests[0].name == "stop_calls"
    assert exchange.payload["message"]["artifact"]["messages"][-1]["message"] == "stop"


async def test_snooze_is_pressed_once_and_its_call_back_only_listened_to(
    vapi: FakeVapi, edge: Edge
) -> None:
    await place(vapi, edge, "+14155550008")  # attempt 1: presses 2
    await place(vapi, edge, "+14155550008")  # the call-back: listens
    await place(vapi, edge, "+14155550008", reminder_id="4")  # another reminder: presses 2
    assert [(e.requests[0].name, e.requests[0].arguments) for e in vapi.tool_exchanges] == [
        ("snooze_reminder", {}),
        ("snooze_reminder", {}),
    ]
    assert len(edge.reports()) == 3


async def test_other_numbers_only_listen(vapi: FakeVapi, edge: Edge) -> None:
    await place(vapi, edge, "+14155550123")
    assert vapi.tool_exchanges == [] and edge.tool_posts == []


async def test_without_tool_calls_the_act_shows_only_in_the_transcript(
    vapi: FakeVapi, edge: Edge
) -> None:
    vapi.send_tool_calls = False
    await place(vapi, edge, "+14155550009")
    assert vapi.tool_exchanges == []
    (report,) = edge.reports()
    assert [t["message"] for t in report["artifact"]["messages"]][1:] == ["User's Keypad Entry: 9"]
    assert check_message({"message": report}) == []


async def test_successive_tool_calls_rotate_through_the_three_shapes(
    vapi: FakeVapi, edge: Edge
) -> None:
    for _ in range(3):
        await place(vapi, edge, "+14155550007")
    assert {e.shape for e in vapi.tool_exchanges} == set(ArgumentShape)


# ----------------------------------------------------------------------------- strictness
BAD_ANSWERS: list[tuple[str, Answer, str]] = [
    ("500", lambda calls: (500, good_answer(calls)[1]), "HTTP 500"),
    ("401", lambda calls: (401, {"error": "no"}), "HTTP 401"),
    ("not JSON", lambda calls: (200, "ok"), "not a JSON object"),
    ("no results", lambda calls: (200, {}), "no result returned"),
    (
        "two lines",
        lambda calls: (
            200,
            {"results": [{"toolCallId": calls[0].id, "name": calls[0].name, "result": "a\nb"}]},
        ),
        "result: must be a single line",
    ),
    (
        "wrong id",
        lambda calls: (
            200,
            {"results": [{"toolCallId": "x", "name": calls[0].name, "result": "a"}]},
        ),
        "toolCallId: 'x'",
    ),
    (
        "no name",
        lambda calls: (200, {"results": [{"toolCallId": calls[0].id, "result": "a"}]}),
        "/results/0/name: is required",
    ),
    (
        "an object",
        lambda calls: (
            200,
            {"results": [{"toolCallId": calls[0].id, "name": calls[0].name, "result": {"ok": 1}}]},
        ),
        "must be a string",
    ),
    (
        "both",
        lambda calls: (
            200,
            {
                "results": [
                    {"toolCallId": calls[0].id, "name": calls[0].name, "result": "a", "error": "b"}
                ]
            },
        ),
        "exactly one of result and error",
    ),
    ("missing result", lambda calls: (200, {"results": []}), "0 results for 1 tool calls"),
]


@pytest.mark.parametrize(
    ("case", "answer", "expected"), BAD_ANSWERS, ids=[c[0] for c in BAD_ANSWERS]
)
async def test_vapi_refuses_an_answer_that_breaks_its_rules(
    vapi: FakeVapi, edge: Edge, case: str, answer: Answer, expected: str
) -> None:
    edge.answer = answer
    await place(vapi, edge, "+14155550007")
    (exchange,) = vapi.tool_exchanges
    assert any(expected in problem for problem in exchange.problems), exchange.problems
    with pytest.raises(AssertionError, match="Vapi refuses our answers"):
        vapi.check()
    vapi.tool_exchanges.clear()  # let the fixture's own check pass


# ----------------------------------------------------------------------------- a test's own
async def test_a_held_call_stays_in_progress_for_a_tests_own_tool_calls(
    vapi: FakeVapi, edge: Edge
) -> None:
    vapi.hold_calls = True
    dialer = VapiDialer(edge.url, timeout=5.0)
    call_id = await dialer.place_call(call_request(vapi.base_url, "+14155550123"))
    await dialer.close()
    for _ in range(100):
        if vapi.held:
            break
        await asyncio.sleep(0.02)
    assert vapi.held == [call_id] and edge.reports() == []

    batch = [ToolRequest("snooze_reminder", {"minutes": 5}), ToolRequest("confirm_reminder")]
    exchange = await vapi.post_tool_calls(
        call_id, batch, shape=ArgumentShape.OBJECT, said=KEYPAD_PREFIX + "2"
    )
    wrong = await vapi.tool_call(call_id, "no_such_tool")
    vapi.end_call(call_id)
    await vapi.settle()

    assert exchange.problems == [] and not exchange.automatic
    assert [i["function"]["arguments"] for i in exchange.payload["message"]["toolCallList"]] == [
        {"minutes": 5},
        {},
    ]
    assert wrong.url == edge.url + TOOLS_PATH  # an undeclared tool goes where the others go
    assert vapi.held == [] and len(edge.reports()) == 1


async def test_a_tests_headers_replace_the_tools_own(vapi: FakeVapi, edge: Edge) -> None:
    vapi.hold_calls = True
    dialer = VapiDialer(edge.url, timeout=5.0)
    call_id = await dialer.place_call(call_request(vapi.base_url, "+14155550123"))
    await dialer.close()
    await vapi.post_tool_calls(
        call_id, [ToolRequest("stop_calls")], headers={"x-vapi-secret": "wrong"}
    )
    vapi.end_call(call_id)
    await vapi.settle()
    assert [secret for secret, _ in edge.tool_posts] == ["wrong"]
