"""The number state machine (``telephony.md`` §2.1): the only place a number's status changes.

A record is ``held`` while its hold lasts (``expired`` once it lapsed, computed on read),
``ordering`` while the carrier order runs, ``ordered`` once the number is ours, ``importing``
while the voice provider imports it, ``active`` with its line, ``releasing`` while the provider
steps of a release run, ``released`` when the organization no longer holds or owns it, and
``failed`` at a step (after ``order`` the number is free again; after ``import`` or
``release`` it is still owned). Anything not in :data:`TRANSITIONS` raises ``invalid_state``
naming the resource ``number``.
"""

from __future__ import annotations

from enum import StrEnum

from dialcues_core.errors import InvalidState
from dialcues_core.numbers.model import FailedStep
from dialcues_core.numbers.model import NumberStatus as N


class NumberAction(StrEnum):
    """What is done to a number; the verbs of the error message."""

    HOLD = "held"
    EXTEND = "extended"
    DROP = "dropped"
    ASSIGN = "assigned"
    ORDERED = "ordered"
    IMPORT = "imported"
    ACTIVATE = "activated"
    FAIL = "failed"
    RELEASE = "released"
    RELEASED = "finished releasing"


#: action → {from status: the statuses it may lead to}; ``failed`` sources carry their step.
TRANSITIONS: dict[NumberAction, dict[N, frozenset[N]]] = {
    # a hold makes a new record; the latest one's status says whether it may
    NumberAction.HOLD: {
        N.RELEASED: frozenset({N.HELD}),
        N.EXPIRED: frozenset({N.HELD}),
        N.FAILED: frozenset({N.HELD}),
    },
    NumberAction.EXTEND: {N.HELD: frozenset({N.HELD})},
    NumberAction.DROP: {N.HELD: frozenset({N.RELEASED}), N.EXPIRED: frozenset({N.RELEASED})},
    NumberAction.ASSIGN: {N.HELD: frozenset({N.ORDERING}), N.FAILED: frozenset({N.ORDERED})},
    NumberAction.ORDERED: {N.ORDERING: frozenset({N.ORDERED})},
    NumberAction.IMPORT: {N.ORDERED: frozenset({N.IMPORTING})},
    NumberAction.ACTIVATE: {N.ORDERED: frozenset({N.ACTIVE}), N.IMPORTING: frozenset({N.ACTIVE})},
    NumberAction.FAIL: {
        N.ORDERING: frozenset({N.FAILED}),
        N.IMPORTING: frozenset({N.FAILED}),
        N.RELEASING: frozenset({N.FAILED}),
    },
    NumberAction.RELEASE: {N.ACTIVE: frozenset({N.RELEASING}), N.FAILED: frozenset({N.RELEASING})},
    NumberAction.RELEASED: {N.RELEASING: frozenset({N.RELEASED})},
}

#: The failed steps an action may start from (``failed`` is allowed only after these).
FAILED_SOURCES: dict[NumberAction, frozenset[FailedStep]] = {
    NumberAction.HOLD: frozenset({FailedStep.ORDER}),
    NumberAction.ASSIGN: frozenset({FailedStep.IMPORT}),
    NumberAction.RELEASE: frozenset({FailedStep.IMPORT, FailedStep.RELEASE}),
}

#: Statuses in which the organization owns the number (a hold of it is ``invalid_state``).
OWNED: frozenset[N] = frozenset({N.ORDERING, N.ORDERED, N.IMPORTING, N.ACTIVE, N.RELEASING})


def transition(current: N, action: NumberAction, failed_step: FailedStep | None = None) -> N:
    """Return the status after ``action``; ``failed_step`` is the step of a ``failed`` source.

    Raises ``InvalidState`` (resource ``number``) when the table does not allow it.
    """
    allowed = TRANSITIONS[action].get(current)
    if current is N.FAILED and failed_step not in FAILED_SOURCES.get(action, frozenset()):
        allowed = None
    if not allowed:
        raise InvalidState(current.value, action.value, resource="number")
    (target,) = allowed
    return target


def is_owned(status: N, failed_step: FailedStep | None) -> bool:
    """Tell whether the organization owns the number in this status (no one else may hold it)."""
    if status is N.FAILED:
        return failed_step in (FailedStep.IMPORT, FailedStep.RELEASE)
    return status in OWNED
