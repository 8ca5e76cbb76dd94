"""The whole product on loopback: fake Vapi, the REST app with provider webhooks, dispatchers."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from fakes.vapi_server import FakeVapi, start_fake_vapi
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.dispatch.dispatcher import Dispatcher
from dialcues_core.runtime import Runtime
from dialcues_core.testing import insert_reminders, one_off_reminder
from dialcues_rest.app import create_app, start_rest
from dialcues_rest.provider_events import add_provider_routes

BASE = "/api/public/v1"
VAPI_LINE_NUMBER = "+14155550199"


def free_port() -> int:
    """Return a port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """A running platform: its core, the fake provider, the REST root and a user's key."""

    dc: Dialcues
    vapi: FakeVapi
    root: str
    key: str
    org_id: str
    user_id: str
    line_id: str
    session: aiohttp.ClientSession
    dispatcher: Dispatcher | None = None
    env: dict[str, str] = field(default_factory=dict)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Send one authenticated API request; return status and decoded JSON."""
        headers = {"Authorization": f"Bearer {self.key}"}
        async with self.session.request(
            method, f"{self.root}{BASE}{path}", json=body, headers=headers
        ) as reply:
            text = await reply.text()
            return reply.status, (await reply.json() if text else None)

    async def wait_for(
        self, check: Callable[[], Any], within: float = 8.0, every: float = 0.1
    ) -> Any:
        """Poll ``check`` (sync or async) until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met within {within} s")
            await asyncio.sleep(every)


@asynccontextmanager
async def running_stack(url: str, dispatch: bool = True, **changes: Any) -> AsyncIterator[Stack]:
    """Start fake Vapi, the platform on ``url`` with a Vapi line, REST and (optionally) dispatch."""
    async with start_fake_vapi() as vapi, aiohttp.ClientSession() as session:
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        changes.setdefault("retry_delays", (1, 1))
        dc = Dialcues.open(settings=settings_for(url, public_url=public, **changes))
        org = dc.accounts.create_organization("E2E")
        dc.accounts.set_provider(
            org.id,
            {
                "provider": "vapi",
                "api_key": vapi.api_key,
                "assistant_id": "asst_e2e",
                "webhook_secret": vapi.webhook_secret,
                "base_url": vapi.base_url,
                "concurrency": 500,
            },
        )
        line = dc.accounts.add_line(
            org.id, "vapi", VAPI_LINE_NUMBER, provider_line_id="pn_e2e", label="Vapi", default=True
        )
        user = dc.accounts.create_user(org.id, "e2e@example.com", "E2E")
        key = dc.accounts.create_api_key(user.id).raw
        offloader = dc.offloader(threads=4)
        app = create_app(dc, offloader)
        add_provider_routes(app, dc, offloader)
        runner = await start_rest(app, "127.0.0.1", port)
        stack = Stack(dc, vapi, public, key, org.id, user.id, line.id, session)
        stack.env = worker_env(url, public)
        runtime = Runtime(dc, offloader, dispatch=dispatch)
        await runtime.start()
        stack.dispatcher = runtime.dispatcher
        try:
            yield stack
        finally:
            await runtime.stop_claiming()
            await runner.cleanup()
            await runtime.close()
            offloader.shutdown()
            dc.close()


def worker_env(url: str, public_url: str) -> dict[str, str]:
    """Return the environment of a ``dialcues worker`` process for this stack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update(
        {
            "DIALCUES_DATABASE_URL": url,
            "DIALCUES_PUBLIC_URL": public_url,
            "DIALCUES_RATE_LIMITS": "off",
            "DIALCUES_CALLING_WINDOW": "off",
            "DIALCUES_FREQUENCY_CAPS": "off",
            "DIALCUES_RETRY_DELAYS": "1,1",
            "DIALCUES_LEASE_SECONDS": "3",
            "DIALCUES_LOG_LEVEL": "warning",
        }
    )
    return env


async def start_worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start one ``dialcues worker`` process; its log goes to a temporary file.

    Not a pipe: nobody reads it while the worker runs, and once more than asyncio's buffer
    (2 × 64 KiB) is waiting, asyncio stops reading the pipe, so ``wait()`` would never see its
    end and never return, even after the worker exited (a burst with a killed worker logs a
    warning per reconciled call).
    """
    with tempfile.TemporaryFile() as log:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dialcues_cli.main",
            "worker",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )


def seed_due(stack: Stack, count: int, due: datetime, number: str = "+14155552671") -> None:
    """Insert ``count`` one-off reminders of the stack's user, all due at ``due``."""
    reminder = one_off_reminder(
        stack.user_id, stack.org_id, stack.line_id, due, title="Burst", phone_number=number
    )
    insert_reminders(stack.dc, [reminder] * count)
