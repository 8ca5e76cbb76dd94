"""The numbering-plan tables: served countries, NANP area codes and exchanges, region codes,
the hold rule and where a number is (``telephony.md`` §2.2, §2.3)."""

from __future__ import annotations

import phonenumbers
import pytest

from dialcues_core.numbers import regions


def test_415_is_a_us_area_code() -> None:
    assert regions.is_area_code("US", "415")


def test_416_is_a_canadian_area_code_and_not_a_us_one() -> None:
    assert (regions.is_area_code("CA", "416"), regions.is_area_code("US", "416")) == (True, False)


@pytest.mark.parametrize("npa", ["555", "999", "800"])
@pytest.mark.parametrize("country", ["US", "CA"])
def test_fictional_unassigned_and_toll_free_codes_are_not_area_codes(
    country: str, npa: str
) -> None:
    assert not regions.is_area_code(country, npa)


@pytest.mark.parametrize("npa", ["41", "4155", "41a", "٤١٥", "", "+415"])
def test_an_area_code_is_three_ascii_digits(npa: str) -> None:
    assert not regions.is_area_code("US", npa)


def test_a_territory_area_code_belongs_to_its_own_region_not_the_us() -> None:
    assert (regions.is_area_code("US", "787"), regions.is_area_code("PR", "787")) == (False, True)


def test_area_codes_are_listed_ascending_per_country() -> None:
    us, ca = regions.area_codes("US"), regions.area_codes("CA")
    assert list(us) == sorted(us) and list(ca) == sorted(ca)
    assert (us[0], ca[0], set(us) & set(ca)) == ("201", "204", set())


def test_countries_outside_nanp_have_no_area_codes() -> None:
    assert (regions.area_codes("GB"), regions.is_area_code("GB", "415")) == ((), False)


def test_exchange_555_of_area_code_415_is_accepted() -> None:
    assert regions.is_exchange("US", "415", "555")


@pytest.mark.parametrize("nxx", ["211", "411", "911", "311"])
def test_n11_service_codes_are_not_exchanges(nxx: str) -> None:
    assert not regions.is_exchange("US", "415", nxx)


@pytest.mark.parametrize("nxx", ["055", "155", "55", "5555", "5a5"])
def test_an_exchange_is_three_digits_starting_2_to_9(nxx: str) -> None:
    assert not regions.is_exchange("US", "415", nxx)


def test_an_exchange_belongs_to_the_country_of_its_area_code() -> None:
    assert (regions.is_exchange("CA", "416", "555"), regions.is_exchange("US", "416", "555")) == (
        True,
        False,
    )


def test_us_regions_are_the_states_dc_and_the_territories() -> None:
    assert len(regions.US_REGIONS) == 56
    assert {"CA", "NY", "DC", "PR", "VI", "GU", "AS", "MP"} <= regions.US_REGIONS
    assert "ON" not in regions.US_REGIONS


def test_canadian_regions_are_the_provinces_and_territories() -> None:
    assert (
        frozenset({"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"})
        == regions.CA_REGIONS
    )


def test_only_us_and_ca_have_fixed_region_lists() -> None:
    assert (regions.regions_of("US"), regions.regions_of("CA"), regions.regions_of("GB")) == (
        regions.US_REGIONS,
        regions.CA_REGIONS,
        None,
    )


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("+14155550142", "US"),
        ("+14165550142", "CA"),
        ("+441212345678", "GB"),
        ("+447400123456", "GB"),
        ("+4930123456", "DE"),
        ("+33123456789", "FR"),
        ("+61412345678", "AU"),
    ],
)
def test_a_valid_local_number_of_a_served_country_can_be_held(number: str, country: str) -> None:
    assert regions.holdable_country(number) == country


@pytest.mark.parametrize(
    "number",
    [
        "+18005550100",  # toll-free
        "+449098765432",  # premium rate
        "+81312345678",  # Japan: not served
        "+17875550100",  # Puerto Rico: its own NANP region
        "+1415555014",  # too short
        "14155550142",  # no +
        "+1 415 555 0142",  # not E.164 as written
        "+14155550142\n",
        "tel:+14155550142",
    ],
)
def test_anything_else_cannot_be_held(number: str) -> None:
    assert regions.holdable_country(number) is None


@pytest.mark.parametrize(
    ("number", "place"),
    [
        ("+14155550142", ("San Francisco", "CA")),
        ("+12122000100", ("New York", "NY")),
        ("+14152000100", (None, "CA")),  # only the area's name: "California"
        ("+14165550100", (None, "ON")),
        ("+18672000100", (None, None)),  # "Northwest Territories/Nunavut/Yukon"
        ("+441212345678", ("Birmingham", None)),
        ("+4930123456", ("Berlin", None)),
        ("+61212345678", (None, "NSW")),  # "New South Wales"
        ("+447400123456", (None, None)),  # the country's name
        ("+33123456789", (None, None)),
    ],
)
def test_place_of_splits_the_geocoders_description(
    number: str, place: tuple[str | None, str | None]
) -> None:
    assert regions.place_of(phonenumbers.parse(number)) == place


def test_nanp_places_name_prefixes_of_area_codes_and_exchanges() -> None:
    places = regions.nanp_places()
    assert "415" in places[(None, "CA")]
    assert "415202" in places[("San Francisco", "CA")]
    assert all(4 <= len(prefix) + 1 <= 7 for found in places.values() for prefix in found)


def test_exchanges_of_expands_prefixes_ascending_once_each() -> None:
    found = list(regions.exchanges_of(["41555", "415555", "212201"]))
    assert found == [("212", "201")] + [("415", f"55{digit}") for digit in range(10)]


def test_exchanges_of_an_area_code_skip_codes_starting_0_or_1() -> None:
    found = list(regions.exchanges_of(["415"]))
    assert (len(found), found[0], found[-1]) == (800, ("415", "200"), ("415", "999"))


def test_exchanges_of_keeps_only_the_asked_area_code_and_exchange() -> None:
    found = list(regions.exchanges_of(["415", "212", "41520"], npa="415", nxx="205"))
    assert found == [("415", "205")]
