"""Token buckets per credential and class, in this process's memory (``DIALCUES_RATE_LIMITS``).

A bucket holds up to ``capacity`` tokens and refills at ``rate`` tokens per second; a request
takes one token, or is refused when less than one is left (a refused request takes nothing).
Buckets are keyed by ``(class, subject)``:

* ``read`` and ``write`` per credential — an API key id or an OAuth client id — as the use
  case declares (:func:`~dialcues_core.kernel.scopes.rate_class`; the admission path of
  :mod:`dialcues_core.platform.admission` charges them);
* ``anon`` per client address, for requests without valid credentials (a failed
  authentication is charged here, before it is refused).

Limits are **per process**: two ``serve`` processes each allow the full rate (shared limits
across processes are not built). The limiter is pure (no I/O, no thread hop: a lock and some
arithmetic) so that an edge calls it on its event loop. Memory is bounded: past
``max_buckets`` the buckets that have refilled completely are dropped (a fresh bucket is full,
so forgetting one changes nothing), then, if still too many, the least recently used ones.

Each decision carries what the edges send: ``X-RateLimit-Limit`` (capacity),
``X-RateLimit-Remaining`` (whole tokens left), ``X-RateLimit-Reset`` (Unix seconds when the
bucket is full again) and the draft-ietf-httpapi-ratelimit-headers-10 pair
(``RateLimit-Policy: "write";q=20;w=2``, ``RateLimit: "write";r=17;t=1``, with ``w`` the
capacity over the rate rounded up and ``t`` the seconds until full).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dialcues_core.config import RateLimit
from dialcues_core.kernel.ports import Clock
from dialcues_core.kernel.scopes import READ, WRITE

ANON: Final = "anon"
_EPSILON: Final = 1e-9
"""Float slack: 19.999999999 tokens are 20 (refill arithmetic is inexact)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of charging one request to a bucket, with what the edges report."""

    policy: str
    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Unix seconds when the bucket is full again."""
    reset_after: int
    """Seconds until the bucket is full again (the IETF ``t``)."""
    retry_after: int
    """Seconds until one token is back (0 when allowed)."""
    window: int
    """Capacity over rate, rounded up (the IETF ``w``)."""

    def headers(self) -> dict[str, str]:
        """Return the five rate-limit headers of this decision (HTTP spelling)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={self.window}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_after}',
        }


class RateLimiter:
    """Charge requests to per-process token buckets (see the module docstring)."""

    def __init__(self, limits: Mapping[str, RateLimit], clock: Clock, max_buckets: int = 50_000):
        missing = {READ, WRITE, ANON} - set(limits)
        if missing:
            raise ValueError(f"rate limits lack {', '.join(sorted(missing))}")
        if any(lim.rate <= 0 or lim.capacity < 1 for lim in limits.values()):
            raise ValueError("a rate limit needs a positive rate and a capacity of at least 1")
        self.limits = dict(limits)
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def charge(self, policy: str, subject: str) -> Decision:
        """Take one token from the ``policy`` bucket of ``subject`` (or refuse); say so."""
        limit = self.limits[policy]
        now = self.clock.monotonic()
        key = (policy, subject)
        with self._lock:
            found = self._buckets.get(key)
            if found is None:
                tokens = float(limit.capacity)
                if len(self._buckets) >= self.max_buckets:
                    self._sweep(now)
            else:
                tokens = min(limit.capacity, found[0] + (now - found[1]) * limit.rate)
            allowed = tokens >= 1 - _EPSILON
            if allowed:
                tokens = max(0.0, tokens - 1)
            self._buckets[key] = (tokens, now)
        return self._decision(policy, limit, tokens, allowed)

    def charge_anonymous(self, address: str | None) -> Decision:
        """Charge a request without valid credentials to its address's ``anon`` bucket."""
        return self.charge(ANON, address or "unknown")

    def _decision(self, policy: str, limit: RateLimit, tokens: float, allowed: bool) -> Decision:
        full_in = max(0.0, (limit.capacity - tokens) / limit.rate)
        wait = 0 if allowed else max(1, math.ceil((1 - tokens) / limit.rate - _EPSILON))
        return Decision(
            policy=policy,
            allowed=allowed,
            limit=limit.capacity,
            remaining=int(tokens + _EPSILON),
            reset=math.ceil(self.clock.now().timestamp() + full_in - _EPSILON),
            reset_after=math.ceil(full_in - _EPSILON),
            retry_after=wait,
            window=math.ceil(limit.capacity / limit.rate - _EPSILON),
        )

    def _sweep(self, now: float) -> None:
        """Drop full buckets; if still over half the bound, keep the most recently used half."""
        for key, (tokens, last) in list(self._buckets.items()):
            limit = self.limits[key[0]]
            if tokens + (now - last) * limit.rate >= limit.capacity - _EPSILON:
                del self._buckets[key]
        keep = self.max_buckets // 2
        if len(self._buckets) > keep:
            by_use = sorted(self._buckets.items(), key=lambda item: item[1][1])
            self._buckets = dict(by_use[len(by_use) - keep :])

    def __len__(self) -> int:
        """Return how many buckets are held (for tests of the memory bound)."""
        return len(self._buckets)


def build_limiter(limits: Mapping[str, RateLimit] | None, clock: Clock) -> RateLimiter | None:
    """Return a limiter for ``DIALCUES_RATE_LIMITS``, or None when they are ``off``."""
    return RateLimiter(limits, clock) if limits is not None else None
