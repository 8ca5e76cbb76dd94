"""The REST edge's one error table and the middleware that renders every error as JSON.

Every error leaves as ``{"error": {"code", "message", "details"}}`` — or, for a client whose
``Accept`` prefers ``application/problem+json``, as RFC 9457 problem details with the
extensions ``code``, ``request_id`` and (validation) ``errors``:

* a core :class:`~dialcues_core.errors.DialcuesError` gets the status of the first category
  in its MRO found in :data:`STATUS_BY_CATEGORY` and keeps its own ``code``, message and
  details (an error with a ``retry_after`` — rate limited, idempotency in progress, storage
  unavailable — adds ``Retry-After``);
* aiohttp's own ``HTTPException`` (unknown route, wrong method, body too large …) keeps its
  status and headers (``Allow`` on a 405) and gets a code from :data:`CODE_BY_HTTP_STATUS`;
  so does this edge's :class:`Gone` (410 ``gone``: a route removed after its sunset,
  ``telephony.md`` §5.1), which adds ``details.deprecation`` (the registry entry's id; a
  problem carries it as the extension member ``deprecation``). Like ``method_not_allowed``
  and ``payload_too_large``, ``gone`` exists only in the edges, never as a core error;
* anything else is ``internal_error`` (500): logged with its traceback, never echoed. That
  includes the core's ``ProviderError`` and ``CarrierError`` trees, deliberately absent from
  the table: the core maps them (a call's outcome, ``carrier_unavailable``,
  ``number_unavailable`` …) before they could reach a client, so one that does is a bug.

A problem's ``errors[]`` names where each bad field came from (RFC 9457 §3): ``parameter``
for a query parameter of the request, ``header`` for a header the edge checks
(``Idempotency-Key``), else ``pointer``, an RFC 6901 JSON Pointer into the body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from dialcues_core.errors import (
    Conflict,
    DialcuesError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from dialcues_core.platform.idempotency import KEY_FIELD
from dialcues_rest.appkeys import ERROR_CODE, REQUEST_ID

logger = logging.getLogger("dialcues.rest")

STATUS_BY_CATEGORY: Final[Mapping[type[DialcuesError], int]] = {
    InvalidArgument: 400,
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    FailedPrecondition: 400,
    Conflict: 409,
    ResourceExhausted: 429,
    Unavailable: 503,
}
"""HTTP status of each core error category (a concrete error inherits its category's).

``ProviderError`` and ``CarrierError`` have no entry on purpose: never a client error (500).
"""

CODE_BY_HTTP_STATUS: Final[Mapping[int, str]] = {
    400: "validation_error",
    404: "not_found",
    405: "method_not_allowed",
    410: "gone",
    413: "payload_too_large",
}
"""Contract code of each aiohttp ``HTTPException`` status the edge can raise."""

MESSAGE_BY_HTTP_STATUS: Final[Mapping[int, str]] = {
    404: "No route matches this method and path.",
    405: "This route does not allow this method; see the Allow header.",
    410: "This route was removed after its sunset; see GET /api/public/v1/deprecations.",
    413: "The request body is too large (64 KiB; provider webhooks 1 MiB).",
}

INTERNAL_MESSAGE: Final = "An unexpected error occurred; it is safe to retry with backoff."

PROBLEM_JSON: Final = "application/problem+json"
PROBLEM_TYPE_BASE: Final = "https://dialcues.dev/errors/"
HEADER_FIELDS: Final = frozenset({KEY_FIELD})
"""Fields that are request headers (a problem names them as ``header``)."""


class Gone(web.HTTPGone):
    """410 ``gone``: the request's route was removed after its sunset (edge only).

    ``deprecation`` is the id of the registry entry that removed it (``details.deprecation``).
    """

    def __init__(self, deprecation: str):
        super().__init__()
        self.deprecation = deprecation


def status_of(error_class: type[DialcuesError]) -> int | None:
    """Return the HTTP status of a core error class, or None when no category maps it."""
    if error_class.http_status is not None:  # a 422 policy refusal overrides its category
        return error_class.http_status
    for cls in error_class.__mro__:
        status = STATUS_BY_CATEGORY.get(cls)
        if status is not None:
            return status
    return None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error about to be sent, in neither wire shape yet."""

    status: int
    code: str
    message: str
    details: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None

    def as_contract(self) -> web.Response:
        """Render the contract's ``{"error": {"code", "message", "details"}}`` shape."""
        body = {"error": {"code": self.code, "message": self.message, "details": self.details}}
        return web.json_response(body, status=self.status, headers=self.headers)

    def as_problem(self, request: web.Request) -> web.Response:
        """Render RFC 9457 problem details, with the contract's extensions."""
        body: dict[str, Any] = {
            "type": f"{PROBLEM_TYPE_BASE}{self.code}",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.message,
            "instance": request.path,
            "code": self.code,
            "request_id": request.get(REQUEST_ID),
        }
        named = ("validation_error", "outside_calling_window")
        fields = (self.details or {}).get("fields") if self.code in named else None
        if fields is not None:
            body["errors"] = [field_error(request, k, v) for k, v in fields.items()]
        if self.code == "gone":
            body["deprecation"] = (self.details or {}).get("deprecation")
        return web.json_response(
            body, status=self.status, headers=self.headers, content_type=PROBLEM_JSON
        )


def field_error(request: web.Request, field: str, problem: str) -> dict[str, str]:
    """Return one ``errors[]`` member: the problem, and where ``field`` came from."""
    if field in request.query:
        return {"detail": problem, "parameter": field}
    if field in HEADER_FIELDS:
        return {"detail": problem, "header": field}
    return {"detail": problem, "pointer": json_pointer(field)}


def json_pointer(field: str) -> str:
    """Return the RFC 6901 pointer of a top-level body member (``~`` → ``~0``, ``/`` → ``~1``)."""
    return "/" + field.replace("~", "~0").replace("/", "~1")


def core_error(exc: DialcuesError) -> ErrorReply:
    """Map a core error through the category table (unmapped ones are internal errors)."""
    status = status_of(type(exc))
    if status is None:
        return unexpected(exc)
    retry = None
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int):
        retry = {str(hdrs.RETRY_AFTER): str(retry_after)}
    return ErrorReply(status, exc.code, exc.message, exc.details, retry)


def http_error(exc: web.HTTPException) -> ErrorReply:
    """Map one of aiohttp's own HTTP errors, keeping its status and headers."""
    status = exc.status
    if status >= 500:
        return unexpected(exc)
    code = CODE_BY_HTTP_STATUS.get(status) or exc.reason.lower().replace(" ", "_")
    message = MESSAGE_BY_HTTP_STATUS.get(status) or f"{exc.reason}."
    skip = {hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH}
    headers = {k: v for k, v in exc.headers.items() if k not in skip}
    details = {"deprecation": exc.deprecation} if isinstance(exc, Gone) else None
    return ErrorReply(status, code, message, details, headers)


def unexpected(exc: BaseException) -> ErrorReply:
    """Log ``exc`` with its traceback and answer a bare ``internal_error``."""
    logger.error("Unexpected error while serving a request", exc_info=exc)
    return ErrorReply(500, "internal_error", INTERNAL_MESSAGE)


def prefers_problem(accept: str | None) -> bool:
    """Tell whether an ``Accept`` header prefers ``application/problem+json`` to plain JSON."""
    if not accept:
        return False
    problem, plain = 0.0, 0.0
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        q = _quality(params)
        media = media.strip().lower()
        if media == PROBLEM_JSON:
            problem = max(problem, q)
        elif media in ("application/json", "application/*", "*/*"):
            plain = max(plain, q)
    return problem > 0 and problem >= plain


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(1.0, max(0.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


@web.middleware
async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error raised below into the contract's JSON error response."""
    try:
        return await handler(request)
    except DialcuesError as exc:
        reply = core_error(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reply = http_error(exc)
    except Exception as exc:
        reply = unexpected(exc)
    request[ERROR_CODE] = reply.code  # for the usage event
    if prefers_problem(request.headers.get(hdrs.ACCEPT)):
        return reply.as_problem(request)
    return reply.as_contract()
