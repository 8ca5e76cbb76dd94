"""The route table of the public API v1 (plus the unauthenticated health check)."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from dialcues_rest import handlers as h

BASE: Final = "/api/public/v1"
"""Base path of every public route; a breaking change gets ``/v2``."""

ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("GET", "/healthz", h.get_health),
    ("GET", f"{BASE}/me", h.get_me),
    ("GET", f"{BASE}/health", h.get_api_health),
    ("POST", f"{BASE}/reminders", h.create_reminder),
    ("GET", f"{BASE}/reminders", h.list_reminders),
    ("GET", f"{BASE}/reminders/{{id}}", h.get_reminder),
    ("PATCH", f"{BASE}/reminders/{{id}}", h.update_reminder),
    ("DELETE", f"{BASE}/reminders/{{id}}", h.delete_reminder),
    ("GET", f"{BASE}/executions", h.list_executions),
    ("GET", f"{BASE}/executions/{{id}}", h.get_execution),
    ("GET", f"{BASE}/lines", h.list_lines),
)
"""(method, path, handler) of every route; ``GET`` routes also answer ``HEAD``."""


def add_routes(router: web.UrlDispatcher) -> None:
    """Register :data:`ROUTES` on ``router``."""
    for method, path, handler in ROUTES:
        if method == "GET":
            router.add_get(path, handler)  # and HEAD
        else:
            router.add_route(method, path, handler)
