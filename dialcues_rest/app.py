"""The REST application factory and the helper that serves it.

The composition root (the CLI) opens the platform and the offloader, then::

    app = create_app(dc, offloader)
    runner = await start_rest(app, settings.host, settings.rest_port)
    ...
    await runner.cleanup()

Middlewares, outermost first: :func:`dialcues_rest.platform.platform_middleware` (request id,
access log, rate-limit headers, usage event), the deprecation headers (only with a registry
naming REST things), the error renderer, authentication (which
charges the rate limiter first), then the removals (only with a registry marking REST things
``removed``: ``gone``, refused fields, dropped fields); :mod:`dialcues_rest.platform` draws
the whole order. Other
engineers' routes (``/api/providers/…``) are added to ``app.router`` after the factory; they
get the access log and JSON errors, and authenticate themselves.

The app starts no background work: the host's :class:`~dialcues_core.runtime.Runtime` writes
the queued usage events (every second, as soon as a batch is full, and once more when it is
left), whether REST, gRPC or both serve the requests.
"""

from __future__ import annotations

import logging

from aiohttp import web

from dialcues_core import Dialcues
from dialcues_core.deprecations import REGISTRY, Deprecation
from dialcues_core.offload import Offloader
from dialcues_rest import auth, errors, routes
from dialcues_rest import deprecations as announced
from dialcues_rest.appkeys import DIALCUES, DISPATCHING, OFFLOADER, USE_CASES
from dialcues_rest.handlers import MAX_BODY_BYTES
from dialcues_rest.platform import platform_middleware

logger = logging.getLogger("dialcues.rest")


def create_app(
    dc: Dialcues,
    offloader: Offloader,
    dispatching: bool = False,
    *,
    record_usage: bool = True,
    deprecations: tuple[Deprecation, ...] = REGISTRY,
) -> web.Application:
    """Build the REST application over the platform ``dc``; database calls go to ``offloader``.

    Bodies over 64 KiB are refused (``payload_too_large``). ``dispatching`` tells the health
    route whether a dispatcher runs in this process. ``record_usage=False`` turns usage
    events off (for benchmarks of the bare facade only; the contract wants them). The caller
    owns ``dc`` and ``offloader`` (and closes them after the app's runner is cleaned up).
    ``deprecations`` is the deprecation registry (production's by default; a test's may name
    the test-only route): see :mod:`dialcues_rest.deprecations`. A bad one is refused here.
    """
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[
            platform_middleware(dc, record_usage),
            *announced.middlewares(deprecations),
            errors.render_errors,
            auth.authenticate,
            *announced.removals(deprecations),
        ],
    )
    app[DIALCUES] = dc
    app[OFFLOADER] = offloader
    app[DISPATCHING] = dispatching
    app[USE_CASES] = routes.use_cases(dc)
    routes.add_routes(app.router)
    announced.install(app, deprecations, dc.clock.now().date())
    return app


async def start_rest(
    app: web.Application, host: str, port: int, shutdown_timeout: float = 60.0
) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one; see ``runner.addresses``).

    aiohttp's own access log is off (``log_access`` writes ours). Stop with
    ``await runner.cleanup()``: it stops accepting at once and lets requests in flight finish
    for up to ``shutdown_timeout`` seconds.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
