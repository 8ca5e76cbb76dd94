"""``POST /agent/smoke`` over the real app, with and without a dispatcher in the process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.offload import Offloader
from rest.support import Api

STEPS = ["create_line", "create_reminder", "dispatch", "outcome", "cleanup"]


@pytest.fixture
async def dispatching(dc: Dialcues, offloader: Offloader) -> AsyncIterator[None]:
    """Run the platform's dispatcher (simulated dialer) beside the app."""
    dispatcher = dc.dispatcher(offloader)
    task = asyncio.create_task(dispatcher.run())
    yield
    await dispatcher.stop()
    await asyncio.wait_for(task, 10)


@pytest.fixture
def impatient(dc: Dialcues) -> None:
    """Make the smoke flow give up waiting after half a second (no dispatcher runs)."""
    dc.smoke.wait_seconds = 0.5


async def nothing_left(api: Api, tenant: Tenant) -> bool:
    """Tell whether the user sees only the organization's own line and no reminder or call."""
    lines = (await api.get("/lines")).body["items"]
    reminders = (await api.get("/reminders")).body["total"]
    executions = (await api.get("/executions")).body["total"]
    return [line["id"] for line in lines] == [tenant.line.id] and reminders == executions == 0


@pytest.mark.usefixtures("dispatching")
async def test_smoke_passes_every_step_with_a_dispatcher(api: Api) -> None:
    reply = await api.post("/agent/smoke")
    assert reply.status == 200, reply.text
    assert reply.body["status"] == "ok"
    assert [s["name"] for s in reply.body["steps"]] == STEPS
    assert {s["result"] for s in reply.body["steps"]} == {"ok"}
    assert all(isinstance(s["duration_ms"], int) for s in reply.body["steps"])


@pytest.mark.usefixtures("dispatching")
async def test_smoke_leaves_no_line_reminder_or_execution_behind(api: Api, tenant: Tenant) -> None:
    assert (await api.post("/agent/smoke", json={})).status == 200
    assert await nothing_left(api, tenant)


@pytest.mark.usefixtures("impatient")
async def test_smoke_without_a_dispatcher_is_503_naming_the_dispatch_step(api: Api) -> None:
    reply = await api.post("/agent/smoke")
    assert (reply.status, reply.code) == (503, "smoke_failed")
    details = reply.body["error"]["details"]
    assert details["step"] == "dispatch"
    assert [s["name"] for s in details["steps"]] == [*STEPS[:3], "cleanup"]


@pytest.mark.usefixtures("impatient")
async def test_failed_smoke_still_cleans_up(api: Api, tenant: Tenant) -> None:
    assert (await api.post("/agent/smoke")).status == 503
    assert await nothing_left(api, tenant)


async def test_smoke_needs_reminders_write(anon: Api, dc: Dialcues, tenant: Tenant) -> None:
    scopes = [s for s in ALL_SCOPES if s != "reminders:write"]
    key = dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw
    reply = await anon.as_key(key).post("/agent/smoke")
    assert (reply.status, reply.code) == (403, "insufficient_scope")
    assert reply.body["error"]["details"] == {"scope": "reminders:write"}


async def test_smoke_takes_no_fields(api: Api) -> None:
    reply = await api.post("/agent/smoke", json={"timeout": 3})
    assert (reply.status, reply.fields) == (400, {"timeout": "is not a known field"})


async def test_smoke_body_must_be_an_object(api: Api) -> None:
    reply = await api.post("/agent/smoke", json=[1])
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_scope_is_checked_before_the_body(anon: Api, dc: Dialcues, tenant: Tenant) -> None:
    key = dc.accounts.create_api_key(tenant.user.id, scopes=["reminders:read"]).raw
    reply = await anon.as_key(key).post("/agent/smoke", json={"timeout": 3})
    assert (reply.status, reply.code) == (403, "insufficient_scope")
