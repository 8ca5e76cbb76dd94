"""Admission of every request, before routing (see ``docs/public-api.md``).

The middleware only *extracts*: the bearer credential, the client address
(``request.remote``: the peer, since no forwarding header is trusted) and the use case of the
matched route (``routes.Route.uses``). The core's
:class:`~dialcues_core.platform.admission.Admission` decides, in the contract's order: it
identifies the caller (``unauthorized``, ``invalid_api_key``, ``api_key_revoked``,
``api_key_expired``), charges the bucket the use case declares — or, for a caller it could
not identify, the ``anon`` bucket of the address — refusing with ``rate_limited`` (429)
before a failed authentication's 401 (which is what throttles key guessing), and then checks
the use case's scope (``insufficient_scope``, 403). A request no route answers (404, 405)
runs no use case and is charged by its method. The decision is stored under ``RATE_LIMIT``
(the outer middleware sends its headers on whatever the reply is), the caller under
``PRINCIPAL`` (the usage event of a 429 or a 403 names it).

Because it runs before the matched handler (or the router's 404/405), an unknown route
answers 401 without valid credentials and 404 with them. Only requests under
``/api/public/v1`` are charged. The token endpoint alone refuses in OAuth's shape,
``{"error": "rate_limited", "error_description"}`` (its clients read no other).
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from dialcues_core.accounts.model import Principal
from dialcues_core.errors import RateLimited
from dialcues_core.kernel.scopes import READ, WRITE
from dialcues_core.platform.admission import Refused, Runner
from dialcues_core.platform.ratelimit import Decision
from dialcues_rest.appkeys import (
    DIALCUES,
    ERROR_CODE,
    OFFLOADER,
    PRINCIPAL,
    RATE_LIMIT,
    USE_CASES,
)
from dialcues_rest.oauth_handlers import OAuthError, oauth_error

LIMITED_BASE: Final = "/api/public/v1"
"""Requests under this path are rate limited (``routes.BASE``; not imported from there because
``routes`` imports every handler module)."""
_LIMITED_PREFIX: Final = LIMITED_BASE + "/"

PUBLIC_PATHS: Final = frozenset(
    {
        "/healthz",
        "/api/oauth/token",
        "/api/public/v1/openapi.json",
        "/api/public/v1/deprecations",
    }
)
"""Paths answered without credentials."""

TOKEN_PATH: Final = "/api/oauth/token"
"""The OAuth token endpoint: no credential, but its ``anon`` bucket throttles secret guessing."""

PUBLIC_PREFIXES: Final = ("/api/providers/",)
"""Path prefixes that authenticate their own way (provider webhooks sign their payloads)."""

_SURROGATES: Final = re.compile(r"[\ud800-\udfff]")


def bearer_token(header: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, else None.

    The scheme is case-insensitive; another scheme, or no token, counts as no credential.
    Bytes that were not UTF-8 (aiohttp keeps them as lone surrogates) become U+FFFD: such a
    token is simply invalid, and it must still hash.
    """
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    if not token.isascii():
        token = _SURROGATES.sub("\ufffd", token)
    return token.strip() or None


def is_public(path: str) -> bool:
    """Tell whether ``path`` skips API-key authentication."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_limited(path: str) -> bool:
    """Tell whether ``path`` is under the rate-limited public API."""
    return path.startswith(_LIMITED_PREFIX) or path == LIMITED_BASE


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Admit the request through the core (module docstring); store its principal.

    Public paths skip credentials (the token endpoint and the limited public ones charge the
    ``anon`` bucket of the address); provider webhooks authenticate their own way.
    """
    dc = request.app[DIALCUES]
    admission = dc.admission
    if is_public(request.path):
        if request.path == TOKEN_PATH or is_limited(request.path):
            decision = admission.charge_anonymous(request.remote)
            if decision is not None:
                request[RATE_LIMIT] = decision
                if not decision.allowed:
                    if request.path == TOKEN_PATH:
                        return token_refusal(request, RateLimited(decision.retry_after))
                    raise RateLimited(decision.retry_after)
        return await handler(request)
    raw = bearer_token(request.headers.get(hdrs.AUTHORIZATION))
    known = request.app[USE_CASES]
    use_case = known.get(request.match_info.handler)
    # A request no route answers (404, 405) runs no use case: it is charged by its method.
    unrouted = None if request.match_info.handler in known else _method_class(request.method)
    limited = is_limited(request.path)
    try:
        admitted = await admission.admit(
            raw, request.remote or "", use_case, _runner(request), charge=limited, rate=unrouted
        )
    except Refused as refused:
        _remember(request, refused.decision, refused.principal)
        raise refused.error from refused.__cause__
    _remember(request, admitted.decision, admitted.principal)
    return await handler(request)


def _method_class(method: str) -> str:
    return READ if method in (hdrs.METH_GET, hdrs.METH_HEAD) else WRITE


def _runner(request: web.Request) -> Runner:
    return request.app[OFFLOADER].run


def _remember(request: web.Request, decision: Decision | None, who: Principal | None) -> None:
    """Keep the caller (for the usage event) and the decision (for the limit headers)."""
    if who is not None:
        request[PRINCIPAL] = who
    if decision is not None:
        request[RATE_LIMIT] = decision


def token_refusal(request: web.Request, exc: RateLimited) -> web.Response:
    """Render the token endpoint's ``rate_limited`` (429) in OAuth's error shape."""
    request[ERROR_CODE] = exc.code
    response = oauth_error(OAuthError(exc.code, exc.message, 429), basic=False)
    response.headers[hdrs.RETRY_AFTER] = str(exc.retry_after)
    return response
