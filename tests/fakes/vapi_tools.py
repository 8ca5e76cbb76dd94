"""What the fake Vapi needs for in-call tools: the person on the line, ``tool-calls`` messages
in the three argument shapes seen on the wire, and Vapi's strictness about the answers.

Vapi's facts (``providers/telephony-facts.md`` §6.5–6.7): the model calls a tool the assistant
declares; the ``tool-calls`` message goes to the tool's ``server.url`` with its
``server.headers``; keypad digits reach the conversation as a user turn ``User's Keypad
Entry: 1``. The answer must be HTTP 200 with ``results``, one per tool call, each with the
exact ``toolCallId``, ``name`` and a single-line string ``result`` or ``error`` ("any other
status code is ignored completely"; line breaks are parse errors).

Three shapes of a ``toolCallList`` item circulate (§6.6): Vapi's spec and SDK (``function``
with ``arguments`` as a JSON string), what many handlers observe (``arguments`` as an object),
and Vapi's docs (a flattened ``name`` with ``parameters``). The SDK's ``ToolCall`` model knows
only the first: :func:`canonical` is what the fake checks against the SDK for every shape.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from support.vapi_sdk import strict_errors

from dialcues_core.adapters.providers.simulated.voice import SIMULATED_ACTIONS

Json = dict[str, Any]

KEYPAD_PREFIX = "User's Keypad Entry: "
"""How Vapi writes the digits a person pressed into the conversation."""

KEYS = {"confirm_reminder": "1", "snooze_reminder": "2", "stop_calls": "9"}
WORDS = {"confirm_reminder": "done", "snooze_reminder": "snooze", "stop_calls": "stop"}


class ArgumentShape(StrEnum):
    """How a ``toolCallList`` item carries its arguments."""

    JSON_STRING = "json_string"  # {"id", "type", "function": {"name", "arguments": "{…}"}}
    OBJECT = "object"  # {"id", "type", "function": {"name", "arguments": {…}}}
    FLATTENED = "flattened"  # {"id", "name", "parameters": {…}}


_ROTATION: Iterator[ArgumentShape] = itertools.cycle(list(ArgumentShape))


def next_shape() -> ArgumentShape:
    """Return the next shape in turn: the fakes of successive tests rotate through all three."""
    return next(_ROTATION)


@dataclass(frozen=True)
class ToolRequest:
    """One tool call the model makes: the tool's name, its arguments, its id."""

    name: str
    arguments: Json = field(default_factory=dict)
    id: str = field(default_factory=lambda: "call_" + uuid.uuid4().hex[:24])


@dataclass(frozen=True)
class ToolExchange:
    """One ``tool-calls`` message the fake sent, and how our side answered it.

    ``problems`` lists what Vapi's strictness refuses in the answer (empty: Vapi takes it);
    ``automatic`` marks a message the pretend person's action caused (not a test's own).
    """

    call_id: str
    url: str
    headers: Mapping[str, str]
    shape: ArgumentShape
    requests: tuple[ToolRequest, ...]
    payload: Json
    http_status: int | None
    answer: Any
    problems: list[str]
    automatic: bool = False

    def result(self, index: int = 0) -> Json:
        """Return the ``results`` item of the ``index``-th tool call."""
        return dict(self.answer["results"][index])

    def _first(self) -> Json | None:
        """The first result, when Vapi takes the answer (an answer it refuses says nothing)."""
        if self.problems or not isinstance(self.answer, dict) or not self.answer.get("results"):
            return None
        return dict(self.answer["results"][0])

    @property
    def spoken(self) -> str | None:
        """What Vapi says after the first result: its ``message``'s content, else the result."""
        first = self._first()
        if first is None:
            return None
        message = first.get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return str(message["content"])
        said = first.get("result", first.get("error"))
        return said if isinstance(said, str) else None

    @property
    def ends_call(self) -> bool:
        """Tell whether the first result asks Vapi to end the call once it is spoken."""
        first = self._first()
        message = first.get("message") if first is not None else None
        return isinstance(message, dict) and message.get("endCallAfterSpokenEnabled") is True


@dataclass(frozen=True)
class Person:
    """What the pretend person at a number does: the tool the model then calls, and the user
    turn that shows it (``User's Keypad Entry: 1`` or a word)."""

    tool: str
    via: str
    turn: str


def person_at(number: str) -> Person | None:
    """Return what the person at ``number`` does (the simulated dialer's endings 0007–0010)."""
    found = SIMULATED_ACTIONS.get(number[-4:])
    if found is None:
        return None
    tool, via = found
    turn = KEYPAD_PREFIX + KEYS[tool] if via == "keypad" else WORDS[tool]
    return Person(tool, via, turn)


# ----------------------------------------------------------------------------- the message
def canonical(request: ToolRequest) -> Json:
    """The SDK's ``ToolCall``: ``function.arguments`` as a JSON string."""
    arguments = json.dumps(request.arguments)
    function = {"name": request.name, "arguments": arguments}
    return {"id": request.id, "type": "function", "function": function}


def item(request: ToolRequest, shape: ArgumentShape) -> Json:
    """A ``toolCallList`` item in ``shape``."""
    if shape is ArgumentShape.JSON_STRING:
        return canonical(request)
    if shape is ArgumentShape.OBJECT:
        function = {"name": request.name, "arguments": dict(request.arguments)}
        return {"id": request.id, "type": "function", "function": function}
    return {"id": request.id, "name": request.name, "parameters": dict(request.arguments)}


def declared_tool(assistant: Mapping[str, Any] | None, name: str) -> Json | None:
    """The function tool ``name`` the call's assistant declares, or None."""
    model = assistant.get("model") if assistant else None
    for tool in (model or {}).get("tools") or []:
        if tool.get("type") == "function" and (tool.get("function") or {}).get("name") == name:
            return dict(tool)
    return None


def first_function_tool(assistant: Mapping[str, Any] | None) -> Json | None:
    """The assistant's first function tool (where a test's undeclared tool is sent)."""
    model = assistant.get("model") if assistant else None
    tools = [t for t in (model or {}).get("tools") or [] if t.get("type") == "function"]
    return dict(tools[0]) if tools else None


def with_tool_call(tool: Json | None, request: ToolRequest) -> Json:
    """A ``toolWithToolCallList`` item: the tool's configuration with its ``toolCall``."""
    config = dict(tool) if tool is not None else {"type": "function"}
    config["function"] = {**(config.get("function") or {}), "name": request.name}
    return {**config, "toolCall": canonical(request)}


def turn(role: str, text: str, at_ms: float, start_ms: float) -> Json:
    """One ``artifact.messages`` item (a ``bot`` or ``user`` turn) lasting a second."""
    return {
        "role": role,
        "message": text,
        "time": at_ms,
        "endTime": at_ms + 1000,
        "secondsFromStart": round((at_ms - start_ms) / 1000, 3),
    }


# ----------------------------------------------------------------------------- the answer
def answer_problems(
    model: Any, status: int | None, answer: Any, requests: Sequence[ToolRequest]
) -> list[str]:
    """Return what Vapi refuses in our answer to ``requests`` (none: it speaks it).

    ``model`` is the SDK's ``ServerMessageResponseToolCalls``; beyond it, Vapi wants HTTP 200,
    one result per call in order with the exact ``toolCallId`` and ``name``, exactly one of
    ``result`` and ``error``, each a single-line string, and a spoken ``message`` of the
    matching type (``request-complete`` after a result, ``request-failed`` after an error).
    """
    if status != 200:
        return [f"HTTP {status}: Vapi ignores any answer to a tool call but 200"]
    if not isinstance(answer, dict):
        return ["the answer is not a JSON object"]
    problems = strict_errors(model, answer, closed_enums=True)
    results = answer.get("results")
    if not isinstance(results, list):
        return [*problems, "the answer has no results: no result returned"]
    if len(results) != len(requests):
        problems.append(f"{len(results)} results for {len(requests)} tool calls")
    for index, (request, result) in enumerate(zip(requests, results, strict=False)):
        problems += _result_problems(index, request, result)
    return problems


def _result_problems(index: int, request: ToolRequest, result: Any) -> list[str]:
    if not isinstance(result, dict):
        return [f"/results/{index}: not an object"]
    problems = []
    if result.get("toolCallId") != request.id:
        given = result.get("toolCallId")
        problems.append(f"/results/{index}/toolCallId: {given!r}, not {request.id!r}")
    if result.get("name") != request.name:
        problems.append(f"/results/{index}/name: {result.get('name')!r}, not {request.name!r}")
    given = [key for key in ("result", "error") if key in result]
    if len(given) != 1:
        problems.append(f"/results/{index}: exactly one of result and error, not {given}")
    for key in given:
        problems += _line_problems(f"/results/{index}/{key}", result[key])
    message = result.get("message")
    if message is not None:
        wanted = "request-complete" if "result" in result else "request-failed"
        if not isinstance(message, dict) or message.get("type") != wanted:
            problems.append(f"/results/{index}/message: must be a {wanted} message")
        else:
            problems += _line_problems(f"/results/{index}/message/content", message.get("content"))
    return problems


def _line_problems(where: str, value: Any) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: must be a string"]
    if "\n" in value or "\r" in value:
        return [f"{where}: must be a single line"]
    if len(value) > 1000:
        return [f"{where}: at most 1000 characters"]
    return []


def as_canonical(wire: Any) -> Any:
    """A ``toolCallList`` item of any shape as the SDK's ``ToolCall`` (what the fake checks)."""
    if not isinstance(wire, dict):
        return wire
    function = wire.get("function")
    if isinstance(function, dict):
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            return {**wire, "function": {**function, "arguments": json.dumps(arguments)}}
        return wire
    if "parameters" in wire:
        rest = {k: v for k, v in wire.items() if k not in ("name", "parameters")}
        arguments = json.dumps(wire["parameters"])
        function = {"name": wire.get("name"), "arguments": arguments}
        return {**rest, "type": "function", "function": function}
    return wire
