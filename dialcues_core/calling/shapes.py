"""The wire shapes of calling windows, blocked dates and caps: parse, validate, render.

Every parser raises ``ValueError`` with one sentence and a ``reason`` attribute when the
contract names one (``wider_than_policy``, ``bypass_not_allowed``); callers turn it into a
``validation_error`` naming the field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dialcues_core.calling.windows import PROFILES, Window, hhmm, hours_window
from dialcues_core.kernel.timefmt import seconds

_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
MAX_BLOCKED_DATES = 500
MAX_REASON = 500


class ShapeError(ValueError):
    """A bad value; ``reason`` is the contract's machine-readable reason, if it has one."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Bypass:
    """A reminder's or a call's window turned off, with who did it and why (audited)."""

    reason: str
    bypassed_at: datetime | None = None
    actor_type: str | None = None
    actor_id: str | None = None
    actor_user_id: str | None = None


@dataclass(frozen=True, slots=True)
class FrequencyCaps:
    """Attempts to one number in the rolling 24 hours and 30 days (``None``: no cap)."""

    per_24h: int | None = 6
    per_30d: int | None = None

    @property
    def off(self) -> bool:
        """Tell whether neither cap applies."""
        return self.per_24h is None and self.per_30d is None

    def to_json(self) -> dict[str, int | None]:
        """The contract's shape."""
        return {"per_24h": self.per_24h, "per_30d": self.per_30d}


def parse_minute(value: object, name: str) -> int:
    """Minutes after midnight of ``HH:MM`` (00:00–23:59)."""
    if not isinstance(value, str) or not (match := _HHMM.fullmatch(value)):
        raise ShapeError(f"{name} must be a time HH:MM from 00:00 to 23:59")
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_window(value: object, *, bypass: bool) -> Window | Bypass:
    """Read hours, a profile, or (``bypass=True``: reminders and calls) a bypass."""
    if not isinstance(value, Mapping):
        raise ShapeError("must be an object: hours, a profile or a bypass")
    keys = set(value)
    if keys == {"profile"}:
        profile = value["profile"]
        if not isinstance(profile, str) or profile not in PROFILES:
            raise ShapeError(f"profile must be one of {', '.join(sorted(PROFILES))}")
        return PROFILES[profile]
    if "bypass" in keys:
        if not bypass:
            raise ShapeError("cannot be a bypass here")
        if keys - {"bypass", "reason"} or value["bypass"] is not True:
            raise ShapeError('a bypass is {"bypass": true, "reason": "…"} (send null to clear)')
        reason = value.get("reason")
        if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= MAX_REASON:
            raise ShapeError(f"a bypass needs a reason of 1 to {MAX_REASON} characters")
        return Bypass(reason.strip())
    if not {"start", "end"} <= keys or keys - {"start", "end", "days"}:
        raise ShapeError("must be {start, end, days?}, {profile} or a bypass")
    start, end = parse_minute(value["start"], "start"), parse_minute(value["end"], "end")
    if start > end:
        raise ShapeError("start must not be after end (a window never crosses midnight)")
    days = value.get("days", list(range(7)))
    if (
        not isinstance(days, list)
        or not 1 <= len(days) <= 7
        or any(type(d) is not int or not 0 <= d <= 6 for d in days)
        or len(set(days)) != len(days)
    ):
        raise ShapeError("days must be 1 to 7 distinct weekdays 0–6 (0 = Sunday)")
    return hours_window(start, end, days)


def window_to_json(window: Window | Bypass) -> dict[str, Any]:
    """The contract's shape of a window or a bypass."""
    if isinstance(window, Bypass):
        return {
            "bypass": True,
            "reason": window.reason,
            "bypassed_at": seconds(window.bypassed_at),
            "bypassed_by": {
                "type": window.actor_type,
                "id": window.actor_id,
                "user_id": window.actor_user_id,
            },
        }
    if window.profile is not None:
        return {"profile": window.profile}
    open_days = [(d, h) for d, h in enumerate(window.days) if h is not None]
    first = open_days[0][1]
    return {
        "start": hhmm(first.start),
        "end": hhmm(first.end),
        "days": [d for d, _ in open_days],
    }


def window_to_stored(window: Window | Bypass | None) -> str | None:
    """The text kept in the database (the JSON of :func:`window_to_json`, bypass included)."""
    import json

    if window is None:
        return None
    shape = window_to_json(window)
    if isinstance(window, Bypass):
        shape["bypassed_at"] = window.bypassed_at.isoformat() if window.bypassed_at else None
    return json.dumps(shape, sort_keys=True, separators=(",", ":"))


def window_from_stored(text: str | None) -> Window | Bypass | None:
    """Read :func:`window_to_stored`'s text back."""
    import json

    if not text:
        return None
    shape = json.loads(text)
    if shape.get("bypass"):
        by = shape.get("bypassed_by") or {}
        at = shape.get("bypassed_at")
        return Bypass(
            shape["reason"],
            datetime.fromisoformat(at) if at else None,
            by.get("type"),
            by.get("id"),
            by.get("user_id"),
        )
    result = parse_window(shape, bypass=False)
    assert isinstance(result, Window)
    return result


@functools.lru_cache(maxsize=16)
def window_from_setting(raw: str) -> Window:
    """``DIALCUES_CALLING_WINDOW``: ``HH:MM-HH:MM`` (every day), a profile name, or ``off``."""
    text = raw.strip()
    if text == "off":
        return hours_window(0, 23 * 60 + 59)
    if text in PROFILES:
        return PROFILES[text]
    start, sep, end = text.partition("-")
    if not sep:
        raise ShapeError("must be HH:MM-HH:MM, a profile (default, us_strict) or off")
    first, last = parse_minute(start.strip(), "start"), parse_minute(end.strip(), "end")
    if first > last:
        raise ShapeError("start must not be after end")
    return hours_window(first, last)


def parse_blocked_dates(value: object) -> tuple[date, ...]:
    """At most 500 distinct local dates ``YYYY-MM-DD`` (years 2000–2999), sorted."""
    if not isinstance(value, list):
        raise ShapeError("must be a list of dates YYYY-MM-DD")
    found: set[date] = set()
    for item in value:
        if not isinstance(item, str) or not re.fullmatch(r"2[0-9]{3}-[0-9]{2}-[0-9]{2}", item):
            raise ShapeError("must hold dates YYYY-MM-DD of the years 2000–2999")
        try:
            found.add(date.fromisoformat(item))
        except ValueError:
            raise ShapeError(f"{item} is not a date") from None
    if len(found) > MAX_BLOCKED_DATES:
        raise ShapeError(f"holds at most {MAX_BLOCKED_DATES} distinct dates")
    return tuple(sorted(found))


def parse_caps(value: object) -> FrequencyCaps:
    """``{"per_24h": null | 1–100, "per_30d": null | 1–1000}``."""
    if not isinstance(value, Mapping) or set(value) - {"per_24h", "per_30d"}:
        raise ShapeError("must be {per_24h, per_30d}")
    return FrequencyCaps(
        _cap(value.get("per_24h"), 100, "per_24h"), _cap(value.get("per_30d"), 1000, "per_30d")
    )


def _cap(raw: object, most: int, name: str) -> int | None:
    if raw is None:
        return None
    if type(raw) is not int or not 1 <= raw <= most:
        raise ShapeError(f"{name} must be null or an integer from 1 to {most}")
    return raw
