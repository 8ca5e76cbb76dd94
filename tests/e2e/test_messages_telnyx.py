"""Text messages through real servers, on both carriers (``telephony.md`` §8 items 23–31, 34,
35).

Each test runs :func:`e2e.messages_support.texting_stack`: REST with the provider routes, the
dispatcher, the message sender and the webhook deliverer on loopback, and a webhook receiver
that verifies every delivery. Items that §8 runs twice are parametrized over ``carrier``: the
simulated carrier (magic numbers ``NPA-555-01XX``), and the strict fake Telnyx with the fake
Vapi (its knobs); items marked ``fake`` need the fake's wire or faults and run on it only.

What the REST helper's suites already prove in-process (``tests/rest/test_messages_wire.py``:
the 400s and 422s of a send, one message queued for one key) or on the simulated carrier
(``test_message_statuses.py``) is not repeated; here each item is followed to the carrier and
back: what the carrier was asked to send, its events, and the effects committed before a
webhook's 200.

- 23: consent gates a text; delivered with one event of each kind; a line assigned through
  the carrier (hold, assign, order, import) texts too.
- 24: ten sequential and fifty concurrent sends under one key: one text at the carrier.
- 25: the answer lost (simulated ``…0115``; the fake's ``DONE_THEN_500``, ``_DROP``,
  ``_HANG``): posted once, resolved by its events; without events (fake) ``outcome_unknown``
  after ``DIALCUES_MESSAGE_UNKNOWN_AFTER``, then corrected by a late event.
- 26 (fake): events twice, ``finalized`` first, concurrent, and all three.
- 27: ``STOP``, ``Stop.``, ``opt out``, ``REVOKE`` (and, fake, ``autoresponse_type: STOP`` on a
  custom word): entry and revoked consents read at once after the delivery; the queued text
  fails; the next send is 422; a reminder due to the number is skipped, never dialed.
- 28: which keyword gets our reply, and how often. 29: ``START``.
- 30 (fake): forged status and inbound events are 401 and change nothing; 299 s old is 200.
- 31: 40010 and 40300, at send or in ``message.finalized``; no campaign → 422, nothing posted.
- 34: RCS with an SMS fallback to a handset without RCS; MMS media at the carrier.
- 35: the reminders' SMS fallback (``final_failure``, suppressed meanwhile, ``voicemail``), and
  a process killed while recording the outcome (the embedding API in a child process, killed
  inside the outcome's transaction or just after its commit; the outcome then reported again)
  leaves exactly one text, linked and delivered by a running stack.

Past the house's 400 lines: one section per item, all on the one harness, read best together.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fakes.telnyx_server import DEFAULT_PROFILE, Fault
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.calls.ports import CallEvent
from e2e.messages_support import (
    CARRIERS,
    HELP_TEXT,
    LINE,
    OPT_OUT_TEXT,
    TEMPLATES,
    TextStack,
    fallback,
    telnyx_settings,
    texting_stack,
)
from e2e.support import BASE, running_stack

pytestmark = pytest.mark.slow

TO = "+14155552671"
"""A recipient whose texts are delivered on both carriers."""
ANSWER_LOST = "+14155550115"
"""The simulated carrier loses its answer to a text to ``NPA-555-0115``; its events follow."""


@pytest.fixture(params=CARRIERS)
def carrier(request: pytest.FixtureRequest) -> str:
    """Each carrier in turn: the simulated one, then the fake Telnyx with the fake Vapi."""
    return str(request.param)


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) every 0.05 s until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = check()
        if isinstance(found, Awaitable):
            found = await found
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


# ----------------------------------------------------------------------------- 23 consent
async def test_23_consent_gates_a_text_that_is_then_delivered_with_one_event_each(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        refused = await t.send(TO)
        assert (refused.status, refused.code) == (422, "consent_required")
        assert t.carrier_sends(TO) == 0

        await t.consent(TO)
        message = await t.queued(TO)
        done = await t.final(message["id"])
        assert (done["status"], done["error_code"], done["text"]) == (
            "delivered",
            None,
            "Hello Ada",
        )
        assert done["sent_at"] is not None and done["completed_at"] is not None
        wanted = Counter({"message.sent": 1, "message.delivered": 1})
        await eventually(lambda: t.receiver.seen(message["id"]) == wanted)

        marketing = await t.send(TO, "promo")
        assert (marketing.status, marketing.code) == (422, "consent_required")
        details = marketing.body["error"]["details"]
        assert (details["required"], details["purpose"]) == ("express_written", "marketing")
        await asyncio.sleep(0.5)  # nothing more arrives
        assert t.receiver.seen(message["id"]) == wanted
        assert t.carrier_sends(TO) == 1
        assert not t.receiver.rejected


# ----------------------------------------------------------------------------- 24 one key
async def test_24_ten_sends_with_one_key_reach_the_carrier_once(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        await t.consent(TO)
        key = {"Idempotency-Key": "text-ten"}
        replies = [await t.send(TO, headers=key) for _ in range(10)]
        assert {r.status for r in replies} == {201}
        assert len({r.body["id"] for r in replies}) == 1
        replayed = [r.headers.get("Idempotent-Replayed") for r in replies]
        assert replayed == [None] + ["true"] * 9
        await t.final(replies[0].body["id"])
        await asyncio.sleep(0.5)
        assert t.carrier_sends(TO) == 1
        assert len(await t.messages(to=TO)) == 1


async def test_24_fifty_concurrent_sends_with_one_key_reach_the_carrier_once(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        await t.consent(TO)
        key = {"Idempotency-Key": "text-fifty"}
        replies = await asyncio.gather(*(t.send(TO, headers=key) for _ in range(50)))
        created = [r for r in replies if r.status == 201]
        assert created and {r.status for r in replies} <= {201, 409}, Counter(
            r.status for r in replies
        )
        assert len({r.body["id"] for r in created}) == 1
        await t.final(created[0].body["id"])
        await asyncio.sleep(0.5)
        assert t.carrier_sends(TO) == 1
        assert len(await t.messages(to=TO)) == 1


# ----------------------------------------------------------------------------- 25 answer lost
LOST = [
    ("simulated", None),  # NPA-555-0115: the answer lost, its events follow
    ("telnyx", Fault.DONE_THEN_500),
    ("telnyx", Fault.DONE_THEN_DROP),
    ("telnyx", Fault.DONE_THEN_HANG),  # answered after DIALCUES_CARRIER_TIMEOUT (1 s here)
]


@pytest.mark.parametrize(("carrier", "fault"), LOST)
async def test_25_a_send_whose_answer_is_lost_is_posted_once_and_resolved_by_its_events(
    sqlite_url: str, carrier: str, fault: Fault | None
) -> None:
    async with texting_stack(sqlite_url, carrier, carrier_timeout=1.0) as t:
        to = ANSWER_LOST
        if fault is not None:
            t.fake.hang_seconds = 3.0
            t.fake.fail_next(fault, method="POST", path="/messages", to=to)
        await t.consent(to)
        message = await t.queued(to)
        done = await t.final(message["id"])
        assert (done["status"], done["error_code"]) == ("delivered", None)
        await asyncio.sleep(1.5)  # the sender's next passes (and a hung answer) change nothing
        assert t.carrier_sends(to) == 1
        assert (await t.message(message["id"]))["status"] == "delivered"
        wanted = Counter({"message.sent": 1, "message.delivered": 1})
        await eventually(lambda: t.receiver.seen(message["id"]) == wanted)
        if t.telnyx is not None:
            (posted,) = t.fake.sends_to(to)
            assert posted.status in (500, None)  # the answer was lost; the event named our id
            assert posted.json["webhook_url"].endswith(f"?message_id={message['id']}")


async def test_25_fake_a_lost_answer_without_events_is_outcome_unknown_then_corrected(
    sqlite_url: str,
) -> None:
    async with texting_stack(sqlite_url, "telnyx", message_unknown_after=2) as t:
        t.fake.auto_deliver_messages = False
        t.fake.fail_next(Fault.DONE_THEN_500, method="POST", path="/messages", to=TO)
        await t.consent(TO)
        message = await t.queued(TO)
        await eventually(lambda: t.carrier_sends(TO) == 1)
        assert (await t.message(message["id"]))["status"] == "sending"
        failed = await t.final(message["id"], within=10)
        assert (failed["status"], failed["error_code"]) == ("failed", "outcome_unknown")
        assert t.carrier_sends(TO) == 1  # never resent

        (carrier_id,) = [m.id for m in t.fake.messaging.messages.values() if m.to == TO]
        await t.fake.deliver_message(carrier_id)  # a late event still corrects it
        corrected = await t.message(message["id"])
        assert (corrected["status"], corrected["error_code"]) == ("delivered", None)
        assert t.carrier_sends(TO) == 1


# ----------------------------------------------------------------------------- 26 events
EVENT_MODES = {
    "twice": {"deliver_twice": True},
    "finalized_first": {"finalized_first": True},
    "concurrently": {"deliver_concurrently": True},
    "all_at_once": {"deliver_twice": True, "finalized_first": True, "deliver_concurrently": True},
}


@pytest.mark.parametrize("mode", list(EVENT_MODES))
async def test_26_fake_events_twice_out_of_order_or_concurrent_apply_once(
    sqlite_url: str, mode: str
) -> None:
    async with texting_stack(sqlite_url, "telnyx") as t:
        for name, value in EVENT_MODES[mode].items():
            setattr(t.fake, name, value)
        await t.consent(TO)
        message = await t.queued(TO)
        attempts = 4 if t.fake.deliver_twice else 2
        await eventually(lambda: len(t.fake.deliveries) >= attempts)
        assert {d.status for d in t.fake.deliveries} == {200}  # every attempt answered 200
        done = await t.final(message["id"])
        assert (done["status"], done["error_code"]) == ("delivered", None)
        assert done["sent_at"] is not None and done["completed_at"] is not None
        wanted = Counter({"message.sent": 1, "message.delivered": 1})
        await eventually(lambda: t.receiver.seen(message["id"]) == wanted)
        await asyncio.sleep(1.0)  # late duplicates change nothing
        assert t.receiver.seen(message["id"]) == wanted
        assert (await t.message(message["id"]))["status"] == "delivered"
        assert t.carrier_sends(TO) == 1


# ----------------------------------------------------------------------------- 27 STOP
HANDSET = "+14155552672"
"""A recipient who texts back (answers calls, takes texts on both carriers)."""


def inbound_payload(handset: str, text: str, autoresponse: str | None) -> dict[str, Any]:
    """A ``message.received`` payload as Telnyx sends it (the fake's shape), with the
    ``autoresponse_type`` the test chooses."""
    return {
        "id": str(uuid.uuid4()), "record_type": "message", "direction": "inbound",
        "type": "SMS", "messaging_profile_id": DEFAULT_PROFILE,
        "from": {"phone_number": handset, "carrier": "T-Mobile USA", "line_type": "Wireless"},
        "to": [{"phone_number": LINE, "status": "webhook_delivered", "carrier": "Telnyx",
                "line_type": "Wireless"}],
        "cc": [], "media": [], "parts": 1, "text": text,
        "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "sent_at": None, "completed_at": None, "cost": None, "errors": [], "tags": [],
        "is_spam": False, "autoresponse_type": autoresponse,
    }  # fmt: skip


async def post_event(
    t: TextStack, body: bytes, headers: dict[str, str], org: str | None = None
) -> int:
    """POST a carrier webhook as Telnyx would; return the status."""
    url = f"{t.stack.root}/api/providers/telnyx/events/{org or t.org_id}"
    sent = {"Content-Type": "application/json", **headers}
    async with t.stack.session.post(url, data=body, headers=sent) as reply:
        return reply.status


async def custom_stop(t: TextStack, handset: str, text: str) -> None:
    """Telnyx's ``autoresponse_type: STOP`` on a word of the profile's own keyword list (the
    fake knows only the default list, so the test signs the event with the fake's key)."""
    body = t.fake.event_body("message.received", inbound_payload(handset, text, "STOP"))
    assert await post_event(t, body, t.fake.sign(body)) == 200


async def held_queued(t: TextStack, to: str) -> dict[str, Any]:
    """A message to ``to`` that the carrier throttled for ten minutes: ``queued`` again."""
    t.hold_next_send(to)
    message = await t.queued(to)
    await eventually(lambda: t.held_sends(to) == 1)

    async def requeued() -> bool:
        return bool((await t.message(message["id"]))["status"] == "queued")

    await eventually(requeued)
    return message


async def suppressed_at_once(t: TextStack, number: str, source: str) -> dict[str, Any]:
    """The number's active entry, read right after the carrier's delivery was answered."""
    reply = await t.call("GET", f"/suppressions/{number}")
    assert reply.status == 200, reply.body
    entry = dict(reply.body)
    assert (entry["status"], entry["reason"], entry["source"]["type"]) == (
        "active",
        "opt_out_sms",
        source,
    )
    return entry


async def opt_out_events(t: TextStack, number: str, revoked: int) -> None:
    """The webhooks of an opt-out: one ``suppression.created``, a ``consent.revoked`` per
    consent (written in the transaction that suppressed the number)."""

    def counted() -> Counter[str]:
        kinds = ("suppression.created", "consent.revoked")
        return Counter(e["type"] for kind in kinds for e in t.receiver.of(kind, number))

    wanted = Counter({"suppression.created": 1, "consent.revoked": revoked})
    await eventually(lambda: counted() == wanted)
    await asyncio.sleep(0.5)
    assert counted() == wanted


STOPS = [
    *((carrier, word) for carrier in CARRIERS for word in ("STOP", "Stop.", "opt out", "REVOKE")),
    ("telnyx", "custom"),  # autoresponse_type is Telnyx's: the simulated carrier has none
]


@pytest.mark.parametrize(("carrier", "word"), STOPS)
async def test_27_an_inbound_stop_suppresses_before_the_answer_and_stops_texts_and_calls(
    sqlite_url: str, carrier: str, word: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        await t.consent(HANDSET)
        await t.consent(HANDSET, "express_written", "marketing")
        waiting = await held_queued(t, HANDSET)
        reminder = await t.remind(HANDSET, in_seconds=3)

        if word == "custom":
            await custom_stop(t, HANDSET, "ALTO")
        else:
            await t.inbound(HANDSET, word)
        # committed before the answer: read at once, no waiting
        await suppressed_at_once(t, HANDSET, "message")
        consents = await t.consents(HANDSET)
        assert len(consents) == 2 and all(c["revoked_at"] for c in consents), consents
        failed = await t.message(waiting["id"])
        assert (failed["status"], failed["error_code"]) == ("failed", "recipient_suppressed")
        (received,) = await t.messages(direction="inbound", **{"from": HANDSET})
        assert (received["status"], received["line_id"]) == ("received", t.line_id)

        refused = await t.send(HANDSET)
        assert (refused.status, refused.code) == (422, "recipient_suppressed")

        async def skipped() -> list[dict[str, Any]] | None:
            found = await t.ok("GET", f"/reminders/{reminder['id']}")
            return await t.executions(reminder["id"]) if found["status"] == "suppressed" else None

        executions = await eventually(skipped, within=15)
        assert [(e["status"], e["skip_reason"]) for e in executions] == [("skipped", "suppressed")]
        assert t.calls_to(HANDSET) == 0
        assert t.held_sends(HANDSET) == 1  # the queued text was never sent
        await opt_out_events(t, HANDSET, revoked=2)


# ----------------------------------------------------------------------------- 28 replies
REPLIES = {
    # word: (the simulated carrier's run, the fake Telnyx's run); None: no reply from us
    "REVOKE": (OPT_OUT_TEXT, OPT_OUT_TEXT),
    "opt out": (OPT_OUT_TEXT, OPT_OUT_TEXT),
    "STOP": (OPT_OUT_TEXT, None),
    "HELP": (HELP_TEXT, None),
    "INFO": (HELP_TEXT, HELP_TEXT),
}


async def keyword_replies(t: TextStack, handset: str) -> list[dict[str, Any]]:
    """Our answers to the handset's keywords."""
    found = await t.messages(to=handset, direction="outbound")
    return [m for m in found if m["source"] == "keyword_reply"]


@pytest.mark.parametrize("word", list(REPLIES))
async def test_28_a_keyword_is_answered_once_unless_the_carrier_answered(
    sqlite_url: str, carrier: str, word: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        expected = REPLIES[word][CARRIERS.index(carrier)]
        await t.inbound(HANDSET, word)
        await t.inbound(HANDSET, word.lower())  # again: a STOP is confirmed only once
        if expected is None:
            await asyncio.sleep(1.5)
            assert await keyword_replies(t, HANDSET) == []
            assert t.carrier_texts(HANDSET) == []
            autoreplies = {kind for *_, kind in t.fake.messaging.autoreplies}
            assert autoreplies == {word.upper()}
            return

        async def delivered() -> list[dict[str, Any]] | None:
            replies = await keyword_replies(t, HANDSET)
            return replies if replies and all(r["status"] == "delivered" for r in replies) else None

        replies = await eventually(delivered)
        await asyncio.sleep(1.0)
        replies = await keyword_replies(t, HANDSET)
        count = 2 if expected == HELP_TEXT else 1  # help is given each time; opt-out once
        assert [r["text"] for r in replies] == [expected] * count
        assert {(r["from"], r["purpose"], r["template_id"]) for r in replies} == {
            (LINE, "informational", None)
        }
        assert t.carrier_sends(HANDSET) == count
        if t.telnyx is not None:
            assert t.carrier_texts(HANDSET) == [expected] * count


# ----------------------------------------------------------------------------- 29 START
async def test_29_start_removes_the_opt_out_and_records_express_consent(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        await t.consent(HANDSET)
        await t.inbound(HANDSET, "STOP")
        await suppressed_at_once(t, HANDSET, "message")

        await t.inbound(HANDSET, "START")
        assert (await t.call("GET", f"/suppressions/{HANDSET}")).status == 404
        query = urlencode({"status": "removed", "phone_number": HANDSET})
        removed = await t.ok("GET", f"/suppressions?{query}")
        assert [e["reason"] for e in removed["items"]] == ["opt_out_sms"]
        active = [c for c in await t.consents(HANDSET) if c["revoked_at"] is None]
        assert [(c["type"], c["purpose"], c["source"], c["text"]) for c in active] == [
            ("express", "informational", "sms_keyword", "START")
        ]
        assert removed["items"][0]["removal_consent_id"] == active[0]["id"]
        await eventually(lambda: len(t.receiver.of("suppression.removed", HANDSET)) == 1)

        message = await t.queued(HANDSET)
        assert (await t.final(message["id"]))["status"] == "delivered"
        marketing = await t.send(HANDSET, "promo")
        assert (marketing.status, marketing.code) == (422, "consent_required")


# ----------------------------------------------------------------------------- 30 forgeries
def forgeries(t: TextStack, body: bytes, org: str) -> list[tuple[str, bytes, dict[str, str], str]]:
    """Each forged delivery of ``body``: (what, bytes, headers, organization)."""
    fake, now = t.fake, int(time.time())
    good = fake.sign(body)
    changed = body.replace(b'"phone_number": "+', b'"phone_number": "0', 1)
    assert len(changed) == len(body) and changed != body
    reserialized = json.dumps(json.loads(body), indent=2).encode()
    other_key = Ed25519PrivateKey.generate()
    stranger = base64.b64encode(other_key.sign(f"{now}|".encode() + body)).decode()
    return [
        ("another key's signature", body, {**good, "telnyx-signature-ed25519": stranger}, org),
        ("not base64", body, {**good, "telnyx-signature-ed25519": "not-base64!"}, org),
        ("one changed byte", changed, good, org),
        ("re-serialized", reserialized, good, org),
        ("301 s old", body, fake.sign(body, timestamp=now - 301), org),
        # ahead from the next second with a margin: the requests before it take time and the
        # server reads its clock later (the injected-clock core test pins ±301 exactly)
        ("301 s ahead", body, fake.sign(body, timestamp=math.ceil(time.time()) + 310), org),
        ("no signature", body, {"telnyx-timestamp": good["telnyx-timestamp"]}, org),
        ("no timestamp", body, {"telnyx-signature-ed25519": good["telnyx-signature-ed25519"]}, org),
        ("unknown organization", body, good, "org_nobody"),
    ]


async def test_30_fake_forged_status_events_are_401_and_change_nothing(sqlite_url: str) -> None:
    async with texting_stack(sqlite_url, "telnyx") as t:
        t.fake.auto_deliver_messages = False
        await t.consent(TO)
        message = await t.queued(TO)
        await eventually(lambda: t.fake.messaging.messages)
        (sent,) = t.fake.messaging.messages.values()
        events = dict(t.fake.messaging.settle(sent))
        body = t.fake.event_body("message.finalized", events["message.finalized"])

        for what, forged, headers, org in forgeries(t, body, t.org_id):
            assert await post_event(t, forged, headers, org) == 401, what
        await asyncio.sleep(0.5)
        assert (await t.message(message["id"]))["status"] == "sending"
        assert t.receiver.seen(message["id"]) == Counter()

        old = t.fake.sign(body, timestamp=int(time.time()) - 299)
        assert await post_event(t, body, old) == 200
        assert (await t.message(message["id"]))["status"] == "delivered"
        wanted = Counter({"message.sent": 1, "message.delivered": 1})
        await eventually(lambda: t.receiver.seen(message["id"]) == wanted)


async def test_30_fake_a_forged_stop_is_401_and_suppresses_nobody(sqlite_url: str) -> None:
    async with texting_stack(sqlite_url, "telnyx") as t:
        await t.consent(HANDSET)
        body = t.fake.event_body("message.received", inbound_payload(HANDSET, "STOP", "STOP"))

        for what, forged, headers, org in forgeries(t, body, t.org_id):
            assert await post_event(t, forged, headers, org) == 401, what
        assert (await t.call("GET", f"/suppressions/{HANDSET}")).status == 404
        assert await t.messages(direction="inbound") == []
        assert all(c["revoked_at"] is None for c in await t.consents(HANDSET))

        old = t.fake.sign(body, timestamp=int(time.time()) - 299)
        assert await post_event(t, body, old) == 200
        await suppressed_at_once(t, HANDSET, "message")


# ----------------------------------------------------------------------------- 31 10DLC, 40300
CAMPAIGN_REFUSED = "+14155550116"
"""The simulated carrier fails a text to ``NPA-555-0116`` with 40010."""
CARRIER_BLOCKED = "+14155550117"
"""The simulated carrier fails a text to ``NPA-555-0117`` with 40300."""


REFUSALS = [("simulated", "sync"), ("telnyx", "final"), ("telnyx", "sync")]
"""When the carrier refuses: at send (``sync``: the simulated carrier, or the fake's 422) or
in its ``message.finalized`` (``final``: the fake's ``sending_failed``)."""


@pytest.mark.parametrize(("carrier", "refusal"), REFUSALS)
async def test_31_a_40010_fails_the_text_campaign_not_registered(
    sqlite_url: str, carrier: str, refusal: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        to = CAMPAIGN_REFUSED
        if t.telnyx is not None:
            to = TO
            t.fake.messaging.unregistered.add(LINE)
            t.fake.messaging.ten_dlc_refusal = refusal
        await t.consent(to)
        message = await t.queued(to)
        done = await t.final(message["id"])
        assert (done["status"], done["error_code"], done["carrier_error_code"]) == (
            "failed",
            "campaign_not_registered",
            "40010",
        )
        await eventually(lambda: t.receiver.seen(message["id"]) == {"message.failed": 1})
        assert t.carrier_sends(to) == 1


async def test_31_fake_a_us_pair_without_a_campaign_is_refused_before_sending(
    sqlite_url: str,
) -> None:
    async with texting_stack(sqlite_url, "telnyx") as t:
        t.stack.dc.numbers.set_carrier(t.org_id, telnyx_settings(t.fake, ten_dlc_campaign_id=None))
        await t.consent(TO)
        refused = await t.send(TO)
        assert (refused.status, refused.code) == (422, "campaign_not_registered")
        await asyncio.sleep(0.5)
        assert t.fake.sends_to(TO) == []
        assert await t.messages(to=TO) == []


@pytest.mark.parametrize(("carrier", "refusal"), REFUSALS)
async def test_31_a_40300_fails_the_text_and_suppresses_the_number(
    sqlite_url: str, carrier: str, refusal: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        to = CARRIER_BLOCKED
        if t.telnyx is not None:
            to = TO
            if refusal == "final":
                t.fake.set_outcome(to, "sending_failed", "40300", "Blocked due to STOP message")
            else:  # the profile holds a STOP of the handset (as after its STOP elsewhere)
                t.fake.messaging.blocks[(DEFAULT_PROFILE, to)] = datetime.now(UTC)
        await t.consent(to)
        message = await t.queued(to)
        done = await t.final(message["id"])
        assert (done["status"], done["error_code"], done["carrier_error_code"]) == (
            "failed",
            "recipient_suppressed",
            "40300",
        )
        await eventually(lambda: t.receiver.seen(message["id"]) == {"message.failed": 1})
        entry = await suppressed_at_once(t, to, "carrier")
        assert entry["source"]["id"] == message["id"]
        assert all(c["revoked_at"] for c in await t.consents(to))
        await opt_out_events(t, to, revoked=1)
        refused = await t.send(to)
        assert (refused.status, refused.code) == (422, "recipient_suppressed")
        assert t.carrier_sends(to) == 1


# ----------------------------------------------------------------------------- 34 RCS, MMS
NO_RCS = "+14155550118"
"""The simulated carrier's handset without RCS (``NPA-555-0118``); the fake is told so."""
MEDIA = "https://cdn.example.com/card.png"


async def test_34_rcs_with_an_sms_fallback_reaches_a_handset_without_rcs_by_sms(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        if t.telnyx is not None:
            t.fake.messaging.rcs_incapable.add(NO_RCS)
        await t.consent(NO_RCS)
        message = await t.queued(NO_RCS, channel="rcs", fallback_channel="sms")
        done = await t.final(message["id"])
        assert (done["status"], done["channel"], done["delivered_channel"]) == (
            "delivered",
            "rcs",
            "sms",
        )
        assert t.carrier_sends(NO_RCS) == 1
        if t.telnyx is not None:
            (posted,) = t.fake.sends_to(NO_RCS)
            assert posted.path == "/messages/rcs"
            assert posted.json["sms_fallback"] == {"from": LINE, "text": "Hello Ada"}


async def test_34_mms_needs_one_to_ten_media_urls_and_carries_them_to_the_carrier(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        await t.consent(TO)
        for media in (None, [f"{MEDIA}?{i}" for i in range(11)]):
            fields: dict[str, Any] = {"channel": "mms"}
            fields |= {"media_urls": media} if media else {}
            refused = await t.send(TO, **fields)
            assert (refused.status, refused.code) == (400, "validation_error"), refused.body
            assert "media_urls" in refused.body["error"]["details"]["fields"]
        message = await t.queued(TO, channel="mms", media_urls=[MEDIA])
        done = await t.final(message["id"])
        assert (done["status"], done["media_urls"]) == ("delivered", [MEDIA])
        assert t.carrier_sends(TO) == 1
        if t.telnyx is not None:
            (posted,) = t.fake.sends_to(TO)
            assert (posted.json["type"], posted.json["media_urls"]) == ("MMS", [MEDIA])


# ----------------------------------------------------------------------------- 35 fallback
NO_ANSWER = "+14155550003"
"""Calls to a number ending 0003 end ``no_answer`` (the simulated dialer and the fake Vapi)."""
VOICEMAIL = "+14155550004"
"""Calls to a number ending 0004 reach voicemail."""
ONCE = {"max_attempts": 1}


async def ended(t: TextStack, reminder_id: int, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` of the reminder's executions have ended; return them all."""

    async def check() -> list[dict[str, Any]] | None:
        found = await t.executions(reminder_id)
        over = [e for e in found if e["status"] not in ("queued", "in_progress")]
        return found if len(over) >= count else None

    return list(await eventually(check, within=20))


async def fallbacks(t: TextStack, to: str) -> list[dict[str, Any]]:
    """The reminders' fallback texts to ``to``."""
    return [m for m in await t.messages(to=to) if m["source"] == "reminder_fallback"]


async def test_35_a_final_failure_texts_once_after_the_last_attempt_never_before(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        await t.consent(NO_ANSWER)
        retry = {"max_attempts": 2, "delays": {"no_answer": [3]}}
        reminder = await t.remind(NO_ANSWER, fallback=fallback(t), retry_policy=retry)

        first = await ended(t, reminder["id"], 1)
        assert [e["status"] for e in first] == ["no_answer"]
        assert (await t.ok("GET", f"/reminders/{reminder['id']}"))["status"] == "scheduled"
        assert await fallbacks(t, NO_ANSWER) == []  # a retry is pending: no text

        both = await ended(t, reminder["id"], 2)
        assert [e["status"] for e in both] == ["no_answer", "no_answer"]
        (text,) = await eventually(lambda: fallbacks(t, NO_ANSWER))
        last = await t.ok("GET", f"/executions/{both[1]['id']}")
        assert last["fallback_message_id"] == text["id"]
        assert both[0]["fallback_message_id"] is None
        assert (text["execution_id"], text["reminder_id"]) == (both[1]["id"], reminder["id"])
        assert text["template_id"] == t.templates["missed"]["id"]
        assert text["text"].startswith("We missed you: Dentist on ")
        assert text["text"].endswith(f". Call {LINE}.")
        assert (await t.final(text["id"]))["status"] == "delivered"
        await asyncio.sleep(1.0)
        assert len(await fallbacks(t, NO_ANSWER)) == 1
        assert t.carrier_sends(NO_ANSWER) == 1
        # telnyx: the line is a Vapi line, dialed by the fake Vapi; else the simulated dialer
        assert t.calls_to(NO_ANSWER) == (2 if t.telnyx is not None else 0)


async def test_35_a_recipient_suppressed_during_the_call_gets_one_failed_text_still_linked(
    sqlite_url: str, carrier: str
) -> None:
    # the simulated dialer's calls last DIALCUES_SIMULATED_DELAY: long enough to suppress
    async with texting_stack(sqlite_url, carrier, simulated_delay=1.5) as t:
        t.stack.vapi.hold_calls = True
        await t.consent(NO_ANSWER)
        reminder = await t.remind(NO_ANSWER, fallback=fallback(t), retry_policy=ONCE)

        async def in_the_air() -> bool:
            if t.telnyx is not None:
                return bool(t.stack.vapi.held)
            found = await t.executions(reminder["id"])
            return [e["status"] for e in found] == ["in_progress"]

        await eventually(in_the_air, within=15)
        await t.ok("POST", "/suppressions", {"phone_number": NO_ANSWER, "reason": "complaint"})
        for call_id in t.stack.vapi.held:
            t.stack.vapi.end_call(call_id)

        (execution,) = await ended(t, reminder["id"], 1)
        assert execution["status"] == "no_answer"
        (text,) = await eventually(lambda: fallbacks(t, NO_ANSWER))
        done = await t.final(text["id"])
        assert (done["status"], done["error_code"]) == ("failed", "recipient_suppressed")
        linked = await t.ok("GET", f"/executions/{execution['id']}")
        assert linked["fallback_message_id"] == text["id"]
        assert (await t.ok("GET", f"/reminders/{reminder['id']}"))["status"] == "suppressed"
        await asyncio.sleep(1.0)
        assert len(await fallbacks(t, NO_ANSWER)) == 1
        assert t.carrier_sends(NO_ANSWER) == 0


async def test_35_a_voicemail_fallback_texts_after_a_voicemail_only(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        for number in (VOICEMAIL, NO_ANSWER):
            await t.consent(number)
        reached = await t.remind(VOICEMAIL, fallback=fallback(t, "voicemail"), retry_policy=ONCE)
        missed = await t.remind(NO_ANSWER, fallback=fallback(t, "voicemail"), retry_policy=ONCE)
        not_failed = await t.remind(
            VOICEMAIL, in_seconds=3, fallback=fallback(t), retry_policy=ONCE
        )

        (voicemail,) = await ended(t, reached["id"], 1)
        assert voicemail["status"] == "voicemail"
        (no_answer,) = await ended(t, missed["id"], 1)
        assert no_answer["status"] == "no_answer"
        (again,) = await ended(t, not_failed["id"], 1)
        assert again["status"] == "voicemail"

        (text,) = await eventually(lambda: fallbacks(t, VOICEMAIL))
        assert text["execution_id"] == voicemail["id"]
        assert (await t.final(text["id"]))["status"] == "delivered"
        await asyncio.sleep(1.0)
        assert len(await fallbacks(t, VOICEMAIL)) == 1  # a final_failure ignores voicemail
        assert await fallbacks(t, NO_ANSWER) == []
        assert t.carrier_sends(NO_ANSWER) == 0


# ----------------------------------------------------------------------------- 35 killed
KILLED = textwrap.dedent(
    """
    import os, sys, time
    from dialcues_core import Dialcues
    from dialcues_core.calls.ports import CallEvent
    from dialcues_core.config import Settings
    from dialcues_core.dispatch.attempts import Attempts
    from dialcues_core.messages.fallback import Fallbacks

    url, point, reason = sys.argv[1], sys.argv[2], sys.argv[3]
    dc = Dialcues.open(settings=Settings(
        database_url=url, rate_limits=None, calling_window="off", frequency_caps=(None, None)
    ))
    if point == "in_the_transaction":
        write = Fallbacks.after_outcomes

        def dying(self, outcomes, now):
            print("written", *write(self, outcomes, now), flush=True)
            os._exit(17)  # the fallback is written, the outcome's transaction not committed

        Fallbacks.after_outcomes = dying
    else:
        apply = Attempts.apply_events

        def dying(self, events):
            apply(self, events)
            print("committed", flush=True)
            os._exit(18)  # the outcome is committed; whoever reported it never hears so

        Attempts.apply_events = dying
    attempts, claimed, deadline = dc.attempts(), [], time.monotonic() + 20
    while not claimed and time.monotonic() < deadline:
        claimed = attempts.claim(10) or time.sleep(0.1) or []
    (claim,) = claimed
    print("claimed", claim.execution.id, flush=True)
    event = CallEvent("call-killed", claim.execution.id, "ended", ended_reason=reason)
    attempts.apply_events([(claim.execution.id, event)])
    os._exit(3)
    """
)
EXIT_CODES = {"in_the_transaction": 17, "after_the_commit": 18}
NO_ANSWER_REASON = "customer-did-not-answer"


def seed_killable(url: str) -> tuple[str, str, int]:
    """An organization on the simulated carrier with a texting line, a consented recipient
    and a reminder due in a second whose only attempt will end ``no_answer``; return the
    user's key and id, and the reminder's id."""
    dc = Dialcues.open(settings=settings_for(url))
    try:
        org = dc.accounts.create_organization("E2E")
        features = ("mms", "sms", "voice")
        dc.accounts.add_line(org.id, "simulated", LINE, None, "Texts", True, features, "simulated")
        user = dc.accounts.create_user(org.id, "killed@example.com", "Killed")
        who = dc.as_user(user.id)
        dc.consents.create(
            who,
            {
                "phone_number": NO_ANSWER,
                "type": "express",
                "purpose": "informational",
                "source": "web_form",
                "text": "Texts are fine.",
                "captured_at": "2026-01-01T00:00:00Z",
            },
        )
        template = dc.message_templates.create(who, TEMPLATES["missed"])
        text = {"channel": "sms", "template_id": template.id, "after": "final_failure"}
        at = datetime.now(UTC) + timedelta(seconds=1)
        reminder = dc.reminders.create(
            who,
            {
                "title": "Dentist",
                "message": "Your check-up is today.",
                "phone_number": NO_ANSWER,
                "timezone": "America/Los_Angeles",
                "scheduled_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "retry_policy": ONCE,
                "fallback": text,
            },
        )
        return dc.accounts.create_api_key(user.id).raw, user.id, reminder.id
    finally:
        dc.close()


def fallback_rows(url: str, user_id: str) -> list[Any]:
    """The user's fallback texts, read through the embedding API."""
    dc = Dialcues.open(settings=settings_for(url))
    try:
        page = dc.messages.list(dc.as_user(user_id), {"page_size": "100"})
        return [m for m in page.items if m.source == "reminder_fallback"]
    finally:
        dc.close()


@pytest.mark.parametrize("point", list(EXIT_CODES))
async def test_35_a_process_killed_while_recording_the_outcome_leaves_exactly_one_text(
    sqlite_url: str, point: str
) -> None:
    key, user_id, reminder_id = seed_killable(sqlite_url)
    command = [sys.executable, "-c", KILLED, sqlite_url, point, NO_ANSWER_REASON]
    child = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60, check=False
    )
    assert child.returncode == EXIT_CODES[point], child.stdout + child.stderr
    execution_id = int(child.stdout.split("claimed ", 1)[1].split()[0])
    if point == "in_the_transaction":
        assert "written msg_" in child.stdout  # killed with the text written, not committed
    survived = fallback_rows(sqlite_url, user_id)
    assert len(survived) == (0 if point == "in_the_transaction" else 1)

    # the outcome is reported again (Vapi's end-of-call report retried, or reconciliation
    # reading the call): twice, for good measure
    dc = Dialcues.open(settings=settings_for(sqlite_url))
    try:
        event = CallEvent("call-killed", execution_id, "ended", ended_reason=NO_ANSWER_REASON)
        for _ in range(2):
            dc.attempts().apply_events([(execution_id, event)])
    finally:
        dc.close()

    (text,) = fallback_rows(sqlite_url, user_id)
    assert (text.execution_id, text.reminder_id) == (execution_id, reminder_id)
    async with running_stack(sqlite_url) as stack:  # its sender posts the text
        headers = {"Authorization": f"Bearer {key}"}

        async def delivered() -> dict[str, Any] | None:
            url = f"{stack.root}{BASE}/executions/{execution_id}"
            async with stack.session.get(url, headers=headers) as reply:
                execution = await reply.json()
            url = f"{stack.root}{BASE}/messages/{text.id}"
            async with stack.session.get(url, headers=headers) as reply:
                message = await reply.json()
            ready = message["status"] == "delivered"
            return {"execution": execution, "message": message} if ready else None

        found = await eventually(delivered, within=15)
    assert found["execution"]["status"] == "no_answer"
    assert found["execution"]["fallback_message_id"] == text.id
    assert len(fallback_rows(sqlite_url, user_id)) == 1


# ----------------------------------------------------------------------------- 23, assigned
ASSIGNED = {"simulated": "+14152000107", "telnyx": "+14155550107"}
"""A number each carrier sells (the fake's inventory is ``+1 415 555-0100…0119``)."""


async def test_23_a_number_assigned_through_the_carrier_texts_from_its_line(
    sqlite_url: str, carrier: str
) -> None:
    async with texting_stack(sqlite_url, carrier) as t:
        number = ASSIGNED[carrier]
        provider = {
            "provider": "vapi",
            "api_key": t.stack.vapi.api_key,
            "assistant_id": "asst_e2e",
            "webhook_secret": t.stack.vapi.webhook_secret,
            "base_url": t.stack.vapi.base_url,
            "telnyx_credential_id": str(uuid.UUID(int=42)),
        }
        t.stack.dc.accounts.set_provider(t.org_id, provider)
        await t.ok("POST", "/numbers/hold", {"number": number})
        await t.ok("POST", f"/numbers/{number}/assign")

        async def active() -> dict[str, Any] | None:
            found = await t.ok("GET", f"/numbers/{number}")
            assert found["status"] != "failed", found
            return dict(found) if found["status"] == "active" else None

        await eventually(active, within=40)
        (line,) = [x for x in (await t.ok("GET", "/lines"))["items"] if x["phone_number"] == number]
        assert (line["carrier"], "sms" in line["features"]) == (carrier, True)

        await t.consent(TO)
        message = await t.queued(TO, **{"from": number})
        done = await t.final(message["id"])
        assert (done["status"], done["from"], done["line_id"]) == ("delivered", number, line["id"])
        if t.telnyx is not None:
            (posted,) = t.fake.sends_to(TO)
            assert (posted.json["from"], posted.json["messaging_profile_id"]) == (
                number,
                DEFAULT_PROFILE,
            )
