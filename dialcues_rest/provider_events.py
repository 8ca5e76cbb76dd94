"""``POST /api/providers/vapi/events``: Vapi's server messages about our calls.

The route only parses: the payload becomes a ``CallEvent`` (the Vapi adapter's parser), and
the core checks the organization's ``x-vapi-secret`` in constant time and applies the event
idempotently. An unknown execution or a wrong secret is a 401 that changes nothing.
"""

from __future__ import annotations

import json

from aiohttp import web

from dialcues_core.adapters.dialers.vapi import parse_server_message
from dialcues_core.attempts import Attempts
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
        event = parse_server_message(payload)
        if event is None:
            return web.json_response({"received": True, "applied": False})
        secret = request.headers.get("x-vapi-secret")
        applied = await offloader.run(attempts.receive_provider_event, secret, event)
        return web.json_response({"received": True, "applied": applied})

    app.router.add_post(VAPI_EVENTS_PATH, vapi_events)
