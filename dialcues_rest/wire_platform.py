"""Wire models of the platform routes: OAuth tokens, calls, the smoke check, usage, webhooks.

The same rules as :mod:`dialcues_rest.wire` (whose base classes and patterns these reuse):
request models as tight as the core's validation where JSON Schema can say it exactly,
response models that forbid unknown fields.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from dialcues_rest.wire import (
    Instant,
    LineId,
    Message,
    PageFields,
    PhoneNumber,
    Purpose,
    Request,
    Response,
    Title,
    WindowBypass,
    Zone,
    no_default,
)


# ----------------------------------------------------------------------------- OAuth
class TokenRequest(BaseModel):
    """``POST /api/oauth/token`` (form-encoded): client credentials in the body or Basic.

    Unknown parameters are ignored (RFC 6749 §3.2).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"grant_type": "client_credentials", "client_id": "cli_…", "client_secret": "…"}
            ]
        },
    )

    grant_type: Literal["client_credentials"]
    client_id: str | SkipJsonSchema[None] = Field(
        default=None, min_length=1, json_schema_extra=no_default
    )
    client_secret: str | SkipJsonSchema[None] = Field(
        default=None, min_length=1, json_schema_extra=no_default
    )
    scope: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=no_default, examples=["reminders:read lines:read"]
    )


class TokenResponse(Response):
    """An access token: use it as ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=1)
    scope: str


class OAuthErrorBody(Response):
    """RFC 6749 §5.2: the token endpoint's own error shape."""

    error: Literal["invalid_request", "invalid_client", "invalid_scope", "unsupported_grant_type"]
    error_description: str


# ----------------------------------------------------------------------------- calls, smoke
class PlaceCall(Request):
    """``POST /calls``: call a number now with a spoken message."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"to": "+14155552671", "message": "Your table is ready."}]},
    )

    to: PhoneNumber
    message: Message
    title: Title | None = None
    vapi_line_id: LineId | None = None
    purpose: Purpose | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": "informational"}
    )
    timezone: Zone | None = None
    """Where the person is (the window's zone); required when the number does not say."""
    calling_window: WindowBypass | None = None
    """A bypass of the calling window (audited), or null."""


class SmokeRequest(Request):
    """``POST /agent/smoke``: no field (an empty body or ``{}``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"maxProperties": 0})


class SmokeStep(Response):
    """One step of the smoke flow."""

    name: str
    duration_ms: int = Field(ge=0)
    result: Literal["ok", "failed"]
    detail: str


class SmokeReport(Response):
    """A passed smoke flow: every step ``ok``."""

    status: Literal["ok"]
    steps: list[SmokeStep]


# ----------------------------------------------------------------------------- usage
class UsageEvent(Response):
    """One answered request under ``/api/public/v1`` (failed authentication included)."""

    id: int | None
    occurred_at: Instant
    request_id: str | None
    api_key_id: str | None
    client_id: str | None
    user_id: str | None
    organization_id: str | None
    method: str
    route: str | None
    """The route template (``/reminders/{id}``); null when no route matched."""
    status: int
    code: str | None
    latency_ms: float = Field(ge=0)
    idempotent_replay: bool
    deprecated: bool
    """The request used an entry of the deprecation registry (``GET /deprecations``)."""


class UsageEventPage(PageFields):
    """One page of usage events, newest first."""

    items: list[UsageEvent]


# ----------------------------------------------------------------------------- webhooks
WebhookEvent = Literal[
    "execution.started",
    "execution.finished",
    "execution.skipped",
    "reminder.completed",
    "reminder.failed",
    "reminder.suppressed",
    "suppression.created",
    "suppression.removed",
    "consent.revoked",
    "number.assigned",
    "number.assign_failed",
    "number.released",
    "call.ringing",
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.received",
]
"""Every event a subscription may list (``suppression.*`` needs ``suppressions:read`` on the
credential, ``consent.*`` ``consents:read``, ``number.*`` ``numbers:read``, ``call.ringing``
``executions:read``, ``message.received`` ``messages:read``)."""
WebhookUrl = Annotated[
    str,
    Field(
        min_length=1,
        description="An absolute https URL of a public host (at most 2048 characters).",
        examples=["https://example.com/hooks/dialcues"],
    ),
]
WebhookEvents = Annotated[list[WebhookEvent], Field(min_length=1)]


class CreateSubscription(Request):
    """``POST /webhooks/subscriptions``: where to send which events."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://example.com/hooks/dialcues", "events": ["execution.finished"]}
            ]
        },
    )

    url: WebhookUrl
    events: WebhookEvents


class UpdateSubscription(Request):
    """``PATCH /webhooks/subscriptions/{id}``: change ``url``, ``events`` or ``enabled``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"minProperties": 1, "examples": [{"enabled": False}]},
    )

    url: WebhookUrl | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    events: WebhookEvents | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)
    enabled: bool | SkipJsonSchema[None] = Field(default=None, json_schema_extra=no_default)


class Subscription(Response):
    """A webhook subscription (never its secret)."""

    id: str
    url: str
    events: list[WebhookEvent]
    enabled: bool
    disabled_reason: Literal["by_user", "gone", "failing"] | None
    created_at: Instant
    updated_at: Instant


class SubscriptionWithSecret(Subscription):
    """A subscription with its new signing secret, shown this once."""

    secret: str


class SubscriptionPage(PageFields):
    """One page of subscriptions, oldest first."""

    items: list[Subscription]


class Delivery(Response):
    """One delivery attempt of a webhook message."""

    id: int
    message_id: str
    event_type: str
    attempt: int = Field(ge=1)
    status_code: int | None
    latency_ms: int = Field(ge=0)
    error: str | None
    attempted_at: Instant


class DeliveryPage(PageFields):
    """One page of delivery attempts, newest first."""

    items: list[Delivery]


# ----------------------------------------------------------------------------- deprecations
class DeprecationPolicy(Response):
    """The policy every deprecation follows."""

    minimum_notice_months: int = Field(ge=12)
    """The least time between an announcement and its sunset."""
    changelog: str
    """The changelog; each entry has an anchor named after its id."""


class DeprecationEntry(Response):
    """One announced breaking change: it works as before until its sunset."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    kind: Literal[
        "route",
        "query_parameter",
        "request_field",
        "response_field",
        "event_type",
        "rpc",
        "rpc_field",
    ]
    target: str = Field(examples=["GET /executions response:cost"])
    announced_at: date
    """The day of the release that announced it."""
    sunset_at: date
    """The first day it may stop working (at least 12 calendar months later)."""
    replacement: str | None
    """What to use instead; null when nothing replaces it."""
    removed: bool
    """Whether a release removed it after its sunset."""


class DeprecationList(Response):
    """``GET /deprecations``: the policy and the registry, oldest entry first."""

    policy: DeprecationPolicy
    items: list[DeprecationEntry]
