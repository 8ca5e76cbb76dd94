"""The platform around public RPCs: rate limits as trailing metadata, RetryInfo, usage events.

The platform here runs on a fake clock (buckets refill only when a test moves it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from grpc_support import Server, Stubs, fails, reminder_request
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow
from dialcues_core.config import RateLimit
from dialcues_core.offload import Offloader
from dialcues_core.testing import FakeClock
from dialcues_grpc._pb.dialcues.v1 import (
    identity_pb2,
    organizations_pb2,
    reminders_pb2,
    usage_pb2,
    usage_pb2_grpc,
)

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = int(START.timestamp())
LIMITS = {"read": RateLimit(1, 3), "write": RateLimit(1, 2), "anon": RateLimit(0.5, 2)}
WHO_AM_I = "/dialcues.v1.IdentityService/WhoAmI"
GET_REMINDER = "/dialcues.v1.ReminderService/GetReminder"
CREATE_REMINDER = "/dialcues.v1.ReminderService/CreateReminder"
LIMIT_KEYS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit-policy",
    "ratelimit",
)


@pytest.fixture
def rate_limits() -> dict[str, RateLimit] | None:
    """The limits of the platform under test (a test may parametrize ``None``: off)."""
    return LIMITS


@pytest.fixture
def dc(sqlite_url: str, rate_limits: object) -> Iterator[Dialcues]:
    """The platform with small limits on a fake clock (overrides the shared ``dc``)."""
    settings = settings_for(sqlite_url, rate_limits=rate_limits)
    platform = Dialcues.open(settings=settings, clock=FakeClock(START))
    yield platform
    platform.close()


def limits_of(metadata: Any) -> dict[str, str]:
    """Return the rate-limit entries of a call's trailing metadata."""
    return {k: v for k, v in (metadata or ()) if k in LIMIT_KEYS}


def expect(policy: str, limit: int, remaining: int, full_in: int, window: int) -> dict[str, str]:
    """The trailers of a call charged to ``policy``."""
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(NOW + full_in),
        "ratelimit-policy": f'"{policy}";q={limit};w={window}',
        "ratelimit": f'"{policy}";r={remaining};t={full_in}',
    }


async def who_am_i(api: Stubs) -> Any:
    """Call WhoAmI and return the call (awaited)."""
    call = api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=api.md)
    await call
    return call


async def rows(dc: Dialcues, offloader: Offloader) -> list[dict[str, Any]]:
    """Write the pending usage events; return every stored row, oldest first."""
    await offloader.run(dc.usage.flush)
    return list(UsageEventRow.select().order_by(UsageEventRow.id).dicts())


async def test_a_read_rpc_sends_the_limit_trailers(api: Stubs) -> None:
    call = await who_am_i(api)
    assert limits_of(await call.trailing_metadata()) == expect("read", 3, 2, 1, 3)


async def test_an_empty_bucket_is_resource_exhausted_with_retry_info(api: Stubs) -> None:
    for _ in range(3):
        await who_am_i(api)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=api.md)
    error = caught.value
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(error)
    assert status is not None
    retry, info = error_details_pb2.RetryInfo(), error_details_pb2.ErrorInfo()
    assert any(d.Unpack(retry) for d in status.details)
    assert any(d.Unpack(info) for d in status.details)
    assert (retry.retry_delay.seconds, info.reason) == (1, "rate_limited")
    assert limits_of(error.trailing_metadata()) == expect("read", 3, 0, 3, 3)


async def test_a_write_rpc_is_charged_to_the_write_bucket(api: Stubs) -> None:
    call = api.reminders.CreateReminder(reminder_request(), metadata=api.md)
    await call
    assert limits_of(await call.trailing_metadata()) == expect("write", 2, 1, 1, 2)


async def test_a_servicer_error_keeps_the_trailers(api: Stubs) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.reminders.GetReminder(reminders_pb2.GetReminderRequest(id=999), metadata=api.md)
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND
    assert limits_of(caught.value.trailing_metadata()) == expect("read", 3, 2, 1, 3)


async def test_failed_authentication_is_charged_to_the_anon_bucket_first(server: Server) -> None:
    guesser = server.stubs("dc_live_not_a_real_key")
    for remaining in (1, 0):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await who_am_i(guesser)
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
        trailers = limits_of(caught.value.trailing_metadata())
        assert trailers["x-ratelimit-remaining"] == str(remaining)
    refused = await fails(
        guesser.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=guesser.md)
    )
    assert (refused.code, refused.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "rate_limited")


async def test_administration_rpcs_are_neither_limited_nor_recorded(
    admin: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    for _ in range(5):
        call = admin.organizations.CreateOrganization(
            organizations_pb2.CreateOrganizationRequest(name="Acme"), metadata=admin.md
        )
        await call
        assert limits_of(await call.trailing_metadata()) == {}
    assert await rows(dc, grpc_offloader) == []


@pytest.mark.parametrize("rate_limits", [None])
async def test_limits_off_send_no_trailers(api: Stubs) -> None:
    for _ in range(10):
        call = await who_am_i(api)
        assert limits_of(await call.trailing_metadata()) == {}


async def test_each_rpc_writes_one_usage_event(
    api: Stubs, server: Server, dc: Dialcues, grpc_offloader: Offloader, tenant: Tenant
) -> None:
    await who_am_i(api)
    await fails(api.reminders.GetReminder(reminders_pb2.GetReminderRequest(id=9), metadata=api.md))
    await fails(server.stubs(None).identity.WhoAmI(identity_pb2.WhoAmIRequest()))
    found = [
        (r["method"], r["route"], r["status"], r["code"], r["user_id"])
        for r in await rows(dc, grpc_offloader)
    ]
    assert found == [
        ("GRPC", WHO_AM_I, 0, None, tenant.user.id),
        ("GRPC", GET_REMINDER, 5, "not_found", tenant.user.id),
        ("GRPC", WHO_AM_I, 16, "unauthorized", None),
    ]


async def test_a_replayed_rpc_is_marked_as_a_replay(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    for _ in range(2):
        await api.reminders.CreateReminder(reminder_request(request_id="k-1"), metadata=api.md)
    found = [(r["route"], r["idempotent_replay"]) for r in await rows(dc, grpc_offloader)]
    assert found == [(CREATE_REMINDER, False), (CREATE_REMINDER, True)]


async def test_list_usage_events_returns_the_callers_events(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    await who_am_i(api)
    await grpc_offloader.run(dc.usage.flush)
    usage = usage_pb2_grpc.UsageServiceStub(api.channel)
    page = await usage.ListUsageEvents(
        usage_pb2.ListUsageEventsRequest(route=WHO_AM_I, page_size=1), metadata=api.md
    )
    assert (page.total, page.total_pages, page.next_page_token) == (1, 1, "")
    event = page.items[0]
    assert (event.method, event.route, event.status, event.HasField("code")) == (
        "GRPC",
        WHO_AM_I,
        0,
        False,
    )


async def test_list_usage_events_refuses_unknown_filters_clearly(api: Stubs) -> None:
    usage = usage_pb2_grpc.UsageServiceStub(api.channel)
    refused = await fails(
        usage.ListUsageEvents(usage_pb2.ListUsageEventsRequest(page_size=500), metadata=api.md)
    )
    assert (refused.code, refused.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert "page_size" in refused.violations
