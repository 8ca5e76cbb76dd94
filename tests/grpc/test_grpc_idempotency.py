"""``request_id`` on the mutating ReminderService RPCs, against a real grpc.aio server."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from grpc_support import Server, Stubs, fails, reminder_request
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import IdempotencyRow, ReminderRow
from dialcues_core.offload import Offloader
from dialcues_core.reminders.model import Reminder
from dialcues_grpc import reminder_convert
from dialcues_grpc._pb.dialcues.v1 import reminders_pb2
from dialcues_grpc.idempotency import fingerprint, is_replay, stored_reply
from dialcues_grpc.server import add_services

R = reminders_pb2


def reminders() -> int:
    """Return how many reminders are stored."""
    return int(ReminderRow.select().count())


# ----------------------------------------------------------------------------- replay
async def test_the_same_request_id_creates_once_and_returns_the_same_message(api: Stubs) -> None:
    request = reminder_request(request_id="order-1")
    first = await api.reminders.CreateReminder(request, metadata=api.md)
    again = await api.reminders.CreateReminder(request, metadata=api.md)
    assert again == first and reminders() == 1


async def test_without_a_request_id_every_call_runs(api: Stubs) -> None:
    first, second = await api.create(), await api.create()
    assert first.id != second.id and IdempotencyRow.select().count() == 0


async def test_a_delete_is_replayed(api: Stubs) -> None:
    rid = (await api.create()).id
    request = R.DeleteReminderRequest(id=rid, request_id="del-1")
    await api.reminders.DeleteReminder(request, metadata=api.md)
    await api.reminders.DeleteReminder(request, metadata=api.md)  # not NOT_FOUND: replayed
    assert reminders() == 0


async def test_a_pause_is_replayed_without_running_again(api: Stubs) -> None:
    rid = (await api.create()).id
    pause = R.PauseReminderRequest(id=rid, request_id="pause-1")
    first = await api.reminders.PauseReminder(pause, metadata=api.md)
    await api.reminders.ResumeReminder(R.ResumeReminderRequest(id=rid), metadata=api.md)
    again = await api.reminders.PauseReminder(pause, metadata=api.md)
    assert again == first and again.status == R.REMINDER_STATUS_PAUSED
    current = await api.reminders.GetReminder(R.GetReminderRequest(id=rid), metadata=api.md)
    assert current.status == R.REMINDER_STATUS_SCHEDULED


# ----------------------------------------------------------------------------- refusals
async def test_the_same_request_id_with_another_request_is_already_exists(api: Stubs) -> None:
    await api.reminders.CreateReminder(reminder_request(request_id="k"), metadata=api.md)
    other = reminder_request(request_id="k", title="Other")
    failed = await fails(api.reminders.CreateReminder(other, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "idempotency_mismatch")


async def test_the_same_request_id_on_another_rpc_is_a_mismatch(api: Stubs) -> None:
    created = await api.reminders.CreateReminder(reminder_request(request_id="k"), metadata=api.md)
    pause = R.PauseReminderRequest(id=created.id, request_id="k")
    failed = await fails(api.reminders.PauseReminder(pause, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "idempotency_mismatch")


async def test_a_too_long_request_id_is_invalid_argument(api: Stubs) -> None:
    request = reminder_request(request_id="k" * 256)
    failed = await fails(api.reminders.CreateReminder(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert list(failed.violations) == ["request_id"] and reminders() == 0


async def test_a_refused_request_releases_its_request_id(api: Stubs) -> None:
    bad = reminder_request(request_id="k", title="")
    failed = await fails(api.reminders.CreateReminder(bad, metadata=api.md))
    created = await api.reminders.CreateReminder(reminder_request(request_id="k"), metadata=api.md)
    assert failed.code is grpc.StatusCode.INVALID_ARGUMENT and created.id > 0


async def test_a_request_id_still_running_is_aborted(
    dc: Dialcues, tenant: Tenant, api: Stubs
) -> None:
    request = reminder_request(request_id="k")
    async with _holding(dc, tenant, request):
        failed = await fails(api.reminders.CreateReminder(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.ABORTED, "idempotency_in_progress")
    await api.reminders.CreateReminder(request, metadata=api.md)
    assert reminders() == 1


async def test_request_ids_are_scoped_to_the_user(
    dc: Dialcues, tenant: Tenant, server: Server
) -> None:
    mine, theirs = server.stubs(tenant.api_key), server.stubs(make_tenant(dc).api_key)
    request = reminder_request(request_id="shared")
    a = await mine.reminders.CreateReminder(request, metadata=mine.md)
    b = await theirs.reminders.CreateReminder(request, metadata=theirs.md)
    assert a.id != b.id and reminders() == 2


async def test_a_replay_demands_the_scopes_the_request_required(
    dc: Dialcues, tenant: Tenant, api: Stubs
) -> None:
    request = reminder_request(request_id="k1")
    first = await api.reminders.CreateReminder(request, metadata=api.md)
    read_only = api.with_token(
        dc.accounts.create_api_key(tenant.user.id, scopes=["reminders:read"]).raw
    )
    failed = await fails(read_only.reminders.CreateReminder(request, metadata=read_only.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "reminders:write"}
    full = api.with_token(dc.accounts.create_api_key(tenant.user.id, name="full").raw)
    again = await full.reminders.CreateReminder(request, metadata=full.md)
    assert again == first and reminders() == 1


@contextlib.asynccontextmanager
async def _holding(
    dc: Dialcues, tenant: Tenant, request: R.CreateReminderRequest
) -> AsyncIterator[None]:
    """Claim the request's id in another thread and hold it mid-effect until the block ends."""
    claimed, release = threading.Event(), threading.Event()

    def create() -> Reminder:
        claimed.set()
        release.wait(10)
        return dc.reminders.create(tenant.principal, reminder_convert.create_reminder(request))

    def run() -> None:
        try:
            dc.idempotency.run(
                tenant.principal,
                request.request_id,
                fingerprint(request),
                create,
                lambda made: stored_reply(reminder_convert.reminder(made)),
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


# ----------------------------------------------------------------------------- replay marker
class _ReplaySpy(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Record ``is_replay(context)`` right after each unary handler returns (as H2's usage
    interceptor would)."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        async def behavior(request: Any, context: Any) -> Any:
            try:
                return await inner(request, context)
            finally:
                self.seen.append(is_replay(context))

        return handler._replace(unary_unary=behavior)


async def test_a_replay_is_marked_for_the_usage_interceptor(
    dc: Dialcues, tenant: Tenant, grpc_offloader: Offloader
) -> None:
    spy = _ReplaySpy()
    server = grpc.aio.server(interceptors=[spy])
    add_services(server, dc, grpc_offloader, None)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            api = Stubs(channel, tenant.api_key)
            for _ in range(2):
                await api.reminders.CreateReminder(
                    reminder_request(request_id="k"), metadata=api.md
                )
            await api.create()
    finally:
        await server.stop(None)
    assert spy.seen == [False, True, False]
