"""One PATCH of a reminder (see :class:`_Edit`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialcues_core.accounts.lines import parse_line_id
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.calling.zones import number_zones
from dialcues_core.errors import MissingOutboundLine, ValidationFailed
from dialcues_core.kernel.fields import (
    MISSING,
    FieldReader,
    choice_parser,
    parse_message,
    parse_title,
)
from dialcues_core.kernel.localtime import load_zone, to_instant, to_local
from dialcues_core.kernel.moments import LocalMoment, parse_local_moment, parse_zone
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.reminders import lifecycle, recurrence
from dialcues_core.reminders.fields import UPDATE_FIELDS, _read_recurrence
from dialcues_core.reminders.lifecycle import Action
from dialcues_core.reminders.model import RecurrenceRule, Reminder, ReminderStatus
from dialcues_core.reminders.schedule import (
    _end_of,
    _first_occurrence,
    _parse_optional_moment,
    _rule,
    spec_of,
)

CallingReader = Callable[[FieldReader, datetime], dict[str, Any]]
"""Reads a PATCH's responsible-calling fields into reminder changes."""


def _only_pause(payload: Mapping[str, Any]) -> bool:
    """Tell whether a PATCH asks for nothing but ``status: "paused"``."""
    return dict(payload) == {"status": ReminderStatus.PAUSED.value}


def _pause_in_the_air(current: Reminder, now: datetime) -> Reminder:
    """Pause a reminder whose call is in the air: the call goes on, nothing more is dialed."""
    status = lifecycle.transition(current.status, Action.PAUSE)
    return dataclasses.replace(
        current, status=status, retry_count=0, next_attempt_at=None, updated_at=now
    )


@dataclass(frozen=True, slots=True)
class _Shape:
    """The schedule a PATCH asks for, when it differs from the reminder's current one."""

    zone: str
    anchor: datetime
    instant: datetime
    rule: RecurrenceRule | None
    when: LocalMoment | None
    """The new ``scheduled_at`` as given, or None when the start did not change."""


class _Edit:
    """One PATCH applied to a reminder: validate, merge, reshape the schedule, transition.

    An edit that does not change the schedule never moves it: ``scheduled_at``, a due
    occurrence not yet dialed, a pending retry, ``retry_count`` and ``next_attempt_at`` stay as
    they were. Only a different ``scheduled_at``, ``timezone``, recurrence or
    ``recurrence_end_at`` reshapes the series: a reshape drops a pending retry and computes the
    next occurrence from the new rule. A field sent with the value it already has changes
    nothing.
    """

    def __init__(
        self, current: Reminder, payload: Mapping[str, Any], now: datetime, lines: LineRepository
    ):
        self.current = current
        self.now = now
        self.lines = lines
        self.reader = FieldReader(payload, UPDATE_FIELDS)

    def apply(self, read_calling: CallingReader | None = None) -> Reminder:
        """Return the updated reminder or raise the first rule it breaks.

        ``read_calling`` reads the responsible-calling fields (they never move the schedule).
        """
        r, reader = self.current, self.reader
        target = reader.read("status", choice_parser(("paused", "scheduled")))
        changes: dict[str, Any] = {}
        for name, parse, attr in (
            ("title", parse_title, "title"),
            ("message", parse_message, "message"),
            ("phone_number", parse_phone_number, "phone_number"),
        ):
            value = reader.read(name, parse)
            if value is not MISSING:
                changes[attr] = value
        zone = reader.read("timezone", parse_zone)
        when = reader.read("scheduled_at", parse_local_moment)
        spec = _read_recurrence(reader, spec_of(r.recurrence), MISSING)
        end = reader.read("recurrence_end_at", _parse_optional_moment)
        line_id = reader.read("vapi_line_id", parse_line_id)
        if read_calling is not None:
            changes.update(read_calling(reader, self.now))
        reader.raise_if_any()
        if "phone_number" in changes:
            changes["number_zones"] = number_zones(changes["phone_number"])
        if line_id is not MISSING:
            changes["line_id"], changes["line_label"] = self._line(line_id)
        shape = self._shape(zone, when, spec, end)
        status = self._status(target, rescheduled=shape is not None and shape.when is not None)
        changes.update(self._schedule(shape, status) if shape else self._keep(status))
        reader.raise_if_any()
        return dataclasses.replace(r, **changes, status=status, updated_at=self.now)

    def _line(self, line_id: str | None) -> tuple[str | None, str | None]:
        lines = self.lines
        line = (
            lines.get(self.current.organization_id, line_id)
            if line_id is not None
            else lines.default_for(self.current.organization_id)
        )
        if line is None:
            if line_id is None:
                raise MissingOutboundLine()
            raise ValidationFailed.one(
                "vapi_line_id", "is not one of the organization's outbound lines"
            )
        return line.id, line.label

    # ------------------------------------------------------------------ the new shape
    def _shape(self, zone: Any, when: Any, spec: Any, end: Any) -> _Shape | None:
        """Return the schedule the PATCH asks for, or None when it is the current one."""
        r = self.current
        zone_name = zone[0] if zone is not MISSING else r.timezone
        tz = load_zone(zone_name)
        spec = spec if spec is not MISSING else spec_of(r.recurrence)
        if spec is None and end is not MISSING and end is not None:
            self.reader.fail("recurrence_end_at", "is only allowed on a recurring reminder")
        end_at, end_local = self._end(end, tz)
        new_start = when if when is not MISSING and when.resolve(tz)[1] != r.scheduled_at else None
        if new_start is not None:
            anchor, instant = new_start.resolve(tz)
        else:
            # The local time the user asked for (not a gap-shifted one), read in the new zone.
            anchor = r.local_time
            instant = r.scheduled_at if zone_name == r.timezone else to_instant(anchor, tz)
        rule = _rule(spec, anchor, zone_name, end_at, end_local) if spec is not None else None
        unchanged = (
            new_start is None
            and zone_name == r.timezone
            and spec == spec_of(r.recurrence)
            and end_at == r.recurrence_end_at
        )
        return None if unchanged else _Shape(zone_name, anchor, instant, rule, new_start)

    def _end(self, end: Any, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """Return the series' end after the edit: as given, else the current one in ``zone``.

        An end given as a local time keeps its local meaning in a new zone; one given with an
        offset or ``Z`` stays that instant.
        """
        if end is not MISSING:
            return _end_of(end, zone)
        rule = self.current.recurrence
        if rule is None or rule.end_at is None:
            return None, None
        if rule.end_local is None:
            return rule.end_at, None
        return to_instant(rule.end_local, zone), rule.end_local

    # ------------------------------------------------------------------ the schedule
    def _keep(self, status: ReminderStatus) -> dict[str, Any]:
        """Return the schedule fields when the PATCH leaves the schedule alone."""
        r = self.current
        if status is r.status:
            return {}
        if status is ReminderStatus.PAUSED:
            return {"retry_count": 0, "next_attempt_at": None}
        # Resumed: a series continues at its next occurrence after now (no catch-up calls).
        upcoming: datetime | None = r.scheduled_at
        if r.recurrence is not None and r.scheduled_at <= self.now:
            upcoming = recurrence.next_occurrence(r.recurrence, self.now)
        if upcoming is None:
            self.reader.fail("status", "cannot resume: the series has no occurrence left")
        elif upcoming <= self.now:
            self.reader.fail("scheduled_at", "must be in the future")
        return {
            "scheduled_at": upcoming or r.scheduled_at,
            "retry_count": 0,
            "next_attempt_at": None,
        }

    def _schedule(self, shape: _Shape, status: ReminderStatus) -> dict[str, Any]:
        """Return the schedule fields of a reshaped reminder (a pending retry is dropped)."""
        first = self._next(shape)
        if status is ReminderStatus.SCHEDULED and (first is None or first <= self.now):
            self._refuse_past(shape)
        rule = shape.rule
        end_at = rule.end_at if rule is not None else None
        if end_at is not None and first is not None and end_at < first:
            self.reader.fail("recurrence_end_at", "must be after the next occurrence")
        return {
            "timezone": shape.zone,
            "local_time": shape.anchor,
            "scheduled_at": first if first is not None else shape.instant,
            "recurrence": rule,
            "retry_count": 0,
            "next_attempt_at": None,
        }

    def _next(self, shape: _Shape) -> datetime | None:
        """Return the occurrence the reminder waits for after a reshape."""
        rule = shape.rule
        if rule is None:
            return shape.instant
        if shape.when is not None:
            return _first_occurrence(rule, shape.when, shape.instant)
        start = recurrence.first_occurrence(rule)
        upcoming = start if start is not None and start > self.now else None
        upcoming = upcoming or recurrence.next_occurrence(rule, self.now)
        return self._same_pass(upcoming, shape)

    def _same_pass(self, upcoming: datetime | None, shape: _Shape) -> datetime | None:
        """Keep the current occurrence's instant when the reshaped rule rings at its wall-clock
        time: an instant given in the second pass of a repeated hour stays that instant."""
        current = self.current.scheduled_at
        if upcoming is None or shape.zone != self.current.timezone or current <= self.now:
            return upcoming
        zone = load_zone(shape.zone)
        same_time = to_local(upcoming, zone) == to_local(current, zone)
        return current if same_time else upcoming

    def _refuse_past(self, shape: _Shape) -> None:
        """Refuse a reshape that leaves nothing to wait for, naming the field that did it."""
        if shape.when is not None:
            self.reader.fail("scheduled_at", "must be in the future")
        elif self.reader.has("recurrence_end_at"):
            self.reader.fail("recurrence_end_at", "leaves no occurrence in the future")
        elif self.reader.has("recurrence_type") or self.reader.has("recurrence_config"):
            name = (
                "recurrence_config" if self.reader.has("recurrence_config") else "recurrence_type"
            )
            self.reader.fail(name, "leaves no occurrence in the future")
        else:
            self.reader.fail("timezone", "moves the reminder's time into the past")

    def _status(self, target: Any, rescheduled: bool) -> ReminderStatus:
        current = self.current.status
        if target is MISSING:
            if current is ReminderStatus.FAILED and rescheduled:
                return lifecycle.transition(current, Action.REVIVE)
            return current
        wanted = ReminderStatus(target)
        if wanted is current:
            return current
        if wanted is ReminderStatus.PAUSED:
            return lifecycle.transition(current, Action.PAUSE)
        if current is ReminderStatus.FAILED:
            if not rescheduled:
                self.reader.fail("scheduled_at", "is required to reschedule a failed reminder")
            return lifecycle.transition(current, Action.REVIVE)
        return lifecycle.transition(current, Action.RESUME)
