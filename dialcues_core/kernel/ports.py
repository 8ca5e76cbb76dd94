"""The ports every capability uses: the clock, transactions, change listeners."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The only source of the current time."""

    def now(self) -> datetime:
        """Return the current aware UTC time."""
        ...

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back (for intervals, not instants)."""
        ...


class Transactions(Protocol):
    """Run a block of repository calls as one transaction."""

    def atomic(self) -> AbstractContextManager[object]:
        """Return a context manager around one transaction (nested → savepoint)."""
        ...


ChangeListener = Callable[[datetime | None], None]
