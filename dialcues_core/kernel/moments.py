"""Times as users give them: zone names, local date-times and instants, listing bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialcues_core.kernel.localtime import load_zone, to_instant, to_local


def parse_zone(value: Any) -> tuple[str, ZoneInfo]:
    """Return the zone name and its rules from the ``tzdata`` package."""
    if not isinstance(value, str):
        raise ValueError("must be an IANA time zone name such as America/New_York")
    try:
        return value, load_zone(value)
    except KeyError:
        raise ValueError("must be an IANA time zone name such as America/New_York") from None


@dataclass(frozen=True, slots=True)
class LocalMoment:
    """A time as the user gave it: wall-clock ``local`` (naive) or an ``instant`` (aware UTC)."""

    local: datetime | None
    instant: datetime | None

    def resolve(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """Return ``(local wall-clock, UTC instant)`` in ``zone`` (DST rules in ``localtime``)."""
        if self.instant is not None:
            return to_local(self.instant, zone), self.instant
        assert self.local is not None
        return self.local, to_instant(self.local, zone)


MIN_YEAR = 1900
MAX_YEAR = 2999
"""A reminder's times lie in these years: far enough from ``datetime``'s limits (1–9999)
that converting between zones, and a recurrence's later occurrences, never overflow."""


def parse_local_moment(value: Any) -> LocalMoment:
    """Parse an ISO 8601 date-time: naive → local wall-clock; with ``Z``/offset → instant."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time such as 2026-03-25T09:00:00")
    moment = _parse_iso(value)
    if moment is None:
        raise ValueError("must be an ISO 8601 date-time such as 2026-03-25T09:00:00")
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"must be a date-time in the years {MIN_YEAR} to {MAX_YEAR}")
    moment = moment.replace(microsecond=0)
    if moment.tzinfo is None:
        return LocalMoment(moment, None)
    return LocalMoment(None, moment.astimezone(UTC))


def _parse_iso(value: str) -> datetime | None:
    if len(value) < 16 or value[10:11] not in ("T", "t", " "):
        return None
    try:
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
