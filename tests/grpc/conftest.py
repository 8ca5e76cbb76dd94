"""Fixtures of the gRPC suite: real grpc.aio servers on 127.0.0.1:0 over the SQLite ``dc``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from grpc_support import ADMIN_TOKEN, Rest, ServeFn, Server, Stubs
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.deprecations import REGISTRY, Deprecation
from dialcues_core.offload import Offloader
from dialcues_core.runtime import Runtime
from dialcues_grpc import start_grpc
from dialcues_rest.app import create_app, start_rest


@pytest.fixture
async def grpc_offloader() -> AsyncIterator[Offloader]:
    """The database thread pool of the servers under test."""
    pool = Offloader(threads=2)
    yield pool
    pool.shutdown()


@pytest.fixture
async def serve(dc: Dialcues, grpc_offloader: Offloader) -> AsyncIterator[ServeFn]:
    """Start servers with ``start_grpc`` on 127.0.0.1:0 (admin token and deprecation
    registry as given).

    A host's :class:`Runtime` runs beside them (it writes their usage events).
    """
    started: list[Server] = []
    runtime = Runtime(dc, grpc_offloader, dispatch=False)
    await runtime.start()

    async def start(
        admin_token: str | None = None,
        offloader: Offloader | None = None,
        deprecations: tuple[Deprecation, ...] = REGISTRY,
    ) -> Server:
        pool = offloader or grpc_offloader
        server, port = await start_grpc(dc, pool, "127.0.0.1", 0, admin_token, deprecations)
        started.append(Server(server, port))
        return started[-1]

    yield start
    for running in started:
        for channel in running.channels:
            await channel.close()
        await running.server.stop(None)
    await runtime.close()


@pytest.fixture
async def server(serve: ServeFn) -> Server:
    """A server with the admin services (token ``ADMIN_TOKEN``)."""
    return await serve(ADMIN_TOKEN)


@pytest.fixture
def api(server: Server, tenant: Tenant) -> Stubs:
    """Stubs acting with the tenant's API key."""
    return server.stubs(tenant.api_key)


@pytest.fixture
def admin(server: Server) -> Stubs:
    """Stubs sending the admin token."""
    return server.stubs(ADMIN_TOKEN)


@pytest.fixture
async def rest(dc: Dialcues, grpc_offloader: Offloader, tenant: Tenant) -> AsyncIterator[Rest]:
    """REST over the same platform, reading as the tenant (to compare the two facades)."""
    runner = await start_rest(create_app(dc, grpc_offloader), "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session:
            yield Rest(session, f"http://{host}:{port}/api/public/v1", tenant.api_key)
    finally:
        await runner.cleanup()
