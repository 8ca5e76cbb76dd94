"""Signed webhooks end to end: a real ``dialcues serve`` process, simulated calls, a receiver.

The receiver is a real aiohttp server on a loopback port. It answers 500 to the first attempt
of every message and verifies every later one with the ``standardwebhooks`` library's own
``Webhook.verify`` before answering 200. The platform retries after 1 s
(``DIALCUES_WEBHOOK_RETRY_SCHEDULE``) and allows private targets (loopback, plain http).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import ExecutionRow
from e2e.support import BASE, free_port

pytestmark = pytest.mark.slow
ALL_EVENTS = ["execution.started", "execution.finished", "reminder.completed", "reminder.failed"]


@dataclass
class Receiver:
    """A webhook receiver: 500 to each message's first attempt, then verify and 200."""

    port: int
    secret: str = ""
    attempts: Counter[str] = field(default_factory=Counter)
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        """Take one attempt."""
        body = await request.read()
        msg_id = request.headers.get("webhook-id", "")
        self.attempts[msg_id] += 1
        if self.attempts[msg_id] == 1:
            return web.Response(status=500)
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception as exc:
            self.rejected.append(f"{msg_id}: {exc}")
            return web.Response(status=400)
        if msg_id in self.delivered:
            self.duplicates.append(msg_id)
        self.delivered[msg_id] = event
        return web.Response(status=200)

    def events(self) -> Counter[tuple[str, Any]]:
        """Count delivered events by (type, object id)."""
        return Counter((e["type"], e["data"]["id"]) for e in self.delivered.values())


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    """Serve ``receiver`` on its port until the block ends."""
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()


@dataclass
class Platform:
    """A seeded database and how to run ``dialcues serve`` on it."""

    url: str
    key: str
    rest_port: int
    env: dict[str, str]

    @property
    def root(self) -> str:
        """The REST API's base URL."""
        return f"http://127.0.0.1:{self.rest_port}{BASE}"


def seed(tmp_path: Path, schedule: str) -> Platform:
    """Create a tenant with a simulated line on a fresh SQLite file."""
    url = f"sqlite:///{tmp_path / 'webhooks.db'}"
    dc = Dialcues.open(url)
    org = dc.accounts.create_organization("Hooks")
    user = dc.accounts.create_user(org.id, "hooks@example.com", "Hooks")
    dc.accounts.add_line(org.id, "simulated", "+14155550100", label="Sim")
    key = dc.accounts.create_api_key(user.id).raw
    dc.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update(
        {
            "DIALCUES_DATABASE_URL": url,
            "DIALCUES_REST_PORT": str(port),
            "DIALCUES_GRPC_PORT": str(free_port()),
            "DIALCUES_RATE_LIMITS": "off",
            "DIALCUES_CALLING_WINDOW": "off",
            "DIALCUES_FREQUENCY_CAPS": "off",
            "DIALCUES_RETRY_DELAYS": "1",
            "DIALCUES_SIMULATED_DELAY": "0.2",
            "DIALCUES_WEBHOOKS_ALLOW_PRIVATE": "1",
            "DIALCUES_WEBHOOK_RETRY_SCHEDULE": schedule,
            "DIALCUES_LOG_LEVEL": "warning",
        }
    )
    return Platform(url, key, port, env)


async def serve(platform: Platform, session: aiohttp.ClientSession) -> asyncio.subprocess.Process:
    """Start ``dialcues serve`` and wait until its REST API answers."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialcues_cli.main", "serve", env=platform.env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip

    async def up() -> bool:
        try:
            async with session.get(f"http://127.0.0.1:{platform.rest_port}/healthz") as reply:
                return reply.status == 200
        except aiohttp.ClientError:
            return False

    await wait_for(up, within=20)
    return proc


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> None:
    """Signal the process and wait for it."""
    if proc.returncode is None:
        proc.send_signal(sig)
    await proc.wait()


async def wait_for(check: Any, within: float = 30.0) -> Any:
    """Poll ``check`` (sync or async) every 0.1 s until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.1)


async def call(
    session: aiohttp.ClientSession, platform: Platform, method: str, path: str, body: Any = None
) -> Any:
    """Send one API request; assert it succeeded and return its JSON body."""
    headers = {"Authorization": f"Bearer {platform.key}"}
    async with session.request(method, platform.root + path, json=body, headers=headers) as reply:
        assert reply.status < 300, await reply.text()
        return await reply.json()


def soon(seconds: float) -> str:
    """An RFC 3339 instant ``seconds`` from now (whole seconds, UTC)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def reminder(number: str, title: str) -> dict[str, Any]:
    """A one-off reminder due in two seconds."""
    return {
        "title": title,
        "message": "Hello",
        "phone_number": number,
        "timezone": "UTC",
        "scheduled_at": soon(2),
    }


async def subscribe(session: aiohttp.ClientSession, platform: Platform, port: int) -> Any:
    """Subscribe the receiver's URL to every event."""
    body = {"url": f"http://127.0.0.1:{port}/hook", "events": ALL_EVENTS}
    return await call(session, platform, "POST", "/webhooks/subscriptions", body)


async def test_every_event_is_delivered_once_signed_after_a_500(tmp_path: Path) -> None:
    platform = seed(tmp_path, schedule="1,1,1")
    receiver = Receiver(free_port())
    async with aiohttp.ClientSession() as session, receiving(receiver):
        proc = await serve(platform, session)
        try:
            sub = await subscribe(session, platform, receiver.port)
            receiver.secret = sub["secret"]
            ok = await call(session, platform, "POST", "/reminders", reminder("+14155552671", "Ok"))
            bad = await call(
                session, platform, "POST", "/reminders", reminder("+14155550003", "No")
            )
            now = {"to": "+14155552672", "message": "Now"}
            placed = await call(session, platform, "POST", "/calls", now)
            path = f"/webhooks/subscriptions/{sub['id']}/deliveries?page_size=100"

            async def settled() -> Any:  # ten messages, each answered 200 once and logged
                log = await call(session, platform, "GET", path)
                return log if sum(d["status_code"] == 200 for d in log["items"]) >= 10 else None

            log = await wait_for(settled)
            shown = await call(session, platform, "GET", f"/executions/{placed['id']}")
            ok_shown = await call(session, platform, "GET", f"/reminders/{ok['id']}")
        finally:
            await stop(proc)
    executions = {
        r.id: r.reminder_id for r in ExecutionRow.select() if r.reminder_id in (ok["id"], bad["id"])
    } | {placed["id"]: None}
    expected = Counter(
        [("reminder.completed", ok["id"]), ("reminder.failed", bad["id"])]
        + [
            (kind, eid)
            for eid in executions
            for kind in ("execution.started", "execution.finished")
        ]
    )
    assert len(executions) == 4  # the failing reminder was tried twice
    assert receiver.events() == expected
    assert receiver.rejected == [] and receiver.duplicates == []
    # The events carry the objects exactly as the public API shows them.
    by_kind = {(e["type"], e["data"]["id"]): e["data"] for e in receiver.delivered.values()}
    assert by_kind[("execution.finished", placed["id"])] == shown
    assert by_kind[("reminder.completed", ok["id"])] == ok_shown
    codes = Counter((d["message_id"], d["attempt"], d["status_code"]) for d in log["items"])
    for msg_id in receiver.delivered:
        assert codes[(msg_id, 1, 500)] == 1 and codes[(msg_id, 2, 200)] == 1


async def test_a_process_killed_before_delivery_delivers_after_restart(tmp_path: Path) -> None:
    platform = seed(tmp_path, schedule=",".join(["1"] * 60))
    receiver = Receiver(free_port())
    async with aiohttp.ClientSession() as session:
        proc = await serve(platform, session)
        try:
            sub = await subscribe(session, platform, receiver.port)  # nobody listens there yet
            receiver.secret = sub["secret"]
            ok = await call(session, platform, "POST", "/reminders", reminder("+14155552671", "Ok"))
            await wait_for(lambda: _finished(platform.url))
        finally:
            await stop(proc, signal.SIGKILL)
        async with receiving(receiver):
            proc = await serve(platform, session)
            try:
                await wait_for(lambda: len(receiver.delivered) >= 3)
            finally:
                await stop(proc)
    assert sorted(t for t, _ in receiver.events()) == [
        "execution.finished",
        "execution.started",
        "reminder.completed",
    ]
    assert receiver.events()[("reminder.completed", ok["id"])] == 1
    assert receiver.rejected == [] and receiver.duplicates == []


def _finished(url: str) -> bool:
    """Tell (from a fresh connection) whether an execution reached its final outcome."""
    dc = Dialcues.open(url, migrate=False)
    try:
        return ExecutionRow.select().where(ExecutionRow.status == "completed").exists()
    finally:
        dc.close()


async def test_a_skipped_execution_is_delivered_as_get_shows_it(tmp_path: Path) -> None:
    """responsible-calling.md Done when 26: ``execution.skipped`` carries the execution
    exactly as ``GET /executions/{id}`` shows it (a frequency cap of one a day skips the
    second of two reminders to one number due at once)."""
    from dialcues_core.audit.model import Actor

    platform = seed(tmp_path, schedule="1,1,1")
    dc = Dialcues.open(platform.url)
    org_id = dc.authenticate(platform.key).organization_id
    dc.policies.update(
        org_id, {"frequency_caps": {"per_24h": 1, "per_30d": None}}, actor=Actor("admin", "t")
    )
    dc.close()
    receiver = Receiver(free_port())
    async with aiohttp.ClientSession() as session, receiving(receiver):
        proc = await serve(platform, session)
        try:
            body = {
                "url": f"http://127.0.0.1:{receiver.port}/hook",
                "events": ["execution.skipped"],
            }
            sub = await call(session, platform, "POST", "/webhooks/subscriptions", body)
            receiver.secret = sub["secret"]
            for title in ("First", "Second"):
                await call(session, platform, "POST", "/reminders", reminder("+14155552671", title))
            await wait_for(lambda: receiver.delivered, within=30)
            (event,) = receiver.delivered.values()
            shown = await call(session, platform, "GET", f"/executions/{event['data']['id']}")
        finally:
            await stop(proc)
    assert event["type"] == "execution.skipped"
    assert event["data"] == shown
    assert (shown["status"], shown["skip_reason"], shown["executed_at"]) == (
        "skipped",
        "frequency_cap",
        None,
    )
