"""The Telnyx carrier against the strict fake Telnyx on loopback, and its webhook reader.

Every request goes through real HTTP to ``tests/fakes/telnyx_server.py``; the assertions read
what the fake saw on the wire (:attr:`FakeTelnyx.requests`), so a blind retry of a POST, a
filter sent flat instead of in deepObject form or a lost answer not reconciled shows here.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes.telnyx_server import DEFAULT_PROFILE, FakeTelnyx, Fault, start_fake_telnyx

from dialcues_core.adapters.providers.telnyx.carrier import NOT_LISTED, TelnyxCarrier
from dialcues_core.adapters.providers.telnyx.client import Reply, classify
from dialcues_core.errors import (
    CarrierRejected,
    CarrierThrottled,
    CarrierUnknownOutcome,
    CarrierUnreachable,
    ProviderEventRejected,
)
from dialcues_core.numbers.model import (
    AvailableNumber,
    CarrierEventKind,
    CarrierSettings,
    Cost,
    NumberQuery,
    OrderStatus,
    Refusal,
    ReservationStatus,
)
from dialcues_core.testing import FakeClock

KEY = "telnyx-key-ours"
OTHER_KEY = "telnyx-key-theirs"
START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
NUMBER = "+14155550107"
SEARCH = "/available_phone_numbers"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def telnyx(clock: FakeClock) -> AsyncIterator[FakeTelnyx]:
    fake = await start_fake_telnyx(api_keys=(KEY, OTHER_KEY), clock=clock.now, auto_complete=False)
    yield fake
    await fake.close()


def settings(
    fake: FakeTelnyx,
    *,
    api_key: str = KEY,
    public_key: str | None = None,
    messaging_profile_id: str = DEFAULT_PROFILE,
    base_url: str | None = None,
) -> CarrierSettings:
    """An organization's Telnyx settings pointing at the fake (our account by default)."""
    return CarrierSettings(
        carrier="telnyx",
        api_key=api_key,
        public_key=public_key or fake.public_key,
        messaging_profile_id=messaging_profile_id,
        base_url=base_url or fake.url,
    )


@pytest.fixture
async def carrier(telnyx: FakeTelnyx) -> AsyncIterator[TelnyxCarrier]:
    carrier = TelnyxCarrier(settings(telnyx), timeout=2.0)
    yield carrier
    await carrier.close()


@pytest.fixture
async def theirs(telnyx: FakeTelnyx) -> AsyncIterator[TelnyxCarrier]:
    """Another organization's carrier: another Telnyx account on the same inventory."""
    carrier = TelnyxCarrier(settings(telnyx, api_key=OTHER_KEY), timeout=2.0)
    yield carrier
    await carrier.close()


async def bought(carrier: TelnyxCarrier, telnyx: FakeTelnyx, number: str = NUMBER) -> str:
    """Reserve and order ``number``, let the order succeed; return the order id."""
    await carrier.reserve(number, "num_1")
    order = await carrier.order(number, "ord_1")
    await telnyx.complete_order(order.id)
    return order.id


# ----------------------------------------------------------------------------- search
async def test_search_sends_every_filter_in_deep_object_form(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    query = NumberQuery(
        "US", npa="415", nxx="555", locality="San Francisco", region="CA",
        rate_center="SAN FRANCI", features=("sms", "voice"), limit=5,
    )  # fmt: skip
    await carrier.search(query)
    [request] = telnyx.requests_to("GET", SEARCH)
    assert request.query == {
        "filter[country_code]": "US",
        "filter[national_destination_code]": "415",
        "filter[phone_number][starts_with]": "555",
        "filter[locality]": "San Francisco",
        "filter[administrative_area]": "CA",
        "filter[rate_center]": "SAN FRANCI",
        "filter[features]": "sms,voice",
        "filter[limit]": "5",
        "filter[phone_number_type]": "local",
        "filter[reservable]": "true",
        "filter[exclude_held_numbers]": "true",
    }
    assert request.api_key == KEY


async def test_search_maps_regions_features_and_costs(carrier: TelnyxCarrier) -> None:
    found = await carrier.search(NumberQuery("US", npa="415", limit=5))
    assert found[0] == AvailableNumber(
        number="+14155550100", country="US", locality="San Francisco", region="CA",
        rate_center="SAN FRANCI", features=("mms", "sms", "voice"),
        cost=Cost(monthly="1.00", upfront="1.00", currency="USD"), reservable=True,
    )  # fmt: skip


async def test_search_results_are_sorted_and_near_matches_dropped(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.state.best_effort_fill = True
    found = await carrier.search(NumberQuery("US", npa="415", limit=25))
    numbers = [offer.number for offer in found]
    assert numbers == sorted(numbers)
    assert len(numbers) == 20 and all(n.startswith("+1415") for n in numbers)
    assert len(telnyx.state.seen[KEY]) == 25  # the fake did send 5 near matches


async def test_a_wildcard_finds_nothing_rather_than_an_error(carrier: TelnyxCarrier) -> None:
    assert await carrier.search(NumberQuery("US", locality="San*")) == []


async def test_another_accounts_hold_hides_the_number_from_our_search(
    carrier: TelnyxCarrier, theirs: TelnyxCarrier
) -> None:
    await theirs.reserve(NUMBER, "num_theirs")
    found = await carrier.search(NumberQuery("US", npa="415", limit=50))
    assert NUMBER not in [offer.number for offer in found]


# ----------------------------------------------------------------------------- reserve
async def test_reserve_searches_narrowly_then_reserves_under_our_reference(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    reservation = await carrier.reserve(NUMBER, "num_1")
    search, post = [(r.method, r.path) for r in telnyx.requests], telnyx.requests[1]
    assert search == [("GET", SEARCH), ("POST", "/number_reservations")]
    assert telnyx.requests[0].query == {
        "filter[country_code]": "US",
        "filter[national_destination_code]": "415",
        "filter[phone_number][starts_with]": "5550107",
        "filter[limit]": "5",
        "filter[phone_number_type]": "local",
        "filter[reservable]": "true",
    }
    assert post.json == {"phone_numbers": [{"phone_number": NUMBER}], "customer_reference": "num_1"}
    assert (reservation.number, reservation.status) == (NUMBER, ReservationStatus.SUCCESS)
    assert reservation.expires_at == START + timedelta(minutes=30)
    assert reservation.offer is not None and reservation.offer.rate_center == "SAN FRANCI"


async def test_our_own_earlier_hold_can_be_reserved_again(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    first = await carrier.reserve(NUMBER, "num_1")
    again = await carrier.reserve(NUMBER, "num_2")
    assert again.status is ReservationStatus.SUCCESS and again.id != first.id
    assert len(telnyx.requests_to("POST", "/number_reservations")) == 2


async def test_a_number_another_account_holds_is_unavailable(
    carrier: TelnyxCarrier, theirs: TelnyxCarrier
) -> None:
    await theirs.reserve(NUMBER, "num_theirs")
    with pytest.raises(CarrierRejected) as refused:
        await carrier.reserve(NUMBER, "num_1")
    assert (refused.value.carrier_code, refused.value.meaning) == (
        NOT_LISTED,
        Refusal.NUMBER_UNAVAILABLE,
    )


async def test_the_accounts_reservation_limit_is_a_hold_limit(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.state.reservation_limit = 1
    await carrier.reserve(NUMBER, "num_1")
    with pytest.raises(CarrierRejected) as refused:
        await carrier.reserve("+14155550108", "num_2")
    assert (refused.value.carrier_code, refused.value.meaning) == ("85007", Refusal.HOLD_LIMIT)


async def test_85000_searches_again_once_then_reserves(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.fail_next(Fault.FORGET_SEARCHES, method="POST", path="/number_reservations")
    reservation = await carrier.reserve(NUMBER, "num_1")
    assert reservation.status is ReservationStatus.SUCCESS
    sent = [(r.method, r.path, r.status) for r in telnyx.requests]
    assert sent == [
        ("GET", SEARCH, 200),
        ("POST", "/number_reservations", 422),
        ("GET", SEARCH, 200),
        ("POST", "/number_reservations", 200),
    ]


async def test_a_second_85000_is_raised(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    telnyx.fail_next(Fault.FORGET_SEARCHES, method="POST", path="/number_reservations", times=2)
    with pytest.raises(CarrierRejected) as refused:
        await carrier.reserve(NUMBER, "num_1")
    assert refused.value.meaning == Refusal.NOT_RECENTLY_SEARCHED
    assert len(telnyx.requests_to("POST", "/number_reservations")) == 2


async def test_a_pending_reservation_is_polled_by_id(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.state.pending_reservation_polls = 2
    reservation = await carrier.reserve(NUMBER, "num_1")
    assert reservation.status is ReservationStatus.SUCCESS
    polls = telnyx.requests_to("GET", f"/number_reservations/{reservation.id}")
    assert len(polls) == 2


async def test_extend_adds_thirty_minutes_once(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    reservation = await carrier.reserve(NUMBER, "num_1")
    extended = await carrier.extend(reservation.id)
    assert extended.expires_at == START + timedelta(minutes=60)
    with pytest.raises(CarrierRejected) as refused:
        await carrier.extend(reservation.id)
    assert (refused.value.carrier_code, refused.value.meaning) == (
        "85008",
        Refusal.EXTENSION_LIMIT,
    )
    extend_path = f"/number_reservations/{reservation.id}/actions/extend"
    assert [r.json for r in telnyx.requests_to("POST", extend_path)] == [None, None]


async def test_an_extension_whose_answer_was_lost_is_recognised(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    reservation = await carrier.reserve(NUMBER, "num_1")
    extend_path = f"/number_reservations/{reservation.id}/actions/extend"
    telnyx.fail_next(Fault.DONE_THEN_500, method="POST", path=extend_path)
    extended = await carrier.extend(reservation.id)
    assert extended.expires_at == START + timedelta(minutes=60)
    assert len(telnyx.requests_to("POST", extend_path)) == 1


async def test_find_reservation_asks_by_customer_reference(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    reservation = await carrier.reserve(NUMBER, "num_1")
    found = await carrier.find_reservation("num_1")
    assert found is not None and (found.id, found.number) == (reservation.id, NUMBER)
    assert await carrier.find_reservation("num_other") is None
    lookup = telnyx.requests_to("GET", "/number_reservations")[0]
    assert lookup.query == {"filter[customer_reference]": "num_1"}


async def test_a_lost_reservation_answer_is_found_by_reference(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.fail_next(Fault.DONE_THEN_DROP, method="POST", path="/number_reservations")
    with pytest.raises(CarrierUnknownOutcome):
        await carrier.reserve(NUMBER, "num_1")
    assert len(telnyx.requests_to("POST", "/number_reservations")) == 1
    found = await carrier.find_reservation("num_1")
    assert found is not None and found.status is ReservationStatus.SUCCESS


# ----------------------------------------------------------------------------- orders
async def test_an_order_is_pending_then_success_with_the_numbers_id(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    await carrier.reserve(NUMBER, "num_1")
    order = await carrier.order(NUMBER, "ord_1")
    assert (order.number, order.status, order.number_id) == (NUMBER, OrderStatus.PENDING, None)
    assert telnyx.requests_to("POST", "/number_orders")[0].json == {
        "phone_numbers": [{"phone_number": NUMBER}],
        "messaging_profile_id": DEFAULT_PROFILE,
        "customer_reference": "ord_1",
    }
    await telnyx.complete_order(order.id)
    done = await carrier.get_order(order.id)
    [owned] = telnyx.state.owned.values()
    assert (done.status, done.number_id) == (OrderStatus.SUCCESS, owned.id)
    lookup = telnyx.requests_to("GET", "/phone_numbers")[0]
    assert lookup.query == {"filter[phone_number]": NUMBER}


async def test_a_failed_order_reports_failure(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    telnyx.state.failing_orders.add(NUMBER)
    await carrier.reserve(NUMBER, "num_1")
    order = await carrier.order(NUMBER, "ord_1")
    await telnyx.complete_order(order.id)
    failed = await carrier.get_order(order.id)
    assert (failed.status, failed.number_id, failed.failure_code) == (
        OrderStatus.FAILURE,
        None,
        "failure",
    )
    assert telnyx.requests_to("GET", "/phone_numbers") == []


@pytest.mark.parametrize("fault", [Fault.DONE_THEN_DROP, Fault.DONE_THEN_HANG])
async def test_an_order_whose_answer_was_lost_is_found_by_reference(
    telnyx: FakeTelnyx, fault: Fault
) -> None:
    carrier = TelnyxCarrier(settings(telnyx), timeout=0.5)
    try:
        await carrier.reserve(NUMBER, "num_1")
        telnyx.fail_next(fault, method="POST", path="/number_orders")
        with pytest.raises(CarrierUnknownOutcome):
            await carrier.order(NUMBER, "ord_1")
        found = await carrier.find_order("ord_1")
    finally:
        await carrier.close()
    assert len(telnyx.requests_to("POST", "/number_orders")) == 1
    assert found is not None and (found.number, found.status) == (NUMBER, OrderStatus.PENDING)
    assert found.id == telnyx.state.orders[0].id


async def test_find_order_of_an_unknown_reference_is_none(carrier: TelnyxCarrier) -> None:
    assert await carrier.find_order("ord_never") is None


@pytest.mark.parametrize("fault", [Fault.ERROR_500, Fault.DONE_THEN_500])
async def test_an_order_answered_5xx_is_never_sent_again(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, fault: Fault
) -> None:
    await carrier.reserve(NUMBER, "num_1")
    telnyx.fail_next(fault, method="POST", path="/number_orders")
    with pytest.raises(CarrierUnknownOutcome):
        await carrier.order(NUMBER, "ord_1")
    assert len(telnyx.requests_to("POST", "/number_orders")) == 1


async def test_85000_on_an_order_searches_again_and_orders_once_more(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    await carrier.search(NumberQuery("US", npa="415"))  # seen, but not reserved
    telnyx.fail_next(Fault.FORGET_SEARCHES, method="POST", path="/number_orders")
    order = await carrier.order(NUMBER, "ord_1")
    assert order.status is OrderStatus.PENDING
    posts = telnyx.requests_to("POST", "/number_orders")
    assert [post.status for post in posts] == [422, 200] and len(telnyx.state.orders) == 1


async def test_an_unknown_messaging_profile_is_not_configured(telnyx: FakeTelnyx) -> None:
    carrier = TelnyxCarrier(settings(telnyx, messaging_profile_id="mp-unknown"), timeout=2.0)
    try:
        await carrier.reserve(NUMBER, "num_1")
        with pytest.raises(CarrierRejected) as refused:
            await carrier.order(NUMBER, "ord_1")
    finally:
        await carrier.close()
    assert (refused.value.carrier_code, refused.value.meaning) == ("85005", Refusal.NOT_CONFIGURED)


# ----------------------------------------------------------------------------- throttling
async def test_a_throttled_get_is_sent_again(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    telnyx.fail_next(Fault.THROTTLE, method="GET", path=SEARCH, times=2)
    found = await carrier.search(NumberQuery("US", npa="415"))
    assert found != []
    assert [r.status for r in telnyx.requests_to("GET", SEARCH)] == [429, 429, 200]


async def test_a_get_throttled_three_times_raises_throttled(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.throttle_all = True
    with pytest.raises(CarrierThrottled) as throttled:
        await carrier.search(NumberQuery("US", npa="415"))
    assert throttled.value.retry_after == 0.0
    assert len(telnyx.requests_to("GET", SEARCH)) == 3


async def test_a_reset_longer_than_a_minute_is_not_waited_for(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    telnyx.ratelimit_reset = 120
    telnyx.fail_next(Fault.THROTTLE, method="GET", path=SEARCH)
    with pytest.raises(CarrierThrottled) as throttled:
        await carrier.search(NumberQuery("US", npa="415"))
    assert throttled.value.retry_after == 120.0
    assert len(telnyx.requests_to("GET", SEARCH)) == 1


async def test_a_throttled_order_is_sent_again_and_orders_once(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    await carrier.reserve(NUMBER, "num_1")
    telnyx.fail_next(Fault.THROTTLE, method="POST", path="/number_orders")
    await carrier.order(NUMBER, "ord_1")
    assert [r.status for r in telnyx.requests_to("POST", "/number_orders")] == [429, 200]
    assert len(telnyx.state.orders) == 1


async def test_a_get_answered_5xx_is_sent_again(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    telnyx.fail_next(Fault.ERROR_500, method="GET", path=SEARCH)
    assert await carrier.search(NumberQuery("US", npa="415")) != []
    assert [r.status for r in telnyx.requests_to("GET", SEARCH)] == [500, 200]


async def test_a_carrier_nobody_listens_for_is_unreachable(telnyx: FakeTelnyx) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    carrier = TelnyxCarrier(settings(telnyx, base_url=f"http://127.0.0.1:{port}/v2"))
    try:
        with pytest.raises(CarrierUnreachable):
            await carrier.order(NUMBER, "ord_1")
    finally:
        await carrier.close()
    assert telnyx.requests == []


async def test_a_wrong_api_key_is_an_account_refusal(telnyx: FakeTelnyx) -> None:
    carrier = TelnyxCarrier(settings(telnyx, api_key="not-a-key"), timeout=2.0)
    try:
        with pytest.raises(CarrierRejected) as refused:
            await carrier.search(NumberQuery("US"))
    finally:
        await carrier.close()
    assert (refused.value.carrier_code, refused.value.meaning) == ("10009", Refusal.ACCOUNT)
    assert "not-a-key" not in str(refused.value)


# ----------------------------------------------------------------------------- release
async def test_release_deletes_the_number_and_again_is_done(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    await bought(carrier, telnyx)
    [owned] = telnyx.state.owned.values()
    await carrier.release(NUMBER)
    await carrier.release(NUMBER)
    assert [r.path for r in telnyx.requests_to("DELETE")] == [f"/phone_numbers/{owned.id}"]
    assert telnyx.state.owned == {}


async def test_a_release_whose_answer_was_lost_is_done_on_the_404(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    await bought(carrier, telnyx)
    telnyx.fail_next(Fault.DONE_THEN_500, method="DELETE")
    await carrier.release(NUMBER)
    assert [r.status for r in telnyx.requests_to("DELETE")] == [500, 404]
    assert telnyx.state.owned == {}


# ----------------------------------------------------------------------------- the table
def error(status: int, code: str | None) -> Reply:
    body = {"errors": [{"code": code, "title": "t", "detail": "d"}]} if code else None
    return Reply(status, body, 3.0)


@pytest.mark.parametrize(
    ("status", "code", "meaning"),
    [
        (401, "10009", Refusal.ACCOUNT),
        (403, "10010", Refusal.ACCOUNT),
        (403, "20012", Refusal.ACCOUNT),
        (402, "20100", Refusal.ACCOUNT),
        (422, "85000", Refusal.NOT_RECENTLY_SEARCHED),
        (422, "85001", Refusal.NUMBER_UNAVAILABLE),
        (422, "85006", Refusal.NUMBER_UNAVAILABLE),
        (422, "85007", Refusal.HOLD_LIMIT),
        (422, "85008", Refusal.EXTENSION_LIMIT),
        (422, "85004", Refusal.NOT_CONFIGURED),
        (422, "85005", Refusal.NOT_CONFIGURED),
        (403, "40300", Refusal.OPTED_OUT),
        (400, "40010", Refusal.CAMPAIGN),
        (400, "10015", Refusal.REJECTED),
    ],
)
def test_a_refusal_is_classified_by_its_code(status: int, code: str, meaning: Refusal) -> None:
    classified = classify(error(status, code), "POST /x")
    assert isinstance(classified, CarrierRejected)
    assert (classified.carrier_code, classified.meaning) == (code, meaning)


@pytest.mark.parametrize(("status", "code"), [(429, "10011"), (400, "40011"), (403, "40318")])
def test_throttling_codes_are_throttled(status: int, code: str) -> None:
    classified = classify(error(status, code), "GET /x")
    assert isinstance(classified, CarrierThrottled) and classified.retry_after == 3.0


def test_a_4xx_without_a_code_keeps_the_status_and_a_5xx_is_unknown() -> None:
    rejected = classify(error(404, None), "GET /x")
    assert isinstance(rejected, CarrierRejected) and rejected.carrier_code == "404"
    assert isinstance(classify(error(503, "10007"), "GET /x"), CarrierUnknownOutcome)


# ----------------------------------------------------------------------------- webhooks
def order_event(telnyx: FakeTelnyx, reference: str = "ord_1") -> bytes:
    return telnyx.event_body("number_order.complete", {"customer_reference": reference})


async def test_a_signed_event_is_translated(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    body = order_event(telnyx)
    event = carrier.read_event(telnyx.sign(body), body, START)
    assert (event.kind, event.type, event.reference, event.payload) == (
        CarrierEventKind.NUMBER_ORDER, "number_order.complete", "ord_1", {},
    )  # fmt: skip
    assert event.id == json.loads(body)["data"]["id"] and event.occurred_at == START


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("message.received", CarrierEventKind.MESSAGE_RECEIVED),
        ("message.finalized", CarrierEventKind.MESSAGE_STATUS),
        ("message.sent", CarrierEventKind.MESSAGE_STATUS),
        ("call.initiated", CarrierEventKind.OTHER),
    ],
)
async def test_other_events_keep_their_kind(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, event_type: str, kind: CarrierEventKind
) -> None:
    body = telnyx.event_body(event_type, {"id": "msg-1", "text": "STOP"})
    event = carrier.read_event(telnyx.sign(body), body, START)
    assert event.kind is kind and event.reference is None
    if kind is not CarrierEventKind.OTHER:
        assert event.payload == {"id": "msg-1", "text": "STOP"}


async def test_header_names_are_case_insensitive(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    body = order_event(telnyx)
    headers = {name.upper(): value for name, value in telnyx.sign(body).items()}
    assert carrier.read_event(headers, body, START).reference == "ord_1"


async def test_one_changed_byte_is_rejected(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    body = order_event(telnyx)
    headers = telnyx.sign(body)
    changed = body.replace(b"ord_1", b"ord_2")
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(headers, changed, START)


async def test_a_re_serialized_body_is_rejected(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    body = order_event(telnyx)
    headers = telnyx.sign(body)
    same_json = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert same_json != body and json.loads(same_json) == json.loads(body)
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(headers, same_json, START)


@pytest.mark.parametrize("offset", [-301, 301])
async def test_a_timestamp_more_than_300_s_away_is_rejected(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, offset: int
) -> None:
    body = order_event(telnyx)
    headers = telnyx.sign(body, timestamp=int(START.timestamp()) + offset)
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(headers, body, START)


async def test_a_timestamp_299_s_old_is_accepted(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    body = order_event(telnyx)
    headers = telnyx.sign(body, timestamp=int(START.timestamp()) - 299)
    assert carrier.read_event(headers, body, START).reference == "ord_1"


async def test_the_fakes_stale_mode_is_rejected(telnyx: FakeTelnyx, carrier: TelnyxCarrier) -> None:
    body = order_event(telnyx)
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(telnyx.sign(body, stale=True), body, START)


@pytest.mark.parametrize("missing", ["telnyx-signature-ed25519", "telnyx-timestamp"])
async def test_a_missing_header_is_rejected(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, missing: str
) -> None:
    body = order_event(telnyx)
    headers = {k: v for k, v in telnyx.sign(body).items() if k != missing}
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(headers, body, START)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("telnyx-timestamp", "1774443600.0"),
        ("telnyx-signature-ed25519", base64.b64encode(b"x" * 63).decode()),
        ("telnyx-signature-ed25519", "not base64!"),
    ],
)
async def test_a_malformed_header_is_rejected(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, name: str, value: str
) -> None:
    body = order_event(telnyx)
    headers = {**telnyx.sign(body), name: value}
    with pytest.raises(ProviderEventRejected):
        carrier.read_event(headers, body, START)


async def test_another_accounts_key_does_not_verify(telnyx: FakeTelnyx) -> None:
    other = await start_fake_telnyx()
    try:
        carrier = TelnyxCarrier(settings(telnyx, public_key=other.public_key))
        body = order_event(telnyx)
        with pytest.raises(ProviderEventRejected):
            carrier.read_event(telnyx.sign(body), body, START)
    finally:
        await other.close()


@dataclass
class Receiver:
    """Our webhook endpoint's stand-in: records each delivery, answers 200."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/events", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/events"
    yield receiver
    await runner.cleanup()


async def test_the_number_order_event_the_fake_posts_verifies(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, receiver: Receiver
) -> None:
    telnyx.events_url = receiver.url
    telnyx.auto_complete, telnyx.order_delay = True, 0.01
    await carrier.reserve(NUMBER, "num_1")
    order = await carrier.order(NUMBER, "ord_1")
    [delivery] = await telnyx.wait_for_deliveries(1)
    headers, body = receiver.received[0]
    event = carrier.read_event(headers, body, START)
    assert delivery.status == 200 and body == delivery.body
    assert (event.kind, event.reference) == (CarrierEventKind.NUMBER_ORDER, "ord_1")
    confirmed = await carrier.get_order(order.id)  # the event wakes; the GET decides
    assert confirmed.status is OrderStatus.SUCCESS


async def test_a_delivery_that_is_not_answered_200_is_attempted_three_times(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}/events"
    telnyx.events_url = nowhere
    order_id = await bought(carrier, telnyx)
    attempts = [json.loads(d.body)["meta"]["attempt"] for d in telnyx.deliveries]
    ids = {json.loads(d.body)["data"]["id"] for d in telnyx.deliveries}
    assert attempts == [1, 2, 3] and len(ids) == 1
    assert json.loads(telnyx.deliveries[0].body)["data"]["payload"]["id"] == order_id


# ----------------------------------------------------------------------------- the fake itself
async def raw(telnyx: FakeTelnyx, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    """Send one request to the fake as ourselves; return its status and JSON answer."""
    headers = {"Authorization": f"Bearer {KEY}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, telnyx.url + path, headers=headers, **kwargs) as response,
    ):
        return response.status, await response.json()


async def test_the_fake_refuses_an_unknown_body_field_with_its_pointer(
    telnyx: FakeTelnyx,
) -> None:
    body = {"phone_numbers": [{"phone_number": NUMBER, "extra": 1}], "customer_reference": "r"}
    status, answer = await raw(telnyx, "POST", "/number_reservations", json=body)
    assert status == 400
    assert answer["errors"][0]["code"] == "10015"
    assert answer["errors"][0]["source"] == {"pointer": "/phone_numbers/0/extra"}


@pytest.mark.parametrize(
    ("params", "code", "parameter"),
    [
        ({"filter[starts_with]": "555", "filter[country_code]": "US"}, "10015",
         "filter[starts_with]"),
        ({"filter[national_destination_code]": "415"}, "10004", "filter[country_code]"),
    ],
)  # fmt: skip
async def test_the_fake_refuses_a_flat_filter_and_a_search_without_country(
    telnyx: FakeTelnyx, params: dict[str, str], code: str, parameter: str
) -> None:
    status, answer = await raw(telnyx, "GET", SEARCH, params=params)
    assert (status, answer["errors"][0]["code"]) == (400, code)
    assert answer["errors"][0]["source"] == {"parameter": parameter}


async def test_the_fake_has_no_idempotency(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, clock: FakeClock
) -> None:
    await carrier.search(NumberQuery("US", npa="415"))
    for number in (NUMBER, "+14155550108"):
        body = {"phone_numbers": [{"phone_number": number}], "customer_reference": "ord_1"}
        status, _ = await raw(telnyx, "POST", "/number_orders", json=body)
        assert status == 200
        clock.advance(1)
    assert len(telnyx.state.orders) == 2
    found = await carrier.find_order("ord_1")
    assert found is not None and found.id == telnyx.state.orders[1].id


async def test_the_fake_answers_an_unknown_key_with_10009(telnyx: FakeTelnyx) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(telnyx.url + SEARCH, headers={"Authorization": "Bearer nope"}) as response,
    ):
        answer = await response.json()
    assert response.status == 401 and answer["errors"][0]["code"] == "10009"


async def test_the_fake_refuses_a_number_another_account_reserved_with_85006(
    telnyx: FakeTelnyx, carrier: TelnyxCarrier, theirs: TelnyxCarrier
) -> None:
    await carrier.search(NumberQuery("US", npa="415"))  # we saw it before they held it
    await theirs.reserve(NUMBER, "num_theirs")
    body = {"phone_numbers": [{"phone_number": NUMBER}], "customer_reference": "num_1"}
    status, answer = await raw(telnyx, "POST", "/number_reservations", json=body)
    assert (status, answer["errors"][0]["code"]) == (422, "85006")


async def test_a_hold_lapses_after_thirty_minutes_on_the_injected_clock(
    carrier: TelnyxCarrier, theirs: TelnyxCarrier, clock: FakeClock
) -> None:
    await theirs.reserve(NUMBER, "num_theirs")
    clock.advance(30 * 60)
    reservation = await carrier.reserve(NUMBER, "num_1")
    assert reservation.expires_at == START + timedelta(minutes=60)
