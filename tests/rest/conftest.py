"""Fixtures of the REST suite: the real app on 127.0.0.1:0 over a real SQLite file.

The platform runs on a :class:`FakeClock` (2026-03-01T12:00:00Z) so that times in the
assertions are literal and "time passes" is one call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.offload import Offloader
from dialcues_core.runtime import Runtime
from dialcues_core.testing import FakeClock
from dialcues_rest.app import create_app, start_rest
from rest.support import START, Api, ServeFn


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-03-01T12:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file, on the fake clock (overrides the shared ``dc``)."""
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
async def offloader() -> AsyncIterator[Offloader]:
    """The database thread pool the app offloads to."""
    pool = Offloader(threads=4)
    yield pool
    pool.shutdown()


@pytest.fixture
async def serve(dc: Dialcues, offloader: Offloader) -> AsyncIterator[ServeFn]:
    """Serve an app with ``start_rest`` on 127.0.0.1:0 and return an anonymous client of it.

    It depends on ``dc`` and ``offloader`` so that the servers are cleaned up (writing their
    pending usage events through the offloader) before either is closed.
    """
    runners: list[web.AppRunner] = []
    async with aiohttp.ClientSession() as session, Runtime(dc, offloader, dispatch=False):

        async def start(app: web.Application) -> Api:
            runner = await start_rest(app, "127.0.0.1", 0)
            runners.append(runner)
            host, port = runner.addresses[0][:2]
            return Api(session, f"http://{host}:{port}", None)

        yield start
        for runner in runners:
            await runner.cleanup()


@pytest.fixture
async def anon(serve: ServeFn, dc: Dialcues, offloader: Offloader) -> Api:
    """A client of the real app sending no credentials."""
    return await serve(create_app(dc, offloader))


@pytest.fixture
def api(anon: Api, tenant: Tenant) -> Api:
    """A client of the real app acting with the tenant's key."""
    return anon.as_key(tenant.api_key)


@pytest.fixture(params=["same_org", "other_org"])
def intruder(request: pytest.FixtureRequest, dc: Dialcues, tenant: Tenant, anon: Api) -> Api:
    """A client acting as another user: in the tenant's organization, then in another one."""
    org = tenant.org if request.param == "same_org" else None
    return anon.as_key(make_tenant(dc, org=org).api_key)
