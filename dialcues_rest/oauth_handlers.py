"""``POST /api/oauth/token``: the OAuth 2.1 client-credentials token endpoint.

The request is form-encoded (``application/x-www-form-urlencoded``, RFC 6749 §4.4):
``grant_type=client_credentials``, the client's credentials either as ``client_id`` and
``client_secret`` in the body or as HTTP Basic (RFC 6749 §2.3.1: each part form-encoded,
then base64) — never both — and an optional space-separated ``scope``.

Success is 200 ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``. Errors
use OAuth's own shape, ``{"error": "<code>", "error_description": "…"}`` (RFC 6749 §5.2),
rendered here rather than by the contract's error renderer: ``invalid_client`` 401 (with
``WWW-Authenticate: Basic`` when Basic was used), ``invalid_request``, ``invalid_scope`` and
``unsupported_grant_type`` 400. Every reply carries ``Cache-Control: no-store`` and
``Pragma: no-cache``. Anything else (a body over 64 KiB, a database outage) still leaves
through the contract's renderer.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import hdrs, web

from dialcues_core.accounts.oauth import IssuedToken
from dialcues_core.errors import InvalidClient, InvalidScope
from dialcues_rest.appkeys import DIALCUES, OFFLOADER

FORM: Final = "application/x-www-form-urlencoded"
GRANT_TYPE: Final = "client_credentials"
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BASIC_CHALLENGE: Final = 'Basic realm="dialcues", charset="UTF-8"'
_SINGLE: Final = ("grant_type", "client_id", "client_secret", "scope")


class OAuthError(Exception):
    """An error of the token endpoint, in RFC 6749 §5.2's vocabulary."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A parsed token request: the client's credentials and the scope asked for."""

    client_id: str
    client_secret: str
    scope: str | None


# ----------------------------------------------------------------------------- handler
async def issue_token(request: web.Request) -> web.Response:
    """``POST /api/oauth/token``: exchange client credentials for an access token."""
    basic = uses_basic(request.headers.get(hdrs.AUTHORIZATION))
    try:
        parsed = await token_request(request)
        dc = request.app[DIALCUES]
        issued = await request.app[OFFLOADER].run(
            dc.oauth.issue_token, parsed.client_id, parsed.client_secret, parsed.scope
        )
    except InvalidClient as exc:
        return oauth_error(OAuthError("invalid_client", exc.message, 401), basic)
    except InvalidScope as exc:
        return oauth_error(OAuthError("invalid_scope", exc.message), basic)
    except OAuthError as exc:
        return oauth_error(exc, basic)
    return token_reply(issued)


def token_reply(issued: IssuedToken) -> web.Response:
    """Render a successful token response (never cached)."""
    body = {
        "access_token": issued.access_token,
        "token_type": issued.token_type,
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    return web.json_response(body, headers=NO_STORE)


def oauth_error(exc: OAuthError, basic: bool) -> web.Response:
    """Render an RFC 6749 §5.2 error; a 401 to a Basic client carries the Basic challenge."""
    headers = dict(NO_STORE)
    if exc.status == 401 and basic:
        headers[hdrs.WWW_AUTHENTICATE] = BASIC_CHALLENGE
    body = {"error": exc.error, "error_description": exc.description}
    return web.json_response(body, status=exc.status, headers=headers)


# ----------------------------------------------------------------------------- parsing
async def token_request(request: web.Request) -> TokenRequest:
    """Parse and check the request's shape; raise :class:`OAuthError` for a bad one."""
    if request.query_string:
        raise OAuthError("invalid_request", "Send every parameter in the form-encoded body.")
    if request.content_type != FORM:
        raise OAuthError("invalid_request", f"The body must be {FORM}.")
    form = parse_form(await request.read())
    grant = form.get("grant_type")
    if grant is None:
        raise OAuthError("invalid_request", "The grant_type parameter is missing.")
    if grant != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", f"Only {GRANT_TYPE} is supported.")
    client_id, secret = client_credentials(request, form)
    return TokenRequest(client_id, secret, form.get("scope"))


def parse_form(raw: bytes) -> dict[str, str]:
    """Decode a form body; a parameter without a value counts as absent (RFC 6749 §3.2).

    A repeated parameter, or a body that is not UTF-8, is ``invalid_request``.
    """
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "The body is not valid UTF-8 form data.") from None
    form: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen and name in _SINGLE:
            raise OAuthError("invalid_request", f"The {name} parameter is repeated.")
        seen.add(name)
        if value != "":
            form[name] = value
    return form


def client_credentials(request: web.Request, form: dict[str, str]) -> tuple[str, str]:
    """Return the client id and secret, from Basic or from the body (never both).

    With Basic, a ``client_id`` in the body is tolerated when it names the same client.
    """
    basic = basic_credentials(request.headers.get(hdrs.AUTHORIZATION))
    if basic is not None:
        if "client_secret" in form or form.get("client_id", basic[0]) != basic[0]:
            raise OAuthError(
                "invalid_request", "Send the client credentials in Basic or the body, not both."
            )
        return basic
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if client_id is None or secret is None:
        raise OAuthError("invalid_request", "client_id and client_secret are required.")
    return client_id, secret


def uses_basic(header: str | None) -> bool:
    """Tell whether an ``Authorization`` header uses the Basic scheme."""
    return header is not None and header.strip().partition(" ")[0].lower() == "basic"


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Return (client id, secret) of an ``Authorization: Basic`` header; None for no Basic.

    A Basic header that does not decode is ``invalid_client`` (401, with the challenge).
    """
    if header is None or not uses_basic(header):
        return None
    encoded = header.strip().partition(" ")[2]
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, or non-ASCII base64 input
        raise OAuthError("invalid_client", "The Basic credentials do not decode.", 401) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise OAuthError("invalid_client", "Basic credentials need 'client_id:secret'.", 401)
    return unquote_plus(client_id), unquote_plus(secret)
