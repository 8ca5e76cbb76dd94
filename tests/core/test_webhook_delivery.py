"""The delivery policy over the real outbox (SQLite and PostgreSQL): claim, retry, give up, disable.

No HTTP here: attempts' results are built by hand (the deliverer's HTTP side is tested end to
end in ``tests/e2e/test_webhook_delivery.py``). The clock is a :class:`FakeClock`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import WebhookDeliveryRow, WebhookOutboxRow
from dialcues_core.adapters.peewee.webhooks import PeeweeOutboxStore
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.dispatch.attempts import Finished
from dialcues_core.testing import FakeClock
from dialcues_core.webhooks.delivery import Deliveries
from dialcues_core.webhooks.model import AttemptResult, DueMessage

START = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://93.184.215.14/hooks"


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-01-01T00:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn."""
    platform = Dialcues.open(settings=settings_for(any_url, retry_delays=()), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One organization with a simulated default line and one user."""
    return make_tenant(dc)


def deliveries(dc: Dialcues, schedule: tuple[int, ...] = (10, 20)) -> Deliveries:
    """The delivery use cases with a fixed jitter draw (0.5: no spread)."""
    store = PeeweeOutboxStore(dc.db)
    return Deliveries(store, dc.transactions, dc.clock, schedule, rand=lambda: 0.5)


def one_message(dc: Dialcues, tenant: Tenant, clock: FakeClock, count: int = 1) -> str:
    """Subscribe to execution.started and start ``count`` calls; return the subscription id."""
    sid = dc.webhooks.create(
        tenant.principal, {"url": URL, "events": ["execution.started"]}
    ).subscription.id
    for _ in range(count):
        dc.reminders.create(
            tenant.principal,
            {
                "title": "T",
                "message": "M",
                "phone_number": "+14155550123",
                "timezone": "UTC",
                "scheduled_at": "2026-01-01T00:05:00Z",
            },
        )
    clock.set(START + timedelta(minutes=5))
    claimed = dc.attempts().claim(count)
    dc.attempts().finish(
        [Finished(c.execution.id, ExecutionStatus.COMPLETED, False, None) for c in claimed]
    )
    return sid


def result(message: DueMessage, at: datetime, status: int | None) -> AttemptResult:
    """An attempt's result: a status, or (None) a timeout."""
    return AttemptResult(message, status, 12, None if status else "timeout after 10 s", at)


def state() -> list[tuple[str, int]]:
    """Every message's status and attempt count."""
    return [(r.status, r.attempts) for r in WebhookOutboxRow.select().order_by(WebhookOutboxRow.id)]


def test_a_claimed_message_is_not_claimed_again_until_its_lease_ends(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    one_message(dc, tenant, clock)
    d = deliveries(dc)
    (first,) = d.claim(10)
    assert d.claim(10) == []
    clock.advance(61)
    (again,) = d.claim(10)
    assert (first.attempt, again.attempt, again.message_id) == (1, 2, first.message_id)


def test_success_delivers_and_logs(dc: Dialcues, tenant: Tenant, clock: FakeClock) -> None:
    sid = one_message(dc, tenant, clock)
    d = deliveries(dc)
    (message,) = d.claim(10)
    d.record([result(message, clock.now(), 204)])
    log = dc.webhooks.deliveries(tenant.principal, sid, {})
    assert state() == [("delivered", 1)]
    assert [(x.attempt, x.status_code, x.latency_ms) for x in log.items] == [(1, 204, 12)]


def test_failures_follow_the_schedule_then_give_up(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = one_message(dc, tenant, clock)
    d = deliveries(dc, schedule=(10, 20))
    waits = []
    for status in (500, None, 503):
        (message,) = d.claim(10)
        d.record([result(message, clock.now(), status)])
        due = d.next_due()
        waits.append((due - clock.now()).total_seconds() if due else None)
        if due:
            clock.set(due)
    log = dc.webhooks.deliveries(tenant.principal, sid, {})
    assert waits == [10.0, 20.0, None]
    assert state() == [("failed", 3)]
    assert [x.attempt for x in log.items] == [3, 2, 1]


def test_jitter_spreads_the_wait_by_ten_percent(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    one_message(dc, tenant, clock)
    store = PeeweeOutboxStore(dc.db)
    d = Deliveries(store, dc.transactions, dc.clock, (100,), rand=lambda: 1.0)
    (message,) = d.claim(10)
    d.record([result(message, clock.now(), 500)])
    due = d.next_due()
    assert due is not None and (due - clock.now()).total_seconds() == 110.0


def test_410_disables_the_subscription_at_once(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = one_message(dc, tenant, clock, count=2)
    d = deliveries(dc)
    (first,) = d.claim(1)
    d.record([result(first, clock.now(), 410)])
    found = dc.webhooks.get(tenant.principal, sid)
    assert (found.enabled, found.disabled_reason) == (False, "gone")
    assert d.claim(10) == []


def test_three_days_without_success_disable_the_subscription(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = one_message(dc, tenant, clock)
    d = deliveries(dc, schedule=(86_400,) * 5)
    for _ in range(4):
        (message,) = d.claim(10)
        d.record([result(message, clock.now(), 500)])
        clock.advance(86_400 * 1.1)
    found = dc.webhooks.get(tenant.principal, sid)
    assert (found.enabled, found.disabled_reason) == (False, "failing")


def test_a_success_resets_the_failing_streak(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = one_message(dc, tenant, clock)
    d = deliveries(dc, schedule=(86_400,) * 5)
    for status in (500, 500, 200):
        (message,) = d.claim(10)
        d.record([result(message, clock.now(), status)])
        clock.advance(86_400 * 1.1)
    found = dc.webhooks.get(tenant.principal, sid)
    assert (found.enabled, found.failing_since) == (True, None)


def test_concurrent_claims_take_disjoint_messages(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    one_message(dc, tenant, clock, count=40)
    d = deliveries(dc)

    def claim() -> list[str]:  # each call takes at most four of the one subscription
        taken: list[str] = []
        try:
            while batch := d.claim(15):
                taken += [m.message_id for m in batch]
            return taken
        finally:
            dc.db.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        batches = list(pool.map(lambda _: claim(), range(4)))
    taken = [m for batch in batches for m in batch]
    assert len(taken) == len(set(taken)) == 40


def test_next_due_ignores_messages_of_a_disabled_subscription(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = one_message(dc, tenant, clock)
    d = deliveries(dc)
    dc.webhooks.update(tenant.principal, sid, {"enabled": False})
    assert (d.next_due(), d.claim(10)) == (None, [])
    dc.webhooks.update(tenant.principal, sid, {"enabled": True})
    assert d.next_due() == clock.now()
    assert [m.attempt for m in d.claim(10)] == [1]


def test_a_claim_leaves_room_for_at_most_four_attempts_per_subscription(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = one_message(dc, tenant, clock, count=6)
    d = deliveries(dc)
    assert d.next_due({sid: 4}) is None
    assert len(d.claim(10, {sid: 3})) == 1
    assert len(d.claim(10)) == 4


@pytest.mark.parametrize("status", [204, 410, 500])
def test_a_result_of_an_attempt_whose_lease_was_taken_over_changes_nothing(
    dc: Dialcues, tenant: Tenant, clock: FakeClock, status: int
) -> None:
    sid = one_message(dc, tenant, clock)
    d = deliveries(dc)
    (stale,) = d.claim(10)
    clock.advance(61)
    (current,) = d.claim(10)  # another process took the message over
    d.record([result(stale, clock.now(), status)])
    found = dc.webhooks.get(tenant.principal, sid)
    log = dc.webhooks.deliveries(tenant.principal, sid, {})
    assert (found.enabled, found.failing_since, found.last_success_at) == (True, None, None)
    assert (log.items, state()) == ([], [("pending", 2)])
    d.record([result(current, clock.now(), 204)])
    log = dc.webhooks.deliveries(tenant.principal, sid, {})
    assert ([x.attempt for x in log.items], state()) == ([2], [("delivered", 2)])


def test_a_result_that_cannot_be_recorded_loses_only_itself(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = one_message(dc, tenant, clock, count=3)
    d = deliveries(dc)
    first, broken, last = d.claim(10)
    unwritable = AttemptResult(broken, 204, 2**70, None, clock.now())  # no integer column holds it
    d.record([result(first, clock.now(), 204), unwritable, result(last, clock.now(), 204)])
    log = dc.webhooks.deliveries(tenant.principal, sid, {})
    assert sorted(x.message_id for x in log.items) == sorted([first.message_id, last.message_id])
    assert sorted(state()) == [("delivered", 1), ("delivered", 1), ("pending", 1)]


@pytest.mark.postgres
def test_a_recording_chosen_as_a_deadlock_victim_is_run_again(
    postgres_url: str, clock: FakeClock
) -> None:
    import psycopg

    dc = Dialcues.open(settings=settings_for(postgres_url, retry_delays=()), clock=clock)
    try:
        tenant = make_tenant(dc)
        dc.webhooks.create(tenant.principal, {"url": URL, "events": ["execution.started"]})
        one_message(dc, tenant, clock)  # one message for each of the two subscriptions
        d = deliveries(dc)
        messages = sorted(d.claim(10), key=lambda m: m.subscription.id)
        first, second = (m.subscription.id for m in messages)
        lock = "UPDATE webhook_subscriptions SET updated_at = updated_at WHERE id = %s"
        with psycopg.connect(postgres_url) as other, ThreadPoolExecutor(2) as pool:
            other.execute(lock, [second])  # holds the second subscription's row

            def record() -> None:
                try:
                    d.record([result(m, clock.now(), 204) for m in messages])
                finally:
                    dc.db.close()

            recording = pool.submit(record)  # locks the first, then waits for the second
            time.sleep(0.3)
            crossing = pool.submit(other.execute, lock, [first])  # a cycle: PG picks a victim
            crossing.result(timeout=10)
            other.commit()
            recording.result(timeout=10)
        assert state() == [("delivered", 1), ("delivered", 1)]
        assert WebhookDeliveryRow.select().count() == 2
    finally:
        dc.close()
