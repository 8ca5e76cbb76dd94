"""The standard health service (``grpc.health.v1``), SERVING only while the database answers.

Every ``Check`` pings the database first (on the offloader, within
:data:`PING_TIMEOUT_SECONDS`), so its answer is never stale. While at least one ``Watch`` is
open, a background task pings every :data:`WATCH_INTERVAL_SECONDS` so watchers see changes;
the task ends with the last watcher. The overall status (``""``) and every registered
service share the database's status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any, Final

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from dialcues_core.offload import Offloader

PING_TIMEOUT_SECONDS: Final = 2.0
WATCH_INTERVAL_SECONDS: Final = 2.0

SERVING: Final = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING: Final = health_pb2.HealthCheckResponse.NOT_SERVING


class DatabaseHealth(HealthServicer):  # type: ignore[misc]  # grpc_health is untyped
    """A health servicer whose status follows ``ping`` (``Dialcues.ping``)."""

    def __init__(self, ping: Callable[[], bool], offloader: Offloader, services: Iterable[str]):
        super().__init__()
        self._ping = ping
        self._offloader = offloader
        self._services = ("", *services)
        self._watchers = 0
        self._poller: asyncio.Task[None] | None = None

    async def database_answers(self) -> bool:
        """Tell whether the database answers within the timeout (never raises)."""
        try:
            return await asyncio.wait_for(
                self._offloader.run(self._ping), timeout=PING_TIMEOUT_SECONDS
            )
        except Exception:
            return False

    async def refresh(self) -> None:
        """Ping the database and set every service's status from the answer."""
        status = SERVING if await self.database_answers() else NOT_SERVING
        for service in self._services:
            await self.set(service, status)

    async def Check(self, request: Any, context: Any) -> Any:  # noqa: N802  (gRPC's name)
        """Answer the status after a fresh ping."""
        await self.refresh()
        return await super().Check(request, context)

    async def Watch(self, request: Any, context: Any) -> None:  # noqa: N802  (gRPC's name)
        """Stream status changes, polling the database while anyone watches."""
        self._watchers += 1
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll())
        try:
            await super().Watch(request, context)
        finally:
            self._watchers -= 1
            if self._watchers == 0 and self._poller is not None:
                self._poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._poller
                self._poller = None

    async def _poll(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
