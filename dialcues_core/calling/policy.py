"""The organization's calling policy (``responsible-calling.md`` §3) and what applies to one
attempt once a reminder's own overrides are laid over it.

A stored policy keeps only what the organization set (``None``: follow the platform's
``DIALCUES_*`` setting, listed in ``inherited``). :meth:`CallingPolicy.effective` fills the
rest from :class:`~dialcues_core.config.Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from dialcues_core.calling.retry import RetryPolicy
from dialcues_core.calling.shapes import Bypass, FrequencyCaps, window_from_setting
from dialcues_core.calling.windows import Rules, Window
from dialcues_core.calling.zones import WindowBasis
from dialcues_core.config import Settings

PURPOSES = ("informational", "marketing")
"""A reminder's or call's ``purpose`` (the first is the default)."""

INHERITABLE = ("calling_window", "max_lateness_seconds", "retry_policy", "frequency_caps")
"""The fields that follow a ``DIALCUES_*`` setting until the organization sets them."""


@dataclass(frozen=True, slots=True)
class Predial:
    """The pre-dial eligibility hook (§12); the secret is write-only."""

    url: str
    timeout_ms: int = 2000
    on_failure: str = "skip"


@dataclass(frozen=True, slots=True)
class CallingPolicy:
    """What an organization stored; ``None`` in an inheritable field: the platform's default."""

    organization_id: str
    calling_window: Window | None = None
    window_basis: WindowBasis = WindowBasis.STRICTEST
    blocked_dates: tuple[date, ...] = ()
    allow_window_bypass: bool = True
    max_lateness_seconds: int | None = None
    retry_policy: RetryPolicy | None = None
    frequency_caps: FrequencyCaps | None = None
    caller_name: str | None = None
    callback_number: str | None = None
    ai_disclosure: bool = True
    opening_template: str | None = None
    snooze_default_minutes: int = 10
    require_consent_for_informational: bool = False
    predial: Predial | None = None
    updated_at: datetime | None = None

    def inherited(self) -> list[str]:
        """The inheritable fields the organization never set."""
        return [name for name in INHERITABLE if getattr(self, name) is None]

    def effective(
        self, settings: Settings, provider_delays: tuple[int, ...] | None = None
    ) -> EffectivePolicy:
        """Fill every inherited field from the platform's settings.

        The retry policy falls back to the provider settings' ``retry_delays`` (when the
        organization configured a provider), then ``DIALCUES_RETRY_DELAYS``.
        """
        delays = provider_delays if provider_delays is not None else settings.retry_delays
        return EffectivePolicy(
            window=self.calling_window or platform_window(settings),
            basis=self.window_basis,
            blocked=frozenset(self.blocked_dates),
            allow_bypass=self.allow_window_bypass,
            max_lateness=self.max_lateness_seconds or settings.max_lateness_seconds,
            retry=self.retry_policy or RetryPolicy.from_delays(delays),
            caps=self.frequency_caps or FrequencyCaps(*settings.frequency_caps),
            identity=Identity(
                self.caller_name,
                self.callback_number,
                self.ai_disclosure,
                self.opening_template,
                self.snooze_default_minutes,
            ),
            informational_needs_consent=self.require_consent_for_informational,
        )

    def changes(self, other: CallingPolicy) -> list[str]:
        """The names of the fields whose values differ (``updated_at`` aside)."""
        return [
            f.name
            for f in fields(self)
            if f.name != "updated_at" and getattr(self, f.name) != getattr(other, f.name)
        ]


def platform_window(settings: Settings) -> Window:
    """The window of organizations that set none (``DIALCUES_CALLING_WINDOW``)."""
    return window_from_setting(settings.calling_window)


@dataclass(frozen=True, slots=True)
class Identity:
    """What every call says of its caller (§10): who, a number to call back, whether it says it
    is automated, the opening's order, the snooze a person gets without naming minutes."""

    caller_name: str | None = None
    callback_number: str | None = None
    ai_disclosure: bool = True
    opening_template: str | None = None
    snooze_default_minutes: int = 10

    def missing(self, purpose: str) -> list[str]:
        """What a call on a Vapi line of ``purpose`` lacks (``caller_identity_required``)."""
        missing = [] if self.caller_name else ["caller_name"]
        if purpose == "marketing" and not self.callback_number:
            missing.append("callback_number")
        return missing


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The rules one organization's attempts follow, every default filled in."""

    window: Window
    basis: WindowBasis
    blocked: frozenset[date]
    allow_bypass: bool
    max_lateness: int
    retry: RetryPolicy
    caps: FrequencyCaps = field(default_factory=FrequencyCaps)
    identity: Identity = field(default_factory=Identity)
    informational_needs_consent: bool = False

    def for_attempt(
        self,
        override: Window | Bypass | None,
        max_lateness: int | None,
        retry: RetryPolicy | None,
    ) -> AttemptRules:
        """Lay a reminder's (or a call's) overrides over the organization's rules."""
        bypassed = isinstance(override, Bypass)
        # a reminder's own hours only ever narrow the organization's, also after the
        # organization narrowed its window (§4.6)
        window = override.within(self.window) if isinstance(override, Window) else self.window
        return AttemptRules(
            rules=None if bypassed else Rules(window, self.blocked),
            basis=self.basis,
            cap=timedelta(seconds=max_lateness or self.max_lateness),
            retry=retry or self.retry,
            caps=self.caps,
        )


@dataclass(frozen=True, slots=True)
class AttemptRules:
    """What applies to one reminder's or call's attempts: ``rules`` is ``None`` when bypassed."""

    rules: Rules | None
    basis: WindowBasis
    cap: timedelta
    retry: RetryPolicy
    caps: FrequencyCaps
