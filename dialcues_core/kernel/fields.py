"""Reading request fields: the field reader, text, number, choice, search and paging
parsers, and the shared rules of request bodies and query parameters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from dialcues_core.errors import ResourceNotFound, ValidationFailed
from dialcues_core.kernel.moments import _parse_iso

T = TypeVar("T")
MISSING: Any = object()


class FieldReader:
    """Read fields out of a payload, collecting one problem per bad field.

    Unknown fields are problems too (``"is not a known field"``).
    """

    def __init__(self, payload: Mapping[str, Any], known: Iterable[str]):
        self.payload = payload
        self.problems: dict[str, str] = {}
        self.reasons: dict[str, str] = {}
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
            reason = getattr(exc, "reason", None)  # a contract reason (``wider_than_policy``)
            if isinstance(reason, str):
                self.reasons[name] = reason
            return MISSING  # type: ignore[no-any-return]

    def fail(self, name: str, problem: str) -> None:
        """Record a problem found by a rule that spans fields."""
        self.problems.setdefault(name, problem)

    def raise_if_any(self) -> None:
        """Raise ``ValidationFailed`` naming every problem, if there is one."""
        if self.problems:
            raise ValidationFailed(self.problems, reasons=self.reasons)


def parse_bool(value: Any) -> bool:
    """A JSON boolean (``true`` or ``false``, never ``1`` or ``"true"``)."""
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


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


def parse_id(value: Any, kind: str) -> int:
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ResourceNotFound(kind, value)
    return int(text)


def require_object(payload: Any) -> Mapping[str, Any]:
    """Return ``payload`` if it is a JSON object, else raise ``validation_error``."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed({}, "The request body must be a JSON object.")
    return payload


def single_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return query parameters with one value each; a parameter given twice is refused.

    Every repeated parameter is named in one ``validation_error`` (a query string may repeat
    a name; none of the contract's parameters takes several values).
    """
    values: dict[str, Any] = {}
    repeated: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, list):
            if len(value) != 1:
                repeated[name] = "must be given once"
                continue
            value = value[0]
        values[name] = value
    if repeated:
        raise ValidationFailed(repeated)
    return values


def given(value: Any) -> Any:
    return None if value is MISSING else value
