"""Scopes on API keys: a route outside the key's scopes is 403 insufficient_scope, naming it."""

from __future__ import annotations

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_rest import routes
from dialcues_rest.openapi import app_document
from dialcues_rest.operations import OPERATIONS
from rest.support import Api


def contract_scope(method: str, path: str) -> str | None:
    """The scope ``platform-contract.md`` names for a route (None: any valid credential)."""
    if path.startswith("/reminders") or path == "/agent/smoke":
        return "reminders:read" if method == "GET" else "reminders:write"
    for family in ("suppressions", "consents", "numbers"):  # responsible-calling.md §17
        if path.startswith(f"/{family}"):  # telephony.md §6.1
            return f"{family}:read" if method == "GET" else f"{family}:write"
    if path.startswith("/lines/") and method == "PATCH":  # telephony.md §6.1
        return "lines:write"
    if path.startswith(("/messages", "/message-templates")):  # telephony.md §6.1
        if method == "GET":
            return "messages:read"
        return "messages:write" if path.startswith("/messages") else "templates:write"
    prefixes = {
        "/executions": "executions:read",
        "/lines": "lines:read",
        "/calls": "calls:write",
        "/usage/events": "usage:read",
        "/webhooks/": "webhooks:manage",
        "/policy": "policy:read",  # responsible-calling.md section 17
        "/audit/events": "audit:read",
    }
    found = [scope for prefix, scope in prefixes.items() if path.startswith(prefix)]
    if found:
        return found[0]
    public = {"/me", "/health", "/openapi.json", "/deprecations"}  # telephony.md §5.2
    assert path in public, f"no contract scope rule for {path}"
    return None


def scoped_routes() -> list[tuple[str, str, str]]:
    """Every route of the route table under the API base that needs a scope, with it."""
    found = []
    for method, template, *_ in routes.ROUTES:
        if not template.startswith(routes.BASE + "/"):
            continue
        path = template[len(routes.BASE) :]
        scope = contract_scope(method, path)
        if scope is not None:
            concrete = path.replace("{id}", "1").replace("{number}", "+14155550100")
            concrete = concrete.replace("{version}", "1")
            found.append((method, concrete, scope))
    return found


ROUTES = scoped_routes()


def test_the_table_covers_every_family_of_the_contract() -> None:
    families = {scope for _, _, scope in ROUTES}
    assert families == set(ALL_SCOPES)
    assert len(ROUTES) >= 26


def test_each_routes_use_case_demands_the_contracts_scope() -> None:
    for route in routes.ROUTES:
        operation = OPERATIONS[(route.method, route.path)]
        if route.path.startswith(routes.BASE + "/") and not operation.public:
            expected = contract_scope(route.method, route.path[len(routes.BASE) :])
            assert routes.route_scope(route) == expected, route


def test_the_openapi_document_states_the_contracts_scopes() -> None:
    document = app_document()
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if path.startswith(routes.BASE + "/") and operation.get("security") != []:
                scope = contract_scope(method.upper(), path[len(routes.BASE) :])
                assert operation["description"].startswith(
                    f"Scope `{scope}`." if scope else "Any valid credential."
                ), (method, path)


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
