"""Message templates and messages over REST (``telephony.md`` §4, §6; "Done when" items 23,
24, 32–34, 38): the real app on 127.0.0.1:0, its replies checked against the wire models of
``dialcues_rest.wire_messages`` (which forbid unknown fields), in both error shapes.

The app's process runs no message sender: a send is checked at its 201 (``queued``); the
statuses that follow are ``tests/e2e/test_message_statuses.py``'s. Rate limits are on but
generous, so every reply carries its headers and none is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow
from dialcues_core.audit.model import Actor
from dialcues_core.config import RateLimit
from dialcues_core.consent.model import ConsentRecord
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.offload import Offloader
from dialcues_core.testing import FakeClock
from dialcues_rest import wire
from dialcues_rest import wire_messages as wm
from dialcues_rest.openapi import app_document
from rest.support import Api, add_execution, reminder_payload

LINE = "+14155550142"
"""The organization's simulated line that sends SMS and MMS (the default)."""
TO = "+14155552671"
PROBLEM = {"Accept": "application/problem+json"}
FOOTER = "\n\nReply STOP to opt out."
LIMITS = {"read": RateLimit(1000, 1000), "write": RateLimit(1000, 1000), "anon": RateLimit(5, 10)}
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit")


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform with rate limits on (generous), on the fake clock."""
    platform = Dialcues.open(settings=settings_for(sqlite_url, rate_limits=LIMITS), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """The tenant, with a simulated line that sends texts as its default."""
    found = make_tenant(dc, email="jane@example.com")
    features = ("mms", "sms", "voice")
    dc.accounts.add_line(
        found.org.id, "simulated", LINE, features=features, carrier="simulated", default=True
    )
    return found


def valid(model: type[BaseModel], body: Any) -> None:
    """Assert that ``body`` is an instance of ``model`` (strictly: no unknown fields)."""
    model.model_validate(body)


def refused(reply: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the reply is the error ``code`` with ``status``; return its details."""
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.text
    valid(wire.ErrorBody, reply.body)
    return dict(reply.body["error"]["details"] or {})


def consent(
    dc: Dialcues, tenant: Tenant, kind: str = "express", purpose: str = "informational"
) -> ConsentRecord:
    """Record the recipient's consent."""
    payload = {
        "phone_number": TO,
        "type": kind,
        "purpose": purpose,
        "source": "web_form",
        "text": "I agree to receive texts from Acme.",
        "captured_at": "2026-03-01T11:00:00Z",
    }
    return dc.consents.create(tenant.principal, payload)


async def template(api: Api, **fields: Any) -> dict[str, Any]:
    """Create a template (informational SMS with two slots unless ``fields`` say otherwise)."""
    body = {
        "name": "appointment",
        "body": "Hi {{ first_name }}, see you at {{ time }}.",
        "channels": ["sms", "mms"],
        "purpose": "informational",
    }
    body.update(fields)
    reply = await api.post("/message-templates", json=body)
    assert reply.status == 201, reply.text
    valid(wm.MessageTemplate, reply.body)
    return dict(reply.body)


def send_body(tpl: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A valid send of ``tpl`` (its two slots filled) to the recipient."""
    body: dict[str, Any] = {
        "to": TO,
        "channel": "sms",
        "template_id": tpl["id"],
        "variables": {"first_name": "Ada", "time": "3 pm"},
    }
    body.update(fields)
    return body


async def sent(api: Api, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """Send ``body``; assert 201 and the message's shape; return it."""
    reply = await api.post("/messages", json=body, **kw)
    assert reply.status == 201, reply.text
    valid(wm.Message, reply.body)
    return dict(reply.body)


async def usage_rows(dc: Dialcues, offloader: Offloader) -> list[dict[str, Any]]:
    """Write the pending usage events, then return every stored one, oldest first."""
    await offloader.run(dc.usage.flush)
    return list(UsageEventRow.select().order_by(UsageEventRow.id).dicts())


def sha256(text: str) -> str:
    """The content hash of ``text`` as the API writes it."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- templates
async def test_a_created_template_is_version_one_with_sorted_slots_and_its_hash(
    api: Api, tenant: Tenant
) -> None:
    created = await template(api, body="Hi {{ time }} {{first_name}}  \r\n")
    assert (created["version"], created["variables"]) == (1, ["first_name", "time"])
    assert created["body"] == "Hi {{time}} {{first_name}}"
    assert created["content_hash"] == sha256("Hi {{time}} {{first_name}}")
    assert (created["opt_out_footer"], created["archived_at"]) == (False, None)
    assert created["id"].startswith("tpl_")


async def test_a_template_is_read_listed_and_filtered(
    api: Api, tenant: Tenant, clock: FakeClock
) -> None:
    sms = await template(api, name="sms-only", channels=["sms"])
    clock.advance(1)  # newest first: the order of equal times is the ids'
    rcs = await template(api, name="rcs-too", channels=["rcs", "sms"], description="Rich")
    got = await api.get(f"/message-templates/{rcs['id']}")
    assert got.status == 200 and got.body == rcs
    listing = await api.get("/message-templates")
    valid(wm.MessageTemplatePage, listing.body)
    assert [t["id"] for t in listing.body["items"]] == [rcs["id"], sms["id"]]
    by_channel = await api.get("/message-templates", params={"channel": "rcs"})
    assert [t["id"] for t in by_channel.body["items"]] == [rcs["id"]]
    by_purpose = await api.get("/message-templates", params={"purpose": "marketing"})
    assert by_purpose.body["total"] == 0


async def test_a_template_of_another_organization_is_not_found(
    api: Api, anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    created = await template(api)
    stranger = anon.as_key(make_tenant(dc).api_key)
    refused(await stranger.get(f"/message-templates/{created['id']}"), 404, "not_found")
    assert (await stranger.get("/message-templates")).body["total"] == 0


async def test_every_user_of_the_organization_sees_its_templates(
    api: Api, anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    created = await template(api)
    colleague = anon.as_key(make_tenant(dc, org=tenant.org).api_key)
    assert (await colleague.get(f"/message-templates/{created['id']}")).status == 200


async def test_a_taken_name_is_already_exists(api: Api, tenant: Tenant) -> None:
    await template(api)
    reply = await api.post(
        "/message-templates",
        json={"name": "appointment", "body": "x", "channels": ["sms"], "purpose": "informational"},
    )
    assert refused(reply, 409, "already_exists")["resource"] == "message_template"


async def test_a_bad_template_names_each_field(api: Api, tenant: Tenant) -> None:
    body = {"name": "Bad Name", "body": "Hi {{ 1x }}", "channels": [], "purpose": "x", "y": 1}
    details = refused(await api.post("/message-templates", json=body), 400, "validation_error")
    assert set(details["fields"]) == {"name", "body", "channels", "purpose", "y"}


async def test_a_body_edit_makes_a_new_version_and_a_rename_does_not(
    api: Api, tenant: Tenant
) -> None:
    created = await template(api)
    edited = await api.patch(
        f"/message-templates/{created['id']}", json={"body": "Hello {{first_name}} at {{time}}"}
    )
    assert edited.status == 200, edited.text
    valid(wm.MessageTemplate, edited.body)
    assert (edited.body["version"], edited.body["body"]) == (2, "Hello {{first_name}} at {{time}}")
    renamed = await api.patch(f"/message-templates/{created['id']}", json={"name": "renamed"})
    assert (renamed.body["version"], renamed.body["name"]) == (2, "renamed")
    versions = await api.get(f"/message-templates/{created['id']}/versions")
    valid(wm.MessageTemplateVersionPage, versions.body)
    assert [v["version"] for v in versions.body["items"]] == [2, 1]
    first = await api.get(f"/message-templates/{created['id']}/versions/1")
    valid(wm.MessageTemplateVersion, first.body)
    assert (first.body["body"], first.body["content_hash"]) == (
        created["body"],
        created["content_hash"],
    )


async def test_an_unknown_version_is_not_found(api: Api, tenant: Tenant) -> None:
    created = await template(api)
    for version in ("2", "0", "x"):
        reply = await api.get(f"/message-templates/{created['id']}/versions/{version}")
        refused(reply, 404, "not_found")


async def test_an_empty_patch_is_a_validation_error(api: Api, tenant: Tenant) -> None:
    created = await template(api)
    reply = await api.patch(f"/message-templates/{created['id']}", json={})
    refused(reply, 400, "validation_error")


async def test_an_archived_template_stays_readable_and_cannot_be_sent(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    gone = await api.delete(f"/message-templates/{created['id']}")
    assert (gone.status, gone.text) == (204, "")
    again = await api.delete(f"/message-templates/{created['id']}")
    assert again.status == 204
    shown = await api.get(f"/message-templates/{created['id']}")
    assert shown.body["archived_at"] is not None
    assert (await api.get("/message-templates")).body["total"] == 0
    archived = await api.get("/message-templates", params={"archived": "true"})
    assert [t["id"] for t in archived.body["items"]] == [created["id"]]
    details = refused(await api.post("/messages", json=send_body(created)), 400, "validation_error")
    assert "template_id" in details["fields"]
    changed = await api.patch(f"/message-templates/{created['id']}", json={"name": "again"})
    refused(changed, 400, "invalid_state")


# ----------------------------------------------------------------------------- item 32, 33
async def test_old_messages_keep_their_version_and_hash_and_a_send_may_name_a_version(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    first = await sent(api, send_body(created))
    await api.patch(f"/message-templates/{created['id']}", json={"body": "New {{first_name}}"})
    again = await api.get(f"/messages/{first['id']}")
    assert (again.body["template_version"], again.body["content_hash"]) == (
        1,
        created["content_hash"],
    )
    current = await sent(api, send_body(created, variables={"first_name": "Ada"}))
    assert (current["template_version"], current["text"]) == (2, "New Ada")
    older = await sent(api, send_body(created, template_version=1))
    assert (older["template_version"], older["content_hash"]) == (1, created["content_hash"])
    assert older["text"] == "Hi Ada, see you at 3 pm."
    missing = await api.post("/messages", json=send_body(created, template_version=3))
    assert "template_version" in refused(missing, 400, "validation_error")["fields"]


async def test_bodies_differing_in_line_ends_trailing_spaces_or_slot_spacing_hash_the_same(
    api: Api, tenant: Tenant
) -> None:
    bodies = [
        "Hi {{name}},\nsee you.",
        "Hi {{ name }},\r\nsee you.  ",
        "\n\nHi {{name   }},\t\rsee you.\n\n",
    ]
    made = [await template(api, name=f"same-{i}", body=body) for i, body in enumerate(bodies)]
    assert {t["content_hash"] for t in made} == {sha256("Hi {{name}},\nsee you.")}
    different = await template(api, name="different", body="Hi {{name}}, see you.")
    assert different["content_hash"] != made[0]["content_hash"]


async def test_a_marketing_template_refuses_to_drop_the_footer(api: Api, tenant: Tenant) -> None:
    body = {"name": "promo", "body": "Sale!", "channels": ["sms"], "purpose": "marketing"}
    reply = await api.post("/message-templates", json={**body, "opt_out_footer": False})
    assert "opt_out_footer" in refused(reply, 400, "validation_error")["fields"]


async def test_the_footer_is_hashed_and_ends_every_message(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant, "express_written", "marketing")
    promo = await template(api, name="promo", body="Sale, {{first_name}}!", purpose="marketing")
    assert promo["opt_out_footer"] is True
    assert promo["content_hash"] == sha256("Sale, {{first_name}}!" + FOOTER)
    message = await sent(api, send_body(promo, variables={"first_name": "Ada"}))
    assert (message["text"], message["purpose"]) == ("Sale, Ada!" + FOOTER, "marketing")


async def test_quiet_hours_refuse_marketing_texts_only(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    window = {"calling_window": {"start": "08:00", "end": "21:00"}}
    dc.policies.update(tenant.org.id, window, actor=Actor("admin", "test"))  # 04:00 in 415
    consent(dc, tenant, "express_written", "marketing")
    promo = await template(api, name="promo", body="Sale!", purpose="marketing")
    info = await template(api)
    reply = await api.post("/messages", json=send_body(promo, variables={}))
    assert refused(reply, 422, "outside_calling_window")["next_allowed_at"]
    await sent(api, send_body(info))


# ----------------------------------------------------------------------------- sending
async def test_a_send_is_queued_from_the_default_line(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    message = await sent(api, send_body(created))
    assert message["id"].startswith("msg_")
    assert (message["status"], message["direction"], message["source"]) == (
        "queued",
        "outbound",
        "api",
    )
    assert (message["from"], message["to"], message["text"]) == (
        LINE,
        TO,
        "Hi Ada, see you at 3 pm.",
    )
    assert (await api.get(f"/messages/{message['id']}")).body == message


@pytest.mark.parametrize("media", [None, [f"https://example.com/{i}.png" for i in range(11)]])
async def test_mms_needs_one_to_ten_media_urls(
    api: Api, dc: Dialcues, tenant: Tenant, media: list[str] | None
) -> None:
    consent(dc, tenant)
    created = await template(api)
    body = send_body(created, channel="mms")
    if media is not None:
        body["media_urls"] = media
    details = refused(await api.post("/messages", json=body), 400, "validation_error")
    assert "media_urls" in details["fields"]


@pytest.mark.parametrize(
    "url", ["\x01https://example.com/a.png", "https://example.com/a\x00.png", "http://x.org/a"]
)
async def test_a_media_url_must_be_https_without_control_characters(
    api: Api, dc: Dialcues, tenant: Tenant, url: str
) -> None:
    consent(dc, tenant)
    created = await template(api)
    body = send_body(created, channel="mms", media_urls=[url])
    details = refused(await api.post("/messages", json=body), 400, "validation_error")
    assert "media_urls" in details["fields"]


async def test_mms_with_media_is_sent(api: Api, dc: Dialcues, tenant: Tenant) -> None:
    consent(dc, tenant)
    created = await template(api)
    urls = ["https://example.com/card.png"]
    message = await sent(api, send_body(created, channel="mms", media_urls=urls))
    assert (message["channel"], message["media_urls"]) == ("mms", urls)


async def test_missing_and_extra_variables_are_named(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    body = send_body(created, variables={"first_name": "Ada", "nickname": "A"})
    details = refused(await api.post("/messages", json=body), 400, "validation_error")
    assert set(details["fields"]) == {"variables.time", "variables.nickname"}


async def test_a_missing_variable_is_pointed_at_in_problem_details(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    body = send_body(created, variables={"first_name": "Ada"})
    reply = await api.post("/messages", json=body, headers=PROBLEM)
    assert reply.status == 400 and reply.headers["Content-Type"].startswith(
        "application/problem+json"
    )
    valid(wire.Problem, reply.body)
    (error,) = reply.body["errors"]
    assert error["pointer"].startswith("/variables") and error["pointer"].endswith("time")


async def test_an_unknown_template_is_a_validation_error(api: Api, tenant: Tenant) -> None:
    body = {"to": TO, "channel": "sms", "template_id": "tpl_nothing"}
    details = refused(await api.post("/messages", json=body), 400, "validation_error")
    assert "template_id" in details["fields"]


async def test_a_channel_the_template_does_not_allow_is_named(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api, channels=["sms"])
    body = send_body(created, channel="mms", media_urls=["https://example.com/a.png"])
    assert (
        "channel"
        in refused(await api.post("/messages", json=body), 400, "validation_error")["fields"]
    )


async def test_a_from_that_is_no_texting_line_is_named(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    body = send_body(created, **{"from": tenant.line.phone_number})  # a voice-only line
    assert (
        "from" in refused(await api.post("/messages", json=body), 400, "validation_error")["fields"]
    )


# ----------------------------------------------------------------------------- item 23, 27
async def test_a_send_without_consent_is_consent_required(api: Api, tenant: Tenant) -> None:
    created = await template(api)
    reply = await api.post("/messages", json=send_body(created), headers=PROBLEM)
    assert reply.status == 422
    valid(wire.Problem, reply.body)
    assert reply.body["code"] == "consent_required"
    assert (await api.get("/messages")).body["total"] == 0


async def test_express_consent_allows_informational_but_not_marketing(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    info = await template(api)
    promo = await template(api, name="promo", body="Sale!", purpose="marketing")
    await sent(api, send_body(info))
    reply = await api.post("/messages", json=send_body(promo, variables={}))
    details = refused(reply, 422, "consent_required")
    assert (details["required"], details["purpose"]) == ("express_written", "marketing")


async def test_a_suppressed_recipient_is_refused(api: Api, dc: Dialcues, tenant: Tenant) -> None:
    consent(dc, tenant)
    created = await template(api)
    added = await api.post("/suppressions", json={"phone_number": TO, "reason": "complaint"})
    assert added.status == 201, added.text
    refused(await api.post("/messages", json=send_body(created)), 422, "recipient_suppressed")


# ----------------------------------------------------------------------------- item 24
async def test_ten_sends_with_one_key_queue_one_message(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    headers = {"Idempotency-Key": "send-once"}
    replies = [
        await api.post("/messages", json=send_body(created), headers=headers) for _ in range(10)
    ]
    assert {r.status for r in replies} == {201}
    assert len({r.body["id"] for r in replies}) == 1
    replayed = [r.headers.get("Idempotent-Replayed") for r in replies]
    assert replayed == [None] + ["true"] * 9
    assert (await api.get("/messages")).body["total"] == 1


async def test_fifty_concurrent_sends_with_one_key_queue_one_message(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    headers = {"Idempotency-Key": "send-at-once"}
    sends = [api.post("/messages", json=send_body(created), headers=headers) for _ in range(50)]
    replies = await asyncio.gather(*sends)
    fresh = [r for r in replies if r.status == 201 and "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1
    others = {(r.status, r.body.get("id") or r.body["error"]["code"]) for r in replies}
    assert others <= {(201, fresh[0].body["id"]), (409, "idempotency_in_progress")}
    assert (await api.get("/messages")).body["total"] == 1


async def test_a_key_reused_for_another_send_is_a_mismatch(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    headers = {"Idempotency-Key": "one-send"}
    await sent(api, send_body(created), headers=headers)
    other = send_body(created, variables={"first_name": "Bob", "time": "4 pm"})
    refused(await api.post("/messages", json=other, headers=headers), 409, "idempotency_mismatch")


async def test_a_refused_send_releases_its_key(api: Api, dc: Dialcues, tenant: Tenant) -> None:
    created = await template(api)
    headers = {"Idempotency-Key": "after-consent"}
    refused(
        await api.post("/messages", json=send_body(created), headers=headers),
        422,
        "consent_required",
    )
    consent(dc, tenant)
    await sent(api, send_body(created), headers=headers)


async def test_template_writes_replay_under_one_key(api: Api, tenant: Tenant) -> None:
    headers = {"Idempotency-Key": "tpl-create"}
    body = {"name": "once", "body": "Hi", "channels": ["sms"], "purpose": "informational"}
    first = await api.post("/message-templates", json=body, headers=headers)
    second = await api.post("/message-templates", json=body, headers=headers)
    assert (first.status, second.status, second.headers["Idempotent-Replayed"]) == (
        201,
        201,
        "true",
    )
    assert first.body == second.body
    tid = first.body["id"]
    patch_headers = {"Idempotency-Key": "tpl-patch"}
    for _ in range(2):
        await api.patch(f"/message-templates/{tid}", json={"body": "Hello"}, headers=patch_headers)
    assert (await api.get(f"/message-templates/{tid}")).body["version"] == 2
    delete_headers = {"Idempotency-Key": "tpl-delete"}
    replies = [
        await api.delete(f"/message-templates/{tid}", headers=delete_headers) for _ in range(2)
    ]
    assert [(r.status, r.headers.get("Idempotent-Replayed")) for r in replies] == [
        (204, None),
        (204, "true"),
    ]


# ----------------------------------------------------------------------------- visibility
async def test_another_users_outbound_message_is_not_found(
    api: Api, anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    message = await sent(api, send_body(await template(api)))
    colleague = anon.as_key(make_tenant(dc, org=tenant.org).api_key)
    refused(await colleague.get(f"/messages/{message['id']}"), 404, "not_found")
    assert (await colleague.get("/messages")).body["total"] == 0


async def test_inbound_messages_are_seen_by_every_user_of_the_organization(
    api: Api, anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    inbound, _ = dc.messages.receive_for(tenant.org.id, LINE, TO, "Running late")
    colleague = anon.as_key(make_tenant(dc, org=tenant.org).api_key)
    stranger = anon.as_key(make_tenant(dc).api_key)
    for client in (api, colleague):
        got = await client.get(f"/messages/{inbound.id}")
        assert got.status == 200, got.text
        valid(wm.Message, got.body)
        assert (got.body["direction"], got.body["status"], got.body["source"]) == (
            "inbound",
            "received",
            None,
        )
        assert got.body["from"] == TO and got.body["text"] == "Running late"
        listed = await client.get("/messages", params={"direction": "inbound"})
        assert [m["id"] for m in listed.body["items"]] == [inbound.id]
    refused(await stranger.get(f"/messages/{inbound.id}"), 404, "not_found")


async def test_messages_are_listed_newest_first_and_filtered(
    api: Api, dc: Dialcues, tenant: Tenant, clock: FakeClock
) -> None:
    consent(dc, tenant)
    created = await template(api)
    first = await sent(api, send_body(created))
    clock.advance(60)
    second = await sent(api, send_body(created, variables={"first_name": "Bo", "time": "4"}))
    listing = await api.get("/messages")
    valid(wm.MessagePage, listing.body)
    assert [m["id"] for m in listing.body["items"]] == [second["id"], first["id"]]
    params = {"to": TO, "from": LINE, "status": "queued", "template_id": created["id"]}
    assert (await api.get("/messages", params=params)).body["total"] == 2
    later = await api.get("/messages", params={"date_from": "2026-03-01T12:00:30Z"})
    assert [m["id"] for m in later.body["items"]] == [second["id"]]
    bad = await api.get("/messages", params={"direction": "sideways", "nope": "1"})
    assert set(refused(bad, 400, "validation_error")["fields"]) == {"direction", "nope"}


# ----------------------------------------------------------------------------- reminder fallback
def fallback(tpl: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A reminder's fallback naming ``tpl``."""
    found: dict[str, Any] = {"channel": "sms", "template_id": tpl["id"], "after": "final_failure"}
    found.update(fields)
    return found


async def test_a_reminder_fallback_round_trips_and_null_clears_it(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api, body="Sorry we missed you, {{first_name}}: {{reminder_title}}")
    wanted = fallback(created, variables={"first_name": "Ada"})
    reminder = await api.create(fallback=wanted)
    valid(wire.Reminder, reminder)
    assert reminder["fallback"] == wanted
    assert (await api.get(f"/reminders/{reminder['id']}")).body["fallback"] == wanted
    cleared = await api.patch(f"/reminders/{reminder['id']}", json={"fallback": None})
    assert (cleared.status, cleared.body["fallback"]) == (200, None)
    plain = await api.create()
    assert plain["fallback"] is None


async def test_a_fallback_naming_no_template_is_named(api: Api, tenant: Tenant) -> None:
    reply = await api.post(
        "/reminders",
        json=reminder_payload(
            fallback={"channel": "sms", "template_id": "tpl_x", "after": "no_answer"}
        ),
    )
    assert "fallback.template_id" in refused(reply, 400, "validation_error")["fields"]


async def test_a_fallback_missing_a_slot_is_named(api: Api, tenant: Tenant) -> None:
    created = await template(api)
    reply = await api.post("/reminders", json=reminder_payload(fallback=fallback(created)))
    fields = refused(reply, 400, "validation_error")["fields"]
    assert any(name.startswith("fallback.") for name in fields), fields


async def test_a_fallback_of_a_bad_shape_names_its_fields(api: Api, tenant: Tenant) -> None:
    reply = await api.post(
        "/reminders", json=reminder_payload(fallback={"channel": "mms", "after": "later"})
    )
    fields = refused(reply, 400, "validation_error")["fields"]
    assert {"fallback.channel", "fallback.template_id", "fallback.after"} <= set(fields)


async def test_a_fallback_needs_messages_write(
    api: Api, anon: Api, dc: Dialcues, tenant: Tenant
) -> None:
    created = await template(api, body="Missed: {{reminder_title}}")
    key = dc.accounts.create_api_key(
        tenant.user.id, scopes=[s for s in ALL_SCOPES if s != "messages:write"]
    ).raw
    client = anon.as_key(key)
    reply = await client.post("/reminders", json=reminder_payload(fallback=fallback(created)))
    assert refused(reply, 403, "insufficient_scope") == {"scope": "messages:write"}
    reminder = await client.create(fallback=None)  # null needs no more than reminders:write
    patched = await client.patch(
        f"/reminders/{reminder['id']}", json={"fallback": fallback(created)}
    )
    assert refused(patched, 403, "insufficient_scope") == {"scope": "messages:write"}
    assert (await client.patch(f"/reminders/{reminder['id']}", json={"title": "x"})).status == 200


async def test_an_execution_shows_its_fallback_message_id(api: Api, tenant: Tenant) -> None:
    reminder = await api.create()
    add_execution(tenant, reminder)
    listing = await api.get("/executions")
    valid(wire.ExecutionPage, listing.body)
    assert listing.body["items"][0]["fallback_message_id"] is None


# ----------------------------------------------------------------------------- item 38
MESSAGE_ROUTES = [
    ("POST", "/message-templates", "templates:write"),
    ("GET", "/message-templates", "messages:read"),
    ("GET", "/message-templates/tpl_x", "messages:read"),
    ("PATCH", "/message-templates/tpl_x", "templates:write"),
    ("DELETE", "/message-templates/tpl_x", "templates:write"),
    ("GET", "/message-templates/tpl_x/versions", "messages:read"),
    ("GET", "/message-templates/tpl_x/versions/1", "messages:read"),
    ("POST", "/messages", "messages:write"),
    ("GET", "/messages", "messages:read"),
    ("GET", "/messages/msg_x", "messages:read"),
]


@pytest.mark.parametrize(("method", "path", "scope"), MESSAGE_ROUTES)
async def test_each_route_refuses_a_key_lacking_its_scope_with_limits_and_problem_details(
    anon: Api, dc: Dialcues, tenant: Tenant, method: str, path: str, scope: str
) -> None:
    key = dc.accounts.create_api_key(
        tenant.user.id, scopes=[s for s in ALL_SCOPES if s != scope]
    ).raw
    reply = await anon.as_key(key).call(method, path, json={}, headers=PROBLEM)
    assert reply.status == 403
    valid(wire.Problem, reply.body)
    assert (reply.body["code"], reply.body["status"]) == ("insufficient_scope", 403)
    assert all(name in reply.headers for name in RATE_HEADERS)


async def test_every_route_writes_one_usage_event_and_carries_rate_limit_headers(
    api: Api, dc: Dialcues, offloader: Offloader, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await template(api)
    tid = created["id"]
    message = await sent(api, send_body(created))
    replies = [
        await api.get("/message-templates"),
        await api.get(f"/message-templates/{tid}"),
        await api.patch(f"/message-templates/{tid}", json={"description": "d"}),
        await api.get(f"/message-templates/{tid}/versions"),
        await api.get(f"/message-templates/{tid}/versions/1"),
        await api.get("/messages"),
        await api.get(f"/messages/{message['id']}"),
        await api.delete(f"/message-templates/{tid}"),
    ]
    assert [r.status for r in replies] == [200, 200, 200, 200, 200, 200, 200, 204]
    for reply in replies:
        assert all(name in reply.headers for name in RATE_HEADERS), reply.headers
    policies = [r.headers["RateLimit-Policy"].split(";")[0] for r in replies]
    assert policies == ['"read"'] * 2 + ['"write"'] + ['"read"'] * 4 + ['"write"']
    rows = await usage_rows(dc, offloader)
    assert [(r["method"], r["route"], r["user_id"]) for r in rows] == [
        ("POST", "/message-templates", tenant.user.id),
        ("POST", "/messages", tenant.user.id),
        ("GET", "/message-templates", tenant.user.id),
        ("GET", "/message-templates/{id}", tenant.user.id),
        ("PATCH", "/message-templates/{id}", tenant.user.id),
        ("GET", "/message-templates/{id}/versions", tenant.user.id),
        ("GET", "/message-templates/{id}/versions/{version}", tenant.user.id),
        ("GET", "/messages", tenant.user.id),
        ("GET", "/messages/{id}", tenant.user.id),
        ("DELETE", "/message-templates/{id}", tenant.user.id),
    ]


async def test_a_refused_send_writes_its_usage_event_with_the_code(
    api: Api, dc: Dialcues, offloader: Offloader, tenant: Tenant
) -> None:
    created = await template(api)
    await api.post("/messages", json=send_body(created))
    row = (await usage_rows(dc, offloader))[-1]
    assert (row["route"], row["status"], row["code"]) == ("/messages", 422, "consent_required")


# ----------------------------------------------------------------------------- OpenAPI
def test_the_message_routes_declare_their_statuses() -> None:
    paths = app_document()["paths"]
    tpl = "/api/public/v1/message-templates"
    msg = "/api/public/v1/messages"
    expected = {
        ("post", tpl): {"201", "400", "401", "403", "409", "413", "429", "500", "503"},
        ("get", tpl): {"200", "400", "401", "403"},
        ("get", f"{tpl}/{{id}}"): {"200", "404"},
        ("patch", f"{tpl}/{{id}}"): {"200", "400", "404", "409", "413"},
        ("delete", f"{tpl}/{{id}}"): {"204", "400", "404", "409", "413"},
        ("get", f"{tpl}/{{id}}/versions"): {"200", "400", "404"},
        ("get", f"{tpl}/{{id}}/versions/{{version}}"): {"200", "404"},
        ("post", msg): {"201", "400", "403", "409", "413", "422"},
        ("get", msg): {"200", "400", "403"},
        ("get", f"{msg}/{{id}}"): {"200", "404"},
    }
    for (method, path), statuses in expected.items():
        operation = paths[path][method]
        assert statuses <= set(operation["responses"]), (method, path)
        if method != "get":
            key = {"$ref": "#/components/parameters/IdempotencyKey"}
            assert key in operation["parameters"], (method, path)
            assert "Idempotent-Replayed" in operation["responses"][min(statuses)]["headers"]


def test_a_send_describes_its_refusals_in_order() -> None:
    refusal = app_document()["paths"]["/api/public/v1/messages"]["post"]["responses"]["422"]
    codes = [
        "recipient_suppressed",
        "consent_required",
        "outside_calling_window",
        "campaign_not_registered",
    ]
    places = [refusal["description"].index(f"`{code}`") for code in codes]
    assert places == sorted(places)
    assert set(refusal["content"]) == {"application/json", "application/problem+json"}


def test_a_version_is_an_integer_in_its_path() -> None:
    path = "/api/public/v1/message-templates/{id}/versions/{version}"
    params = app_document()["paths"][path]["get"]["parameters"]
    assert [(p["name"], p["schema"]["type"]) for p in params] == [
        ("id", "string"),
        ("version", "integer"),
    ]


def test_the_reminder_fallback_and_the_fallback_message_are_declared() -> None:
    schemas = app_document()["components"]["schemas"]
    for name in ("CreateReminder", "UpdateReminder", "Reminder"):
        nullable = schemas[name]["properties"]["fallback"]["anyOf"]
        assert {"type": "null"} in nullable, name
    assert "fallback" in schemas["Reminder"]["required"]
    assert "fallback_message_id" in schemas["Execution"]["required"]
    events = schemas["CreateSubscription"]["properties"]["events"]["items"]["enum"]
    assert {"message.sent", "message.delivered", "message.failed", "message.received"} <= set(
        events
    )
