"""The reminder state machine: the only place a reminder's status changes.

The rule: a reminder is ``scheduled`` while it waits for its next attempt (first try, retry or
next occurrence), ``in_progress`` while a call is in the air, ``paused`` when its owner stopped
it, ``completed`` when a one-off was delivered or a series ended, ``failed`` when a one-off
used up its retries (or was missed), ``suppressed`` when its number was found on the
suppression list (the person said stop); only a resume brings it back, once the number is no
longer suppressed. Owners may edit, pause, resume and delete; the dispatcher
dials and finishes. A reminder whose call is in the air may be paused or deleted (a person who
says "stop" must be able to): the call is not cut, its outcome is recorded on its execution,
and nothing more is dialed for it. Anything not in :data:`TRANSITIONS` raises
``invalid_state``.
"""

from __future__ import annotations

from enum import StrEnum

from dialcues_core.errors import InvalidState
from dialcues_core.reminders.model import ReminderStatus as S


class Action(StrEnum):
    """What is done to a reminder; the verbs of the error message."""

    UPDATE = "updated"
    PAUSE = "paused"
    RESUME = "resumed"
    REVIVE = "rescheduled"
    DELETE = "deleted"
    DIAL = "dialed"
    RETRY = "retried"
    WAIT = "held for the calling window or a frequency cap"
    ADVANCE = "advanced"
    FINISH = "finished"
    SUPPRESS = "suppressed"


#: action → {from status: the statuses it may lead to}
TRANSITIONS: dict[Action, dict[S, frozenset[S]]] = {
    Action.UPDATE: {s: frozenset({s}) for s in (S.SCHEDULED, S.PAUSED, S.FAILED, S.SUPPRESSED)},
    Action.PAUSE: {S.SCHEDULED: frozenset({S.PAUSED}), S.IN_PROGRESS: frozenset({S.PAUSED})},
    Action.RESUME: {S.PAUSED: frozenset({S.SCHEDULED}), S.SUPPRESSED: frozenset({S.SCHEDULED})},
    Action.REVIVE: {S.FAILED: frozenset({S.SCHEDULED})},
    Action.DELETE: {s: frozenset({s}) for s in S},
    Action.DIAL: {S.SCHEDULED: frozenset({S.IN_PROGRESS})},
    Action.RETRY: {S.IN_PROGRESS: frozenset({S.SCHEDULED})},
    Action.WAIT: {S.SCHEDULED: frozenset({S.SCHEDULED})},
    Action.ADVANCE: {
        S.IN_PROGRESS: frozenset({S.SCHEDULED}),
        S.SCHEDULED: frozenset({S.SCHEDULED}),
    },
    Action.FINISH: {
        S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED}),
        S.SCHEDULED: frozenset({S.COMPLETED, S.FAILED}),
    },
    Action.SUPPRESS: {  # completed or failed: a stop that came after its call's outcome
        s: frozenset({S.SUPPRESSED}) for s in (S.SCHEDULED, S.IN_PROGRESS, S.COMPLETED, S.FAILED)
    },
}


def transition(current: S, action: Action, target: S | None = None) -> S:
    """Return the status after ``action`` (``target`` when it may lead to several).

    Raises ``InvalidState`` when the table does not allow ``action`` from ``current``.
    """
    allowed = TRANSITIONS[action].get(current)
    if not allowed:
        raise InvalidState(current.value, action.value)
    if target is None:
        if len(allowed) != 1:
            raise ValueError(f"{action} from {current} needs an explicit target")
        (target,) = allowed
    if target not in allowed:
        raise InvalidState(current.value, action.value)
    return target
