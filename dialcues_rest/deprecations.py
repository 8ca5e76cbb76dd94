"""The deprecation registry on REST: its headers, ``GET /deprecations``, the test-only route.

The rules are the core's (:mod:`dialcues_core.deprecations`); this module applies them to
HTTP. :func:`middlewares` returns the one middleware (none for a registry without a REST
entry) that, for a request of a route the registry names, adds ``Deprecation``, ``Sunset``
and ``Link`` to the reply — errors included — when the request used an entry: the route
itself, a query parameter it sent, a top-level field of its JSON body, or a top-level field
of the JSON reply or of an object in its ``items`` (the core's shallow rule, documented
there). It sits just inside the platform middleware, so the reply is already rendered (the
error renderer is further in) and the usage event, written by the platform middleware
after it, says ``deprecated``.

After the sunset (an entry marked ``removed``, ``telephony.md`` §5.1), :func:`removals`
returns a second middleware, innermost (after authentication and the rate limit, so a
removed route still answers 401 without a credential, as an unknown one does, and its
request is charged and gets its usage event). For a request of a route the registry names
as removed it raises :class:`~dialcues_rest.errors.Gone` (410 ``gone``, rendered by the error
middleware with ``details.deprecation``) before the handler; it refuses a removed query
parameter or top-level request field (``validation_error``, "is no longer supported"); and
it drops removed response fields from the JSON reply (top level and page items), so no
reply ever holds them. The header middleware outside still sees the request use the entry,
so a 410 and such a 400 carry ``Deprecation``, ``Sunset`` and ``Link``.

A removed route needs no handler: a release that removes one deletes it from the route
table, and :func:`install` serves its path with a handler that answers ``gone`` (any valid
credential, like ``/me``). A removed route is not in the OpenAPI document
(:func:`dialcues_rest.openapi.mark_deprecated` leaves it out, and removed parameters and
properties too); ``GET /deprecations`` lists it with ``removed: true``.

``GET /api/public/v1/_test/deprecated`` exists only in an app built with a registry that
names it (``route`` entry ``GET /_test/deprecated``): production's never does. It answers
``{"ok": true}``, or a ``validation_error`` with ``?fail=1``, so a test sees the headers on
a success and on an error alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from dialcues_core.deprecations import (
    Deprecation,
    InvalidRegistry,
    Kind,
    RouteDeprecations,
    by_route,
    drop_fields,
    headers,
    listing,
    problems,
)
from dialcues_core.errors import ValidationFailed
from dialcues_rest.appkeys import DEPRECATED, DEPRECATIONS, USE_CASES
from dialcues_rest.auth import LIMITED_BASE
from dialcues_rest.errors import Gone
from dialcues_rest.handlers import no_query, only_query, reply
from dialcues_rest.openapi_parts import Operation, query_parameter
from dialcues_rest.platform import route_template
from dialcues_rest.wire import Response

if TYPE_CHECKING:
    from dialcues_rest.routes import Route

TEST_ROUTE: Final = ("GET", "/_test/deprecated")
"""The test-only route, as a ``route`` entry names it (method, template under the base)."""


# ----------------------------------------------------------------------------- composition
def middlewares(registry: Iterable[Deprecation]) -> list[Middleware]:
    """Return the deprecation middleware of ``registry`` (an empty list: no REST entry)."""
    index = by_route(registry)
    return [_middleware(index)] if index else []


def removals(registry: Iterable[Deprecation]) -> list[Middleware]:
    """Return the removal middleware of ``registry`` (an empty list: nothing removed)."""
    index = {route: found for route, found in by_route(registry).items() if found.removes()}
    return [_removal_middleware(index)] if index else []


def install(app: web.Application, registry: tuple[Deprecation, ...], today: date) -> None:
    """Keep ``registry`` on ``app`` (refused when invalid) and add the routes it adds: the
    test-only route when it names it, and each removed route the route table lacks."""
    check(registry, today)
    app[DEPRECATIONS] = registry
    for route in extra_routes(registry):
        app.router.add_get(route.path, route.handler)
        app[USE_CASES][route.handler] = None  # any valid credential, like /me


def check(registry: tuple[Deprecation, ...], today: date) -> None:
    """Raise :class:`InvalidRegistry` unless the registry keeps its rules and every REST
    target names a route (and its parameter or field) of this app."""
    found = problems(registry, today) + target_problems(registry)
    if found:
        raise InvalidRegistry("; ".join(found))


def target_problems(registry: tuple[Deprecation, ...]) -> list[str]:
    """Return one sentence per REST entry naming no route, parameter or field of the app.

    Routes are looked up in the route table; parameters and fields in the OpenAPI document
    (marking them there fails on one the operation lacks).
    """
    from dialcues_rest import openapi
    from dialcues_rest.routes import ROUTES

    known = {(r.method, r.path) for r in (*ROUTES, *extra_routes(registry))}
    found = []
    for entry in registry:
        route = entry.rest_route()
        if route is not None and (route[0], LIMITED_BASE + route[1]) not in known:
            found.append(f"{entry.id}: no route {route[0]} {route[1]} in the route table")
    if found or not any(entry.member() for entry in registry):
        return found
    try:
        openapi.document_bytes(registry)
    except LookupError as exc:
        found.append(str(exc))
    return found


def extra_routes(registry: Iterable[Deprecation]) -> tuple[Route, ...]:
    """Return the routes the registry adds: :func:`test_routes`, then :func:`removed_routes`."""
    return (*test_routes(registry), *removed_routes(registry))


def test_routes(registry: Iterable[Deprecation]) -> tuple[Route, ...]:
    """Return the test-only route when ``registry`` names it (else nothing)."""
    from dialcues_rest.routes import Route

    named = any(e.kind == Kind.ROUTE and e.rest_route() == TEST_ROUTE for e in registry)
    if not named:
        return ()
    return (Route(TEST_ROUTE[0], LIMITED_BASE + TEST_ROUTE[1], answer_test_route),)


def removed_routes(registry: Iterable[Deprecation]) -> tuple[Route, ...]:
    """Return a route answering ``gone`` for each removed route the route table lacks."""
    from dialcues_rest.routes import ROUTES, Route

    served = {(r.method, r.path) for r in (*ROUTES, *test_routes(registry))}
    found = []
    for entry in registry:
        route = entry.rest_route() if entry.kind == Kind.ROUTE and entry.removed else None
        if route is not None and (route[0], LIMITED_BASE + route[1]) not in served:
            found.append(Route(route[0], LIMITED_BASE + route[1], _answer_gone(entry.id)))
    return tuple(found)


def extra_operations(registry: Iterable[Deprecation]) -> dict[tuple[str, str], Operation]:
    """Return the OpenAPI metadata of :func:`test_routes` (removed routes have none)."""
    return {(r.method, r.path): TEST_OPERATION for r in test_routes(registry)}


# ----------------------------------------------------------------------------- middleware
def _middleware(index: dict[tuple[str, str], RouteDeprecations]) -> Middleware:
    @web.middleware
    async def deprecations(request: web.Request, handler: Handler) -> web.StreamResponse:
        entries = _entries(index, request)
        response = await handler(request)
        if entries is not None:
            body = await _request_json(request) if entries.request else None
            answer = _reply_json(response) if entries.response else None
            used = entries.used(request.query.keys(), body, answer)
            if used:
                request[DEPRECATED] = True
                response.headers.update(headers(used))
        return response

    return deprecations


def _removal_middleware(index: dict[tuple[str, str], RouteDeprecations]) -> Middleware:
    @web.middleware
    async def removals(request: web.Request, handler: Handler) -> web.StreamResponse:
        entries = _entries(index, request)
        if entries is None:
            return await handler(request)
        gone = entries.gone()
        if gone is not None:
            raise Gone(gone.id)
        body = await _request_json(request) if entries.removed_request() else None
        entries.refuse_removed(request.query.keys(), body)
        return _without(await handler(request), entries.removed_response())

    return removals


def _entries(
    index: dict[tuple[str, str], RouteDeprecations], request: web.Request
) -> RouteDeprecations | None:
    """Return what ``index`` says about the request's route (HEAD: its GET), or None."""
    template = route_template(request)
    method = "GET" if request.method == "HEAD" else request.method
    return index.get((method, template)) if template is not None else None


def _without(response: web.StreamResponse, names: frozenset[str]) -> web.StreamResponse:
    """Return ``response`` with the fields ``names`` dropped from its JSON body."""
    answer = _reply_json(response) if names else None
    kept = drop_fields(answer, names)
    if kept is not answer and isinstance(response, web.Response):
        response.body = json.dumps(kept).encode("utf-8")  # as web.json_response dumps it
    return response


async def _request_json(request: web.Request) -> Any:
    """Return the request's JSON body (read by the handler already, else now), or None."""
    if not request.body_exists:
        return None
    try:
        return json.loads(await request.read())
    except (ValueError, web.HTTPException):  # not JSON, or over the size limit
        return None


def _reply_json(response: web.StreamResponse) -> Any:
    """Return a reply's JSON body, or None (no body, or not JSON)."""
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes) or response.content_type not in _JSON_TYPES:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


_JSON_TYPES: Final = frozenset({"application/json", "application/problem+json"})


# ----------------------------------------------------------------------------- routes
async def get_deprecations(request: web.Request) -> web.Response:
    """``GET /deprecations``: the policy and the registry (no credential needed)."""
    no_query(request)
    registry = request.app[DEPRECATIONS]
    return reply(listing(registry))


def _answer_gone(deprecation: str) -> Handler:
    async def answer_gone(request: web.Request) -> web.StreamResponse:
        """Answer ``gone`` (a removed route: the removal middleware answers first)."""
        raise Gone(deprecation)

    return answer_gone


async def answer_test_route(request: web.Request) -> web.Response:
    """``GET /_test/deprecated`` (test registries only): ``{"ok": true}``; ``?fail=1`` is a
    ``validation_error``, so that an error reply can be seen to carry the headers too."""
    fail = only_query(request, "fail").get("fail")
    if fail is not None:
        problem = "asked to fail" if fail == "1" else "must be 1"
        raise ValidationFailed({"fail": problem})
    return reply({"ok": True})


class ProbeReply(Response):
    """The test-only route's answer."""

    ok: Literal[True]


TEST_OPERATION: Final = Operation(
    "getTestDeprecated",
    "A deprecated route that exists only in test builds.",
    "deprecations",
    ProbeReply,
    query=(
        query_parameter(
            "fail", "`1`: answer a `validation_error` instead.", {"type": "string", "enum": ["1"]}
        ),
    ),
    notes="Served only when the app is built with a test registry naming it.",
)
