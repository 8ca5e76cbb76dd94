"""Authentication: the header, the contract's order of checks, and auth before routing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.accounts.keys import generate_key
from dialcues_core.testing import FakeClock
from rest.support import Api

MALFORMED_KEY = "dc_live_not-a-real-key"


async def test_missing_authorization_header_is_unauthorized(anon: Api) -> None:
    reply = await anon.get("/me")
    assert (reply.status, reply.code) == (401, "unauthorized")


async def test_basic_scheme_counts_as_missing_credentials(anon: Api, tenant: Tenant) -> None:
    reply = await anon.get("/me", headers={"Authorization": f"Basic {tenant.api_key}"})
    assert (reply.status, reply.code) == (401, "unauthorized")


async def test_bearer_without_token_is_unauthorized(anon: Api) -> None:
    reply = await anon.get("/me", headers={"Authorization": "Bearer "})
    assert (reply.status, reply.code) == (401, "unauthorized")


async def test_bearer_scheme_is_case_insensitive(anon: Api, tenant: Tenant) -> None:
    reply = await anon.get("/me", headers={"Authorization": f"bEaReR {tenant.api_key}"})
    assert reply.status == 200


async def test_malformed_key_is_invalid_api_key(anon: Api) -> None:
    reply = await anon.as_key(MALFORMED_KEY).get("/me")
    assert (reply.status, reply.code) == (401, "invalid_api_key")


async def test_well_formed_unknown_key_is_invalid_api_key(anon: Api, tenant: Tenant) -> None:
    reply = await anon.as_key(generate_key()).get("/me")
    assert (reply.status, reply.code) == (401, "invalid_api_key")


async def test_revoked_key_is_api_key_revoked(api: Api, dc: Dialcues, tenant: Tenant) -> None:
    assert (await api.get("/me")).status == 200  # cached first: revocation must still bite
    dc.accounts.revoke_api_key(tenant.principal.api_key_id)
    reply = await api.get("/me")
    assert (reply.status, reply.code) == (401, "api_key_revoked")


async def test_key_past_its_expiry_is_api_key_expired(
    anon: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    issued = dc.accounts.create_api_key(tenant.user.id, expires_at=clock.now() + timedelta(1))
    client = anon.as_key(issued.raw)
    assert (await client.get("/me")).status == 200
    clock.advance(2 * 86_400)
    reply = await client.get("/me")
    assert (reply.status, reply.code) == (401, "api_key_expired")


async def test_revoked_check_comes_before_expiry(
    anon: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    issued = dc.accounts.create_api_key(tenant.user.id, expires_at=clock.now() + timedelta(1))
    dc.accounts.revoke_api_key(issued.key.id)
    clock.advance(2 * 86_400)
    reply = await anon.as_key(issued.raw).get("/me")
    assert reply.code == "api_key_revoked"


async def test_unknown_route_without_credentials_is_unauthorized(anon: Api) -> None:
    reply = await anon.get("/no-such-route")
    assert (reply.status, reply.code) == (401, "unauthorized")


async def test_unknown_route_with_a_bad_key_is_invalid_api_key(anon: Api) -> None:
    reply = await anon.as_key(MALFORMED_KEY).get("//nowhere")
    assert (reply.status, reply.code) == (401, "invalid_api_key")


async def test_unknown_route_with_valid_credentials_is_not_found(api: Api) -> None:
    reply = await api.get("/no-such-route")
    assert (reply.status, reply.code) == (404, "not_found")


async def test_wrong_method_without_credentials_is_unauthorized(anon: Api) -> None:
    reply = await anon.call("PUT", "/reminders")
    assert (reply.status, reply.code) == (401, "unauthorized")


async def test_health_check_needs_no_credentials(anon: Api) -> None:
    reply = await anon.get("//healthz")
    assert (reply.status, reply.body) == (200, {"status": "ok"})


async def test_provider_paths_skip_api_key_authentication(anon: Api) -> None:
    reply = await anon.post("//api/providers/vapi/events", json={})
    assert (reply.status, reply.code) == (404, "not_found")


async def test_key_of_another_user_acts_as_that_user(
    anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    other = make_tenant(dc, org=tenant.org)
    reply = await anon.as_key(other.api_key).get("/me")
    assert reply.body["user"]["id"] == other.user.id


async def test_dot_segments_under_the_provider_prefix_do_not_reach_private_routes(
    anon: Api,
) -> None:
    # aiohttp's client would normalise the dots away, so the request is written by hand.
    host, port = anon.root.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /api/providers/%2e%2e/public/v1/me HTTP/1.1\r\nHost: x\r\n")
    writer.write(b"Connection: close\r\n\r\n")
    status_line = (await reader.read()).split(b"\r\n", 1)[0]
    writer.close()
    await writer.wait_closed()
    assert status_line == b"HTTP/1.1 404 Not Found"
