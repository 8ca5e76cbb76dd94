"""Rate limits over REST: buckets per key and class, anon per address, headers on every reply.

The platform runs on the suite's fake clock, so buckets refill only when a test moves it and
every header value is literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import aiohttp
import pytest
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.config import RateLimit
from dialcues_core.offload import Offloader
from dialcues_core.testing import FakeClock
from rest.support import START, Api, Reply, reminder_payload

LIMITS = {"read": RateLimit(1, 3), "write": RateLimit(1, 2), "anon": RateLimit(0.5, 2)}
NOW = int(START.timestamp())
LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
IETF_HEADERS = ("RateLimit-Policy", "RateLimit")
# draft-ietf-httpapi-ratelimit-headers-10: a structured-field list of one quoted policy name
# with integer parameters.
POLICY_SYNTAX = re.compile(r'^"(read|write|anon)";q=\d+;w=\d+$')
RATELIMIT_SYNTAX = re.compile(r'^"(read|write|anon)";r=\d+;t=\d+$')


@pytest.fixture
def rate_limits() -> dict[str, RateLimit] | None:
    """The limits of the platform under test (a test may parametrize ``None``: off)."""
    return LIMITS


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock, rate_limits: object) -> Iterator[Dialcues]:
    """The platform with small rate limits (overrides the suite's ``dc``)."""
    platform = Dialcues.open(
        settings=settings_for(sqlite_url, rate_limits=rate_limits), clock=clock
    )
    yield platform
    platform.close()


def limits_of(reply: Reply) -> dict[str, str]:
    """Return the five rate-limit headers of a reply (absent ones left out)."""
    names = (*LIMIT_HEADERS, *IETF_HEADERS)
    return {name: reply.headers[name] for name in names if name in reply.headers}


def expect(policy: str, limit: int, remaining: int, full_in: int, window: int) -> dict[str, str]:
    """The headers a reply charged to ``policy`` carries."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(NOW + full_in),
        "RateLimit-Policy": f'"{policy}";q={limit};w={window}',
        "RateLimit": f'"{policy}";r={remaining};t={full_in}',
    }


async def test_a_read_carries_the_read_buckets_headers(api: Api) -> None:
    reply = await api.get("/me")
    assert reply.status == 200
    assert limits_of(reply) == expect("read", 3, 2, 1, 3)


async def test_the_fourth_read_in_a_second_is_refused_with_retry_after(api: Api) -> None:
    for _ in range(3):
        assert (await api.get("/me")).status == 200
    refused = await api.get("/me")
    assert (refused.status, refused.code) == (429, "rate_limited")
    assert refused.headers["Retry-After"] == "1"
    assert limits_of(refused) == expect("read", 3, 0, 3, 3)


async def test_a_refused_callers_usage_event_names_it(
    api: Api, clock: FakeClock, tenant: Tenant, dc: Dialcues, offloader: Offloader
) -> None:
    for _ in range(4):
        await api.get("/me")
    await offloader.run(dc.usage.flush)
    clock.advance(1)
    listed = await api.get("/usage/events", params={"status": "429"})
    assert listed.status == 200, listed.text
    assert [(e["route"], e["code"]) for e in listed.body["items"]] == [("/me", "rate_limited")]
    assert listed.body["items"][0]["api_key_id"] == tenant.principal.api_key_id


async def test_the_bucket_refills_with_time(api: Api, clock: FakeClock) -> None:
    for _ in range(4):
        await api.get("/me")
    clock.advance(1)
    assert (await api.get("/me")).status == 200


async def test_writes_have_their_own_bucket(api: Api) -> None:
    for _ in range(3):
        await api.get("/me")
    created = await api.post("/reminders", json=reminder_payload())
    assert created.status == 201
    assert limits_of(created) == expect("write", 2, 1, 1, 2)


async def test_a_failed_authentication_is_charged_to_the_anon_bucket(anon: Api) -> None:
    reply = await anon.get("/me")
    assert (reply.status, reply.code) == (401, "unauthorized")
    assert limits_of(reply) == expect("anon", 2, 1, 2, 4)


async def test_an_empty_anon_bucket_answers_429_before_401(anon: Api) -> None:
    guesser = anon.as_key("dc_live_not_a_real_key")
    for _ in range(2):
        assert (await guesser.get("/me")).status == 401
    refused = await guesser.get("/me")
    assert (refused.status, refused.code) == (429, "rate_limited")
    assert refused.headers["Retry-After"] == "2"


async def test_the_token_endpoint_throttles_secret_guessing(anon: Api) -> None:
    guess = {"grant_type": "client_credentials", "client_id": "cli_x", "client_secret": "no"}
    for _ in range(2):
        wrong = await anon.post("//api/oauth/token", data=guess)
        assert (wrong.status, wrong.body["error"]) == (401, "invalid_client")
    refused = await anon.post("//api/oauth/token", data=guess)
    assert refused.status == 429
    assert set(refused.body) == {"error", "error_description"}  # OAuth's shape, not ours
    assert refused.body["error"] == "rate_limited"
    assert (refused.headers["Retry-After"], refused.headers["Cache-Control"]) == ("2", "no-store")
    assert limits_of(refused) == expect("anon", 2, 0, 4, 4)


async def test_anon_buckets_are_per_client_address(anon: Api) -> None:
    for _ in range(3):
        await anon.get("/me")
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        other = Api(session, anon.root, None)
        reply = await other.get("/me")
    assert reply.status == 401
    assert limits_of(reply)["X-RateLimit-Remaining"] == "1"


async def test_a_scope_refusal_carries_the_headers(anon: Api, dc: Dialcues, tenant: Tenant) -> None:
    key = dc.accounts.create_api_key(tenant.user.id, scopes=["reminders:read"]).raw
    reply = await anon.as_key(key).get("/lines")
    assert (reply.status, reply.code) == (403, "insufficient_scope")
    assert limits_of(reply) == expect("read", 3, 2, 1, 3)


async def test_an_unknown_route_carries_the_headers(api: Api) -> None:
    reply = await api.get("/no-such-route")
    assert (reply.status, reply.code) == (404, "not_found")
    assert limits_of(reply) == expect("read", 3, 2, 1, 3)


async def test_a_wrong_method_carries_the_headers_and_allow(api: Api) -> None:
    reply = await api.call("PUT", "/me", json={})
    assert reply.status == 405
    assert "GET" in reply.headers["Allow"]
    assert limits_of(reply) == expect("write", 2, 1, 1, 2)


async def test_replays_count_against_the_limit(api: Api) -> None:
    headers = {"Idempotency-Key": "replay-1"}
    first = await api.post("/reminders", json=reminder_payload(), headers=headers)
    replay = await api.post("/reminders", json=reminder_payload(), headers=headers)
    assert (first.status, replay.status) == (201, 201)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert limits_of(replay)["X-RateLimit-Remaining"] == "0"


async def test_the_ietf_headers_are_structured_field_lists(api: Api, anon: Api) -> None:
    replies = [await api.get("/me"), await api.post("/reminders", json={}), await anon.get("/me")]
    for reply in replies:
        assert POLICY_SYNTAX.match(reply.headers["RateLimit-Policy"]), reply.headers
        assert RATELIMIT_SYNTAX.match(reply.headers["RateLimit"]), reply.headers


async def test_paths_outside_the_public_api_are_not_limited(anon: Api) -> None:
    for _ in range(5):
        reply = await anon.get("//healthz")
        assert reply.status == 200
        assert limits_of(reply) == {}


@pytest.mark.parametrize("rate_limits", [None])
async def test_limits_off_send_no_headers_and_never_refuse(api: Api, anon: Api) -> None:
    replies = [await api.get("/me") for _ in range(10)] + [await anon.get("/me")]
    assert [r.status for r in replies] == [200] * 10 + [401]
    assert all(limits_of(r) == {} for r in replies)


@pytest.mark.parametrize("path", ["/policy", "/audit/events", "/reminders/1/occurrences"])
async def test_the_calling_routes_are_reads_with_their_headers(api: Api, path: str) -> None:
    """responsible-calling.md section 17: the new GET routes are charged to ``read``."""
    if "occurrences" in path:
        await api.create()  # reminder 1, charged to the write bucket
    reply = await api.get(path)
    assert reply.status == 200
    assert limits_of(reply) == expect("read", 3, 2, 1, 3)
