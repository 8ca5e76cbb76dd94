"""The REST application factory and the helper that serves it.

The composition root (the CLI) opens the platform and the offloader, then::

    app = create_app(dc, offloader)
    runner = await start_rest(app, settings.host, settings.rest_port)
    ...
    await runner.cleanup()

Middlewares, outermost first: the request id and access log, the error renderer,
authentication. Other
engineers' routes (``/api/providers/…``) are added to ``app.router`` after the factory; they
get the access log and JSON errors, and authenticate themselves.
"""

from __future__ import annotations

import logging
import os
import string
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from dialcues_core import Dialcues
from dialcues_core.offload import Offloader
from dialcues_rest import auth, errors, routes
from dialcues_rest.appkeys import DIALCUES, DISPATCHING, OFFLOADER, REQUEST_ID
from dialcues_rest.handlers import MAX_BODY_BYTES

access_logger = logging.getLogger("dialcues.rest.access")
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:")


def _valid_request_id(value: str | None) -> str | None:
    if value and len(value) <= 128 and set(value) <= _REQUEST_ID_CHARS:
        return value
    return None


@web.middleware
async def log_access(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request its id (echoed as ``X-Request-Id``) and log one line at info.

    The id is a valid incoming ``X-Request-Id``, else a fresh one. One middleware for both
    keeps the outermost layer to one await (each layer costs, measured on ``GET /me``).
    """
    started = time.perf_counter()
    rid = _valid_request_id(request.headers.get(REQUEST_ID_HEADER)) or os.urandom(16).hex()
    request[REQUEST_ID] = rid
    status = 500  # what the client sees when the handler is cancelled mid-way
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = rid
        return response
    except web.HTTPException as exc:  # a non-error HTTPException (a redirect) passes through
        status = exc.status
        exc.headers[REQUEST_ID_HEADER] = rid
        raise
    finally:
        if access_logger.isEnabledFor(logging.INFO):
            elapsed_ms = (time.perf_counter() - started) * 1000
            _log_access_line(request.method, request.path, status, elapsed_ms)


def _log_access_line(method: str, path: str, status: int, elapsed_ms: float) -> None:
    # makeRecord + handle is logger.info without findCaller's stack walk (a third of the
    # call's cost, measured); the caller of an access line is always this module.
    args = (method, path, status, elapsed_ms)
    record = access_logger.makeRecord(
        access_logger.name, logging.INFO, __file__, 0, "%s %s %d %.1fms", args, None
    )
    access_logger.handle(record)


def create_app(dc: Dialcues, offloader: Offloader, dispatching: bool = False) -> web.Application:
    """Build the REST application over the platform ``dc``; database calls go to ``offloader``.

    Bodies over 64 KiB are refused (``payload_too_large``). ``dispatching`` tells the health
    route whether a dispatcher runs in this process. The caller owns ``dc`` and
    ``offloader`` (and closes them after the app's runner is cleaned up).
    """
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[log_access, errors.render_errors, auth.authenticate],
    )
    app[DIALCUES] = dc
    app[OFFLOADER] = offloader
    app[DISPATCHING] = dispatching
    routes.add_routes(app.router)
    return app


async def start_rest(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one; see ``runner.addresses``).

    aiohttp's own access log is off (``log_access`` writes ours). Stop with
    ``await runner.cleanup()``.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
