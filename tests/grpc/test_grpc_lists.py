"""ListReminders and ListExecutions: filters, numbered pages and AIP-158 page tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import timestamp_pb2
from grpc_support import Stubs, add_execution, fails, local
from support.platform import Tenant

from dialcues_grpc._pb.dialcues.v1 import executions_pb2, reminders_pb2

R = reminders_pb2
E = executions_pb2


def ts(moment: datetime) -> timestamp_pb2.Timestamp:
    """Return ``moment`` as a Timestamp."""
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment)
    return out


@pytest.fixture
async def five(api: Stubs) -> list[int]:
    """Five reminders on 2030-03-21 … 25 at 09:00 New York; the third is paused."""
    ids = []
    for day in range(21, 26):
        created = await api.create(
            title=f"Day {day}", scheduled_at=local(f"2030-03-{day}T09:00:00")
        )
        ids.append(created.id)
    await api.reminders.PauseReminder(R.PauseReminderRequest(id=ids[2]), metadata=api.md)
    return ids


async def list_reminders(api: Stubs, **fields: object) -> R.ListRemindersResponse:
    """Call ListReminders with ``fields``."""
    return await api.reminders.ListReminders(R.ListRemindersRequest(**fields), metadata=api.md)


async def test_list_pages_by_number_like_rest(api: Stubs, five: list[int]) -> None:
    page = await list_reminders(api, page=2, page_size=2)
    assert [r.id for r in page.items] == five[2:4]
    assert (page.total, page.page, page.page_size, page.total_pages) == (5, 2, 2, 3)
    assert page.next_page_token


async def test_list_defaults_to_the_first_page_of_twenty(api: Stubs, five: list[int]) -> None:
    page = await list_reminders(api)
    assert (page.total, page.page, page.page_size, page.total_pages) == (5, 1, 20, 1)
    assert page.next_page_token == ""


async def test_list_filters_and_sorts(api: Stubs, five: list[int]) -> None:
    paused = await list_reminders(api, status=R.REMINDER_STATUS_PAUSED)
    assert [r.id for r in paused.items] == [five[2]]
    ranged = await list_reminders(
        api,
        date_from=ts(datetime(2030, 3, 22, 13, tzinfo=UTC)),
        date_to=ts(datetime(2030, 3, 24, 13, tzinfo=UTC)),
        sort=R.REMINDER_SORT_SCHEDULED_AT_DESC,
    )
    assert [r.id for r in ranged.items] == [five[2], five[1]]
    found = await list_reminders(api, search="DAY 24")
    assert [r.id for r in found.items] == [five[3]]


async def test_an_empty_listing_has_no_pages(api: Stubs) -> None:
    page = await list_reminders(api, status=R.REMINDER_STATUS_FAILED)
    assert (page.total, page.total_pages, page.next_page_token) == (0, 0, "")


async def test_page_tokens_walk_every_page_once(api: Stubs, five: list[int]) -> None:
    request = R.ListRemindersRequest(page_size=2, sort=R.REMINDER_SORT_SCHEDULED_AT_DESC)
    seen: list[int] = []
    while True:
        page = await api.reminders.ListReminders(request, metadata=api.md)
        seen += [r.id for r in page.items]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert seen == five[::-1]


async def test_a_page_token_with_other_filters_is_refused(api: Stubs, five: list[int]) -> None:
    token = (await list_reminders(api, page_size=2)).next_page_token
    failed = await fails(list_reminders(api, page_token=token, search="Day"))
    assert failed.violations == {"page_token": "was returned for other filters"}


async def test_a_page_token_with_a_page_number_is_refused(api: Stubs, five: list[int]) -> None:
    token = (await list_reminders(api, page_size=2)).next_page_token
    failed = await fails(list_reminders(api, page_token=token, page=1))
    assert failed.violations == {"page_token": "cannot be combined with page"}


async def test_a_page_token_with_another_page_size_is_refused(api: Stubs, five: list[int]) -> None:
    token = (await list_reminders(api, page_size=2)).next_page_token
    failed = await fails(list_reminders(api, page_token=token, page_size=3))
    assert failed.violations == {"page_size": "must not change while paging with page_token"}


async def test_a_forged_page_token_is_refused(api: Stubs) -> None:
    failed = await fails(list_reminders(api, page_token="not-a-token"))
    assert failed.violations == {"page_token": "is not a page token returned by this listing"}


async def test_bad_paging_values_are_named(api: Stubs) -> None:
    failed = await fails(list_reminders(api, page=0, page_size=101))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.violations == {
        "page": "must be an integer from 1 to 92233720368547758",
        "page_size": "must be an integer from 1 to 100",
    }


async def test_an_unknown_status_number_is_refused(api: Stubs) -> None:
    failed = await fails(list_reminders(api, status=42))
    assert set(failed.violations) == {"status"}


# ----------------------------------------------------------------------------- executions
async def test_list_executions_newest_first_with_filters(api: Stubs, tenant: Tenant) -> None:
    rid = (await api.create()).id
    first = add_execution(tenant, rid, status="no_answer")
    second = add_execution(tenant, rid, status="completed", attempt=2)
    third = add_execution(tenant, None, status="failed")
    page = await api.executions.ListExecutions(E.ListExecutionsRequest(), metadata=api.md)
    assert [e.id for e in page.items] == [third, second, first]
    assert (page.total, page.total_pages) == (3, 1)
    mine = await api.executions.ListExecutions(
        E.ListExecutionsRequest(reminder_id=rid, status=E.EXECUTION_STATUS_NO_ANSWER),
        metadata=api.md,
    )
    assert [e.id for e in mine.items] == [first]


async def test_execution_page_tokens_walk_every_page(api: Stubs, tenant: Tenant) -> None:
    ids = [add_execution(tenant, None) for _ in range(3)]
    request = E.ListExecutionsRequest(page_size=2)
    seen: list[int] = []
    while True:
        page = await api.executions.ListExecutions(request, metadata=api.md)
        seen += [e.id for e in page.items]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert seen == ids[::-1]


async def test_a_reminder_token_is_refused_by_the_execution_listing(
    api: Stubs, five: list[int]
) -> None:
    token = (await list_reminders(api, page_size=2)).next_page_token
    failed = await fails(
        api.executions.ListExecutions(
            E.ListExecutionsRequest(page_token=token, page_size=2), metadata=api.md
        )
    )
    assert failed.violations == {"page_token": "was returned for other filters"}
