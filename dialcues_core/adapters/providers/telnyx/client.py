"""A small JSON client for Telnyx API v2: auth, query encoding, retries and error classes.

Not the ``telnyx`` SDK: it retries POSTs (``max_retries=2`` on 408, 409, 429 and 5xx), and
Telnyx has no idempotency on ``POST /number_orders``, ``/number_reservations`` or
``/messages``, so a retried POST can buy a number or send a text twice (``telephony.md`` §1.3).

What may be repeated, and when:

=================================== ====================================================
request                             repeated (twice at most, after a backoff)
=================================== ====================================================
GET, DELETE (idempotent)            unreachable, unknown outcome (5xx, timeout, a
                                    connection lost after sending), throttled
POST                                unreachable (no byte sent) or throttled: neither did
                                    anything. Never after an unknown outcome
=================================== ====================================================

A throttled request waits what ``Retry-After`` or ``x-ratelimit-reset`` asks (seconds), or
the backoff when neither says; a wait longer than :data:`MAX_WAIT_SECONDS` is not waited:
``CarrierThrottled`` is raised at once with the hint in ``retry_after``.

Failures are classified by ``errors[0].code`` (a string) before the HTTP status
(:func:`classify`); messages never contain the API key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from dialcues_core.errors import (
    CarrierError,
    CarrierRejected,
    CarrierThrottled,
    CarrierUnknownOutcome,
    CarrierUnreachable,
)
from dialcues_core.numbers.model import Refusal

__all__ = [
    "ACCOUNT_CODES",
    "MAX_WAIT_SECONDS",
    "REFUSALS",
    "THROTTLE_CODES",
    "Reply",
    "TelnyxClient",
    "classify",
    "encode_query",
]

logger = logging.getLogger(__name__)

JSON = Any  # a decoded JSON value
Query = Mapping[str, object]
"""Query parameters as nested mappings: ``{"filter": {"phone_number": {"starts_with": …}}}``."""

CONNECT_TIMEOUT_SECONDS: Final = 5.0
RETRIES: Final = 2
"""How many times a request that may be repeated is repeated."""
BACKOFF_SECONDS: Final = 0.25
"""The first backoff; it doubles on each repeat."""
MAX_WAIT_SECONDS: Final = 60.0
"""The longest throttling hint the client waits for before repeating a request."""

ACCOUNT_CODES: Final = frozenset({"10009", "10010", "20012", "20100"})
"""Our account or settings: authentication, authorization, inactive account, no funds."""
THROTTLE_CODES: Final = frozenset({"10011", "40011", "40318"})
"""Throttled: nothing was done; try later."""
REFUSALS: Final[Mapping[str, Refusal]] = {
    **dict.fromkeys(ACCOUNT_CODES, Refusal.ACCOUNT),
    "85000": Refusal.NOT_RECENTLY_SEARCHED,
    "85001": Refusal.NUMBER_UNAVAILABLE,
    "85006": Refusal.NUMBER_UNAVAILABLE,
    "85007": Refusal.HOLD_LIMIT,
    "85008": Refusal.EXTENSION_LIMIT,
    "85004": Refusal.NOT_CONFIGURED,
    "85005": Refusal.NOT_CONFIGURED,
    "40300": Refusal.OPTED_OUT,
    "40010": Refusal.CAMPAIGN,
}
"""What a Telnyx code means here (``telephony.md`` §1.3); any other 4xx is ``REJECTED``."""

_MESSAGE_LIMIT = 300  # keep Telnyx's words, not an unbounded vendor payload

_NOT_SENT = (
    aiohttp.ClientConnectorError,  # DNS failure, refused, TLS handshake: before any byte
    aiohttp.ConnectionTimeoutError,  # the connection was never made
    aiohttp.InvalidURL,  # a mistyped base URL: nothing to connect to
)
"""Client errors that prove the request never left."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer: status, decoded body (None if not JSON), the throttling hint."""

    status: int
    body: JSON
    wait_hint: float | None = None


def encode_query(params: Query, prefix: str = "") -> list[tuple[str, str]]:
    """Return ``params`` in deepObject form: ``filter[phone_number][starts_with]=555``.

    Nested mappings become brackets, sequences are comma-joined (``sms,voice``), booleans
    ``true``/``false``; None values are left out.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs.extend(encode_query(value, name))
        else:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_scalar(item) for item in value)
    return str(value)


def classify(reply: Reply, what: str) -> CarrierError:
    """Return the error a non-2xx ``reply`` to ``what`` (``"POST /number_orders"``) means.

    By ``errors[0].code`` first: throttling codes (or a 429) → ``CarrierThrottled``, the
    codes of :data:`REFUSALS` → ``CarrierRejected`` with their meaning; then by status: any
    other 4xx → ``CarrierRejected`` (meaning ``rejected``, the code kept, else the status),
    anything else (5xx) → ``CarrierUnknownOutcome``.
    """
    code = _error_code(reply.body)
    message = f"Telnyx answered {reply.status} to {what}: {_error_text(reply.body)}"
    message = message[:_MESSAGE_LIMIT]
    if reply.status == 429 or code in THROTTLE_CODES:
        return CarrierThrottled(message, retry_after=reply.wait_hint)
    if code is not None and code in REFUSALS:
        if REFUSALS[code] is Refusal.ACCOUNT:
            logger.warning("Telnyx refused our account or settings: %s", message)
        return CarrierRejected(code, REFUSALS[code], message)
    if 400 <= reply.status < 500:
        return CarrierRejected(code or str(reply.status), Refusal.REJECTED, message)
    return CarrierUnknownOutcome(message, {"status": reply.status, "code": code})


def _error_code(body: JSON) -> str | None:
    """Return ``errors[0].code`` as a string (Telnyx sends strings; numbers are tolerated)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    code = first.get("code") if isinstance(first, dict) else None
    if isinstance(code, bool) or not isinstance(code, str | int):
        return None
    return str(code) or None


def _error_text(body: JSON) -> str:
    """Return ``errors[0]``'s title and detail, or ``no message``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):
        return "no message"
    parts = [str(first[key]) for key in ("code", "title", "detail") if first.get(key)]
    return " — ".join(parts) or "no message"


def _wait_hint(headers: Mapping[str, str]) -> float | None:
    """Return the seconds ``Retry-After`` or ``x-ratelimit-reset`` asks to wait, or None.

    Only the seconds form is read: Telnyx's reset header counts seconds, and an HTTP date
    would need a clock this client does not have (the backoff applies instead).
    """
    for name in ("Retry-After", "x-ratelimit-reset"):
        value = headers.get(name)
        try:
            seconds = float(value) if value is not None else math.nan
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _reason(exc: BaseException) -> str:
    """Return a short reason for a connection failure (never a URL with credentials)."""
    cause = getattr(exc, "os_error", None) or exc
    return (getattr(cause, "strerror", None) or type(cause).__name__)[:200]


def _new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


class TelnyxClient:
    """Send JSON requests to Telnyx under one API key (one client session, opened lazily).

    ``timeout`` bounds a whole request, in seconds (connecting: 5 s at most);
    ``session_factory`` makes the aiohttp session (closed by :meth:`close`).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        session_factory: Callable[[], aiohttp.ClientSession] | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(timeout, CONNECT_TIMEOUT_SECONDS)
        )
        self._session_factory = session_factory or _new_session
        self._session: aiohttp.ClientSession | None = None

    async def get(self, path: str, query: Query | None = None) -> JSON:
        """GET ``path`` and return the decoded body; repeated as the module says."""
        return await self._call("GET", path, query=query, repeatable=True)

    async def post(self, path: str, body: Mapping[str, Any] | None = None) -> JSON:
        """POST ``body`` (none: an empty request) and return the decoded answer.

        Repeated only when nothing was done (unreachable, throttled): never blindly.
        """
        return await self._call("POST", path, body=body, repeatable=False)

    async def delete(self, path: str) -> bool:
        """DELETE ``path``; return False when Telnyx has no such resource (404: already gone)."""
        found = await self._call("DELETE", path, repeatable=True, missing_ok=True)
        return found is not None

    async def close(self) -> None:
        """Close the client session (a later request opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Mapping[str, Any] | None = None,
        repeatable: bool,
        missing_ok: bool = False,
    ) -> JSON:
        """Send until an answer settles it; a DELETE's 404 (``missing_ok``) answers None."""
        what = f"{method} {path}"
        for attempt in range(RETRIES + 1):
            try:
                reply = await self._exchange(method, path, query, body)
                if missing_ok and reply.status == 404:
                    return None
                return _accepted(reply, what, needs_body=not missing_ok)
            except CarrierError as exc:
                wait = _retry_wait(exc, attempt, repeatable)
                if wait is None:
                    raise
            logger.info("Repeating %s in %.2f s", what, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt raises or returns")

    async def _exchange(
        self, method: str, path: str, query: Query | None, body: Mapping[str, Any] | None
    ) -> Reply:
        """Send one request; translate connection failures into carrier errors."""
        url = self._base_url + path
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        params = encode_query(query) if query else None
        try:
            async with self._client().request(
                method, url, params=params, json=body, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                return Reply(response.status, _decode(text), _wait_hint(response.headers))
        except _NOT_SENT as exc:
            raise CarrierUnreachable(
                f"Telnyx could not be reached ({method} {path}): {_reason(exc)}"
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            what = "timed out" if isinstance(exc, TimeoutError) else "dropped the connection"
            raise CarrierUnknownOutcome(f"Telnyx {what} ({method} {path}).") from exc

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._session_factory()
        return self._session


def _accepted(reply: Reply, what: str, *, needs_body: bool) -> JSON:
    """Return the body of a 2xx reply; raise the classified error otherwise."""
    if not 200 <= reply.status < 300:
        raise classify(reply, what)
    if needs_body and not isinstance(reply.body, dict):
        raise CarrierUnknownOutcome(f"Telnyx answered {what} without a JSON object.")
    return reply.body if reply.body is not None else {}


def _retry_wait(exc: CarrierError, attempt: int, repeatable: bool) -> float | None:
    """Return how long to wait before repeating after ``exc``, or None not to repeat."""
    if attempt >= RETRIES:
        return None
    backoff = BACKOFF_SECONDS * (1 << attempt)
    if isinstance(exc, CarrierThrottled):
        hint = exc.retry_after
        if hint is not None and hint > MAX_WAIT_SECONDS:
            return None
        return hint if hint is not None else backoff
    if isinstance(exc, CarrierUnreachable):
        return backoff
    if isinstance(exc, CarrierUnknownOutcome) and repeatable:
        return backoff
    return None


def _decode(text: str) -> JSON:
    """Return the decoded JSON body, or None when it is not JSON."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
