"""A line's inbound route (``telephony.md`` §3.1): parsed here, stored as its JSON object.

| type | fields |
|---|---|
| ``reminders_readback`` | — (Dialcues' own assistant reads the caller's reminders) |
| ``assistant`` | ``assistant_id`` (1–64 characters; not checked with Vapi) |
| ``transfer`` | ``number`` (E.164, not premium-rate, not a line of the organization) |
| ``message`` | ``text`` (1–1000 characters after trimming; spoken, then the call ends) |
| ``reject`` | — |
| ``external`` | ``timeout_ms`` (500–5000, default 4000), ``fallback`` (any route but ``external``;
  default reject) |
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any, Final

import phonenumbers

from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.phone import parse_phone_number

REJECT_SENTENCE: Final = "This number does not accept calls."


class RouteType(StrEnum):
    """What answering a call on a line does."""

    READBACK = "reminders_readback"
    ASSISTANT = "assistant"
    TRANSFER = "transfer"
    MESSAGE = "message"
    REJECT = "reject"
    EXTERNAL = "external"


_FIELDS: Final[dict[RouteType, frozenset[str]]] = {
    RouteType.READBACK: frozenset(),
    RouteType.ASSISTANT: frozenset({"assistant_id"}),
    RouteType.TRANSFER: frozenset({"number"}),
    RouteType.MESSAGE: frozenset({"text"}),
    RouteType.REJECT: frozenset(),
    RouteType.EXTERNAL: frozenset({"timeout_ms", "fallback"}),
}
DEFAULT_TIMEOUT_MS: Final = 4000


def parse_route(
    value: Any, own_numbers: Collection[str], field: str = "route", external: bool = True
) -> dict[str, Any]:
    """Return the route's normalized object, or raise ``validation_error`` naming each bad
    field (``route.number``, ``route.fallback.type`` …)."""
    problems: dict[str, str] = {}
    route = _route(value, own_numbers, field, external, problems)
    if problems:
        raise ValidationFailed(problems)
    return route


def _route(
    value: Any, own: Collection[str], field: str, external: bool, problems: dict[str, str]
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        problems[field] = "must be an object with a type"
        return {}
    kind = _type(value.get("type"), external)
    if kind is None:
        allowed = [t.value for t in RouteType if external or t is not RouteType.EXTERNAL]
        problems[f"{field}.type"] = "must be one of " + ", ".join(allowed)
        return {}
    for name in value:
        if name != "type" and name not in _FIELDS[kind]:
            problems[f"{field}.{name}"] = "is not a known field"
    route: dict[str, Any] = {"type": kind.value}
    for name in sorted(_FIELDS[kind]):
        parsed = _field(name, value.get(name), own, f"{field}.{name}", problems)
        if parsed is not None:
            route[name] = parsed
    return route


def _type(value: Any, external: bool) -> RouteType | None:
    try:
        kind = RouteType(value)
    except ValueError:
        return None
    return None if kind is RouteType.EXTERNAL and not external else kind


def _field(
    name: str,
    value: Any,
    own: Collection[str],
    path: str,
    problems: dict[str, str],
) -> Any:
    try:
        if name == "assistant_id":
            return _text(value, 64, strip=False)
        if name == "text":
            return _text(value, 1000, strip=True)
        if name == "number":
            return _transfer_number(value, own)
        if name == "timeout_ms":
            return _timeout(value)
        if value is None:
            return {"type": RouteType.REJECT.value}
        return _route(value, own, path, False, problems)
    except ValueError as exc:
        problems[path] = str(exc)
        return None


def _text(value: Any, limit: int, strip: bool) -> str:
    if not isinstance(value, str):
        raise ValueError("is required" if value is None else "must be a string")
    text = value.strip() if strip else value
    if not 1 <= len(text) <= limit or (not strip and not text.strip()):
        raise ValueError(f"must be 1–{limit} characters")
    return text


def _transfer_number(value: Any, own: Collection[str]) -> str:
    if value is None:
        raise ValueError("is required")
    number = parse_phone_number(value)
    kind = phonenumbers.number_type(phonenumbers.parse(number, None))
    if kind == phonenumbers.PhoneNumberType.PREMIUM_RATE:
        raise ValueError("must not be a premium-rate number")
    if number in own:
        raise ValueError("must not be one of the organization's lines")
    return number


def _timeout(value: Any) -> int:
    if value is None:
        return DEFAULT_TIMEOUT_MS
    if not isinstance(value, int) or isinstance(value, bool) or not 500 <= value <= 5000:
        raise ValueError("must be an integer from 500 to 5000")
    return value


def route_type(route: Mapping[str, Any] | None) -> RouteType | None:
    """The type of a stored route (None: no route)."""
    return RouteType(route["type"]) if route else None
