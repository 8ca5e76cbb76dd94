"""A texting platform on loopback, on either carrier (``telephony.md`` §8, items 23–35).

:func:`texting_stack` runs the stack of :mod:`e2e.support` (REST with the provider routes, the
dispatcher, the message sender, the webhook deliverer; the fake Vapi) and gives its
organization what texting needs:

- **simulated**: the simulated carrier (with ``rcs_agent_id``), wrapped in :class:`Gate`
  to count what it was asked to send and to throttle a chosen send for ten minutes; the
  texting line ``+1 415 555-0142`` is a ``simulated`` line (voice, sms, mms), so reminders
  on it are dialed by the simulated dialer;
- **telnyx**: the strict fake Telnyx (campaign and RCS agent recorded), the same number as a
  Vapi line (``pn_texting``) whose messages go through Telnyx, so reminders on it are dialed
  by the fake Vapi. ``DIALCUES_PUBLIC_URL`` is the stack, so each send's ``webhook_url`` and
  the messaging profile's webhook reach ``/api/providers/telnyx/events/{org}``. The fake
  allows any ``from`` it has not sold to another profile, so the number needs no order.

The texting line is the default line. A webhook subscription to the message and suppression
events delivers to :class:`Receiver`, which verifies each delivery (``standardwebhooks``).
Three templates are ready: ``info`` (informational; sms, mms, rcs; ``Hello {{name}}``),
``promo`` (marketing, sms) and ``missed`` (the reminders' fallback, built-in slots).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from fakes.telnyx_server import (
    DEFAULT_AGENT,
    DEFAULT_KEY,
    DEFAULT_PROFILE,
    FakeTelnyx,
    Fault,
    start_fake_telnyx,
)
from standardwebhooks import Webhook

from dialcues_core.errors import CarrierThrottled
from e2e.support import BASE, Stack, free_port, running_stack

CARRIERS = ("simulated", "telnyx")
LINE = "+14155550142"
"""The organization's texting line (no magic number on either carrier)."""
CAMPAIGN = "CAMPTEST10DLC"
EVENTS = [
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.received",
    "suppression.created",
    "suppression.removed",
    "consent.revoked",
]
FINAL = ("delivered", "undelivered", "failed")
TEMPLATES = {
    "info": {
        "name": "hello",
        "body": "Hello {{name}}",
        "channels": ["sms", "mms", "rcs"],
        "purpose": "informational",
    },
    "promo": {
        "name": "promo",
        "body": "Half price for you, {{name}}",
        "channels": ["sms"],
        "purpose": "marketing",
        "opt_out_footer": True,
    },
    "missed": {
        "name": "missed",
        "body": "We missed you: {{reminder_title}} on {{scheduled_local}}. Call {{line_number}}.",
        "channels": ["sms"],
        "purpose": "informational",
    },
}
OPT_OUT_TEXT = (
    "E2E: you are unsubscribed and will get no more messages. Reply START to resubscribe."
)
HELP_TEXT = "E2E: reminders by phone and text. Reply STOP to opt out. Msg & data rates may apply."


# ----------------------------------------------------------------------------- webhooks
@dataclass
class Receiver:
    """Receives the platform's webhook deliveries, verified with the subscription's secret."""

    port: int = field(default_factory=free_port)
    secret: str = ""
    delivered: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        """Keep one verified delivery (a delivery that does not verify is a 400)."""
        body = await request.read()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception as exc:
            self.rejected.append(str(exc))
            return web.Response(status=400)
        self.delivered.append(event)
        return web.Response(status=200)

    def seen(self, message_id: str) -> Counter[str]:
        """How many times each ``message.*`` event arrived about ``message_id``."""
        return Counter(
            e["type"]
            for e in self.delivered
            if e["type"].startswith("message.") and e["data"]["id"] == message_id
        )

    def of(self, kind: str, number: str | None = None) -> list[dict[str, Any]]:
        """The delivered events of one type (about ``number``: a suppression entry's or a
        consent's ``phone_number``), in order."""
        return [
            e
            for e in self.delivered
            if e["type"] == kind and number in (None, e["data"].get("phone_number"))
        ]


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    """Serve a :class:`Receiver` on loopback until the block ends."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()


# ----------------------------------------------------------------------------- simulated
class Gate:
    """The simulated carrier, counting the sends it was asked for by recipient; a number in
    :attr:`throttle_once` has its next send throttled for ten minutes (nothing sent), so its
    message stays ``queued``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sends: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.throttle_once: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send(self, outgoing: Any) -> Any:
        """Count the send, or throttle it once for its number."""
        if outgoing.to in self.throttle_once:
            self.throttle_once.discard(outgoing.to)
            self.throttled[outgoing.to] += 1
            raise CarrierThrottled("held by the test", retry_after=600.0)
        self.sends[outgoing.to] += 1
        return await self.inner.send(outgoing)


# ----------------------------------------------------------------------------- the stack
@dataclass
class Reply:
    """One API answer: status, decoded JSON (None when empty) and headers."""

    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        """The error code of a problem answer."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error["code"] if error else None


@dataclass
class TextStack:
    """A running platform that texts, on ``carrier``."""

    carrier: str
    stack: Stack
    receiver: Receiver
    gate: Gate
    telnyx: FakeTelnyx | None
    line_id: str = ""
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def org_id(self) -> str:
        return self.stack.org_id

    @property
    def events_url(self) -> str:
        """The organization's Telnyx webhook (1.4)."""
        return f"{self.stack.root}/api/providers/telnyx/events/{self.org_id}"

    @property
    def fake(self) -> FakeTelnyx:
        """The fake Telnyx (telnyx runs only)."""
        assert self.telnyx is not None, "this test needs the fake Telnyx"
        return self.telnyx

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """Send one request as the organization's user; return the answer."""
        sent = {"Authorization": f"Bearer {self.stack.key}", **(headers or {})}
        url = f"{self.stack.root}{BASE}{path}"
        async with self.stack.session.request(method, url, json=body, headers=sent) as answer:
            text = await answer.text()
            decoded = await answer.json() if text else None
            return Reply(answer.status, decoded, dict(answer.headers))

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        """A request that must succeed; its body."""
        reply = await self.call(method, path, body)
        assert reply.status < 300, (method, path, reply.status, reply.body)
        return reply.body

    async def send(
        self, to: str, template: str = "info", headers: dict[str, str] | None = None, **fields: Any
    ) -> Reply:
        """``POST /messages`` of a template from the texting line."""
        body = {
            "to": to,
            "from": LINE,
            "channel": "sms",
            "template_id": self.templates[template]["id"],
            "variables": {"name": "Ada"},
            **fields,
        }
        return await self.call("POST", "/messages", body, headers)

    async def queued(self, to: str, template: str = "info", **fields: Any) -> dict[str, Any]:
        """Send and expect 201 ``queued``; return the message."""
        reply = await self.send(to, template, **fields)
        assert (reply.status, reply.body.get("status")) == (201, "queued"), reply.body
        return dict(reply.body)

    async def message(self, message_id: str) -> dict[str, Any]:
        """``GET /messages/{id}``."""
        return dict(await self.ok("GET", f"/messages/{message_id}"))

    async def final(self, message_id: str, within: float = 15.0) -> dict[str, Any]:
        """Wait until the message is final; return it."""

        async def done() -> dict[str, Any] | None:
            found = await self.message(message_id)
            return found if found["status"] in FINAL else None

        return dict(await self.stack.wait_for(done, within=within))

    async def messages(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /messages`` with filters (one page of 100)."""
        query = urlencode({"page_size": "100", **filters})
        return list((await self.ok("GET", f"/messages?{query}"))["items"])

    async def consent(
        self, number: str, type_: str = "express", purpose: str = "informational"
    ) -> dict[str, Any]:
        """Record an active consent of ``number``."""
        body = {
            "phone_number": number,
            "type": type_,
            "purpose": purpose,
            "source": "web_form",
            "text": "Texts from E2E are fine.",
            "captured_at": "2026-01-01T00:00:00Z",
        }
        return dict(await self.ok("POST", "/consents", body))

    async def consents(self, number: str) -> list[dict[str, Any]]:
        """The number's consent records, active or not."""
        query = urlencode({"phone_number": number})
        return list((await self.ok("GET", f"/consents?{query}"))["items"])

    async def inbound(self, handset: str, text: str) -> None:
        """A handset texts the line; returns once the carrier's delivery was answered
        (Telnyx: the signed ``message.received`` got its 200) or the text was injected."""
        if self.telnyx is not None:
            await self.telnyx.receive_text(handset, LINE, text)
            return
        dc = self.stack.dc
        await asyncio.to_thread(dc.messages.receive_for, self.org_id, LINE, handset, text)

    def carrier_sends(self, number: str) -> int:
        """How many texts to ``number`` the carrier was asked to send (a throttled request,
        which sent nothing, does not count)."""
        if self.telnyx is not None:
            return sum(1 for r in self.telnyx.sends_to(number) if r.status != 429)
        return self.gate.sends[number]

    def carrier_texts(self, number: str) -> list[str]:
        """The texts the fake Telnyx took for ``number`` (telnyx runs only)."""
        found = self.fake.messaging.messages.values()
        return [m.text for m in found if m.to == number]

    def hold_next_send(self, number: str) -> None:
        """Throttle the next send to ``number`` for ten minutes (its message stays queued)."""
        if self.telnyx is not None:
            self.telnyx.ratelimit_reset = 600  # beyond what the client waits: requeued
            self.telnyx.fail_next(Fault.THROTTLE, method="POST", path="/messages", to=number)
            return
        self.gate.throttle_once.add(number)

    def held_sends(self, number: str) -> int:
        """How many sends to ``number`` were throttled by :meth:`hold_next_send`."""
        if self.telnyx is not None:
            return sum(1 for r in self.telnyx.sends_to(number) if r.status == 429)
        return self.gate.throttled[number]

    async def remind(self, number: str, in_seconds: float = 2.0, **fields: Any) -> dict[str, Any]:
        """Create a one-off reminder to ``number`` on the texting line, due soon."""
        at = datetime.now(UTC) + timedelta(seconds=in_seconds)
        body = {
            "title": "Dentist",
            "message": "Your check-up is today.",
            "phone_number": number,
            "timezone": "America/Los_Angeles",
            "scheduled_at": at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            **fields,
        }
        return dict(await self.ok("POST", "/reminders", body))

    async def executions(self, reminder_id: int) -> list[dict[str, Any]]:
        """The reminder's executions, oldest first."""
        found = await self.ok("GET", f"/executions?reminder_id={reminder_id}&page_size=100")
        return sorted(found["items"], key=lambda e: e["id"])

    def calls_to(self, number: str) -> int:
        """Calls the voice provider was asked to place to ``number`` (telnyx runs: the fake
        Vapi; simulated runs: the simulated dialer, counted by its executions instead)."""
        return sum(1 for c in self.stack.vapi.calls if c["customer"]["number"] == number)


def fallback(stack: TextStack, after: str = "final_failure") -> dict[str, Any]:
    """A reminder's SMS fallback naming the ``missed`` template."""
    return {"channel": "sms", "template_id": stack.templates["missed"]["id"], "after": after}


@asynccontextmanager
async def texting_stack(url: str, carrier: str, **changes: Any) -> AsyncIterator[TextStack]:
    """Run the texting platform on ``url`` with ``carrier`` (``simulated`` or ``telnyx``);
    ``changes`` go to the settings (``message_unknown_after=2``)."""
    telnyx = await start_fake_telnyx() if carrier == "telnyx" else None
    changes.setdefault("webhooks_allow_private", True)
    try:
        async with (
            receiving() as receiver,
            running_stack(url, **changes) as stack,
        ):
            gate = Gate(stack.dc.carriers.simulated)
            stack.dc.carriers.simulated = gate  # type: ignore[assignment]
            texts = TextStack(carrier, stack, receiver, gate, telnyx)
            await _configure(texts)
            yield texts
    finally:
        if telnyx is not None:
            await telnyx.close()


async def _configure(texts: TextStack) -> None:
    """Carrier settings, the texting line, the subscription and the templates."""
    dc, org = texts.stack.dc, texts.org_id
    features = ("mms", "sms", "voice")
    if texts.telnyx is not None:
        dc.numbers.set_carrier(org, telnyx_settings(texts.telnyx))
        texts.telnyx.set_profile_webhook(DEFAULT_PROFILE, texts.events_url)
        line = dc.accounts.add_line(
            org, "vapi", LINE, "pn_texting", "Texts", True, features, "telnyx"
        )
    else:
        dc.numbers.set_carrier(org, {"carrier": "simulated", "rcs_agent_id": "sim-agent"})
        line = dc.accounts.add_line(
            org, "simulated", LINE, None, "Texts", True, features, "simulated"
        )
    texts.line_id = line.id
    hook = {"url": texts.receiver.url, "events": EVENTS}
    texts.receiver.secret = (await texts.ok("POST", "/webhooks/subscriptions", hook))["secret"]
    for name, body in TEMPLATES.items():
        texts.templates[name] = dict(await texts.ok("POST", "/message-templates", body))


def telnyx_settings(fake: FakeTelnyx, **changes: Any) -> dict[str, Any]:
    """The organization's Telnyx settings: the fake's account, profile, campaign and agent."""
    return {
        "carrier": "telnyx",
        "api_key": DEFAULT_KEY,
        "public_key": fake.public_key,
        "messaging_profile_id": DEFAULT_PROFILE,
        "base_url": fake.url,
        "ten_dlc_campaign_id": CAMPAIGN,
        "rcs_agent_id": DEFAULT_AGENT,
        **changes,
    }
