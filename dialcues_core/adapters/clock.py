"""The system clock: the only place that reads the real time."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SystemClock:
    """Read the current time from the operating system."""

    def now(self) -> datetime:
        """Return the current aware UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return the operating system's monotonic clock, in seconds."""
        return time.monotonic()
