"""The webhook deliverer: an asyncio loop that POSTs due outbox messages with aiohttp.

It runs beside the dispatcher (``dialcues serve`` and ``dialcues worker``). Each round claims
up to :data:`BATCH` due messages (a leased claim: several processes never make one attempt
twice), POSTs them concurrently — signed afresh, 10 s timeout, redirects not followed — and
records every result in one transaction (:class:`dialcues_core.webhook_delivery.Deliveries`
decides retries, give-ups and disabling). Between rounds it sleeps until the next message is
due, at most :data:`POLL_SECONDS` (messages written by other processes are noticed then).

Unless private targets are allowed, the address a name resolves to is checked again at
connection time, by the resolver aiohttp connects with (so the checked address is the one
used: no DNS-rebinding window); literal addresses are checked before connecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from dialcues_core.ports import Clock
from dialcues_core.webhook_delivery import Deliveries, headers
from dialcues_core.webhook_model import AttemptResult, DueMessage
from dialcues_core.webhook_urls import host_and_port, is_public_address

log = logging.getLogger("dialcues.webhooks")
Offload = Callable[..., Awaitable[Any]]

BATCH = 50
POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 10.0
STOP_GRACE_SECONDS = 2.0
PRIVATE_REFUSED = "refused: the URL's host resolves to a private address"


class PublicOnlyResolver(AbstractResolver):
    """Resolve with aiohttp's default resolver; refuse names with a non-public address."""

    def __init__(self) -> None:
        self.inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Return the addresses of ``host``; raise ``OSError`` if any is not public."""
        found = await self.inner.resolve(host, port, family)
        if not found or not all(is_public_address(r["host"]) for r in found):
            raise OSError(PRIVATE_REFUSED)
        return found

    async def close(self) -> None:
        """Release the inner resolver."""
        await self.inner.close()


class WebhookDeliverer:
    """Deliver due webhook messages until stopped."""

    def __init__(
        self,
        deliveries: Deliveries,
        offload: Offload,
        clock: Clock,
        allow_private: bool,
        timeout: float = TIMEOUT_SECONDS,
    ):
        self.deliveries = deliveries
        self.offload = offload
        self.clock = clock
        self.allow_private = allow_private
        self.timeout = timeout
        self._stop = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._current: asyncio.Task[int] | None = None

    async def run(self) -> None:
        """Deliver until :meth:`stop`; errors of a round are logged, never fatal."""
        resolver = None if self.allow_private else PublicOnlyResolver()
        connector = aiohttp.TCPConnector(resolver=resolver, limit=BATCH)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            self._session = session
            while not self._stop.is_set():
                delivered = await self._guarded_round()
                if not delivered:
                    await self._sleep()

    async def _guarded_round(self) -> int:
        """Run one round; log its errors; a round cancelled by :meth:`stop` counts 0."""
        self._current = asyncio.create_task(self._round())
        try:
            return await self._current
        except asyncio.CancelledError:
            if not self._stop.is_set():
                raise
            return 0
        except Exception:
            log.exception("a webhook delivery round failed")
            return 0

    async def stop(self) -> None:
        """End the loop: the current round gets a short grace, then is cancelled.

        A cancelled attempt is not recorded; its lease runs out and it is made again.
        """
        self._stop.set()
        current = self._current
        if current is not None and not current.done():
            _, pending = await asyncio.wait({current}, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()

    async def _sleep(self) -> None:
        wait = POLL_SECONDS
        with contextlib.suppress(Exception):
            due = await self.offload(self.deliveries.next_due)
            if due is not None:
                wait = min(wait, max(0.0, (due - self.clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=wait)

    async def _round(self) -> int:
        """Claim, attempt and record one batch; return how many were attempted."""
        messages = await self.offload(self.deliveries.claim, BATCH)
        if not messages:
            return 0
        results = await asyncio.gather(*(self.attempt(m) for m in messages))
        await self.offload(self.deliveries.record, list(results))
        return len(messages)

    async def attempt(self, message: DueMessage) -> AttemptResult:
        """POST one message; return what happened (never raises)."""
        now = self.clock.now()
        started = time.perf_counter()
        status, error = None, None
        try:
            status = await self._post(message, now)
        except TimeoutError:
            error = f"timeout after {self.timeout:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = _describe(exc)
        latency = int((time.perf_counter() - started) * 1000)
        return AttemptResult(message, status, latency, error, now)

    async def _post(self, message: DueMessage, now: Any) -> int:
        url = message.subscription.url
        host, _ = host_and_port(url)
        if not self.allow_private and _is_literal(host) and not is_public_address(host):
            raise OSError(PRIVATE_REFUSED)
        assert self._session is not None
        async with self._session.post(
            url, data=message.body.encode("utf-8"), headers=headers(message, now),
            allow_redirects=False,
        ) as reply:  # fmt: skip
            return reply.status


def _is_literal(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return True
    except OSError:
        return False


def _describe(exc: BaseException) -> str:
    """Return a short, safe description of a failed attempt."""
    if PRIVATE_REFUSED in str(exc):
        return PRIVATE_REFUSED
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:300]
