"""Use cases of the reminder side: schedule, edit, pause, resume, delete, list; executions.

Each public method is one transaction. Payloads arrive as decoded JSON mappings (the wire's
field names) and are validated here, so both edges share every rule; query parameters arrive
as strings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialcues_core import lifecycle, recurrence
from dialcues_core.errors import MissingOutboundLine, ResourceNotFound, ValidationFailed
from dialcues_core.lifecycle import Action
from dialcues_core.localtime import load_zone, to_instant, to_local
from dialcues_core.model import (
    READ_EXECUTIONS,
    READ_REMINDERS,
    WRITE_REMINDERS,
    Execution,
    ExecutionStatus,
    OutboundLine,
    Page,
    Principal,
    RecurrenceRule,
    Reminder,
    ReminderStatus,
    requires,
)
from dialcues_core.ports import (
    Clock,
    ExecutionQuery,
    ExecutionRepository,
    LineRepository,
    ReminderQuery,
    ReminderRepository,
    Transactions,
)
from dialcues_core.validation import (
    MISSING,
    FieldReader,
    LocalMoment,
    RecurrenceSpec,
    build_recurrence,
    choice_parser,
    is_well_formed_id,
    parse_local_moment,
    parse_message,
    parse_page,
    parse_phone_number,
    parse_positive_int,
    parse_recurrence_config,
    parse_recurrence_type,
    parse_search,
    parse_title,
    parse_utc_bound,
    parse_zone,
)

CREATE_FIELDS = frozenset(
    {
        "title",
        "message",
        "phone_number",
        "timezone",
        "scheduled_at",
        "vapi_line_id",
        "recurrence_type",
        "recurrence_config",
        "recurrence_end_at",
    }
)
UPDATE_FIELDS = CREATE_FIELDS | {"status"}
REMINDER_SORTS = ("scheduled_at_asc", "scheduled_at_desc", "updated_at_desc")
REMINDER_QUERY = frozenset(
    {"status", "search", "date_from", "date_to", "sort", "page", "page_size"}
)
EXECUTION_QUERY = frozenset({"status", "reminder_id", "date_from", "date_to", "page", "page_size"})


@dataclass(frozen=True, slots=True)
class ReminderRepositories:
    """The repositories the reminder use cases need."""

    transactions: Transactions
    reminders: ReminderRepository
    executions: ExecutionRepository
    lines: LineRepository


ChangeListener = Callable[[datetime | None], None]


class Reminders:
    """Schedule and manage reminders on behalf of a principal."""

    def __init__(self, repos: ReminderRepositories, clock: Clock):
        self.repos = repos
        self.clock = clock
        self.listeners: list[ChangeListener] = []

    # ------------------------------------------------------------------ create
    @requires(WRITE_REMINDERS)
    def create(self, principal: Principal, payload: Mapping[str, Any]) -> Reminder:
        """Validate ``payload`` (the contract's create fields) and schedule the reminder."""
        payload = require_object(payload)
        reader = FieldReader(payload, CREATE_FIELDS)
        title = reader.read("title", parse_title, required=True)
        message = reader.read("message", parse_message, required=True)
        phone = reader.read("phone_number", parse_phone_number, required=True)
        zone = reader.read("timezone", parse_zone, required=True)
        when = reader.read("scheduled_at", parse_local_moment, required=True)
        line_id = reader.read("vapi_line_id", parse_line_id)
        spec = _read_recurrence(reader, None, None)
        end = reader.read("recurrence_end_at", _parse_optional_moment)
        now = self.clock.now()
        schedule = None
        if zone is not MISSING and when is not MISSING and spec is not MISSING:
            schedule = _Schedule.build(reader, zone[0], when, spec, end, now)
        reader.raise_if_any()
        assert schedule is not None
        with self.repos.transactions.atomic():
            line = self._line_for(principal, line_id)
            reminder = Reminder(
                id=0,
                user_id=principal.user_id,
                organization_id=principal.organization_id,
                title=title,
                message=message,
                phone_number=phone,
                scheduled_at=schedule.first,
                timezone=zone[0],
                local_time=schedule.anchor,
                status=ReminderStatus.SCHEDULED,
                line_id=line.id,
                line_label=line.label,
                recurrence=schedule.rule,
                retry_count=0,
                next_attempt_at=None,
                last_execution_id=None,
                created_at=now,
                updated_at=now,
            )
            stored = self.repos.reminders.add(reminder)
        self._changed(stored.scheduled_at)
        return stored

    def _line_for(self, principal: Principal, line_id: str | None) -> OutboundLine:
        return line_for(self.repos.lines, principal, line_id)

    # ------------------------------------------------------------------ read
    @requires(READ_REMINDERS)
    def get(self, principal: Principal, reminder_id: Any) -> Reminder:
        """Return the principal's reminder or raise ``not_found``."""
        rid = _parse_id(reminder_id, "reminder")
        reminder = self.repos.reminders.get(principal.user_id, rid)
        if reminder is None:
            raise ResourceNotFound("reminder", reminder_id)
        return reminder

    @requires(READ_REMINDERS)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[Reminder]:
        """Return one page of the principal's reminders (query parameters as strings)."""
        reader = FieldReader(_single_values(params), REMINDER_QUERY)
        status = reader.read("status", choice_parser(s.value for s in ReminderStatus))
        query = ReminderQuery(
            status=ReminderStatus(status) if status is not MISSING else None,
            search=_given(reader.read("search", parse_search)),
            date_from=_given(reader.read("date_from", parse_utc_bound)),
            date_to=_given(reader.read("date_to", parse_utc_bound)),
            sort=_given(reader.read("sort", choice_parser(REMINDER_SORTS))) or "scheduled_at_asc",
            page=_given(reader.read("page", parse_page)) or 1,
            page_size=_given(reader.read("page_size", parse_positive_int(1, 100))) or 20,
        )
        reader.raise_if_any()
        return self.repos.reminders.list(principal.user_id, query)

    # ------------------------------------------------------------------ update
    @requires(WRITE_REMINDERS)
    def update(
        self, principal: Principal, reminder_id: Any, payload: Mapping[str, Any]
    ) -> Reminder:
        """Apply a PATCH: edit fields, pause, resume or revive (rules in the contract)."""
        payload = require_object(payload)
        rid = _parse_id(reminder_id, "reminder")
        if not payload:
            raise ValidationFailed({}, "The request body must name at least one field to change.")
        with self.repos.transactions.atomic():
            current = self.repos.reminders.get_for_update(principal.user_id, rid)
            if current is None:
                raise ResourceNotFound("reminder", reminder_id)
            if current.status is ReminderStatus.IN_PROGRESS and _only_pause(payload):
                updated = _pause_in_the_air(current, self.clock.now())
            else:
                lifecycle.transition(current.status, Action.UPDATE)
                updated = _Edit(current, payload, self.clock.now(), self).apply()
            self.repos.reminders.save(updated)
        self._changed(updated.next_attempt_at or updated.scheduled_at)
        return updated

    # ------------------------------------------------------------------ delete
    @requires(WRITE_REMINDERS)
    def delete(self, principal: Principal, reminder_id: Any) -> None:
        """Delete the reminder for good; its executions stay listed.

        A reminder whose call is in the air may be deleted: the call is not cut, its outcome
        is still recorded on its execution, and nothing more is dialed.
        """
        rid = _parse_id(reminder_id, "reminder")
        with self.repos.transactions.atomic():
            current = self.repos.reminders.get_for_update(principal.user_id, rid)
            if current is None:
                raise ResourceNotFound("reminder", reminder_id)
            lifecycle.transition(current.status, Action.DELETE)
            self.repos.reminders.delete(principal.user_id, rid)
        self._changed(None)

    def _changed(self, due: datetime | None) -> None:
        for listener in self.listeners:
            listener(due)


class Executions:
    """Read a principal's executions."""

    def __init__(self, repos: ReminderRepositories):
        self.repos = repos

    @requires(READ_EXECUTIONS)
    def get(self, principal: Principal, execution_id: Any) -> Execution:
        """Return the principal's execution or raise ``not_found``."""
        eid = _parse_id(execution_id, "execution")
        execution = self.repos.executions.get(principal.user_id, eid)
        if execution is None:
            raise ResourceNotFound("execution", execution_id)
        return execution

    @requires(READ_EXECUTIONS)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[Execution]:
        """Return one page of the principal's executions, newest first."""
        reader = FieldReader(_single_values(params), EXECUTION_QUERY)
        status = reader.read("status", choice_parser(s.value for s in ExecutionStatus))
        query = ExecutionQuery(
            status=ExecutionStatus(status) if status is not MISSING else None,
            reminder_id=_given(reader.read("reminder_id", parse_positive_int(1, 2**63 - 1))),
            date_from=_given(reader.read("date_from", parse_utc_bound)),
            date_to=_given(reader.read("date_to", parse_utc_bound)),
            page=_given(reader.read("page", parse_page)) or 1,
            page_size=_given(reader.read("page_size", parse_positive_int(1, 100))) or 20,
        )
        reader.raise_if_any()
        return self.repos.executions.list(principal.user_id, query)


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
        self, current: Reminder, payload: Mapping[str, Any], now: datetime, owner: Reminders
    ):
        self.current = current
        self.now = now
        self.owner = owner
        self.reader = FieldReader(payload, UPDATE_FIELDS)

    def apply(self) -> Reminder:
        """Return the updated reminder or raise the first rule it breaks."""
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
        reader.raise_if_any()
        if line_id is not MISSING:
            changes["line_id"], changes["line_label"] = self._line(line_id)
        shape = self._shape(zone, when, spec, end)
        status = self._status(target, rescheduled=shape is not None and shape.when is not None)
        changes.update(self._schedule(shape, status) if shape else self._keep(status))
        reader.raise_if_any()
        return dataclasses.replace(r, **changes, status=status, updated_at=self.now)

    def _line(self, line_id: str | None) -> tuple[str | None, str | None]:
        lines = self.owner.repos.lines
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


# ----------------------------------------------------------------------------- helpers
def line_for(lines: LineRepository, principal: Principal, line_id: str | None) -> OutboundLine:
    """Return the line a new call goes out on: the named one, else the organization's default.

    An id that is not one of the organization's lines is ``validation_error`` on
    ``vapi_line_id``; an organization without any line is ``missing_outbound_line``.
    """
    org_id = principal.organization_id
    if line_id is not None and line_id is not MISSING:
        line = lines.get(org_id, line_id)
        if line is None:
            raise ValidationFailed.one(
                "vapi_line_id", "is not one of the organization's outbound lines"
            )
        return line
    default = lines.default_for(org_id)
    if default is None:
        raise MissingOutboundLine()
    return default


def _read_recurrence(reader: FieldReader, current: RecurrenceSpec | None, default: Any) -> Any:
    """Read recurrence_type/config; return the spec, None (one-off) or MISSING (bad).

    ``default`` is returned when neither field was sent.
    """
    has_type, has_config = reader.has("recurrence_type"), reader.has("recurrence_config")
    if not has_type and not has_config:
        return default
    rtype = reader.read("recurrence_type", parse_recurrence_type)
    config = reader.read("recurrence_config", parse_recurrence_config)
    if (rtype is MISSING and has_type) or (config is MISSING and has_config):
        return MISSING
    if rtype is MISSING:
        rtype = current.wire_type() if current is not None else None
    if config is MISSING:
        config = None
    try:
        return build_recurrence(rtype, config)
    except ValueError as exc:
        reader.fail("recurrence_config", str(exc))
        return MISSING


def _parse_optional_moment(value: Any) -> LocalMoment | None:
    return None if value is None else parse_local_moment(value)


def parse_line_id(value: Any) -> str | None:
    """Parse ``vapi_line_id``: a line id, or None for the organization's default line."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_well_formed_id(value):
        raise ValueError("must be the id of one of the organization's outbound lines")
    return value


def _parse_id(value: Any, kind: str) -> int:
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ResourceNotFound(kind, value)
    return int(text)


def require_object(payload: Any) -> Mapping[str, Any]:
    """Return ``payload`` if it is a JSON object, else raise ``validation_error``."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed({}, "The request body must be a JSON object.")
    return payload


def _single_values(params: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, list):
            if len(value) != 1:
                raise ValidationFailed.one(name, "must be given once")
            value = value[0]
        values[name] = value
    return values


def _given(value: Any) -> Any:
    return None if value is MISSING else value
