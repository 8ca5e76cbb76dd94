"""A reminder's responsible-calling fields (``responsible-calling.md`` §13.1): read them, check
the window at create and update (§4.4), and compute ``next_eligible_at`` on read."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from dialcues_core.accounts.model import Principal
from dialcues_core.calling.admission import (
    next_eligible,
    parse_override,
    refuse_outside,
    stamped,
)
from dialcues_core.calling.fields import parse_lateness, parse_optional_retry
from dialcues_core.calling.policy import PURPOSES, AttemptRules, EffectivePolicy
from dialcues_core.calling.preview import Foreseen, foresee
from dialcues_core.calling.zones import Place, number_zones
from dialcues_core.kernel.fields import MISSING, FieldReader, choice_parser
from dialcues_core.kernel.localtime import load_zone, to_local
from dialcues_core.kernel.timefmt import seconds
from dialcues_core.reminders import recurrence
from dialcues_core.reminders.model import Reminder, ReminderStatus

WINDOW_FIELDS = frozenset(
    {
        "scheduled_at",
        "timezone",
        "phone_number",
        "recurrence_type",
        "recurrence_config",
        "recurrence_end_at",
        "calling_window",
    }
)
"""A PATCH touching one of these is checked against the window again (§4.4)."""


def read_calling_fields(
    reader: FieldReader,
    policy: EffectivePolicy,
    principal: Principal,
    now: datetime,
) -> dict[str, Any]:
    """The calling fields the payload sent, parsed (a bypass stamped with who and when)."""
    found: dict[str, Any] = {}
    purpose = reader.read("purpose", choice_parser(PURPOSES))
    if purpose is not MISSING:
        found["purpose"] = purpose
    window = reader.read("calling_window", lambda v: parse_override(v, policy))
    if window is not MISSING:
        found["calling_window"] = stamped(window, now, principal)
    lateness = reader.read("max_lateness_seconds", parse_lateness)
    if lateness is not MISSING:
        found["max_lateness_seconds"] = lateness
    retry = reader.read("retry_policy", parse_optional_retry)
    if retry is not MISSING:
        found["retry_policy"] = retry
    return found


def rules_of(r: Reminder, policy: EffectivePolicy) -> tuple[AttemptRules, Place]:
    """What applies to the reminder's attempts, and where its recipient is."""
    rules = policy.for_attempt(r.calling_window, r.max_lateness_seconds, r.retry_policy)
    zones = r.number_zones or number_zones(r.phone_number)
    return rules, Place(r.timezone, zones, policy.basis)


def check_window(r: Reminder, policy: EffectivePolicy) -> None:
    """Refuse a one-off due outside the window, or a series never inside it (422)."""
    rules, place = rules_of(r, policy)
    refuse_outside(rules, place, _occurrences(r), series=r.recurrence is not None)


def _occurrences(r: Reminder) -> Iterator[datetime]:
    at: datetime | None = r.scheduled_at
    while at is not None:
        yield at
        at = recurrence.next_occurrence(r.recurrence, at) if r.recurrence is not None else None


def with_next_eligible(r: Reminder, policy: EffectivePolicy, now: datetime) -> Reminder:
    """The reminder with ``next_eligible_at`` computed (null unless ``scheduled``)."""
    if r.status is not ReminderStatus.SCHEDULED:
        return dataclasses.replace(r, next_eligible_at=None)
    rules, place = rules_of(r, policy)
    rule = r.recurrence

    def upcoming(occurrence: datetime) -> datetime | None:
        return recurrence.next_occurrence(rule, occurrence) if rule is not None else None

    due = max(r.next_attempt_at or r.scheduled_at, now)  # an overdue one: claimed now
    found = next_eligible(rules, place, due, r.scheduled_at, upcoming)
    return dataclasses.replace(r, next_eligible_at=found)


def preview(
    r: Reminder, policy: EffectivePolicy, placed: list[datetime], now: datetime, count: int
) -> list[Foreseen]:
    """The next ``count`` occurrences as the gate would judge them now (§14).

    A paused reminder is previewed as if resumed now; one whose call is in the air from its
    next occurrence; a completed or failed one has none.
    """
    rule = r.recurrence

    def upcoming(occurrence: datetime) -> datetime | None:
        return recurrence.next_occurrence(rule, occurrence) if rule is not None else None

    first: datetime | None = r.scheduled_at
    # a pending retry (or snooze) is the current occurrence's next attempt; a wait the gate
    # set (no retry yet) is judged again, so it shows as a wait with its reason
    due: datetime | None = r.next_attempt_at if r.retry_count > 0 else None
    if r.status is ReminderStatus.PAUSED:
        due = None
        if r.scheduled_at <= now:
            first = recurrence.next_occurrence(rule, now) if rule is not None else None
    elif r.status is ReminderStatus.IN_PROGRESS:
        due, first = None, upcoming(r.scheduled_at)
    elif r.status is not ReminderStatus.SCHEDULED:
        first = None

    def pairs() -> Iterator[tuple[datetime, datetime]]:
        at, when = first, due
        for _ in range(count):
            if at is None:
                return
            yield at, max(when or at, now)  # an overdue attempt is judged as claimed now
            at, when = upcoming(at), None

    rules, place = rules_of(r, policy)
    return foresee(rules, place, pairs(), upcoming, placed)


def preview_to_json(r: Reminder, items: list[Foreseen]) -> dict[str, Any]:
    """``GET /reminders/{id}/occurrences``: the contract's shape (whole seconds)."""
    zone = load_zone(r.timezone)
    return {
        "reminder_id": r.id,
        "items": [
            {
                "occurrence_at": seconds(f.occurrence_at),
                "local_time": to_local(f.occurrence_at, zone).isoformat(timespec="seconds"),
                "plan": f.plan,
                "attempt_at": seconds(f.attempt_at),
                "reason": f.reason,
                "window_zones": list(f.window_zones),
            }
            for f in items
        ],
    }
