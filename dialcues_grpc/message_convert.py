"""Messages and message templates between protobuf and the core (``messages.proto``;
``telephony.md`` §4).

Requests become REST's bodies and query parameters with only the fields they set, so that an
unset required field is "is required" exactly as over REST: an empty repeated field
(``channels``, ``media_urls``) counts as not sent, a ``variables`` map is REST's object, a
``Timestamp`` bound the RFC 3339 text the core parses. An ``UpdateMessageTemplateRequest``
becomes REST's PATCH body: the masked fields, an unset one null. Objects are built from the
bodies REST answers (:func:`~dialcues_core.messages.rendering.template_payload`,
:func:`~dialcues_core.messages.rendering.version_payload`,
:func:`~dialcues_core.messages.rendering.message_payload`), so the two facades cannot drift: a
JSON null is an unset field, times keep their milliseconds, a cost stays a decimal string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from google.protobuf import timestamp_pb2

from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.paging import Page
from dialcues_core.messages.model import Message, MessageTemplate, TemplateVersion
from dialcues_core.messages.rendering import message_payload, template_payload, version_payload
from dialcues_grpc._pb.dialcues.v1 import messages_pb2
from dialcues_grpc.convert import Payload, Query, _bounds, _page_counts, _page_params, _timestamp

M = messages_pb2
Json = Mapping[str, Any]

_SEND_FIELDS: Final = ("to", "from", "channel", "template_id", "fallback_channel", "timezone")
_MESSAGE_FILTERS: Final = ("direction", "status", "channel", "to", "from", "template_id")
_TEMPLATE_FIELDS: Final = ("name", "description", "body", "purpose", "opt_out_footer")
_TEMPLATE_FILTERS: Final = ("purpose", "channel")
TEMPLATE_PATHS: Final = ("name", "description", "body", "channels", "purpose", "opt_out_footer")
"""The ``update_mask`` paths of ``UpdateMessageTemplateRequest``."""


def _set_fields(request: Any, names: Iterable[str]) -> dict[str, Any]:
    """Return the fields among ``names`` that ``request`` sets."""
    return {name: getattr(request, name) for name in names if request.HasField(name)}


def _moment(text: str | None) -> datetime | None:
    """Return a millisecond time of a body ("2026-03-25T13:00:00.120Z"); None → None."""
    return datetime.fromisoformat(text) if text is not None else None


def _millis(text: str | None) -> timestamp_pb2.Timestamp | None:
    """Return a body's time as a Timestamp with its milliseconds; None → unset."""
    return _timestamp(_moment(text), millis=True)


# ----------------------------------------------------------------------------- requests
def send_body(request: M.SendMessageRequest) -> Payload:
    """Return REST's ``POST /messages`` body: only the fields the request sets."""
    body: Payload = _set_fields(request, _SEND_FIELDS)
    if request.HasField("template_version"):
        body["template_version"] = request.template_version
    if request.variables:
        body["variables"] = dict(request.variables)
    if request.media_urls:
        body["media_urls"] = list(request.media_urls)
    return body


def message_query(request: M.ListMessagesRequest) -> tuple[Query, str]:
    """Return REST's ``GET /messages`` parameters, and the page token."""
    params: Query = _set_fields(request, _MESSAGE_FILTERS)
    if request.HasField("execution_id"):
        params["execution_id"] = str(request.execution_id)
    _bounds(request, params)
    return _page_params(request, params)


def new_template(request: M.CreateMessageTemplateRequest) -> Payload:
    """Return REST's ``POST /message-templates`` body: only the fields the request sets."""
    body: Payload = _set_fields(request, _TEMPLATE_FIELDS)
    if request.channels:
        body["channels"] = list(request.channels)
    return body


def template_query(request: M.ListMessageTemplatesRequest) -> tuple[Query, str]:
    """Return REST's ``GET /message-templates`` parameters, and the page token."""
    params: Query = _set_fields(request, _TEMPLATE_FILTERS)
    if request.HasField("archived"):
        params["archived"] = "true" if request.archived else "false"
    return _page_params(request, params)


def template_changes(request: M.UpdateMessageTemplateRequest) -> tuple[str, Payload]:
    """Return the template id and REST's PATCH body: the masked fields, an unset one null.

    ``channels`` is sent as given (an empty list too, which the core refuses as it refuses
    REST's ``[]`` or null).
    """
    paths = list(dict.fromkeys(request.update_mask.paths))
    unknown = [p for p in paths if p not in TEMPLATE_PATHS]
    if unknown:
        raise ValidationFailed.one(
            "update_mask", f"names no updatable field: {', '.join(sorted(unknown))}"
        )
    body: Payload = {}
    for path in paths:
        if path == "channels":
            body[path] = list(request.channels)
        else:
            body[path] = getattr(request, path) if request.HasField(path) else None
    return request.id, body


def versions_query(request: M.ListMessageTemplateVersionsRequest) -> tuple[Query, str]:
    """Return REST's ``GET /message-templates/{id}/versions`` parameters, and the token."""
    return _page_params(request, {})


# ----------------------------------------------------------------------------- objects
def template(found: MessageTemplate) -> M.MessageTemplate:
    """Return a template with every field of the REST object (times in milliseconds)."""
    body = template_payload(found)
    return M.MessageTemplate(
        id=body["id"],
        name=body["name"],
        description=body["description"],
        version=body["version"],
        body=body["body"],
        channels=body["channels"],
        purpose=body["purpose"],
        opt_out_footer=body["opt_out_footer"],
        variables=body["variables"],
        content_hash=body["content_hash"],
        created_at=_millis(body["created_at"]),
        updated_at=_millis(body["updated_at"]),
        archived_at=_millis(body["archived_at"]),
    )


def template_page(found: Page[MessageTemplate], next_token: str) -> M.ListMessageTemplatesResponse:
    """Return one page of templates."""
    return M.ListMessageTemplatesResponse(
        items=[template(t) for t in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )


def version(found: TemplateVersion) -> M.MessageTemplateVersion:
    """Return a version with every field of the REST object (times in milliseconds)."""
    body = version_payload(found)
    return M.MessageTemplateVersion(**{**body, "created_at": _millis(body["created_at"])})


def version_page(
    found: Page[TemplateVersion], next_token: str
) -> M.ListMessageTemplateVersionsResponse:
    """Return one page of a template's versions."""
    return M.ListMessageTemplateVersionsResponse(
        items=[version(v) for v in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )


_MESSAGE_TIMES: Final = ("created_at", "sent_at", "completed_at", "updated_at")


def message(found: Message) -> M.Message:
    """Return a message with every field of the REST object (times in milliseconds)."""
    body = dict(message_payload(found))
    cost = body.pop("cost")
    times = {name: _millis(body.pop(name)) for name in _MESSAGE_TIMES}
    return M.Message(**body, **times, cost=M.MessageCost(**cost) if cost is not None else None)


def message_page(found: Page[Message], next_token: str) -> M.ListMessagesResponse:
    """Return one page of messages."""
    return M.ListMessagesResponse(
        items=[message(m) for m in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )
