"""The simulated carrier: deterministic inventory, reservations and orders on the injected
clock, magic numbers, and the voice-number twin that does nothing (``telephony.md`` §1.2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest

from dialcues_core.adapters.providers.simulated.carrier import (
    ORDER_FAILURE_CODE,
    SimulatedCarrier,
    SimulatedVoiceNumbers,
    simulated_offer,
    simulated_search,
)
from dialcues_core.errors import CarrierRejected, ProviderEventRejected
from dialcues_core.numbers import regions
from dialcues_core.numbers.model import (
    Cost,
    ImportStatus,
    NumberQuery,
    OrderStatus,
    Refusal,
    ReservationStatus,
)
from dialcues_core.numbers.ports import Carrier, VoiceNumbers
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
DELAY = 5.0
SF = "+14155550142"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def carrier(clock: FakeClock) -> SimulatedCarrier:
    return SimulatedCarrier(clock, DELAY)


def is_local_of(number: str, country: str) -> bool:
    """Whether ``number`` is a valid fixed-line or mobile number of ``country``."""
    return regions.local_country(phonenumbers.parse(number)) == country


# ----------------------------------------------------------------------------- search
async def test_an_exchange_lists_its_numbers_ascending_from_0100(
    carrier: SimulatedCarrier,
) -> None:
    found = await carrier.search(NumberQuery("US", npa="415", nxx="555"))
    assert [offer.number for offer in found] == [f"+1415555{line:04d}" for line in range(100, 120)]


async def test_search_describes_each_number_from_the_geocoder(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", npa="415", nxx="555", limit=100))
    assert {(o.country, o.locality, o.region, o.rate_center) for o in found} == {
        ("US", "San Francisco", "CA", "SAN FRANCI")
    }


async def test_us_and_canadian_numbers_cost_one_dollar(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", npa="415", nxx="555"))
    found += await carrier.search(NumberQuery("CA", npa="416"))
    assert {offer.cost for offer in found} == {Cost("1.00", "1.00", "USD")}


async def test_numbers_offer_voice_sms_and_mms(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", npa="415", nxx="555"))
    assert {(offer.features, offer.reservable) for offer in found} == {
        (("mms", "sms", "voice"), True)
    }


async def test_the_limit_is_respected(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", npa="415", nxx="555", limit=100))
    assert (len(found), found[-1].number) == (100, "+14155550199")


async def test_without_an_exchange_the_first_valid_one_comes_first(
    carrier: SimulatedCarrier,
) -> None:
    first = next(f"{n}" for n in range(200, 1000) if regions.is_exchange("US", "415", f"{n}"))
    found = await carrier.search(NumberQuery("US", npa="415"))
    assert found[0].number == f"+1415{first}0100"
    assert all(offer.number.startswith("+1415") for offer in found)


async def test_without_an_area_code_the_countrys_first_comes_first(
    carrier: SimulatedCarrier,
) -> None:
    for country in ("US", "CA"):
        found = await carrier.search(NumberQuery(country))
        assert found[0].number.startswith(f"+1{regions.area_codes(country)[0]}")
        assert all(is_local_of(offer.number, country) for offer in found)


async def test_a_locality_search_finds_only_that_locality(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", locality="san francisco", limit=50))
    assert len(found) == 50
    assert {(offer.locality, offer.region) for offer in found} == {("San Francisco", "CA")}


async def test_a_rate_center_search_finds_only_that_rate_center(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", rate_center="SAN FRANCI"))
    assert len(found) == 20 and {offer.rate_center for offer in found} == {"SAN FRANCI"}


@pytest.mark.parametrize(("country", "region"), [("US", "WY"), ("US", "CA"), ("CA", "NU")])
async def test_a_region_search_finds_only_that_region(
    carrier: SimulatedCarrier, country: str, region: str
) -> None:
    found = await carrier.search(NumberQuery(country, region=region))
    assert len(found) == 20 and {offer.region for offer in found} == {region}
    assert all(is_local_of(offer.number, country) for offer in found)


async def test_filters_that_contradict_each_other_find_nothing(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", npa="415", region="NY"))
    assert found == []


async def test_a_territory_code_finds_nothing_in_the_us(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", region="PR"))
    assert found == []


async def test_results_carry_the_asked_features(carrier: SimulatedCarrier) -> None:
    found = await carrier.search(NumberQuery("US", npa="212", features=("mms", "sms")))
    assert found and all({"mms", "sms"} <= set(offer.features) for offer in found)


@pytest.mark.parametrize("country", ["GB", "DE", "FR", "AU"])
async def test_elsewhere_the_examples_varied_give_valid_numbers(
    carrier: SimulatedCarrier, country: str
) -> None:
    found = await carrier.search(NumberQuery(country, limit=100))
    numbers = [offer.number for offer in found]
    assert len(numbers) == 100 and numbers == sorted(numbers)
    assert all(is_local_of(number, country) for number in numbers)
    assert {(offer.country, offer.cost) for offer in found} == {
        (country, Cost("2.00", "2.00", "USD"))
    }


async def test_a_british_search_starts_at_the_example_ending_0000(
    carrier: SimulatedCarrier,
) -> None:
    found = await carrier.search(NumberQuery("GB", locality="Birmingham"))
    first = found[0]
    assert (first.number, first.locality, first.rate_center) == (
        "+441212340000",
        "Birmingham",
        "BIRMINGHAM",
    )


@pytest.mark.parametrize(
    "query", [NumberQuery("JP"), NumberQuery("GB", npa="415"), NumberQuery("GB", locality="Leeds")]
)
async def test_what_is_not_on_sale_is_not_found(
    carrier: SimulatedCarrier, query: NumberQuery
) -> None:
    assert await carrier.search(query) == []


def test_a_search_examines_no_more_than_its_probe_budget() -> None:
    # 10 probes: one exchange, then nine lines (0100–0108).
    found = simulated_search(NumberQuery("US", npa="415", nxx="555"), max_probes=10)
    assert [offer.number for offer in found] == [f"+1415555{line:04d}" for line in range(100, 109)]


async def test_two_carriers_offer_the_same_inventory(clock: FakeClock) -> None:
    first, second = SimulatedCarrier(clock, DELAY), SimulatedCarrier(FakeClock(), 0.0)
    for query in (NumberQuery("US", npa="415"), NumberQuery("CA"), NumberQuery("AU")):
        assert await first.search(query) == await second.search(query)


# ----------------------------------------------------------------------------- reservations
async def test_a_reservation_lasts_30_minutes_and_carries_the_offer(
    carrier: SimulatedCarrier,
) -> None:
    reservation = await carrier.reserve(SF, "num_1")
    assert reservation.id.startswith("rsv_14155550142_")
    assert (reservation.number, reservation.status, reservation.expires_at) == (
        SF,
        ReservationStatus.SUCCESS,
        START + timedelta(minutes=30),
    )
    assert reservation.offer == simulated_offer(SF)
    assert reservation.offer is not None and reservation.offer.locality == "San Francisco"


async def test_any_line_of_an_exchange_can_be_held(carrier: SimulatedCarrier) -> None:
    reservation = await carrier.reserve("+14155550042", "num_1")
    assert reservation.status == ReservationStatus.SUCCESS


async def test_a_number_ending_9901_cannot_be_held(carrier: SimulatedCarrier) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await carrier.reserve("+14155559901", "num_1")
    assert (caught.value.carrier_code, caught.value.meaning) == (
        "85006",
        Refusal.NUMBER_UNAVAILABLE,
    )


@pytest.mark.parametrize("number", ["+18005550100", "+442071234567", "+81312345678", "+1415555014"])
async def test_a_number_not_on_sale_cannot_be_held(carrier: SimulatedCarrier, number: str) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await carrier.reserve(number, "num_1")
    assert (caught.value.carrier_code, caught.value.meaning) == (
        "85001",
        Refusal.NUMBER_UNAVAILABLE,
    )


async def test_an_extension_adds_30_minutes_to_the_original_expiry(
    carrier: SimulatedCarrier, clock: FakeClock
) -> None:
    reservation = await carrier.reserve(SF, "num_1")
    clock.advance(20 * 60)
    extended = await carrier.extend(reservation.id)
    assert (extended.id, extended.expires_at) == (reservation.id, START + timedelta(hours=1))


async def test_a_lapsed_reservation_cannot_be_extended(
    carrier: SimulatedCarrier, clock: FakeClock
) -> None:
    reservation = await carrier.reserve(SF, "num_1")
    clock.advance(30 * 60)
    with pytest.raises(CarrierRejected) as caught:
        await carrier.extend(reservation.id)
    assert caught.value.carrier_code == "10005"


@pytest.mark.parametrize("ident", ["rsv_nope", "sord_14155550142_0_0123456789ab", "rsv_1_2_3"])
async def test_an_id_never_issued_is_not_found(carrier: SimulatedCarrier, ident: str) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await carrier.extend(ident)
    assert (caught.value.carrier_code, caught.value.meaning) == ("10005", Refusal.REJECTED)


async def test_a_stateless_carrier_finds_no_reservation_or_order(
    carrier: SimulatedCarrier,
) -> None:
    await carrier.reserve(SF, "num_1")
    await carrier.order(SF, "ord_1")
    assert (await carrier.find_reservation("num_1"), await carrier.find_order("ord_1")) == (
        None,
        None,
    )


async def test_the_same_reservation_gets_the_same_id_after_a_restart(clock: FakeClock) -> None:
    first = await SimulatedCarrier(clock, DELAY).reserve(SF, "num_1")
    again = await SimulatedCarrier(clock, DELAY).reserve(SF, "num_1")
    other = await SimulatedCarrier(clock, DELAY).reserve(SF, "num_2")
    assert first == again and other.id != first.id


# ----------------------------------------------------------------------------- orders
async def test_an_order_completes_after_the_delay(
    carrier: SimulatedCarrier, clock: FakeClock
) -> None:
    placed = await carrier.order(SF, "ord_1")
    assert (placed.status, placed.number_id) == (OrderStatus.PENDING, None)
    clock.advance(DELAY - 0.001)
    assert (await carrier.get_order(placed.id)).status == OrderStatus.PENDING
    clock.advance(0.001)
    done = await carrier.get_order(placed.id)
    assert (done.id, done.number, done.status, done.number_id) == (
        placed.id,
        SF,
        OrderStatus.SUCCESS,
        "snum_14155550142",
    )


async def test_without_a_delay_an_order_succeeds_at_once(clock: FakeClock) -> None:
    placed = await SimulatedCarrier(clock, 0.0).order(SF, "ord_1")
    assert placed.status == OrderStatus.SUCCESS


async def test_an_order_of_a_number_ending_9902_fails_after_the_delay(
    carrier: SimulatedCarrier, clock: FakeClock
) -> None:
    placed = await carrier.order("+14155559902", "ord_1")
    clock.advance(DELAY)
    done = await carrier.get_order(placed.id)
    assert (placed.status, done.status, done.failure_code, done.number_id) == (
        OrderStatus.PENDING,
        OrderStatus.FAILURE,
        ORDER_FAILURE_CODE,
        None,
    )


async def test_an_order_of_a_number_ending_9903_is_pending_for_20_delays(
    carrier: SimulatedCarrier, clock: FakeClock
) -> None:
    placed = await carrier.order("+14155559903", "ord_1")
    clock.advance(20 * DELAY - 0.001)
    pending = await carrier.get_order(placed.id)
    clock.advance(0.001)
    assert (pending.status, (await carrier.get_order(placed.id)).status) == (
        OrderStatus.PENDING,
        OrderStatus.SUCCESS,
    )


async def test_a_number_ending_9904_is_voice_only(carrier: SimulatedCarrier) -> None:
    reservation = await carrier.reserve("+14155559904", "num_1")
    assert reservation.offer is not None and reservation.offer.features == ("voice",)


async def test_a_number_ending_9901_cannot_be_ordered(carrier: SimulatedCarrier) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await carrier.order("+14155559901", "ord_1")
    assert (caught.value.carrier_code, caught.value.meaning) == (
        "85001",
        Refusal.NUMBER_UNAVAILABLE,
    )


async def test_another_process_sees_the_same_order_state(clock: FakeClock) -> None:
    placed = await SimulatedCarrier(clock, DELAY).order(SF, "ord_1")
    clock.advance(DELAY)
    restarted = SimulatedCarrier(clock, DELAY)
    assert (await restarted.get_order(placed.id)).status == OrderStatus.SUCCESS


async def test_an_unknown_order_is_not_found(carrier: SimulatedCarrier) -> None:
    with pytest.raises(CarrierRejected) as caught:
        await carrier.get_order("sord_nope")
    assert caught.value.carrier_code == "10005"


async def test_release_succeeds_for_any_number(carrier: SimulatedCarrier) -> None:
    assert await carrier.release(SF) is None
    assert await carrier.release("+10000000000") is None


def test_every_webhook_is_refused(carrier: SimulatedCarrier) -> None:
    with pytest.raises(ProviderEventRejected):
        carrier.read_event({}, b"{}", START)


def test_the_carrier_is_named_simulated(carrier: SimulatedCarrier) -> None:
    port: Carrier = carrier
    assert port.name == "simulated"


QUICK = [
    NumberQuery("US"),
    NumberQuery("US", npa="415", nxx="555", limit=100),
    NumberQuery("US", locality="San Francisco", limit=100),
    NumberQuery("CA", region="NU", limit=100),
    NumberQuery("US", region="PR"),
    NumberQuery("GB", limit=100),
]


@pytest.mark.parametrize("query", QUICK)
def test_once_warm_a_search_answers_well_under_50_ms(
    carrier: SimulatedCarrier, query: NumberQuery
) -> None:
    carrier.warm_up()
    # The best of three, so a busy machine's one slow run does not fail it (typical: 1–3 ms).
    assert min(_timed_search(query) for _ in range(3)) < 0.05


def _timed_search(query: NumberQuery) -> float:
    started = time.perf_counter()
    simulated_search(query)
    return time.perf_counter() - started


# ----------------------------------------------------------------------------- voice numbers
async def test_an_import_is_active_at_once_under_a_derived_id() -> None:
    voice: VoiceNumbers = SimulatedVoiceNumbers()
    imported = await voice.import_number(SF, "Front desk")
    assert (imported.id, imported.number, imported.status) == (
        "svn_14155550142",
        SF,
        ImportStatus.ACTIVE,
    )
    assert await voice.status(imported.id) == imported


async def test_nothing_is_ever_found_imported_and_removal_does_nothing() -> None:
    voice = SimulatedVoiceNumbers()
    await voice.import_number(SF, "Front desk")
    assert (await voice.find_imported(SF), await voice.remove("svn_14155550142")) == (None, None)
