"""Credentials from metadata, in REST's order; the admin token and the admin services."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from grpc_support import ADMIN_TOKEN, ServeFn, Server, Stubs, fails, list_services
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.accounts import keys
from dialcues_core.adapters.peewee.tables import ApiKeyRow
from dialcues_grpc._pb.dialcues.v1 import identity_pb2, organizations_pb2, reminders_pb2

ADMIN_SERVICES = {
    "dialcues.v1.OrganizationService",
    "dialcues.v1.ApiKeyService",
    "dialcues.v1.OutboundLineService",
}


async def who_am_i(stubs: Stubs, metadata: tuple[tuple[str, str], ...] | None = None) -> object:
    """Call WhoAmI with ``metadata`` (default: the stubs' credential)."""
    md = stubs.md if metadata is None else metadata
    return await stubs.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=md)


async def expect_unauthenticated(call: object, reason: str) -> None:
    """Assert the call fails UNAUTHENTICATED with ``reason``."""
    failed = await fails(call)
    assert (failed.code, failed.reason) == (grpc.StatusCode.UNAUTHENTICATED, reason)


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Basic abc"),), (("authorization", "Bearer "),)],
    ids=["no-metadata", "other-scheme", "empty-token"],
)
async def test_no_bearer_credential_is_unauthorized(
    server: Server, metadata: tuple[tuple[str, str], ...]
) -> None:
    await expect_unauthenticated(who_am_i(server.stubs(None), metadata), "unauthorized")


@pytest.mark.parametrize(
    "token",
    ["garbage", "dc_live_wrongchecksum", keys.generate_key()],
    ids=["garbage", "bad-checksum", "unknown-well-formed"],
)
async def test_a_malformed_or_unknown_key_is_invalid(server: Server, token: str) -> None:
    await expect_unauthenticated(who_am_i(server.stubs(token)), "invalid_api_key")


async def test_the_scheme_is_case_insensitive(server: Server, tenant: Tenant) -> None:
    stubs = server.stubs(None)
    await who_am_i(stubs, (("authorization", f"bearer {tenant.api_key}"),))


async def test_a_revoked_key_is_refused(server: Server, dc: Dialcues, tenant: Tenant) -> None:
    stubs = server.stubs(tenant.api_key)
    await who_am_i(stubs)
    dc.accounts.revoke_api_key(tenant.principal.api_key_id)
    await expect_unauthenticated(who_am_i(stubs), "api_key_revoked")


async def test_an_expired_key_is_refused(server: Server, dc: Dialcues, tenant: Tenant) -> None:
    issued = dc.accounts.create_api_key(tenant.user.id)
    past = datetime(2020, 1, 1, tzinfo=UTC)
    ApiKeyRow.update(expires_at=past).where(ApiKeyRow.id == issued.key.id).execute()
    await expect_unauthenticated(who_am_i(server.stubs(issued.raw)), "api_key_expired")


async def test_revoked_is_checked_before_expired(
    server: Server, dc: Dialcues, tenant: Tenant
) -> None:
    issued = dc.accounts.create_api_key(tenant.user.id)
    past = datetime(2020, 1, 1, tzinfo=UTC)
    ApiKeyRow.update(expires_at=past, revoked_at=past).where(
        ApiKeyRow.id == issued.key.id
    ).execute()
    await expect_unauthenticated(who_am_i(server.stubs(issued.raw)), "api_key_revoked")


async def test_auth_is_checked_before_the_reminder_is_looked_up(server: Server) -> None:
    stubs = server.stubs(keys.generate_key())
    call = stubs.reminders.GetReminder(reminders_pb2.GetReminderRequest(id=1), metadata=stubs.md)
    await expect_unauthenticated(call, "invalid_api_key")


# ----------------------------------------------------------------------------- admin
async def test_admin_services_need_the_admin_token(server: Server, tenant: Tenant) -> None:
    request = organizations_pb2.GetOrganizationRequest(id=tenant.org.id)
    for token, reason in [
        (None, "unauthorized"),
        ("wrong", "invalid_api_key"),
        (tenant.api_key, "invalid_api_key"),
    ]:
        stubs = server.stubs(token)
        call = stubs.organizations.GetOrganization(request, metadata=stubs.md)
        await expect_unauthenticated(call, reason)


async def test_public_services_refuse_the_admin_token(server: Server) -> None:
    await expect_unauthenticated(who_am_i(server.stubs(ADMIN_TOKEN)), "invalid_api_key")


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
async def test_without_an_admin_token_the_admin_services_are_absent(
    serve: ServeFn, tenant: Tenant, token: str | None
) -> None:
    stubs = (await serve(token)).stubs(ADMIN_TOKEN)
    assert not ADMIN_SERVICES & set(await list_services(stubs))
    request = organizations_pb2.GetOrganizationRequest(id=tenant.org.id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.organizations.GetOrganization(request, metadata=stubs.md)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_a_key_lacking_the_scope_is_permission_denied(
    server: Server, dc: Dialcues, tenant: Tenant
) -> None:
    key = dc.accounts.create_api_key(tenant.user.id, scopes=["executions:read"]).raw
    stubs = server.stubs(key)
    failed = await fails(
        stubs.reminders.ListReminders(reminders_pb2.ListRemindersRequest(), metadata=stubs.md)
    )
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "reminders:read"}
