"""What a person did during a call: confirm, snooze, stop (``responsible-calling.md`` §11).

Each tool call is kept on its execution, with the id Vapi gave it and the sentence we answered,
so the same ``toolCallId`` twice gets its stored answer and changes nothing. The execution's
``confirmation`` is read from the applied actions when its outcome is written: ``opted_out``
if a stop was applied, else the later of confirmed and snoozed (a later confirm cancels an
earlier snooze; a later snooze replaces an earlier confirm or snooze), else ``no_input`` for
a ``completed`` call. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dialcues_core.kernel.timefmt import millis


class ActionType(StrEnum):
    """An in-call action."""

    CONFIRM = "confirm"
    SNOOZE = "snooze"
    STOP = "stop"


TOOLS: dict[str, ActionType] = {
    "confirm_reminder": ActionType.CONFIRM,
    "snooze_reminder": ActionType.SNOOZE,
    "stop_calls": ActionType.STOP,
}
"""The function tools every call carries, by name."""

VIAS = ("keypad", "voice", "transcript")

CONFIRMED = "Thank you, I've noted that it's done. Goodbye."
SNOOZED = "Okay, I'll call you back at {time}. Goodbye."
STOPPED = "You won't get these calls anymore. Goodbye."
NO_SNOOZE = "I can't call back again for this reminder."
ASK_MINUTES = "I can call back in 1 to 120 minutes. How many minutes would you like?"
CALL_ENDED = "This call has already ended, so I can't do that now."
OPTED_OUT = "You asked not to be called again, so I can't do that."
NOT_AVAILABLE = "That action is not available on this call."

REFUSALS = ("budget_exhausted", "past_deadline", "call_ended", "opted_out", "invalid_arguments")


@dataclass(frozen=True, slots=True)
class Action:
    """One in-call action as recorded (``tool_call_id`` and ``result`` are ours, not shown)."""

    type: ActionType
    at: datetime
    via: str
    outcome: str
    """``applied`` or ``refused``."""
    detail: dict[str, Any] = field(default_factory=dict)
    tool_call_id: str | None = None
    result: str | None = None

    @property
    def applied(self) -> bool:
        """Tell whether the action took effect."""
        return self.outcome == "applied"

    def to_json(self) -> dict[str, Any]:
        """The public ``actions`` item."""
        return {
            "type": self.type.value,
            "at": millis(self.at),
            "via": self.via,
            "outcome": self.outcome,
            "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class CallActions:
    """The actions of one call, in order."""

    items: tuple[Action, ...] = ()

    def answered(self, tool_call_id: str) -> Action | None:
        """The action already recorded for a tool call, if any."""
        return next((a for a in self.items if a.tool_call_id == tool_call_id), None)

    @property
    def stopped(self) -> bool:
        """Tell whether a stop was applied."""
        return any(a.applied and a.type is ActionType.STOP for a in self.items)

    @property
    def any_applied(self) -> bool:
        """Tell whether any action took effect (the execution is then ``completed``)."""
        return any(a.applied for a in self.items)

    def wish(self) -> Action | None:
        """The applied confirm or snooze that counts: the later one."""
        wishes = [
            a for a in self.items if a.applied and a.type in (ActionType.CONFIRM, ActionType.SNOOZE)
        ]
        return wishes[-1] if wishes else None

    def confirmation(self, completed: bool) -> str | None:
        """The execution's ``confirmation``."""
        if self.stopped:
            return "opted_out"
        wish = self.wish()
        if wish is not None:
            return "confirmed" if wish.type is ActionType.CONFIRM else "snoozed"
        return "no_input" if completed else None

    def confirmed_at(self) -> datetime | None:
        """When the confirm that counts was applied."""
        wish = self.wish()
        return wish.at if wish is not None and wish.type is ActionType.CONFIRM else None

    def snoozed_until(self) -> datetime | None:
        """When the snooze that counts calls back, if the later wish is a snooze."""
        wish = self.wish()
        if wish is None or wish.type is not ActionType.SNOOZE:
            return None
        return datetime.fromisoformat(wish.detail["attempt_at"].replace("Z", "+00:00"))

    def plus(self, action: Action) -> CallActions:
        """These actions and one more."""
        return CallActions((*self.items, action))

    def to_json(self) -> list[dict[str, Any]]:
        """The public ``actions`` list."""
        return [a.to_json() for a in self.items]

    def stored(self) -> str | None:
        """The stored form (with tool call ids and answers); None when there is none."""
        if not self.items:
            return None
        return json.dumps(
            [
                {**a.to_json(), "tool_call_id": a.tool_call_id, "result": a.result}
                for a in self.items
            ],
            separators=(",", ":"),
        )

    @classmethod
    def from_stored(cls, text: str | None) -> CallActions:
        """Read the stored form back."""
        if not text:
            return NO_ACTIONS
        return cls(
            tuple(
                Action(
                    ActionType(item["type"]),
                    datetime.fromisoformat(item["at"].replace("Z", "+00:00")),
                    item["via"],
                    item["outcome"],
                    item.get("detail") or {},
                    item.get("tool_call_id"),
                    item.get("result"),
                )
                for item in json.loads(text)
            )
        )


NO_ACTIONS = CallActions()


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call as the provider's adapter read it.

    ``arguments`` is None when they could not be read as an object (invalid arguments).
    """

    id: str
    name: str
    arguments: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ToolAnswer:
    """Our answer to one tool call: a one-line result, or an error; ``end_call`` when an
    applied action ends the call after the sentence is spoken."""

    tool_call_id: str
    name: str
    result: str | None = None
    error: str | None = None
    end_call: bool = False


def parse_minutes(arguments: dict[str, Any] | None, allow_item: bool = False) -> int | None:
    """``snooze_reminder``'s arguments: ``minutes`` 1–120 or absent (0: the default); None
    when they are invalid (not an integer, out of range, any other argument)."""
    if arguments is None:
        return None
    extra = set(arguments) - {"minutes"} - ({"item"} if allow_item else set())
    if extra:
        return None
    minutes = arguments.get("minutes")
    if minutes is None:
        return 0
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        return None
    if isinstance(minutes, float) and not minutes.is_integer():
        return None
    value = int(minutes)
    return value if 1 <= value <= 120 else None


STOP_WORDS = frozenset({"stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"})
"""A user turn that is only one of these (any case, punctuation ignored) is a stop (§11)."""


def transcript_opt_out(user_turns: list[tuple[bool, str]]) -> str | None:
    """The safety net's reading of a call's user turns (``(keypad, text)`` each): a keypad
    entry ``9`` (``opt_out_keypress``) or a turn that is only a stop word (``opt_out_voice``)."""
    for keypad, text in user_turns:
        if keypad and text.strip().rstrip("#") == "9":
            return "opt_out_keypress"
        words = "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower())
        if not keypad and " ".join(words.split()) in STOP_WORDS:
            return "opt_out_voice"
    return None
