"""The Vapi dialer: places calls through Vapi's REST API and reads its server messages.

Facts about Vapi are in ``spec/vapi.md``. Failures are translated here, where they arise:

=========================================== ==========================================
Vapi answered                               raised
=========================================== ==========================================
2xx                                         nothing: the call id / call / list
429                                         ``ProviderThrottled`` (``Retry-After`` kept)
any other 4xx                               ``ProviderRejected`` (Vapi's message kept)
no connection (DNS, refused, TLS handshake, ``ProviderUnreachable``: no byte was sent, so
connect timeout, an invalid base URL)       the call was certainly not placed
5xx, a timeout or a connection lost after   ``ProviderUnknownOutcome``: the call may exist;
sending, 2xx without a usable body          reconcile with ``find_call`` before redialing
=========================================== ==========================================

(``fetch_call`` answers None on 404.) Messages never contain the API key. The correlation
ids travel in ``assistantOverrides.metadata`` (and the transient assistant's ``metadata``) and
come back on every call object and server message; :func:`parse_server_message` turns
those messages into :class:`CallEvent` objects.

This module and the webhook deliverer are the only parts of the core that import aiohttp
(its client only); the assistant each call carries is built by :mod:`.assistant`. It runs a
little past 400 lines because the dialer and the message parser share the readers of Vapi's
call object; apart, one would import the other's privates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import quote

import aiohttp

from dialcues_core.accounts.model import ProviderSettings
from dialcues_core.adapters.clock import SystemClock
from dialcues_core.adapters.providers.vapi.assistant import (
    SECRET_HEADER,
    SERVER_MESSAGES,
    SERVER_TIMEOUT_SECONDS,
    transient_assistant,
)
from dialcues_core.calling.opening import break_liquid
from dialcues_core.calls.calltoken import call_token
from dialcues_core.calls.ports import PROVIDER_EVENT_PATHS, CallEvent, CallRequest
from dialcues_core.errors import (
    ProviderRejected,
    ProviderThrottled,
    ProviderUnknownOutcome,
    ProviderUnreachable,
)
from dialcues_core.kernel.ports import Clock

__all__ = [
    "EVENTS_PATH",
    "SECRET_HEADER",
    "SERVER_MESSAGES",
    "SERVER_TIMEOUT_SECONDS",
    "VapiDialer",
    "build_call_body",
    "call_to_event",
    "message_call",
    "parse_retry_after",
    "parse_server_message",
]

EVENTS_PATH: Final = PROVIDER_EVENT_PATHS["vapi"]
"""Where, under the public URL, Vapi sends the server messages of the calls we place."""

NAME_LIMIT: Final = 40
"""Vapi refuses a call ``name`` longer than this."""

FIND_LIMIT: Final = 1000
"""The most calls ``GET /call`` returns (and Vapi accepts as ``limit``)."""

FIND_PAGES: Final = 20
"""The most pages of the call listing one search reads (20,000 calls)."""

MAX_ID_DIGITS: Final = 18
"""Our execution ids fit a signed 64-bit integer: a longer "id" names none of ours."""

_MESSAGE_LIMIT = 500  # keep Vapi's message, not an unbounded vendor payload

JSON = Any  # a decoded JSON value


_NOT_SENT = (
    aiohttp.ClientConnectorError,  # DNS failure, refused, TLS handshake: before any byte
    aiohttp.ConnectionTimeoutError,  # the connection was never made
    aiohttp.InvalidURL,  # a mistyped base URL: nothing to connect to
)
"""Client errors that prove the request never left: the call was certainly not placed."""

CONNECT_TIMEOUT_SECONDS: Final = 5.0
"""How long opening a connection to Vapi may take (a connect timeout means "not sent")."""


def _reason(exc: BaseException) -> str:
    """Return a short reason for a connection failure (never a URL with credentials)."""
    cause = getattr(exc, "os_error", None) or exc
    return (getattr(cause, "strerror", None) or type(cause).__name__)[:200]


def _new_session() -> aiohttp.ClientSession:
    """Return the default client session (one per dialer)."""
    return aiohttp.ClientSession()


@dataclass(frozen=True, slots=True)
class _Reply:
    """One HTTP answer from Vapi: status, decoded body (None if not JSON), Retry-After."""

    status: int
    body: JSON
    retry_after: str | None


class VapiDialer:
    """Place calls through Vapi, using the organization's account carried by each request.

    ``public_url`` is how Vapi reaches us (``DIALCUES_PUBLIC_URL``); each call asks Vapi to
    send its server messages to ``{public_url}/api/providers/vapi/events`` and its tool calls
    to ``{public_url}/api/providers/vapi/tools``. One client
    session is created on first use (``session_factory``) and closed by :meth:`close`;
    ``timeout`` bounds each request, in seconds.
    """

    def __init__(
        self,
        public_url: str,
        session_factory: Callable[[], aiohttp.ClientSession] = _new_session,
        timeout: float = 10.0,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._public_url = public_url.rstrip("/")
        self._session_factory = session_factory
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(timeout, CONNECT_TIMEOUT_SECONDS)
        )
        self._clock: Clock = clock or SystemClock()
        self._session: aiohttp.ClientSession | None = None

    async def place_call(self, request: CallRequest) -> str:
        """Create the call (``POST /call``) and return Vapi's call id."""
        provider = _provider(request)
        body = build_call_body(request, self._public_url)
        reply = await self._exchange(provider, "POST", "/call", body=body)
        created = self._check(reply, provider)
        call_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(call_id, str) or not call_id:
            raise ProviderUnknownOutcome("Vapi accepted the call but returned no call id.")
        return call_id

    async def fetch_call(self, request: CallRequest, call_id: str) -> CallEvent | None:
        """Return the call's current state (``GET /call/{id}``), or None if Vapi has none."""
        provider = _provider(request)
        reply = await self._exchange(provider, "GET", f"/call/{quote(call_id, safe='')}")
        if reply.status == 404:
            return None
        return _event_or_unknown(self._check(reply, provider))

    async def find_call(self, request: CallRequest, created_after: datetime) -> CallEvent | None:
        """Return the newest call created after ``created_after`` for ``request``, or None.

        Lists the line's calls (``GET /call?phoneNumberId=…&createdAtGt=…``, newest first)
        and matches their ``assistantOverrides.metadata`` against ``request.correlation``. A
        full page proves nothing about older calls, so the listing pages back in time
        (``createdAtLe`` the oldest ``createdAt`` seen) until a page is not full: "None" is
        an answer only once every call of the window was seen. A listing that does not
        advance, or more than :data:`FIND_PAGES` pages, leaves the outcome unknown.
        """
        provider = _provider(request)
        params = {
            "phoneNumberId": _line_id(request),
            "createdAtGt": _iso(created_after),
            "limit": str(FIND_LIMIT),
        }
        seen: set[object] = set()
        for _ in range(FIND_PAGES):
            reply = await self._exchange(provider, "GET", "/call", params=params)
            calls = self._check(reply, provider)
            if not isinstance(calls, list):
                raise ProviderUnknownOutcome("Vapi answered the call listing with no list.")
            match = _newest_match(calls, request.correlation)
            if match is not None:
                return _event_or_unknown(match)
            if len(calls) < FIND_LIMIT:
                return None
            ids = {call.get("id") for call in calls if isinstance(call, dict)}
            if ids <= seen:
                raise ProviderUnknownOutcome("Vapi's call listing does not advance.")
            seen |= ids
            params["createdAtLe"] = _oldest_created(calls)
        raise ProviderUnknownOutcome("Too many calls on the line to search them all.")

    async def close(self) -> None:
        """Close the client session (a later request opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _exchange(
        self,
        provider: ProviderSettings,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> _Reply:
        """Send one request; a timeout or connection error is an unknown outcome."""
        url = provider.base_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {provider.api_key}"}
        try:
            async with self._client().request(
                method, url, json=body, params=params, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                return _Reply(response.status, _decode(text), response.headers.get("Retry-After"))
        except _NOT_SENT as exc:
            raise ProviderUnreachable(
                f"Vapi could not be reached ({method} {path}): {_reason(exc)}"
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            what = "timed out" if isinstance(exc, TimeoutError) else "dropped the connection"
            raise ProviderUnknownOutcome(f"Vapi {what} ({method} {path}).") from exc

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._session_factory()
        return self._session

    def _check(self, reply: _Reply, provider: ProviderSettings) -> JSON:
        """Return the body of a 2xx reply; raise the matching provider error otherwise."""
        if 200 <= reply.status < 300:
            return reply.body
        message = _error_message(reply, provider.api_key)
        if reply.status == 429:
            retry_after = parse_retry_after(reply.retry_after, self._clock.now())
            raise ProviderThrottled(message, retry_after=retry_after)
        error = ProviderRejected if 400 <= reply.status < 500 else ProviderUnknownOutcome
        raise error(message, {"status": reply.status})


# ----------------------------------------------------------------------------- requests
def build_call_body(request: CallRequest, public_url: str) -> dict[str, Any]:
    """Return the ``POST /call`` body for ``request``: only properties Vapi's schema has.

    The call carries a transient ``assistant`` built by Dialcues (:mod:`.assistant`): the
    opening, the tools and their URL ``{public_url}/api/providers/vapi/tools``, the keypad
    plan, the voicemail message, the events URL ``{public_url}/api/providers/vapi/events``
    and, in both server blocks, the execution's call token (Vapi has no inline secret). No
    ``assistantId``: a saved assistant could hold what we did not write. The correlation ids
    ride in ``assistantOverrides.metadata`` (and the assistant's own ``metadata``).
    """
    provider = _provider(request)
    token = call_token(provider.webhook_secret, request.execution_id)
    body: dict[str, Any] = {
        "phoneNumberId": _line_id(request),
        "customer": {"number": request.to},
        "assistant": transient_assistant(request, provider, public_url, token),
        "assistantOverrides": {"metadata": dict(request.correlation)},
    }
    name = break_liquid(request.title.strip())[:NAME_LIMIT].strip()
    if name:
        body["name"] = name
    return body


def _provider(request: CallRequest) -> ProviderSettings:
    """Return the request's Vapi account; without one the call cannot be placed."""
    if request.provider is None:
        raise ProviderRejected(
            "The organization has no Vapi account configured.",
            {"organization_id": request.organization_id},
        )
    return request.provider


def _line_id(request: CallRequest) -> str:
    """Return the line's Vapi ``phoneNumberId``; without one the call cannot be placed."""
    if not request.line.provider_line_id:
        raise ProviderRejected(
            "The outbound line has no Vapi phone number id.", {"line_id": request.line.id}
        )
    return request.line.provider_line_id


def _iso(moment: datetime) -> str:
    """Format an instant as Vapi does (UTC, milliseconds, ``Z``), rounded down."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


# ----------------------------------------------------------------------------- replies
def _decode(text: str) -> JSON:
    """Return the decoded JSON body, or None when it is not JSON."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _error_message(reply: _Reply, api_key: str) -> str:
    """Return Vapi's error message (a string or a list of them), without the API key."""
    raw = reply.body.get("message") if isinstance(reply.body, dict) else None
    if isinstance(raw, list):
        raw = "; ".join(str(item) for item in raw)
    detail = str(raw) if raw else "no message"
    if api_key:
        detail = detail.replace(api_key, "…")
    return f"Vapi answered {reply.status}: {detail}"[:_MESSAGE_LIMIT]


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` header asks to wait (seconds or HTTP date)."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _newest_match(calls: list[JSON], correlation: Mapping[str, str]) -> dict[str, Any] | None:
    """Return the newest call whose metadata carries all of ``correlation``, or None."""
    matches = [call for call in calls if _correlates(call, correlation)]
    return max(matches, key=lambda call: str(call.get("createdAt") or ""), default=None)


def _oldest_created(calls: list[JSON]) -> str:
    """Return the oldest ``createdAt`` of a page (the next page's ``createdAtLe``)."""
    created = [str(c.get("createdAt")) for c in calls if isinstance(c, dict) and c.get("createdAt")]
    if not created:
        raise ProviderUnknownOutcome("Vapi listed calls without createdAt.")
    return min(created)


def _correlates(call: JSON, correlation: Mapping[str, str]) -> bool:
    """Tell whether the call carries every correlation id (an empty set matches nothing)."""
    metadata = _metadata(call) if isinstance(call, dict) else {}
    pairs = correlation.items()
    return bool(pairs) and all(k in metadata and str(metadata[k]) == v for k, v in pairs)


def _event_or_unknown(call: JSON) -> CallEvent:
    """Return the event of a call Vapi sent us; a malformed one leaves the outcome unknown."""
    try:
        return call_to_event(call if isinstance(call, dict) else {})
    except ValueError as exc:
        raise ProviderUnknownOutcome("Vapi answered with a malformed call.") from exc


# ----------------------------------------------------------------------------- call events
def call_to_event(call: Mapping[str, Any]) -> CallEvent:
    """Return what a Vapi Call object says about the call.

    Tolerates missing and extra fields; raises ``ValueError`` only when the call has no
    ``id`` (a call nobody can refer to). A missing status reads as ``queued``; the duration is
    ``durationSeconds`` when given, else ``endedAt − startedAt``.
    """
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        raise ValueError("a Vapi call object needs an 'id'")
    metadata = _metadata(call)
    started_at, ended_at = _instant(call.get("startedAt")), _instant(call.get("endedAt"))
    return CallEvent(
        call_id=call_id,
        execution_id=_execution_id(metadata.get("execution_id")),
        status=_text(call.get("status")) or "queued",
        ended_reason=_text(call.get("endedReason")),
        started_at=started_at,
        ended_at=ended_at,
        duration_s=_duration(call.get("durationSeconds"), started_at, ended_at),
        cost=_number(call.get("cost")),
        organization_id=_text(metadata.get("organization_id")),
    )


def message_call(payload: object) -> CallEvent | None:
    """Return the call a Vapi server message of any type is about, or None if it names none.

    Every message is authenticated against the execution its call names before its type is
    even looked at, so this reads only ``message.call`` (id and correlation ids).
    """
    message = payload.get("message") if isinstance(payload, dict) else None
    call = message.get("call") if isinstance(message, dict) else None
    if not isinstance(call, dict):
        return None
    try:
        return call_to_event(call)
    except ValueError:
        return None


def parse_server_message(payload: object) -> CallEvent | None:
    """Return the event a Vapi server message reports, or None if there is nothing to apply.

    Understands ``status-update`` (the status, and ``endedReason`` once ``ended``) and
    ``end-of-call-report`` (always ``ended``, with reason, times, cost and duration). Every
    other type, and every malformed payload (not an object, no ``message.call.id``, a
    status that is not a string), gives None: this function never raises, so the caller
    simply acknowledges what it cannot use.
    """
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("call"), dict):
        return None
    parse = _MESSAGE_PARSERS.get(str(message.get("type")))
    if parse is None:
        return None
    try:
        return parse(message, call_to_event(message["call"]))
    except ValueError:
        return None


def _status_update(message: Mapping[str, Any], call: CallEvent) -> CallEvent | None:
    status = message.get("status", call.status)
    if not isinstance(status, str) or not status:
        return None
    reason = _text(message.get("endedReason")) or call.ended_reason
    return replace(call, status=status, ended_reason=reason if status == "ended" else None)


def _end_of_call_report(message: Mapping[str, Any], call: CallEvent) -> CallEvent:
    started_at = _instant(message.get("startedAt")) or call.started_at
    ended_at = _instant(message.get("endedAt")) or call.ended_at
    duration = _duration(message.get("durationSeconds"), started_at, ended_at)
    cost = _number(message.get("cost"))
    return replace(
        call,
        status="ended",
        ended_reason=_text(message.get("endedReason")) or call.ended_reason,
        started_at=started_at,
        ended_at=ended_at,
        duration_s=duration if duration is not None else call.duration_s,
        cost=cost if cost is not None else call.cost,
    )


_MESSAGE_PARSERS: Final[
    Mapping[str, Callable[[Mapping[str, Any], CallEvent], CallEvent | None]]
] = {
    "status-update": _status_update,
    "end-of-call-report": _end_of_call_report,
}


# ----------------------------------------------------------------------------- field readers
def _metadata(call: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``call.assistantOverrides.metadata`` (our correlation ids), else
    ``call.assistant.metadata``, or {}."""
    for holder in ("assistantOverrides", "assistant"):  # a transient assistant carries it too
        found = call.get(holder)
        metadata = found.get("metadata") if isinstance(found, dict) else None
        if isinstance(metadata, dict) and metadata:
            return metadata
    return {}


def _execution_id(value: object) -> int | None:
    """Return our execution id from the metadata (sent as a string), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 10**MAX_ID_DIGITS else None
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _instant(value: object) -> datetime | None:
    """Return an ISO 8601 string as an aware UTC instant (naive reads as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _duration(
    seconds: object, started_at: datetime | None, ended_at: datetime | None
) -> int | None:
    """Return whole seconds: ``durationSeconds`` when given, else ``ended − started``."""
    given = _number(seconds)
    if given is not None:
        return max(0, round(given))
    if started_at is None or ended_at is None:
        return None
    return max(0, round((ended_at - started_at).total_seconds()))
