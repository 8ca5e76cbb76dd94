"""An ``external`` call whose deadline passed with nobody waiting (its handler's process died):
a late answer stores the line's fallback and is 409 ``call_already_answered`` naming it, so the
execution is never left undecided (``telephony.md`` §3.4). And an operator's ring with a
malformed caller is a ``validation_error`` naming ``from``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.errors import CallAlreadyAnswered, ValidationFailed
from dialcues_core.testing import FakeClock

ROUTE = {"type": "external", "timeout_ms": 1000, "fallback": {"type": "message", "text": "Later."}}


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=FakeClock())
    yield platform
    platform.close()


def test_a_late_answer_with_no_waiting_handler_stores_the_fallback(dc: Dialcues) -> None:
    org = dc.accounts.create_organization("Acme")
    user = dc.accounts.create_user(org.id, "a@example.com", "A")
    me = dc.as_user(user.id)
    line = dc.accounts.add_line(org.id, "simulated", "+14155550100")
    dc.lines.update(me, line.id, {"route": ROUTE})
    waiting = dc.inbound.ring_line(org.id, line.id, "+14155552671")
    assert waiting.execution_id is not None and waiting.route is None
    assert isinstance(dc.clock, FakeClock)
    dc.clock.advance(2)

    with pytest.raises(CallAlreadyAnswered) as refused:
        dc.inbound.answer(me, {"execution_id": waiting.execution_id, "route": {"type": "reject"}})

    assert refused.value.details == {"route": ROUTE["fallback"]}
    stored = dc.inbound.execution(waiting.execution_id)
    assert stored is not None and stored.route == ROUTE["fallback"]


def test_a_ring_from_a_malformed_number_names_from(dc: Dialcues) -> None:
    org = dc.accounts.create_organization("Acme")
    line = dc.accounts.add_line(org.id, "simulated", "+14155550100")
    with pytest.raises(ValidationFailed) as refused:
        dc.inbound.ring_line(org.id, line.id, "bogus")
    assert set(refused.value.fields) == {"from"}
