"""Calling windows: hours in the recipient's local time, and when the next attempt may start.

The rules are ``responsible-calling.md`` §4:

* an instant is *inside in a zone* when its wall-clock reading there, truncated to the
  minute, has a time of day from ``start`` through ``end`` (``end`` is the last minute an
  attempt may start), a weekday whose hours allow it, and a date that is not blocked;
* it is *inside* when it is inside in every window zone (the zones of :mod:`.zones`);
* the *opening* after an instant is the earliest inside instant at or after it.

Only wall-clock readings count, so DST needs no rule of its own. The opening is found exactly
rather than by scanning minutes: the inside set is an intersection of per-zone sets, each a
union of intervals, so its earliest point at or after ``t`` is ``t`` itself or the left end of
one of those intervals — a day's ``start`` (either pass of a repeated hour) or a zone's offset
change (a ``start`` in a spring-forward gap opens at the first existing minute after it; a
fall-back repeats an hour; a non-geographic number's zones count only while they agree).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialcues_core.kernel.localtime import load_zone, to_local

MINUTE = timedelta(minutes=1)
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
"""0 = Sunday, as everywhere in the contract."""


@dataclass(frozen=True, slots=True)
class DayHours:
    """The minutes of one day from ``start`` through ``end`` (minutes after midnight)."""

    start: int
    end: int

    def allows(self, minute_of_day: int) -> bool:
        """Tell whether an attempt may start in this minute of the day."""
        return self.start <= minute_of_day <= self.end

    def contains(self, other: DayHours) -> bool:
        """Tell whether ``other`` lies within these hours."""
        return self.start <= other.start and other.end <= self.end

    @property
    def label(self) -> str:
        """``08:00–21:00``."""
        return f"{_hhmm(self.start)}–{_hhmm(self.end)}"


@dataclass(frozen=True, slots=True)
class Window:
    """Hours per weekday (index 0 = Sunday; ``None``: closed all day).

    ``profile`` names the built-in profile the hours come from (``default``, ``us_strict``),
    else ``None`` (hours given as ``start``, ``end`` and ``days``).
    """

    days: tuple[DayHours | None, ...]
    profile: str | None = None

    def on(self, weekday: int) -> DayHours | None:
        """Return the hours of a weekday (0 = Sunday), or ``None`` when closed."""
        return self.days[weekday]

    def narrows(self, wider: Window) -> bool:
        """Tell whether every open day of this window is open in ``wider`` and within it."""
        for mine, theirs in zip(self.days, wider.days, strict=True):
            if mine is not None and (theirs is None or not theirs.contains(mine)):
                return False
        return True

    def within(self, outer: Window) -> Window:
        """These hours cut to ``outer``'s on each day (a reminder's own window under an
        organization's that was narrowed after the reminder was saved)."""
        if self.narrows(outer):
            return self
        days: list[DayHours | None] = []
        for mine, theirs in zip(self.days, outer.days, strict=True):
            if mine is None or theirs is None:
                days.append(None)
                continue
            start, end = max(mine.start, theirs.start), min(mine.end, theirs.end)
            days.append(DayHours(start, end) if start <= end else None)
        return Window(tuple(days), None)

    @property
    def label(self) -> str:
        """A short human description: ``08:00–21:00 every day``."""
        groups: dict[str, list[int]] = {}
        for weekday, hours in enumerate(self.days):
            if hours is not None:
                groups.setdefault(hours.label, []).append(weekday)
        if not groups:
            return "never"
        parts = []
        for label, weekdays in groups.items():
            if len(weekdays) == 7:
                parts.append(f"{label} every day")
            else:
                parts.append(f"{label} {', '.join(WEEKDAY_NAMES[d] for d in weekdays)}")
        return "; ".join(parts)


def hours_window(start: int, end: int, days: Sequence[int] = range(7)) -> Window:
    """Build the window open from ``start`` through ``end`` on ``days`` (0 = Sunday)."""
    hours = DayHours(start, end)
    return Window(tuple(hours if d in days else None for d in range(7)))


PROFILES: dict[str, Window] = {
    "default": Window((DayHours(8 * 60, 21 * 60),) * 7, "default"),
    "us_strict": Window(
        (DayHours(12 * 60, 20 * 60),) + (DayHours(9 * 60, 20 * 60),) * 6, "us_strict"
    ),
}
"""``default``: 08:00–21:00 every day (47 CFR 64.1200(c)(1)). ``us_strict``: 09:00–20:00
Monday–Saturday and 12:00–20:00 Sunday (Florida, Oklahoma, Maryland and Texas combined)."""

ALWAYS = hours_window(0, 23 * 60 + 59)
_ALL_DAY = ALWAYS.days
"""00:00–23:59 every day (``DIALCUES_CALLING_WINDOW=off``): every instant is inside."""


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything that decides whether an instant is inside: the window and blocked dates."""

    window: Window
    blocked: frozenset[date] = frozenset()

    def inside_in(self, instant: datetime, zone: ZoneInfo) -> bool:
        """Tell whether ``instant`` is inside in one zone."""
        local = to_local(instant, zone)
        hours = self.window.on(local.isoweekday() % 7)
        if hours is None or local.date() in self.blocked:
            return False
        return hours.allows(local.hour * 60 + local.minute)

    @property
    def always(self) -> bool:
        """Tell whether every instant is inside (00:00–23:59 every day, no blocked date)."""
        return not self.blocked and self.window.days == _ALL_DAY

    def inside(self, instant: datetime, zones: Sequence[str]) -> bool:
        """Tell whether ``instant`` is inside in every zone of ``zones``."""
        if self.always:
            return True  # no zone can say otherwise
        return all(self.inside_in(instant, load_zone(z)) for z in zones)

    def opening(
        self,
        after: datetime,
        until: datetime,
        zones_at: Callable[[datetime], Sequence[str]],
        candidate_zones: Sequence[str],
    ) -> datetime | None:
        """Return the earliest inside instant in ``[after, until]``, or ``None``.

        ``zones_at(t)`` gives the window zones at ``t`` (they can change with a zone's offset,
        see :mod:`.zones`); ``candidate_zones`` every zone that may ever be among them.
        """
        if after > until:
            return None
        if self.inside(after, zones_at(after)):
            return after
        for candidate in sorted(set(self._candidates(after, until, candidate_zones))):
            if self.inside(candidate, zones_at(candidate)):
                return candidate
        return None

    def _candidates(
        self, after: datetime, until: datetime, zones: Sequence[str]
    ) -> Iterator[datetime]:
        for name in zones:
            zone = load_zone(name)
            first = to_local(after, zone).date() - timedelta(days=1)
            last = to_local(until, zone).date() + timedelta(days=1)
            day = first
            while day <= last:
                hours = self.window.on(day.isoweekday() % 7)
                if hours is not None and day not in self.blocked:
                    wall = datetime.combine(day, time(hours.start // 60, hours.start % 60))
                    for fold in (0, 1):
                        at = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
                        if after < at <= until:
                            yield at
                yield from _offset_changes(zone, day, after, until)
                day += timedelta(days=1)


def _offset_changes(
    zone: ZoneInfo, day: date, after: datetime, until: datetime
) -> Iterator[datetime]:
    """Yield the instants (to the minute) at which ``zone`` changes offset during ``day``."""
    start = datetime.combine(day, time(), tzinfo=UTC) - timedelta(hours=14)
    end = start + timedelta(hours=52)
    for lo, hi in _changing_spans(zone, start, end):
        change = _bisect_change(zone, lo, hi)
        if after < change <= until:
            yield change


def _changing_spans(
    zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(hours=4)
    lo = start
    while lo < end:
        hi = lo + step
        if _offset(zone, lo) != _offset(zone, hi):
            yield lo, hi
        lo = hi


def _bisect_change(zone: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """The first whole minute in ``(lo, hi]`` with ``hi``'s offset (lo and hi differ)."""
    before = _offset(zone, lo)
    lo_m, hi_m = _minutes(lo), _minutes(hi)
    while hi_m - lo_m > 1:
        mid = (lo_m + hi_m) // 2
        if _offset(zone, _at_minute(mid)) == before:
            lo_m = mid
        else:
            hi_m = mid
    return _at_minute(hi_m)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta | None:
    """The offset in force in ``zone`` at the aware ``instant`` (``zone.utcoffset(instant)``
    would read the instant's fields as local time)."""
    return instant.astimezone(zone).utcoffset()


def _minutes(instant: datetime) -> int:
    return int((instant - _EPOCH) // MINUTE)


def _at_minute(minutes: int) -> datetime:
    return _EPOCH + minutes * MINUTE


@functools.cache
def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hhmm(minutes: int) -> str:
    """``HH:MM`` of minutes after midnight."""
    return _hhmm(minutes)
