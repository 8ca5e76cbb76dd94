"""The runtime: every background service of a Dialcues process, started and stopped together.

``dialcues serve``, ``dialcues worker``, a gRPC-only host and an embedding app all enter one
:class:`Runtime` (an async context manager over one ``AsyncExitStack``)::

    offloader = dc.offloader()
    async with Runtime(dc, offloader, dispatch=True) as runtime:
        ...                       # serve, or wait for a signal or for runtime.lost
        await runtime.stop_claiming()
    offloader.shutdown()

It runs the usage-event writer (every second, and as soon as a batch is full), the API-key
usage flush and the idempotency sweep always, and — when it dispatches —
the dispatcher, the webhook deliverer and the heartbeat (which is also the database
watchdog: :attr:`Runtime.lost`). Leaving it stops claiming, lets the creates in flight finish,
releases claimed attempts never sent, stops the deliverer, marks the heartbeat stopped and
writes what is pending — each step tolerant of an unreachable database (a warning, never a
traceback), so a process stops cleanly after an outage too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Protocol

from dialcues_core.errors import StorageUnavailable
from dialcues_core.kernel.outage import OutageNotice
from dialcues_core.offload import Offloader
from dialcues_core.operations.heartbeat import Heartbeat
from dialcues_core.platform.usage import UsageLog, flush_every

log = logging.getLogger("dialcues.runtime")

KEY_USAGE_FLUSH_SECONDS = 5.0
IDEMPOTENCY_SWEEP_SECONDS = 60.0


class Service(Protocol):
    """A long-running part of the process: ``run`` until ``stop`` is awaited."""

    async def run(self) -> None:
        """Work until stopped."""
        ...

    async def stop(self) -> None:
        """Ask the service to finish; ``run`` returns soon after."""
        ...


class RuntimeHost(Protocol):
    """What the runtime needs of the composition root (``dialcues_core.Dialcues``)."""

    def dispatcher(self, offloader: Offloader) -> Any:
        """Build the dispatcher."""
        ...

    def deliverer(self, offloader: Offloader) -> Any:
        """Build the webhook deliverer."""
        ...

    def heartbeat(self, offloader: Offloader, claims: Callable[[], Any]) -> Heartbeat:
        """Build this process's heartbeat."""
        ...

    def provisioner(self, offloader: Offloader) -> Any:
        """Build the number provisioner."""
        ...

    def message_sender(self, offloader: Offloader) -> Any:
        """Build the message sender."""
        ...

    def flush_key_usage(self) -> int:
        """Write pending API-key ``last_used_at`` times."""
        ...

    @property
    def usage(self) -> UsageLog:
        """The usage events of public requests, queued in memory."""
        ...

    def sweep_idempotency_keys(self) -> int:
        """Delete expired idempotency keys."""
        ...


class Runtime:
    """Start every background service of the process; stop them cleanly (module docstring)."""

    def __init__(self, host: RuntimeHost, offloader: Offloader, *, dispatch: bool) -> None:
        self.host = host
        self.offloader = offloader
        self.dispatch = dispatch
        self.dispatcher: Any = None
        self.heartbeat: Heartbeat | None = None
        self._never = asyncio.Event()
        self._stack = AsyncExitStack()

    @property
    def lost(self) -> asyncio.Event:
        """Set when the database has been unreachable past ``DIALCUES_DB_FAILURE_EXIT_SECONDS``."""
        return self.heartbeat.lost if self.heartbeat is not None else self._never

    @property
    def reason(self) -> str:
        """Why :attr:`lost` was set (one line), or an empty string."""
        return self.heartbeat.reason if self.heartbeat is not None else ""

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the services (what ``async with`` does on entry)."""
        stack = self._stack
        await stack.__aenter__()
        try:
            stack.push_async_callback(self._write_last, self.host.usage.flush, "usage events")
            await stack.enter_async_context(_task(flush_every(self.host.usage, self._run)))
            await stack.enter_async_context(
                _every(
                    KEY_USAGE_FLUSH_SECONDS, self._run, self.host.flush_key_usage, "API key usage"
                )
            )
            await stack.enter_async_context(
                _every(
                    IDEMPOTENCY_SWEEP_SECONDS,
                    self._run,
                    self.host.sweep_idempotency_keys,
                    "expired idempotency keys",
                )
            )
            if self.dispatch:
                await self._start_dispatching(stack)
        except BaseException:
            await stack.__aexit__(None, None, None)
            raise

    async def _start_dispatching(self, stack: AsyncExitStack) -> None:
        self.dispatcher = self.host.dispatcher(self.offloader)
        dispatcher = self.dispatcher
        self.heartbeat = self.host.heartbeat(self.offloader, lambda: dispatcher.last_claim_at)
        stack.push_async_callback(self._write_last, self.host.flush_key_usage, "API key usage")
        await stack.enter_async_context(_running(self.heartbeat, "heartbeat"))
        await stack.enter_async_context(
            _running(self.host.deliverer(self.offloader), "webhook deliverer")
        )
        await stack.enter_async_context(
            _running(self.host.provisioner(self.offloader), "number provisioner")
        )
        await stack.enter_async_context(
            _running(self.host.message_sender(self.offloader), "message sender")
        )
        stack.push_async_callback(self._close_dialers)
        await stack.enter_async_context(_running(dispatcher, "dispatcher"))

    async def stop_claiming(self) -> None:
        """Stop taking new work now (the rest stops when the runtime is left)."""
        if self.dispatcher is not None:
            await self.dispatcher.stop()

    async def close(self) -> None:
        """Stop every service and write what is pending (what ``async with`` does on exit)."""
        await self._stack.__aexit__(None, None, None)
        if not self.dispatch:
            await self._write_last(self.host.flush_key_usage, "API key usage")

    async def _close_dialers(self) -> None:
        for dialer in self.dispatcher.dialers.values():
            with contextlib.suppress(Exception):
                await dialer.close()

    async def _run(self, work: Callable[[], int]) -> int:
        return await self.offloader.run(work)

    async def _write_last(self, work: Callable[[], int], what: str) -> None:
        """Write what is pending one last time; an unreachable database is a warning."""
        try:
            await asyncio.wait_for(self._run(work), timeout=5.0)
        except (StorageUnavailable, TimeoutError) as exc:
            log.warning("%s could not be written at shutdown: %s", what, _message(exc))
        except Exception:
            log.exception("writing %s at shutdown failed", what)


@contextlib.asynccontextmanager
async def _running(service: Service, name: str) -> AsyncIterator[None]:
    """Run ``service`` as a task while the block runs; stop it and wait for it after."""
    task = asyncio.create_task(service.run(), name=f"dialcues-{name}")
    log.info("%s running", name)
    try:
        yield
    finally:
        await service.stop()
        try:
            await task
        except asyncio.CancelledError:
            if _being_cancelled():
                raise  # our own stop was cut short (a shutdown budget): do not swallow it
        except Exception:
            log.exception("%s failed while stopping", name)


@contextlib.asynccontextmanager
async def _task(work: Awaitable[None]) -> AsyncIterator[None]:
    """Run ``work`` as a task while the block runs; cancel it after."""
    task = asyncio.ensure_future(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def _every(
    seconds: float,
    run: Callable[[Callable[[], int]], Awaitable[int]],
    work: Callable[[], int],
    what: str,
) -> AsyncIterator[None]:
    """Run ``work`` every ``seconds`` while the block runs (an outage: one warning each)."""

    async def loop() -> None:
        outage = OutageNotice(log, f"writing {what}")
        while True:
            await asyncio.sleep(seconds)
            try:
                await run(work)
                outage.succeeded()
            except StorageUnavailable as exc:
                outage.failed(exc)
            except Exception:
                log.exception("periodic work on %s failed", what)

    async with _task(loop()):
        yield


def _being_cancelled() -> bool:
    """Tell whether the current task itself is being cancelled."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__
