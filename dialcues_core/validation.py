"""Field rules of the contract: text limits, phone numbers, zones, local time → instant, queries.

Each ``parse_*`` function takes a raw wire value (already JSON-decoded, or a query string) and
returns the domain value or raises ``ValueError`` whose text is the user-facing problem
("must be an E.164 number such as +14155552671"). :class:`FieldReader` collects those
problems per field so that one ``ValidationFailed`` names every bad field at once.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import phonenumbers

from dialcues_core import recurrence
from dialcues_core.errors import ValidationFailed
from dialcues_core.localtime import load_zone, to_instant, to_local
from dialcues_core.model import RecurrenceKind

T = TypeVar("T")
MISSING: Any = object()

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
r"""The contract's ``^\+[1-9]\d{1,14}$``, matched whole (``fullmatch``: Python's ``$`` would let
a trailing newline through) and ASCII digits only (Python's ``\d`` is any Unicode digit)."""
E164_PROBLEM = "must be an E.164 number such as +14155552671"


class FieldReader:
    """Read fields out of a payload, collecting one problem per bad field.

    Unknown fields are problems too (``"is not a known field"``).
    """

    def __init__(self, payload: Mapping[str, Any], known: Iterable[str]):
        self.payload = payload
        self.problems: dict[str, str] = {}
        for name in payload:
            if name not in known:
                self.problems[name] = "is not a known field"

    def has(self, name: str) -> bool:
        """Tell whether ``name`` was sent."""
        return name in self.payload

    def read(self, name: str, parse: Callable[[Any], T], *, required: bool = False) -> T:
        """Parse ``name`` (or record why it is bad); return ``MISSING`` when absent or bad."""
        if name not in self.payload:
            if required:
                self.problems[name] = "is required"
            return MISSING  # type: ignore[no-any-return]
        try:
            return parse(self.payload[name])
        except ValueError as exc:
            self.problems[name] = str(exc)
            return MISSING  # type: ignore[no-any-return]

    def fail(self, name: str, problem: str) -> None:
        """Record a problem found by a rule that spans fields."""
        self.problems.setdefault(name, problem)

    def raise_if_any(self) -> None:
        """Raise ``ValidationFailed`` naming every problem, if there is one."""
        if self.problems:
            raise ValidationFailed(self.problems)


# ----------------------------------------------------------------------------- text
def text_parser(max_length: int) -> Callable[[Any], str]:
    """Return a parser of a string of 1–``max_length`` characters after trimming."""

    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        trimmed = value.strip()
        if not 1 <= len(trimmed) <= max_length:
            raise ValueError(f"must be 1–{max_length} characters long")
        return trimmed

    return parse


_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def is_well_formed_id(value: str) -> bool:
    """Tell whether ``value`` can be one of our string ids (``line_…``, ``whsub_…``).

    Anything else (NUL, spaces, 200 characters) cannot name a stored row, so a lookup is
    answered at once, and never reaches a database that would refuse the text itself
    (PostgreSQL refuses NUL in text).
    """
    return 1 <= len(value) <= 64 and set(value) <= _ID_CHARS


parse_title = text_parser(255)
parse_message = text_parser(1000)


def parse_phone_number(value: Any) -> str:
    """Return the E.164 form of ``value``: the exact pattern, then a valid number."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValueError(E164_PROBLEM)
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(E164_PROBLEM) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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


def parse_utc_bound(value: str) -> datetime:
    """Parse a listing bound: an ISO date-time (UTC when it has no offset) or a date."""
    moment = _parse_iso(value)
    if moment is None:
        try:
            moment = datetime.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError("must be an ISO 8601 date-time such as 2026-03-25T00:00:00Z")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 lies before year 1 in UTC
        raise ValueError("must be a date-time between the years 1 and 9999 in UTC") from None


# ----------------------------------------------------------------------------- recurrence
@dataclass(frozen=True, slots=True)
class RecurrenceSpec:
    """A validated recurrence, before it is anchored to a reminder's time and zone."""

    kind: RecurrenceKind
    interval_days: int | None = None
    weekdays: tuple[int, ...] = ()
    cron: str | None = None

    def wire_type(self) -> str:
        """Return the contract's ``recurrence_type`` for this spec."""
        if self.kind in (RecurrenceKind.INTERVAL_DAYS, RecurrenceKind.WEEKDAYS):
            return "custom"
        return self.kind.value

    def wire_config(self) -> dict[str, Any] | None:
        """Return the contract's ``recurrence_config`` object."""
        if self.kind is RecurrenceKind.INTERVAL_DAYS:
            return {"interval_days": self.interval_days}
        if self.kind is RecurrenceKind.WEEKDAYS:
            return {"weekdays": list(self.weekdays)}
        if self.kind is RecurrenceKind.CRON:
            return {"expression": self.cron}
        return None


RECURRENCE_TYPES = ("daily", "weekly", "custom", "cron")


def parse_recurrence_type(value: Any) -> str | None:
    """Parse ``recurrence_type``: one of the four types, or null for a one-off."""
    if value is None:
        return None
    if value not in RECURRENCE_TYPES:
        raise ValueError("must be one of daily, weekly, custom, cron, or null")
    return str(value)


def parse_recurrence_config(value: Any) -> dict[str, Any] | None:
    """Parse ``recurrence_config``: an object, a JSON string holding one, or null."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("must be an object or a JSON string holding one") from None
    if value is not None and not isinstance(value, dict):
        raise ValueError("must be an object or a JSON string holding one")
    return value


def build_recurrence(rtype: str | None, config: dict[str, Any] | None) -> RecurrenceSpec | None:
    """Combine type and config into a spec; ``ValueError`` names the config problem."""
    if rtype is None:
        if config:
            raise ValueError("must be null when recurrence_type is null")
        return None
    if rtype in ("daily", "weekly"):
        if config:
            raise ValueError(f"must be null for a {rtype} recurrence")
        return RecurrenceSpec(RecurrenceKind(rtype))
    if rtype == "cron":
        return RecurrenceSpec(RecurrenceKind.CRON, cron=_cron_from(config))
    return _custom_from(config)


def _cron_from(config: dict[str, Any] | None) -> str:
    if not config or set(config) != {"expression"} or not isinstance(config["expression"], str):
        raise ValueError('must be {"expression": "<five cron fields>"} for cron')
    return recurrence.parse_cron(config["expression"])


def _custom_from(config: dict[str, Any] | None) -> RecurrenceSpec:
    if config and set(config) == {"interval_days"}:
        days = config["interval_days"]
        if not _is_int(days) or not 1 <= days <= 365:
            raise ValueError("interval_days must be an integer from 1 to 365")
        return RecurrenceSpec(RecurrenceKind.INTERVAL_DAYS, interval_days=days)
    if config and set(config) == {"weekdays"}:
        days = config["weekdays"]
        if (
            not isinstance(days, list)
            or not days
            or not all(_is_int(d) and 0 <= d <= 6 for d in days)
            or len(set(days)) != len(days)
        ):
            raise ValueError(
                "weekdays must be a non-empty list of unique integers 0–6 (0 = Sunday)"
            )
        return RecurrenceSpec(RecurrenceKind.WEEKDAYS, weekdays=tuple(sorted(days)))
    raise ValueError('must be {"interval_days": N} or {"weekdays": [0-6, …]} for custom')


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ----------------------------------------------------------------------------- queries
def parse_positive_int(low: int, high: int | None = None) -> Callable[[Any], int]:
    """Return a parser of a decimal integer string within ``low``..``high``."""

    def parse(value: Any) -> int:
        text = str(value)
        if not text.isdigit() or not text.isascii():
            raise ValueError(_range_problem(low, high))
        number = int(text)
        if number < low or (high is not None and number > high):
            raise ValueError(_range_problem(low, high))
        return number

    return parse


MAX_PAGE = (2**63 - 1) // 100
"""The largest page number: its offset, (page - 1) × 100 rows at most, fits a 64-bit integer
(SQLite and PostgreSQL refuse a larger one; a page past the end is empty anyway)."""


def parse_page(value: Any) -> int:
    """Parse a listing's ``page``: an integer from 1 to :data:`MAX_PAGE`."""
    return parse_positive_int(1, MAX_PAGE)(value)


def _range_problem(low: int, high: int | None) -> str:
    if high is None:
        return f"must be an integer ≥ {low}"
    return f"must be an integer from {low} to {high}"


def choice_parser(choices: Iterable[str]) -> Callable[[Any], str]:
    """Return a parser that accepts only one of ``choices``."""
    allowed = tuple(choices)

    def parse(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return str(value)

    return parse


def parse_search(value: Any) -> str:
    """Parse a search string (1–255 characters, no control characters)."""
    text = str(value)
    if not 1 <= len(text) <= 255:
        raise ValueError("must be 1–255 characters long")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError("must not contain control characters")
    return text


#: Joins a reminder's folded title and message in the search column; a search term never
#: contains it (control characters are refused), so a match never spans both fields.
SEARCH_SEPARATOR = "\x1f"


def fold(text: str) -> str:
    """Return the form used for Unicode-aware, case-insensitive search (NFC, case-folded)."""
    return unicodedata.normalize("NFC", text).casefold().replace(SEARCH_SEPARATOR, " ")
