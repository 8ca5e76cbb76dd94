"""The REST edge's one error table and the middleware that renders every error as JSON.

Every error leaves as ``{"error": {"code", "message", "details"}}``:

* a core :class:`~dialcues_core.errors.DialcuesError` gets the status of the first category
  in its MRO found in :data:`STATUS_BY_CATEGORY` and keeps its own ``code``, message and
  details (``RateLimited`` adds ``Retry-After``);
* aiohttp's own ``HTTPException`` (unknown route, wrong method, body too large …) keeps its
  status and headers (``Allow`` on a 405) and gets a code from :data:`CODE_BY_HTTP_STATUS`;
* anything else is ``internal_error`` (500): logged with its traceback, never echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, LooseHeaders

from dialcues_core.errors import (
    Conflict,
    DialcuesError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

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
"""HTTP status of each core error category (a concrete error inherits its category's)."""

CODE_BY_HTTP_STATUS: Final[Mapping[int, str]] = {
    400: "validation_error",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}
"""Contract code of each aiohttp ``HTTPException`` status the edge can raise."""

MESSAGE_BY_HTTP_STATUS: Final[Mapping[int, str]] = {
    404: "No route matches this method and path.",
    405: "This route does not allow this method; see the Allow header.",
    413: "The request body is larger than 64 KiB.",
}

INTERNAL_MESSAGE: Final = "An unexpected error occurred; it is safe to retry with backoff."


def status_of(error_class: type[DialcuesError]) -> int | None:
    """Return the HTTP status of a core error class, or None when no category maps it."""
    for cls in error_class.__mro__:
        status = STATUS_BY_CATEGORY.get(cls)
        if status is not None:
            return status
    return None


def error_response(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: LooseHeaders | None = None,
) -> web.Response:
    """Return the contract's JSON error response."""
    body = {"error": {"code": code, "message": message, "details": details}}
    return web.json_response(body, status=status, headers=headers)


def render_core_error(exc: DialcuesError) -> web.Response:
    """Render a core error through the category table (unmapped ones are internal errors)."""
    status = status_of(type(exc))
    if status is None:
        return render_unexpected(exc)
    headers = {hdrs.RETRY_AFTER: str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(status, exc.code, exc.message, exc.details, headers)


def render_http_exception(exc: web.HTTPException) -> web.Response:
    """Render one of aiohttp's own HTTP errors as JSON, keeping its status and headers."""
    status = exc.status
    if status >= 500:
        return render_unexpected(exc)
    code = CODE_BY_HTTP_STATUS.get(status) or exc.reason.lower().replace(" ", "_")
    message = MESSAGE_BY_HTTP_STATUS.get(status) or f"{exc.reason}."
    skip = {hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH}
    headers = {k: v for k, v in exc.headers.items() if k not in skip}
    return error_response(status, code, message, None, headers)


def render_unexpected(exc: BaseException) -> web.Response:
    """Log ``exc`` with its traceback and answer a bare ``internal_error``."""
    logger.error("Unexpected error while serving a request", exc_info=exc)
    return error_response(500, "internal_error", INTERNAL_MESSAGE)


@web.middleware
async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error raised below into the contract's JSON error response."""
    try:
        return await handler(request)
    except DialcuesError as exc:
        return render_core_error(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return render_http_exception(exc)
    except Exception as exc:
        return render_unexpected(exc)
