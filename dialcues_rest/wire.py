"""The wire shapes of the public API as pydantic models: the source of the OpenAPI schemas.

The handlers keep rendering plain dicts (``schemas.py``) — these models describe them and a
test validates real responses against them, so the two cannot drift. Request models are as
tight as the core's validation where JSON Schema can say it exactly (required fields, lengths
after trimming, the E.164 pattern, enums, no unknown fields) and deliberately looser where it
cannot (a zone must exist, a time must be in the future): a schema-valid request the core
refuses is a ``400``, the one exception the schemathesis configuration allows.

Response models forbid unknown fields: a field added to a rendering without its model fails
the tests.

The inbound route models (``telephony.md`` §3.1) live here rather than in
:mod:`dialcues_rest.wire_numbers` because the line and execution objects here embed a route and
that module imports this one; they are why this module runs past 400 lines. So is the
reminder's text ``fallback`` (``telephony.md`` §4.6), kept beside the reminder it belongs to
(:mod:`dialcues_rest.wire_messages` imports this module too).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator
from pydantic.json_schema import SkipJsonSchema

# ----------------------------------------------------------------------------- patterns
_WS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""The characters Python's ``str.strip()`` removes (those the core trims), as a class body."""


def trimmed_text_pattern(max_length: int, nul: bool = False) -> str:
    """Return a pattern of 1–``max_length`` characters after trimming, without NUL.

    Optional surrounding whitespace, then a non-space, then at most ``max_length - 2`` of
    anything but NUL and a closing non-space: exactly what ``validation.text_parser`` accepts.
    ``nul``: NUL allowed too (the parsers of labels and route texts only trim and measure).
    """
    edge = f"[^{_WS}]" if nul else f"[^{_WS}\\x00]"
    middle = "[\\s\\S]" if nul else "[^\\x00]"
    return f"^[{_WS}]*{edge}({middle}{{0,{max_length - 2}}}{edge})?[{_WS}]*$"


E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
LOCAL_DATE_TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}(:?[0-9]{2}){0,2}([.,][0-9]+)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2}){0,2}([.,][0-9]+)?)?$"
)
"""An ISO 8601 date-time, local (no offset) or an instant (``Z`` or an offset)."""
BOUND_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}(:?[0-9]{2}){0,2}([.,][0-9]+)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2}){0,2}([.,][0-9]+)?)?)?$"
)
"""A listing bound: an ISO 8601 date-time (UTC without an offset) or a bare date."""
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"
SEARCH_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""No control characters (Unicode category Cc)."""

Title = Annotated[str, Field(pattern=trimmed_text_pattern(255), examples=["Stand-up"])]
Message = Annotated[
    str, Field(pattern=trimmed_text_pattern(1000), examples=["Stand-up starts in five minutes."])
]
PhoneNumber = Annotated[str, Field(pattern=E164_PATTERN, examples=["+14155552671"])]
Zone = Annotated[str, Field(pattern=ZONE_PATTERN, max_length=64, examples=["America/New_York"])]
LocalDateTime = Annotated[
    str, Field(pattern=LOCAL_DATE_TIME_PATTERN, examples=["2030-03-25T09:00:00"])
]
LineId = Annotated[str, Field(min_length=1, examples=["line_ZUPZr1xosCZflB3jSsvu"])]
RecurrenceType = Literal["daily", "weekly", "custom", "cron"]
RecurrenceConfig = dict[str, Any] | str
"""``{"interval_days": N}``, ``{"weekdays": […]}``, ``{"expression": "…"}`` or a JSON string."""
ReminderStatus = Literal["scheduled", "paused", "in_progress", "completed", "failed", "suppressed"]
ExecutionStatus = Literal[
    "queued",
    "in_progress",
    "completed",
    "voicemail",
    "no_answer",
    "busy",
    "failed",
    "missed",
    "canceled",
    "skipped",
]
SkipReason = Literal[
    "suppressed",
    "consent_missing",
    "outside_calling_window",
    "retry_window_closed",
    "frequency_cap",
    "vetoed",
    "predial_unavailable",
]
Confirmation = Literal["confirmed", "snoozed", "opted_out", "no_input"]
Instant = AwareDatetime
"""An RFC 3339 UTC time with ``Z``."""


def no_default(schema: dict[str, Any]) -> None:
    """Drop the ``null`` default of a field that may be left out but never sent as null."""
    schema.pop("default", None)


class Request(BaseModel):
    """A request body: unknown fields are a ``validation_error``."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    """A response body: every field always present (``null`` where empty), nothing else."""

    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------- calling
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Weekday = Annotated[int, Field(ge=0, le=6)]


class WindowHours(BaseModel):
    """Hours on some weekdays: from ``start`` through the minute ``end`` (``start`` ≤ ``end``)."""

    model_config = ConfigDict(extra="forbid")

    start: Annotated[str, Field(pattern=HHMM_PATTERN, examples=["09:00"])]
    end: Annotated[str, Field(pattern=HHMM_PATTERN, examples=["18:00"])]
    days: list[Weekday] | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        max_length=7,
        json_schema_extra={"uniqueItems": True, "default": [0, 1, 2, 3, 4, 5, 6]},
    )
    """Distinct weekdays, 0 = Sunday (default all seven); returned sorted."""


class WindowProfile(BaseModel):
    """A built-in profile: ``default`` (08:00–21:00 every day) or ``us_strict``."""

    model_config = ConfigDict(extra="forbid")

    profile: Literal["default", "us_strict"]


class WindowBypass(BaseModel):
    """No window for this reminder or call (audited; allowed by the organization's policy)."""

    model_config = ConfigDict(extra="forbid")

    bypass: Literal[True]
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class BypassedBy(Response):
    """Who set a bypass."""

    type: str
    id: str | int | None
    user_id: str | None


class WindowBypassShown(Response):
    """A bypass as read back: with who set it and when."""

    bypass: Literal[True]
    reason: str
    bypassed_at: Instant | None
    bypassed_by: BypassedBy


CallingWindow = WindowHours | WindowProfile | WindowBypass
"""A reminder's or call's own window: narrower hours, a profile, or a bypass."""
Delays = Annotated[list[Annotated[int, Field(ge=1, le=86400)]], Field(min_length=1, max_length=10)]


class RetryDelays(BaseModel):
    """Seconds between attempts by the outcome that ended the previous one (null: not retried)."""

    model_config = ConfigDict(extra="forbid")

    busy: Delays | None = None
    no_answer: Delays | None = None
    failed: Delays | None = None
    voicemail: Delays | None = None


class RetryPolicy(BaseModel):
    """The attempt budget of one occurrence and the delays between attempts."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(ge=1, le=10)
    delays: RetryDelays | None = None


Lateness = Annotated[int, Field(ge=60, le=86400)]
Purpose = Literal["informational", "marketing"]


# ----------------------------------------------------------------------------- text fallback
TemplateId = Annotated[str, Field(pattern=trimmed_text_pattern(40), examples=["tpl_7Yc2"])]
"""A message template's id (``tpl_…``); anything else is a ``validation_error``."""
VariableValue = Annotated[
    str, Field(min_length=1, max_length=255, pattern=SEARCH_PATTERN, examples=["Ada"])
]
"""A slot's value: 1–255 characters without control characters."""
Variables = dict[str, VariableValue]
FallbackAfter = Literal["final_failure", "no_answer", "voicemail"]


class ReminderFallback(Request):
    """A reminder's SMS fallback (``telephony.md`` §4.6): one text when an occurrence ends
    unreached. Setting one needs ``messages:write`` too (else 403 ``insufficient_scope``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "channel": "sms",
                    "template_id": "tpl_7Yc2",
                    "after": "final_failure",
                    "variables": {"clinic": "Elm Street"},
                }
            ]
        },
    )

    channel: Literal["sms"]
    template_id: TemplateId
    """An unarchived template of the organization allowing ``sms`` (its current version is
    used when sending)."""
    after: FallbackAfter
    """``final_failure``: the occurrence's last attempt ended ``no_answer``, ``busy`` or
    ``failed``; ``no_answer``: it ended ``no_answer``; ``voicemail``: an attempt ended
    ``voicemail``."""
    variables: Variables | None = None
    """With the built-ins (``reminder_title``, ``reminder_message``, ``scheduled_local``,
    ``line_number``, which may not be given) they fill every slot."""


class ReminderFallbackShown(Response):
    """A reminder's SMS fallback as read back."""

    channel: Literal["sms"]
    template_id: str
    after: FallbackAfter
    variables: dict[str, str]


# ----------------------------------------------------------------------------- inbound routes
NonBlank = f"^[{_WS}]*[^{_WS}]"
"""At least one character ``str.strip()`` keeps."""
Feature = Literal["mms", "sms", "voice"]
"""A number's or line's feature; lists are sorted."""
Carrier = Literal["simulated", "telnyx"]


class ReadbackRoute(Request):
    """Dialcues' own assistant reads the caller's upcoming reminders (titles and times)."""

    type: Literal["reminders_readback"]


class AssistantRoute(Request):
    """The organization's saved Vapi assistant answers (the id is not checked with Vapi)."""

    type: Literal["assistant"]
    assistant_id: Annotated[str, Field(min_length=1, max_length=64, pattern=NonBlank)]


class TransferRoute(Request):
    """The call is forwarded to ``number``: not premium-rate, not a line of the organization."""

    type: Literal["transfer"]
    number: PhoneNumber


class MessageRoute(Request):
    """``text`` is spoken (trimmed), then the call ends."""

    type: Literal["message"]
    text: Annotated[str, Field(pattern=trimmed_text_pattern(1000, nul=True))]


class RejectRoute(Request):
    """The call is refused with the reject sentence."""

    type: Literal["reject"]


DecidedRoute = Annotated[
    ReadbackRoute | AssistantRoute | TransferRoute | MessageRoute | RejectRoute,
    Field(discriminator="type"),
]
"""Any route but ``external``: an ``external`` call's decision or fallback, an inbound
execution's ``route``."""
TimeoutMs = Annotated[int, Field(ge=500, le=5000)]


class ExternalRoute(Request):
    """The organization's platform decides (``POST /calls/inbound/answer``) within
    ``timeout_ms``; then ``fallback`` applies (null or left out: ``reject``)."""

    type: Literal["external"]
    timeout_ms: TimeoutMs | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": 4000}
    )
    fallback: DecidedRoute | None = None


class ExternalRouteShown(Response):
    """An ``external`` route as read back: every default filled in."""

    type: Literal["external"]
    timeout_ms: TimeoutMs
    fallback: DecidedRoute


LineRoute = Annotated[
    ReadbackRoute | AssistantRoute | TransferRoute | MessageRoute | RejectRoute | ExternalRoute,
    Field(discriminator="type"),
]
"""A line's route as a request sets it (``PATCH /lines/{id}``)."""
LineRouteShown = Annotated[
    ReadbackRoute
    | AssistantRoute
    | TransferRoute
    | MessageRoute
    | RejectRoute
    | ExternalRouteShown,
    Field(discriminator="type"),
]
"""A line's route as read back."""


# ----------------------------------------------------------------------------- requests
_CREATE_EXAMPLE: dict[str, JsonValue] = {
    "title": "Stand-up",
    "message": "Stand-up starts in five minutes.",
    "phone_number": "+14155552671",
    "timezone": "America/New_York",
    "scheduled_at": "2030-03-25T09:00:00",
    "recurrence_type": "cron",
    "recurrence_config": {"expression": "0 9 * * 1-5"},
}


class CreateReminder(Request):
    """``POST /reminders``: schedule a reminder (the time must be in the future)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CREATE_EXAMPLE]})

    title: Title
    message: Message
    phone_number: PhoneNumber
    timezone: Zone
    scheduled_at: LocalDateTime
    vapi_line_id: LineId | None = None
    recurrence_type: RecurrenceType | None = None
    recurrence_config: RecurrenceConfig | None = None
    recurrence_end_at: LocalDateTime | None = None
    purpose: Purpose | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": "informational"}
    )
    calling_window: CallingWindow | None = None
    max_lateness_seconds: Lateness | None = None
    retry_policy: RetryPolicy | None = None
    fallback: ReminderFallback | None = None
    """The SMS fallback (null or left out: none)."""


class UpdateReminder(Request):
    """``PATCH /reminders/{id}``: any create field, or ``status`` to pause or resume."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"minProperties": 1, "examples": [{"status": "paused"}]},
    )

    title: Title | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    message: Message | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    phone_number: PhoneNumber | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default
    )
    timezone: Zone | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    scheduled_at: LocalDateTime | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default
    )
    status: Literal["paused", "scheduled"] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default
    )
    vapi_line_id: LineId | None = None
    recurrence_type: RecurrenceType | None = None
    recurrence_config: RecurrenceConfig | None = None
    recurrence_end_at: LocalDateTime | None = None
    purpose: Purpose | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    calling_window: CallingWindow | None = None
    max_lateness_seconds: Lateness | None = None
    retry_policy: RetryPolicy | None = None
    fallback: ReminderFallback | None = None
    """The SMS fallback; null clears it."""


# ----------------------------------------------------------------------------- responses
class Reminder(Response):
    """A reminder."""

    id: int
    title: str
    message: str
    phone_number: str
    scheduled_at: Instant
    timezone: str
    status: ReminderStatus
    vapi_line_id: str | None
    outbound_line_label: str | None
    recurrence_type: RecurrenceType | None
    recurrence_config: dict[str, Any] | None
    recurrence_end_at: Instant | None
    retry_count: int = Field(ge=0)
    next_attempt_at: Instant | None
    last_execution_id: int | None
    created_at: Instant
    updated_at: Instant
    purpose: Purpose
    calling_window: WindowHours | WindowProfile | WindowBypassShown | None
    max_lateness_seconds: int | None
    retry_policy: RetryPolicy | None
    next_eligible_at: Instant | None
    """When the next attempt may be placed: the window's opening after it is due; null when
    that is past the deadline or the reminder is not scheduled."""
    fallback: ReminderFallbackShown | None
    """The SMS fallback (``telephony.md`` §4.6), or null."""


class ExecutionAction(Response):
    """One in-call action (``responsible-calling.md`` §11), in the order they came."""

    type: Literal["confirm", "snooze", "stop"]
    at: Instant
    via: Literal["keypad", "voice", "transcript"]
    outcome: Literal["applied", "refused"]
    detail: dict[str, Any]
    """A snooze's ``{"minutes", "attempt_at"}``; a refusal's ``{"refusal"}``
    (``budget_exhausted``, ``past_deadline``, ``call_ended``, ``opted_out``,
    ``invalid_arguments``)."""


class Execution(Response):
    """One call: an outbound attempt, or an inbound call to a routed line (times carry
    milliseconds). Inbound: ``to`` is the line's number and ``reminder_id`` is null."""

    id: int
    reminder_id: int | None
    reminder_title: str | None
    status: ExecutionStatus
    attempt: int = Field(ge=0)
    call_id: str | None
    line_id: str | None
    to: str
    scheduled_for: Instant
    executed_at: Instant | None
    ended_at: Instant | None
    ended_reason: str | None
    duration_s: int | None
    cost: float | None
    error_message: str | None
    purpose: Purpose
    occurrence_at: Instant
    skip_reason: SkipReason | None
    confirmation: Confirmation | None
    """What the person said on the call; ``no_input`` for a completed call without action."""
    confirmed_at: Instant | None
    actions: list[ExecutionAction]
    direction: Literal["outbound", "inbound"]
    from_: str | None = Field(alias="from")
    """Outbound: the line's number (null when recorded before lines were kept); inbound: the
    caller (null when withheld)."""
    route: DecidedRoute | None
    """Inbound: the route applied (null until an ``external`` call is decided); outbound:
    null."""
    answer_by: Instant | None
    """Inbound on an ``external`` route: when the line's fallback applies; else null."""
    fallback_message_id: str | None
    """The reminder's SMS fallback this attempt's outcome triggered (``msg_…``), or null."""


class PageFields(Response):
    """The envelope of a paginated listing (``items`` is each listing's own)."""

    total: int = Field(ge=0)
    page: int = Field(ge=1)
    page_size: int = Field(ge=1, le=100)
    total_pages: int = Field(ge=0)


class ReminderPage(PageFields):
    """One page of reminders."""

    items: list[Reminder]


class ExecutionPage(PageFields):
    """One page of executions, newest first."""

    items: list[Execution]


class Line(Response):
    """A line of the organization: calls go out from it and come in to it."""

    id: str
    label: str | None
    phone_number: str
    provider: Literal["simulated", "vapi"]
    is_default: bool
    features: list[Feature]
    carrier: Carrier | None
    """The carrier its messages go through; null: it sends none."""
    number_id: str | None
    """The number record (``num_…``) whose assign created it."""
    route: LineRouteShown | None
    """Its inbound route; null: it refuses every inbound call."""


class LineList(Response):
    """The organization's outbound lines, oldest first (not paginated)."""

    items: list[Line]


class MeUser(Response):
    """The user a credential acts as."""

    id: str
    email: str
    name: str


class Me(Response):
    """``GET /me``: who the credential acts as."""

    user: MeUser
    organization_id: str
    api_key_id: str | None
    """The API key's id; null for an OAuth access token."""
    client_id: str | None
    """The OAuth client's id; null for an API key."""


class Workers(Response):
    """The dispatching processes (``serve`` with a dispatcher, ``worker``) by their heartbeats."""

    alive: int | None
    """How many sent a heartbeat in the last 30 s (null while the database is unavailable)."""
    last_seen_at: Instant | None
    """The newest heartbeat of any of them."""


class Health(Response):
    """``GET /health``: version, database, dispatchers and the dispatch backlog."""

    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unavailable"]
    dispatcher: Literal["running", "not in this process"]
    """Whether this process runs a dispatcher."""
    workers: Workers
    oldest_due_at: Instant | None
    """The earliest due time of an attempt due now and not yet dialed (null: none waits)."""
    last_claim_at: Instant | None
    """When any dispatcher last claimed an attempt."""
    tzdata: str
    """The IANA version of the time-zone rules in use (e.g. 2026f)."""


class Liveness(Response):
    """``GET /healthz``: the database answers."""

    status: Literal["ok"]


# ----------------------------------------------------------------------------- errors
class ErrorDetail(Response):
    """The contract's error: a stable ``code``, a sentence, safe structured details."""

    code: str = Field(examples=["validation_error"])
    message: str
    details: dict[str, Any] | None


class ErrorBody(Response):
    """``{"error": {"code", "message", "details"}}`` — every error, unless problem+json."""

    error: ErrorDetail


class ProblemError(Response):
    """One invalid field of a problem: what is wrong, and where (exactly one of the three).

    ``pointer``: an RFC 6901 JSON Pointer into the body; ``parameter``: a query parameter;
    ``header``: a request header (``Idempotency-Key``).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": [name]} for name in ("pointer", "parameter", "header")]
        },
    )

    detail: str
    pointer: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default, examples=["/phone_number"]
    )
    parameter: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default, examples=["page"]
    )
    header: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default, examples=["Idempotency-Key"]
    )

    @model_validator(mode="after")
    def _one_location(self) -> ProblemError:
        located = [v for v in (self.pointer, self.parameter, self.header) if v is not None]
        if len(located) != 1:
            raise ValueError("exactly one of pointer, parameter and header")
        return self


class Problem(Response):
    """RFC 9457 problem details, for a client whose ``Accept`` prefers them."""

    type: str = Field(examples=["https://dialcues.dev/errors/validation_error"])
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str
    code: str
    request_id: str | None
    errors: list[ProblemError] | None = None
    deprecation: str | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=no_default,
        description="`gone` only: the id of the deprecation that removed the route.",
        examples=["old-route"],
    )


class OpenApiDocument(BaseModel):
    """``GET /openapi.json``: an OpenAPI 3.1 document (this one)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
