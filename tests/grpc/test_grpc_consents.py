"""``ConsentService``: REST's ``/consents`` routes over gRPC (responsible-calling.md §8, §17,
§18; Done when 17, 18, 29): the same records field by field, the same filters, revocation as
an opt-out, the ``consent_required`` refusals of reminders and calls, scopes and
``request_id``.

REST's routes are compared through the body they answer, the core's ``consent_payload``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from consent_support import (
    C,
    S,
    consent_json,
    consent_request,
    field_names,
    record_consent,
    suppress,
)
from grpc_support import Rest, Stubs, fails
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import IdempotencyRow
from dialcues_core.audit.model import Actor
from dialcues_core.consent.fields import CONSENT_FIELDS, EVIDENCE_FIELDS
from dialcues_core.consent.rendering import consent_payload
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_grpc._pb.dialcues.v1 import audit_pb2, calls_pb2, calls_pb2_grpc, reminders_pb2

R = reminders_pb2
NUMBER = "+14155552671"
"""The number of ``reminder_request``'s reminders."""
OTHER = "+14155550123"
EVIDENCE = C.ConsentEvidence(
    url="https://acme.example/signup", ip="2001:db8::7", user_agent="Mozilla/5.0"
)


async def get(api: Stubs, consent_id: str) -> C.Consent:
    """GetConsent."""
    return await api.consents.GetConsent(C.GetConsentRequest(id=consent_id), metadata=api.md)


async def revoke(api: Stubs, consent_id: str, **fields: Any) -> C.Consent:
    """RevokeConsent."""
    request = C.RevokeConsentRequest(id=consent_id, **fields)
    return await api.consents.RevokeConsent(request, metadata=api.md)


async def listing(api: Stubs, **filters: Any) -> C.ListConsentsResponse:
    """ListConsents with ``filters``."""
    return await api.consents.ListConsents(C.ListConsentsRequest(**filters), metadata=api.md)


def rest_body(dc: Dialcues, tenant: Tenant, consent_id: str) -> dict[str, Any]:
    """REST's ``GET /consents/{id}`` body."""
    return consent_payload(dc.consents.get(tenant.principal, consent_id))


def marketing(**fields: Any) -> dict[str, Any]:
    """Fields of a marketing reminder to ``NUMBER``."""
    return {"purpose": "marketing", **fields}


# ----------------------------------------------------------------------------- create, read
async def test_a_record_equals_the_rest_body_field_for_field(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    captured = datetime(2026, 3, 1, 10, 12, 0, 123_456, tzinfo=UTC)
    created = await api.consents.CreateConsent(
        consent_request(NUMBER, captured, evidence=EVIDENCE), metadata=api.md
    )
    body = rest_body(dc, tenant, created.id)
    assert consent_json(created) == body
    assert consent_json(await get(api, created.id)) == body
    assert body["captured_at"] == "2026-03-01T10:12:00.123Z"
    assert body["created_by"] == {
        "type": "api_key",
        "id": tenant.principal.api_key_id,
        "user_id": tenant.user.id,
    }


async def test_an_evidence_member_not_given_is_unset(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    partial = C.ConsentEvidence(url="https://acme.example/signup")
    with_url = await record_consent(api, NUMBER, evidence=partial)
    without = await record_consent(api, OTHER)
    assert with_url.evidence == partial
    assert consent_json(with_url) == rest_body(dc, tenant, with_url.id)
    assert not without.HasField("evidence")
    assert consent_json(without) == rest_body(dc, tenant, without.id)


async def test_reads_equal_rests_answers_over_http(api: Stubs, rest: Rest) -> None:
    kept = await record_consent(api, NUMBER, evidence=EVIDENCE)
    revoked = await revoke(api, (await record_consent(api, OTHER)).id, note="By e-mail")
    assert consent_json(await get(api, kept.id)) == await rest.get(f"/consents/{kept.id}")
    assert consent_json(revoked) == await rest.get(f"/consents/{revoked.id}")
    page = await listing(api, active=False)
    body = await rest.get("/consents", active="false")
    assert [consent_json(r) for r in page.items] == body["items"]


def test_the_messages_carry_exactly_the_rest_fields() -> None:
    rest_fields = {
        "id",
        "phone_number",
        "type",
        "purpose",
        "source",
        "text",
        "captured_at",
        "evidence",
        "created_at",
        "created_by",
        "revoked_at",
        "revocation",
    }
    assert field_names(C.Consent) == rest_fields
    assert field_names(C.ConsentEvidence) == EVIDENCE_FIELDS
    assert field_names(C.ConsentRevocation) == {"reason", "source", "note"}
    assert field_names(C.CreateConsentRequest) - {"request_id"} == CONSENT_FIELDS


async def test_every_missing_field_is_required_at_once(api: Stubs) -> None:
    failed = await fails(api.consents.CreateConsent(C.CreateConsentRequest(), metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert failed.violations == {
        name: "is required"
        for name in ("phone_number", "type", "purpose", "source", "text", "captured_at")
    }


async def test_bad_values_are_named_at_once(api: Stubs) -> None:
    future = datetime.now(UTC) + timedelta(minutes=10)
    request = consent_request(
        "+1",
        future,
        type="implied",
        purpose="sales",
        source="rumour",
        text="",
        evidence=C.ConsentEvidence(url="ftp://acme.example", ip="300.1.1.1"),
    )
    failed = await fails(api.consents.CreateConsent(request, metadata=api.md))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(failed.violations) == [
        "captured_at",
        "evidence",
        "phone_number",
        "purpose",
        "source",
        "text",
        "type",
    ]


@pytest.mark.parametrize("consent_id", ["cns_unknown1", "nope", ""])
async def test_an_unknown_record_is_not_found(api: Stubs, consent_id: str) -> None:
    failed = await fails(get(api, consent_id))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_another_organizations_record_is_not_found(api: Stubs, dc: Dialcues) -> None:
    theirs = dc.consents.create(
        make_tenant(dc).principal,
        {
            "phone_number": NUMBER,
            "type": "express",
            "purpose": "informational",
            "source": "verbal",
            "text": "Yes",
            "captured_at": "2026-03-01T10:12:00Z",
        },
    )
    assert (await fails(get(api, theirs.id))).reason == "not_found"


# ----------------------------------------------------------------------------- list
async def test_the_list_is_newest_first_and_filters_as_rest(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    marketing_consent = await record_consent(api, NUMBER, minutes=-30)
    informational = await record_consent(
        api, OTHER, minutes=-20, type="express", purpose="informational", source="verbal"
    )
    revoked = await record_consent(api, "+14155550199", minutes=-10)
    await revoke(api, revoked.id)

    everything = await listing(api)
    expected = dc.consents.list(tenant.principal, {})
    assert [consent_json(r) for r in everything.items] == [
        consent_payload(r) for r in expected.items
    ]
    assert [r.id for r in everything.items] == [revoked.id, informational.id, marketing_consent.id]

    async def ids(**filters: Any) -> list[str]:
        return [r.id for r in (await listing(api, **filters)).items]

    assert await ids(phone_number=OTHER) == [informational.id]
    assert await ids(type="express") == [informational.id]
    assert await ids(purpose="marketing") == [revoked.id, marketing_consent.id]
    assert await ids(active=True) == [informational.id, marketing_consent.id]
    assert await ids(active=False) == [revoked.id]
    middle = informational.captured_at
    assert await ids(date_from=middle) == [revoked.id, informational.id]
    assert await ids(date_to=middle) == [marketing_consent.id]


async def test_pages_follow_by_token(api: Stubs) -> None:
    made = [(await record_consent(api, f"+1415555{n:04d}", minutes=-n)).id for n in range(31, 36)]
    first = await listing(api, page_size=2, purpose="marketing")
    assert (first.total, first.total_pages) == (5, 3)
    seen, token = [r.id for r in first.items], first.next_page_token
    while token:
        page = await listing(api, page_token=token, purpose="marketing")
        seen, token = seen + [r.id for r in page.items], page.next_page_token
    assert seen == made  # the oldest captured last
    failed = await fails(listing(api, page_token=first.next_page_token, purpose="informational"))
    assert list(failed.violations) == ["page_token"]


async def test_a_bad_filter_is_named(api: Stubs) -> None:
    failed = await fails(listing(api, type="implied", purpose="sales", phone_number="+1"))
    assert sorted(failed.violations) == ["phone_number", "purpose", "type"]


# ----------------------------------------------------------------------------- revoke
async def test_revoking_is_an_opt_out_suppressing_the_number(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent = await record_consent(api, NUMBER)
    revoked = await revoke(api, consent.id, note="Asked by e-mail")
    assert consent_json(revoked) == rest_body(dc, tenant, consent.id)
    assert (revoked.revocation.reason, revoked.revocation.note) == ("api", "Asked by e-mail")
    request = S.GetSuppressionRequest(phone_number=NUMBER)
    entry = await api.suppressions.GetSuppression(request, metadata=api.md)  # the first read
    assert (entry.reason, entry.source) == ("api", revoked.revocation.source)
    assert (entry.source.type, entry.source.id) == ("api_key", tenant.principal.api_key_id)


async def test_revoking_a_revoked_record_returns_it_unchanged(api: Stubs) -> None:
    consent = await record_consent(api, NUMBER)
    first = await revoke(api, consent.id)
    again = await revoke(api, consent.id, note="Twice")
    assert again == first


async def test_revoking_while_the_number_is_suppressed_adds_no_entry(api: Stubs) -> None:
    entry = (await suppress(api, NUMBER, reason="complaint")).entry
    newer = await record_consent(api, NUMBER, minutes=1)
    await revoke(api, newer.id)
    request = S.ListSuppressionsRequest(status="all")
    found = await api.suppressions.ListSuppressions(request, metadata=api.md)
    assert [(e.id, e.reason) for e in found.items] == [(entry.id, "complaint")]


async def test_revocation_and_its_entry_are_audited_with_the_actor(
    api: Stubs, tenant: Tenant
) -> None:
    consent = await record_consent(api, NUMBER)
    await revoke(api, consent.id)
    page = await api.audit.ListAuditEvents(audit_pb2.ListAuditEventsRequest(), metadata=api.md)
    actions = sorted(e.action for e in page.items)
    assert actions == ["consent.created", "consent.revoked", "suppression.created"]
    assert {e.actor.id for e in page.items} == {tenant.principal.api_key_id}


# ----------------------------------------------------------------------------- the refusals
async def test_a_marketing_reminder_without_consent_is_consent_required(api: Stubs) -> None:
    failed = await fails(api.create(**marketing()))
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "consent_required")
    assert failed.metadata == {"required": "express_written", "purpose": "marketing"}


async def test_an_express_consent_does_not_cover_marketing(api: Stubs) -> None:
    await record_consent(api, NUMBER, type="express")
    assert (await fails(api.create(**marketing()))).reason == "consent_required"


async def test_an_express_written_marketing_consent_covers_it(api: Stubs) -> None:
    await record_consent(api, NUMBER)
    created = await api.create(**marketing())
    assert (created.status, created.purpose) == (R.REMINDER_STATUS_SCHEDULED, "marketing")


async def test_after_revoking_it_the_number_is_suppressed_first(api: Stubs) -> None:
    consent = await record_consent(api, NUMBER)
    await revoke(api, consent.id)
    assert (await fails(api.create(**marketing()))).reason == "recipient_suppressed"


async def test_changing_the_purpose_to_marketing_needs_consent(api: Stubs) -> None:
    created = await api.create()
    request = R.UpdateReminderRequest(id=created.id, purpose="marketing")
    request.update_mask.paths.append("purpose")
    failed = await fails(api.reminders.UpdateReminder(request, metadata=api.md))
    assert (failed.reason, failed.metadata["required"]) == ("consent_required", "express_written")


async def test_a_marketing_call_without_consent_is_consent_required(api: Stubs) -> None:
    stub = calls_pb2_grpc.CallServiceStub(api.channel)
    request = calls_pb2.PlaceCallRequest(to=NUMBER, message="Offer", purpose="marketing")
    failed = await fails(stub.PlaceCall(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "consent_required")


async def test_informational_needs_consent_when_the_policy_says_so(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    changes = {"require_consent_for_informational": True}
    dc.policies.update(tenant.org.id, changes, actor=Actor("admin", "t"))
    failed = await fails(api.create())
    assert failed.metadata == {"required": "express", "purpose": "informational"}
    await record_consent(api, NUMBER, type="express", purpose="informational")
    assert (await api.create()).purpose == "informational"


# ----------------------------------------------------------------------------- platform
async def test_request_id_records_once(api: Stubs) -> None:
    request = consent_request(NUMBER, datetime.now(UTC), request_id="cns-1")
    first = await api.consents.CreateConsent(request, metadata=api.md)
    again = await api.consents.CreateConsent(request, metadata=api.md)
    assert again == first and (await listing(api)).total == 1
    assert IdempotencyRow.select().count() == 1


async def test_request_id_replays_a_revocation(api: Stubs) -> None:
    consent = await record_consent(api, NUMBER)
    first = await revoke(api, consent.id, request_id="rv-1")
    again = await revoke(api, consent.id, request_id="rv-1")
    assert again == first


async def test_the_same_request_id_with_another_note_is_a_mismatch(api: Stubs) -> None:
    consent = await record_consent(api, NUMBER)
    await revoke(api, consent.id, request_id="rv-1", note="a")
    failed = await fails(revoke(api, consent.id, request_id="rv-1", note="b"))
    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "idempotency_mismatch")


@pytest.mark.parametrize("scope", ["consents:read", "consents:write"])
async def test_a_key_lacking_the_scope_is_permission_denied(
    api: Stubs, dc: Dialcues, tenant: Tenant, scope: str
) -> None:
    raw = dc.accounts.create_api_key(tenant.user.id, scopes=[s for s in ALL_SCOPES if s != scope])
    narrow = api.with_token(raw.raw)
    call = listing(narrow) if scope.endswith(":read") else record_consent(narrow, NUMBER)
    failed = await fails(call)
    assert (failed.code, failed.reason, failed.metadata) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "insufficient_scope",
        {"scope": scope},
    )
