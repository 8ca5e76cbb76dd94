"""Inbound texts and their keywords (``telephony.md`` §4.4, §8 items 27–29).

The keyword rule runs as a pure function. The effects run on a real SQLite file and on
PostgreSQL (``any_url``), on a fake clock: a text injected through the core path of a verified
``message.received`` (``Messages.receive_for``, or ``Texts.receive`` in its transaction when the
carrier's ``autoresponse_type`` matters).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.audit.model import Actor
from dialcues_core.calling.gate import SkipReason
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.consent.model import ConsentRecord
from dialcues_core.errors import ConsentRequired, RecipientSuppressed, ResourceNotFound
from dialcues_core.messages import keywords
from dialcues_core.messages.keywords import CARRIER_ANSWERS, WORDS, Keyword, keyword_of
from dialcues_core.messages.model import IncomingText, Message, MessageStatus, Source
from dialcues_core.messages.sender import Sending
from dialcues_core.reminders.model import ReminderStatus
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
LINE = "+14155550142"
TO = "+14155550100"
OPT_OUT_TEXT = (
    "Acme: you are unsubscribed and will get no more messages. Reply START to resubscribe."
)
HELP_TEXT = "Acme: reminders by phone and text. Reply STOP to opt out. Msg & data rates may apply."


# ----------------------------------------------------------------------------- the rule
STOP_WORDS = [
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "opt out",
    "optout",
]


@pytest.mark.parametrize("word", STOP_WORDS)
def test_each_stop_word_is_the_stop_keyword(word: str) -> None:
    assert keyword_of(word, None) is Keyword.STOP
    assert keyword_of(word.upper(), None) is Keyword.STOP


@pytest.mark.parametrize(("word", "meaning"), [("start", "START"), ("unstop", "START")])
def test_start_and_unstop_are_the_start_keyword(word: str, meaning: str) -> None:
    assert keyword_of(word, None) is Keyword(meaning)


@pytest.mark.parametrize("word", ["help", "info", "HELP", "Info"])
def test_help_and_info_are_the_help_keyword(word: str) -> None:
    assert keyword_of(word, None) is Keyword.HELP


def test_the_words_are_exactly_those_of_the_contract() -> None:
    assert set(WORDS) == {*STOP_WORDS, "start", "unstop", "help", "info"}


@pytest.mark.parametrize(
    "text",
    [
        "Stop.",
        "STOP!",
        "  opt   out ",
        "Opt\tOut",
        "\uff33\uff34\uff2f\uff30",  # full-width STOP: NFKC makes it plain
        "stop all",
        "Stop   All!",
        "\u00a0stop\u00a0",
        "Unsubscribe.",
    ],
)
def test_normalization_finds_the_keyword(text: str) -> None:
    assert keyword_of(text, None) is Keyword.STOP


@pytest.mark.parametrize(
    "text",
    [
        "please stop texting me",
        "stopp",
        "stop..",
        "stop!!",
        "stop?",
        "s t o p",
        "stop all now",
        "",
        "don't stop",
    ],
)
def test_other_texts_are_no_keyword(text: str) -> None:
    assert keyword_of(text, None) is None


def test_normalization_folds_case_and_width_and_drops_one_trailing_mark() -> None:
    assert keywords.normalize("  \uff28\uff25\uff2c\uff30  ME! ") == "help me"


@pytest.mark.parametrize(
    ("text", "autoresponse", "meaning"),
    [
        ("yes please no more", "STOP", Keyword.STOP),
        ("stop", "START", Keyword.START),
        ("hello", "help", Keyword.HELP),
        ("hello", " start ", Keyword.START),
    ],
)
def test_the_carriers_autoresponse_type_overrides_the_text(
    text: str, autoresponse: str, meaning: Keyword
) -> None:
    assert keyword_of(text, autoresponse) is meaning


def test_an_unknown_autoresponse_type_leaves_the_text_to_judge() -> None:
    assert keyword_of("stop", "OPTIN_CUSTOM") is Keyword.STOP
    assert keyword_of("hello", "OPTIN_CUSTOM") is None


def test_telnyx_answers_its_default_words_and_leaves_revoke_opt_out_and_info_to_us() -> None:
    assert {
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "start",
        "unstop",
        "help",
    } == CARRIER_ANSWERS
    assert set(WORDS) - CARRIER_ANSWERS == {"revoke", "opt out", "optout", "info"}


# ----------------------------------------------------------------------------- fixtures
@dataclass
class Org:
    """An organization with a simulated default line that sends texts, and one user."""

    id: str
    me: Principal


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-03-25T13:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn, on the fake clock."""
    platform = Dialcues.open(settings=settings_for(any_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def org(dc: Dialcues) -> Org:
    """The organization "Acme"."""
    found = dc.accounts.create_organization("Acme")
    dc.accounts.add_line(
        found.id, "simulated", LINE, features=("mms", "sms", "voice"), carrier="simulated"
    )
    user = dc.accounts.create_user(found.id, "jane@example.com", "Jane")
    return Org(found.id, dc.as_user(user.id))


def consent(dc: Dialcues, org: Org, kind: str = "express", purpose: str = "informational") -> str:
    """Record the recipient's consent; return its id."""
    payload = {
        "phone_number": TO,
        "type": kind,
        "purpose": purpose,
        "source": "web_form",
        "text": "Yes, text me.",
        "captured_at": "2026-03-01T00:00:00Z",
    }
    return dc.consents.create(org.me, payload).id


def template(dc: Dialcues, org: Org, purpose: str = "informational") -> str:
    """An SMS template without slots; return its id."""
    payload = {
        "name": f"t-{purpose}",
        "body": "See you soon.",
        "channels": ["sms"],
        "purpose": purpose,
    }
    return dc.message_templates.create(org.me, payload).id


def send(dc: Dialcues, org: Org, template_id: str) -> Message:
    """Send a template to the recipient."""
    return dc.messages.send(org.me, {"to": TO, "channel": "sms", "template_id": template_id})


def texted(dc: Dialcues, org: Org, text: str) -> tuple[Message, list[str]]:
    """The recipient texts the line (the simulated carrier's inbound path)."""
    message, effects = dc.messages.receive_for(org.id, LINE, TO, text)
    return message, list(effects)


def texted_via_carrier(
    dc: Dialcues, org: Org, text: str, autoresponse_type: str | None
) -> tuple[Message, list[str]]:
    """The recipient texts the line and the carrier says what it answered itself."""
    now = dc.clock.now()
    incoming = IncomingText(TO, LINE, text, autoresponse_type=autoresponse_type, received_at=now)
    with dc.transactions.atomic(), dc.message_deps.outbox.collecting():
        return dc.messages.texts.receive(org.id, incoming, now)


def replies(dc: Dialcues, org: Org) -> list[Message]:
    """The keyword replies of the organization, oldest first."""
    page = dc.messages.list(org.me, {"direction": "outbound", "page_size": "100"})
    found = [m for m in page.items if m.source == Source.KEYWORD_REPLY]
    return sorted(found, key=lambda m: m.created_at)


def consents_of(dc: Dialcues, org: Org) -> list[ConsentRecord]:
    """The recipient's consent records."""
    return list(dc.consents.list(org.me, {"phone_number": TO, "page_size": "100"}).items)


def send_due(dc: Dialcues, clock: FakeClock, passes: int = 3) -> None:
    """Let the message sender run a few passes, a second apart."""
    sending = Sending(dc.message_deps, dc.messages.texts)
    for _ in range(passes):
        for message_id in sending.due():
            sending.advance(message_id)
        clock.advance(1)


# ----------------------------------------------------------------------------- inbound
def test_an_inbound_text_is_the_organizations_received_message(dc: Dialcues, org: Org) -> None:
    message, effects = texted(dc, org, "please stop texting me")

    assert message.direction == "inbound"
    assert message.status is MessageStatus.RECEIVED
    assert (message.user_id, message.source, message.template_id) == (None, None, None)
    assert (message.from_number, message.to, message.text) == (TO, LINE, "please stop texting me")
    assert message.line_id is not None
    assert effects == []
    assert dc.messages.get(org.me, message.id) == message


def test_free_text_is_not_interpreted(dc: Dialcues, org: Org) -> None:
    consent(dc, org)

    texted(dc, org, "please stop texting me")

    assert replies(dc, org) == []
    with pytest.raises(ResourceNotFound):
        dc.suppressions.get(org.me, TO)


@pytest.mark.parametrize("word", ["STOP", "Stop.", "opt out", "REVOKE", "\uff53\uff54\uff4f\uff50"])
def test_a_stop_keyword_suppresses_the_number_for_opt_out_sms(
    dc: Dialcues, org: Org, word: str
) -> None:
    message, _ = texted(dc, org, word)

    entry = dc.suppressions.get(org.me, TO)
    assert entry.reason == "opt_out_sms"
    assert (entry.source.type, entry.source.id) == ("message", message.id)


def test_a_stop_revokes_every_active_consent_of_the_number(dc: Dialcues, org: Org) -> None:
    consent(dc, org)
    consent(dc, org, "express_written", "marketing")

    texted(dc, org, "STOP")

    found = consents_of(dc, org)
    assert len(found) == 2
    assert all(not c.active for c in found)
    assert {c.revocation.reason for c in found if c.revocation} == {"opt_out_sms"}


def test_a_stop_fails_the_numbers_queued_messages_as_recipient_suppressed(
    dc: Dialcues, org: Org
) -> None:
    consent(dc, org)
    tid = template(dc, org)
    queued = [send(dc, org, tid), send(dc, org, tid)]

    _, effects = texted(dc, org, "Stop.")

    assert "failed_queued:2" in effects
    for message in queued:
        stored = dc.messages.get(org.me, message.id)
        assert (stored.status, stored.error_code) == (MessageStatus.FAILED, "recipient_suppressed")


def test_a_stop_is_answered_once_with_the_opt_out_text(dc: Dialcues, org: Org) -> None:
    texted(dc, org, "STOP")

    (reply,) = replies(dc, org)
    assert reply.text == OPT_OUT_TEXT
    assert (reply.to, reply.from_number, reply.channel) == (TO, LINE, "sms")
    assert (reply.purpose, reply.template_id, reply.user_id) == ("informational", None, None)
    assert reply.status is MessageStatus.QUEUED


def test_the_opt_out_reply_is_sent_although_the_number_is_suppressed(
    dc: Dialcues, org: Org, clock: FakeClock
) -> None:
    texted(dc, org, "STOP")

    send_due(dc, clock)

    (reply,) = replies(dc, org)
    assert reply.status is MessageStatus.DELIVERED


def test_a_stop_the_carrier_answered_on_a_custom_word_suppresses_without_a_reply(
    dc: Dialcues, org: Org
) -> None:
    _, effects = texted_via_carrier(dc, org, "no more please", "STOP")

    assert dc.suppressions.get(org.me, TO).reason == "opt_out_sms"
    assert "reply:carrier" in effects
    assert replies(dc, org) == []


def test_a_second_stop_adds_no_second_entry(dc: Dialcues, org: Org) -> None:
    texted(dc, org, "STOP")
    first = dc.suppressions.get(org.me, TO)

    _, effects = texted(dc, org, "quit")

    assert "suppression:already" in effects
    assert dc.suppressions.get(org.me, TO) == first
    assert dc.suppressions.list(org.me, {"status": "all"}).total == 1


def test_a_send_after_stop_is_recipient_suppressed(dc: Dialcues, org: Org) -> None:
    consent(dc, org)
    tid = template(dc, org)
    texted(dc, org, "STOP")

    with pytest.raises(RecipientSuppressed) as error:
        send(dc, org, tid)

    assert error.value.details is not None
    assert error.value.details["reason"] == "opt_out_sms"


def test_start_records_an_express_informational_consent_from_the_keyword(
    dc: Dialcues, org: Org
) -> None:
    message, _ = texted(dc, org, "Start")

    (record,) = consents_of(dc, org)
    assert (record.type, record.purpose, record.source) == (
        "express",
        "informational",
        "sms_keyword",
    )
    assert (record.text, record.captured_at) == ("Start", message.created_at)
    assert record.active
    assert record.created_by == Actor("recipient", message.id)


def test_start_removes_the_opt_out_sms_entry(dc: Dialcues, org: Org) -> None:
    texted(dc, org, "STOP")

    _, effects = texted(dc, org, "UNSTOP")

    assert any(e.startswith("suppression_removed:") for e in effects)
    with pytest.raises(ResourceNotFound):
        dc.suppressions.get(org.me, TO)


def test_start_leaves_an_entry_of_another_reason(dc: Dialcues, org: Org) -> None:
    dc.suppressions.add(org.me, {"phone_number": TO, "reason": "complaint"})

    texted(dc, org, "START")

    assert dc.suppressions.get(org.me, TO).reason == "complaint"
    assert len(consents_of(dc, org)) == 1


def test_start_is_answered_with_the_opt_in_text(dc: Dialcues, org: Org) -> None:
    texted(dc, org, "start")

    (reply,) = replies(dc, org)
    assert reply.text.startswith("Acme: you are subscribed again.")


def test_after_start_an_informational_send_is_accepted_and_marketing_still_refused(
    dc: Dialcues, org: Org
) -> None:
    informational, marketing = template(dc, org), template(dc, org, "marketing")
    texted(dc, org, "STOP")
    texted(dc, org, "START")

    accepted = send(dc, org, informational)

    assert accepted.status is MessageStatus.QUEUED
    with pytest.raises(ConsentRequired) as error:
        send(dc, org, marketing)
    assert error.value.details == {"required": "express_written", "purpose": "marketing"}


@pytest.mark.parametrize("word", ["HELP", "info", "Help!"])
def test_help_and_info_are_answered_with_the_help_text(dc: Dialcues, org: Org, word: str) -> None:
    _, effects = texted(dc, org, word)

    (reply,) = replies(dc, org)
    assert reply.text == HELP_TEXT
    assert "keyword:help" in effects
    with pytest.raises(ResourceNotFound):
        dc.suppressions.get(org.me, TO)


def test_help_the_carrier_answered_gets_no_reply(dc: Dialcues, org: Org) -> None:
    texted_via_carrier(dc, org, "HELP", "HELP")

    assert replies(dc, org) == []


def test_the_organizations_own_help_text_is_used(dc: Dialcues, org: Org) -> None:
    own = "{org} help desk: call 555-0100. Reply STOP to opt out."
    dc.numbers.set_carrier(org.id, {"carrier": "simulated", "help_text": own})

    texted(dc, org, "info")

    (reply,) = replies(dc, org)
    assert reply.text == "Acme help desk: call 555-0100. Reply STOP to opt out."


def remind(dc: Dialcues, org: Org, **fields: Any) -> int:
    """A one-off reminder to the recipient at 13:05Z; return its id."""
    payload = {
        "title": "Visit",
        "message": "Your visit is at three.",
        "phone_number": TO,
        "timezone": "UTC",
        "scheduled_at": "2026-03-25T13:05:00Z",
        **fields,
    }
    return dc.reminders.create(org.me, payload).id


def test_the_dispatcher_places_no_call_to_a_number_that_texted_stop(
    dc: Dialcues, org: Org, clock: FakeClock
) -> None:
    reminder_id = remind(dc, org)
    texted(dc, org, "STOP")
    clock.advance(5 * 60)

    claimed = dc.attempts().claim(10)

    assert claimed == []
    assert dc.reminders.get(org.me, reminder_id).status is ReminderStatus.SUPPRESSED
    (run,) = dc.executions.list(org.me, {"reminder_id": str(reminder_id)}).items
    assert (run.status, run.skip_reason) == (ExecutionStatus.SKIPPED, SkipReason.SUPPRESSED.value)


def test_a_stop_while_suppressed_for_another_reason_still_revokes_every_consent(
    dc: Dialcues, org: Org, clock: FakeClock
) -> None:
    """Every opt-out revokes: a consent given after a complaint's entry does not survive the
    person's own STOP (it could otherwise lift that entry against their will), and the STOP
    is confirmed because it changed something."""
    dc.suppressions.add(org.me, {"phone_number": TO, "reason": "complaint"})
    clock.advance(60)
    later = consent(dc, org)

    _, effects = texted(dc, org, "STOP")

    assert dc.consents.get(org.me, later).revoked_at is not None
    assert dc.suppressions.get(org.me, TO).reason == "complaint"
    assert "suppression:already" in effects
    assert len(replies(dc, org)) == 1


def test_a_repeated_stop_changes_nothing_and_is_not_answered_again(dc: Dialcues, org: Org) -> None:
    texted(dc, org, "STOP")
    _, effects = texted(dc, org, "STOP")

    assert "suppression:already" in effects
    assert len(replies(dc, org)) == 1
