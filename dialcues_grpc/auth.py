"""Credentials of every RPC, read from the ``authorization`` metadata.

Public services: ``authorization: Bearer <api key>``, checked by the core's
:class:`~dialcues_core.accounts.authn.Authenticator` in the contract's order (``unauthorized``,
``invalid_api_key``, ``api_key_revoked``, ``api_key_expired``), exactly as REST does: the
authenticator's in-memory cache answers on the event loop; a miss goes to the database
through the offloader.

Administration services: ``authorization: Bearer <DIALCUES_ADMIN_TOKEN>``, compared in
constant time. No credential is ``unauthorized``; a wrong one is ``invalid_api_key`` (the
contract has no separate code for the admin token).
"""

from __future__ import annotations

import hashlib
import hmac
from contextvars import ContextVar
from typing import Any

from dialcues_core.accounts.authn import Authenticator
from dialcues_core.accounts.model import Principal
from dialcues_core.errors import InvalidApiKey, MissingCredentials
from dialcues_core.offload import Offloader

AUTHORIZATION = "authorization"

ADMITTED: ContextVar[Principal | None] = ContextVar("admitted_principal", default=None)
"""The principal the platform interceptor identified for the RPC running in this task, so
the servicer does not authenticate the same call a second time."""


def bearer_token(context: Any) -> str | None:
    """Return the token of the call's ``authorization: Bearer <token>`` metadata, else None.

    The scheme is case-insensitive; another scheme, or no token, counts as no credential.
    With several ``authorization`` entries the first one counts.
    """
    for key, value in context.invocation_metadata() or ():
        if key == AUTHORIZATION:
            scheme, _, token = str(value).strip().partition(" ")
            if scheme.lower() != "bearer":
                return None
            return token.strip() or None
    return None


class ApiKeyAuth:
    """Resolve the principal of a public RPC through the core's authenticator."""

    def __init__(self, authenticator: Authenticator, offloader: Offloader):
        self.authenticator = authenticator
        self.offloader = offloader

    async def principal(self, context: Any) -> Principal:
        """Return who the call's API key acts as, or raise the core's auth error."""
        admitted = ADMITTED.get()
        if admitted is not None:
            return admitted
        raw = bearer_token(context)
        found = self.authenticator.peek(raw)
        if found is None:
            found = await self.offloader.run(self.authenticator.authenticate, raw)
        return found


class AdminAuth:
    """Check the admin token of an administration RPC."""

    def __init__(self, token: str):
        if not token:
            raise ValueError("an admin token must not be empty")
        self._digest = hashlib.sha256(token.encode("utf-8")).digest()

    def check(self, context: Any) -> None:
        """Return when the call carries the admin token; raise the auth error otherwise."""
        raw = bearer_token(context)
        if raw is None:
            raise MissingCredentials("Missing credentials: send 'Authorization: Bearer <token>'.")
        given = hashlib.sha256(raw.encode("utf-8")).digest()
        if not hmac.compare_digest(given, self._digest):
            raise InvalidApiKey("The admin token is invalid.")
