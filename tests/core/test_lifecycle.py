"""The reminder state machine as a table: every (action, from-state) pair is either allowed,
to exactly the statuses the table lists, or refused with ``invalid_state``."""

from __future__ import annotations

import itertools

import pytest

from dialcues_core.errors import InvalidState
from dialcues_core.reminders.lifecycle import TRANSITIONS, Action, transition
from dialcues_core.reminders.model import ReminderStatus

PAIRS = list(itertools.product(Action, ReminderStatus))


@pytest.mark.parametrize(("action", "current"), PAIRS, ids=[f"{a.name}-{s.name}" for a, s in PAIRS])
def test_each_action_from_each_status_follows_the_table(
    action: Action, current: ReminderStatus
) -> None:
    allowed = TRANSITIONS[action].get(current, frozenset())
    for target in ReminderStatus:
        if target in allowed:
            assert transition(current, action, target) is target
        else:
            with pytest.raises(InvalidState):
                transition(current, action, target)
    if not allowed:
        with pytest.raises(InvalidState):
            transition(current, action)
    elif len(allowed) == 1:
        assert transition(current, action) in allowed
    else:
        with pytest.raises(ValueError, match="needs an explicit target"):
            transition(current, action)


def test_a_reminder_in_the_air_may_be_paused_or_deleted_but_not_edited() -> None:
    assert transition(ReminderStatus.IN_PROGRESS, Action.PAUSE) is ReminderStatus.PAUSED
    assert transition(ReminderStatus.IN_PROGRESS, Action.DELETE) is ReminderStatus.IN_PROGRESS
    with pytest.raises(InvalidState):
        transition(ReminderStatus.IN_PROGRESS, Action.UPDATE)


def test_dialing_is_a_transition_of_the_table() -> None:
    assert transition(ReminderStatus.SCHEDULED, Action.DIAL) is ReminderStatus.IN_PROGRESS
    with pytest.raises(InvalidState):
        transition(ReminderStatus.PAUSED, Action.DIAL)
