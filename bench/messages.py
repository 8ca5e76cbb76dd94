"""Messages: ``POST /messages`` beside ``POST /calls``, and the Telnyx webhook (telephony.md §7).

    .venv/bin/python bench/messages.py                      # 2,000 of each, 50 concurrent
    .venv/bin/python bench/messages.py --requests 5000 --events 5000 --concurrency 50

One server subprocess (the real REST app with the provider routes, as ``dialcues serve`` builds
it; no dispatcher and no sender, so only the API's own work is timed; rate limits off) on a
fresh SQLite file. The driver seeds an organization with a simulated SMS line (the default), a
template, an ``express`` consent for each recipient, and Telnyx carrier settings whose webhook
key it holds, then:

1. **Writes** — ``POST /messages`` and ``POST /calls`` (the same recipients, each write to its
   own number: calls have frequency caps) in alternating rounds of ``--round`` requests,
   ``--concurrency`` in flight; requests per second of each, and their ratio. Target: messages
   ≥ 80 % of calls.
2. **Webhook** — signed ``message.finalized`` events (Ed25519 over ``{timestamp}|{body}``), one
   per seeded ``sending`` message, ``--concurrency`` in flight, each answer timed and checked
   (exactly 200). Target: every answer within 2 s; p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
LINE = "+14155550142"


def number(i: int) -> str:
    """The i-th recipient: valid NANP numbers, none magic."""
    return f"+1212{200 + i // 10000:03d}{i % 10000:04d}"


# ----------------------------------------------------------------------------- server
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


# ----------------------------------------------------------------------------- seed
def seed(db_url: str, recipients: int, events: int) -> dict[str, Any]:
    """The organization, its line, template, consents, Telnyx settings and sending messages."""
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from dialcues_core import Dialcues
    from dialcues_core.audit.model import Actor
    from dialcues_core.config import Settings
    from dialcues_core.consent.model import ConsentRecord
    from dialcues_core.messages.model import Message, MessageStatus

    dc = Dialcues.open(settings=Settings(database_url=db_url, rate_limits=None))
    org = dc.accounts.create_organization("Bench Clinic")
    dc.accounts.add_line(
        org.id, "simulated", LINE, features=("mms", "sms", "voice"), carrier="simulated"
    )
    user = dc.accounts.create_user(org.id, "bench@example.com", "Bench")
    me = dc.as_user(user.id)
    template = dc.message_templates.create(me, {
        "name": "visit", "body": "Hi {{first_name}}, see you at {{time}}.",
        "channels": ["sms"], "purpose": "informational",
    })  # fmt: skip
    now = datetime.now(UTC)
    store = dc.message_deps.consent
    with dc.transactions.atomic():
        for i in range(recipients):
            store.add_consent(ConsentRecord(
                id=f"cns_bench{i:08d}", organization_id=org.id, phone_number=number(i),
                type="express", purpose="informational", source="api", text="yes",
                captured_at=now, created_at=now, created_by=Actor("system"),
            ))  # fmt: skip
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    dc.numbers.set_carrier(org.id, {
        "carrier": "telnyx", "api_key": "KEYbench", "messaging_profile_id": "mp-bench",
        "public_key": base64.b64encode(public).decode(), "base_url": "http://127.0.0.1:9",
    })  # fmt: skip
    carrier_ids = []
    with dc.transactions.atomic():
        for i in range(events):
            carrier_id = str(uuid.uuid4())
            carrier_ids.append(carrier_id)
            dc.message_deps.store.add_message(Message(
                id=f"msg_bench{i:010d}", organization_id=org.id, user_id=user.id,
                direction="outbound", source="api", channel="sms", status=MessageStatus.SENDING,
                to=number(i % recipients), from_number=LINE, line_id=None, text="Hi",
                purpose="informational", created_at=now, updated_at=now, carrier="telnyx",
                carrier_message_id=carrier_id, handed_at=now,
            ))  # fmt: skip
    key = dc.accounts.create_api_key(user.id).raw
    dc.close()
    return {
        "org": org.id,
        "key": key,
        "template": template.id,
        "private": private,
        "carrier_ids": carrier_ids,
    }


# ----------------------------------------------------------------------------- measures
async def writes(
    port: int, seeded: dict[str, Any], count: int, concurrency: int, rounds: int
) -> dict[str, Any]:
    import aiohttp

    auth = {"Authorization": f"Bearer {seeded['key']}"}
    base = f"http://127.0.0.1:{port}/api/public/v1"
    used = {"messages": 0, "calls": 0}

    def body(kind: str, i: int) -> dict[str, Any]:
        if kind == "messages":
            return {
                "to": number(i),
                "channel": "sms",
                "template_id": seeded["template"],
                "variables": {"first_name": "Ada", "time": "3 pm"},
            }
        return {"to": number(i), "message": "Your appointment is at 3 pm."}

    async def burst(session: aiohttp.ClientSession, kind: str, n: int) -> float:
        start_at = used[kind]
        used[kind] += n
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(start_at, start_at + n):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                async with session.post(f"{base}/{kind}", json=body(kind, i), headers=auth) as r:
                    text = await r.text()
                    assert r.status in (201, 202), (kind, r.status, text)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return n / (time.perf_counter() - began)

    rates: dict[str, list[float]] = {"messages": [], "calls": []}
    per_round = max(1, count // rounds)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await burst(session, "messages", 100)  # warm up both paths
        await burst(session, "calls", 100)
        for _ in range(rounds):
            for kind in ("messages", "calls"):
                rates[kind].append(await burst(session, kind, per_round))
    messages = statistics.median(rates["messages"])
    calls = statistics.median(rates["calls"])
    return {
        "messages_per_s": round(messages, 1),
        "calls_per_s": round(calls, 1),
        "ratio": round(messages / calls, 3),
        "rounds": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
    }


def finalized(carrier_id: str) -> bytes:
    payload = {
        "id": carrier_id,
        "record_type": "message",
        "direction": "outbound",
        "type": "SMS",
        "to": [{"phone_number": "+12122000001", "status": "delivered"}],
        "parts": 1,
        "cost": {"amount": "0.0040", "currency": "USD"},
        "errors": [],
    }
    event = {
        "data": {
            "id": str(uuid.uuid4()),
            "event_type": "message.finalized",
            "occurred_at": "2026-12-07T12:00:00.000+00:00",
            "record_type": "event",
            "payload": payload,
        },
        "meta": {"attempt": 1, "delivered_to": "bench"},
    }
    return json.dumps(event).encode()


async def webhook(port: int, seeded: dict[str, Any], concurrency: int) -> dict[str, Any]:
    import aiohttp

    url = f"http://127.0.0.1:{port}/api/providers/telnyx/events/{seeded['org']}"
    queue: asyncio.Queue[str] = asyncio.Queue()
    for carrier_id in seeded["carrier_ids"]:
        queue.put_nowait(carrier_id)
    times: list[float] = []
    private = seeded["private"]

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = finalized(queue.get_nowait())
            stamp = str(int(time.time()))
            signature = base64.b64encode(private.sign(stamp.encode() + b"|" + body)).decode()
            headers = {
                "telnyx-signature-ed25519": signature,
                "telnyx-timestamp": stamp,
                "Content-Type": "application/json",
            }
            began = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as reply:
                await reply.read()
            times.append(time.perf_counter() - began)
            assert reply.status == 200, reply.status

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return summary(sorted(times))


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {}
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
        "max_ms": round(ms[-1], 1),
        "over_2s": sum(1 for v in ms if v > 2000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=2000, help="writes of each kind")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/messages.db"
        recipients = args.requests + 200
        seeded = seed(url, recipients, args.events)
        proc, port = start(url)
        try:
            loop = asyncio.new_event_loop()
            written = loop.run_until_complete(
                writes(port, seeded, args.requests, args.concurrency, args.rounds)
            )
            hooked = loop.run_until_complete(webhook(port, seeded, args.concurrency))
        finally:
            proc.terminate()
            proc.wait()
    print(json.dumps({"writes": written, "telnyx_finalized": hooked}, indent=1))


if __name__ == "__main__":
    main()
