"""Numbers use cases: search, hold, extend, drop, assign, release, read (``telephony.md`` §2).

Every number write is one transaction except the two that wait on the carrier (§0 #8): a
hold commits its claim first (with a provisional expiry of one minute, so a crash frees the
number soon), asks the carrier, then commits the result; an extension asks first and commits
after. They are :class:`~dialcues_core.kernel.staged.Staged` use cases. Assign and release
commit their first status and leave the carrier and the voice provider to the provisioner
(``numbers.provisioning``), which the ``listeners`` wake.

Each use case has an operator variant (``*_for``: an organization id, no user) for the CLI.
The module is past the house's 400 lines because the holds' claim, wait and settle steps read
together; the provisioner's steps are in ``provisioning``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import phonenumbers

from dialcues_core.accounts.model import Principal, Provider
from dialcues_core.accounts.ports import LineRepository, OrganizationRepository
from dialcues_core.errors import (
    CarrierError,
    CarrierUnavailable,
    CarrierUnknownOutcome,
    HoldExpired,
    HoldLimitReached,
    InvalidState,
    NumberHeld,
    ProviderNotConfigured,
    ResourceNotFound,
)
from dialcues_core.kernel import crypto
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.ports import ChangeListener, Clock, Transactions
from dialcues_core.kernel.scopes import READ_NUMBERS, WRITE_NUMBERS, requires
from dialcues_core.kernel.staged import Staged
from dialcues_core.numbers import fields
from dialcues_core.numbers.carrier_settings import parse_carrier_settings
from dialcues_core.numbers.failures import client_error
from dialcues_core.numbers.lifecycle import OWNED, NumberAction, transition
from dialcues_core.numbers.model import (
    TELNYX,
    AvailableNumber,
    CarrierSettings,
    NumberRecord,
    NumberStatus,
    Reservation,
    ReservationStatus,
)
from dialcues_core.numbers.ports import Carrier, Carriers, Claim, NumberListQuery, NumberStore

R = TypeVar("R")

PROVISIONAL_HOLD = timedelta(seconds=60)
"""A new claim's expiry until the carrier answered: longer than its calls can take."""
MAX_HOLD = timedelta(minutes=30)
CONCURRENT_HOLD_POLL = 0.05
CONCURRENT_HOLD_TRIES = 160
"""At most 8 s waiting for a concurrent hold of the same number (then 503, retry after 1 s):
below the usual 10 s of an HTTP client's read timeout."""
ABANDONED_RESERVING = timedelta(seconds=6)
"""A hold still without a reservation this long after its claim is taken over by the next
hold of the organization (inside the 8 s wait, so that one is answered, not 503). Its request
most likely ended without its second step (an error, a lost connection); one still waiting on
a slow carrier then finds the claim gone and answers ``number_held``: never held twice."""
"""A hold waits this many polls (30 s) for the organization's concurrent hold to settle."""


class Runner(Protocol):
    """Awaits a coroutine from synchronous code (:class:`~dialcues_core.offload.LoopThread`)."""

    def run(self, coro: Coroutine[Any, Any, R], timeout: float | None = None) -> R:
        """Run ``coro`` to its end and return its result."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class NumberDeps:
    """What the number use cases need."""

    store: NumberStore
    transactions: Transactions
    clock: Clock
    carriers: Carriers
    runner: Runner
    organizations: OrganizationRepository
    lines: LineRepository
    max_holds: int
    listeners: Sequence[ChangeListener] = ()


class Numbers:
    """The organization's numbers: inventory, holds, assigns and releases."""

    def __init__(self, deps: NumberDeps):
        self.deps = deps
        self.store = deps.store
        self.tx = deps.transactions
        self.clock = deps.clock

    # ------------------------------------------------------------------ search
    @requires(READ_NUMBERS)
    def search(self, principal: Principal, params: Mapping[str, Any]) -> list[AvailableNumber]:
        """``GET /numbers/search``: the carrier's numbers no other organization claims and
        that are not already one of the organization's lines."""
        return self.search_for(principal.organization_id, params)

    def search_for(self, organization_id: str, params: Mapping[str, Any]) -> list[AvailableNumber]:
        """The same for an operator."""
        query = fields.read_search(params)
        carrier = self.carrier_of(organization_id)
        try:
            # ask for more than wanted: claimed numbers and the organization's lines are left out
            wider = dataclasses.replace(query, limit=min(100, query.limit * 2))
            offers = self.deps.runner.run(carrier.search(wider))
        except CarrierError as exc:
            raise _unavailable(exc) from exc
        with self.tx.atomic():
            taken = self.store.claimed_by_others(
                [o.number for o in offers], organization_id, self.clock.now()
            )
            taken |= {line.phone_number for line in self.deps.lines.list_for_org(organization_id)}
        kept = sorted((o for o in offers if o.number not in taken), key=lambda o: o.number)
        return kept[: query.limit]

    # ------------------------------------------------------------------ holds
    @requires(WRITE_NUMBERS)
    def hold(self, principal: Principal, payload: Any) -> Staged[tuple[NumberRecord, bool]]:
        """``POST /numbers/hold``: (the record, True) for a new hold (201), (its unexpired
        hold, False) when the organization holds it already (200)."""
        return self.hold_for(principal.organization_id, payload, principal.user_id)

    def hold_for(
        self, organization_id: str, payload: Any, user_id: str | None = None
    ) -> Staged[tuple[NumberRecord, bool]]:
        """The same for an operator (no user recorded)."""
        return Staged(
            lambda: self._claim_and_reserve(organization_id, payload, user_id), self._settle
        )

    def _claim_and_reserve(
        self, organization_id: str, payload: Any, user_id: str | None
    ) -> tuple[NumberRecord, Reservation | None]:
        number = fields.read_hold(payload)
        record, fresh = self._claim(organization_id, number, user_id)
        if not fresh:
            return record, None
        try:
            return record, self._reserve(record)
        except BaseException:
            with self.tx.atomic():  # nothing happened: the number is free again
                self.store.free_claim(record.number, record.id)
                self.store.delete(record.id)
            raise

    def _claim(
        self, organization_id: str, number: str, user_id: str | None
    ) -> tuple[NumberRecord, bool]:
        """Claim the number for a new hold (True), or find the organization's finished hold
        (False). A concurrent hold of the same number by the same organization is waited for
        (its carrier call is in flight): its result is the answer, or, when it failed and freed
        the number, this request claims it anew."""
        for _ in range(CONCURRENT_HOLD_TRIES):
            now = self.clock.now()
            settings = self.carrier_settings(organization_id)
            record = _new_hold(organization_id, user_id, number, settings.carrier, now)
            claim = Claim(organization_id, record.id, now + PROVISIONAL_HOLD)
            try:
                with self.tx.atomic():
                    self.store.lock_organization(organization_id)
                    self.store.add(record)
                    if not self.store.claim(number, claim, now):
                        raise _NotFree()  # rolls the new record back
                    if self.store.live_holds(organization_id, now) > self.deps.max_holds:
                        raise HoldLimitReached(self.deps.max_holds)
                return record, True
            except _NotFree:
                found = self._already_claimed(organization_id, number, now)
            if found is not None:
                return found, False
            time.sleep(CONCURRENT_HOLD_POLL)  # waiting for another request
        raise CarrierUnavailable("unknown_outcome", retry_after=1)  # the other one is stuck

    def _already_claimed(
        self, organization_id: str, number: str, now: datetime
    ) -> NumberRecord | None:
        """The claim was not free: someone else's (``number_held``), ours and settled (the
        record), or ours and still asking the carrier, or gone since (None: look again)."""
        with self.tx.atomic():
            claim = self.store.claim_of(number)
            mine = self.store.latest(organization_id, number)
        if claim is None:
            return None  # freed since our claim failed: claim it
        live = claim.live_until is None or claim.live_until > now
        if claim.organization_id != organization_id:
            if live:
                raise NumberHeld()
            return None  # lapsed since: claim it
        if mine is None or claim.number_id != mine.id:
            return None  # changing hands within the organization: look again
        status = mine.status_at(now)
        if status is NumberStatus.HELD and mine.reservation_id is None:
            if now - mine.created_at > ABANDONED_RESERVING:
                # its request ended without its second step (an error, a lost connection): take
                # the claim over; were it still in flight, its second step finds the claim gone
                # and answers number_held, so nothing is held twice
                with self.tx.atomic():
                    self.store.free_claim(number, mine.id)
                    self.store.delete(mine.id)
            return None  # still reserving, or taken over: look again
        if status is NumberStatus.HELD:
            return mine
        step = mine.failure.step if mine.failure else None
        transition(status, NumberAction.HOLD, step)  # owned: invalid_state
        return None  # expired, released, failed at its order: claim it anew

    def _reserve(self, record: NumberRecord) -> Reservation:
        carrier = self.carrier_of(record.organization_id)
        try:
            return self.deps.runner.run(carrier.reserve(record.number, record.id))
        except CarrierUnknownOutcome as exc:
            found = self._find_reservation(carrier, record.id)
            usable = found is not None and found.status is ReservationStatus.SUCCESS
            if found is None or not usable or not _lasts(found, self.clock.now()):
                raise CarrierUnavailable("unknown_outcome") from exc
            return found
        except CarrierError as exc:
            raise client_error(exc, "hold") from exc

    def _find_reservation(self, carrier: Carrier, reference: str) -> Reservation | None:
        try:
            return self.deps.runner.run(carrier.find_reservation(reference))
        except CarrierError as exc:
            raise CarrierUnavailable("unknown_outcome") from exc

    def _settle(
        self, prepared: tuple[NumberRecord, Reservation | None]
    ) -> tuple[NumberRecord, bool]:
        record, reservation = prepared
        if reservation is None:
            return record, False
        now = self.clock.now()
        expires = _whole(min(reservation.expires_at or now + MAX_HOLD, now + MAX_HOLD))
        offer = reservation.offer
        held = dataclasses.replace(
            record,
            hold_expires_at=expires,
            reservation_id=reservation.id,
            updated_at=_whole(now),
            **(_offer_fields(offer) if offer is not None else {}),
        )
        with self.tx.atomic():
            claim = self.store.claim_of(record.number)
            if claim is None or claim.number_id != record.id:  # lapsed while the carrier spoke
                self.store.delete(record.id)
                raise NumberHeld()
            self.store.save(held)
            self.store.set_claim(record.number, record.id, expires)
        return held, True

    @requires(WRITE_NUMBERS)
    def extend(self, principal: Principal, number: Any) -> Staged[NumberRecord]:
        """``POST /numbers/{number}/hold/extend``: once per hold; the carrier's new expiry."""
        return self.extend_for(principal.organization_id, number)

    def extend_for(self, organization_id: str, number: Any) -> Staged[NumberRecord]:
        """The same for an operator."""

        def ask() -> tuple[NumberRecord, Reservation]:
            record = self._own_hold(organization_id, number)
            carrier = self.carrier_of(organization_id)
            try:
                return record, self.deps.runner.run(carrier.extend(record.reservation_id or ""))
            except CarrierError as exc:
                raise client_error(exc, "extend") from exc

        return Staged(ask, self._extended)

    def _own_hold(self, organization_id: str, segment: Any) -> NumberRecord:
        number = fields.number_of_path(segment)
        with self.tx.atomic():
            record = self._latest(organization_id, number)
        status = record.status_at(self.clock.now())
        if status is NumberStatus.EXPIRED:
            raise HoldExpired()
        if status is not NumberStatus.HELD or record.hold_extended:
            raise InvalidState(status.value, NumberAction.EXTEND.value, resource="number")
        if record.reservation_id is None:  # its hold is still being taken: try in a second
            raise CarrierUnavailable("hold_in_progress", retry_after=1)
        return record

    def _extended(self, prepared: tuple[NumberRecord, Reservation]) -> NumberRecord:
        record, reservation = prepared
        now = self.clock.now()
        with self.tx.atomic():
            current = self._latest(record.organization_id, record.number)
            if current.id != record.id or current.hold_extended:
                raise InvalidState("held", NumberAction.EXTEND.value, resource="number")
            expires = _whole(reservation.expires_at or now + MAX_HOLD)
            extended = dataclasses.replace(
                current, hold_expires_at=expires, hold_extended=True, updated_at=_whole(now)
            )
            self.store.save(extended)
            if not self.store.set_claim(record.number, record.id, expires):
                raise HoldExpired()  # lapsed (and taken) while the carrier answered
        return extended

    @requires(WRITE_NUMBERS)
    def drop_hold(self, principal: Principal, number: Any) -> NumberRecord:
        """``DELETE /numbers/{number}/hold``: ``held`` or ``expired`` → ``released``."""
        return self.drop_hold_for(principal.organization_id, number)

    def drop_hold_for(self, organization_id: str, segment: Any) -> NumberRecord:
        """The same for an operator."""
        number = fields.number_of_path(segment)
        now = self.clock.now()
        with self.tx.atomic():
            record = self._latest(organization_id, number)
            transition(record.status_at(now), NumberAction.DROP)
            dropped = dataclasses.replace(
                record, status=NumberStatus.RELEASED, updated_at=_whole(now)
            )
            self.store.save(dropped)
            self.store.free_claim(number, record.id)
        return dropped

    # ------------------------------------------------------------------ assign, release
    @requires(WRITE_NUMBERS)
    def assign(self, principal: Principal, number: Any, payload: Any = None) -> NumberRecord:
        """``POST /numbers/{number}/assign``: ``ordering`` (or an import resumed); 202."""
        return self.assign_for(principal.organization_id, number, payload)

    def assign_for(self, organization_id: str, segment: Any, payload: Any = None) -> NumberRecord:
        """The same for an operator."""
        number = fields.number_of_path(segment)
        label, default = fields.read_assign(payload)
        with self.tx.atomic():
            now = self.clock.now()  # read under the transaction: a hold may lapse meanwhile
            record = self._latest(organization_id, number)
            status = record.status_at(now)
            if status is NumberStatus.EXPIRED:
                raise HoldExpired()
            step = record.failure.step if record.failure else None
            target = transition(status, NumberAction.ASSIGN, step)
            self._require_import_settings(record)
            assigned = _assigned(record, target, label, default, now)
            self.store.save(assigned)
            claim = self.store.claim_of(number)
            live = claim is not None and (claim.live_until is None or claim.live_until > now)
            mine = claim is not None and claim.number_id == record.id and live
            if not mine or not self.store.set_claim(number, record.id, None):
                raise HoldExpired()  # lapsed (perhaps taken) before this transaction began
        self._wake()
        return assigned

    def _require_import_settings(self, record: NumberRecord) -> None:
        """A Telnyx number for a Vapi organization is imported: that needs the credential."""
        if record.carrier != TELNYX:
            return
        organization = self.deps.organizations.get(record.organization_id)
        provider = organization.provider if organization else None
        vapi = provider is not None and provider.provider is Provider.VAPI
        if vapi and provider is not None and not provider.telnyx_credential_id:
            raise ProviderNotConfigured("telnyx_credential_id")

    @requires(WRITE_NUMBERS)
    def release(self, principal: Principal, number: Any) -> NumberRecord:
        """``POST /numbers/{number}/release``: ``releasing``, the line removed; 202."""
        return self.release_for(principal.organization_id, number)

    def release_for(self, organization_id: str, segment: Any) -> NumberRecord:
        """The same for an operator."""
        number = fields.number_of_path(segment)
        now = self.clock.now()
        with self.tx.atomic():
            record = self._latest(organization_id, number)
            if record.status is NumberStatus.RELEASING:
                return record
            step = record.failure.step if record.failure else None
            transition(record.status_at(now), NumberAction.RELEASE, step)
            if record.line_id is not None:
                self.deps.lines.remove(organization_id, record.line_id)
            releasing = _stepping(record, NumberStatus.RELEASING, now)
            self.store.save(releasing)
        self._wake()
        return releasing

    # ------------------------------------------------------------------ reads
    @requires(READ_NUMBERS)
    def get(self, principal: Principal, number: Any) -> NumberRecord:
        """``GET /numbers/{number}``: the latest record."""
        return self.get_for(principal.organization_id, number)

    def get_for(self, organization_id: str, segment: Any) -> NumberRecord:
        """The same for an operator."""
        number = fields.number_of_path(segment)
        with self.tx.atomic():
            return self._latest(organization_id, number)

    @requires(READ_NUMBERS)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[NumberRecord]:
        """``GET /numbers``: the organization's records, newest first."""
        return self.list_for(principal.organization_id, params)

    def list_for(self, organization_id: str, params: Mapping[str, Any]) -> Page[NumberRecord]:
        """The same for an operator."""
        found = fields.read_number_query(params)
        query = NumberListQuery(organization_id, self.clock.now(), **found)
        with self.tx.atomic():
            items, total = self.store.page(query)
        return Page(items, total, query.offset // query.limit + 1, query.limit)

    # ------------------------------------------------------------------ settings (operators)
    def set_carrier(self, organization_id: str, values: Mapping[str, Any]) -> CarrierSettings:
        """``dialcues orgs set-carrier``: validate and store the organization's carrier."""
        settings = parse_carrier_settings(values)
        with self.tx.atomic():
            if self.deps.organizations.get(organization_id) is None:
                raise ResourceNotFound("organization", organization_id)
            self.store.set_carrier_settings(organization_id, settings)
        return settings

    # ------------------------------------------------------------------ helpers
    def carrier_settings(self, organization_id: str) -> CarrierSettings:
        """The organization's carrier settings (the simulated carrier's when none)."""
        with self.tx.atomic():
            if self.deps.organizations.get(organization_id) is None:
                raise ResourceNotFound("organization", organization_id)
            return self.store.carrier_settings(organization_id) or CarrierSettings()

    def carrier_of(self, organization_id: str) -> Carrier:
        """The organization's carrier adapter."""
        return self.deps.carriers.carrier(self.carrier_settings(organization_id))

    def _latest(self, organization_id: str, number: str) -> NumberRecord:
        record = self.store.latest(organization_id, number)
        if record is None:
            raise ResourceNotFound("number", number)
        return record

    def _wake(self) -> None:
        for listener in self.deps.listeners:
            listener(None)


def _lasts(reservation: Reservation, now: datetime) -> bool:
    return reservation.expires_at is None or reservation.expires_at > now


class _NotFree(Exception):
    """The number's claim was not free: roll the new record back, then see whose it is."""


# ----------------------------------------------------------------------------- records
def _whole(moment: datetime) -> datetime:
    """Times are whole seconds (§2.1)."""
    return moment.replace(microsecond=0)


def _new_hold(
    organization_id: str, user_id: str | None, number: str, carrier: str, now: datetime
) -> NumberRecord:
    parsed = phonenumbers.parse(number, None)
    return NumberRecord(
        id=crypto.generate_id("num"),
        organization_id=organization_id,
        user_id=user_id,
        number=number,
        status=NumberStatus.HELD,
        country=phonenumbers.region_code_for_number(parsed) or "",
        locality=None,
        region=None,
        rate_center=None,
        features=("voice",),
        carrier=carrier,
        cost=None,
        hold_expires_at=_whole(now + PROVISIONAL_HOLD),
        hold_extended=False,
        line_id=None,
        failure=None,
        created_at=_whole(now),
        updated_at=_whole(now),
    )


def _offer_fields(offer: AvailableNumber) -> dict[str, Any]:
    return {
        "locality": offer.locality,
        "region": offer.region,
        "rate_center": offer.rate_center,
        "features": tuple(sorted(offer.features)),
        "cost": offer.cost,
    }


def _stepping(record: NumberRecord, status: NumberStatus, now: datetime) -> NumberRecord:
    """The record entering a provisioning step, due at once."""
    return dataclasses.replace(
        record,
        status=status,
        failure=None,
        step_due_at=now,
        step_tries=0,
        step_started_at=now,
        updated_at=_whole(now),
    )


def _assigned(
    record: NumberRecord, target: NumberStatus, label: str | None, default: bool, now: datetime
) -> NumberRecord:
    stepping = _stepping(record, target, now)
    if target is NumberStatus.ORDERING:
        return dataclasses.replace(
            stepping,
            order_reference=crypto.generate_id("ord"),
            assign_label=label,
            assign_default=default,
        )
    label = label if label is not None else record.assign_label
    return dataclasses.replace(stepping, assign_label=label, assign_default=default)


def _unavailable(exc: CarrierError) -> CarrierUnavailable:
    """A search's carrier failure: always 503 (§2.2)."""
    error = client_error(exc, "search")
    if isinstance(error, CarrierUnavailable):
        return error
    return CarrierUnavailable("rejected")


__all__ = ["OWNED", "NumberDeps", "Numbers", "Runner"]
