"""Numbers across processes and crashes (``telephony.md`` §2, "Done when" items 3, 10 and 11).

- Item 3 again across two ``dialcues serve`` processes on PostgreSQL: one hold wins.
- Item 10 (fake): a ``dialcues serve`` process assigning a Telnyx number is killed
  (``SIGKILL``) after ``POST /number_orders``, after ``ordered``, and after ``POST
  /phone-number``; a platform restarted on the same database resumes the assign, and the
  carrier saw one order and Vapi one import. Each kill lands at a known point because the
  next request hangs: the fake Telnyx's ``DONE_THEN_HANG`` on the order, :class:`VapiGate`
  holding Vapi's ``GET /phone-number`` (the lookup that follows ``ordered``), and the fake
  Vapi's ``HANG_PLACED`` on the import. The restarted platform's clock is past the dead
  process's 60 s lease, as the one taking over would be a minute later.
- Item 11 (fake): an order whose answer is lost is found again by its ``customer_reference``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.telnyx_server import FakeTelnyx, Fault, start_fake_telnyx
from fakes.vapi_server import Failure, FakeVapi, start_fake_vapi
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.numbers.provisioning import LEASE
from e2e.support import BASE, free_port
from e2e.test_numbers import (
    KEY_A,
    KEY_B,
    JumpClock,
    N,
    Org,
    Reply,
    assert_one_winner,
    number_stack,
    running_platform,
    seed_orgs,
)

pytestmark = pytest.mark.slow


# ----------------------------------------------------------------------------- a Vapi gate
@dataclass
class VapiGate:
    """A pass-through in front of the fake Vapi that can hold ``GET /phone-number`` open.

    While ``holding``, that lookup (the first thing the provisioner asks Vapi after
    ``ordered``) gets no answer, so the process asking is stopped there to be killed.
    """

    target: str
    url: str = ""
    holding: bool = False
    held: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Hold the lookup, or forward the request as it came."""
        if self.holding and request.method == "GET" and request.path == "/phone-number":
            self.held += 1
            await self.released.wait()
            return web.Response(status=503)
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self.session.request(
            request.method,
            self.target + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as answer:
            body = await answer.read()
            kept = {"Content-Type": answer.headers.get("Content-Type", "application/json")}
            return web.Response(status=answer.status, body=body, headers=kept)


@asynccontextmanager
async def vapi_gate(vapi: FakeVapi) -> AsyncIterator[VapiGate]:
    """Serve a :class:`VapiGate` in front of ``vapi`` until the block ends."""
    gate = VapiGate(vapi.base_url)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", gate.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    gate.url = f"http://{host}:{port}"
    gate.session = aiohttp.ClientSession()
    try:
        yield gate
    finally:
        gate.released.set()
        await gate.session.close()
        await runner.cleanup()


# ----------------------------------------------------------------------------- serve processes
@dataclass
class Served:
    """One ``dialcues serve`` process and its REST root."""

    proc: asyncio.subprocess.Process
    root: str


@asynccontextmanager
async def serving(url: str, *, dispatch: bool) -> AsyncIterator[Served]:
    """Run ``dialcues serve`` on ``url`` until the block ends (or the test kills it)."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update(
        DIALCUES_DATABASE_URL=url,
        DIALCUES_PUBLIC_URL=root,
        DIALCUES_RATE_LIMITS="off",
        DIALCUES_CALLING_WINDOW="off",
        DIALCUES_FREQUENCY_CAPS="off",
        DIALCUES_SIMULATED_DELAY="0.05",
        DIALCUES_LOG_LEVEL="warning",
    )
    args = ["--rest-port", str(port), "--grpc-port", str(free_port())]
    args += [] if dispatch else ["--no-dispatcher"]
    with tempfile.TemporaryFile() as log:  # not a pipe: nobody reads it while it runs
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "dialcues_cli.main", "serve", *args),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
        try:
            await until_healthy(root, proc)
            yield Served(proc, root)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()


async def until_healthy(root: str, proc: asyncio.subprocess.Process) -> None:
    """Wait until the process answers ``/healthz``."""
    async with aiohttp.ClientSession() as session, asyncio.timeout(30):
        while True:
            assert proc.returncode is None, "dialcues serve exited"
            try:
                async with session.get(f"{root}/healthz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


async def call(
    session: aiohttp.ClientSession, root: str, org: Org, method: str, path: str, body: Any = None
) -> Reply:
    """Send one request to a served process as ``org``'s user."""
    headers = {"Authorization": f"Bearer {org.key}"}
    async with session.request(method, f"{root}{BASE}{path}", json=body, headers=headers) as r:
        text = await r.text()
        return Reply(r.status, await r.json() if text else None, dict(r.headers))


def seed(url: str, vapi: FakeVapi, telnyx: FakeTelnyx | None, vapi_url: str | None = None) -> Any:
    """Seed the three organizations on ``url`` (the processes open it afterwards)."""
    dc = Dialcues.open(settings=settings_for(url))
    try:
        return seed_orgs(dc, vapi, telnyx, vapi_url)
    finally:
        dc.close()


async def wait_until(check: Any, within: float = 15.0) -> None:
    """Poll ``check()`` every 20 ms until it is truthy (at most ``within`` seconds)."""
    for _ in range(int(within / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not reached within {within} s")


# ----------------------------------------------------------------------------- item 3
@pytest.mark.parametrize("carrier", ["simulated", "telnyx"])
async def test_3_two_server_processes_on_postgres_grant_one_hold(
    postgres_url: str, carrier: str
) -> None:
    telnyx = await start_fake_telnyx(api_keys=(KEY_A, KEY_B)) if carrier == "telnyx" else None
    try:
        async with start_fake_vapi() as vapi, aiohttp.ClientSession() as session:
            orgs, _ = seed(postgres_url, vapi, telnyx)
            async with (
                serving(postgres_url, dispatch=False) as one,
                serving(postgres_url, dispatch=False) as two,
            ):
                roots = [one.root, two.root]
                names = ["alpha" if i % 2 == 0 else "bravo" for i in range(50)]
                hold = {"number": f"{N}0101"}
                replies = await asyncio.gather(
                    *(
                        call(
                            session, roots[(i // 2) % 2], orgs[name], "POST", "/numbers/hold", hold
                        )
                        for i, name in enumerate(names)
                    )
                )
    finally:
        if telnyx is not None:
            await telnyx.close()

    assert_one_winner(list(zip(names, replies, strict=True)))
    if telnyx is not None:
        assert len(telnyx.requests_to("POST", "/number_reservations")) == 1


# ----------------------------------------------------------------------------- item 10
@pytest.mark.parametrize("killed_after", ["number_order", "ordered", "phone_number_import"])
async def test_10_fake_an_assign_killed_midway_resumes_with_one_order_and_one_import(
    sqlite_url: str, killed_after: str
) -> None:
    number = f"{N}0110"
    clock = JumpClock()
    telnyx = await start_fake_telnyx(api_keys=(KEY_A, KEY_B), clock=clock.now)
    try:
        async with (
            start_fake_vapi() as vapi,
            vapi_gate(vapi) as gate,
            aiohttp.ClientSession() as session,
        ):
            seeded = seed(sqlite_url, vapi, telnyx, vapi_url=gate.url)
            alpha = seeded[0]["alpha"]
            async with serving(sqlite_url, dispatch=True) as served:
                hold = {"number": number}
                held = await call(session, served.root, alpha, "POST", "/numbers/hold", hold)
                assert held.status == 201, held.body
                arm(killed_after, telnyx, vapi, gate)
                path = f"/numbers/{number}/assign"
                assigned = await call(session, served.root, alpha, "POST", path)
                assert assigned.status == 202, assigned.body
                await wait_until(lambda: reached(killed_after, telnyx, vapi, gate))
                served.proc.send_signal(signal.SIGKILL)
                await served.proc.wait()
            gate.holding = False
            clock.advance(LEASE.total_seconds() + 1)  # the dead process's lease is over
            async with running_platform(
                sqlite_url, "telnyx", clock, vapi, telnyx, session, seeded
            ) as stack:
                active = await stack.settled("alpha", number, "active", "failed", within=30)
                lines = await stack.lines("alpha")
            imports = [r for r in vapi.number_requests if r.method == "POST"]
            imported = [n["id"] for n in vapi.phone_numbers if n["number"] == number]
    finally:
        await telnyx.close()

    assert active["status"] == "active", active
    assert len(telnyx.requests_to("POST", "/number_orders")) == 1
    assert len(imports) == 1 and len(imported) == 1
    mine = [line for line in lines if line["phone_number"] == number]
    assert len(mine) == 1, lines
    assert mine[0]["id"] == active["line_id"]
    if killed_after == "number_order":  # found again by its reference, not ordered again
        (order,) = telnyx.requests_to("POST", "/number_orders")
        reference = order.json["customer_reference"]
        lookups = telnyx.requests_to("GET", "/number_orders")
        assert any(r.query.get("filter[customer_reference]") == reference for r in lookups)


def arm(point: str, telnyx: FakeTelnyx, vapi: FakeVapi, gate: VapiGate) -> None:
    """Make the request after ``point`` hang, so the process is killed right there."""
    if point == "number_order":
        telnyx.fail_next(Fault.DONE_THEN_HANG, method="POST", path="/number_orders")
    elif point == "ordered":
        gate.holding = True
    else:
        vapi.fail_next_import(Failure.HANG_PLACED)


def reached(point: str, telnyx: FakeTelnyx, vapi: FakeVapi, gate: VapiGate) -> bool:
    """Tell whether the process is stopped at ``point``."""
    if point == "number_order":
        return bool(telnyx.requests_to("POST", "/number_orders"))
    if point == "ordered":
        return gate.held > 0
    return any(r.method == "POST" for r in vapi.number_requests)


# ----------------------------------------------------------------------------- item 11
async def test_11_fake_an_order_whose_answer_is_lost_is_found_by_its_reference(
    sqlite_url: str,
) -> None:
    number = f"{N}0111"
    async with number_stack(sqlite_url, "telnyx") as stack:
        assert stack.telnyx is not None
        stack.telnyx.fail_next(Fault.DONE_THEN_DROP, method="POST", path="/number_orders")
        assert (await stack.hold("alpha", number)).status == 201
        assigned = await stack.call("alpha", "POST", f"/numbers/{number}/assign")
        active = await stack.settled("alpha", number, "active", "failed", within=30)
        lines = await stack.lines("alpha")
        orders = stack.telnyx.requests_to("POST", "/number_orders")
        lookups = stack.telnyx.requests_to("GET", "/number_orders")

    assert assigned.status == 202, assigned.body
    assert active["status"] == "active", active
    (order,) = orders
    assert order.status is None  # the answer was lost
    reference = order.json["customer_reference"]
    assert reference.startswith("ord_")
    assert any(r.query.get("filter[customer_reference]") == reference for r in lookups)
    assert [line["phone_number"] for line in lines].count(number) == 1
