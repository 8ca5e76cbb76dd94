"""Calls placed now and the agent smoke flow, end to end against the fake Vapi.

The in-process stack is what ``dialcues serve`` composes (REST, provider webhooks, one
dispatcher); one test runs the real ``dialcues serve`` process, others a ``dialcues worker``
process beside a stack that does not dispatch (``serve --no-dispatcher``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from fakes.vapi_server import FakeVapi, start_fake_vapi
from support.platform import settings_for

from dialcues_core import Dialcues
from e2e.support import BASE, VAPI_LINE_NUMBER, Stack, free_port, running_stack, start_worker

NUMBER = "+14155552671"
SECOND = timedelta(seconds=1)
CALL = {"to": NUMBER, "message": "Your table is ready", "title": "Table"}


def instant(text: str) -> datetime:
    """Parse an API instant (``…Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def post(stack: Stack, path: str, body: Any = None, key: str | None = None) -> Any:
    """POST as the stack's user (with an ``Idempotency-Key`` when given); return (status, body)."""
    headers = {"Authorization": f"Bearer {stack.key}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    url = f"{stack.root}{BASE}{path}"
    async with stack.session.post(url, json=body, headers=headers) as reply:
        return reply.status, await reply.json()


async def finished(stack: Stack, execution_id: int) -> dict[str, Any]:
    """Wait until the execution has ended; return it."""

    async def check() -> dict[str, Any] | None:
        _, found = await stack.call("GET", f"/executions/{execution_id}")
        return dict(found) if found["status"] not in ("queued", "in_progress") else None

    return dict(await stack.wait_for(check, within=10))


async def stop(proc: asyncio.subprocess.Process) -> None:
    """Stop a ``dialcues`` process cleanly."""
    if proc.returncode is None:
        proc.terminate()
    await asyncio.wait_for(proc.wait(), 15)


# ----------------------------------------------------------------------------- calls now
async def test_call_placed_now_is_dialed_within_a_second_and_completes(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        status, placed = await post(stack, "/calls", CALL)
        assert (status, placed["status"], placed["reminder_id"]) == (201, "queued", None)
        done = await finished(stack, placed["id"])
        await stack.vapi.settle()
    assert done["status"] == "completed"
    assert instant(done["executed_at"]) - instant(done["scheduled_for"]) < SECOND
    assert [c["id"] for c in stack.vapi.calls] == [done["call_id"]]
    body = stack.vapi.create_bodies[0]
    assert body["customer"] == {"number": NUMBER}
    assert " Your table is ready Press 1 " in body["assistant"]["firstMessage"]
    assert "reminder_id" not in body["assistantOverrides"]["metadata"]


async def test_ten_identical_posts_with_one_key_dial_once(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        replies, replayed = [], []
        for _ in range(10):
            headers = {"Authorization": f"Bearer {stack.key}", "Idempotency-Key": "retry-me"}
            url = f"{stack.root}{BASE}/calls"
            async with stack.session.post(url, json=CALL, headers=headers) as reply:
                replies.append((reply.status, await reply.json()))
                replayed.append(reply.headers.get("Idempotent-Replayed"))
        await finished(stack, replies[0][1]["id"])
        await stack.vapi.settle()
    assert {status for status, _ in replies} == {201}
    assert {body["id"] for _, body in replies} == {replies[0][1]["id"]}
    assert replayed == [None] + ["true"] * 9
    assert len(stack.vapi.calls) == 1


async def test_ten_concurrent_posts_with_one_key_dial_once(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        replies = await asyncio.gather(
            *(post(stack, "/calls", CALL, key="race") for _ in range(10))
        )
        placed = [body for status, body in replies if status == 201]
        await finished(stack, placed[0]["id"])
        await stack.vapi.settle()
    assert {status for status, _ in replies} <= {201, 409}
    assert {body["id"] for body in placed} == {placed[0]["id"]}
    assert len(stack.vapi.calls) == 1


async def test_busy_call_now_is_not_retried(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        stack.vapi.set_outcome(NUMBER, "customer-busy")
        _, placed = await post(stack, "/calls", CALL)
        done = await finished(stack, placed["id"])
        _, page = await stack.call("GET", "/executions")
        await stack.vapi.settle()
    assert done["status"] == "busy"
    assert page["total"] == 1
    assert len(stack.vapi.calls) == 1


async def test_worker_process_dials_a_call_placed_on_a_server_that_does_not_dispatch(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        worker = await start_worker(stack.env)
        try:
            _, placed = await post(stack, "/calls", CALL)
            done = await finished(stack, placed["id"])
            await stack.vapi.settle()
        finally:
            await stop(worker)
    assert done["status"] == "completed"
    assert len(stack.vapi.calls) == 1


# ----------------------------------------------------------------------------- dialcues serve
@asynccontextmanager
async def serve_process(url: str, vapi: FakeVapi) -> AsyncIterator[tuple[str, str]]:
    """Run ``dialcues serve`` on a database with a Vapi tenant; yield (REST root, key)."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    key = _vapi_tenant(url, vapi)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update(
        DIALCUES_DATABASE_URL=url,
        DIALCUES_PUBLIC_URL=root,
        DIALCUES_RATE_LIMITS="off",
        DIALCUES_CALLING_WINDOW="off",
        DIALCUES_FREQUENCY_CAPS="off",
        DIALCUES_LOG_LEVEL="warning",
    )
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "dialcues_cli.main", "serve"),
        *("--rest-port", str(port), "--grpc-port", str(free_port())),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _until_healthy(root)
        yield root, key
    finally:
        await stop(proc)


def _vapi_tenant(url: str, vapi: FakeVapi) -> str:
    """Create an organization calling through the fake Vapi; return a key of its user."""
    dc = Dialcues.open(settings=settings_for(url))
    try:
        org = dc.accounts.create_organization("Serve")
        dc.accounts.set_provider(
            org.id,
            {
                "provider": "vapi",
                "api_key": vapi.api_key,
                "assistant_id": "asst_serve",
                "webhook_secret": vapi.webhook_secret,
                "base_url": vapi.base_url,
            },
        )
        dc.accounts.add_line(org.id, "vapi", VAPI_LINE_NUMBER, provider_line_id="pn_serve")
        user = dc.accounts.create_user(org.id, "serve@example.com", "Serve")
        return dc.accounts.create_api_key(user.id).raw
    finally:
        dc.close()


async def _until_healthy(root: str) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(30):
        while True:
            try:
                async with session.get(f"{root}/healthz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


async def test_dialcues_serve_dials_a_call_placed_now_within_a_second(sqlite_url: str) -> None:
    async with (
        start_fake_vapi() as vapi,
        serve_process(sqlite_url, vapi) as (root, key),
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session,
    ):
        async with session.post(f"{root}{BASE}/calls", json=CALL) as reply:
            placed = await reply.json()
        async with asyncio.timeout(10):
            while True:
                async with session.get(f"{root}{BASE}/executions/{placed['id']}") as reply:
                    done = await reply.json()
                if done["status"] == "completed":
                    break
                await asyncio.sleep(0.1)
        await vapi.settle()
    assert instant(done["executed_at"]) - instant(done["scheduled_for"]) < SECOND
    assert len(vapi.calls) == 1


# ----------------------------------------------------------------------------- smoke
async def test_smoke_never_touches_the_provider_and_leaves_nothing(sqlite_url: str) -> None:
    async with running_stack(sqlite_url) as stack:
        status, report = await post(stack, "/agent/smoke")
        _, lines = await stack.call("GET", "/lines")
        _, reminders = await stack.call("GET", "/reminders")
    assert (status, report["status"]) == (200, "ok")
    assert stack.vapi.calls == [] and stack.vapi.create_bodies == []
    assert [line["id"] for line in lines["items"]] == [stack.line_id]
    assert reminders["total"] == 0


async def test_smoke_passes_with_the_dispatcher_in_a_worker_process(sqlite_url: str) -> None:
    async with running_stack(sqlite_url, dispatch=False) as stack:
        worker = await start_worker(stack.env)
        try:
            status, report = await post(stack, "/agent/smoke")
        finally:
            await stop(worker)
    assert (status, report.get("status")) == (200, "ok"), report
    assert stack.vapi.calls == []
