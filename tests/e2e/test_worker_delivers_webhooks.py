"""A ``dialcues worker`` beside ``dialcues serve --no-dispatcher`` dials and delivers webhooks.

Three processes' worth of real parts on one SQLite file: ``serve --no-dispatcher`` (REST and
the provider webhook route, but neither dispatcher nor webhook deliverer), a separate
``worker`` (dispatcher and deliverer), the fake Vapi the worker dials (it reports the call's
end to serve's provider route) and an aiohttp receiver that answers 500 to each message's
first attempt and verifies the retry with ``standardwebhooks``. Serve alone dials nothing;
with the worker stopped between the refused attempts and their retries, nothing is retried.
The retry waits 2 s (± 10 % jitter): ``webhook-timestamp`` has whole seconds, so a 1 s wait
could land in the same second.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.vapi_server import FakeVapi, start_fake_vapi
from standardwebhooks import Webhook

from dialcues_core import Dialcues
from e2e.support import BASE, VAPI_LINE_NUMBER, free_port
from e2e.test_webhook_delivery import stop, wait_for

pytestmark = pytest.mark.slow
EVENTS = ["execution.started", "execution.finished"]


@dataclass
class Receiver:
    """Every attempt's ``webhook-id`` and ``webhook-timestamp``; verified retries kept."""

    port: int
    secret: str = ""
    attempts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    verified: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        """500 to a message's first attempt; verify any later one and answer 200."""
        body = await request.read()
        msg_id = request.headers["webhook-id"]
        self.attempts[msg_id].append(request.headers["webhook-timestamp"])
        if len(self.attempts[msg_id]) == 1:
            return web.Response(status=500)
        self.verified[msg_id] = Webhook(self.secret).verify(body, dict(request.headers))
        return web.Response(status=200)


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[None]:
    """Serve ``receiver`` on ``POST /hook`` until the block ends."""
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield
    finally:
        await runner.cleanup()


def seed(db: Path, vapi: FakeVapi) -> str:
    """Create a tenant whose default line is on the fake Vapi; return its API key."""
    dc = Dialcues.open(f"sqlite:///{db}")
    try:
        org = dc.accounts.create_organization("Workers")
        dc.accounts.set_provider(
            org.id,
            {
                "provider": "vapi",
                "api_key": vapi.api_key,
                "assistant_id": "asst_w",
                "webhook_secret": vapi.webhook_secret,
                "base_url": vapi.base_url,
            },
        )
        dc.accounts.add_line(org.id, "vapi", VAPI_LINE_NUMBER, provider_line_id="pn_w")
        user = dc.accounts.create_user(org.id, "w@example.com", "W")
        return dc.accounts.create_api_key(user.id).raw
    finally:
        dc.close()


def environment(db: Path, rest_port: int) -> dict[str, str]:
    """The environment both processes share."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update(
        {
            "DIALCUES_DATABASE_URL": f"sqlite:///{db}",
            "DIALCUES_PUBLIC_URL": f"http://127.0.0.1:{rest_port}",
            "DIALCUES_REST_PORT": str(rest_port),
            "DIALCUES_GRPC_PORT": str(free_port()),
            "DIALCUES_RATE_LIMITS": "off",
            "DIALCUES_CALLING_WINDOW": "off",
            "DIALCUES_FREQUENCY_CAPS": "off",
            "DIALCUES_WEBHOOKS_ALLOW_PRIVATE": "1",
            "DIALCUES_WEBHOOK_RETRY_SCHEDULE": "2,2",
            "DIALCUES_LOG_LEVEL": "warning",
        }
    )
    return env


async def launch(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """Start ``dialcues <args>``."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialcues_cli.main", *args, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def api(session: aiohttp.ClientSession, root: str, key: str, path: str, body: Any) -> Any:
    """POST ``body``; assert success and return the JSON reply."""
    headers = {"Authorization": f"Bearer {key}"}
    async with session.post(f"{root}{BASE}{path}", json=body, headers=headers) as reply:
        assert reply.status < 300, await reply.text()
        return await reply.json()


async def healthy(session: aiohttp.ClientSession, root: str) -> bool:
    """Tell whether the server at ``root`` answers ``/healthz`` with 200."""
    try:
        async with session.get(f"{root}/healthz") as reply:
            return reply.status == 200
    except aiohttp.ClientError:
        return False


async def test_the_worker_dials_a_placed_call_and_delivers_its_events(tmp_path: Path) -> None:
    db, rest_port, receiver = tmp_path / "w.db", free_port(), Receiver(free_port())
    root = f"http://127.0.0.1:{rest_port}"
    async with start_fake_vapi() as vapi, aiohttp.ClientSession() as session, receiving(receiver):
        key, env = seed(db, vapi), environment(db, rest_port)
        server = await launch(env, "serve", "--no-dispatcher")
        worker = None
        try:
            await wait_for(lambda: healthy(session, root), within=20)
            hook = {"url": f"http://127.0.0.1:{receiver.port}/hook", "events": EVENTS}
            subscription = await api(session, root, key, "/webhooks/subscriptions", hook)
            receiver.secret = subscription["secret"]
            call = {"to": "+14155552671", "message": "Hi"}
            placed = await api(session, root, key, "/calls", call)
            await asyncio.sleep(2)  # serve alone neither dials nor delivers
            assert (vapi.calls, dict(receiver.attempts)) == ([], {})
            worker = await launch(env, "worker")
            await wait_for(lambda: len(receiver.attempts) == 2, within=30)  # both refused
            await stop(worker)
            await asyncio.sleep(3)  # the retries fall due: serve alone does not send them
            assert [len(stamps) for stamps in receiver.attempts.values()] == [1, 1]
            worker = await launch(env, "worker")
            await wait_for(lambda: len(receiver.verified) == 2, within=30)
        finally:
            for proc in (worker, server):
                if proc is not None:
                    await stop(proc)
    assert len(vapi.calls) == 1
    events = {event["type"]: event["data"] for event in receiver.verified.values()}
    assert sorted(events) == sorted(EVENTS)
    assert {data["id"] for data in events.values()} == {placed["id"]}
    assert events["execution.finished"]["status"] == "completed"
    assert len(receiver.attempts) == 2  # each retry kept its message's webhook-id
    for msg_id, stamps in receiver.attempts.items():
        assert len(stamps) == 2 and stamps[0] != stamps[1], (msg_id, stamps)
