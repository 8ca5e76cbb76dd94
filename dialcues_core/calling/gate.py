"""The time checks of the gate, decided once for every attempt (``responsible-calling.md`` §2,
checks 3–5): the lateness cap, the calling window and the frequency caps. Pure.

Suppression and consent (checks 1–2) come before these and the caller identity and the
pre-dial hook (6–7) after; they are other modules' rules and slot in around :func:`decide`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dialcues_core.calling.shapes import FrequencyCaps
from dialcues_core.calling.windows import Rules
from dialcues_core.calling.zones import Place

EPSILON = timedelta(milliseconds=1)
"""Instants are stored to the millisecond: "strictly before" the next occurrence is 1 ms before."""

DAY = timedelta(hours=24)
MONTH = timedelta(days=30)


class SkipReason(StrEnum):
    """Why the gate refused an attempt (one ``skipped`` execution records it)."""

    SUPPRESSED = "suppressed"
    CONSENT_MISSING = "consent_missing"
    OUTSIDE_CALLING_WINDOW = "outside_calling_window"
    RETRY_WINDOW_CLOSED = "retry_window_closed"
    FREQUENCY_CAP = "frequency_cap"
    VETOED = "vetoed"
    PREDIAL_UNAVAILABLE = "predial_unavailable"


SKIP_MESSAGES: dict[SkipReason, str] = {
    SkipReason.SUPPRESSED: "Not dialed: the number is on the organization's suppression list.",
    SkipReason.CONSENT_MISSING: (
        "Not dialed: the number has no active consent that covers the call's purpose."
    ),
    SkipReason.OUTSIDE_CALLING_WINDOW: (
        "Not dialed: the calling window does not open again before the lateness cap."
    ),
    SkipReason.RETRY_WINDOW_CLOSED: (
        "Not retried: the next attempt would fall outside the calling window, and its opening"
        " is past the lateness cap."
    ),
    SkipReason.FREQUENCY_CAP: (
        "Not dialed: the number's frequency cap stays full until after the lateness cap."
    ),
}


class Plan(StrEnum):
    """What the gate does with an attempt now."""

    DIAL = "dial"
    WAIT = "wait"
    SKIP = "skip"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer: dial now, wait until ``at``, skip for ``reason``, or missed."""

    plan: Plan
    at: datetime | None = None
    reason: SkipReason | None = None


DIAL = Decision(Plan.DIAL)
MISSED = Decision(Plan.MISSED)


def deadline(occurrence: datetime, cap: timedelta, upcoming: datetime | None) -> datetime:
    """The last instant an attempt of the occurrence may be placed: the occurrence plus the
    cap, and strictly before the series' next occurrence (``upcoming``)."""
    last = occurrence + cap
    return min(last, upcoming - EPSILON) if upcoming is not None else last


def opening(rules: Rules | None, place: Place, after: datetime, until: datetime) -> datetime | None:
    """The earliest inside instant in ``[after, until]`` (``after`` itself when bypassed)."""
    if rules is None:
        return after if after <= until else None
    return rules.opening(after, until, place.zones_at, place.candidate_zones)


def is_inside(rules: Rules | None, place: Place, at: datetime) -> bool:
    """Tell whether ``at`` is inside the window (always, when bypassed)."""
    return rules is None or rules.always or rules.inside(at, place.zones_at(at))


@dataclass(frozen=True, slots=True)
class CapCounts:
    """The instants at which attempts to one number were placed (any order), for the caps."""

    placed: Sequence[datetime]

    def free_at(self, caps: FrequencyCaps, now: datetime) -> datetime:
        """The earliest instant at or after ``now`` at which one more attempt fits both caps."""
        free = now
        for limit, period in ((caps.per_24h, DAY), (caps.per_30d, MONTH)):
            if limit is None:
                continue
            recent = sorted(t for t in self.placed if t > now - period)
            if len(recent) >= limit:
                # the attempt that must age out of the period for the count to fall below it
                free = max(free, recent[len(recent) - limit] + period)
        return free

    def counts(self, caps: FrequencyCaps, now: datetime) -> dict[str, int]:
        """How many placed attempts each period holds at ``now``."""
        return {
            "per_24h": sum(1 for t in self.placed if t > now - DAY),
            "per_30d": sum(1 for t in self.placed if t > now - MONTH),
        }


def decide(
    now: datetime,
    occurrence_deadline: datetime,
    rules: Rules | None,
    place: Place,
    caps: FrequencyCaps,
    placed: CapCounts | None,
) -> Decision:
    """Checks 3–5 of the gate for an attempt claimed at ``now``.

    3. past the deadline: missed; 4. outside the window: wait for the opening when it is at
    or before the deadline, else skip; 5. a full cap: wait until it frees and the window is
    open, if that is at or before the deadline, else skip.
    """
    if now > occurrence_deadline:
        return MISSED
    if not is_inside(rules, place, now):
        at = opening(rules, place, now, occurrence_deadline)
        if at is None:
            return Decision(Plan.SKIP, reason=SkipReason.OUTSIDE_CALLING_WINDOW)
        return Decision(Plan.WAIT, at=at)
    if placed is not None and not caps.off:
        free = placed.free_at(caps, now)
        if free > now:
            at = opening(rules, place, free, occurrence_deadline)
            if at is None:
                return Decision(Plan.SKIP, reason=SkipReason.FREQUENCY_CAP)
            return Decision(Plan.WAIT, at=at)
    return DIAL
