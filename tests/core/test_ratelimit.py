"""The per-process token buckets: refill, refusal, reported values, classes, memory bound."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dialcues_core.config import RateLimit, parse_rate_limits
from dialcues_core.kernel.scopes import READ, WRITE, rate_class, requires
from dialcues_core.platform.ratelimit import RateLimiter, build_limiter
from dialcues_core.testing import FakeClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START_UNIX = int(START.timestamp())
LIMITS = {"read": RateLimit(2, 4), "write": RateLimit(1, 2), "anon": RateLimit(0.5, 1)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def limiter(clock: FakeClock) -> RateLimiter:
    return RateLimiter(LIMITS, clock)


def test_first_request_takes_one_token_of_a_full_bucket(limiter: RateLimiter) -> None:
    decision = limiter.charge("write", "key_a")
    assert decision.allowed
    assert (decision.limit, decision.remaining) == (2, 1)
    assert (decision.reset_after, decision.reset) == (1, START_UNIX + 1)
    assert decision.retry_after == 0


def test_empty_bucket_refuses_with_the_seconds_until_one_token(limiter: RateLimiter) -> None:
    limiter.charge("write", "key_a")
    limiter.charge("write", "key_a")
    refused = limiter.charge("write", "key_a")
    assert not refused.allowed
    assert (refused.remaining, refused.retry_after, refused.reset_after) == (0, 1, 2)
    assert refused.reset == START_UNIX + 2


def test_a_refused_request_takes_no_token(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        limiter.charge("write", "key_a")
    clock.advance(1)
    assert limiter.charge("write", "key_a").allowed


def test_bucket_refills_at_its_rate_up_to_its_capacity(
    limiter: RateLimiter, clock: FakeClock
) -> None:
    for _ in range(4):
        limiter.charge("read", "key_a")
    clock.advance(1)  # +2 tokens
    assert limiter.charge("read", "key_a").remaining == 1
    clock.advance(3600)
    assert limiter.charge("read", "key_a").remaining == 3


def test_slow_anon_bucket_reports_whole_seconds(limiter: RateLimiter, clock: FakeClock) -> None:
    assert limiter.charge_anonymous("10.0.0.1").remaining == 0
    refused = limiter.charge_anonymous("10.0.0.1")
    assert (refused.allowed, refused.retry_after, refused.reset_after) == (False, 2, 2)
    clock.advance(1)
    assert limiter.charge_anonymous("10.0.0.1").retry_after == 1


def test_buckets_are_per_credential_and_per_class(limiter: RateLimiter) -> None:
    limiter.charge("write", "key_a")
    limiter.charge("write", "key_a")
    assert not limiter.charge("write", "key_a").allowed
    assert limiter.charge("write", "key_b").allowed
    assert limiter.charge("read", "key_a").allowed


def test_anon_buckets_are_per_address(limiter: RateLimiter) -> None:
    assert limiter.charge_anonymous("10.0.0.1").allowed
    assert not limiter.charge_anonymous("10.0.0.1").allowed
    assert limiter.charge_anonymous("10.0.0.2").allowed


def test_a_use_case_is_charged_as_its_scope_or_its_declaration_says() -> None:
    class Cases:
        @requires("reminders:read")
        def read(self, principal: Any) -> None: ...

        @requires("reminders:write")
        def write(self, principal: Any) -> None: ...

        @requires("webhooks:manage", rate=READ)
        def listing(self, principal: Any) -> None: ...

    cases = Cases()
    assert [rate_class(cases.read), rate_class(cases.write), rate_class(cases.listing)] == [
        READ,
        WRITE,
        READ,
    ]
    assert rate_class(None) == READ  # no use case (WhoAmI, /me): a read


def test_headers_follow_the_ietf_draft_and_the_x_names(limiter: RateLimiter) -> None:
    headers = limiter.charge("write", "key_a").headers()
    assert headers == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Reset": str(START_UNIX + 1),
        "RateLimit-Policy": '"write";q=2;w=2',
        "RateLimit": '"write";r=1;t=1',
    }


def test_default_limits_give_the_contracts_example_headers(clock: FakeClock) -> None:
    limiter = RateLimiter(parse_rate_limits("read=50/100,write=10/20,anon=5/10") or {}, clock)
    for _ in range(2):
        limiter.charge("write", "key_a")
    headers = limiter.charge("write", "key_a").headers()
    assert headers["RateLimit-Policy"] == '"write";q=20;w=2'
    assert headers["RateLimit"] == '"write";r=17;t=1'


def test_memory_is_bounded_by_dropping_full_buckets_first(clock: FakeClock) -> None:
    limiter = RateLimiter(LIMITS, clock, max_buckets=10)
    for n in range(8):
        limiter.charge("read", f"idle_{n}")
    clock.advance(10)  # every idle bucket is full again
    limiter.charge("write", "busy")
    for n in range(3):
        limiter.charge("read", f"new_{n}")
    assert len(limiter) <= 10
    assert limiter.charge("write", "busy").remaining == 0  # the busy bucket was kept


def test_memory_stays_bounded_when_every_bucket_is_busy(limiter: RateLimiter) -> None:
    small = RateLimiter(LIMITS, limiter.clock, max_buckets=100)
    for n in range(1000):
        small.charge("anon", f"10.0.{n // 256}.{n % 256}")
    assert len(small) <= 100


def test_off_means_no_limiter(clock: FakeClock) -> None:
    assert build_limiter(parse_rate_limits("off"), clock) is None


@pytest.mark.parametrize("raw", ["read=0/10", "write=1/0", "anon=nan/5"])
def test_a_zero_rate_or_capacity_is_refused_by_the_settings(raw: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate_limits(raw)
