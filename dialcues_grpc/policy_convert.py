"""The calling policy's messages (``policy.proto``, the admin RPCs of ``organizations.proto``).

Out: a :class:`~dialcues_core.calling.service.PolicyView` becomes a ``CallingPolicy`` built
from the very body REST answers (``PolicyView.to_json()``), so the two facades cannot drift
apart; REST's nulls are unset fields, its times Timestamps. In: an ``UpdateCallingPolicyRequest``
becomes the core's change, wire (JSON) values keyed by field name, exactly those the
``update_mask`` names; the core validates every value. Only the message's own shape is checked
here: the mask's paths, and the ``actor`` name (which the core checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from dialcues_core.audit.model import Actor
from dialcues_core.calling.service import PolicyView
from dialcues_core.errors import ValidationFailed
from dialcues_grpc._pb.dialcues.v1 import common_pb2, organizations_pb2, policy_pb2
from dialcues_grpc.convert import Payload, _timestamp

Json = Mapping[str, Any]

DEFAULT_ACTOR: Final = "grpc-admin"
"""The admin actor of a change whose request names none (``responsible-calling.md`` §16)."""

_OPTIONAL_PATHS: Final = (
    "window_basis",
    "max_lateness_seconds",
    "caller_name",
    "callback_number",
    "opening_template",
    "snooze_default_minutes",
)
_BOOLEAN_PATHS: Final = (
    "allow_window_bypass",
    "ai_disclosure",
    "require_consent_for_informational",
)
_MESSAGE_PATHS: Final = ("calling_window", "retry_policy", "frequency_caps", "predial")
UPDATABLE_PATHS: Final = frozenset(
    {*_OPTIONAL_PATHS, *_BOOLEAN_PATHS, *_MESSAGE_PATHS, "blocked_dates"}
)
"""The ``update_mask`` paths of ``UpdateCallingPolicyRequest``: every field of the policy."""
_OUTCOMES: Final = ("busy", "no_answer", "failed", "voicemail")


# ----------------------------------------------------------------------------- out
def policy(view: PolicyView) -> policy_pb2.CallingPolicy:
    """Return a policy with every field of REST's ``GET /policy`` body."""
    body = view.to_json()
    return policy_pb2.CallingPolicy(
        organization_id=body["organization_id"],
        calling_window=calling_window(body["calling_window"]),
        window_basis=body["window_basis"],
        blocked_dates=body["blocked_dates"],
        allow_window_bypass=body["allow_window_bypass"],
        max_lateness_seconds=body["max_lateness_seconds"],
        retry_policy=retry_policy(body["retry_policy"]),
        frequency_caps=policy_pb2.FrequencyCaps(**body["frequency_caps"]),
        caller_name=body["caller_name"],
        callback_number=body["callback_number"],
        ai_disclosure=body["ai_disclosure"],
        opening_template=body["opening_template"],
        snooze_default_minutes=body["snooze_default_minutes"],
        require_consent_for_informational=body["require_consent_for_informational"],
        predial=policy_pb2.Predial(**body["predial"]) if body["predial"] else None,
        inherited=body["inherited"],
        opening_preview=body["opening_preview"],
        updated_at=_timestamp(view.policy.updated_at),
    )


def updated_policy(view: PolicyView) -> organizations_pb2.UpdateCallingPolicyResponse:
    """Return a changed policy, with the pre-dial secret when the change issued one."""
    return organizations_pb2.UpdateCallingPolicyResponse(
        policy=policy(view), predial_secret=view.predial_secret
    )


def calling_window(shape: Json | None) -> policy_pb2.CallingWindow | None:
    """Return REST's window (hours, a profile or a bypass) as a ``CallingWindow``."""
    if shape is None:
        return None
    if shape.get("bypass"):
        by = shape.get("bypassed_by") or {}
        return policy_pb2.CallingWindow(
            bypass=policy_pb2.WindowBypass(
                reason=shape["reason"],
                bypassed_at=_timestamp(_moment(shape.get("bypassed_at"))),
                bypassed_by=actor(by) if by.get("type") else None,
            )
        )
    if "profile" in shape:
        return policy_pb2.CallingWindow(profile=shape["profile"])
    hours = policy_pb2.CallingHours(start=shape["start"], end=shape["end"], days=shape["days"])
    return policy_pb2.CallingWindow(hours=hours)


def _moment(value: datetime | str | None) -> datetime | None:
    """Return a bypass's ``bypassed_at`` (a datetime, or its ISO text) as a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def retry_policy(shape: Json) -> policy_pb2.RetryPolicy:
    """Return REST's retry policy; a null delay list is an unset one."""
    delays = shape.get("delays") or {}
    lists = {
        key: policy_pb2.DelayList(seconds=delays[key])
        for key in _OUTCOMES
        if delays.get(key) is not None
    }
    return policy_pb2.RetryPolicy(
        max_attempts=shape["max_attempts"], delays=policy_pb2.RetryDelaysByOutcome(**lists)
    )


def actor(shape: Json) -> common_pb2.Actor:
    """Return REST's ``{"type", "id", "user_id"}``; an integer id is an execution's."""
    ident = shape.get("id")
    return common_pb2.Actor(
        type=shape["type"],
        id=ident if isinstance(ident, str) else None,
        execution_id=ident if isinstance(ident, int) else None,
        user_id=shape.get("user_id"),
    )


# ----------------------------------------------------------------------------- in
def policy_update(
    request: organizations_pb2.UpdateCallingPolicyRequest,
) -> tuple[str, Payload, Payload]:
    """Return the organization id, the core's ``changes`` and its keyword arguments.

    ``changes`` holds the masked fields' wire values (unset → null); the keyword arguments are
    ``actor`` (``Actor("admin", name)``), ``reset`` and ``rotate_predial_secret``.
    """
    paths = list(dict.fromkeys(request.update_mask.paths))
    unknown = [p for p in paths if p not in UPDATABLE_PATHS]
    if unknown:
        raise ValidationFailed.one(
            "update_mask", f"names no field of the calling policy: {', '.join(sorted(unknown))}"
        )
    options: Payload = {
        "actor": Actor("admin", _actor_name(request)),
        "reset": list(request.reset),
        "rotate_predial_secret": request.rotate_predial_secret,
    }
    return request.organization_id, {p: _wire(request, p) for p in paths}, options


def _actor_name(request: organizations_pb2.UpdateCallingPolicyRequest) -> str:
    return request.actor or DEFAULT_ACTOR  # the core checks it with the other fields


def _wire(request: organizations_pb2.UpdateCallingPolicyRequest, path: str) -> Any:
    """Return one masked field's wire value (REST's JSON shape; unset → None)."""
    if path in _BOOLEAN_PATHS:
        return getattr(request, path)
    if path == "blocked_dates":
        return list(request.blocked_dates)
    if not request.HasField(path):
        return None
    if path in _OPTIONAL_PATHS:
        return getattr(request, path)
    if path == "calling_window":
        return window_in(request.calling_window)
    if path == "retry_policy":
        return retry_policy_in(request.retry_policy)
    if path == "frequency_caps":
        caps = request.frequency_caps
        return {name: _optional(caps, name) for name in ("per_24h", "per_30d")}
    # predial: the members sent, merged by the core over the current hook
    return {field.name: value for field, value in request.predial.ListFields()}


def window_in(window: policy_pb2.CallingWindow) -> Payload | None:
    """Return a ``CallingWindow`` as REST's shape; one with no member set is null.

    A bypass's ``bypassed_at`` and ``bypassed_by`` are the server's to set: sent, they go to
    the core as the extra members they are over REST, which refuses them.
    """
    which = window.WhichOneof("window")
    if which == "hours":
        hours = window.hours
        shape: Payload = {"start": hours.start, "end": hours.end}
        if hours.days:
            shape["days"] = list(hours.days)
        return shape
    if which == "profile":
        return {"profile": window.profile}
    if which == "bypass":
        return _bypass_in(window.bypass)
    return None


def _bypass_in(bypass: policy_pb2.WindowBypass) -> Payload:
    shape: Payload = {"bypass": True, "reason": bypass.reason}
    if bypass.HasField("bypassed_at"):
        shape["bypassed_at"] = bypass.bypassed_at.ToJsonString()
    if bypass.HasField("bypassed_by"):
        shape["bypassed_by"] = {f.name: v for f, v in bypass.bypassed_by.ListFields()}
    return shape


def retry_policy_in(value: policy_pb2.RetryPolicy) -> Payload:
    """Return a ``RetryPolicy`` as REST's shape; an unset delay list is null."""
    delays = value.delays
    return {
        "max_attempts": value.max_attempts,
        "delays": {
            key: list(getattr(delays, key).seconds) if delays.HasField(key) else None
            for key in _OUTCOMES
        },
    }


def _optional(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None
