"""The platform contract on every route ``telephony.md`` adds (Done when 38): each writes one
usage event under its route template, carries the rate-limit headers of its class, and answers
problem details when the client prefers them. (Scopes: ``test_scopes.py`` covers every route.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow
from dialcues_core.config import RateLimit
from dialcues_core.offload import Offloader
from dialcues_core.testing import FakeClock
from rest.support import Api

PROBLEM = {"Accept": "application/problem+json"}
NUMBER = "+14155550100"
ROUTES = [
    ("GET", "/numbers/search?country=US&npa=415&limit=1", "/numbers/search", "read"),
    ("POST", "/numbers/hold", "/numbers/hold", "write"),
    ("GET", "/numbers", "/numbers", "read"),
    ("GET", f"/numbers/{NUMBER}", "/numbers/{number}", "read"),
    ("POST", f"/numbers/{NUMBER}/hold/extend", "/numbers/{number}/hold/extend", "write"),
    ("DELETE", f"/numbers/{NUMBER}/hold", "/numbers/{number}/hold", "write"),
    ("POST", f"/numbers/{NUMBER}/assign", "/numbers/{number}/assign", "write"),
    ("POST", f"/numbers/{NUMBER}/release", "/numbers/{number}/release", "write"),
    ("GET", "/lines/line_nope", "/lines/{id}", "read"),
    ("PATCH", "/lines/line_nope", "/lines/{id}", "write"),
    ("POST", "/calls/inbound/answer", "/calls/inbound/answer", "write"),
]
BODIES = {
    "/numbers/hold": {"number": "+1415"},  # invalid: a validation error, nothing held
    "/lines/{id}": {"label": "x"},
    "/calls/inbound/answer": {"call_id": "nope", "route": {"type": "reject"}},
}


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform with generous rate limits (their headers on every reply)."""
    limits = {name: RateLimit(1000.0, 1000) for name in ("read", "write", "anon")}
    platform = Dialcues.open(settings=settings_for(sqlite_url, rate_limits=limits), clock=clock)
    yield platform
    platform.close()


@pytest.mark.parametrize(("method", "path", "template", "rate_class"), ROUTES)
async def test_a_new_route_writes_its_usage_event_and_carries_its_limits(
    api: Api,
    dc: Dialcues,
    offloader: Offloader,
    tenant: Tenant,
    method: str,
    path: str,
    template: str,
    rate_class: str,
) -> None:
    body = BODIES.get(template)
    reply = await api.call(method, path, json=body) if body else await api.call(method, path)
    assert reply.status < 500
    assert reply.headers["RateLimit-Policy"].startswith(f'"{rate_class}"')
    await offloader.run(dc.usage.flush)
    rows = list(UsageEventRow.select().dicts())
    assert [(r["method"], r["route"], r["status"]) for r in rows] == [
        (method, template, reply.status)
    ]
    assert rows[0]["user_id"] == tenant.user.id


@pytest.mark.parametrize(("method", "path", "template", "rate_class"), ROUTES)
async def test_a_new_routes_error_is_problem_details_when_asked(
    api: Api, method: str, path: str, template: str, rate_class: str
) -> None:
    bad = path.replace(NUMBER, "+1999")  # not a number: not_found; lines: an unknown line
    if method == "GET" and bad in ("/numbers", "/numbers/search?country=US&npa=415&limit=1"):
        bad = bad.split("?")[0] + "?country=ZZ"  # an unknown country: validation_error
    body = {"unknown": 1}
    reply = await api.call(method, bad, json=body, headers=PROBLEM)
    assert reply.status >= 400
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert reply.body["status"] == reply.status and reply.body["code"]


async def test_a_key_without_an_explicit_list_reaches_the_new_routes_a_listed_one_does_not(
    anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    """Done when 40 over REST (migration v12 marks older keys: ``test_migration_v12.py``)."""
    every = dc.accounts.create_api_key(tenant.user.id).raw
    listed = dc.accounts.create_api_key(tenant.user.id, scopes=["lines:read"]).raw
    assert (await anon.as_key(every).get("/numbers")).status == 200
    refused = await anon.as_key(listed).get("/numbers")
    assert refused.status == 403
    assert refused.body["error"]["details"]["scope"] == "numbers:read"
