"""``POST /api/providers/<provider>/events``: providers' server messages about our calls.

The route forwards bytes: the core's provider reader parses the message, the core checks the
credential (the execution's call token or the organization's secret) in constant time,
whatever the message's type, and applies the event idempotently. An unknown execution or a
wrong credential is a 401 that changes nothing; an unreachable database a 503 (the message is
then recovered by lease reconciliation).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from dialcues_core import Dialcues
from dialcues_core.calls.ports import PROVIDER_EVENT_PATHS
from dialcues_core.offload import Offloader


def add_provider_routes(app: web.Application, dc: Dialcues, offloader: Offloader) -> None:
    """Register each provider's events route on ``app``."""
    for provider, path in PROVIDER_EVENT_PATHS.items():
        app.router.add_post(path, _receiving(provider, dc, offloader))


def _receiving(provider: str, dc: Dialcues, offloader: Offloader) -> Handler:
    async def receive(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers: dict[str, str] = {}
        for name, value in request.headers.items():  # a repeated header: the first one counts
            headers.setdefault(name.lower(), value)
        applied = await offloader.run(dc.provider_events.receive, provider, headers, body)
        return web.json_response({"received": True, "applied": applied})

    return receive
