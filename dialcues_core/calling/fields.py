"""The policy's fields as a change names them: one parser per field (§3's rules).

Each parser takes the wire value and returns the stored one, or raises ``ValueError`` with one
sentence; ``None`` (JSON null) means "back to the platform's default" for the inheritable
fields and "none" for the optional ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import phonenumbers

from dialcues_core.calling.retry import RetryPolicy, parse_retry_policy
from dialcues_core.calling.shapes import (
    FrequencyCaps,
    parse_blocked_dates,
    parse_caps,
    parse_window,
)
from dialcues_core.calling.windows import Window
from dialcues_core.calling.zones import WindowBasis
from dialcues_core.kernel.fields import parse_bool
from dialcues_core.kernel.phone import parse_phone_number

MIN_LATENESS, MAX_LATENESS = 60, 86400
SLOTS = ("identification", "disclosure", "message", "actions", "callback", "opt_out")
_SLOT = re.compile(r"\{([a-z_]+)\}")


def parse_policy_window(value: Any) -> Window | None:
    """Hours or a profile; never a bypass; null: the platform's window."""
    if value is None:
        return None
    window = parse_window(value, bypass=False)
    assert isinstance(window, Window)
    return window


def parse_basis(value: Any) -> WindowBasis:
    """``strictest`` or ``reminder_zone``."""
    if value not in {b.value for b in WindowBasis}:
        raise ValueError("must be strictest or reminder_zone")
    return WindowBasis(value)


def parse_lateness(value: Any) -> int | None:
    """60–86400 seconds, or null."""
    if value is None:
        return None
    if type(value) is not int or not MIN_LATENESS <= value <= MAX_LATENESS:
        raise ValueError(f"must be null or an integer from {MIN_LATENESS} to {MAX_LATENESS}")
    return value


def parse_optional_retry(value: Any) -> RetryPolicy | None:
    """A retry policy, or null."""
    return None if value is None else parse_retry_policy(value)


def parse_optional_caps(value: Any) -> FrequencyCaps | None:
    """``{per_24h, per_30d}``, or null (the platform's caps)."""
    return None if value is None else parse_caps(value)


def parse_dates(value: Any) -> tuple[date, ...]:
    """The blocked dates (null: none)."""
    return () if value is None else parse_blocked_dates(value)


def parse_caller_name(value: Any) -> str | None:
    """1–100 characters after trimming, no ``{`` or ``}``; or null."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100:
        raise ValueError("must be 1 to 100 characters")
    if "{" in value or "}" in value:
        raise ValueError("must not contain { or }")
    return value.strip()


def parse_callback_number(value: Any) -> str | None:
    """A valid E.164 number that is not premium-rate, or null."""
    if value is None:
        return None
    number = parse_phone_number(value)
    if (
        phonenumbers.number_type(phonenumbers.parse(number))
        == phonenumbers.PhoneNumberType.PREMIUM_RATE
    ):
        raise ValueError("must not be a premium-rate number")
    return number


def parse_opening_template(value: Any) -> str | None:
    """§10.2: each of the six slots exactly once, ``{identification}`` first, ``{opt_out}``
    after ``{message}``, no other braces, 1–1000 characters; or null (the built-in one)."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 1000:
        raise ValueError("must be 1 to 1000 characters")
    found = _SLOT.findall(value)
    if sorted(found) != sorted(SLOTS):
        raise ValueError(
            "must contain each slot exactly once: " + ", ".join(f"{{{s}}}" for s in SLOTS)
        )
    if _SLOT.sub("", value).count("{") or _SLOT.sub("", value).count("}"):
        raise ValueError("must contain no { or } other than the six slots")
    if not value.lstrip(" ").startswith("{identification}"):
        raise ValueError("must start with {identification}")
    if value.index("{opt_out}") < value.index("{message}"):
        raise ValueError("must place {opt_out} after {message}")
    return value


def parse_snooze(value: Any) -> int:
    """1–120 minutes."""
    if type(value) is not int or not 1 <= value <= 120:
        raise ValueError("must be an integer from 1 to 120")
    return value


POLICY_FIELDS: dict[str, Callable[[Any], Any]] = {
    "calling_window": parse_policy_window,
    "window_basis": parse_basis,
    "blocked_dates": parse_dates,
    "allow_window_bypass": parse_bool,
    "max_lateness_seconds": parse_lateness,
    "retry_policy": parse_optional_retry,
    "frequency_caps": parse_optional_caps,
    "caller_name": parse_caller_name,
    "callback_number": parse_callback_number,
    "ai_disclosure": parse_bool,
    "opening_template": parse_opening_template,
    "snooze_default_minutes": parse_snooze,
    "require_consent_for_informational": parse_bool,
}
"""Every field a policy change may name, but ``predial`` (its own rules, see the service)."""
