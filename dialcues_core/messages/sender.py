"""The message sender (``telephony.md`` §4.5): runs beside each dispatcher and posts each
``queued`` message once.

A pass leases due messages (a conditional update, 60 s, as the dispatcher claims reminders).
A queued message is judged again — suppression, consent, the window for marketing, its line
still there — then marked ``sending`` with its hand-off time **in a committed transaction
before** ``Carrier.send`` is called, so a crash can never post it twice: a message found
``sending`` without a carrier id is an unknown outcome, resolved by the first carrier event
naming it, else ``failed`` ``outcome_unknown`` after ``DIALCUES_MESSAGE_UNKNOWN_AFTER``.

=========================== ====================================================
``Carrier.send``            the message becomes
=========================== ====================================================
success                     ``sending``, with the carrier id
throttled / unreachable     ``queued`` again after the carrier's delay (nothing sent)
rejected                    ``failed``, with the mapped code
unknown                     ``sending`` with no carrier id
=========================== ====================================================

A carrier without webhooks (the simulated one) is asked to ``settle`` a message still
``sending`` once its delay has passed. Once a minute the sender also forgets carrier event ids
older than seven days.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from dialcues_core.errors import (
    CampaignNotRegistered,
    CarrierError,
    CarrierRejected,
    CarrierThrottled,
    CarrierUnknownOutcome,
    CarrierUnreachable,
    DialcuesError,
    StorageUnavailable,
)
from dialcues_core.kernel.outage import OutageNotice
from dialcues_core.messages import checks
from dialcues_core.messages.deps import MessageDeps
from dialcues_core.messages.model import (
    Channel,
    IncomingText,
    Message,
    MessageError,
    MessageStatus,
    OutgoingMessage,
    Source,
)
from dialcues_core.messages.service import can_send
from dialcues_core.messages.texts import Texts, last4
from dialcues_core.numbers.carrier_settings import EVENTS_PATH
from dialcues_core.numbers.model import SIMULATED, CarrierSettings

logger = logging.getLogger("dialcues.messages")
LEASE = timedelta(seconds=60)
BATCH = 50
POLL_SECONDS = 2.0
UNREACHABLE_WAIT = timedelta(seconds=5)
EVENT_IDS_KEPT = timedelta(days=7)
"""How long a carrier event's id is remembered (a duplicate within it changes nothing)."""
HOUSEKEEPING_SECONDS = 60.0


class Sending:
    """One message's next step, synchronous (the sender runs it on the offloader)."""

    def __init__(self, deps: MessageDeps, texts: Texts):
        self.deps = deps
        self.texts = texts
        self.store = deps.store
        self.tx = deps.transactions
        self.clock = deps.clock

    def due(self) -> list[str]:
        """Ids of messages whose next step is due."""
        with self.tx.atomic():
            return self.store.due(self.clock.now(), BATCH)

    def next_due(self) -> datetime | None:
        """When the soonest message is due."""
        with self.tx.atomic():
            return self.store.next_due()

    def forget_old_events(self) -> int:
        """Forget carrier event ids older than :data:`EVENT_IDS_KEPT`, a batch at a time."""
        with self.tx.atomic():
            return self.store.forget_events(self.clock.now() - EVENT_IDS_KEPT, 500)

    def advance(self, message_id: str) -> None:
        """Hand a queued message to its carrier, or settle one in the air."""
        now = self.clock.now()
        with self.tx.atomic():
            leased = self.store.lease(message_id, now, now + LEASE)
        if leased is None:
            return
        if leased.status is MessageStatus.QUEUED:
            self._hand_off(leased, now)
        elif leased.status is MessageStatus.SENDING:
            self._settle(leased, now)
        else:  # a final status reached meanwhile: read it again, drop only its due time
            with self.tx.atomic():
                current = self.store.get_message(message_id, for_update=True)
                if current is not None and current.is_final:
                    self.store.save_message(dataclasses.replace(current, due_at=None))

    # ------------------------------------------------------------------ queued
    def _hand_off(self, message: Message, now: datetime) -> None:
        with self.tx.atomic(), self.deps.outbox.collecting():
            # the number's lock first (as an opt-out takes it before failing queued texts):
            # a suppression either committed before this judgement or waits for the hand-off
            self.deps.consent.lock_number((message.organization_id, message.to))
            current = self.store.get_message(message.id, for_update=True)
            if current is None or current.status is not MessageStatus.QUEUED:
                return
            ready = self._judged(current, now)
            if ready is None:
                return
            settings = self._settings(current)
            delay = self._wait_after_hand_off(current)
            sending = dataclasses.replace(
                current,
                status=MessageStatus.SENDING,
                handed_at=now,
                due_at=now + delay,
                updated_at=now,
            )
            self.store.save_message(sending)
        carrier = self.deps.carriers.carrier(settings)
        outgoing = self._outgoing(sending)
        try:
            receipt = self.deps.runner.run(carrier.send(outgoing))
        except CarrierThrottled as exc:
            wait = timedelta(seconds=max(0.0, exc.retry_after or 1.0))
            self._requeue(sending, now + wait)
            return
        except CarrierUnreachable:
            self._requeue(sending, now + UNREACHABLE_WAIT)
            return
        except CarrierRejected as exc:
            with self.tx.atomic(), self.deps.outbox.collecting():
                current = self.store.get_message(message.id, for_update=True)
                if current is not None and current.status is MessageStatus.SENDING:
                    self.texts.refused(current, exc, self.clock.now())
            logger.info("The carrier refused message %s (%s)", message.id, exc.carrier_code)
            return
        except (CarrierUnknownOutcome, CarrierError, TimeoutError):
            logger.warning(
                "Message %s to %s: the carrier's answer was lost; waiting for its events",
                message.id,
                last4(message.to),
            )
            return  # stays sending with no carrier id, due at the unknown deadline
        with self.tx.atomic():
            current = self.store.get_message(message.id, for_update=True)
            if current is not None:
                self.store.save_message(
                    dataclasses.replace(
                        current,
                        carrier_message_id=current.carrier_message_id or receipt.carrier_message_id,
                        segments=current.segments or receipt.segments,
                        cost=current.cost or receipt.cost,
                        due_at=current.due_at if current.status is MessageStatus.SENDING else None,
                        updated_at=self.clock.now(),
                    )
                )

    def _judged(self, message: Message, now: datetime) -> Message | None:
        """The message if it may still be sent; else it is failed with its code."""
        line = self.deps.lines.get(message.organization_id, message.line_id or "")
        if line is None or not can_send(line, message.channel):
            self.texts.fail(
                message, MessageError.LINE_RELEASED.value, "The sending line is gone.", now
            )
            return None
        settings = self._settings(message)
        try:
            if message.source == Source.KEYWORD_REPLY:  # bypasses consent and suppression only
                if checks.needs_campaign(line, settings, message.to):
                    raise CampaignNotRegistered(line.phone_number)
            else:
                checks.refuse(
                    self.deps,
                    message.organization_id,
                    message.to,
                    message.purpose or "informational",
                    message.timezone,
                    line,
                    settings,
                    now,
                )
        except DialcuesError as exc:
            self.texts.fail(message, _error_code(exc), exc.message, now)
            return None
        return message

    def _requeue(self, message: Message, at: datetime) -> None:
        with self.tx.atomic():
            current = self.store.get_message(message.id, for_update=True)
            if current is None or current.status is not MessageStatus.SENDING:
                return
            self.store.save_message(
                dataclasses.replace(
                    current,
                    status=MessageStatus.QUEUED,
                    handed_at=None,
                    due_at=at,
                    updated_at=self.clock.now(),
                )
            )
        for listener in self.deps.listeners:
            listener(at)

    # ------------------------------------------------------------------ sending
    def _settle(self, message: Message, now: datetime) -> None:
        carrier = self.deps.carriers.carrier(self._settings(message))
        found: list[Any] = []
        if message.carrier == SIMULATED:
            found = self.deps.runner.run(carrier.settle(message, now))
        with self.tx.atomic(), self.deps.outbox.collecting():
            for item in found:
                if isinstance(item, IncomingText):
                    self.texts.receive(message.organization_id, item, now)
                else:
                    self.texts.apply(message.organization_id, item, now)
            current = self.store.get_message(message.id, for_update=True)
            if current is None or current.status is not MessageStatus.SENDING:
                return
            deadline = (current.handed_at or now) + self._unknown_after()
            if current.carrier_message_id is None and deadline <= now:
                self.texts.fail(
                    current,
                    MessageError.OUTCOME_UNKNOWN.value,
                    "The carrier's answer was lost and no event named the message.",
                    now,
                )
                return
            due = None if current.carrier_message_id else deadline
            self.store.save_message(dataclasses.replace(current, due_at=due))
        if found:
            for listener in self.deps.listeners:
                listener(None)

    # ------------------------------------------------------------------ helpers
    def _settings(self, message: Message) -> CarrierSettings:
        if message.carrier == SIMULATED or message.carrier is None:
            return CarrierSettings()
        return self.deps.numbers.carrier_settings(message.organization_id) or CarrierSettings()

    def _unknown_after(self) -> timedelta:
        return timedelta(seconds=self.deps.settings.message_unknown_after)

    def _wait_after_hand_off(self, message: Message) -> timedelta:
        if message.carrier == SIMULATED:
            return timedelta(seconds=self.deps.settings.simulated_delay)
        return self._unknown_after()

    def _outgoing(self, message: Message) -> OutgoingMessage:
        url = self.deps.settings.public_url + EVENTS_PATH.format(
            organization_id=message.organization_id
        )
        return OutgoingMessage(
            message_id=message.id,
            organization_id=message.organization_id,
            channel=message.channel,
            to=message.to,
            from_number=message.from_number,
            text=message.text,
            media_urls=message.media_urls,
            sms_fallback=message.channel == Channel.RCS and message.fallback_channel == "sms",
            webhook_url=f"{url}?message_id={message.id}",
            created_at=message.created_at,
        )


def _error_code(exc: DialcuesError) -> str:
    """A refusal's code as a message's ``error_code`` (one of :class:`MessageError`); a
    marketing text whose recipient's zone cannot be told waits for no window: it is refused as
    outside it."""
    known = {code.value for code in MessageError}
    return exc.code if exc.code in known else MessageError.OUTSIDE_CALLING_WINDOW.value


class MessageSender:
    """Runs :class:`Sending` steps until stopped; woken when a message is queued."""

    def __init__(
        self,
        sending: Sending,
        offload: Callable[..., Awaitable[Any]],
        poll_seconds: float = POLL_SECONDS,
    ):
        self.sending = sending
        self.offload = offload
        self.poll = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken = asyncio.Event()
        self._stopped = False
        self._housekept_at = float("-inf")

    def wake(self, _at: datetime | None = None) -> None:
        """Look for due messages now (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._woken.set)

    async def run(self) -> None:
        """Send due messages until :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        outage = OutageNotice(logger, "sending messages")
        while not self._stopped:
            self._woken.clear()
            try:
                await self._pass()
                wait = await self._wait_seconds()
                outage.succeeded()
            except StorageUnavailable as exc:
                outage.failed(exc)
                wait = self.poll
            except Exception:  # a bug: log, wait, go on
                logger.exception("The message sender's pass failed")
                wait = self.poll
            if self._woken.is_set():
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout=wait)

    async def stop(self) -> None:
        """Finish the current message and stop."""
        self._stopped = True
        self._woken.set()

    async def _pass(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._housekept_at >= HOUSEKEEPING_SECONDS:
            self._housekept_at = now
            await self.offload(self.sending.forget_old_events)
        ids: list[str] = await self.offload(self.sending.due)
        if not ids:
            return
        results = await asyncio.gather(
            *(self.offload(self.sending.advance, i) for i in ids), return_exceptions=True
        )
        for result in results:
            if isinstance(result, StorageUnavailable):
                raise result
            if isinstance(result, BaseException):
                logger.error(
                    "A message step failed; it runs again after its lease", exc_info=result
                )

    async def _wait_seconds(self) -> float:
        soonest: datetime | None = await self.offload(self.sending.next_due)
        if soonest is None:
            return self.poll
        now = self.sending.clock.now()
        return max(0.0, min(self.poll, (soonest - now).total_seconds()))
