"""Reading Vapi's ``tool-calls`` messages (``responsible-calling.md`` §11): every argument
shape, arguments that cannot be read, items without a name, and how the person acted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dialcues_core.adapters.providers.vapi.tools import VapiToolReader, tool_call
from dialcues_core.calls.actions import ToolCall
from dialcues_core.errors import ValidationFailed


@pytest.mark.parametrize(
    "item",
    [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "snooze_reminder", "arguments": '{"minutes": 5}'},
        },
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "snooze_reminder", "arguments": {"minutes": 5}},
        },
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "snooze_reminder"},
            "arguments": {"minutes": 5},
        },
        {"id": "c1", "name": "snooze_reminder", "parameters": {"minutes": 5}},
    ],
    ids=["json-string", "object", "top-level-object", "flattened"],
)
def test_every_argument_shape_reads_the_same(item: dict[str, Any]) -> None:
    assert tool_call(item) == ToolCall("c1", "snooze_reminder", {"minutes": 5})


@pytest.mark.parametrize(
    ("arguments", "read"),
    [(None, {}), ("", {}), ("{not json", None), ("[1]", None), (7, None)],
)
def test_arguments_that_are_not_an_object_read_as_invalid(arguments: Any, read: Any) -> None:
    item = {"id": "c1", "function": {"name": "stop_calls", "arguments": arguments}}
    assert tool_call(item) == ToolCall("c1", "stop_calls", read)


def test_an_item_without_an_id_cannot_be_answered_and_one_without_a_name_is_unknown() -> None:
    assert tool_call({"function": {"name": "stop_calls"}}) is None
    assert tool_call({"id": "c1", "parameters": {}}) == ToolCall("c1", "", {})


def message(last_user_turn: str) -> bytes:
    turns = [
        {"role": "bot", "message": "This is Acme with a reminder."},
        {"role": "user", "message": "hello"},
        {"role": "user", "message": last_user_turn},
    ]
    items = [{"id": "c1", "name": "stop_calls", "parameters": {}}, {"bad": 1}]
    call = {"id": "v1", "assistantOverrides": {"metadata": {"execution_id": "9"}}}
    body = {"toolCallList": items, "call": call, "artifact": {"messages": turns}}
    return json.dumps({"message": {"type": "tool-calls", **body}}).encode()


def test_a_keypad_entry_as_the_last_user_turn_is_keypad_else_voice() -> None:
    reader = VapiToolReader()
    keypad = reader.read_tools({"x-vapi-secret": "t"}, message("User's Keypad Entry: 9"))
    voice = reader.read_tools({}, message("please stop calling"))
    assert (keypad.via, keypad.secret, voice.via, voice.secret) == ("keypad", "t", "voice", None)
    assert keypad.about is not None and keypad.about.execution_id == 9
    assert keypad.calls == [ToolCall("c1", "stop_calls", {})]


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"message": {"type": "tool-calls"}}'])
def test_a_body_that_is_no_tool_calls_message_is_a_validation_error(body: bytes) -> None:
    with pytest.raises(ValidationFailed):
        VapiToolReader().read_tools({}, body)
