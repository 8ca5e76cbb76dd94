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

from datetime import timedelta
from typing import Final

from dialcues_core.kernel.localtime import tzdata_version
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.operations.model import HealthReport, WorkerInfo
from dialcues_core.operations.ports import OperationsStore

FORGET_AFTER: Final = timedelta(days=1)
"""Heartbeats older than this are deleted (the process is long gone)."""


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
