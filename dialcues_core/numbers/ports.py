"""The carrier ports (``telephony.md`` §1.1): one adapter per technology, asyncio, and the
domain never sees a vendor payload.

Failures are raised as :class:`~dialcues_core.errors.CarrierError`s: ``CarrierRejected``
(permanent, with the carrier's code and its meaning here), ``CarrierThrottled``,
``CarrierUnknownOutcome`` (sent, then a timeout or 5xx) and ``CarrierUnreachable`` (nothing
sent). ``release``, ``remove`` and the lookups are idempotent ("already gone" is done);
``reserve``, ``order`` and ``import_number`` are never retried blindly by an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.accounts.model import Organization
from dialcues_core.messages.model import (
    CarrierReport,
    IncomingText,
    Message,
    OutgoingMessage,
    SendReceipt,
)
from dialcues_core.numbers.model import (
    AvailableNumber,
    CarrierEvent,
    CarrierOrder,
    CarrierSettings,
    ImportedNumber,
    NumberQuery,
    NumberRecord,
    Reservation,
)


class Carrier(Protocol):
    """A telephone carrier: its inventory, reservations, orders and webhooks."""

    name: str
    """``simulated`` or ``telnyx``: stored on numbers and lines."""

    async def search(self, query: NumberQuery) -> list[AvailableNumber]:
        """Return available local numbers matching ``query``, sorted by number."""
        ...

    async def reserve(self, number: str, reference: str) -> Reservation:
        """Reserve ``number`` for us under our ``reference`` (a number record id).

        A search narrowed to the number runs first and fills ``Reservation.offer``. Raises
        ``CarrierRejected`` (meaning ``number_unavailable`` …) when refused.
        """
        ...

    async def extend(self, reservation_id: str) -> Reservation:
        """Extend a reservation once; return it with its new expiry."""
        ...

    async def find_reservation(self, reference: str) -> Reservation | None:
        """Return the reservation made under ``reference``, if any (reconciles a lost answer)."""
        ...

    async def order(self, number: str, reference: str) -> CarrierOrder:
        """Order (buy) ``number`` under our ``reference`` (an ``ord_…``). Never retried blindly."""
        ...

    async def find_order(self, reference: str) -> CarrierOrder | None:
        """Return the order placed under ``reference``, if any."""
        ...

    async def get_order(self, order_id: str) -> CarrierOrder:
        """Return an order's current state (with the bought number's id once ``success``)."""
        ...

    async def release(self, number: str) -> None:
        """Give a bought number back to the carrier; an unknown number is already released."""
        ...

    async def send(self, outgoing: OutgoingMessage) -> SendReceipt:
        """Post one message, once: never retried blindly. Raises ``CarrierRejected`` (meaning
        ``opted_out``, ``campaign_not_registered``, ``channel_unavailable`` …),
        ``CarrierThrottled`` (nothing sent), ``CarrierUnknownOutcome`` (it may have been sent:
        an event naming it resolves it) or ``CarrierUnreachable`` (nothing sent)."""
        ...

    async def settle(self, message: Message, now: datetime) -> list[CarrierReport | IncomingText]:
        """What a carrier that reports by no webhook has to say about a message still in the
        air (the simulated carrier's outcomes); a webhook carrier returns nothing."""
        ...

    def read_event(
        self, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> CarrierEvent:
        """Verify and translate a webhook; raise ``ProviderEventRejected`` when it fails."""
        ...


class VoiceNumbers(Protocol):
    """Carrier numbers imported into the voice provider, so inbound calls reach us."""

    async def import_number(self, number: str, name: str) -> ImportedNumber:
        """Import ``number`` (the provider then asks our server on each inbound call)."""
        ...

    async def find_imported(self, number: str) -> ImportedNumber | None:
        """Return the imported number, if the provider has it."""
        ...

    async def status(self, provider_line_id: str) -> ImportedNumber:
        """Return an imported number's current state."""
        ...

    async def remove(self, provider_line_id: str) -> None:
        """Remove an imported number; an unknown one is already removed."""
        ...


@dataclass(frozen=True, slots=True)
class Claim:
    """The live claim on a number: whose, which record, until when (None: owned)."""

    organization_id: str
    number_id: str
    live_until: datetime | None


@dataclass(frozen=True, slots=True)
class NumberListQuery:
    """``GET /numbers``: one organization's records, newest first."""

    organization_id: str
    now: datetime
    status: str | None = None
    country: str | None = None
    offset: int = 0
    limit: int = 20


class NumberStore(Protocol):
    """Number records, their claims and the organizations' carrier settings (the caller's
    transaction)."""

    def add(self, record: NumberRecord) -> None:
        """Store a new record."""
        ...

    def save(self, record: NumberRecord) -> None:
        """Write every field of an existing record."""
        ...

    def delete(self, number_id: str) -> None:
        """Forget a record (a hold the carrier refused: nothing happened)."""
        ...

    def get(self, number_id: str) -> NumberRecord | None:
        """A record by id."""
        ...

    def latest(self, organization_id: str, number: str) -> NumberRecord | None:
        """The organization's newest record of ``number``."""
        ...

    def by_order_reference(self, organization_id: str, reference: str) -> NumberRecord | None:
        """The record whose order reference (``ord_…``) this is."""
        ...

    def page(self, query: NumberListQuery) -> tuple[list[NumberRecord], int]:
        """One page of records and the total."""
        ...

    def claim(self, number: str, claim: Claim, now: datetime) -> bool:
        """Take the number's claim in one statement (insert, or update a free one: lapsed, or
        already this record's); True when taken."""
        ...

    def claim_of(self, number: str) -> Claim | None:
        """The number's claim row, live or lapsed."""
        ...

    def set_claim(self, number: str, number_id: str, live_until: datetime | None) -> bool:
        """Change the expiry of the record's claim (None: owned); False when not its own."""
        ...

    def wake_order(self, number_id: str, now: datetime) -> bool:
        """Make an ``ordering`` record's step due now, leaving its lease alone."""
        ...

    def free_claim(self, number: str, number_id: str) -> None:
        """Drop the record's claim (another record's claim stays)."""
        ...

    def claimed_by_others(
        self, numbers: Sequence[str], organization_id: str, now: datetime
    ) -> set[str]:
        """Which of ``numbers`` another organization live-claims."""
        ...

    def live_holds(self, organization_id: str, now: datetime) -> int:
        """How many unexpired holds the organization has."""
        ...

    def lock_organization(self, organization_id: str) -> None:
        """Serialize the organization's holds (the hold limit), for this transaction."""
        ...

    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of records with a provisioning step due and no live lease."""
        ...

    def lease(self, number_id: str, now: datetime, until: datetime) -> NumberRecord | None:
        """Take a due record's lease (one winner); None when another process has it."""
        ...

    def next_due(self) -> datetime | None:
        """When the soonest provisioning step is due."""
        ...

    def busy_on_line(self, line_id: str) -> bool:
        """Whether an execution on the line is ``in_progress``."""
        ...

    def carrier_settings(self, organization_id: str) -> CarrierSettings | None:
        """The organization's carrier settings (None: the simulated carrier)."""
        ...

    def set_carrier_settings(self, organization_id: str, settings: CarrierSettings) -> None:
        """Store the organization's carrier settings."""
        ...


class Carriers(Protocol):
    """Builds (and caches) the carrier and voice-number adapters of an organization."""

    def carrier(self, settings: CarrierSettings) -> Carrier:
        """The carrier adapter for these settings."""
        ...

    def voice_numbers(self, organization: Organization) -> VoiceNumbers:
        """The voice provider's number adapter for the organization."""
        ...
