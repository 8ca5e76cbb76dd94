"""Typed keys for what the REST application and its requests carry."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.deprecations import Deprecation
from dialcues_core.inbound.answering import Answering
from dialcues_core.offload import Offloader
from dialcues_core.platform.ratelimit import Decision

DIALCUES: Final = web.AppKey("dialcues", Dialcues)
"""The platform whose use cases the handlers call."""

OFFLOADER: Final = web.AppKey("offloader", Offloader)
"""The thread pool that runs every database-touching core call off the event loop."""

PRINCIPAL: Final = web.RequestKey("principal", Principal)
"""Who the request acts as; set by the auth middleware before any handler runs."""

REQUEST_ID: Final = web.RequestKey("request_id", str)
"""The request's id: a valid incoming ``X-Request-Id``, else a fresh one; echoed on the reply."""

DISPATCHING: Final = web.AppKey("dispatching", bool)
"""Whether a dispatcher runs in this process (reported by the health route)."""

IDEMPOTENT_REPLAY: Final = web.RequestKey("idempotent_replay", bool)
"""Set (True) when the reply is a stored idempotent response replayed (for the usage event)."""

ERROR_CODE: Final = web.RequestKey("error_code", str)
"""The contract's error code of the reply, set by the error renderer (for the usage event)."""

RATE_LIMIT: Final = web.RequestKey("rate_limit", Decision)
"""The rate-limit decision charged for the request (its headers go on the reply)."""

USE_CASES: Final = web.AppKey("use_cases", dict)
"""Each route handler's core use case (``routes.use_cases``): its rate class and scope."""

ANSWERING: Final = web.AppKey("answering", Answering)
"""The asynchronous side of inbound calls (set with the provider routes: ``serve``); the
answer route wakes a waiting ``external`` call through it."""

DEPRECATIONS: Final = web.AppKey[tuple[Deprecation, ...]]("deprecations")
"""The deprecation registry the app was built with (``create_app(deprecations=…)``)."""

DEPRECATED: Final = web.RequestKey("deprecated", bool)
"""Set (True) when the request used an entry of the deprecation registry (for the usage
event)."""
