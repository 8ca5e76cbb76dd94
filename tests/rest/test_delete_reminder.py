"""``DELETE /reminders/{id}``: 204, gone for good, executions kept."""

from __future__ import annotations

from support.platform import Tenant

from rest.support import Api, add_execution, set_reminder


async def test_delete_answers_204_with_an_empty_body(api: Api) -> None:
    created = await api.create()
    reply = await api.delete(f"/reminders/{created['id']}")
    assert (reply.status, reply.text) == (204, "")


async def test_deleted_reminder_is_not_found(api: Api) -> None:
    created = await api.create()
    await api.delete(f"/reminders/{created['id']}")
    reply = await api.get(f"/reminders/{created['id']}")
    assert (reply.status, reply.code) == (404, "not_found")


async def test_deleting_twice_is_not_found(api: Api) -> None:
    created = await api.create()
    await api.delete(f"/reminders/{created['id']}")
    reply = await api.delete(f"/reminders/{created['id']}")
    assert reply.code == "not_found"


async def test_executions_of_a_deleted_reminder_stay_listed(api: Api, tenant: Tenant) -> None:
    created = await api.create()
    execution_id = add_execution(tenant, created)
    await api.delete(f"/reminders/{created['id']}")
    item = (await api.get("/executions")).body["items"][0]
    assert (item["id"], item["reminder_id"], item["reminder_title"]) == (
        execution_id,
        created["id"],
        "Stand-up",
    )


async def test_a_reminder_in_progress_can_be_deleted(api: Api) -> None:
    created = await api.create()
    set_reminder(created["id"], status="in_progress", due_at=None)
    reply = await api.delete(f"/reminders/{created['id']}")
    assert reply.status == 204


async def test_completed_reminder_can_be_deleted(api: Api) -> None:
    created = await api.create()
    set_reminder(created["id"], status="completed", due_at=None)
    reply = await api.delete(f"/reminders/{created['id']}")
    assert reply.status == 204
