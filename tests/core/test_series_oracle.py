"""Reminder series and their dispatch, checked against an oracle written from the contract.

The oracle (``tests/oracle/series.py``) knows nothing of ``dialcues_core``; the system is
driven through its embedding API on a :class:`FakeClock` and one SQLite file for the module:
``Reminders.create``/``update`` and the dispatcher's ``Attempts.claim``/``finish``.

* ``test_series_rings_as_the_oracle_says`` — thousands of series across 82 zones (DST days,
  30- and 120-minute shifts, skipped days, all recurrence kinds, local and instant
  ``scheduled_at``, inclusive ends): each is created, then rung occurrence by occurrence
  (claim → completed), and the instants it rang at must be the oracle's.
* ``test_scenario_matches_the_oracle`` — hundreds of reminders driven through late runs,
  retries, cosmetic edits, reshapes, zone changes, pause and resume; after every step the
  reminder's status, ``scheduled_at``, ``retry_count``, ``next_attempt_at``,
  ``recurrence_end_at`` and its executions must be what the oracle says.
* named tests pin the contract's own examples.

Cases come from ``random.Random`` seeded by a fixed string and the case's index, so node ids
(``series-0042``, ``scenario-0007``) are stable and each case reproduces on its own.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
from oracle.series import (
    DELAYS,
    GRACE,
    Moment,
    Rejected,
    ReminderModel,
    Rule,
    Series,
    Snapshot,
    instants_showing,
    to_instant,
    wall,
    zone,
)
from support.platform import make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.dispatch.attempts import Attempts, Finished
from dialcues_core.errors import DialcuesError, ValidationFailed
from dialcues_core.reminders import recurrence
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.testing import FakeClock

SEED = "dialcues-series-oracle-1"
SERIES_CASES = 3000
SCENARIOS = 320
FAST_SAMPLE = 100
"""The first cases of each generated family run in ``make test-fast``; the rest are ``slow``."""


def cases(count: int, name: str) -> list[Any]:
    """``range(count)`` as parameters with fixed ids, all past :data:`FAST_SAMPLE` ``slow``."""
    return [
        pytest.param(i, id=f"{name}-{i:04d}", marks=[pytest.mark.slow] if i >= FAST_SAMPLE else [])
        for i in range(count)
    ]


OCCURRENCES = 8
PHONE = "+14155552671"

ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Halifax",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Asuncion",
    "America/Havana",
    "America/Mexico_City",
    "America/Bogota",
    "America/Caracas",
    "America/Nuuk",
    "America/Scoresbysund",
    "America/Godthab",
    "America/Argentina/Buenos_Aires",
    "America/Miquelon",
    "America/Port-au-Prince",
    "America/Whitehorse",
    "America/Punta_Arenas",
    "Atlantic/Azores",
    "Atlantic/Reykjavik",
    "Atlantic/Canary",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Europe/Kyiv",
    "Europe/Chisinau",
    "Europe/Helsinki",
    "Africa/Casablanca",
    "Africa/El_Aaiun",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Africa/Juba",
    "Antarctica/Troll",
    "Antarctica/Macquarie",
    "Asia/Jerusalem",
    "Asia/Gaza",
    "Asia/Beirut",
    "Asia/Damascus",
    "Asia/Amman",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Kabul",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Yangon",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Pyongyang",
    "Australia/Eucla",
    "Australia/Adelaide",
    "Australia/Darwin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Australia/Perth",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Pacific/Fiji",
    "Pacific/Norfolk",
    "Pacific/Kiritimati",
    "Pacific/Tongatapu",
    "Pacific/Marquesas",
    "Pacific/Easter",
    "UTC",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "US/Eastern",
)


# ============================================================================ the system
@dataclass
class Env:
    """The system under test: one platform on a fake clock, one user with two lines."""

    dc: Dialcues
    clock: FakeClock
    me: Principal
    lines: tuple[str, str]

    @functools.cached_property
    def attempts(self) -> Attempts:
        """Return the dispatcher's synchronous use cases."""
        return self.dc.attempts()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One SQLite platform for the module (each case deletes its reminder when done)."""
    path: Path = tmp_path_factory.mktemp("series-oracle") / "dialcues.db"
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    settings = settings_for(f"sqlite:///{path}", retry_delays=DELAYS, max_lateness_seconds=1800)
    platform = Dialcues.open(settings=settings, clock=clock)
    tenant = make_tenant(platform)
    second = platform.accounts.add_line(tenant.org.id, "simulated", "+14155550101", label="Two")
    yield Env(platform, clock, tenant.principal, (tenant.line.id, second.id))
    platform.close()


def forget(env: Env, rid: int) -> None:
    """Delete a case's reminder, best effort: a leftover is only ever claimed and ignored."""
    with contextlib.suppress(DialcuesError):
        env.dc.reminders.delete(env.me, rid)


def zulu(instant: datetime | None) -> str:
    """Render an aware instant as the contract does (``…Z``), or ``-`` for None."""
    if instant is None:
        return "-"
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload_for(zone_name: str, start: str, rule: Rule | None, end: str | None) -> dict[str, Any]:
    """Return a create payload."""
    body: dict[str, Any] = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": PHONE,
        "timezone": zone_name,
        "scheduled_at": start,
    }
    if rule is not None:
        body.update(rule.wire())
    if end is not None:
        body["recurrence_end_at"] = end
    return body


def describe(body: dict[str, Any]) -> str:
    """Summarise a payload's schedule fields for a failure message."""
    keys = ("timezone", "scheduled_at", "recurrence_type", "recurrence_config", "recurrence_end_at")
    return ", ".join(f"{k}={body[k]!r}" for k in keys if k in body)


def refusal(exc: Rejected) -> str:
    """Render an oracle refusal as :func:`error_of` renders the system's."""
    return f"{exc.code} {[exc.field]}" if exc.field else exc.code


def error_of(exc: DialcuesError) -> str:
    """Render a core error as its code and the fields it names."""
    fields = exc.fields if isinstance(exc, ValidationFailed) else {}
    return f"{exc.code} {sorted(fields)}" if fields else exc.code


# ============================================================================ generation
QUIET_CHANGES = {
    "America/Nuuk": (datetime(2023, 10, 29, 1, tzinfo=UTC),),
    "America/Godthab": (datetime(2023, 10, 29, 1, tzinfo=UTC),),
}
"""Rule changes that keep the offset and the abbreviation (Greenland's 2023 switch to −02
standard time): sampling cannot see them, and ``zoneinfo`` misreads local times next to it."""


@functools.cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Return the instants (2014–2040) at which the zone's offset or abbreviation changes.

    Sampled every other day, then bisected to the minute: good enough to aim cases at DST days.
    """

    def shape(instant: datetime) -> tuple[Any, ...]:
        local = instant.astimezone(zone(zone_name))
        return (local.utcoffset(), local.tzname())

    found: list[datetime] = []
    moment = datetime(2014, 1, 1, tzinfo=UTC)
    previous = shape(moment)
    while moment.year < 2041:
        following = moment + timedelta(days=2)
        current = shape(following)
        if current != previous:
            low, high = moment, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if shape(middle) == previous else (low, middle)
            found.append(high.replace(second=0, microsecond=0))
        moment, previous = following, current
    return tuple(sorted({*found, *QUIET_CHANGES.get(zone_name, ())}))


def pick(rng: random.Random, weighted: dict[str, int]) -> str:
    """Pick a key with the given weights."""
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def interesting_local(rng: random.Random, zone_name: str, years: tuple[int, int]) -> datetime:
    """Return a wall-clock time near one of the zone's transitions, else a random one."""
    near = [t for t in transitions(zone_name) if years[0] <= t.year <= years[1]]
    quiet = [t for t in QUIET_CHANGES.get(zone_name, ()) if years[0] <= t.year <= years[1]]
    if near and rng.random() < 0.75:
        moment = rng.choice(quiet if quiet and rng.random() < 0.4 else near)
        edge = rng.choice((wall(moment - timedelta(minutes=1), zone_name), wall(moment, zone_name)))
        minutes = rng.choice((-120, -60, -31, -30, -1, 0, 0, 1, 15, 29, 30, 31, 45, 59, 60, 90))
        return edge.replace(second=0) + timedelta(minutes=minutes)
    day = date(rng.randint(*years), 1, 1) + timedelta(days=rng.randrange(365))
    return datetime.combine(day, time(rng.randrange(24), rng.choice((0, 0, 15, 30, 45, 7))))


CRON_MINUTES = ("0", "30", "*/15", "*/20", "0,30", "*", "0-59/10", "45", "5-10", "59")
CRON_HOURS = ("*", "*/2", "0-23/3", "1-3", "0,12")
CRON_DAYS = ("*", "*/2", "1-31/2", "1,15", "1-7", "8-14", "*/3", "2-30/7", "13", "29", "31")
CRON_MONTHS = ("*", "*", "*", "*/2", "jan-jun", "jul-dec", "3,10", "MAR-may", "1-12/3")
CRON_WEEKDAYS = ("*", "1", "mon-fri", "0", "7", "sun", "5-7", "*/2", "1-5/2", "sat,sun", "Tue,thu")


def random_cron(rng: random.Random, anchor: datetime) -> str:
    """Return a cron expression that usually rings around ``anchor``'s time of day."""
    minute = rng.choice((str(anchor.minute), *CRON_MINUTES))
    h = anchor.hour
    hour = rng.choice((str(h), f"{max(h - 1, 0)}-{min(h + 1, 23)}", f"{h},{(h + 12) % 24}"))
    if rng.random() < 0.3:
        hour = rng.choice(CRON_HOURS)
    if rng.random() < 0.55:
        return f"{minute} {hour} * * *"
    days, months, weekdays = (
        rng.choice(CRON_DAYS),
        rng.choice(CRON_MONTHS),
        rng.choice(CRON_WEEKDAYS),
    )
    if rng.random() < 0.3:
        days, months = str(anchor.day), str(anchor.month)
    return f"{minute} {hour} {days} {months} {weekdays}"


def random_rule(rng: random.Random, kind: str, anchor: datetime) -> Rule | None:
    """Return a rule of ``kind`` (``one_off`` → None)."""
    if kind == "one_off":
        return None
    if kind in ("daily", "weekly"):
        return Rule(kind)
    if kind == "interval_days":
        return Rule(kind, interval_days=rng.choice((2, 3, 5, 7, 10, 14, 30, 365)))
    if kind == "weekdays":
        chosen = rng.sample(range(7), rng.randint(1, 4))
        return Rule(kind, weekdays=tuple(sorted(chosen)))
    return Rule("cron", cron=random_cron(rng, anchor))


def anchor_before(rng: random.Random, kind: str, rule: Rule | None, local: datetime) -> datetime:
    """Move ``local`` back so that the series crosses it within a few occurrences."""
    if rule is None or kind == "cron":
        back = timedelta(hours=rng.choice((0, 0, 1, 3, 12, 24, 49)))
    elif kind == "weekly":
        back = timedelta(days=7 * rng.randint(0, 3))
    elif kind == "interval_days":
        assert rule.interval_days is not None
        back = timedelta(days=rule.interval_days * rng.randint(0, 2))
    else:
        back = timedelta(days=rng.randint(0, 4))
    return local - back


def start_text(rng: random.Random, zone_name: str, rule: Rule | None, anchor: datetime) -> str:
    """Render ``scheduled_at``: usually the local time, sometimes one of its instants."""
    found = instants_showing(anchor, zone_name)
    if not found or rng.random() < 0.72:
        return anchor.isoformat()
    matches = rule is None or rule.starts_at_anchor or rule.matches(anchor, anchor)
    instant = rng.choice(found) if matches else found[0]
    if rng.random() < 0.5:
        return zulu(instant)
    offset = instant.astimezone(zone(zone_name)).utcoffset()
    assert offset is not None
    return (instant + offset).replace(tzinfo=None).isoformat() + _offset_text(offset)


def _offset_text(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def end_text(rng: random.Random, zone_name: str, occurrences: list[datetime]) -> str | None:
    """Render a ``recurrence_end_at`` at, just before or just after a later occurrence."""
    if len(occurrences) < 3 or rng.random() < 0.4:
        return None
    target = occurrences[rng.randint(1, min(6, len(occurrences) - 1))]
    local = wall(target, zone_name)
    text = rng.choice(
        (
            local.isoformat(),
            local.isoformat(),
            (local - timedelta(minutes=1)).isoformat(),
            (local + timedelta(seconds=1)).isoformat(),
            zulu(target),
            zulu(target - timedelta(seconds=1)),
        )
    )
    # The contract refuses an end at or before the first occurrence: keep the cases valid.
    return text if Moment.parse(text).instant_in(zone_name) > occurrences[0] else None


KINDS = {"daily": 20, "weekly": 12, "interval_days": 12, "weekdays": 18, "cron": 38}


@dataclass(frozen=True)
class SeriesCase:
    """One series to create and ring: its payload and how many occurrences to compare."""

    body: dict[str, Any]
    count: int = OCCURRENCES


@functools.cache
def series_case(index: int) -> SeriesCase:
    """Return the ``index``-th generated series (a fixed function of the seed and index)."""
    rng = random.Random(f"{SEED}:series:{index}")
    zone_name = ZONES[index % len(ZONES)]
    while True:
        kind = pick(rng, KINDS)
        local = interesting_local(rng, zone_name, (2014, 2040))
        rule = random_rule(rng, kind, local)
        anchor = anchor_before(rng, kind, rule, local)
        start = start_text(rng, zone_name, rule, anchor)
        series = Series(zone_name, rule, Moment.parse(start))
        occurrences = series.take(OCCURRENCES)
        if occurrences:
            break
    end = end_text(rng, zone_name, occurrences)
    return SeriesCase(payload_for(zone_name, start, rule, end))


# ============================================================================ series
def expected_rings(case: SeriesCase) -> list[str]:
    """Return what the oracle says the series shows: its end, its rings, then maybe completed."""
    body = case.body
    try:
        model = ReminderModel(body, datetime(1900, 1, 1, tzinfo=UTC))
    except Rejected as exc:
        return [f"rejected: {refusal(exc)}"]
    series = model.series
    rings = series.take(case.count)
    shown = [f"end={zulu(series.end_at)}", *(zulu(r) for r in rings)]
    ended = not rings or series.next_after(rings[-1]) is None
    return [*shown, "completed"] if ended else shown


def actual_rings(env: Env, case: SeriesCase, *, dispatch: bool) -> list[str]:
    """Create the series and walk it; return what it showed (as :func:`expected_rings`).

    With ``dispatch`` every occurrence is claimed and finished ``completed`` by the
    dispatcher's use cases at its own time; without, the stored rule is asked for each next
    occurrence (``dialcues_core.reminders.recurrence.next_occurrence``, what the dispatcher calls).
    """
    body = case.body
    earliest = min(Moment.parse(body["scheduled_at"]).instant_in(body["timezone"]), *_firsts(case))
    env.clock.set(earliest - timedelta(days=3))
    try:
        reminder = env.dc.reminders.create(env.me, body)
    except DialcuesError as exc:
        return [f"rejected: {error_of(exc)}"]
    walk = _ring_all if dispatch else _follow_rule
    try:
        return [f"end={zulu(reminder.recurrence_end_at)}", *walk(env, reminder, case.count)]
    finally:
        forget(env, reminder.id)


def _firsts(case: SeriesCase) -> list[datetime]:
    body = case.body
    rule = Rule.from_wire(body.get("recurrence_type"), body.get("recurrence_config"))
    first = Series(body["timezone"], rule, Moment.parse(body["scheduled_at"])).first()
    return [first] if first is not None else []


def _ring_all(env: Env, reminder: Reminder, count: int) -> list[str]:
    shown: list[str] = []
    for _ in range(count):
        if reminder.status is not ReminderStatus.SCHEDULED:
            break
        shown.append(zulu(reminder.scheduled_at))
        env.clock.set(reminder.scheduled_at)
        claims = [c for c in env.attempts.claim(10) if c.execution.reminder_id == reminder.id]
        if len(claims) != 1:
            shown.append(f"not dialed ({len(claims)} claims)")
            return shown
        done = Finished(claims[0].execution.id, ExecutionStatus.COMPLETED, False, env.clock.now())
        env.attempts.finish([done])
        reminder = env.dc.reminders.get(env.me, reminder.id)
    if reminder.status is ReminderStatus.COMPLETED:
        shown.append("completed")
    return shown


def _follow_rule(env: Env, reminder: Reminder, count: int) -> list[str]:
    shown: list[str] = []
    current: datetime | None = reminder.scheduled_at
    while current is not None and len(shown) < count:
        shown.append(zulu(current))
        assert reminder.recurrence is not None
        current = recurrence.next_occurrence(reminder.recurrence, current)
    return [*shown, "completed"] if current is None else shown


def check_series(env: Env, case: SeriesCase, name: str, *, dispatch: bool = True) -> None:
    """Fail with both sequences unless the system rings the series as the oracle says."""
    expected, actual = expected_rings(case), actual_rings(env, case, dispatch=dispatch)
    if expected == actual:
        return
    index = next(i for i in range(len(expected) + 1) if _at(expected, i) != _at(actual, i))
    pytest.fail(
        f"{name}: {describe(case.body)}\n"
        f"  first difference at #{index}: "
        f"expected {_at(expected, index)}, got {_at(actual, index)}\n"
        f"  expected: {expected}\n"
        f"  actual:   {actual}",
        pytrace=False,
    )


def _at(items: list[str], index: int) -> str:
    return items[index] if index < len(items) else "(nothing)"


@pytest.mark.parametrize("index", cases(SERIES_CASES, "series"))
def test_series_rings_as_the_oracle_says(env: Env, index: int) -> None:
    """A generated series rings at exactly the oracle's instants, then ends where it says.

    Every third case is rung through the dispatcher; the others follow the stored rule.
    """
    check_series(env, series_case(index), f"series-{index:04d}", dispatch=index % 3 == 0)


NAMED_SERIES = {
    "instant-in-the-second-pass-is-kept": payload_for(
        "America/New_York", "2027-11-07T06:30:00Z", Rule("daily"), None
    ),
    "nuuk-local-time-after-the-last-transition": payload_for(
        "America/Nuuk", "2023-10-27T23:30:00", Rule("daily"), None
    ),
    "cron-star-step-day-is-unrestricted-and": payload_for(
        "UTC", "2026-03-01T00:00:00", Rule("cron", cron="0 9 */2 * 1"), None
    ),
    "cron-range-step-day-is-restricted-or": payload_for(
        "UTC", "2026-03-01T00:00:00", Rule("cron", cron="0 9 1-31/2 * 1"), None
    ),
    "new-york-gap-rings-offset-shifted": payload_for(
        "America/New_York", "2026-03-06T02:30:00", Rule("daily"), None
    ),
    "apia-skipped-day-rings-once": payload_for(
        "Pacific/Apia", "2011-12-28T10:00:00", Rule("daily"), None
    ),
    "lord-howe-half-hour-gap": payload_for(
        "Australia/Lord_Howe", "2026-10-02T02:15:00", Rule("daily"), None
    ),
    "troll-two-hour-gap": payload_for(
        "Antarctica/Troll", "2026-03-27T02:00:00", Rule("daily"), None
    ),
    "chatham-gap-cron": payload_for(
        "Pacific/Chatham", "2026-09-26T00:00:00", Rule("cron", cron="*/30 2-4 * * *"), None
    ),
    "cron-gap-times-ring-once": payload_for(
        "America/New_York", "2026-03-08T00:00:00", Rule("cron", cron="0 2,3 * * *"), None
    ),
    "cron-seven-is-sunday": payload_for(
        "Europe/London", "2026-03-20T00:00:00", Rule("cron", cron="30 1 * * 7"), None
    ),
    "end-in-the-gap-is-inclusive": payload_for(
        "America/New_York", "2026-03-05T02:30:00", Rule("daily"), "2026-03-08T02:30:00"
    ),
    "weekdays-across-the-fall-overlap": payload_for(
        "Europe/Dublin", "2026-10-20T01:30:00", Rule("weekdays", weekdays=(0, 3)), None
    ),
}


@pytest.mark.parametrize("name", sorted(NAMED_SERIES))
def test_named_series_rings_as_the_oracle_says(env: Env, name: str) -> None:
    """The contract's own examples ring at the oracle's instants."""
    check_series(env, SeriesCase(NAMED_SERIES[name]), name)


# ============================================================================ scenarios
RETRYABLE_OUTCOMES = ("no_answer", "busy", "failed")


def observe(env: Env, rid: int) -> Snapshot:
    """Return what the system shows for reminder ``rid``."""
    r = env.dc.reminders.get(env.me, rid)
    page = env.dc.executions.list(env.me, {"reminder_id": str(rid), "page_size": "100"})
    return Snapshot(
        status=r.status.value,
        scheduled_at=r.scheduled_at,
        retry_count=r.retry_count,
        next_attempt_at=r.next_attempt_at,
        recurrence_end_at=r.recurrence_end_at,
        executions=tuple(e.status.value for e in reversed(page.items)),
    )


def differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    """Return the fields where the system differs (fields the contract leaves open aside)."""
    found = []
    for name in ("status", "scheduled_at", "retry_count", "next_attempt_at", "recurrence_end_at"):
        want, got = getattr(expected, name), getattr(actual, name)
        if name in expected.open:
            continue
        if want != got:
            render = zulu if isinstance(want or got, datetime) else str
            found.append(f"{name}: expected {render(want)}, got {render(got)}")
    if expected.executions != actual.executions:
        found.append(f"executions: expected {expected.executions}, got {actual.executions}")
    return found


class Drive:
    """One reminder driven through the system and the oracle in lockstep.

    Each step moves the fake clock forward only, acts on both, then compares; the first
    difference fails the test with the steps so far.
    """

    def __init__(self, env: Env, name: str, body: dict[str, Any], now: datetime):
        """Create the reminder at ``now`` in both (the caller checks, then closes)."""
        self.env, self.name, self.log = env, name, [f"create at {zulu(now)}: {describe(body)}"]
        self.live: int | None = None
        env.clock.set(now)
        self.model = ReminderModel(body, now)
        try:
            self.rid = env.dc.reminders.create(env.me, body).id
        except DialcuesError as exc:
            self.fail([f"create refused: {error_of(exc)} (the oracle accepts it)"])

    @property
    def now(self) -> datetime:
        """Return the fake clock's time."""
        now: datetime = self.env.clock.now()
        return now

    def fail(self, problems: list[str]) -> NoReturn:
        """Fail the test with the steps taken and the problems found."""
        steps = "\n".join(f"    {line}" for line in self.log)
        pytest.fail(f"{self.name}: {'; '.join(problems)}\n  steps:\n{steps}", pytrace=False)

    def check(self) -> None:
        """Compare the system's reminder with the oracle's."""
        expected = self.model.snapshot()
        found = differences(expected, observe(self.env, self.rid))
        if found:
            self.fail(found)

    def ring(
        self,
        lateness: timedelta,
        outcome: str,
        duration: timedelta,
        interlude: dict[str, Any] | None = None,
    ) -> None:
        """Let the dispatcher look ``lateness`` after the due time; end a dial with ``outcome``.

        ``interlude`` is a PATCH sent halfway through the call.
        """
        due = self.model.due_at
        assert due is not None
        self.env.clock.set(max(self.now, due + lateness))
        expected = self.model.claim(self.now)
        claims = [c for c in self.env.attempts.claim(10) if c.execution.reminder_id == self.rid]
        self.log.append(f"dispatcher at {zulu(self.now)} (due {zulu(due)}): oracle {expected}")
        self.live = claims[0].execution.id if claims else None
        self.check()
        if expected == "in_progress":
            if interlude is not None:
                half = timedelta(seconds=duration.seconds // 2)
                self.edit(interlude, self.now + half)
                duration -= half
            self.finish(outcome, duration)

    def finish(self, outcome: str, duration: timedelta) -> None:
        """End the attempt in the air ``duration`` later with ``outcome``."""
        assert self.live is not None
        self.env.clock.set(self.now + duration)
        self.model.finish(outcome, self.now)
        retry = outcome in RETRYABLE_OUTCOMES
        status = ExecutionStatus(outcome)
        self.env.attempts.finish([Finished(self.live, status, retry, self.now)])
        self.live = None
        self.log.append(f"call ended at {zulu(self.now)}: {outcome}")
        self.check()

    def edit(self, body: dict[str, Any], at: datetime) -> None:
        """PATCH at ``at``; both must accept it, or refuse it with the same code and field."""
        self.env.clock.set(max(self.now, at))
        try:
            self.model.update(body, self.now)
            expected = "accepted"
        except Rejected as exc:
            expected = refusal(exc)
        try:
            self.env.dc.reminders.update(self.env.me, self.rid, body)
            actual = "accepted"
        except DialcuesError as exc:
            actual = error_of(exc)
        self.log.append(f"PATCH at {zulu(self.now)} {body}: oracle {expected}")
        if expected != actual:
            self.fail([f"PATCH: expected {expected}, got {actual}"])
        self.check()

    def close(self) -> None:
        """Delete the reminder so no later case sees it (ending a call still in the air)."""
        if self.live is not None:
            done = Finished(self.live, ExecutionStatus.COMPLETED, False, self.now)
            self.env.attempts.finish([done])
        forget(self.env, self.rid)


def lateness(rng: random.Random) -> timedelta:
    """Return how late the dispatcher looks: mostly on time, sometimes at or past the grace."""
    choice = pick(rng, {"on_time": 60, "within": 14, "edge": 4, "past_edge": 4, "down": 18})
    seconds = {
        "on_time": 0,
        "within": rng.randint(1, 1799),
        "edge": 1800,
        "past_edge": 1801,
        "down": rng.randint(1801, 4 * 86400),
    }[choice]
    return timedelta(seconds=seconds)


OUTCOMES = {"completed": 40, "voicemail": 10, "no_answer": 25, "busy": 10, "failed": 15}


def cosmetic(rng: random.Random, env: Env) -> dict[str, Any]:
    """Return a PATCH that changes only title, message, phone number or line."""
    fields = {
        "title": f"Title {rng.randrange(1000)}",
        "message": f"Message {rng.randrange(1000)}",
        "phone_number": rng.choice(("+14155550123", "+442079460000", PHONE)),
        "vapi_line_id": rng.choice(env.lines),
    }
    chosen = rng.sample(sorted(fields), rng.randint(1, 3))
    return {name: fields[name] for name in chosen}


def between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """Return a whole-second moment in ``[low, high]`` (``low`` if the range is empty)."""
    span = int((high - low).total_seconds())
    return low + timedelta(seconds=rng.randint(0, span)) if span > 0 else low


def reshape(rng: random.Random, d: Drive) -> dict[str, Any]:
    """Return a PATCH that changes the schedule: zone, rule, end or a new ``scheduled_at``."""
    model = d.model
    options = ["timezone", "scheduled_at"]
    if model.rule is not None:
        options += ["rule", "end", "end"]
    else:
        options += ["rule"]
    what = rng.choice(options)
    if what == "timezone":
        return {"timezone": rng.choice(ZONES)}
    zone_name = model.zone
    if what == "scheduled_at":
        local = interesting_local(rng, zone_name, (d.now.year, d.now.year + 1))
        if to_instant(local, zone_name) <= d.now:
            local = wall(d.now, zone_name).replace(second=0) + timedelta(hours=rng.randint(1, 72))
        return {"scheduled_at": start_text(rng, zone_name, model.rule, local)}
    if what == "rule":
        kind = pick(rng, KINDS)
        rule = random_rule(rng, kind, model.series.anchor)
        assert rule is not None
        return rule.wire()
    open_ended = Series(zone_name, model.rule, model.start)
    ahead = upcoming(open_ended, d.now, OCCURRENCES)
    return {"recurrence_end_at": end_text(rng, zone_name, ahead) if ahead else None}


def upcoming(series: Series, after: datetime, count: int) -> list[datetime]:
    """Return up to ``count`` occurrences of ``series`` after ``after``."""
    found: list[datetime] = []
    current = series.next_after(after)
    while current is not None and len(found) < count:
        found.append(current)
        current = series.next_after(current)
    return found


def accepted(model: ReminderModel, body: dict[str, Any], at: datetime) -> bool:
    """Tell whether the oracle accepts ``body`` at ``at`` (or refuses it as the contract says).

    Refusals other than a one-off moved into the past by a zone change are left out: the
    contract names no field for them.
    """
    trial = copy.deepcopy(model)
    try:
        trial.update(body, at)
    except Rejected as exc:
        return exc.field == "timezone" and model.rule is None and set(body) == {"timezone"}
    return True


def scenario_body(rng: random.Random, zone_name: str) -> tuple[dict[str, Any], datetime]:
    """Return a create payload and a creation time shortly before its first occurrence."""
    while True:
        kind = pick(rng, {"one_off": 25, **KINDS})
        local = interesting_local(rng, zone_name, (2025, 2032))
        rule = random_rule(rng, kind, local)
        anchor = anchor_before(rng, kind, rule, local)
        start = start_text(rng, zone_name, rule, anchor)
        occurrences = Series(zone_name, rule, Moment.parse(start)).take(OCCURRENCES)
        if occurrences:
            break
    end = end_text(rng, zone_name, occurrences) if rule is not None else None
    body = payload_for(zone_name, start, rule, end)
    ahead = timedelta(seconds=rng.choice((600, 3600, 86400, 3 * 86400)) + 17)
    return body, min(occurrences[0], Moment.parse(start).instant_in(zone_name)) - ahead


def step(rng: random.Random, d: Drive) -> bool:
    """Take one random step the oracle can judge; return False when the reminder is done."""
    model = d.model
    if model.status == "completed":
        return False
    if model.status == "failed":
        if rng.random() < 0.5:
            return False
        local = wall(d.now, model.zone).replace(second=0) + timedelta(hours=rng.randint(1, 48))
        d.edit({"scheduled_at": local.isoformat()}, d.now + timedelta(seconds=5))
        return True
    if model.status == "paused":
        at = d.now + timedelta(seconds=rng.randint(60, 5 * 86400))
        body = cosmetic(rng, d.env) if rng.random() < 0.3 else {"status": "scheduled"}
        resuming = body == {"status": "scheduled"}
        if resuming and model.rule is not None and model.series.next_after(at) is None:
            return False
        if model.rule is None and "status" in body and model.scheduled_at <= at:
            at = between(rng, d.now, model.scheduled_at - timedelta(seconds=1))
            if model.scheduled_at <= d.now and rng.random() < 0.6:
                later = wall(d.now, model.zone).replace(second=0) + timedelta(hours=3)
                body["scheduled_at"] = later.isoformat()
        d.edit(body, at)
        return True
    due = model.due_at
    assert due is not None
    weights = {"ring": 55, "cosmetic": 10, "due_cosmetic": 12, "reshape": 13, "pause": 10}
    if model.next_attempt_at is not None:  # a retry is pending: edits are what can move it
        weights.update(ring=40, reshape=30)
    action = pick(rng, weights)
    if action == "cosmetic" and due > d.now:
        d.edit(cosmetic(rng, d.env), between(rng, d.now, due - timedelta(seconds=1)))
    elif action == "due_cosmetic":
        late = timedelta(seconds=rng.randint(1, int(2 * GRACE.total_seconds())))
        d.edit(cosmetic(rng, d.env), max(d.now, due + late))
    elif action == "reshape" and due > d.now:
        at = between(rng, d.now, due - timedelta(seconds=1))
        if rng.random() < 0.5:  # close to the due time, where a new zone can make it past
            at = max(at, due - timedelta(seconds=rng.randint(60, 7200)))
        body = reshape(rng, d)
        if accepted(model, body, at):
            d.edit(body, at)
    elif action == "pause" and model.next_attempt_at is None:
        late = timedelta(seconds=rng.choice((0, 0, 60, 900)))
        d.edit({"status": "paused"}, between(rng, d.now, due + late))
    else:
        interlude = pick(rng, {"none": 90, "pause": 6, "cosmetic": 4})
        body = {"none": None, "pause": {"status": "paused"}, "cosmetic": cosmetic(rng, d.env)}
        duration = timedelta(seconds=rng.randint(0, 180))
        d.ring(lateness(rng), pick(rng, OUTCOMES), duration, body[interlude])
    return True


@pytest.mark.parametrize("index", cases(SCENARIOS, "scenario"))
def test_scenario_matches_the_oracle(env: Env, index: int) -> None:
    """A reminder driven through random rings, edits, pauses and late runs stays as predicted."""
    rng = random.Random(f"{SEED}:scenario:{index}")
    zone_name = rng.choice(ZONES)
    body, now = scenario_body(rng, zone_name)
    d = Drive(env, f"scenario-{index:04d}", body, now)
    try:
        d.check()
        for _ in range(rng.randint(6, 16)):
            if not step(rng, d):
                break
    finally:
        d.close()


# ============================================================================ named scenarios
def drive(env: Env, name: str, body: dict[str, Any], now: str) -> Drive:
    """Start a named scenario at the instant ``now``."""
    return Drive(env, name, body, datetime.fromisoformat(now))


def run_named(
    env: Env, name: str, body: dict[str, Any], now: str, steps: Callable[[Drive], None]
) -> None:
    """Run a named scenario's steps, deleting the reminder afterwards."""
    d = drive(env, name, body, now)
    try:
        d.check()
        steps(d)
    finally:
        d.close()


def at(text: str) -> datetime:
    """Return the instant an ISO string with ``Z`` names."""
    return datetime.fromisoformat(text)


def test_title_edit_during_a_due_occurrence_does_not_move_it(env: Env) -> None:
    """A title edit while an occurrence is due but not yet dialed leaves it due."""
    body = payload_for("America/New_York", "2027-01-05T09:00:00", Rule("daily"), None)
    run_named(
        env,
        "title-edit-while-due",
        body,
        "2027-01-05T12:00:00Z",
        lambda d: d.edit({"title": "New"}, at("2027-01-05T14:05:00Z")),
    )


def test_title_edit_during_a_pending_retry_keeps_the_retry(env: Env) -> None:
    """A title edit while a retry is pending keeps the retry, its count and the occurrence."""

    def steps(d: Drive) -> None:
        d.ring(timedelta(0), "no_answer", timedelta(seconds=30))
        d.edit({"title": "New"}, at("2027-01-05T14:02:00Z"))
        d.ring(timedelta(0), "completed", timedelta(seconds=30))

    body = payload_for("America/New_York", "2027-01-05T09:00:00", Rule("daily"), None)
    run_named(env, "title-edit-with-retry", body, "2027-01-05T12:00:00Z", steps)


def test_zone_change_of_a_one_off_in_a_gap_keeps_the_local_time_asked_for(env: Env) -> None:
    """A one-off asked for at 02:30 in a New York gap moved to Paris rings at 02:30 Paris."""
    body = payload_for("America/New_York", "2027-03-14T02:30:00", None, None)
    run_named(
        env,
        "zone-change-one-off-in-gap",
        body,
        "2027-03-10T00:00:00Z",
        lambda d: d.edit({"timezone": "Europe/Paris"}, at("2027-03-10T00:00:00Z")),
    )


def test_series_moved_west_keeps_a_local_end(env: Env) -> None:
    """A local ``recurrence_end_at`` keeps its local meaning: the last occurrence survives."""

    def steps(d: Drive) -> None:
        d.edit({"timezone": "America/New_York"}, at("2027-06-01T00:00:00Z"))
        for _ in range(6):
            if d.model.status != "scheduled":
                break
            d.ring(timedelta(0), "completed", timedelta(seconds=10))

    end = "2027-06-05T09:00:00"
    body = payload_for("Europe/Paris", "2027-06-02T09:00:00", Rule("daily"), end)
    run_named(env, "moved-west-local-end", body, "2027-06-01T00:00:00Z", steps)


def test_series_moved_west_keeps_an_instant_end(env: Env) -> None:
    """A ``recurrence_end_at`` given with ``Z`` stays that instant: the moved series ends sooner."""

    def steps(d: Drive) -> None:
        d.edit({"timezone": "America/New_York"}, at("2027-06-01T00:00:00Z"))
        for _ in range(6):
            if d.model.status != "scheduled":
                break
            d.ring(timedelta(0), "completed", timedelta(seconds=10))

    end = "2027-06-05T07:00:00Z"
    body = payload_for("Europe/Paris", "2027-06-02T09:00:00", Rule("daily"), end)
    run_named(env, "moved-west-instant-end", body, "2027-06-01T00:00:00Z", steps)


def test_late_run_records_one_missed_and_moves_to_the_next_future_occurrence(env: Env) -> None:
    """Three days of downtime: one ``missed`` execution, then the next occurrence after now."""
    body = payload_for("Europe/London", "2027-03-26T01:30:00", Rule("daily"), None)
    run_named(
        env,
        "late-run",
        body,
        "2027-03-25T00:00:00Z",
        lambda d: d.ring(timedelta(days=3), "completed", timedelta(0)),
    )


def test_resume_continues_at_the_next_occurrence_after_now(env: Env) -> None:
    """A series paused for days resumes at its next occurrence after now, with no catch-up."""

    def steps(d: Drive) -> None:
        d.edit({"status": "paused"}, at("2027-03-26T00:00:00Z"))
        d.edit({"status": "scheduled"}, at("2027-03-29T12:00:00Z"))
        d.ring(timedelta(0), "completed", timedelta(0))

    body = payload_for("Europe/London", "2027-03-26T01:30:00", Rule("daily"), None)
    run_named(env, "pause-resume", body, "2027-03-25T00:00:00Z", steps)


def test_retry_is_dropped_when_it_would_reach_the_next_occurrence(env: Env) -> None:
    """Every-ten-minutes cron: a retry 15 minutes later would pass the next occurrence."""

    def steps(d: Drive) -> None:
        d.ring(timedelta(0), "busy", timedelta(seconds=20))
        d.ring(timedelta(0), "busy", timedelta(seconds=20))
        d.ring(timedelta(0), "no_answer", timedelta(seconds=20))

    body = payload_for(
        "Asia/Kathmandu", "2027-01-05T09:00:00", Rule("cron", cron="*/10 9 * * *"), None
    )
    run_named(env, "retry-vs-next", body, "2027-01-05T00:00:00Z", steps)
