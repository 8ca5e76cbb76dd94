"""The route table of the public API v1 (plus the unauthenticated health check)."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from dialcues_rest import call_handlers, oauth_handlers, openapi, usage_handlers
from dialcues_rest import handlers as h
from dialcues_rest import webhook_handlers as wh

BASE: Final = "/api/public/v1"
"""Base path of every public route; a breaking change gets ``/v2``."""

ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("GET", "/healthz", h.get_health),
    ("POST", "/api/oauth/token", oauth_handlers.issue_token),
    ("GET", f"{BASE}/openapi.json", openapi.get_openapi),
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
    ("GET", f"{BASE}/usage/events", usage_handlers.list_usage_events),
    ("POST", f"{BASE}/calls", call_handlers.place_call),
    ("POST", f"{BASE}/agent/smoke", call_handlers.run_smoke),
    ("POST", f"{BASE}/webhooks/subscriptions", wh.create_subscription),
    ("GET", f"{BASE}/webhooks/subscriptions", wh.list_subscriptions),
    ("GET", f"{BASE}/webhooks/subscriptions/{{id}}", wh.get_subscription),
    ("PATCH", f"{BASE}/webhooks/subscriptions/{{id}}", wh.update_subscription),
    ("DELETE", f"{BASE}/webhooks/subscriptions/{{id}}", wh.delete_subscription),
    ("POST", f"{BASE}/webhooks/subscriptions/{{id}}/rotate-secret", wh.rotate_secret),
    ("GET", f"{BASE}/webhooks/subscriptions/{{id}}/deliveries", wh.list_deliveries),
)
"""(method, path, handler) of every route; ``GET`` routes also answer ``HEAD``."""


def add_routes(router: web.UrlDispatcher) -> None:
    """Register :data:`ROUTES` on ``router``."""
    for method, path, handler in ROUTES:
        if method == "GET":
            router.add_get(path, handler)  # and HEAD
        else:
            router.add_route(method, path, handler)
