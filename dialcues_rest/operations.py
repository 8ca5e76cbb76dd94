"""Per-operation metadata of every route in ``routes.ROUTES``: the OpenAPI document's input.

The scope of each operation is not written here: the document takes it from the use case the
route runs (``Route.uses``), where the core declares it.

Keyed by ``(method, path)`` exactly as the route table spells them; ``openapi.document``
refuses a route without an entry here (and an entry without a route).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.audit.model import ACTIONS as AUDIT_ACTIONS
from dialcues_core.audit.service import SUBJECT_TYPES
from dialcues_core.calls.executions import CONFIRMATIONS, SKIP_REASONS
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.reminders.model import ReminderStatus
from dialcues_core.reminders.service import REMINDER_SORTS
from dialcues_rest import wire
from dialcues_rest import wire_calling as wc
from dialcues_rest import wire_platform as wp
from dialcues_rest.openapi_parts import (
    PAGE,
    PAGE_SIZE,
    RATE_LIMIT_HEADERS,
    Json,
    Operation,
    date_bound,
    query_parameter,
)
from dialcues_rest.operations_consent import CONSENT_OPERATIONS
from dialcues_rest.operations_messages import MESSAGE_OPERATIONS
from dialcues_rest.operations_numbers import NUMBER_OPERATIONS
from dialcues_rest.routes import BASE


# ----------------------------------------------------------------------------- query parameters
def _status(values: list[str]) -> Json:
    return query_parameter("status", "Only this status.", {"type": "string", "enum": values})


REMINDER_QUERY: Final = (
    _status([s.value for s in ReminderStatus]),
    query_parameter(
        "search",
        "Case-insensitive, Unicode-aware substring of the title or the message.",
        {"type": "string", "minLength": 1, "maxLength": 255, "pattern": wire.SEARCH_PATTERN},
    ),
    date_bound("date_from", "scheduled_at", inclusive=True),
    date_bound("date_to", "scheduled_at", inclusive=False),
    query_parameter(
        "sort",
        "Order (default `scheduled_at_asc`).",
        {"type": "string", "enum": list(REMINDER_SORTS)},
    ),
    PAGE,
    PAGE_SIZE,
)
EXECUTION_QUERY: Final = (
    _status([s.value for s in ExecutionStatus]),
    query_parameter(
        "reminder_id",
        "Only attempts of this reminder.",
        {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1},
    ),
    date_bound("date_from", "executed_at", inclusive=True),
    date_bound("date_to", "executed_at", inclusive=False),
    query_parameter(
        "skip_reason",
        "Only attempts the gate skipped for this reason.",
        {"type": "string", "enum": list(SKIP_REASONS)},
    ),
    query_parameter(
        "confirmation",
        "Only attempts whose person answered so (section 11 of responsible calling).",
        {"type": "string", "enum": list(CONFIRMATIONS)},
    ),
    query_parameter(
        "to",
        "Only attempts to this number (E.164; encode `+` as `%2B`).",
        {"type": "string", "pattern": wire.E164_PATTERN},
    ),
    query_parameter(
        "direction",
        "Only outbound attempts, or only inbound calls (the organization's).",
        {"type": "string", "enum": ["outbound", "inbound"]},
    ),
    PAGE,
    PAGE_SIZE,
)

USAGE_QUERY: Final = (
    date_bound("date_from", "occurred_at", inclusive=True),
    date_bound("date_to", "occurred_at", inclusive=False),
    query_parameter(
        "route",
        "Only this route template, e.g. `/reminders/{id}`.",
        {"type": "string", "pattern": wire.trimmed_text_pattern(255)},
    ),
    query_parameter(
        "status", "Only this HTTP status.", {"type": "integer", "minimum": 0, "maximum": 999}
    ),
    query_parameter(
        "code",
        "Only this error code.",
        {"type": "string", "pattern": wire.trimmed_text_pattern(64)},
    ),
    query_parameter(
        "deprecated",
        "Only requests that used a deprecation (`true`), or only the others (`false`).",
        {"type": "string", "enum": ["true", "false"]},
    ),
    PAGE,
    PAGE_SIZE,
)

AUDIT_QUERY: Final = (
    query_parameter("action", "Only this action.", {"type": "string", "enum": list(AUDIT_ACTIONS)}),
    query_parameter(
        "subject_type",
        "Only events about this kind of subject.",
        {"type": "string", "enum": list(SUBJECT_TYPES)},
    ),
    query_parameter(
        "subject_id",
        "Only events about this subject (with `subject_type`, or alone).",
        {"type": "string", "pattern": wire.trimmed_text_pattern(100)},
    ),
    date_bound("date_from", "occurred_at", inclusive=True),
    date_bound("date_to", "occurred_at", inclusive=False),
    PAGE,
    PAGE_SIZE,
)

SUBSCRIPTION_ID: Final = {"type": "string", "minLength": 1, "maxLength": 40}
SUBSCRIPTIONS: Final = f"{BASE}/webhooks/subscriptions"


def _webhook(operation_id: str, summary: str, response: Any, **more: Any) -> Operation:
    return Operation(
        operation_id,
        summary,
        "webhooks",
        response,
        path_id=SUBSCRIPTION_ID,
        **more,
    )


def _oauth_error(description: str) -> Json:
    return {
        "description": description,
        "headers": {
            "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"},
            "Cache-Control": {"$ref": "#/components/headers/Cache-Control"},
            "Pragma": {"$ref": "#/components/headers/Pragma"},
            "WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"},
        },
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/OAuthErrorBody"}}
        },
    }


OAUTH_RATE_LIMITED: Final[Json] = {
    "description": "`rate_limited`, in OAuth's shape: retry after `Retry-After` seconds.",
    "headers": {
        name: {"$ref": f"#/components/headers/{name}"}
        for name in ("X-Request-Id", "Retry-After", *RATE_LIMIT_HEADERS, "Cache-Control", "Pragma")
    },
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {"const": "rate_limited"},
                    "error_description": {"type": "string"},
                },
                "required": ["error", "error_description"],
                "additionalProperties": False,
            }
        }
    },
}
"""The token endpoint's 429: OAuth's error shape, with the rate-limit headers."""


# ----------------------------------------------------------------------------- operations
OPERATIONS: Final[Mapping[tuple[str, str], Operation]] = {
    ("GET", "/healthz"): Operation(
        "getLiveness",
        "Liveness for load balancers: 200 when the database answers, else 503.",
        "health",
        wire.Liveness,
        public=True,
        rejects_query=False,
        errors=(503,),
    ),
    ("POST", "/api/oauth/token"): Operation(
        "issueToken",
        "Exchange OAuth client credentials for an access token.",
        "oauth",
        wp.TokenResponse,
        public=True,
        request=wp.TokenRequest,
        request_media="application/x-www-form-urlencoded",
        idempotent=False,
        notes=(
            "Form-encoded `grant_type=client_credentials` with `client_id` and "
            "`client_secret` in the body, or HTTP Basic (never both); optional `scope`, a "
            "subset of the client's. No refresh token. Errors use OAuth's own shape (the "
            "429 `rate_limited` too)."
        ),
        success_headers=("Cache-Control", "Pragma"),
        errors=(503,),
        own_errors={
            400: _oauth_error("`invalid_request`, `invalid_scope` or `unsupported_grant_type`."),
            401: _oauth_error("`invalid_client`."),
            429: OAUTH_RATE_LIMITED,
        },
        extra_models=(wp.OAuthErrorBody,),
    ),
    ("GET", f"{BASE}/openapi.json"): Operation(
        "getOpenApi", "This OpenAPI document.", "meta", wire.OpenApiDocument, public=True
    ),
    ("GET", f"{BASE}/deprecations"): Operation(
        "listDeprecations",
        "The deprecation registry: what will stop working, from when, and what replaces it.",
        "meta",
        wp.DeprecationList,
        public=True,
        notes=(
            "Every reply of a deprecated route, or to a request that used a deprecated "
            "parameter or field, carries `Deprecation`, `Sunset` and `Link` (docs/public-api.md)."
        ),
    ),
    ("GET", f"{BASE}/me"): Operation("getMe", "Who the credential acts as.", "meta", wire.Me),
    ("GET", f"{BASE}/health"): Operation(
        "getHealth", "Version, database and dispatcher state.", "health", wire.Health
    ),
    ("POST", f"{BASE}/reminders"): Operation(
        "createReminder",
        "Schedule a reminder.",
        "reminders",
        wire.Reminder,
        status=201,
        request=wire.CreateReminder,
        notes=(
            "`scheduled_at` is a local time in `timezone` (or an instant) in the future; "
            "an unknown zone, an invalid number or a past time is a `validation_error`; an "
            "organization without a line is `missing_outbound_line`. Then the policy "
            "refusals (422), in this order: a suppressed number is `recipient_suppressed`; a "
            "`marketing` reminder without an active `express_written` marketing consent (or an "
            "`informational` one without any, when the organization requires it) is "
            "`consent_required`; a Vapi line without the organization's `caller_name` (marketing: "
            "`callback_number`) is `caller_identity_required`; a one-off outside the calling "
            "window, or a series never inside it, is `outside_calling_window`. A non-null "
            "`fallback` also needs `messages:write` (else 403 `insufficient_scope`); its "
            "missing template or slot, or no line that sends SMS, is a `validation_error` "
            "naming `fallback.<field>`."
        ),
        errors=(422,),
    ),
    ("GET", f"{BASE}/reminders"): Operation(
        "listReminders",
        "One page of the user's reminders.",
        "reminders",
        wire.ReminderPage,
        query=REMINDER_QUERY,
    ),
    ("GET", f"{BASE}/reminders/{{id}}"): Operation(
        "getReminder",
        "One of the user's reminders.",
        "reminders",
        wire.Reminder,
    ),
    ("GET", f"{BASE}/reminders/{{id}}/occurrences"): Operation(
        "listOccurrences",
        "What the dispatcher will do with the reminder's next occurrences, under the policy now.",
        "reminders",
        wc.OccurrencePreview,
        query=(
            query_parameter(
                "count",
                "How many occurrences (default 10).",
                {"type": "integer", "minimum": 1, "maximum": 100},
            ),
        ),
        notes=(
            "Foresees the window, blocked dates, the lateness cap, the next-occurrence bound and"
            " the frequency caps (attempts already placed plus one per earlier previewed"
            " occurrence); not hook answers or call outcomes. A paused reminder is previewed as"
            " if resumed now; a completed or failed one has no items."
        ),
    ),
    ("PATCH", f"{BASE}/reminders/{{id}}"): Operation(
        "updateReminder",
        "Edit, pause, resume or revive a reminder.",
        "reminders",
        wire.Reminder,
        request=wire.UpdateReminder,
        notes=(
            "Only `scheduled`, `paused`, `failed` and `suppressed` reminders change (else "
            "`invalid_state`). Changing the number to a suppressed one, or resuming a reminder "
            "whose number is suppressed, is 422 `recipient_suppressed`; changing `purpose` or "
            "the number, or resuming, without covering consent is 422 `consent_required`. A "
            "change of time, zone, number, recurrence or window that leaves the reminder "
            "outside the calling window is 422 `outside_calling_window`. Setting a non-null "
            "`fallback` also needs `messages:write` (else 403 `insufficient_scope`); null "
            "clears it."
        ),
        errors=(422,),
    ),
    ("DELETE", f"{BASE}/reminders/{{id}}"): Operation(
        "deleteReminder",
        "Delete a reminder for good (its executions stay listed).",
        "reminders",
        None,
        status=204,
        notes="A reminder `in_progress` cannot be deleted (`invalid_state`). No body, or `{}`.",
        errors=(413,),
    ),
    ("GET", f"{BASE}/executions"): Operation(
        "listExecutions",
        "One page of the user's call attempts and the organization's inbound calls, newest first.",
        "executions",
        wire.ExecutionPage,
        query=EXECUTION_QUERY,
    ),
    ("GET", f"{BASE}/executions/{{id}}"): Operation(
        "getExecution",
        "One of the user's call attempts, or an inbound call of the organization.",
        "executions",
        wire.Execution,
    ),
    ("GET", f"{BASE}/lines"): Operation(
        "listLines",
        "The organization's lines, oldest first.",
        "lines",
        wire.LineList,
    ),
    ("POST", f"{BASE}/calls"): Operation(
        "placeCall",
        "Call a number now (the execution, `queued`).",
        "calls",
        wire.Execution,
        status=201,
        request=wp.PlaceCall,
        notes=(
            "An organization without a line is `missing_outbound_line`. Then, in this order: a "
            "suppressed number, 422 `recipient_suppressed`; no covering consent, 422 "
            "`consent_required`; a Vapi line without the caller identity, 422 "
            "`caller_identity_required`; outside the calling window now, 422 "
            "`outside_calling_window`; the number's frequency cap full, 422 "
            "`frequency_cap_reached` (`details.free_at`)."
        ),
        errors=(422,),
    ),
    ("POST", f"{BASE}/agent/smoke"): Operation(
        "runSmoke",
        "Run the end-to-end self-check (a simulated call), leaving nothing behind.",
        "calls",
        wp.SmokeReport,
        request=wp.SmokeRequest,
        request_required=False,
        idempotent=False,
        notes=(
            "A failed step is 503 `smoke_failed` (`details.step`). Each request runs afresh: "
            "an `Idempotency-Key` replays nothing, though a malformed one is a "
            "`validation_error` as on every POST."
        ),
    ),
    ("GET", f"{BASE}/usage/events"): Operation(
        "listUsageEvents",
        "One page of the user's usage events, newest first.",
        "usage",
        wp.UsageEventPage,
        query=USAGE_QUERY,
        notes="Events are listed once written (within about a second of their request).",
    ),
    ("GET", f"{BASE}/policy"): Operation(
        "getPolicy",
        "The organization's calling policy: what applies, every default filled in.",
        "calling",
        wc.Policy,
        notes=(
            "`inherited` names the fields the platform's settings give (not set for the"
            " organization). Operators change the policy (`dialcues orgs set-policy`, gRPC"
            " `OrganizationService.UpdateCallingPolicy`)."
        ),
    ),
    ("GET", f"{BASE}/audit/events"): Operation(
        "listAuditEvents",
        "One page of the organization's audit events, newest first.",
        "calling",
        wc.AuditEventPage,
        query=AUDIT_QUERY,
    ),
    ("POST", SUBSCRIPTIONS): _webhook(
        "createSubscription",
        "Subscribe a URL to events (the signing secret is shown once).",
        wp.SubscriptionWithSecret,
        status=201,
        request=wp.CreateSubscription,
        notes=(
            "Listing `suppression.*` needs `suppressions:read` on the credential, "
            "`consent.revoked` `consents:read`, `number.*` `numbers:read`, `call.ringing` "
            "`executions:read`, `message.received` `messages:read` (else 403 "
            "`insufficient_scope`)."
        ),
    ),
    ("GET", SUBSCRIPTIONS): _webhook(
        "listSubscriptions",
        "One page of the user's subscriptions, oldest first.",
        wp.SubscriptionPage,
        query=(PAGE, PAGE_SIZE),
    ),
    ("GET", f"{SUBSCRIPTIONS}/{{id}}"): _webhook(
        "getSubscription", "One of the user's subscriptions.", wp.Subscription
    ),
    ("PATCH", f"{SUBSCRIPTIONS}/{{id}}"): _webhook(
        "updateSubscription",
        "Change a subscription's URL, events or `enabled`.",
        wp.Subscription,
        request=wp.UpdateSubscription,
        notes="New `events` need the scopes they need at create.",
    ),
    ("DELETE", f"{SUBSCRIPTIONS}/{{id}}"): _webhook(
        "deleteSubscription",
        "Unsubscribe for good.",
        None,
        status=204,
        notes="No body, or `{}`.",
        errors=(413,),
    ),
    ("POST", f"{SUBSCRIPTIONS}/{{id}}/rotate-secret"): _webhook(
        "rotateSubscriptionSecret",
        "A new signing secret (the old one keeps signing beside it for 24 hours).",
        wp.SubscriptionWithSecret,
        notes="No body, or `{}`; a field in it is a `validation_error`.",
        errors=(413,),
    ),
    ("GET", f"{SUBSCRIPTIONS}/{{id}}/deliveries"): _webhook(
        "listDeliveries",
        "One page of a subscription's delivery attempts, newest first.",
        wp.DeliveryPage,
        query=(PAGE, PAGE_SIZE),
    ),
    **CONSENT_OPERATIONS,
    **NUMBER_OPERATIONS,
    **MESSAGE_OPERATIONS,
}
"""Metadata of every route, keyed by ``(method, path)`` as ``routes.ROUTES`` spells them."""
