"""Handlers of ``/lines/{id}`` and ``POST /calls/inbound/answer`` (``telephony.md`` §3.1,
§3.4): parse, call one core use case, render."""

from __future__ import annotations

import functools

from aiohttp import web

from dialcues_core.calls.model import Execution
from dialcues_rest import schemas
from dialcues_rest.appkeys import ANSWERING, DIALCUES, OFFLOADER
from dialcues_rest.handlers import json_body, no_query, principal, reply
from dialcues_rest.idempotency import idempotent


async def get_line(request: web.Request) -> web.Response:
    """``GET /lines/{id}``."""
    dc, line_id = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.lines.get, who, line_id)
    return reply(schemas.line(found))


async def update_line(request: web.Request) -> web.Response:
    """``PATCH /lines/{id}``: label, route (null clears it), ``is_default: true``."""
    dc, line_id = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    effect = functools.partial(dc.lines.update, who, line_id, payload)
    return await idempotent(request, effect, lambda line: reply(schemas.line(line)))


async def answer_inbound_call(request: web.Request) -> web.Response:
    """``POST /calls/inbound/answer``: decide a waiting ``external`` call; 200 with it."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    effect = functools.partial(dc.inbound.answer, who, payload)

    def render(execution: Execution) -> web.Response:
        answering = request.app.get(ANSWERING)
        if answering is not None:  # the waiting handler may be in this process: wake it
            answering.notify(execution.id)
        return reply(schemas.execution(execution))

    return await idempotent(request, effect, render)
