"""The operations store: heartbeats and the dispatch backlog."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dialcues_core.operations.model import WorkerInfo


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
