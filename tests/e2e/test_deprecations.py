"""Deprecations end to end (``telephony.md`` §8 items 36 and 37).

One platform (a SQLite file) serves REST and gRPC, both built with the test registry of
``support.deprecations``: the test-only route answers success and error alike with the
three headers, the OpenAPI document marks it, ``GET /deprecations`` and
``ListDeprecations`` list it, a deprecated RPC carries the metadata, and the usage events of
both facades say ``deprecated``. What the test registry marks removed is gone on both: the
removed route answers 410 ``gone``, the removed RPC UNIMPLEMENTED ``gone``, both listed with
``removed: true``, neither in the OpenAPI document, and both still write usage events. Then
production: an empty registry everywhere, an OpenAPI
document without a deprecated operation, and ``dialcues deprecations list``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support.deprecations import (
    DEPRECATION_HEADER,
    REMOVED_DEPRECATION_HEADER,
    REMOVED_SUNSET_HEADER,
    SUNSET_HEADER,
    TEST_REGISTRY,
)
from support.platform import Tenant, make_tenant, settings_for

from dialcues_cli import deprecations as cli
from dialcues_core import Dialcues
from dialcues_core.deprecations import REGISTRY, Deprecation
from dialcues_core.runtime import Runtime
from dialcues_grpc import start_grpc
from dialcues_grpc._pb.dialcues.v1 import (
    deprecations_pb2,
    deprecations_pb2_grpc,
    executions_pb2,
    executions_pb2_grpc,
    identity_pb2,
)
from dialcues_grpc._pb.dialcues.v1 import identity_pb2_grpc as identity_grpc
from dialcues_rest.app import create_app, start_rest

BASE = "/api/public/v1"
TEST_LINK = '<https://dialcues.dev/changelog#test-route>; rel="deprecation"; type="text/html"'


@dataclass
class Facades:
    """REST and gRPC over one platform, and a tenant to call them as."""

    dc: Dialcues
    tenant: Tenant
    session: aiohttp.ClientSession
    root: str
    channel: grpc.aio.Channel

    async def get(
        self, path: str, *, key: bool = True, accept: str | None = None, **params: str
    ) -> tuple[int, Any, Any]:
        """GET ``path`` under the API base; return status, JSON body and headers."""
        headers = {"Authorization": f"Bearer {self.tenant.api_key}"} if key else {}
        headers |= {"Accept": accept} if accept else {}
        url = self.root + BASE + path
        async with self.session.get(url, params=params, headers=headers) as reply:
            return reply.status, await reply.json(), reply.headers

    async def list_deprecations(self) -> deprecations_pb2.ListDeprecationsResponse:
        """Call ``ListDeprecations`` without a credential."""
        stub = deprecations_pb2_grpc.DeprecationServiceStub(self.channel)
        return await stub.ListDeprecations(deprecations_pb2.ListDeprecationsRequest())


async def _facades(url: str, registry: tuple[Deprecation, ...]) -> AsyncIterator[Facades]:
    dc = Dialcues.open(settings=settings_for(url), deprecations=registry)
    tenant = make_tenant(dc, email="dep@example.com")
    offloader = dc.offloader(threads=4)
    runtime = Runtime(dc, offloader, dispatch=False)
    await runtime.start()
    runner = await start_rest(create_app(dc, offloader, deprecations=registry), "127.0.0.1", 0)
    server, port = await start_grpc(dc, offloader, "127.0.0.1", 0, None, registry)
    host, rest_port = runner.addresses[0][:2]
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        async with aiohttp.ClientSession() as session:
            yield Facades(dc, tenant, session, f"http://{host}:{rest_port}", channel)
    finally:
        await channel.close()
        await server.stop(None)
        await runner.cleanup()
        await runtime.close()
        offloader.shutdown()
        dc.close()


@pytest.fixture
async def testing(sqlite_url: str) -> AsyncIterator[Facades]:
    """Both facades built with the test registry."""
    async for facades in _facades(sqlite_url, TEST_REGISTRY):
        yield facades


@pytest.fixture
async def production(sqlite_url: str) -> AsyncIterator[Facades]:
    """Both facades built as production builds them (its registry)."""
    async for facades in _facades(sqlite_url, REGISTRY):
        yield facades


async def test_a_deprecation_is_announced_by_every_edge(testing: Facades) -> None:
    # The test-only route, success and error alike.
    for params, expected in (({}, 200), ({"fail": "1"}, 400)):
        status, _, headers = await testing.get("/_test/deprecated", **params)
        assert status == expected
        assert (headers["Deprecation"], headers["Sunset"], headers["Link"]) == (
            DEPRECATION_HEADER,
            SUNSET_HEADER,
            TEST_LINK,
        )
    # The OpenAPI document marks it.
    _, doc, _ = await testing.get("/openapi.json", key=False)
    op = doc["paths"][f"{BASE}/_test/deprecated"]["get"]
    assert (op["deprecated"], op["x-sunset"]) == (True, "2027-12-01")
    # GET /deprecations and ListDeprecations list it.
    _, listed, _ = await testing.get("/deprecations", key=False)
    assert listed["items"][0]["target"] == "GET /_test/deprecated"
    grpc_listed = await testing.list_deprecations()
    assert [item.id for item in grpc_listed.items] == [item["id"] for item in listed["items"]]
    # A deprecated RPC carries the metadata.
    call = identity_grpc.IdentityServiceStub(testing.channel).WhoAmI(
        identity_pb2.WhoAmIRequest(),
        metadata=(("authorization", f"Bearer {testing.tenant.api_key}"),),
    )
    await call
    metadata = dict(await call.initial_metadata())
    assert (metadata["deprecation"], metadata["sunset"]) == (DEPRECATION_HEADER, SUNSET_HEADER)
    # The usage events say so (both facades), once written.
    found = await _deprecated_routes(testing)
    assert found == [
        "/dialcues.v1.IdentityService/WhoAmI",
        "/_test/deprecated",
        "/_test/deprecated",
    ]


async def _deprecated_routes(facades: Facades) -> list[str]:
    """Return the routes of the tenant's deprecated usage events, newest first (flushed)."""
    return [event["route"] for event in await _deprecated_events(facades, 3)]


async def _deprecated_events(facades: Facades, count: int) -> list[dict[str, Any]]:
    """Return the tenant's deprecated usage events, newest first, once ``count`` are written
    (or after 40 tries)."""
    offloader = facades.dc.offloader(threads=1)
    try:
        events: list[dict[str, Any]] = []
        for _ in range(40):  # an RPC's event is queued as the call ends
            await offloader.run(facades.dc.usage.flush)
            _, page, _ = await facades.get("/usage/events", deprecated="true")
            events = page["items"]
            if len(events) == count:
                break
        return events
    finally:
        offloader.shutdown()


async def test_what_was_removed_is_gone_on_every_edge(testing: Facades) -> None:
    # REST: 410 gone naming the entry, with the three headers, in both error shapes.
    status, body, headers = await testing.get("/_test/removed")
    assert (status, body["error"]["code"], body["error"]["details"]) == (
        410,
        "gone",
        {"deprecation": "test-removed-route"},
    )
    assert (headers["Deprecation"], headers["Sunset"]) == (
        REMOVED_DEPRECATION_HEADER,
        REMOVED_SUNSET_HEADER,
    )
    assert "#test-removed-route>" in headers["Link"]
    _, problem, _ = await testing.get("/_test/removed", accept="application/problem+json")
    assert (problem["type"], problem["status"], problem["deprecation"]) == (
        "https://dialcues.dev/errors/gone",
        410,
        "test-removed-route",
    )
    # gRPC: UNIMPLEMENTED, reason gone, naming the entry.
    stub = executions_pb2_grpc.ExecutionServiceStub(testing.channel)
    auth = (("authorization", f"Bearer {testing.tenant.api_key}"),)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListExecutions(executions_pb2.ListExecutionsRequest(), metadata=auth)
    assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
    info = error_details_pb2.ErrorInfo()
    status_proto = rpc_status.from_call(caught.value)
    assert status_proto is not None and status_proto.details[0].Unpack(info)
    assert (info.reason, dict(info.metadata)) == ("gone", {"deprecation": "test-removed-rpc"})
    # Both listed as removed; neither in the OpenAPI document.
    _, listed, _ = await testing.get("/deprecations", key=False)
    removed = [item["id"] for item in listed["items"] if item["removed"]]
    assert {"test-removed-route", "test-removed-rpc"} <= set(removed)
    grpc_listed = await testing.list_deprecations()
    assert [item.id for item in grpc_listed.items if item.removed] == removed
    _, doc, _ = await testing.get("/openapi.json", key=False)
    assert f"{BASE}/_test/removed" not in doc["paths"]
    # Both still write their usage events (REST's code is the contract's, gRPC's the reason).
    events = await _deprecated_events(testing, 3)
    assert [(e["route"], e["status"], e["code"]) for e in events] == [
        ("/dialcues.v1.ExecutionService/ListExecutions", 12, "gone"),
        ("/_test/removed", 410, "gone"),
        ("/_test/removed", 410, "gone"),
    ]


async def test_production_deprecates_nothing(production: Facades) -> None:
    _, listed, _ = await production.get("/deprecations", key=False)
    assert listed["items"] == []
    assert list((await production.list_deprecations()).items) == []
    _, doc, _ = await production.get("/openapi.json", key=False)
    deprecated = [
        (method, path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if op.get("deprecated")
    ]
    assert deprecated == []
    assert f"{BASE}/_test/deprecated" not in doc["paths"]
    status, _, headers = await production.get("/_test/deprecated")
    assert status == 404 and "Deprecation" not in headers


def test_the_command_line_lists_the_production_registry() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    command = [sys.executable, "-m", "dialcues_cli.main", "deprecations", "list"]
    plain = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert (plain.returncode, plain.stdout) == (0, cli.NONE_LINE + "\n")
    as_json = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {
        "policy": {"minimum_notice_months": 12, "changelog": "https://dialcues.dev/changelog"},
        "items": [],
    }


def test_the_command_line_prints_one_line_an_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.show(argparse.Namespace(json=False), TEST_REGISTRY[:2]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "test-route  route  GET /_test/deprecated  announced 2026-12-01  sunset 2027-12-01"
        "  use GET /health",
        "test-query  query_parameter  GET /reminders query:search  announced 2026-06-15"
        "  sunset 2027-06-30  no replacement",
    ]
