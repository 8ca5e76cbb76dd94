"""Carrier event ids are remembered seven days (``telephony.md`` §1.4): within them a duplicate
changes nothing; the sender forgets older ones a batch at a time (its housekeeping)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.messages.sender import EVENT_IDS_KEPT, Sending
from dialcues_core.messages.texts import Texts
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)


@pytest.fixture
def platform(any_url: str) -> Iterator[tuple[Dialcues, FakeClock]]:
    clock = FakeClock(START)
    dc = Dialcues.open(settings=settings_for(any_url), clock=clock)
    yield dc, clock
    dc.close()


def test_ids_are_forgotten_after_seven_days_and_not_before(
    platform: tuple[Dialcues, FakeClock],
) -> None:
    dc, clock = platform
    store = dc.message_deps.store
    sending = Sending(dc.message_deps, Texts(dc.message_deps))
    with dc.transactions.atomic():
        assert store.first_time("evt-old", "org_a", clock.now())
    clock.advance(3600)
    with dc.transactions.atomic():
        assert store.first_time("evt-new", "org_a", clock.now())
        assert not store.first_time("evt-old", "org_a", clock.now())  # a duplicate

    clock.set(START + EVENT_IDS_KEPT)
    assert sending.forget_old_events() == 0  # exactly seven days: still remembered
    clock.advance(1)
    assert sending.forget_old_events() == 1
    with dc.transactions.atomic():
        assert store.first_time("evt-old", "org_a", clock.now())  # forgotten: new again
        assert not store.first_time("evt-new", "org_a", clock.now())
