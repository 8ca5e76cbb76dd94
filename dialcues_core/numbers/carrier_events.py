"""Carrier webhooks: ``POST /api/providers/telnyx/events/{organization_id}`` (``telephony.md``
§1.4). The organization is in the path, so its key is known before anything is parsed; any
failed step (no such organization, not on Telnyx, a missing or stale header, a bad signature)
is ``invalid_provider_event`` and records nothing. A verified ``number_order.*`` event wakes
the provisioner for the order whose reference it names — it confirms with the carrier, the
event never decides. A signed event about something unknown is accepted and logged.
Every verified event's ``data.id`` is recorded in the transaction that applies it (kept 7
days): a duplicate answers 200 and changes nothing. Message events (``message.sent``,
``message.finalized``, ``message.received``) are applied by
:class:`~dialcues_core.messages.texts.Texts`, their keyword effects committed before the answer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping

from dialcues_core.errors import ProviderEventRejected
from dialcues_core.messages.ports import MessageStore
from dialcues_core.messages.texts import Texts
from dialcues_core.numbers.model import TELNYX, CarrierEvent, CarrierEventKind
from dialcues_core.numbers.service import Numbers

logger = logging.getLogger("dialcues.carrier_events")

MAX_BODY_BYTES = 1024 * 1024
"""Provider webhook bodies may be up to 1 MiB (``telephony.md`` §0 #10)."""


class CarrierEvents:
    """Verify and apply carrier webhooks."""

    def __init__(self, numbers: Numbers, texts: Texts | None = None):
        self.numbers = numbers
        self.texts = texts

    def receive(self, organization_id: str, headers: Mapping[str, str], body: bytes) -> None:
        """Verify one webhook of the organization's carrier and apply it (see the module).

        The organization's settings are read and the signature checked before anything is
        written; a message event is then recorded and applied in one transaction (the hot
        path of ``message.finalized``)."""
        deps = self.numbers.deps
        texts = self.texts
        applied = False
        # one autocommit read and the signature check before the write turn (SQLite's
        # writers take turns: the turn is kept for the writes)
        event = self._verified(organization_id, headers, body)
        if event.kind in (CarrierEventKind.MESSAGE_STATUS, CarrierEventKind.MESSAGE_RECEIVED):
            with (
                deps.transactions.atomic(),
                texts.deps.outbox.collecting() if texts is not None else contextlib.nullcontext(),
            ):
                applied = self._message_event(organization_id, event)
        if applied and texts is not None:
            for listener in texts.deps.listeners:
                listener(None)  # a keyword reply or a settled status: the sender may have work
        if event.kind in (CarrierEventKind.MESSAGE_STATUS, CarrierEventKind.MESSAGE_RECEIVED):
            return
        if not self._first_time(organization_id, event):
            return
        if event.kind is CarrierEventKind.NUMBER_ORDER and event.reference:
            self._order_event(organization_id, event.reference)
            return
        logger.info("Carrier event %s (%s) accepted; nothing to apply", event.id, event.type)

    def _verified(
        self, organization_id: str, headers: Mapping[str, str], body: bytes
    ) -> CarrierEvent:
        """The organization's Telnyx event, verified (raises ``ProviderEventRejected``)."""
        deps = self.numbers.deps
        settings = deps.store.carrier_settings(organization_id)  # none: no such organization
        if settings is None or settings.carrier != TELNYX:
            logger.info("A carrier webhook for %s was refused: no Telnyx carrier", organization_id)
            raise ProviderEventRejected()
        carrier = deps.carriers.carrier(settings)
        lowered = {name.lower(): value for name, value in headers.items()}
        return carrier.read_event(lowered, body, deps.clock.now())  # raises when forged

    def _first_time(self, organization_id: str, event: CarrierEvent) -> bool:
        store = self._messages()
        if store is None:
            return True
        with self.numbers.deps.transactions.atomic():
            new = store.first_time(event.id, organization_id, self.numbers.deps.clock.now())
        if not new:
            logger.info("Carrier event %s came again; nothing changes", event.id)
        return new

    def _messages(self) -> MessageStore | None:
        return self.texts.store if self.texts is not None else None

    def _message_event(self, organization_id: str, event: CarrierEvent) -> bool:
        """Record the event's id and apply it, in the caller's transaction (its outbox events
        too); return whether it changed anything."""
        texts = self.texts
        if texts is None:
            logger.info("Carrier event %s (%s): messages are not wired", event.id, event.type)
            return False
        now = texts.deps.clock.now()
        if not texts.store.first_time(event.id, organization_id, now):
            logger.info("Carrier event %s came again; nothing changes", event.id)
            return False
        if event.report is not None:
            texts.apply(organization_id, event.report, now)
        elif event.incoming is not None:
            texts.receive(organization_id, event.incoming, now)
        else:
            logger.info("Carrier event %s (%s) carries nothing to apply", event.id, event.type)
            return False
        return True

    def _order_event(self, organization_id: str, reference: str) -> None:
        deps = self.numbers.deps
        now = deps.clock.now()
        with deps.transactions.atomic():
            record = deps.store.by_order_reference(organization_id, reference)
            woken = record is not None and deps.store.wake_order(record.id, now)
        if not woken:
            logger.info("A number_order event names no order waiting (%s)", reference)
            return
        for listener in deps.listeners:
            listener(None)
