"""Zones from the ``tzdata`` package and the one rule for turning local time into an instant.

Rules (RFC 5545 and Python's ``zoneinfo`` with ``fold=0``):

* a local time that does not exist (spring-forward gap) maps to the offset-shifted instant:
  02:30 on a New York spring-forward day is 07:30 UTC, i.e. 03:30 EDT;
* a local time that occurs twice (fall-back overlap) maps to the first of the two instants.

Zones are loaded from the ``tzdata`` package, never from the system's files, so every machine
agrees on the rules.
"""

from __future__ import annotations

import functools
import importlib.resources
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
    resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with resource.open("rb") as fh:
        return ZoneInfo.from_file(fh, key=name)


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """Read the naive wall-clock ``local`` in ``zone`` and return the aware UTC instant."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive wall-clock time in ``zone`` at the aware ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None)
