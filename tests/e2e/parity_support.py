"""REST/gRPC parity: one facade interface over both APIs, results in REST's shape.

The parity scenario is written once against :class:`Facade` with REST's inputs (JSON
payloads, string query parameters). :class:`RestFacade` sends them as they are;
:class:`GrpcFacade` translates them into the dialcues.v1 request messages the way an internal
caller would (a local time → ``TimeInput.local_time``, an instant → ``TimeInput.instant``,
``recurrence_type``/``recurrence_config`` → the ``Recurrence`` oneof, a PATCH → an
``update_mask`` naming the payload's fields, ``status: paused``/``scheduled`` → Pause/Resume)
and converts every response message back into REST's JSON shape:

* ``Timestamp`` → RFC 3339 UTC with ``Z``, in whole seconds for reminders and with
  milliseconds for executions (REST's precisions; a fraction the contract does not allow is
  kept, so that it shows up as a difference instead of being rounded away);
* enums → REST's strings (``REMINDER_STATUS_IN_PROGRESS`` → ``"in_progress"``);
* the ``Recurrence`` oneof → ``recurrence_type`` and ``recurrence_config``;
* the ``CallingWindow`` oneof → REST's hours, ``{"profile"}`` or bypass object, and a
  ``RetryPolicy`` → ``{"max_attempts", "delays"}`` whose delay lists are plain lists (and the
  other way round in requests);
* a ``ReminderFallback`` → REST's ``fallback`` object (its ``variables`` map a plain object),
  and the other way round in requests;
* an unset optional field → ``None`` (REST's ``null``).

Every call yields an :class:`Outcome`: the comparable result (``{"ok": body}`` or
``{"error": {code, message, meta, fields}}``, ``meta`` the details ErrorInfo metadata can hold
and ``fields`` each bad field with its problem and machine-readable reason) and the
transport's status, which legitimately differs (HTTP 400 vs INVALID_ARGUMENT) and is compared
against each facade's own table.

The one intentional renaming between the facades' errors: the gRPC facade reports problems
of REST's ``recurrence_type`` and ``recurrence_config`` as a violation of the request field
``recurrence`` (``common.proto``); :data:`GRPC_FIELD_OF` maps REST's names before comparing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import aiohttp
import grpc
from google.protobuf import message as pb_message
from google.protobuf import timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dialcues_grpc._pb.dialcues.v1 import (
    common_pb2,
    executions_pb2,
    executions_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    messages_pb2,
    policy_pb2,
    reminders_pb2,
    reminders_pb2_grpc,
)

BASE: Final = "/api/public/v1"
UNKNOWN_ENUM: Final = 99
"""The enum number a REST value with no gRPC counterpart becomes (a newer client's value)."""

GRPC_FIELD_OF: Final = {"recurrence_type": "recurrence", "recurrence_config": "recurrence"}
"""REST field names the gRPC facade reports under another request field (common.proto)."""

Json = dict[str, Any]
_DEFAULT: Any = object()


# ----------------------------------------------------------------------------- outcomes
@dataclass
class Outcome:
    """One call's result in REST's shape, and the transport status it came with."""

    value: Json
    status: int | str
    reply: Any = None
    """The response message of a successful gRPC call (for its page token)."""
    field_names: list[str] = field(default_factory=list)
    """A validation error's bad fields as the facade itself names them (no mapping)."""

    @property
    def ok(self) -> Any:
        """Return the body of a successful call (fails on an error)."""
        assert "ok" in self.value, f"expected success, got {self.value}"
        return self.value["ok"]

    @property
    def code(self) -> str | None:
        """Return the error code, or None for a success."""
        error = self.value.get("error")
        return None if error is None else str(error["code"])


def _error_value(code: str, message: str, meta: Mapping[str, str], fields: list[Any]) -> Json:
    return {"error": {"code": code, "message": message, "meta": dict(meta), "fields": fields}}


# ----------------------------------------------------------------------------- the interface
class Facade:
    """The calls of the parity scenario, with REST's inputs and REST-shaped outcomes."""

    name: str

    def with_auth(self, authorization: str | None) -> Facade:
        """Return the same facade sending this raw authorization value (None: nothing)."""
        raise NotImplementedError

    def with_key(self, key: str) -> Facade:
        """Return the same facade acting with ``key``."""
        return self.with_auth(f"Bearer {key}")

    async def me(self) -> Outcome:
        """``GET /me`` / ``WhoAmI``."""
        raise NotImplementedError

    async def lines(self) -> Outcome:
        """``GET /lines`` / ``ListLines``."""
        raise NotImplementedError

    async def create(self, payload: Json) -> Outcome:
        """``POST /reminders`` / ``CreateReminder``."""
        raise NotImplementedError

    async def get(self, reminder_id: int) -> Outcome:
        """``GET /reminders/:id`` / ``GetReminder``."""
        raise NotImplementedError

    async def list(self, params: Mapping[str, str]) -> Outcome:
        """``GET /reminders?…`` / ``ListReminders`` with page numbers."""
        raise NotImplementedError

    async def walk(self, params: Mapping[str, str]) -> Outcome:
        """Every page of a reminder listing: REST by page numbers, gRPC by page tokens."""
        raise NotImplementedError

    async def update(self, reminder_id: int, payload: Json) -> Outcome:
        """``PATCH /reminders/:id`` / ``UpdateReminder`` with a field mask."""
        raise NotImplementedError

    async def pause(self, reminder_id: int) -> Outcome:
        """``PATCH {"status": "paused"}`` / ``PauseReminder``."""
        raise NotImplementedError

    async def resume(self, reminder_id: int, scheduled_at: str | None = None) -> Outcome:
        """``PATCH {"status": "scheduled"[, "scheduled_at"]}`` / ``ResumeReminder``."""
        raise NotImplementedError

    async def delete(self, reminder_id: int) -> Outcome:
        """``DELETE /reminders/:id`` / ``DeleteReminder`` (``{"ok": None}`` on success)."""
        raise NotImplementedError

    async def executions(self, params: Mapping[str, str]) -> Outcome:
        """``GET /executions?…`` / ``ListExecutions`` with page numbers."""
        raise NotImplementedError

    async def walk_executions(self, params: Mapping[str, str]) -> Outcome:
        """Every page of an execution listing (REST: numbers, gRPC: tokens)."""
        raise NotImplementedError

    async def execution(self, execution_id: int) -> Outcome:
        """``GET /executions/:id`` / ``GetExecution``."""
        raise NotImplementedError

    async def occurrences(self, reminder_id: int, params: Mapping[str, str]) -> Outcome:
        """``GET /reminders/:id/occurrences?count=N`` / ``ListOccurrences``."""
        raise NotImplementedError


async def _walk(fetch: Callable[[Any], Awaitable[tuple[Outcome, Any]]], first: Any) -> Outcome:
    """Fetch pages until ``fetch`` says there is none left; return them concatenated."""
    items: list[Any] = []
    totals: set[int] = set()
    cursor, pages = first, 0
    while True:
        outcome, cursor = await fetch(cursor)
        if outcome.code is not None:
            return outcome
        pages += 1
        items.extend(outcome.ok["items"])
        totals.add(outcome.ok["total"])
        if cursor is None or pages > 100:
            break
    body = {"items": items, "pages": pages, "totals": sorted(totals)}
    return Outcome({"ok": body}, outcome.status)


# ----------------------------------------------------------------------------- REST
class RestFacade(Facade):
    """The scenario's calls over HTTP, as any REST client makes them."""

    name = "rest"

    def __init__(self, session: aiohttp.ClientSession, root: str, authorization: str | None):
        self.session = session
        self.root = root
        self.authorization = authorization

    def with_auth(self, authorization: str | None) -> RestFacade:
        return RestFacade(self.session, self.root, authorization)

    async def _call(
        self, method: str, path: str, body: Any = _DEFAULT, params: Any = None
    ) -> Outcome:
        headers = {} if self.authorization is None else {"Authorization": self.authorization}
        extra = {} if body is _DEFAULT else {"json": body}
        url = f"{self.root}{BASE}{path}"
        async with self.session.request(
            method, url, params=params, headers=headers, **extra
        ) as reply:
            text = await reply.text()
            decoded = await reply.json(content_type=None) if text else None
            status = reply.status
        if status >= 400:
            assert decoded is not None, f"{method} {path}: {status} without a body"
            error = decoded["error"]
            details = dict(error["details"] or {})
            bad = details.pop("fields", None)
            reasons = details.pop("reasons", None) or {}
            fields = _fields(
                [(GRPC_FIELD_OF.get(k, k), v, reasons.get(k, "")) for k, v in (bad or {}).items()]
            )
            meta = {k: str(v) for k, v in details.items() if _scalar(v)}
            meta.update(  # a list of names (window_zones) travels comma-joined
                {
                    k: ",".join(v)
                    for k, v in details.items()
                    if isinstance(v, list) and all(isinstance(i, str) for i in v)
                }
            )
            value = _error_value(error["code"], error["message"], meta, fields)
            return Outcome(value, status, field_names=sorted(bad or {}))
        return Outcome({"ok": decoded}, status)

    async def me(self) -> Outcome:
        return await self._call("GET", "/me")

    async def lines(self) -> Outcome:
        return await self._call("GET", "/lines")

    async def create(self, payload: Json) -> Outcome:
        return await self._call("POST", "/reminders", payload)

    async def get(self, reminder_id: int) -> Outcome:
        return await self._call("GET", f"/reminders/{reminder_id}")

    async def list(self, params: Mapping[str, str]) -> Outcome:
        return await self._call("GET", "/reminders", params=dict(params))

    async def walk(self, params: Mapping[str, str]) -> Outcome:
        return await self._walk_numbers("/reminders", params)

    async def _walk_numbers(self, path: str, params: Mapping[str, str]) -> Outcome:
        async def fetch(page: int) -> tuple[Outcome, int | None]:
            outcome = await self._call("GET", path, params={**params, "page": str(page)})
            more = outcome.code is None and page < outcome.ok["total_pages"]
            return outcome, page + 1 if more else None

        return await _walk(fetch, 1)

    async def update(self, reminder_id: int, payload: Json) -> Outcome:
        return await self._call("PATCH", f"/reminders/{reminder_id}", payload)

    async def pause(self, reminder_id: int) -> Outcome:
        return await self.update(reminder_id, {"status": "paused"})

    async def resume(self, reminder_id: int, scheduled_at: str | None = None) -> Outcome:
        payload: Json = {"status": "scheduled"}
        if scheduled_at is not None:
            payload["scheduled_at"] = scheduled_at
        return await self.update(reminder_id, payload)

    async def delete(self, reminder_id: int) -> Outcome:
        return await self._call("DELETE", f"/reminders/{reminder_id}")

    async def executions(self, params: Mapping[str, str]) -> Outcome:
        return await self._call("GET", "/executions", params=dict(params))

    async def walk_executions(self, params: Mapping[str, str]) -> Outcome:
        return await self._walk_numbers("/executions", params)

    async def execution(self, execution_id: int) -> Outcome:
        return await self._call("GET", f"/executions/{execution_id}")

    async def occurrences(self, reminder_id: int, params: Mapping[str, str]) -> Outcome:
        return await self._call("GET", f"/reminders/{reminder_id}/occurrences", params=dict(params))


# ----------------------------------------------------------------------------- gRPC requests
def parse_rest_time(text: str) -> datetime:
    """Return a REST date-time as an aware instant (naive → UTC, as REST's list bounds)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """Return an aware instant as a Timestamp."""
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment)
    return out


def time_input(text: str) -> common_pb2.TimeInput:
    """Return a REST time as a TimeInput: with ``Z``/offset an instant, else a local time.

    Text that is no date-time at all goes as a local time, for the server to refuse.
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return common_pb2.TimeInput(local_time=text)
    if moment.tzinfo is None:
        return common_pb2.TimeInput(local_time=text)
    return common_pb2.TimeInput(instant=timestamp(moment))


def recurrence(rtype: str | None, config: Mapping[str, Any] | None) -> reminders_pb2.Recurrence:
    """Return REST's ``recurrence_type``/``recurrence_config`` as the Recurrence oneof."""
    config = dict(config or {})
    if rtype is None:
        return reminders_pb2.Recurrence()
    if rtype == "daily":
        return reminders_pb2.Recurrence(daily=reminders_pb2.DailyRule())
    if rtype == "weekly":
        return reminders_pb2.Recurrence(weekly=reminders_pb2.WeeklyRule())
    if rtype == "cron":
        return reminders_pb2.Recurrence(cron=config["expression"])
    if "interval_days" in config:
        return reminders_pb2.Recurrence(interval_days=config["interval_days"])
    return reminders_pb2.Recurrence(weekdays=reminders_pb2.WeekdaysRule(days=config["weekdays"]))


OUTCOMES: Final = ("busy", "no_answer", "failed", "voicemail")


def calling_window(shape: Mapping[str, Any]) -> policy_pb2.CallingWindow:
    """Return REST's request window (hours, a profile or a bypass) as the CallingWindow oneof."""
    if "bypass" in shape:
        return policy_pb2.CallingWindow(bypass=policy_pb2.WindowBypass(reason=shape["reason"]))
    if "profile" in shape:
        return policy_pb2.CallingWindow(profile=shape["profile"])
    hours = policy_pb2.CallingHours(start=shape["start"], end=shape["end"], days=shape.get("days"))
    return policy_pb2.CallingWindow(hours=hours)


def retry_policy(shape: Mapping[str, Any]) -> policy_pb2.RetryPolicy:
    """Return REST's retry policy as a RetryPolicy (a null delay list: unset)."""
    delays = shape.get("delays") or {}
    lists = {k: policy_pb2.DelayList(seconds=v) for k, v in delays.items() if v is not None}
    return policy_pb2.RetryPolicy(
        max_attempts=shape["max_attempts"], delays=policy_pb2.RetryDelaysByOutcome(**lists)
    )


_PLAIN: Final = (
    "title",
    "message",
    "phone_number",
    "timezone",
    "vapi_line_id",
    "purpose",
    "max_lateness_seconds",
)
_TIMES: Final = ("scheduled_at", "recurrence_end_at")
_RECURRENCE: Final = ("recurrence_type", "recurrence_config")


def fallback(shape: Mapping[str, Any]) -> reminders_pb2.ReminderFallback:
    """Return REST's ``fallback`` object as a ReminderFallback (its fields as they are)."""
    return reminders_pb2.ReminderFallback(**shape)


_SHAPES: Final = {
    "calling_window": calling_window,
    "retry_policy": retry_policy,
    "fallback": fallback,
}


def _reminder_fields(payload: Mapping[str, Any]) -> tuple[Json, list[str]]:
    """Return request fields for a REST create/PATCH payload and the fields it names."""
    unknown = set(payload) - {*_PLAIN, *_TIMES, *_RECURRENCE, *_SHAPES}
    assert not unknown, f"not expressible over gRPC: {unknown}"
    values: Json = {}
    for name in _PLAIN:
        if payload.get(name) is not None:
            values[name] = payload[name]
    for name in _TIMES:
        if payload.get(name) is not None:
            values[name] = time_input(payload[name])
    for name, build in _SHAPES.items():
        if payload.get(name) is not None:
            values[name] = build(payload[name])
    if any(name in payload for name in _RECURRENCE):
        rule = recurrence(payload.get("recurrence_type"), payload.get("recurrence_config"))
        if rule.WhichOneof("rule") is not None:
            values["recurrence"] = rule
    paths = [GRPC_FIELD_OF.get(name, name) for name in payload]
    return values, list(dict.fromkeys(paths))


def create_request(payload: Mapping[str, Any]) -> reminders_pb2.CreateReminderRequest:
    """Return a REST create payload as a CreateReminderRequest (null → unset)."""
    values, _ = _reminder_fields(payload)
    return reminders_pb2.CreateReminderRequest(**values)


def update_request(
    reminder_id: int, payload: Mapping[str, Any]
) -> reminders_pb2.UpdateReminderRequest:
    """Return a REST PATCH payload as an UpdateReminderRequest (masked; null → unset)."""
    values, paths = _reminder_fields(payload)
    request = reminders_pb2.UpdateReminderRequest(id=reminder_id, **values)
    request.update_mask.paths.extend(paths)
    return request


def _enum_number(enum_type: Any, text: str) -> int:
    prefix = _enum_prefix(enum_type)
    try:
        return int(enum_type.Value(prefix + text.upper()))
    except ValueError:
        return UNKNOWN_ENUM


def _enum_prefix(enum_type: Any) -> str:
    descriptor = getattr(enum_type, "DESCRIPTOR", enum_type)
    return str(descriptor.values_by_number[0].name).removesuffix("UNSPECIFIED")


def _paging(params: Mapping[str, str], values: Json) -> None:
    for name in ("page", "page_size"):
        if name in params:
            values[name] = int(params[name])
    for name in ("date_from", "date_to"):
        if name in params:
            values[name] = timestamp(parse_rest_time(params[name]))


def list_request(params: Mapping[str, str]) -> reminders_pb2.ListRemindersRequest:
    """Return REST's reminder query parameters as a ListRemindersRequest."""
    unknown = set(params) - {
        "status",
        "search",
        "date_from",
        "date_to",
        "sort",
        "page",
        "page_size",
    }
    assert not unknown, f"not expressible over gRPC: {unknown}"
    values: Json = {}
    if "status" in params:
        values["status"] = _enum_number(reminders_pb2.ReminderStatus, params["status"])
    if "sort" in params:
        values["sort"] = _enum_number(reminders_pb2.ReminderSort, params["sort"])
    if "search" in params:
        values["search"] = params["search"]
    _paging(params, values)
    return reminders_pb2.ListRemindersRequest(**values)


def executions_request(params: Mapping[str, str]) -> executions_pb2.ListExecutionsRequest:
    """Return REST's execution query parameters as a ListExecutionsRequest."""
    unknown = set(params) - {"status", "reminder_id", "date_from", "date_to", "page", "page_size"}
    assert not unknown, f"not expressible over gRPC: {unknown}"
    values: Json = {}
    if "status" in params:
        values["status"] = _enum_number(executions_pb2.ExecutionStatus, params["status"])
    if "reminder_id" in params:
        values["reminder_id"] = int(params["reminder_id"])
    _paging(params, values)
    return executions_pb2.ListExecutionsRequest(**values)


# ----------------------------------------------------------------------------- gRPC responses
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND_MESSAGES: Final = frozenset(
    m.DESCRIPTOR.full_name
    for m in (
        executions_pb2.Execution,
        messages_pb2.Message,
        messages_pb2.MessageTemplate,
        messages_pb2.MessageTemplateVersion,
    )
)
"""Messages whose times carry milliseconds in REST (the others: whole seconds)."""


def timestamp_text(ts: timestamp_pb2.Timestamp, millis: bool) -> str:
    """Return a Timestamp as REST writes it (``…T13:00:00Z`` or ``…T13:00:00.412Z``).

    A fraction REST's precision has no room for is written out in full (never rounded), so
    that it shows as a difference.
    """
    whole = (_EPOCH + timedelta(seconds=ts.seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if millis and ts.nanos % 1_000_000 == 0:
        return f"{whole}.{ts.nanos // 1_000_000:03d}Z"
    if not millis and ts.nanos == 0:
        return f"{whole}Z"
    return f"{whole}.{ts.nanos:09d}Z"


def _value(fd: FieldDescriptor, value: Any, millis: bool) -> Any:
    if fd.type == FieldDescriptor.TYPE_ENUM:
        known = fd.enum_type.values_by_number.get(value)
        name = str(known.name) if known is not None else str(value)  # unknown: its number
        return name.removeprefix(_enum_prefix(fd.enum_type)).lower()
    if fd.message_type is not None:
        if fd.message_type.full_name == "google.protobuf.Timestamp":
            return timestamp_text(value, millis)
        return to_rest(value)
    return value


def _recurrence_fields(message: reminders_pb2.Recurrence | None) -> Json:
    """Return the Recurrence oneof as REST's ``recurrence_type`` and ``recurrence_config``."""
    rule = None if message is None else message.WhichOneof("rule")
    if message is None or rule is None:
        return {"recurrence_type": None, "recurrence_config": None}
    if rule in ("daily", "weekly"):
        return {"recurrence_type": rule, "recurrence_config": None}
    if rule == "cron":
        return {"recurrence_type": "cron", "recurrence_config": {"expression": message.cron}}
    if rule == "interval_days":
        return {
            "recurrence_type": "custom",
            "recurrence_config": {"interval_days": message.interval_days},
        }
    return {
        "recurrence_type": "custom",
        "recurrence_config": {"weekdays": list(message.weekdays.days)},
    }


def _window_rest(message: policy_pb2.CallingWindow) -> Json | None:
    """Return the CallingWindow oneof as REST's object: hours, a profile or a bypass."""
    which = message.WhichOneof("window")
    if which == "hours":
        return to_rest(message.hours)
    if which == "profile":
        return {"profile": message.profile}
    if which == "bypass":
        by = message.bypass.bypassed_by
        return {
            "bypass": True,
            "reason": message.bypass.reason,
            "bypassed_at": to_rest(message.bypass)["bypassed_at"],
            "bypassed_by": {
                "type": by.type,
                "id": getattr(by, by.WhichOneof("actor_id")) if by.WhichOneof("actor_id") else None,
                "user_id": by.user_id if by.HasField("user_id") else None,
            },
        }
    return None


def _retry_rest(message: policy_pb2.RetryPolicy) -> Json:
    """Return a RetryPolicy as REST's object: every outcome's list, or null when unset."""
    delays = message.delays
    lists = {k: list(getattr(delays, k).seconds) if delays.HasField(k) else None for k in OUTCOMES}
    return {"max_attempts": message.max_attempts, "delays": lists}


def _fallback_rest(message: reminders_pb2.ReminderFallback) -> Json:
    """Return a ReminderFallback as REST's object (``variables`` a plain object)."""
    return {
        "channel": message.channel,
        "template_id": message.template_id,
        "after": message.after,
        "variables": dict(message.variables),
    }


_SHAPES_OUT: Final[dict[str, Callable[[Any], Any]]] = {
    "dialcues.v1.CallingWindow": _window_rest,
    "dialcues.v1.RetryPolicy": _retry_rest,
    "dialcues.v1.ReminderFallback": _fallback_rest,
}
"""Messages whose REST shape is not their fields one by one."""


def to_rest(message: pb_message.Message) -> Json:
    """Return any dialcues.v1 response message as REST's JSON shape (every field present)."""
    descriptor = message.DESCRIPTOR
    millis = descriptor.full_name in MILLISECOND_MESSAGES
    out: Json = {}
    for fd in descriptor.fields:
        value = getattr(message, fd.name)
        kind = fd.message_type.full_name if fd.message_type is not None else None
        if kind == "dialcues.v1.Recurrence":
            out.update(_recurrence_fields(value if message.HasField(fd.name) else None))
        elif kind in _SHAPES_OUT and not fd.is_repeated:
            present = message.HasField(fd.name)
            out[fd.name] = _SHAPES_OUT[kind](value) if present else None
        elif fd.is_repeated:
            out[fd.name] = [_value(fd, item, millis) for item in value]
        elif fd.has_presence and not message.HasField(fd.name):
            out[fd.name] = None
        else:
            out[fd.name] = _value(fd, value, millis)
    return out


def _page(message: Any) -> Json:
    body = to_rest(message)
    body.pop("next_page_token")  # gRPC's own paging style; REST has page numbers only
    return body


def _fields(violations: list[tuple[str, str, str]]) -> list[list[str]]:
    """Return bad fields as sorted ``[name, problem, reason]`` (reason ``""`` when none)."""
    return sorted(list(violation) for violation in violations)


def _scalar(value: Any) -> bool:
    """Tell whether an error detail is a string or an integer: what ErrorInfo metadata holds.

    Lists and objects (an ``outside_calling_window``'s ``window_zones``) have no place there;
    REST's ``details.reasons`` is the BadRequest violations' ``reason``.
    """
    return isinstance(value, str | int) and not isinstance(value, bool)


def grpc_outcome(exc: grpc.aio.AioRpcError) -> Outcome:
    """Return a failed call's rich status as an error outcome (status: the code's name)."""
    status = rpc_status.from_call(exc)
    assert status is not None, f"no google.rpc.Status on {exc.code()}: {exc.details()}"
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    for detail in status.details:
        if detail.Is(info.DESCRIPTOR):
            detail.Unpack(info)
        elif detail.Is(bad.DESCRIPTOR):
            detail.Unpack(bad)
    assert info.domain == "dialcues", f"ErrorInfo domain {info.domain!r}"
    fields = _fields([(v.field, v.description, v.reason) for v in bad.field_violations])
    value = _error_value(info.reason, status.message, dict(info.metadata), fields)
    names = sorted({v.field for v in bad.field_violations})
    return Outcome(value, exc.code().name, field_names=names)


# ----------------------------------------------------------------------------- gRPC
class GrpcFacade(Facade):
    """The scenario's calls through the generated stubs, as an internal service makes them."""

    name = "grpc"

    def __init__(self, channel: grpc.aio.Channel, authorization: str | None):
        self.channel = channel
        self.authorization = authorization
        self.reminders = reminders_pb2_grpc.ReminderServiceStub(channel)
        self.execution_stub = executions_pb2_grpc.ExecutionServiceStub(channel)
        self.line_stub = lines_pb2_grpc.LineServiceStub(channel)
        self.identity = identity_pb2_grpc.IdentityServiceStub(channel)

    def with_auth(self, authorization: str | None) -> GrpcFacade:
        return GrpcFacade(self.channel, authorization)

    async def _call(self, rpc: Any, request: Any, render: Callable[[Any], Any]) -> Outcome:
        metadata = () if self.authorization is None else (("authorization", self.authorization),)
        try:
            reply = await rpc(request, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            return grpc_outcome(exc)
        return Outcome({"ok": render(reply)}, "OK", reply)

    async def me(self) -> Outcome:
        return await self._call(self.identity.WhoAmI, identity_pb2.WhoAmIRequest(), to_rest)

    async def lines(self) -> Outcome:
        return await self._call(self.line_stub.ListLines, lines_pb2.ListLinesRequest(), to_rest)

    async def create(self, payload: Json) -> Outcome:
        return await self._call(self.reminders.CreateReminder, create_request(payload), to_rest)

    async def get(self, reminder_id: int) -> Outcome:
        request = reminders_pb2.GetReminderRequest(id=reminder_id)
        return await self._call(self.reminders.GetReminder, request, to_rest)

    async def list(self, params: Mapping[str, str]) -> Outcome:
        return await self._call(self.reminders.ListReminders, list_request(params), _page)

    async def walk(self, params: Mapping[str, str]) -> Outcome:
        return await self._walk_tokens(self.reminders.ListReminders, list_request(params))

    async def _walk_tokens(self, rpc: Any, first: Any) -> Outcome:
        async def fetch(request: Any) -> tuple[Outcome, Any]:
            outcome = await self._call(rpc, request, _page)
            token = outcome.reply.next_page_token if outcome.code is None else ""
            if not token:
                return outcome, None
            follow = type(request)()
            follow.CopyFrom(request)
            follow.page_token = token
            return outcome, follow

        return await _walk(fetch, first)

    async def update(self, reminder_id: int, payload: Json) -> Outcome:
        request = update_request(reminder_id, payload)
        return await self._call(self.reminders.UpdateReminder, request, to_rest)

    async def pause(self, reminder_id: int) -> Outcome:
        request = reminders_pb2.PauseReminderRequest(id=reminder_id)
        return await self._call(self.reminders.PauseReminder, request, to_rest)

    async def resume(self, reminder_id: int, scheduled_at: str | None = None) -> Outcome:
        request = reminders_pb2.ResumeReminderRequest(id=reminder_id)
        if scheduled_at is not None:
            request.scheduled_at.CopyFrom(time_input(scheduled_at))
        return await self._call(self.reminders.ResumeReminder, request, to_rest)

    async def delete(self, reminder_id: int) -> Outcome:
        request = reminders_pb2.DeleteReminderRequest(id=reminder_id)
        return await self._call(self.reminders.DeleteReminder, request, lambda _: None)

    async def executions(self, params: Mapping[str, str]) -> Outcome:
        request = executions_request(params)
        return await self._call(self.execution_stub.ListExecutions, request, _page)

    async def walk_executions(self, params: Mapping[str, str]) -> Outcome:
        return await self._walk_tokens(
            self.execution_stub.ListExecutions, executions_request(params)
        )

    async def execution(self, execution_id: int) -> Outcome:
        request = executions_pb2.GetExecutionRequest(id=execution_id)
        return await self._call(self.execution_stub.GetExecution, request, to_rest)

    async def occurrences(self, reminder_id: int, params: Mapping[str, str]) -> Outcome:
        request = reminders_pb2.ListOccurrencesRequest(id=reminder_id)
        if "count" in params:
            request.count = int(params["count"])
        return await self._call(self.reminders.ListOccurrences, request, to_rest)


# ----------------------------------------------------------------------------- a run
ID_KINDS: Final = {
    "reminder_id": "reminder",
    "last_execution_id": "execution",
    "vapi_line_id": "line",
    "line_id": "line",
    "organization_id": "org",
    "api_key_id": "key",
    "user_id": "user",
    "template_id": "template",
    "fallback_message_id": "message",
}
"""Fields holding ids (which differ between the runs by nature) and what they identify."""


def _kind_of_id(obj: Mapping[str, Any]) -> str | None:
    """Return what the ``id`` of an object identifies, from the object's other fields."""
    if "reminder_title" in obj:
        return "execution"
    if "content_hash" in obj and "name" in obj:
        return "template"
    if "direction" in obj and "text" in obj:
        return "message"
    if "scheduled_at" in obj:
        return "reminder"
    if "is_default" in obj:
        return "line"
    if "email" in obj:
        return "user"
    if "resource" in obj:  # an error's details: {"resource": "reminder", "id": "12"}
        return str(obj["resource"])
    if obj.get("type") == "api_key":  # a bypass's bypassed_by
        return "key"
    return None


@dataclass
class Run:
    """One pass of the scenario through one facade: each step's outcome, the ids it made."""

    facade: Facade
    steps: dict[str, Outcome] = field(default_factory=dict)
    aliases: dict[tuple[str, type, Any], str] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)

    def alias(self, label: str, value: Any) -> Any:
        """Name an id this run made: ``kind:name`` (or just ``kind``), the same in both runs."""
        kind = label.partition(":")[0]
        assert (kind, type(value), value) not in self.aliases, f"{label}: {value!r} named twice"
        self.aliases[(kind, type(value), value)] = f"<{label}>"
        self.ids[label] = value
        return value

    async def step(self, name: str, call: Awaitable[Outcome]) -> Outcome:
        """Record the outcome of one step."""
        assert name not in self.steps, f"step {name} recorded twice"
        outcome = await call
        self.steps[name] = outcome
        return outcome

    def canonical(self, name: str) -> Any:
        """Return a step's comparable value, each id this run named replaced by its label.

        An id of the wrong type (``"12"`` for ``12``) or pointing elsewhere stays as it is,
        and so differs from the other run's label.
        """
        return self._canonical(self.steps[name].value)

    def _canonical(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._canonical(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            kind = _kind_of_id(value) if key == "id" else ID_KINDS.get(key)
            out[key] = self._label(kind, item) if kind else self._canonical(item)
        meta = value.get("meta")
        if isinstance(value.get("message"), str) and isinstance(meta, dict) and "id" in meta:
            # "No reminder 12 was found.": the id in an error's sentence, as in its details
            said = f"{meta.get('resource')} {meta['id']}"
            named = f"{meta.get('resource')} {out['meta']['id']}"
            out["message"] = value["message"].replace(said, named)
        return out

    def _label(self, kind: str, value: Any) -> Any:
        label = self.aliases.get((kind, type(value), value))
        if label is None and isinstance(value, str) and value.isdigit():  # error details
            found = self.aliases.get((kind, int, int(value)))
            label = None if found is None else f"{found} as text"
        return value if label is None else label


def differences(rest: Any, grpc_value: Any, path: str = "") -> list[str]:
    """Return every field where the two values differ, as ``path: rest=… grpc=…`` lines."""
    if isinstance(rest, dict) and isinstance(grpc_value, dict):
        out: list[str] = []
        for key in sorted({*rest, *grpc_value}):
            where = f"{path}.{key}" if path else key
            if key not in rest or key not in grpc_value:
                missing = "rest" if key not in rest else "grpc"
                out.append(f"{where}: missing on {missing}")
            else:
                out.extend(differences(rest[key], grpc_value[key], where))
        return out
    if isinstance(rest, list) and isinstance(grpc_value, list):
        if len(rest) != len(grpc_value):
            return [f"{path}: {len(rest)} items on rest, {len(grpc_value)} on grpc"]
        out = []
        for index, (a, b) in enumerate(zip(rest, grpc_value, strict=True)):
            out.extend(differences(a, b, f"{path}[{index}]"))
        return out
    if type(rest) is not type(grpc_value) or rest != grpc_value:
        return [f"{path}: rest={rest!r} grpc={grpc_value!r}"]
    return []
