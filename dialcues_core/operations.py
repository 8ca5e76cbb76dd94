"""Operating the platform: dispatcher heartbeats, the health report, the tzdata in use.

Every dispatching process (``serve`` with its dispatcher, each ``worker``) writes a heartbeat
row every :data:`HEARTBEAT_SECONDS`: who it is (host, pid — shown only to operators: the gRPC
admin service and the CLI), when it last reached the database and when it last claimed an
attempt. ``GET /health`` summarizes them for API users: how many are alive (seen within
:data:`ALIVE_SECONDS`), the latest heartbeat, the latest claim, and the oldest attempt that
is due but not yet dialed — a backlog an operator should look at.

The :class:`Heartbeat` is also the dispatching process's database watchdog: when it has not
reached the database for ``DIALCUES_DB_FAILURE_EXIT_SECONDS`` it sets :attr:`Heartbeat.lost`,
and the process exits non-zero with one line so that its supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from dialcues_core.errors import StorageUnavailable
from dialcues_core.localtime import tzdata_version
from dialcues_core.outage import OutageNotice
from dialcues_core.ports import Clock, Transactions

log = logging.getLogger("dialcues.operations")

HEARTBEAT_SECONDS: Final = 5.0
"""How often a dispatching process writes its heartbeat."""

BEAT_TIMEOUT_SECONDS: Final = 15.0
"""A heartbeat the database does not answer within this counts as not reaching it (a thread
blocked on a silent network cut must not hide the outage from the watchdog)."""

ALIVE_SECONDS: Final = 30.0
"""A process whose heartbeat is younger than this counts as alive."""

FORGET_AFTER: Final = timedelta(days=1)
"""Heartbeats older than this are deleted (the process is long gone)."""

Offload = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One dispatching process as its heartbeat row describes it."""

    id: str
    host: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    last_claim_at: datetime | None = None
    stopped_at: datetime | None = None

    def alive(self, now: datetime) -> bool:
        """Tell whether the process is running: not stopped and seen recently."""
        recent = now - self.last_seen_at <= timedelta(seconds=ALIVE_SECONDS)
        return self.stopped_at is None and recent


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What ``GET /health`` tells an API user about the platform."""

    database: bool
    workers_alive: int
    workers_last_seen_at: datetime | None
    oldest_due_at: datetime | None
    last_claim_at: datetime | None
    tzdata: str


class OperationsStore(Protocol):
    """Heartbeats and the dispatch backlog; the caller holds the transaction."""

    def beat(self, worker: WorkerInfo) -> None:
        """Insert or update the worker's heartbeat row."""
        ...

    def stopped(self, worker_id: str, at: datetime) -> None:
        """Mark the worker stopped."""
        ...

    def workers(self) -> list[WorkerInfo]:
        """Return every heartbeat row, newest first."""
        ...

    def forget(self, before: datetime) -> int:
        """Delete heartbeats last seen before ``before``; return how many."""
        ...

    def oldest_due_at(self, now: datetime) -> datetime | None:
        """Return the earliest due time of an attempt due by ``now`` and not yet dialed."""
        ...


class Operations:
    """The operators' use cases: heartbeats, the health report, the list of workers."""

    def __init__(self, store: OperationsStore, transactions: Transactions, clock: Clock):
        self.store = store
        self.transactions = transactions
        self.clock = clock

    def beat(self, worker: WorkerInfo) -> None:
        """Write a heartbeat (and forget processes gone for a day)."""
        with self.transactions.atomic():
            self.store.beat(worker)
            self.store.forget(worker.last_seen_at - FORGET_AFTER)

    def stopped(self, worker_id: str) -> None:
        """Record that a worker stopped cleanly."""
        with self.transactions.atomic():
            self.store.stopped(worker_id, self.clock.now())

    def workers(self) -> list[WorkerInfo]:
        """Return every dispatching process known, newest first (operators only)."""
        with self.transactions.atomic():
            return self.store.workers()

    def health(self, database: bool) -> HealthReport:
        """Return the health report; without a database only its version facts are known."""
        if not database:
            return HealthReport(False, 0, None, None, None, tzdata_version())
        now = self.clock.now()
        with self.transactions.atomic():
            workers = self.store.workers()
            oldest = self.store.oldest_due_at(now)
        alive = [w for w in workers if w.alive(now)]
        claims = [w.last_claim_at for w in workers if w.last_claim_at is not None]
        return HealthReport(
            database=True,
            workers_alive=len(alive),
            workers_last_seen_at=max((w.last_seen_at for w in workers), default=None),
            oldest_due_at=oldest,
            last_claim_at=max(claims, default=None),
            tzdata=tzdata_version(),
        )


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
