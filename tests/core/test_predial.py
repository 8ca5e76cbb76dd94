"""The pre-dial eligibility hook (responsible-calling.md section 12, Done when 25): a real
aiohttp server on loopback stands in for the organization's hook; the real dispatcher, the
simulated dialer and the real clock run the attempts.

Every request the hook receives is verified with ``standardwebhooks`` (the secret the policy
change returned, shown once).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import WebhookOutboxRow
from dialcues_core.audit.model import Actor
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.dispatch.dispatcher import Dispatcher
from dialcues_core.reminders.model import Reminder, ReminderStatus

Handler = Callable[[dict[str, Any]], Awaitable[web.StreamResponse]]


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The platform, hooks on loopback allowed, retries of failed attempts after 1 s."""
    platform = Dialcues.open(
        settings=settings_for(
            sqlite_url, webhooks_allow_private=True, retry_delays=(1,), simulated_delay=0.05
        )
    )
    yield platform
    platform.close()


@asynccontextmanager
async def running(dc: Dialcues, poll_seconds: float = 0.2) -> AsyncIterator[Dispatcher]:
    """Run the platform's dispatcher (with its HTTP pre-dial client) until the block ends."""
    offloader = dc.offloader(threads=4)
    dispatcher = dc.dispatcher(offloader)
    dispatcher.poll_seconds = poll_seconds
    task = asyncio.create_task(dispatcher.run())
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()
        await asyncio.wait_for(task, 10)
        offloader.shutdown()


def seconds_ahead(seconds: float) -> str:
    """The first whole second at least ``seconds`` from now, as an ISO instant."""
    moment = math.ceil(time.time() + seconds)
    return datetime.fromtimestamp(moment, tz=UTC).isoformat().replace("+00:00", "Z")


class Hook:
    """A hook server: records verified requests, answers with ``handler``."""

    def __init__(self) -> None:
        self.secret = ""
        self.requests: list[dict[str, Any]] = []
        self.handler: Handler = lambda _: _json({"allow": True})
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Serve on 127.0.0.1:0."""
        app = web.Application()
        app.router.add_post("/predial", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/predial"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        event = Webhook(self.secret).verify(body, dict(request.headers))
        self.requests.append(event)
        return await self.handler(event)


def _json(body: object, status: int = 200) -> Awaitable[web.StreamResponse]:
    async def answer() -> web.StreamResponse:
        return web.json_response(body, status=status)

    return answer()


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    """A running hook server."""
    server = Hook()
    await server.start()
    yield server
    await server.stop()


def with_hook(dc: Dialcues, tenant: Tenant, hook: Hook, **predial: Any) -> None:
    """Set the organization's pre-dial hook; keep the secret shown once."""
    view = dc.policies.update(
        tenant.org.id,
        {"predial": {"url": hook.url, "timeout_ms": 2000, "on_failure": "skip", **predial}},
        actor=Actor("admin", "test"),
    )
    assert view.predial_secret is not None
    hook.secret = view.predial_secret


def remind(dc: Dialcues, tenant: Tenant, phone: str = "+14155550123") -> Reminder:
    """A one-off due in about a second."""
    return dc.reminders.create(
        tenant.principal,
        {
            "title": "Dose",
            "message": "Take it",
            "phone_number": phone,
            "timezone": "UTC",
            "scheduled_at": seconds_ahead(0.5),
        },
    )


def executions(dc: Dialcues, tenant: Tenant, r: Reminder) -> list[Execution]:
    """The reminder's executions, oldest first."""
    page = dc.executions.list(tenant.principal, {"reminder_id": str(r.id)})
    return sorted(page.items, key=lambda e: e.id)


async def settle(dc: Dialcues, tenant: Tenant, r: Reminder, seconds: float = 8) -> Reminder:
    """Wait until the reminder is no longer scheduled or in progress."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        current = dc.reminders.get(tenant.principal, r.id)
        if current.status not in (ReminderStatus.SCHEDULED, ReminderStatus.IN_PROGRESS):
            return current
        await asyncio.sleep(0.05)
    raise AssertionError("the reminder did not settle")


def events_of(execution_id: int) -> list[str]:
    """The webhook event types written for an execution (any subscription)."""
    rows = WebhookOutboxRow.select()
    return [r.event_type for r in rows if json.loads(r.body)["data"].get("id") == execution_id]


async def test_an_allowed_attempt_is_dialed_and_the_request_carries_both_objects(
    dc: Dialcues, hook: Hook
) -> None:
    tenant = make_tenant(dc)
    with_hook(dc, tenant, hook)
    answered: list[datetime] = []

    async def slowly_allow(_: dict[str, Any]) -> web.StreamResponse:
        await asyncio.sleep(0.3)
        answered.append(datetime.now(UTC))
        return web.json_response({"allow": True})

    hook.handler = slowly_allow
    r = remind(dc, tenant)
    async with running(dc):
        done = await settle(dc, tenant, r)
    assert done.status is ReminderStatus.COMPLETED
    (run,) = executions(dc, tenant, r)
    assert run.status is ExecutionStatus.COMPLETED
    assert run.executed_at is not None and run.executed_at >= answered[0] - timedelta(
        milliseconds=5
    )  # placed once the hook let it through: the hook's time counts in its lateness
    (request,) = hook.requests
    assert request["type"] == "attempt.predial"
    assert request["data"]["execution"]["id"] == run.id
    assert request["data"]["execution"]["status"] == "in_progress"
    assert request["data"]["reminder"]["id"] == r.id


async def test_a_veto_skips_with_the_reason_and_no_started_event(dc: Dialcues, hook: Hook) -> None:
    tenant = make_tenant(dc)
    dc.webhooks.create(
        tenant.principal,
        {
            "url": hook.url.replace("/predial", "/events"),
            "events": ["execution.started", "execution.skipped"],
        },
    )
    with_hook(dc, tenant, hook)
    hook.handler = lambda _: _json({"allow": False, "reason": "Patient discharged"})
    r = remind(dc, tenant)
    async with running(dc):
        done = await settle(dc, tenant, r)
    assert done.status is ReminderStatus.FAILED
    (run,) = executions(dc, tenant, r)
    assert (run.status, run.skip_reason, run.executed_at) == (
        ExecutionStatus.SKIPPED,
        "vetoed",
        None,
    )
    assert run.error_message == "Vetoed by the pre-dial check: Patient discharged"
    assert events_of(run.id) == ["execution.skipped"]


async def test_a_timeout_with_on_failure_skip_is_predial_unavailable_then_retried(
    dc: Dialcues, hook: Hook
) -> None:
    tenant = make_tenant(dc)
    with_hook(dc, tenant, hook, timeout_ms=300)
    calls = 0

    async def slow_then_allow(_: dict[str, Any]) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(1)
        return web.json_response({"allow": True})

    hook.handler = slow_then_allow
    r = remind(dc, tenant)
    async with running(dc, poll_seconds=0.1):
        done = await settle(dc, tenant, r)
    first, second = executions(dc, tenant, r)
    assert (first.status, first.skip_reason, first.attempt) == (
        ExecutionStatus.SKIPPED,
        "predial_unavailable",
        1,
    )
    assert (second.status, second.attempt) == (ExecutionStatus.COMPLETED, 2)
    assert done.status is ReminderStatus.COMPLETED


async def test_an_unusable_answer_with_on_failure_allow_dials(dc: Dialcues, hook: Hook) -> None:
    tenant = make_tenant(dc)
    with_hook(dc, tenant, hook, on_failure="allow")
    hook.handler = lambda _: _json({"ok": True}, status=200)  # no boolean allow
    r = remind(dc, tenant)
    async with running(dc):
        done = await settle(dc, tenant, r)
    assert done.status is ReminderStatus.COMPLETED
    assert [e.status for e in executions(dc, tenant, r)] == [ExecutionStatus.COMPLETED]
