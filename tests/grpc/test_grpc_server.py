"""Health, reflection and the generated code's freshness."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_support import ServeFn, Server, list_services

from dialcues_core import Dialcues
from dialcues_core.offload import Offloader

ROOT = Path(__file__).resolve().parents[2]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def check(server: Server, service: str = "") -> int:
    """Return the health status of ``service``."""
    stubs = server.stubs(None)
    reply = await stubs.health.Check(health_pb2.HealthCheckRequest(service=service))
    return int(reply.status)


async def test_health_serves_overall_and_per_service(server: Server) -> None:
    assert await check(server) == SERVING
    assert await check(server, "dialcues.v1.ReminderService") == SERVING


async def test_health_of_an_unknown_service_is_not_found(server: Server) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await check(server, "nope.Service")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_health_watch_reports_serving(server: Server) -> None:
    call = server.stubs(None).health.Watch(health_pb2.HealthCheckRequest(service=""))
    first = await call.read()
    assert first.status == SERVING
    call.cancel()


class Unreachable:
    """Make the SQLite file unopenable (a folder in its place) and close the pool's connection."""

    def __init__(self, dc: Dialcues, pool: Offloader):
        self.dc, self.pool = dc, pool
        self.path = Path(dc.db.database)
        self.moved = [p for p in self._files() if p.exists()]

    def _files(self) -> list[Path]:
        return [self.path.with_name(self.path.name + s) for s in ("", "-wal", "-shm")]

    async def __aenter__(self) -> None:
        for path in self.moved:
            path.rename(path.with_name(path.name + ".aside"))
        self.path.mkdir()
        await self.pool.run(self.dc.db.close)

    async def __aexit__(self, *exc: object) -> None:
        self.path.rmdir()
        for path in self.moved:
            path.with_name(path.name + ".aside").rename(path)
        await self.pool.run(self.dc.db.close)


async def test_health_is_not_serving_while_the_database_is_unreachable(
    serve: ServeFn, dc: Dialcues
) -> None:
    pool = Offloader(threads=1)
    try:
        server = await serve(None, offloader=pool)
        assert await check(server) == SERVING
        async with Unreachable(dc, pool):
            assert await check(server) == NOT_SERVING
            assert await check(server, "dialcues.v1.ReminderService") == NOT_SERVING
        assert await check(server) == SERVING
    finally:
        pool.shutdown()


async def test_reflection_lists_every_service(server: Server) -> None:
    assert await list_services(server.stubs(None)) == [
        "dialcues.v1.AgentService",
        "dialcues.v1.ApiKeyService",
        "dialcues.v1.AuditService",
        "dialcues.v1.CallService",
        "dialcues.v1.ConsentService",
        "dialcues.v1.DeprecationService",
        "dialcues.v1.ExecutionService",
        "dialcues.v1.IdentityService",
        "dialcues.v1.LineService",
        "dialcues.v1.MessageService",
        "dialcues.v1.MessageTemplateService",
        "dialcues.v1.NumberService",
        "dialcues.v1.OAuthClientService",
        "dialcues.v1.OrganizationService",
        "dialcues.v1.OutboundLineService",
        "dialcues.v1.PolicyService",
        "dialcues.v1.ReminderService",
        "dialcues.v1.SuppressionService",
        "dialcues.v1.UsageService",
        "dialcues.v1.WebhookService",
        "dialcues.v1.WorkerService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ]


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    out = tmp_path / "_pb"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    checked_in = ROOT / "dialcues_grpc" / "_pb"
    assert _tree(out) == _tree(checked_in), "run scripts/gen_protos.py"
    _, mismatch, errors = filecmp.cmpfiles(out, checked_in, sorted(_tree(out)), shallow=False)
    assert not mismatch and not errors, f"stale generated files: {mismatch or errors}"


def _tree(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
