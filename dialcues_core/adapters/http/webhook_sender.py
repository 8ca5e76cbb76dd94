"""The webhook deliverer: an asyncio loop that POSTs due outbox messages with aiohttp.

It runs beside the dispatcher (``dialcues serve`` and ``dialcues worker``). It keeps up to
:data:`IN_FLIGHT` attempts going at once, at most
:data:`~dialcues_core.webhooks.delivery.PER_SUBSCRIPTION` per subscription, and claims more
due messages (a leased claim: several processes never make one attempt twice) whenever
there is room — so a receiver that hangs for its whole 10 s timeout holds up only its own
subscription's slots. Each attempt is signed afresh, redirects are not followed. Results are
recorded as attempts finish, in batches of whatever has finished meanwhile
(:class:`dialcues_core.webhooks.delivery.Deliveries` decides retries, give-ups and disabling).
When nothing can be claimed it sleeps until the next message is due, at most
:data:`POLL_SECONDS` (messages written by other processes are noticed then), or until an
attempt frees a slot.

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
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from dialcues_core.errors import StorageUnavailable
from dialcues_core.kernel.outage import OutageNotice
from dialcues_core.kernel.ports import Clock
from dialcues_core.kernel.urls import host_and_port, is_public_address
from dialcues_core.webhooks.delivery import Deliveries, headers
from dialcues_core.webhooks.model import AttemptResult, DueMessage

log = logging.getLogger("dialcues.webhooks")
Offload = Callable[..., Awaitable[Any]]

IN_FLIGHT = 50
"""Attempts one process keeps going at most (also the connection pool's size)."""
POLL_SECONDS = 0.5
IDLE_SECONDS = 0.02
"""The shortest sleep when nothing could be claimed (a due row may be another's, locked)."""
TIMEOUT_SECONDS = 10.0
STOP_GRACE_SECONDS = 2.0
PRIVATE_REFUSED = "refused: the URL's host resolves to a private address"


class PrivateAddressRefused(OSError):
    """The URL's host is, or resolves to, a private address (and that is not allowed)."""

    def __init__(self) -> None:
        super().__init__(PRIVATE_REFUSED)


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
            raise PrivateAddressRefused()
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
        self._freed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._attempts: set[asyncio.Task[None]] = set()
        self._busy: Counter[str] = Counter()
        self._finished: list[AttemptResult] = []
        self._recorder: asyncio.Task[None] | None = None
        self._outage = OutageNotice(log, "webhook delivery")

    async def run(self) -> None:
        """Deliver until :meth:`stop`; errors are logged, never fatal."""
        resolver = None if self.allow_private else PublicOnlyResolver()
        connector = aiohttp.TCPConnector(resolver=resolver, limit=IN_FLIGHT)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            self._session = session
            try:
                while not self._stop.is_set():
                    if not await self._guarded_fill():
                        await self._sleep()
            finally:
                await self._wind_down()

    async def deliver_once(self) -> None:
        """One pass now, outside the loop: claim what is due, attempt it, record the results
        (``call.ringing``: the writing process makes the first attempt at once, ``telephony.md``
        §3.4, even a process that runs no deliverer). Errors are logged, never raised."""
        resolver = None if self.allow_private else PublicOnlyResolver()
        connector = aiohttp.TCPConnector(resolver=resolver, limit=IN_FLIGHT)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                self._session = session
                if await self._guarded_fill() and self._attempts:
                    await asyncio.wait(set(self._attempts))
                if self._recorder is not None:
                    await self._recorder
        except Exception:
            log.exception("an immediate webhook delivery pass failed")

    async def stop(self) -> None:
        """End the loop: attempts in flight get a short grace, then are cancelled.

        A cancelled attempt is not recorded; its lease runs out and it is made again.
        """
        self._stop.set()

    async def _guarded_fill(self) -> int:
        """Claim as many due messages as there is room for and start them; log errors."""
        room = IN_FLIGHT - len(self._attempts)
        if room <= 0:
            return 0
        try:
            messages = await self.offload(self.deliveries.claim, room, dict(self._busy))
            self._outage.succeeded()
        except StorageUnavailable as exc:
            self._outage.failed(exc)
            return 0
        except Exception:
            log.exception("claiming webhook messages failed")
            return 0
        for message in messages:
            self._start(message)
        return len(messages)

    def _start(self, message: DueMessage) -> None:
        """Begin one attempt (it holds a slot of its subscription until it ends)."""
        self._busy[message.subscription.id] += 1
        task = asyncio.create_task(self._attempt_and_keep(message))
        self._attempts.add(task)
        task.add_done_callback(self._attempts.discard)

    async def _attempt_and_keep(self, message: DueMessage) -> None:
        """Make one attempt, free its slot, hand the result to the recorder."""
        try:
            result = await self.attempt(message)
        finally:
            sub_id = message.subscription.id
            self._busy[sub_id] -= 1
            if self._busy[sub_id] <= 0:
                del self._busy[sub_id]
            self._freed.set()
        self._finished.append(result)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_finished())

    async def _record_finished(self) -> None:
        """Record finished attempts, all those finished meanwhile in one go, until none wait."""
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                await self.offload(self.deliveries.record, batch)
            except StorageUnavailable as exc:
                # Unrecorded attempts are made again once their leases end (at least once).
                self._outage.failed(exc)
            except Exception:
                log.exception("recording %d webhook attempts failed", len(batch))

    async def _sleep(self) -> None:
        """Wait until a message may be due, a slot frees up, or :meth:`stop`."""
        self._freed.clear()
        wait = POLL_SECONDS
        if len(self._attempts) < IN_FLIGHT:
            with contextlib.suppress(Exception):
                due = await self.offload(self.deliveries.next_due, dict(self._busy))
                if due is not None:
                    wait = min(wait, (due - self.clock.now()).total_seconds())
        wakers = [asyncio.ensure_future(e.wait()) for e in (self._stop, self._freed)]
        try:
            await asyncio.wait(
                wakers, timeout=max(IDLE_SECONDS, wait), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waker in wakers:
                waker.cancel()

    async def _wind_down(self) -> None:
        """Give attempts in flight :data:`STOP_GRACE_SECONDS`, cancel the rest, record."""
        if self._attempts:
            _, late = await asyncio.wait(set(self._attempts), timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._recorder is not None:
            await asyncio.gather(self._recorder, return_exceptions=True)

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
            raise PrivateAddressRefused()
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
    """Return a short, safe description of a failed attempt.

    aiohttp wraps a resolver's refusal in ``ClientConnectorDNSError`` (its text then ends in
    ``[None]``): the refusal is looked for in what the error wraps.
    """
    if _refused(exc):
        return PRIVATE_REFUSED
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:300]


def _refused(exc: BaseException) -> bool:
    """Tell whether ``exc`` is, or wraps, a :class:`PrivateAddressRefused`."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        if isinstance(item, PrivateAddressRefused):
            return True
        seen.append(item)
        todo += [item.__cause__, item.__context__, getattr(item, "os_error", None)]
    return False
