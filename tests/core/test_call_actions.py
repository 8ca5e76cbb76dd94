"""The in-call actions' own rules (``responsible-calling.md`` §11), pure: which confirmation an
execution ends with, how a snooze's arguments are read, what the transcript safety net hears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialcues_core.calls.actions import (
    Action,
    ActionType,
    CallActions,
    parse_minutes,
    transcript_opt_out,
)
from dialcues_core.kernel.timefmt import millis

T = datetime(2026, 3, 25, 20, 45, tzinfo=UTC)


def act(kind: ActionType, minutes: int = 0, outcome: str = "applied") -> Action:
    detail = {"minutes": minutes, "attempt_at": millis(T + timedelta(minutes=minutes))}
    return Action(kind, T, "keypad", outcome, detail if kind is ActionType.SNOOZE else {})


@pytest.mark.parametrize(
    ("actions", "completed", "expected"),
    [
        ([], True, "no_input"),
        ([], False, None),
        ([act(ActionType.CONFIRM)], True, "confirmed"),
        ([act(ActionType.SNOOZE, 10)], True, "snoozed"),
        ([act(ActionType.SNOOZE, 10), act(ActionType.CONFIRM)], True, "confirmed"),
        ([act(ActionType.CONFIRM), act(ActionType.SNOOZE, 5)], True, "snoozed"),
        ([act(ActionType.CONFIRM), act(ActionType.STOP)], True, "opted_out"),
        ([act(ActionType.SNOOZE, 5, "refused")], True, "no_input"),
    ],
)
def test_the_confirmation_follows_the_later_wish_and_a_stop_wins(
    actions: list[Action], completed: bool, expected: str | None
) -> None:
    assert CallActions(tuple(actions)).confirmation(completed) == expected


def test_a_later_confirm_cancels_an_earlier_snooze() -> None:
    both = CallActions((act(ActionType.SNOOZE, 10), act(ActionType.CONFIRM)))
    assert both.snoozed_until() is None
    assert both.confirmed_at() == T
    again = both.plus(act(ActionType.SNOOZE, 20))
    assert again.snoozed_until() == T + timedelta(minutes=20)
    assert again.confirmed_at() is None


def test_the_stored_form_keeps_tool_call_ids_and_answers_but_shows_neither() -> None:
    action = Action(ActionType.STOP, T, "voice", "applied", {}, "call_1", "Goodbye.")
    stored = CallActions((action,)).stored()
    back = CallActions.from_stored(stored)
    assert back.answered("call_1") == action
    assert back.to_json() == [
        {"type": "stop", "at": "2026-03-25T20:45:00.000Z", "via": "voice",
         "outcome": "applied", "detail": {}}
    ]  # fmt: skip
    assert CallActions.from_stored(None).to_json() == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, 0),
        ({"minutes": 10}, 10),
        ({"minutes": 120}, 120),
        ({"minutes": 10.0}, 10),
        ({"minutes": 0}, None),
        ({"minutes": 500}, None),
        ({"minutes": 1.5}, None),
        ({"minutes": "10"}, None),
        ({"minutes": True}, None),
        ({"minutes": 10, "later": True}, None),
        ({"minutes": 10, "item": 2}, None),
        (None, None),
    ],
)
def test_snooze_minutes_are_an_integer_from_1_to_120_or_absent(
    arguments: dict[str, object] | None, expected: int | None
) -> None:
    assert parse_minutes(arguments) == expected


def test_only_inbound_readback_calls_may_name_an_item() -> None:
    assert parse_minutes({"minutes": 10, "item": 2}, allow_item=True) == 10


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ([(True, "9")], "opt_out_keypress"),
        ([(True, "9#")], "opt_out_keypress"),
        ([(False, "Stop!")], "opt_out_voice"),
        ([(False, "  opt   out. ")], "opt_out_voice"),
        ([(False, "UNSUBSCRIBE")], "opt_out_voice"),
        ([(False, "please don't stop reminding me")], None),
        ([(True, "1"), (False, "okay")], None),
        ([(True, "19")], None),
        ([], None),
    ],
)
def test_the_safety_net_hears_a_keypad_9_or_a_lone_stop_word(
    turns: list[tuple[bool, str]], expected: str | None
) -> None:
    assert transcript_opt_out(turns) == expected
