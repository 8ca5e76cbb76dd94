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
* bearer authentication (an API key or an OAuth access token), except on public routes.

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

if TYPE_CHECKING:
    from dialcues_rest.routes import Route
from dialcues_rest import wire
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


def document(routes: Iterable[Route], operations: Mapping[tuple[str, str], Operation]) -> Json:
    """Return the OpenAPI 3.1 document of ``routes``.

    ``operations`` holds the metadata of each route (``operations.OPERATIONS``); the scope of
    each comes from the route's use case (:func:`~dialcues_rest.routes.route_scope`).
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
    return {
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
def app_document() -> Json:
    """Return the document of the REST app's route table."""
    # Imported here, not at the top: the route table registers get_openapi below.
    from dialcues_rest.operations import OPERATIONS
    from dialcues_rest.routes import ROUTES

    return document(ROUTES, OPERATIONS)


def to_yaml(doc: Json) -> str:
    """Return ``doc`` as YAML in its own key order (stable: the order is the route table's)."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


@functools.cache
def document_bytes() -> bytes:
    """Return :func:`app_document` as JSON, built once (on the first request)."""
    return json.dumps(app_document(), ensure_ascii=False).encode("utf-8")


async def get_openapi(request: web.Request) -> web.Response:
    """``GET /openapi.json``: this document (no credential needed)."""
    no_query(request)
    return web.Response(body=document_bytes(), content_type="application/json", charset="utf-8")
