"""Messages and their templates (``telephony.md`` §4): the vocabulary the use cases, the
sender, the carrier adapters and both edges share.

A template's versions are immutable; a message names the version it was rendered from and
keeps that version's ``content_hash``. A message's status only moves forward
(:data:`STATUS_RANK`); the carrier adapters translate their vendors' statuses into
:class:`CarrierReport`\\ s and inbound texts into :class:`IncomingText`\\ s, so nothing here
knows a vendor payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final


class Channel(StrEnum):
    """How a message travels."""

    SMS = "sms"
    MMS = "mms"
    RCS = "rcs"


CHANNELS: Final = tuple(c.value for c in Channel)
PURPOSES: Final = ("informational", "marketing")


class MessageStatus(StrEnum):
    """Where a message stands (``telephony.md`` §4.5)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    RECEIVED = "received"


STATUS_RANK: Final = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
    MessageStatus.RECEIVED: 3,
}
"""queued < sending < sent < final: an event never moves a message backwards."""


class MessageError(StrEnum):
    """A message's ``error_code``."""

    CARRIER_REJECTED = "carrier_rejected"
    UNDELIVERABLE = "undeliverable"
    RECIPIENT_SUPPRESSED = "recipient_suppressed"
    CONSENT_REQUIRED = "consent_required"
    OUTSIDE_CALLING_WINDOW = "outside_calling_window"
    CAMPAIGN_NOT_REGISTERED = "campaign_not_registered"
    OUTCOME_UNKNOWN = "outcome_unknown"
    LINE_RELEASED = "line_released"
    TEMPLATE_ARCHIVED = "template_archived"
    CHANNEL_UNAVAILABLE = "channel_unavailable"


class Source(StrEnum):
    """Why an outbound message exists (inbound messages have none)."""

    API = "api"
    REMINDER_FALLBACK = "reminder_fallback"
    KEYWORD_REPLY = "keyword_reply"


@dataclass(frozen=True, slots=True)
class MessageCost:
    """What the carrier charged: a decimal string and a currency."""

    amount: str
    currency: str


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    """One immutable version of a template's content."""

    template_id: str
    version: int
    body: str
    channels: tuple[str, ...]
    purpose: str
    opt_out_footer: bool
    variables: tuple[str, ...]
    content_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    """A template as clients see it: its name and state, and one version's content (the
    current one unless read from the history)."""

    id: str
    organization_id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    content: TemplateVersion

    @property
    def version(self) -> int:
        """The version shown."""
        return self.content.version


@dataclass(frozen=True, slots=True)
class Message:
    """One text message, outbound or inbound (``msg_…``)."""

    id: str
    organization_id: str
    user_id: str | None
    """The owner of an outbound API or fallback message; None: the organization's."""
    direction: str
    source: str | None
    channel: str
    status: MessageStatus
    to: str
    from_number: str | None
    line_id: str | None
    text: str
    purpose: str | None
    """``informational`` or ``marketing``; None for inbound messages."""
    created_at: datetime
    updated_at: datetime
    template_id: str | None = None
    template_version: int | None = None
    content_hash: str | None = None
    media_urls: tuple[str, ...] = ()
    fallback_channel: str | None = None
    delivered_channel: str | None = None
    execution_id: int | None = None
    reminder_id: int | None = None
    segments: int | None = None
    cost: MessageCost | None = None
    error_code: str | None = None
    carrier_error_code: str | None = None
    error_message: str | None = None
    sent_at: datetime | None = None
    completed_at: datetime | None = None
    # the sender's bookkeeping (never on the wire)
    carrier: str | None = None
    carrier_message_id: str | None = None
    timezone: str | None = None
    due_at: datetime | None = None
    """When the sender should look at it next: queued (a throttle's end), sending (the
    simulated outcome, or the unknown outcome's deadline)."""
    handed_at: datetime | None = None
    """When ``Carrier.send`` was called (never twice)."""

    @property
    def is_final(self) -> bool:
        """Tell whether nothing more will change it (an unknown outcome may still be corrected)."""
        if self.status is MessageStatus.SENT:
            return self.completed_at is not None
        if self.status is MessageStatus.FAILED:
            return self.error_code != MessageError.OUTCOME_UNKNOWN
        return STATUS_RANK[self.status] == 3


# ----------------------------------------------------------------------------- carrier I/O
@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What ``Carrier.send`` posts: rendered, checked, once."""

    message_id: str
    organization_id: str
    channel: str
    to: str
    from_number: str | None
    text: str
    media_urls: tuple[str, ...] = ()
    sms_fallback: bool = False
    """RCS only: let the carrier send the text by SMS (from ``from_number``) when RCS fails."""
    webhook_url: str | None = None
    """Where the carrier reports this message's statuses (echoed in its events)."""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """The carrier took the message: its id there, and what it reported at once."""

    carrier_message_id: str
    segments: int | None = None
    cost: MessageCost | None = None


@dataclass(frozen=True, slots=True)
class CarrierReport:
    """A status the carrier reported about one of our messages, already in our terms
    (``telephony.md`` §4.5's table): found by ``carrier_message_id``, else ``message_id``
    (ours, from the ``webhook_url`` the carrier echoes)."""

    status: MessageStatus
    carrier_message_id: str | None = None
    message_id: str | None = None
    completed: bool = False
    """``sent`` with no receipt to come (``delivery_unconfirmed``)."""
    error_code: str | None = None
    carrier_error_code: str | None = None
    error_message: str | None = None
    delivered_channel: str | None = None
    segments: int | None = None
    cost: MessageCost | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IncomingText:
    """A text someone sent to one of our numbers."""

    from_number: str
    to_number: str
    text: str
    channel: str = Channel.SMS.value
    carrier_message_id: str | None = None
    media_urls: tuple[str, ...] = ()
    autoresponse_type: str | None = None
    """The carrier's own keyword reply (Telnyx: ``STOP``, ``START``, ``HELP``), if it sent one."""
    received_at: datetime | None = None
