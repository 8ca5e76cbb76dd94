"""A hold whose request ended between its claim and its result (an error, a lost connection)
leaves a claim without a reservation; the organization's next hold of that number takes it
over after a few seconds instead of waiting out the provisional minute (``telephony.md`` §2.3;
seen in CI as a 10 s client timeout)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.numbers.model import NumberStatus
from dialcues_core.numbers.service import ABANDONED_RESERVING
from dialcues_core.testing import FakeClock

NUMBER = "+14155550177"


@pytest.fixture
def platform(any_url: str) -> Iterator[tuple[Dialcues, FakeClock]]:
    clock = FakeClock(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    dc = Dialcues.open(settings=settings_for(any_url), clock=clock)
    yield dc, clock
    dc.close()


def test_an_abandoned_claim_is_taken_over_by_the_next_hold(
    platform: tuple[Dialcues, FakeClock],
) -> None:
    dc, clock = platform
    org = dc.accounts.create_organization("Acme").id
    abandoned, fresh = dc.numbers._claim(org, NUMBER, None)  # the first step only
    assert fresh and abandoned.reservation_id is None

    clock.advance(ABANDONED_RESERVING.total_seconds() + 1)
    record, new = dc.numbers.hold_for(org, {"number": NUMBER}).run()

    assert new and record.id != abandoned.id
    assert record.status_at(clock.now()) is NumberStatus.HELD
    assert record.reservation_id is not None
    assert dc.numbers.deps.store.get(abandoned.id) is None
