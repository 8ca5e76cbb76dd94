"""Wire models of responsible calling: the calling policy and the audit trail.

The same rules as :mod:`dialcues_rest.wire`: response models forbid unknown fields. The
nested policy shapes (a window, a retry policy, caps, the pre-dial hook) are objects whose
fields ``responsible-calling.md`` §3–§6 and §9 define.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from dialcues_rest.wire import Instant, PageFields, Response


class Policy(Response):
    """The organization's calling policy (``GET /policy``): what applies, defaults filled in."""

    organization_id: str
    calling_window: dict[str, Any]
    """``{"start", "end", "days"}`` or ``{"profile"}``."""
    window_basis: Literal["strictest", "reminder_zone"]
    blocked_dates: list[str]
    allow_window_bypass: bool
    max_lateness_seconds: int = Field(ge=60, le=86400)
    retry_policy: dict[str, Any]
    """``{"max_attempts", "delays": {outcome: [seconds…] | null}}``."""
    frequency_caps: dict[str, int | None]
    """``{"per_24h", "per_30d"}``; null: no cap."""
    caller_name: str | None
    callback_number: str | None
    ai_disclosure: bool
    opening_template: str | None
    snooze_default_minutes: int
    require_consent_for_informational: bool
    predial: dict[str, Any] | None
    """``{"url", "timeout_ms", "on_failure"}`` or null."""
    inherited: list[str]
    """The fields taken from the platform's settings (not set for the organization)."""
    opening_preview: str
    updated_at: str | None


class Occurrence(Response):
    """One previewed occurrence."""

    occurrence_at: Instant
    local_time: str
    """The occurrence read in the reminder's zone, ``YYYY-MM-DDTHH:MM:SS``."""
    plan: Literal["dial", "wait", "skip"]
    attempt_at: Instant | None
    reason: str | None
    window_zones: list[str]


class OccurrencePreview(Response):
    """``GET /reminders/{id}/occurrences``."""

    reminder_id: int
    items: list[Occurrence]


class AuditActor(Response):
    """Who acted."""

    type: Literal["api_key", "oauth_client", "admin", "recipient", "system"]
    id: str | int | None
    user_id: str | None


class AuditSubject(Response):
    """What changed."""

    type: str
    id: str


class AuditEvent(Response):
    """One audited change (``responsible-calling.md`` §16)."""

    id: str
    occurred_at: Instant
    organization_id: str
    action: str
    actor: AuditActor
    subject: AuditSubject
    detail: dict[str, Any]
    request_id: str | None


class AuditEventPage(PageFields):
    """One page of audit events, newest first."""

    items: list[AuditEvent]
