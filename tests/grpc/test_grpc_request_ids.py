"""The gRPC edge's request ids and its own idempotency wording, against a real server.

* every public RPC answers with an ``x-request-id`` initial metadata entry (an incoming
  valid one echoed, else a fresh one), errors included, and its usage event records it;
* ``idempotency_in_progress`` carries a ``RetryInfo`` of one second (REST's
  ``Retry-After: 1``), and both idempotency conflicts speak of ``request_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from grpc_support import Server, Stubs, fails, reminder_request
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow
from dialcues_core.offload import Offloader
from dialcues_core.reminders.model import Reminder
from dialcues_grpc import reminder_convert
from dialcues_grpc._pb.dialcues.v1 import identity_pb2, reminders_pb2
from dialcues_grpc.idempotency import fingerprint, stored_reply

FRESH = re.compile(r"[0-9a-f]{32}")
"""The shape of an id the server makes up."""


def sent_id(metadata: Any) -> list[str]:
    """Return the ``x-request-id`` values of a call's initial metadata."""
    return [value for key, value in metadata or () if key == "x-request-id"]


async def recorded_ids(dc: Dialcues, offloader: Offloader, expected: int = 1) -> list[str | None]:
    """Write the pending usage events; return their request ids, oldest first.

    The server queues a call's event as the call ends, which may be just after the client has
    its answer: look again (for up to 2 s) until ``expected`` events are there.
    """
    found: list[str | None] = []
    for _ in range(40):
        await offloader.run(dc.usage.flush)
        found = [row.request_id for row in UsageEventRow.select().order_by(UsageEventRow.id)]
        if len(found) >= expected:
            break
        await asyncio.sleep(0.05)
    return found


async def who_am_i(api: Stubs, *extra: tuple[str, str]) -> list[str]:
    """Call WhoAmI with ``extra`` metadata; return the ``x-request-id`` it answered with."""
    call = api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=(*api.md, *extra))
    await call
    return sent_id(await call.initial_metadata())


# ----------------------------------------------------------------------------- request ids
async def test_a_valid_request_id_is_echoed_and_recorded(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    rid = "trace-42.a_b:c"
    assert await who_am_i(api, ("x-request-id", rid)) == [rid]
    assert await recorded_ids(dc, grpc_offloader) == [rid]


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", ""])
async def test_an_invalid_request_id_is_replaced_by_a_fresh_one(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader, bad: str
) -> None:
    (answered,) = await who_am_i(api, ("x-request-id", bad))
    assert FRESH.fullmatch(answered)
    assert await recorded_ids(dc, grpc_offloader) == [answered]


async def test_a_call_without_one_gets_a_fresh_request_id_each_time(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    first, second = await who_am_i(api), await who_am_i(api)
    assert FRESH.fullmatch(first[0]) and FRESH.fullmatch(second[0]) and first != second
    assert await recorded_ids(dc, grpc_offloader, expected=2) == [first[0], second[0]]


async def test_a_refused_call_carries_its_request_id_too(
    server: Server, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    anonymous = server.stubs(None)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await anonymous.identity.WhoAmI(
            identity_pb2.WhoAmIRequest(), metadata=(("x-request-id", "req-1"),)
        )
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert sent_id(caught.value.initial_metadata()) == ["req-1"]
    # A refusal reaches the client before the interceptor records its outcome: wait for it.
    assert await recorded_ids(dc, grpc_offloader) == ["req-1"]


# ----------------------------------------------------------------------------- idempotency
@contextlib.asynccontextmanager
async def holding(
    dc: Dialcues, tenant: Tenant, request: reminders_pb2.CreateReminderRequest
) -> AsyncIterator[None]:
    """Claim the request's id in another thread and hold it mid-effect until the block ends."""
    claimed, release = threading.Event(), threading.Event()

    def create() -> Reminder:
        claimed.set()
        release.wait(10)
        return dc.reminders.create(tenant.principal, reminder_convert.create_reminder(request))

    def run() -> None:
        try:
            render = lambda made: stored_reply(reminder_convert.reminder(made))  # noqa: E731
            dc.idempotency.run(
                tenant.principal, request.request_id, fingerprint(request), create, render
            )
        finally:
            dc.db.close()

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(run)
        await asyncio.to_thread(claimed.wait, 10)
        try:
            yield
        finally:
            release.set()
            await asyncio.wrap_future(done)


async def test_a_request_id_in_progress_says_retry_in_a_second(
    dc: Dialcues, tenant: Tenant, api: Stubs
) -> None:
    request = reminder_request(request_id="k")
    async with holding(dc, tenant, request):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await api.reminders.CreateReminder(request, metadata=api.md)
    status = rpc_status.from_call(caught.value)
    assert status is not None and caught.value.code() is grpc.StatusCode.ABORTED
    retry = error_details_pb2.RetryInfo()
    assert [d.Unpack(retry) for d in status.details if d.Is(retry.DESCRIPTOR)] == [True]
    assert (retry.retry_delay.seconds, retry.retry_delay.nanos) == (1, 0)
    assert status.message == "A request with this request_id is still in progress; retry shortly."


async def test_a_request_id_mismatch_speaks_of_request_id(api: Stubs) -> None:
    await api.reminders.CreateReminder(reminder_request(request_id="k"), metadata=api.md)
    other = reminder_request(request_id="k", title="Other")
    failed = await fails(api.reminders.CreateReminder(other, metadata=api.md))
    assert (failed.reason, failed.message) == (
        "idempotency_mismatch",
        "This request_id was used with a different request; use a new one.",
    )
