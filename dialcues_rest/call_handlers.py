"""Handlers of ``POST /calls`` (place a call now) and ``POST /agent/smoke`` (the self-check).

``POST /calls`` runs through :func:`dialcues_rest.idempotency.idempotent`: with an
``Idempotency-Key``, retrying places one call. ``POST /agent/smoke`` leaves nothing behind
(it cleans up after itself), so an ``Idempotency-Key`` on it replays nothing: each request
runs the check afresh (a malformed key is still a ``validation_error``, as on every POST).
The smoke flow is asyncio in the core and offloads its own database calls, so the handler
awaits it directly.
"""

from __future__ import annotations

import functools

from aiohttp import web

from dialcues_core.calls.model import Execution
from dialcues_core.kernel.fields import MISSING
from dialcues_core.platform.idempotency import validate_key
from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import json_body, no_query, principal, reply
from dialcues_rest.idempotency import KEY_HEADER, idempotent


def _placed(execution: Execution) -> web.Response:
    return reply(schemas.execution(execution), status=201)


async def place_call(request: web.Request) -> web.Response:
    """``POST /calls``: queue a call now (201 with the execution, ``queued``)."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    return await idempotent(request, functools.partial(dc.calls.place, who, payload), _placed)


async def run_smoke(request: web.Request) -> web.Response:
    """``POST /agent/smoke``: run the end-to-end self-check (200, or 503 ``smoke_failed``).

    The body may be empty or ``{}``; any field in it is a ``validation_error``. An
    ``Idempotency-Key`` is checked like everywhere else, but never replays.
    """
    smoke = request.app[DIALCUES].smoke
    who = principal(request)
    no_query(request)
    key = request.headers.get(KEY_HEADER)
    if key is not None:
        validate_key(key)
    raw = (await request.read()).strip()
    payload = await json_body(request) if raw else MISSING  # a JSON null is a body too
    steps = await smoke.run(who, request.app[OFFLOADER].run, payload)
    return reply(schemas.smoke(steps))
