"""Usage events in the core: queued in memory, flushed in one batch, listed per user."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.errors import InsufficientScope, StorageUnavailable, ValidationFailed
from dialcues_core.kernel.paging import Page
from dialcues_core.platform.usage import UsageEvent, UsageLog, UsageQuery, flush_every

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def platform(any_url: str) -> Iterator[Dialcues]:
    """The platform on each backend in turn."""
    dc = Dialcues.open(settings=settings_for(any_url))
    yield dc
    dc.close()


@pytest.fixture
def owner(platform: Dialcues) -> Tenant:
    return make_tenant(platform)


def event(tenant: Tenant | None, seconds: int = 0, **changes: object) -> UsageEvent:
    """An event of ``tenant`` (None: failed authentication), ``seconds`` after T0."""
    base = UsageEvent(
        occurred_at=T0 + timedelta(seconds=seconds),
        request_id=f"req-{seconds}",
        api_key_id=tenant.principal.api_key_id if tenant else None,
        client_id=None,
        user_id=tenant.user.id if tenant else None,
        organization_id=tenant.org.id if tenant else None,
        method="GET",
        route="/reminders",
        status=200,
        code=None,
        latency_ms=1.5,
    )
    return base._replace(**changes)


def record_all(dc: Dialcues, events: Sequence[UsageEvent]) -> None:
    for item in events:
        dc.usage.record(item)
    dc.usage.flush()


def test_record_only_queues_and_flush_writes_everything(platform: Dialcues, owner: Tenant) -> None:
    platform.usage.record(event(owner, 1))
    platform.usage.record(event(None, 2, status=401, code="unauthorized", route=None))
    assert platform.usage.pending == 2
    assert platform.usage.list(owner.principal, {}).total == 0
    assert platform.usage.flush() == 2
    assert platform.usage.pending == 0
    assert platform.usage.flush() == 0


def test_listing_is_newest_first_with_every_field(platform: Dialcues, owner: Tenant) -> None:
    record_all(
        platform, [event(owner, 1), event(owner, 3, idempotent_replay=True, deprecated=True)]
    )
    found = platform.usage.list(owner.principal, {})
    assert [e.request_id for e in found.items] == ["req-3", "req-1"]
    newest = found.items[0]
    assert newest.id is not None and newest.idempotent_replay and newest.deprecated
    assert newest == event(owner, 3, idempotent_replay=True, deprecated=True)._replace(id=newest.id)
    assert not found.items[1].deprecated


def test_listing_pages_like_reminders(platform: Dialcues, owner: Tenant) -> None:
    record_all(platform, [event(owner, n) for n in range(5)])
    found = platform.usage.list(owner.principal, {"page": "2", "page_size": "2"})
    assert (found.total, found.page, found.page_size, found.total_pages) == (5, 2, 2, 3)
    assert [e.request_id for e in found.items] == ["req-2", "req-1"]


def test_listing_shows_only_the_users_own_events(platform: Dialcues, owner: Tenant) -> None:
    other = make_tenant(platform, org=owner.org)
    record_all(platform, [event(owner, 1), event(other, 2), event(None, 3)])
    assert [e.request_id for e in platform.usage.list(owner.principal, {}).items] == ["req-1"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"date_from": "2026-03-01T12:00:02Z"}, ["req-4", "req-3", "req-2"]),
        ({"date_to": "2026-03-01T12:00:02Z"}, ["req-1"]),
        ({"route": "/reminders/{id}"}, ["req-3"]),
        ({"status": "404"}, ["req-2"]),
        ({"code": "insufficient_scope"}, ["req-4"]),
        ({"deprecated": "true"}, ["req-3"]),
        ({"deprecated": "false"}, ["req-4", "req-2", "req-1"]),
    ],
    ids=["date_from", "date_to", "route", "status", "code", "deprecated", "not_deprecated"],
)
def test_listing_filters(
    platform: Dialcues, owner: Tenant, params: dict[str, str], expected: list[str]
) -> None:
    record_all(
        platform,
        [
            event(owner, 1),
            event(owner, 2, status=404, code="not_found", route=None),
            event(owner, 3, route="/reminders/{id}", deprecated=True),
            event(owner, 4, status=403, code="insufficient_scope"),
        ],
    )
    assert [e.request_id for e in platform.usage.list(owner.principal, params).items] == expected


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "red"},
        {"status": "ok"},
        {"date_from": "yesterday"},
        {"page_size": "101"},
        {"deprecated": "1"},
    ],
)
def test_bad_listing_parameters_are_validation_errors(
    platform: Dialcues, owner: Tenant, params: dict[str, str]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        platform.usage.list(owner.principal, params)
    assert set(caught.value.fields) == set(params)


def test_listing_needs_the_usage_read_scope(platform: Dialcues, owner: Tenant) -> None:
    principal = dataclasses.replace(owner.principal, scopes=frozenset({"reminders:read"}))
    with pytest.raises(InsufficientScope):
        platform.usage.list(principal, {})


class FailingOnce:
    """A repository whose first insert fails as a database outage would."""

    def __init__(self) -> None:
        self.stored: list[UsageEvent] = []
        self.failed = False

    def add_many(self, events: Sequence[UsageEvent]) -> None:
        if not self.failed:
            self.failed = True
            raise StorageUnavailable()
        self.stored.extend(events)

    def list(self, user_id: str, query: UsageQuery) -> Page[UsageEvent]:
        raise NotImplementedError


def test_a_failed_flush_keeps_the_events_for_the_next(dc: Dialcues) -> None:
    repo = FailingOnce()
    usage = UsageLog(repo, dc.transactions)
    usage.record(event(None, 1))
    with pytest.raises(StorageUnavailable):
        usage.flush()
    usage.record(event(None, 2))
    assert usage.flush() == 2
    assert [e.request_id for e in repo.stored] == ["req-1", "req-2"]


async def test_a_full_batch_wakes_the_flusher(dc: Dialcues) -> None:
    dc.usage.batch_size = 3
    flushed = asyncio.Event()

    async def run(fn: Callable[[], int]) -> int:
        written = await asyncio.to_thread(fn)
        if written:
            flushed.set()
        return written

    task = asyncio.create_task(flush_every(dc.usage, run, seconds=3600))
    await asyncio.sleep(0)  # let the flusher install its wake-up
    for n in range(3):
        dc.usage.record(event(None, n))
    await asyncio.wait_for(flushed.wait(), 10)
    task.cancel()
    assert dc.usage.pending == 0
