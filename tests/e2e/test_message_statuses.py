"""A text's statuses over REST with the message sender running (``telephony.md`` §4.5; "Done
when" item 23): the stack of :mod:`e2e.support` (REST, dispatcher, message sender, webhook
deliverer) on the simulated carrier with a short ``DIALCUES_SIMULATED_DELAY``, and a webhook
receiver on loopback.

An informational text with ``express`` consent goes ``queued`` → ``delivered``, and the
user's subscription receives ``message.sent`` and ``message.delivered`` once each; a magic
number the carrier refuses (``NPA-555-0112``) ends ``failed`` with ``message.failed``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from e2e.support import Stack, free_port, running_stack

pytestmark = pytest.mark.slow

LINE = "+14155550142"
DELIVERED_TO = "+14155552671"
REFUSED_TO = "+14155550112"
"""The simulated carrier refuses a text to ``NPA-555-0112`` at send (``failed``, 40012)."""
EVENTS = ["message.sent", "message.delivered", "message.failed"]


class Receiver:
    """Collects the webhook events posted to it (answering 200)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.events: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        """Keep one delivered event."""
        self.events.append(await request.json())
        return web.Response(status=200)

    def seen(self, message_id: str) -> Counter[str]:
        """How many times each event type arrived about ``message_id``."""
        return Counter(e["type"] for e in self.events if e["data"]["id"] == message_id)


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


async def texting(stack: Stack, receiver: Receiver) -> dict[str, Any]:
    """Give the stack a texting line, the recipients' consent, a subscription and a template;
    return the template."""
    features = ("mms", "sms", "voice")
    stack.dc.accounts.add_line(
        stack.org_id, "simulated", LINE, features=features, carrier="simulated"
    )
    who = stack.dc.authenticate(stack.key)
    for number in (DELIVERED_TO, REFUSED_TO):
        stack.dc.consents.create(
            who,
            {
                "phone_number": number,
                "type": "express",
                "purpose": "informational",
                "source": "web_form",
                "text": "Texts from Acme are fine.",
                "captured_at": "2026-01-01T00:00:00Z",
            },
        )
    url = f"http://127.0.0.1:{receiver.port}/hook"
    status, _ = await stack.call("POST", "/webhooks/subscriptions", {"url": url, "events": EVENTS})
    assert status == 201
    body = {
        "name": "hello",
        "body": "Hello {{name}}",
        "channels": ["sms"],
        "purpose": "informational",
    }
    status, template = await stack.call("POST", "/message-templates", body)
    assert status == 201, template
    return dict(template)


async def send(stack: Stack, template: dict[str, Any], to: str) -> dict[str, Any]:
    """Send the template to ``to`` from the texting line; return the ``queued`` message."""
    body = {
        "to": to,
        "from": LINE,
        "channel": "sms",
        "template_id": template["id"],
        "variables": {"name": "Ada"},
    }
    status, message = await stack.call("POST", "/messages", body)
    assert (status, message["status"]) == (201, "queued"), message
    return dict(message)


async def final(stack: Stack, message_id: str) -> dict[str, Any]:
    """Wait until the message is final; return it."""

    async def done() -> dict[str, Any] | None:
        _, found = await stack.call("GET", f"/messages/{message_id}")
        final_states = ("delivered", "undelivered", "failed")
        return dict(found) if found["status"] in final_states else None

    return dict(await stack.wait_for(done, within=15))


async def test_a_consented_text_is_delivered_with_one_event_of_each_kind(sqlite_url: str) -> None:
    async with (
        receiving() as receiver,
        running_stack(sqlite_url, simulated_delay=0.05, webhooks_allow_private=True) as stack,
    ):
        template = await texting(stack, receiver)
        message = await send(stack, template, DELIVERED_TO)
        done = await final(stack, message["id"])
        assert (done["status"], done["error_code"]) == ("delivered", None)
        assert done["sent_at"] is not None and done["completed_at"] is not None
        wanted = Counter({"message.sent": 1, "message.delivered": 1})
        await stack.wait_for(lambda: receiver.seen(message["id"]) == wanted, within=15)


async def test_a_text_the_carrier_refuses_fails_with_message_failed(sqlite_url: str) -> None:
    async with (
        receiving() as receiver,
        running_stack(sqlite_url, simulated_delay=0.05, webhooks_allow_private=True) as stack,
    ):
        template = await texting(stack, receiver)
        message = await send(stack, template, REFUSED_TO)
        done = await final(stack, message["id"])
        assert (done["status"], done["carrier_error_code"]) == ("failed", "40012")
        wanted = Counter({"message.failed": 1})
        await stack.wait_for(lambda: receiver.seen(message["id"]) == wanted, within=15)
