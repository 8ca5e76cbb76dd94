"""The outermost REST middleware: request id, access log, rate-limit headers, usage event.

The composition order of every request, one place each:

1. here: the request id (a valid incoming ``X-Request-Id``, else a fresh one);
2. :func:`dialcues_rest.auth.authenticate`: the core's admission
   (:mod:`dialcues_core.platform.admission`) identifies the caller, charges its bucket (or the
   ``anon`` bucket of its address) and refuses in the contract's order — the limit, then
   authentication, then ``insufficient_scope`` for the route's use case;
3. :mod:`dialcues_rest.deprecations` (only with a registry marking REST things
   ``removed``): ``gone`` for a removed route, ``validation_error`` for a removed parameter or
   field, removed fields dropped from the reply;
4. the handler: the core use case, with idempotency around it;
5. :func:`dialcues_rest.errors.render_errors` (between 1 and 2) turns any refusal into the
   error reply and records its code under ``ERROR_CODE``;
6. :mod:`dialcues_rest.deprecations` (between 1 and 5, when the registry names REST things):
   ``Deprecation``, ``Sunset`` and ``Link`` on the reply of a request that used an entry,
   which it records under ``DEPRECATED``;
7. here again: ``X-Request-Id`` and the rate-limit headers on the reply (errors included),
   one access-log line (the route template, never a phone number), and one usage event for
   every request under ``/api/public/v1``.

Handlers know nothing of it. Everything here stays on the event loop: no thread hop and no
database call (usage events are queued in memory and written in batches, see
:mod:`dialcues_core.platform.usage`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import MutableMapping
from datetime import datetime
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from dialcues_core import Dialcues
from dialcues_core.kernel.requests import CURRENT_REQUEST_ID
from dialcues_core.platform.admission import RequestOutcome
from dialcues_core.platform.usage import request_id_or_new
from dialcues_rest.appkeys import (
    DEPRECATED,
    ERROR_CODE,
    IDEMPOTENT_REPLAY,
    PRINCIPAL,
    RATE_LIMIT,
    REQUEST_ID,
)
from dialcues_rest.auth import LIMITED_BASE, is_limited

access_logger = logging.getLogger("dialcues.rest.access")
REQUEST_ID_HEADER: Final = "X-Request-Id"


def route_template(request: web.Request) -> str | None:
    """Return the matched route's template relative to the API base; None when none matched."""
    resource = request.match_info.route.resource
    if resource is None:  # 404, or 405 (the router's system routes)
        return None
    template = resource.canonical
    return template[len(LIMITED_BASE) :] if template.startswith(LIMITED_BASE) else template


_HIDDEN_DIGIT: Final = re.compile(r"[0-9](?=[0-9]{4})")
"""Every digit followed by four more: what the access log hides of an unmatched path."""


def logged_path(request: web.Request) -> str:
    """Return the path the access log prints: the matched route's template (the path of
    ``/suppressions/{number}`` holds a phone number), else the path with every run of digits
    cut to its last four."""
    resource = request.match_info.route.resource
    if resource is not None:
        return resource.canonical
    return _HIDDEN_DIGIT.sub("*", request.path)


def stamp(request: web.Request, headers: MutableMapping[str, str], rid: str) -> None:
    """Add ``X-Request-Id`` and, when the request was charged, the rate-limit headers."""
    headers[REQUEST_ID_HEADER] = rid
    decision = request.get(RATE_LIMIT)
    if decision is not None:
        headers.update(decision.headers())


def outcome(request: web.Request, status: int, occurred_at: datetime, ms: float) -> RequestOutcome:
    """Describe an answered request for the observers (``occurred_at``: when it arrived)."""
    return RequestOutcome(
        occurred_at=occurred_at,
        request_id=request.get(REQUEST_ID),
        principal=request.get(PRINCIPAL),
        method=request.method,
        route=route_template(request),
        status=status,
        code=request.get(ERROR_CODE),
        latency_ms=ms,
        replay=request.get(IDEMPOTENT_REPLAY, False),
        deprecated=request.get(DEPRECATED, False),
    )


def platform_middleware(dc: Dialcues, record_usage: bool = True) -> Middleware:
    """Return the outermost middleware (module docstring) for the platform ``dc``.

    ``record_usage=False`` tells no observer (benchmarks measuring the bare facade only).
    """
    admission = dc.admission if record_usage else None
    clock = dc.clock

    @web.middleware
    async def platform(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        arrived = clock.now()
        rid = request_id_or_new(request.headers.get(REQUEST_ID_HEADER))
        request[REQUEST_ID] = rid
        current = CURRENT_REQUEST_ID.set(rid)  # the core's audit trail names the request
        status = 500  # what the client sees when the handler is cancelled mid-way
        try:
            response = await handler(request)
            status = response.status
            stamp(request, response.headers, rid)
            return response
        except web.HTTPException as exc:  # a non-error HTTPException (a redirect) passes through
            status = exc.status
            stamp(request, exc.headers, rid)
            raise
        finally:
            CURRENT_REQUEST_ID.reset(current)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if access_logger.isEnabledFor(logging.INFO):
                _log_access_line(request.method, logged_path(request), status, elapsed_ms)
            if admission is not None and is_limited(request.path):
                admission.observe(outcome(request, status, arrived, elapsed_ms))

    return platform


def _log_access_line(method: str, path: str, status: int, elapsed_ms: float) -> None:
    # makeRecord + handle is logger.info without findCaller's stack walk (a third of the
    # call's cost, measured); the caller of an access line is always this module.
    args = (method, path, status, elapsed_ms)
    record = access_logger.makeRecord(
        access_logger.name, logging.INFO, __file__, 0, "%s %s %d %.1fms", args, None
    )
    access_logger.handle(record)
