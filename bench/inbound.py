"""Inbound calls: ``assistant-request`` latency and the ``external`` hand-off (telephony.md §7).

    .venv/bin/python bench/inbound.py                 # 2,000 rings, 50 concurrent; 50 hand-offs
    .venv/bin/python bench/inbound.py --rings 5000 --concurrency 50 --handoffs 100

Two server subprocesses (the real REST app with the provider routes, the way ``dialcues serve``
builds it; no dispatcher; rate limits off) share one fresh SQLite file. The driver seeds an
organization with a Vapi provider and one routed line per static route (``reminders_readback``
with five reminders to the caller, ``assistant``, ``transfer``, ``message``, ``reject``) and one
``external`` line, then:

1. **Latency** — POSTs ``assistant-request`` messages (a new ``call.id`` each, the routes in
   turn) to server A, ``--concurrency`` in flight, and times each answer (every answer is
   checked: 200 and the route's shape). Target: p99 ≤ 200 ms, none over 1 s.
2. **Hand-off** — rings the ``external`` line on server A (``timeout_ms`` 5000), waits until
   its execution is recorded, answers it through server B (``POST /calls/inbound/answer``) and
   times A's answer from B's 200 (``after_b_answered``: the decision is committed by then) and
   from the moment the answer was sent to B (``from_b_asked``: an upper bound, B's own work
   included): how long the waiting handler takes to see a decision taken in another process
   (it polls the row every 50 ms). Target: ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-webhook-secret"
CALLER = "+14155552671"
ROUTES: dict[str, dict[str, Any]] = {
    "reminders_readback": {"type": "reminders_readback"},
    "assistant": {"type": "assistant", "assistant_id": "asst_bench"},
    "transfer": {"type": "transfer", "number": "+14155552672"},
    "message": {"type": "message", "text": "We are closed today."},
    "reject": {"type": "reject"},
}
EVENTS = "/api/providers/vapi/events"


# ----------------------------------------------------------------------------- servers
def serve(db_url: str) -> None:
    """Serve the app with the provider routes (subprocess entry point); print the port."""
    import logging

    from aiohttp import web

    from dialcues_core import Dialcues
    from dialcues_core.config import Settings
    from dialcues_rest.app import create_app
    from dialcues_rest.provider_events import add_provider_routes

    logging.basicConfig(level="WARNING", stream=open(os.devnull, "w"))  # noqa: SIM115
    dc = Dialcues.open(settings=Settings(database_url=db_url, rate_limits=None))
    offloader = dc.offloader()

    async def run() -> None:
        app = create_app(dc, offloader, record_usage=False)
        add_provider_routes(app, dc, offloader)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(run())


def start(db_url: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def seed(db_url: str) -> tuple[dict[str, str], str]:
    """The organization, its lines (provider id by route) and a user's key."""
    from dialcues_core import Dialcues
    from dialcues_core.config import Settings

    dc = Dialcues.open(settings=Settings(database_url=db_url, rate_limits=None))
    org = dc.accounts.create_organization("Bench Clinic")
    dc.accounts.set_provider(org.id, {"provider": "vapi", "api_key": "k", "webhook_secret": SECRET})
    user = dc.accounts.create_user(org.id, "bench@example.com", "Bench")
    me = dc.as_user(user.id)
    ids: dict[str, str] = {}
    routes = {**ROUTES, "external": {"type": "external", "timeout_ms": 5000}}
    for i, (name, route) in enumerate(routes.items()):
        pid = f"pn_{name}"
        line = dc.accounts.add_line(org.id, "vapi", f"+1415555{i + 100:04d}", provider_line_id=pid)
        dc.lines.update(me, line.id, {"route": route})
        ids[name] = pid
    for hour in range(9, 15):
        dc.reminders.create(me, {
            "title": f"Check-up {hour}", "message": "private", "phone_number": CALLER,
            "timezone": "America/Los_Angeles", "scheduled_at": f"2030-03-25T{hour:02d}:00:00",
        })  # fmt: skip
    key = dc.accounts.create_api_key(user.id).raw
    dc.close()
    return ids, key


def ring_body(line_id: str, call_id: str) -> bytes:
    message = {
        "type": "assistant-request",
        "call": {"id": call_id, "type": "inboundPhoneCall", "phoneNumberId": line_id,
                 "customer": {"number": CALLER}, "status": "ringing"},
        "customer": {"number": CALLER},
    }  # fmt: skip
    return json.dumps({"message": message}).encode()


EXPECTED = {
    "reminders_readback": "assistant",
    "assistant": "assistantId",
    "transfer": "destination",
    "message": "error",
    "reject": "error",
}


# ----------------------------------------------------------------------------- measures
async def latency(port: int, ids: dict[str, str], rings: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    names = list(ROUTES)
    times: dict[str, list[float]] = {name: [] for name in names}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(rings):
        queue.put_nowait(i)
    url = f"http://127.0.0.1:{port}{EVENTS}"
    headers = {"x-vapi-secret": SECRET, "Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            name = names[i % len(names)]
            body = ring_body(ids[name], str(uuid.uuid4()))
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as reply:
                answer = await reply.json()
            times[name].append(time.perf_counter() - started)
            assert reply.status == 200 and EXPECTED[name] in answer, (name, reply.status, answer)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    every = sorted(t for ts in times.values() for t in ts)
    return {"all": summary(every), **{n: summary(sorted(ts)) for n, ts in times.items()}}


async def handoff(a: int, b: int, ids: dict[str, str], key: str, count: int) -> dict[str, Any]:
    import aiohttp

    gaps: list[float] = []
    spans: list[float] = []
    headers = {"x-vapi-secret": SECRET, "Content-Type": "application/json"}
    auth = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            call_id = str(uuid.uuid4())
            body = ring_body(ids["external"], call_id)
            ringing = asyncio.ensure_future(
                session.post(f"http://127.0.0.1:{a}{EVENTS}", data=body, headers=headers)
            )
            await asyncio.sleep(0.15)  # the execution is recorded; the handler waits
            answer = {"call_id": call_id, "route": {"type": "message", "text": "Decided."}}
            asked = time.perf_counter()
            async with session.post(
                f"http://127.0.0.1:{b}/api/public/v1/calls/inbound/answer",
                json=answer,
                headers=auth,
            ) as reply:
                assert reply.status == 200, await reply.text()
            decided = time.perf_counter()
            response = await ringing
            got = await response.json()
            gaps.append(time.perf_counter() - decided)
            spans.append(time.perf_counter() - asked)
            assert got == {"error": "Decided."}, got
    return {"after_b_answered": summary(sorted(gaps)), "from_b_asked": summary(sorted(spans))}


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {}
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
        "max_ms": round(ms[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--rings", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--handoffs", type=int, default=50)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/inbound.db"
        ids, key = seed(url)
        (pa, a), (pb, b) = start(url), start(url)
        try:
            loop = asyncio.new_event_loop()
            warm = loop.run_until_complete(latency(a, ids, 200, args.concurrency))
            result = loop.run_until_complete(latency(a, ids, args.rings, args.concurrency))
            hand = loop.run_until_complete(handoff(a, b, ids, key, args.handoffs))
        finally:
            for proc in (pa, pb):
                proc.terminate()
                proc.wait()
    print(json.dumps({"warm_up": warm["all"], "latency": result, "handoff": hand}, indent=1))


if __name__ == "__main__":
    main()
