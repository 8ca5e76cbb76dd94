"""The suppression list through the real app (responsible-calling.md section 7; Done when 14,
16, 18): add, read, list, remove with a newer consent, and what an entry refuses.

The platform runs on the suite's fake clock (2026-03-01T12:00:00Z): a consent captured a
minute after an entry is "newer" without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.dispatch.attempts import Finished
from dialcues_core.testing import FakeClock
from rest.support import Api, reminder_payload

NUMBER = "+14155550009"
"""The suppressed number of most tests (not the tenant's reminders' default number)."""


def consent_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /consents`` body for :data:`NUMBER`, captured a minute from now."""
    body: dict[str, Any] = {
        "phone_number": NUMBER,
        "type": "express",
        "purpose": "informational",
        "source": "verbal",
        "text": "Yes, you may call me with my appointment reminders.",
        "captured_at": "2026-03-01T12:01:00Z",
    }
    body.update(overrides)
    return body


async def suppress(api: Api, **body: Any) -> dict[str, Any]:
    """Add an entry (``phone_number`` :data:`NUMBER` unless given); return it."""
    reply = await api.post("/suppressions", json={"phone_number": NUMBER, **body})
    assert reply.status == 201, reply.text
    return dict(reply.body)


async def consent(api: Api, **overrides: Any) -> dict[str, Any]:
    """Record a consent (:func:`consent_body` with ``overrides``); return it."""
    reply = await api.post("/consents", json=consent_body(**overrides))
    assert reply.status == 201, reply.text
    return dict(reply.body)


def key_actor(tenant: Tenant) -> dict[str, Any]:
    """The tenant's API key as an actor (or a source, without ``external_id``)."""
    return {"type": "api_key", "id": tenant.principal.api_key_id, "user_id": tenant.user.id}


# ----------------------------------------------------------------------------- add, read
async def test_a_new_entry_is_201_with_every_field(api: Api, tenant: Tenant) -> None:
    reply = await api.post(
        "/suppressions",
        json={"phone_number": NUMBER, "note": "Asked by email", "external_id": "ticket-7"},
    )
    assert reply.status == 201, reply.text
    assert reply.body == {
        "id": reply.body["id"],
        "phone_number": NUMBER,
        "status": "active",
        "reason": "api",
        "source": {**key_actor(tenant), "external_id": "ticket-7"},
        "note": "Asked by email",
        "created_at": "2026-03-01T12:00:00.000Z",
        "removed_at": None,
        "removed_by": None,
        "removal_consent_id": None,
    }
    assert reply.body["id"].startswith("sup_")


async def test_adding_a_suppressed_number_again_is_200_with_the_same_entry(
    api: Api, clock: FakeClock
) -> None:
    first = await suppress(api, reason="complaint")
    clock.advance(60)
    again = await api.post("/suppressions", json={"phone_number": NUMBER, "reason": "api"})
    assert (again.status, again.body) == (200, first)
    listed = await api.get("/suppressions", params={"status": "all"})
    assert listed.body["total"] == 1


async def test_get_answers_the_active_entry_with_plus_as_is_or_encoded(api: Api) -> None:
    entry = await suppress(api)
    plain = await api.get(f"/suppressions/{NUMBER}")
    encoded = await api.get("/suppressions/%2B" + NUMBER[1:])
    assert (plain.status, plain.body) == (200, entry)
    assert (encoded.status, encoded.body) == (200, entry)


@pytest.mark.parametrize("segment", ["14155550009", "+1415", "%2B1415555000x", "+14155550008"])
async def test_a_malformed_or_unlisted_number_is_not_found(api: Api, segment: str) -> None:
    await suppress(api)
    for method in ("GET", "DELETE"):
        reply = await api.call(method, f"/suppressions/{segment}")
        assert (reply.status, reply.code) == (404, "not_found"), (method, segment)


async def test_an_invalid_add_names_every_field(api: Api) -> None:
    reply = await api.post(
        "/suppressions",
        json={"phone_number": "555", "reason": "bored", "note": " ", "colour": "red"},
    )
    assert (reply.status, reply.code) == (400, "validation_error")
    assert set(reply.fields) == {"phone_number", "reason", "note", "colour"}


async def test_another_organizations_entry_is_invisible(api: Api, anon: Api, dc: Dialcues) -> None:
    await suppress(api)
    stranger = anon.as_key(make_tenant(dc).api_key)
    assert (await stranger.get(f"/suppressions/{NUMBER}")).status == 404
    assert (await stranger.get("/suppressions")).body["total"] == 0


# ----------------------------------------------------------------------------- list
async def test_the_list_is_newest_first_and_paginated(api: Api, clock: FakeClock) -> None:
    numbers = ["+14155550001", "+14155550002", "+14155550003"]
    for number in numbers:
        await suppress(api, phone_number=number)
        clock.advance(1)
    first = await api.get("/suppressions", params={"page_size": "2"})
    second = await api.get("/suppressions", params={"page_size": "2", "page": "2"})
    assert [e["phone_number"] for e in first.body["items"]] == numbers[:0:-1]
    assert [e["phone_number"] for e in second.body["items"]] == numbers[:1]
    assert {k: first.body[k] for k in ("total", "page", "page_size", "total_pages")} == {
        "total": 3,
        "page": 1,
        "page_size": 2,
        "total_pages": 2,
    }


async def test_the_list_filters_by_reason_number_and_creation_time(
    api: Api, clock: FakeClock
) -> None:
    await suppress(api, phone_number="+14155550001", reason="complaint")
    clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    await suppress(api, phone_number="+14155550002", reason="inbound_call")

    async def numbers(**params: str) -> list[str]:
        reply = await api.get("/suppressions", params=params)
        assert reply.status == 200, reply.text
        return [e["phone_number"] for e in reply.body["items"]]

    assert await numbers(reason="complaint") == ["+14155550001"]
    assert await numbers(phone_number="+14155550002") == ["+14155550002"]
    assert await numbers(date_from="2026-03-02") == ["+14155550002"]
    assert await numbers(date_to="2026-03-02") == ["+14155550001"]
    assert await numbers(date_from="2026-03-01T12:00:00", date_to="2026-03-01T12:00:01") == [
        "+14155550001"
    ]


async def test_the_list_filters_by_status(api: Api, clock: FakeClock) -> None:
    await suppress(api, phone_number="+14155550001")
    await suppress(api)
    clock.advance(60)
    cns = await consent(api, captured_at="2026-03-01T12:01:00Z")
    assert (await api.delete(f"/suppressions/{NUMBER}?consent_id={cns['id']}")).status == 204

    async def listed(status: str | None) -> list[tuple[str, str]]:
        params = {"status": status} if status else {}
        reply = await api.get("/suppressions", params=params)
        return sorted((e["phone_number"], e["status"]) for e in reply.body["items"])

    assert await listed(None) == [("+14155550001", "active")]
    assert await listed("active") == [("+14155550001", "active")]
    assert await listed("removed") == [(NUMBER, "removed")]
    assert await listed("all") == [("+14155550001", "active"), (NUMBER, "removed")]


async def test_bad_list_parameters_are_named_at_once(api: Api) -> None:
    reply = await api.get(
        "/suppressions",
        params={"status": "gone", "reason": "x", "phone_number": "1", "page_size": "0", "q": "a"},
    )
    assert (reply.status, reply.code) == (400, "validation_error")
    assert set(reply.fields) == {"status", "reason", "phone_number", "page_size", "q"}


# ----------------------------------------------------------------------------- remove
async def test_removal_without_consent_id_is_422_consent_required(api: Api) -> None:
    await suppress(api)
    reply = await api.delete(f"/suppressions/{NUMBER}")
    assert (reply.status, reply.code) == (422, "consent_required")
    assert (await api.get(f"/suppressions/{NUMBER}")).status == 200


async def test_removal_with_a_consent_older_than_the_entry_is_422(
    api: Api, clock: FakeClock
) -> None:
    older = await consent(api, captured_at="2026-03-01T11:00:00Z")
    clock.advance(60)
    entry = await suppress(api)  # revokes the older consent too
    clock.advance(60)
    captured_before_the_entry = await consent(api, captured_at="2026-03-01T12:00:30Z")
    for cns in (older, captured_before_the_entry):
        reply = await api.delete(f"/suppressions/{NUMBER}", params={"consent_id": cns["id"]})
        assert (reply.status, reply.code) == (422, "consent_required"), cns
        assert reply.body["error"]["details"]["consent_id"] == cns["id"]
    assert (await api.get(f"/suppressions/{NUMBER}")).body == entry


async def test_removal_with_a_consent_for_another_number_is_422(api: Api) -> None:
    await suppress(api)
    other = await consent(api, phone_number="+14155550123")
    reply = await api.delete(f"/suppressions/{NUMBER}", params={"consent_id": other["id"]})
    assert (reply.status, reply.code) == (422, "consent_required")


async def test_removal_with_a_newer_consent_is_204_listed_removed_and_audited(
    api: Api, tenant: Tenant, clock: FakeClock
) -> None:
    entry = await suppress(api)
    clock.advance(30)
    newer = await consent(api)
    reply = await api.delete(f"/suppressions/{NUMBER}", params={"consent_id": newer["id"]})
    assert (reply.status, reply.text) == (204, "")
    assert (await api.get(f"/suppressions/{NUMBER}")).status == 404
    listed = await api.get("/suppressions", params={"status": "removed"})
    assert listed.body["items"] == [
        {
            **entry,
            "status": "removed",
            "removed_at": "2026-03-01T12:00:30.000Z",
            "removed_by": key_actor(tenant),
            "removal_consent_id": newer["id"],
        }
    ]
    audit = await api.get("/audit/events", params={"action": "suppression.removed"})
    assert [(e["actor"], e["subject"], e["detail"]) for e in audit.body["items"]] == [
        (key_actor(tenant), {"type": "phone_number", "id": NUMBER}, {"consent_id": newer["id"]})
    ]


async def test_removal_refuses_other_query_parameters_and_body_fields(api: Api) -> None:
    await suppress(api)
    query = await api.delete(f"/suppressions/{NUMBER}", params={"consent": "cns_x"})
    body = await api.delete(f"/suppressions/{NUMBER}", json={"consent_id": "cns_x"})
    assert (query.status, query.fields) == (400, {"consent": "is not a known field"})
    assert (body.status, body.fields) == (400, {"consent_id": "is not a known field"})


async def test_a_removal_is_replayed_with_the_same_idempotency_key(
    api: Api, clock: FakeClock
) -> None:
    await suppress(api)
    clock.advance(30)
    newer = await consent(api)
    path = f"/suppressions/{NUMBER}?consent_id={newer['id']}"
    headers = {"Idempotency-Key": "remove-1"}
    first = await api.delete(path, headers=headers)
    again = await api.delete(path, headers=headers)
    assert (first.status, again.status) == (204, 204)
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_removal_key_reused_with_another_consent_is_a_mismatch(
    api: Api, clock: FakeClock
) -> None:
    await suppress(api)
    clock.advance(30)
    newer = await consent(api)
    headers = {"Idempotency-Key": "remove-2"}
    path = f"/suppressions/{NUMBER}"
    first = await api.delete(path, params={"consent_id": newer["id"]}, headers=headers)
    other = await api.delete(path, params={"consent_id": "cns_other"}, headers=headers)
    encoded = await api.delete(
        "/suppressions/%2B" + NUMBER[1:], params={"consent_id": newer["id"]}, headers=headers
    )
    assert (first.status, other.status, other.code) == (204, 409, "idempotency_mismatch")
    assert (encoded.status, encoded.headers["Idempotent-Replayed"]) == (204, "true")


# ----------------------------------------------------------------------------- what it does
async def test_an_entry_revokes_the_numbers_consents_in_the_first_read(
    api: Api, tenant: Tenant
) -> None:
    cns = await consent(api, captured_at="2026-03-01T11:00:00Z")
    entry = await suppress(api, reason="complaint", external_id="crm-12")
    reread = await api.get(f"/consents/{cns['id']}")
    assert reread.body["revoked_at"] == "2026-03-01T12:00:00.000Z"
    assert reread.body["revocation"] == {
        "reason": "complaint",
        "source": entry["source"],
        "note": None,
    }
    audit = await api.get("/audit/events")
    assert sorted((e["action"], e["actor"] == key_actor(tenant)) for e in audit.body["items"]) == [
        ("consent.created", True),
        ("consent.revoked", True),
        ("suppression.created", True),
    ]
    created = next(e for e in audit.body["items"] if e["action"] == "suppression.created")
    assert created["detail"] == {
        "reason": "complaint",
        "source": {"type": "api_key", "id": key_actor(tenant)["id"]},
    }


async def test_a_new_reminder_to_a_suppressed_number_is_422_recipient_suppressed(
    api: Api,
) -> None:
    entry = await suppress(api, reason="complaint")
    reply = await api.post("/reminders", json=reminder_payload(phone_number=NUMBER))
    assert (reply.status, reply.code) == (422, "recipient_suppressed")
    assert reply.body["error"]["details"] == {
        "phone_number": NUMBER,
        "reason": "complaint",
        "suppressed_at": entry["created_at"],
    }


async def test_a_call_to_a_suppressed_number_is_422_recipient_suppressed(api: Api) -> None:
    entry = await suppress(api)
    reply = await api.post("/calls", json={"to": NUMBER, "message": "Your table is ready."})
    assert (reply.status, reply.code) == (422, "recipient_suppressed")
    assert reply.body["error"]["details"]["suppressed_at"] == entry["created_at"]


async def test_changing_a_reminders_number_to_a_suppressed_one_is_422(api: Api) -> None:
    reminder = await api.create()
    await suppress(api)
    reply = await api.patch(f"/reminders/{reminder['id']}", json={"phone_number": NUMBER})
    assert (reply.status, reply.code) == (422, "recipient_suppressed")


async def test_a_suppressed_reminder_resumes_only_after_the_removal(
    api: Api, dc: Dialcues, clock: FakeClock
) -> None:
    reminder = await api.create(phone_number=NUMBER, recurrence_type="daily")
    await suppress(api)
    clock.set(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    dc.attempts().claim(10)  # gate check 1: skipped, the reminder becomes suppressed
    rid = reminder["id"]
    assert (await api.get(f"/reminders/{rid}")).body["status"] == "suppressed"
    skipped = await api.get("/executions", params={"skip_reason": "suppressed"})
    assert [e["reminder_id"] for e in skipped.body["items"]] == [rid]
    refused = await api.patch(f"/reminders/{rid}", json={"status": "scheduled"})
    assert (refused.status, refused.code) == (422, "recipient_suppressed")
    newer = await consent(api, captured_at="2026-03-25T13:00:00Z")
    assert (
        await api.delete(f"/suppressions/{NUMBER}", params={"consent_id": newer["id"]})
    ).status == 204
    assert (await api.get(f"/reminders/{rid}")).body["status"] == "suppressed"  # unchanged
    resumed = await api.patch(f"/reminders/{rid}", json={"status": "scheduled"})
    assert (resumed.status, resumed.body["status"]) == (200, "scheduled"), resumed.text


async def test_a_suppressed_reminder_keeps_its_status_through_an_edit(
    api: Api, dc: Dialcues, clock: FakeClock
) -> None:
    reminder = await api.create(phone_number=NUMBER)
    await suppress(api)
    clock.set(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    dc.attempts().claim(10)
    rid = reminder["id"]
    edited = await api.patch(f"/reminders/{rid}", json={"title": "Renamed"})
    assert (edited.status, edited.body["status"], edited.body["title"]) == (
        200,
        "suppressed",
        "Renamed",
    )
    newer = await consent(api, captured_at="2026-03-25T13:00:00Z")
    await api.delete(f"/suppressions/{NUMBER}", params={"consent_id": newer["id"]})
    # a one-off's occurrence is over: resuming it needs a new future time
    stale = await api.patch(f"/reminders/{rid}", json={"status": "scheduled"})
    assert (stale.status, set(stale.fields)) == (400, {"scheduled_at"})
    later = {"status": "scheduled", "scheduled_at": "2026-03-26T09:00:00"}
    resumed = await api.patch(f"/reminders/{rid}", json=later)
    assert (resumed.status, resumed.body["status"]) == (200, "scheduled"), resumed.text


async def test_a_paused_reminder_stays_paused_when_its_number_is_suppressed(api: Api) -> None:
    reminder = await api.create(phone_number=NUMBER, recurrence_type="daily")
    rid = reminder["id"]
    await api.patch(f"/reminders/{rid}", json={"status": "paused"})
    await suppress(api)
    assert (await api.get(f"/reminders/{rid}")).body["status"] == "paused"
    refused = await api.patch(f"/reminders/{rid}", json={"status": "scheduled"})
    assert (refused.status, refused.code) == (422, "recipient_suppressed")
    assert (await api.get(f"/reminders/{rid}")).body["status"] == "paused"


async def test_a_number_suppressed_during_its_call_suppresses_the_reminder_at_the_outcome(
    api: Api, dc: Dialcues, clock: FakeClock
) -> None:
    reminder = await api.create(phone_number=NUMBER, recurrence_type="daily")
    clock.set(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    attempts = dc.attempts()
    (claim,) = attempts.claim(10)
    rid = reminder["id"]
    assert (await api.get(f"/reminders/{rid}")).body["status"] == "in_progress"
    await suppress(api)  # while the call is in the air: it goes on
    ended = Finished(claim.execution.id, ExecutionStatus.COMPLETED, False, clock.now())
    attempts.finish([ended])
    after = (await api.get(f"/reminders/{rid}")).body
    assert after["status"] == "suppressed"
    execution = (await api.get(f"/executions/{claim.execution.id}")).body
    assert (execution["status"], execution["confirmation"]) == ("completed", "no_input")
