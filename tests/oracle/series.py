"""An oracle for reminder series and their dispatch, written from the contract's text alone.

Sources: ``/work/shared/spec/public-api-v1.md`` — the ``recurrence_config`` row of the create
table, "PATCH /reminders/:id", "What the dispatcher guarantees" and the paragraphs amended
2026-12. Nothing here imports the system under test, croniter or dateutil. Zones come from the
``tzdata`` package and are only ever asked instant → local (``datetime.astimezone`` on an aware
UTC instant); local → instant is derived from that here, never read from ``zoneinfo``.

Local time → instant (:func:`to_instant`):

* the instants a wall-clock time names are found by trying every UTC offset the zone uses
  around it and keeping each instant that converts back to exactly that wall-clock time;
* one instant → that one; two (fall-back overlap) → the earlier; none (spring-forward gap) →
  the time read with the offset in force just before the gap (02:30 New York on a
  spring-forward day → 07:30Z, i.e. 03:30 EDT).

Series (:class:`Series`): the rule's matching local times are mapped to instants; instants
that coincide ring once; a series rings in instant order. ``daily``/``weekly``/
``interval_days`` start at ``scheduled_at`` (weekly on its weekday, the interval counted from
its date); ``weekdays`` (0 = Sunday) and ``cron`` start at the earliest matching local time at
or after it. A ``scheduled_at`` sent with ``Z``/an offset is that instant, kept as the first
occurrence even in the second pass of a repeated hour; later occurrences follow the local
rules. ``recurrence_end_at`` is inclusive.

Dispatch and edits (:class:`ReminderModel`): the state a reminder shows after create, claim,
finish and PATCH — retries (300 s then 900 s after the failed attempt, only within the
1800 s grace window of the occurrence and before the next occurrence), late runs (one
``missed`` execution, then the next future occurrence), cosmetic edits (never move anything),
reshapes (drop a pending retry, next occurrence from the new rule), zone changes (keep the
local time asked for), pause and resume (next occurrence after now).

This module is longer than the house's 400 lines because the brief gives the oracle one file;
the sections are independent: zones, moments, cron, rules, series, reminders.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DELAYS",
    "GRACE",
    "OPEN_WHILE_PAUSED",
    "Cron",
    "Moment",
    "Rejected",
    "ReminderModel",
    "Rule",
    "Series",
    "Snapshot",
    "instants_showing",
    "offsets_in_year",
    "to_instant",
    "wall",
    "zone",
]

GRACE = timedelta(seconds=1800)
"""The grace window: an occurrence found later than this after its own time is missed."""
DELAYS = (300, 900)
"""The default retry delays, in seconds after the failed attempt."""

# ----------------------------------------------------------------------------- zones
_SAMPLE_STEP = timedelta(hours=6)
_YEAR_MARGIN = timedelta(days=3)
_PROBES = (timedelta(hours=-15), timedelta(0), timedelta(hours=15))
_HORIZON = timedelta(days=3660)


@functools.cache
def zone(name: str) -> ZoneInfo:
    """Load ``name`` from the ``tzdata`` package's files (never from the system's)."""
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with resource.open("rb") as fh:
        return ZoneInfo.from_file(fh, key=name)


def wall(instant: datetime, name: str) -> datetime:
    """Return the naive wall-clock time zone ``name`` shows at the aware ``instant``."""
    return instant.astimezone(zone(name)).replace(tzinfo=None)


def _offset(instant: datetime, name: str) -> timedelta:
    """Return the UTC offset zone ``name`` is at, at the aware ``instant``."""
    return wall(instant, name) - instant.replace(tzinfo=None)


@functools.cache
def offsets_in_year(name: str, year: int) -> frozenset[timedelta]:
    """Return the UTC offsets zone ``name`` uses in ``year`` (UTC) and three days either side.

    Sampled every six hours: an offset in force for less than six hours in a row would be
    missed (none is, in the tz database); :func:`instants_showing` adds offsets probed right
    around the time it converts, so a superset is always at hand.
    """
    tz = zone(name)
    moment = datetime(year, 1, 1, tzinfo=UTC) - _YEAR_MARGIN
    end = datetime(year + 1, 1, 1, tzinfo=UTC) + _YEAR_MARGIN
    found: set[timedelta | None] = set()
    while moment <= end:
        found.add(moment.astimezone(tz).utcoffset())
        moment += _SAMPLE_STEP
    return frozenset(offset for offset in found if offset is not None)


def _candidate_offsets(local: datetime, name: str) -> set[timedelta]:
    """Return a superset of the offsets zone ``name`` uses within a day of ``local``."""
    found = set(offsets_in_year(name, local.year))
    naive_utc = local.replace(tzinfo=UTC)
    for probe in _PROBES:
        seen = _offset(naive_utc + probe, name)
        found |= {seen, _offset(naive_utc - seen, name)}
    return found


@functools.lru_cache(maxsize=200_000)
def instants_showing(local: datetime, name: str) -> tuple[datetime, ...]:
    """Return every instant at which zone ``name``'s clocks show the naive ``local``, in order.

    Empty inside a spring-forward gap, two instants inside a fall-back overlap. Each candidate
    instant ``local − offset`` is kept only if converting it back gives exactly ``local``, so
    trying too many offsets is harmless.
    """
    found = set()
    for offset in _candidate_offsets(local, name):
        instant = (local - offset).replace(tzinfo=UTC)
        if wall(instant, name) == local:
            found.add(instant)
    return tuple(sorted(found))


@functools.lru_cache(maxsize=200_000)
def to_instant(local: datetime, name: str) -> datetime:
    """Return the instant the naive wall-clock ``local`` in zone ``name`` rings at (UTC).

    The only instant showing it; the earlier of two (fall-back); in a spring-forward gap, the
    time read with the offset in force just before the gap.
    """
    found = instants_showing(local, name)
    if found:
        return found[0]
    return (local - _offset_before_gap(local, name)).replace(tzinfo=UTC)


def _offset_before_gap(local: datetime, name: str) -> timedelta:
    """Return the offset in force just before the gap that swallows ``local``.

    Bisects (to the second) for the last instant whose wall-clock reading is before ``local``;
    the window is bounded by the offsets around ``local`` so no other transition is inside.
    """
    offsets = _candidate_offsets(local, name)
    low = (local - max(offsets) - timedelta(hours=1)).replace(tzinfo=UTC)
    high = (local - min(offsets) + timedelta(hours=1)).replace(tzinfo=UTC)
    if not (wall(low, name) < local < wall(high, name)):
        raise AssertionError(f"oracle: cannot bracket the gap around {local} in {name}")
    second = timedelta(seconds=1)
    while high - low > second:
        middle = low + second * ((high - low) // second // 2)
        if wall(middle, name) < local:
            low = middle
        else:
            high = middle
    return _offset(low, name)


# ----------------------------------------------------------------------------- moments
@dataclass(frozen=True, slots=True)
class Moment:
    """A date-time as the user sent it: a wall-clock ``local`` time or an aware ``instant``."""

    local: datetime | None = None
    instant: datetime | None = None

    @classmethod
    def parse(cls, text: str) -> Moment:
        """Read an ISO 8601 date-time: naive → local wall-clock, with ``Z``/offset → instant."""
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if value.tzinfo is None:
            return cls(local=value)
        return cls(instant=value.astimezone(UTC))

    def local_in(self, name: str) -> datetime:
        """Return the wall-clock time meant in zone ``name`` (an instant's reading there)."""
        if self.local is not None:
            return self.local
        assert self.instant is not None
        return wall(self.instant, name)

    def instant_in(self, name: str) -> datetime:
        """Return the instant meant in zone ``name`` (a local time read by :func:`to_instant`)."""
        if self.instant is not None:
            return self.instant
        assert self.local is not None
        return to_instant(self.local, name)


# ----------------------------------------------------------------------------- cron
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True, slots=True)
class _CronField:
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name: int = 0

    def value(self, text: str) -> int:
        lowered = text.lower()
        if lowered in self.names:
            return self.names.index(lowered) + self.first_name
        if not text.isascii() or not text.isdigit():
            raise ValueError(f"cron: {text!r} is not a number or a name")
        number = int(text)
        if not self.low <= number <= self.high:
            raise ValueError(f"cron: {number} is outside {self.low}-{self.high}")
        return number

    def expand(self, text: str) -> frozenset[int]:
        """Return the values a comma list of items selects."""
        values: set[int] = set()
        for item in text.split(","):
            base, slash, step_text = item.partition("/")
            step = int(step_text) if slash else 1
            if slash and (not step_text.isdigit() or step < 1):
                raise ValueError(f"cron: bad step in {item!r}")
            if base == "*":
                low, high = self.low, self.high
            elif "-" in base:
                low_text, high_text = base.split("-", 1)
                low, high = self.value(low_text), self.value(high_text)
                if low > high:
                    raise ValueError(f"cron: range {base!r} runs backwards")
            elif slash:
                raise ValueError(f"cron: a step follows only '*' or a range, not {item!r}")
            else:
                low = high = self.value(base)
            values.update(range(low, high + 1, step))
        return frozenset(values)


_MINUTE = _CronField(0, 59)
_HOUR = _CronField(0, 23)
_DAY_OF_MONTH = _CronField(1, 31)
_MONTH = _CronField(1, 12, _MONTH_NAMES, 1)
_DAY_OF_WEEK = _CronField(0, 7, _DAY_NAMES, 0)


def cron_weekday(day: date) -> int:
    """Return ``day``'s weekday in cron's numbering (0 = Sunday … 6 = Saturday)."""
    return day.isoweekday() % 7


@dataclass(frozen=True, slots=True)
class Cron:
    """A five-field cron expression with Vixie cron's day rule.

    Day-of-month and day-of-week are OR-ed only when both are restricted; a field that starts
    with ``*`` (``*``, ``*/2``) is unrestricted, so ``0 9 */2 * 1`` is odd days that are
    Mondays while ``0 9 1-31/2 * 1`` is odd days or Mondays. 7 is Sunday too.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse minute hour day-of-month month day-of-week; raise ``ValueError`` if malformed."""
        fields = text.split()
        if len(fields) != 5:
            raise ValueError("cron: five fields are needed")
        minute, hour, dom, month, dow = fields
        return cls(
            minutes=_MINUTE.expand(minute),
            hours=_HOUR.expand(hour),
            days=_DAY_OF_MONTH.expand(dom),
            months=_MONTH.expand(month),
            weekdays=frozenset(d % 7 for d in _DAY_OF_WEEK.expand(dow)),
            days_restricted=not dom.startswith("*"),
            weekdays_restricted=not dow.startswith("*"),
        )

    def matches_day(self, day: date) -> bool:
        """Tell whether the expression rings on ``day`` (month and the day rule)."""
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = cron_weekday(day) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_date or by_weekday
        return by_date and by_weekday

    def matches(self, local: datetime) -> bool:
        """Tell whether the wall-clock ``local`` is one of the expression's times."""
        return local.second == 0 and local.microsecond == 0 and self._matches_minute(local)

    def _matches_minute(self, local: datetime) -> bool:
        return (
            local.minute in self.minutes
            and local.hour in self.hours
            and self.matches_day(local.date())
        )


@functools.cache
def _cron_times(text: str) -> tuple[Cron, tuple[time, ...]]:
    """Parse ``text`` once; return it with its matching times of day, earliest first."""
    parsed = Cron.parse(text)
    times = tuple(time(h, m) for h in sorted(parsed.hours) for m in sorted(parsed.minutes))
    return parsed, times


# ----------------------------------------------------------------------------- rules
_DAY_STEPS = {"daily": 1, "weekly": 7}


@dataclass(frozen=True, slots=True)
class Rule:
    """A recurrence as sent: ``daily``, ``weekly``, ``interval_days``, ``weekdays`` or ``cron``."""

    kind: str
    interval_days: int | None = None
    weekdays: tuple[int, ...] = ()
    cron: str | None = None

    @classmethod
    def from_wire(
        cls, recurrence_type: str | None, config: Mapping[str, Any] | None
    ) -> Rule | None:
        """Read ``recurrence_type``/``recurrence_config`` as the create table defines them."""
        if recurrence_type is None:
            return None
        if recurrence_type in _DAY_STEPS:
            return cls(recurrence_type)
        assert config is not None, "custom and cron need a recurrence_config"
        if recurrence_type == "cron":
            return cls("cron", cron=str(config["expression"]))
        if "interval_days" in config:
            return cls("interval_days", interval_days=int(config["interval_days"]))
        return cls("weekdays", weekdays=tuple(int(d) for d in config["weekdays"]))

    def wire(self) -> dict[str, Any]:
        """Return the rule as the create payload's two fields."""
        if self.kind in _DAY_STEPS:
            return {"recurrence_type": self.kind, "recurrence_config": None}
        if self.kind == "cron":
            return {"recurrence_type": "cron", "recurrence_config": {"expression": self.cron}}
        if self.kind == "interval_days":
            config: dict[str, Any] = {"interval_days": self.interval_days}
        else:
            config = {"weekdays": list(self.weekdays)}
        return {"recurrence_type": "custom", "recurrence_config": config}

    @property
    def starts_at_anchor(self) -> bool:
        """Tell whether ``scheduled_at`` itself is the first occurrence (daily kinds)."""
        return self.kind in ("daily", "weekly", "interval_days")

    def matches(self, local: datetime, anchor: datetime) -> bool:
        """Tell whether ``local`` is one of the rule's wall-clock times for this anchor."""
        if self.kind == "cron":
            assert self.cron is not None
            return _cron_times(self.cron)[0].matches(local)
        if local.time() != anchor.time() or local < anchor:
            return False
        if self.kind == "weekdays":
            return cron_weekday(local.date()) in self.weekdays
        return (local.date() - anchor.date()).days % self._step() == 0

    def local_times(self, anchor: datetime, start: datetime, until: datetime) -> Iterator[datetime]:
        """Yield the rule's wall-clock times from ``max(anchor, start)`` to ``until``, in order."""
        lower = max(anchor, start)
        if self.kind == "cron":
            yield from self._cron_local_times(lower, until)
        elif self.kind == "weekdays":
            yield from self._weekday_local_times(anchor.time(), lower, until)
        else:
            yield from self._stepped_local_times(anchor, lower, until)

    def _step(self) -> int:
        if self.kind == "interval_days":
            assert self.interval_days is not None
            return self.interval_days
        return _DAY_STEPS[self.kind]

    def _stepped_local_times(
        self, anchor: datetime, lower: datetime, until: datetime
    ) -> Iterator[datetime]:
        step = self._step()
        local = anchor + timedelta(days=((lower - anchor).days // step) * step)
        while local <= until:
            if local >= lower:
                yield local
            local += timedelta(days=step)

    def _weekday_local_times(
        self, time_of_day: time, lower: datetime, until: datetime
    ) -> Iterator[datetime]:
        day = lower.date()
        while (local := datetime.combine(day, time_of_day)) <= until:
            if local >= lower and cron_weekday(day) in self.weekdays:
                yield local
            day += timedelta(days=1)

    def _cron_local_times(self, lower: datetime, until: datetime) -> Iterator[datetime]:
        assert self.cron is not None
        expression, times = _cron_times(self.cron)
        day = lower.date()
        while datetime.combine(day, time()) <= until:
            if expression.matches_day(day):
                for time_of_day in times:
                    local = datetime.combine(day, time_of_day)
                    if lower <= local <= until:
                        yield local
            day += timedelta(days=1)


# ----------------------------------------------------------------------------- series
def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class Series:
    """A reminder's occurrences: zone, rule (None for a one-off), start and end as sent."""

    zone: str
    rule: Rule | None
    start: Moment
    end: Moment | None = None

    @property
    def anchor(self) -> datetime:
        """Return ``scheduled_at``'s wall-clock time in the zone."""
        return self.start.local_in(self.zone)

    @property
    def end_at(self) -> datetime | None:
        """Return the inclusive end instant (a local end read in the zone), or None."""
        return self.end.instant_in(self.zone) if self.end is not None else None

    def first(self) -> datetime | None:
        """Return the first occurrence, or None when it lies past the end."""
        return self._within_end(self._first())

    def next_after(self, moment: datetime) -> datetime | None:
        """Return the first occurrence strictly after the aware ``moment``, or None."""
        first = self._first()
        if first is None:
            return None
        if moment < first:
            return self._within_end(first)
        if self.rule is None:
            return None
        return self._within_end(self._earliest(moment, inclusive=False))

    def take(self, count: int) -> list[datetime]:
        """Return up to ``count`` occurrences, in order (fewer when the series ends)."""
        found: list[datetime] = []
        current = self.first()
        while current is not None and len(found) < count:
            found.append(current)
            current = self.next_after(current)
        return found

    def _within_end(self, instant: datetime | None) -> datetime | None:
        end = self.end_at
        if instant is None or (end is not None and instant > end):
            return None
        return instant

    def _first(self) -> datetime | None:
        given = self.start.instant
        if self.rule is None or self.rule.starts_at_anchor:
            return given if given is not None else to_instant(self.anchor, self.zone)
        if given is None:
            return self._earliest(None, inclusive=True)
        if self.rule.matches(self.anchor, self.anchor):
            return given
        return self._earliest(given, inclusive=True)

    def _earliest(self, bound: datetime | None, *, inclusive: bool) -> datetime | None:
        """Return the earliest instant of the rule's local times after ``bound`` (or at it).

        Local times are walked in order; instants follow them except across a gap, so the walk
        starts where the zone's lowest offset could still land after ``bound`` and stops once
        the zone's highest offset cannot bring a later local time before the best instant.
        """
        assert self.rule is not None
        anchor = self.anchor
        start = anchor
        if bound is not None:
            start = max(anchor, _naive(bound) + min(offsets_in_year(self.zone, bound.year)))
        best: datetime | None = None
        for local in self.rule.local_times(anchor, start, start + _HORIZON):
            if best is not None and local - max(offsets_in_year(self.zone, local.year)) > _naive(
                best
            ):
                break
            instant = to_instant(local, self.zone)
            later = bound is None or instant > bound or (inclusive and instant == bound)
            if later and (best is None or instant < best):
                best = instant
        return best


# ----------------------------------------------------------------------------- reminders
SCHEDULE_FIELDS = frozenset(
    {"scheduled_at", "timezone", "recurrence_type", "recurrence_config", "recurrence_end_at"}
)
COSMETIC_FIELDS = frozenset({"title", "message", "phone_number", "vapi_line_id", "metadata"})
RETRYABLE = frozenset({"no_answer", "busy", "failed"})
DELIVERED = frozenset({"completed", "voicemail"})
EDITABLE = frozenset({"scheduled", "paused", "failed"})


class Rejected(Exception):
    """The contract refuses the request: ``code`` and, for validation, the ``field`` named."""

    def __init__(self, code: str, field: str | None = None):
        super().__init__(f"{code}: {field}" if field else code)
        self.code = code
        self.field = field


OPEN_WHILE_PAUSED = frozenset({"scheduled_at", "retry_count", "next_attempt_at"})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a reminder shows; the fields named in ``open`` are ones the contract leaves open.

    ``executions`` lists the statuses of the reminder's executions, oldest first.
    """

    status: str
    scheduled_at: datetime | None
    retry_count: int | None
    next_attempt_at: datetime | None
    recurrence_end_at: datetime | None
    executions: tuple[str, ...]
    open: frozenset[str] = frozenset()


class ReminderModel:
    """One reminder as the contract says it behaves under create, claim, finish and PATCH.

    Every method takes the current time; each raises :class:`Rejected` (leaving the model as
    it was) where the contract refuses the request.
    """

    def __init__(self, payload: Mapping[str, Any], now: datetime):
        """Create the reminder from a create payload (the wire's fields)."""
        self.zone: str = payload["timezone"]
        self.start = Moment.parse(payload["scheduled_at"])
        self.rule = Rule.from_wire(payload.get("recurrence_type"), payload.get("recurrence_config"))
        end = payload.get("recurrence_end_at")
        self.end = Moment.parse(end) if end is not None else None
        self.status = "scheduled"
        self.retry_count = 0
        self.next_attempt_at: datetime | None = None
        self.executions: list[str] = []
        self.open: frozenset[str] = frozenset()
        first = self.series.first()
        if self.start.instant_in(self.zone) <= now or first is None or first <= now:
            raise Rejected("validation_error", "scheduled_at")
        if self.rule is None and self.end is not None:
            raise Rejected("validation_error", "recurrence_end_at")
        end_at = self.series.end_at
        if end_at is not None and end_at <= first:
            raise Rejected("validation_error", "recurrence_end_at")
        self.scheduled_at: datetime = first

    # ------------------------------------------------------------------ reading
    @property
    def series(self) -> Series:
        """Return the series the reminder follows now."""
        return Series(self.zone, self.rule, self.start, self.end)

    @property
    def due_at(self) -> datetime | None:
        """Return when the next attempt is due (None: the reminder is not waiting)."""
        if self.status != "scheduled":
            return None
        return self.next_attempt_at or self.scheduled_at

    def snapshot(self) -> Snapshot:
        """Return what the reminder shows now, naming the fields the contract leaves open.

        Open: ``retry_count`` of a finished one-off; ``scheduled_at`` and ``retry_count`` of an
        ended series; ``next_attempt_at`` while a call is in the air; the schedule of a
        reminder paused while its occurrence was due or in the air (until it resumes).
        """
        open_fields = set(self.open)
        if self.rule is None and self.status in ("completed", "failed"):
            open_fields.add("retry_count")
        if self.rule is not None and self.status == "completed":
            open_fields |= {"scheduled_at", "retry_count"}
        if self.status == "in_progress":
            open_fields.add("next_attempt_at")
        return Snapshot(
            status=self.status,
            scheduled_at=self.scheduled_at,
            retry_count=self.retry_count,
            next_attempt_at=self.next_attempt_at,
            recurrence_end_at=self.series.end_at,
            executions=tuple(self.executions),
            open=frozenset(open_fields),
        )

    # ------------------------------------------------------------------ dispatch
    def claim(self, now: datetime) -> str | None:
        """Let the dispatcher look at ``now``: return "in_progress" (dialed), "missed" or None."""
        due = self.due_at
        if due is None or due > now:
            return None
        upcoming = self.series.next_after(self.scheduled_at) if self.rule else None
        if now - self.scheduled_at > GRACE or (upcoming is not None and now >= upcoming):
            # past the occurrence's deadline (responsible-calling.md: the cap, and strictly
            # before the series' next occurrence)
            self.executions.append("missed")
            self._move_on(now, delivered=False)
            return "missed"
        self.executions.append("in_progress")
        self.status = "in_progress"
        return "in_progress"

    def finish(self, outcome: str, now: datetime) -> None:
        """Apply the outcome of the attempt in the air, ended at ``now``."""
        assert self.executions and self.executions[-1] == "in_progress", "no attempt in the air"
        self.executions[-1] = outcome
        if self.status == "paused":
            self.next_attempt_at = None  # paused during the call: nothing more is dialed
            return
        assert self.status == "in_progress"
        if outcome in RETRYABLE and self._retry(now):
            return
        self._move_on(self.scheduled_at, delivered=outcome in DELIVERED)

    def _retry(self, now: datetime) -> bool:
        if self.retry_count >= len(DELAYS):
            return False
        retry_at = now + timedelta(seconds=DELAYS[self.retry_count])
        upcoming = self.series.next_after(self.scheduled_at) if self.rule else None
        if retry_at - self.scheduled_at > GRACE or (upcoming is not None and retry_at >= upcoming):
            # responsible-calling.md section 6: past the deadline, one skipped execution
            # (retry_window_closed) is recorded and the occurrence ends
            self.executions.append("skipped")
            return False
        self.status = "scheduled"
        self.retry_count += 1
        self.next_attempt_at = retry_at
        return True

    def _move_on(self, after: datetime, *, delivered: bool) -> None:
        """End the occurrence: a one-off is done, a series moves past ``after``."""
        self.next_attempt_at = None
        if self.rule is None:
            self.status = "completed" if delivered else "failed"
            return
        upcoming = self.series.next_after(after)
        self.retry_count = 0
        if upcoming is None:
            self.status = "completed"
            return
        self.status = "scheduled"
        self.scheduled_at = upcoming

    # ------------------------------------------------------------------ PATCH
    def update(self, payload: Mapping[str, Any], now: datetime) -> None:
        """Apply a PATCH at ``now``, or raise :class:`Rejected` and change nothing."""
        unknown = set(payload) - SCHEDULE_FIELDS - COSMETIC_FIELDS - {"status"}
        assert not unknown, f"the oracle does not model {unknown}"
        if not payload:
            raise Rejected("validation_error")
        if self.status == "in_progress":
            if dict(payload) != {"status": "paused"}:
                raise Rejected("invalid_state")
            self.status = "paused"
            self.open = OPEN_WHILE_PAUSED
            return
        if self.status not in EDITABLE:
            raise Rejected("invalid_state")
        edited = copy.deepcopy(self)
        edited._apply(payload, now)
        self.__dict__.update(edited.__dict__)

    def _apply(self, payload: Mapping[str, Any], now: datetime) -> None:
        target = payload.get("status")
        changes = self._schedule_changes(payload)
        if changes:
            self._reshape(changes, now)
        if target == "paused":
            self._pause(now)
        elif target == "scheduled":
            self._resume(now, rescheduled="scheduled_at" in changes)
        elif self.status == "failed" and "scheduled_at" in changes:
            self.status = "scheduled"

    def _schedule_changes(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Return the schedule fields whose value differs from the reminder's own.

        "An edit that does not change the schedule never moves it": a schedule field sent
        with the value it already has (the same zone, rule, start or end) reshapes nothing.
        """
        changes = {k: v for k, v in payload.items() if k in SCHEDULE_FIELDS}
        if changes.get("timezone", self.zone) == self.zone:
            changes.pop("timezone", None)
        if "scheduled_at" in changes and Moment.parse(changes["scheduled_at"]) == self.start:
            del changes["scheduled_at"]
        rule_keys = ("recurrence_type", "recurrence_config")
        if any(k in changes for k in rule_keys):
            rule = Rule.from_wire(payload.get("recurrence_type"), payload.get("recurrence_config"))
            if rule == self.rule:
                for key in rule_keys:
                    changes.pop(key, None)
        if "recurrence_end_at" in changes:
            value = changes["recurrence_end_at"]
            if (Moment.parse(value) if value is not None else None) == self.end:
                del changes["recurrence_end_at"]
        return changes

    def _reshape(self, payload: Mapping[str, Any], now: datetime) -> None:
        """Take the new schedule fields: the next occurrence comes from the new rule."""
        zone_name = payload.get("timezone", self.zone)
        if "scheduled_at" in payload:
            start = Moment.parse(payload["scheduled_at"])
        elif "timezone" in payload:
            start = Moment(local=self.start.local_in(self.zone))  # the wall-clock time asked for
        else:
            start = self.start
        rule = self.rule
        if "recurrence_type" in payload or "recurrence_config" in payload:
            rule = Rule.from_wire(payload.get("recurrence_type"), payload.get("recurrence_config"))
        end = self.end
        if "recurrence_end_at" in payload:
            value = payload["recurrence_end_at"]
            end = Moment.parse(value) if value is not None else None
        if rule is None and end is not None:
            raise Rejected("validation_error", "recurrence_end_at")
        series = Series(zone_name, rule, start, end)
        upcoming = self._reshaped_next(series, payload, now)
        self.zone, self.rule, self.start, self.end = zone_name, rule, start, end
        self.scheduled_at = upcoming
        self.retry_count = 0
        self.next_attempt_at = None
        self.open = frozenset()

    @staticmethod
    def _reshaped_next(series: Series, payload: Mapping[str, Any], now: datetime) -> datetime:
        moved_by_zone_only = "timezone" in payload and "scheduled_at" not in payload
        field = "timezone" if moved_by_zone_only else "scheduled_at"
        if series.rule is None or "scheduled_at" in payload:
            upcoming = series.first()
            if series.start.instant_in(series.zone) <= now or upcoming is None or upcoming <= now:
                raise Rejected("validation_error", field)
        else:
            upcoming = series.next_after(now)
            if upcoming is None:
                raise Rejected("validation_error", "recurrence_end_at")
        end_at = series.end_at
        if end_at is not None and end_at < upcoming:
            raise Rejected("validation_error", "recurrence_end_at")
        return upcoming

    def _pause(self, now: datetime) -> None:
        if self.status == "paused":
            return
        if self.status != "scheduled":
            raise Rejected("invalid_state")
        self.status = "paused"
        # The contract pins the occurrence while paused only if nothing was due yet.
        if self.scheduled_at <= now or self.next_attempt_at is not None:
            self.open = OPEN_WHILE_PAUSED

    def _resume(self, now: datetime, *, rescheduled: bool) -> None:
        if self.status == "scheduled":
            return
        if self.status == "failed":
            if not rescheduled:
                raise Rejected("validation_error", "scheduled_at")
            self.status = "scheduled"
            return
        if self.status != "paused":
            raise Rejected("invalid_state")
        self.status = "scheduled"
        self.next_attempt_at = None
        self.retry_count = 0
        self.open = frozenset()
        if self.rule is None:
            if self.scheduled_at <= now and not rescheduled:
                raise Rejected("validation_error", "scheduled_at")
            return
        upcoming = self.series.next_after(now) if not rescheduled else self.scheduled_at
        if upcoming is None:
            raise Rejected("validation_error", "scheduled_at")
        self.scheduled_at = upcoming
