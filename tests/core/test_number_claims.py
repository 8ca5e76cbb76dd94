"""The claim keeps one organization per number through every path (``telephony.md`` §2.1):
a hold lapsed and taken by another organization is ``number_held`` at once for the first one
(never a wait), and an extension or an assign that lands after the claim changed hands is
``hold_expired`` (the other organization's claim stands). Inbound outcomes follow their route's
rows (§3.3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.calls.outcomes import classify_inbound
from dialcues_core.errors import HoldExpired, NumberHeld
from dialcues_core.testing import FakeClock

NUMBER = "+14155550142"


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=FakeClock())
    yield platform
    platform.close()


def user_of(dc: Dialcues, name: str) -> Principal:
    org = dc.accounts.create_organization(name)
    user = dc.accounts.create_user(org.id, f"{name.lower()}@example.com", name)
    return dc.as_user(user.id)


def advance(dc: Dialcues, seconds: float) -> None:
    assert isinstance(dc.clock, FakeClock)
    dc.clock.advance(seconds)


def test_a_lapsed_hold_taken_by_another_organization_is_number_held_at_once(dc: Dialcues) -> None:
    a, b = user_of(dc, "Acme"), user_of(dc, "Beta")
    dc.numbers.hold(a, {"number": NUMBER}).run()
    advance(dc, 31 * 60)
    _, created = dc.numbers.hold(b, {"number": NUMBER}).run()
    assert created
    with pytest.raises(NumberHeld):
        dc.numbers.hold(a, {"number": NUMBER}).run()


def test_an_extension_landing_after_the_claim_changed_hands_is_hold_expired(dc: Dialcues) -> None:
    a, b = user_of(dc, "Acme"), user_of(dc, "Beta")
    dc.numbers.hold(a, {"number": NUMBER}).run()
    extension = dc.numbers.extend(a, NUMBER)
    asked = extension.prepare()  # the carrier answered; the hold lapses before we commit
    advance(dc, 31 * 60)
    dc.numbers.hold(b, {"number": NUMBER}).run()
    with pytest.raises(HoldExpired):
        extension.finish(asked)
    with pytest.raises(HoldExpired):
        dc.numbers.assign(a, NUMBER)
    assert dc.numbers.assign(b, NUMBER).status.value == "ordering"


@pytest.mark.parametrize(
    ("reason", "route", "status"),
    [
        ("assistant-request-returned-error", "message", ExecutionStatus.COMPLETED),
        ("assistant-request-returned-error", "reject", ExecutionStatus.COMPLETED),
        ("assistant-request-returned-error", "reminders_readback", ExecutionStatus.COMPLETED),
        ("assistant-request-returned-error", "assistant", ExecutionStatus.FAILED),
        (
            "assistant-request-returned-forwarding-phone-number",
            "transfer",
            ExecutionStatus.COMPLETED,
        ),
        ("customer-ended-call", "assistant", ExecutionStatus.COMPLETED),
        ("customer-busy", "transfer", ExecutionStatus.BUSY),
    ],
)
def test_an_inbound_outcome_follows_its_routes_rows(
    reason: str, route: str, status: ExecutionStatus
) -> None:
    outcome = classify_inbound(reason, route)
    assert outcome.status is status
    assert outcome.retry is False


def test_a_search_leaves_out_the_organizations_own_lines_and_still_fills_its_limit(
    dc: Dialcues,
) -> None:
    a = user_of(dc, "Acme")
    dc.accounts.add_line(a.organization_id, "simulated", "+14155550100")
    found = dc.numbers.search(a, {"country": "US", "npa": "415", "nxx": "555", "limit": "3"})
    assert [o.number for o in found] == ["+14155550101", "+14155550102", "+14155550103"]
