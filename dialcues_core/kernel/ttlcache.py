"""A small thread-safe cache whose entries expire after a time on a :class:`Clock`.

Entries older than ``seconds`` (on the clock's monotonic time, so a :class:`FakeClock` drives
expiry in tests) read as absent; past ``size`` entries the oldest is dropped first (FIFO).
Used by the API-key and access-token caches of authentication.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from dialcues_core.kernel.ports import Clock

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Keep values for ``seconds`` (a clock's monotonic time), at most ``size`` of them."""

    def __init__(self, clock: Clock, seconds: float, size: int = 10_000):
        self.clock = clock
        self.seconds = seconds
        self.size = size
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """Return the fresh value of ``key``, or None (absent or expired)."""
        found = self._items.get(key)
        if found is None or self.clock.monotonic() - found[0] >= self.seconds:
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` from now on."""
        with self._lock:
            self._items[key] = (self.clock.monotonic(), value)
            self._items.move_to_end(key)
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        """Forget ``key``."""
        with self._lock:
            self._items.pop(key, None)

    def discard_where(self, stale: Callable[[V], bool]) -> None:
        """Forget every entry whose value is ``stale``."""
        with self._lock:
            for key in [k for k, (_, value) in self._items.items() if stale(value)]:
                del self._items[key]
