"""Reading number requests: the inventory search, a number in a path or a body, the assign
body and the listing's filters (``telephony.md`` §2.2–2.5)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import phonenumbers

import dialcues_core.numbers.regions as regions
from dialcues_core.consent.fields import paging
from dialcues_core.errors import ResourceNotFound
from dialcues_core.kernel.fields import (
    MISSING,
    FieldReader,
    choice_parser,
    given,
    parse_bool,
    parse_positive_int,
    require_object,
    single_values,
    text_parser,
)
from dialcues_core.kernel.phone import E164_PROBLEM
from dialcues_core.numbers.model import FEATURES, NumberQuery, NumberStatus

SEARCH_QUERY: Final = frozenset(
    {"country", "npa", "nxx", "locality", "region", "rate_center", "features", "limit"}
)
NUMBER_QUERY: Final = frozenset({"status", "country", "page", "page_size"})
ASSIGN_FIELDS: Final = frozenset({"label", "default"})
HOLD_FIELDS: Final = frozenset({"number"})
MAX_LABEL: Final = 255

_WILDCARDS = frozenset("*%?")
_PLACE = re.compile(r"[^\W\d_](?:[^\W\d_]|[ .'-])*")
"""A locality (or a region outside NANP): letters, spaces, ``.``, ``'`` and ``-``."""
_RATE_CENTER = re.compile(r"[A-Z0-9 ]{1,32}")
_DIGITS3 = re.compile(r"[0-9]{3}")
_LOCAL_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)

_LABEL = text_parser(MAX_LABEL)


# ----------------------------------------------------------------------------- search
def read_search(params: Mapping[str, Any]) -> NumberQuery:
    """``GET /numbers/search``'s parameters; every bad one is named in one error."""
    values = single_values(params)
    reader = FieldReader(values, SEARCH_QUERY)
    for name, value in values.items():
        if name in SEARCH_QUERY and _WILDCARDS & set(str(value)):
            reader.fail(name, "must not contain wildcards (*, % or ?)")
    country = reader.read("country", _parse_country, required=True)
    nanp = country in regions.NANP
    npa = given(reader.read("npa", _area_code_parser(country)))
    nxx = given(reader.read("nxx", _exchange_parser(country, npa)))
    found = {
        "locality": given(reader.read("locality", _parse_place)),
        "region": given(reader.read("region", _region_parser(country))),
        "rate_center": given(reader.read("rate_center", _rate_center_parser(nanp))),
        "features": given(reader.read("features", parse_features)) or ("voice",),
        "limit": given(reader.read("limit", parse_positive_int(1, 100))) or 20,
    }
    reader.raise_if_any()
    return NumberQuery(country=country, npa=npa, nxx=nxx, **found)


def _parse_country(value: Any) -> str:
    text = str(value)
    if text not in regions.SERVED_COUNTRIES:
        served = ", ".join(regions.SERVED_COUNTRIES)
        raise ValueError(f"must be an ISO 3166 alpha-2 code the carrier serves ({served})")
    return text


def _area_code_parser(country: Any) -> Any:
    def parse(value: Any) -> str:
        text = str(value)
        if country is MISSING or country not in regions.NANP:
            raise ValueError("is only for NANP countries (US, CA)")
        if not _DIGITS3.fullmatch(text) or not regions.is_area_code(country, text):
            raise ValueError(f"must be a three-digit area code of {country}")
        return text

    return parse


def _exchange_parser(country: Any, npa: str | None) -> Any:
    def parse(value: Any) -> str:
        text = str(value)
        if npa is None:
            raise ValueError("needs a valid npa")
        if not _DIGITS3.fullmatch(text) or not regions.is_exchange(country, npa, text):
            raise ValueError(f"must be a three-digit exchange of area code {npa}")
        return text

    return parse


def _parse_place(value: Any) -> str:
    text = str(value)
    if not 1 <= len(text) <= 64 or not _PLACE.fullmatch(text):
        raise ValueError("must be 1–64 letters, spaces, '.', \"'\" or '-'")
    return text


def _region_parser(country: Any) -> Any:
    def parse(value: Any) -> str:
        text = str(value).upper()
        known = {"US": regions.US_REGIONS, "CA": regions.CA_REGIONS}.get(country)
        if known is None:
            return _parse_place(text)
        if text not in known:
            raise ValueError(f"must be a region code of {country}")
        return text

    return parse


def _rate_center_parser(nanp: bool) -> Any:
    def parse(value: Any) -> str:
        text = str(value).upper()
        if not nanp:
            raise ValueError("is only for US and CA")
        if not _RATE_CENTER.fullmatch(text):
            raise ValueError("must be 1–32 characters of A–Z, 0–9 and space")
        return text

    return parse


def parse_features(value: Any) -> tuple[str, ...]:
    """Comma-separated features, each once, of ``voice``, ``sms``, ``mms``; sorted."""
    parts = str(value).split(",") if not isinstance(value, list | tuple) else list(value)
    if not parts or any(p not in FEATURES for p in parts) or len(set(parts)) != len(parts):
        raise ValueError("must be a comma-separated list of voice, sms, mms, each once")
    return tuple(sorted(parts))


# ----------------------------------------------------------------------------- one number
def number_of_path(segment: Any) -> str:
    """A number in a path: E.164 (``+`` as is), else ``not_found`` like an unknown id."""
    try:
        number = phonenumbers.parse(str(segment), None)
    except phonenumbers.NumberParseException:
        raise ResourceNotFound("number", segment) from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if e164 != str(segment) or not phonenumbers.is_valid_number(number):
        raise ResourceNotFound("number", segment)
    return e164


def read_hold(payload: Any) -> str:
    """``POST /numbers/hold``: a valid E.164 fixed-line or mobile number of a served country."""
    reader = FieldReader(require_object(payload), HOLD_FIELDS)
    number = reader.read("number", parse_holdable, required=True)
    reader.raise_if_any()
    return str(number)


def parse_holdable(value: Any) -> str:
    """A number the carrier could sell: fixed-line or mobile, of a country it serves."""
    if not isinstance(value, str) or not value.startswith("+"):
        raise ValueError(E164_PROBLEM)
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(E164_PROBLEM) from None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if e164 != value or not phonenumbers.is_valid_number(parsed):
        raise ValueError(E164_PROBLEM)
    if phonenumbers.number_type(parsed) not in _LOCAL_TYPES:
        raise ValueError("must be a fixed-line or mobile number")
    if phonenumbers.region_code_for_number(parsed) not in regions.SERVED_COUNTRIES:
        raise ValueError("must be a number of a country the carrier serves")
    return e164


def read_assign(payload: Any) -> tuple[str | None, bool]:
    """``POST /numbers/{number}/assign``'s optional body: ``label`` and ``default``."""
    if payload is None:
        return None, False
    reader = FieldReader(require_object(payload), ASSIGN_FIELDS)
    label = given(reader.read("label", parse_label))
    default = given(reader.read("default", parse_bool)) or False
    reader.raise_if_any()
    return label, default


def parse_label(value: Any) -> str | None:
    """A line's label (the ``lines add`` rule: 1–255 characters, no control characters), or
    null."""
    if value is None:
        return None
    return _LABEL(value.strip() if isinstance(value, str) else value)


def read_number_query(params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /numbers``'s filters: ``status`` (stored statuses plus ``expired``), ``country``."""
    reader = FieldReader(single_values(params), NUMBER_QUERY)
    found: dict[str, Any] = {
        "status": given(reader.read("status", choice_parser([s.value for s in NumberStatus]))),
        "country": given(reader.read("country", _parse_country)),
    }
    found["offset"], found["limit"] = paging(reader)
    reader.raise_if_any()
    return found


__all__ = [
    "number_of_path",
    "parse_features",
    "read_assign",
    "read_hold",
    "read_number_query",
    "read_search",
]
