"""Consent records through the real app (responsible-calling.md section 8; Done when 17, 18):
record, read, list, revoke (an opt-out), and consent as a condition of a reminder or call.

The platform runs on the suite's fake clock (2026-03-01T12:00:00Z).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.platform import Tenant, make_tenant

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.testing import FakeClock
from rest.support import Api, reminder_payload

NUMBER = "+14155552671"
"""The number of ``reminder_payload``: consents here cover the tenant's reminders."""
TEXT = "I agree that Acme Pharmacy may call me at this number with offers."
EVIDENCE = {"url": "https://acme.example/signup", "ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}


def consent_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /consents`` body: express written marketing consent for :data:`NUMBER`."""
    body: dict[str, Any] = {
        "phone_number": NUMBER,
        "type": "express_written",
        "purpose": "marketing",
        "source": "web_form",
        "text": TEXT,
        "captured_at": "2026-03-01T10:12:00Z",
    }
    body.update(overrides)
    return body


async def record(api: Api, **overrides: Any) -> dict[str, Any]:
    """Record a consent (:func:`consent_body` with ``overrides``); return it."""
    reply = await api.post("/consents", json=consent_body(**overrides))
    assert reply.status == 201, reply.text
    return dict(reply.body)


def key_actor(tenant: Tenant) -> dict[str, Any]:
    """The tenant's API key as an actor."""
    return {"type": "api_key", "id": tenant.principal.api_key_id, "user_id": tenant.user.id}


def set_policy(dc: Dialcues, tenant: Tenant, **changes: Any) -> None:
    """Change the tenant's organization's policy as an operator."""
    dc.policies.update(tenant.org.id, changes, actor=Actor("admin", "test"))


# ----------------------------------------------------------------------------- record, read
async def test_a_consent_is_201_with_every_field(api: Api, tenant: Tenant) -> None:
    reply = await api.post("/consents", json=consent_body(evidence=EVIDENCE))
    assert reply.status == 201, reply.text
    assert reply.body == {
        "id": reply.body["id"],
        "phone_number": NUMBER,
        "type": "express_written",
        "purpose": "marketing",
        "source": "web_form",
        "text": TEXT,
        "captured_at": "2026-03-01T10:12:00.000Z",
        "evidence": EVIDENCE,
        "created_at": "2026-03-01T12:00:00.000Z",
        "created_by": key_actor(tenant),
        "revoked_at": None,
        "revocation": None,
    }
    assert reply.body["id"].startswith("cns_")
    assert (await api.get(f"/consents/{reply.body['id']}")).body == reply.body


async def test_creating_a_consent_is_audited(api: Api, tenant: Tenant) -> None:
    cns = await record(api)
    audit = await api.get("/audit/events", params={"action": "consent.created"})
    assert [(e["actor"], e["subject"], e["detail"]) for e in audit.body["items"]] == [
        (
            key_actor(tenant),
            {"type": "consent", "id": cns["id"]},
            {"type": "express_written", "purpose": "marketing"},
        )
    ]


async def test_every_bad_field_is_named_at_once(api: Api) -> None:
    reply = await api.post(
        "/consents",
        json={
            "phone_number": "555",
            "type": "implied",
            "purpose": "sales",
            "source": "rumour",
            "text": " ",
            "captured_at": "2026-03-01T10:12:00",
            "colour": "red",
        },
    )
    assert (reply.status, reply.code) == (400, "validation_error")
    assert set(reply.fields) == {
        "phone_number",
        "type",
        "purpose",
        "source",
        "text",
        "captured_at",
        "colour",
    }


async def test_every_missing_field_is_named(api: Api) -> None:
    reply = await api.post("/consents", json={})
    assert set(reply.fields) == {
        "phone_number",
        "type",
        "purpose",
        "source",
        "text",
        "captured_at",
    }


@pytest.mark.parametrize(
    "evidence",
    [
        {"url": "https://acme.example", "cookie": "x"},
        {"url": "ftp://acme.example"},
        {"ip": "300.1.1.1"},
        "https://acme.example",
    ],
)
async def test_bad_evidence_is_400_naming_evidence(api: Api, evidence: object) -> None:
    reply = await api.post("/consents", json=consent_body(evidence=evidence))
    assert (reply.status, set(reply.fields)) == (400, {"evidence"})


async def test_captured_at_more_than_five_minutes_ahead_is_400(api: Api) -> None:
    late = await api.post("/consents", json=consent_body(captured_at="2026-03-01T12:05:01Z"))
    edge = await api.post("/consents", json=consent_body(captured_at="2026-03-01T12:05:00Z"))
    assert (late.status, set(late.fields)) == (400, {"captured_at"})
    assert edge.status == 201, edge.text


@pytest.mark.parametrize("cid", ["cns_missing", "x" * 200, "%20"])
async def test_an_unknown_or_malformed_id_is_not_found(api: Api, cid: str) -> None:
    for method, path in (("GET", f"/consents/{cid}"), ("POST", f"/consents/{cid}/revoke")):
        reply = await api.call(method, path)
        assert (reply.status, reply.code) == (404, "not_found"), (method, cid)


async def test_another_organizations_record_is_not_found(api: Api, anon: Api, dc: Dialcues) -> None:
    cns = await record(api)
    stranger = anon.as_key(make_tenant(dc).api_key)
    assert (await stranger.get(f"/consents/{cns['id']}")).status == 404
    assert (await stranger.post(f"/consents/{cns['id']}/revoke")).status == 404


# ----------------------------------------------------------------------------- list
async def test_the_list_is_newest_captured_first_and_paginated(api: Api) -> None:
    times = ["2026-03-01T09:00:00Z", "2026-03-01T11:00:00Z", "2026-03-01T10:00:00Z"]
    ids = {t: (await record(api, captured_at=t))["id"] for t in times}
    first = await api.get("/consents", params={"page_size": "2"})
    second = await api.get("/consents", params={"page_size": "2", "page": "2"})
    assert [c["id"] for c in first.body["items"] + second.body["items"]] == [
        ids["2026-03-01T11:00:00Z"],
        ids["2026-03-01T10:00:00Z"],
        ids["2026-03-01T09:00:00Z"],
    ]
    assert (first.body["total"], first.body["total_pages"]) == (3, 2)


async def test_the_list_filters_by_number_type_purpose_activity_and_capture_time(
    api: Api,
) -> None:
    marketing = await record(api)
    informational = await record(
        api, type="express", purpose="informational", captured_at="2026-02-20T09:00:00Z"
    )
    other = await record(api, phone_number="+14155550123", captured_at="2026-02-25T09:00:00Z")
    await api.post(f"/consents/{other['id']}/revoke")

    async def ids(**params: str) -> list[str]:
        reply = await api.get("/consents", params=params)
        assert reply.status == 200, reply.text
        return [c["id"] for c in reply.body["items"]]

    assert await ids(phone_number=NUMBER) == [marketing["id"], informational["id"]]
    assert await ids(type="express") == [informational["id"]]
    assert await ids(purpose="marketing") == [marketing["id"], other["id"]]
    assert await ids(active="false") == [other["id"]]
    assert await ids(active="true") == [marketing["id"], informational["id"]]
    assert await ids(date_from="2026-02-25", date_to="2026-03-01") == [other["id"]]


async def test_bad_list_parameters_are_named_at_once(api: Api) -> None:
    reply = await api.get(
        "/consents", params={"active": "yes", "type": "implied", "date_from": "soon", "q": "1"}
    )
    assert (reply.status, set(reply.fields)) == (400, {"active", "type", "date_from", "q"})


# ----------------------------------------------------------------------------- revoke
async def test_revoking_adds_an_api_entry_in_the_first_read(
    api: Api, tenant: Tenant, clock: FakeClock
) -> None:
    cns = await record(api)
    clock.advance(5)
    reply = await api.post(f"/consents/{cns['id']}/revoke", json={"note": "Asked by email"})
    assert reply.status == 200, reply.text
    source = {**key_actor(tenant), "external_id": None}
    assert reply.body == {
        **cns,
        "revoked_at": "2026-03-01T12:00:05.000Z",
        "revocation": {"reason": "api", "source": source, "note": "Asked by email"},
    }
    entry = await api.get(f"/suppressions/{NUMBER}")
    assert (entry.status, entry.body["reason"], entry.body["source"]) == (200, "api", source)
    assert entry.body["created_at"] == "2026-03-01T12:00:05.000Z"
    audit = await api.get("/audit/events", params={"date_from": "2026-03-01T12:00:05"})
    assert sorted((e["action"], e["actor"] == key_actor(tenant)) for e in audit.body["items"]) == [
        ("consent.revoked", True),
        ("suppression.created", True),
    ]


async def test_revoking_a_revoked_consent_is_200_unchanged(api: Api, clock: FakeClock) -> None:
    cns = await record(api)
    first = await api.post(f"/consents/{cns['id']}/revoke")
    clock.advance(60)
    again = await api.post(f"/consents/{cns['id']}/revoke", json={"note": "again"})
    assert (again.status, again.body) == (200, first.body)
    assert (await api.get("/suppressions", params={"status": "all"})).body["total"] == 1


async def test_revoking_on_a_suppressed_number_adds_no_second_entry(
    api: Api, clock: FakeClock
) -> None:
    entry = await api.post("/suppressions", json={"phone_number": NUMBER, "reason": "complaint"})
    clock.advance(60)
    cns = await record(api, captured_at="2026-03-01T12:01:00Z")
    assert (await api.post(f"/consents/{cns['id']}/revoke", json={})).status == 200
    listed = await api.get("/suppressions", params={"status": "all"})
    assert listed.body["items"] == [entry.body]


async def test_a_revoke_body_may_only_hold_a_note(api: Api) -> None:
    cns = await record(api)
    reply = await api.post(f"/consents/{cns['id']}/revoke", json={"reason": "complaint"})
    assert (reply.status, reply.fields) == (400, {"reason": "is not a known field"})
    assert (await api.get(f"/consents/{cns['id']}")).body["revoked_at"] is None


async def test_a_create_is_replayed_with_the_same_idempotency_key(api: Api) -> None:
    headers = {"Idempotency-Key": "consent-1"}
    first = await api.post("/consents", json=consent_body(), headers=headers)
    again = await api.post("/consents", json=consent_body(), headers=headers)
    assert (first.status, again.status, again.body) == (201, 201, first.body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await api.get("/consents")).body["total"] == 1


# ----------------------------------------------------------------------------- consent required
async def test_a_marketing_reminder_without_written_consent_is_422(api: Api) -> None:
    await record(api, type="express")  # express, not express_written
    reply = await api.post("/reminders", json=reminder_payload(purpose="marketing"))
    assert (reply.status, reply.code) == (422, "consent_required")
    details = reply.body["error"]["details"]
    assert (details["required"], details["purpose"]) == ("express_written", "marketing")


async def test_a_marketing_reminder_with_written_consent_is_201(api: Api) -> None:
    await record(api)
    reply = await api.post("/reminders", json=reminder_payload(purpose="marketing"))
    assert (reply.status, reply.body["purpose"]) == (201, "marketing"), reply.text


async def test_a_marketing_call_without_consent_is_422(api: Api) -> None:
    reply = await api.post(
        "/calls", json={"to": NUMBER, "message": "Two for one today.", "purpose": "marketing"}
    )
    assert (reply.status, reply.code) == (422, "consent_required")
    assert reply.body["error"]["details"]["required"] == "express_written"


async def test_revoked_consent_suppresses_the_next_attempt(
    api: Api, dc: Dialcues, clock: FakeClock
) -> None:
    cns = await record(api)
    reminder = await api.create(purpose="marketing")
    assert (await api.post(f"/consents/{cns['id']}/revoke")).status == 200
    clock.set(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    dc.attempts().claim(10)
    skipped = await api.get("/executions", params={"reminder_id": str(reminder["id"])})
    assert [(e["status"], e["skip_reason"]) for e in skipped.body["items"]] == [
        ("skipped", "suppressed")
    ]
    assert (await api.get(f"/reminders/{reminder['id']}")).body["status"] == "suppressed"


async def test_required_informational_consent_refuses_new_and_skips_older_reminders(
    api: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    older = await api.create()
    set_policy(dc, tenant, require_consent_for_informational=True)
    refused = await api.post("/reminders", json=reminder_payload())
    assert (refused.status, refused.code) == (422, "consent_required")
    assert refused.body["error"]["details"]["purpose"] == "informational"
    clock.set(datetime(2026, 3, 25, 13, 0, tzinfo=UTC))
    dc.attempts().claim(10)
    skipped = await api.get("/executions", params={"reminder_id": str(older["id"])})
    assert [e["skip_reason"] for e in skipped.body["items"]] == ["consent_missing"]


@pytest.mark.parametrize("captured_at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
async def test_an_instant_outside_the_utc_calendar_is_400_not_500(
    api: Api, captured_at: str
) -> None:
    refused = await api.post("/consents", json=consent_body(captured_at=captured_at))
    assert (refused.status, set(refused.fields)) == (400, {"captured_at"})


@pytest.mark.parametrize(
    "evidence",
    [{"url": "https://acme.example/\x00signup"}, {"user_agent": "Mozilla\x01"}],
)
async def test_evidence_with_control_characters_is_400(api: Api, evidence: dict[str, str]) -> None:
    refused = await api.post("/consents", json=consent_body(evidence=evidence))
    assert (refused.status, set(refused.fields)) == (400, {"evidence"})
