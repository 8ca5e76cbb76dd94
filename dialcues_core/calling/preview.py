"""Previewing occurrences (``responsible-calling.md`` §14): what the gate will do with each of
a reminder's next occurrences under the policy as it is now.

The same checks as at a claim (:func:`~dialcues_core.calling.gate.decide`): the deadline, the
window and blocked dates, the frequency caps (attempts already placed to the number plus one
per earlier previewed occurrence). Hook answers and call outcomes are not foreseen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from dialcues_core.calling.gate import CapCounts, Plan, SkipReason, deadline, decide, is_inside
from dialcues_core.calling.policy import AttemptRules
from dialcues_core.calling.zones import Place

MISSED = "missed"
"""The preview's reason for an occurrence already past its deadline (not a skip reason: the
dispatcher records it ``missed``)."""
MAX_WAITS = 8
"""A wait for the window can meet a full cap at the opening (and back): bounded re-checks."""


@dataclass(frozen=True, slots=True)
class Foreseen:
    """One previewed occurrence."""

    occurrence_at: datetime
    plan: str
    attempt_at: datetime | None
    reason: str | None
    window_zones: tuple[str, ...]


def foresee(
    rules: AttemptRules,
    place: Place,
    occurrences: Iterable[tuple[datetime, datetime]],
    upcoming: Callable[[datetime], datetime | None],
    placed: list[datetime],
) -> list[Foreseen]:
    """Judge each ``(occurrence, due)`` pair in order; ``placed`` grows with each dial."""
    found: list[Foreseen] = []
    for occurrence, due in occurrences:
        last = deadline(occurrence, rules.cap, upcoming(occurrence))
        plan, at, reason = _judge(rules, place, due, last, placed)
        if at is not None:
            placed.append(at)
        zones = place.zones_at(at or due) if rules.rules is not None else ()
        found.append(Foreseen(occurrence, plan, at, reason, tuple(zones)))
    return found


def _judge(
    rules: AttemptRules, place: Place, due: datetime, last: datetime, placed: list[datetime]
) -> tuple[str, datetime | None, str | None]:
    at, reason = due, None
    for _ in range(MAX_WAITS):
        decision = decide(at, last, rules.rules, place, rules.caps, CapCounts(placed))
        if decision.plan is Plan.DIAL:
            return (Plan.DIAL if reason is None else Plan.WAIT).value, at, reason
        if decision.plan is Plan.MISSED:
            return Plan.SKIP.value, None, MISSED  # past its deadline: recorded ``missed``
        if decision.plan is Plan.SKIP:
            assert decision.reason is not None
            return Plan.SKIP.value, None, decision.reason.value
        assert decision.at is not None
        if reason is None:
            inside = is_inside(rules.rules, place, at)
            reason = (
                SkipReason.FREQUENCY_CAP if inside else SkipReason.OUTSIDE_CALLING_WINDOW
            ).value
        at = decision.at
    return Plan.SKIP.value, None, reason
