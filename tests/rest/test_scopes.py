"""Scopes on API keys: a route outside the key's scopes is 403 insufficient_scope, naming it."""

from __future__ import annotations

import pytest
from conftest import Tenant

from dialcues_core import Dialcues
from dialcues_core.model import ALL_SCOPES
from rest.support import Api

ROUTES = [
    ("GET", "/reminders", "reminders:read"),
    ("GET", "/reminders/1", "reminders:read"),
    ("POST", "/reminders", "reminders:write"),
    ("PATCH", "/reminders/1", "reminders:write"),
    ("DELETE", "/reminders/1", "reminders:write"),
    ("GET", "/executions", "executions:read"),
    ("GET", "/executions/1", "executions:read"),
    ("GET", "/lines", "lines:read"),
]


def key_without(dc: Dialcues, tenant: Tenant, scope: str) -> str:
    """Issue a key for the tenant's user with every scope but ``scope``."""
    scopes = [s for s in ALL_SCOPES if s != scope]
    return dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
async def test_a_key_lacking_the_routes_scope_gets_insufficient_scope(
    anon: Api, dc: Dialcues, tenant: Tenant, method: str, path: str, scope: str
) -> None:
    reply = await anon.as_key(key_without(dc, tenant, scope)).call(method, path, json={})
    assert reply.status == 403
    assert reply.code == "insufficient_scope"
    assert reply.body["error"]["details"] == {"scope": scope}


async def test_me_needs_no_particular_scope(anon: Api, dc: Dialcues, tenant: Tenant) -> None:
    key = dc.accounts.create_api_key(tenant.user.id, scopes=["usage:read"]).raw
    reply = await anon.as_key(key).get("/me")
    assert reply.status == 200


async def test_a_read_only_key_reads_but_cannot_write(
    anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    key = dc.accounts.create_api_key(tenant.user.id, scopes=["reminders:read"]).raw
    client = anon.as_key(key)
    assert (await client.get("/reminders")).status == 200
    assert (await client.post("/reminders", json={"title": "x"})).code == "insufficient_scope"
