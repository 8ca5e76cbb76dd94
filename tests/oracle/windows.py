"""An oracle for calling windows, window zones, deadlines and the gate's time checks, written
from the contract's text alone.

Sources: ``/work/shared/spec/responsible-calling.md`` — §1 (terms: deadline, window zones,
inside, opening), §2 (gate checks 3–5), §4.1–4.6 (shape, profiles, window zones, inside and
the opening, DST, bypass), §5 (the lateness cap) and §9 (frequency caps). Nothing here imports
``dialcues_core``: zones come from the ``tzdata`` package (through :func:`oracle.series.zone`)
and are only ever asked instant → local (``datetime.astimezone`` on an aware UTC instant);
number zones come from ``phonenumbers``.

Everything is brute force, so it cannot share the system's cleverness (or its mistakes):

* **inside in a zone** (§4.3): the wall-clock reading of the instant in the zone, truncated to
  the minute, has a time of day from ``start`` through ``end`` of its weekday's hours
  (0 = Sunday; a weekday without hours is closed) and a date that is not blocked. **Inside**:
  inside in every window zone (so vacuously inside when there is none).
* **the number's zones** (§4.2): ``phonenumbers.timezone.time_zones_for_number`` without
  ``Etc/Unknown``. A geographical number's zones always count; a non-geographical number's
  count only at instants at which they all have the same UTC offset, else it adds none.
* **window zones** (§4.2): ``strictest`` — the reminder's zone plus the number's zones;
  ``reminder_zone`` — the reminder's zone only. Compared as sets.
* **the opening** (§4.3) after ``t``, looked for up to ``until``: ``t`` itself if inside, else
  the first inside instant among every whole UTC minute after ``t``, scanned one by one. This
  is exact: every offset in use is a whole number of minutes, so the wall clock of every zone
  (and which zones count) is constant within each UTC minute. A bypass (§4.6) has no window:
  the opening is ``t`` itself.
* **the deadline** (§1, §5): occurrence + cap, and strictly before the series' next occurrence;
  instants are stored to the millisecond, so "strictly before" is the next occurrence − 1 ms.
* **the gate's time checks** (§2, checks 3–5, in order; the first that refuses decides):
  3. now after the deadline → ``missed`` (now == deadline is not missed);
  4. now outside the window → wait for the opening if it is at or before the deadline, else
     skip ``outside_calling_window``;
  5. a frequency cap full at now → wait until the cap frees, moved to the window's opening, if
     that is at or before the deadline, else skip ``frequency_cap``; otherwise dial.
* **frequency caps** (§9): an attempt placed at ``p`` counts at ``s`` when it lies in the
  rolling period before ``s``: ``s − period < p ≤ s`` (24 hours; 30 days). A cap is full at
  ``s`` when one more attempt would exceed its limit (count + 1 > limit); ``None``: no cap.
  The cap frees at the earliest ``s ≥ now`` at which no cap is full, found by trying ``now``
  and every instant an attempt leaves a period (``p + period``), in order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import phonenumbers
from phonenumbers import timezone as number_timezones

from oracle.series import zone

__all__ = [
    "CAP_FREQUENCY",
    "CAP_WINDOW",
    "DAY",
    "MONTH",
    "PROFILE_HOURS",
    "Hours",
    "Verdict",
    "hours_of",
    "oracle_cap_free",
    "oracle_deadline",
    "oracle_decide",
    "oracle_inside",
    "oracle_inside_in",
    "oracle_number_facts",
    "oracle_number_zones",
    "oracle_opening",
    "oracle_window_zones",
    "zones_counting",
]

MINUTE = timedelta(minutes=1)
MILLISECOND = timedelta(milliseconds=1)
DAY = timedelta(hours=24)
MONTH = timedelta(days=30)
CAP_WINDOW = "outside_calling_window"
CAP_FREQUENCY = "frequency_cap"

Hours = Mapping[int, tuple[int, int] | None]
"""Hours per weekday, 0 = Sunday: ``(start, end)`` in minutes after midnight, or ``None``."""


def hours_of(
    start: int, end: int, days: Iterable[int] = range(7)
) -> dict[int, tuple[int, int] | None]:
    """``{"start", "end", "days"}`` (§4.1): the same hours on each listed weekday."""
    listed = set(days)
    return {d: (start, end) if d in listed else None for d in range(7)}


PROFILE_HOURS: dict[str, dict[int, tuple[int, int] | None]] = {
    # 08:00–21:00 every day
    "default": hours_of(8 * 60, 21 * 60),
    # 09:00–20:00 Monday–Saturday, 12:00–20:00 Sunday
    "us_strict": {0: (12 * 60, 20 * 60), **{d: (9 * 60, 20 * 60) for d in range(1, 7)}},
}
"""The two built-in profiles of §4.1."""


# ----------------------------------------------------------------------------- inside
def oracle_inside_in(
    instant: datetime, name: str, hours: Hours, blocked: Iterable[date] = ()
) -> bool:
    """Tell whether ``instant`` is inside in zone ``name`` (§4.3)."""
    local = instant.astimezone(zone(name))
    weekday = local.isoweekday() % 7  # Monday 1 … Saturday 6, Sunday 7 → 0
    today = hours.get(weekday)
    if today is None:
        return False
    if local.date() in blocked:
        return False
    minute_of_day = local.hour * 60 + local.minute  # truncated to the minute
    return today[0] <= minute_of_day <= today[1]


def oracle_inside(
    instant: datetime, zones: Iterable[str], hours: Hours, blocked: Iterable[date] = ()
) -> bool:
    """Tell whether ``instant`` is inside in every zone of ``zones`` (§4.3)."""
    blocked_set = blocked if isinstance(blocked, (set, frozenset)) else set(blocked)
    return all(oracle_inside_in(instant, z, hours, blocked_set) for z in zones)


# ----------------------------------------------------------------------------- zones
@functools.cache
def oracle_number_facts(e164: str) -> tuple[tuple[str, ...], bool]:
    """The geocoder's zones for a number (without ``Etc/Unknown``) and whether it is
    geographical (§4.2)."""
    parsed = phonenumbers.parse(e164, None)
    names = tuple(z for z in number_timezones.time_zones_for_number(parsed) if z != "Etc/Unknown")
    return names, bool(phonenumbers.is_number_geographical(parsed))


def zones_counting(zones: Sequence[str], geographic: bool, instant: datetime) -> frozenset[str]:
    """The zones a number adds at ``instant``: all of them when it is geographical, or when
    they all have one UTC offset at ``instant``; none otherwise (§4.2)."""
    if geographic or not zones:
        return frozenset(zones)
    first = instant.astimezone(zone(zones[0])).utcoffset()
    for other in zones[1:]:
        if instant.astimezone(zone(other)).utcoffset() != first:
            return frozenset()
    return frozenset(zones)


def oracle_number_zones(e164: str, instant: datetime) -> frozenset[str]:
    """The number's zones at ``instant`` (§4.2)."""
    names, geographic = oracle_number_facts(e164)
    return zones_counting(names, geographic, instant)


NumberLike = str | tuple[Sequence[str], bool] | None
"""An E.164 number, or its ``(zones, geographic)`` facts directly, or no number."""


def oracle_window_zones(
    reminder_tz: str | None, number: NumberLike, basis: str, instant: datetime
) -> frozenset[str]:
    """The window zones at ``instant`` for ``basis`` ``strictest`` or ``reminder_zone``."""
    own = frozenset({reminder_tz}) if reminder_tz else frozenset()
    if basis == "reminder_zone" or number is None:
        return own
    if isinstance(number, str):
        return own | oracle_number_zones(number, instant)
    names, geographic = number
    return own | zones_counting(tuple(names), geographic, instant)


# ----------------------------------------------------------------------------- opening
def _whole_minute_after(instant: datetime) -> datetime:
    floor = instant.replace(second=0, microsecond=0)
    return floor + MINUTE


def oracle_opening(
    after: datetime,
    until: datetime,
    zones_at: Callable[[datetime], Iterable[str]],
    hours: Hours | None,
    blocked: Iterable[date] = (),
) -> datetime | None:
    """The earliest inside instant at or after ``after`` and at or before ``until``, or None.

    ``hours`` None: a bypass, no window (§4.6). Scans ``after``, then every whole UTC minute.
    """
    if after > until:
        return None
    if hours is None:
        return after
    blocked_set = frozenset(blocked)
    if oracle_inside(after, zones_at(after), hours, blocked_set):
        return after
    moment = _whole_minute_after(after)
    while moment <= until:
        if oracle_inside(moment, zones_at(moment), hours, blocked_set):
            return moment
        moment += MINUTE
    return None


# ----------------------------------------------------------------------------- deadline
def oracle_deadline(
    occurrence: datetime, cap_seconds: float, next_occurrence: datetime | None
) -> datetime:
    """Occurrence + cap, and strictly (1 ms) before the next occurrence (§1, §5)."""
    last = occurrence + timedelta(seconds=cap_seconds)
    if next_occurrence is not None and next_occurrence - MILLISECOND < last:
        return next_occurrence - MILLISECOND
    return last


# ----------------------------------------------------------------------------- caps
def _full(
    placed: Sequence[datetime], at: datetime, limits: Sequence[tuple[int | None, timedelta]]
) -> bool:
    for limit, period in limits:
        if limit is None:
            continue
        count = sum(1 for p in placed if at - period < p <= at)
        if count + 1 > limit:
            return True
    return False


def oracle_cap_free(
    placed: Sequence[datetime], now: datetime, per_24h: int | None, per_30d: int | None
) -> datetime:
    """The earliest instant at or after ``now`` at which no cap is full (§9)."""
    limits = ((per_24h, DAY), (per_30d, MONTH))
    tries = sorted({now} | {p + period for p in placed for _, period in limits if p + period > now})
    for at in tries:
        if not _full(placed, at, limits):
            return at
    raise AssertionError("oracle: a cap never frees (placed attempts in the future?)")


# ----------------------------------------------------------------------------- gate
@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer: ``dial``, ``wait`` (until ``at``), ``skip`` (``reason``), ``missed``."""

    plan: str
    at: datetime | None = None
    reason: str | None = None


def oracle_decide(
    now: datetime,
    deadline: datetime,
    zones_at: Callable[[datetime], Iterable[str]],
    hours: Hours | None,
    blocked: Iterable[date],
    per_24h: int | None,
    per_30d: int | None,
    placed: Sequence[datetime] | None,
) -> Verdict:
    """Checks 3–5 of the gate (§2) for an attempt claimed at ``now``.

    ``hours`` None: a bypass (the window is off, the caps still apply). ``placed`` None: the
    caps are not counted.
    """
    if now > deadline:
        return Verdict("missed")
    blocked_set = frozenset(blocked)
    if hours is not None and not oracle_inside(now, zones_at(now), hours, blocked_set):
        at = oracle_opening(now, deadline, zones_at, hours, blocked_set)
        return Verdict("skip", reason=CAP_WINDOW) if at is None else Verdict("wait", at=at)
    if placed is not None and _full(placed, now, ((per_24h, DAY), (per_30d, MONTH))):
        free = oracle_cap_free(placed, now, per_24h, per_30d)
        at = oracle_opening(free, deadline, zones_at, hours, blocked_set)
        return Verdict("skip", reason=CAP_FREQUENCY) if at is None else Verdict("wait", at=at)
    return Verdict("dial")
