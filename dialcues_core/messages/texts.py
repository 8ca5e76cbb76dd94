"""What carriers tell us about texts, applied in the caller's transaction: status reports of
our messages (``telephony.md`` §4.5) and inbound texts with their keywords (§4.4).

**Reports** never move a message backwards (queued < sending < sent < final); a duplicate
changes nothing; the first final status wins; a ``failed`` ``outcome_unknown`` is corrected by
any later report. Each change emits at most one of ``message.sent``, ``message.delivered`` and
``message.failed`` — a message that jumps from ``sending`` to a delivery outcome (Telnyx may
finalize before it says sent) emits ``message.sent`` first, since it was passed on.

**Keywords** act at once, in the webhook's transaction: STOP suppresses the number (reason
``opt_out_sms``, source the inbound message; its active consents are revoked with it) and
fails its queued messages; START records an ``express`` informational consent and removes an
``opt_out_sms`` entry with it; HELP does nothing. Each is answered with the organization's
text, unless the carrier answered itself (``autoresponse_type``).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from dialcues_core.accounts.model import OutboundLine
from dialcues_core.audit.model import Actor
from dialcues_core.consent.model import ConsentRecord, Source
from dialcues_core.consent.rendering import suppression_payload
from dialcues_core.errors import CarrierRejected
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.messages import keywords
from dialcues_core.messages.deps import MessageDeps
from dialcues_core.messages.keywords import Keyword
from dialcues_core.messages.model import (
    STATUS_RANK,
    CarrierReport,
    Channel,
    IncomingText,
    Message,
    MessageError,
    MessageStatus,
)
from dialcues_core.messages.model import (
    Source as MessageSource,
)
from dialcues_core.messages.rendering import message_payload
from dialcues_core.numbers.carrier_settings import DEFAULT_TEXTS
from dialcues_core.numbers.model import CarrierSettings, Refusal

logger = logging.getLogger("dialcues.messages")

SYSTEM = Actor("system")
EVENT_OF = {
    MessageStatus.SENT: "message.sent",
    MessageStatus.DELIVERED: "message.delivered",
    MessageStatus.UNDELIVERED: "message.failed",
    MessageStatus.FAILED: "message.failed",
}
REFUSAL_CODES = {
    Refusal.OPTED_OUT: MessageError.RECIPIENT_SUPPRESSED,
    Refusal.CAMPAIGN: MessageError.CAMPAIGN_NOT_REGISTERED,
    Refusal.CHANNEL_UNAVAILABLE: MessageError.CHANNEL_UNAVAILABLE,
}


def last4(number: str | None) -> str:
    """How logs name a number: its last four digits."""
    return "…" + number[-4:] if number else "-"


class Texts:
    """Apply reports and inbound texts (every method runs in the caller's transaction, inside
    the outbox's ``collecting`` block)."""

    def __init__(self, deps: MessageDeps):
        self.deps = deps
        self.store = deps.store

    # ------------------------------------------------------------------ events
    def emit(self, before: Message | None, after: Message) -> None:
        """The webhook events of a status change (none when the status stayed)."""
        corrected = (
            before is not None
            and before.error_code == MessageError.OUTCOME_UNKNOWN
            and after.error_code != before.error_code
        )
        if before is not None and before.status is after.status and not corrected:
            return
        payload = message_payload(after)
        kinds = []
        passed_on = after.status in (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)
        rank_before = 1 if corrected else STATUS_RANK[before.status] if before else 0
        if passed_on and rank_before < 2:
            kinds.append("message.sent")
        if after.status in EVENT_OF:
            kinds.append(EVENT_OF[after.status])
        if after.status is MessageStatus.RECEIVED:
            kinds.append("message.received")
        for kind in kinds:
            if after.user_id is not None:
                self.deps.outbox.user_event(kind, after.user_id, payload)
            else:
                self.deps.outbox.organization_event(kind, after.organization_id, payload)

    def fail(
        self, message: Message, code: str, text: str, now: datetime, carrier_code: str | None = None
    ) -> Message:
        """Mark a message ``failed`` with its code (and emit ``message.failed``)."""
        failed = dataclasses.replace(
            message,
            status=MessageStatus.FAILED,
            error_code=code,
            error_message=text,
            carrier_error_code=carrier_code or message.carrier_error_code,
            completed_at=now,
            updated_at=now,
            due_at=None,
        )
        self.store.save_message(failed)
        self.emit(message, failed)
        if code == MessageError.RECIPIENT_SUPPRESSED and carrier_code == "40300":
            self.carrier_opt_out(message, now)
        return failed

    def refused(self, message: Message, exc: CarrierRejected, now: datetime) -> Message:
        """A send the carrier refused: ``failed`` with the mapped code."""
        try:
            meaning = Refusal(exc.meaning)
        except ValueError:
            meaning = Refusal.REJECTED
        code = REFUSAL_CODES.get(meaning)
        carrier_code = None if exc.carrier_code == "channel_unavailable" else exc.carrier_code
        return self.fail(
            message,
            (code or MessageError.CARRIER_REJECTED).value,
            exc.message,
            now,
            carrier_code,
        )

    def carrier_opt_out(self, message: Message, now: datetime) -> None:
        """A 40300: the carrier holds an opt-out for the pair; suppress the number too."""
        source = Source("carrier", message.id)
        self.deps.opt_outs.suppress(
            message.organization_id, message.to, "opt_out_sms", source, SYSTEM
        )
        self.fail_queued(message.organization_id, message.to, now)

    # ------------------------------------------------------------------ reports
    def apply(self, organization_id: str, report: CarrierReport, now: datetime) -> Message | None:
        """Apply one status report; return the message as it is now (None: not ours)."""
        found = None
        if report.carrier_message_id:
            found = self.store.by_carrier_id(organization_id, report.carrier_message_id, True)
        if found is None and report.message_id:
            candidate = self.store.get_message(report.message_id, True)
            if candidate is not None and candidate.organization_id == organization_id:
                found = candidate
        if found is None or found.direction != "outbound":
            logger.info("A message report names no message of %s", organization_id)
            return None
        after = advanced(found, report, now)
        if after is None:
            return found
        self.store.save_message(after)
        self.emit(found, after)
        if report.carrier_error_code == "40300" and after.status is MessageStatus.FAILED:
            self.carrier_opt_out(after, now)
        return after

    # ------------------------------------------------------------------ inbound
    def receive(
        self, organization_id: str, incoming: IncomingText, now: datetime
    ) -> tuple[Message, list[str]]:
        """Store an inbound text and apply its keyword; return it and what it did."""
        line = self._line_of(organization_id, incoming.to_number)
        message = Message(
            id=generate_id("msg"),
            organization_id=organization_id,
            user_id=None,
            direction="inbound",
            source=None,
            channel=incoming.channel,
            status=MessageStatus.RECEIVED,
            to=incoming.to_number,
            from_number=incoming.from_number,
            line_id=line.id if line else None,
            text=incoming.text,
            purpose=None,
            created_at=now,
            updated_at=now,
            media_urls=incoming.media_urls,
            carrier=line.carrier if line else None,
            carrier_message_id=incoming.carrier_message_id,
            completed_at=incoming.received_at or now,
        )
        self.store.add_message(message)
        self.emit(None, message)
        keyword = keywords.keyword_of(incoming.text, incoming.autoresponse_type)
        effects: list[str] = []
        answer = keyword is not None
        if keyword is Keyword.STOP:
            stopped, answer = self._stop(message, now)
            effects += stopped
        elif keyword is Keyword.START:
            effects += self._start(message, incoming, now)
        if keyword is not None:
            effects.append(f"keyword:{keyword.value.lower()}")
            if incoming.autoresponse_type:
                effects.append("reply:carrier")
            elif (
                answer and line is not None and line.carrier is not None and "sms" in line.features
            ):
                reply = self._reply(message, line, keyword, now)
                effects.append(f"reply:{reply.id}")
        logger.info(
            "Inbound text from %s to %s (keyword %s)",
            last4(incoming.from_number),
            last4(incoming.to_number),
            keyword.value if keyword else "none",
        )
        return message, effects

    def _stop(self, message: Message, now: datetime) -> tuple[list[str], bool]:
        """Suppress the sender; the opt-out confirmation goes once (not again to a number
        already suppressed: the one further message the FCC allows)."""
        number = message.from_number or ""
        source = Source("message", message.id)
        entry, new, revoked = self.deps.opt_outs.opt_out(
            message.organization_id, number, "opt_out_sms", source, Actor("recipient", message.id)
        )
        failed = self.fail_queued(message.organization_id, number, now)
        found = [
            f"suppression:{entry.id}" if new else "suppression:already",
            f"failed_queued:{failed}",
        ]
        return found, new or revoked > 0

    def _start(self, message: Message, incoming: IncomingText, now: datetime) -> list[str]:
        number = message.from_number or ""
        org = message.organization_id
        pair = (org, number)
        deps = self.deps
        deps.consent.lock_number(pair)
        record = ConsentRecord(
            id=generate_id("cns"),
            organization_id=org,
            phone_number=number,
            type="express",
            purpose="informational",
            source="sms_keyword",
            text=(incoming.text or "START")[:2000],
            captured_at=incoming.received_at or now,
            created_at=now,
            created_by=Actor("recipient", message.id),
        )
        deps.consent.add_consent(record)
        deps.opt_outs.audit.record(
            org,
            "consent.created",
            record.created_by,
            ("consent", record.id),
            {"type": record.type, "purpose": record.purpose},
        )
        effects = [f"consent:{record.id}"]
        entry = deps.consent.active_suppressions([pair]).get(pair)
        if entry is not None and entry.reason == "opt_out_sms":
            removed = deps.consent.remove_suppression(entry.id, now, record.created_by, record.id)
            deps.opt_outs.audit.record(
                org,
                "suppression.removed",
                record.created_by,
                ("phone_number", number),
                {"consent_id": record.id},
            )
            deps.outbox.organization_event("suppression.removed", org, suppression_payload(removed))
            effects.append(f"suppression_removed:{entry.id}")
        return effects

    def fail_queued(self, organization_id: str, number: str, now: datetime) -> int:
        """Fail the number's queued messages (``recipient_suppressed``); return how many."""
        queued = [
            m
            for m in self.store.queued_to(organization_id, number)  # locked (PostgreSQL)
            if m.source != MessageSource.KEYWORD_REPLY and m.status is MessageStatus.QUEUED
        ]
        for m in queued:
            self.fail(m, MessageError.RECIPIENT_SUPPRESSED.value, "The recipient opted out.", now)
        return len(queued)

    def _reply(
        self, inbound: Message, line: OutboundLine, keyword: Keyword, now: datetime
    ) -> Message:
        """Queue the organization's answer to a keyword (the only text that bypasses consent
        and suppression; never marketing)."""
        org = self.deps.organizations.get(inbound.organization_id)
        settings = self.deps.numbers.carrier_settings(inbound.organization_id) or CarrierSettings()
        name = {
            Keyword.STOP: "opt_out_text",
            Keyword.START: "opt_in_text",
            Keyword.HELP: "help_text",
        }[keyword]
        template = getattr(settings, name) or DEFAULT_TEXTS[name]
        text = template.replace("{org}", org.name if org else "")
        reply = Message(
            id=generate_id("msg"),
            organization_id=inbound.organization_id,
            user_id=None,
            direction="outbound",
            source=MessageSource.KEYWORD_REPLY.value,
            channel="sms",
            status=MessageStatus.QUEUED,
            to=inbound.from_number or "",
            from_number=line.phone_number,
            line_id=line.id,
            text=text,
            purpose="informational",
            created_at=now,
            updated_at=now,
            carrier=line.carrier,
            due_at=now,
        )
        self.store.add_message(reply)
        return reply

    def _line_of(self, organization_id: str, number: str) -> OutboundLine | None:
        for line in self.deps.lines.list_for_org(organization_id):
            if line.phone_number == number:
                return line
        return None


def advanced(m: Message, report: CarrierReport, now: datetime) -> Message | None:
    """The message after a report, or None when the report changes nothing."""
    unknown = m.status is MessageStatus.FAILED and m.error_code == MessageError.OUTCOME_UNKNOWN
    rank = 1 if unknown else STATUS_RANK[m.status]
    new_rank = STATUS_RANK[report.status]
    at = report.occurred_at or now
    fill = {
        "carrier_message_id": m.carrier_message_id or report.carrier_message_id,
        "segments": report.segments if report.segments is not None else m.segments,
        "cost": report.cost or m.cost,
        "updated_at": now,
    }
    if new_rank < rank or (new_rank == rank and report.status is not MessageStatus.SENT):
        if m.carrier_message_id is None and report.carrier_message_id and not m.is_final:
            return dataclasses.replace(
                m, carrier_message_id=report.carrier_message_id, updated_at=now
            )
        return None
    if new_rank == rank:  # sent, again: only "no receipt will come" is news
        if not report.completed or m.completed_at is not None:
            return None
        return dataclasses.replace(m, completed_at=at, due_at=None, **fill)  # type: ignore[arg-type]
    final = new_rank == 3 or report.completed
    return dataclasses.replace(
        m,
        status=report.status,
        sent_at=m.sent_at
        or (at if new_rank >= 2 and report.status is not MessageStatus.FAILED else None),
        completed_at=at if final else None,
        error_code=report.error_code if new_rank == 3 else None,
        carrier_error_code=report.carrier_error_code if new_rank == 3 else m.carrier_error_code,
        error_message=report.error_message if new_rank == 3 else None,
        delivered_channel=(report.delivered_channel or m.delivered_channel)
        if m.channel == Channel.RCS
        else None,
        due_at=None if final else m.due_at,
        **fill,  # type: ignore[arg-type]
    )
