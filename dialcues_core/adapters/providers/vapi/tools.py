"""Vapi's ``tool-calls`` server messages and the transcripts of its end-of-call reports, read
for the core's in-call actions (``responsible-calling.md`` §11).

Three shapes of a tool call are accepted (Vapi's spec, its docs, and what handlers observe):
``function.arguments`` as a JSON string; ``function.arguments`` (or ``arguments``) as an
object; a flattened ``name`` with ``parameters``. Arguments that cannot be read as an object
reach the core as ``None`` (invalid arguments, answered harmlessly). Keypad input reaches the
conversation as a user turn ``User's Keypad Entry: <digits>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.adapters.providers.vapi.voice import SECRET_HEADER, message_call
from dialcues_core.calls.actions import ToolCall
from dialcues_core.calls.ports import ToolMessage
from dialcues_core.errors import ValidationFailed

KEYPAD_PREFIX: Final = "User's Keypad Entry:"
"""How Vapi writes digits a person pressed into the conversation."""


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValidationFailed({}, "The request body must be JSON.") from None
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        raise ValidationFailed({"message": "is required"}, "The body must be a Vapi message.")
    return message


def _arguments(value: object) -> dict[str, Any] | None:
    if value is None:
        return {}
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return dict(value) if isinstance(value, dict) else None


def tool_call(item: object) -> ToolCall | None:
    """One ``toolCallList`` item in any accepted shape (None: no id, so no answer can name it).

    An item without a name reads as the tool ``""``, which no call has: it is answered with an
    error, since Vapi wants a result for every tool call it sent."""
    if not isinstance(item, dict):
        return None
    call_id = item.get("id")
    function = item.get("function")
    if isinstance(function, dict):
        name = function.get("name")
        raw = function.get("arguments", item.get("arguments"))
    else:
        name = item.get("name")
        raw = item.get("parameters", item.get("arguments"))
    if not isinstance(call_id, str) or not call_id:
        return None
    return ToolCall(call_id[:200], name[:100] if isinstance(name, str) else "", _arguments(raw))


def user_turns(message: Mapping[str, Any]) -> list[tuple[bool, str]]:
    """The user turns of ``artifact.messages`` (else the legacy ``messages``), in order, each
    as (is a keypad entry, its text: the digits for a keypad entry)."""
    artifact = message.get("artifact")
    turns = artifact.get("messages") if isinstance(artifact, dict) else None
    if not isinstance(turns, list):
        turns = message.get("messages")
    found: list[tuple[bool, str]] = []
    for turn in turns if isinstance(turns, list) else []:
        if not isinstance(turn, dict) or turn.get("role") != "user":
            continue
        text = turn.get("message", turn.get("content"))
        if not isinstance(text, str):
            continue
        if text.startswith(KEYPAD_PREFIX):
            found.append((True, text[len(KEYPAD_PREFIX) :].strip()))
        else:
            found.append((False, text))
    return found


class VapiToolReader:
    """Read ``POST /api/providers/vapi/tools``."""

    def read_tools(self, headers: Mapping[str, str], body: bytes) -> ToolMessage:
        """Return the message's credential, its call, its tool calls and how they came."""
        message = _payload(body)
        listed = message.get("toolCallList")
        if not isinstance(listed, list):
            raise ValidationFailed(
                {"message.toolCallList": "is required"}, "The body must be a tool-calls message."
            )
        calls = [c for c in (tool_call(item) for item in listed) if c is not None]
        turns = user_turns(message)
        via = "keypad" if turns and turns[-1][0] else "voice"
        return ToolMessage(
            headers.get(SECRET_HEADER), message_call({"message": message}), calls, via
        )
