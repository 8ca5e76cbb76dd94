"""The administration services: organizations, users, provider settings, keys, lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from grpc_support import Server, Stubs, fails
from support.platform import Tenant

from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_grpc._pb.dialcues.v1 import (
    api_keys_pb2,
    common_pb2,
    identity_pb2,
    organizations_pb2,
    outbound_lines_pb2,
)

O = organizations_pb2  # noqa: E741
K = api_keys_pb2
L = outbound_lines_pb2


async def new_org(admin: Stubs, name: str = "Acme") -> O.Organization:
    """Create an organization through the admin service."""
    return await admin.organizations.CreateOrganization(
        O.CreateOrganizationRequest(name=name), metadata=admin.md
    )


async def new_user(admin: Stubs, org_id: str) -> object:
    """Create a user through the admin service."""
    request = O.CreateUserRequest(organization_id=org_id, email="ops@example.com", name="Ops")
    return await admin.organizations.CreateUser(request, metadata=admin.md)


# ----------------------------------------------------------------------------- organizations
async def test_create_and_get_an_organization(admin: Stubs) -> None:
    created = await new_org(admin, "  Acme  ")
    assert created.id.startswith("org_") and created.name == "Acme"
    assert not created.HasField("provider")
    found = await admin.organizations.GetOrganization(
        O.GetOrganizationRequest(id=created.id), metadata=admin.md
    )
    assert found == created


async def test_an_unknown_organization_is_not_found(admin: Stubs) -> None:
    failed = await fails(
        admin.organizations.GetOrganization(O.GetOrganizationRequest(id="org_x"), metadata=admin.md)
    )
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
    assert failed.metadata == {"resource": "organization", "id": "org_x"}


async def test_an_organization_needs_a_name(admin: Stubs) -> None:
    failed = await fails(new_org(admin, " "))
    assert failed.violations == {"name": "must be 1–255 characters long"}


async def test_create_and_get_a_user(admin: Stubs) -> None:
    org = await new_org(admin)
    created = await new_user(admin, org.id)
    found = await admin.organizations.GetUser(
        O.GetUserRequest(id=created.id),
        metadata=admin.md,
    )
    assert found == created
    assert (found.organization_id, found.email, found.name) == (org.id, "ops@example.com", "Ops")


async def test_a_user_needs_an_existing_organization_and_valid_fields(admin: Stubs) -> None:
    bad = O.CreateUserRequest(organization_id="org_x", email="nope", name="")
    failed = await fails(admin.organizations.CreateUser(bad, metadata=admin.md))
    assert failed.violations == {
        "email": "must be an e-mail address",
        "name": "must be 1–255 characters long",
    }
    good = O.CreateUserRequest(organization_id="org_x", email="a@example.com", name="A")
    failed = await fails(admin.organizations.CreateUser(good, metadata=admin.md))
    assert failed.code == grpc.StatusCode.NOT_FOUND


async def test_provider_secrets_are_write_only(admin: Stubs) -> None:
    org = await new_org(admin)
    request = O.SetProviderSettingsRequest(
        organization_id=org.id,
        provider=common_pb2.PROVIDER_VAPI,
        api_key="vapi-secret-key-1234",
        assistant_id="asst_1",
        webhook_secret="whsec-secret-9876",
        concurrency=5,
        retry_delays=O.RetryDelays(seconds=[60, 120]),
        model="anthropic:claude-sonnet-4",
    )
    request.voice.update({"provider": "11labs", "voiceId": "rachel"})
    updated = await admin.organizations.SetProviderSettings(request, metadata=admin.md)
    expected = O.MaskedProviderSettings(
        provider=common_pb2.PROVIDER_VAPI,
        api_key_hint="…1234",
        assistant_id="asst_1",
        webhook_secret_hint="…9876",
        base_url="https://api.vapi.ai",
        concurrency=5,
        retry_delays=O.RetryDelays(seconds=[60, 120]),
        model="anthropic:claude-sonnet-4",
    )
    expected.voice.update({"provider": "11labs", "voiceId": "rachel"})
    assert updated.provider == expected
    assert not updated.provider.HasField("transcriber")
    found = await admin.organizations.GetOrganization(
        O.GetOrganizationRequest(id=org.id), metadata=admin.md
    )
    raw = found.SerializeToString()
    assert b"vapi-secret-key" not in raw and b"whsec-secret" not in raw


async def test_provider_settings_need_no_assistant_and_default_their_model(admin: Stubs) -> None:
    org = await new_org(admin)
    request = O.SetProviderSettingsRequest(
        organization_id=org.id,
        provider=common_pb2.PROVIDER_VAPI,
        api_key="vapi-secret-key-1234",
        webhook_secret="whsec-secret-9876",
    )
    updated = await admin.organizations.SetProviderSettings(request, metadata=admin.md)
    assert not updated.provider.HasField("assistant_id")
    assert updated.provider.model == "openai:gpt-4.1-mini"


async def test_provider_settings_name_each_missing_field(admin: Stubs) -> None:
    org = await new_org(admin)
    request = O.SetProviderSettingsRequest(organization_id=org.id, concurrency=0)
    failed = await fails(admin.organizations.SetProviderSettings(request, metadata=admin.md))
    assert failed.violations == {
        "provider": "is required",
        "api_key": "is required",
        "webhook_secret": "is required",
        "concurrency": "must be an integer from 1 to 1000",
    }


# ----------------------------------------------------------------------------- API keys
async def test_a_created_key_works_once_shown_and_stops_when_revoked(
    admin: Stubs, server: Server
) -> None:
    user = await new_user(admin, (await new_org(admin)).id)
    expires = timestamp_pb2.Timestamp()
    expires.FromDatetime(datetime(2040, 1, 1, tzinfo=UTC))
    created = await admin.api_keys.CreateApiKey(
        K.CreateApiKeyRequest(user_id=user.id, name="ci", expires_at=expires),
        metadata=admin.md,
    )
    raw, key = created.api_key, created.key
    assert raw.startswith("dc_live_") and key.prefix == raw[:12] and key.last4 == raw[-4:]
    assert (key.name, list(key.scopes)) == ("ci", list(ALL_SCOPES))
    assert key.expires_at == expires and not key.HasField("revoked_at")
    public = server.stubs(raw)
    me = await public.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=public.md)
    assert me.api_key_id == key.id
    listed = await admin.api_keys.ListApiKeys(
        K.ListApiKeysRequest(user_id=key.user_id), metadata=admin.md
    )
    assert [k.id for k in listed.items] == [key.id]
    assert raw.encode() not in listed.SerializeToString()
    revoked = await admin.api_keys.RevokeApiKey(K.RevokeApiKeyRequest(id=key.id), metadata=admin.md)
    assert revoked.HasField("revoked_at")
    failed = await fails(public.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=public.md))
    assert failed.reason == "api_key_revoked"


async def test_key_fields_are_validated_by_the_core(admin: Stubs, tenant: Tenant) -> None:
    request = K.CreateApiKeyRequest(user_id=tenant.user.id, name=" ", scopes=["root"])
    failed = await fails(admin.api_keys.CreateApiKey(request, metadata=admin.md))
    assert set(failed.violations) == {"name", "scopes"}


async def test_revoking_an_unknown_key_is_not_found(admin: Stubs) -> None:
    failed = await fails(
        admin.api_keys.RevokeApiKey(K.RevokeApiKeyRequest(id="key_x"), metadata=admin.md)
    )
    assert failed.code == grpc.StatusCode.NOT_FOUND


# ----------------------------------------------------------------------------- lines
async def test_add_list_default_and_remove_lines(admin: Stubs) -> None:
    org = await new_org(admin)
    first = await admin.outbound_lines.AddLine(
        L.AddLineRequest(
            organization_id=org.id,
            provider=common_pb2.PROVIDER_SIMULATED,
            phone_number="+14155550100",
            label="Main",
        ),
        metadata=admin.md,
    )
    assert (first.is_default, first.label, first.organization_id) == (True, "Main", org.id)
    second = await admin.outbound_lines.AddLine(
        L.AddLineRequest(
            organization_id=org.id,
            provider=common_pb2.PROVIDER_VAPI,
            phone_number="+14155550101",
            provider_line_id="pn_1",
        ),
        metadata=admin.md,
    )
    assert (second.is_default, second.provider_line_id) == (False, "pn_1")
    chosen = await admin.outbound_lines.SetDefaultLine(
        L.SetDefaultLineRequest(organization_id=org.id, line_id=second.id), metadata=admin.md
    )
    assert chosen.is_default
    await admin.outbound_lines.RemoveLine(
        L.RemoveLineRequest(organization_id=org.id, line_id=first.id), metadata=admin.md
    )
    listed = await admin.outbound_lines.ListLines(
        L.ListOutboundLinesRequest(organization_id=org.id), metadata=admin.md
    )
    assert list(listed.items) == [chosen]


async def test_a_vapi_line_needs_its_provider_id(admin: Stubs) -> None:
    org = await new_org(admin)
    request = L.AddLineRequest(
        organization_id=org.id, provider=common_pb2.PROVIDER_VAPI, phone_number="+14155550101"
    )
    failed = await fails(admin.outbound_lines.AddLine(request, metadata=admin.md))
    assert failed.violations == {
        "provider_line_id": "is required for a vapi line (its phoneNumberId)"
    }


async def test_removing_an_unknown_line_is_not_found(admin: Stubs, tenant: Tenant) -> None:
    request = L.RemoveLineRequest(organization_id=tenant.org.id, line_id="line_x")
    failed = await fails(admin.outbound_lines.RemoveLine(request, metadata=admin.md))
    assert (failed.code, failed.metadata) == (
        grpc.StatusCode.NOT_FOUND,
        {"resource": "line", "id": "line_x"},
    )


async def test_listing_the_lines_of_an_unknown_organization_is_not_found(admin: Stubs) -> None:
    request = L.ListOutboundLinesRequest(organization_id="org_missing")
    failed = await fails(admin.outbound_lines.ListLines(request, metadata=admin.md))
    assert failed.code is grpc.StatusCode.NOT_FOUND


# ----------------------------------------------------------------------------- workers
async def test_list_workers_shows_each_dispatchers_host_pid_and_heartbeat(
    admin: Stubs, dc: Any
) -> None:
    from dialcues_core.operations.model import WorkerInfo
    from dialcues_grpc._pb.dialcues.v1 import workers_pb2, workers_pb2_grpc

    now = dc.clock.now()
    dc.operations.beat(WorkerInfo("w-1", "host-a", 4242, now, now, now))
    stub = workers_pb2_grpc.WorkerServiceStub(admin.channel)

    found = await stub.ListWorkers(workers_pb2.ListWorkersRequest(), metadata=admin.md)

    (worker,) = found.workers
    assert (worker.id, worker.host, worker.pid, worker.alive) == ("w-1", "host-a", 4242, True)
    assert worker.HasField("last_claim_at") and not worker.HasField("stopped_at")


async def test_list_workers_needs_the_admin_token(admin: Stubs) -> None:
    from dialcues_grpc._pb.dialcues.v1 import workers_pb2, workers_pb2_grpc

    stub = workers_pb2_grpc.WorkerServiceStub(admin.channel)
    failed = await fails(stub.ListWorkers(workers_pb2.ListWorkersRequest(), metadata=()))
    assert failed.code == grpc.StatusCode.UNAUTHENTICATED
