"""RFC 3339 renderings of instants: whole seconds, or milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def seconds(moment: datetime | None) -> str | None:
    """Return RFC 3339 UTC in whole seconds (``…T13:00:00Z``), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"


def millis(moment: datetime | None) -> str | None:
    """Return RFC 3339 UTC with milliseconds (``…T13:00:00.412Z``), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
