"""A carrier that sells pretend numbers: deterministic inventory, no network, no state.

The embedded default (``telephony.md`` §1.2): an organization without carrier settings uses
it, so searching, holding and assigning a number all run on a laptop.

**Inventory.** Derived from ``phonenumbers`` metadata on every call; nothing is remembered (the
database's number claims make holds atomic, §2.1), so a restart changes nothing.

- US and CA: every valid local number (any line can be held). A search lists an exchange's
  lines ascending from ``NXX-0100``; without ``nxx`` it walks the exchanges of its area code
  ascending, and without ``npa`` the country's area codes ascending. With a ``locality``,
  ``rate_center`` or ``region`` it walks only the exchanges the geocoder names with it.
- GB, DE, FR, AU: the library's example fixed-line and mobile numbers with their last four
  digits varied ``0000``–``9999``, kept when valid.
- ``locality`` and ``region`` come from the geocoder ("San Francisco, CA"), one place per
  block (a NANP exchange, or one example's ten thousand numbers); ``rate_center`` is the
  locality upper-cased and cut to 10 characters. Features ``mms``, ``sms``, ``voice``. Cost
  ``1.00`` monthly and upfront in US and CA, ``2.00`` elsewhere, always in USD.
- A search looks at no more than :data:`MAX_PROBES` candidates (exchanges and numbers), so it
  answers in milliseconds; a filter that matches nothing nearby finds nothing ("ask narrower",
  as with a real carrier's live sample).

**Timing.** A reservation lasts 30 minutes on the injected clock and an extension adds 30; an
order completes ``delay`` seconds after it was placed. Both instants travel inside the ids
(``rsv_<digits>_<epoch ms>_<tag>``, ``sord_<digits>_<epoch ms>_<tag>``, the tag a hash of our
reference), so any process, before or after a restart, answers the same from the clock alone.
Without state, ``find_reservation`` and ``find_order`` find nothing: the simulated carrier never
loses an answer, so they are never needed to reconcile one; a provisioner that crashed between
ordering and storing the order id simply orders again (the delay restarts).

**Magic numbers** (by the last four digits, in every served country):

====== =====================================================================
ending outcome
====== =====================================================================
9901   ``reserve`` refused: ``CarrierRejected("85006", number_unavailable)``;
       ``order`` refused: ``CarrierRejected("85001", number_unavailable)``
9902   the order fails (``failure``, code ``simulated_order_failed``)
9903   the order stays pending for 20 × the delay, then succeeds
9904   a voice-only number
====== =====================================================================
"""

# Past 400 lines on purpose: the carrier and its inventory are one adapter, and the inventory
# is only worth reading beside the rules in this docstring.
from __future__ import annotations

import asyncio
import hashlib
import heapq
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from itertools import islice
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

from dialcues_core.adapters.providers.simulated.messaging import SimulatedTexts
from dialcues_core.errors import CarrierRejected, ProviderEventRejected
from dialcues_core.kernel.ports import Clock
from dialcues_core.messages.model import (
    CarrierReport,
    IncomingText,
    Message,
    OutgoingMessage,
    SendReceipt,
)
from dialcues_core.numbers import regions
from dialcues_core.numbers.model import (
    SIMULATED,
    AvailableNumber,
    CarrierEvent,
    CarrierOrder,
    Cost,
    ImportedNumber,
    ImportStatus,
    NumberQuery,
    OrderStatus,
    Refusal,
    Reservation,
    ReservationStatus,
)

__all__ = [
    "MAX_PROBES",
    "NANP_COST",
    "OTHER_COST",
    "RESERVATION_TTL",
    "SimulatedCarrier",
    "SimulatedVoiceNumbers",
    "prepare_inventory",
    "simulated_offer",
    "simulated_search",
]

RESERVATION_TTL: Final = timedelta(minutes=30)
"""How long a reservation lasts, and how much an extension adds."""
NANP_COST: Final = Cost(monthly="1.00", upfront="1.00", currency="USD")
OTHER_COST: Final = Cost(monthly="2.00", upfront="2.00", currency="USD")
"""Outside US and CA; still in USD, the currency of the account a real carrier bills."""
ALL_FEATURES: Final = ("mms", "sms", "voice")
VOICE_ONLY: Final = ("voice",)
MAX_PROBES: Final = 1_000
"""Candidates (exchanges and numbers) one search may examine. A search usually needs
``limit`` + 1 (1–3 ms); if every probe failed it would stop after about 35 ms (a CA number
takes 32 µs to validate, a US one 13 µs)."""

REFUSED_HOLD: Final = "9901"
FAILED_ORDER: Final = "9902"
SLOW_ORDER: Final = "9903"
VOICE_ONLY_NUMBER: Final = "9904"
SLOW_ORDER_FACTOR: Final = 20
ORDER_FAILURE_CODE: Final = "simulated_order_failed"

_NANP_FIRST_LINE = 100
"""A search lists a NANP exchange from ``NXX-0100`` (``0000``–``0099`` can still be held)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID = re.compile(r"(rsv|sord)_([0-9]{2,15})_([0-9]{1,15})_[0-9a-f]{12}")
"""A reservation or order id this carrier issues (see :func:`_make_id`)."""
_NOT_FOUND = "10005"
"""Telnyx's "resource not found", for an id this carrier never issued or a lapsed hold."""


# ----------------------------------------------------------------------------- the carrier
class SimulatedCarrier:
    """The ``Carrier`` port without a carrier: see the module docstring for every rule.

    ``delay`` is ``DIALCUES_SIMULATED_DELAY`` in seconds; ``clock`` decides reservations'
    expiry and orders' completion. Texts follow :mod:`.messaging`.
    """

    name = SIMULATED

    def __init__(self, clock: Clock, delay: float) -> None:
        self._clock = clock
        self._delay = timedelta(seconds=delay)
        self._texts = SimulatedTexts()

    def warm_up(self) -> None:
        """Build the inventory's tables now, so the first search does not pay for them.

        About 0.4 s once per process (the geocoder's data, the area codes, the exchanges by
        locality); a composition root calls it at start, off the event loop. Optional.
        """
        prepare_inventory()

    async def search(self, query: NumberQuery) -> list[AvailableNumber]:
        """Return up to ``query.limit`` numbers of the inventory matching ``query``, sorted.

        The walk is CPU work (a few milliseconds, more on a cold inventory): it runs in a
        worker thread, so the carriers' shared event loop keeps serving holds and texts."""
        return await asyncio.to_thread(simulated_search, query)

    async def reserve(self, number: str, reference: str) -> Reservation:
        """Reserve ``number`` for 30 minutes; refuse magic ``…9901`` and numbers not on sale."""
        offer = simulated_offer(number)
        if offer is None:
            raise CarrierRejected("85001", Refusal.NUMBER_UNAVAILABLE, "Not in the inventory.")
        if number.endswith(REFUSED_HOLD):
            raise CarrierRejected("85006", Refusal.NUMBER_UNAVAILABLE, "Number already held.")
        now = self._now()
        rid = _make_id("rsv", number, now, reference)
        return Reservation(rid, number, ReservationStatus.SUCCESS, now + RESERVATION_TTL, offer)

    async def extend(self, reservation_id: str) -> Reservation:
        """Return the reservation with 30 more minutes: its expiry becomes creation + 60.

        Without state an extension cannot be counted: asked twice, it answers the same (the
        core allows one). A reservation whose first 30 minutes are over is gone (``10005``).
        """
        number, created = _parse_id("rsv", reservation_id)
        if self._clock.now() >= created + RESERVATION_TTL:
            raise CarrierRejected(_NOT_FOUND, Refusal.REJECTED, "The reservation has expired.")
        expires_at = created + 2 * RESERVATION_TTL
        offer = simulated_offer(number)
        return Reservation(reservation_id, number, ReservationStatus.SUCCESS, expires_at, offer)

    async def find_reservation(self, reference: str) -> Reservation | None:
        """Return None: nothing is stored, and a simulated reservation's answer is never lost."""
        return None

    async def order(self, number: str, reference: str) -> CarrierOrder:
        """Place an order for ``number``; it completes ``delay`` seconds later (see the magic)."""
        if simulated_offer(number) is None or number.endswith(REFUSED_HOLD):
            raise CarrierRejected("85001", Refusal.NUMBER_UNAVAILABLE, "Number not available.")
        placed = self._now()
        return self._state(_make_id("sord", number, placed, reference), number, placed)

    async def find_order(self, reference: str) -> CarrierOrder | None:
        """Return None: nothing is stored (the provisioner then orders again, harmlessly)."""
        return None

    async def get_order(self, order_id: str) -> CarrierOrder:
        """Return the order's state at the clock's now, computed from its id alone."""
        number, placed = _parse_id("sord", order_id)
        return self._state(order_id, number, placed)

    async def release(self, number: str) -> None:
        """Do nothing: a simulated number belongs to nobody once the record lets it go."""

    async def send(self, outgoing: OutgoingMessage) -> SendReceipt:
        """Take a text, or refuse it as the recipient's magic number says."""
        return self._texts.send(outgoing)

    async def settle(self, message: Message, now: datetime) -> list[CarrierReport | IncomingText]:
        """A text's ``sent`` and outcome (and the magic replies), the delay after its hand-off."""
        return self._texts.settle(message, now)

    def read_event(
        self, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> CarrierEvent:
        """Refuse every webhook: the simulated carrier sends none, so any is forged."""
        raise ProviderEventRejected("The simulated carrier sends no webhooks.")

    def _now(self) -> datetime:
        """The clock's now, to the millisecond: the precision an id keeps."""
        return _instant(_millis(self._clock.now()))

    def _state(self, order_id: str, number: str, placed: datetime) -> CarrierOrder:
        """An order's state ``now - placed`` after its placement (magic ``9902``, ``9903``)."""
        slow = number.endswith(SLOW_ORDER)
        takes = self._delay * (SLOW_ORDER_FACTOR if slow else 1)
        left = takes - (self._clock.now() - placed)
        if left > timedelta(0):
            wait = left.total_seconds()
            return CarrierOrder(order_id, number, OrderStatus.PENDING, check_after=wait)
        if number.endswith(FAILED_ORDER):
            message = "The simulated carrier fails every order of a number ending 9902."
            return CarrierOrder(
                order_id, number, OrderStatus.FAILURE, None, ORDER_FAILURE_CODE, message
            )
        return CarrierOrder(order_id, number, OrderStatus.SUCCESS, f"snum_{number[1:]}")


def _make_id(kind: str, number: str, at: datetime, reference: str) -> str:
    """``<kind>_<digits>_<epoch ms>_<tag>``: everything a later answer needs, in the id."""
    tag = hashlib.sha256(reference.encode()).hexdigest()[:12]
    return f"{kind}_{number[1:]}_{_millis(at)}_{tag}"


def _parse_id(kind: str, ident: str) -> tuple[str, datetime]:
    """The number and instant inside an id of ``kind``; anything else was never issued."""
    match = _ID.fullmatch(ident)
    if match is None or match[1] != kind:
        raise CarrierRejected(_NOT_FOUND, Refusal.REJECTED, f"No such {kind} id: {ident!r}.")
    return f"+{match[2]}", _instant(int(match[3]))


def _millis(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(milliseconds=1)


def _instant(millis: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=millis)


class SimulatedVoiceNumbers:
    """The ``VoiceNumbers`` port that does nothing: a simulated number is never imported
    (§2.4), and an import asked anyway is ``active`` at once under ``svn_<digits>``."""

    async def import_number(self, number: str, name: str) -> ImportedNumber:
        """Return ``number`` as imported and active, with an id derived from it."""
        return ImportedNumber(f"svn_{number.removeprefix('+')}", number, ImportStatus.ACTIVE)

    async def find_imported(self, number: str) -> ImportedNumber | None:
        """Return None: nothing is stored."""
        return None

    async def status(self, provider_line_id: str) -> ImportedNumber:
        """Return the number behind ``svn_<digits>`` as active."""
        digits = provider_line_id.removeprefix("svn_")
        return ImportedNumber(provider_line_id, f"+{digits}", ImportStatus.ACTIVE)

    async def remove(self, provider_line_id: str) -> None:
        """Do nothing (an unknown number is already removed)."""


# ----------------------------------------------------------------------------- inventory
class _Budget:
    """Counts the candidates a search examined, so no filter makes it walk a whole country."""

    def __init__(self, probes: int) -> None:
        self.left = probes

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def prepare_inventory() -> None:
    """Build every cached table a search uses (see :meth:`SimulatedCarrier.warm_up`)."""
    for country in regions.NANP:
        regions.area_codes(country)
    _place_index()
    _block_place(1, "415555")


def simulated_search(query: NumberQuery, max_probes: int = MAX_PROBES) -> list[AvailableNumber]:
    """Return the inventory's first ``query.limit`` numbers matching ``query``, by number."""
    budget = _Budget(max_probes)
    if query.country in regions.NANP:
        found: Iterable[AvailableNumber] = _nanp_offers(query, budget)
    elif query.country in regions.SERVED_COUNTRIES and query.npa is None and query.nxx is None:
        found = _example_offers(query, budget)
    else:
        return []  # an unserved country, or an area code outside NANP: nothing on sale
    return sorted(islice(found, query.limit), key=lambda offer: offer.number)


def simulated_offer(number: str) -> AvailableNumber | None:
    """Return what the inventory says of ``number`` (the narrowed search), or None if it is
    not on sale: not a valid local number of a served country, or outside the example blocks
    (GB, DE, FR, AU)."""
    country = regions.holdable_country(number)
    if country is None:
        return None
    parsed = phonenumbers.parse(number, None)
    national = str(parsed.national_number)
    if country in regions.NANP:
        block = national[:6]  # every line is on sale, though searches list from 0100
    elif national[:-4] in _example_blocks(country):
        block = national[:-4]
    else:
        return None
    return _offer(parsed, country, _block_place(parsed.country_code, block))


def _offer(
    number: PhoneNumber, country: str, place: tuple[str | None, str | None]
) -> AvailableNumber:
    """One number as the inventory offers it."""
    e164 = f"+{number.country_code}{number.national_number}"  # no served country keeps a 0
    locality, region = place
    return AvailableNumber(
        number=e164,
        country=country,
        locality=locality,
        region=region,
        rate_center=_rate_center(locality),
        features=VOICE_ONLY if e164.endswith(VOICE_ONLY_NUMBER) else ALL_FEATURES,
        cost=NANP_COST if country in regions.NANP else OTHER_COST,
    )


def _rate_center(locality: str | None) -> str | None:
    return locality.upper()[:10] if locality else None


def _matches_place(query: NumberQuery, place: tuple[str | None, str | None]) -> bool:
    """Whether a block's place passes the query's locality, region and rate-center filters."""
    locality, region = place
    if query.locality and (locality or "").casefold() != query.locality.casefold():
        return False
    if query.region and (region or "").casefold() != query.region.casefold():
        return False
    return not query.rate_center or _rate_center(locality) == query.rate_center.upper()


def _has_features(query: NumberQuery, offer: AvailableNumber) -> bool:
    return set(query.features) <= set(offer.features)


@lru_cache(maxsize=16_384)
def _block_place(country_code: int, block: str) -> tuple[str | None, str | None]:
    """The place of a block, from its number ending ``0100``: the geocoder's NANP prefixes stop
    at the exchange (``1`` + NPA + NXX), and each example block has one description."""
    first = PhoneNumber(country_code=country_code, national_number=int(f"{block}0100"))
    return regions.place_of(first)


# ----------------------------------------------------------------------------- NANP
def _nanp_offers(query: NumberQuery, budget: _Budget) -> Iterator[AvailableNumber]:
    """Offers exchange by exchange, each from ``NXX-0100`` up, while the budget lasts."""
    if query.npa is not None and not regions.is_area_code(query.country, query.npa):
        return  # another country's area code (340 is VI's, not US): no exchange to walk
    for npa, nxx in _nanp_exchanges(query):
        if not budget.spend():
            return
        if not regions.is_exchange(query.country, npa, nxx):
            continue
        place = _block_place(1, npa + nxx)
        if not _matches_place(query, place):
            continue
        for line in range(_NANP_FIRST_LINE, 10_000):
            if not budget.spend():
                return
            number = PhoneNumber(country_code=1, national_number=int(f"{npa}{nxx}{line:04d}"))
            if regions.local_country(number) != query.country:
                continue
            offer = _offer(number, query.country, place)
            if _has_features(query, offer):
                yield offer


def _nanp_exchanges(query: NumberQuery) -> Iterator[tuple[str, str]]:
    """The candidate exchanges, ascending: those the geocoder names with the query's locality,
    rate center or region, else the area codes (given, or all the country's) times the
    exchanges (given, or all)."""
    prefixes: Iterable[str]
    if query.locality:
        prefixes = _place_index()[0].get(query.locality.casefold(), ())
    elif query.rate_center:
        prefixes = _place_index()[1].get(query.rate_center.upper(), ())
    elif query.region:
        prefixes = _place_index()[2].get(query.region.upper(), ())
    else:
        prefixes = (query.npa,) if query.npa else regions.area_codes(query.country)
    ours = (prefix for prefix in prefixes if regions.is_area_code(query.country, prefix[:3]))
    return regions.exchanges_of(ours, query.npa, query.nxx)


_Index = dict[str, tuple[str, ...]]


@cache
def _place_index() -> tuple[_Index, _Index, _Index]:
    """The geocoder's NANP prefixes by casefolded locality, by rate center and by region."""
    indexes: tuple[dict[str, set[str]], ...] = ({}, {}, {})
    for (locality, region), prefixes in regions.nanp_places().items():
        keys = (locality and locality.casefold(), _rate_center(locality), region)
        for index, key in zip(indexes, keys, strict=True):
            if key:
                index.setdefault(key, set()).update(prefixes)
    by_locality, by_rate_center, by_region = (
        {key: tuple(sorted(found)) for key, found in index.items()} for index in indexes
    )
    return by_locality, by_rate_center, by_region


# ----------------------------------------------------------------------------- elsewhere
@cache
def _example_blocks(country: str) -> tuple[str, ...]:
    """The national digits, less the last four, of ``country``'s example local numbers."""
    blocks = []
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
        example = phonenumbers.example_number_for_type(country, kind)
        if example is not None:
            blocks.append(str(example.national_number)[:-4])
    return tuple(dict.fromkeys(blocks))


def _example_offers(query: NumberQuery, budget: _Budget) -> Iterator[AvailableNumber]:
    """The example blocks' offers merged by number (E.164 text order)."""
    code = phonenumbers.country_code_for_region(query.country)
    streams = [
        _block_offers(query, code, block, budget)
        for block in _example_blocks(query.country)
        if _matches_place(query, _block_place(code, block))
    ]
    return heapq.merge(*streams, key=lambda offer: offer.number)


def _block_offers(
    query: NumberQuery, code: int, block: str, budget: _Budget
) -> Iterator[AvailableNumber]:
    """One example block's valid numbers, ``0000`` to ``9999``, while the budget lasts."""
    place = _block_place(code, block)
    for line in range(10_000):
        if not budget.spend():
            return
        number = PhoneNumber(country_code=code, national_number=int(f"{block}{line:04d}"))
        if regions.local_country(number) == query.country:
            offer = _offer(number, query.country, place)
            if _has_features(query, offer):
                yield offer
