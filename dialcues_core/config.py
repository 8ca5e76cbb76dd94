"""Settings, read once into a frozen object (environment first; command-line flags override).

Every name here is the one in ``configuration.md``; nothing reads the environment elsewhere.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dialcues_core.errors import ValidationFailed

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: ``rate`` tokens per second refill a bucket of ``capacity``."""

    rate: float
    capacity: int


DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "read": RateLimit(50, 100),
    "write": RateLimit(10, 20),
    "anon": RateLimit(5, 10),
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of a Dialcues process."""

    database_url: str = "sqlite:///dialcues.db"
    host: str = "127.0.0.1"
    rest_port: int = 8080
    grpc_port: int = 50051
    public_url: str = "http://127.0.0.1:8080"
    admin_token: str | None = None
    log_level: str = "info"
    max_lateness_seconds: int = 3600
    """The lateness cap of organizations that set none (``DIALCUES_GRACE_SECONDS`` is its
    older name, read when the new one is unset)."""
    retry_delays: tuple[int, ...] = (300, 900)
    calling_window: str = "08:00-21:00"
    """The window of organizations that set none: ``HH:MM-HH:MM``, a profile, or ``off``."""
    frequency_caps: tuple[int | None, int | None] = (6, None)
    """The caps (per 24 hours, per 30 days; ``None``: no cap) of organizations that set none."""
    lease_seconds: int = 120
    worker_concurrency: int = 64
    simulated_delay: float = 0.5
    rate_limits: dict[str, RateLimit] | None = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS)
    )
    key_cache_seconds: float = 5.0
    webhooks_allow_private: bool = False
    webhook_retry_schedule: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000, 36000)
    db_failure_exit_seconds: int = 300
    """A dispatching process that has not reached the database for this long exits (0: never)."""
    shutdown_seconds: float = 30.0
    """How long SIGTERM waits for in-flight work before the process exits."""
    carrier_timeout: float = 10.0
    """Seconds for one carrier request, or one Vapi phone-number request."""
    message_unknown_after: int = 600
    """Seconds an unknown send waits for a carrier event naming it."""
    max_holds_per_org: int = 20
    """Live number holds per organization."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every ``DIALCUES_*`` variable; raise ``ValidationFailed`` naming bad ones."""
        values: dict[str, object] = {}
        problems: dict[str, str] = {}
        for env_name, (attr, parse) in PARSERS.items():
            raw = environ.get(env_name)
            if env_name == GRACE_ALIAS and environ.get("DIALCUES_MAX_LATENESS_SECONDS"):
                continue  # both set: the new name wins
            if raw is None or raw == "":
                continue
            try:
                values[attr] = parse(raw)
            except ValueError as exc:
                problems[env_name] = str(exc)
        if problems:
            raise ValidationFailed(problems, "Invalid settings in the environment.")
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Settings:
        """Return a copy with ``changes`` applied (flags override the environment)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **given)  # type: ignore[arg-type]


def parse_seconds_list(raw: str) -> tuple[int, ...]:
    """Parse ``"300,900"`` into ``(300, 900)``; ``none`` (or an empty list) means no retries.

    An empty environment variable counts as unset (the default applies), so the environment
    says ``DIALCUES_RETRY_DELAYS=none`` for no retries.
    """
    if raw.strip().lower() == "none":
        return ()
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError("must be a comma-separated list of whole seconds") from None
    if any(v < 0 for v in values):
        raise ValueError("seconds must not be negative")
    return values


def deprecation_warnings(environ: Mapping[str, str]) -> list[str]:
    """One sentence per deprecated setting in use (the CLI logs them at start)."""
    if environ.get(GRACE_ALIAS) and not environ.get("DIALCUES_MAX_LATENESS_SECONDS"):
        return [
            "DIALCUES_GRACE_SECONDS is deprecated: it is read as DIALCUES_MAX_LATENESS_SECONDS"
            " (the lateness cap); rename it"
        ]
    return []


_WINDOW = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")
WINDOW_PROFILES = ("default", "us_strict")


def parse_calling_window(raw: str) -> str:
    """``HH:MM-HH:MM`` (every day, start ≤ end), ``default``, ``us_strict`` or ``off``."""
    text = raw.strip()
    if text == "off" or text in WINDOW_PROFILES:
        return text
    match = _WINDOW.fullmatch(text)
    if match is None:
        raise ValueError("must be HH:MM-HH:MM, a profile (default, us_strict) or off")
    start, end = text.split("-")
    if start > end:
        raise ValueError("start must not be after end (a window never crosses midnight)")
    return text


def parse_frequency_caps(raw: str) -> tuple[int | None, int | None]:
    """``24h=6,30d=off`` (each a number or ``off``; a missing one is off), or ``off``."""
    text = raw.strip()
    if text == "off":
        return (None, None)
    found: dict[str, int | None] = {"24h": None, "30d": None}
    limits = {"24h": 100, "30d": 1000}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key not in found:
            raise ValueError("must look like 24h=6,30d=off (each a number or off), or off")
        value = value.strip()
        if value == "off":
            continue
        if not value.isdigit() or not 1 <= int(value) <= limits[key]:
            raise ValueError(f"{key} must be off or a whole number from 1 to {limits[key]}")
        found[key] = int(value)
    return (found["24h"], found["30d"])


def parse_rate_limits(raw: str) -> dict[str, RateLimit] | None:
    """Parse ``read=50/100,write=10/20,anon=5/10`` (or ``off``)."""
    if raw.strip().lower() == "off":
        return None
    limits = dict(DEFAULT_RATE_LIMITS)
    for part in raw.split(","):
        name, _, spec = part.strip().partition("=")
        rate, _, capacity = spec.partition("/")
        if name not in limits or not rate or not capacity:
            raise ValueError("must look like read=50/100,write=10/20,anon=5/10 or off")
        limits[name] = RateLimit(float(rate), int(capacity))
        if not limits[name].rate > 0 or limits[name].capacity < 1:
            raise ValueError("each rate must be > 0 and each capacity ≥ 1")
    return limits


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _log_level(raw: str) -> str:
    if raw.lower() not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return raw.lower()


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError("must be 0 or 1")
    return raw == "1"


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be a whole number of seconds, 0 or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number of seconds")
    return value


def _lateness(raw: str) -> int:
    value = int(raw)
    if not 60 <= value <= 86400:
        raise ValueError("must be a whole number of seconds from 60 to 86400")
    return value


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("must be sqlite:///PATH or postgresql://user@host:port/db")
    return raw


PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "DIALCUES_DATABASE_URL": ("database_url", _database_url),
    "DIALCUES_HOST": ("host", str),
    "DIALCUES_REST_PORT": ("rest_port", int),
    "DIALCUES_GRPC_PORT": ("grpc_port", int),
    "DIALCUES_PUBLIC_URL": ("public_url", lambda raw: raw.rstrip("/")),
    "DIALCUES_ADMIN_TOKEN": ("admin_token", str),
    "DIALCUES_LOG_LEVEL": ("log_level", _log_level),
    "DIALCUES_GRACE_SECONDS": ("max_lateness_seconds", _positive_int),  # the older name
    "DIALCUES_MAX_LATENESS_SECONDS": ("max_lateness_seconds", _lateness),
    "DIALCUES_CALLING_WINDOW": ("calling_window", parse_calling_window),
    "DIALCUES_FREQUENCY_CAPS": ("frequency_caps", parse_frequency_caps),
    "DIALCUES_RETRY_DELAYS": ("retry_delays", parse_seconds_list),
    "DIALCUES_LEASE_SECONDS": ("lease_seconds", _positive_int),
    "DIALCUES_WORKER_CONCURRENCY": ("worker_concurrency", _positive_int),
    "DIALCUES_SIMULATED_DELAY": ("simulated_delay", _non_negative_float),
    "DIALCUES_RATE_LIMITS": ("rate_limits", parse_rate_limits),
    "DIALCUES_KEY_CACHE_SECONDS": ("key_cache_seconds", _non_negative_float),
    "DIALCUES_WEBHOOKS_ALLOW_PRIVATE": ("webhooks_allow_private", _flag),
    "DIALCUES_WEBHOOK_RETRY_SCHEDULE": ("webhook_retry_schedule", parse_seconds_list),
    "DIALCUES_DB_FAILURE_EXIT_SECONDS": ("db_failure_exit_seconds", _non_negative_int),
    "DIALCUES_SHUTDOWN_SECONDS": ("shutdown_seconds", _positive_float),
    "DIALCUES_CARRIER_TIMEOUT": ("carrier_timeout", _positive_float),
    "DIALCUES_MESSAGE_UNKNOWN_AFTER": ("message_unknown_after", _positive_int),
    "DIALCUES_MAX_HOLDS_PER_ORG": ("max_holds_per_org", _positive_int),
}

GRACE_ALIAS = "DIALCUES_GRACE_SECONDS"
