"""Vapi's side of inbound calls (``telephony.md`` §3.2): read an ``assistant-request``, write
the route's answer.

The line is found by ``message.call.phoneNumberId`` (the message's ``phoneNumber`` has no id);
the caller is ``call.customer.number`` (else ``message.customer.number``; None when withheld).
Every answer that lets the call talk to an assistant carries our ``server`` (the events URL,
with the inbound execution's call token) and ``serverMessages``, and the correlation ids in
``metadata``, so the outcome and the tool calls come back to us like an outbound call's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dialcues_core.adapters.providers.vapi.assistant import (
    FUNCTIONS,
    KEYPAD_INPUT_PLAN,
    SECRET_HEADER,
    SERVER_MESSAGES,
    SERVER_TIMEOUT_SECONDS,
    TOOL_TIMEOUT_SECONDS,
)
from dialcues_core.calling.policy import Identity
from dialcues_core.calls.calltoken import call_token
from dialcues_core.calls.ports import PROVIDER_EVENT_PATHS, PROVIDER_TOOL_PATHS
from dialcues_core.errors import ValidationFailed
from dialcues_core.inbound import readback
from dialcues_core.inbound.model import Answer, Ring
from dialcues_core.inbound.routes import RouteType, route_type

ASSISTANT_REQUEST = "assistant-request"
ITEM_PROPERTY: dict[str, Any] = {
    "type": "integer",
    "description": "The place of the reminder in the list read (1 to 5).",
}


class VapiRingReader:
    """Reads Vapi's ``assistant-request`` and writes its answer."""

    def read_ring(self, headers: Mapping[str, str], body: bytes) -> Ring | None:
        """The ring, or None for any other server message."""
        try:
            payload = json.loads(body)
        except ValueError:
            raise ValidationFailed({}, "The request body must be JSON.") from None
        message = payload.get("message") if isinstance(payload, dict) else None
        if not isinstance(message, dict) or message.get("type") != ASSISTANT_REQUEST:
            return None
        call = message.get("call") if isinstance(message.get("call"), dict) else {}
        assert isinstance(call, dict)
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            raise ValidationFailed({"message.call.id": "is required"})
        line_id = call.get("phoneNumberId")
        return Ring(
            call_id=call_id,
            provider_line_id=line_id if isinstance(line_id, str) else None,
            caller=_caller(call) or _caller(message),
            secret=headers.get(SECRET_HEADER),
        )

    def answer_body(self, answer: Answer, public_url: str) -> dict[str, Any]:
        """The answer Vapi expects for ``answer``'s route."""
        if answer.error is not None:
            return {"error": answer.error}
        route = answer.route or {}
        kind = route_type(route)
        if kind is RouteType.TRANSFER:
            return {"destination": {"type": "number", "number": route["number"], "message": ""}}
        metadata = _metadata(answer)
        server = _server(answer, public_url, SERVER_TIMEOUT_SECONDS, PROVIDER_EVENT_PATHS)
        if kind is RouteType.ASSISTANT:
            line = answer.line
            variables = {
                "caller_number": answer.caller or "",
                "line_number": line.phone_number if line else "",
            }
            overrides = {
                "metadata": metadata,
                "server": server,
                "serverMessages": list(SERVER_MESSAGES),
                "variableValues": variables,
            }
            return {"assistantId": route["assistant_id"], "assistantOverrides": overrides}
        return {
            "assistant": _readback_assistant(answer, public_url, metadata, server),
            "assistantOverrides": {"metadata": metadata},
        }


def _caller(found: Mapping[str, Any]) -> str | None:
    customer = found.get("customer")
    number = customer.get("number") if isinstance(customer, dict) else None
    return number if isinstance(number, str) and number.startswith("+") else None


def _metadata(answer: Answer) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "execution_id": str(answer.execution_id),
        "organization_id": answer.organization_id or "",
    }
    if answer.readback:
        metadata["reminder_ids"] = [str(item.reminder_id) for item in answer.readback]
    return metadata


def _token(answer: Answer) -> str:
    provider = answer.provider
    if provider is None or answer.execution_id is None:
        return ""
    return call_token(provider.webhook_secret, answer.execution_id)


def _server(
    answer: Answer, public_url: str, timeout: int, paths: Mapping[str, str]
) -> dict[str, Any]:
    url = public_url.rstrip("/") + paths["vapi"]
    return {"url": url, "headers": {SECRET_HEADER: _token(answer)}, "timeoutSeconds": timeout}


def _readback_assistant(
    answer: Answer, public_url: str, metadata: dict[str, Any], server: dict[str, Any]
) -> dict[str, Any]:
    identity = answer.identity or Identity()
    provider = answer.provider
    model = provider.model_parts if provider is not None else ("openai", "gpt-4.1-mini")
    tool_server = _server(answer, public_url, TOOL_TIMEOUT_SECONDS, PROVIDER_TOOL_PATHS)
    assistant: dict[str, Any] = {
        "firstMessage": answer.opening or "",
        "firstMessageMode": "assistant-speaks-first",
        "model": {
            "provider": model[0],
            "model": model[1],
            "messages": [
                {"role": "system", "content": readback.system_message(identity, answer.readback)}
            ],
            "tools": [*_readback_tools(tool_server), {"type": "endCall"}],
        },
        "keypadInputPlan": dict(KEYPAD_INPUT_PLAN),
        "server": server,
        "serverMessages": list(SERVER_MESSAGES),
        "metadata": metadata,
    }
    if provider is not None and provider.voice is not None:
        assistant["voice"] = dict(provider.voice)
    if provider is not None and provider.transcriber is not None:
        assistant["transcriber"] = dict(provider.transcriber)
    return assistant


def _readback_tools(server: dict[str, Any]) -> list[dict[str, Any]]:
    """The outbound call's three functions, each with the readback's ``item`` argument."""
    tools: list[dict[str, Any]] = []
    for name, spec in FUNCTIONS.items():
        parameters = json.loads(json.dumps(spec["parameters"]))
        parameters.setdefault("properties", {})["item"] = dict(ITEM_PROPERTY)
        parameters["required"] = ["item"]
        function = {"name": name, "description": spec["description"], "parameters": parameters}
        tools.append({"type": "function", "function": function, "server": dict(server)})
    return tools
