"""Settings read from the environment: defaults, every variable, and typed refusals."""

from __future__ import annotations

import pytest

from dialcues_core.config import RateLimit, Settings
from dialcues_core.errors import ValidationFailed


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.database_url, settings.rest_port, settings.grpc_port) == (
        "sqlite:///dialcues.db",
        8080,
        50051,
    )
    assert settings.retry_delays == (300, 900)
    assert settings.rate_limits == {
        "read": RateLimit(50, 100),
        "write": RateLimit(10, 20),
        "anon": RateLimit(5, 10),
    }
    assert settings.webhooks_allow_private is False
    assert settings.webhook_retry_schedule == (5, 300, 1800, 7200, 18000, 36000, 36000, 36000)


def test_an_empty_variable_counts_as_unset() -> None:
    assert Settings.from_env({"DIALCUES_RETRY_DELAYS": ""}).retry_delays == (300, 900)


def test_none_means_no_retries() -> None:
    assert Settings.from_env({"DIALCUES_RETRY_DELAYS": "none"}).retry_delays == ()


def test_rate_limits_off_and_partial_overrides() -> None:
    assert Settings.from_env({"DIALCUES_RATE_LIMITS": "off"}).rate_limits is None
    limits = Settings.from_env({"DIALCUES_RATE_LIMITS": "write=2/4"}).rate_limits
    assert limits is not None and limits["write"] == RateLimit(2, 4)
    assert limits["read"] == RateLimit(50, 100)


def test_webhook_settings_are_read() -> None:
    env = {"DIALCUES_WEBHOOKS_ALLOW_PRIVATE": "1", "DIALCUES_WEBHOOK_RETRY_SCHEDULE": "1,2"}
    settings = Settings.from_env(env)
    assert (settings.webhooks_allow_private, settings.webhook_retry_schedule) == (True, (1, 2))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DIALCUES_RETRY_DELAYS", "5,soon"),
        ("DIALCUES_RETRY_DELAYS", "-1"),
        ("DIALCUES_RATE_LIMITS", "read=fast"),
        ("DIALCUES_RATE_LIMITS", "write=0/5"),
        ("DIALCUES_GRACE_SECONDS", "0"),
        ("DIALCUES_LOG_LEVEL", "loud"),
        ("DIALCUES_DATABASE_URL", "mysql://x"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Settings.from_env({name: value})
    assert set(caught.value.fields) == {name}
