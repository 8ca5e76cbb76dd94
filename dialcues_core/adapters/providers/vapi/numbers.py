"""Vapi's phone numbers: Telnyx numbers imported into Vapi, so that inbound calls reach us.

The ``VoiceNumbers`` port of ``telephony.md`` §1.1, for the ``importing`` step of §2.4. Facts
(``providers/telephony-facts.md`` §6.1, ``providers/voice-facts.md`` §1.5, §1.7): ``POST
/phone-number`` answers 201 with the number (``status`` ``activating`` → ``active``, or
``blocked``); ``GET /phone-number`` is a plain array of at most ``limit`` items (default 100;
its order is not documented) with ``createdAt`` filters; ``GET`` and ``DELETE
/phone-number/{id}``; errors are NestJS
``{"message", "error", "statusCode"}`` with no code of their own. Failures become the carrier
errors of the port, raised here where they arise:

=========================================== ==========================================
Vapi answered                               raised
=========================================== ==========================================
2xx                                         nothing: the number (or the list)
429                                         ``CarrierThrottled`` (``Retry-After`` kept)
400 naming ``credentialId``                 ``CarrierRejected``, ``not_configured``
401, 403                                    ``CarrierRejected``, ``account`` (our key)
any other 4xx (``status`` of an unknown id) ``CarrierRejected``, ``rejected``; the code is
                                            the HTTP status (Vapi has no codes)
no connection (DNS, refused, TLS, connect   ``CarrierUnreachable``: nothing was sent
timeout, an invalid base URL)
5xx, a timeout or a connection lost after   ``CarrierUnknownOutcome``: an import may exist;
sending, 2xx without a number id            reconcile with ``find_imported``
=========================================== ==========================================

Retries stay inside one call of a method, a few and short (:data:`RETRY_DELAYS`): lookups and
``DELETE`` (idempotent) after any of the three retryable failures; the import only when
unreachable or throttled, where Vapi certainly did nothing. An import is never sent twice
after a 5xx or a timeout: Vapi has no idempotency, so a second one would be a second number.
A throttle asking to wait longer than :data:`MAX_INLINE_WAIT` is raised at once; the
provisioner's schedule waits instead. Messages never contain the API key or the secret.

The dialer's own readers of Vapi's replies (``voice.py``) are private to it; the few this
module needs are written small here rather than imported from another module's privates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from dialcues_core.adapters.clock import SystemClock
from dialcues_core.adapters.providers.vapi.voice import (
    CONNECT_TIMEOUT_SECONDS,
    SECRET_HEADER,
    parse_retry_after,
)
from dialcues_core.errors import (
    CarrierRejected,
    CarrierThrottled,
    CarrierUnknownOutcome,
    CarrierUnreachable,
)
from dialcues_core.kernel.ports import Clock
from dialcues_core.numbers.model import ImportedNumber, ImportStatus, Refusal

__all__ = [
    "LIST_LIMIT",
    "NAME_LIMIT",
    "SERVER_TIMEOUT_SECONDS",
    "VapiVoiceNumbers",
    "import_body",
]

NAME_LIMIT: Final = 40
"""Vapi refuses a phone number ``name`` longer than this."""

SERVER_TIMEOUT_SECONDS: Final = 20
"""``server.timeoutSeconds`` of an imported number (Vapi's default; ``telephony.md`` §2.4).
It bounds the number's ordinary server messages, not the 7.5 s of ``assistant-request``."""

LIST_LIMIT: Final = 1000
"""The page size asked of ``GET /phone-number`` (as ``GET /call``'s most; Vapi's default is 100)."""

LIST_PAGES: Final = 20
"""The most pages one lookup reads (20,000 numbers): past it the answer is unknown."""

RETRY_DELAYS: Final = (0.5, 2.0)
"""The waits before each retry a method makes inside one call (so at most two retries)."""

MAX_INLINE_WAIT: Final = 5.0
"""The longest ``Retry-After`` waited inside a call; a longer one is raised to the caller."""

_MESSAGE_LIMIT = 500  # keep Vapi's message, not an unbounded vendor payload

JSON = Any  # a decoded JSON value

_NOT_SENT = (
    aiohttp.ClientConnectorError,  # DNS failure, refused, TLS handshake: before any byte
    aiohttp.ConnectionTimeoutError,  # the connection was never made
    aiohttp.InvalidURL,  # a mistyped base URL: nothing to connect to
)
"""Client errors that prove the request never left: Vapi certainly did nothing."""

_RETRYABLE = (CarrierUnreachable, CarrierThrottled, CarrierUnknownOutcome)


@dataclass(frozen=True, slots=True)
class _Reply:
    """One HTTP answer from Vapi: status, decoded body (None if not JSON), Retry-After."""

    status: int
    body: JSON
    retry_after: str | None


class VapiVoiceNumbers:
    """Import Telnyx numbers into one organization's Vapi account, and look after them.

    ``api_key`` is the organization's private Vapi key and ``base_url`` Vapi's API
    (``https://api.vapi.ai``). Every import names ``credential_id`` (the Vapi credential that
    holds the organization's Telnyx API key) and sends the number's server messages to
    ``server_url`` (the full URL, ``{DIALCUES_PUBLIC_URL}/api/providers/vapi/events``) with
    ``x-vapi-secret: secret``. ``timeout`` bounds each request, in seconds. One client
    session is opened on first use and closed by :meth:`close`. ``page_size`` and
    ``retry_delays`` exist for tests; ``clock`` reads an HTTP-date ``Retry-After``.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        credential_id: str,
        server_url: str,
        secret: str,
        timeout: float = 10.0,
        page_size: int = LIST_LIMIT,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        clock: Clock | None = None,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._credential_id = credential_id
        self._server_url = server_url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(timeout, CONNECT_TIMEOUT_SECONDS)
        )
        self._page_size = page_size
        self._retry_delays = retry_delays
        self._clock: Clock = clock or SystemClock()
        self._session: aiohttp.ClientSession | None = None

    async def import_number(self, number: str, name: str) -> ImportedNumber:
        """Import ``number`` (``POST /phone-number``) and return it, usually ``activating``.

        No ``assistantId``: Vapi then sends ``assistant-request`` to our server on every
        inbound call. Retried only when Vapi was unreachable or throttled us; after a 5xx or
        a timeout it raises ``CarrierUnknownOutcome``: look with :meth:`find_imported`
        before importing again.
        """
        body = import_body(
            number, name, credential_id=self._credential_id,
            server_url=self._server_url, secret=self._secret,
        )  # fmt: skip
        reply = await self._call("POST", "/phone-number", body=body, idempotent=False)
        created = _imported(self._body(reply))
        if created is None:
            raise CarrierUnknownOutcome("Vapi accepted the import but returned no number id.")
        return created

    async def find_imported(self, number: str) -> ImportedNumber | None:
        """Return the newest imported number whose ``number`` is ``number``, or None.

        Reads ``GET /phone-number`` page by page: a full page proves nothing about the rest,
        so the next page is bounded by the oldest ``createdAt`` seen (or the newest, should
        Vapi list oldest first), until a page is not full. A listing that does not advance,
        or more than :data:`LIST_PAGES` pages, leaves the answer unknown.
        """
        params = {"limit": str(self._page_size)}
        seen: set[str] = set()
        for _ in range(LIST_PAGES):
            page = self._body(await self._call("GET", "/phone-number", params=params))
            if not isinstance(page, list):
                raise CarrierUnknownOutcome("Vapi answered the phone number listing with no list.")
            found = _newest_with_number(page, number)
            if found is not None:
                return found
            if len(page) < self._page_size:
                return None
            ids = {str(item.get("id")) for item in page if isinstance(item, dict)}
            if ids <= seen:
                raise CarrierUnknownOutcome("Vapi's phone number listing does not advance.")
            seen |= ids
            params = {"limit": str(self._page_size), **_next_bound(page)}
        raise CarrierUnknownOutcome("Too many phone numbers to search them all.")

    async def status(self, provider_line_id: str) -> ImportedNumber:
        """Return an imported number's current state (``GET /phone-number/{id}``).

        An id Vapi does not know raises ``CarrierRejected`` with code ``404``: the import is
        gone (removed in Vapi's dashboard, say), and only a new import brings it back.
        """
        reply = await self._call("GET", _number_path(provider_line_id))
        found = _imported(self._body(reply))
        if found is None:
            raise CarrierUnknownOutcome("Vapi answered with a malformed phone number.")
        return found

    async def remove(self, provider_line_id: str) -> None:
        """Remove an imported number (``DELETE /phone-number/{id}``); 404 means already gone."""
        reply = await self._call("DELETE", _number_path(provider_line_id))
        if reply.status != 404:
            self._body(reply)

    async def close(self) -> None:
        """Close the client session (a later request opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ------------------------------------------------------------------ requests
    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> _Reply:
        """Send a request, retrying what may be retried; return a 2xx or 4xx (not 429) reply.

        ``idempotent`` requests are retried after any retryable failure; the others only
        when unreachable or throttled (:data:`RETRY_DELAYS`, :data:`MAX_INLINE_WAIT`).
        """
        delays = list(self._retry_delays)
        while True:
            try:
                reply = await self._exchange(method, path, body=body, params=params)
                self._raise_retryable(reply)
                return reply
            except _RETRYABLE as exc:
                wait = _retry_wait(exc, delays, idempotent)
                if wait is None:
                    raise
                await asyncio.sleep(wait)

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
    ) -> _Reply:
        """Send one request; translate the transport's failures (nothing sent, or unknown)."""
        headers = {"Authorization": f"Bearer {self._api_key}"}
        try:
            async with self._client().request(
                method, self._base_url + path, json=body, params=params, headers=headers,
                timeout=self._timeout,
            ) as response:  # fmt: skip
                text = await response.text()
                return _Reply(response.status, _decode(text), response.headers.get("Retry-After"))
        except _NOT_SENT as exc:
            raise CarrierUnreachable(
                f"Vapi could not be reached ({method} {path}): {type(exc).__name__}"
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            what = "timed out" if isinstance(exc, TimeoutError) else "dropped the connection"
            raise CarrierUnknownOutcome(f"Vapi {what} ({method} {path}).") from exc

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def _raise_retryable(self, reply: _Reply) -> None:
        """Raise for a 429 (throttled) or a 5xx (the outcome is unknown); pass the rest."""
        if reply.status == 429:
            retry_after = parse_retry_after(reply.retry_after, self._clock.now())
            raise CarrierThrottled(self._message(reply), retry_after=retry_after)
        if reply.status >= 500:
            raise CarrierUnknownOutcome(self._message(reply))

    def _body(self, reply: _Reply) -> JSON:
        """Return the body of a 2xx reply; raise ``CarrierRejected`` for a 4xx one."""
        if 200 <= reply.status < 300:
            return reply.body
        message = self._message(reply)
        if reply.status in (401, 403):
            meaning = Refusal.ACCOUNT
        elif reply.status == 400 and "credentialid" in message.lower():
            meaning = Refusal.NOT_CONFIGURED
        else:
            meaning = Refusal.REJECTED
        raise CarrierRejected(str(reply.status), meaning, message)

    def _message(self, reply: _Reply) -> str:
        """Return Vapi's error message (a string or a list of them), without our secrets."""
        raw = reply.body.get("message") if isinstance(reply.body, dict) else None
        if isinstance(raw, list):
            raw = "; ".join(str(item) for item in raw)
        detail = str(raw) if raw else "no message"
        for secret in (self._api_key, self._secret):
            if secret:
                detail = detail.replace(secret, "…")
        return f"Vapi answered {reply.status}: {detail}"[:_MESSAGE_LIMIT]


# ----------------------------------------------------------------------------- bodies
def import_body(
    number: str, name: str, *, credential_id: str, server_url: str, secret: str
) -> dict[str, Any]:
    """Return the ``POST /phone-number`` body of ``telephony.md`` §2.4, exactly.

    ``name`` is trimmed and cut to :data:`NAME_LIMIT` characters; an empty one becomes the
    number. No ``assistantId``, ``squadId`` or ``workflowId``: without them Vapi asks our
    server (``assistant-request``) on every inbound call.
    """
    label = name.strip()[:NAME_LIMIT].strip() or number
    return {
        "provider": "telnyx",
        "number": number,
        "credentialId": credential_id,
        "name": label,
        "server": {
            "url": server_url,
            "headers": {SECRET_HEADER: secret},
            "timeoutSeconds": SERVER_TIMEOUT_SECONDS,
        },
    }


def _number_path(provider_line_id: str) -> str:
    return "/phone-number/" + quote(provider_line_id, safe="")


# ----------------------------------------------------------------------------- replies
def _decode(text: str) -> JSON:
    """Return the decoded JSON body, or None when it is not JSON."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _retry_wait(exc: Exception, delays: list[float], idempotent: bool) -> float | None:
    """Return how long to wait before retrying after ``exc``, or None not to retry.

    Consumes one of ``delays``. An unknown outcome is retried only for an idempotent
    request; a throttle waits what Vapi asked, unless that is past :data:`MAX_INLINE_WAIT`.
    """
    if not delays or (isinstance(exc, CarrierUnknownOutcome) and not idempotent):
        return None
    delay = delays.pop(0)
    if isinstance(exc, CarrierThrottled) and exc.retry_after is not None:
        return exc.retry_after if exc.retry_after <= MAX_INLINE_WAIT else None
    return delay


def _imported(item: JSON) -> ImportedNumber | None:
    """Return a Vapi phone number as the port's type; None without an id or a number.

    A missing or unknown ``status`` reads as ``activating``: Vapi adds values, and one not
    yet ``active`` must simply be asked again (the import gives up after 24 hours).
    """
    if not isinstance(item, dict):
        return None
    number_id, number = item.get("id"), item.get("number")
    if not isinstance(number_id, str) or not number_id or not isinstance(number, str):
        return None
    try:
        status = ImportStatus(str(item.get("status")))
    except ValueError:
        status = ImportStatus.ACTIVATING
    return ImportedNumber(id=number_id, number=number, status=status)


def _newest_with_number(page: list[JSON], number: str) -> ImportedNumber | None:
    """Return the newest listed phone number whose ``number`` is ``number``, or None."""
    matches = [item for item in page if isinstance(item, dict) and item.get("number") == number]
    newest = max(matches, key=lambda item: str(item.get("createdAt") or ""), default=None)
    return _imported(newest)


def _next_bound(page: list[JSON]) -> dict[str, str]:
    """Return the filter of the next page: older than the oldest seen when the page runs newest
    first (as Vapi lists calls), newer than the newest when it runs oldest first (Vapi does
    not document the order of phone numbers).

    The bound is inclusive (``Le``/``Ge``), so numbers created in the same millisecond are
    not skipped; the ids already seen tell whether the listing advanced.
    """
    created = [str(i.get("createdAt")) for i in page if isinstance(i, dict) and i.get("createdAt")]
    if not created:
        raise CarrierUnknownOutcome("Vapi listed phone numbers without createdAt.")
    if created[0] >= created[-1]:
        return {"createdAtLe": min(created)}
    return {"createdAtGe": max(created)}
