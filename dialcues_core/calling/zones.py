"""Where "local" is: the window zones of a reminder or a call (``responsible-calling.md`` §4.2).

* ``strictest`` (the default basis): the reminder's ``timezone`` plus the number's zones;
* ``reminder_zone``: the reminder's ``timezone`` only.

The number's zones are those ``phonenumbers``' geocoder gives, without ``Etc/Unknown`` (and
without a name the ``tzdata`` package does not ship). When the number is not geographical
they count only at instants at which they all have the same UTC offset (a UK or French mobile);
otherwise the number says nothing about where the person is (a US toll-free number, a Russian
or Australian mobile) and adds no zone at that instant.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import phonenumbers
from phonenumbers import timezone as number_timezones

from dialcues_core.kernel.localtime import load_zone, zone_names


class WindowBasis(StrEnum):
    """Which zones the calling window must be open in."""

    STRICTEST = "strictest"
    REMINDER_ZONE = "reminder_zone"


@dataclass(frozen=True, slots=True)
class NumberZones:
    """The zones ``phonenumbers`` gives for a number, and whether the number is geographical."""

    zones: tuple[str, ...]
    geographic: bool

    def at(self, instant: datetime) -> tuple[str, ...]:
        """The zones the number adds at ``instant`` (none when they disagree, if mobile)."""
        if self.geographic or len(self.zones) <= 1:
            return self.zones
        offsets = {instant.astimezone(load_zone(z)).utcoffset() for z in self.zones}
        return self.zones if len(offsets) == 1 else ()

    def stored(self) -> str:
        """The form kept on a reminder: ``geo:`` or ``any:`` then the zones, comma-separated."""
        return ("geo:" if self.geographic else "any:") + ",".join(self.zones)

    @classmethod
    def from_stored(cls, text: str | None) -> NumberZones | None:
        """Read :meth:`stored`'s form back (``None`` for a row written before zones existed)."""
        if not text:
            return None
        kind, _, names = text.partition(":")
        return cls(tuple(n for n in names.split(",") if n), kind == "geo")


NO_ZONES = NumberZones((), True)


@functools.lru_cache(maxsize=4096)
def number_zones(e164: str) -> NumberZones:
    """Return the zones of an E.164 number (an unparsable one has none)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return NO_ZONES
    known = zone_names()
    zones = tuple(sorted(z for z in number_timezones.time_zones_for_number(parsed) if z in known))
    return NumberZones(zones, phonenumbers.is_number_geographical(parsed))


@dataclass(frozen=True, slots=True)
class Place:
    """Everything that says where the recipient is: the reminder's zone, the number's zones."""

    timezone: str | None
    number: NumberZones
    basis: WindowBasis = WindowBasis.STRICTEST

    def zones_at(self, instant: datetime) -> tuple[str, ...]:
        """The window zones at ``instant``: the reminder's zone first, then the number's."""
        own = (self.timezone,) if self.timezone else ()
        if self.basis is WindowBasis.REMINDER_ZONE:
            return own
        return own + tuple(z for z in self.number.at(instant) if z != self.timezone)

    @property
    def candidate_zones(self) -> tuple[str, ...]:
        """Every zone that may be among :meth:`zones_at`'s answers."""
        own = (self.timezone,) if self.timezone else ()
        if self.basis is WindowBasis.REMINDER_ZONE:
            return own
        return own + tuple(z for z in self.number.zones if z != self.timezone)

    def located_at(self, instant: datetime) -> bool:
        """Tell whether any zone applies at ``instant`` (a call with no timezone to a toll-free
        or Russian mobile number has none: its ``timezone`` is required)."""
        return bool(self.zones_at(instant))
