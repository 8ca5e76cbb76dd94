"""``SuppressionService``: REST's ``/suppressions`` routes over gRPC (responsible-calling.md §7,
§17, §18; Done when 14, 16, 18, 29): the same entries field by field, the same filters, the
consent-backed removal, the refusals of reminders and calls to a suppressed number, scopes and
``request_id``.

REST's routes are compared through the body they answer, the core's
``suppression_payload``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from consent_support import (
    entry_json,
    field_names,
    millis_text,
    record_consent,
    suppress,
    timestamp,
)
from grpc_support import Rest, Stubs, fails, local, reminder_request
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import IdempotencyRow, ReminderRow, UsageEventRow
from dialcues_core.consent.fields import SUPPRESSION_FIELDS
from dialcues_core.consent.model import Source, SuppressionEntry
from dialcues_core.consent.rendering import suppression_payload
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.offload import Offloader
from dialcues_grpc._pb.dialcues.v1 import (
    audit_pb2,
    calls_pb2,
    calls_pb2_grpc,
    consents_pb2,
    reminders_pb2,
    suppressions_pb2,
)

S, R = suppressions_pb2, reminders_pb2
NUMBER = "+14155552671"
"""The number of ``reminder_request``'s reminders."""
OTHER = "+14155550123"


async def get(api: Stubs, number: str) -> S.SuppressionEntry:
    """GetSuppression."""
    request = S.GetSuppressionRequest(phone_number=number)
    return await api.suppressions.GetSuppression(request, metadata=api.md)


async def remove(api: Stubs, number: str, consent_id: str | None = None) -> S.SuppressionEntry:
    """RemoveSuppression (without ``consent_id`` when None)."""
    request = S.RemoveSuppressionRequest(phone_number=number, consent_id=consent_id)
    return await api.suppressions.RemoveSuppression(request, metadata=api.md)


async def listing(api: Stubs, **filters: object) -> S.ListSuppressionsResponse:
    """ListSuppressions with ``filters``."""
    request = S.ListSuppressionsRequest(**filters)
    return await api.suppressions.ListSuppressions(request, metadata=api.md)


def rest_body(dc: Dialcues, tenant: Tenant, number: str) -> dict[str, object]:
    """REST's ``GET /suppressions/{number}`` body."""
    return suppression_payload(dc.suppressions.get(tenant.principal, number))


# ----------------------------------------------------------------------------- create, read
async def test_create_twice_answers_created_then_the_active_entry_unchanged(api: Stubs) -> None:
    first = await suppress(api, NUMBER, note="Asked on the phone")
    again = await suppress(api, NUMBER, reason="complaint", note="Other words")
    assert (first.created, again.created) == (True, False)
    assert again.entry == first.entry
    assert (again.entry.reason, again.entry.note) == ("api", "Asked on the phone")
    assert (await listing(api)).total == 1


async def test_an_entry_equals_the_rest_body_field_for_field(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    created = (await suppress(api, NUMBER, reason="opt_out_sms", external_id="sms-1")).entry
    assert entry_json(created) == rest_body(dc, tenant, NUMBER)
    assert entry_json(await get(api, NUMBER)) == rest_body(dc, tenant, NUMBER)
    source = entry_json(created)["source"]
    assert source == {
        "type": "api_key",
        "id": tenant.principal.api_key_id,
        "user_id": tenant.user.id,
        "external_id": "sms-1",
    }


async def test_reads_equal_rests_answers_over_http(api: Stubs, rest: Rest) -> None:
    await suppress(api, NUMBER, note="By phone")
    await suppress(api, OTHER, reason="complaint")
    assert entry_json(await get(api, NUMBER)) == await rest.get(f"/suppressions/{NUMBER}")
    page = await listing(api, status="all", page_size=1)
    body = await rest.get("/suppressions", status="all", page_size="1")
    assert [entry_json(e) for e in page.items] == body["items"]
    counts = ("total", "page", "page_size", "total_pages")
    assert {k: getattr(page, k) for k in counts} == {k: body[k] for k in counts}


def test_the_messages_carry_exactly_the_rest_fields() -> None:
    source = Source("api_key", "key_x", "usr_x")
    entry = suppression_payload(
        SuppressionEntry("sup_x", "org_x", NUMBER, "api", source, datetime.now(UTC))
    )
    assert field_names(S.SuppressionEntry) == set(entry)
    # REST's source ``id`` is a string or an integer: the oneof's ``id`` or ``execution_id``
    assert field_names(S.SuppressionSource) - {"execution_id"} == set(entry["source"])
    assert field_names(S.CreateSuppressionRequest) - {"request_id"} == SUPPRESSION_FIELDS


@pytest.mark.parametrize("number", [OTHER, "not-a-number", "+1"])
async def test_a_number_without_an_active_entry_is_not_found(api: Stubs, number: str) -> None:
    failed = await fails(get(api, number))
    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_bad_fields_are_named_at_once(api: Stubs) -> None:
    request = S.CreateSuppressionRequest(
        phone_number="+1", reason="bored", note="x" * 1001, external_id="y" * 256
    )
    failed = await fails(api.suppressions.CreateSuppression(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert sorted(failed.violations) == ["external_id", "note", "phone_number", "reason"]


async def test_an_unset_number_is_required(api: Stubs) -> None:
    failed = await fails(
        api.suppressions.CreateSuppression(S.CreateSuppressionRequest(), metadata=api.md)
    )
    assert failed.violations == {"phone_number": "is required"}


# ----------------------------------------------------------------------------- list
async def test_the_list_is_newest_first_and_filters_as_rest(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    await suppress(api, NUMBER)
    await suppress(api, OTHER, reason="complaint")
    third = (await suppress(api, "+14155550199")).entry
    consent = await record_consent(api, "+14155550199", minutes=1)
    await remove(api, "+14155550199", consent.id)

    active = await listing(api)
    assert [e.phone_number for e in active.items] == [OTHER, NUMBER]
    expected = dc.suppressions.list(tenant.principal, {})
    assert [entry_json(e) for e in active.items] == [suppression_payload(e) for e in expected.items]
    removed = await listing(api, status="removed")
    assert [(e.id, e.status) for e in removed.items] == [(third.id, "removed")]
    assert (await listing(api, status="all")).total == 3
    assert [e.phone_number for e in (await listing(api, reason="complaint")).items] == [OTHER]
    assert [e.phone_number for e in (await listing(api, phone_number=NUMBER)).items] == [NUMBER]


async def test_the_date_bounds_filter_on_created_at(api: Stubs) -> None:
    entry = (await suppress(api, NUMBER)).entry
    created = entry.created_at.ToDatetime(tzinfo=UTC)
    at, after = timestamp(created), timestamp(created + timedelta(milliseconds=1))

    async def ids(**bounds: object) -> list[str]:
        return [e.id for e in (await listing(api, **bounds)).items]

    assert await ids(date_from=at) == [entry.id]
    assert await ids(date_to=after) == [entry.id]
    assert await ids(date_from=after) == []
    assert await ids(date_to=at) == []  # created_at carries more than its milliseconds


async def test_pages_follow_by_token(api: Stubs) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(21, 26)]
    for number in numbers:
        await suppress(api, number)
    first = await listing(api, page_size=2)
    assert (first.total, first.total_pages, len(first.items)) == (5, 3, 2)
    seen = [e.phone_number for e in first.items]
    token = first.next_page_token
    while token:
        page = await listing(api, page_token=token)
        seen += [e.phone_number for e in page.items]
        token = page.next_page_token
    assert seen == numbers[::-1]


async def test_a_bad_filter_is_named(api: Stubs) -> None:
    failed = await fails(listing(api, status="gone", reason="bored", phone_number="+1"))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(failed.violations) == ["phone_number", "reason", "status"]


# ----------------------------------------------------------------------------- removal
async def test_removal_without_a_consent_is_consent_required(api: Stubs) -> None:
    await suppress(api, NUMBER)
    failed = await fails(remove(api, NUMBER))
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "consent_required")
    assert (await get(api, NUMBER)).status == "active"


async def test_removal_with_a_consent_older_than_the_entry_is_consent_required(
    api: Stubs,
) -> None:
    older = await record_consent(api, NUMBER, minutes=-60)
    await suppress(api, NUMBER)
    failed = await fails(remove(api, NUMBER, older.id))
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "consent_required")
    assert failed.metadata["consent_id"] == older.id


async def test_removal_with_another_numbers_consent_is_consent_required(api: Stubs) -> None:
    await suppress(api, NUMBER)
    elsewhere = await record_consent(api, OTHER, minutes=1)
    failed = await fails(remove(api, NUMBER, elsewhere.id))
    assert failed.reason == "consent_required"


async def test_removal_with_a_newer_consent_removes_the_entry(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    created = (await suppress(api, NUMBER)).entry
    newer = await record_consent(api, NUMBER, minutes=1)
    removed = await remove(api, NUMBER, newer.id)
    assert (removed.id, removed.status, removed.removal_consent_id) == (
        created.id,
        "removed",
        newer.id,
    )
    assert entry_json(removed)["removed_by"] == {
        "type": "api_key",
        "id": tenant.principal.api_key_id,
        "user_id": tenant.user.id,
    }
    (listed,) = dc.suppressions.list(tenant.principal, {"status": "removed"}).items
    assert entry_json(removed) == suppression_payload(listed)
    assert (await fails(get(api, NUMBER))).reason == "not_found"


async def test_removal_is_audited_with_its_actor(api: Stubs, tenant: Tenant) -> None:
    await suppress(api, NUMBER)
    newer = await record_consent(api, NUMBER, minutes=1)
    await remove(api, NUMBER, newer.id)
    request = audit_pb2.ListAuditEventsRequest(action="suppression.removed")
    (event,) = (await api.audit.ListAuditEvents(request, metadata=api.md)).items
    assert (event.subject.type, event.subject.id) == ("phone_number", NUMBER)
    assert (event.actor.type, event.actor.id) == ("api_key", tenant.principal.api_key_id)
    assert dict(event.detail) == {"consent_id": newer.id}


async def test_removing_a_number_not_suppressed_is_not_found(api: Stubs) -> None:
    newer = await record_consent(api, NUMBER, minutes=1)
    assert (await fails(remove(api, NUMBER, newer.id))).reason == "not_found"


# ----------------------------------------------------------------------------- what it does
async def test_an_entry_revokes_the_numbers_consents_in_the_same_write(api: Stubs) -> None:
    consent = await record_consent(api, NUMBER)
    entry = (await suppress(api, NUMBER, reason="complaint")).entry
    request = consents_pb2.GetConsentRequest(id=consent.id)
    revoked = await api.consents.GetConsent(request, metadata=api.md)
    assert revoked.revoked_at.ToDatetime() >= entry.created_at.ToDatetime()
    assert revoked.revocation.reason == "complaint"
    assert revoked.revocation.source == entry.source


async def test_a_reminder_to_a_suppressed_number_is_recipient_suppressed(api: Stubs) -> None:
    entry = (await suppress(api, NUMBER, reason="opt_out_sms")).entry
    failed = await fails(api.create())
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "recipient_suppressed",
    )
    assert failed.metadata == {
        "phone_number": NUMBER,
        "reason": "opt_out_sms",
        "suppressed_at": millis_text(entry.created_at),
    }


async def test_changing_a_reminders_number_to_a_suppressed_one_is_refused(api: Stubs) -> None:
    created = await api.create(phone_number=OTHER)
    await suppress(api, NUMBER)
    request = R.UpdateReminderRequest(id=created.id, phone_number=NUMBER)
    request.update_mask.paths.append("phone_number")
    failed = await fails(api.reminders.UpdateReminder(request, metadata=api.md))
    assert failed.reason == "recipient_suppressed"


async def test_a_call_to_a_suppressed_number_is_recipient_suppressed(api: Stubs) -> None:
    await suppress(api, NUMBER)
    stub = calls_pb2_grpc.CallServiceStub(api.channel)
    request = calls_pb2.PlaceCallRequest(to=NUMBER, message="Now")
    failed = await fails(stub.PlaceCall(request, metadata=api.md))
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "recipient_suppressed",
    )


async def test_a_suppressed_reminder_resumes_only_after_the_removal(api: Stubs) -> None:
    created = await api.create()
    await suppress(api, NUMBER)
    ReminderRow.update(status="suppressed").where(ReminderRow.id == created.id).execute()
    found = await api.reminders.GetReminder(R.GetReminderRequest(id=created.id), metadata=api.md)
    assert found.status == R.REMINDER_STATUS_SUPPRESSED
    resume = R.ResumeReminderRequest(id=created.id, scheduled_at=local("2030-04-01T09:00:00"))
    failed = await fails(api.reminders.ResumeReminder(resume, metadata=api.md))
    assert failed.reason == "recipient_suppressed"
    newer = await record_consent(api, NUMBER, minutes=1, purpose="informational")
    await remove(api, NUMBER, newer.id)
    resumed = await api.reminders.ResumeReminder(resume, metadata=api.md)
    assert resumed.status == R.REMINDER_STATUS_SCHEDULED


async def test_the_status_filter_lists_suppressed_reminders(api: Stubs) -> None:
    created = await api.create()
    await api.create(phone_number=OTHER)
    ReminderRow.update(status="suppressed").where(ReminderRow.id == created.id).execute()
    request = R.ListRemindersRequest(status=R.REMINDER_STATUS_SUPPRESSED)
    found = await api.reminders.ListReminders(request, metadata=api.md)
    assert [r.id for r in found.items] == [created.id]


# ----------------------------------------------------------------------------- platform
async def test_request_id_replays_a_create_created_flag_included(api: Stubs) -> None:
    first = await suppress(api, NUMBER, request_id="sup-1")
    again = await suppress(api, NUMBER, request_id="sup-1")
    assert again == first and again.created
    assert IdempotencyRow.select().count() == 1


async def test_request_id_replays_a_removal(api: Stubs) -> None:
    await suppress(api, NUMBER)
    newer = await record_consent(api, NUMBER, minutes=1)
    request = S.RemoveSuppressionRequest(phone_number=NUMBER, consent_id=newer.id, request_id="r")
    first = await api.suppressions.RemoveSuppression(request, metadata=api.md)
    again = await api.suppressions.RemoveSuppression(request, metadata=api.md)  # not NOT_FOUND
    assert again == first


@pytest.mark.parametrize("scope", ["suppressions:read", "suppressions:write"])
async def test_a_key_lacking_the_scope_is_permission_denied(
    api: Stubs, dc: Dialcues, tenant: Tenant, scope: str
) -> None:
    raw = dc.accounts.create_api_key(tenant.user.id, scopes=[s for s in ALL_SCOPES if s != scope])
    narrow = api.with_token(raw.raw)
    call = listing(narrow) if scope.endswith(":read") else suppress(narrow, NUMBER)
    failed = await fails(call)
    assert (failed.code, failed.reason, failed.metadata) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "insufficient_scope",
        {"scope": scope},
    )


async def test_usage_events_name_the_method_and_carry_no_phone_number(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    await suppress(api, NUMBER)
    await get(api, NUMBER)
    await grpc_offloader.run(dc.usage.flush)
    rows = list(UsageEventRow.select().order_by(UsageEventRow.id))
    assert [(r.method, r.route, r.status) for r in rows] == [
        ("GRPC", "/dialcues.v1.SuppressionService/CreateSuppression", 0),
        ("GRPC", "/dialcues.v1.SuppressionService/GetSuppression", 0),
    ]
    assert all(NUMBER[2:] not in str(row.__data__) for row in rows)


async def test_a_reminder_request_of_another_number_is_unaffected(api: Stubs) -> None:
    await suppress(api, NUMBER)
    created = await api.reminders.CreateReminder(
        reminder_request(phone_number=OTHER), metadata=api.md
    )
    assert created.status == R.REMINDER_STATUS_SCHEDULED
