"""The OpenAPI 3.1 document of the REST app, generated from its route table and wire models.

Never written by hand: :func:`document` walks :data:`routes.ROUTES` and, for each route, the
metadata of :data:`operations.OPERATIONS` (summary, scope, models, statuses, parameters);
the schemas are the pydantic models of :mod:`dialcues_rest.wire`. A route without metadata
(or metadata without a route) is a :class:`LookupError`, so a new route cannot go
undocumented. ``scripts/gen_openapi.py`` writes the same document to
``docs/public-api.openapi.yaml``; a test fails on drift.

What every operation declares:

* every status it can return; errors in both media types (``application/json`` with the
  contract's ``{"error": …}`` and ``application/problem+json``);
* ``X-Request-Id`` on every response; the rate-limit headers (optional: absent when limits
  are off); ``Retry-After`` on 429 (and on the 409 ``idempotency_in_progress``);
  ``Idempotent-Replayed`` and the ``Idempotency-Key`` request header on POST, PATCH, DELETE;
* bearer authentication (an API key or an OAuth access token), except on public routes;
* ``deprecated: true`` and ``x-sunset: "<YYYY-MM-DD>"`` on what the deprecation registry
  names (:func:`mark_deprecated`): an operation, a query parameter, or a property of the
  operation's request schema, of its response schema or of its ``items`` (a shared schema's
  property is marked wherever the schema is used, so the registry must name each operation
  that returns it; the drift test says which). What an entry marked ``removed`` names is
  left out instead (:func:`leave_out`): the document describes what the API still serves,
  and ``GET /deprecations`` keeps the history.

A 405 (a method the path does not have) carries ``Allow``; OpenAPI cannot attach a response
to an undeclared method, so it is described once under ``components.responses``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import yaml
from aiohttp import web
from pydantic import BaseModel

from dialcues_core import __version__
from dialcues_core.deprecations import REGISTRY, Deprecation, Kind

if TYPE_CHECKING:
    from dialcues_rest.routes import Route
from dialcues_rest import wire
from dialcues_rest.appkeys import DEPRECATIONS
from dialcues_rest.handlers import no_query
from dialcues_rest.openapi_parts import (
    ERROR_RESPONSES,
    HEADERS,
    IDEMPOTENCY_KEY,
    MUTATING,
    Operation,
    contract_error,
    error_statuses,
)

Json = dict[str, Any]
REF: Final = "#/components/schemas/{model}"
DESCRIPTION: Final = (
    "The Dialcues public API. Shapes and rules: docs/public-api.md; platform promises "
    "(scopes, idempotency, rate limits, usage events): the platform contract. Every error "
    "has a stable `code`; send `Accept: application/problem+json` for RFC 9457 problem "
    "details. A method a path does not have answers 405 with `Allow`."
)


def document(
    routes: Iterable[Route],
    operations: Mapping[tuple[str, str], Operation],
    deprecations: Iterable[Deprecation] = (),
) -> Json:
    """Return the OpenAPI 3.1 document of ``routes``.

    ``operations`` holds the metadata of each route (``operations.OPERATIONS``); the scope of
    each comes from the route's use case (:func:`~dialcues_rest.routes.route_scope`).
    ``deprecations`` are marked (:func:`mark_deprecated`).
    """
    from dialcues_rest.routes import route_scope  # the route table imports this module

    routes = list(routes)
    pairs = [(route.method, route.path) for route in routes]
    check_coverage(pairs, operations)
    paths: Json = {}
    models: dict[str, type[BaseModel]] = {}
    for route in routes:
        method, path = route.method, route.path
        op = dataclasses.replace(operations[(method, path)], scope=route_scope(route))
        paths.setdefault(path, {})[method.lower()] = operation(method, path, op)
        models.update(op.models())
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "Dialcues public API",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "paths": paths,
        "components": components(models),
        "security": [{"bearerAuth": []}],
    }
    mark_deprecated(doc, deprecations)
    return doc


def mark_deprecated(doc: Json, deprecations: Iterable[Deprecation]) -> None:
    """Mark each REST entry in ``doc``: ``deprecated: true`` and ``x-sunset``; then leave
    out what each removed one names (:func:`leave_out`).

    Raise ``LookupError`` naming an entry (not removed) whose operation, parameter or
    property the document lacks.
    """
    from dialcues_rest.routes import BASE  # the route table imports this module

    entries = list(deprecations)
    for entry in entries:
        route = entry.rest_route()
        if route is None or entry.removed:
            continue
        op = doc["paths"].get(BASE + route[1], {}).get(route[0].lower())
        if op is None:
            raise LookupError(f"{entry.id}: no operation {route[0]} {route[1]}")
        mark = {"deprecated": True, "x-sunset": entry.sunset_at.isoformat()}
        name = str(entry.member())
        _declare_headers(doc, op)
        if entry.kind == Kind.ROUTE:
            op.update(mark)
        elif entry.kind == Kind.QUERY_PARAMETER:
            _mark_parameter(op, name, mark, entry.id)
        else:
            schemas = doc["components"]["schemas"]
            if entry.kind == Kind.REQUEST_FIELD:
                places = _request_schemas(op)
            else:
                places = [s for n in _response_schemas(op) for s in _and_items(schemas, n)]
            _mark_property(schemas, places, name, mark, entry.id)
    for entry in entries:
        if entry.removed and entry.rest_route() is not None:
            leave_out(doc, entry)


def leave_out(doc: Json, entry: Deprecation) -> None:
    """Take what a removed REST entry names out of ``doc``: its operation (and a path left
    with none), or its query parameter or property (when the document still has them).

    An operation that refuses a removed parameter or request field declares the deprecation
    headers: its 400 carries them.
    """
    from dialcues_rest.routes import BASE  # the route table imports this module

    method, path = entry.rest_route() or ("", "")
    item = doc["paths"].get(BASE + path, {})
    op, name = item.get(method.lower()), str(entry.member())
    if op is None:
        return
    if entry.kind == Kind.ROUTE:
        del item[method.lower()]
        if not item:
            del doc["paths"][BASE + path]
        return
    schemas = doc["components"]["schemas"]
    if entry.kind == Kind.RESPONSE_FIELD:
        places = [s for n in _response_schemas(op) for s in _and_items(schemas, n)]
    else:
        _declare_headers(doc, op)
        places = _request_schemas(op) if entry.kind == Kind.REQUEST_FIELD else []
    if entry.kind == Kind.QUERY_PARAMETER:
        params = op.get("parameters", [])
        params[:] = [p for p in params if (p.get("in"), p.get("name")) != ("query", name)]
    for place in places:
        schema = schemas.get(place, {})
        schema.get("properties", {}).pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)


DEPRECATION_HEADERS: Final = ("Deprecation", "Sunset", "Link")


def _declare_headers(doc: Json, op: Json) -> None:
    """Declare the deprecation headers on every response of ``op`` (a shared error response
    is copied into the operation first)."""
    shared = doc["components"]["responses"]
    for status, response in op["responses"].items():
        name = _ref_name(response)
        own = dict(shared[name]) if name else dict(response)
        own["headers"] = {
            **own.get("headers", {}),
            **{h: {"$ref": f"#/components/headers/{h}"} for h in DEPRECATION_HEADERS},
        }
        op["responses"][status] = own


def _mark_parameter(op: Json, name: str, mark: Json, entry_id: str) -> None:
    params = op.get("parameters", [])
    for i, param in enumerate(params):
        if param.get("in") == "query" and param.get("name") == name:
            params[i] = {**param, **mark}  # a copy: parameter objects are shared
            return
    raise LookupError(f"{entry_id}: the operation has no query parameter {name!r}")


def _mark_property(
    schemas: Json, places: Iterable[str], name: str, mark: Json, entry_id: str
) -> None:
    for place in places:
        properties = schemas.get(place, {}).get("properties", {})
        if name in properties:
            properties[name] = {**properties[name], **mark}
            return
    raise LookupError(f"{entry_id}: no property {name!r} in the operation's schemas")


def _ref_name(schema: Json) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _request_schemas(op: Json) -> list[str]:
    """Return the component names of an operation's request body schemas."""
    content = op.get("requestBody", {}).get("content", {})
    return [n for media in content.values() if (n := _ref_name(media["schema"]))]


def _response_schemas(op: Json) -> list[str]:
    """Return the component names of an operation's 2xx JSON response schemas."""
    found = []
    for status, response in op["responses"].items():
        media = response.get("content", {}).get("application/json")
        if status.startswith("2") and media and (name := _ref_name(media["schema"])):
            found.append(name)
    return found


def _and_items(schemas: Json, name: str) -> list[str]:
    """Return ``name`` and, for a page, the component name of its ``items``."""
    items = schemas.get(name, {}).get("properties", {}).get("items", {}).get("items", {})
    inner = _ref_name(items) if isinstance(items, dict) else None
    return [name, inner] if inner else [name]


def check_coverage(
    pairs: Iterable[tuple[str, str]], operations: Mapping[tuple[str, str], Operation]
) -> None:
    """Raise ``LookupError`` unless every route has metadata and every metadata a route."""
    routes = set(pairs)
    undocumented = sorted(routes - set(operations))
    orphans = sorted(set(operations) - routes)
    if undocumented or orphans:
        raise LookupError(
            f"routes without metadata: {undocumented}; metadata without route: {orphans}"
        )


def operation(method: str, path: str, op: Operation) -> Json:
    """Return the OpenAPI operation object of one route."""
    out: Json = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.describe(),
        "tags": [op.tag],
    }
    parameters = [*op.path_parameters(path), *op.query]
    if method in MUTATING and op.idempotent:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
    if parameters:
        out["parameters"] = parameters
    if op.request is not None:
        out["requestBody"] = op.request_body()
    out["responses"] = responses(method, path, op)
    if op.public:
        out["security"] = []
    return out


def responses(method: str, path: str, op: Operation) -> Json:
    """Return the success response and every error response ``op`` can give."""
    replayable = method in MUTATING and op.idempotent
    successes = {op.status: op.success(replayable)}
    for status, description in op.other_statuses.items():
        successes[status] = op.success(replayable, description)
    out: Json = {str(status): successes[status] for status in sorted(successes)}
    for status in error_statuses(method, path, op):
        own = op.own_errors.get(status)
        name = ERROR_RESPONSES[status][0]
        out[str(status)] = own if own is not None else {"$ref": f"#/components/responses/{name}"}
    return out


def components(models: Mapping[str, type[BaseModel]]) -> Json:
    """Return the schemas, headers, parameters, error responses and security schemes."""
    all_models: dict[str, type[BaseModel]] = {
        **models,
        "ErrorBody": wire.ErrorBody,
        "Problem": wire.Problem,
    }
    schemas: Json = {}
    for name in sorted(all_models):
        schema = all_models[name].model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return {
        "schemas": dict(sorted(schemas.items())),
        "headers": HEADERS,
        "parameters": {"IdempotencyKey": IDEMPOTENCY_KEY},
        "responses": {
            name: error_response(status) for status, (name, _) in ERROR_RESPONSES.items()
        },
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`dc_live_…`) or an OAuth access token.",
            }
        },
    }


def error_response(status: int) -> Json:
    """Return the reusable response object of one error status, in both media types."""
    headers: dict[str, str] = {}
    if status == 429:
        headers["Retry-After"] = "Retry-After"
    elif status == 409:
        headers["Retry-After"] = "Retry-After-Optional"
    elif status == 405:
        headers["Allow"] = "Allow"
    return contract_error(ERROR_RESPONSES[status][1], headers)


# ----------------------------------------------------------------------------- serving
def app_document(deprecations: tuple[Deprecation, ...] = REGISTRY) -> Json:
    """Return the document of the REST app built with ``deprecations`` (production's
    registry by default): its route table, the test-only route when the registry names it,
    and the registry's marks (removed routes, served only to answer ``gone``, are not in
    it)."""
    # Imported here, not at the top: the route table registers get_openapi below.
    from dialcues_rest.deprecations import extra_operations, test_routes
    from dialcues_rest.operations import OPERATIONS
    from dialcues_rest.routes import ROUTES

    routes = (*ROUTES, *test_routes(deprecations))
    return document(routes, {**OPERATIONS, **extra_operations(deprecations)}, deprecations)


def to_yaml(doc: Json) -> str:
    """Return ``doc`` as YAML in its own key order (stable: the order is the route table's)."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


@functools.cache
def document_bytes(deprecations: tuple[Deprecation, ...] = REGISTRY) -> bytes:
    """Return :func:`app_document` as JSON, built once per registry (on the first request)."""
    return json.dumps(app_document(deprecations), ensure_ascii=False).encode("utf-8")


async def get_openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: this document (no credential needed)."""
    no_query(request)
    body = document_bytes(request.app.get(DEPRECATIONS, REGISTRY))
    return web.Response(body=body, content_type="application/json", charset="utf-8")
