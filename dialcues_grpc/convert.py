"""The only place where protobuf messages meet core objects.

Requests become the core's wire-shaped arguments: the same mappings REST decodes from JSON
(``{"title": …, "scheduled_at": "2026-03-25T09:00:00", "recurrence_type": "custom", …}``) and
the same string query parameters (``{"page": "2", "status": "scheduled"}``), so that the core
applies every rule exactly as it does for REST. Nothing is validated here beyond the shape of
the message itself: an ``update_mask`` path that names no field of the request, a Timestamp
outside the protobuf range (:func:`instant`), a NUL in any text
(:func:`dialcues_grpc.request_fields.refuse_nul`, which :func:`dialcues_grpc.errors.translated`
applies to every request), and the two line texts the core leaves unbounded
(:func:`dialcues_grpc.admin_convert.new_line`). Each is a ``validation_error`` naming the field.
The administration messages are in :mod:`dialcues_grpc.admin_convert`, the reminders' in
:mod:`dialcues_grpc.reminder_convert`.

Core objects become messages with the contract's precision: a reminder's times in whole
seconds, an execution's in milliseconds, enums named after the REST values
(``REMINDER_STATUS_IN_PROGRESS`` is ``"in_progress"``).

A line's route is REST's ``{"type": …, …}`` object one way and the ``Route`` (or, never
``external``, ``DecidedRoute``) oneof the other: the set member's name is the ``type``, its
fields are the object's (:func:`route_in`, :func:`route`, :func:`decided_route`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from google.protobuf import empty_pb2, struct_pb2, timestamp_pb2

from dialcues_core.accounts.model import (
    OutboundLine,
    Provider,
    User,
)
from dialcues_core.calls.actions import Action
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.paging import Page
from dialcues_grpc._pb.dialcues.v1 import (
    common_pb2,
    executions_pb2,
    identity_pb2,
    lines_pb2,
    reminders_pb2,
)

Payload = dict[str, Any]
Query = dict[str, str]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)

# ----------------------------------------------------------------------------- enums
_EXECUTION_STATUS: Final = {
    s: executions_pb2.ExecutionStatus.Value(f"EXECUTION_STATUS_{s.name}") for s in ExecutionStatus
}
_PROVIDER: Final = {p: common_pb2.Provider.Value(f"PROVIDER_{p.name}") for p in Provider}
_DIRECTION: Final = {
    d: executions_pb2.ExecutionDirection.Value(f"EXECUTION_DIRECTION_{d.upper()}")
    for d in ("outbound", "inbound")
}
_ROUTE_MESSAGES: Final[Mapping[str, Callable[..., Any]]] = {
    "reminders_readback": lines_pb2.ReadbackRoute,
    "assistant": lines_pb2.AssistantRoute,
    "transfer": lines_pb2.TransferRoute,
    "message": lines_pb2.MessageRoute,
    "reject": lines_pb2.RejectRoute,
    "external": lines_pb2.ExternalRoute,
}
"""A route's ``type`` (the name of its oneof member) → the message of its fields."""
LINE_PATHS: Final = ("label", "route", "is_default")
"""The ``update_mask`` paths of ``UpdateLineRequest``."""


def _enum_text(enum_type: Any, prefix: str, number: int) -> str | None:
    """Return the REST value an enum number stands for; None for 0 (unspecified).

    An unknown number (a newer client's) comes back as its digits, for the core to refuse.
    """
    if number == 0:
        return None
    try:
        return str(enum_type.Name(number)).removeprefix(prefix).lower()
    except ValueError:
        return str(number)


# ----------------------------------------------------------------------------- times
def _timestamp(moment: datetime | None, millis: bool = False) -> timestamp_pb2.Timestamp | None:
    """Return ``moment`` as a Timestamp, truncated to seconds (or milliseconds); None → None."""
    if moment is None:
        return None
    delta = moment - _EPOCH
    seconds = delta // _SECOND
    nanos = (delta.microseconds // 1000) * 1_000_000 if millis else 0
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


_FIRST_SECOND: Final = -62_135_596_800
"""0001-01-01T00:00:00Z, the first second a Timestamp may hold."""
_LAST_SECOND: Final = 253_402_300_799
"""9999-12-31T23:59:59Z, the last second a Timestamp may hold."""
_ZONE_MARGIN: Final = 86_400
"""How far inside that range an instant read in a time zone must be (offsets are < 1 day)."""


def instant(ts: timestamp_pb2.Timestamp, field: str, margin: int = 0) -> datetime:
    """Return a Timestamp as an aware UTC datetime (fractions below a microsecond dropped).

    Refuses with ``validation_error`` naming ``field`` what the protobuf rules call invalid:
    ``seconds`` outside 0001-01-01T00:00:00Z … 9999-12-31T23:59:59Z (narrowed by ``margin``
    seconds at both ends) or ``nanos`` outside 0 … 999 999 999.
    """
    low, high = _FIRST_SECOND + margin, _LAST_SECOND - margin
    if low <= ts.seconds <= high and 0 <= ts.nanos < 1_000_000_000:
        return _EPOCH + timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
    first, last = (f"{(_EPOCH + timedelta(seconds=s)).isoformat()[:19]}Z" for s in (low, high))
    raise ValidationFailed.one(
        field, f"must be a valid timestamp from {first} to {last} with nanos from 0 to 999999999"
    )


def _instant_text(ts: timestamp_pb2.Timestamp, field: str, margin: int = 0) -> str:
    """Return a Timestamp as the RFC 3339 text the core parses (UTC, with offset)."""
    return instant(ts, field, margin).isoformat()


def _time_input(value: common_pb2.TimeInput, field: str) -> str | None:
    """Return a TimeInput as the core's wire text; None when neither member is set.

    An instant is read in the request's zone, so it must stay a day inside the Timestamp
    range (a local date before year 1 or after 9999 cannot be represented).
    """
    which = value.WhichOneof("value")
    if which == "local_time":
        return value.local_time
    if which == "instant":
        return _instant_text(value.instant, field, _ZONE_MARGIN)
    return None


# ----------------------------------------------------------------------------- queries
def object_id(request: Any) -> int:
    """Return the ``id`` of a Get/Delete request (reminders, executions)."""
    return int(request.id)


def _page_params(request: Any, params: Query) -> tuple[Query, str]:
    """Add the paging fields of a list request to ``params``; return them and the token."""
    if request.HasField("page"):
        params["page"] = str(request.page)
    if request.HasField("page_size"):
        params["page_size"] = str(request.page_size)
    return params, str(request.page_token)


def _bounds(request: Any, params: Query) -> None:
    """Add the ``date_from``/``date_to`` bounds of a list request to ``params``."""
    for name in ("date_from", "date_to"):
        if request.HasField(name):
            params[name] = _instant_text(getattr(request, name), name)


def reminder_query(request: reminders_pb2.ListRemindersRequest) -> tuple[Query, str]:
    """Return REST's query parameters for a reminder listing, and the page token."""
    params: Query = {}
    status = _enum_text(reminders_pb2.ReminderStatus, "REMINDER_STATUS_", request.status)
    if status is not None:
        params["status"] = status
    if request.HasField("search"):
        params["search"] = request.search
    _bounds(request, params)
    sort = _enum_text(reminders_pb2.ReminderSort, "REMINDER_SORT_", request.sort)
    if sort is not None:
        params["sort"] = sort
    return _page_params(request, params)


def execution_query(request: executions_pb2.ListExecutionsRequest) -> tuple[Query, str]:
    """Return REST's query parameters for an execution listing, and the page token."""
    params: Query = {}
    status = _enum_text(executions_pb2.ExecutionStatus, "EXECUTION_STATUS_", request.status)
    if status is not None:
        params["status"] = status
    direction = _enum_text(
        executions_pb2.ExecutionDirection, "EXECUTION_DIRECTION_", request.direction
    )
    if direction is not None:
        params["direction"] = direction
    if request.HasField("reminder_id"):
        params["reminder_id"] = str(request.reminder_id)
    for name in ("skip_reason", "confirmation", "to"):
        if request.HasField(name):
            params[name] = getattr(request, name)
    _bounds(request, params)
    return _page_params(request, params)


# ----------------------------------------------------------------------------- out
def _page_counts(found: Page[Any]) -> dict[str, int]:
    return {
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
        "total_pages": found.total_pages,
    }


def empty() -> empty_pb2.Empty:
    """Return the empty response of a delete."""
    return empty_pb2.Empty()


# ----------------------------------------------------------------------------- executions, lines
def execution(e: Execution) -> executions_pb2.Execution:
    """Return an execution with every field of the contract (times in milliseconds)."""
    return executions_pb2.Execution(
        id=e.id,
        reminder_id=e.reminder_id,
        reminder_title=e.reminder_title,
        status=_EXECUTION_STATUS[e.status],
        attempt=e.attempt,
        call_id=e.call_id,
        line_id=e.line_id,
        to=e.to,
        scheduled_for=_timestamp(e.scheduled_for, millis=True),
        executed_at=_timestamp(e.executed_at, millis=True),
        ended_at=_timestamp(e.ended_at, millis=True),
        ended_reason=e.ended_reason,
        duration_s=e.duration_s,
        cost=e.cost,
        error_message=e.error_message,
        purpose=e.purpose,
        occurrence_at=_timestamp(e.occurrence_at or e.scheduled_for, millis=True),
        skip_reason=e.skip_reason,
        confirmation=e.confirmation,
        confirmed_at=_timestamp(e.confirmed_at, millis=True),
        actions=[_action(a) for a in e.actions.items],
        direction=_DIRECTION[e.direction],
        route=decided_route(e.route),
        answer_by=_timestamp(e.answer_by, millis=True),
        fallback_message_id=e.fallback_message_id,
        **{"from": e.from_number},  # a Python keyword: only a keyword argument can set it
    )


def _action(a: Action) -> executions_pb2.ExecutionAction:
    """Return one in-call action as REST shows it (its ``detail`` object as a Struct)."""
    body = a.to_json()
    detail = struct_pb2.Struct()
    detail.update(body["detail"])
    return executions_pb2.ExecutionAction(
        type=body["type"],
        at=_timestamp(a.at, millis=True),
        via=body["via"],
        outcome=body["outcome"],
        detail=detail,
    )


def execution_page(
    found: Page[Execution], next_token: str
) -> executions_pb2.ListExecutionsResponse:
    """Return one page of executions."""
    return executions_pb2.ListExecutionsResponse(
        items=[execution(e) for e in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )


def lines(items: Iterable[OutboundLine]) -> lines_pb2.ListLinesResponse:
    """Return the organization's lines as public callers see them."""
    return lines_pb2.ListLinesResponse(items=[line(item) for item in items])


def line(item: OutboundLine) -> lines_pb2.Line:
    """Return a line with every field of the REST line object (features sorted)."""
    return lines_pb2.Line(
        id=item.id,
        label=item.label,
        phone_number=item.phone_number,
        provider=_PROVIDER[item.provider],
        is_default=item.is_default,
        features=sorted(item.features),
        carrier=item.carrier,
        number_id=item.number_id,
        route=route(item.route),
    )


def update_line(request: lines_pb2.UpdateLineRequest) -> tuple[str, Payload]:
    """Return the line id and REST's PATCH body: the masked fields, an unset one null."""
    paths = list(dict.fromkeys(request.update_mask.paths))
    unknown = [p for p in paths if p not in LINE_PATHS]
    if unknown:
        raise ValidationFailed.one(
            "update_mask", f"names no updatable field: {', '.join(sorted(unknown))}"
        )
    payload: Payload = {}
    for path in paths:
        value = getattr(request, path) if request.HasField(path) else None
        payload[path] = route_in(value) if path == "route" and value is not None else value
    return request.id, payload


# ----------------------------------------------------------------------------- routes
def route_in(value: lines_pb2.Route | lines_pb2.DecidedRoute) -> Payload:
    """Return a route as REST's object: ``{"type": <the set member>, <its set fields>}``.

    A route with no member set is ``{}``, which the core refuses naming ``route.type``; an
    unset field is left out, so the core applies its default (``timeout_ms`` 4000, a
    ``reject`` fallback) or says it is required, exactly as for REST.
    """
    kind = value.WhichOneof("type")
    if kind is None:
        return {}
    body: Payload = {"type": kind}
    for field, item in getattr(value, kind).ListFields():
        body[field.name] = route_in(item) if field.name == "fallback" else item
    return body


def route(stored: Mapping[str, Any] | None) -> lines_pb2.Route | None:
    """Return a line's stored route (the core's normalized object); None → unset."""
    return None if stored is None else lines_pb2.Route(**_route_member(stored))


def decided_route(stored: Mapping[str, Any] | None) -> lines_pb2.DecidedRoute | None:
    """Return a stored route that is never ``external`` (a fallback, an applied route)."""
    return None if stored is None else lines_pb2.DecidedRoute(**_route_member(stored))


def _route_member(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Return the oneof member of a stored route: ``{<type>: <its message>}``."""
    kind = str(stored["type"])
    fields = {name: value for name, value in stored.items() if name != "type"}
    if "fallback" in fields:
        fields["fallback"] = decided_route(fields["fallback"])
    return {kind: _ROUTE_MESSAGES[kind](**fields)}


def user(u: User) -> common_pb2.User:
    """Return a user."""
    return common_pb2.User(
        id=u.id,
        organization_id=u.organization_id,
        email=u.email,
        name=u.name,
        created_at=_timestamp(u.created_at),
    )


def whoami(facts: Mapping[str, object]) -> identity_pb2.WhoAmIResponse:
    """Return the core's ``whoami`` facts."""
    return identity_pb2.WhoAmIResponse(
        user=user(cast(User, facts["user"])),
        organization_id=str(facts["organization_id"]),
        api_key_id=_optional_text(facts.get("api_key_id")),
        client_id=_optional_text(facts.get("client_id")),
    )


def _optional_text(value: object) -> str | None:
    """Return ``value`` as text, or None (an unset optional field) when it is None."""
    return None if value is None else str(value)
