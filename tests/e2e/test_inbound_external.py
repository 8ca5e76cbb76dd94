"""What the platform hears of inbound calls, end to end: ``external`` routes decided while
Vapi's ``assistant-request`` is held open (``telephony.md`` §3.4; "Done when" items 15 and
19), and the outcomes and events of inbound calls (§3.3, amendments 2 and 11; item 20).

The strict fake Vapi rings a line routed ``external``; the platform's handler records the
execution (``route: null``, ``answer_by``), sends ``call.ringing`` and waits. The deciding
platform is this test: a webhook receiver acting on ``call.ringing``, or plain requests to
``POST /calls/inbound/answer`` (on this process, or on a second ``dialcues serve`` process
over the same database). Whichever conditional update comes first — an answer, or the
handler's fallback at ``answer_by`` — is the route stored and the one Vapi hears. The lines,
rings and receivers are built as ``test_inbound_calls.py`` builds them.
"""

from __future__ import annotations

import asyncio
import copy
import random
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from fakes.vapi_server import Ring

from e2e.support import BASE, VAPI_LINE_NUMBER, Stack, free_port
from e2e.test_inbound_calls import (
    CALLER,
    EVENTS_PATH,
    FORWARD_TO,
    INBOUND_EVENTS,
    ROUTES,
    accepted,
    ended,
    execution_of,
    inbound_executions,
    inbound_stack,
    instant,
    other_organization_key,
    receiving,
    request,
    routed_line,
    second_key,
)

ANSWER = "/calls/inbound/answer"
FALLBACK_TEXT = "Nobody can take your call right now. Goodbye."
FALLBACK = {"type": "message", "text": FALLBACK_TEXT}
TRANSFER = {"type": "transfer", "number": FORWARD_TO}


def external(timeout_ms: int) -> dict[str, Any]:
    """An ``external`` route whose fallback speaks :data:`FALLBACK_TEXT`."""
    return {"type": "external", "timeout_ms": timeout_ms, "fallback": FALLBACK}


def caller_of(index: int) -> str:
    """A distinct caller per concurrent ring (the fake's calls are found by it)."""
    return f"+1415555{2000 + index:04d}"


async def fake_call_id(stack: Stack, caller: str) -> str:
    """The id of the inbound call the fake is ringing from ``caller``."""

    def found() -> str | None:
        calls = stack.vapi.inbound_calls
        return next((c["id"] for c in calls if c.get("customer", {}).get("number") == caller), None)

    return str(await stack.wait_for(found, within=5, every=0.005))


async def recorded(stack: Stack, call_id: str, key: str | None = None) -> dict[str, Any]:
    """Wait until the execution of ``call_id`` is recorded (as ``key`` lists them)."""

    async def check() -> dict[str, Any] | None:
        found = await inbound_executions(stack, key)
        return next((e for e in found if e["call_id"] == call_id), None)

    return dict(await stack.wait_for(check, within=5, every=0.02))


async def answer(
    stack: Stack, body: dict[str, Any], key: str | None = None, root: str | None = None
) -> tuple[int, Any]:
    """``POST /calls/inbound/answer`` (on ``root``, default the stack's REST API)."""
    if root is None:
        return await request(stack, key or stack.key, "POST", ANSWER, body)
    headers = {"Authorization": f"Bearer {key or stack.key}"}
    async with stack.session.post(f"{root}{BASE}{ANSWER}", json=body, headers=headers) as reply:
        return reply.status, await reply.json()


# ----------------------------------------------------------------------------- items 15, 19
async def test_call_ringing_is_delivered_and_an_answer_within_the_timeout_is_used(
    any_url: str,
) -> None:
    """Items 15 and 19: ``call.ringing`` carries the waiting execution; the platform answers
    it with a transfer; Vapi gets the transfer's body long before the timeout, and the call
    ends ``completed``."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, external(4000))
        answers: list[tuple[int, Any]] = []

        async def decide(event: dict[str, Any]) -> None:
            if event["type"] == "call.ringing":
                body = {"call_id": event["data"]["call_id"], "route": TRANSFER}
                answers.append(await answer(stack, body))

        async with receiving(stack, ["call.ringing", "execution.finished"]) as receiver:
            receiver.react = decide
            ring = await stack.vapi.ring(line.phone_number_id)
            await stack.vapi.settle()
            done = await ended(stack, ring.call_id)
            await stack.wait_for(lambda: receiver.of("execution.finished"))
    accepted(ring, "destination")
    assert ring.answer == {"destination": {"type": "number", "number": FORWARD_TO, "message": ""}}
    assert ring.elapsed < 3.0  # the decision, not the 4 s timeout
    (ringing,) = receiver.of("call.ringing")
    waiting = ringing["data"]
    assert (waiting["id"], waiting["route"], waiting["status"]) == (done["id"], None, "in_progress")
    assert (waiting["direction"], waiting["from"], waiting["to"]) == (
        "inbound",
        CALLER,
        line.number,
    )
    deadline = instant(waiting["answer_by"]) - instant(waiting["executed_at"])
    assert deadline.total_seconds() == pytest.approx(4.0, abs=0.002)
    ((status, decided),) = answers
    assert (status, decided["id"], decided["route"]) == (200, done["id"], TRANSFER)
    assert (done["route"], done["answer_by"]) == (TRANSFER, waiting["answer_by"])
    assert (done["status"], done["ended_reason"]) == (
        "completed",
        "assistant-request-returned-forwarding-phone-number",
    )


async def test_call_ringing_is_attempted_at_once_by_a_process_that_runs_no_deliverer(
    any_url: str,
) -> None:
    """Item 19 (§3.4 step 1): the process that writes the ring makes the first delivery
    attempt of ``call.ringing`` at once — also a ``serve --no-dispatcher`` process, whose
    webhooks a worker delivers otherwise — so the platform can still answer in time."""
    async with inbound_stack(any_url, dispatch=False) as stack:
        line = await routed_line(stack, external(3000))
        answers: list[tuple[int, Any]] = []

        async def decide(event: dict[str, Any]) -> None:
            body = {"call_id": event["data"]["call_id"], "route": TRANSFER}
            answers.append(await answer(stack, body))

        async with receiving(stack, ["call.ringing"]) as receiver:
            receiver.react = decide
            ring = await stack.vapi.ring(line.phone_number_id)
            await stack.vapi.settle()
    assert len(receiver.of("call.ringing")) == 1, "call.ringing was not attempted at once"
    assert [status for status, _ in answers] == [200]
    assert ring.answer["destination"]["number"] == FORWARD_TO


async def test_without_an_answer_the_fallback_is_used_and_a_late_answer_is_409(
    any_url: str,
) -> None:
    """Item 19: at ``answer_by`` the line's fallback is stored and spoken; an answer after it
    → 409 ``call_already_answered`` with ``details.route`` the fallback."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, external(500))
        ring = await stack.vapi.ring(line.phone_number_id)
        late = await answer(stack, {"call_id": ring.call_id, "route": TRANSFER})
        await stack.vapi.settle()
        done = await ended(stack, ring.call_id)
        later = await answer(stack, {"execution_id": done["id"], "route": TRANSFER})
    accepted(ring, "error")
    assert ring.answer == {"error": FALLBACK_TEXT}
    assert 0.5 <= ring.elapsed < 2.0
    for status, refused in (late, later):
        assert (status, refused["error"]["code"]) == (409, "call_already_answered"), refused
        assert refused["error"]["details"]["route"] == FALLBACK
    assert (done["route"], done["status"]) == (FALLBACK, "completed")


async def race(stack: Stack, phone_number_id: str, index: int) -> tuple[Ring, Any, str]:
    """Ring from a caller of its own; answer at a random moment around the 500 ms timeout.
    Return the ring, the answer's reply and the text the answer would have Vapi speak."""
    caller, text = caller_of(index), f"Answer number {index}."
    ringing = asyncio.create_task(stack.vapi.ring(phone_number_id, caller=caller))
    call_id = await fake_call_id(stack, caller)
    await asyncio.sleep(random.uniform(0.3, 0.7))
    body = {"call_id": call_id, "route": {"type": "message", "text": text}}
    reply = await answer(stack, body)
    return await ringing, reply, text


async def test_answers_racing_the_timeout_each_store_the_one_route_the_caller_heard(
    any_url: str,
) -> None:
    """Item 19: 100 answers at random moments around a 500 ms timeout; each call stores
    exactly one route — the answer when its 200 came, else the fallback (the answer 409 with
    it) — and Vapi heard exactly that route."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, external(500))
        results = []
        for batch in range(4):  # 25 at once: a realistic load for one line
            results += await asyncio.gather(
                *(race(stack, line.phone_number_id, batch * 25 + i) for i in range(25))
            )
        await stack.vapi.settle()
        stored = {e["call_id"]: e for e in await inbound_executions(stack)}
    assert len(stored) == 100
    outcomes = {"answered": 0, "fallback": 0}
    for ring, (status, reply), text in results:
        accepted(ring, "error")
        execution = stored[ring.call_id]
        if status == 200:
            outcomes["answered"] += 1
            route = {"type": "message", "text": text}
            assert reply["route"] == route
        else:
            outcomes["fallback"] += 1
            assert (status, reply["error"]["code"]) == (409, "call_already_answered"), reply
            route = reply["error"]["details"]["route"]
            assert route == FALLBACK
        assert execution["route"] == route
        assert ring.answer == {"error": route["text"]}
    assert outcomes["answered"] > 0 and outcomes["fallback"] > 0, outcomes


# ----------------------------------------------------------------------------- another process
@asynccontextmanager
async def second_process(stack: Stack) -> AsyncIterator[str]:
    """Run ``dialcues serve --no-dispatcher`` on the stack's database; yield its root URL."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialcues_cli.main", "serve", "--no-dispatcher",
        "--rest-port", str(port), "--grpc-port", str(free_port()),
        env=stack.env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip

    async def healthy() -> bool:
        try:
            async with stack.session.get(f"{root}/healthz") as reply:
                return reply.status == 200
        except aiohttp.ClientError:
            return False

    try:
        await stack.wait_for(healthy, within=30)
        yield root
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


async def test_an_answer_posted_to_another_process_is_used_by_the_waiting_handler(
    any_url: str,
) -> None:
    """Item 19: the handler waiting in this process sees a decision stored by another REST
    process (it polls the row) and answers Vapi with it, well before the 5 s timeout."""
    async with inbound_stack(any_url) as stack, second_process(stack) as other:
        line = await routed_line(stack, external(5000))
        ringing = asyncio.create_task(stack.vapi.ring(line.phone_number_id))
        call_id = await fake_call_id(stack, CALLER)
        waiting = await recorded(stack, call_id)
        body = {"execution_id": waiting["id"], "route": TRANSFER}
        status, decided = await answer(stack, body, root=other)
        answered_at = asyncio.get_running_loop().time()
        ring = await ringing
        handed_off = asyncio.get_running_loop().time() - answered_at
        await stack.vapi.settle()
        done = await ended(stack, call_id)
    assert (status, decided["route"]) == (200, TRANSFER), decided
    accepted(ring, "destination")
    assert ring.answer["destination"]["number"] == FORWARD_TO
    assert handed_off < 1.0, handed_off  # a poll of the row, not the 5 s deadline
    assert (done["route"], done["status"]) == (TRANSFER, "completed")


# ----------------------------------------------------------------------------- item 20
@pytest.mark.parametrize("kind", ["message", "transfer"])
async def test_an_outcome_without_metadata_finishes_the_inbound_execution_for_the_org(
    any_url: str, kind: str
) -> None:
    """Item 20: the call's messages carry ``call.id`` and no metadata; the execution is
    matched by it and finished; ``execution.finished`` (``direction: "inbound"``) reaches a
    subscription of another user of the organization; every user sees the execution, another
    organization gets 404."""
    async with inbound_stack(any_url) as stack:
        stack.vapi.duplicate = True  # every message twice: the outcome applies once
        line = await routed_line(stack, ROUTES[kind])
        colleague, outsider = second_key(stack), other_organization_key(stack)
        users = (("owner", stack.key), ("colleague", colleague), ("other", outsider))
        async with (
            receiving(stack, INBOUND_EVENTS, key=colleague) as receiver,
            receiving(stack, INBOUND_EVENTS, key=outsider) as elsewhere,
        ):
            ring = await stack.vapi.ring(line.phone_number_id)
            await stack.vapi.settle()
            done = await ended(stack, ring.call_id)
            await stack.wait_for(lambda: receiver.of("execution.finished"))
        shown = {
            who: await request(stack, key, "GET", f"/executions/{done['id']}") for who, key in users
        }
        listed = {
            who: [e["id"] for e in await inbound_executions(stack, key)] for who, key in users
        }
        _, unfiltered = await request(stack, colleague, "GET", "/executions")
        _, outbound = await request(stack, colleague, "GET", "/executions?direction=outbound")
    messages = [d for d in stack.vapi.deliveries if d.call_id == ring.call_id]
    assert {d.type for d in messages} >= {"end-of-call-report"}
    for delivery in messages:
        call = delivery.payload["message"]["call"]
        assert "assistantOverrides" not in call and "metadata" not in call
    assert all(d.http_status == 200 for d in messages), [d.http_status for d in messages]
    (finished,) = receiver.of("execution.finished")
    (started,) = receiver.of("execution.started")
    assert finished["data"] == done
    assert (finished["data"]["direction"], started["data"]["id"]) == ("inbound", done["id"])
    assert receiver.of("call.ringing") == []
    assert shown["owner"] == (200, done) and shown["colleague"] == (200, done)
    assert (shown["other"][0], shown["other"][1]["error"]["code"]) == (404, "not_found")
    assert listed == {"owner": [done["id"]], "colleague": [done["id"]], "other": []}
    assert [e["id"] for e in unfiltered["items"]] == [done["id"]]
    assert outbound["items"] == [] and elsewhere.delivered == {}


async def test_an_outcome_matched_by_call_id_needs_that_organizations_secret(
    any_url: str,
) -> None:
    """Item 20 (amendment 11): a message about an inbound call without our metadata is
    matched by ``call.id`` and checked against that execution's organization's secret: a
    wrong secret, or another organization's, is 401 and changes nothing."""
    async with inbound_stack(any_url) as stack:
        elsewhere = stack.dc.accounts.create_organization("Elsewhere")
        stack.dc.accounts.set_provider(
            elsewhere.id,
            {"provider": "vapi", "api_key": "k", "webhook_secret": "elsewhere-secret"},
        )
        line = await routed_line(stack, ROUTES["assistant"])
        stack.vapi.hold_calls = True
        ring = await stack.vapi.ring(line.phone_number_id)
        await stack.wait_for(lambda: ring.call_id in stack.vapi.held)
        (talking,) = [d for d in stack.vapi.deliveries if d.call_id == ring.call_id]
        payload = copy.deepcopy(talking.payload)
        message = payload["message"]
        message["call"].pop("assistantOverrides")  # no metadata of ours: found by call.id
        message.update(status="ended", endedReason="customer-busy")
        replies = {}
        for who, secret in (
            ("wrong", "not-the-secret"),
            ("elsewhere", "elsewhere-secret"),
            ("none", None),
        ):
            headers = {"x-vapi-secret": secret} if secret is not None else {}
            async with stack.session.post(
                stack.root + EVENTS_PATH, json=payload, headers=headers
            ) as reply:
                replies[who] = (reply.status, (await reply.json())["error"]["code"])
        still = await execution_of(stack, ring.call_id)
        headers = {"x-vapi-secret": stack.vapi.webhook_secret}
        async with stack.session.post(
            stack.root + EVENTS_PATH, json=payload, headers=headers
        ) as reply:
            applied = reply.status
        done = await ended(stack, ring.call_id)
        stack.vapi.end_call(ring.call_id)
        await stack.vapi.settle()
        await asyncio.sleep(1.5)  # past the stack's 1 s retry delay: an inbound call is no dial
    assert replies == dict.fromkeys(("wrong", "elsewhere", "none"), (401, "invalid_provider_event"))
    assert still is not None and still["status"] == "in_progress"
    assert (applied, done["status"], done["ended_reason"]) == (200, "busy", "customer-busy")
    assert stack.vapi.calls == []


# ----------------------------------------------------------------------------- answer's rules
async def test_an_answer_for_another_organizations_call_is_404(any_url: str) -> None:
    """§3.4: an unknown call, or another organization's, is ``not_found``; the waiting call
    falls back."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, external(1500))
        outsider = other_organization_key(stack)
        ringing = asyncio.create_task(stack.vapi.ring(line.phone_number_id))
        call_id = await fake_call_id(stack, CALLER)
        waiting = await recorded(stack, call_id)
        theirs = await answer(stack, {"call_id": call_id, "route": TRANSFER}, key=outsider)
        by_id = await answer(stack, {"execution_id": waiting["id"], "route": TRANSFER}, outsider)
        unknown = await answer(stack, {"call_id": "no-such-call", "route": TRANSFER})
        ring = await ringing
        await stack.vapi.settle()
        done = await ended(stack, call_id)
    for status, refused in (theirs, by_id, unknown):
        assert (status, refused["error"]["code"]) == (404, "not_found"), refused
    assert ring.answer == {"error": FALLBACK_TEXT}
    assert done["route"] == FALLBACK


async def test_a_duplicate_ring_waits_once_and_both_requests_get_the_decision(
    any_url: str,
) -> None:
    """Items 16 and 19: the same ``call.id`` twice on an ``external`` line → one execution,
    one ``call.ringing``, and both requests answered with the one decision."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, external(3000))
        async with receiving(stack, ["call.ringing"]) as receiver:
            ringing = asyncio.create_task(stack.vapi.ring(line.phone_number_id, duplicate=True))
            call_id = await fake_call_id(stack, CALLER)
            await recorded(stack, call_id)
            status, _ = await answer(stack, {"call_id": call_id, "route": TRANSFER})
            ring = await ringing
            await stack.vapi.settle()
            await stack.wait_for(lambda: receiver.of("call.ringing"))
            await asyncio.sleep(0.3)  # a second call.ringing would be here by now
        executions = await inbound_executions(stack)
    assert status == 200
    accepted(ring, "destination")
    assert ring.repeats == ((200, ring.answer),)
    assert [e["call_id"] for e in executions] == [call_id]
    assert len(receiver.of("call.ringing")) == 1


async def test_a_replayed_answer_returns_the_stored_200(any_url: str) -> None:
    """§3.4: the same answer with the same ``Idempotency-Key`` replays its 200."""
    async with inbound_stack(any_url) as stack:
        line = await routed_line(stack, external(3000))
        ringing = asyncio.create_task(stack.vapi.ring(line.phone_number_id))
        call_id = await fake_call_id(stack, CALLER)
        await recorded(stack, call_id)
        url = f"{stack.root}{BASE}{ANSWER}"
        headers = {"Authorization": f"Bearer {stack.key}", "Idempotency-Key": "decide-once"}
        replies = []
        for _ in range(2):
            body = {"call_id": call_id, "route": TRANSFER}
            async with stack.session.post(url, json=body, headers=headers) as reply:
                replies.append(
                    (reply.status, await reply.json(), reply.headers.get("Idempotent-Replayed"))
                )
        ring = await ringing
        await stack.vapi.settle()
        await execution_of(stack, call_id)
    (first, first_body, _), (second, second_body, replayed) = replies
    assert (first, second, replayed) == (200, 200, "true")
    assert first_body == second_body and first_body["route"] == TRANSFER
    accepted(ring, "destination")


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"route": TRANSFER}, "call_id"),
        ({"call_id": "c", "execution_id": 1, "route": TRANSFER}, "call_id"),
        ({"call_id": "c", "route": {"type": "external", "timeout_ms": 1000}}, "route.type"),
        ({"call_id": "c"}, "route"),
        ({"call_id": "c", "route": {"type": "transfer", "number": "+19005550100"}}, "route.number"),
        (
            {"call_id": "c", "route": {"type": "transfer", "number": VAPI_LINE_NUMBER}},
            "route.number",
        ),
    ],
    ids=["neither-id", "both-ids", "external-answer", "no-route", "premium-rate", "own-line"],
)
async def test_an_invalid_answer_is_400_naming_the_field(
    sqlite_url: str, body: dict[str, Any], field_name: str
) -> None:
    """§3.4: exactly one of ``call_id`` and ``execution_id``; any route but ``external``,
    under §3.1's rules (a transfer to a premium-rate number, or to one of the organization's
    own lines — the stack's Vapi line here — is refused)."""
    async with inbound_stack(sqlite_url) as stack:
        status, refused = await answer(stack, body)
    assert (status, refused["error"]["code"]) == (400, "validation_error"), refused
    assert field_name in refused["error"]["details"]["fields"]
