"""The SMS fallback of reminders (``telephony.md`` §4.6, §8 item 35).

The rule (``wanted``) and the built-in ``scheduled_local`` run as pure functions. The rest runs
on a real SQLite file and on PostgreSQL (``any_url``), on a fake clock: the dispatcher's use
cases claim each attempt (``Attempts.claim``) and record the provider's final event
(``Attempts.apply_events``, as a Vapi webhook would), with one retry 300 s after a failed
attempt; the message sender's passes (``Sending.due`` / ``advance``) then post the text to the
simulated carrier.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.adapters.peewee.tables import WebhookOutboxRow
from dialcues_core.calls.model import Execution, ExecutionStatus
from dialcues_core.calls.ports import CallEvent
from dialcues_core.errors import ValidationFailed
from dialcues_core.messages.fallback import Outcome, scheduled_local, wanted
from dialcues_core.messages.fields import FallbackFields
from dialcues_core.messages.model import Message, MessageStatus
from dialcues_core.messages.sender import Sending
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)  # 9:00 AM in New York
RETRY = DUE + timedelta(seconds=330)  # the first call ends 30 s in; the retry waits 300 s
LINE = "+14155550142"
TO = "+14155550100"
BODY = "{{ reminder_title }} on {{ scheduled_local }} at {{ clinic }}. Call {{ line_number }}."
NO_ANSWER = "customer-did-not-answer"


# ----------------------------------------------------------------------------- the rule
def outcome(status: str, ended: bool = True) -> Outcome:
    """One attempt's outcome (``ended``: no retry of the occurrence is pending)."""
    return Outcome(1, 1, status, ended, DUE, "line_1", TO)


@pytest.mark.parametrize(
    ("after", "status", "ended", "expected"),
    [
        ("final_failure", "no_answer", True, True),
        ("final_failure", "busy", True, True),
        ("final_failure", "failed", True, True),
        ("final_failure", "no_answer", False, False),
        ("final_failure", "busy", False, False),
        ("final_failure", "voicemail", True, False),
        ("final_failure", "completed", True, False),
        ("final_failure", "missed", True, False),
        ("final_failure", "skipped", True, False),
        ("no_answer", "no_answer", True, True),
        ("no_answer", "no_answer", False, False),
        ("no_answer", "busy", True, False),
        ("no_answer", "failed", True, False),
        ("no_answer", "voicemail", True, False),
        ("no_answer", "completed", True, False),
        ("voicemail", "voicemail", True, True),
        ("voicemail", "voicemail", False, False),  # a retry is pending: not yet
        ("voicemail", "no_answer", True, False),
        ("voicemail", "completed", True, False),
        ("voicemail", "skipped", True, False),
    ],
)
def test_which_outcomes_want_a_fallback(
    after: str, status: str, ended: bool, expected: bool
) -> None:
    assert wanted(after, outcome(status, ended)) is expected


@pytest.mark.parametrize(
    ("at", "zone", "shown"),
    [
        (datetime(2026, 3, 25, 13, 0, tzinfo=UTC), "America/New_York", "Wed 25 Mar 9:00 AM"),
        (datetime(2026, 3, 25, 20, 5, tzinfo=UTC), "America/New_York", "Wed 25 Mar 4:05 PM"),
        (datetime(2026, 3, 1, 5, 0, tzinfo=UTC), "America/New_York", "Sun 1 Mar 12:00 AM"),
        (datetime(2026, 3, 1, 17, 0, tzinfo=UTC), "America/New_York", "Sun 1 Mar 12:00 PM"),
        (datetime(2026, 3, 25, 23, 30, tzinfo=UTC), "Europe/Berlin", "Thu 26 Mar 12:30 AM"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "UTC", "Thu 31 Dec 11:59 PM"),
    ],
)
def test_scheduled_local_is_the_occurrence_in_the_reminders_zone(
    at: datetime, zone: str, shown: str
) -> None:
    assert scheduled_local(at, zone) == shown


# ----------------------------------------------------------------------------- fixtures
@dataclass
class World:
    """The platform, its clock, one organization's user and template."""

    dc: Dialcues
    clock: FakeClock
    org_id: str
    me: Principal
    template_id: str

    def remind(self, after: str = "final_failure", **fields: Any) -> Reminder:
        """A one-off reminder at 9:00 AM New York time with an SMS fallback."""
        payload = {
            "title": "Dentist",
            "message": "Your check-up is at nine.",
            "phone_number": TO,
            "timezone": "America/New_York",
            "scheduled_at": "2026-03-25T09:00:00",
            "fallback": {
                "channel": "sms",
                "template_id": self.template_id,
                "after": after,
                "variables": {"clinic": "Elm Street"},
            },
            **fields,
        }
        return self.dc.reminders.create(self.me, payload)

    def attempt(self, at: datetime, reason: str) -> Execution:
        """Claim the attempt due at ``at`` and end its call with ``reason``; return it."""
        self.clock.set(at)
        attempts = self.dc.attempts()
        (claimed,) = attempts.claim(10)
        self.clock.advance(30)
        event = CallEvent(f"call-{claimed.execution.id}", claimed.execution.id, "ended")
        attempts.apply_events([(claimed.execution.id, _ended(event, reason))])
        return self.execution(claimed.execution.id)

    def execution(self, execution_id: int) -> Execution:
        """An execution as stored now."""
        return self.dc.executions.get(self.me, execution_id)

    def fallbacks(self) -> list[Message]:
        """The user's fallback messages."""
        page = self.dc.messages.list(self.me, {"direction": "outbound", "page_size": "100"})
        return [m for m in page.items if m.source == "reminder_fallback"]

    def send_due(self, passes: int = 4) -> None:
        """Run the message sender's passes, a second apart."""
        sending = Sending(self.dc.message_deps, self.dc.messages.texts)
        for _ in range(passes):
            for message_id in sending.due():
                sending.advance(message_id)
            self.clock.advance(1)


def _ended(event: CallEvent, reason: str) -> CallEvent:
    return CallEvent(event.call_id, event.execution_id, "ended", ended_reason=reason)


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-03-25T12:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn, on the fake clock, with one retry after 300 s."""
    platform = Dialcues.open(settings=settings_for(any_url, retry_delays=(300,)), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def world(dc: Dialcues, clock: FakeClock) -> World:
    """An organization with a simulated default line that sends texts, one user, a consenting
    recipient and an SMS template with the built-ins and a ``clinic`` slot."""
    org = dc.accounts.create_organization("Acme")
    dc.accounts.add_line(
        org.id, "simulated", LINE, features=("mms", "sms", "voice"), carrier="simulated"
    )
    me = dc.as_user(dc.accounts.create_user(org.id, "jane@example.com", "Jane").id)
    consent = {
        "phone_number": TO,
        "type": "express",
        "purpose": "informational",
        "source": "web_form",
        "text": "Yes, call or text me.",
        "captured_at": "2026-03-01T00:00:00Z",
    }
    dc.consents.create(me, consent)
    payload = {"name": "missed", "body": BODY, "channels": ["sms"], "purpose": "informational"}
    template = dc.message_templates.create(me, payload)
    return World(dc, clock, org.id, me, template.id)


# ----------------------------------------------------------------------------- checks
def check(w: World, fallback: dict[str, Any], line_id: str | None = None) -> None:
    """Judge a fallback against the organization's templates and lines."""
    found = FallbackFields(
        fallback.get("channel", "sms"),
        fallback.get("template_id", w.template_id),
        fallback.get("after", "final_failure"),
        fallback.get("variables", {"clinic": "Elm Street"}),
    )
    with w.dc.transactions.atomic():
        w.dc.fallbacks.check(w.org_id, found, line_id)


def refused(w: World, fallback: dict[str, Any], line_id: str | None = None) -> set[str]:
    """The fields a refused fallback names."""
    with pytest.raises(ValidationFailed) as error:
        check(w, fallback, line_id)
    return set(error.value.fields)


def test_a_complete_fallback_is_accepted(world: World) -> None:
    check(world, {})


def test_an_unknown_template_is_refused_naming_template_id(world: World) -> None:
    assert refused(world, {"template_id": "tpl_nothere"}) == {"fallback.template_id"}


def test_an_archived_template_is_refused_naming_template_id(world: World) -> None:
    world.dc.message_templates.archive(world.me, world.template_id)

    assert refused(world, {}) == {"fallback.template_id"}


def test_a_template_without_sms_is_refused_naming_template_id(world: World) -> None:
    payload = {"name": "rcs", "body": "Hi", "channels": ["rcs"], "purpose": "informational"}
    rcs_only = world.dc.message_templates.create(world.me, payload)

    assert refused(world, {"template_id": rcs_only.id, "variables": {}}) == {"fallback.template_id"}


def test_a_missing_slot_is_refused_naming_it(world: World) -> None:
    assert refused(world, {"variables": {}}) == {"fallback.variables.clinic"}


def test_an_extra_variable_is_refused_naming_it(world: World) -> None:
    variables = {"clinic": "Elm Street", "doctor": "Who"}

    assert refused(world, {"variables": variables}) == {"fallback.variables.doctor"}


def test_a_built_in_given_as_a_variable_is_refused_naming_it(world: World) -> None:
    variables = {"clinic": "Elm Street", "reminder_title": "Mine"}

    assert refused(world, {"variables": variables}) == {"fallback.variables.reminder_title"}


def test_an_organization_without_a_line_that_sends_sms_is_refused_naming_channel(
    dc: Dialcues,
) -> None:
    org = dc.accounts.create_organization("Voice")
    dc.accounts.add_line(org.id, "simulated", "+14155550143")  # voice only, no carrier
    me = dc.as_user(dc.accounts.create_user(org.id, "v@example.com", "V").id)
    payload = {"name": "t", "body": "Hi", "channels": ["sms"], "purpose": "informational"}
    template = dc.message_templates.create(me, payload)
    w = World(dc, FakeClock(), org.id, me, template.id)

    assert refused(w, {"variables": {}}) == {"fallback.channel"}


def test_a_reminder_with_a_refused_fallback_is_not_created(world: World) -> None:
    with pytest.raises(ValidationFailed) as error:
        world.remind(fallback={"channel": "sms", "template_id": world.template_id, "after": "x"})

    assert set(error.value.fields) == {"fallback.after"}
    assert world.dc.reminders.list(world.me, {}).total == 0


def test_a_reminder_shows_its_fallback(world: World) -> None:
    reminder = world.remind()

    assert reminder.fallback == {
        "channel": "sms",
        "template_id": world.template_id,
        "after": "final_failure",
        "variables": {"clinic": "Elm Street"},
    }


# ----------------------------------------------------------------------------- writing it
def test_no_text_while_a_retry_is_pending(world: World) -> None:
    reminder = world.remind()

    first = world.attempt(DUE, NO_ANSWER)

    assert first.fallback_message_id is None
    assert world.fallbacks() == []
    stored = world.dc.reminders.get(world.me, reminder.id)
    assert (stored.status, stored.next_attempt_at) == (ReminderStatus.SCHEDULED, RETRY)


def test_the_last_unanswered_attempt_writes_one_text_linked_both_ways(world: World) -> None:
    reminder = world.remind()
    world.attempt(DUE, NO_ANSWER)

    last = world.attempt(RETRY, NO_ANSWER)

    (message,) = world.fallbacks()
    assert last.fallback_message_id == message.id
    assert (message.execution_id, message.reminder_id) == (last.id, reminder.id)
    assert (message.source, message.user_id, message.channel) == (
        "reminder_fallback",
        world.me.user_id,
        "sms",
    )
    assert message.status is MessageStatus.QUEUED
    assert (message.to, message.from_number) == (TO, LINE)
    assert message.text == f"Dentist on Wed 25 Mar 9:00 AM at Elm Street. Call {LINE}."
    template = world.dc.message_templates.get(world.me, world.template_id)
    assert (message.template_id, message.template_version, message.content_hash) == (
        template.id,
        1,
        template.content.content_hash,
    )


def test_the_fallback_text_is_then_delivered(world: World) -> None:
    world.remind()
    world.attempt(DUE, NO_ANSWER)
    world.attempt(RETRY, NO_ANSWER)

    world.send_due()

    (message,) = world.fallbacks()
    assert message.status is MessageStatus.DELIVERED


def test_after_no_answer_the_last_unanswered_attempt_writes_the_text(world: World) -> None:
    world.remind("no_answer")
    world.attempt(DUE, NO_ANSWER)

    last = world.attempt(RETRY, NO_ANSWER)

    (message,) = world.fallbacks()
    assert last.fallback_message_id == message.id


def test_after_no_answer_a_last_busy_attempt_writes_nothing(world: World) -> None:
    world.remind("no_answer")
    world.attempt(DUE, NO_ANSWER)

    last = world.attempt(RETRY, "customer-busy")

    assert last.status is ExecutionStatus.BUSY
    assert last.fallback_message_id is None
    assert world.fallbacks() == []


def test_after_final_failure_a_last_busy_attempt_writes_the_text(world: World) -> None:
    world.remind()
    world.attempt(DUE, "customer-busy")

    world.attempt(RETRY, "customer-busy")

    assert len(world.fallbacks()) == 1


def test_a_completed_call_writes_nothing(world: World) -> None:
    world.remind()

    done = world.attempt(DUE, "customer-ended-call")

    assert done.status is ExecutionStatus.COMPLETED
    assert world.fallbacks() == []


def test_after_voicemail_a_voicemail_writes_the_text(world: World) -> None:
    world.remind("voicemail")

    left = world.attempt(DUE, "voicemail")

    assert left.status is ExecutionStatus.VOICEMAIL
    (message,) = world.fallbacks()
    assert left.fallback_message_id == message.id


def test_after_voicemail_unanswered_attempts_write_nothing(world: World) -> None:
    world.remind("voicemail")
    world.attempt(DUE, NO_ANSWER)

    world.attempt(RETRY, NO_ANSWER)

    assert world.fallbacks() == []


def test_after_final_failure_a_voicemail_writes_nothing(world: World) -> None:
    world.remind()

    world.attempt(DUE, "voicemail")

    assert world.fallbacks() == []


def test_a_duplicate_final_event_writes_no_second_text(world: World) -> None:
    world.remind()
    world.attempt(DUE, NO_ANSWER)
    last = world.attempt(RETRY, NO_ANSWER)

    again = CallEvent(f"call-{last.id}", last.id, "ended", ended_reason=NO_ANSWER)
    world.dc.attempts().apply_events([(last.id, again)])

    assert len(world.fallbacks()) == 1


def test_an_occurrence_gets_one_text_however_often_its_outcome_is_recorded(
    world: World,
) -> None:
    reminder = world.remind()
    world.attempt(DUE, NO_ANSWER)
    last = world.attempt(RETRY, NO_ANSWER)
    again = Outcome(last.id, reminder.id, "no_answer", True, DUE, last.line_id, TO)

    with world.dc.transactions.atomic():
        written = world.dc.fallbacks.after_outcomes([again, again], world.clock.now())

    assert written == []
    assert len(world.fallbacks()) == 1


def test_each_occurrence_of_a_series_gets_its_own_text(world: World) -> None:
    world.remind(recurrence_type="daily")
    world.attempt(DUE, NO_ANSWER)
    world.attempt(RETRY, NO_ANSWER)

    world.attempt(DUE + timedelta(days=1), NO_ANSWER)
    world.attempt(RETRY + timedelta(days=1), NO_ANSWER)

    texts = world.fallbacks()
    assert len(texts) == 2
    assert {m.text.split(" at ")[0] for m in texts} == {
        "Dentist on Wed 25 Mar 9:00 AM",
        "Dentist on Thu 26 Mar 9:00 AM",
    }


def test_a_template_archived_before_the_outcome_fails_the_text_still_linked(
    world: World,
) -> None:
    world.remind()
    world.attempt(DUE, NO_ANSWER)
    world.dc.message_templates.archive(world.me, world.template_id)

    last = world.attempt(RETRY, NO_ANSWER)
    world.send_due()

    (message,) = world.fallbacks()
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "template_archived")
    assert last.fallback_message_id == message.id
    assert message.execution_id == last.id


def test_a_recipient_suppressed_during_the_call_gets_a_failed_text_still_linked(
    world: World,
) -> None:
    world.remind()
    world.attempt(DUE, NO_ANSWER)
    world.clock.set(RETRY)
    attempts = world.dc.attempts()
    (claimed,) = attempts.claim(10)
    world.dc.suppressions.add(world.me, {"phone_number": TO, "reason": "complaint"})
    event = CallEvent("call-last", claimed.execution.id, "ended", ended_reason=NO_ANSWER)
    attempts.apply_events([(claimed.execution.id, event)])

    world.send_due()

    (message,) = world.fallbacks()
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "recipient_suppressed")
    assert world.execution(claimed.execution.id).fallback_message_id == message.id


def test_a_text_to_a_recipient_without_consent_fails_consent_required(world: World) -> None:
    other = "+14155550177"
    world.remind(phone_number=other)
    world.attempt(DUE, NO_ANSWER)

    last = world.attempt(RETRY, NO_ANSWER)
    world.send_due()

    (message,) = world.fallbacks()
    assert (message.to, message.status, message.error_code) == (
        other,
        MessageStatus.FAILED,
        "consent_required",
    )
    assert last.fallback_message_id == message.id


def test_a_reminder_on_a_line_without_sms_texts_from_the_default_line(world: World) -> None:
    voice = world.dc.accounts.add_line(world.org_id, "simulated", "+14155550143", label="Voice")
    world.remind(vapi_line_id=voice.id)
    world.attempt(DUE, NO_ANSWER)

    last = world.attempt(RETRY, NO_ANSWER)

    (message,) = world.fallbacks()
    assert last.line_id == voice.id
    assert message.from_number == LINE
    assert message.text.endswith(f"Call {LINE}.")


def test_the_templates_current_version_is_used_when_the_text_is_written(world: World) -> None:
    world.remind()
    world.attempt(DUE, NO_ANSWER)
    world.dc.message_templates.update(
        world.me, world.template_id, {"body": "Missed: {{ reminder_title }} ({{ clinic }})."}
    )

    world.attempt(RETRY, NO_ANSWER)

    (message,) = world.fallbacks()
    assert (message.template_version, message.text) == (2, "Missed: Dentist (Elm Street).")


# ----------------------------------------------------------------------------- review fixes
def test_a_fallback_failed_when_written_still_tells_its_owner(world: World) -> None:
    """A fallback refused as it is written (here ``template_archived``) is reported with
    ``message.failed``, as one the sender refuses later is."""
    world.dc.webhooks.create(
        world.me, {"url": "https://93.184.215.14/hooks", "events": ["message.failed"]}
    )
    world.remind()
    world.attempt(DUE, NO_ANSWER)
    world.dc.message_templates.archive(world.me, world.template_id)
    world.attempt(RETRY, NO_ANSWER)

    (message,) = world.fallbacks()
    rows = WebhookOutboxRow.select().order_by(WebhookOutboxRow.id)
    told = [
        (r.event_type, json.loads(r.body)["data"]["error_code"])
        for r in rows
        if json.loads(r.body)["data"].get("id") == message.id
    ]
    assert told == [("message.failed", "template_archived")]


def test_a_voicemail_with_a_retry_pending_waits_for_the_last_attempt(world: World) -> None:
    retried = {"max_attempts": 2, "delays": {"voicemail": [300]}}
    world.remind(after="voicemail", retry_policy=retried)

    first = world.attempt(DUE, "voicemail")
    assert first.fallback_message_id is None and world.fallbacks() == []
    last = world.attempt(RETRY, "voicemail")

    (message,) = world.fallbacks()
    assert last.fallback_message_id == message.id


def test_changing_the_line_checks_the_fallback_again(world: World) -> None:
    (texting,) = world.dc.reminders.repos.lines.list_for_org(world.org_id)
    reminder = world.remind(vapi_line_id=texting.id)
    voice_only = world.dc.accounts.add_line(world.org_id, "simulated", "+14155550199")
    world.dc.accounts.set_default_line(world.org_id, voice_only.id)

    with pytest.raises(ValidationFailed) as refused:
        world.dc.reminders.update(world.me, reminder.id, {"vapi_line_id": voice_only.id})
    assert "fallback.channel" in refused.value.fields
