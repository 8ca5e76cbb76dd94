"""Texts on the simulated carrier (``telephony.md`` §1.2): outcomes depend only on the
recipient's number, so any process, before or after a restart, settles a message the same.

``send`` answers at once with an id made from our message id. ``DIALCUES_SIMULATED_DELAY``
after the hand-off, the sender's pass asks :func:`settle`, which reports ``sent`` and the
outcome together (and, for 0121–0123, the recipient's reply). Magic numbers (any NANP area
code, ``555-01XX``):

======== ==============================================================================
number   outcome
======== ==============================================================================
…5550111 ``undelivered``, carrier code 40008
…5550112 refused at send: ``failed``, carrier code 40012
…5550113 ``sent``, never a receipt (``delivery_unconfirmed``)
…5550114 throttled once (10011), then delivered
…5550115 accepted but the answer lost (unknown outcome); its events follow
…5550116 ``failed``, carrier code 40010 (10DLC)
…5550117 ``failed``, carrier code 40300 (the carrier's STOP block)
…5550118 not RCS-capable: RCS refused (``channel_unavailable``), or delivered by SMS when the
         fallback is asked
…5550121 delivered; then the recipient replies ``STOP`` (0122: ``HELP``; 0123: ``REVOKE``)
other    delivered
======== ==============================================================================
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Final

from dialcues_core.errors import CarrierRejected, CarrierThrottled, CarrierUnknownOutcome
from dialcues_core.messages.model import (
    CarrierReport,
    Channel,
    IncomingText,
    Message,
    MessageCost,
    MessageError,
    MessageStatus,
    OutgoingMessage,
    SendReceipt,
    Source,
)
from dialcues_core.numbers.model import Refusal

UNDELIVERED: Final = "5550111"
REFUSED: Final = "5550112"
UNCONFIRMED: Final = "5550113"
THROTTLED_ONCE: Final = "5550114"
ANSWER_LOST: Final = "5550115"
UNREGISTERED: Final = "5550116"
BLOCKED: Final = "5550117"
NO_RCS: Final = "5550118"
REPLIES: Final = {"5550121": "STOP", "5550122": "HELP", "5550123": "REVOKE"}
COST: Final = MessageCost("0.0040", "USD")


def _magic(number: str) -> str:
    """The last seven digits of a NANP number (others have no magic)."""
    return number[-7:] if number.startswith("+1") and len(number) == 12 else ""


def carrier_id(message_id: str) -> str:
    """The simulated carrier's id of our message."""
    return "sim-" + message_id


def segments_of(text: str) -> int:
    """SMS parts: 160 characters in one, 153 per part beyond (GSM-7, roughly)."""
    return 1 if len(text) <= 160 else -(-len(text) // 153)


class SimulatedTexts:
    """Sends and settles texts; remembers only which messages it throttled once (per
    process: after a restart a 0114 message is throttled once more, which changes nothing)."""

    def __init__(self) -> None:
        self._throttled: set[str] = set()
        self._lock = threading.Lock()

    def send(self, outgoing: OutgoingMessage) -> SendReceipt:
        """Take a message, or refuse it as its recipient's magic number says."""
        magic = _magic(outgoing.to)
        if magic == REFUSED:
            raise CarrierRejected("40012", Refusal.REJECTED, "Invalid destination number.")
        if magic == BLOCKED:
            raise CarrierRejected("40300", Refusal.OPTED_OUT, "Blocked due to STOP message.")
        if magic == UNREGISTERED:
            raise CarrierRejected("40010", Refusal.CAMPAIGN, "Unregistered 10DLC message.")
        if magic == NO_RCS and outgoing.channel == Channel.RCS and not outgoing.sms_fallback:
            raise CarrierRejected(
                "channel_unavailable", Refusal.CHANNEL_UNAVAILABLE, "The handset has no RCS."
            )
        if magic == THROTTLED_ONCE:
            with self._lock:
                first = outgoing.message_id not in self._throttled
                self._throttled.add(outgoing.message_id)
            if first:
                raise CarrierThrottled("Simulated throttling (10011).", retry_after=0.0)
        if magic == ANSWER_LOST:
            raise CarrierUnknownOutcome("The simulated carrier lost its answer.")
        return SendReceipt(carrier_id(outgoing.message_id), segments_of(outgoing.text), None)

    def settle(self, message: Message, now: datetime) -> list[CarrierReport | IncomingText]:
        """``sent`` and the outcome of a message handed over (found by our id)."""
        magic = _magic(message.to)
        ids = {"carrier_message_id": carrier_id(message.id), "message_id": message.id}
        channel = message.channel
        if magic == NO_RCS and channel == Channel.RCS:
            channel = Channel.SMS.value  # the carrier fell back to SMS
        sent = CarrierReport(
            MessageStatus.SENT,
            carrier_message_id=ids["carrier_message_id"],
            message_id=ids["message_id"],
            occurred_at=now,
        )
        status, completed, error, code = MessageStatus.DELIVERED, False, None, None
        if magic == UNDELIVERED:
            status, error, code = MessageStatus.UNDELIVERED, MessageError.UNDELIVERABLE, "40008"
        elif magic == UNCONFIRMED:
            status, completed = MessageStatus.SENT, True
        final = CarrierReport(
            status,
            carrier_message_id=ids["carrier_message_id"],
            message_id=ids["message_id"],
            completed=completed,
            error_code=error.value if error else None,
            carrier_error_code=code,
            error_message="Undeliverable." if error else None,
            delivered_channel=channel,
            segments=segments_of(message.text),
            cost=COST,
            occurred_at=now,
        )
        found: list[CarrierReport | IncomingText] = [sent, final]
        reply = REPLIES.get(magic)
        if message.source == Source.KEYWORD_REPLY:
            reply = None  # the recipient answers our text, not our answer to their keyword
        if reply is not None and final.status is MessageStatus.DELIVERED and message.from_number:
            found.append(
                IncomingText(
                    from_number=message.to,
                    to_number=message.from_number,
                    text=reply,
                    channel=Channel.SMS.value,
                    carrier_message_id="sim-reply-" + message.id,
                    received_at=now,
                )
            )
        return found
