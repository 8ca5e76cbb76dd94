"""The numbering plan as far as the carrier cares: the countries it serves, NANP area codes and
exchanges, region codes, and where a number is (``telephony.md`` §1.2, §2.2, §2.3).

Pure functions over ``phonenumbers`` metadata; no I/O. The tables are built on first use and
cached, never at import: the area-code table takes about 30 ms, and the geocoder's data
(``phonenumbers.geocoder``, about 0.2 s to import) is loaded only when a place is asked for.

A number counts as *local* when ``phonenumbers`` types it fixed-line, mobile, or "fixed-line or
mobile" (NANP numbers are mostly the latter): toll-free, premium-rate, shared-cost, VoIP and
the rest are never sold or held.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

__all__ = [
    "AU_REGIONS",
    "CA_REGIONS",
    "LOCAL_TYPES",
    "NANP",
    "SERVED_COUNTRIES",
    "US_REGIONS",
    "area_codes",
    "exchanges_of",
    "holdable_country",
    "is_area_code",
    "is_exchange",
    "local_country",
    "nanp_places",
    "place_of",
    "regions_of",
]

SERVED_COUNTRIES: Final = ("US", "CA", "GB", "DE", "FR", "AU")
"""The countries the carriers sell numbers in (ISO 3166 alpha-2, as ``phonenumbers`` names
regions)."""
NANP: Final = frozenset({"US", "CA"})
"""The served countries of the North American Numbering Plan: ``npa``, ``nxx`` and
``rate_center`` apply only to them."""

LOCAL_TYPES: Final = frozenset(
    {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
"""The number types a carrier sells as local numbers."""

US_REGIONS: Final = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY", "DC", "PR", "VI", "GU", "AS", "MP",
))  # fmt: skip
"""USPS codes: the 50 states, DC and the inhabited territories (``region`` for ``US``).

The territories have NANP area codes of their own region in ``phonenumbers`` (PR, VI, GU, AS,
MP), so a US search filtered by one of them finds nothing: accepted, never an error."""
CA_REGIONS: Final = frozenset(
    ("AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT")
)
"""Canada Post codes of the provinces and territories (``region`` for ``CA``)."""
AU_REGIONS: Final = frozenset(("ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"))
"""Australian states and territories: the geocoder names some numbers by state only."""

_AREA_NAMES: Final = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "Washington State": "WA", "Washington D.C.": "DC", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY", "Alberta": "AB", "British Columbia": "BC",
    "British Colombia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON",
    "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK", "Yukon": "YT",
    "Northwest Territories": "NT", "Nunavut": "NU",
    "Australian Capital Territory": "ACT", "New South Wales": "NSW", "Northern Territory": "NT",
    "Queensland": "QLD", "South Australia": "SA", "Tasmania": "TAS", "Victoria": "VIC",
    "Western Australia": "WA",
}  # fmt: skip
"""The geocoder's names for a whole state or province (an area code without finer data, or an
Australian state) → its code; a name of several is split on ``/`` ("Nova Scotia/Prince
Edward Island"). ``British Colombia`` is the geocoder's own spelling for one area code."""

_FIRST_NPA, _LAST_NPA = 200, 999
_PROBE_LINE = "5550100"
"""The number an area code is tested with: ``555-0100`` is fictional and valid everywhere."""


def regions_of(country: str) -> frozenset[str] | None:
    """Return the fixed region codes of ``country`` (US, CA), or None where a region is free
    text like a locality (``telephony.md`` §2.2)."""
    return {"US": US_REGIONS, "CA": CA_REGIONS}.get(country)


def local_country(number: PhoneNumber) -> str | None:
    """Return the region of a valid local (fixed-line or mobile) number, else None.

    The one test every table here uses, so that search, hold and order agree on what a local
    number is.
    """
    if phonenumbers.number_type(number) not in LOCAL_TYPES:
        return None  # UNKNOWN (invalid) lands here too: number_type checks the general pattern
    return phonenumbers.region_code_for_number(number)


def holdable_country(number_e164: str) -> str | None:
    """Return the served country of ``number_e164``, or None when it cannot be held.

    The hold rule (§2.3): exactly E.164 (``+`` and digits, as formatted back), valid, local,
    and of a served country.
    """
    try:
        parsed = phonenumbers.parse(number_e164, None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != number_e164:
        return None
    country = local_country(parsed)
    return country if country in SERVED_COUNTRIES else None


@cache
def _area_code_table() -> dict[str, tuple[str, ...]]:
    """Every NANP region's area codes, ascending: ``+1{npa}5550100`` valid and local there."""
    table: dict[str, list[str]] = {}
    for npa in range(_FIRST_NPA, _LAST_NPA + 1):
        probe = PhoneNumber(country_code=1, national_number=int(f"{npa}{_PROBE_LINE}"))
        region = local_country(probe)
        if region is not None:
            table.setdefault(region, []).append(str(npa))
    return {region: tuple(npas) for region, npas in table.items()}


def area_codes(country: str) -> tuple[str, ...]:
    """Return the area codes of a NANP ``country``, ascending (none for any other country)."""
    return _area_code_table().get(country, ())


def is_area_code(country: str, npa: str) -> bool:
    """Tell whether ``npa`` is an area code of ``country`` (§2.2).

    Three ASCII digits, and ``+1{npa}5550100`` is a valid local number whose region is
    ``country``: 415 is US, 416 is CA (not US); 555, 999 and toll-free 800 are refused.
    """
    return _three_digits(npa) and npa in _area_code_set(country)


@cache
def _area_code_set(country: str) -> frozenset[str]:
    return frozenset(area_codes(country))


@lru_cache(maxsize=16_384)
def is_exchange(country: str, npa: str, nxx: str) -> bool:
    """Tell whether ``nxx`` is an exchange of area code ``npa`` in ``country`` (§2.2).

    Three digits, the first 2–9, not ``N11`` (service codes such as 211 and 911), and
    ``+1{npa}{nxx}0100`` a valid local number of ``country``. Cached: searches walk exchanges.
    """
    if not (_three_digits(npa) and _three_digits(nxx)) or nxx[0] in "01" or nxx[1:] == "11":
        return False
    probe = PhoneNumber(country_code=1, national_number=int(f"{npa}{nxx}0100"))
    return local_country(probe) == country


def _three_digits(text: str) -> bool:
    # isdigit() accepts other scripts' digits; the contract means ASCII 0-9.
    return len(text) == 3 and text.isascii() and text.isdigit()


def place_of(number: PhoneNumber) -> tuple[str | None, str | None]:
    """Return ``(locality, region)`` of a number from the geocoder, each possibly None.

    "San Francisco, CA" gives both; a bare state or province name ("California", "New South
    Wales") gives only its region code; several ("Nova Scotia/Prince Edward Island"), the
    country's own name, or nothing give neither; any other text is a locality (outside NANP
    the geocoder names towns).
    """
    from phonenumbers import geocoder  # loaded on first use: 0.2 s of data

    description = geocoder.description_for_number(number, "en")
    if description in _country_names(number.country_code):
        return None, None
    return _split(description, nanp=number.country_code == 1)


def _split(description: str, *, nanp: bool) -> tuple[str | None, str | None]:
    """A geocoder description as ``(locality, region)`` (see :func:`place_of`)."""
    locality, comma, code = description.rpartition(", ")
    if comma and nanp:
        return locality, code
    codes = {_AREA_NAMES.get(part) for part in description.split("/")}
    if None not in codes:
        return None, codes.pop() if len(codes) == 1 else None
    return description or None, None


@cache
def nanp_places() -> dict[tuple[str | None, str | None], tuple[str, ...]]:
    """Return every place the geocoder gives NANP numbers, with the prefixes it names them by.

    A prefix is an area code and zero to three digits of an exchange (the geocoder's NANP data
    stops at the exchange); it names every exchange it starts, unless a longer prefix names
    some otherwise, so :func:`exchanges_of` may list an exchange that lies elsewhere and a
    caller checks each with :func:`place_of`. No exchange is missed: its place comes from one
    of these prefixes. About 0.1 s once (it reads all the geocoder's keys).
    """
    from phonenumbers.geodata import GEOCODE_DATA  # loaded on first use: 0.2 s of data

    places: dict[tuple[str | None, str | None], list[str]] = {}
    for key, names in GEOCODE_DATA.items():
        if key[:1] == "1" and 4 <= len(key) <= 7:
            place = _split(names.get("en", ""), nanp=True)
            places.setdefault(place, []).append(key[1:])
    return {place: tuple(sorted(prefixes)) for place, prefixes in places.items()}


def exchanges_of(
    prefixes: Iterable[str], npa: str | None = None, nxx: str | None = None
) -> Iterator[tuple[str, str]]:
    """Yield each exchange ``(npa, nxx)`` that one of ``prefixes`` starts, once, ascending;
    only those of ``npa`` and ``nxx`` when given. Lazy: area by area."""
    by_area: dict[str, list[str]] = {}
    for prefix in prefixes:
        if npa in (None, prefix[:3]):
            by_area.setdefault(prefix[:3], []).append(prefix[3:])
    for area in sorted(by_area):
        found = {code for start in by_area[area] for code in _nxx_from(start)}
        yield from ((area, code) for code in sorted(found) if nxx in (None, code))


def _nxx_from(start: str) -> list[str]:
    """The exchange codes (first digit 2–9) whose first digits are ``start`` (none to three)."""
    width = 3 - len(start)
    tails = [f"{tail:0{width}d}" for tail in range(10**width)] if width else [""]
    return [start + tail for tail in tails if (start + tail)[0] not in "01"]


@cache
def _country_names(country_code: int) -> frozenset[str]:
    """The names of the countries sharing ``country_code``: a description that is one of them
    says nothing about the place. (``geocoder.country_name_for_number`` tests the number in
    each NANP country: 0.1 ms a call, too slow for a search.)"""
    from phonenumbers import geocoder  # loaded on first use: 0.2 s of data

    names = set()
    for region in phonenumbers.region_codes_for_country_code(country_code):
        example = phonenumbers.example_number(region)
        if example is not None:
            names.add(geocoder.country_name_for_number(example, "en"))
    return frozenset(names - {""})
