"""The route table of the public API v1 (plus the unauthenticated health check)."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final, NamedTuple, get_type_hints

from aiohttp import web
from aiohttp.typedefs import Handler

from dialcues_core.kernel.scopes import required_scope
from dialcues_rest import call_handlers, calling_handlers, oauth_handlers, openapi, usage_handlers
from dialcues_rest import consent_handlers as ch
from dialcues_rest import deprecations as dh
from dialcues_rest import handlers as h
from dialcues_rest import line_handlers as lh
from dialcues_rest import message_handlers as mh
from dialcues_rest import number_handlers as nh
from dialcues_rest import suppression_handlers as sh
from dialcues_rest import webhook_handlers as wh

if TYPE_CHECKING:
    from dialcues_core import Dialcues

BASE: Final = "/api/public/v1"
"""Base path of every public route; a breaking change gets ``/v2``."""
SUBSCRIPTIONS: Final = f"{BASE}/webhooks/subscriptions"
SUPPRESSIONS: Final = f"{BASE}/suppressions"
CONSENTS: Final = f"{BASE}/consents"
NUMBERS: Final = f"{BASE}/numbers"
NUMBER: Final = f"{NUMBERS}/{{number}}"
TEMPLATES: Final = f"{BASE}/message-templates"
TEMPLATE: Final = f"{TEMPLATES}/{{id}}"
MESSAGES: Final = f"{BASE}/messages"
_NUMBER_SEGMENT: Final = "{number:[^/a-zA-Z][^/]*}"
"""How the router matches a number in a ``/numbers`` path: never starting with a letter, so
``/numbers/hold`` and ``/numbers/search`` are never taken for one (an OPTIONS on them lists
only their own methods)."""


class Route(NamedTuple):
    """One route: its method and path, its handler, and the core use case it runs.

    ``uses`` names the use case as an attribute path on :class:`~dialcues_core.Dialcues`
    (``"reminders.create"``); the admission path takes the route's rate class and scope from
    it, and the OpenAPI document its scope. None: a route without a use case (``/me``,
    ``/health``: reads that need any valid credential; the public routes need none).
    """

    method: str
    path: str
    handler: Handler
    uses: str | None = None


ROUTES: Final[tuple[Route, ...]] = (
    Route("GET", "/healthz", h.get_health),
    Route("POST", "/api/oauth/token", oauth_handlers.issue_token),
    Route("GET", f"{BASE}/openapi.json", openapi.get_openapi),
    Route("GET", f"{BASE}/deprecations", dh.get_deprecations),
    Route("GET", f"{BASE}/me", h.get_me),
    Route("GET", f"{BASE}/health", h.get_api_health),
    Route("POST", f"{BASE}/reminders", h.create_reminder, "reminders.create"),
    Route("GET", f"{BASE}/reminders", h.list_reminders, "reminders.list"),
    Route("GET", f"{BASE}/reminders/{{id}}", h.get_reminder, "reminders.get"),
    Route("PATCH", f"{BASE}/reminders/{{id}}", h.update_reminder, "reminders.update"),
    Route(
        "GET",
        f"{BASE}/reminders/{{id}}/occurrences",
        calling_handlers.list_occurrences,
        "reminders.occurrences",
    ),
    Route("DELETE", f"{BASE}/reminders/{{id}}", h.delete_reminder, "reminders.delete"),
    Route("GET", f"{BASE}/executions", h.list_executions, "executions.list"),
    Route("GET", f"{BASE}/executions/{{id}}", h.get_execution, "executions.get"),
    Route("GET", f"{BASE}/lines", h.list_lines, "accounts.lines_of"),
    Route("GET", f"{BASE}/lines/{{id}}", lh.get_line, "lines.get"),
    Route("PATCH", f"{BASE}/lines/{{id}}", lh.update_line, "lines.update"),
    Route("GET", f"{BASE}/usage/events", usage_handlers.list_usage_events, "usage.list"),
    Route("GET", f"{BASE}/policy", calling_handlers.get_policy, "policies.get"),
    Route("GET", f"{BASE}/audit/events", calling_handlers.list_audit_events, "audit.list"),
    Route("GET", SUPPRESSIONS, sh.list_suppressions, "suppressions.list"),
    Route("POST", SUPPRESSIONS, sh.add_suppression, "suppressions.add"),
    Route("GET", f"{SUPPRESSIONS}/{{number}}", sh.get_suppression, "suppressions.get"),
    Route("DELETE", f"{SUPPRESSIONS}/{{number}}", sh.remove_suppression, "suppressions.remove"),
    Route("POST", CONSENTS, ch.create_consent, "consents.create"),
    Route("GET", CONSENTS, ch.list_consents, "consents.list"),
    Route("GET", f"{CONSENTS}/{{id}}", ch.get_consent, "consents.get"),
    Route("POST", f"{CONSENTS}/{{id}}/revoke", ch.revoke_consent, "consents.revoke"),
    Route("GET", f"{NUMBERS}/search", nh.search_numbers, "numbers.search"),
    Route("POST", f"{NUMBERS}/hold", nh.hold_number, "numbers.hold"),
    Route("GET", NUMBERS, nh.list_numbers, "numbers.list"),
    Route("GET", NUMBER, nh.get_number, "numbers.get"),
    Route("POST", f"{NUMBER}/hold/extend", nh.extend_hold, "numbers.extend"),
    Route("DELETE", f"{NUMBER}/hold", nh.drop_hold, "numbers.drop_hold"),
    Route("POST", f"{NUMBER}/assign", nh.assign_number, "numbers.assign"),
    Route("POST", f"{NUMBER}/release", nh.release_number, "numbers.release"),
    Route("POST", TEMPLATES, mh.create_template, "message_templates.create"),
    Route("GET", TEMPLATES, mh.list_templates, "message_templates.list"),
    Route("GET", TEMPLATE, mh.get_template, "message_templates.get"),
    Route("PATCH", TEMPLATE, mh.update_template, "message_templates.update"),
    Route("DELETE", TEMPLATE, mh.archive_template, "message_templates.archive"),
    Route("GET", f"{TEMPLATE}/versions", mh.list_versions, "message_templates.versions"),
    Route("GET", f"{TEMPLATE}/versions/{{version}}", mh.get_version, "message_templates.version"),
    Route("POST", MESSAGES, mh.send_message, "messages.send"),
    Route("GET", MESSAGES, mh.list_messages, "messages.list"),
    Route("GET", f"{MESSAGES}/{{id}}", mh.get_message, "messages.get"),
    Route("POST", f"{BASE}/calls", call_handlers.place_call, "calls.place"),
    Route("POST", f"{BASE}/calls/inbound/answer", lh.answer_inbound_call, "inbound.answer"),
    Route("POST", f"{BASE}/agent/smoke", call_handlers.run_smoke, "smoke.run"),
    Route("POST", SUBSCRIPTIONS, wh.create_subscription, "webhooks.create"),
    Route("GET", SUBSCRIPTIONS, wh.list_subscriptions, "webhooks.list"),
    Route("GET", f"{SUBSCRIPTIONS}/{{id}}", wh.get_subscription, "webhooks.get"),
    Route("PATCH", f"{SUBSCRIPTIONS}/{{id}}", wh.update_subscription, "webhooks.update"),
    Route("DELETE", f"{SUBSCRIPTIONS}/{{id}}", wh.delete_subscription, "webhooks.delete"),
    Route(
        "POST", f"{SUBSCRIPTIONS}/{{id}}/rotate-secret", wh.rotate_secret, "webhooks.rotate_secret"
    ),
    Route("GET", f"{SUBSCRIPTIONS}/{{id}}/deliveries", wh.list_deliveries, "webhooks.deliveries"),
)
"""Every route; ``GET`` routes also answer ``HEAD``."""


def use_case_of(dc: Dialcues, route: Route) -> Callable[..., Any] | None:
    """Return the bound use case a route runs on ``dc``, or None."""
    return attrgetter(route.uses)(dc) if route.uses is not None else None


def route_scope(route: Route) -> str | None:
    """Return the scope a route's use case demands (from the core's declaration), or None."""
    if route.uses is None:
        return None
    from dialcues_core import Dialcues

    owner, _, name = route.uses.partition(".")
    return required_scope(getattr(get_type_hints(Dialcues)[owner], name))


def use_cases(dc: Dialcues) -> dict[Handler, Callable[..., Any] | None]:
    """Return each handler's use case on ``dc`` (the admission path looks them up)."""
    return {route.handler: use_case_of(dc, route) for route in ROUTES}


def add_routes(router: web.UrlDispatcher) -> None:
    """Register :data:`ROUTES` on ``router``."""
    for route in ROUTES:
        path = route.path
        if path.startswith(NUMBER):
            path = path.replace("{number}", _NUMBER_SEGMENT)
        if route.method == "GET":
            router.add_get(path, route.handler)  # and HEAD
        else:
            router.add_route(route.method, path, route.handler)
