"""Wire models of message templates and messages (``telephony.md`` §4.1, §4.3).

The same rules as :mod:`dialcues_rest.wire` (whose base classes and patterns these reuse):
request models as tight as the core's validation where JSON Schema can say it exactly and
looser where it cannot — a body is measured after normalization, a slot's syntax, a marketing
template's footer, the variables a template needs — so a schema-valid request the core refuses
is a 400. Response models forbid unknown fields. Times carry milliseconds.

The reminder's ``fallback`` lives in :mod:`dialcues_rest.wire` beside the reminder it belongs
to; its variable values are :data:`VariableValue` too.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from dialcues_rest.wire import (
    Instant,
    PageFields,
    PhoneNumber,
    Purpose,
    Request,
    Response,
    TemplateId,
    Variables,
    Zone,
    no_default,
    trimmed_text_pattern,
)

ChannelName = Literal["sms", "mms", "rcs"]
MessageStatus = Literal[
    "queued", "sending", "sent", "delivered", "undelivered", "failed", "received"
]
MessageErrorCode = Literal[
    "carrier_rejected",
    "undeliverable",
    "recipient_suppressed",
    "consent_required",
    "outside_calling_window",
    "campaign_not_registered",
    "outcome_unknown",
    "line_released",
    "template_archived",
    "channel_unavailable",
]
"""A failed or undelivered message's ``error_code``."""
TEMPLATE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
TemplateName = Annotated[
    str, Field(pattern=TEMPLATE_NAME_PATTERN, examples=["appointment-reminder"])
]
TemplateBody = Annotated[
    str,
    Field(
        min_length=1,
        pattern=r"^[^\x00]*$",
        description=(
            "1–1600 characters after normalization (NFC; CR LF and CR become LF; trailing "
            "spaces and tabs leave each line; leading and trailing blank lines go). Slots are "
            "`{{ name }}` with `name` matching `[a-z][a-z0-9_]{0,31}`, at most 20 distinct; "
            "any other `{{` or `}}` is a `validation_error`."
        ),
        examples=["Hi {{first_name}}, see you at {{time}}."],
    ),
]
Channels = Annotated[
    list[ChannelName],
    Field(min_length=1, max_length=3, json_schema_extra={"uniqueItems": True}),
]
Description = Annotated[str, Field(pattern=trimmed_text_pattern(255))]
MediaUrl = Annotated[
    str,
    Field(
        max_length=2000,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]://",
        examples=["https://example.com/card.png"],
    ),
]
ContentHash = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]


# ----------------------------------------------------------------------------- templates
class CreateMessageTemplate(Request):
    """``POST /message-templates``: a new template of the organization (version 1)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "appointment-reminder",
                    "body": "Hi {{ first_name }}, see you at {{ time }}.",
                    "channels": ["sms"],
                    "purpose": "informational",
                }
            ]
        },
    )

    name: TemplateName
    """Unique among the organization's unarchived templates (else 409 ``already_exists``)."""
    body: TemplateBody
    channels: Channels
    purpose: Purpose
    opt_out_footer: bool | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": False}
    )
    """When true, "\\n\\nReply STOP to opt out." ends every message. Marketing: always true
    (false is a ``validation_error``)."""
    description: Description | None = None


class UpdateMessageTemplate(Request):
    """``PATCH /message-templates/{id}``: a change of ``body``, ``channels``, ``purpose`` or
    ``opt_out_footer`` makes a new version; ``name`` and ``description`` change in place."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "minProperties": 1,
            "examples": [
                {"body": "Hi {{ first_name }}, see you at {{ time }}. Reply C to confirm."}
            ],
        },
    )

    name: TemplateName | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    body: TemplateBody | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    channels: Channels | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    purpose: Purpose | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    opt_out_footer: bool | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    description: Description | None = None
    """Null clears it."""


class MessageTemplateVersion(Response):
    """One immutable version of a template's content."""

    template_id: str = Field(examples=["tpl_7Yc2"])
    version: int = Field(ge=1)
    body: str
    """Normalized: slots written ``{{name}}``."""
    channels: list[ChannelName]
    purpose: Purpose
    opt_out_footer: bool
    variables: list[str]
    """The slot names, sorted."""
    content_hash: ContentHash
    """``sha256:`` and the hex SHA-256 of the body plus the footer when on."""
    created_at: Instant


class MessageTemplate(Response):
    """A template of the organization (``tpl_…``) with its current version's content."""

    id: str = Field(examples=["tpl_7Yc2"])
    name: str
    description: str | None
    version: int = Field(ge=1)
    body: str
    channels: list[ChannelName]
    purpose: Purpose
    opt_out_footer: bool
    variables: list[str]
    content_hash: ContentHash
    created_at: Instant
    updated_at: Instant
    archived_at: Instant | None
    """Set once archived (``DELETE``): still readable, no longer sendable."""


class MessageTemplatePage(PageFields):
    """One page of the organization's templates, newest first."""

    items: list[MessageTemplate]


class MessageTemplateVersionPage(PageFields):
    """One page of a template's versions, newest first."""

    items: list[MessageTemplateVersion]


# ----------------------------------------------------------------------------- messages
class SendMessage(Request):
    """``POST /messages``: render a template for one recipient and queue it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": "+14155550100",
                    "from": "+14155550142",
                    "channel": "sms",
                    "template_id": "tpl_7Yc2",
                    "template_version": 3,
                    "variables": {"first_name": "Ada", "time": "3 pm"},
                }
            ]
        },
    )

    to: PhoneNumber
    from_: PhoneNumber | SkipJsonSchema[None] = Field(
        default=None, alias="from", json_schema_extra=no_default
    )
    """One of the organization's lines that has a carrier and the channel's feature
    (default: the default line, when it qualifies)."""
    channel: ChannelName
    """One of the template's channels; ``rcs`` needs the organization's RCS agent."""
    template_id: TemplateId
    template_version: int | SkipJsonSchema[None] = Field(
        default=None, ge=1, le=1_000_000, json_schema_extra=no_default
    )
    """Default: the current version; an older one may be named."""
    variables: Variables | None = None
    """Exactly the template's slots: a missing or extra name is a ``validation_error``
    naming ``variables.<name>``."""
    media_urls: list[MediaUrl] | SkipJsonSchema[None] = Field(
        default=None, min_length=1, max_length=10, json_schema_extra=no_default
    )
    """``mms`` only, and required there: 1–10 https URLs."""
    fallback_channel: Literal["sms"] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default
    )
    """``rcs`` only, when the template allows ``sms``."""
    timezone: Zone | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    """Marketing only: the recipient's zone, when the number gives none."""


class MessageCost(Response):
    """What the carrier charged: a decimal string, never a float."""

    amount: Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["0.0040"])]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


class Message(Response):
    """A text message (``msg_…``): the caller's outbound, or the organization's inbound and
    keyword replies."""

    id: str = Field(examples=["msg_4Jq9vW2x"])
    direction: Literal["outbound", "inbound"]
    source: Literal["api", "reminder_fallback", "keyword_reply"] | None
    """Null for inbound messages."""
    channel: ChannelName
    delivered_channel: ChannelName | None
    """RCS with a fallback: the channel that delivered it."""
    status: MessageStatus
    to: str
    from_: str | None = Field(alias="from")
    line_id: str | None
    template_id: str | None
    template_version: int | None
    content_hash: ContentHash | None
    purpose: Purpose | None
    """Null for inbound messages."""
    text: str
    media_urls: list[str]
    fallback_channel: Literal["sms"] | None
    execution_id: int | None
    reminder_id: int | None
    segments: int | None
    cost: MessageCost | None
    error_code: MessageErrorCode | None
    carrier_error_code: str | None
    """The carrier's own code (open: new values may appear)."""
    error_message: str | None
    created_at: Instant
    sent_at: Instant | None
    completed_at: Instant | None
    updated_at: Instant


class MessagePage(PageFields):
    """One page of messages, newest first."""

    items: list[Message]
