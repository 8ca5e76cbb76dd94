"""Text no stored row can hold (NUL, over-long, malformed ids) is a typed error on both backends.

PostgreSQL refuses NUL in text and over-long varchars with its own errors; the core must answer
first, with ``validation_error`` or ``not_found``, whatever the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.errors import ResourceNotFound, ValidationFailed


@pytest.fixture
def dc(any_url: str) -> Iterator[Dialcues]:
    platform = Dialcues.open(settings=settings_for(any_url))
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    return make_tenant(dc)


REMINDER = {
    "title": "t",
    "message": "m",
    "phone_number": "+14155552671",
    "timezone": "UTC",
    "scheduled_at": "2030-01-01T00:00:00",
}

Call = Callable[[Dialcues, Tenant], Any]

NOT_FOUND: dict[str, Call] = {
    "webhook get": lambda dc, t: dc.webhooks.get(t.principal, "whsub_\x00"),
    "webhook update": lambda dc, t: dc.webhooks.update(t.principal, "a b", {"enabled": False}),
    "webhook delete": lambda dc, t: dc.webhooks.delete(t.principal, "x" * 65),
    "webhook rotate": lambda dc, t: dc.webhooks.rotate_secret(t.principal, "whsub_\x00"),
    "webhook deliveries": lambda dc, t: dc.webhooks.deliveries(t.principal, "whsub_\x00", {}),
}

INVALID: dict[str, Call] = {
    "reminder line": lambda dc, t: dc.reminders.create(
        t.principal, {**REMINDER, "vapi_line_id": "line_\x00"}
    ),
    "call line": lambda dc, t: dc.calls.place(
        t.principal, {"to": "+14155552671", "message": "m", "vapi_line_id": "line_\x00"}
    ),
    "line label too long": lambda dc, t: dc.accounts.add_line(
        t.org.id, "simulated", "+14155550101", label="x" * 300
    ),
    "line label NUL": lambda dc, t: dc.accounts.add_line(
        t.org.id, "simulated", "+14155550102", label="x\x00"
    ),
    "provider line id NUL": lambda dc, t: dc.accounts.add_line(
        t.org.id, "vapi", "+14155550103", provider_line_id="p\x00"
    ),
    "client name NUL": lambda dc, t: dc.oauth.create_client(t.user.id, name="a\x00"),
    "user e-mail NUL": lambda dc, t: dc.accounts.create_user(t.org.id, "a\x00@b.co", "A"),
}


@pytest.mark.parametrize("name", NOT_FOUND)
def test_a_malformed_id_is_not_found(dc: Dialcues, tenant: Tenant, name: str) -> None:
    with pytest.raises(ResourceNotFound):
        NOT_FOUND[name](dc, tenant)


@pytest.mark.parametrize("name", INVALID)
def test_text_no_row_can_hold_is_a_validation_error(
    dc: Dialcues, tenant: Tenant, name: str
) -> None:
    with pytest.raises(ValidationFailed):
        INVALID[name](dc, tenant)


def test_a_line_label_is_trimmed_and_kept(dc: Dialcues, tenant: Tenant) -> None:
    line = dc.accounts.add_line(tenant.org.id, "simulated", "+14155550104", label="  Main  ")
    assert line.label == "Main"
