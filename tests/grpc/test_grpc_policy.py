"""The calling policy over gRPC: ``PolicyService.GetPolicy`` (users) and the admin RPCs
``OrganizationService.GetCallingPolicy`` / ``UpdateCallingPolicy`` (responsible-calling.md §3,
§18). Reads are compared field by field with REST's ``GET /policy`` body for the same
organization. A new organization's policy names its caller (``caller_name``: the
organization's name, "Acme" for the test tenants), stored at creation, so it has an
``updated_at`` from the start."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from grpc_support import Rest, Stubs, fails
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_grpc._pb.dialcues.v1 import (
    audit_pb2,
    organizations_pb2,
    policy_pb2,
    usage_pb2,
    usage_pb2_grpc,
)
from dialcues_grpc.server import PUBLIC_SERVICES

Org, P = organizations_pb2, policy_pb2
OUTCOMES = ("busy", "no_answer", "failed", "voicemail")
HOOK = "https://93.184.215.14/predial"
"""A public address: the pre-dial URL passes the webhook URL rules without DNS."""
GET_POLICY = "/dialcues.v1.PolicyService/GetPolicy"


# ----------------------------------------------------------------------------- helpers
def opt(message: Any, name: str) -> Any:
    """Return a field with presence, None when unset (REST's null)."""
    return getattr(message, name) if message.HasField(name) else None


def seconds_text(ts: timestamp_pb2.Timestamp) -> str:
    """Return a Timestamp as REST renders a whole-second time."""
    return ts.ToDatetime(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def window_json(window: P.CallingWindow) -> dict[str, Any]:
    """Return an organization's window (hours or a profile) in REST's shape."""
    which = window.WhichOneof("window")
    if which == "hours":
        return {"start": window.hours.start, "end": window.hours.end, "days": [*window.hours.days]}
    assert which == "profile", which
    return {"profile": window.profile}


def policy_json(p: P.CallingPolicy) -> dict[str, Any]:
    """Return a CallingPolicy in REST's ``GET /policy`` shape (written apart from the edge)."""
    delays = p.retry_policy.delays
    return {
        "organization_id": p.organization_id,
        "calling_window": window_json(p.calling_window),
        "window_basis": p.window_basis,
        "blocked_dates": list(p.blocked_dates),
        "allow_window_bypass": p.allow_window_bypass,
        "max_lateness_seconds": p.max_lateness_seconds,
        "retry_policy": {
            "max_attempts": p.retry_policy.max_attempts,
            "delays": {
                k: list(getattr(delays, k).seconds) if delays.HasField(k) else None
                for k in OUTCOMES
            },
        },
        "frequency_caps": {k: opt(p.frequency_caps, k) for k in ("per_24h", "per_30d")},
        "caller_name": opt(p, "caller_name"),
        "callback_number": opt(p, "callback_number"),
        "ai_disclosure": p.ai_disclosure,
        "opening_template": opt(p, "opening_template"),
        "snooze_default_minutes": p.snooze_default_minutes,
        "require_consent_for_informational": p.require_consent_for_informational,
        "predial": (
            {
                "url": p.predial.url,
                "timeout_ms": p.predial.timeout_ms,
                "on_failure": p.predial.on_failure,
            }
            if p.HasField("predial")
            else None
        ),
        "inherited": list(p.inherited),
        "opening_preview": p.opening_preview,
        "updated_at": seconds_text(p.updated_at) if p.HasField("updated_at") else None,
    }


def update(org_id: str, *paths: str, **fields: Any) -> Org.UpdateCallingPolicyRequest:
    """An UpdateCallingPolicyRequest naming ``paths`` in its mask."""
    mask = field_mask_pb2.FieldMask(paths=list(paths))
    return Org.UpdateCallingPolicyRequest(organization_id=org_id, update_mask=mask, **fields)


async def change(admin: Stubs, request: Org.UpdateCallingPolicyRequest) -> Any:
    """Run UpdateCallingPolicy with the admin token."""
    return await admin.organizations.UpdateCallingPolicy(request, metadata=admin.md)


async def get_policy(api: Stubs) -> P.CallingPolicy:
    """Run GetPolicy with the tenant's key."""
    return await api.policy.GetPolicy(P.GetPolicyRequest(), metadata=api.md)


async def events(api: Stubs) -> list[audit_pb2.AuditEvent]:
    """Return the tenant's organization's audit events, newest first."""
    page = await api.audit.ListAuditEvents(audit_pb2.ListAuditEventsRequest(), metadata=api.md)
    return list(page.items)


def everything(org_id: str) -> Org.UpdateCallingPolicyRequest:
    """A change of every field: a window, blocked dates, caps, retries (voicemail null), hook."""
    retry = P.RetryPolicy(
        max_attempts=3,
        delays=P.RetryDelaysByOutcome(
            busy=P.DelayList(seconds=[300, 900]),
            no_answer=P.DelayList(seconds=[600]),
            failed=P.DelayList(seconds=[120]),
        ),
    )
    fields = {
        "calling_window": P.CallingWindow(
            hours=P.CallingHours(start="09:00", end="18:30", days=[5, 1, 3])
        ),
        "window_basis": "reminder_zone",
        "blocked_dates": ["2026-12-25", "2026-01-01", "2026-12-25"],
        "allow_window_bypass": False,
        "max_lateness_seconds": 1200,
        "retry_policy": retry,
        "frequency_caps": P.FrequencyCaps(per_24h=3),
        "caller_name": "  Acme Pharmacy ",
        "callback_number": "+14155550100",
        "ai_disclosure": False,
        "snooze_default_minutes": 15,
        "require_consent_for_informational": True,
        "predial": Org.PredialChange(url=HOOK, timeout_ms=1500, on_failure="allow"),
    }
    return update(org_id, *fields, **fields)


# ----------------------------------------------------------------------------- GetPolicy
async def test_a_default_policy_equals_the_rest_body(api: Stubs, rest: Rest) -> None:
    found = await get_policy(api)
    assert policy_json(found) == await rest.get("/policy")
    assert found.caller_name == "Acme" and found.HasField("updated_at")
    assert not found.HasField("predial")
    assert list(found.inherited) == [
        "calling_window",
        "max_lateness_seconds",
        "retry_policy",
        "frequency_caps",
    ]


async def test_a_policy_with_every_field_set_equals_the_rest_body(
    api: Stubs, admin: Stubs, rest: Rest, tenant: Tenant
) -> None:
    await change(admin, everything(tenant.org.id))
    found = await get_policy(api)
    body = await rest.get("/policy")
    assert policy_json(found) == body
    assert body["retry_policy"]["delays"]["voicemail"] is None
    assert not found.retry_policy.delays.HasField("voicemail")
    assert body["frequency_caps"] == {"per_24h": 3, "per_30d": None}
    assert body["calling_window"] == {"start": "09:00", "end": "18:30", "days": [1, 3, 5]}
    assert body["blocked_dates"] == ["2026-01-01", "2026-12-25"]
    assert body["predial"] == {"url": HOOK, "timeout_ms": 1500, "on_failure": "allow"}
    assert body["inherited"] == [] and body["updated_at"] is not None


async def test_a_profile_window_equals_the_rest_body(
    api: Stubs, admin: Stubs, rest: Rest, tenant: Tenant
) -> None:
    window = P.CallingWindow(profile="us_strict")
    await change(admin, update(tenant.org.id, "calling_window", calling_window=window))
    found = await get_policy(api)
    assert found.calling_window.WhichOneof("window") == "profile"
    assert policy_json(found) == await rest.get("/policy")


async def test_get_policy_needs_the_policy_read_scope(
    server: Any, dc: Dialcues, tenant: Tenant
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "policy:read"]
    stubs = server.stubs(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
    failed = await fails(get_policy(stubs))
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "policy:read"}


async def test_get_policy_writes_a_usage_event(
    api: Stubs, dc: Dialcues, grpc_offloader: Any
) -> None:
    await get_policy(api)
    await grpc_offloader.run(dc.usage.flush)
    usage = usage_pb2_grpc.UsageServiceStub(api.channel)
    page = await usage.ListUsageEvents(
        usage_pb2.ListUsageEventsRequest(route=GET_POLICY), metadata=api.md
    )
    assert [(e.method, e.status) for e in page.items] == [("GRPC", 0)]


def test_the_public_services_include_policy_and_audit() -> None:
    names = {name for _, name in PUBLIC_SERVICES.values()}
    assert {"dialcues.v1.PolicyService", "dialcues.v1.AuditService"} <= names


# ----------------------------------------------------------------------------- admin reads
async def test_get_calling_policy_equals_what_the_organizations_users_read(
    api: Stubs, admin: Stubs, tenant: Tenant
) -> None:
    await change(admin, everything(tenant.org.id))
    request = Org.GetCallingPolicyRequest(organization_id=tenant.org.id)
    found = await admin.organizations.GetCallingPolicy(request, metadata=admin.md)
    assert found == await get_policy(api)


@pytest.mark.parametrize("org_id", ["org_doesnotexist", ""])
async def test_an_unknown_organization_is_not_found(admin: Stubs, org_id: str) -> None:
    request = Org.GetCallingPolicyRequest(organization_id=org_id)
    failed = await fails(admin.organizations.GetCallingPolicy(request, metadata=admin.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
    failed = await fails(change(admin, update(org_id, "ai_disclosure")))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_the_admin_rpcs_refuse_an_api_key(api: Stubs, tenant: Tenant) -> None:
    request = update(tenant.org.id, "ai_disclosure")
    failed = await fails(api.organizations.UpdateCallingPolicy(request, metadata=api.md))
    assert failed.code == grpc.StatusCode.UNAUTHENTICATED


# ----------------------------------------------------------------------------- updates
async def test_update_changes_exactly_the_masked_fields(
    api: Stubs, admin: Stubs, tenant: Tenant
) -> None:
    before = policy_json(await get_policy(api))
    request = everything(tenant.org.id)
    del request.update_mask.paths[:]
    request.update_mask.paths.extend(["caller_name", "snooze_default_minutes"])
    reply = await change(admin, request)
    after = policy_json(reply.policy)
    assert policy_json(await get_policy(api)) == after
    changed = {k for k in after if after[k] != before[k]} - {"updated_at"}  # whole seconds
    assert changed == {"caller_name", "snooze_default_minutes", "opening_preview"}
    assert (after["caller_name"], after["snooze_default_minutes"]) == ("Acme Pharmacy", 15)
    assert after["updated_at"] >= before["updated_at"]


async def test_a_masked_field_left_unset_is_null(api: Stubs, admin: Stubs, tenant: Tenant) -> None:
    await change(admin, update(tenant.org.id, "caller_name", caller_name="Acme"))
    await change(admin, update(tenant.org.id, "caller_name", "max_lateness_seconds"))
    found = await get_policy(api)
    assert not found.HasField("caller_name")
    assert "max_lateness_seconds" in found.inherited


async def test_an_update_writes_one_policy_updated_event_with_the_admin_actor(
    api: Stubs, admin: Stubs, tenant: Tenant
) -> None:
    request = update(
        tenant.org.id,
        "caller_name",
        "max_lateness_seconds",
        caller_name="Acme Pharmacy",
        max_lateness_seconds=1800,
        actor="ops-jane",
    )
    await change(admin, request)
    (event,) = await events(api)
    assert (event.action, event.subject.type, event.subject.id) == (
        "policy.updated",
        "organization",
        tenant.org.id,
    )
    assert (event.actor.type, event.actor.WhichOneof("actor_id"), event.actor.id) == (
        "admin",
        "id",
        "ops-jane",
    )
    assert not event.actor.HasField("user_id")
    assert dict(event.detail["changed"]) == {
        "caller_name": {"from": "Acme", "to": "Acme Pharmacy"},
        "max_lateness_seconds": {"from": None, "to": 1800},
    }


async def test_the_actor_defaults_to_grpc_admin(api: Stubs, admin: Stubs, tenant: Tenant) -> None:
    await change(admin, update(tenant.org.id, "ai_disclosure", ai_disclosure=False))
    (event,) = await events(api)
    assert (event.actor.type, event.actor.id) == ("admin", "grpc-admin")


async def test_an_overlong_actor_is_invalid_argument(admin: Stubs, tenant: Tenant) -> None:
    request = update(tenant.org.id, "ai_disclosure", actor="x" * 101)
    failed = await fails(change(admin, request))
    assert (failed.code, set(failed.violations)) == (grpc.StatusCode.INVALID_ARGUMENT, {"actor"})


async def test_an_update_that_changes_nothing_writes_no_event(
    api: Stubs, admin: Stubs, tenant: Tenant
) -> None:
    before = await get_policy(api)
    await change(admin, update(tenant.org.id, "ai_disclosure", ai_disclosure=True))
    await change(admin, update(tenant.org.id))
    assert await events(api) == []
    assert (await get_policy(api)).updated_at == before.updated_at


async def test_every_invalid_field_is_named_and_nothing_is_written(
    api: Stubs, admin: Stubs, tenant: Tenant
) -> None:
    bypass = P.CallingWindow(bypass=P.WindowBypass(reason="Early"))
    request = update(
        tenant.org.id,
        "calling_window",
        "max_lateness_seconds",
        "snooze_default_minutes",
        "window_basis",
        "caller_name",
        calling_window=bypass,
        max_lateness_seconds=10,
        snooze_default_minutes=0,
        window_basis="everywhere",
        caller_name="Acme Pharmacy",
    )
    failed = await fails(change(admin, request))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {
        "calling_window",
        "max_lateness_seconds",
        "snooze_default_minutes",
        "window_basis",
    }
    assert await events(api) == []
    assert (await get_policy(api)).caller_name == "Acme"


async def test_an_unknown_mask_path_is_invalid_argument_naming_update_mask(
    admin: Stubs, tenant: Tenant
) -> None:
    failed = await fails(change(admin, update(tenant.org.id, "caller_name", "inherited")))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(failed.violations) == {"update_mask"}
    assert "inherited" in failed.violations["update_mask"]


async def test_reset_puts_an_inherited_field_back(api: Stubs, admin: Stubs, tenant: Tenant) -> None:
    caps = P.FrequencyCaps(per_24h=2, per_30d=20)
    await change(admin, update(tenant.org.id, "frequency_caps", frequency_caps=caps))
    assert "frequency_caps" not in (await get_policy(api)).inherited
    await change(admin, update(tenant.org.id, reset=["frequency_caps"]))
    assert "frequency_caps" in (await get_policy(api)).inherited


async def test_only_inherited_fields_can_be_reset(admin: Stubs, tenant: Tenant) -> None:
    failed = await fails(change(admin, update(tenant.org.id, reset=["caller_name"])))
    assert (failed.code, set(failed.violations)) == (grpc.StatusCode.INVALID_ARGUMENT, {"reset"})


async def test_the_predial_secret_is_returned_when_created_and_when_rotated(
    api: Stubs, admin: Stubs, tenant: Tenant
) -> None:
    hook = Org.PredialChange(url=HOOK)
    created = await change(admin, update(tenant.org.id, "predial", predial=hook))
    assert created.predial_secret.startswith("whsec_")
    assert (created.policy.predial.timeout_ms, created.policy.predial.on_failure) == (2000, "skip")
    merged = Org.PredialChange(timeout_ms=800)
    changed = await change(admin, update(tenant.org.id, "predial", predial=merged))
    assert not changed.HasField("predial_secret")
    assert (changed.policy.predial.url, changed.policy.predial.timeout_ms) == (HOOK, 800)
    rotated = await change(admin, update(tenant.org.id, rotate_predial_secret=True))
    assert rotated.predial_secret.startswith("whsec_")
    assert rotated.predial_secret != created.predial_secret
    newest = (await events(api))[0]
    assert dict(newest.detail["changed"]) == {"predial_secret": "rotated"}


async def test_rotating_without_a_hook_is_invalid_argument(admin: Stubs, tenant: Tenant) -> None:
    failed = await fails(change(admin, update(tenant.org.id, rotate_predial_secret=True)))
    assert (failed.code, set(failed.violations)) == (grpc.StatusCode.INVALID_ARGUMENT, {"predial"})


async def test_a_masked_unset_predial_removes_the_hook(
    api: Stubs, admin: Stubs, tenant: Tenant
) -> None:
    hook = Org.PredialChange(url=HOOK)
    await change(admin, update(tenant.org.id, "predial", predial=hook))
    await change(admin, update(tenant.org.id, "predial"))
    assert not (await get_policy(api)).HasField("predial")
