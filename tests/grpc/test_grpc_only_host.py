"""A host that serves gRPC alone (no REST app): its runtime writes the usage events.

Before the one runtime, the periodic usage flush lived in the REST app: a gRPC-only host
wrote its usage events only when it closed.
"""

from __future__ import annotations

import asyncio

import grpc
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow
from dialcues_core.offload import Offloader
from dialcues_core.runtime import Runtime
from dialcues_grpc import start_grpc
from dialcues_grpc._pb.dialcues.v1 import identity_pb2, identity_pb2_grpc


async def test_a_grpc_only_host_writes_its_usage_events_within_a_second_or_two(
    dc: Dialcues, tenant: Tenant
) -> None:
    offloader = Offloader(threads=2)
    server, port = await start_grpc(dc, offloader, "127.0.0.1", 0, None)
    try:
        async with (
            Runtime(dc, offloader, dispatch=False),
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
        ):
            stub = identity_pb2_grpc.IdentityServiceStub(channel)
            md = (("authorization", f"Bearer {tenant.api_key}"),)
            await stub.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=md)

            def written() -> int:
                return int(UsageEventRow.select().count())

            for _ in range(50):  # the runtime writes every second: wait up to 5 s, not more
                if await offloader.run(written):
                    break
                await asyncio.sleep(0.1)
            assert await offloader.run(written) == 1, "no usage event written while serving"
    finally:
        await server.stop(None)
        offloader.shutdown()
