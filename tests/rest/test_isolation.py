"""Tenant isolation: another user's key — same organization or not — sees not_found."""

from __future__ import annotations

from typing import Any

import pytest
from support.platform import Tenant

from rest.support import Api, add_execution


@pytest.fixture
async def mine(api: Api) -> dict[str, Any]:
    """A reminder of the tenant."""
    return await api.create()


async def test_get_of_anothers_reminder_is_not_found(intruder: Api, mine: dict[str, Any]) -> None:
    reply = await intruder.get(f"/reminders/{mine['id']}")
    assert (reply.status, reply.code) == (404, "not_found")


async def test_patch_of_anothers_reminder_is_not_found(intruder: Api, mine: dict[str, Any]) -> None:
    reply = await intruder.patch(f"/reminders/{mine['id']}", json={"title": "Mine now"})
    assert (reply.status, reply.code) == (404, "not_found")


async def test_patch_by_another_user_leaves_the_reminder_unchanged(
    api: Api, intruder: Api, mine: dict[str, Any]
) -> None:
    await intruder.patch(f"/reminders/{mine['id']}", json={"title": "Mine now"})
    assert (await api.get(f"/reminders/{mine['id']}")).body == mine


async def test_delete_of_anothers_reminder_is_not_found(
    intruder: Api, mine: dict[str, Any]
) -> None:
    reply = await intruder.delete(f"/reminders/{mine['id']}")
    assert (reply.status, reply.code) == (404, "not_found")


async def test_delete_by_another_user_keeps_the_reminder(
    api: Api, intruder: Api, mine: dict[str, Any]
) -> None:
    await intruder.delete(f"/reminders/{mine['id']}")
    assert (await api.get(f"/reminders/{mine['id']}")).status == 200


async def test_list_does_not_show_anothers_reminders(intruder: Api, mine: dict[str, Any]) -> None:
    reply = await intruder.get("/reminders")
    assert (reply.body["items"], reply.body["total"]) == ([], 0)


async def test_get_of_anothers_execution_is_not_found(
    intruder: Api, tenant: Tenant, mine: dict[str, Any]
) -> None:
    eid = add_execution(tenant, mine)
    reply = await intruder.get(f"/executions/{eid}")
    assert (reply.status, reply.code) == (404, "not_found")


async def test_execution_list_does_not_show_anothers_executions(
    intruder: Api, tenant: Tenant, mine: dict[str, Any]
) -> None:
    add_execution(tenant, mine)
    reply = await intruder.get("/executions", params={"reminder_id": str(mine["id"])})
    assert (reply.body["items"], reply.body["total"]) == ([], 0)


async def test_unfiltered_execution_list_does_not_show_anothers_executions(
    intruder: Api, tenant: Tenant
) -> None:
    add_execution(tenant, None)
    reply = await intruder.get("/executions")
    assert reply.body["total"] == 0
