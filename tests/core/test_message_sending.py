"""Sending texts (``telephony.md`` §4.2–4.5, §1.2's magic numbers, §8 items 23, 25–29, 31,
33–34): the checks of ``POST /messages``, the sender's steps with the simulated carrier, and
carrier reports that never move a message backwards.

The platform runs on a real SQLite file and on PostgreSQL (``any_url``) with a fake clock:
the sender's passes (``Sending.due`` / ``advance``) run a second apart, so the simulated
carrier's delay (0.05 s) has always passed by the next one. The carrier is the real simulated
carrier behind :class:`RecordingCarriers`, a test double of the ``Carriers`` port that counts
each ``send``. One test runs the asyncio sender loop on the real clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Organization, Principal
from dialcues_core.adapters.peewee.tables import WebhookOutboxRow
from dialcues_core.errors import (
    ConsentRequired,
    OutsideCallingWindow,
    RecipientSuppressed,
    ValidationFailed,
)
from dialcues_core.messages.model import (
    CarrierReport,
    IncomingText,
    Message,
    MessageCost,
    MessageStatus,
    OutgoingMessage,
    Source,
)
from dialcues_core.messages.sender import Sending
from dialcues_core.messages.texts import Texts, advanced
from dialcues_core.numbers.model import (
    CarrierSettings,
)
from dialcues_core.numbers.ports import Carrier, Carriers, VoiceNumbers
from dialcues_core.testing import FakeClock, RecordingCarrier

START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
LINE = "+14155550142"
TO = "+14155550100"
HOOKS = "https://93.184.215.14/hooks"
MESSAGE_EVENTS = ["message.sent", "message.delivered", "message.failed"]


def magic(last4: str) -> str:
    """A simulated carrier's magic number (``NPA-555-01XX``)."""
    return "+1415555" + last4


# ----------------------------------------------------------------------------- the test double
class LosingCarrier(RecordingCarrier):
    """The shipped :class:`~dialcues_core.testing.RecordingCarrier` around the real simulated
    carrier, every ``send`` recorded; ``lose_events`` makes it the carrier whose events never
    come (an unknown outcome that nothing resolves)."""

    lose_events: bool = False

    @property
    def sent(self) -> list[OutgoingMessage]:
        """Every post, in order."""
        return [args[0] for args in self.of("send")]

    def sends_of(self, message_id: str) -> list[OutgoingMessage]:
        """The posts of one message."""
        return [o for o in self.sent if o.message_id == message_id]

    async def settle(self, message: Message, now: datetime) -> list[CarrierReport | IncomingText]:
        if self.lose_events:
            return []
        return await super().settle(message, now)


class RecordingCarriers:
    """The ``Carriers`` port: every organization gets the one :class:`LosingCarrier`."""

    def __init__(self, real: Carriers) -> None:
        self.real = real
        self.recording = LosingCarrier(real.carrier(CarrierSettings()))

    def carrier(self, settings: CarrierSettings) -> Carrier:
        return self.recording

    def voice_numbers(self, organization: Organization) -> VoiceNumbers:
        return self.real.voice_numbers(organization)


# ----------------------------------------------------------------------------- fixtures
@dataclass
class World:
    """The platform, its clock, one organization's user and the sender over a recorded
    carrier."""

    dc: Dialcues
    clock: FakeClock
    org_id: str
    me: Principal
    sending: Sending
    carrier: LosingCarrier

    def drive(self, passes: int = 4) -> None:
        """Run the sender's passes, a second apart."""
        for _ in range(passes):
            for message_id in self.sending.due():
                self.sending.advance(message_id)
            self.clock.advance(1)

    def get(self, message: Message) -> Message:
        """A message as stored now."""
        return self.dc.messages.get(self.me, message.id)


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


def organization(dc: Dialcues, name: str = "Acme") -> tuple[str, Principal]:
    """An organization with a simulated default line that sends texts, and one user."""
    org = dc.accounts.create_organization(name)
    dc.accounts.add_line(
        org.id, "simulated", LINE, features=("mms", "sms", "voice"), carrier="simulated"
    )
    user = dc.accounts.create_user(org.id, f"{name.lower()}@example.com", "Jane")
    return org.id, dc.as_user(user.id)


def make_world(dc: Dialcues, clock: FakeClock) -> World:
    """The organization "Acme" and a sender whose carrier records each send."""
    org_id, me = organization(dc)
    carriers = RecordingCarriers(dc.message_deps.carriers)
    deps = dataclasses.replace(dc.message_deps, carriers=carriers)
    return World(dc, clock, org_id, me, Sending(deps, Texts(deps)), carriers.recording)


@pytest.fixture
def world(dc: Dialcues, clock: FakeClock) -> World:
    """The organization "Acme" and a sender whose carrier records each send."""
    return make_world(dc, clock)


def consent(w: World, to: str = TO, kind: str = "express", purpose: str = "informational") -> str:
    """Record the recipient's consent; return its id."""
    payload = {
        "phone_number": to,
        "type": kind,
        "purpose": purpose,
        "source": "web_form",
        "text": "Yes, text me.",
        "captured_at": "2026-03-01T00:00:00Z",
    }
    return w.dc.consents.create(w.me, payload).id


def template(w: World, purpose: str = "informational", channels: tuple[str, ...] = ("sms",)) -> str:
    """A template ``Hi {{ name }}.``; return its id."""
    payload = {
        "name": f"t-{purpose}-{'-'.join(channels)}",
        "body": "Hi {{ name }}.",
        "channels": list(channels),
        "purpose": purpose,
    }
    return w.dc.message_templates.create(w.me, payload).id


def send(w: World, template_id: str, to: str = TO, **fields: Any) -> Message:
    """Send the template to ``to``."""
    payload = {
        "to": to,
        "channel": "sms",
        "template_id": template_id,
        "variables": {"name": "Ada"},
        **fields,
    }
    return w.dc.messages.send(w.me, payload)


def sent_to(w: World, to: str, **fields: Any) -> Message:
    """Consent, template and send to ``to``, then let the sender run."""
    consent(w, to)
    message = send(w, template(w), to, **fields)
    w.drive()
    return w.get(message)


def subscribe(w: World) -> None:
    """Subscribe the user to the outbound message events."""
    w.dc.webhooks.create(w.me, {"url": HOOKS, "events": MESSAGE_EVENTS})


def events_of(message: Message) -> list[str]:
    """The outbox's event types about one message, oldest first."""
    rows = WebhookOutboxRow.select().order_by(WebhookOutboxRow.id)
    return [r.event_type for r in rows if json.loads(r.body)["data"]["id"] == message.id]


def apply(w: World, *reports: CarrierReport) -> Message:
    """Apply carrier reports as a webhook would (one transaction each); return the last
    message."""
    found: Message | None = None
    for report in reports:
        deps = w.dc.message_deps
        with deps.transactions.atomic(), deps.outbox.collecting():
            found = w.dc.messages.texts.apply(w.org_id, report, w.clock.now())
    assert found is not None
    return found


def handed_off(w: World, to: str = TO) -> Message:
    """A message the carrier took (``sending`` with its id), its outcome not yet reported."""
    consent(w, to)
    message = send(w, template(w), to)
    (message_id,) = w.sending.due()
    w.sending.advance(message_id)
    stored = w.get(message)
    assert stored.status is MessageStatus.SENDING
    return stored


def report(message: Message, status: MessageStatus, **fields: Any) -> CarrierReport:
    """A report naming the message by its carrier id."""
    return CarrierReport(status, carrier_message_id=message.carrier_message_id, **fields)


# ----------------------------------------------------------------------------- the checks
def test_an_informational_send_without_consent_is_consent_required(world: World) -> None:
    with pytest.raises(ConsentRequired) as error:
        send(world, template(world))

    assert error.value.details == {"required": "express", "purpose": "informational"}


@pytest.mark.parametrize(
    ("kind", "purpose"),
    [("express", "informational"), ("express_written", "marketing"), ("express", "marketing")],
)
def test_an_informational_send_needs_any_active_consent(
    world: World, kind: str, purpose: str
) -> None:
    consent(world, kind=kind, purpose=purpose)

    message = send(world, template(world))

    assert message.status is MessageStatus.QUEUED
    assert message.id.startswith("msg_")
    assert (message.source, message.direction, message.user_id) == (
        "api",
        "outbound",
        world.me.user_id,
    )


def test_a_marketing_send_with_only_express_consent_is_consent_required(world: World) -> None:
    consent(world)

    with pytest.raises(ConsentRequired) as error:
        send(world, template(world, "marketing"))

    assert error.value.details == {"required": "express_written", "purpose": "marketing"}


def test_a_marketing_send_with_express_written_marketing_consent_is_queued(world: World) -> None:
    consent(world, kind="express_written", purpose="marketing")

    message = send(world, template(world, "marketing"))

    assert message.status is MessageStatus.QUEUED
    assert message.text == "Hi Ada.\n\nReply STOP to opt out."


def test_a_send_to_a_suppressed_number_is_recipient_suppressed(world: World) -> None:
    consent(world)
    world.dc.suppressions.add(world.me, {"phone_number": TO, "reason": "complaint"})

    with pytest.raises(RecipientSuppressed) as error:
        send(world, template(world))

    assert error.value.details is not None
    assert (error.value.details["phone_number"], error.value.details["reason"]) == (
        TO,
        "complaint",
    )
    assert RecipientSuppressed.http_status == 422


def test_suppression_is_checked_before_consent(world: World) -> None:
    world.dc.suppressions.add(world.me, {"phone_number": TO, "reason": "api"})

    with pytest.raises(RecipientSuppressed):
        send(world, template(world))


def test_an_rcs_send_needs_the_organizations_rcs_agent(world: World) -> None:
    consent(world)

    with pytest.raises(ValidationFailed) as error:
        send(world, template(world, channels=("sms", "rcs")), channel="rcs")

    assert set(error.value.fields) == {"channel"}


def test_the_sender_checks_suppression_again_before_the_carrier(world: World) -> None:
    consent(world)
    message = send(world, template(world))
    world.dc.suppressions.add(world.me, {"phone_number": TO, "reason": "complaint"})

    world.drive()

    stored = world.get(message)
    assert (stored.status, stored.error_code) == (MessageStatus.FAILED, "recipient_suppressed")
    assert world.carrier.sent == []


def test_a_consent_revoked_after_the_send_fails_the_message_before_the_carrier(
    world: World,
) -> None:
    consent_id = consent(world)
    message = send(world, template(world))
    world.dc.consents.revoke(world.me, consent_id, {})  # which suppresses the number too

    world.drive()

    stored = world.get(message)
    assert (stored.status, stored.error_code) == (MessageStatus.FAILED, "recipient_suppressed")
    assert world.carrier.sent == []


def quiet(sqlite_url: str, clock: FakeClock) -> Dialcues:
    """The platform with the 08:00–21:00 calling window (13:00Z is 06:00 in San Francisco)."""
    return Dialcues.open(
        settings=settings_for(sqlite_url, calling_window="08:00-21:00"), clock=clock
    )


def test_a_marketing_send_in_quiet_hours_is_outside_calling_window(
    sqlite_url: str, clock: FakeClock
) -> None:
    dc = quiet(sqlite_url, clock)
    try:
        w = make_world(dc, clock)
        consent(w, kind="express_written", purpose="marketing")

        with pytest.raises(OutsideCallingWindow) as error:
            send(w, template(w, "marketing"))

        assert error.value.details is not None
        assert error.value.details["next_allowed_at"] == "2026-03-25T15:00:00Z"
        assert send(w, template(w)).status is MessageStatus.QUEUED
    finally:
        dc.close()


# ----------------------------------------------------------------------------- outcomes
def test_an_ordinary_number_is_delivered_with_one_sent_and_one_delivered_event(
    world: World,
) -> None:
    subscribe(world)

    message = sent_to(world, TO)

    assert message.status is MessageStatus.DELIVERED
    assert message.carrier_message_id == "sim-" + message.id
    assert (message.delivered_channel, message.segments) == (
        None,
        1,
    )  # only RCS records the channel it arrived by
    assert message.cost == MessageCost("0.0040", "USD")
    assert message.sent_at is not None
    assert message.completed_at is not None
    assert message.is_final
    assert events_of(message) == ["message.sent", "message.delivered"]
    assert len(world.carrier.sends_of(message.id)) == 1


def test_the_carrier_gets_the_rendered_text_and_our_id_in_the_webhook_url(world: World) -> None:
    message = sent_to(world, TO)

    (outgoing,) = world.carrier.sent
    assert (outgoing.to, outgoing.from_number, outgoing.text) == (TO, LINE, "Hi Ada.")
    assert outgoing.webhook_url is not None
    assert outgoing.webhook_url.endswith(
        f"/api/providers/telnyx/events/{world.org_id}?message_id={message.id}"
    )


def test_0111_is_undelivered_with_40008_and_message_failed(world: World) -> None:
    subscribe(world)

    message = sent_to(world, magic("0111"))

    assert message.status is MessageStatus.UNDELIVERED
    assert (message.error_code, message.carrier_error_code) == ("undeliverable", "40008")
    assert events_of(message) == ["message.sent", "message.failed"]


def test_0112_is_refused_at_send_failed_carrier_rejected_40012(world: World) -> None:
    subscribe(world)

    message = sent_to(world, magic("0112"))

    assert message.status is MessageStatus.FAILED
    assert (message.error_code, message.carrier_error_code) == ("carrier_rejected", "40012")
    assert (message.carrier_message_id, message.sent_at) == (None, None)
    assert events_of(message) == ["message.failed"]
    assert len(world.carrier.sends_of(message.id)) == 1


def test_0113_is_sent_and_complete_without_a_receipt(world: World) -> None:
    subscribe(world)

    message = sent_to(world, magic("0113"))

    assert message.status is MessageStatus.SENT
    assert message.completed_at is not None
    assert message.is_final
    assert events_of(message) == ["message.sent"]


def test_0114_is_throttled_once_then_delivered(world: World) -> None:
    consent(world, magic("0114"))
    message = send(world, template(world), magic("0114"))

    world.drive(1)
    requeued = world.get(message)
    world.drive()

    assert (requeued.status, requeued.handed_at) == (MessageStatus.QUEUED, None)
    stored = world.get(message)
    assert stored.status is MessageStatus.DELIVERED
    assert stored.handed_at == START + timedelta(seconds=1)  # the one hand-off that took
    assert len(world.carrier.sends_of(message.id)) == 2  # refused (10011), then taken


def test_0115_stays_sending_without_a_carrier_id_when_the_answer_is_lost(world: World) -> None:
    consent(world, magic("0115"))
    message = send(world, template(world), magic("0115"))

    world.drive(1)

    stored = world.get(message)
    assert (stored.status, stored.carrier_message_id) == (MessageStatus.SENDING, None)
    assert stored.handed_at == START


def test_0115_is_resolved_by_its_events_and_never_posted_again(world: World) -> None:
    message = sent_to(world, magic("0115"))

    world.drive(3)

    assert message.status is MessageStatus.DELIVERED
    assert world.get(message).carrier_message_id == "sim-" + message.id
    assert len(world.carrier.sends_of(message.id)) == 1


def test_0115_without_events_fails_outcome_unknown_after_the_deadline(world: World) -> None:
    subscribe(world)
    world.carrier.lose_events = True
    consent(world, magic("0115"))
    message = send(world, template(world), magic("0115"))
    world.drive(3)
    before = world.get(message)

    world.clock.advance(600)
    world.drive(3)

    assert (before.status, before.carrier_message_id) == (MessageStatus.SENDING, None)
    stored = world.get(message)
    assert (stored.status, stored.error_code) == (MessageStatus.FAILED, "outcome_unknown")
    assert stored.handed_at == START
    assert not stored.is_final  # a later carrier event still corrects it
    assert events_of(message) == ["message.failed"]
    assert len(world.carrier.sends_of(message.id)) == 1


def test_an_outcome_unknown_is_corrected_by_a_later_report(world: World) -> None:
    world.carrier.lose_events = True
    consent(world, magic("0115"))
    message = send(world, template(world), magic("0115"))
    world.drive(2)
    world.clock.advance(601)
    world.drive(1)

    corrected = apply(
        world,
        CarrierReport(MessageStatus.DELIVERED, carrier_message_id="late-1", message_id=message.id),
    )

    assert corrected.status is MessageStatus.DELIVERED
    assert (corrected.error_code, corrected.carrier_message_id) == (None, "late-1")
    assert len(world.carrier.sends_of(message.id)) == 1


def test_0116_fails_campaign_not_registered(world: World) -> None:
    message = sent_to(world, magic("0116"))

    assert message.status is MessageStatus.FAILED
    assert (message.error_code, message.carrier_error_code) == ("campaign_not_registered", "40010")


def test_0117_fails_recipient_suppressed_and_suppresses_the_number(world: World) -> None:
    number = magic("0117")

    message = sent_to(world, number)

    assert message.status is MessageStatus.FAILED
    assert (message.error_code, message.carrier_error_code) == ("recipient_suppressed", "40300")
    entry = world.dc.suppressions.get(world.me, number)
    assert entry.reason == "opt_out_sms"
    assert (entry.source.type, entry.source.id) == ("carrier", message.id)
    (record,) = world.dc.consents.list(world.me, {"phone_number": number}).items
    assert not record.active


def rcs_ready(w: World) -> str:
    """Give the organization its RCS agent; return an SMS-and-RCS template's id."""
    w.dc.numbers.set_carrier(w.org_id, {"carrier": "simulated", "rcs_agent_id": "agent_1"})
    return template(w, channels=("sms", "rcs"))


def test_rcs_to_a_handset_without_rcs_fails_channel_unavailable(world: World) -> None:
    tid = rcs_ready(world)
    consent(world, magic("0118"))
    message = send(world, tid, magic("0118"), channel="rcs")

    world.drive()

    stored = world.get(message)
    assert stored.status is MessageStatus.FAILED
    assert (stored.error_code, stored.carrier_error_code) == ("channel_unavailable", None)


def test_rcs_with_the_sms_fallback_is_delivered_by_sms(world: World) -> None:
    tid = rcs_ready(world)
    consent(world, magic("0118"))
    message = send(world, tid, magic("0118"), channel="rcs", fallback_channel="sms")

    world.drive()

    stored = world.get(message)
    assert stored.status is MessageStatus.DELIVERED
    assert (stored.channel, stored.delivered_channel) == ("rcs", "sms")
    (outgoing,) = world.carrier.sent
    assert outgoing.sms_fallback


def test_rcs_to_an_rcs_handset_is_delivered_by_rcs(world: World) -> None:
    tid = rcs_ready(world)
    consent(world)
    message = send(world, tid, channel="rcs", fallback_channel="sms")

    world.drive()

    assert world.get(message).delivered_channel == "rcs"


def keyword_replies(w: World) -> list[Message]:
    """The organization's keyword replies."""
    page = w.dc.messages.list(w.me, {"direction": "outbound", "page_size": "100"})
    return [m for m in page.items if m.source == Source.KEYWORD_REPLY]


@pytest.mark.parametrize(("last4", "word"), [("0121", "STOP"), ("0123", "REVOKE")])
def test_a_delivered_text_answered_with_a_stop_word_suppresses_and_replies(
    world: World, last4: str, word: str
) -> None:
    number = magic(last4)

    message = sent_to(world, number)

    assert message.status is MessageStatus.DELIVERED
    inbound = world.dc.messages.list(world.me, {"direction": "inbound"}).items
    assert [(m.from_number, m.text) for m in inbound] == [(number, word)]
    entry = world.dc.suppressions.get(world.me, number)
    assert (entry.reason, entry.source.type) == ("opt_out_sms", "message")
    (reply,) = keyword_replies(world)
    assert (reply.to, reply.from_number) == (number, LINE)
    assert reply.text.startswith("Acme: you are unsubscribed")


def test_a_delivered_text_answered_help_gets_the_help_text(world: World) -> None:
    number = magic("0122")

    sent_to(world, number)

    (reply,) = keyword_replies(world)
    assert reply.text.startswith("Acme: reminders by phone and text.")
    with pytest.raises(Exception, match="suppression"):
        world.dc.suppressions.get(world.me, number)


def test_the_keyword_reply_is_delivered_by_the_next_passes(world: World) -> None:
    sent_to(world, magic("0121"))

    world.drive()

    (reply,) = keyword_replies(world)
    assert reply.status is MessageStatus.DELIVERED


def test_advancing_a_handed_off_message_again_never_posts_it_again(world: World) -> None:
    message = handed_off(world)

    for _ in range(3):
        world.sending.advance(message.id)
        world.clock.advance(1)

    assert world.get(message).status is MessageStatus.DELIVERED
    assert len(world.carrier.sends_of(message.id)) == 1


def test_a_leased_message_is_not_taken_by_a_second_sender(world: World) -> None:
    consent(world)
    message = send(world, template(world))
    store = world.dc.message_deps.store
    now = world.clock.now()
    with world.dc.transactions.atomic():
        first = store.lease(message.id, now, now + timedelta(seconds=60))
        second = store.lease(message.id, now, now + timedelta(seconds=60))

    assert first is not None
    assert second is None
    assert world.sending.due() == []


def test_next_due_is_when_the_soonest_live_message_is_due(world: World) -> None:
    consent(world)
    send(world, template(world))
    world.clock.advance(5)
    send(world, template(world, channels=("sms", "mms")))

    assert world.sending.next_due() == START


def test_next_due_is_none_when_no_message_is_live(world: World) -> None:
    sent_to(world, TO)

    assert world.sending.next_due() is None


# ----------------------------------------------------------------------------- reports
def test_a_final_report_before_sent_emits_sent_then_delivered_once(world: World) -> None:
    subscribe(world)
    message = handed_off(world)

    apply(world, report(message, MessageStatus.DELIVERED), report(message, MessageStatus.SENT))

    stored = world.get(message)
    assert stored.status is MessageStatus.DELIVERED
    assert stored.sent_at is not None
    assert events_of(message) == ["message.sent", "message.delivered"]


def test_a_duplicate_report_changes_nothing(world: World) -> None:
    subscribe(world)
    message = handed_off(world)
    apply(world, report(message, MessageStatus.SENT), report(message, MessageStatus.DELIVERED))
    after = world.get(message)
    world.clock.advance(10)

    apply(world, report(message, MessageStatus.DELIVERED), report(message, MessageStatus.SENT))

    assert world.get(message) == after
    assert events_of(message) == ["message.sent", "message.delivered"]


def test_delivered_then_undelivered_stays_delivered(world: World) -> None:
    subscribe(world)
    message = handed_off(world)

    apply(
        world,
        report(message, MessageStatus.DELIVERED),
        report(
            message,
            MessageStatus.UNDELIVERED,
            error_code="undeliverable",
            carrier_error_code="40008",
        ),
    )

    stored = world.get(message)
    assert (stored.status, stored.error_code, stored.carrier_error_code) == (
        MessageStatus.DELIVERED,
        None,
        None,
    )
    assert events_of(message) == ["message.sent", "message.delivered"]


def test_a_report_for_another_organizations_message_is_not_applied(world: World) -> None:
    message = handed_off(world)
    other, _ = organization(world.dc, "Beta")
    deps = world.dc.message_deps

    with deps.transactions.atomic(), deps.outbox.collecting():
        found = world.dc.messages.texts.apply(
            other,
            CarrierReport(MessageStatus.DELIVERED, message_id=message.id),
            world.clock.now(),
        )

    assert found is None
    assert world.get(message).status is MessageStatus.SENDING


def test_a_carrier_event_id_is_applied_the_first_time_only(world: World) -> None:
    store = world.dc.message_deps.store
    now = world.clock.now()

    with world.dc.transactions.atomic():
        first = store.first_time("evt_1", world.org_id, now)
        again = store.first_time("evt_1", world.org_id, now)
        other = store.first_time("evt_2", world.org_id, now)

    assert (first, again, other) == (True, False, True)


def test_old_carrier_event_ids_are_forgotten(world: World) -> None:
    store = world.dc.message_deps.store
    now = world.clock.now()
    with world.dc.transactions.atomic():
        store.first_time("evt_old", world.org_id, now)
        store.first_time("evt_new", world.org_id, now + timedelta(days=8))

    with world.dc.transactions.atomic():
        forgotten = store.forget_events(now + timedelta(days=7), 100)
        known = store.first_time("evt_new", world.org_id, now)
        renewed = store.first_time("evt_old", world.org_id, now)

    assert (forgotten, known, renewed) == (1, False, True)


# ----------------------------------------------------------------------------- the rule itself
def outbound(status: MessageStatus, **fields: Any) -> Message:
    """A message in ``status`` (no database)."""
    return Message(
        id="msg_1",
        organization_id="org_1",
        user_id="usr_1",
        direction="outbound",
        source="api",
        channel="sms",
        status=status,
        to=TO,
        from_number=LINE,
        line_id="line_1",
        text="Hi",
        purpose="informational",
        created_at=START,
        updated_at=START,
        **fields,
    )


@pytest.mark.parametrize(
    ("current", "reported"),
    [
        (MessageStatus.SENT, MessageStatus.SENDING),
        (MessageStatus.DELIVERED, MessageStatus.SENT),
        (MessageStatus.DELIVERED, MessageStatus.SENDING),
        (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED),
        (MessageStatus.UNDELIVERED, MessageStatus.DELIVERED),
        (MessageStatus.FAILED, MessageStatus.DELIVERED),
        (MessageStatus.DELIVERED, MessageStatus.DELIVERED),
    ],
)
def test_a_report_never_moves_a_message_backwards_or_past_its_final_status(
    current: MessageStatus, reported: MessageStatus
) -> None:
    message = outbound(current, carrier_message_id="c1", error_code=None)

    assert advanced(message, CarrierReport(reported, carrier_message_id="c1"), START) is None


def test_sent_with_no_receipt_to_come_completes_a_sent_message_once() -> None:
    message = outbound(MessageStatus.SENT, carrier_message_id="c1", sent_at=START)
    unconfirmed = CarrierReport(MessageStatus.SENT, carrier_message_id="c1", completed=True)

    completed = advanced(message, unconfirmed, START + timedelta(seconds=5))

    assert completed is not None
    assert completed.completed_at == START + timedelta(seconds=5)
    assert advanced(completed, unconfirmed, START + timedelta(seconds=9)) is None


def test_an_outcome_unknown_failure_moves_forward_on_any_report() -> None:
    message = outbound(MessageStatus.FAILED, error_code="outcome_unknown")

    moved = advanced(message, CarrierReport(MessageStatus.SENT, carrier_message_id="c9"), START)

    assert moved is not None
    assert (moved.status, moved.error_code, moved.carrier_message_id) == (
        MessageStatus.SENT,
        None,
        "c9",
    )


def test_a_sending_report_fills_a_missing_carrier_id_only() -> None:
    message = outbound(MessageStatus.SENDING)

    filled = advanced(message, CarrierReport(MessageStatus.SENDING, carrier_message_id="c2"), START)

    assert filled is not None
    assert (filled.status, filled.carrier_message_id) == (MessageStatus.SENDING, "c2")


# ----------------------------------------------------------------------------- the loop
async def test_the_sender_loop_delivers_a_queued_message_on_the_real_clock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dc = Dialcues.open(settings=settings_for(f"sqlite:///{tmp_path / 'loop.db'}"))
    offloader = dc.offloader(threads=4)
    sender = dc.message_sender(offloader)
    task = asyncio.create_task(sender.run())
    try:
        w = make_world(dc, FakeClock())  # its clock and sender stay unused: the loop sends
        consent(w)
        message = send(w, template(w))
        deadline = time.monotonic() + 10
        while w.get(message).status is not MessageStatus.DELIVERED:
            assert time.monotonic() < deadline, "not delivered within 10 s"
            await asyncio.sleep(0.02)
    finally:
        await sender.stop()
        await asyncio.wait_for(task, 10)
        offloader.shutdown()
        dc.close()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
