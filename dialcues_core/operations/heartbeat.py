"""This process's heartbeat, which is also its database watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

from dialcues_core.errors import StorageUnavailable
from dialcues_core.kernel.outage import OutageNotice
from dialcues_core.kernel.ports import Clock
from dialcues_core.operations.model import WorkerInfo
from dialcues_core.operations.service import Operations

log = logging.getLogger("dialcues.operations")
HEARTBEAT_SECONDS: Final = 5.0
"""How often a dispatching process writes its heartbeat."""


BEAT_TIMEOUT_SECONDS: Final = 15.0
"""A heartbeat the database does not answer within this counts as not reaching it (a thread
blocked on a silent network cut must not hide the outage from the watchdog)."""


Offload = Callable[..., Awaitable[Any]]


class Heartbeat:
    """Write this process's heartbeat; notice when the database stays out of reach.

    ``claims`` returns when this process last claimed an attempt. ``exit_after`` (seconds; 0
    = never) is how long the database may stay unreachable before :attr:`lost` is set.
    """

    def __init__(
        self,
        operations: Operations,
        offload: Offload,
        clock: Clock,
        claims: Callable[[], datetime | None],
        exit_after: float,
        interval: float = HEARTBEAT_SECONDS,
    ):
        self.operations = operations
        self.offload = offload
        self.clock = clock
        self.claims = claims
        self.exit_after = exit_after
        self.interval = min(interval, exit_after / 3) if exit_after > 0 else interval
        self.id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.started_at = clock.now()
        self.lost = asyncio.Event()
        """Set when the database was unreachable for longer than ``exit_after``."""
        self.reason = ""
        self._reached = clock.monotonic()
        self._outage = OutageNotice(log, "the heartbeat")
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Beat every ``interval`` until :meth:`stop` (or until the database is lost)."""
        while not (self.lost.is_set() or self._stopping.is_set()):
            await self._beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def _beat(self) -> None:
        now = self.clock.now()
        info = WorkerInfo(
            self.id, socket.gethostname()[:255], os.getpid(), self.started_at, now, self.claims()
        )
        try:
            await asyncio.wait_for(self.offload(self.operations.beat, info), BEAT_TIMEOUT_SECONDS)
        except StorageUnavailable as exc:
            self._unreachable(exc)
        except TimeoutError:
            self._unreachable(StorageUnavailable(detail=f"no answer in {BEAT_TIMEOUT_SECONDS:g} s"))
        except Exception:
            log.exception("writing the heartbeat failed")
        else:
            self._reached = self.clock.monotonic()
            self._outage.succeeded()

    def _unreachable(self, exc: StorageUnavailable) -> None:
        down = self.clock.monotonic() - self._reached
        self._outage.failed(exc)
        if self.exit_after > 0 and down >= self.exit_after:
            self.reason = (
                f"the database has been unreachable for {down:.0f} s"
                f" (DIALCUES_DB_FAILURE_EXIT_SECONDS={self.exit_after:g}): {exc.detail}"
            )
            self.lost.set()

    async def stop(self) -> None:
        """Stop beating and record a clean stop (best effort: the database may be down)."""
        self._stopping.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.offload(self.operations.stopped, self.id), timeout=2.0)
