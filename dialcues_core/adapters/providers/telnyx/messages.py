"""Telnyx text messages in our terms: the send requests, the receipt, and the message events
(``telephony.md`` §1.3, §4.4, §4.5; ``telephony-facts.md`` §8).

=========== ============================================================================
send        SMS, MMS: ``POST /messages {"from", "to", "text", "type": "SMS"|"MMS",
            "media_urls" (MMS only), "messaging_profile_id", "webhook_url"}``.
            RCS: ``POST /messages/rcs {"agent_id", "to", "messaging_profile_id",
            "agent_message": {"content_message": {"text"}}, "sms_fallback": {"from",
            "text"} (when asked), "webhook_url"}``
receipt     ``data.id``, ``data.parts`` (segments), ``data.cost`` when Telnyx already knows it
status      ``message.sent`` and ``message.finalized``: ``to[0].status`` by :data:`STATUSES`
inbound     ``message.received``: ``payload.text``, or ``payload.body.text`` for RCS
=========== ============================================================================

The event readers never raise: a payload they cannot read is None (the core logs it and
answers 200, since Telnyx's retries would bring the same bytes again). ``type`` is compared
case-insensitively (Telnyx writes ``SMS`` and ``sms``). Error texts are kept short: Telnyx's
title, never its whole payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from dialcues_core.errors import CarrierRejected
from dialcues_core.messages.model import (
    CarrierReport,
    Channel,
    IncomingText,
    MessageCost,
    MessageError,
    MessageStatus,
    OutgoingMessage,
    SendReceipt,
)
from dialcues_core.numbers.model import CarrierSettings, Refusal

__all__ = [
    "RCS_UNREACHABLE_CODE",
    "STATUSES",
    "incoming_text",
    "message_request",
    "receipt",
    "status_report",
]

SMS_PATH: Final = "/messages"
RCS_PATH: Final = "/messages/rcs"
STATUS_EVENTS: Final = frozenset({"message.sent", "message.finalized"})
"""The events that report a status (``message.read`` is ignored: ``telephony.md`` §1.4)."""

STATUSES: Final[Mapping[str, tuple[MessageStatus, bool]]] = {
    "queued": (MessageStatus.SENDING, False),
    "sending": (MessageStatus.SENDING, False),
    "sent": (MessageStatus.SENT, False),
    "delivered": (MessageStatus.DELIVERED, True),
    "delivery_unconfirmed": (MessageStatus.SENT, True),
    "delivery_failed": (MessageStatus.UNDELIVERED, True),
    "expired": (MessageStatus.UNDELIVERED, True),
    "sending_failed": (MessageStatus.FAILED, True),
}
"""Telnyx's ``to[0].status`` → our status and whether it is final (``telephony.md`` §4.5)."""

OPTED_OUT_CODE: Final = "40300"
RCS_UNREACHABLE_CODE: Final = "40001"
""""Not routable": on an RCS message, the handset cannot take RCS (``channel_unavailable``).
Telnyx documents no RCS-specific code; this is our reading, and the fake's."""

_FAILED_CODES: Final[Mapping[str, MessageError]] = {
    "40010": MessageError.CAMPAIGN_NOT_REGISTERED,
    "40300": MessageError.RECIPIENT_SUPPRESSED,
}
"""``sending_failed`` codes with a meaning of their own; any other is ``carrier_rejected``."""
_ERROR_TEXT_LIMIT: Final = 200


# ----------------------------------------------------------------------------- sending
def message_request(
    outgoing: OutgoingMessage, settings: CarrierSettings
) -> tuple[str, dict[str, Any]]:
    """Return the path and JSON body that send ``outgoing`` (see the module's table).

    Raises ``CarrierRejected`` (``not_configured``) without a messaging profile, or for RCS
    without an agent; (``rejected``) without the sender a channel needs.
    """
    profile = settings.messaging_profile_id
    if not profile:
        raise CarrierRejected(
            "messaging_profile_id", Refusal.NOT_CONFIGURED, "No messaging profile is set."
        )
    if outgoing.channel == Channel.RCS:
        return RCS_PATH, _rcs_body(outgoing, settings, profile)
    if outgoing.channel not in (Channel.SMS, Channel.MMS):
        raise CarrierRejected("channel", Refusal.REJECTED, "Telnyx sends sms, mms or rcs.")
    body: dict[str, Any] = {
        "from": _sender(outgoing),
        "to": outgoing.to,
        "text": outgoing.text,
        "type": outgoing.channel.upper(),
        "messaging_profile_id": profile,
    }
    if outgoing.channel == Channel.MMS:
        body["media_urls"] = list(outgoing.media_urls)
    return SMS_PATH, _with_webhook(body, outgoing)


def _rcs_body(outgoing: OutgoingMessage, settings: CarrierSettings, profile: str) -> dict[str, Any]:
    if not settings.rcs_agent_id:
        raise CarrierRejected("rcs_agent_id", Refusal.NOT_CONFIGURED, "No RCS agent is set.")
    body: dict[str, Any] = {
        "agent_id": settings.rcs_agent_id,
        "to": outgoing.to,
        "messaging_profile_id": profile,
        "agent_message": {"content_message": {"text": outgoing.text}},
    }
    if outgoing.sms_fallback:
        body["sms_fallback"] = {"from": _sender(outgoing), "text": outgoing.text}
    return _with_webhook(body, outgoing)


def _sender(outgoing: OutgoingMessage) -> str:
    if not outgoing.from_number:
        raise CarrierRejected("from", Refusal.REJECTED, "A text needs a number to send from.")
    return outgoing.from_number


def _with_webhook(body: dict[str, Any], outgoing: OutgoingMessage) -> dict[str, Any]:
    if outgoing.webhook_url:
        body["webhook_url"] = outgoing.webhook_url
    return body


def receipt(data: Mapping[str, Any]) -> SendReceipt | None:
    """Return what a send's ``data`` says (None without an id: nothing to follow it by)."""
    carrier_id = data.get("id")
    if not isinstance(carrier_id, str) or not carrier_id:
        return None
    return SendReceipt(carrier_id, _parts(data.get("parts")), _cost(data.get("cost")))


# ----------------------------------------------------------------------------- events
def status_report(
    event_type: str, payload: Mapping[str, Any], occurred_at: datetime | None
) -> CarrierReport | None:
    """Translate a ``message.sent`` / ``message.finalized`` payload; None when it names no
    status we know or no message (see :data:`STATUSES`)."""
    recipient = _first(payload.get("to"))
    known = STATUSES.get(str(recipient.get("status"))) if recipient is not None else None
    if event_type not in STATUS_EVENTS or known is None:
        return None
    carrier_id, ours = _text(payload.get("id")), _our_id(payload.get("webhook_url"))
    if carrier_id is None and ours is None:
        return None
    status, final = known
    channel = _channel(payload.get("type"))
    code, message = _error(payload.get("errors"))
    if final and code == OPTED_OUT_CODE and status is MessageStatus.UNDELIVERED:
        # a final 40300 means the carrier holds an opt-out for the pair, whatever the status
        # (telephony.md §4.4): failed recipient_suppressed, never merely undeliverable
        status = MessageStatus.FAILED
    return CarrierReport(
        status=status,
        carrier_message_id=carrier_id,
        message_id=ours,
        completed=final and status is MessageStatus.SENT,
        error_code=_error_code(status, code, channel),
        carrier_error_code=code,
        error_message=message,
        delivered_channel=channel,
        segments=_parts(payload.get("parts")),
        cost=_cost(payload.get("cost")),
        occurred_at=occurred_at,
    )


def _error_code(status: MessageStatus, code: str | None, channel: str | None) -> str | None:
    """Return our ``error_code`` for a final failure (``telephony.md`` §4.5), else None."""
    if status is MessageStatus.UNDELIVERED:
        return MessageError.UNDELIVERABLE.value
    if status is not MessageStatus.FAILED:
        return None
    if channel == Channel.RCS and code == RCS_UNREACHABLE_CODE:
        return MessageError.CHANNEL_UNAVAILABLE.value
    return _FAILED_CODES.get(code or "", MessageError.CARRIER_REJECTED).value


def incoming_text(payload: Mapping[str, Any], occurred_at: datetime | None) -> IncomingText | None:
    """Translate a ``message.received`` payload; None without both numbers."""
    sender = payload.get("from")
    from_number = _text(sender.get("phone_number")) if isinstance(sender, dict) else None
    recipient = _first(payload.get("to"))
    to_number = _text(recipient.get("phone_number")) if recipient is not None else None
    if from_number is None or to_number is None:
        return None
    media = _media(payload.get("media"))
    channel = _channel(payload.get("type")) or (Channel.MMS if media else Channel.SMS)
    autoresponse = payload.get("autoresponse_type")
    return IncomingText(
        from_number=from_number,
        to_number=to_number,
        text=_inbound_text(payload),
        channel=str(channel),
        carrier_message_id=_text(payload.get("id")),
        media_urls=media,
        autoresponse_type=autoresponse if isinstance(autoresponse, str) and autoresponse else None,
        received_at=_instant(payload.get("received_at")) or occurred_at,
    )


def _inbound_text(payload: Mapping[str, Any]) -> str:
    """Return ``text``, or RCS's ``body.text`` (a tapped suggestion: its text); else ``""``."""
    text = payload.get("text")
    if isinstance(text, str) and text:
        return text
    body = payload.get("body")
    body = body if isinstance(body, dict) else {}
    suggestion = body.get("suggestion_response")
    for found in (
        body.get("text"),
        suggestion.get("text") if isinstance(suggestion, dict) else None,
    ):
        if isinstance(found, str) and found:
            return found
    return ""


# ----------------------------------------------------------------------------- readers
def _first(value: object) -> dict[str, Any] | None:
    """Return the first object of a list (Telnyx's ``to``), or None."""
    first = value[0] if isinstance(value, list) and value else None
    return first if isinstance(first, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _channel(value: object) -> str | None:
    """Return ``sms``, ``mms`` or ``rcs`` from Telnyx's ``type`` (any case), else None."""
    lowered = value.lower() if isinstance(value, str) else None
    return lowered if lowered in (Channel.SMS, Channel.MMS, Channel.RCS) else None


def _our_id(webhook_url: object) -> str | None:
    """Return the ``message_id`` (``msg_…``) our send put in the echoed ``webhook_url``."""
    if not isinstance(webhook_url, str):
        return None
    try:
        values = parse_qs(urlsplit(webhook_url).query).get("message_id", [])
    except ValueError:
        return None
    found = values[0] if len(values) == 1 else None
    return found if found is not None and found.startswith("msg_") else None


def _parts(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _cost(value: object) -> MessageCost | None:
    """Return ``{amount, currency}`` when both are there and the amount a decimal string."""
    if not isinstance(value, dict):
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if not isinstance(amount, str) or not isinstance(currency, str) or not currency:
        return None
    try:
        finite = Decimal(amount).is_finite()
    except InvalidOperation:
        return None
    return MessageCost(amount, currency) if finite else None


def _error(value: object) -> tuple[str | None, str | None]:
    """Return ``errors[0]``'s code (a string) and a short text (its title, else detail)."""
    first = _first(value)
    if first is None:
        return None, None
    code = first.get("code")
    code = str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None
    text = _text(first.get("title")) or _text(first.get("detail"))
    return code or None, text[:_ERROR_TEXT_LIMIT] if text else None


def _media(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    urls = (item.get("url") for item in items if isinstance(item, dict))
    return tuple(url for url in urls if isinstance(url, str) and url)


def _instant(value: object) -> datetime | None:
    """Return an ISO 8601 instant as an aware datetime (naive is read as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
