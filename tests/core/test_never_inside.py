"""``migrate --json``'s ``reminders_never_inside``: scheduled reminders none of whose previewed
occurrences would be dialed under the policy now (responsible-calling.md section 20)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.testing import FakeClock


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file, on a fake clock, the platform's window off."""
    platform = Dialcues.open(
        settings=settings_for(sqlite_url), clock=FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    )
    yield platform
    platform.close()


def remind(dc: Dialcues, tenant: Tenant, local: str, **more: object) -> None:
    """Schedule a reminder in New York to a New York number."""
    dc.reminders.create(
        tenant.principal,
        {
            "title": "Dose",
            "message": "Take it",
            "phone_number": "+12125550143",
            "timezone": "America/New_York",
            "scheduled_at": local,
            **more,
        },
    )


def test_reminders_scheduled_before_a_window_was_set_are_counted_when_never_inside(
    dc: Dialcues,
) -> None:
    tenant, other = make_tenant(dc), make_tenant(dc)
    remind(dc, tenant, "2026-03-25T06:00:00", recurrence_type="daily")  # never inside
    remind(dc, tenant, "2026-03-25T06:00:00")  # a one-off outside
    remind(dc, tenant, "2026-03-25T07:30:00", recurrence_type="daily")  # waits for 08:00
    remind(dc, other, "2026-03-25T06:00:00", recurrence_type="daily")  # other org: no window
    assert dc.reminders.count_never_inside(batch=2) == 0
    dc.policies.update(
        tenant.org.id,
        {"calling_window": {"start": "08:00", "end": "21:00"}},
        actor=Actor("admin", "test"),
    )
    assert dc.reminders.count_never_inside(batch=2) == 2
