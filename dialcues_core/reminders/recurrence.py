"""When a recurring reminder rings: pure functions of a :class:`RecurrenceRule`.

Occurrences are computed on local wall-clock times in ``rule.zone`` (RFC 5545, as
``dateutil.rrule`` computes them) and only then mapped to instants by
:func:`dialcues_core.kernel.localtime.to_instant` (``zoneinfo`` with ``fold=0``):

* ``daily`` rings every day at the anchor's local time; ``weekly`` on the anchor's weekday;
  ``interval_days`` every N days counted from the anchor's date; ``weekdays`` on each listed
  weekday (0 = Sunday … 6 = Saturday) at the anchor's time of day; ``cron`` at every local
  time at or after the anchor that the expression matches, with Vixie cron's (and cronie's)
  day rule: day-of-month and day-of-week are OR-ed only when both are restricted, and a field
  that starts with ``*`` (``*``, ``*/2``) is unrestricted — so ``0 9 */2 * 1`` rings on odd
  days that are Mondays, ``0 9 1-31/2 * 1`` on odd days and on Mondays (croniter's own rule
  OR-s whenever neither field is exactly ``*``);
* a local time that does not exist (spring-forward gap) rings at the offset-shifted instant:
  02:30 on a New York spring-forward day is 07:30 UTC, i.e. 03:30 EDT;
* a local time that occurs twice (fall-back overlap) rings once, at the first instant;
* two local times that map to the same instant (a cron's 02:00 and 03:00 on a spring-forward
  day) ring once.

croniter on its own fires a gap time at the end of the gap and an overlap time twice, so it is
only ever asked about naive wall-clock times here; the rules above are applied on top.
``end_at`` is inclusive: an occurrence exactly at it still rings.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, CroniterError, croniter

from dialcues_core.kernel.localtime import load_zone, to_instant, to_local
from dialcues_core.reminders.model import RecurrenceKind, RecurrenceRule

__all__ = ["first_occurrence", "next_occurrence", "occurrence_local", "parse_cron"]

_FIELD_COUNT_MESSAGE = "must have five fields: minute hour day-of-month month day-of-week"
_ITEM = re.compile(
    r"(?P<base>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?", re.ASCII | re.IGNORECASE
)
_SYNTAX = "numbers, names, ranges, steps and lists only; no L, W, # or ?"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ALL_WEEKDAYS = frozenset(range(7))
# A day this far before ``after``'s own cannot ring after it: no gap lasts more than a day.
_DAY_MARGIN = timedelta(days=2)
# How far an occurrence's wall clock can sit from the time it asked for (the largest gap).
_SHIFT_MARGIN = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name_value: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day-of-week", 0, 7, _DAYS, 0),  # 7 is Sunday too, as in every cron
)


def parse_cron(expression: str) -> str:
    """Validate a five-field cron expression and return it normalized.

    Accepts minute, hour, day-of-month, month and day-of-week fields made of numbers, month
    names (jan-dec) and day names (sun-sat, 7 is also Sunday), ranges, steps, lists and ``*``.
    Rejects a seconds field, ``@`` macros, ``L``, ``W``, ``#``, ``?``, out-of-range values,
    backwards ranges and expressions that never match a real date. Fields come back joined by
    single spaces, names lower-cased, and an equal range (``mon-mon``) as its single value.
    Raise ``ValueError`` with a short human message on any problem.
    """
    if expression.strip().startswith("@"):
        raise ValueError("macros such as @daily are not supported; write the five fields")
    fields = re.findall(r"\S+", expression, re.ASCII)
    if len(fields) != len(_FIELDS):
        raise ValueError(_FIELD_COUNT_MESSAGE)
    parsed = (_parse_field(text, spec) for text, spec in zip(fields, _FIELDS, strict=True))
    normalized = " ".join(parsed)
    _check_matches_some_date(normalized)
    return normalized


def first_occurrence(rule: RecurrenceRule) -> datetime | None:
    """Return the series' first occurrence as an aware UTC instant, or None past ``end_at``.

    For daily, weekly and interval_days it is the anchor itself; for weekdays, the earliest
    listed day on or after the anchor's date at the anchor's time of day; for cron, the
    earliest matching local time at or after the anchor (inclusive).
    Raise ``ValueError`` for an incomplete rule (no interval, no weekdays, no expression).
    """
    return _until_end(rule, _next_instant(rule, None))


def next_occurrence(rule: RecurrenceRule, after: datetime) -> datetime | None:
    """Return the first occurrence strictly after the aware instant ``after``, in UTC.

    ``after`` may be in any zone. Return None when the series has ended: the next occurrence
    lies past ``end_at`` (an occurrence exactly at ``end_at`` is still returned). The cost
    does not grow with the distance between the anchor and ``after``.
    Raise ``ValueError`` for a naive ``after`` or an incomplete rule.
    """
    if after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    return _until_end(rule, _next_instant(rule, after.astimezone(UTC)))


def occurrence_local(rule: RecurrenceRule, instant: datetime, zone: ZoneInfo) -> datetime | None:
    """Return the wall-clock time the rule asked for, of the occurrence at ``instant``.

    ``zone`` holds the rules ``instant`` was computed with (possibly older than the rule's
    zone today). A gap-shifted occurrence answers its asked time (02:30, not the 03:30 it
    rang at). None when no time of the rule maps to ``instant`` (an instant given as such).
    Used to follow a tzdata update from what the user asked, not from what the clock showed.
    """
    shown = to_local(instant, zone)
    for local in _nearby_locals(rule, shown):
        if to_instant(local, zone) == instant:
            return local
    return None


def _nearby_locals(rule: RecurrenceRule, shown: datetime) -> Iterator[datetime]:
    """Yield the rule's local times that could have rung at wall-clock ``shown`` (±3 h)."""
    if rule.kind is RecurrenceKind.CRON:
        if rule.cron is None:
            return
        start = shown - _SHIFT_MARGIN
        for local in _cron_times(_checked_cron(rule.cron), start):
            if local > shown + _SHIFT_MARGIN:
                return
            yield local
        return
    for days in (0, -1, 1):
        yield datetime.combine(shown.date() + timedelta(days=days), rule.anchor.time())


def _parse_field(text: str, spec: _Field) -> str:
    return ",".join(_parse_item(item, spec) for item in text.split(","))


def _parse_item(item: str, spec: _Field) -> str:
    match = _ITEM.fullmatch(item)
    if match is None:
        raise ValueError(f"{spec.name}: {item!r} is not valid ({_SYNTAX})")
    base, step = match["base"], match["step"]
    if step is not None and int(step) == 0:
        raise ValueError(f"{spec.name}: step must be at least 1")
    if base == "*":
        return item
    return _normalized_item(base, step, spec)


def _normalized_item(base: str, step: str | None, spec: _Field) -> str:
    low_text, _, high_text = base.partition("-")
    low = _value(low_text, spec)
    high = _value(high_text, spec) if high_text else None
    if high is not None and low > high:
        raise ValueError(f"{spec.name}: range {base!r} runs backwards")
    if high is None and step is not None:
        raise ValueError(f"{spec.name}: a step follows only * or a range, not {base!r}")
    # croniter reads an equal range ("mon-mon") as the whole field: it means that one value.
    if low == high:
        return low_text.lower()
    return base.lower() if step is None else f"{base.lower()}/{step}"


def _value(text: str, spec: _Field) -> int:
    if text.lower() in spec.names:
        return spec.names.index(text.lower()) + spec.first_name_value
    if not text.isdigit():
        raise ValueError(f"{spec.name}: {text!r} is not valid ({_SYNTAX})")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise ValueError(f"{spec.name}: {value} is outside {spec.low}-{spec.high}")
    return value


def _day_or(expression: str) -> bool:
    """Tell whether the day fields OR (both restricted: neither starts with ``*``)."""
    fields = expression.split()
    return not (fields[2].startswith("*") or fields[4].startswith("*"))


def _check_matches_some_date(expression: str) -> None:
    try:
        start = datetime(2000, 1, 1)  # noqa: DTZ001 - croniter is only asked about wall-clock times
        croniter(expression, start, day_or=_day_or(expression)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise ValueError("never matches a real date") from exc
    except CroniterError as exc:
        raise ValueError(f"not a valid cron expression: {exc}") from exc


@functools.lru_cache(maxsize=1024)
def _checked_cron(expression: str) -> str:
    return parse_cron(expression)


def _until_end(rule: RecurrenceRule, instant: datetime | None) -> datetime | None:
    if instant is None or (rule.end_at is not None and instant > rule.end_at):
        return None
    return instant


def _next_instant(rule: RecurrenceRule, after: datetime | None) -> datetime | None:
    zone = load_zone(rule.zone)
    if rule.kind is RecurrenceKind.CRON:
        return _next_cron_instant(rule, zone, after)
    return _next_day_instant(rule, zone, after)


def _next_day_instant(rule: RecurrenceRule, zone: ZoneInfo, after: datetime | None) -> datetime:
    """Return the first instant of the rule's days after ``after`` (the first at all if None).

    For one time of day a day's instant never precedes the previous day's, so walking the
    days from just before ``after`` and stopping at the first later instant finds the earliest.
    """
    step, wanted = _step_days(rule), _python_weekdays(rule)
    day = _first_day_from(rule.anchor.date(), step, _search_start(rule, zone, after))
    while True:
        if day.weekday() in wanted:
            instant = to_instant(datetime.combine(day, rule.anchor.time()), zone)
            if after is None or instant > after:
                return instant
        day += timedelta(days=step)


def _step_days(rule: RecurrenceRule) -> int:
    if rule.kind is RecurrenceKind.WEEKLY:
        return 7
    if rule.kind is not RecurrenceKind.INTERVAL_DAYS:
        return 1
    if rule.interval_days is None or rule.interval_days < 1:
        raise ValueError("an interval_days rule needs interval_days of at least 1")
    return rule.interval_days


def _python_weekdays(rule: RecurrenceRule) -> frozenset[int]:
    """Return the days to ring on in Python's numbering (0 = Monday)."""
    if rule.kind is not RecurrenceKind.WEEKDAYS:
        return _ALL_WEEKDAYS
    if not rule.weekdays or not set(rule.weekdays) <= _ALL_WEEKDAYS:
        raise ValueError("a weekdays rule needs weekdays from 0 (Sunday) to 6 (Saturday)")
    return frozenset((day - 1) % 7 for day in rule.weekdays)


def _search_start(rule: RecurrenceRule, zone: ZoneInfo, after: datetime | None) -> date:
    if after is None:
        return rule.anchor.date()
    return max(rule.anchor.date(), to_local(after, zone).date() - _DAY_MARGIN)


def _first_day_from(anchor_day: date, step: int, start: date) -> date:
    """Return the first day at or after ``start`` a whole number of steps from the anchor."""
    steps = -(-(start - anchor_day).days // step)
    return anchor_day + timedelta(days=steps * step)


def _next_cron_instant(
    rule: RecurrenceRule, zone: ZoneInfo, after: datetime | None
) -> datetime | None:
    """Take the earliest instant after ``after`` among the matching local times.

    Instants rise with local time except inside a gap, where a time is shifted forward by the
    gap's size; so the search stops at the first local time that exists, keeping the earliest
    instant seen (which makes the 02:00 and 03:00 of a spring-forward day ring once).
    """
    if rule.cron is None:
        raise ValueError("a cron rule needs an expression")
    start = rule.anchor if after is None else max(rule.anchor, _local_search_start(after, zone))
    best: datetime | None = None
    for local in _cron_times(_checked_cron(rule.cron), start):
        instant = to_instant(local, zone)
        if after is None or instant > after:
            best = instant if best is None else min(best, instant)
            if to_local(instant, zone) == local:
                return best
    return best


def _local_search_start(after: datetime, zone: ZoneInfo) -> datetime:
    """Return the earliest local time whose instant can be later than ``after``.

    A gap time rings as much later as the gap is long, so a local time before ``after``'s own
    can ring after it; reading ``after`` with the offset in force a day earlier covers that.
    """
    return min(to_local(after, zone), to_local(after - timedelta(days=1), zone) + timedelta(days=1))


def _cron_times(expression: str, start: datetime) -> Iterator[datetime]:
    """Yield the naive local times matching ``expression`` at or after ``start``, in order."""
    # croniter steps strictly past its start time, so begin one minute before start's minute.
    begin = start.replace(second=0, microsecond=0) - timedelta(minutes=1)
    schedule = croniter(expression, begin, day_or=_day_or(expression))
    try:
        while True:
            local: datetime = schedule.get_next(datetime)
            if local >= start:
                yield local
    except CroniterBadDateError:
        return
