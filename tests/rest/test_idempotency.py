"""``Idempotency-Key`` against the real app on 127.0.0.1:0 (SQLite file; PostgreSQL where the
backend matters: fifty concurrent identical requests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import IdempotencyRow, ReminderRow
from dialcues_core.platform.ports import StoredReply
from dialcues_core.reminders.model import Reminder
from dialcues_core.testing import FakeClock
from dialcues_rest import schemas
from dialcues_rest.app import create_app, start_rest
from dialcues_rest.handlers import reply
from dialcues_rest.idempotency import fingerprint, stored_reply
from rest.support import BASE, START, Api, Reply, reminder_payload

REPLAYED = "Idempotent-Replayed"


def keyed(key: str) -> dict[str, str]:
    """Return the headers carrying ``key``."""
    return {"Idempotency-Key": key}


def reminders() -> int:
    """Return how many reminders are stored."""
    return int(ReminderRow.select().count())


# ----------------------------------------------------------------------- the contract's example
async def test_ten_identical_posts_create_one_reminder_and_replay_nine(api: Api) -> None:
    replies = [
        await api.post("/reminders", json=reminder_payload(), headers=keyed("order-1"))
        for _ in range(10)
    ]
    assert [r.status for r in replies] == [201] * 10
    assert [r.headers.get(REPLAYED) for r in replies] == [None] + ["true"] * 9
    assert {r.text for r in replies} == {replies[0].text}
    assert reminders() == 1


async def test_the_same_key_with_another_body_is_a_mismatch(api: Api) -> None:
    await api.post("/reminders", json=reminder_payload(), headers=keyed("order-1"))
    other = await api.post(
        "/reminders", json=reminder_payload(title="Other"), headers=keyed("order-1")
    )
    assert (other.status, other.code) == (409, "idempotency_mismatch")
    assert reminders() == 1


async def test_the_same_key_on_another_method_or_path_is_a_mismatch(api: Api) -> None:
    created = await api.post("/reminders", json=reminder_payload(), headers=keyed("k"))
    path = f"/reminders/{created.body['id']}"
    patched = await api.patch(path, json={"status": "paused"}, headers=keyed("k"))
    deleted = await api.delete(path, headers=keyed("k"))
    assert [(r.status, r.code) for r in (patched, deleted)] == [(409, "idempotency_mismatch")] * 2
    assert (await api.get(path)).body["status"] == "scheduled"


async def test_the_body_is_compared_as_canonical_json(api: Api) -> None:
    first = await api.post("/reminders", json=reminder_payload(), headers=keyed("k"))
    reordered = dict(reversed(list(reminder_payload().items())))
    spaced = json.dumps(reordered, indent=2).encode()
    again = await api.post("/reminders", data=spaced, headers=keyed("k"))
    assert (again.status, again.headers.get(REPLAYED), again.text) == (201, "true", first.text)


# ----------------------------------------------------------------------------- other verbs
async def test_a_patch_is_replayed(api: Api) -> None:
    path = f"/reminders/{(await api.create())['id']}"
    first = await api.patch(path, json={"status": "paused"}, headers=keyed("pause-1"))
    await api.patch(path, json={"status": "scheduled"})
    again = await api.patch(path, json={"status": "paused"}, headers=keyed("pause-1"))
    assert (again.status, again.headers.get(REPLAYED), again.text) == (200, "true", first.text)
    assert (await api.get(path)).body["status"] == "scheduled"  # nothing ran again


async def test_a_delete_is_replayed_as_an_empty_204(api: Api) -> None:
    path = f"/reminders/{(await api.create())['id']}"
    first = await api.delete(path, headers=keyed("del-1"))
    again = await api.delete(path, headers=keyed("del-1"))
    assert (first.status, first.text) == (204, "")
    assert (again.status, again.text, again.headers.get(REPLAYED)) == (204, "", "true")
    assert "Content-Type" not in again.headers


# ----------------------------------------------------------------------------- refusals
async def test_a_refused_request_releases_its_key(api: Api) -> None:
    bad = await api.post("/reminders", json=reminder_payload(title=""), headers=keyed("k"))
    fixed = await api.post("/reminders", json=reminder_payload(), headers=keyed("k"))
    assert (bad.status, bad.code) == (400, "validation_error")
    assert (fixed.status, fixed.headers.get(REPLAYED)) == (201, None)
    assert reminders() == 1


async def test_a_body_that_is_not_json_stores_nothing(api: Api) -> None:
    bad = await api.post("/reminders", data=b"{not json", headers=keyed("k"))
    assert (bad.status, bad.code) == (400, "validation_error")
    assert IdempotencyRow.select().count() == 0


async def test_a_scope_refusal_releases_its_key(dc: Dialcues, tenant: Tenant, anon: Api) -> None:
    issued = dc.accounts.create_api_key(tenant.user.id, name="ro", scopes=["reminders:read"])
    refused = await anon.as_key(issued.raw).post(
        "/reminders", json=reminder_payload(), headers=keyed("k")
    )
    allowed = await anon.as_key(tenant.api_key).post(
        "/reminders", json=reminder_payload(), headers=keyed("k")
    )
    assert (refused.status, refused.code) == (403, "insufficient_scope")
    assert (allowed.status, allowed.headers.get(REPLAYED)) == (201, None)


WEBHOOK = {"url": "https://93.184.215.14/hooks", "events": ["execution.finished"]}


@pytest.mark.parametrize(
    ("path", "body", "scope"),
    [
        ("/reminders", reminder_payload(), "reminders:write"),
        ("/webhooks/subscriptions", WEBHOOK, "webhooks:manage"),
    ],
    ids=["reminder", "webhook"],
)
async def test_a_replay_demands_the_scopes_the_request_required(
    dc: Dialcues, tenant: Tenant, api: Api, path: str, body: dict[str, Any], scope: str
) -> None:
    first = await api.post(path, json=body, headers=keyed("k1"))
    read_only = dc.accounts.create_api_key(tenant.user.id, name="ro", scopes=["reminders:read"])
    refused = await api.as_key(read_only.raw).post(path, json=body, headers=keyed("k1"))
    assert first.status == 201, first.text
    assert (refused.status, refused.code) == (403, "insufficient_scope")
    assert refused.body["error"]["details"] == {"scope": scope}
    assert REPLAYED not in refused.headers and "whsec_" not in refused.text
    full = dc.accounts.create_api_key(tenant.user.id, name="full")  # every scope
    again = await api.as_key(full.raw).post(path, json=body, headers=keyed("k1"))
    assert (again.status, again.headers.get(REPLAYED), again.text) == (201, "true", first.text)


async def test_a_patch_replay_demands_reminders_write(
    dc: Dialcues, tenant: Tenant, api: Api
) -> None:
    path = f"/reminders/{(await api.create())['id']}"
    await api.patch(path, json={"status": "paused"}, headers=keyed("pause-1"))
    read_only = dc.accounts.create_api_key(tenant.user.id, scopes=["reminders:read"]).raw
    refused = await api.as_key(read_only).patch(
        path, json={"status": "paused"}, headers=keyed("pause-1")
    )
    assert (refused.status, refused.code) == (403, "insufficient_scope")
    assert refused.body["error"]["details"] == {"scope": "reminders:write"}


async def test_a_credential_lacking_the_scope_is_refused_before_a_mismatch(
    dc: Dialcues, tenant: Tenant, api: Api
) -> None:
    await api.post("/reminders", json=reminder_payload(), headers=keyed("k1"))
    read_only = dc.accounts.create_api_key(tenant.user.id, scopes=["reminders:read"]).raw
    other = reminder_payload(title="Other")
    refused = await api.as_key(read_only).post("/reminders", json=other, headers=keyed("k1"))
    assert (refused.status, refused.code) == (403, "insufficient_scope")
    assert reminders() == 1


@pytest.mark.parametrize(
    "key", ["", "k" * 256, "tab\there", "caf\u00e9"], ids=["empty", "256", "tab", "non-ascii"]
)
async def test_an_invalid_key_is_a_validation_error(api: Api, key: str) -> None:
    answered = await api.post("/reminders", json=reminder_payload(), headers=keyed(key))
    assert (answered.status, answered.code) == (400, "validation_error")
    assert list(answered.fields) == ["Idempotency-Key"]
    assert reminders() == 0


async def test_keys_are_scoped_to_the_user(dc: Dialcues, tenant: Tenant, api: Api) -> None:
    other = api.as_key(make_tenant(dc, org=tenant.org).api_key)
    mine = await api.post("/reminders", json=reminder_payload(), headers=keyed("shared"))
    theirs = await other.post("/reminders", json=reminder_payload(), headers=keyed("shared"))
    assert [r.headers.get(REPLAYED) for r in (mine, theirs)] == [None, None]
    assert mine.body["id"] != theirs.body["id"] and reminders() == 2


# ----------------------------------------------------------------------------- in progress
async def test_a_key_still_running_is_in_progress_with_retry_after(
    dc: Dialcues, tenant: Tenant, api: Api
) -> None:
    body = reminder_payload()
    print_ = fingerprint("POST", f"{BASE}/reminders", json.dumps(body).encode())
    async with _holding(dc, tenant, "k", print_, body):
        busy = await api.post("/reminders", json=body, headers=keyed("k"))
    after = await api.post("/reminders", json=body, headers=keyed("k"))
    assert (busy.status, busy.code, busy.headers.get("Retry-After")) == (
        409,
        "idempotency_in_progress",
        "1",
    )
    assert (after.status, after.headers.get(REPLAYED)) == (201, "true")
    assert reminders() == 1


@contextlib.asynccontextmanager
async def _holding(
    dc: Dialcues, tenant: Tenant, key: str, print_: bytes, body: dict[str, Any]
) -> AsyncIterator[None]:
    """Claim ``key`` in another thread and hold it mid-effect until the block ends."""
    claimed, release = threading.Event(), threading.Event()

    def create() -> Reminder:
        claimed.set()
        release.wait(10)
        return dc.reminders.create(tenant.principal, body)

    def run() -> None:
        try:
            dc.idempotency.run(tenant.principal, key, print_, create, _render)
        finally:
            dc.db.close()

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(run)
        await asyncio.to_thread(claimed.wait, 10)
        try:
            yield
        finally:
            release.set()
            await asyncio.wrap_future(done)


def _render(created: Reminder) -> StoredReply:
    return stored_reply(reply(schemas.reminder(created), status=201))


# ----------------------------------------------------------------------------- fifty at once
@pytest.fixture
async def backend_api(any_url: str) -> AsyncIterator[Api]:
    """The app over each backend in turn, with a tenant's key (its own pool and runner)."""
    platform = Dialcues.open(settings=settings_for(any_url), clock=FakeClock(START))
    api_key = make_tenant(platform).api_key
    pool = platform.offloader(threads=4)
    runner = await start_rest(create_app(platform, pool), "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session:
            yield Api(session, f"http://{host}:{port}", api_key)
    finally:
        await runner.cleanup()
        pool.shutdown()
        platform.close()


async def test_fifty_concurrent_identical_posts_create_exactly_one_reminder(
    backend_api: Api,
) -> None:
    api = backend_api
    sends = [
        api.post("/reminders", json=reminder_payload(), headers=keyed("burst")) for _ in range(50)
    ]
    replies = await asyncio.gather(*sends)
    created = [r for r in replies if r.status == 201 and REPLAYED not in r.headers]
    replayed = [r for r in replies if r.status == 201 and r.headers.get(REPLAYED) == "true"]
    busy = [r for r in replies if _is_in_progress(r)]
    assert len(created) == 1 and len(created) + len(replayed) + len(busy) == 50
    assert {r.text for r in replayed} <= {created[0].text}
    assert ReminderRow.select().count() == 1


def _is_in_progress(answered: Reply) -> bool:
    return (
        answered.status == 409
        and answered.code == "idempotency_in_progress"
        and answered.headers.get("Retry-After") == "1"
    )


# ----------------------------------------------------------------------------- restart
async def test_a_key_is_replayed_after_a_server_restart(sqlite_url: str) -> None:
    api_key, first = await _serve_and_post(sqlite_url, None)
    _, again = await _serve_and_post(sqlite_url, api_key)
    assert (again.status, again.headers.get(REPLAYED)) == (201, "true")
    assert again.text == first.text and reminders() == 1


async def _serve_and_post(url: str, api_key: str | None) -> tuple[str, Reply]:
    """Open the platform, serve it, POST once with key ``r``, stop everything."""
    platform = Dialcues.open(settings=settings_for(url), clock=FakeClock(START))
    api_key = api_key or make_tenant(platform).api_key
    pool = platform.offloader(threads=2)
    runner = await start_rest(create_app(platform, pool), "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            api = Api(session, f"http://{host}:{port}", api_key)
            answered = await api.post("/reminders", json=reminder_payload(), headers=keyed("r"))
    finally:
        await runner.cleanup()
        pool.shutdown()
        platform.close()
    return api_key, answered
