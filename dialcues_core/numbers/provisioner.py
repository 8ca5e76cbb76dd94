"""The provisioner's loop: run due number steps beside each dispatcher (``serve`` unless
``--no-dispatcher``, ``worker``).

It wakes at once when this process assigns or releases a number (:meth:`Provisioner.wake`,
callable from any thread), at the soonest due step, and at least every
:data:`POLL_SECONDS` for work another process stored. Steps run one at a time on the
offloader (they hold a database connection while they wait on the carrier: a handful of
numbers at a time, never the dispatcher's volume).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from dialcues_core.errors import StorageUnavailable
from dialcues_core.kernel.outage import OutageNotice
from dialcues_core.kernel.ports import Clock
from dialcues_core.numbers.provisioning import Provisioning

logger = logging.getLogger("dialcues.numbers")
T = TypeVar("T")
POLL_SECONDS = 2.0


class Provisioner:
    """Runs :class:`Provisioning` steps until stopped."""

    def __init__(
        self,
        provisioning: Provisioning,
        offload: Callable[..., Awaitable[Any]],
        clock: Clock,
        poll_seconds: float = POLL_SECONDS,
    ):
        self.provisioning = provisioning
        self.offload = offload
        self.clock = clock
        self.poll = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken = asyncio.Event()
        self._stopped = False

    def wake(self, _at: datetime | None = None) -> None:
        """Look for due steps now (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._woken.set)

    async def run(self) -> None:
        """Run due steps until :meth:`stop`."""
        self._loop = asyncio.get_running_loop()
        outage = OutageNotice(logger, "provisioning numbers")
        while not self._stopped:
            try:
                await self._pass()
                wait = await self._wait_seconds()
                outage.succeeded()
            except StorageUnavailable as exc:  # one warning per outage, never a traceback
                outage.failed(exc)
                wait = self.poll
            except Exception:  # a bug: log, wait, go on
                logger.exception("The provisioner's pass failed")
                wait = self.poll
            self._woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), timeout=wait)

    async def stop(self) -> None:
        """Finish the current step and stop."""
        self._stopped = True
        self._woken.set()

    async def _pass(self) -> None:
        for number_id in await self.offload(self.provisioning.due):
            if self._stopped:
                return
            try:
                await self.offload(self.provisioning.advance, number_id)
            except StorageUnavailable:
                raise
            except Exception:
                logger.exception("A provisioning step failed; it runs again after its lease")

    async def _wait_seconds(self) -> float:
        soonest: datetime | None = await self.offload(self.provisioning.next_due)
        if soonest is None:
            return self.poll
        return max(0.0, min(self.poll, (soonest - self.clock.now()).total_seconds()))
