"""What operators see: dispatching processes and the health report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

ALIVE_SECONDS: Final = 30.0
"""A process whose heartbeat is younger than this counts as alive."""


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
