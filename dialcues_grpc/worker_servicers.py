"""``dialcues.v1.WorkerService``: the dispatching processes by their heartbeats (operators)."""

from __future__ import annotations

from datetime import datetime

from dialcues_core.operations.model import WorkerInfo
from dialcues_grpc._pb.dialcues.v1 import workers_pb2, workers_pb2_grpc
from dialcues_grpc.convert import _timestamp
from dialcues_grpc.errors import translated
from dialcues_grpc.servicers import Context, _AdminServicer


class WorkerServicer(_AdminServicer, workers_pb2_grpc.WorkerServiceServicer):
    """``dialcues.v1.WorkerService``: list the dispatching processes, host and pid included."""

    @translated
    async def ListWorkers(  # noqa: N802
        self, request: workers_pb2.ListWorkersRequest, context: Context
    ) -> workers_pb2.ListWorkersResponse:
        """Return every dispatching process seen in the last day, newest heartbeat first."""
        found = await self.run(self.dc.operations.workers)
        now = self.dc.clock.now()
        return workers_pb2.ListWorkersResponse(workers=[_worker(w, now) for w in found])


def _worker(w: WorkerInfo, now: datetime) -> workers_pb2.Worker:
    return workers_pb2.Worker(
        id=w.id,
        host=w.host,
        pid=w.pid,
        started_at=_timestamp(w.started_at),
        last_seen_at=_timestamp(w.last_seen_at),
        last_claim_at=_timestamp(w.last_claim_at),
        stopped_at=_timestamp(w.stopped_at),
        alive=w.alive(now),
    )
