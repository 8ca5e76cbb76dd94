"""Authentication of every request, before routing (see ``docs/public-api.md``).

The middleware only *extracts* the credential; the core decides, in the contract's order
(``unauthorized``, ``invalid_api_key``, ``api_key_revoked``, ``api_key_expired``). Because it
runs before the matched handler (or the router's 404/405), an unknown route answers 401
without valid credentials and 404 with them.

Under ``/api/public/v1`` it also charges the rate limiter (when limits are on) before anything
can refuse the request: the credential's ``read``/``write`` bucket once the caller is known,
else the ``anon`` bucket of the client address (``request.remote``: the peer, since no
forwarding header is trusted). The decision is stored under ``RATE_LIMIT`` (the outer
middleware sends its headers on whatever the reply is); an empty bucket refuses with
``rate_limited`` (429) — before a failed authentication's 401, which is what throttles key
guessing. A known caller is stored under ``PRINCIPAL`` before its bucket is charged, so the
usage event of its 429 names it. Scope refusals (403) come later, from the core, and carry
the headers too. The token endpoint alone refuses in OAuth's shape, ``{"error":
"rate_limited", "error_description"}`` (its clients read no other).
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from dialcues_core.accounts.model import Principal
from dialcues_core.errors import RateLimited
from dialcues_core.platform.ratelimit import Decision, RateLimiter
from dialcues_rest.appkeys import DIALCUES, ERROR_CODE, OFFLOADER, PRINCIPAL, RATE_LIMIT
from dialcues_rest.oauth_handlers import OAuthError, oauth_error

LIMITED_BASE: Final = "/api/public/v1"
"""Requests under this path are rate limited (``routes.BASE``; not imported from there because
``routes`` imports every handler module)."""
_LIMITED_PREFIX: Final = LIMITED_BASE + "/"

PUBLIC_PATHS: Final = frozenset({"/healthz", "/api/oauth/token", "/api/public/v1/openapi.json"})
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


async def principal_of(request: web.Request) -> Principal:
    """Return who the request's API key acts as, or raise the core's auth error.

    The hot path is the authenticator's in-memory cache (no thread hop); a miss goes to
    the database through the offloader.
    """
    raw = bearer_token(request.headers.get(hdrs.AUTHORIZATION))
    authenticator = request.app[DIALCUES].authenticator
    principal = authenticator.peek(raw)
    if principal is None:
        principal = await request.app[OFFLOADER].run(authenticator.authenticate, raw)
    return principal


def is_limited(path: str) -> bool:
    """Tell whether ``path`` is under the rate-limited public API."""
    return path.startswith(_LIMITED_PREFIX) or path == LIMITED_BASE


def credential_of(principal: Principal) -> str:
    """Return the id whose buckets a principal's requests are charged to (key or client)."""
    return principal.api_key_id or principal.client_id or principal.user_id


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Store the request's :class:`Principal` under ``PRINCIPAL`` (public paths excepted).

    Under the public API with limits on, charge the caller's bucket first (module docstring).
    """
    limiter = request.app[DIALCUES].limiter
    if limiter is not None and request.path == TOKEN_PATH:
        try:
            admit(request, limiter.charge_anonymous(request.remote))
        except RateLimited as exc:
            return token_refusal(request, exc)
        return await handler(request)
    if limiter is None or not is_limited(request.path):
        if not is_public(request.path):
            request[PRINCIPAL] = await principal_of(request)
        return await handler(request)
    if is_public(request.path):
        admit(request, limiter.charge_anonymous(request.remote))
        return await handler(request)
    return await _charged(request, handler, limiter)


async def _charged(
    request: web.Request, handler: Handler, limiter: RateLimiter
) -> web.StreamResponse:
    try:
        found = await principal_of(request)
    except Exception:
        admit(request, limiter.charge_anonymous(request.remote))  # 429 wins over the 401
        raise
    request[PRINCIPAL] = found  # first: a refusal's usage event names the caller
    admit(request, limiter.charge_credential(credential_of(found), request.method))
    return await handler(request)


def admit(request: web.Request, decision: Decision) -> None:
    """Remember ``decision`` for the reply's headers; raise ``rate_limited`` if it refuses."""
    request[RATE_LIMIT] = decision
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


def token_refusal(request: web.Request, exc: RateLimited) -> web.Response:
    """Render the token endpoint's ``rate_limited`` (429) in OAuth's error shape."""
    request[ERROR_CODE] = exc.code
    response = oauth_error(OAuthError(exc.code, exc.message, 429), basic=False)
    response.headers[hdrs.RETRY_AFTER] = str(exc.retry_after)
    return response
