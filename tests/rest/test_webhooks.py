"""REST /webhooks/subscriptions against the real app: CRUD, secrets, SSRF refusals, scope.

The platform's settings keep private targets forbidden (the default), so subscriptions point
at a public literal address; nothing is delivered in this suite.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from rest.support import Api

PATH = "/webhooks/subscriptions"
URL = "https://93.184.215.14/hooks"
EVENTS = ["execution.finished", "reminder.completed"]


async def subscribe(api: Api, **overrides: Any) -> dict[str, Any]:
    """Create a subscription; return its body (201 asserted)."""
    reply = await api.post(PATH, json={"url": URL, "events": EVENTS, **overrides})
    assert reply.status == 201, reply.text
    return dict(reply.body)


async def test_create_returns_the_subscription_and_its_secret_once(api: Api) -> None:
    created = await subscribe(api)
    fetched = await api.get(f"{PATH}/{created['id']}")
    assert created["secret"].startswith("whsec_")
    assert {k: created[k] for k in ("url", "events", "enabled")} == {
        "url": URL,
        "events": EVENTS,
        "enabled": True,
    }
    assert created["created_at"].endswith("Z")
    assert fetched.status == 200
    assert "secret" not in fetched.body
    assert fetched.body == {k: v for k, v in created.items() if k != "secret"}


async def test_list_update_rotate_deliveries_delete(api: Api) -> None:
    created = await subscribe(api)
    sid = created["id"]
    listed = await api.get(PATH)
    patched = await api.patch(f"{PATH}/{sid}", json={"enabled": False, "events": EVENTS[:1]})
    rotated = await api.post(f"{PATH}/{sid}/rotate-secret")
    log = await api.get(f"{PATH}/{sid}/deliveries")
    deleted = await api.delete(f"{PATH}/{sid}")
    gone = await api.get(f"{PATH}/{sid}")
    assert [s["id"] for s in listed.body["items"]] == [sid]
    assert (patched.body["enabled"], patched.body["events"]) == (False, EVENTS[:1])
    assert patched.body["disabled_reason"] == "by_user"
    assert rotated.status == 200
    assert rotated.body["secret"] not in (created["secret"], None)
    assert log.body == {"items": [], "total": 0, "page": 1, "page_size": 20, "total_pages": 0}
    assert (deleted.status, deleted.text) == (204, "")
    assert (gone.status, gone.code) == (404, "not_found")


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",
        "https://127.0.0.1/hooks",
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/hooks",
        "https://[::1]/hooks",
        "https://localhost/hooks",
    ],
)
async def test_private_targets_are_a_validation_error(api: Api, url: str) -> None:
    reply = await api.post(PATH, json={"url": url, "events": EVENTS})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert set(reply.fields) == {"url"}


async def test_bad_events_and_unknown_fields_are_named(api: Api) -> None:
    reply = await api.post(PATH, json={"url": URL, "events": ["nope"], "secret": "x"})
    assert reply.status == 400
    assert set(reply.fields) == {"events", "secret"}


async def test_patch_with_nothing_to_change_is_refused(api: Api) -> None:
    sid = (await subscribe(api))["id"]
    reply = await api.patch(f"{PATH}/{sid}", json={})
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_another_users_subscription_is_not_found(api: Api, intruder: Api) -> None:
    sid = (await subscribe(api))["id"]
    for reply in (
        await intruder.get(f"{PATH}/{sid}"),
        await intruder.patch(f"{PATH}/{sid}", json={"enabled": False}),
        await intruder.post(f"{PATH}/{sid}/rotate-secret"),
        await intruder.get(f"{PATH}/{sid}/deliveries"),
        await intruder.delete(f"{PATH}/{sid}"),
    ):
        assert (reply.status, reply.code) == (404, "not_found")
    assert (await intruder.get(PATH)).body["total"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", PATH),
        ("GET", PATH),
        ("GET", f"{PATH}/whsub_x"),
        ("PATCH", f"{PATH}/whsub_x"),
        ("DELETE", f"{PATH}/whsub_x"),
        ("POST", f"{PATH}/whsub_x/rotate-secret"),
        ("GET", f"{PATH}/whsub_x/deliveries"),
    ],
)
async def test_every_route_needs_webhooks_manage(
    anon: Api, dc: Dialcues, tenant: Tenant, method: str, path: str
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "webhooks:manage"]
    key = dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw
    takes_body = method == "PATCH" or (method, path) == ("POST", PATH)  # others: none or {}
    body = {"json": {"url": URL, "events": EVENTS}} if takes_body else {}
    reply = await anon.as_key(key).call(method, path, **body)
    assert (reply.status, reply.code) == (403, "insufficient_scope")
    assert reply.body["error"]["details"] == {"scope": "webhooks:manage"}


async def test_a_retried_create_with_one_idempotency_key_subscribes_once(api: Api) -> None:
    body, key = {"url": URL, "events": EVENTS}, {"Idempotency-Key": "sub-1"}
    first = await api.post(PATH, json=body, headers=key)
    second = await api.post(PATH, json=body, headers=key)
    listed = await api.get(PATH)
    assert (first.status, second.status) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.body == first.body
    assert listed.body["total"] == 1
