"""Webhook subscriptions and the outbox in the core, over SQLite and PostgreSQL.

The platform runs on a :class:`FakeClock` (2026-01-01T00:00:00Z). Subscriptions point at a
public literal address (no DNS needed); the URL rules themselves are tested with a fake
resolver and with ``localhost``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook
from support.deprecations import TEST_REGISTRY
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.adapters.peewee.tables import WebhookOutboxRow
from dialcues_core.adapters.peewee.webhooks import PeeweeWebhookRepository
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.deprecations import REGISTRY, Deprecation
from dialcues_core.dispatch.attempts import Finished
from dialcues_core.errors import InsufficientScope, ResourceNotFound, ValidationFailed
from dialcues_core.kernel.urls import is_public_address
from dialcues_core.testing import FakeClock
from dialcues_core.webhooks.delivery import headers, sign
from dialcues_core.webhooks.model import DueMessage
from dialcues_core.webhooks.outbox import execution_payload
from dialcues_core.webhooks.subscriptions import Webhooks

START = datetime(2026, 1, 1, tzinfo=UTC)
PUBLIC_URL = "https://93.184.215.14/hooks"
ALL_EVENTS = ["execution.started", "execution.finished", "reminder.completed", "reminder.failed"]


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock, at 2026-01-01T00:00:00Z."""
    return FakeClock(START)


@pytest.fixture
def dc(any_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on each backend in turn, on the fake clock, without retries."""
    platform = Dialcues.open(settings=settings_for(any_url, retry_delays=()), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One organization with a simulated default line and one user."""
    return make_tenant(dc)


def subscribe(dc: Dialcues, who: Principal, events: list[str] | None = None) -> str:
    """Subscribe ``who`` to ``events`` (all by default); return the subscription id."""
    payload = {"url": PUBLIC_URL, "events": events or ALL_EVENTS}
    return dc.webhooks.create(who, payload).subscription.id


def remind(dc: Dialcues, tenant: Tenant) -> int:
    """Create a one-off reminder due at 00:05Z; return its id."""
    payload = {
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155550123",
        "timezone": "UTC",
        "scheduled_at": "2026-01-01T00:05:00Z",
    }
    return dc.reminders.create(tenant.principal, payload).id


def outbox() -> list[dict[str, Any]]:
    """Every outbox message: subscription, type and decoded body, oldest first."""
    rows = WebhookOutboxRow.select().order_by(WebhookOutboxRow.id)
    return [
        {"sub": r.subscription_id, "type": r.event_type, "body": json.loads(r.body)} for r in rows
    ]


def dial_and_finish(dc: Dialcues, clock: FakeClock, status: ExecutionStatus) -> int:
    """Claim the due reminder at 00:05Z and finish its call with ``status``; return its id."""
    clock.set(START + timedelta(minutes=5))
    att = dc.attempts()
    (claimed,) = att.claim(10)
    att.finish([Finished(claimed.execution.id, status, False, clock.now())])
    return claimed.execution.id


# ----------------------------------------------------------------------------- subscriptions
def test_create_shows_a_standard_webhooks_secret_once(dc: Dialcues, tenant: Tenant) -> None:
    issued = dc.webhooks.create(tenant.principal, {"url": PUBLIC_URL, "events": ALL_EVENTS})
    assert issued.secret.startswith("whsec_")
    assert len(base64.b64decode(issued.secret.removeprefix("whsec_"))) == 24
    found = dc.webhooks.get(tenant.principal, issued.subscription.id)
    assert (found.url, found.events, found.enabled) == (PUBLIC_URL, tuple(ALL_EVENTS), True)


def test_every_use_case_needs_the_webhooks_scope(dc: Dialcues, tenant: Tenant) -> None:
    limited = Principal(tenant.user, "k", frozenset({"reminders:read"}))
    with pytest.raises(InsufficientScope) as caught:
        dc.webhooks.list(limited, {})
    assert caught.value.details == {"scope": "webhooks:manage"}


def test_events_must_be_known_and_not_empty(dc: Dialcues, tenant: Tenant) -> None:
    for events in ([], ["reminder.deleted"], "execution.started"):
        with pytest.raises(ValidationFailed) as caught:
            dc.webhooks.create(tenant.principal, {"url": PUBLIC_URL, "events": events})
        assert set(caught.value.fields) == {"events"}


def test_another_users_subscription_is_not_found(dc: Dialcues, tenant: Tenant) -> None:
    sid = subscribe(dc, tenant.principal)
    other = make_tenant(dc, org=tenant.org).principal
    with pytest.raises(ResourceNotFound):
        dc.webhooks.get(other, sid)
    with pytest.raises(ResourceNotFound):
        dc.webhooks.delete(other, sid)


def test_update_disables_and_reenabling_clears_the_reason(dc: Dialcues, tenant: Tenant) -> None:
    sid = subscribe(dc, tenant.principal)
    off = dc.webhooks.update(tenant.principal, sid, {"enabled": False})
    on = dc.webhooks.update(tenant.principal, sid, {"enabled": True, "events": ALL_EVENTS[:1]})
    assert (off.enabled, off.disabled_reason) == (False, "by_user")
    assert (on.enabled, on.disabled_reason, on.events) == (True, None, ("execution.started",))


def test_rotated_secret_signs_beside_the_old_one_for_24_hours(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    first = dc.webhooks.create(tenant.principal, {"url": PUBLIC_URL, "events": ALL_EVENTS})
    second = dc.webhooks.rotate_secret(tenant.principal, first.subscription.id)
    stored = dc.webhooks.get(tenant.principal, first.subscription.id)
    assert stored.signing_secrets(clock.now()) == (second.secret, first.secret)
    later = clock.now() + timedelta(hours=24)
    assert stored.signing_secrets(later) == (second.secret,)


def test_list_pages_oldest_first(dc: Dialcues, tenant: Tenant, clock: FakeClock) -> None:
    ids = []
    for _ in range(3):
        ids.append(subscribe(dc, tenant.principal))
        clock.advance(1)
    page = dc.webhooks.list(tenant.principal, {"page": "2", "page_size": "2"})
    assert ([s.id for s in page.items], page.total, page.total_pages) == ([ids[2]], 3, 2)


# ----------------------------------------------------------------------------- URL rules
@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[2002:7f00:1::]/hooks",  # 6to4 wrapping 127.0.0.1
        "https://[2002:a9fe:a9fe::1]/latest/meta-data",  # 6to4 wrapping 169.254.169.254
        "https://[2002:c0a8:101::1]/hooks",  # 6to4 wrapping 192.168.1.1
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hooks",  # Teredo
        "https://[2001:0:5db8:d7eb:0:0:80ff:fffe]/hooks",  # Teredo, client 127.0.0.1
        "https://[64:ff9b::7f00:1]/hooks",  # NAT64 wrapping 127.0.0.1
        "https://[64:ff9b::a00:1]/hooks",  # NAT64 wrapping 10.0.0.1
        "https://localhost:8443/hooks",
        "https://user:pw@93.184.215.14/hooks",
        "ftp://93.184.215.14/hooks",
    ],
)
def test_private_and_plain_http_urls_are_refused(dc: Dialcues, tenant: Tenant, url: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        dc.webhooks.create(tenant.principal, {"url": url, "events": ALL_EVENTS})
    assert set(caught.value.fields) == {"url"}


def test_a_name_resolving_to_a_private_address_is_refused(dc: Dialcues, tenant: Tenant) -> None:
    def resolve(host: str, port: int) -> list[str]:
        return {"inner.example": ["10.0.0.7"], "outer.example": ["93.184.215.14"]}[host]

    hooks = Webhooks(PeeweeWebhookRepository(), dc.transactions, dc.clock, False, resolve)
    with pytest.raises(ValidationFailed):
        hooks.create(tenant.principal, {"url": "https://inner.example/h", "events": ALL_EVENTS})
    made = hooks.create(tenant.principal, {"url": "https://outer.example/h", "events": ALL_EVENTS})
    assert made.subscription.url == "https://outer.example/h"


def test_a_name_resolving_to_a_6to4_wrapped_private_address_is_refused(
    dc: Dialcues, tenant: Tenant
) -> None:
    def resolve(host: str, port: int) -> list[str]:
        return {"wrapped.example": ["2002:a00:7::1"], "public.example": ["2002:5db8:d70e::1"]}[host]

    hooks = Webhooks(PeeweeWebhookRepository(), dc.transactions, dc.clock, False, resolve)
    with pytest.raises(ValidationFailed):
        hooks.create(tenant.principal, {"url": "https://wrapped.example/h", "events": ALL_EVENTS})
    made = hooks.create(tenant.principal, {"url": "https://public.example/h", "events": ALL_EVENTS})
    assert made.subscription.url == "https://public.example/h"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("2002:5db8:d70e::1", True),  # 6to4 wrapping the public 93.184.215.14
        ("2002:7f00:1::", False),
        ("2002:a00:1::", False),
        ("2002:6440:1::", False),  # 100.64.0.1: shared address space
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::c0a8:101", False),
        ("::ffff:93.184.215.14", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_ipv6_addresses_carrying_an_ipv4_are_judged_by_it_too(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_allow_private_accepts_plain_http_on_loopback(dc: Dialcues, tenant: Tenant) -> None:
    hooks = Webhooks(PeeweeWebhookRepository(), dc.transactions, dc.clock, True)
    made = hooks.create(tenant.principal, {"url": "http://127.0.0.1:9/h", "events": ALL_EVENTS})
    assert made.subscription.url == "http://127.0.0.1:9/h"


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/a\x00b",
        "http://a b/",
        "http://\u2028/",
        "http://h\u00e9.example/",
        "http://h/\x7f",
    ],
)
def test_control_characters_spaces_and_non_ascii_are_refused_even_when_private_is_allowed(
    dc: Dialcues, tenant: Tenant, url: str
) -> None:
    hooks = Webhooks(PeeweeWebhookRepository(), dc.transactions, dc.clock, True)
    with pytest.raises(ValidationFailed) as caught:
        hooks.create(tenant.principal, {"url": url, "events": ALL_EVENTS})
    assert set(caught.value.fields) == {"url"}


# ----------------------------------------------------------------------------- outbox
def test_a_completed_reminder_writes_started_finished_and_completed(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    sid = subscribe(dc, tenant.principal)
    rid = remind(dc, tenant)
    eid = dial_and_finish(dc, clock, ExecutionStatus.COMPLETED)
    messages = outbox()
    assert [(m["sub"], m["type"]) for m in messages] == [
        (sid, "execution.started"),
        (sid, "execution.finished"),
        (sid, "reminder.completed"),
    ]
    assert messages[0]["body"]["data"]["status"] == "in_progress"
    assert messages[1]["body"]["data"] == execution_payload(
        dc.executions.get(tenant.principal, eid)
    )
    assert messages[2]["body"]["data"]["id"] == rid
    assert messages[2]["body"]["timestamp"] == "2026-01-01T00:05:00.000Z"


def test_a_failed_reminder_writes_reminder_failed(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    subscribe(dc, tenant.principal, ["reminder.failed", "reminder.completed"])
    remind(dc, tenant)
    dial_and_finish(dc, clock, ExecutionStatus.NO_ANSWER)
    assert [m["type"] for m in outbox()] == ["reminder.failed"]


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        (REGISTRY, ["suppression.created", "consent.revoked"]),
        (TEST_REGISTRY, ["consent.revoked"]),  # it marks suppression.created removed
    ],
    ids=["production", "removed"],
)
def test_a_removed_event_type_is_no_longer_written(
    any_url: str, clock: FakeClock, registry: tuple[Deprecation, ...], expected: list[str]
) -> None:
    settings = settings_for(any_url, retry_delays=())
    platform = Dialcues.open(settings=settings, clock=clock, deprecations=registry)
    try:
        who = make_tenant(platform).principal
        subscribe(platform, who, ["suppression.created", "consent.revoked"])
        consent = {
            "phone_number": "+14155550123",
            "type": "express",
            "purpose": "informational",
            "source": "verbal",
            "text": "Yes, call me.",
            "captured_at": "2025-12-31T10:00:00Z",
        }
        platform.consents.create(who, consent)
        platform.suppressions.add(who, {"phone_number": "+14155550123", "reason": "complaint"})
        assert [m["type"] for m in outbox()] == expected
    finally:
        platform.close()


def test_no_subscription_no_message(dc: Dialcues, tenant: Tenant, clock: FakeClock) -> None:
    remind(dc, tenant)
    dial_and_finish(dc, clock, ExecutionStatus.COMPLETED)
    assert outbox() == []


def test_events_go_only_to_their_users_enabled_subscriptions(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    other = make_tenant(dc, org=tenant.org).principal
    subscribe(dc, other)
    off = subscribe(dc, tenant.principal)
    dc.webhooks.update(tenant.principal, off, {"enabled": False})
    remind(dc, tenant)
    dial_and_finish(dc, clock, ExecutionStatus.COMPLETED)
    assert outbox() == []


def test_a_rolled_back_change_writes_no_message(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    subscribe(dc, tenant.principal)
    remind(dc, tenant)
    clock.set(START + timedelta(minutes=5))
    att = dc.attempts()
    (claimed,) = att.claim(10)
    before = len(outbox())
    with pytest.raises(RuntimeError), dc.transactions.atomic():
        att.finish([Finished(claimed.execution.id, ExecutionStatus.COMPLETED, False, None)])
        raise RuntimeError("the surrounding transaction fails")
    assert len(outbox()) == before == 1


def test_signatures_verify_with_the_standardwebhooks_library(
    dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    clock.set(datetime.now(UTC))  # the library checks the timestamp against the real time
    first = dc.webhooks.create(tenant.principal, {"url": PUBLIC_URL, "events": ALL_EVENTS})
    second = dc.webhooks.rotate_secret(tenant.principal, first.subscription.id)
    sub = dc.webhooks.get(tenant.principal, first.subscription.id)
    body = '{"type":"execution.started"}'
    now = datetime.now(UTC)
    sent = headers(DueMessage(1, "msg_1", "execution.started", body, 1, sub), now)
    for secret in (first.secret, second.secret):
        assert Webhook(secret).verify(body, sent) == {"type": "execution.started"}
    expected = Webhook(first.secret).sign("msg_1", now, body)
    assert sign(first.secret, "msg_1", int(now.timestamp()), body) == expected
