"""The calling window at create and update (``responsible-calling.md`` §4.4, §4.6, §13.1).

A reminder's (or a call's) own ``calling_window`` may only narrow the organization's; a bypass
needs the organization's leave. A one-off must be due inside the window, a series must have
at least one inside occurrence among its next 400 days (at most the first 1,000). The same
rules give ``next_eligible_at``, the preview's first answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from dialcues_core.accounts.model import Principal
from dialcues_core.audit.service import AuditTrail, actor_of
from dialcues_core.calling.gate import deadline, opening
from dialcues_core.calling.policy import AttemptRules, EffectivePolicy
from dialcues_core.calling.shapes import Bypass, ShapeError, parse_window
from dialcues_core.calling.windows import Window
from dialcues_core.calling.zones import Place
from dialcues_core.errors import OutsideCallingWindow
from dialcues_core.kernel.localtime import load_zone, to_local
from dialcues_core.kernel.timefmt import seconds

SERIES_HORIZON = timedelta(days=400)
SERIES_LOOKAHEAD = 1000
OPENING_HORIZON = timedelta(days=8)
"""``next_allowed_at`` is looked for this far after the refused time."""


def parse_override(value: object, policy: EffectivePolicy) -> Window | Bypass | None:
    """A reminder's or call's ``calling_window``: null, narrower hours or a profile, a bypass.

    Raises :class:`ShapeError` (``wider_than_policy``, ``bypass_not_allowed``) for what the
    organization's policy does not allow.
    """
    if value is None:
        return None
    parsed = parse_window(value, bypass=True)
    if isinstance(parsed, Bypass):
        if not policy.allow_bypass:
            raise ShapeError(
                "cannot be a bypass: the organization's policy does not allow one",
                "bypass_not_allowed",
            )
        return parsed
    if not parsed.narrows(policy.window):
        raise ShapeError(
            f"is wider than the organization's calling window ({policy.window.label})",
            "wider_than_policy",
        )
    return parsed


def stamped(window: Window | Bypass | None, at: datetime, principal: Principal) -> Any:
    """A bypass with who set it and when (shown on the reminder or call, audited); any other
    window as it is."""
    if not isinstance(window, Bypass):
        return window
    actor = actor_of(principal)
    actor_id = None if actor.id is None else str(actor.id)
    return replace(
        window,
        bypassed_at=at,
        actor_type=actor.type,
        actor_id=actor_id,
        actor_user_id=actor.user_id,
    )


def audit_bypass(
    audit: AuditTrail,
    organization_id: str,
    window: Window | Bypass | None,
    principal: Principal,
    subject: tuple[str, str],
) -> None:
    """Write ``calling_window.bypassed`` for a request that set a bypass (§4.6; the subject
    is the reminder or the call's execution)."""
    if isinstance(window, Bypass):
        audit.record(
            organization_id,
            "calling_window.bypassed",
            actor_of(principal),
            subject,
            {"reason": window.reason},
        )


def refuse_outside(
    rules: AttemptRules,
    place: Place,
    occurrences: Iterable[datetime],
    *,
    series: bool,
    field: str = "scheduled_at",
) -> None:
    """Raise ``outside_calling_window`` unless an occurrence is inside (never when bypassed).

    ``occurrences`` starts with the first one the reminder waits for; a series is judged on
    those within 400 days of it (at most 1,000).
    """
    if rules.rules is None:
        return
    window_rules = rules.rules
    first: datetime | None = None
    for at in islice(occurrences, SERIES_LOOKAHEAD if series else 1):
        if first is None:
            first = at
        elif at - first > SERIES_HORIZON:
            break
        if window_rules.inside(at, place.zones_at(at)):
            return
    if first is None:
        return
    zones = list(place.zones_at(first)) or list(place.candidate_zones)
    local = to_local(first, load_zone(place.timezone or zones[0]))
    where = " and ".join(zones)
    problem = (
        f"{local:%H:%M} in {place.timezone or zones[0]} is outside the calling window"
        f" ({window_rules.window.label} in {where})"
    )
    for zone in zones:  # a blocked date in any window zone is the reason to name
        there = to_local(first, load_zone(zone))
        if there.date() in window_rules.blocked:
            problem = f"{there:%Y-%m-%d} in {zone} is a blocked date of the calling window"
            break
    if series:
        problem = f"no occurrence within 400 days is inside the calling window ({problem})"
    found = opening(window_rules, place, first, first + OPENING_HORIZON)
    if series:
        message = "None of the series' occurrences is inside the calling window."
    elif field == "scheduled_at":
        message = "The reminder's time is outside the calling window."
    else:
        message = "It is outside the calling window now."
    raise OutsideCallingWindow({field: problem}, zones, seconds(found), message)


def next_eligible(
    rules: AttemptRules,
    place: Place,
    due: datetime,
    occurrence: datetime,
    upcoming: Callable[[datetime], datetime | None],
) -> datetime | None:
    """``due`` moved to the window's opening; ``None`` when that is past the deadline."""
    last = deadline(occurrence, rules.cap, upcoming(occurrence))
    return opening(rules.rules, place, due, last)
