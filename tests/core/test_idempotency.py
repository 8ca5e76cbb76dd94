"""The core's idempotency keys, on every backend (SQLite file, PostgreSQL).

The effects are real reminder creates (``dc.reminders.create``) so that "nothing changed"
and "ran once" are counted in the database. Time is a :class:`FakeClock`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.adapters.peewee.tables import IdempotencyRow, ReminderRow
from dialcues_core.errors import (
    IdempotencyInProgress,
    IdempotencyMismatch,
    InsufficientScope,
    ValidationFailed,
)
from dialcues_core.kernel.scopes import recording_scopes
from dialcues_core.platform.idempotency import StoredReply
from dialcues_core.platform.ports import IdempotencyRecord
from dialcues_core.reminders.model import Reminder
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn."""
    platform = Dialcues.open(settings=settings_for(any_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def alice(dc: Dialcues) -> Tenant:
    """A tenant with a default line."""
    return make_tenant(dc)


def payload(**changes: Any) -> dict[str, Any]:
    """A valid create payload (a one-off in 2026)."""
    body = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155552671",
        "timezone": "America/New_York",
        "scheduled_at": "2026-03-25T09:00:00",
    }
    return body | changes


def render(reminder: Reminder) -> StoredReply:
    """Render a created reminder as a tiny stored reply."""
    return StoredReply(201, str(reminder.id).encode(), "text/plain")


class Creates:
    """Run reminder creates through the idempotency use case, counting the effects."""

    def __init__(self, dc: Dialcues, tenant: Tenant):
        self.dc, self.tenant, self.effects = dc, tenant, 0

    def effect(self, body: dict[str, Any]) -> Callable[[], Reminder]:
        """Return the create of ``body`` as an effect that counts its runs."""

        def create() -> Reminder:
            self.effects += 1
            return self.dc.reminders.create(self.tenant.principal, body)

        return create

    def run(self, key: str | None, fingerprint: bytes = b"POST /reminders", **kw: Any) -> Any:
        """Create through ``dc.idempotency`` with ``key``."""
        effect = self.effect(payload(**kw))
        return self.dc.idempotency.run(self.tenant.principal, key, fingerprint, effect, render)


@pytest.fixture
def creates(dc: Dialcues, alice: Tenant) -> Creates:
    """Alice's creates."""
    return Creates(dc, alice)


def reminders() -> int:
    """Return how many reminders are stored."""
    return int(ReminderRow.select().count())


def keys() -> int:
    """Return how many idempotency keys are stored."""
    return int(IdempotencyRow.select().count())


def in_other_thread(dc: Dialcues, fn: Callable[[], T]) -> T:
    """Run ``fn`` on another thread (its own connection), closing that connection after."""

    def call() -> T:
        try:
            return fn()
        finally:
            dc.db.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


# ----------------------------------------------------------------------------- replay
def test_without_a_key_the_effect_runs_every_time(creates: Creates) -> None:
    first, second = creates.run(None), creates.run(None)
    assert (first.replayed, second.replayed) == (False, False)
    assert creates.effects == 2 and reminders() == 2 and keys() == 0


def test_the_same_key_runs_once_and_replays_the_stored_reply(creates: Creates) -> None:
    first = creates.run("order-1")
    again = [creates.run("order-1") for _ in range(3)]
    assert creates.effects == 1 and reminders() == 1
    assert not first.replayed and all(o.replayed for o in again)
    assert {o.reply for o in again} == {first.reply}


def test_the_same_key_with_another_fingerprint_is_a_mismatch(creates: Creates) -> None:
    creates.run("order-1")
    with pytest.raises(IdempotencyMismatch):
        creates.run("order-1", fingerprint=b"PATCH /reminders/1")
    assert creates.effects == 1


def test_keys_are_scoped_to_the_user(dc: Dialcues, creates: Creates) -> None:
    bob = Creates(dc, make_tenant(dc))
    creates.run("shared"), bob.run("shared")
    assert (creates.effects, bob.effects) == (1, 1) and reminders() == 2


# ----------------------------------------------------------------------------- scopes
def test_recording_scopes_collects_each_required_scope_once(alice: Tenant) -> None:
    who = alice.principal
    who.require("reminders:read")  # outside any recording: nothing kept
    with recording_scopes() as outer:
        who.require("reminders:write")
        with recording_scopes() as inner:
            who.require("webhooks:manage")
            who.require("reminders:write")
        who.require("reminders:write")
    narrow = Principal(alice.user, None, frozenset({"reminders:read"}))
    with recording_scopes() as refused, pytest.raises(InsufficientScope):
        narrow.require("calls:write")
    assert inner == ["webhooks:manage", "reminders:write"]
    assert outer == ["reminders:write", "webhooks:manage"]
    assert refused == ["calls:write"]


def test_the_reply_is_stored_with_the_scopes_its_use_case_required(creates: Creates) -> None:
    creates.run("order-1")
    stored = creates.dc.idempotency.store.get(creates.tenant.user.id, "order-1")
    assert stored is not None and stored.scopes == ("reminders:write",)


def test_a_replay_demands_the_stored_scopes_before_the_fingerprint(
    dc: Dialcues, creates: Creates
) -> None:
    first = creates.run("order-1")
    narrow = Principal(creates.tenant.user, "other-key", frozenset({"reminders:read"}))
    for fingerprint in (b"POST /reminders", b"PATCH /reminders/1"):
        with pytest.raises(InsufficientScope) as refused:
            dc.idempotency.run(narrow, "order-1", fingerprint, creates.effect(payload()), render)
        assert refused.value.details == {"scope": "reminders:write"}
    again = creates.run("order-1")
    assert again.replayed and again.reply == first.reply and creates.effects == 1


# ----------------------------------------------------------------------------- claims
def test_a_key_whose_request_still_runs_is_in_progress(dc: Dialcues, creates: Creates) -> None:
    seen: list[BaseException] = []

    def effect_and_second_request() -> Reminder:
        try:
            in_other_thread(dc, lambda: creates.run("order-1"))
        except IdempotencyInProgress as exc:
            seen.append(exc)
        return creates.effect(payload())()

    who, effect = creates.tenant.principal, effect_and_second_request
    dc.idempotency.run(who, "order-1", b"POST /reminders", effect, render)
    assert len(seen) == 1 and reminders() == 1


def test_a_claim_whose_lease_expired_is_taken_over_once(
    dc: Dialcues, creates: Creates, clock: FakeClock
) -> None:
    dead = IdempotencyRecord(creates.tenant.user.id, "order-1", _digest(), START, START)
    with dc.transactions.atomic():
        assert dc.idempotency.store.insert(dead)
    with pytest.raises(IdempotencyInProgress):
        creates.run("order-1")
    clock.advance(31)
    assert not creates.run("order-1").replayed
    assert creates.run("order-1").replayed and creates.effects == 1


def test_only_one_taker_wins_an_expired_lease(dc: Dialcues, alice: Tenant) -> None:
    store, later = dc.idempotency.store, datetime(2026, 3, 1, 12, 1, tzinfo=UTC)
    store.insert(IdempotencyRecord(alice.user.id, "k", "f", START, START))
    assert store.take_over(alice.user.id, "k", later, later.replace(minute=2))
    assert not store.take_over(alice.user.id, "k", later, later.replace(minute=3))


def test_a_claim_taken_over_meanwhile_undoes_the_slow_request(
    dc: Dialcues, creates: Creates, clock: FakeClock
) -> None:
    def slow_effect() -> Reminder:
        created = creates.effect(payload())()
        clock.advance(31)  # our lease ran out and another request took the key over
        now = clock.now()
        dc.idempotency.store.take_over(creates.tenant.user.id, "k", now, now.replace(hour=13))
        return created

    with pytest.raises(IdempotencyInProgress):
        dc.idempotency.run(creates.tenant.principal, "k", b"POST /reminders", slow_effect, render)
    assert reminders() == 0


# ----------------------------------------------------------------------------- failures
def test_a_refused_request_releases_its_key(creates: Creates) -> None:
    with pytest.raises(ValidationFailed):
        creates.run("order-1", title="")
    assert keys() == 0
    assert not creates.run("order-1").replayed and reminders() == 1


def test_a_failure_after_the_effect_rolls_the_effect_back(dc: Dialcues, creates: Creates) -> None:
    def broken_render(reminder: Reminder) -> StoredReply:
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError):
        who, effect = creates.tenant.principal, creates.effect(payload())
        dc.idempotency.run(who, "order-1", b"POST /reminders", effect, broken_render)
    assert reminders() == 0 and keys() == 0


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "tab\there", "nul\x00", "caf\u00e9"],
    ids=["empty", "256", "tab", "nul", "é"],
)
def test_an_invalid_key_is_a_validation_error(creates: Creates, key: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        creates.run(key)
    assert list(caught.value.fields) == ["Idempotency-Key"]
    assert creates.effects == 0 and keys() == 0


def test_a_255_character_key_with_spaces_is_valid(creates: Creates) -> None:
    assert not creates.run("a b~" + "k" * 251).replayed


# ----------------------------------------------------------------------------- keeping
def test_sweep_removes_keys_older_than_24_hours(
    dc: Dialcues, creates: Creates, clock: FakeClock
) -> None:
    creates.run("old")
    clock.advance(23 * 3600)
    creates.run("young")
    clock.advance(3601)
    assert dc.idempotency.sweep() == 1
    assert [r.key for r in IdempotencyRow.select()] == ["young"]


def test_a_key_older_than_24_hours_runs_afresh(creates: Creates, clock: FakeClock) -> None:
    creates.run("order-1")
    clock.advance(24 * 3600 + 1)
    assert not creates.run("order-1", fingerprint=b"another request").replayed
    assert creates.effects == 2


# ----------------------------------------------------------------------------- wake-ups
def test_listeners_fire_again_once_the_effect_is_committed(dc: Dialcues, creates: Creates) -> None:
    visible: list[int] = []
    dc.reminders.listeners.append(lambda _due: visible.append(in_other_thread(dc, reminders)))
    creates.run("order-1")
    assert visible == [0, 1]  # inside the effect's transaction, then after its commit


def _digest() -> str:
    return hashlib.sha256(b"POST /reminders").hexdigest()
