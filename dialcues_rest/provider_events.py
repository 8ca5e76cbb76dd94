"""``POST /api/providers/vapi/events``: Vapi's server messages about our calls.

The route only parses: the payload names a call and may carry an event (the Vapi adapter's
parser); the core checks ``x-vapi-secret`` — the execution's call token or the organization's
secret — in constant time, whatever the message's type, and applies the event idempotently.
An unknown execution or a wrong secret is a 401 that changes nothing; an unreachable database
is a 503 (Vapi's message is then recovered by lease reconciliation).
"""

from __future__ import annotations

import json

from aiohttp import web

from dialcues_core.adapters.providers.vapi.voice import message_call, parse_server_message
from dialcues_core.dispatch.attempts import Attempts
from dialcues_core.errors import ValidationFailed
from dialcues_core.offload import Offloader

VAPI_EVENTS_PATH = "/api/providers/vapi/events"


def add_provider_routes(app: web.Application, attempts: Attempts, offloader: Offloader) -> None:
    """Register the provider webhook routes on ``app``."""

    async def vapi_events(request: web.Request) -> web.Response:
        try:
            payload = json.loads(await request.read())
        except ValueError:
            raise ValidationFailed({}, "The request body must be JSON.") from None
        secret = request.headers.get("x-vapi-secret")
        about, event = message_call(payload), parse_server_message(payload)
        applied = await offloader.run(attempts.receive_provider_message, secret, about, event)
        return web.json_response({"received": True, "applied": applied})

    app.router.add_post(VAPI_EVENTS_PATH, vapi_events)
