"""A fake Vapi on 127.0.0.1: as strict as the real one, programmable per test.

Serves what the Vapi dialer uses (``spec/vapi.md``): ``POST /call`` (and its legacy alias
``POST /call/phone``), ``GET /call/{id}`` and ``GET /call?phoneNumberId&createdAt…&limit``.
Like Vapi it checks the Bearer key (401) and validates the create body against the official
SDK's ``CreateOutboundCallDto`` strictly (``support.vapi_sdk``: a key the schema lacks at any
depth — in the transient ``assistant``, its model and tools too —, a wrong type or an unknown
enum value is a 400 with a NestJS message list); it also checks ``customer.number`` is E.164,
the name's length, every server URL, and needs a phone number id and an assistant. Every
call it *creates* is in :attr:`FakeVapi.calls`, so a test can prove a call was placed
exactly once.

After a create it reports the call as Vapi does: to the call's server URL
(``assistantOverrides.server``, else the transient ``assistant.server``) with exactly that
server's ``headers`` (no header when it names none), and only the types ``serverMessages``
lists when it lists any: a ``status-update`` to ``in-progress``, then the end as
``status-update: ended`` and/or ``end-of-call-report`` (:class:`MessageOrder`), optionally
twice each. Knobs stand for an organization-level server URL (``org_server_url``, used when
the create names none) and for a test that wants the organization's secret sent instead
(``send_org_secret``). Every message is checked strictly against the SDK's server message
model of its type (and the call in it against ``Call``) before it is sent: one the SDK would
refuse is a bug of the fake, raised there and again when the fake stops. The ended reason
comes from the number's last four digits (the simulated dialer's table) unless a test
overrides it. :meth:`FakeVapi.fail_next` injects failures for the next valid creates
(:class:`Failure`).

The person on the line (``responsible-calling.md`` §11, :mod:`fakes.vapi_tools`): at a number
ending ``0007`` they press 1, ``0008`` press 2 (once: the call-back a snooze asked for is only
listened to), ``0009`` press 9, ``0010`` say "stop". The model then calls the matching tool:
the fake POSTs a ``tool-calls`` message to that tool's ``server.url`` with its ``headers``,
the arguments in one of the three shapes seen on the wire (:class:`ArgumentShape`, in turn
across tests), the person's turn in ``artifact.messages``; it checks our answer with Vapi's
strictness (HTTP 200, one result per call with the exact ``toolCallId`` and ``name``, a
single-line string ``result`` or ``error``), speaks it, and ends the call with an
``end-of-call-report`` whose ``artifact.messages`` hold the conversation. A test can send
its own tool calls about a call (:meth:`FakeVapi.post_tool_calls`, :meth:`FakeVapi.tool_call`)
and keep a call in the air meanwhile (``hold_calls``).

Phone numbers (``telephony.md`` §1.6, ``telephony-facts.md`` §6.1, §12): ``POST
/phone-number`` imports a Telnyx number, checked against the SDK's
``CreatePhoneNumbersRequest`` strictly (:func:`validate_import`: an unknown key is a 400 in
Vapi's error shape; ``provider`` must be ``telnyx``, ``number`` E.164, ``credentialId`` a UUID
and not one of ``bad_credential_ids``), answers 201 ``activating`` and makes a new number on
every call (no idempotency); ``GET /phone-number`` (a plain array, newest first, ``limit``
and ``createdAt`` filters), ``GET`` and ``DELETE /phone-number/{id}`` (404 when unknown).
A number turns ``active`` as it is read (``activation_delay``), or ``blocked``
(``blocked_numbers``, :meth:`FakeVapi.block`); every request is in ``number_requests``, and
:meth:`FakeVapi.fail_next_import` injects the create failures.

Inbound calls: :meth:`FakeVapi.ring` POSTs ``assistant-request`` to the number's
``server.url`` with its ``server.headers`` (no ``metadata``: the call has none yet), allows
7.5 s, judges the answer against the SDK's ``ServerMessageResponseAssistantRequest`` strictly
and exactly one route (:func:`judge_answer`, :class:`InboundEnd`), applies it and ends the
call with ``status-update`` and ``end-of-call-report`` carrying ``call.id``; ``GET
/call/{id}`` finds the inbound call from the ring on.

Usage::

    async with start_fake_vapi(api_key="k", webhook_secret="s") as vapi:
        vapi.fail_next(Failure.PLACED_THEN_500)
        ...  # point a ProviderSettings(base_url=vapi.base_url, api_key="k", …) at it
        assert len(vapi.calls) == 1

One module on purpose (the in-call tools' pure parts aside, in :mod:`fakes.vapi_tools`), past
the house's 400 lines: Vapi's schema, its handlers and its server messages only make sense
together (an inbound call sends the very messages an outbound one does, about a number the
same fake imported), and nothing outside the tests imports them.
Importing it imports the SDK models it checks against, which takes pydantic some seconds.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import aiohttp
import pydantic
from aiohttp import web
from support.vapi_sdk import strict_errors

from dialcues_core.adapters.providers.simulated.voice import simulated_reason
from fakes.vapi_tools import (
    KEYPAD_PREFIX,
    WORDS,
    ArgumentShape,
    Person,
    ToolExchange,
    ToolRequest,
    answer_problems,
    as_canonical,
    declared_tool,
    first_function_tool,
    item,
    next_shape,
    person_at,
    turn,
    with_tool_call,
)

__all__ = [
    "KEYPAD_PREFIX",
    "ArgumentShape",
    "Delivery",
    "Failure",
    "FakeVapi",
    "InboundEnd",
    "MessageOrder",
    "NumberRequest",
    "Rejection",
    "Ring",
    "ToolExchange",
    "ToolRequest",
    "Verdict",
    "judge_answer",
    "start_fake_vapi",
    "validate_import",
]

Json = dict[str, Any]

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
SECRET_HEADER = "x-vapi-secret"


@functools.cache
def sdk_models() -> SdkModels:
    """Vapi's own models, imported on first use: they take about 10 s to import, which only
    the tests that talk to the fake should pay (once per process)."""
    from vapi.phone_numbers.types.create_phone_numbers_request import CreatePhoneNumbersRequest
    from vapi.phone_numbers.types.create_phone_numbers_response import (
        CreatePhoneNumbersResponse_Telnyx,
    )
    from vapi.types.call import Call
    from vapi.types.create_outbound_call_dto import CreateOutboundCallDto
    from vapi.types.server_message_assistant_request import ServerMessageAssistantRequest
    from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport
    from vapi.types.server_message_response_assistant_request import (
        ServerMessageResponseAssistantRequest,
    )
    from vapi.types.server_message_response_tool_calls import ServerMessageResponseToolCalls
    from vapi.types.server_message_status_update import ServerMessageStatusUpdate
    from vapi.types.server_message_tool_calls import ServerMessageToolCalls

    return SdkModels(
        call=Call,
        create=CreateOutboundCallDto,
        messages={
            "status-update": ServerMessageStatusUpdate,
            "end-of-call-report": ServerMessageEndOfCallReport,
            "tool-calls": ServerMessageToolCalls,
            "assistant-request": ServerMessageAssistantRequest,
        },
        tool_answer=ServerMessageResponseToolCalls,
        number_create=CreatePhoneNumbersRequest,
        number=CreatePhoneNumbersResponse_Telnyx,
        assistant_answer=ServerMessageResponseAssistantRequest,
    )


@dataclass(frozen=True)
class SdkModels:
    """The SDK models the fake checks its traffic against."""

    call: type[pydantic.BaseModel]
    create: type[pydantic.BaseModel]
    messages: dict[str, type[pydantic.BaseModel]]
    """The model each message type the fake sends must satisfy (the members of the SDK's
    ``ServerMessageMessage`` union; the union itself takes 20 s more to import)."""
    tool_answer: type[pydantic.BaseModel]
    """What our answer to a ``tool-calls`` message must be (``ServerMessageResponseToolCalls``)."""
    number_create: Any
    """What a ``POST /phone-number`` body must be (``CreatePhoneNumbersRequest``: a union on
    ``provider``)."""
    number: type[pydantic.BaseModel]
    """What the fake answers for a Telnyx phone number (``CreatePhoneNumbersResponse_Telnyx``)."""
    assistant_answer: type[pydantic.BaseModel]
    """What our answer to ``assistant-request`` must be
    (``ServerMessageResponseAssistantRequest``)."""


DEFAULT_LINE_NUMBER = "+14155550100"
LIST_QUERY = frozenset(
    {
        "id", "assistantId", "phoneNumberId", "limit", "createdAtGt", "createdAtLt",
        "createdAtGe", "createdAtLe", "updatedAtGt", "updatedAtLt", "updatedAtGe",
        "updatedAtLe",
    }
)  # fmt: skip
E164_MESSAGE = (
    "customer.number must be a valid phone number in the E.164 format. "
    "Hot tip, you may be missing the country code (Eg. US: +1)."
)
NO_PHONE_NUMBER = "Couldn't Get Phone Number. Need Either `phoneNumberId` Or `phoneNumber`."
NO_ASSISTANT = (
    "Couldn't Get Assistant. Need Either `assistant`, `assistantId`, `squad`, `squadId`, "
    "`workflow`, Or `workflowId`."
)


class Failure(StrEnum):
    """A failure to inject into the next valid create."""

    PLACED_THEN_500 = "placed_then_500"  # the call is created (and rings), the answer is 500
    ERROR_500 = "error_500"  # 500, no call
    THROTTLE_429 = "throttle_429"  # 429 with Retry-After, no call
    HANG = "hang"  # no answer until the client gives up (or the fake stops), no call
    HANG_PLACED = "hang_placed"  # the call is created, then no answer
    LATE_AFTER_500 = "late_after_500"  # 500 at once; the call is created a moment later


class MessageOrder(StrEnum):
    """Which end-of-call messages are sent, in which order."""

    STATUS_FIRST = "status_first"  # status-update ended, then end-of-call-report
    REPORT_FIRST = "report_first"  # end-of-call-report, then status-update ended
    STATUS_ONLY = "status_only"
    REPORT_ONLY = "report_only"


@dataclass(frozen=True)
class Delivery:
    """One server message the fake sent, and how our side answered (None: no answer)."""

    url: str
    call_id: str
    type: str
    status: str | None
    payload: Json
    secret: str | None  # the x-vapi-secret header sent (None: no such header)
    http_status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)  # every header the fake chose


@dataclass(frozen=True)
class Rejection:
    """One request the fake refused, with the body it answered."""

    method: str
    path: str
    status: int
    message: str | list[str]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _error(status: int, message: str | list[str]) -> web.Response:
    """Answer as Vapi (NestJS) does: ``{"message", "error", "statusCode"}``."""
    body = {"message": message, "error": HTTPStatus(status).phrase, "statusCode": status}
    return web.json_response(body, status=status)


def _unknown(properties: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> list[str]:
    return [f"{prefix}property {key} should not exist" for key in properties if key not in allowed]


def validate_create(body: object) -> list[str]:
    """Return the messages Vapi would answer 400 with for this create body (none: valid).

    The SDK's ``CreateOutboundCallDto``, strictly (unknown keys at any depth, types, closed
    enums), then what the SDK's types cannot say: E.164, the name's length, a server URL.
    """
    errors = strict_errors(sdk_models().create, body, closed_enums=True)
    if not isinstance(body, dict):
        return errors
    customer = body.get("customer")
    if isinstance(customer, dict) and not E164.match(str(customer.get("number"))):
        errors.append(E164_MESSAGE)
    name = body.get("name")
    if isinstance(name, str) and len(name) > 40:
        errors.append("name must be shorter than or equal to 40 characters")
    for where, server in _servers(body):
        url = server.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            errors.append(f"{where}.url must be a URL address")
    return errors


def _servers(body: Json) -> list[tuple[str, Json]]:
    """Every ``server`` block of a create: the overrides', the assistant's, each tool's."""
    found: list[tuple[str, Json]] = []
    for holder in ("assistantOverrides", "assistant"):
        part = body.get(holder)
        if isinstance(part, dict) and isinstance(part.get("server"), dict):
            found.append((f"{holder}.server", part["server"]))
    assistant = body.get("assistant")
    model = assistant.get("model") if isinstance(assistant, dict) else None
    tools = model.get("tools") if isinstance(model, dict) else None
    for index, tool in enumerate(tools if isinstance(tools, list) else []):
        if isinstance(tool, dict) and isinstance(tool.get("server"), dict):
            found.append((f"assistant.model.tools.{index}.server", tool["server"]))
    return found


def check_message(payload: object) -> list[str]:
    """Return what the SDK refuses in a server message the fake built (none: valid).

    The envelope is ``{"message": …}`` (the SDK's ``ServerMessage``); the message is checked
    strictly against the SDK model of its type (:func:`sdk_models`), open enums open.
    """
    if not isinstance(payload, dict) or set(payload) != {"message"}:
        return ["/: a server message is exactly {'message': {…}}"]
    message = payload["message"]
    kind = message.get("type") if isinstance(message, dict) else None
    model = sdk_models().messages.get(str(kind))
    if model is None:
        return [f"/message/type: the fake sends no {kind!r} message"]
    documented = {k: message.pop(k) for k in list(REPORT_EXTRAS) if k in message}
    if documented and kind != "end-of-call-report":
        return [f"/message: {sorted(documented)} belong to the end-of-call report only"]
    wire = message.get("toolCallList")
    if kind == "tool-calls" and isinstance(wire, list):  # the shapes the SDK lacks, as its own
        message["toolCallList"] = [as_canonical(item) for item in wire]
    try:
        errors = strict_errors(model, message)
    finally:
        message.update(documented)
        if kind == "tool-calls" and isinstance(wire, list):
            message["toolCallList"] = wire
    return ["/message" + (error[1:] if error.startswith("/:") else error) for error in errors]


REPORT_EXTRAS = frozenset(
    {"durationSeconds", "durationMs", "summary", "transcript", "recordingUrl"}
)
"""Top-level fields real end-of-call reports carry (``vapi.md``) that SDK 3.0.0's model lacks:
the one place the fake's messages go beyond the SDK, because the wire does."""


def _missing_target(body: Json) -> str | None:
    """Return Vapi's (string) message when the body names no phone number or assistant."""
    if not body.get("phoneNumberId") and not body.get("phoneNumber"):
        return NO_PHONE_NUMBER
    assistants = ("assistant", "assistantId", "squad", "squadId", "workflow", "workflowId")
    if not any(body.get(key) for key in assistants):
        return NO_ASSISTANT
    if not body.get("customer") and not body.get("customerId") and not body.get("customers"):
        return "Couldn't Get Customer. Need Either `customer` Or `customerId`."
    return None


NUMBER_QUERY = frozenset(
    {
        "limit", "createdAtGt", "createdAtLt", "createdAtGe", "createdAtLe", "updatedAtGt",
        "updatedAtLt", "updatedAtGe", "updatedAtLe",
    }
)  # fmt: skip
NUMBER_E164_MESSAGE = (
    "number must be a valid phone number in the E.164 format. "
    "Hot tip, you may be missing the country code (Eg. US: +1)."
)
CREDENTIAL_UUID_MESSAGE = "credentialId must be a UUID"
BAD_CREDENTIAL_MESSAGE = "Couldn't Find Credential. Check that credentialId is correct."
"""The fake's wording for a UUID naming no usable credential (Vapi's own is not recorded)."""
ONLY_TELNYX_MESSAGE = "provider must be telnyx (the fake imports Telnyx numbers only)"
ASSISTANT_REQUEST_DEADLINE = 7.5
"""Seconds Vapi waits for the answer to ``assistant-request``, end to end; not configurable
(``server.timeoutSeconds`` does not apply to it)."""
DEFAULT_CALLER = "+14155550123"


class InboundEnd(StrEnum):
    """How an inbound call ends, by what our answer to ``assistant-request`` did (Vapi's
    ``endedReason`` values; which failure gives which reason is the fake's reading)."""

    FAILED = "assistant-request-failed"  # no answer within 7.5 s, a non-2xx, no connection
    RETURNED_ERROR = "assistant-request-returned-error"  # {"error": text}: spoken, hung up
    UNSPEAKABLE_ERROR = "assistant-request-returned-unspeakable-error"  # a blank error
    INVALID_ASSISTANT = "assistant-request-returned-invalid-assistant"  # not a valid answer
    NO_ASSISTANT = "assistant-request-returned-no-assistant"  # valid, but names no route
    FORWARDED = "assistant-request-returned-forwarding-phone-number"  # {"destination": …}
    CUSTOMER_ENDED = "customer-ended-call"  # an assistant answered; the caller hung up


ANSWER_ROUTES: Mapping[str, tuple[str, ...]] = {
    "error": ("error",),
    "destination": ("destination",),
    "assistant": ("assistant", "assistantId", "assistantOverrides"),
    "squad": ("squad", "squadId", "squadOverrides"),
    "workflow": ("workflow", "workflowId", "workflowOverrides"),
}
"""The routes an answer to ``assistant-request`` may take, by the keys naming each; the fake
accepts exactly one (``telephony-facts.md`` §12), where Vapi itself lets ``error`` win over
``destination`` and ``destination`` over the rest."""
LIVE_ROUTES = frozenset({"assistant", "squad", "workflow"})


@dataclass(frozen=True)
class Verdict:
    """What Vapi does with an answer to ``assistant-request``: the route it takes (None: it
    refused the answer), the ended reason of the call, and the answer's problems."""

    route: str | None
    reason: InboundEnd
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ring:
    """One inbound call the fake rang (:meth:`FakeVapi.ring`).

    ``http_status`` and ``answer`` are how our side answered the ``assistant-request``
    (``http_status`` None: no answer within the deadline, or no connection; ``answer`` the
    decoded JSON, else the text); ``route``, ``ended_reason`` and ``problems`` are what Vapi
    made of it (:func:`judge_answer`); ``repeats`` the (status, answer) of each duplicate.
    """

    call_id: str
    url: str
    headers: Mapping[str, str]
    payload: Json
    http_status: int | None
    answer: Any
    route: str | None
    ended_reason: str
    problems: tuple[str, ...]
    elapsed: float
    repeats: tuple[tuple[int | None, Any], ...] = ()


@dataclass
class NumberRequest:
    """One request to ``/phone-number`` (``body``: decoded JSON, else the raw text, None when
    empty) and the status it was answered with (None while it is being answered)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int | None = None


def validate_import(body: object) -> list[str]:
    """Return the messages Vapi would answer 400 with for a ``POST /phone-number`` body.

    The SDK's ``CreatePhoneNumbersRequest`` strictly (an unknown key at any depth is
    "property … should not exist"), then what its types cannot say: the fake imports Telnyx
    numbers only, ``number`` is E.164, ``credentialId`` a UUID, ``name`` at most 40
    characters, ``server.url`` a URL and ``server.timeoutSeconds`` within 1–300.
    """
    errors = strict_errors(sdk_models().number_create, body, closed_enums=True)
    if not isinstance(body, dict):
        return errors or ["a phone number must be an object"]
    if body.get("provider") != "telnyx":
        errors.append(ONLY_TELNYX_MESSAGE)
    if not E164.match(str(body.get("number"))):
        errors.append(NUMBER_E164_MESSAGE)
    if not _is_uuid(body.get("credentialId")):
        errors.append(CREDENTIAL_UUID_MESSAGE)
    name = body.get("name")
    if isinstance(name, str) and len(name) > 40:
        errors.append("name must be shorter than or equal to 40 characters")
    server = body.get("server")
    return errors + (_server_problems("server", server) if isinstance(server, dict) else [])


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _server_problems(where: str, server: Json) -> list[str]:
    """Return what Vapi refuses in a ``server`` block: a URL that is not one, a timeout
    outside 1–300 seconds."""
    problems: list[str] = []
    url = server.get("url")
    if url is not None and not str(url).startswith(("http://", "https://")):
        problems.append(f"{where}.url must be a URL address")
    timeout = server.get("timeoutSeconds")
    if isinstance(timeout, int | float) and not 1 <= timeout <= 300:
        problems.append(f"{where}.timeoutSeconds must be between 1 and 300")
    return problems


def judge_answer(status: int | None, answer: object) -> Verdict:
    """Decide what Vapi does with our answer to ``assistant-request`` (``telephony-facts.md``
    §6.3, §12).

    No answer in time, a non-2xx or no connection: the request failed. A body that is not an
    object, that the SDK's ``ServerMessageResponseAssistantRequest`` refuses strictly (an
    unknown top-level key among them), with a non-E.164 destination or a bad server URL, or
    naming two routes: an invalid assistant. A valid body naming no route (``{}``, or only
    ``assistantOverrides``): no assistant. Otherwise the one route it names.
    """
    if status is None:
        return Verdict(None, InboundEnd.FAILED, ("no answer within the deadline",))
    if not 200 <= status < 300:
        return Verdict(None, InboundEnd.FAILED, (f"answered HTTP {status}",))
    if not isinstance(answer, dict):
        return Verdict(None, InboundEnd.INVALID_ASSISTANT, ("the answer is not a JSON object",))
    if problems := answer_problems_of(answer):
        return Verdict(None, InboundEnd.INVALID_ASSISTANT, tuple(problems))
    named = [r for r, keys in ANSWER_ROUTES.items() if any(answer.get(k) is not None for k in keys)]
    if len(named) > 1:
        return Verdict(None, InboundEnd.INVALID_ASSISTANT, (f"names {named}: exactly one route",))
    if not named:
        return Verdict(None, InboundEnd.NO_ASSISTANT, ("names no assistant, destination or error",))
    return _route_verdict(named[0], answer)


def answer_problems_of(answer: Json) -> list[str]:
    """Return what Vapi refuses in an answer to ``assistant-request`` (none: valid)."""
    problems = strict_errors(sdk_models().assistant_answer, answer, closed_enums=True)
    destination = answer.get("destination")
    if isinstance(destination, dict) and destination.get("type") == "number":
        checked = destination.get("numberE164CheckEnabled", True) is not False
        if checked and not E164.match(str(destination.get("number"))):
            problems.append("destination.number must be a valid phone number in the E.164 format")
    for where, server in _servers(answer):
        problems += _server_problems(where, server)
    return problems


def _route_verdict(route: str, answer: Json) -> Verdict:
    """Return the verdict on a valid answer naming exactly one route."""
    if route == "error":
        spoken = str(answer["error"]).strip()
        return Verdict(route, InboundEnd.RETURNED_ERROR if spoken else InboundEnd.UNSPEAKABLE_ERROR)
    if route == "destination":
        return Verdict(route, InboundEnd.FORWARDED)
    given = [key for key in ANSWER_ROUTES[route][:2] if answer.get(key) is not None]
    if len(given) > 1:
        return Verdict(None, InboundEnd.INVALID_ASSISTANT, (f"names both {given}",))
    if not given:
        return Verdict(None, InboundEnd.NO_ASSISTANT, (f"{route} overrides without a {route}",))
    return Verdict(route, InboundEnd.CUSTOMER_ENDED)


def _list_query(
    query: Mapping[str, str], allowed: frozenset[str]
) -> tuple[list[str], int, dict[str, datetime | None]]:
    """Read a list query as Vapi does: its problems, the ``limit`` (1–1000, default 100) and
    the ``createdAt`` bounds."""
    errors = _unknown(query, allowed, "")
    limit = query.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        errors.append("limit must not be greater than 1000")
    bounds = {key: _parse_iso(value) for key, value in query.items() if key[:9] == "createdAt"}
    errors += [
        f"{key} must be a valid ISO 8601 date string" for key, v in bounds.items() if v is None
    ]
    return errors, int(limit) if not errors else 0, bounds


def _line_shape(number: Json) -> Json:
    """Return an imported number as server messages carry it: the create DTO, with no id."""
    keys = ("provider", "number", "credentialId", "name", "server", "fallbackDestination",
            "hooks", "assistantId", "squadId", "workflowId")  # fmt: skip
    return {key: copy.deepcopy(number[key]) for key in keys if key in number}


def _decoded(text: str) -> Any:
    """Return the text as JSON when it is JSON, else the text itself (None when empty)."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class FakeVapi:
    """The fake's state and knobs (set the public attributes before or during a test).

    Knobs: ``outcomes`` (ended reason by full number), ``default_outcome`` (for every
    number, else the last-4 table), ``message_order``, ``duplicate`` (each message twice),
    ``send_in_progress``, ``webhook_delay`` (seconds before the first message),
    ``deliver_before_response`` (send all messages before answering the create),
    ``retry_after`` (the 429 header, None to omit), ``call_duration`` and ``cost`` (what
    the reports say), ``concurrency_limit``, ``hang_seconds`` (the longest a hanging
    create waits; stopping the fake releases it), ``now`` (the fake's clock),
    ``org_server_url`` (the organization-level server URL: messages of a call whose create
    names no server URL go there, with the organization's secret in ``x-vapi-secret``),
    ``send_org_secret`` (send ``x-vapi-secret: <webhook_secret>`` instead of the create's
    ``server.headers``), ``line_numbers`` (E.164 number by ``phoneNumberId``, for the
    messages' ``phoneNumber``), ``argument_shape`` (how tool calls carry their arguments;
    None: the next of the three in turn, so successive tests rotate through them),
    ``send_tool_calls`` (False: the person acts but the model calls no tool, so the act shows
    only in the end-of-call report's transcript), ``hold_calls`` (answered calls stay in
    progress until :meth:`FakeVapi.end_call`; :attr:`FakeVapi.held` lists them).
    Phone numbers and inbound calls: ``bad_credential_ids`` (UUIDs refused with a 400),
    ``activation_delay`` (seconds on ``now`` before an ``activating`` number reads ``active``;
    None: from the first read after the create), ``blocked_numbers`` (E.164 numbers that turn
    ``blocked`` instead), ``assistant_request_deadline`` (7.5 s; shorten it in tests).
    Records: ``calls`` (created calls, kept current), ``create_bodies`` (every create
    body received), ``rejections``, ``deliveries``, ``tool_exchanges`` (every ``tool-calls``
    message and how it was answered), ``faults`` (messages or calls the fake built that the
    SDK refuses: a bug of the fake; :func:`start_fake_vapi` raises them, and the problems of
    any answer to the person's own tool calls), ``phone_numbers`` (imported, kept current),
    ``number_requests`` (every ``/phone-number`` request and its status), ``inbound_calls``
    and ``rings`` (every :meth:`ring` and what became of it).
    """

    def __init__(self, api_key: str, webhook_secret: str, org_id: str | None = None) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.org_id = org_id or str(uuid.uuid4())
        self.outcomes: dict[str, str] = {}
        self.default_outcome: str | None = None
        self.message_order = MessageOrder.STATUS_FIRST
        self.duplicate = False
        self.send_in_progress = True
        self.webhook_delay = 0.0
        self.deliver_before_response = False
        self.retry_after: str | None = "7"
        self.call_duration = 12.0
        self.cost = 0.07
        self.concurrency_limit = 10
        self.hang_seconds = 60.0
        self.late_seconds = 0.5
        self._late: list[asyncio.Task[None]] = []
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.org_server_url: str | None = None
        self.send_org_secret = False
        self.line_numbers: dict[str, str] = {}
        self.argument_shape: ArgumentShape | None = None
        self.send_tool_calls = True
        self.hold_calls = False
        self._holds: dict[str, asyncio.Event] = {}
        self._snoozed: set[str] = set()
        self.tool_exchanges: list[ToolExchange] = []
        self.faults: list[str] = []
        self.calls: list[Json] = []
        self.create_bodies: list[Json] = []
        self.rejections: list[Rejection] = []
        self.deliveries: list[Delivery] = []
        self.base_url = ""
        self._failures: deque[Failure] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._released = asyncio.Event()
        self._delivered = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._init_numbers()  # phone numbers' and inbound calls' own: this one is long enough

    def _init_numbers(self) -> None:
        """Set the knobs and records of phone numbers and inbound calls (the class docstring)."""
        self.phone_numbers: list[Json] = []
        self.number_requests: list[NumberRequest] = []
        self.bad_credential_ids: set[str] = set()
        self.activation_delay: float | None = None
        self.blocked_numbers: set[str] = set()
        self.assistant_request_deadline = ASSISTANT_REQUEST_DEADLINE
        self.inbound_calls: list[Json] = []
        self.rings: list[Ring] = []
        self._number_failures: deque[Failure] = deque()
        self._inbound_lines: dict[str, Json] = {}  # call id → the phoneNumber its messages carry

    # ------------------------------------------------------------------ knobs and queries
    def fail_next(self, failure: Failure, times: int = 1) -> None:
        """Answer the next ``times`` valid creates with ``failure`` (queued in order)."""
        self._failures.extend([failure] * times)

    def fail_next_import(self, failure: Failure, times: int = 1) -> None:
        """Answer the next ``times`` valid ``POST /phone-number`` with ``failure`` (in order):
        ``PLACED_THEN_500``, ``HANG_PLACED`` and ``LATE_AFTER_500`` import the number anyway."""
        self._number_failures.extend([failure] * times)

    def phone_number(self, phone_number_id: str) -> Json | None:
        """Return the imported number with this id (its current state), or None."""
        return next((n for n in self.phone_numbers if n["id"] == phone_number_id), None)

    def block(self, phone_number_id: str) -> None:
        """Make an imported number ``blocked`` (as Vapi does with a number it will not serve)."""
        number = self.phone_number(phone_number_id)
        if number is None:
            raise KeyError(phone_number_id)
        number.update(status="blocked", updatedAt=_iso(self.now()))

    def set_outcome(self, number: str, reason: str) -> None:
        """Report calls to ``number`` as ended for ``reason``."""
        self.outcomes[number] = reason

    def outcome_for(self, number: str) -> str:
        """Return the ended reason a call to ``number`` will report."""
        return self.outcomes.get(number) or self.default_outcome or simulated_reason(number)

    def call(self, call_id: str) -> Json | None:
        """Return the call with this id, created or inbound (its current state), or None."""
        calls = [*self.calls, *self.inbound_calls]
        return next((call for call in calls if call["id"] == call_id), None)

    async def wait_for_deliveries(self, count: int, within: float = 5.0) -> list[Delivery]:
        """Wait until at least ``count`` messages were delivered; return them all."""
        async with asyncio.timeout(within), self._delivered:
            await self._delivered.wait_for(lambda: len(self.deliveries) >= count)
        return list(self.deliveries)

    async def settle(self) -> None:
        """Wait until every call in progress has sent all its messages."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def held(self) -> list[str]:
        """The ids of the calls in progress that ``hold_calls`` keeps in the air."""
        return [call_id for call_id, ended in self._holds.items() if not ended.is_set()]

    def end_call(self, call_id: str) -> None:
        """Let a held call end (as the person hanging up would)."""
        self._holds.setdefault(call_id, asyncio.Event()).set()

    def check(self) -> None:
        """Raise ``AssertionError`` if the fake built anything the SDK refuses (its bug), or
        if our side answered the person's tool calls in a way Vapi refuses."""
        if self.faults:
            raise AssertionError(
                "fake Vapi built what Vapi's SDK refuses:\n" + "\n".join(self.faults)
            )
        refused = [e for e in self.tool_exchanges if e.automatic and e.problems]
        if refused:
            raise AssertionError(
                "Vapi refuses our answers to tool calls:\n"
                + "\n".join(f"{e.requests[0].name}: {e.problems}" for e in refused)
            )

    def _audit(self, what: str, errors: list[str]) -> None:
        """Record and raise the SDK's objections to something the fake built."""
        if errors:
            self.faults.append(f"{what}: " + "; ".join(errors))
            raise AssertionError(self.faults[-1])

    # ------------------------------------------------------------------ lifetime
    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port); set :attr:`base_url`."""
        sdk_models()  # imported before serving: a first request must not wait the ~10 s it takes
        app = web.Application()
        app.router.add_post("/call", self._create)
        app.router.add_post("/call/phone", self._create)
        app.router.add_get("/call", self._list)
        app.router.add_get("/call/{call_id}", self._get)
        app.router.add_post("/phone-number", self._phone_numbers)
        app.router.add_get("/phone-number", self._phone_numbers)
        app.router.add_get("/phone-number/{number_id}", self._phone_numbers)
        app.router.add_delete("/phone-number/{number_id}", self._phone_numbers)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))

    async def stop(self) -> None:
        """Release hanging requests, stop the calls in progress, close everything."""
        self._released.set()
        for ended in self._holds.values():
            ended.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ handlers
    def _authorize(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        message = "Invalid Key. Hot tip, make sure you're using the private key."
        return self._refuse(request, 401, message)

    def _refuse(self, request: web.Request, status: int, message: str | list[str]) -> web.Response:
        self.rejections.append(Rejection(request.method, request.path, status, message))
        return _error(status, message)

    async def _create(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            return self._refuse(request, 400, "Unexpected token in JSON body")
        self.create_bodies.append(body)
        if errors := validate_create(body):
            return self._refuse(request, 400, errors)
        if (missing := _missing_target(body)) is not None:
            return self._refuse(request, 400, missing)
        return await self._answer_create(body)

    async def _answer_create(self, body: Json) -> web.Response:
        failure = self._failures.popleft() if self._failures else None
        return await self._answer_with(
            failure,
            lambda: self._place(body),
            lambda call: web.json_response(
                {**call, "subscriptionLimits": self._limits()}, status=201
            ),
        )

    async def _answer_with(
        self,
        failure: Failure | None,
        make: Callable[[], Awaitable[Json]],
        created: Callable[[Json], web.Response],
    ) -> web.Response:
        """Answer a create as ``failure`` says (None: normally): ``make`` creates the
        resource, ``created`` renders it as the 201."""
        if failure is Failure.THROTTLE_429:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            body_429 = {"message": "Too Many Requests", "statusCode": 429}
            return web.json_response(body_429, status=429, headers=headers)
        if failure is Failure.ERROR_500:
            return _error(500, "Internal server error")
        if failure is Failure.LATE_AFTER_500:
            self._late.append(asyncio.create_task(self._make_late(make)))
            return _error(500, "Internal server error")
        made = None if failure is Failure.HANG else await make()
        if failure in (Failure.HANG, Failure.HANG_PLACED):
            await self._hang()
        if made is None or failure is Failure.PLACED_THEN_500:
            return _error(500, "Internal server error")
        return created(made)

    async def _make_late(self, make: Callable[[], Awaitable[Json]]) -> None:
        await asyncio.sleep(self.late_seconds)
        await make()

    async def _hang(self) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), self.hang_seconds)

    def _limits(self) -> Json:
        active = sum(1 for call in self.calls if call["status"] != "ended")
        remaining = max(0, self.concurrency_limit - active)
        return {
            "concurrencyBlocked": remaining == 0,
            "concurrencyLimit": self.concurrency_limit,
            "remainingConcurrentCalls": remaining,
        }

    async def _get(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        call = self.call(request.match_info["call_id"])
        if call is None:
            return self._refuse(request, 404, "Call not found")
        return web.json_response(call)

    async def _list(self, request: web.Request) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        query = request.query
        errors, limit, bounds = _list_query(query, LIST_QUERY)
        if errors:
            return self._refuse(request, 400, errors)
        calls = [*self.calls, *self.inbound_calls]
        found = [call for call in calls if _listed(call, query, bounds)]
        found.sort(key=lambda call: call["createdAt"], reverse=True)
        return web.json_response(found[:limit])

    # ------------------------------------------------------------------ phone numbers
    async def _phone_numbers(self, request: web.Request) -> web.Response:
        """Serve ``/phone-number`` and ``/phone-number/{id}``, recording every request (as
        it arrives) and the status it was answered with."""
        raw = await request.text()
        record = NumberRequest(request.method, request.path, dict(request.query), _decoded(raw))
        self.number_requests.append(record)
        response = await self._phone_number_answer(request, raw)
        record.status = response.status
        return response

    async def _phone_number_answer(self, request: web.Request, raw: str) -> web.Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        if request.method == "POST":
            return await self._import(request, raw)
        number_id = request.match_info.get("number_id")
        if number_id is None:
            return self._list_numbers(request)
        number = self.phone_number(number_id)
        if number is None:
            return self._refuse(request, 404, "Phone number not found")
        if request.method == "DELETE":
            self.phone_numbers.remove(number)
            return web.json_response(number)
        self._refresh(number)
        return web.json_response(number)

    async def _import(self, request: web.Request, raw: str) -> web.Response:
        """``POST /phone-number``: validate strictly, then import (201, ``activating``)."""
        try:
            body = json.loads(raw)
        except ValueError:
            return self._refuse(request, 400, "Unexpected token in JSON body")
        if errors := validate_import(body):
            return self._refuse(request, 400, errors)
        if body["credentialId"] in self.bad_credential_ids:
            return self._refuse(request, 400, BAD_CREDENTIAL_MESSAGE)
        failure = self._number_failures.popleft() if self._number_failures else None
        return await self._answer_with(
            failure, lambda: self._add_number(body), lambda n: web.json_response(n, status=201)
        )

    async def _add_number(self, body: Json) -> Json:
        """Import the number: a new id each time (Vapi has no idempotency); return it."""
        now = _iso(self.now())
        number: Json = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "provider": "telnyx",
            "number": body["number"],
            "credentialId": body["credentialId"],
            "status": "activating",
            "createdAt": now,
            "updatedAt": now,
        }
        number.update(
            {k: copy.deepcopy(v) for k, v in _line_shape(body).items() if k not in number}
        )
        self._audit("phone number", strict_errors(sdk_models().number, number))
        self.phone_numbers.append(number)
        return copy.deepcopy(number)

    def _refresh(self, number: Json) -> None:
        """Let an ``activating`` number become ``active`` (``blocked`` when its number is in
        ``blocked_numbers``) as it is read: once ``activation_delay`` seconds passed on the
        fake's clock, or at once (the first read after the create) when that is None."""
        if number["status"] != "activating":
            return
        if self.activation_delay is not None:
            created = _parse_iso(number["createdAt"])
            age = (self.now() - created).total_seconds() if created else 0.0
            if age < self.activation_delay:
                return
        status = "blocked" if number["number"] in self.blocked_numbers else "active"
        number.update(status=status, updatedAt=_iso(self.now()))

    def _list_numbers(self, request: web.Request) -> web.Response:
        """``GET /phone-number``: a plain array, newest first, at most ``limit`` (default 100)."""
        errors, limit, bounds = _list_query(request.query, NUMBER_QUERY)
        if errors:
            return self._refuse(request, 400, errors)
        found = [n for n in self.phone_numbers if _listed(n, request.query, bounds)]
        for number in found:
            self._refresh(number)
        found.sort(key=lambda number: number["createdAt"], reverse=True)
        return web.json_response(found[:limit])

    # ------------------------------------------------------------------ calls
    async def _place(self, body: Json) -> Json:
        """Create the call and start reporting it; return it as created."""
        now = _iso(self.now())
        call: Json = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "type": "outboundPhoneCall",
            "status": "queued",
            "createdAt": now,
            "updatedAt": now,
            "customer": body.get("customer"),
            "phoneNumberId": body.get("phoneNumberId"),
            "assistantOverrides": body.get("assistantOverrides", {}),
            "phoneCallProvider": "twilio",
            "phoneCallProviderId": "CA" + uuid.uuid4().hex,
            "phoneCallTransport": "pstn",
        }
        for key in ("name", "assistant", "assistantId"):
            if key in body:
                call[key] = copy.deepcopy(body[key])
        self._audit("call", strict_errors(sdk_models().call, call))
        self.calls.append(call)
        created = copy.deepcopy(call)
        if self.deliver_before_response:
            await self._run(call)
        else:
            self._spawn(self._run(call))
        return created

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (a call in progress) as a task :meth:`settle` waits for."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, call: Json) -> None:
        """Ring, answer, let the person act, and end the call, sending the server messages
        as Vapi would."""
        await asyncio.sleep(self.webhook_delay)
        target = self._target(call)
        reason = self.outcome_for(call["customer"]["number"])
        refused = reason.startswith("call.start.error")
        turns: list[Json] = []
        if not refused:
            self._update(call, startedAt=_iso(self.now()), status="in-progress")
            if self.send_in_progress:
                await self._send(target, self._status_update(call, "in-progress"))
            if reason == "voicemail":
                turns.append(self._turn(call, "bot", self._voicemail_message(call)))
            elif reason not in UNANSWERED:
                turns.append(self._turn(call, "bot", self._first_message(call)))
                turns += await self._person_acts(call, turns)
            if self.hold_calls:
                await self._hold(call["id"])
        snapshot = copy.deepcopy(call)  # messages carry the call as it was, like Vapi's do
        self._end(call, reason, refused)
        for payload in self._end_messages(snapshot, call, turns):
            await self._send(target, payload)

    async def _hold(self, call_id: str) -> None:
        ended = self._holds.setdefault(call_id, asyncio.Event())
        waits = [asyncio.ensure_future(ended.wait()), asyncio.ensure_future(self._released.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            ended.set()

    # ------------------------------------------------------------------ inbound calls
    async def ring(
        self,
        phone_number_id: str,
        caller: str | None = DEFAULT_CALLER,
        *,
        headers: Mapping[str, str] | None = None,
        duplicate: bool = False,
    ) -> Ring:
        """Ring an imported number from ``caller`` (None: caller ID withheld), as Vapi does.

        POSTs ``assistant-request`` to the number's ``server.url`` with its ``server.headers``
        (``headers`` replace them for this request only: a wrong secret), else to
        ``org_server_url`` with the organization's secret; waits at most
        ``assistant_request_deadline`` (7.5 s) and judges the answer (:func:`judge_answer`).
        ``duplicate`` sends the same request (same call id) twice at once; the first answer
        counts. Returns at once; the call then goes on in the background (:meth:`settle`):
        the answer applied, ``status-update`` and ``end-of-call-report`` carrying ``call.id``
        (and metadata only where the answer put some). Raises ``KeyError`` for an unknown id.
        """
        number = self.phone_number(phone_number_id)
        if number is None:
            raise KeyError(phone_number_id)
        call = self._inbound_call(number, caller)
        payload = self._envelope("assistant-request", call)
        url, sent = self._inbound_server(number, headers)
        asks = [self._ask(url, payload, sent) for _ in range(2 if duplicate else 1)]
        (status, answer, elapsed), *repeats = await asyncio.gather(*asks)
        verdict = self._verdict(number, status, answer)
        ring = Ring(
            call["id"], url, sent, payload, status, answer, verdict.route, verdict.reason,
            verdict.problems, elapsed, tuple((r[0], r[1]) for r in repeats),
        )  # fmt: skip
        self.rings.append(ring)
        self._spawn(self._run_inbound(call, number, verdict, answer))
        return ring

    def _inbound_call(self, number: Json, caller: str | None) -> Json:
        """Create an inbound call (``ringing``), findable by ``GET /call/{id}`` at once."""
        now = _iso(self.now())
        call: Json = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "type": "inboundPhoneCall",
            "status": "ringing",
            "createdAt": now,
            "updatedAt": now,
            "phoneNumberId": number["id"],
            "phoneCallProvider": "telnyx",
            "phoneCallProviderId": "v3:" + uuid.uuid4().hex,  # Telnyx's call_control_id
            "phoneCallTransport": "pstn",
        }
        if caller is not None:
            call["customer"] = {"number": caller}
        self._audit("inbound call", strict_errors(sdk_models().call, call))
        self.inbound_calls.append(call)
        self._inbound_lines[call["id"]] = _line_shape(number)
        return call

    def _inbound_server(
        self, number: Json, headers: Mapping[str, str] | None
    ) -> tuple[str, dict[str, str]]:
        """Return where ``assistant-request`` goes (the number's server, else the
        organization's) and with which headers."""
        server = number.get("server") or {}
        if server.get("url"):
            url, sent = str(server["url"]), dict(server.get("headers") or {})
        else:
            url, sent = self.org_server_url or "", {SECRET_HEADER: self.webhook_secret}
        chosen = sent if headers is None else headers
        return url, {str(k): str(v) for k, v in chosen.items()}

    async def _ask(
        self, url: str, payload: Json, headers: Mapping[str, str]
    ) -> tuple[int | None, Any, float]:
        """POST ``assistant-request``; return the status (None: no answer within the
        deadline, or no connection), the decoded answer and the seconds it took."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        if not url or self._client is None:
            return None, None, 0.0
        timeout = aiohttp.ClientTimeout(total=self.assistant_request_deadline)
        try:
            post = self._client.post(url, json=payload, headers=dict(headers), timeout=timeout)
            async with post as response:
                status, text = response.status, await response.text()
        except (TimeoutError, aiohttp.ClientError):
            return None, None, loop.time() - started
        return status, _decoded(text), loop.time() - started

    def _verdict(self, number: Json, status: int | None, answer: Any) -> Verdict:
        """Judge the answer; a refused one goes to the number's ``fallbackDestination`` when
        it has one (the ended reason still says why the request failed: the fake's reading)."""
        verdict = judge_answer(status, answer)
        if verdict.route is None and number.get("fallbackDestination"):
            refused = {InboundEnd.FAILED, InboundEnd.INVALID_ASSISTANT, InboundEnd.NO_ASSISTANT}
            if verdict.reason in refused:
                return Verdict("fallback", verdict.reason, verdict.problems)
        return verdict

    async def _run_inbound(self, call: Json, number: Json, verdict: Verdict, answer: Any) -> None:
        """Apply the answer, then end the call, sending the server messages as Vapi would: an
        assistant talks (``in-progress``), a destination forwards (``forwarding``), anything
        else ends the call at once."""
        self._apply_answer(call, number, verdict, answer)
        target = self._target(call, number.get("server"))
        turns: list[Json] = []
        live = verdict.route in LIVE_ROUTES
        if live:
            self._update(call, startedAt=_iso(self.now()), status="in-progress")
            if self.send_in_progress:
                await self._send(target, self._status_update(call, "in-progress"))
            if first := self._first_message(call):
                turns.append(self._turn(call, "bot", first))
            if self.hold_calls:
                await self._hold(call["id"])
        elif "destination" in call:
            self._update(call, status="forwarding")
            forwarding = self._status_update(call, "forwarding", destination=call["destination"])
            await self._send(target, forwarding)
        snapshot = copy.deepcopy(call)
        self._end(call, verdict.reason, refused=not live)
        for payload in self._end_messages(snapshot, call, turns):
            await self._send(target, payload)

    def _apply_answer(self, call: Json, number: Json, verdict: Verdict, answer: Any) -> None:
        """Put on the call what the answer chose: the assistant (and its overrides, with any
        metadata), the squad or workflow, or the destination; nothing for an error."""
        if verdict.route in LIVE_ROUTES:
            for key in ANSWER_ROUTES[verdict.route]:
                if answer.get(key) is not None:
                    call[key] = copy.deepcopy(answer[key])
        elif verdict.route == "destination":
            call["destination"] = copy.deepcopy(answer["destination"])
        elif verdict.route == "fallback":
            call["destination"] = copy.deepcopy(number["fallbackDestination"])
        self._update(call)

    # ------------------------------------------------------------------ the person, tools
    def _person(self, call: Json) -> Person | None:
        """What the person at the call's number does now: a snooze is pressed once, and the
        call-back it asked for is only listened to (``…0008``: attempt 1 only)."""
        person = person_at(call["customer"]["number"])
        if person is None or person.tool != "snooze_reminder":
            return person
        key = _reminder_key(call)
        if key in self._snoozed:
            self._snoozed.discard(key)
            return None
        return person

    async def _person_acts(self, call: Json, turns: list[Json]) -> list[Json]:
        """The person presses or says their part; the model calls the matching tool (unless
        ``send_tool_calls`` is off) and Vapi speaks our answer. Returns the new turns."""
        person = self._person(call)
        if person is None:
            return []
        said = [self._turn(call, "user", person.turn)]
        if not self.send_tool_calls:
            return said
        exchange = await self._exchange(
            call, [ToolRequest(person.tool)], None, [*turns, *said], automatic=True
        )
        if person.tool == "snooze_reminder" and exchange.ends_call:
            self._snoozed.add(_reminder_key(call))
        spoken = exchange.spoken
        return said + ([self._turn(call, "bot", spoken)] if spoken else [])

    async def post_tool_calls(
        self,
        call_id: str,
        requests: list[ToolRequest],
        *,
        shape: ArgumentShape | None = None,
        said: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ToolExchange:
        """Send one ``tool-calls`` message about a call as Vapi would, and check the answer.

        It goes to the first named tool's ``server.url`` with that tool's ``headers``
        (``headers`` replace them: a wrong secret); a tool the assistant does not declare goes
        where its first function tool goes. ``said`` is the person's last turn (a keypad
        entry ``User's Keypad Entry: 1`` or words; default the tool's word, e.g. "done").
        """
        call = self.call(call_id)
        if call is None:
            raise KeyError(call_id)
        turns = [self._turn(call, "bot", self._first_message(call))]
        if requests:
            words = said if said is not None else WORDS.get(requests[0].name, "please")
            turns.append(self._turn(call, "user", words))
        return await self._exchange(call, requests, shape, turns, headers=headers)

    async def tool_call(self, call_id: str, name: str, **arguments: Any) -> ToolExchange:
        """Send one tool call ``name(**arguments)`` (see :meth:`post_tool_calls`)."""
        return await self.post_tool_calls(call_id, [ToolRequest(name, arguments)])

    async def _exchange(
        self,
        call: Json,
        requests: list[ToolRequest],
        shape: ArgumentShape | None,
        turns: list[Json],
        *,
        headers: Mapping[str, str] | None = None,
        automatic: bool = False,
    ) -> ToolExchange:
        """POST a ``tool-calls`` message to the tool's server and check our answer."""
        assistant = call.get("assistant") or {}
        named = requests[0].name if requests else ""
        tool = declared_tool(assistant, named) or first_function_tool(assistant) or {}
        server = tool.get("server") or {}
        url = str(server.get("url") or "")
        sent = dict(server.get("headers") or {}) if headers is None else dict(headers)
        shape = shape or self.argument_shape or next_shape()
        payload = self._envelope(
            "tool-calls",
            call,
            toolCallList=[item(request, shape) for request in requests],
            toolWithToolCallList=[
                with_tool_call(declared_tool(assistant, r.name), r) for r in requests
            ],
            artifact={"messages": copy.deepcopy(turns)},
            **({"assistant": copy.deepcopy(assistant)} if assistant else {}),
        )
        status, answer = await self._deliver_tool_calls(url, payload, sent, server)
        problems = answer_problems(sdk_models().tool_answer, status, answer, requests)
        exchange = ToolExchange(
            call["id"], url, sent, shape, tuple(requests), payload, status, answer, problems,
            automatic,
        )  # fmt: skip
        self.tool_exchanges.append(exchange)
        return exchange

    async def _deliver_tool_calls(
        self, url: str, payload: Json, headers: Mapping[str, str], server: Json
    ) -> tuple[int | None, Any]:
        """POST the message; Vapi waits ``server.timeoutSeconds`` (default 20), no retry."""
        if not url or self._client is None:
            return None, None
        timeout = aiohttp.ClientTimeout(total=float(server.get("timeoutSeconds") or 20))
        try:
            post = self._client.post(url, json=payload, headers=dict(headers), timeout=timeout)
            async with post as response:
                text = await response.text()
                try:
                    return response.status, json.loads(text)
                except ValueError:
                    return response.status, text
        except (TimeoutError, aiohttp.ClientError):
            return None, None

    def _first_message(self, call: Json) -> str:
        overrides = call.get("assistantOverrides") or {}
        assistant = call.get("assistant") or {}
        return str(overrides.get("firstMessage") or assistant.get("firstMessage") or "")

    def _voicemail_message(self, call: Json) -> str:
        overrides = call.get("assistantOverrides") or {}
        assistant = call.get("assistant") or {}
        return str(overrides.get("voicemailMessage") or assistant.get("voicemailMessage") or "")

    def _turn(self, call: Json, role: str, text: str) -> Json:
        started = _parse_iso(call.get("startedAt") or "") or self.now()
        return turn(role, text, self.now().timestamp() * 1000, started.timestamp() * 1000)

    def _target(self, call: Json, line_server: Json | None = None) -> _Target:
        """Return where the call's messages go, with which headers, and which types.

        As Vapi: the call's ``server`` (``assistantOverrides.server``, else the transient
        ``assistant.server``, else the phone number's: ``line_server``) with exactly its
        ``headers``, else the organization's server URL with the organization's secret; only
        the types ``serverMessages`` lists (the overrides', else the assistant's), when it
        lists any.
        """
        overrides = call.get("assistantOverrides") or {}
        assistant = call.get("assistant") or {}
        server = overrides.get("server") or assistant.get("server") or line_server or {}
        url, headers = server.get("url"), dict(server.get("headers") or {})
        if not url:
            url, headers = self.org_server_url, {SECRET_HEADER: self.webhook_secret}
        if self.send_org_secret:
            headers = {SECRET_HEADER: self.webhook_secret}
        wanted = overrides.get("serverMessages", assistant.get("serverMessages"))
        types = frozenset(wanted) if isinstance(wanted, list) else None
        return _Target(url, {str(k): str(v) for k, v in headers.items()}, types)

    def _update(self, call: Json, **fields: Any) -> None:
        call.update(fields, updatedAt=_iso(self.now()))

    def _end(self, call: Json, reason: str, refused: bool) -> None:
        started = _parse_iso(call.get("startedAt") or "")
        ended = (started + timedelta(seconds=self.call_duration)) if started else self.now()
        cost = 0.0 if refused else self.cost
        self._update(call, status="ended", endedReason=reason, endedAt=_iso(ended), cost=cost)
        self._audit("ended call", strict_errors(sdk_models().call, call))

    def _end_messages(self, snapshot: Json, ended: Json, turns: list[Json]) -> list[Json]:
        status = self._status_update(snapshot, "ended", ended["endedReason"])
        report = self._report(snapshot, ended, turns)
        order = {
            MessageOrder.STATUS_FIRST: [status, report],
            MessageOrder.REPORT_FIRST: [report, status],
            MessageOrder.STATUS_ONLY: [status],
            MessageOrder.REPORT_ONLY: [report],
        }[self.message_order]
        return [payload for payload in order for _ in range(2 if self.duplicate else 1)]

    def _envelope(self, kind: str, call: Json, **fields: Any) -> Json:
        line_id = str(call.get("phoneNumberId"))
        line = self._inbound_lines.get(call["id"]) or {  # an inbound call's: its imported number
            "provider": "twilio",
            "name": line_id,
            "number": self.line_numbers.get(line_id, DEFAULT_LINE_NUMBER),
            "twilioAccountSid": "AC" + uuid.uuid5(uuid.NAMESPACE_URL, self.org_id).hex,
        }
        customer = call.get("customer")  # none on an inbound call whose caller ID is withheld
        message = {
            "timestamp": int(self.now().timestamp() * 1000),
            "type": kind,
            "call": copy.deepcopy(call),
            "phoneNumber": copy.deepcopy(line),
            **({"customer": copy.deepcopy(customer)} if customer is not None else {}),
            **fields,
        }
        payload = {"message": message}
        self._audit(f"{kind} message", check_message(payload))
        return payload

    def _status_update(
        self, call: Json, status: str, reason: str | None = None, **fields: Any
    ) -> Json:
        extra = {"endedReason": reason} if reason is not None else {}
        return self._envelope("status-update", call, status=status, **extra, **fields)

    def _report(self, snapshot: Json, ended: Json, turns: list[Json]) -> Json:
        """Return the end-of-call report as real Vapi sends it.

        What the SDK's model has (``artifact.messages``: the conversation's turns), plus the
        top-level ``durationSeconds``, ``summary``, ``transcript`` and ``recordingUrl`` that
        ``vapi.md`` says real payloads carry (:data:`REPORT_EXTRAS`: the SDK's model lacks
        them; the wire wins).
        """
        speakers = {"bot": "AI", "user": "User"}
        transcript = "\n".join(f"{speakers[t['role']]}: {t['message']}" for t in turns)
        recording = f"https://storage.vapi.ai/{ended['id']}-mono.wav"
        summary = "The assistant delivered the reminder."
        started, finished = _parse_iso(ended.get("startedAt") or ""), _parse_iso(ended["endedAt"])
        duration = (finished - started).total_seconds() if started and finished else None
        extras: Json = {"summary": summary, "transcript": transcript, "recordingUrl": recording}
        if duration is not None:
            extras["durationSeconds"] = duration
        return self._envelope(
            "end-of-call-report",
            snapshot,
            endedReason=ended["endedReason"],
            startedAt=ended.get("startedAt"),
            endedAt=ended["endedAt"],
            cost=ended["cost"],
            artifact={
                "transcript": transcript,
                "messages": copy.deepcopy(turns),
                "recordingUrl": recording,
            },
            analysis={"summary": summary},
            **extras,
        )

    async def _send(self, target: _Target, payload: Json) -> None:
        """POST one server message as the target says; record how it was answered."""
        message = payload["message"]
        if target.types is not None and message["type"] not in target.types:
            return
        if not target.url or self._client is None:
            return
        status: int | None = None
        try:
            post = self._client.post(target.url, json=payload, headers=target.headers)
            async with post as response:
                status = response.status
        except (TimeoutError, aiohttp.ClientError):
            status = None
        delivery = Delivery(
            url=target.url,
            call_id=message["call"]["id"],
            type=message["type"],
            status=message.get("status"),
            payload=payload,
            secret=next(
                (value for key, value in target.headers.items() if key.lower() == SECRET_HEADER),
                None,
            ),
            http_status=status,
            headers=dict(target.headers),
        )
        async with self._delivered:
            self.deliveries.append(delivery)
            self._delivered.notify_all()


UNANSWERED = frozenset(
    {"customer-busy", "customer-did-not-answer", "voicemail", "twilio-failed-to-connect-call"}
)
"""Ended reasons of calls nobody answered: the person at the number does nothing."""


def _reminder_key(call: Json) -> str:
    """Which reminder a call is for (its correlation ids), else its number."""
    for holder in ("assistantOverrides", "assistant"):
        metadata = (call.get(holder) or {}).get("metadata") or {}
        if metadata.get("reminder_id"):
            return f"reminder:{metadata['reminder_id']}"
    return "number:" + str(call["customer"]["number"])


@dataclass(frozen=True)
class _Target:
    """Where a call's server messages go: URL, exact headers, the types sent (None: all)."""

    url: str | None
    headers: Mapping[str, str]
    types: frozenset[str] | None


def _listed(call: Json, query: Mapping[str, str], bounds: Mapping[str, datetime | None]) -> bool:
    """Tell whether ``call`` passes the list filters (ids and createdAt bounds)."""
    for key in ("id", "phoneNumberId", "assistantId"):
        if key in query and call.get(key) != query[key]:
            return False
    created = _parse_iso(call["createdAt"])
    assert created is not None
    tests = {"Gt": created.__gt__, "Ge": created.__ge__, "Lt": created.__lt__, "Le": created.__le__}
    return all(tests[key[-2:]](bound) for key, bound in bounds.items() if bound is not None)


@asynccontextmanager
async def start_fake_vapi(
    api_key: str = "vapi-test-key", webhook_secret: str = "vapi-test-secret", **knobs: Any
) -> AsyncIterator[FakeVapi]:
    """Run a :class:`FakeVapi` for the block; ``knobs`` set its public attributes."""
    fake = FakeVapi(api_key, webhook_secret)
    for name, value in knobs.items():
        if not hasattr(fake, name) or name.startswith("_"):
            raise TypeError(f"FakeVapi has no knob {name!r}")
        setattr(fake, name, value)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    fake.check()  # after a passing block only: never hide the test's own failure
