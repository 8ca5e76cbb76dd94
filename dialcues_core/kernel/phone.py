"""E.164 phone numbers: the contract's pattern, then ``phonenumbers``."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
r"""The contract's ``^\+[1-9]\d{1,14}$``, matched whole (``fullmatch``: Python's ``$`` would let
a trailing newline through) and ASCII digits only (Python's ``\d`` is any Unicode digit)."""


E164_PROBLEM = "must be an E.164 number such as +14155552671"


def parse_phone_number(value: Any) -> str:
    """Return the E.164 form of ``value``: the exact pattern, then a valid number."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValueError(E164_PROBLEM)
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(E164_PROBLEM) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
