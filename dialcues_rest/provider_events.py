"""``POST /api/providers/<provider>/events``: providers' server messages about our calls.

The route forwards bytes: the core's provider reader parses the message, the core checks the
credential (the execution's call token or the organization's secret) in constant time,
whatever the message's type, and applies the event idempotently. An unknown execution or a
wrong credential is a 401 that changes nothing; an unreachable database a 503 (the message is
then recovered by lease reconciliation).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from dialcues_core import Dialcues
from dialcues_core.calls.actions import ToolAnswer
from dialcues_core.calls.ports import PROVIDER_EVENT_PATHS, PROVIDER_TOOL_PATHS
from dialcues_core.inbound.answering import Answering
from dialcues_core.numbers.carrier_events import MAX_BODY_BYTES
from dialcues_core.offload import Offloader
from dialcues_rest.appkeys import ANSWERING


def add_provider_routes(app: web.Application, dc: Dialcues, offloader: Offloader) -> None:
    """Register each provider's events and tools routes on ``app``."""
    answering = dc.answering(offloader)
    app[ANSWERING] = answering
    for provider, path in PROVIDER_EVENT_PATHS.items():
        app.router.add_post(path, _receiving(provider, dc, offloader, answering))
    for provider, path in PROVIDER_TOOL_PATHS.items():
        app.router.add_post(path, _answering(provider, dc, offloader))
    app.router.add_post(CARRIER_EVENTS_PATH, _carrier_events(dc, offloader))


CARRIER_EVENTS_PATH = "/api/providers/telnyx/events/{organization_id}"


async def read_provider_body(request: web.Request) -> bytes:
    """The raw body of a provider webhook: up to 1 MiB (``telephony.md`` §0 #10), not the
    public API's 64 KiB; a longer one is ``payload_too_large``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def _carrier_events(dc: Dialcues, offloader: Offloader) -> Handler:
    async def receive(request: web.Request) -> web.StreamResponse:
        body = await read_provider_body(request)
        organization_id = request.match_info["organization_id"]
        await offloader.run(dc.carrier_events.receive, organization_id, request.headers, body)
        return web.Response(status=200)  # exactly 200: Telnyx counts any other 2xx as failed

    return receive


def _answering(provider: str, dc: Dialcues, offloader: Offloader) -> Handler:
    async def answer(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), value)
        answers = await offloader.run(dc.provider_events.tools, provider, headers, body)
        return web.json_response({"results": [tool_result(a) for a in answers]})

    return answer


def tool_result(answer: ToolAnswer) -> dict[str, Any]:
    """One ``results`` item as Vapi wants it: one line, a spoken ``request-complete`` message
    that ends the call when an action was applied."""
    item: dict[str, Any] = {"toolCallId": answer.tool_call_id, "name": answer.name}
    if answer.error is not None:
        item["error"] = answer.error
        return item
    item["result"] = one_line(answer.result or "")
    if answer.end_call:
        item["message"] = {
            "type": "request-complete",
            "content": item["result"],
            "endCallAfterSpokenEnabled": True,
        }
    return item


def one_line(text: str) -> str:
    """Vapi refuses a multi-line result: one line, at most 500 characters."""
    return " ".join(text.split())[:500]


def _receiving(provider: str, dc: Dialcues, offloader: Offloader, answering: Answering) -> Handler:
    async def receive(request: web.Request) -> web.StreamResponse:
        body = await read_provider_body(request)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():  # a repeated header: the first one counts
            headers.setdefault(name.lower(), value)
        answer = await answering.handle(provider, headers, body)  # an inbound call's ring
        if answer is not None:
            return web.json_response(answer)
        applied = await offloader.run(dc.provider_events.receive, provider, headers, body)
        return web.json_response({"received": True, "applied": applied})

    return receive
