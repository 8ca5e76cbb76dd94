"""Calling windows and lateness decisions, checked against an oracle written from the spec text.

The oracle (``tests/oracle/windows.py``) knows nothing of ``dialcues_core.calling``: it scans
minute by minute. The system under test is the pure core of ``responsible-calling.md`` §2, §4,
§5 and §9: ``Rules.inside``, ``Place.zones_at``, ``gate.opening``, ``gate.deadline``,
``CapCounts.free_at`` and ``gate.decide``.

* ``test_case_matches_the_oracle`` — thousands of seeded cases in 60 zones (DST days and the
  hours around every transition of 2024–2030, window boundaries to the millisecond, random
  days), random hours (gap and overlap starts, 00:00–23:59, single minutes) and day subsets,
  both profiles and bypasses, blocked dates around the instant, geographic and
  non-geographic multi-zone numbers (and synthetic zone pairs whose offsets agree only part
  of the year), both window bases, deadlines at and around both bounds (occurrence + cap and
  the next occurrence − 1 ms), frequency caps with random placed attempts.
* named tests pin the spec's own examples, against both the oracle and the system.

Cases come from ``random.Random`` seeded by a fixed string and the case's index, so node ids
(``window-0042``) are stable and each case reproduces on its own; a failure prints the case.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from oracle.series import zone
from oracle.windows import (
    PROFILE_HOURS,
    Hours,
    Verdict,
    hours_of,
    oracle_cap_free,
    oracle_deadline,
    oracle_decide,
    oracle_inside,
    oracle_number_facts,
    oracle_opening,
    oracle_window_zones,
)

from dialcues_core.calling.gate import CapCounts, deadline, decide, opening
from dialcues_core.calling.shapes import FrequencyCaps
from dialcues_core.calling.windows import PROFILES, Rules, Window, hours_window
from dialcues_core.calling.zones import NumberZones, Place, WindowBasis, number_zones

SEED = "dialcues-window-oracle-1"
CASES = 8000
FAST_SAMPLE = 2000
"""The first cases run always; the rest are ``slow``."""

ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Anchorage",
    "America/Adak",
    "Pacific/Honolulu",
    "America/Halifax",
    "America/St_Johns",
    "America/Nuuk",
    "America/Scoresbysund",
    "America/Santiago",
    "America/Asuncion",
    "America/Havana",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "America/Bogota",
    "America/North_Dakota/Center",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Kyiv",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Africa/Casablanca",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Asia/Tehran",
    "Asia/Beirut",
    "Asia/Gaza",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Yangon",
    "Asia/Almaty",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Australia/Eucla",
    "Australia/Perth",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Pacific/Tongatapu",
    "Pacific/Kiritimati",
    "Pacific/Marquesas",
    "Pacific/Norfolk",
    "Pacific/Fiji",
    "Antarctica/Troll",
    "Antarctica/Macquarie",
    "America/Godthab",
    "Europe/Guernsey",
    "Egypt",
    "Asia/Calcutta",
    "UTC",
)

NUMBERS: tuple[str | None, ...] = (
    "+17015550123",  # North Dakota: America/Denver, America/North_Dakota/Center (geographic)
    "+447911123456",  # UK mobile: four zones, always one offset
    "+18005550199",  # US toll-free: many zones, never one offset → none
    "+79161234567",  # Russian mobile → none
    "+14155552671",  # San Francisco
    "+442071234567",  # London fixed line
    "+61412345678",  # Australian mobile → none
    "+12125551234",  # New York
    "+6421123456",  # New Zealand mobile: Auckland and Chatham → none
    "+299551234",  # Greenland mobile: three zones → none
    "+33612345678",  # French mobile: one zone
    None,
)

SYNTHETIC: tuple[tuple[tuple[str, ...], bool], ...] = (
    # non-geographic zone sets whose offsets agree during part of the year only
    (("America/Los_Angeles", "America/Phoenix"), False),
    (("Africa/Casablanca", "Europe/London"), False),
    (("America/Asuncion", "America/Santiago"), False),
    (("Australia/Brisbane", "Australia/Sydney"), False),
    (("Australia/Lord_Howe", "Australia/Sydney"), False),
    (("Europe/Dublin", "Europe/London"), False),
    (("Pacific/Auckland", "Pacific/Chatham"), True),
)

Number = str | tuple[tuple[str, ...], bool] | None

SPAN_START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_END = datetime(2031, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


# ----------------------------------------------------------------------------- transitions
@functools.cache
def transitions(name: str) -> tuple[datetime, ...]:
    """Every instant (to the second) in 2024–2030 at which zone ``name`` changes offset."""
    tz = zone(name)
    found = []
    step = timedelta(hours=6)
    lo = SPAN_START
    while lo < SPAN_END:
        hi = lo + step
        if lo.astimezone(tz).utcoffset() != hi.astimezone(tz).utcoffset():
            a, b = lo, hi
            while b - a > timedelta(seconds=1):
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if mid.astimezone(tz).utcoffset() == a.astimezone(tz).utcoffset():
                    a = mid
                else:
                    b = mid
            found.append(b)
        lo = hi
    return tuple(found)


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One generated case: everything both sides are asked about."""

    index: int
    tz: str | None
    number: Number
    basis: str
    window: tuple[Any, ...]  # ("profile", name) | ("hours", start, end, days) | ("bypass",)
    blocked: frozenset[date]
    instant: datetime
    until: datetime
    occurrence: datetime
    cap_seconds: int
    next_occurrence: datetime | None
    now: datetime
    per_24h: int | None
    per_30d: int | None
    placed: list[datetime] = field(default_factory=list)

    # --- the oracle's view
    @property
    def hours(self) -> Hours | None:
        kind = self.window[0]
        if kind == "bypass":
            return None
        if kind == "profile":
            return PROFILE_HOURS[self.window[1]]
        return hours_of(self.window[1], self.window[2], self.window[3])

    def oracle_zones_at(self, instant: datetime) -> frozenset[str]:
        return oracle_window_zones(self.tz, self.number, self.basis, instant)

    # --- the system's view
    @property
    def rules(self) -> Rules | None:
        kind = self.window[0]
        if kind == "bypass":
            return None
        window: Window
        if kind == "profile":
            window = PROFILES[self.window[1]]
        else:
            window = hours_window(self.window[1], self.window[2], self.window[3])
        return Rules(window, self.blocked)

    @property
    def place(self) -> Place:
        if self.number is None:
            numbers = NumberZones((), True)
        elif isinstance(self.number, str):
            numbers = number_zones(self.number)
        else:
            numbers = NumberZones(*self.number)
        return Place(self.tz, numbers, WindowBasis(self.basis))

    @property
    def caps(self) -> FrequencyCaps:
        return FrequencyCaps(self.per_24h, self.per_30d)

    def __str__(self) -> str:
        hhmm = (
            f"{self.window[1] // 60:02d}:{self.window[1] % 60:02d}-"
            f"{self.window[2] // 60:02d}:{self.window[2] % 60:02d} days={sorted(self.window[3])}"
            if self.window[0] == "hours"
            else str(self.window)
        )
        return (
            f"case {self.index}: tz={self.tz} number={self.number} basis={self.basis} "
            f"window={hhmm} blocked={sorted(d.isoformat() for d in self.blocked)} "
            f"instant={iso(self.instant)} until={iso(self.until)} "
            f"occurrence={iso(self.occurrence)} cap={self.cap_seconds}s "
            f"next={iso(self.next_occurrence)} now={iso(self.now)} "
            f"caps=({self.per_24h}, {self.per_30d}) placed={[iso(p) for p in sorted(self.placed)]}"
        )


def iso(value: datetime | None) -> str:
    return "None" if value is None else value.isoformat(timespec="milliseconds")


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _random_instant(rng: random.Random) -> datetime:
    span = int((SPAN_END - SPAN_START) / MS)
    return SPAN_START + rng.randrange(span) * MS


def _local_to_instant(rng: random.Random, local: datetime, name: str) -> datetime:
    """Some instant near wall-clock ``local`` in ``name`` (either fold; test input only)."""
    return local.replace(tzinfo=zone(name), fold=rng.randint(0, 1)).astimezone(UTC)


def _pick_window(rng: random.Random) -> tuple[Any, ...]:
    roll = rng.random()
    if roll < 0.15:
        return ("profile", "default")
    if roll < 0.27:
        return ("profile", "us_strict")
    if roll < 0.33:
        return ("bypass",)
    special = [
        (8 * 60, 21 * 60),
        (9 * 60, 18 * 60),
        (2 * 60 + 30, 21 * 60),  # a start in the skipped hour (New York …)
        (2 * 60, 2 * 60 + 15),  # Lord Howe's 30-minute gap
        (0, 23 * 60 + 59),  # all day
        (0, 0),
        (23 * 60 + 59, 23 * 60 + 59),
        (0, 60),  # Santiago, Havana, Asuncion, Cairo … change around midnight
        (23 * 60, 23 * 60 + 59),
        (60, 2 * 60),  # the repeated hour of a fall-back
        (60 + 30, 60 + 45),
        (3 * 60, 4 * 60),
    ]
    if rng.random() < 0.45:
        start, end = rng.choice(special)
    else:
        a, b = rng.randrange(1440), rng.randrange(1440)
        start, end = min(a, b), max(a, b)
    days: list[int]
    days = list(range(7)) if rng.random() < 0.6 else sorted(rng.sample(range(7), rng.randint(1, 6)))
    return ("hours", start, end, tuple(days))


def _zones_of(tz: str | None, number: Number) -> list[str]:
    found = [tz] if tz else []
    if isinstance(number, str):
        found += list(oracle_number_facts(number)[0])
    elif number is not None:
        found += list(number[0])
    return found


def _pick_instant(
    rng: random.Random, focus: str, window: tuple[Any, ...]
) -> tuple[datetime, datetime | None]:
    """An instant, and the transition it was drawn near (if any)."""
    roll = rng.random()
    changes = transitions(focus)
    if roll < 0.4 and changes:
        change = rng.choice(changes)
        shift = rng.choice(
            [
                timedelta(0),
                -MS,
                MINUTE,
                -MINUTE,
                timedelta(milliseconds=rng.randint(-30 * 3600_000, 30 * 3600_000)),
            ]
        )
        return _ms(change + shift), change
    if roll < 0.75:
        base = rng.choice(changes) if changes and rng.random() < 0.6 else _random_instant(rng)
        local_day = base.astimezone(zone(focus)).date() + timedelta(days=rng.randint(-1, 1))
        if window[0] == "hours":
            start, end = window[1], window[2]
        else:
            start, end = rng.choice([(8 * 60, 21 * 60), (9 * 60, 20 * 60), (12 * 60, 20 * 60)])
        minute = rng.choice([start, end, end + 1, start - 1, start, end])
        minute = max(0, min(minute, 1439))
        local = datetime(local_day.year, local_day.month, local_day.day, minute // 60, minute % 60)
        instant = _local_to_instant(rng, local, focus)
        instant += rng.choice(
            [timedelta(0), timedelta(seconds=59, milliseconds=999), timedelta(seconds=60), -MS]
        )
        return instant, base if base in changes else None
    return _random_instant(rng), None


def make_case(index: int) -> Case:
    rng = random.Random(f"{SEED}-{index}")
    roll = rng.random()
    number: Number
    if roll < 0.7:
        number = rng.choice(NUMBERS)
    elif roll < 0.9:
        number = rng.choice(SYNTHETIC)
    else:
        number = None
    tz: str | None = rng.choice(ZONES)
    own_zones = _zones_of(None, number)
    if own_zones and rng.random() < 0.4:  # a reminder where its number is (windows overlap)
        tz = rng.choice(own_zones)
    if number is not None and rng.random() < 0.05:
        tz = None
    basis = "strictest" if rng.random() < 0.75 else "reminder_zone"
    window = _pick_window(rng)
    zones = _zones_of(tz, number) or ["UTC"]
    focus = rng.choice(zones) if rng.random() < 0.8 else rng.choice(ZONES)
    instant, _ = _pick_instant(rng, focus, window)

    # blocked dates: often the local date of the instant (or a day either side) somewhere
    blocked: set[date] = set()
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.85:
                where = rng.choice(zones)
                day = instant.astimezone(zone(where)).date()
                blocked.add(day + timedelta(days=rng.randint(-2, 2)))
            else:
                blocked.add(_random_instant(rng).date())

    # opening bound: mostly up to 2 days, a few 8 days, sometimes none at all
    bound_roll = rng.random()
    if bound_roll < 0.05:
        until = instant
    elif bound_roll < 0.1:
        until = instant + timedelta(days=8)
    elif bound_roll < 0.15:
        until = instant - MS
    else:
        until = instant + rng.randrange(int(2 * DAY / MS)) * MS

    cap_seconds = rng.choice(
        [60, 600, 1200, 3600, 3600, 7200, 43200, 86400, 86400, rng.randint(60, 86400)]
    )
    cap = timedelta(seconds=cap_seconds)
    late = 1.3 if rng.random() < 0.3 else 0.8
    occurrence = _ms(instant - rng.randrange(int(cap * late / MS) + 1) * MS)
    next_roll = rng.random()
    next_occurrence: datetime | None
    if next_roll < 0.35:
        next_occurrence = None
    elif next_roll < 0.6:
        next_occurrence = occurrence + cap + rng.randint(1, 3 * 86400_000) * MS
    elif next_roll < 0.85:
        next_occurrence = occurrence + rng.randint(1, cap_seconds * 1000) * MS
    else:
        next_occurrence = occurrence + cap + rng.choice([timedelta(0), MS, 2 * MS, -MS])
    limit = oracle_deadline(occurrence, cap_seconds, next_occurrence)
    now_roll = rng.random()
    if now_roll < 0.1:
        now = limit
    elif now_roll < 0.18:
        now = limit + MS
    elif now_roll < 0.23:
        now = limit - MS
    elif now_roll < 0.55 and limit > occurrence:  # a claim the lateness cap still allows
        now = occurrence + rng.randrange(int((limit - occurrence) / MS) + 1) * MS
    else:
        now = instant

    per_24h = rng.choice([None, 1, 2, 3, 6, 6, rng.randint(1, 10)])
    per_30d = rng.choice([None, None, 5, 20, rng.randint(1, 40)])
    placed: list[datetime] = []
    if rng.random() < 0.3 and per_24h is not None:
        # the 24-hour cap just full: the oldest of its attempts leaves the period soon
        soon = rng.choice([rng.randint(1, 3600_000), rng.randint(1, 12 * 3600_000), 1, 60_000])
        placed.append(now - DAY + soon * MS)
        placed += [now - rng.randint(0, 86400_000 - soon) * MS for _ in range(per_24h - 1)]
    for _ in range(rng.choice([0, rng.randint(0, 8), rng.randint(0, 30)])):
        where = rng.random()
        if where < 0.4:
            placed.append(now - rng.randint(0, 86400_000) * MS)
        elif where < 0.55:  # leaves the 24 hours soon: the cap frees within the deadline
            placed.append(now - DAY + rng.randint(0, 4 * 3600_000) * MS)
        elif where < 0.85:
            placed.append(now - rng.randint(0, 30 * 86400_000) * MS)
        else:
            placed.append(now - rng.choice([DAY, DAY - MS, timedelta(days=30), timedelta(0)]))
    return Case(
        index,
        tz,
        number,
        basis,
        window,
        frozenset(blocked),
        instant,
        until,
        occurrence,
        cap_seconds,
        next_occurrence,
        now,
        per_24h,
        per_30d,
        placed,
    )


# ----------------------------------------------------------------------------- comparing
def _system_verdict(case: Case, limit: datetime) -> Verdict:
    got = decide(case.now, limit, case.rules, case.place, case.caps, CapCounts(case.placed))
    return Verdict(got.plan.value, got.at, got.reason.value if got.reason else None)


def check_case(case: Case) -> list[str]:
    """Every disagreement between the system and the oracle for one case."""
    problems: list[str] = []

    def expect(what: str, expected: object, got: object) -> None:
        if expected != got:
            problems.append(f"{what}: expected {expected!r}, got {got!r}")

    place, rules, hours = case.place, case.rules, case.hours

    # window zones, at the instant and around it
    for at in (case.instant, case.now, case.until):
        expect(f"zones_at({iso(at)})", case.oracle_zones_at(at), frozenset(place.zones_at(at)))

    # inside: the instant and a strip of instants around it, in the window zones and in a
    # few zones picked at random
    if rules is not None and hours is not None:
        rng = random.Random(f"{SEED}-inside-{case.index}")
        extra = rng.sample(ZONES, rng.randint(1, 3))
        for shift in (-61, -60, -1, 0, 59, 60, 3599, 3600):
            at = case.instant + timedelta(seconds=shift)
            zones = case.oracle_zones_at(at)
            expect(
                f"inside({iso(at)})",
                oracle_inside(at, zones, hours, case.blocked),
                rules.inside(at, sorted(zones)),
            )
            expect(
                f"inside({iso(at)}, {extra})",
                oracle_inside(at, extra, hours, case.blocked),
                rules.inside(at, extra),
            )

    # opening up to `until`
    expected = oracle_opening(case.instant, case.until, case.oracle_zones_at, hours, case.blocked)
    expect(
        f"opening({iso(case.instant)}, {iso(case.until)})",
        expected,
        opening(rules, place, case.instant, case.until),
    )
    if expected is not None and expected > case.instant:
        # both bounds: the opening itself as the bound, and 1 ms before it
        expect(
            f"opening(…, until={iso(expected)})",
            expected,
            opening(rules, place, case.instant, expected),
        )
        expect(
            f"opening(…, until={iso(expected - MS)})",
            None,
            opening(rules, place, case.instant, expected - MS),
        )

    # the deadline
    limit = oracle_deadline(case.occurrence, case.cap_seconds, case.next_occurrence)
    expect(
        "deadline",
        limit,
        deadline(case.occurrence, timedelta(seconds=case.cap_seconds), case.next_occurrence),
    )

    # the frequency caps' freeing instant
    if not case.caps.off:
        expect(
            "free_at",
            oracle_cap_free(case.placed, case.now, case.per_24h, case.per_30d),
            CapCounts(case.placed).free_at(case.caps, case.now),
        )

    # the gate's checks 3–5
    expect(
        "decide",
        oracle_decide(
            case.now,
            limit,
            case.oracle_zones_at,
            hours,
            case.blocked,
            case.per_24h,
            case.per_30d,
            case.placed,
        ),
        _system_verdict(case, limit),
    )
    return problems


def cases(count: int, name: str) -> list[Any]:
    """``range(count)`` as parameters with fixed ids, all past :data:`FAST_SAMPLE` ``slow``."""
    return [
        pytest.param(i, id=f"{name}-{i:04d}", marks=[pytest.mark.slow] if i >= FAST_SAMPLE else [])
        for i in range(count)
    ]


@pytest.mark.parametrize("index", cases(CASES, "window"))
def test_case_matches_the_oracle(index: int) -> None:
    case = make_case(index)
    problems = check_case(case)
    assert not problems, f"{case}\n" + "\n".join(problems)


# ----------------------------------------------------------------------------- the spec's examples
def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


NY = "America/New_York"
DEFAULT = hours_of(8 * 60, 21 * 60)


def both_inside(
    instant: datetime, tz: str, number: Number, basis: str, profile: str = "default"
) -> tuple[bool, bool]:
    """(oracle, system) for ``inside`` with a profile, in the window zones of a reminder."""
    case_place = Place(
        tz,
        number_zones(number) if isinstance(number, str) else NumberZones((), True),
        WindowBasis(basis),
    )
    zones = oracle_window_zones(tz, number, basis, instant)
    return (
        oracle_inside(instant, zones, PROFILE_HOURS[profile]),
        Rules(PROFILES[profile]).inside(instant, case_place.zones_at(instant)),
    )


def both_openings(
    after: datetime,
    until: datetime,
    zones_at: Callable[[datetime], Iterable[str]],
    hours: Hours,
    window: Window,
    place: Place,
    blocked: frozenset[date] = frozenset(),
) -> tuple[datetime | None, datetime | None]:
    return (
        oracle_opening(after, until, zones_at, hours, blocked),
        opening(Rules(window, blocked), place, after, until),
    )


def ny_only(_: datetime) -> list[str]:
    return [NY]


NY_PLACE = Place(NY, NumberZones((), True))


def test_end_is_the_last_minute_an_attempt_may_start() -> None:
    # 2026-03-25 is EDT (UTC−4): 21:00:59 local is 01:00:59Z the next day
    assert both_inside(at("2026-03-26T01:00:59.999Z"), NY, None, "strictest") == (True, True)
    assert both_inside(at("2026-03-26T01:01:00Z"), NY, None, "strictest") == (False, False)
    assert both_inside(at("2026-03-25T12:00:00Z"), NY, None, "strictest") == (True, True)
    assert both_inside(at("2026-03-25T11:59:59.999Z"), NY, None, "strictest") == (False, False)


def test_spring_forward_opens_at_eight_of_the_new_offset() -> None:
    default = PROFILES["default"]
    assert both_openings(
        at("2027-03-14T05:00:00Z"), at("2027-03-15T05:00:00Z"), ny_only, DEFAULT, default, NY_PLACE
    ) == (at("2027-03-14T12:00:00Z"), at("2027-03-14T12:00:00Z"))
    assert both_openings(
        at("2027-03-13T05:00:00Z"), at("2027-03-14T05:00:00Z"), ny_only, DEFAULT, default, NY_PLACE
    ) == (at("2027-03-13T13:00:00Z"), at("2027-03-13T13:00:00Z"))


def test_a_start_in_the_skipped_hour_opens_at_the_first_minute_after_it() -> None:
    window, hours = hours_window(150, 21 * 60), hours_of(150, 21 * 60)
    assert both_openings(
        at("2027-03-14T05:00:00Z"), at("2027-03-15T05:00:00Z"), ny_only, hours, window, NY_PLACE
    ) == (at("2027-03-14T07:00:00Z"), at("2027-03-14T07:00:00Z"))


def test_the_repeated_hour_is_read_twice() -> None:
    # New York falls back on 2026-11-01: 01:00–01:59 is EDT (05:00Z…) then EST (06:00Z…)
    window, hours = hours_window(90, 105), hours_of(90, 105)
    first = both_openings(
        at("2026-11-01T04:00:00Z"), at("2026-11-02T04:00:00Z"), ny_only, hours, window, NY_PLACE
    )
    assert first == (at("2026-11-01T05:30:00Z"), at("2026-11-01T05:30:00Z"))
    second = both_openings(
        at("2026-11-01T05:46:00Z"), at("2026-11-02T04:00:00Z"), ny_only, hours, window, NY_PLACE
    )
    assert second == (at("2026-11-01T06:30:00Z"), at("2026-11-01T06:30:00Z"))


def test_a_san_francisco_number_narrows_a_new_york_reminder() -> None:
    sf = "+14155552671"
    assert both_inside(at("2026-03-25T14:30:00Z"), NY, sf, "strictest") == (False, False)
    assert both_inside(at("2026-03-25T15:00:00Z"), NY, sf, "strictest") == (True, True)
    assert both_inside(at("2026-03-25T14:30:00Z"), NY, sf, "reminder_zone") == (True, True)
    # §4.4: 06:30 in New York → next_allowed_at 2026-03-25T15:00:00Z
    place = Place(NY, number_zones(sf))

    def zones_at(instant: datetime) -> frozenset[str]:
        return oracle_window_zones(NY, sf, "strictest", instant)

    after, until = at("2026-03-25T10:30:00Z"), at("2026-04-02T10:30:00Z")
    assert both_openings(after, until, zones_at, DEFAULT, PROFILES["default"], place) == (
        at("2026-03-25T15:00:00Z"),
        at("2026-03-25T15:00:00Z"),
    )


def test_us_strict_hours() -> None:
    # 2026-03-29 is a Sunday, 2026-03-28 a Saturday; New York is on EDT (UTC−4)
    ny = "+12125551234"
    assert both_inside(at("2026-03-29T15:00:00Z"), NY, ny, "strictest", "us_strict") == (
        False,
        False,
    )
    assert both_inside(at("2026-03-29T16:00:00Z"), NY, ny, "strictest", "us_strict") == (
        True,
        True,
    )
    assert both_inside(at("2026-03-29T00:01:00Z"), NY, ny, "strictest", "us_strict") == (
        False,
        False,
    )
    assert both_inside(at("2026-03-28T13:00:00Z"), NY, ny, "strictest", "us_strict") == (
        True,
        True,
    )


def test_number_zones_of_the_spec_table() -> None:
    instant = at("2026-03-25T12:00:00Z")
    table = {
        "+14155552671": {"America/Los_Angeles"},
        "+17015550123": {"America/Denver", "America/North_Dakota/Center"},
        "+442071234567": {"Europe/London"},
        "+447911123456": {
            "Europe/Guernsey",
            "Europe/Isle_of_Man",
            "Europe/Jersey",
            "Europe/London",
        },
        "+18005550199": set(),
        "+79161234567": set(),
        "+61412345678": set(),
    }
    for e164, zones in table.items():
        assert oracle_window_zones(None, e164, "strictest", instant) == zones, e164
        assert set(Place(None, number_zones(e164)).zones_at(instant)) == zones, e164


def _verdicts(
    now: datetime, limit: datetime, hours: Hours, window: Window, blocked: frozenset[date]
) -> tuple[Verdict, Verdict]:
    case_place = NY_PLACE
    caps = FrequencyCaps(6, None)
    mine = oracle_decide(now, limit, ny_only, hours, blocked, 6, None, [])
    got = decide(now, limit, Rules(window, blocked), case_place, caps, CapCounts([]))
    return mine, Verdict(got.plan.value, got.at, got.reason.value if got.reason else None)


def test_a_0730_occurrence_waits_for_0800_or_is_skipped() -> None:
    # §4.5: cron 30 7,12 * * * in New York; 2026-03-25 07:30 EDT is 11:30Z
    occurrence = at("2026-03-25T11:30:00Z")
    default = PROFILES["default"]
    limit = oracle_deadline(occurrence, 3600, at("2026-03-25T16:30:00Z"))
    wait = Verdict("wait", at("2026-03-25T12:00:00Z"))
    assert _verdicts(occurrence, limit, DEFAULT, default, frozenset()) == (wait, wait)
    short = oracle_deadline(occurrence, 1200, at("2026-03-25T16:30:00Z"))
    skip = Verdict("skip", reason="outside_calling_window")
    assert _verdicts(occurrence, short, DEFAULT, default, frozenset()) == (skip, skip)
    blocked = frozenset({date(2026, 3, 25)})
    assert _verdicts(occurrence, limit, DEFAULT, default, blocked) == (skip, skip)
    noon = at("2026-03-25T16:30:00Z")
    assert _verdicts(noon, noon + HOUR, DEFAULT, default, blocked) == (skip, skip)


def test_an_evening_retry_past_the_window_does_not_reach_the_morning() -> None:
    # §5: a 20:45 dose in New York (00:45Z), deadline 21:45; a retry at 21:05 has no opening
    occurrence = at("2026-03-26T00:45:00Z")
    limit = oracle_deadline(occurrence, 3600, None)
    assert limit == deadline(occurrence, timedelta(seconds=3600), None) == at("2026-03-26T01:45Z")
    retry = at("2026-03-26T01:05:00Z")
    assert both_openings(retry, limit, ny_only, DEFAULT, PROFILES["default"], NY_PLACE) == (
        None,
        None,
    )


def test_deadline_bounds() -> None:
    occurrence = at("2026-03-25T16:00:00Z")
    cap = 3600
    for upcoming, expected in [
        (None, at("2026-03-25T17:00:00Z")),
        (at("2026-03-25T17:00:00Z"), at("2026-03-25T16:59:59.999Z")),
        (at("2026-03-25T17:00:00.001Z"), at("2026-03-25T17:00:00Z")),
        (at("2026-03-25T16:30:00Z"), at("2026-03-25T16:29:59.999Z")),
    ]:
        assert oracle_deadline(occurrence, cap, upcoming) == expected
        assert deadline(occurrence, timedelta(seconds=cap), upcoming) == expected
    limit = at("2026-03-25T17:00:00Z")  # 13:00 New York: inside
    dial, missed = Verdict("dial"), Verdict("missed")
    assert _verdicts(limit, limit, DEFAULT, PROFILES["default"], frozenset()) == (dial, dial)
    late = limit + MS
    assert _verdicts(late, limit, DEFAULT, PROFILES["default"], frozenset()) == (missed, missed)


def test_offsets_are_those_in_force_at_the_instant() -> None:
    # Regression pins found by the generated cases: a zone's offset at an instant is the one
    # in force then (``instant.astimezone(zone)``), not the one its UTC wall-clock fields
    # would have as a local time there.
    # Los Angeles is on PDT (UTC−7) until 09:00Z on 2024-11-03, like Phoenix: they agree.
    five = at("2024-11-03T05:00:00Z")
    pair = (("America/Los_Angeles", "America/Phoenix"), False)
    expected = frozenset(pair[0])
    assert oracle_window_zones(None, pair, "strictest", five) == expected
    assert frozenset(NumberZones(*pair).at(five)) == expected
    # Nuuk falls back from UTC−1 to UTC−2 at 01:00Z on 2026-10-25: 23:59 then 23:00 again.
    nuuk = Place("America/Nuuk", NumberZones((), True))
    late = hours_window(22 * 60 + 11, 23 * 60 + 57)
    after, until = at("2026-10-25T00:59:00Z"), at("2026-10-25T13:25:00Z")
    assert both_openings(
        after, until, lambda _: ["America/Nuuk"], hours_of(22 * 60 + 11, 23 * 60 + 57), late, nuuk
    ) == (at("2026-10-25T01:00:00Z"), at("2026-10-25T01:00:00Z"))
    # Beirut springs forward at midnight (2028-03-26 00:00 → 01:00, 22:00Z): a 00:26 start
    # opens at 01:00 local, the first existing minute after it.
    beirut = Place("Asia/Beirut", NumberZones((), True))
    early = hours_window(26, 3 * 60 + 40)
    after, until = at("2028-03-25T21:59:00Z"), at("2028-03-26T15:00:00Z")
    assert both_openings(
        after, until, lambda _: ["Asia/Beirut"], hours_of(26, 3 * 60 + 40), early, beirut
    ) == (at("2028-03-25T22:00:00Z"), at("2028-03-25T22:00:00Z"))
