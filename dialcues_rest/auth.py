"""Authentication of every request, before routing (see ``docs/public-api.md``).

The middleware only *extracts* the credential; the core decides, in the contract's order
(``unauthorized``, ``invalid_api_key``, ``api_key_revoked``, ``api_key_expired``). Because it
runs before the matched handler (or the router's 404/405), an unknown route answers 401
without valid credentials and 404 with them.
"""

from __future__ import annotations

from typing import Final

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from dialcues_core.model import Principal
from dialcues_rest.appkeys import DIALCUES, OFFLOADER, PRINCIPAL

PUBLIC_PATHS: Final = frozenset({"/healthz"})
"""Paths answered without credentials."""

PUBLIC_PREFIXES: Final = ("/api/providers/",)
"""Path prefixes that authenticate their own way (provider webhooks sign their payloads)."""


def bearer_token(header: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, else None.

    The scheme is case-insensitive; another scheme, or no token, counts as no credential.
    """
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
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


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Store the request's :class:`Principal` under ``PRINCIPAL`` (public paths excepted)."""
    if not is_public(request.path):
        request[PRINCIPAL] = await principal_of(request)
    return await handler(request)
