"""A reminder's schedule from its fields: anchor, first occurrence, rule, series end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialcues_core.kernel.fields import MISSING, FieldReader
from dialcues_core.kernel.localtime import load_zone, to_local
from dialcues_core.kernel.moments import LocalMoment, parse_local_moment
from dialcues_core.reminders import recurrence
from dialcues_core.reminders.fields import RecurrenceSpec
from dialcues_core.reminders.model import RecurrenceRule


# ----------------------------------------------------------------------------- schedule
@dataclass(frozen=True, slots=True)
class _Schedule:
    """A validated schedule: anchor (local), first occurrence (UTC) and the rule."""

    anchor: datetime
    first: datetime
    rule: RecurrenceRule | None

    @classmethod
    def build(
        cls,
        reader: FieldReader,
        zone_name: str,
        when: LocalMoment,
        spec: RecurrenceSpec | None,
        end: LocalMoment | None,
        now: datetime,
    ) -> _Schedule | None:
        """Resolve local times in the zone and check the contract's time rules."""
        zone = load_zone(zone_name)
        anchor, instant = when.resolve(zone)
        end_at, end_local = _end_of(end, zone)
        if spec is None:
            if end_at is not None:
                reader.fail("recurrence_end_at", "is only allowed on a recurring reminder")
            if instant <= now:
                reader.fail("scheduled_at", "must be in the future")
            return cls(anchor, instant, None)
        rule = _rule(spec, anchor, zone_name, end_at, end_local)
        first = _first_occurrence(rule, when, instant)
        if first is None or first <= now or instant <= now:
            reader.fail("scheduled_at", "must be in the future")
            return None
        if end_at is not None and end_at <= first:
            reader.fail("recurrence_end_at", "must be after the first occurrence")
            return None
        return cls(anchor, first, rule)


def _end_of(end: Any, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """Return a given ``recurrence_end_at`` as (instant, local wall time if given as one)."""
    if end is MISSING or end is None:
        return None, None
    return end.resolve(zone)[1], end.local


def _first_occurrence(
    rule: RecurrenceRule, when: LocalMoment, instant: datetime
) -> datetime | None:
    """Return a series' first occurrence; an instant given for it is kept as given.

    ``scheduled_at`` given with an offset or ``Z`` in the second pass of a repeated hour is
    the same wall-clock time as the rule's first pass: the user's instant wins (2027-11-07T06:30Z
    in New York rings at 06:30Z, not at 05:30Z); later occurrences follow the local rules.
    """
    first = recurrence.first_occurrence(rule)
    if when.instant is None or first is None or first == instant:
        return first
    zone = load_zone(rule.zone)
    return instant if to_local(first, zone) == to_local(instant, zone) else first


def _rule(
    spec: RecurrenceSpec,
    anchor: datetime,
    zone: str,
    end_at: datetime | None,
    end_local: datetime | None = None,
) -> RecurrenceRule:
    return RecurrenceRule(
        kind=spec.kind,
        anchor=anchor,
        zone=zone,
        interval_days=spec.interval_days,
        weekdays=spec.weekdays,
        cron=spec.cron,
        end_at=end_at,
        end_local=end_local,
    )


def spec_of(rule: RecurrenceRule | None) -> RecurrenceSpec | None:
    """Return the wire-level spec of a stored rule."""
    if rule is None:
        return None
    return RecurrenceSpec(rule.kind, rule.interval_days, rule.weekdays, rule.cron)


def _parse_optional_moment(value: Any) -> LocalMoment | None:
    return None if value is None else parse_local_moment(value)
