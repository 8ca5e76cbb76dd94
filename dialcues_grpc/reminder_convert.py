"""Protobuf ↔ core for ``ReminderService`` (the pattern of ``convert.py``).

Requests become the core's wire-shaped payloads, exactly those of REST's ``POST /reminders``
and ``PATCH /reminders/{id}``: a ``TimeInput`` is the wire text, the ``Recurrence`` oneof is
``recurrence_type``/``recurrence_config``, and the responsible-calling fields
(``responsible-calling.md`` §13.1) are their JSON values: a ``CallingWindow`` is REST's hours,
``{"profile"}`` or ``{"bypass": true, "reason"}``, a ``RetryPolicy`` REST's
``{"max_attempts", "delays"}`` (:mod:`dialcues_grpc.policy_convert` converts both), a
``ReminderFallback`` REST's ``{"channel", "template_id", "after", "variables"}`` with only the
fields it sets (``telephony.md`` §4.6). The core validates every value; only the
``update_mask``'s paths are checked here.

A reminder becomes a message with every field of REST's reminder object, times in whole
seconds; a bypass shows who set it and when. ``ListOccurrences`` sends ``count`` as REST's
query parameter and reads the body of ``GET /reminders/{id}/occurrences`` back (its "…Z"
texts become Timestamps, its nulls unset fields).

These live apart from ``convert.py`` because the calling shapes they share with the policy
(``policy_convert``) build on ``convert``'s helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from dialcues_core.calling.shapes import window_to_json
from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.paging import Page
from dialcues_core.reminders.model import RecurrenceKind, RecurrenceRule, Reminder, ReminderStatus
from dialcues_grpc import policy_convert
from dialcues_grpc._pb.dialcues.v1 import reminders_pb2
from dialcues_grpc.convert import Payload, Query, _page_counts, _time_input, _timestamp

_REMINDER_STATUS: Final = {
    s: reminders_pb2.ReminderStatus.Value(f"REMINDER_STATUS_{s.name}") for s in ReminderStatus
}

# ----------------------------------------------------------------------------- in
_PLAIN_FIELDS: Final = ("title", "message", "phone_number", "timezone", "vapi_line_id")
_TIME_FIELDS: Final = ("scheduled_at", "recurrence_end_at")
CALLING_FIELDS: Final = ("purpose", "calling_window", "max_lateness_seconds", "retry_policy")
"""The responsible-calling fields of a create or update request (REST's names)."""
_FALLBACK_FIELDS: Final = ("channel", "template_id", "after")
UPDATABLE_PATHS: Final = frozenset(
    {*_PLAIN_FIELDS, *_TIME_FIELDS, "recurrence", *CALLING_FIELDS, "fallback"}
)
"""The ``update_mask`` paths of ``UpdateReminderRequest``."""

Request = reminders_pb2.CreateReminderRequest | reminders_pb2.UpdateReminderRequest


def _recurrence_fields(value: reminders_pb2.Recurrence | None) -> Payload:
    """Return a Recurrence as REST's ``recurrence_type`` and ``recurrence_config``."""
    rule = value.WhichOneof("rule") if value is not None else None
    if value is None or rule is None:
        return {"recurrence_type": None, "recurrence_config": None}
    if rule in ("daily", "weekly"):
        return {"recurrence_type": rule, "recurrence_config": None}
    if rule == "interval_days":
        config: Payload = {"interval_days": value.interval_days}
    elif rule == "weekdays":
        config = {"weekdays": list(value.weekdays.days)}
    else:
        return {"recurrence_type": "cron", "recurrence_config": {"expression": value.cron}}
    return {"recurrence_type": "custom", "recurrence_config": config}


def _calling_value(request: Request, path: str) -> Any:
    """Return one calling field's wire value (REST's JSON shape); unset → None (null)."""
    if not request.HasField(path):
        return None
    if path == "calling_window":
        return policy_convert.window_in(request.calling_window)
    if path == "retry_policy":
        return policy_convert.retry_policy_in(request.retry_policy)
    return getattr(request, path)


def fallback_in(value: reminders_pb2.ReminderFallback) -> Payload:
    """Return a fallback as REST's object: the fields it sets (``variables`` when any)."""
    body: Payload = {n: getattr(value, n) for n in _FALLBACK_FIELDS if value.HasField(n)}
    if value.variables:
        body["variables"] = dict(value.variables)
    return body


def _reminder_field(request: reminders_pb2.UpdateReminderRequest, path: str) -> Payload:
    """Return the payload entries of one masked field of an update request."""
    if path == "fallback":  # unset: null, which clears it
        present = request.HasField("fallback")
        return {"fallback": fallback_in(request.fallback) if present else None}
    if path == "recurrence":
        present = request.HasField("recurrence")
        return _recurrence_fields(request.recurrence if present else None)
    if path in _TIME_FIELDS:
        return {path: _time_input(getattr(request, path), path)}
    if path in CALLING_FIELDS:
        return {path: _calling_value(request, path)}
    return {path: getattr(request, path) if request.HasField(path) else None}


def create_reminder(request: reminders_pb2.CreateReminderRequest) -> Payload:
    """Return the core's create payload: only the fields the request sets."""
    payload: Payload = {}
    for name in _PLAIN_FIELDS:
        if request.HasField(name):
            payload[name] = getattr(request, name)
    for name in _TIME_FIELDS:
        text = _time_input(getattr(request, name), name)
        if text is not None:
            payload[name] = text
    if request.HasField("recurrence") and request.recurrence.WhichOneof("rule") is not None:
        payload.update(_recurrence_fields(request.recurrence))
    for name in CALLING_FIELDS:
        if request.HasField(name):
            payload[name] = _calling_value(request, name)
    if request.HasField("fallback"):
        payload["fallback"] = fallback_in(request.fallback)
    return payload


def update_reminder(request: reminders_pb2.UpdateReminderRequest) -> tuple[int, Payload]:
    """Return the reminder id and the core's PATCH payload: the masked fields, unset = null."""
    paths = list(dict.fromkeys(request.update_mask.paths))
    unknown = [p for p in paths if p not in UPDATABLE_PATHS]
    if unknown:
        raise ValidationFailed.one(
            "update_mask", f"names no updatable field: {', '.join(sorted(unknown))}"
        )
    payload: Payload = {}
    for path in paths:
        payload.update(_reminder_field(request, path))
    return request.id, payload


def pause_reminder(request: reminders_pb2.PauseReminderRequest) -> tuple[int, Payload]:
    """Return the reminder id and REST's pause payload."""
    return request.id, {"status": "paused"}


def resume_reminder(request: reminders_pb2.ResumeReminderRequest) -> tuple[int, Payload]:
    """Return the reminder id and REST's resume payload (with the new time, if any)."""
    payload: Payload = {"status": "scheduled"}
    when = _time_input(request.scheduled_at, "scheduled_at")
    if when is not None:
        payload["scheduled_at"] = when
    return request.id, payload


def occurrence_query(request: reminders_pb2.ListOccurrencesRequest) -> tuple[int, Query]:
    """Return the reminder id and REST's query parameters (an unset ``count``: the default)."""
    params: Query = {"count": str(request.count)} if request.HasField("count") else {}
    return request.id, params


# ----------------------------------------------------------------------------- out
def _recurrence(rule: RecurrenceRule | None) -> reminders_pb2.Recurrence | None:
    """Return a stored rule as a Recurrence message (None for a one-off)."""
    if rule is None:
        return None
    kind = rule.kind
    if kind is RecurrenceKind.DAILY:
        return reminders_pb2.Recurrence(daily=reminders_pb2.DailyRule())
    if kind is RecurrenceKind.WEEKLY:
        return reminders_pb2.Recurrence(weekly=reminders_pb2.WeeklyRule())
    if kind is RecurrenceKind.INTERVAL_DAYS:
        return reminders_pb2.Recurrence(interval_days=rule.interval_days)
    if kind is RecurrenceKind.WEEKDAYS:
        return reminders_pb2.Recurrence(weekdays=reminders_pb2.WeekdaysRule(days=rule.weekdays))
    return reminders_pb2.Recurrence(cron=rule.cron)


def fallback(stored: Mapping[str, Any] | None) -> reminders_pb2.ReminderFallback | None:
    """Return a reminder's stored fallback (REST's object); None → unset."""
    if stored is None:
        return None
    return reminders_pb2.ReminderFallback(
        channel=stored["channel"],
        template_id=stored["template_id"],
        after=stored["after"],
        variables=dict(stored.get("variables") or {}),
    )


def reminder(r: Reminder) -> reminders_pb2.Reminder:
    """Return a reminder with every field of the contract (times in whole seconds)."""
    window = window_to_json(r.calling_window) if r.calling_window is not None else None
    retry = r.retry_policy
    return reminders_pb2.Reminder(
        id=r.id,
        title=r.title,
        message=r.message,
        phone_number=r.phone_number,
        scheduled_at=_timestamp(r.scheduled_at),
        timezone=r.timezone,
        status=_REMINDER_STATUS[r.status],
        vapi_line_id=r.line_id,
        outbound_line_label=r.line_label,
        recurrence=_recurrence(r.recurrence),
        recurrence_end_at=_timestamp(r.recurrence_end_at),
        retry_count=r.retry_count,
        next_attempt_at=_timestamp(r.next_attempt_at),
        last_execution_id=r.last_execution_id,
        created_at=_timestamp(r.created_at),
        updated_at=_timestamp(r.updated_at),
        purpose=r.purpose,
        calling_window=policy_convert.calling_window(window),
        max_lateness_seconds=r.max_lateness_seconds,
        retry_policy=policy_convert.retry_policy(retry.to_json()) if retry is not None else None,
        next_eligible_at=_timestamp(r.next_eligible_at),
        fallback=fallback(r.fallback),
    )


def reminder_page(found: Page[Reminder], next_token: str) -> reminders_pb2.ListRemindersResponse:
    """Return one page of reminders."""
    return reminders_pb2.ListRemindersResponse(
        items=[reminder(r) for r in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )


def _moment(text: str | None) -> datetime | None:
    """Return a whole-second time of the preview ("2026-03-26T11:30:00Z"); None → None."""
    return datetime.fromisoformat(text) if text is not None else None


def occurrences(body: Mapping[str, Any]) -> reminders_pb2.ListOccurrencesResponse:
    """Return REST's preview body (``reminder_id``, ``items``) field for field."""
    items = [
        reminders_pb2.Occurrence(
            occurrence_at=_timestamp(_moment(item["occurrence_at"])),
            local_time=item["local_time"],
            plan=item["plan"],
            attempt_at=_timestamp(_moment(item["attempt_at"])),
            reason=item["reason"],
            window_zones=item["window_zones"],
        )
        for item in body["items"]
    ]
    return reminders_pb2.ListOccurrencesResponse(reminder_id=body["reminder_id"], items=items)
