"""Use cases of the reminder side: schedule, edit, pause, resume, delete, list; executions.

Each public method is one transaction. Payloads arrive as decoded JSON mappings (the wire's
field names) and are validated here, so both edges share every rule; query parameters arrive
as strings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dialcues_core.accounts.lines import line_for, parse_line_id
from dialcues_core.accounts.model import OutboundLine, Principal, Provider
from dialcues_core.accounts.ports import LineRepository
from dialcues_core.audit.service import AuditTrail
from dialcues_core.calling.admission import audit_bypass
from dialcues_core.calling.policy import EffectivePolicy
from dialcues_core.calling.service import CallingPolicies
from dialcues_core.calling.zones import number_zones
from dialcues_core.consent.guard import refuse_unwanted
from dialcues_core.consent.model import NO_COVERAGE
from dialcues_core.consent.ports import ConsentStore
from dialcues_core.errors import ResourceNotFound, ValidationFailed
from dialcues_core.kernel.fields import (
    MISSING,
    FieldReader,
    choice_parser,
    given,
    parse_id,
    parse_message,
    parse_page,
    parse_positive_int,
    parse_search,
    parse_title,
    parse_utc_bound,
    require_object,
    single_values,
)
from dialcues_core.kernel.moments import parse_local_moment, parse_zone
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.ports import ChangeListener, Clock, Transactions
from dialcues_core.kernel.scopes import (
    READ_REMINDERS,
    WRITE_MESSAGES,
    WRITE_REMINDERS,
    demand,
    requires,
)
from dialcues_core.reminders import lifecycle
from dialcues_core.reminders.calling_fields import (
    WINDOW_FIELDS,
    check_window,
    preview,
    preview_to_json,
    read_calling_fields,
    with_next_eligible,
)
from dialcues_core.reminders.edit import _Edit, _only_pause, _pause_in_the_air
from dialcues_core.reminders.fields import CREATE_FIELDS, _read_recurrence
from dialcues_core.reminders.lifecycle import Action
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.reminders.ports import ReminderQuery, ReminderRepository
from dialcues_core.reminders.schedule import _parse_optional_moment, _Schedule

PREVIEW_QUERY = frozenset({"count"})
REMINDER_SORTS = ("scheduled_at_asc", "scheduled_at_desc", "updated_at_desc")
REMINDER_QUERY = frozenset(
    {"status", "search", "date_from", "date_to", "sort", "page", "page_size"}
)


class FallbackCheck(Protocol):
    """The messages capability's judgement of a reminder's SMS fallback."""

    def parse(self, value: Any) -> dict[str, Any]:
        """The fallback's wire form, shapes checked (``ValidationFailed`` naming
        ``fallback.<field>``)."""
        ...

    def check_json(
        self, organization_id: str, fallback: Mapping[str, Any], line_id: str | None
    ) -> None:
        """Refuse a missing template or slot, or no SMS-capable line (the caller's
        transaction)."""
        ...


@dataclass(frozen=True, slots=True)
class ReminderRepositories:
    """The repositories the reminder use cases need."""

    transactions: Transactions
    reminders: ReminderRepository
    lines: LineRepository


class Reminders:
    """Schedule and manage reminders on behalf of a principal."""

    def __init__(
        self,
        repos: ReminderRepositories,
        clock: Clock,
        policies: CallingPolicies,
        audit: AuditTrail,
        consent: ConsentStore | None = None,
    ):
        self.repos = repos
        self.clock = clock
        self.policies = policies
        self.audit = audit
        self.consent = consent
        """Suppressions and consents, checked on every write that could lead to a call."""
        self.listeners: list[ChangeListener] = []
        self.fallbacks: FallbackCheck | None = None
        """Checks a reminder's SMS fallback against the organization's templates and lines."""

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
        policy = self.policies.effective_of(principal.organization_id)
        calling = read_calling_fields(reader, policy, principal, now)
        calling.update(self._read_fallback(reader))
        schedule = None
        if zone is not MISSING and when is not MISSING and spec is not MISSING:
            schedule = _Schedule.build(reader, zone[0], when, spec, end, now)
        reader.raise_if_any()
        assert schedule is not None
        if calling.get("fallback") is not None:
            demand(WRITE_MESSAGES, principal.scopes)  # the one scope checked after parsing
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
                number_zones=number_zones(phone),
                **calling,
            )
            self._refuse_unwanted(reminder, policy)
            check_window(reminder, policy)
            self._check_fallback(reminder)
            stored = self.repos.reminders.add(reminder)
            subject = ("reminder", str(stored.id))
            audit_bypass(
                self.audit, stored.organization_id, stored.calling_window, principal, subject
            )
        self._changed(stored.scheduled_at)
        return with_next_eligible(stored, policy, now)

    def _read_fallback(self, reader: FieldReader) -> dict[str, Any]:
        """``fallback``: absent (nothing), null (cleared) or parsed by the messages capability
        (its problems named ``fallback.<field>``)."""
        if not reader.has("fallback"):
            return {}
        value = reader.payload["fallback"]
        if value is None:
            return {"fallback": None}
        if self.fallbacks is None:
            reader.fail("fallback", "text fallbacks are not available in this deployment")
            return {}
        try:
            return {"fallback": self.fallbacks.parse(value)}
        except ValidationFailed as exc:
            for name, problem in exc.fields.items():
                reader.fail(name, problem)
            return {}

    def _check_fallback(self, r: Reminder) -> None:
        """The fallback's template, slots and SMS-capable line (in the write's transaction)."""
        if r.fallback is not None and self.fallbacks is not None:
            self.fallbacks.check_json(r.organization_id, r.fallback, r.line_id)

    def _refuse_unwanted(self, r: Reminder, policy: EffectivePolicy) -> None:
        """``recipient_suppressed``, ``consent_required``, ``caller_identity_required``."""
        if self.consent is None:
            return
        lines = self.repos.lines
        org = r.organization_id
        line = lines.get(org, r.line_id) if r.line_id else lines.default_for(org)
        vapi = line is not None and line.provider is Provider.VAPI and not line.temporary
        refuse_unwanted(self.consent, org, r.phone_number, r.purpose, policy, vapi)

    def _line_for(self, principal: Principal, line_id: str | None) -> OutboundLine:
        return line_for(self.repos.lines, principal, line_id)

    # ------------------------------------------------------------------ read
    @requires(READ_REMINDERS)
    def get(self, principal: Principal, reminder_id: Any) -> Reminder:
        """Return the principal's reminder or raise ``not_found``."""
        rid = parse_id(reminder_id, "reminder")
        reminder = self.repos.reminders.get(principal.user_id, rid)
        if reminder is None:
            raise ResourceNotFound("reminder", reminder_id)
        policy = self.policies.effective_of(reminder.organization_id)
        return with_next_eligible(reminder, policy, self.clock.now())

    @requires(READ_REMINDERS)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[Reminder]:
        """Return one page of the principal's reminders (query parameters as strings)."""
        reader = FieldReader(single_values(params), REMINDER_QUERY)
        status = reader.read("status", choice_parser(s.value for s in ReminderStatus))
        query = ReminderQuery(
            status=ReminderStatus(status) if status is not MISSING else None,
            search=given(reader.read("search", parse_search)),
            date_from=given(reader.read("date_from", parse_utc_bound)),
            date_to=given(reader.read("date_to", parse_utc_bound)),
            sort=given(reader.read("sort", choice_parser(REMINDER_SORTS))) or "scheduled_at_asc",
            page=given(reader.read("page", parse_page)) or 1,
            page_size=given(reader.read("page_size", parse_positive_int(1, 100))) or 20,
        )
        reader.raise_if_any()
        found = self.repos.reminders.list(principal.user_id, query)
        if not found.items:
            return found
        policy, now = self.policies.effective_of(principal.organization_id), self.clock.now()
        return dataclasses.replace(
            found, items=[with_next_eligible(r, policy, now) for r in found.items]
        )

    @requires(READ_REMINDERS)
    def occurrences(
        self, principal: Principal, reminder_id: Any, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``GET /reminders/{id}/occurrences``: what the gate will do with the next ``count``
        occurrences (1–100, default 10) under the policy as it is now."""
        reader = FieldReader(single_values(params), PREVIEW_QUERY)
        count = given(reader.read("count", parse_positive_int(1, 100))) or 10
        reader.raise_if_any()
        r = self.get(principal, reminder_id)
        policy = self.policies.effective_of(r.organization_id)
        placed = list(self.policies.placed_to(r.organization_id, r.phone_number).placed)
        items = preview(r, policy, placed, self.clock.now(), count)
        blocked = self._refused_now(r, policy)
        if blocked is not None:  # checks 1–2 refuse every attempt as things are now
            items = [
                dataclasses.replace(i, plan="skip", attempt_at=None, reason=blocked) for i in items
            ]
        return preview_to_json(r, items)

    def _refused_now(self, r: Reminder, policy: EffectivePolicy) -> str | None:
        """``suppressed`` or ``consent_missing`` when gate check 1 or 2 would refuse the
        reminder's attempts now (the preview foresees suppression and consent as they are)."""
        if self.consent is None:
            return None
        pair = (r.organization_id, r.phone_number)
        with self.repos.transactions.atomic():
            if self.consent.active_suppressions([pair]):
                return "suppressed"
            coverage = self.consent.coverage([pair]).get(pair, NO_COVERAGE)
        if coverage.required(r.purpose, policy.informational_needs_consent) is not None:
            return "consent_missing"
        return None

    def count_never_inside(self, batch: int = 500) -> int:
        """Operators (``migrate --json``): the scheduled reminders none of whose next ten
        previewed occurrences would be dialed (each would be skipped)."""
        now, found, last = self.clock.now(), 0, 0
        policies: dict[str, EffectivePolicy] = {}
        while page := self.repos.reminders.scheduled_after(last, batch):
            for r in page:
                org = r.organization_id
                if org not in policies:
                    policies[org] = self.policies.effective_of(org)
                policy = policies[org]
                items = preview(r, policy, [], now, 10)
                found += all(item.attempt_at is None for item in items)
            last = page[-1].id
        return found

    # ------------------------------------------------------------------ update
    @requires(WRITE_REMINDERS)
    def update(
        self, principal: Principal, reminder_id: Any, payload: Mapping[str, Any]
    ) -> Reminder:
        """Apply a PATCH: edit fields, pause, resume or revive (rules in the contract)."""
        payload = require_object(payload)
        rid = parse_id(reminder_id, "reminder")
        if not payload:
            raise ValidationFailed({}, "The request body must name at least one field to change.")
        with self.repos.transactions.atomic():
            current = self.repos.reminders.get_for_update(principal.user_id, rid)
            if current is None:
                raise ResourceNotFound("reminder", reminder_id)
            policy = self.policies.effective_of(current.organization_id)
            if current.status is ReminderStatus.IN_PROGRESS and _only_pause(payload):
                updated = _pause_in_the_air(current, self.clock.now())
            else:
                lifecycle.transition(current.status, Action.UPDATE)
                edit = _Edit(current, payload, self.clock.now(), self.repos.lines)
                updated = edit.apply(
                    lambda reader, now: {
                        **read_calling_fields(reader, policy, principal, now),
                        **self._read_fallback(reader),
                    }
                )
                if updated.fallback is not None and "fallback" in payload:
                    demand(WRITE_MESSAGES, principal.scopes)
                if updated.fallback is not None and {"fallback", "vapi_line_id"} & set(payload):
                    self._check_fallback(updated)  # its SMS line may have changed too
                if _may_call(current, updated, payload):
                    self._refuse_unwanted(updated, policy)
                if WINDOW_FIELDS & set(payload):
                    check_window(updated, policy)
                if "calling_window" in payload:
                    subject = ("reminder", str(updated.id))
                    window = updated.calling_window
                    audit_bypass(self.audit, updated.organization_id, window, principal, subject)
            self.repos.reminders.save(updated)
        self._changed(updated.next_attempt_at or updated.scheduled_at)
        return with_next_eligible(updated, policy, self.clock.now())

    # ------------------------------------------------------------------ delete
    @requires(WRITE_REMINDERS)
    def delete(self, principal: Principal, reminder_id: Any) -> None:
        """Delete the reminder for good; its executions stay listed.

        A reminder whose call is in the air may be deleted: the call is not cut, its outcome
        is still recorded on its execution, and nothing more is dialed.
        """
        rid = parse_id(reminder_id, "reminder")
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


CALLING_FIELDS = frozenset({"phone_number", "purpose", "vapi_line_id"})
"""The fields whose change is judged again for suppression, consent and caller identity."""


def _may_call(current: Reminder, updated: Reminder, payload: Mapping[str, Any]) -> bool:
    """Tell whether a PATCH leads to calls that must be judged again: a reminder resumed (from
    ``paused``, ``suppressed`` or ``failed``), or its number, purpose or line changed while it
    is ``scheduled`` or ``paused``."""
    if updated.status not in (ReminderStatus.SCHEDULED, ReminderStatus.PAUSED):
        return False
    resumed = updated.status is ReminderStatus.SCHEDULED and current.status is not updated.status
    return resumed or bool(CALLING_FIELDS & set(payload))
