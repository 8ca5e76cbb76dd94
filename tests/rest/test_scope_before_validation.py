"""The scope is checked before the request is read: a key lacking it gets 403 whatever it sent.

Every request below is malformed in a way the REST edge notices before the core runs (an
unknown query parameter, a body that is no JSON, a field on a route that takes none, a bad
``Idempotency-Key``) or that the core refuses. A key holding every scope gets the 400
``validation_error``; a key lacking the route's scope gets 403 ``insufficient_scope`` naming
it — as on gRPC, and as for a well-formed request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from rest.support import Api, Reply

BAD_KEY = {"Idempotency-Key": "x" * 300}
UNKNOWN = {"unknown": "1"}


@dataclass(frozen=True)
class Malformed:
    """One malformed request to a scoped route."""

    method: str
    path: str
    scope: str
    data: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Malformed] = {
    "create reminder, query": Malformed("POST", "/reminders", "reminders:write", params=UNKNOWN),
    "create reminder, body": Malformed("POST", "/reminders", "reminders:write", data=b"{"),
    "create reminder, key": Malformed(
        "POST", "/reminders", "reminders:write", data=b"{}", headers=BAD_KEY
    ),
    "list reminders": Malformed("GET", "/reminders", "reminders:read", params={"page": "x"}),
    "get reminder": Malformed("GET", "/reminders/1", "reminders:read", params=UNKNOWN),
    "update reminder": Malformed("PATCH", "/reminders/1", "reminders:write", data=b"{"),
    "delete reminder": Malformed("DELETE", "/reminders/1", "reminders:write", data=b'{"a": 1}'),
    "list executions": Malformed("GET", "/executions", "executions:read", params={"page": "x"}),
    "get execution": Malformed("GET", "/executions/1", "executions:read", params=UNKNOWN),
    "lines": Malformed("GET", "/lines", "lines:read", params=UNKNOWN),
    "usage events": Malformed("GET", "/usage/events", "usage:read", params={"page": "x"}),
    "place call, body": Malformed("POST", "/calls", "calls:write", data=b"{"),
    "place call, key": Malformed("POST", "/calls", "calls:write", data=b"{}", headers=BAD_KEY),
    "smoke, body": Malformed("POST", "/agent/smoke", "reminders:write", data=b"{"),
    "smoke, key": Malformed("POST", "/agent/smoke", "reminders:write", headers=BAD_KEY),
    "subscribe": Malformed("POST", "/webhooks/subscriptions", "webhooks:manage", data=b"{"),
    "list subscriptions": Malformed(
        "GET", "/webhooks/subscriptions", "webhooks:manage", params={"page": "x"}
    ),
    "get subscription": Malformed(
        "GET", "/webhooks/subscriptions/whsub_x", "webhooks:manage", params=UNKNOWN
    ),
    "update subscription": Malformed(
        "PATCH", "/webhooks/subscriptions/whsub_x", "webhooks:manage", data=b"{"
    ),
    "delete subscription": Malformed(
        "DELETE", "/webhooks/subscriptions/whsub_x", "webhooks:manage", params=UNKNOWN
    ),
    "rotate secret": Malformed(
        "POST", "/webhooks/subscriptions/whsub_x/rotate-secret", "webhooks:manage", data=b'{"a":1}'
    ),
    "deliveries": Malformed(
        "GET", "/webhooks/subscriptions/whsub_x/deliveries", "webhooks:manage", params=UNKNOWN
    ),
    # responsible-calling.md section 7, 8, 17
    "list suppressions": Malformed(
        "GET", "/suppressions", "suppressions:read", params={"status": "x"}
    ),
    "suppress": Malformed("POST", "/suppressions", "suppressions:write", data=b"{"),
    "suppress, key": Malformed(
        "POST", "/suppressions", "suppressions:write", data=b"{}", headers=BAD_KEY
    ),
    "get suppression": Malformed(
        "GET", "/suppressions/+14155550009", "suppressions:read", params=UNKNOWN
    ),
    "remove suppression": Malformed(
        "DELETE", "/suppressions/+14155550009", "suppressions:write", params=UNKNOWN
    ),
    "record consent": Malformed("POST", "/consents", "consents:write", data=b"{"),
    "list consents": Malformed("GET", "/consents", "consents:read", params={"active": "x"}),
    "get consent": Malformed("GET", "/consents/cns_x", "consents:read", params=UNKNOWN),
    "revoke consent": Malformed(
        "POST", "/consents/cns_x/revoke", "consents:write", data=b'{"a": 1}'
    ),
}


async def send(anon: Api, key: str, case: Malformed) -> Reply:
    """Send ``case`` with ``key``."""
    extra: dict[str, Any] = {"data": case.data, "params": case.params, "headers": case.headers}
    return await anon.as_key(key).call(case.method, case.path, **extra)


def key_with(dc: Dialcues, tenant: Tenant, scopes: list[str]) -> str:
    """Issue a key of the tenant's user carrying exactly ``scopes``."""
    return dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw


@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_key_with_every_scope_gets_the_validation_error(
    anon: Api, dc: Dialcues, tenant: Tenant, name: str
) -> None:
    reply = await send(anon, key_with(dc, tenant, list(ALL_SCOPES)), CASES[name])
    assert (reply.status, reply.code) == (400, "validation_error"), reply.text


@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_key_lacking_the_scope_is_refused_before_the_request_is_read(
    anon: Api, dc: Dialcues, tenant: Tenant, name: str
) -> None:
    case = CASES[name]
    key = key_with(dc, tenant, [s for s in ALL_SCOPES if s != case.scope])
    reply = await send(anon, key, case)
    assert (reply.status, reply.code) == (403, "insufficient_scope"), reply.text
    assert reply.body["error"]["details"] == {"scope": case.scope}
