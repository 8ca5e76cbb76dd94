"""Building blocks of the OpenAPI document: the per-operation metadata type, headers, errors.

:class:`Operation` is what :data:`dialcues_rest.operations.OPERATIONS` says about one route;
:func:`error_statuses` derives the error statuses every route of a kind can return (so a
route cannot forget, say, its 401), and an operation adds its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel

from dialcues_core.kernel.fields import MAX_PAGE
from dialcues_rest.wire import BOUND_PATTERN

Json = dict[str, Any]
PROBLEM_JSON: Final = "application/problem+json"
MUTATING: Final = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_PATH_PARAM = re.compile(r"\{(\w+)\}")
INTEGER_ID: Final[Json] = {"type": "integer", "format": "int64", "minimum": 1}

ERROR_RESPONSES: Final[Mapping[int, tuple[str, str]]] = {
    400: (
        "BadRequest",
        "`validation_error` (bad fields, query parameters, JSON or `Idempotency-Key`; "
        "`details.fields` names each), `missing_outbound_line`, `invalid_state`.",
    ),
    401: (
        "Unauthorized",
        "`unauthorized`, `invalid_api_key`, `api_key_revoked`, `api_key_expired`, `token_expired`.",
    ),
    403: ("Forbidden", "`insufficient_scope`: `details.scope` names the scope needed."),
    404: ("NotFound", "`not_found`: no such resource for this user."),
    405: ("MethodNotAllowed", "`method_not_allowed`; `Allow` lists the path's methods."),
    409: (
        "Conflict",
        "`idempotency_mismatch` (the key was used for another request), "
        "`idempotency_in_progress` (with `Retry-After`), `already_exists`.",
    ),
    413: ("PayloadTooLarge", "`payload_too_large`: the body is over 64 KiB."),
    422: (
        "PolicyRefusal",
        "The calling policy refuses a well-formed request, checked in this order: "
        "`recipient_suppressed` (`details.phone_number`, `details.reason`, "
        "`details.suppressed_at`), `consent_required` (`details.required`: the consent type "
        "needed, `details.purpose`; a suppression removal without a newer consent: "
        "`details.consent_id`), `caller_identity_required` (`details.missing`), "
        "`outside_calling_window` (`details.fields`, `details.window_zones`, "
        "`details.next_allowed_at`), `frequency_cap_reached` (`details.free_at`), "
        "`campaign_not_registered` (a text from a US local number to a US number on Telnyx "
        "without a 10DLC campaign: `details.from`, `details.setting`).",
    ),
    429: ("TooManyRequests", "`rate_limited`: retry after `Retry-After` seconds."),
    500: ("InternalError", "`internal_error`: unexpected; safe to retry with backoff."),
    503: ("Unavailable", "`unavailable`: the database does not answer (`smoke_failed` too)."),
}
"""Status → (component name, description) of every error response."""


def _header(description: str, schema: Json, required: bool = False) -> Json:
    return {"description": description, "required": required, "schema": schema}


_INT: Final = {"type": "integer", "minimum": 0}
HEADERS: Final[Json] = {
    "X-Request-Id": _header(
        "The request's id: a valid `X-Request-Id` it sent, else a fresh one.",
        {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
        required=True,
    ),
    "X-RateLimit-Limit": _header("The bucket's capacity (absent when limits are off).", _INT),
    "X-RateLimit-Remaining": _header("Requests left in the bucket now.", _INT),
    "X-RateLimit-Reset": _header("Unix seconds when the bucket is full again.", _INT),
    "RateLimit-Policy": _header("IETF RateLimit-Policy of the bucket.", {"type": "string"}),
    "RateLimit": _header("IETF RateLimit: what is left now.", {"type": "string"}),
    "Retry-After": _header("Seconds to wait before retrying.", _INT, required=True),
    "Retry-After-Optional": _header(
        "Seconds to wait, when known (`idempotency_in_progress`, `carrier_unavailable`).", _INT
    ),
    "Idempotent-Replayed": _header(
        "`true` when this is the stored reply of an earlier request with the same key.",
        {"type": "string", "enum": ["true"]},
    ),
    "Allow": _header("The methods this path allows.", {"type": "string"}, required=True),
    "Cache-Control": _header("Never cache a token.", {"type": "string"}, required=True),
    "Pragma": _header("Never cache a token (HTTP/1.0).", {"type": "string"}),
    "WWW-Authenticate": _header("The Basic challenge, when Basic was used.", {"type": "string"}),
    "Deprecation": _header(
        "RFC 9745: the request used something deprecated, announced at this instant (`@` and "
        "Unix seconds, 00:00 UTC of the announcement).",
        {"type": "string", "pattern": "^@[0-9]+$"},
    ),
    "Sunset": _header(
        "RFC 8594: the first day what the request used may stop working (an HTTP date).",
        {"type": "string"},
    ),
    "Link": _header(
        'The changelog entry of each deprecation used (`rel="deprecation"`).', {"type": "string"}
    ),
}
"""Reusable response headers (``components.headers``)."""

IDEMPOTENCY_KEY: Final[Json] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "1–255 printable ASCII characters. The same key with the same method, path and body "
        "replays the stored reply (`Idempotent-Replayed: true`); with another request it is "
        "`idempotency_mismatch`. Keys are scoped to the user and kept 24 hours."
    ),
    "schema": {"type": "string", "pattern": "^[\\x20-\\x7e]{1,255}$"},
}


RATE_LIMIT_HEADERS: Final = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)
"""The rate-limit headers of every reply (absent when limits are off)."""


def contract_error(description: str, headers: Mapping[str, str] | None = None) -> Json:
    """Return an error response in both media types (the contract's and problem+json).

    ``headers``: more response headers, name → its ``components.headers`` entry; every error
    has ``X-Request-Id`` and the rate-limit headers.
    """
    refs = {name: name for name in ("X-Request-Id", *RATE_LIMIT_HEADERS)}
    refs.update(headers or {})
    return {
        "description": description,
        "headers": {name: {"$ref": f"#/components/headers/{ref}"} for name, ref in refs.items()},
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}},
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}},
        },
    }


@dataclass(frozen=True)
class Operation:
    """What the document says about one route besides its method and path."""

    operation_id: str
    summary: str
    tag: str
    response: type[BaseModel] | None
    """The success body's model; None for an empty body."""
    status: int = 200
    scope: str | None = None
    """The scope the route needs; None: any valid credential (or none when ``public``)."""
    public: bool = False
    request: type[BaseModel] | None = None
    request_media: str = "application/json"
    request_required: bool = True
    query: tuple[Json, ...] = ()
    rejects_query: bool = True
    """Whether an unknown query parameter is a 400 (every authenticated route's rule)."""
    idempotent: bool = True
    """Whether a mutating route takes ``Idempotency-Key``."""
    notes: str = ""
    success_headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    """Error statuses beyond those :func:`error_statuses` derives."""
    own_errors: Mapping[int, Json] = field(default_factory=dict)
    """Error responses in another shape than the contract's (the OAuth token endpoint)."""
    extra_models: tuple[type[BaseModel], ...] = ()
    path_id: Json = field(default_factory=lambda: dict(INTEGER_ID))
    """The schema of the path's ``{id}`` (reminders and executions: a positive integer)."""
    path_description: str = "The resource's id; anything else is `not_found`."
    other_statuses: Mapping[int, str] = field(default_factory=dict)
    """Success statuses besides ``status``, with the same body: status → what it means."""
    path_params: Mapping[str, tuple[Json, str]] = field(default_factory=dict)
    """Path parameters other than the resource's own: name → (schema, description)."""

    def models(self) -> dict[str, type[BaseModel]]:
        """Return the models this operation refers to, by component name."""
        found = [self.response, self.request, *self.extra_models]
        return {m.__name__: m for m in found if m is not None}

    def describe(self) -> str:
        """Return the description: the scope rule, then the notes."""
        if self.public:
            rule = "No credential needed."
        elif self.scope is None:
            rule = "Any valid credential."
        else:
            rule = f"Scope `{self.scope}`."
        return f"{rule} {self.notes}".strip()

    def path_parameters(self, path: str) -> list[Json]:
        """Return the path parameters (each with the schema ``path_id`` unless
        ``path_params`` names it)."""
        own = (self.path_id, self.path_description)
        found = [(name, *self.path_params.get(name, own)) for name in _PATH_PARAM.findall(path)]
        return [
            {"name": name, "in": "path", "required": True, "description": text, "schema": schema}
            for name, schema, text in found
        ]

    def request_body(self) -> Json:
        """Return the request body object of the request model."""
        assert self.request is not None
        ref = {"$ref": f"#/components/schemas/{self.request.__name__}"}
        return {"required": self.request_required, "content": {self.request_media: {"schema": ref}}}

    def success(self, replayable: bool, description: str | None = None) -> Json:
        """Return the success response, with its headers (``description``: the summary's)."""
        headers: Json = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            headers[name] = {"$ref": f"#/components/headers/{name}"}
        headers["RateLimit-Policy"] = {"$ref": "#/components/headers/RateLimit-Policy"}
        headers["RateLimit"] = {"$ref": "#/components/headers/RateLimit"}
        if replayable:
            headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}
        for name in self.success_headers:
            headers[name] = {"$ref": f"#/components/headers/{name}"}
        out: Json = {"description": description or self.summary, "headers": headers}
        if self.response is not None:
            ref = {"$ref": f"#/components/schemas/{self.response.__name__}"}
            out["content"] = {"application/json": {"schema": ref}}
        return out


def error_statuses(method: str, path: str, op: Operation) -> list[int]:
    """Return every error status ``op`` can answer, sorted."""
    statuses = {429, 500}
    if not op.public:
        statuses |= {400, 401, 503}
    elif op.rejects_query:
        statuses.add(400)
    if op.scope is not None:
        statuses.add(403)
    if _PATH_PARAM.search(path):
        statuses.add(404)
    if method in MUTATING and op.idempotent:
        statuses.add(409)
    if op.request is not None:
        statuses.add(413)
    statuses |= set(op.errors) | set(op.own_errors)
    return sorted(statuses)


def date_bound(name: str, column: str, inclusive: bool) -> Json:
    """Return a listing's ``date_from`` (inclusive) or ``date_to`` (exclusive) on ``column``."""
    kind = "Inclusive" if inclusive else "Exclusive"
    return query_parameter(
        name,
        f"{kind} bound on `{column}`: an ISO 8601 date-time (UTC without an offset) or a date.",
        {"type": "string", "pattern": BOUND_PATTERN, "examples": ["2026-03-25T00:00:00Z"]},
    )


def query_parameter(name: str, description: str, schema: Json) -> Json:
    """Return an optional query parameter object."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


PAGE: Final = query_parameter(
    "page", "Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
)
PAGE_SIZE: Final = query_parameter(
    "page_size", "Items per page.", {"type": "integer", "minimum": 1, "maximum": 100}
)
