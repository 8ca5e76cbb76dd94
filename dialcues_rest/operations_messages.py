"""Per-operation metadata of ``/message-templates`` and ``/messages`` (``telephony.md`` §4.1,
§4.3, §6), merged into :data:`dialcues_rest.operations.OPERATIONS`.

Kept apart from :mod:`dialcues_rest.operations` only for size; the same rules hold (keyed by
``(method, path)`` as the route table spells them; scopes come from the use cases). A send
describes its own 422: the refusals of a text, in the order the core checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.messages.model import CHANNELS, PURPOSES, MessageStatus
from dialcues_rest import wire
from dialcues_rest import wire_messages as wm
from dialcues_rest.openapi_parts import (
    ERROR_RESPONSES,
    PAGE,
    PAGE_SIZE,
    Json,
    Operation,
    contract_error,
    date_bound,
    query_parameter,
)
from dialcues_rest.routes import MESSAGES, TEMPLATE, TEMPLATES

TEMPLATE_ID: Final[Json] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "examples": ["tpl_7Yc2"],
}
MESSAGE_ID: Final[Json] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "examples": ["msg_4Jq9vW2x"],
}
VERSION: Final[tuple[Json, str]] = (
    {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    "The version's number (1 is the first); one the template never had is `not_found`.",
)
TEMPLATE_DESCRIPTION: Final = (
    "The template's id (`tpl_…`); another organization's is `not_found`; an archived one is "
    "still found."
)

TEMPLATE_QUERY: Final = (
    query_parameter("purpose", "Only this purpose.", {"type": "string", "enum": list(PURPOSES)}),
    query_parameter(
        "channel",
        "Only templates allowing this channel.",
        {"type": "string", "enum": list(CHANNELS)},
    ),
    query_parameter(
        "archived",
        "`false` (default): the templates in use; `true`: only archived ones.",
        {"type": "string", "enum": ["true", "false"]},
    ),
    PAGE,
    PAGE_SIZE,
)
_E164: Final[Json] = {"type": "string", "pattern": wire.E164_PATTERN}
MESSAGE_QUERY: Final = (
    query_parameter(
        "direction", "Only this direction.", {"type": "string", "enum": ["outbound", "inbound"]}
    ),
    query_parameter(
        "status", "Only this status.", {"type": "string", "enum": [s.value for s in MessageStatus]}
    ),
    query_parameter("channel", "Only this channel.", {"type": "string", "enum": list(CHANNELS)}),
    query_parameter("to", "Only messages to this number (E.164; encode `+` as `%2B`).", _E164),
    query_parameter("from", "Only messages from this number (E.164; encode `+` as `%2B`).", _E164),
    query_parameter(
        "template_id",
        "Only messages rendered from this template.",
        {"type": "string", "pattern": wire.trimmed_text_pattern(40)},
    ),
    query_parameter(
        "execution_id",
        "Only the fallback text of this call attempt.",
        {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1},
    ),
    date_bound("date_from", "created_at", inclusive=True),
    date_bound("date_to", "created_at", inclusive=False),
    PAGE,
    PAGE_SIZE,
)

SEND_REFUSALS: Final = (
    "A policy refuses a well-formed send, checked in this order: `recipient_suppressed` (the "
    "number has an active suppression entry: `details.phone_number`, `details.reason`, "
    "`details.suppressed_at`); `consent_required` (no active consent of the kind needed: "
    "`details.required` the type, `details.purpose`; informational texts need any active "
    "consent, marketing an `express_written` marketing one); `outside_calling_window` "
    "(marketing during the recipient's quiet hours: `details.next_allowed_at`); "
    "`campaign_not_registered` (a Telnyx text from a US local number to a US number without "
    "the organization's 10DLC campaign: `details.from`, `details.setting`)."
)
NAME_TAKEN: Final = (
    f"{ERROR_RESPONSES[409][1]} Here `already_exists`: an unarchived template of the "
    "organization has that name (`details.resource`, `details.name`)."
)


def _error(status: int, description: str) -> Json:
    """An error response of ``status`` in both media types (409 may say ``Retry-After``)."""
    headers = {"Retry-After": "Retry-After-Optional"} if status == 409 else {}
    return contract_error(description, headers)


def _template(operation_id: str, summary: str, response: Any, **more: Any) -> Operation:
    return Operation(
        operation_id,
        summary,
        "messages",
        response,
        path_id=TEMPLATE_ID,
        path_description=TEMPLATE_DESCRIPTION,
        **more,
    )


MESSAGE_OPERATIONS: Final[Mapping[tuple[str, str], Operation]] = {
    ("POST", TEMPLATES): Operation(
        "createMessageTemplate",
        "Create a message template of the organization (version 1).",
        "messages",
        wm.MessageTemplate,
        status=201,
        request=wm.CreateMessageTemplate,
        notes=(
            "The body is normalized and hashed (`content_hash`: SHA-256 of the normalized "
            "body plus the footer when on). A marketing template always carries the opt-out "
            "footer: `opt_out_footer: false` with `purpose: marketing` is a "
            "`validation_error`."
        ),
        own_errors={409: _error(409, NAME_TAKEN)},
    ),
    ("GET", TEMPLATES): Operation(
        "listMessageTemplates",
        "One page of the organization's templates, newest first.",
        "messages",
        wm.MessageTemplatePage,
        query=TEMPLATE_QUERY,
    ),
    ("GET", TEMPLATE): _template(
        "getMessageTemplate", "A template with its current version.", wm.MessageTemplate
    ),
    ("PATCH", TEMPLATE): _template(
        "updateMessageTemplate",
        "Change a template: a new version when its content changes.",
        wm.MessageTemplate,
        request=wm.UpdateMessageTemplate,
        notes=(
            "A change of `body`, `channels`, `purpose` or `opt_out_footer` makes version "
            "n + 1 (even when the hash is unchanged); `name` and `description` change in "
            "place. Messages keep the version they were rendered from. An archived template "
            "is `invalid_state`."
        ),
        own_errors={409: _error(409, NAME_TAKEN)},
    ),
    ("DELETE", TEMPLATE): _template(
        "archiveMessageTemplate",
        "Archive a template: still readable (`archived_at`), no longer sendable.",
        None,
        status=204,
        notes="Archiving an archived template changes nothing (204). No body, or `{}`.",
        errors=(413,),
    ),
    ("GET", f"{TEMPLATE}/versions"): _template(
        "listMessageTemplateVersions",
        "One page of a template's versions, newest first.",
        wm.MessageTemplateVersionPage,
        query=(PAGE, PAGE_SIZE),
    ),
    ("GET", f"{TEMPLATE}/versions/{{version}}"): _template(
        "getMessageTemplateVersion",
        "One immutable version of a template.",
        wm.MessageTemplateVersion,
        path_params={"version": VERSION},
    ),
    ("POST", MESSAGES): Operation(
        "sendMessage",
        "Send a text rendered from a template (the message, `queued`).",
        "messages",
        wm.Message,
        status=201,
        request=wm.SendMessage,
        notes=(
            "Fields first (`validation_error` naming each: an archived or unknown template, "
            "a channel the template does not allow, a `from` that is not a line able to send "
            "it, a missing or extra `variables.<name>`, `media_urls` for MMS only and required "
            "there). Then the policy refusals (422). The sender hands it to the carrier once; "
            "follow it with `GET /messages/{id}` or the `message.*` webhook events. With an "
            "`Idempotency-Key`, ten sends queue one message."
        ),
        errors=(422,),
        own_errors={422: _error(422, SEND_REFUSALS)},
    ),
    ("GET", MESSAGES): Operation(
        "listMessages",
        "One page of the user's outbound messages and the organization's inbound ones, "
        "newest first.",
        "messages",
        wm.MessagePage,
        query=MESSAGE_QUERY,
    ),
    ("GET", f"{MESSAGES}/{{id}}"): Operation(
        "getMessage",
        "One of the user's outbound messages, or an inbound message of the organization.",
        "messages",
        wm.Message,
        path_id=MESSAGE_ID,
        path_description=(
            "The message's id (`msg_…`); another user's outbound message, or another "
            "organization's, is `not_found`."
        ),
    ),
}
"""Metadata of the template and message routes."""
