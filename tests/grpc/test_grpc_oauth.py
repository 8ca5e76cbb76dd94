"""OAuth over gRPC: the admin ``OAuthClientService``, and access tokens on public RPCs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest
from grpc_support import ADMIN_TOKEN, ServeFn, Server, Stubs, fails, list_services
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts.oauth import IssuedClient
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.testing import FakeClock
from dialcues_grpc._pb.dialcues.v1 import (
    identity_pb2,
    oauth_clients_pb2,
    oauth_clients_pb2_grpc,
    reminders_pb2,
)

C = oauth_clients_pb2
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock (reminders are created for 2030, still in its future)."""
    return FakeClock(START)


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file and the fake clock (overrides the shared ``dc``)."""
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def client(dc: Dialcues, tenant: Tenant) -> IssuedClient:
    """An OAuth client of the tenant's user with every scope."""
    return dc.oauth.create_client(tenant.user.id, name="backend")


def clients_stub(stubs: Stubs) -> oauth_clients_pb2_grpc.OAuthClientServiceStub:
    """The OAuthClientService stub on the stubs' channel."""
    return oauth_clients_pb2_grpc.OAuthClientServiceStub(stubs.channel)


def token_stubs(
    server: Server, dc: Dialcues, client: IssuedClient, scope: str | None = None
) -> Stubs:
    """Stubs sending an access token of ``client`` (issued by the core's token endpoint)."""
    token = dc.oauth.issue_token(client.client_id, client.client_secret, scope)
    return server.stubs(token.access_token)


# ----------------------------------------------------------------------------- admin service
async def test_create_returns_the_secret_once_and_list_never(admin: Stubs, tenant: Tenant) -> None:
    stub = clients_stub(admin)
    request = C.CreateOAuthClientRequest(user_id=tenant.user.id, name="ci", scopes=["lines:read"])
    created = await stub.CreateOAuthClient(request, metadata=admin.md)
    listed = await stub.ListOAuthClients(
        C.ListOAuthClientsRequest(user_id=tenant.user.id), metadata=admin.md
    )
    assert created.client_secret.startswith("dc_cs_")
    assert created.client.client_id.startswith("cli_")
    assert (created.client.name, list(created.client.scopes)) == ("ci", ["lines:read"])
    assert list(listed.items) == [created.client]
    assert created.client_secret not in str(listed)


async def test_a_client_created_without_scopes_has_all(admin: Stubs, tenant: Tenant) -> None:
    request = C.CreateOAuthClientRequest(user_id=tenant.user.id)
    created = await clients_stub(admin).CreateOAuthClient(request, metadata=admin.md)
    assert tuple(created.client.scopes) == ALL_SCOPES
    assert not created.client.HasField("name")


async def test_bad_scopes_are_a_validation_error(admin: Stubs, tenant: Tenant) -> None:
    request = C.CreateOAuthClientRequest(user_id=tenant.user.id, scopes=["root"])
    failed = await fails(clients_stub(admin).CreateOAuthClient(request, metadata=admin.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert list(failed.violations) == ["scopes"]


async def test_a_client_for_an_unknown_user_is_not_found(admin: Stubs) -> None:
    request = C.CreateOAuthClientRequest(user_id="usr_nobody")
    failed = await fails(clients_stub(admin).CreateOAuthClient(request, metadata=admin.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_revoke_marks_the_client_revoked(admin: Stubs, client: IssuedClient) -> None:
    request = C.RevokeOAuthClientRequest(client_id=client.client_id)
    revoked = await clients_stub(admin).RevokeOAuthClient(request, metadata=admin.md)
    assert revoked.client_id == client.client_id
    assert revoked.revoked_at.ToDatetime(tzinfo=UTC) == START


async def test_revoking_an_unknown_client_is_not_found(admin: Stubs) -> None:
    request = C.RevokeOAuthClientRequest(client_id="cli_nope")
    failed = await fails(clients_stub(admin).RevokeOAuthClient(request, metadata=admin.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_the_admin_service_refuses_an_api_key(api: Stubs, tenant: Tenant) -> None:
    request = C.ListOAuthClientsRequest(user_id=tenant.user.id)
    failed = await fails(clients_stub(api).ListOAuthClients(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.UNAUTHENTICATED, "invalid_api_key")


async def test_without_an_admin_token_the_service_is_absent(serve: ServeFn, tenant: Tenant) -> None:
    stubs = (await serve(None)).stubs(ADMIN_TOKEN)
    assert "dialcues.v1.OAuthClientService" not in await list_services(stubs)
    request = C.ListOAuthClientsRequest(user_id=tenant.user.id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await clients_stub(stubs).ListOAuthClients(request, metadata=stubs.md)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


# ----------------------------------------------------------------------------- access tokens
async def test_a_token_in_metadata_creates_and_lists_reminders(
    server: Server, dc: Dialcues, client: IssuedClient
) -> None:
    stubs = token_stubs(server, dc, client)
    created = await stubs.create()
    listed = await stubs.reminders.ListReminders(
        reminders_pb2.ListRemindersRequest(), metadata=stubs.md
    )
    assert [r.id for r in listed.items] == [created.id]


async def test_whoami_reports_the_client_of_a_token(
    server: Server, dc: Dialcues, client: IssuedClient, tenant: Tenant
) -> None:
    stubs = token_stubs(server, dc, client)
    me = await stubs.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=stubs.md)
    assert (me.user.id, me.client_id) == (tenant.user.id, client.client_id)
    assert not me.HasField("api_key_id")


async def test_whoami_reports_no_client_for_an_api_key(api: Stubs) -> None:
    me = await api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=api.md)
    assert me.HasField("api_key_id") and not me.HasField("client_id")


async def test_a_token_outside_its_scopes_is_permission_denied(
    server: Server, dc: Dialcues, client: IssuedClient
) -> None:
    stubs = token_stubs(server, dc, client, scope="reminders:read")
    failed = await fails(stubs.create())
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "reminders:write"}


async def test_an_expired_token_is_token_expired(
    server: Server, dc: Dialcues, client: IssuedClient, clock: FakeClock
) -> None:
    stubs = token_stubs(server, dc, client)
    clock.advance(3600)
    failed = await fails(stubs.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=stubs.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.UNAUTHENTICATED, "token_expired")


async def test_a_revoked_client_token_is_refused(
    server: Server, dc: Dialcues, client: IssuedClient
) -> None:
    stubs = token_stubs(server, dc, client)
    await stubs.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=stubs.md)
    dc.oauth.revoke_client(client.client_id)
    failed = await fails(stubs.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=stubs.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.UNAUTHENTICATED, "invalid_api_key")
