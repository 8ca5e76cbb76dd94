"""The platform's promises on the suppression and consent routes (responsible-calling.md
section 15, 17; Done when 26, 29): rate-limit classes and headers, usage events and access-log
lines without a phone number, problem details, and the scopes webhook subscriptions need.

Scope refusals of every new route are in ``test_scopes.py`` (its table covers every route).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow, WebhookOutboxRow
from dialcues_core.config import RateLimit
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.offload import Offloader
from dialcues_core.testing import FakeClock
from rest.support import Api

NUMBER = "+14155550009"
DIGITS = NUMBER[1:]
LIMITS = {"read": RateLimit(1, 50), "write": RateLimit(1, 40), "anon": RateLimit(1, 10)}
HOOK_URL = "https://93.184.216.34/hooks"


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform with rate limits on (overrides the suite's ``dc``)."""
    platform = Dialcues.open(settings=settings_for(sqlite_url, rate_limits=LIMITS), clock=clock)
    yield platform
    platform.close()


CONSENT = {
    "phone_number": NUMBER,
    "type": "express",
    "purpose": "informational",
    "source": "api",
    "text": "Yes, call me.",
    "captured_at": "2026-03-01T11:00:00Z",
}


async def every_route(api: Api) -> list[tuple[str, str, int]]:
    """Call each new route once; return (method, template, status) of each."""
    created = await api.post("/consents", json=CONSENT)
    cns = created.body["id"]
    sent = [
        ("POST", "/consents", created),
        ("GET", "/consents", await api.get("/consents", params={"phone_number": NUMBER})),
        ("GET", "/consents/{id}", await api.get(f"/consents/{cns}")),
        ("POST", "/consents/{id}/revoke", await api.post(f"/consents/{cns}/revoke")),
        ("POST", "/suppressions", await api.post("/suppressions", json={"phone_number": NUMBER})),
        ("GET", "/suppressions", await api.get("/suppressions", params={"phone_number": NUMBER})),
        ("GET", "/suppressions/{number}", await api.get(f"/suppressions/{NUMBER}")),
        ("DELETE", "/suppressions/{number}", await api.delete(f"/suppressions/{NUMBER}")),
    ]
    return [(method, template, reply.status) for method, template, reply in sent]


# ----------------------------------------------------------------------------- rate limits
@pytest.mark.parametrize(
    ("method", "path", "bucket"),
    [
        ("GET", "/suppressions", "read"),
        ("GET", f"/suppressions/{NUMBER}", "read"),
        ("POST", "/suppressions", "write"),
        ("DELETE", f"/suppressions/{NUMBER}", "write"),
        ("GET", "/consents", "read"),
        ("GET", "/consents/cns_x", "read"),
        ("POST", "/consents", "write"),
        ("POST", "/consents/cns_x/revoke", "write"),
    ],
)
async def test_each_route_is_charged_to_its_bucket_with_headers(
    api: Api, method: str, path: str, bucket: str
) -> None:
    reply = await api.call(method, path, json={})
    assert reply.headers["RateLimit-Policy"].startswith(f'"{bucket}";'), reply.text
    assert reply.headers["X-RateLimit-Limit"] == str(LIMITS[bucket].capacity)
    assert int(reply.headers["X-RateLimit-Remaining"]) == LIMITS[bucket].capacity - 1


# ----------------------------------------------------------------------------- usage, logs
async def test_each_route_writes_a_usage_event_with_its_template_and_no_number(
    api: Api, dc: Dialcues, offloader: Offloader
) -> None:
    answered = await every_route(api)
    await offloader.run(dc.usage.flush)
    rows = list(UsageEventRow.select().order_by(UsageEventRow.id).dicts())
    assert [(r["method"], r["route"], r["status"]) for r in rows] == answered
    assert answered[-1] == ("DELETE", "/suppressions/{number}", 422)
    assert not [r for r in rows if any(DIGITS in str(value) for value in r.values())]


async def test_the_access_log_prints_templates_and_no_number(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dialcues.rest.access"):
        await every_route(api)
        await api.get(f"/suppressions/{NUMBER}/nothing-here")
    lines = [r.getMessage() for r in caplog.records if r.name == "dialcues.rest.access"]
    assert len(lines) == 9
    assert lines[6].startswith("GET /api/public/v1/suppressions/{number} 200 ")
    assert lines[8].startswith("GET /api/public/v1/suppressions/+*******0009/nothing-here 404 ")
    assert not [line for line in lines if DIGITS in line]


async def test_a_refusal_comes_as_problem_details_on_request(api: Api) -> None:
    await api.post("/suppressions", json={"phone_number": NUMBER})
    reply = await api.delete(
        f"/suppressions/{NUMBER}",
        params={"consent_id": "cns_none"},
        headers={"Accept": "application/problem+json"},
    )
    assert reply.status == 422
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert (reply.body["code"], reply.body["type"]) == (
        "consent_required",
        "https://dialcues.dev/errors/consent_required",
    )


# ----------------------------------------------------------------------------- webhooks
def key_without(dc: Dialcues, tenant: Tenant, scope: str) -> str:
    """Issue a key for the tenant's user with every scope but ``scope``."""
    return dc.accounts.create_api_key(
        tenant.user.id, scopes=[s for s in ALL_SCOPES if s != scope]
    ).raw


@pytest.mark.parametrize(
    ("event", "scope"),
    [("suppression.created", "suppressions:read"), ("consent.revoked", "consents:read")],
)
async def test_subscribing_to_records_needs_the_scope_that_reads_them(
    api: Api, anon: Api, dc: Dialcues, tenant: Tenant, event: str, scope: str
) -> None:
    lacking = anon.as_key(key_without(dc, tenant, scope))
    body: dict[str, Any] = {"url": HOOK_URL, "events": ["execution.finished", event]}
    refused = await lacking.post("/webhooks/subscriptions", json=body)
    assert (refused.status, refused.code) == (403, "insufficient_scope")
    assert refused.body["error"]["details"] == {"scope": scope}
    plain = await lacking.post(
        "/webhooks/subscriptions", json={**body, "events": body["events"][:1]}
    )
    assert plain.status == 201, plain.text
    widened = await lacking.patch(f"/webhooks/subscriptions/{plain.body['id']}", json=body)
    assert (widened.status, widened.code) == (403, "insufficient_scope")
    allowed = await api.post("/webhooks/subscriptions", json=body)
    assert (allowed.status, allowed.body["events"]) == (201, body["events"])


async def test_the_new_events_carry_what_get_answers(api: Api, clock: FakeClock) -> None:
    """Done when 26: the payload of each new event equals ``GET`` of the object after the
    change (read from the outbox, which is what the deliverer sends)."""
    events = ["suppression.created", "suppression.removed", "consent.revoked"]
    hook = await api.post("/webhooks/subscriptions", json={"url": HOOK_URL, "events": events})
    assert hook.status == 201, hook.text
    first = await api.post("/consents", json=CONSENT)
    await api.post(f"/consents/{first.body['id']}/revoke")  # consent.revoked, suppression.created
    revoked = (await api.get(f"/consents/{first.body['id']}")).body
    created = (await api.get(f"/suppressions/{NUMBER}")).body
    clock.advance(60)
    newer = await api.post("/consents", json={**CONSENT, "captured_at": "2026-03-01T12:01:00Z"})
    removal = await api.delete(f"/suppressions/{NUMBER}", params={"consent_id": newer.body["id"]})
    assert removal.status == 204
    removed = (await api.get("/suppressions", params={"status": "removed"})).body["items"][0]
    sent = [json.loads(row.body) for row in WebhookOutboxRow.select().order_by(WebhookOutboxRow.id)]
    assert [(m["type"], m["data"]) for m in sent] == [
        ("consent.revoked", revoked),
        ("suppression.created", created),
        ("suppression.removed", removed),
    ]
