"""``POST /api/oauth/token`` (OAuth 2.1 client credentials) and access tokens on the public API."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.accounts.oauth import IssuedClient
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.testing import FakeClock
from rest.support import Api, Reply, reminder_payload

TOKEN_PATH = "//api/oauth/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(dc: Dialcues, tenant: Tenant) -> IssuedClient:
    """An OAuth client of the tenant's user with every scope."""
    return dc.oauth.create_client(tenant.user.id, name="backend")


def basic(client_id: str, secret: str) -> dict[str, str]:
    """HTTP Basic client authentication (RFC 6749 §2.3.1)."""
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {**FORM, "Authorization": f"Basic {raw}"}


async def token_call(
    anon: Api, fields: dict[str, str], headers: dict[str, str] | None = None
) -> Reply:
    """POST a form to the token endpoint."""
    body = urlencode(fields).encode()
    return await anon.post(TOKEN_PATH, data=body, headers=headers or FORM)


def credentials(client: IssuedClient, **extra: str) -> dict[str, str]:
    """The body of a client-credentials request with the client's id and secret."""
    fields = {"grant_type": "client_credentials", "client_id": client.client_id}
    return {**fields, "client_secret": client.client_secret, **extra}


async def token_for(anon: Api, client: IssuedClient, scope: str | None = None) -> str:
    """Obtain an access token for ``client`` (optionally narrowed to ``scope``)."""
    reply = await token_call(anon, credentials(client, **({"scope": scope} if scope else {})))
    assert reply.status == 200, reply.text
    return str(reply.body["access_token"])


def assert_oauth_error(reply: Reply, status: int, error: str) -> None:
    """The reply is RFC 6749 §5.2's error shape, not the contract's."""
    assert (reply.status, reply.body["error"]) == (status, error), reply.text
    assert set(reply.body) == {"error", "error_description"}
    assert reply.headers["Cache-Control"] == "no-store"


# ----------------------------------------------------------------------------- issuing
async def test_a_token_is_issued_for_credentials_in_the_body(
    anon: Api, client: IssuedClient
) -> None:
    reply = await token_call(anon, credentials(client))
    assert reply.status == 200
    assert reply.body == {
        "access_token": reply.body["access_token"],
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": " ".join(ALL_SCOPES),
    }
    assert reply.body["access_token"].startswith("dc_at_")


async def test_a_token_reply_is_never_cached(anon: Api, client: IssuedClient) -> None:
    reply = await token_call(anon, credentials(client))
    assert (reply.headers["Cache-Control"], reply.headers["Pragma"]) == ("no-store", "no-cache")


async def test_a_token_is_issued_for_basic_credentials(anon: Api, client: IssuedClient) -> None:
    headers = basic(client.client_id, client.client_secret)
    reply = await token_call(anon, {"grant_type": "client_credentials"}, headers)
    assert reply.status == 200, reply.text
    assert reply.body["token_type"] == "Bearer"


async def test_basic_with_a_secret_in_the_body_too_is_invalid_request(
    anon: Api, client: IssuedClient
) -> None:
    headers = basic(client.client_id, client.client_secret)
    reply = await token_call(anon, credentials(client), headers)
    assert_oauth_error(reply, 400, "invalid_request")


async def test_a_wrong_secret_in_the_body_is_invalid_client(
    anon: Api, client: IssuedClient
) -> None:
    reply = await token_call(anon, {**credentials(client), "client_secret": "dc_cs_wrong"})
    assert_oauth_error(reply, 401, "invalid_client")
    assert "WWW-Authenticate" not in reply.headers


async def test_a_wrong_basic_secret_is_invalid_client_with_the_basic_challenge(
    anon: Api, client: IssuedClient
) -> None:
    headers = basic(client.client_id, "dc_cs_wrong")
    reply = await token_call(anon, {"grant_type": "client_credentials"}, headers)
    assert_oauth_error(reply, 401, "invalid_client")
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")


async def test_undecodable_basic_credentials_are_invalid_client(anon: Api) -> None:
    headers = {**FORM, "Authorization": "Basic !!not-base64!!"}
    reply = await token_call(anon, {"grant_type": "client_credentials"}, headers)
    assert_oauth_error(reply, 401, "invalid_client")
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")


@pytest.mark.parametrize("scopes", [("", "calls:write"), ("calls:write", "")])
async def test_a_repeated_parameter_is_refused_even_when_one_is_blank(
    anon: Api, client: IssuedClient, scopes: tuple[str, str]
) -> None:
    body = "&".join(
        [
            "grant_type=client_credentials",
            f"client_id={client.client_id}",
            f"client_secret={client.client_secret}",
            *(f"scope={s}" for s in scopes),
        ]
    )
    reply = await anon.post(TOKEN_PATH, data=body.encode(), headers=FORM)
    assert_oauth_error(reply, 400, "invalid_request")


async def test_non_ascii_basic_credentials_are_invalid_client(anon: Api) -> None:
    headers = {**FORM, "Authorization": "Basic \u00e9t\u00e9"}
    reply = await token_call(anon, {"grant_type": "client_credentials"}, headers)
    assert_oauth_error(reply, 401, "invalid_client")


async def test_an_unknown_grant_type_is_unsupported_grant_type(
    anon: Api, client: IssuedClient
) -> None:
    reply = await token_call(anon, credentials(client, grant_type="password"))
    assert_oauth_error(reply, 400, "unsupported_grant_type")


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "client_secret"])
async def test_a_missing_parameter_is_invalid_request(
    anon: Api, client: IssuedClient, missing: str
) -> None:
    fields = credentials(client)
    fields.pop(missing)
    assert_oauth_error(await token_call(anon, fields), 400, "invalid_request")


async def test_a_repeated_parameter_is_invalid_request(anon: Api, client: IssuedClient) -> None:
    body = urlencode(credentials(client)) + "&grant_type=client_credentials"
    reply = await anon.post(TOKEN_PATH, data=body.encode(), headers=FORM)
    assert_oauth_error(reply, 400, "invalid_request")


async def test_a_json_body_is_invalid_request(anon: Api, client: IssuedClient) -> None:
    reply = await anon.post(TOKEN_PATH, json=credentials(client))
    assert_oauth_error(reply, 400, "invalid_request")


async def test_credentials_in_the_query_string_are_invalid_request(
    anon: Api, client: IssuedClient
) -> None:
    query: dict[str, Any] = {"client_secret": client.client_secret}
    reply = await anon.post(
        TOKEN_PATH, data=urlencode(credentials(client)).encode(), headers=FORM, params=query
    )
    assert_oauth_error(reply, 400, "invalid_request")


async def test_a_requested_subset_of_scopes_is_granted(anon: Api, client: IssuedClient) -> None:
    reply = await token_call(anon, credentials(client, scope="lines:read reminders:read"))
    assert (reply.status, reply.body["scope"]) == (200, "reminders:read lines:read")


async def test_a_scope_beyond_the_client_is_invalid_scope(
    anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    narrow = dc.oauth.create_client(tenant.user.id, scopes=["reminders:read"])
    reply = await token_call(anon, credentials(narrow, scope="reminders:read reminders:write"))
    assert_oauth_error(reply, 400, "invalid_scope")


async def test_the_token_endpoint_answers_only_post(anon: Api) -> None:
    reply = await anon.get(TOKEN_PATH)
    assert (reply.status, reply.code) == (405, "method_not_allowed")
    assert reply.headers["Allow"] == "POST"


# ----------------------------------------------------------------------------- using tokens
async def test_a_token_creates_and_lists_reminders(anon: Api, client: IssuedClient) -> None:
    api = anon.as_key(await token_for(anon, client))
    created = await api.create()
    listed = await api.get("/reminders")
    assert listed.status == 200
    assert [r["id"] for r in listed.body["items"]] == [created["id"]]


async def test_me_reports_the_client_of_a_token(
    anon: Api, client: IssuedClient, tenant: Tenant
) -> None:
    reply = await anon.as_key(await token_for(anon, client)).get("/me")
    assert reply.body["user"]["id"] == tenant.user.id
    assert (reply.body["api_key_id"], reply.body["client_id"]) == (None, client.client_id)


async def test_a_token_outside_its_scopes_is_insufficient_scope(
    anon: Api, client: IssuedClient
) -> None:
    api = anon.as_key(await token_for(anon, client, scope="reminders:read"))
    reply = await api.post("/reminders", json=reminder_payload())
    assert (reply.status, reply.code) == (403, "insufficient_scope")
    assert reply.body["error"]["details"] == {"scope": "reminders:write"}


async def test_an_expired_token_is_token_expired(
    anon: Api, client: IssuedClient, clock: FakeClock
) -> None:
    api = anon.as_key(await token_for(anon, client))
    assert (await api.get("/me")).status == 200
    clock.advance(3600)
    reply = await api.get("/me")
    assert (reply.status, reply.code) == (401, "token_expired")


async def test_an_expired_token_stays_token_expired_after_the_client_refreshes(
    anon: Api, client: IssuedClient, clock: FakeClock
) -> None:
    old = anon.as_key(await token_for(anon, client))
    clock.advance(3600)
    fresh = anon.as_key(await token_for(anon, client))
    assert (await fresh.get("/me")).status == 200
    reply = await old.get("/me")
    assert (reply.status, reply.code) == (401, "token_expired")


async def test_a_revoked_client_token_is_refused(
    anon: Api, dc: Dialcues, client: IssuedClient
) -> None:
    api = anon.as_key(await token_for(anon, client))
    assert (await api.get("/me")).status == 200
    dc.oauth.revoke_client(client.client_id)
    reply = await api.get("/me")
    assert (reply.status, reply.code) == (401, "invalid_api_key")


async def test_a_revoked_client_gets_no_new_token(
    anon: Api, dc: Dialcues, client: IssuedClient
) -> None:
    dc.oauth.revoke_client(client.client_id)
    assert_oauth_error(await token_call(anon, credentials(client)), 401, "invalid_client")


async def test_an_unknown_token_is_invalid_api_key(anon: Api) -> None:
    reply = await anon.as_key("dc_at_" + "x" * 43).get("/me")
    assert (reply.status, reply.code) == (401, "invalid_api_key")
