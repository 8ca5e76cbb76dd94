"""The asyncio webhook deliverer against a real receiver on loopback and a real database.

The receiver is an aiohttp server on ``127.0.0.1``; each subscription points at its own path
(``/hook/<name>``), and a path can be told to hang or to answer slowly. Messages are put in
the outbox directly (the writing side is tested in ``test_webhooks.py``); the platform runs on
the system clock and allows private targets, except where a test says otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.http.webhook_sender import PRIVATE_REFUSED, WebhookDeliverer
from dialcues_core.adapters.peewee.tables import WebhookDeliveryRow, WebhookOutboxRow
from dialcues_core.adapters.peewee.webhooks import PeeweeOutboxStore
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.webhooks.delivery import Deliveries
from dialcues_core.webhooks.model import NewMessage


@dataclass
class Receiver:
    """Counts every message it is sent, per path; some paths hang or answer slowly."""

    hang: set[str] = field(default_factory=set)
    delay: dict[str, float] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    arrived: dict[str, float] = field(default_factory=dict)
    busy: Counter[str] = field(default_factory=Counter)
    most_busy: Counter[str] = field(default_factory=Counter)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    def url(self, name: str) -> str:
        """The URL of one path."""
        return f"http://127.0.0.1:{self.port}/hook/{name}"

    async def handle(self, request: web.Request) -> web.Response:
        """Take one attempt: count it, hang or wait as the path says, answer 204."""
        name = request.match_info["name"]
        self.counts[request.headers["webhook-id"]] += 1
        self.arrived.setdefault(request.headers["webhook-id"], time.monotonic())
        self.busy[name] += 1
        self.most_busy[name] = max(self.most_busy[name], self.busy[name])
        try:
            if name in self.hang:
                await self.released.wait()
            await asyncio.sleep(self.delay.get(name, 0))
        finally:
            self.busy[name] -= 1
        return web.Response(status=204)


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """Serve a :class:`Receiver` on a free loopback port until the block ends."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook/{name}", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.port = runner.addresses[0][1]
    try:
        yield receiver
    finally:
        receiver.released.set()
        await runner.cleanup()


def open_platform(url: str) -> Dialcues:
    """The platform on the system clock, allowing loopback receivers."""
    return Dialcues.open(settings=settings_for(url, webhooks_allow_private=True))


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file."""
    platform = open_platform(sqlite_url)
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One organization with one user."""
    return make_tenant(dc)


def subscribe(dc: Dialcues, tenant: Tenant, url: str) -> str:
    """Subscribe the tenant's user to ``execution.started`` at ``url``; return its id."""
    payload = {"url": url, "events": ["execution.started"]}
    return dc.webhooks.create(tenant.principal, payload).subscription.id


def enqueue(dc: Dialcues, subscription_ids: list[str]) -> list[str]:
    """Put one message per entry in the outbox, due now; return the message ids."""
    now = dc.clock.now()
    messages = [
        NewMessage(generate_id("msg"), sid, "execution.started", json.dumps({"n": n}), now)
        for n, sid in enumerate(subscription_ids)
    ]
    with dc.transactions.atomic():
        PeeweeOutboxStore(dc.db).enqueue(messages)
    return [m.message_id for m in messages]


@asynccontextmanager
async def delivering(
    dc: Dialcues, allow_private: bool = True, calls: Counter[str] | None = None
) -> AsyncIterator[WebhookDeliverer]:
    """Run a deliverer (with its own thread pool) until the block ends, then stop it.

    With ``calls``, every database call the deliverer offloads is counted there by name.
    """
    pool = dc.offloader(threads=4)

    async def offload(fn: Any, *args: Any) -> Any:
        if calls is not None:
            calls[getattr(fn, "__name__", "?")] += 1
        return await pool.run(fn, *args)

    deliveries = Deliveries(PeeweeOutboxStore(dc.db), dc.transactions, dc.clock, (1, 1, 1))
    deliverer = WebhookDeliverer(deliveries, offload, dc.clock, allow_private)
    task = asyncio.create_task(deliverer.run())
    try:
        yield deliverer
    finally:
        await deliverer.stop()
        await asyncio.wait_for(task, 10)
        await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)


async def eventually(check: Any, within: float) -> None:
    """Wait until ``check()`` is true, polling every 0.05 s; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"not within {within} s"
        await asyncio.sleep(0.05)


def settled(dc: Dialcues) -> int:
    """How many messages are delivered (read on a connection of this thread)."""
    try:
        return WebhookOutboxRow.select().where(WebhookOutboxRow.status == "delivered").count()
    finally:
        dc.db.close()


@pytest.mark.postgres
async def test_two_deliverers_on_postgresql_deliver_every_message_once_and_log_it(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    dc = open_platform(postgres_url)
    try:
        tenant = make_tenant(dc)
        async with receiving() as receiver:
            subs = [subscribe(dc, tenant, receiver.url(f"s{i}")) for i in range(4)]
            targets = [random.choice(subs) for _ in range(1500)]
            ids = enqueue(dc, targets)
            async with delivering(dc), delivering(dc):
                await eventually(lambda: settled(dc) == len(ids), within=40)
        logged = Counter(r.message_id for r in WebhookDeliveryRow.select())
    finally:
        dc.close()
    assert sorted(receiver.counts) == sorted(ids)
    assert set(receiver.counts.values()) == {1}
    assert logged == Counter(ids)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_receiver_that_hangs_does_not_delay_another_subscription(
    dc: Dialcues, tenant: Tenant
) -> None:
    async with receiving() as receiver:
        receiver.hang.add("slow")
        slow, fast = (
            subscribe(dc, tenant, receiver.url("slow")),
            subscribe(dc, tenant, receiver.url("fast")),
        )
        async with delivering(dc):
            enqueue(dc, [slow] * 6)
            await eventually(lambda: len(receiver.counts) >= 4, within=2)
            sent = time.monotonic()
            quick = enqueue(dc, [fast] * 3)
            await eventually(lambda: all(m in receiver.arrived for m in quick), within=2)
            waited = max(receiver.arrived[m] for m in quick) - sent
            assert waited < 1.5
            assert receiver.most_busy["slow"] == 4  # at most four in flight per subscription
            receiver.released.set()


async def test_a_slow_receiver_gets_each_message_once_four_at_a_time(
    dc: Dialcues, tenant: Tenant
) -> None:
    async with receiving() as receiver:
        receiver.delay["slow"] = 0.2
        ids = enqueue(dc, [subscribe(dc, tenant, receiver.url("slow"))] * 20)
        async with delivering(dc):
            await eventually(lambda: settled(dc) == len(ids), within=10)
    assert receiver.counts == Counter(ids)
    assert receiver.most_busy["slow"] == 4


async def test_a_disabled_subscription_with_pending_messages_does_not_spin_the_loop(
    dc: Dialcues, tenant: Tenant
) -> None:
    async with receiving() as receiver:
        sid = subscribe(dc, tenant, receiver.url("off"))
        dc.webhooks.update(tenant.principal, sid, {"enabled": False})
        (message,) = enqueue(dc, [sid])
        calls: Counter[str] = Counter()
        async with delivering(dc, calls=calls):
            await asyncio.sleep(1.0)
            assert sum(calls.values()) < 20, calls  # a few polls, not a busy loop
            dc.webhooks.update(tenant.principal, sid, {"enabled": True})
            await eventually(lambda: receiver.counts[message] == 1, within=3)


async def test_a_name_refused_as_private_is_logged_with_the_reason(
    dc: Dialcues, tenant: Tenant
) -> None:
    async with receiving() as receiver:
        sid = subscribe(dc, tenant, f"http://localhost:{receiver.port}/hook/local")
        enqueue(dc, [sid])
        async with delivering(dc, allow_private=False):
            await eventually(lambda: _logged(dc) > 0, within=5)
        page = dc.webhooks.deliveries(tenant.principal, sid, {})
    assert receiver.counts == Counter()
    assert [(d.status_code, d.error) for d in page.items] == [(None, PRIVATE_REFUSED)]


def _logged(dc: Dialcues) -> int:
    try:
        return WebhookDeliveryRow.select().count()
    finally:
        dc.db.close()
