"""Zones from the ``tzdata`` package and the one rule for turning local time into an instant.

Rules (RFC 5545 and Python's ``zoneinfo`` with ``fold=0``):

* a local time that does not exist (spring-forward gap) maps to the offset-shifted instant:
  02:30 on a New York spring-forward day is 07:30 UTC, i.e. 03:30 EDT;
* a local time that occurs twice (fall-back overlap) maps to the first of the two instants;
* tzdata wins over ``zoneinfo``'s reading: the instant found with ``fold=0`` is converted
  back, and if the wall-clock time does not come back although it exists (CPython misreads a
  few local times after a zone's last transition, e.g. America/Nuuk 2023-10-28 23:30, which
  exists once, at UTC−2), the other offset is used.

Zones are loaded from the ``tzdata`` package, never from the system's files, so every machine
agrees on the rules.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_REJECTED_PREFIXES = ("posix/", "right/")
_REJECTED_NAMES = frozenset({"localtime", "Factory", "posixrules"})


@functools.cache
def zone_names() -> frozenset[str]:
    """Return every zone name the ``tzdata`` package ships (aliases included)."""
    text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    names = {line.strip() for line in text.splitlines() if line.strip()}
    return frozenset(
        n for n in names if n not in _REJECTED_NAMES and not n.startswith(_REJECTED_PREFIXES)
    )


@functools.lru_cache(maxsize=1024)
def load_zone(name: str) -> ZoneInfo:
    """Load ``name`` from the ``tzdata`` package; raise ``KeyError`` for an unknown name."""
    if name not in zone_names():
        raise KeyError(name)
    return ZoneInfo.from_file(io.BytesIO(zone_data(name)), key=name)


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """Read the naive wall-clock ``local`` in ``zone`` and return the aware UTC instant.

    The rules are the module's: a gap time is offset-shifted, an overlap time is the first
    instant, and a wall-clock time that exists is always found (checked by converting back).
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if to_local(first, zone) == local:
        return first
    other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return other if to_local(other, zone) == local else first


def reconvert(instant: datetime, old: ZoneInfo, new: ZoneInfo) -> datetime:
    """Return the instant that shows, under the ``new`` rules of a zone, the wall-clock time
    ``instant`` showed under the ``old`` ones (its pass of a repeated hour kept when both
    rules repeat it). Used when a tzdata update changes a zone's rules."""
    aware = instant.astimezone(old)
    local = aware.replace(tzinfo=None)
    if to_local(instant, new) == local:
        return instant
    again = local.replace(tzinfo=new, fold=aware.fold).astimezone(UTC)
    return again if to_local(again, new) == local else to_instant(local, new)


@functools.cache
def tzdata_version() -> str:
    """Return the IANA version of the time-zone rules in use (the ``tzdata`` package's)."""
    import tzdata

    return str(tzdata.IANA_VERSION)


@functools.cache
def zone_data(name: str) -> bytes:
    """Return the TZif bytes the ``tzdata`` package ships for ``name``.

    Cached: the package does not change under a running process, and a fresh database's
    snapshot reads all ~600 zones (≈ 450 KB kept).
    """
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    return resource.read_bytes()


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive wall-clock time in ``zone`` at the aware ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None)
