"""``GET /reminders/{id}`` and ``GET /reminders``: one reminder, filters, sorts, paging."""

from __future__ import annotations

from typing import Any

from dialcues_core.testing import FakeClock
from rest.support import Api


def ids(reply_body: dict[str, Any]) -> list[int]:
    """Return the ids of a page's items, in order."""
    return [item["id"] for item in reply_body["items"]]


async def test_get_returns_the_reminder_as_created(api: Api) -> None:
    created = await api.create()
    reply = await api.get(f"/reminders/{created['id']}")
    assert (reply.status, reply.body) == (200, created)


async def test_get_of_an_unknown_id_is_not_found(api: Api) -> None:
    reply = await api.get("/reminders/999999")
    assert (reply.status, reply.code) == (404, "not_found")


async def test_get_of_a_non_numeric_id_is_not_found(api: Api) -> None:
    reply = await api.get("/reminders/abc")
    assert (reply.status, reply.code) == (404, "not_found")


async def test_list_is_a_page_with_items_and_counts(api: Api) -> None:
    created = await api.create()
    reply = await api.get("/reminders", params={"page_size": "5"})
    assert reply.body == {
        "items": [created],
        "total": 1,
        "page": 1,
        "page_size": 5,
        "total_pages": 1,
    }


async def test_empty_list_has_zero_total_pages(api: Api) -> None:
    reply = await api.get("/reminders")
    assert reply.body == {"items": [], "total": 0, "page": 1, "page_size": 20, "total_pages": 0}


async def test_pages_split_the_reminders(api: Api) -> None:
    for day in range(10, 15):
        await api.create(scheduled_at=f"2026-03-{day}T09:00:00")
    reply = await api.get("/reminders", params={"page": "3", "page_size": "2"})
    assert (len(reply.body["items"]), reply.body["total"], reply.body["total_pages"]) == (1, 5, 3)


async def test_page_past_the_end_is_empty(api: Api) -> None:
    await api.create()
    reply = await api.get("/reminders", params={"page": "2"})
    assert (reply.body["items"], reply.body["total"]) == ([], 1)


async def test_default_sort_is_scheduled_at_ascending(api: Api) -> None:
    late = await api.create(scheduled_at="2026-03-20T09:00:00")
    early = await api.create(scheduled_at="2026-03-10T09:00:00")
    assert ids((await api.get("/reminders")).body) == [early["id"], late["id"]]


async def test_sort_scheduled_at_desc_puts_the_latest_first(api: Api) -> None:
    early = await api.create(scheduled_at="2026-03-10T09:00:00")
    late = await api.create(scheduled_at="2026-03-20T09:00:00")
    reply = await api.get("/reminders", params={"sort": "scheduled_at_desc"})
    assert ids(reply.body) == [late["id"], early["id"]]


async def test_sort_updated_at_desc_puts_the_last_edited_first(api: Api, clock: FakeClock) -> None:
    first = await api.create(title="First")
    second = await api.create(title="Second")
    clock.advance(60)
    await api.patch(f"/reminders/{first['id']}", json={"title": "First, edited"})
    reply = await api.get("/reminders", params={"sort": "updated_at_desc"})
    assert ids(reply.body) == [first["id"], second["id"]]


async def test_status_filter_keeps_only_that_status(api: Api) -> None:
    paused = await api.create()
    await api.create()
    await api.patch(f"/reminders/{paused['id']}", json={"status": "paused"})
    reply = await api.get("/reminders", params={"status": "paused"})
    assert ids(reply.body) == [paused["id"]]


async def test_search_is_case_insensitive_beyond_ascii(api: Api) -> None:
    school = await api.create(title="École pickup")
    await api.create(title="Gym")
    reply = await api.get("/reminders", params={"search": "école"})
    assert ids(reply.body) == [school["id"]]


async def test_search_matches_the_message_too(api: Api) -> None:
    match = await api.create(message="Call the DENTIST back")
    await api.create()
    reply = await api.get("/reminders", params={"search": "dentist"})
    assert ids(reply.body) == [match["id"]]


async def test_date_from_is_inclusive_and_date_to_exclusive(api: Api) -> None:
    before = await api.create(scheduled_at="2026-03-10T08:59:59Z")
    at_from = await api.create(scheduled_at="2026-03-10T09:00:00Z")
    at_to = await api.create(scheduled_at="2026-03-20T09:00:00Z")
    params = {"date_from": "2026-03-10T09:00:00Z", "date_to": "2026-03-20T09:00:00Z"}
    listed = ids((await api.get("/reminders", params=params)).body)
    assert (at_from["id"] in listed, before["id"] in listed, at_to["id"] in listed) == (
        True,
        False,
        False,
    )


async def test_date_bound_without_offset_is_utc(api: Api) -> None:
    await api.create(scheduled_at="2026-03-10T09:00:00Z")
    reply = await api.get("/reminders", params={"date_from": "2026-03-10T09:00:01"})
    assert reply.body["total"] == 0


async def test_page_size_over_100_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params={"page_size": "101"})
    assert (reply.status, list(reply.fields)) == (400, ["page_size"])


async def test_page_size_zero_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params={"page_size": "0"})
    assert (reply.code, list(reply.fields)) == ("validation_error", ["page_size"])


async def test_page_zero_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params={"page": "0"})
    assert list(reply.fields) == ["page"]


async def test_unknown_sort_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params={"sort": "title_asc"})
    assert list(reply.fields) == ["sort"]


async def test_unknown_status_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params={"status": "done"})
    assert list(reply.fields) == ["status"]


async def test_bad_date_bound_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params={"date_to": "next week"})
    assert list(reply.fields) == ["date_to"]


async def test_empty_search_is_a_validation_error_not_ignored(api: Api) -> None:
    reply = await api.get("/reminders", params={"search": ""})
    assert list(reply.fields) == ["search"]


async def test_unknown_query_parameter_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params={"limit": "5"})
    assert (reply.code, reply.fields) == ("validation_error", {"limit": "is not a known field"})


async def test_repeated_query_parameter_is_a_validation_error(api: Api) -> None:
    reply = await api.get("/reminders", params=[("status", "paused"), ("status", "scheduled")])
    assert (reply.code, list(reply.fields)) == ("validation_error", ["status"])


async def test_get_one_rejects_a_query_parameter(api: Api) -> None:
    created = await api.create()
    reply = await api.get(f"/reminders/{created['id']}", params={"fields": "title"})
    assert (reply.status, reply.code) == (400, "validation_error")
