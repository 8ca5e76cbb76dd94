"""The SMS fallback of reminders (``telephony.md`` §4.6): one text when an occurrence ends
unreached.

``after``: ``final_failure`` (the occurrence's last attempt ended ``no_answer``, ``busy`` or
``failed`` with no retry left), ``no_answer`` (it ended ``no_answer`` with no retry left) or
``voicemail`` (an attempt ended ``voicemail``). Never for ``completed``, ``missed`` or
``skipped`` attempts, never while a retry is pending, **once per occurrence**: the message is
written ``queued`` in the transaction that records the triggering outcome, under a unique key
per occurrence and per execution, so a crash neither loses nor doubles it. A fallback that
cannot be sent (the template archived, no line that sends SMS) is written ``failed`` with its
code, so the execution always points at it; the sender then judges the rest (suppression,
consent) as for any message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.kernel.fields import is_well_formed_id
from dialcues_core.kernel.localtime import load_zone, to_local
from dialcues_core.messages import fields, templates
from dialcues_core.messages.deps import MessageDeps
from dialcues_core.messages.fields import BUILT_INS, FallbackFields
from dialcues_core.messages.model import Message, MessageError, MessageStatus, Source
from dialcues_core.messages.ports import FallbackTarget
from dialcues_core.messages.rendering import message_payload
from dialcues_core.messages.service import can_send

FAILURES: Final = frozenset({"no_answer", "busy", "failed"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """One recorded attempt outcome of a reminder."""

    execution_id: int
    reminder_id: int
    status: str
    ended_occurrence: bool
    """No retry of this occurrence is pending."""
    occurrence_at: datetime
    line_id: str | None
    to: str


def wanted(after: str, outcome: Outcome) -> bool:
    """Whether the outcome triggers a fallback of this kind (never while a retry of the
    occurrence is pending: a voicemail that the retry policy retries waits for the last
    attempt, which must then end ``voicemail`` too)."""
    if not outcome.ended_occurrence:
        return False
    if after == "voicemail":
        return outcome.status == "voicemail"
    if after == "no_answer":
        return outcome.status == "no_answer"
    return outcome.status in FAILURES


def scheduled_local(at: datetime, zone: str) -> str:
    """ "Wed 25 Mar 9:00 AM" in the reminder's zone."""
    local = to_local(at, load_zone(zone))
    hour = local.hour % 12 or 12
    return (
        f"{local:%a} {local.day} {local:%b} {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
    )


class Fallbacks:
    """Check a reminder's fallback when it is written; write it when an occurrence ends."""

    def __init__(self, deps: MessageDeps):
        self.deps = deps
        self.store = deps.store

    def parse(self, value: object) -> dict[str, object]:
        """A reminder's ``fallback``, shapes checked, in its stored and shown form."""
        return fields.read_fallback(value).to_json()

    def check_json(
        self, organization_id: str, fallback: Mapping[str, Any], line_id: str | None
    ) -> None:
        """:meth:`check` of a stored form."""
        found = fields.fallback_from_json(fallback)
        if found is not None:
            self.check(organization_id, found, line_id)

    def check(self, organization_id: str, fallback: FallbackFields, line_id: str | None) -> None:
        """Refuse a missing template or slot, or no SMS-capable line (``fallback.<field>``);
        in the caller's transaction."""
        template = None
        if is_well_formed_id(fallback.template_id):
            template = self.store.get_template(organization_id, fallback.template_id)
        if template is None or template.archived_at is not None:
            raise ValidationFailed(
                {
                    "fallback.template_id": "is not an unarchived message"
                    " template of the organization"
                }
            )
        if "sms" not in template.content.channels:
            raise ValidationFailed({"fallback.template_id": "the template does not allow sms"})
        problems = fields.slot_problems(
            template.content.variables, fallback.variables, "fallback.variables", BUILT_INS
        )
        if problems:
            raise ValidationFailed(problems)
        lines = self.deps.lines
        line = lines.get(organization_id, line_id) if line_id else None
        if not can_send(line, "sms") and not can_send(lines.default_for(organization_id), "sms"):
            raise ValidationFailed(
                {"fallback.channel": "needs a line that sends sms: the reminder's or the default"}
            )

    def after_outcomes(self, outcomes: list[Outcome], now: datetime) -> list[str]:
        """Write the fallbacks these outcomes trigger (the caller's transaction); return the
        new message ids."""
        ids = sorted({o.reminder_id for o in outcomes})
        targets = self.store.fallback_targets(ids) if ids else {}
        written = []
        with self.deps.outbox.collecting():  # written with the outcome's transaction
            for outcome in outcomes:
                target = targets.get(outcome.reminder_id)
                if target is None or not wanted(target.fallback.after, outcome):
                    continue
                key = f"{outcome.reminder_id}:{int(outcome.occurrence_at.timestamp() * 1000)}"
                if self.store.fallback_exists(key):
                    continue
                message = self._message(target, outcome, now)
                self.store.add_message(message, fallback_key=key)
                self.store.set_execution_fallback(outcome.execution_id, message.id)
                if message.status is MessageStatus.FAILED and message.user_id:
                    self.deps.outbox.user_event(
                        "message.failed", message.user_id, message_payload(message)
                    )
                written.append(message.id)
        if written:
            for listener in self.deps.listeners:
                listener(None)
        return written

    def _message(self, target: FallbackTarget, outcome: Outcome, now: datetime) -> Message:
        org = target.organization_id
        lines = self.deps.lines
        line = lines.get(org, outcome.line_id) if outcome.line_id else None
        if not can_send(line, "sms"):
            line = lines.default_for(org)
        template = self.store.get_template(org, target.fallback.template_id)
        base = Message(
            id=generate_id("msg"),
            organization_id=org,
            user_id=target.user_id,
            direction="outbound",
            source=Source.REMINDER_FALLBACK.value,
            channel="sms",
            status=MessageStatus.QUEUED,
            to=outcome.to,
            from_number=None,
            line_id=None,
            text="",
            purpose="informational",
            created_at=now,
            updated_at=now,
            template_id=target.fallback.template_id,
            execution_id=outcome.execution_id,
            reminder_id=outcome.reminder_id,
            due_at=now,
            timezone=target.timezone,  # a marketing template's window: the reminder's zone
        )
        if template is None or template.archived_at is not None:
            return _failed(base, MessageError.TEMPLATE_ARCHIVED, "The template was archived.", now)
        version = template.content
        values = {
            "reminder_title": target.title,
            "reminder_message": target.message,
            "scheduled_local": scheduled_local(outcome.occurrence_at, target.timezone),
            "line_number": line.phone_number if line else "",
            **target.fallback.variables,
        }
        base = _with_version(base, version.version, version.content_hash, version.purpose)
        missing = [slot for slot in version.variables if slot not in values]
        if missing or "sms" not in version.channels:
            return _failed(
                base,
                MessageError.TEMPLATE_ARCHIVED,
                "The template's current version no longer fits the fallback"
                f" (slots {', '.join(missing) or 'none'} unfilled, or no sms).",
                now,
            )
        text = templates.render(version.body, values, version.opt_out_footer)
        base = _with_text(base, text)
        if line is None or not can_send(line, "sms"):
            return _failed(
                base,
                MessageError.CHANNEL_UNAVAILABLE,
                "No line of the organization sends sms.",
                now,
            )
        return _on_line(base, line.id, line.phone_number, line.carrier)


def _failed(m: Message, code: MessageError, text: str, now: datetime) -> Message:
    return replace(
        m,
        status=MessageStatus.FAILED,
        error_code=code.value,
        error_message=text,
        completed_at=now,
        due_at=None,
    )


def _with_version(m: Message, version: int, content_hash: str, purpose: str) -> Message:
    return replace(m, template_version=version, content_hash=content_hash, purpose=purpose)


def _with_text(m: Message, text: str) -> Message:
    return replace(m, text=text)


def _on_line(m: Message, line_id: str, number: str, carrier: str | None) -> Message:
    return replace(m, line_id=line_id, from_number=number, carrier=carrier)
