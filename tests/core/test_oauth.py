"""OAuth 2.1 client credentials in the core: clients, tokens, and the Authenticator's token half."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.oauth import ACCESS_TOKEN_PREFIX, CLIENT_SECRET_PREFIX, IssuedClient
from dialcues_core.adapters.peewee.tables import AccessTokenRow, OAuthClientRow
from dialcues_core.errors import (
    InsufficientScope,
    InvalidApiKey,
    InvalidClient,
    InvalidScope,
    MissingCredentials,
    ResourceNotFound,
    TokenExpired,
    ValidationFailed,
)
from dialcues_core.kernel.scopes import ALL_SCOPES, READ_REMINDERS, WRITE_REMINDERS
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REMINDER = {
    "title": "Stand-up",
    "message": "Time for stand-up",
    "phone_number": "+14155552671",
    "timezone": "Europe/London",
    "scheduled_at": "2026-03-25T09:00:00",
}


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock."""
    return FakeClock(START)


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file and the fake clock."""
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def client(dc: Dialcues, tenant: Tenant) -> IssuedClient:
    """A client of the tenant's user with every scope."""
    return dc.oauth.create_client(tenant.user.id, name="backend")


# ----------------------------------------------------------------------------- clients
def test_a_client_gets_an_opaque_id_and_a_secret_stored_only_hashed(
    dc: Dialcues, client: IssuedClient
) -> None:
    row = OAuthClientRow.get_by_id(client.client_id)
    assert client.client_id.startswith("cli_")
    assert client.client_secret.startswith(CLIENT_SECRET_PREFIX)
    assert row.secret_hash == hashlib.sha256(client.client_secret.encode()).hexdigest()
    assert client.client_secret not in str(row.__data__.values())


def test_a_client_without_scopes_has_all_of_them(client: IssuedClient) -> None:
    assert client.client.scopes == ALL_SCOPES


def test_a_client_keeps_the_scopes_it_was_given(dc: Dialcues, tenant: Tenant) -> None:
    issued = dc.oauth.create_client(tenant.user.id, scopes=["reminders:write", "reminders:read"])
    assert issued.client.scopes == (READ_REMINDERS, WRITE_REMINDERS)


@pytest.mark.parametrize("scopes", [["reminders:read", "admin"], [], [" "]])
def test_client_scopes_must_be_a_non_empty_subset_of_all_scopes(
    dc: Dialcues, tenant: Tenant, scopes: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        dc.oauth.create_client(tenant.user.id, scopes=scopes)
    assert list(caught.value.fields) == ["scopes"]


def test_a_client_name_must_not_be_blank(dc: Dialcues, tenant: Tenant) -> None:
    with pytest.raises(ValidationFailed) as caught:
        dc.oauth.create_client(tenant.user.id, name="  ")
    assert list(caught.value.fields) == ["name"]


def test_a_client_needs_an_existing_user(dc: Dialcues) -> None:
    with pytest.raises(ResourceNotFound):
        dc.oauth.create_client("usr_nobody")


def test_clients_are_listed_newest_first(
    dc: Dialcues, tenant: Tenant, clock: FakeClock, client: IssuedClient
) -> None:
    clock.advance(1)
    newer = dc.oauth.create_client(tenant.user.id, name="newer")
    listed = dc.oauth.list_clients(tenant.user.id)
    assert [c.id for c in listed] == [newer.client_id, client.client_id]


def test_revoking_an_unknown_client_is_not_found(dc: Dialcues) -> None:
    with pytest.raises(ResourceNotFound):
        dc.oauth.revoke_client("cli_nope")


def test_revoking_keeps_the_first_revocation_time(
    dc: Dialcues, clock: FakeClock, client: IssuedClient
) -> None:
    first = dc.oauth.revoke_client(client.client_id)
    clock.advance(60)
    assert dc.oauth.revoke_client(client.client_id).revoked_at == first.revoked_at == START


# ----------------------------------------------------------------------------- tokens
def test_a_token_is_issued_for_the_client_scopes_for_an_hour(
    dc: Dialcues, client: IssuedClient
) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    assert token.access_token.startswith(ACCESS_TOKEN_PREFIX)
    assert (token.token_type, token.expires_in) == ("Bearer", 3600)
    assert token.scope == " ".join(ALL_SCOPES)


def test_a_token_is_stored_only_hashed(dc: Dialcues, client: IssuedClient) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    digest = hashlib.sha256(token.access_token.encode()).hexdigest()
    assert [r.token_hash for r in AccessTokenRow.select()] == [digest]


def test_a_requested_subset_of_scopes_is_granted(dc: Dialcues, client: IssuedClient) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret, "reminders:read")
    assert token.scope == "reminders:read"
    assert dc.authenticate(token.access_token).scopes == {READ_REMINDERS}


def test_a_scope_beyond_the_client_is_invalid_scope(dc: Dialcues, tenant: Tenant) -> None:
    narrow = dc.oauth.create_client(tenant.user.id, scopes=["reminders:read"])
    with pytest.raises(InvalidScope) as caught:
        dc.oauth.issue_token(narrow.client_id, narrow.client_secret, "reminders:read lines:read")
    assert caught.value.details == {"scopes": ["lines:read"]}


def test_an_unknown_scope_is_invalid_scope(dc: Dialcues, client: IssuedClient) -> None:
    with pytest.raises(InvalidScope):
        dc.oauth.issue_token(client.client_id, client.client_secret, "everything")


@pytest.mark.parametrize("secret", ["", "dc_cs_wrong", None])
def test_a_wrong_secret_is_invalid_client(
    dc: Dialcues, client: IssuedClient, secret: str | None
) -> None:
    with pytest.raises(InvalidClient):
        dc.oauth.issue_token(client.client_id, secret or "")


def test_an_unknown_client_is_invalid_client(dc: Dialcues, client: IssuedClient) -> None:
    with pytest.raises(InvalidClient):
        dc.oauth.issue_token("cli_unknown", client.client_secret)


@pytest.mark.parametrize("client_id", ["", "cli_\x00", "key_" + "a" * 20, "cli_" + "a" * 99])
def test_a_malformed_client_id_is_invalid_client_without_a_read(
    dc: Dialcues, client: IssuedClient, client_id: str
) -> None:
    with pytest.raises(InvalidClient):
        dc.oauth.issue_token(client_id, client.client_secret)


def test_revoking_a_malformed_client_id_is_not_found(dc: Dialcues) -> None:
    with pytest.raises(ResourceNotFound):
        dc.oauth.revoke_client("cli_\x00")


def test_a_revoked_client_gets_no_token(dc: Dialcues, client: IssuedClient) -> None:
    dc.oauth.revoke_client(client.client_id)
    with pytest.raises(InvalidClient):
        dc.oauth.issue_token(client.client_id, client.client_secret)


def test_tokens_expired_for_a_day_are_purged_when_the_client_gets_a_new_one(
    dc: Dialcues, clock: FakeClock, client: IssuedClient
) -> None:
    dc.oauth.issue_token(client.client_id, client.client_secret)
    clock.advance(3600 + 86_401)
    fresh = dc.oauth.issue_token(client.client_id, client.client_secret)
    digest = hashlib.sha256(fresh.access_token.encode()).hexdigest()
    assert [r.token_hash for r in AccessTokenRow.select()] == [digest]


def test_a_token_that_just_expired_stays_token_expired_after_a_refresh(
    dc: Dialcues, clock: FakeClock, client: IssuedClient
) -> None:
    old = dc.oauth.issue_token(client.client_id, client.client_secret)
    clock.advance(3601)
    dc.oauth.issue_token(client.client_id, client.client_secret)
    with pytest.raises(TokenExpired):
        dc.authenticate(old.access_token)


def test_revoking_a_client_deletes_its_tokens(dc: Dialcues, client: IssuedClient) -> None:
    dc.oauth.issue_token(client.client_id, client.client_secret)
    dc.oauth.issue_token(client.client_id, client.client_secret)
    dc.oauth.revoke_client(client.client_id)
    assert AccessTokenRow.select().count() == 0


# ----------------------------------------------------------------------------- authentication
def test_a_token_acts_as_the_client_user_with_its_scopes(
    dc: Dialcues, tenant: Tenant, client: IssuedClient
) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    principal = dc.authenticate(token.access_token)
    assert principal.user == tenant.user
    assert (principal.api_key_id, principal.client_id) == (None, client.client_id)
    assert principal.scopes == frozenset(ALL_SCOPES)


def test_whoami_reports_the_client_of_a_token(dc: Dialcues, client: IssuedClient) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    facts = dc.whoami(dc.authenticate(token.access_token))
    assert (facts["api_key_id"], facts["client_id"]) == (None, client.client_id)


def test_whoami_reports_no_client_for_an_api_key(dc: Dialcues, tenant: Tenant) -> None:
    assert dc.whoami(dc.authenticate(tenant.api_key))["client_id"] is None


def test_a_token_works_with_the_use_cases_within_its_scopes(
    dc: Dialcues, client: IssuedClient
) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret, "reminders:write")
    me = dc.authenticate(token.access_token)
    created = dc.reminders.create(me, REMINDER)
    with pytest.raises(InsufficientScope) as caught:
        dc.reminders.get(me, created.id)
    assert caught.value.details == {"scope": READ_REMINDERS}


def test_an_expired_token_is_token_expired(
    dc: Dialcues, clock: FakeClock, client: IssuedClient
) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    dc.authenticate(token.access_token)
    clock.advance(3600)
    assert dc.authenticator.peek(token.access_token) is None
    with pytest.raises(TokenExpired):
        dc.authenticate(token.access_token)


def test_a_shorter_lifetime_is_a_constructor_parameter(
    dc: Dialcues, clock: FakeClock, client: IssuedClient
) -> None:
    dc.oauth.token_lifetime = 60
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    clock.advance(60)
    assert token.expires_in == 60
    with pytest.raises(TokenExpired):
        dc.authenticate(token.access_token)


def test_a_revoked_client_token_is_refused_at_once_in_this_process(
    dc: Dialcues, client: IssuedClient
) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    dc.authenticate(token.access_token)
    dc.oauth.revoke_client(client.client_id)
    assert dc.authenticator.peek(token.access_token) is None
    with pytest.raises(InvalidApiKey):
        dc.authenticate(token.access_token)


def test_another_process_refuses_a_revoked_client_token_once_its_cache_lapses(
    dc: Dialcues, clock: FakeClock, client: IssuedClient
) -> None:
    other = Dialcues.wire(dc.settings.replace(key_cache_seconds=0.0), clock, dc.db)
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    other.authenticate(token.access_token)
    dc.oauth.revoke_client(client.client_id)
    with pytest.raises(InvalidApiKey):
        other.authenticate(token.access_token)


def test_a_cached_token_is_peeked_without_the_database(dc: Dialcues, client: IssuedClient) -> None:
    token = dc.oauth.issue_token(client.client_id, client.client_secret)
    assert dc.authenticator.peek(token.access_token) is None
    first = dc.authenticate(token.access_token)
    assert dc.authenticator.peek(token.access_token) == first


@pytest.mark.parametrize("raw", ["dc_at_short", "dc_at_" + "!" * 43, "dc_at_" + "a" * 43])
def test_a_malformed_or_unknown_token_is_invalid_api_key(dc: Dialcues, raw: str) -> None:
    with pytest.raises(InvalidApiKey):
        dc.authenticate(raw)


def test_no_credential_is_still_unauthorized(dc: Dialcues) -> None:
    with pytest.raises(MissingCredentials):
        dc.authenticate("")


# ----------------------------------------------------------------------------- both backends
def test_the_token_flow_on_every_backend(any_url: str) -> None:
    platform = Dialcues.open(settings=settings_for(any_url), clock=FakeClock(START))
    try:
        tenant = make_tenant(platform)
        issued = platform.oauth.create_client(tenant.user.id, scopes=["lines:read"])
        token = platform.oauth.issue_token(issued.client_id, issued.client_secret)
        lines = platform.accounts.lines_of(platform.authenticate(token.access_token))
        assert [line.id for line in lines] == [tenant.line.id]
        assert platform.oauth.list_clients(tenant.user.id)[0].id == issued.client_id
    finally:
        platform.close()
