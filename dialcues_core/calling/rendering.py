"""The calling policy in the contract's shape (``GET /policy``, the audit trail, gRPC)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dialcues_core.calling.opening import opening
from dialcues_core.calling.policy import CallingPolicy, EffectivePolicy, Identity, Predial
from dialcues_core.calling.retry import RetryPolicy
from dialcues_core.calling.shapes import FrequencyCaps, window_to_json
from dialcues_core.calling.windows import Window
from dialcues_core.kernel.timefmt import seconds

PREVIEW_MESSAGE = "Your reminder message."


def policy_to_json(policy: CallingPolicy, effective: EffectivePolicy) -> dict[str, Any]:
    """Every field of §3: what applies (inherited fields from the settings) and what is set."""
    return {
        "organization_id": policy.organization_id,
        "calling_window": window_to_json(effective.window),
        "window_basis": policy.window_basis.value,
        "blocked_dates": [d.isoformat() for d in policy.blocked_dates],
        "allow_window_bypass": policy.allow_window_bypass,
        "max_lateness_seconds": effective.max_lateness,
        "retry_policy": effective.retry.to_json(),
        "frequency_caps": effective.caps.to_json(),
        "caller_name": policy.caller_name,
        "callback_number": policy.callback_number,
        "ai_disclosure": policy.ai_disclosure,
        "opening_template": policy.opening_template,
        "snooze_default_minutes": policy.snooze_default_minutes,
        "require_consent_for_informational": policy.require_consent_for_informational,
        "predial": _predial(policy.predial),
        "inherited": policy.inherited(),
        "opening_preview": opening_preview(policy),
        "updated_at": seconds(policy.updated_at),
    }


def _predial(predial: Predial | None) -> dict[str, Any] | None:
    if predial is None:
        return None
    return {"url": predial.url, "timeout_ms": predial.timeout_ms, "on_failure": predial.on_failure}


def field_to_json(value: Any) -> Any:
    """One stored field in its wire shape (the audit event's ``from`` and ``to``)."""
    if isinstance(value, Window):
        return window_to_json(value)
    if isinstance(value, RetryPolicy | FrequencyCaps):
        return value.to_json()
    if isinstance(value, Predial):
        return _predial(value)
    if isinstance(value, tuple):
        return [field_to_json(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def opening_preview(policy: CallingPolicy, message: str = PREVIEW_MESSAGE) -> str:
    """The informational opening (§10) with the organization's template, for the preview
    (``{caller_name}`` stands in for a name not set yet)."""
    identity = Identity(
        policy.caller_name or "{caller_name}",
        policy.callback_number,
        policy.ai_disclosure,
        policy.opening_template,
        policy.snooze_default_minutes,
    )
    return opening(identity, message)
