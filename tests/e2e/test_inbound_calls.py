"""Inbound calls end to end: the strict fake Vapi rings lines of a running platform
(``telephony.md`` §3.1–3.3; "Done when" items 15–18 and 21; the ``external`` route, item 19,
and the outcomes and events of item 20 are in ``test_inbound_external.py``, which builds on
the helpers here).

Each line is a Telnyx number imported into the fake Vapi with our events URL and the
organization's secret as its server, added as a Vapi line (its ``provider_line_id`` the fake's
id) and routed over REST. :meth:`FakeVapi.ring` sends the ``assistant-request`` as Vapi does,
judges our answer with the SDK's strictness and exactly one route, then ends the call with
``status-update`` and ``end-of-call-report`` messages that carry ``call.id`` and no metadata
unless our answer set some. Everything is read back over REST; webhooks go to a real receiver
that verifies each message with the ``standardwebhooks`` library.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from aiohttp import web
from fakes.vapi_server import Ring
from standardwebhooks import Webhook

from dialcues_core.calls.calltoken import call_token
from e2e.support import BASE, Stack, free_port, running_stack
from e2e.test_dispatch_over_http import soon

EVENTS_PATH = "/api/providers/vapi/events"
TOOLS_PATH = "/api/providers/vapi/tools"
CREDENTIAL = "5b0a3c1e-8a51-4b8e-9d0c-2f4f1f1e7a10"
CALLER = "+14155550123"  # the fake's default caller
STRANGER = "+14155550177"  # a caller with no reminders
FRONT_DESK, SECOND_LINE = "+14155550142", "+14155550143"
FORWARD_TO = "+14155552672"
REJECT_SENTENCE = "This number does not accept calls."
HEARD = "Thank you, noted. Say next or press 3 for the next one."
GOODBYE = "You have no upcoming reminders. Goodbye."
SORRY = "Sorry, this number cannot take your call right now."
CLOSED = "We are closed today. Please call again tomorrow."
INBOUND_EVENTS = ["execution.started", "execution.finished", "call.ringing"]

ROUTES: dict[str, dict[str, Any]] = {
    "reminders_readback": {"type": "reminders_readback"},
    "assistant": {"type": "assistant", "assistant_id": "asst_front_desk"},
    "transfer": {"type": "transfer", "number": FORWARD_TO},
    "message": {"type": "message", "text": CLOSED},
    "reject": {"type": "reject"},
}
VAPI_ROUTE = {  # the route the fake Vapi takes for each of our answers
    "reminders_readback": "assistant",
    "assistant": "assistant",
    "transfer": "destination",
    "message": "error",
    "reject": "error",
}
ENDED = {  # how the fake ends the call, and the status §3.3 gives it
    "reminders_readback": ("customer-ended-call", "completed"),
    "assistant": ("customer-ended-call", "completed"),
    "transfer": ("assistant-request-returned-forwarding-phone-number", "completed"),
    "message": ("assistant-request-returned-error", "completed"),
    "reject": ("assistant-request-returned-error", "completed"),
}


# ----------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class InboundLine:
    """A line of the stack's organization that the fake Vapi can ring."""

    id: str
    phone_number_id: str
    number: str


async def import_number(stack: Stack, number: str) -> str:
    """Import ``number`` into the fake Vapi with our events URL and the organization's secret
    as its server (as an assign does); return the fake's id of it."""
    body = {
        "provider": "telnyx",
        "number": number,
        "credentialId": CREDENTIAL,
        "name": f"Inbound {number}",
        "server": {
            "url": stack.root + EVENTS_PATH,
            "headers": {"x-vapi-secret": stack.vapi.webhook_secret},
            "timeoutSeconds": 20,
        },
    }
    headers = {"Authorization": f"Bearer {stack.vapi.api_key}"}
    url = stack.vapi.base_url + "/phone-number"
    async with stack.session.post(url, json=body, headers=headers) as reply:
        imported = await reply.json()
        assert reply.status == 201, imported
    return str(imported["id"])


async def routed_line(
    stack: Stack, route: dict[str, Any] | None, number: str = FRONT_DESK
) -> InboundLine:
    """Import ``number``, add it as a Vapi line and set its route over REST (None: none)."""
    phone_number_id = await import_number(stack, number)
    line = stack.dc.accounts.add_line(
        stack.org_id, "vapi", number, provider_line_id=phone_number_id, label="Front desk"
    )
    if route is not None:
        status, shown = await stack.call("PATCH", f"/lines/{line.id}", {"route": route})
        assert status == 200, shown
    return InboundLine(line.id, phone_number_id, number)


async def request(
    stack: Stack, key: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """Send one API request with ``key``; return the status and the decoded JSON."""
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{stack.root}{BASE}{path}"
    async with stack.session.request(method, url, json=body, headers=headers) as reply:
        text = await reply.text()
        return reply.status, (json.loads(text) if text else None)


async def inbound_executions(stack: Stack, key: str | None = None) -> list[dict[str, Any]]:
    """The organization's inbound executions as ``key`` (default the stack's) lists them."""
    path = "/executions?direction=inbound&page_size=100"
    status, page = await request(stack, key or stack.key, "GET", path)
    assert status == 200, page
    return list(page["items"])


async def execution_of(stack: Stack, call_id: str) -> dict[str, Any] | None:
    """The inbound execution of Vapi's call ``call_id``, if one was recorded."""
    return next((e for e in await inbound_executions(stack) if e["call_id"] == call_id), None)


async def ended(stack: Stack, call_id: str, within: float = 10) -> dict[str, Any]:
    """Wait until the inbound execution of ``call_id`` has its outcome; return it."""

    async def check() -> dict[str, Any] | None:
        found = await execution_of(stack, call_id)
        return found if found is not None and found["status"] != "in_progress" else None

    return dict(await stack.wait_for(check, within=within))


def instant(text: str) -> datetime:
    """Parse an API instant (``…Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def accepted(ring: Ring, vapi_route: str) -> None:
    """Vapi took our answer: 200, no problem, and the route it names."""
    assert (ring.http_status, ring.problems) == (200, ()), ring.answer
    assert ring.route == vapi_route, ring.answer


def reminder_body(title: str, at: str, zone: str, to: str = CALLER, **fields: Any) -> dict:
    """A one-off reminder to ``to`` at the local time ``at`` in ``zone``."""
    return {
        "title": title,
        "message": f"PRIVATE {title} details",
        "phone_number": to,
        "timezone": zone,
        "scheduled_at": at,
        **fields,
    }


async def remind(stack: Stack, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a reminder over REST as ``key``; return it."""
    status, created = await request(stack, key, "POST", "/reminders", body)
    assert status == 201, created
    return dict(created)


def second_key(stack: Stack, email: str = "second@example.com") -> str:
    """A key of a second user of the stack's organization."""
    user = stack.dc.accounts.create_user(stack.org_id, email, "Second")
    return stack.dc.accounts.create_api_key(user.id).raw


def other_organization_key(stack: Stack) -> str:
    """A key of a user of another organization (with its own simulated line)."""
    org = stack.dc.accounts.create_organization("Elsewhere")
    stack.dc.accounts.add_line(org.id, "simulated", "+14155550160", label="Other")
    user = stack.dc.accounts.create_user(org.id, "other@example.com", "Other")
    return stack.dc.accounts.create_api_key(user.id).raw


@dataclass
class Receiver:
    """A webhook receiver on loopback: verifies every message with ``standardwebhooks`` and
    keeps it by ``webhook-id`` (a redelivery replaces it)."""

    port: int = field(default_factory=free_port)
    secret: str = ""
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    react: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    """Run (in the background) on each verified event: a platform acting on it."""
    reactions: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        """Take one delivery attempt."""
        body = await request.read()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception as exc:  # the test fails on any: see ``rejected``
            self.rejected.append(str(exc))
            return web.Response(status=400)
        self.delivered[request.headers["webhook-id"]] = event
        if self.react is not None:
            task = asyncio.create_task(self.react(event))
            self.reactions.add(task)
            task.add_done_callback(self.reactions.discard)
        return web.Response(status=204)

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The delivered events of type ``kind``."""
        return [e for e in self.delivered.values() if e["type"] == kind]


@asynccontextmanager
async def receiving(
    stack: Stack, events: list[str], key: str | None = None
) -> AsyncIterator[Receiver]:
    """Serve a receiver subscribed (as ``key``, default the stack's) to ``events``."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        body = {"url": f"http://127.0.0.1:{receiver.port}/hook", "events": events}
        status, sub = await request(
            stack, key or stack.key, "POST", "/webhooks/subscriptions", body
        )
        assert status == 201, sub
        receiver.secret = sub["secret"]
        yield receiver
    finally:
        await asyncio.gather(*receiver.reactions)
        await runner.cleanup()
    assert receiver.rejected == []


def inbound_stack(url: str, **changes: Any) -> Any:
    """A running stack whose webhooks may go to loopback."""
    changes.setdefault("webhooks_allow_private", True)
    return running_stack(url, **changes)


# ----------------------------------------------------------------------------- item 15
def static_answer(kind: str, stack: Stack, execution_id: int) -> dict[str, Any]:
    """§3.2's answer of a route other than readback (its ``serverMessages`` aside)."""
    token = call_token(stack.vapi.webhook_secret, execution_id)
    metadata = {"execution_id": str(execution_id), "organization_id": stack.org_id}
    server = {"url": stack.root + EVENTS_PATH, "headers": {"x-vapi-secret": token}}
    return {
        "assistant": {
            "assistantId": "asst_front_desk",
            "assistantOverrides": {
                "metadata": metadata,
                "server": server | {"timeoutSeconds": 20},
                "variableValues": {"caller_number": CALLER, "line_number": FRONT_DESK},
            },
        },
        "transfer": {"destination": {"type": "number", "number": FORWARD_TO, "message": ""}},
        "message": {"error": CLOSED},
        "reject": {"error": REJECT_SENTENCE},
    }[kind]


@pytest.mark.parametrize("kind", list(ROUTES))
async def test_each_static_route_answers_with_its_body_and_ends_with_its_status(
    any_url: str, kind: str
) -> None:
    """Item 15: each route's §3.2 answer is valid to Vapi; the execution ends per §3.3."""
    async with inbound_stack(any_url) as stack:
        mine = await remind(
            stack, stack.key, reminder_body("Stand-up", "2030-03-06T09:00:00", "UTC")
        )
        line = await routed_line(stack, ROUTES[kind])
        ring = await stack.vapi.ring(line.phone_number_id, caller=CALLER)
        await stack.vapi.settle()
        done = await ended(stack, ring.call_id)
    accepted(ring, VAPI_ROUTE[kind])
    assert ring.ended_reason == ENDED[kind][0]
    assert (done["status"], done["ended_reason"]) == (ENDED[kind][1], ENDED[kind][0])
    assert (done["direction"], done["from"], done["to"]) == ("inbound", CALLER, FRONT_DESK)
    assert (done["route"], done["answer_by"]) == (ROUTES[kind], None)
    assert (done["line_id"], done["attempt"], done["reminder_id"]) == (line.id, 1, None)
    answer = json.loads(json.dumps(ring.answer))  # a copy to take serverMessages from
    if kind != "reminders_readback":
        overrides = answer.get("assistantOverrides") or {}
        messages = overrides.pop("serverMessages", [])
        assert answer == static_answer(kind, stack, done["id"])
        assert kind != "assistant" or "end-of-call-report" in messages
        return
    expected = static_answer("assistant", stack, done["id"])["assistantOverrides"]
    metadata = expected["metadata"] | {"reminder_ids": [str(mine["id"])]}
    assistant = answer["assistant"]
    assert answer["assistantOverrides"] == {"metadata": metadata}
    assert (assistant["metadata"], assistant["server"]) == (metadata, expected["server"])
    assert assistant["firstMessage"].startswith("This is E2E. ")
    assert (
        " You have 1 upcoming reminder. 1: Stand-up, Wednesday 9:00 AM. "
        in (assistant["firstMessage"])
    )
    assert assistant["keypadInputPlan"]["enabled"] is True
    assert "end-of-call-report" in assistant["serverMessages"]


async def test_an_unrouted_line_refuses_with_the_reject_sentence_and_records_nothing(
    any_url: str,
) -> None:
    """Item 21 (and 3.1): a line without a route answers the reject sentence, no execution."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, None)
        ring = await stack.vapi.ring(line.phone_number_id)
        await stack.vapi.settle()
        status, shown = await stack.call("GET", f"/lines/{line.id}")
        recorded = await inbound_executions(stack)
    accepted(ring, "error")
    assert ring.answer == {"error": REJECT_SENTENCE}
    assert (status, shown["route"]) == (200, None)
    assert recorded == []


async def test_a_route_change_applies_to_the_next_ring_at_once(any_url: str) -> None:
    """§3.1: the line is cached for rings, but a ``PATCH`` applies at once in its process."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, ROUTES["message"])
        before = await stack.vapi.ring(line.phone_number_id)
        status, _ = await stack.call("PATCH", f"/lines/{line.id}", {"route": ROUTES["reject"]})
        after = await stack.vapi.ring(line.phone_number_id)
        cleared, _ = await stack.call("PATCH", f"/lines/{line.id}", {"route": None})
        unrouted = await stack.vapi.ring(line.phone_number_id)
        await stack.vapi.settle()
        recorded = await inbound_executions(stack)
    assert (status, cleared) == (200, 200)
    assert [r.answer for r in (before, after, unrouted)] == [
        {"error": CLOSED},
        {"error": REJECT_SENTENCE},
        {"error": REJECT_SENTENCE},
    ]
    assert sorted(e["call_id"] for e in recorded) == sorted([before.call_id, after.call_id])


@asynccontextmanager
async def write_locked(url: str) -> AsyncIterator[None]:
    """Hold a write lock on the executions (another process's transaction, as it were) for
    the block: SQLite's write lock, or PostgreSQL's ``SHARE`` lock on the table (reads go on)."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    with psycopg.connect(url) as locker:
        locker.execute("LOCK TABLE executions IN SHARE MODE")
        try:
            yield
        finally:
            locker.rollback()


async def test_a_ring_is_answered_within_the_budget_while_the_database_cannot_write(
    any_url: str,
) -> None:
    """§3.2 deadline: with the executions write-locked past the 6 s budget, the handler still
    answers within it — the apology (no ``external`` fallback here) — never leaving Vapi to
    give up at 7.5 s."""
    async with inbound_stack(any_url, dispatch=False) as stack:
        line = await routed_line(stack, ROUTES["message"])
        async with write_locked(any_url):
            ring = await stack.vapi.ring(line.phone_number_id)
        await stack.vapi.settle()
    assert (ring.http_status, ring.answer) == (200, {"error": SORRY}), (ring.elapsed, ring.answer)
    assert ring.elapsed < 6.5


# ----------------------------------------------------------------------------- item 16
async def test_fifty_concurrent_rings_on_static_routes_are_each_answered_correctly(
    any_url: str,
) -> None:
    """Item 16: 50 concurrent ``assistant-request``s, ten per static route (readback
    included), are each answered with their route's body; each call gets its execution."""
    async with inbound_stack(any_url) as stack:
        await remind(stack, stack.key, reminder_body("Stand-up", "2030-03-06T09:00:00", "UTC"))
        lines = {}
        for i, (kind, route) in enumerate(ROUTES.items()):
            lines[kind] = await routed_line(stack, route, f"+1415555{150 + i:04d}")
        kinds = [kind for kind in ROUTES for _ in range(10)]
        rings = await asyncio.gather(
            *(stack.vapi.ring(lines[kind].phone_number_id) for kind in kinds)
        )
        await stack.vapi.settle()

        async def all_ended() -> list[dict[str, Any]] | None:
            found = await inbound_executions(stack)
            done = len(found) == 50 and all(e["status"] != "in_progress" for e in found)
            return found if done else None

        recorded = await stack.wait_for(all_ended, within=20)
    for kind, ring in zip(kinds, rings, strict=True):
        accepted(ring, VAPI_ROUTE[kind])
        assert ring.ended_reason == ENDED[kind][0]
    by_call = {e["call_id"]: e for e in recorded}
    assert set(by_call) == {ring.call_id for ring in rings}
    for kind, ring in zip(kinds, rings, strict=True):
        execution = by_call[ring.call_id]
        assert (execution["route"], execution["status"]) == (ROUTES[kind], ENDED[kind][1])
        assert execution["line_id"] == lines[kind].id
        if VAPI_ROUTE[kind] == "assistant":
            metadata = (ring.answer.get("assistantOverrides") or {})["metadata"]
            assert metadata["execution_id"] == str(execution["id"])


@pytest.mark.parametrize("kind", ["reminders_readback", "message"])
async def test_the_same_call_id_twice_gets_the_same_answer_and_one_execution(
    any_url: str, kind: str
) -> None:
    """Item 16: a duplicate ``assistant-request`` (same ``call.id``) → one execution."""
    async with inbound_stack(any_url) as stack:
        await remind(stack, stack.key, reminder_body("Stand-up", "2030-03-06T09:00:00", "UTC"))
        line = await routed_line(stack, ROUTES[kind])
        ring = await stack.vapi.ring(line.phone_number_id, duplicate=True)
        await stack.vapi.settle()
        await ended(stack, ring.call_id)
        recorded = await inbound_executions(stack)
    accepted(ring, VAPI_ROUTE[kind])
    assert ring.repeats == ((200, ring.answer),)
    assert [e["call_id"] for e in recorded] == [ring.call_id]


# ----------------------------------------------------------------------------- item 17
READ_ORDER = [  # (title, local time, zone, whose): the five soonest scheduled, in order
    ("Dentist", "2030-03-04T08:30:00", "America/New_York", "second"),
    ("Stand-up", "2030-03-04T15:00:00", "UTC", "first"),
    ("Pharmacy pickup", "2030-03-05T17:15:00", "Europe/London", "second"),
    ("Yoga", "2030-03-06T07:00:00", "America/Los_Angeles", "first"),
    ("Call mom", "2030-03-07T19:45:00", "America/New_York", "first"),
]
SPOKEN = [
    "1: Dentist, Monday 8:30 AM.",
    "2: Stand-up, Monday 3:00 PM.",
    "3: Pharmacy pickup, Tuesday 5:15 PM.",
    "4: Yoga, Wednesday 7:00 AM.",
    "5: Call mom, Thursday 7:45 PM.",
]


async def seed_readback(stack: Stack) -> tuple[list[dict[str, Any]], list[str]]:
    """Reminders to the caller across two users and another organization, some of which a
    readback must not read; return the five it reads (in order) and every ``message``."""
    keys = {"first": stack.key, "second": second_key(stack)}
    read = [
        await remind(stack, keys[whose], reminder_body(title, at, zone))
        for title, at, zone, whose in READ_ORDER
    ]
    later = reminder_body("Car service", "2030-03-08T10:00:00", "UTC")  # the sixth
    paused = await remind(stack, stack.key, reminder_body("Paused", "2030-03-01T09:00:00", "UTC"))
    status, _ = await stack.call("PATCH", f"/reminders/{paused['id']}", {"status": "paused"})
    assert status == 200
    others = [
        await remind(stack, keys["second"], later),
        paused,
        await remind(
            stack, stack.key, reminder_body("Not yours", "2030-03-02T09:00:00", "UTC", STRANGER)
        ),
        await remind(
            stack,
            other_organization_key(stack),
            reminder_body("Other org", "2030-03-01T08:00:00", "UTC"),
        ),
    ]
    return read, [r["message"] for r in [*read, *others]]


async def test_readback_reads_the_callers_five_soonest_scheduled_reminders_of_the_org(
    any_url: str,
) -> None:
    """Item 17: titles and times (each in its zone), soonest first, at most five, across the
    organization's users; never a paused one, another number's, another organization's, or
    any ``message`` text."""
    async with inbound_stack(any_url) as stack:
        read, messages = await seed_readback(stack)
        line = await routed_line(stack, ROUTES["reminders_readback"])
        ring = await stack.vapi.ring(line.phone_number_id, caller=CALLER)
        await stack.vapi.settle()
    accepted(ring, "assistant")
    assistant = ring.answer["assistant"]
    first = assistant["firstMessage"]
    assert f"You have 5 upcoming reminders. {SPOKEN[0]}" in first
    system = assistant["model"]["messages"][0]["content"]
    places = [system.index(sentence) for sentence in SPOKEN]
    assert places == sorted(places)
    assert "Car service" not in system and "Paused" not in system
    assert "Not yours" not in system and "Other org" not in system
    ids = [str(r["id"]) for r in read]
    assert ring.answer["assistantOverrides"]["metadata"]["reminder_ids"] == ids
    spoken = json.dumps(ring.answer)
    assert [m for m in messages if m in spoken] == []


@pytest.mark.parametrize("caller", [STRANGER, None], ids=["no-reminders", "withheld"])
async def test_a_caller_without_reminders_hears_the_goodbye(
    any_url: str, caller: str | None
) -> None:
    """Item 17: no scheduled reminder to the caller (or no caller ID) → the goodbye."""
    async with inbound_stack(any_url) as stack:
        await remind(stack, stack.key, reminder_body("Stand-up", "2030-03-06T09:00:00", "UTC"))
        line = await routed_line(stack, ROUTES["reminders_readback"])
        ring = await stack.vapi.ring(line.phone_number_id, caller=caller)
        await stack.vapi.settle()
        done = await ended(stack, ring.call_id)
    accepted(ring, "error")
    assert ring.answer == {"error": GOODBYE}
    assert (done["status"], done["from"]) == ("completed", caller)


async def held_readback(stack: Stack) -> tuple[list[dict[str, Any]], str, int]:
    """A readback call the caller keeps in the air: (the reminders read, Vapi's call id, our
    execution id)."""
    read, _ = await seed_readback(stack)
    line = await routed_line(stack, ROUTES["reminders_readback"])
    stack.vapi.hold_calls = True
    ring = await stack.vapi.ring(line.phone_number_id, caller=CALLER)
    accepted(ring, "assistant")
    await stack.wait_for(lambda: ring.call_id in stack.vapi.held)
    execution_id = int(ring.answer["assistantOverrides"]["metadata"]["execution_id"])
    return read, ring.call_id, execution_id


async def test_readback_confirm_records_the_item_and_leaves_the_schedule(any_url: str) -> None:
    """Item 17: ``confirm_reminder(item)`` is recorded on the inbound execution only."""
    async with inbound_stack(any_url) as stack:
        read, call_id, execution_id = await held_readback(stack)
        exchange = await stack.vapi.tool_call(call_id, "confirm_reminder", item=2)
        stack.vapi.end_call(call_id)
        await stack.vapi.settle()
        done = await ended(stack, call_id)
        _, after = await stack.call("GET", f"/reminders/{read[1]['id']}")  # the stack user's
    assert (exchange.http_status, exchange.problems) == (200, [])
    assert exchange.result()["result"] == HEARD
    assert done["id"] == execution_id
    assert [(a["type"], a["outcome"], a["detail"]) for a in done["actions"]] == [
        ("confirm", "applied", {"item": 2, "reminder_id": read[1]["id"]})
    ]
    assert after == read[1]
    assert not exchange.ends_call, "the readback goes on: 'Say next or press 3'"


async def test_readback_snooze_moves_the_named_reminders_next_dial(any_url: str) -> None:
    """Item 17: ``snooze_reminder(item=2, minutes=20)`` → that reminder's ``next_attempt_at``
    is 20 minutes after its time; the others are untouched."""
    async with inbound_stack(any_url) as stack:
        read, call_id, _ = await held_readback(stack)
        exchange = await stack.vapi.tool_call(call_id, "snooze_reminder", item=2, minutes=20)
        stack.vapi.end_call(call_id)
        await stack.vapi.settle()
        done = await ended(stack, call_id)
        _, snoozed = await stack.call("GET", f"/reminders/{read[1]['id']}")
        _, untouched = await stack.call("GET", f"/reminders/{read[3]['id']}")
    assert (exchange.http_status, exchange.problems) == (200, [])
    assert exchange.result()["result"].startswith("Okay, I'll call you about it at 3:20 PM.")
    ((kind, outcome, detail),) = [(a["type"], a["outcome"], a["detail"]) for a in done["actions"]]
    assert (kind, outcome, detail["item"], detail["minutes"]) == ("snooze", "applied", 2, 20)
    assert snoozed["next_attempt_at"] == "2030-03-04T15:20:00Z"
    assert untouched == read[3]
    assert not exchange.ends_call, "the readback goes on: 'Say next or press 3'"


async def test_readback_snooze_past_the_lateness_cap_is_refused(any_url: str) -> None:
    """Item 17: a snooze must stay within the occurrence's lateness cap (3600 s here): 90
    minutes is refused and the reminder keeps its time."""
    async with inbound_stack(any_url) as stack:
        read, call_id, _ = await held_readback(stack)
        exchange = await stack.vapi.tool_call(call_id, "snooze_reminder", item=2, minutes=90)
        stack.vapi.end_call(call_id)
        await stack.vapi.settle()
        done = await ended(stack, call_id)
        _, after = await stack.call("GET", f"/reminders/{read[1]['id']}")
    assert (exchange.http_status, exchange.problems) == (200, [])
    ((kind, outcome, detail),) = [(a["type"], a["outcome"], a["detail"]) for a in done["actions"]]
    assert (kind, outcome, detail["refusal"]) == ("snooze", "refused", "past_deadline")
    assert after == read[1]


async def test_a_reminder_snoozed_in_a_readback_is_not_dialed_at_its_time(any_url: str) -> None:
    """Item 17: the snooze moves the first dial of the occurrence: the dispatcher leaves a
    reminder due in three seconds alone once it is snoozed by a minute."""
    async with inbound_stack(any_url) as stack:
        due = soon(3)
        mine = await remind(stack, stack.key, reminder_body("Soon", due, "UTC"))
        line = await routed_line(stack, ROUTES["reminders_readback"])
        stack.vapi.hold_calls = True
        ring = await stack.vapi.ring(line.phone_number_id, caller=CALLER)
        await stack.wait_for(lambda: ring.call_id in stack.vapi.held)
        exchange = await stack.vapi.tool_call(ring.call_id, "snooze_reminder", item=1, minutes=1)
        stack.vapi.end_call(ring.call_id)
        await asyncio.sleep(max(0.0, (instant(due) - datetime.now(UTC)).total_seconds()) + 2)
        _, after = await stack.call("GET", f"/reminders/{mine['id']}")
        await stack.vapi.settle()
    assert (exchange.http_status, exchange.problems) == (200, [])
    assert stack.vapi.calls == []  # not dialed at its time
    assert after["status"] == "scheduled"
    assert instant(after["next_attempt_at"]) - instant(due) == timedelta(minutes=1)


async def test_readback_stop_suppresses_the_caller(any_url: str) -> None:
    """Item 17: ``stop_calls(item)`` → a suppression entry for the caller's number, its
    source this inbound execution."""
    async with inbound_stack(any_url) as stack:
        _, call_id, execution_id = await held_readback(stack)
        exchange = await stack.vapi.tool_call(call_id, "stop_calls", item=1)
        stack.vapi.end_call(call_id)
        await stack.vapi.settle()
        done = await ended(stack, call_id)
        status, entry = await stack.call("GET", f"/suppressions/{CALLER}")
    assert (exchange.http_status, exchange.problems, exchange.ends_call) == (200, [], True)
    assert [(a["type"], a["outcome"]) for a in done["actions"]] == [("stop", "applied")]
    assert (status, entry["reason"]) == (200, "opt_out_voice"), entry
    assert (entry["source"]["type"], entry["source"]["id"]) == ("execution", execution_id)


async def test_readback_tools_answer_at_tools_with_the_call_token(any_url: str) -> None:
    """Item 17: the readback's tools take ``item`` and are answered at ``/tools`` with the
    inbound execution's call token (posted directly, as Vapi would)."""
    async with inbound_stack(any_url) as stack:
        read, call_id, execution_id = await held_readback(stack)
        call = stack.vapi.call(call_id)
        assert call is not None
        tools = call["assistant"]["model"]["tools"]
        token = call_token(stack.vapi.webhook_secret, execution_id)
        message = {
            "message": {
                "type": "tool-calls",
                "call": {"id": call_id},
                "toolCallList": [
                    {
                        "id": "call_readback_1",
                        "type": "function",
                        "function": {"name": "confirm_reminder", "arguments": {"item": 3}},
                    }
                ],
            }
        }
        url = stack.root + TOOLS_PATH
        async with stack.session.post(url, json=message, headers={"x-vapi-secret": token}) as reply:
            status, answer = reply.status, await reply.json()
        stack.vapi.end_call(call_id)
        await stack.vapi.settle()
        done = await ended(stack, call_id)
    names = [t["function"]["name"] for t in tools if t["type"] == "function"]
    assert names == ["confirm_reminder", "snooze_reminder", "stop_calls"]
    for tool in tools[:3]:
        assert "item" in tool["function"]["parameters"]["required"]
        assert tool["server"]["headers"] == {"x-vapi-secret": token}
        assert tool["server"]["url"] == stack.root + TOOLS_PATH
    assert status == 200, answer
    assert answer["results"][0]["toolCallId"] == "call_readback_1"
    assert [(a["type"], a["detail"]) for a in done["actions"]] == [
        ("confirm", {"item": 3, "reminder_id": read[2]["id"]})
    ]


# ----------------------------------------------------------------------------- item 18
@pytest.mark.parametrize("secret", ["wrong", None], ids=["wrong-secret", "no-secret"])
async def test_a_ring_without_the_orgs_secret_is_401_and_records_nothing(
    any_url: str, secret: str | None
) -> None:
    """Item 18: a wrong (or missing) ``x-vapi-secret`` → 401, no execution, no event."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, ROUTES["message"])
        async with receiving(stack, INBOUND_EVENTS) as receiver:
            headers = {"x-vapi-secret": secret} if secret is not None else {}
            ring = await stack.vapi.ring(line.phone_number_id, headers=headers)
            await stack.vapi.settle()
            recorded = await inbound_executions(stack)
            await asyncio.sleep(0.5)  # time enough for an event to be delivered
    assert (ring.http_status, ring.answer["error"]["code"]) == (401, "invalid_provider_event")
    assert (ring.route, ring.ended_reason) == (None, "assistant-request-failed")
    assert recorded == [] and receiver.delivered == {}


async def test_a_ring_for_an_unknown_phone_number_id_is_401_and_records_nothing(
    any_url: str,
) -> None:
    """Item 18: a number Vapi knows but no line of ours has → 401, no execution."""
    async with inbound_stack(any_url) as stack:
        await routed_line(stack, ROUTES["message"])
        unknown = await import_number(stack, SECOND_LINE)  # imported, never added as a line
        ring = await stack.vapi.ring(unknown)
        await stack.vapi.settle()
        recorded = await inbound_executions(stack)
    assert (ring.http_status, ring.answer["error"]["code"]) == (401, "invalid_provider_event")
    assert recorded == []


# ----------------------------------------------------------------------------- item 21
async def test_patching_a_line_without_lines_write_is_403_naming_it(any_url: str) -> None:
    """Item 21: a key lacking ``lines:write`` may read the line but not change its route."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, None)
        narrow = stack.dc.accounts.create_api_key(stack.user_id, scopes=["lines:read"]).raw
        body = {"route": ROUTES["reject"]}
        status, refused = await request(stack, narrow, "PATCH", f"/lines/{line.id}", body)
        read_status, shown = await request(stack, narrow, "GET", f"/lines/{line.id}")
    assert (status, refused["error"]["code"]) == (403, "insufficient_scope")
    assert refused["error"]["details"] == {"scope": "lines:write"}
    assert "lines:write" in refused["error"]["message"]
    assert (read_status, shown["route"]) == (200, None)


@pytest.mark.parametrize(
    ("route", "field_name"),
    [
        ({"type": "transfer", "number": "+19005550100"}, "route.number"),
        ({"type": "transfer", "number": FRONT_DESK}, "route.number"),
        ({"type": "external", "timeout_ms": 400}, "route.timeout_ms"),
        ({"type": "external", "fallback": {"type": "external"}}, "route.fallback.type"),
    ],
    ids=["premium-rate", "own-line", "timeout-too-short", "external-fallback"],
)
async def test_an_invalid_route_is_400_naming_the_field(
    sqlite_url: str, route: dict[str, Any], field_name: str
) -> None:
    """Item 21: a transfer to a premium-rate number (or to one of the organization's own
    lines), and bad ``external`` settings, are refused naming the field; nothing changes."""
    async with inbound_stack(sqlite_url) as stack:
        line = await routed_line(stack, None)
        status, refused = await stack.call("PATCH", f"/lines/{line.id}", {"route": route})
        _, shown = await stack.call("GET", f"/lines/{line.id}")
    assert (status, refused["error"]["code"]) == (400, "validation_error")
    assert list(refused["error"]["details"]["fields"]) == [field_name]
    assert shown["route"] is None
