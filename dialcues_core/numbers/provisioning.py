"""The provisioner's steps: order → import → line, and release (``telephony.md`` §2.4–2.5).

Each step is idempotent and resumes from the stored status after a crash: a record is leased
for 60 s (:data:`LEASE`), so a process dying mid-step is replaced, and the carrier and the
voice provider are asked what they already have before anything is ordered or imported again
(an order by its reference ``ord_…``, only ≥ 30 s after the last attempt; an import by its
number). :class:`Provisioning` is synchronous (its steps run on the offloader's threads and
reach the carriers through the loop thread); ``numbers.provisioner`` runs it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from dialcues_core.accounts.model import Organization, OutboundLine, Provider
from dialcues_core.errors import CarrierError, CarrierRejected, CarrierUnknownOutcome
from dialcues_core.kernel import crypto
from dialcues_core.numbers.lifecycle import NumberAction, transition
from dialcues_core.numbers.model import (
    TELNYX,
    CarrierOrder,
    CarrierSettings,
    FailedStep,
    Failure,
    ImportedNumber,
    ImportStatus,
    NumberRecord,
    NumberStatus,
    OrderStatus,
)
from dialcues_core.numbers.rendering import number_payload
from dialcues_core.numbers.service import NumberDeps
from dialcues_core.webhooks.outbox import Outbox

logger = logging.getLogger("dialcues.numbers")

LEASE = timedelta(seconds=60)
RETRIES = (5, 30, 120, 600)
"""Seconds before retrying a step after a transient failure; then every 30 minutes."""
RETRY_LATER = 1800
ORDER_LOOKUP_AFTER = timedelta(seconds=30)
"""An order lookup that finds nothing allows ordering again only this long after the attempt."""
ORDER_GIVES_UP = timedelta(days=7)
IMPORT_GIVES_UP = timedelta(hours=24)
RELEASE_WAITS = timedelta(minutes=15)
"""A release waits this long at most for the line's calls in the air to end."""
MAX_STEPS = 6
"""Steps one lease may run in a row (order → ordered → import → active takes four)."""


class Provisioning:
    """Advance number records through their provisioning steps."""

    def __init__(self, deps: NumberDeps, outbox: Outbox):
        self.deps = deps
        self.store = deps.store
        self.tx = deps.transactions
        self.clock = deps.clock
        self.outbox = outbox

    def due(self, limit: int = 20) -> list[str]:
        """Ids of records whose next step is due."""
        with self.tx.atomic():
            return self.store.due(self.clock.now(), limit)

    def next_due(self) -> datetime | None:
        """When the soonest step is due."""
        with self.tx.atomic():
            return self.store.next_due()

    def advance(self, number_id: str) -> NumberRecord | None:
        """Lease the record and run its due steps; None when another process has it."""
        now = self.clock.now()
        with self.tx.atomic():
            record = self.store.lease(number_id, now, now + LEASE)
        for _ in range(MAX_STEPS):
            due = record.step_due_at if record is not None else None
            if record is None or due is None or due > self.clock.now():
                return record
            record = self._step(record)
        return record

    def _step(self, record: NumberRecord) -> NumberRecord:
        steps: dict[NumberStatus, Callable[[NumberRecord], NumberRecord]] = {
            NumberStatus.ORDERING: self._order,
            NumberStatus.ORDERED: self._ordered,
            NumberStatus.IMPORTING: self._import,
            NumberStatus.RELEASING: self._release,
        }
        step = steps.get(record.status)
        if step is None:  # nothing to do in this status: stop asking
            return self._save(dataclasses.replace(record, step_due_at=None))
        try:
            return step(record)
        except CarrierRejected as exc:
            return self._rejected(record, exc)
        except CarrierError as exc:
            logger.warning(
                "Number %s: %s failed (%s); retrying", _tail(record), record.status, exc.code
            )
            return self._retry(record)

    # ------------------------------------------------------------------ order
    def _order(self, record: NumberRecord) -> NumberRecord:
        carrier = self.deps.carriers.carrier(self._carrier_settings(record))
        run = self.deps.runner.run
        if record.carrier_order_id is not None:
            return self._apply_order(record, run(carrier.get_order(record.carrier_order_id)))
        reference = record.order_reference or ""
        found = run(carrier.find_order(reference))
        if found is not None:
            return self._apply_order(record, found)
        now = self.clock.now()
        attempted = record.order_attempted_at
        if attempted is not None and now - attempted < ORDER_LOOKUP_AFTER:
            return self._save(
                dataclasses.replace(record, step_due_at=attempted + ORDER_LOOKUP_AFTER)
            )
        record = self._save(dataclasses.replace(record, order_attempted_at=now), keep_lease=True)
        try:
            order = run(carrier.order(record.number, reference))
        except CarrierUnknownOutcome:  # look it up (≥ 30 s later) before ordering again
            return self._save(dataclasses.replace(record, step_due_at=now + ORDER_LOOKUP_AFTER))
        return self._apply_order(record, order)

    def _apply_order(self, record: NumberRecord, order: CarrierOrder) -> NumberRecord:
        now = self.clock.now()
        record = dataclasses.replace(record, carrier_order_id=order.id)
        if order.status is OrderStatus.SUCCESS:
            ordered = dataclasses.replace(
                record,
                status=transition(record.status, NumberAction.ORDERED),
                carrier_number_id=order.number_id,
                step_due_at=now,
                step_tries=0,
                step_started_at=now,
                updated_at=_whole(now),
            )
            return self._save(ordered, keep_lease=True)
        if order.status is OrderStatus.FAILURE:
            code = order.failure_code or "order_failed"
            return self._fail(record, FailedStep.ORDER, code, order.failure_message or "")
        started = record.step_started_at or now
        if now - started > ORDER_GIVES_UP:
            return self._fail(
                record, FailedStep.ORDER, "order_timeout", "The order never completed."
            )
        wait: float = (
            5 if now - started < timedelta(minutes=1) else min(60, 5 * 2**record.step_tries)
        )
        if order.check_after is not None:  # the carrier says when it decides
            wait = min(wait, max(0.05, order.check_after))
        polled = dataclasses.replace(
            record, step_due_at=now + timedelta(seconds=wait), step_tries=record.step_tries + 1
        )
        return self._save(polled)

    # ------------------------------------------------------------------ ordered → line
    def _ordered(self, record: NumberRecord) -> NumberRecord:
        organization = self._organization(record)
        provider = organization.provider
        if record.carrier == TELNYX and provider is not None and provider.provider is Provider.VAPI:
            now = self.clock.now()
            importing = dataclasses.replace(
                record,
                status=transition(record.status, NumberAction.IMPORT),
                step_due_at=now,
                step_tries=0,
                step_started_at=now,
                updated_at=_whole(now),
            )
            return self._save(importing, keep_lease=True)
        return self._activate(record, Provider.SIMULATED, None)

    def _import(self, record: NumberRecord) -> NumberRecord:
        voice = self.deps.carriers.voice_numbers(self._organization(record))
        run = self.deps.runner.run
        imported: ImportedNumber | None
        if record.provider_line_id is not None:
            imported = run(voice.status(record.provider_line_id))
        else:
            imported = run(voice.find_imported(record.number))
            if imported is None:
                name = (record.assign_label or record.number)[:40]
                try:
                    imported = run(voice.import_number(record.number, name))
                except CarrierUnknownOutcome:  # the next pass finds it by its number
                    return self._retry(record)
            record = self._save(
                dataclasses.replace(record, provider_line_id=imported.id), keep_lease=True
            )
        if imported.status is ImportStatus.ACTIVE:
            return self._activate(record, Provider.VAPI, imported.id)
        if imported.status is ImportStatus.BLOCKED:
            return self._fail(record, FailedStep.IMPORT, "blocked", "Vapi blocked the number.")
        now = self.clock.now()
        if now - (record.step_started_at or now) > IMPORT_GIVES_UP:
            return self._fail(
                record, FailedStep.IMPORT, "import_timeout", "Vapi never activated it."
            )
        waiting = dataclasses.replace(
            record, step_due_at=now + timedelta(seconds=5), step_tries=record.step_tries + 1
        )
        return self._save(waiting)

    def _activate(
        self, record: NumberRecord, provider: Provider, provider_line_id: str | None
    ) -> NumberRecord:
        """One transaction: the line, the record ``active``, ``number.assigned``."""
        now = self.clock.now()
        lines = self.deps.lines
        with self.tx.atomic(), self.outbox.collecting():
            first = lines.default_for(record.organization_id) is None
            line = OutboundLine(
                id=crypto.generate_id("line"),
                organization_id=record.organization_id,
                provider=provider,
                phone_number=record.number,
                label=record.assign_label,
                is_default=record.assign_default or first,
                created_at=now,
                provider_line_id=provider_line_id,
                features=tuple(sorted(record.features)),
                carrier=record.carrier,
                number_id=record.id,
            )
            lines.add(line)
            active = dataclasses.replace(
                record,
                status=transition(record.status, NumberAction.ACTIVATE),
                line_id=line.id,
                failure=None,
                step_due_at=None,
                updated_at=_whole(now),
            )
            self.store.save(active)
            self._event("number.assigned", active, now)
        self._wake()
        return active

    # ------------------------------------------------------------------ release
    def _release(self, record: NumberRecord) -> NumberRecord:
        now = self.clock.now()
        started = record.step_started_at or now
        if record.line_id is not None and now - started < RELEASE_WAITS:
            with self.tx.atomic():
                busy = self.store.busy_on_line(record.line_id)
            if busy:
                return self._save(
                    dataclasses.replace(record, step_due_at=now + timedelta(seconds=15))
                )
        run = self.deps.runner.run
        if record.provider_line_id is not None:
            run(
                self.deps.carriers.voice_numbers(self._organization(record)).remove(
                    record.provider_line_id
                )
            )
        run(self.deps.carriers.carrier(self._carrier_settings(record)).release(record.number))
        with self.tx.atomic(), self.outbox.collecting():
            released = dataclasses.replace(
                record,
                status=transition(record.status, NumberAction.RELEASED),
                step_due_at=None,
                updated_at=_whole(now),
            )
            self.store.save(released)
            self.store.free_claim(record.number, record.id)
            self._event("number.released", released, now)
        return released

    # ------------------------------------------------------------------ outcomes
    def _rejected(self, record: NumberRecord, exc: CarrierRejected) -> NumberRecord:
        step = {
            NumberStatus.ORDERING: FailedStep.ORDER,
            NumberStatus.IMPORTING: FailedStep.IMPORT,
            NumberStatus.RELEASING: FailedStep.RELEASE,
        }.get(record.status)
        if step is None:
            return self._retry(record)
        return self._fail(record, step, exc.carrier_code, str(exc))

    def _fail(
        self, record: NumberRecord, step: FailedStep, code: str, message: str
    ) -> NumberRecord:
        """``failed`` at ``step``; after ``order`` the claim is freed (the number is not ours)."""
        now = self.clock.now()
        with self.tx.atomic(), self.outbox.collecting():
            failed = dataclasses.replace(
                record,
                status=transition(record.status, NumberAction.FAIL),
                failure=Failure(step, code, message),
                step_due_at=None,
                updated_at=_whole(now),
            )
            self.store.save(failed)
            if step is FailedStep.ORDER:
                self.store.free_claim(record.number, record.id)
            if step is not FailedStep.RELEASE:
                self._event("number.assign_failed", failed, now)
        return failed

    def _retry(self, record: NumberRecord) -> NumberRecord:
        tries = record.step_tries
        wait = RETRIES[tries] if tries < len(RETRIES) else RETRY_LATER
        later = dataclasses.replace(
            record,
            step_due_at=self.clock.now() + timedelta(seconds=wait),
            step_tries=tries + 1,
        )
        return self._save(later)

    # ------------------------------------------------------------------ helpers
    def _save(self, record: NumberRecord, keep_lease: bool = False) -> NumberRecord:
        """Write the record (ending its lease unless ``keep_lease``: the step goes on)."""
        with self.tx.atomic():
            self.store.save(record)
            if keep_lease:
                now = self.clock.now()
                self.store.lease(record.id, now - LEASE, now + LEASE)
        return record

    def _event(self, kind: str, record: NumberRecord, now: datetime) -> None:
        self.outbox.organization_event(kind, record.organization_id, number_payload(record, now))

    def _organization(self, record: NumberRecord) -> Organization:
        organization = self.deps.organizations.get(record.organization_id)
        if organization is None:
            raise CarrierRejected("organization_gone", message="The organization is gone.")
        return organization

    def _carrier_settings(self, record: NumberRecord) -> CarrierSettings:
        with self.tx.atomic():
            settings = self.store.carrier_settings(record.organization_id)
        return settings or CarrierSettings()

    def _wake(self) -> None:
        for listener in self.deps.listeners:
            listener(None)


def _whole(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _tail(record: NumberRecord) -> str:
    """Numbers are logged by their last four digits."""
    return "…" + record.number[-4:]
