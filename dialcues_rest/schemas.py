"""Wire shapes of the contract: core objects in, JSON-ready dicts out.

Every field of an object is always present (``None`` where empty). Reminder times are whole
seconds (``2026-03-25T13:00:00Z``); execution times carry milliseconds
(``2026-03-25T13:00:00.412Z``). Both are UTC with ``Z``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from dialcues_core import __version__
from dialcues_core.accounts.model import OutboundLine, User
from dialcues_core.calls import rendering as calls_rendering
from dialcues_core.kernel import timefmt
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.timefmt import millis
from dialcues_core.operations.model import HealthReport
from dialcues_core.platform.smoke import SmokeStep
from dialcues_core.platform.usage import UsageEvent
from dialcues_core.reminders import rendering as reminders_rendering

T = TypeVar("T")
Json = dict[str, Any]


def me(facts: Mapping[str, object]) -> Json:
    """Render the core's ``whoami`` facts as the ``GET /me`` body."""
    user = cast(User, facts["user"])
    return {
        "user": {"id": user.id, "email": user.email, "name": user.name},
        "organization_id": facts["organization_id"],
        "api_key_id": facts["api_key_id"],
        "client_id": facts.get("client_id"),
    }


reminder = reminders_rendering.reminder_payload
"""Render a reminder with every field of the contract's reminder object (defined in the core,
shared with webhook events)."""

execution = calls_rendering.execution_payload
"""Render an execution (one call attempt) with every field of the contract."""


def line(item: OutboundLine) -> Json:
    """Render an outbound line."""
    return {
        "id": item.id,
        "label": item.label,
        "phone_number": item.phone_number,
        "provider": item.provider.value,
        "is_default": item.is_default,
        "features": sorted(item.features),
        "carrier": item.carrier,
        "number_id": item.number_id,
        "route": dict(item.route) if item.route is not None else None,
    }


def page(result: Page[T], render: Callable[[T], Json]) -> Json:
    """Render one page of a listing, each item through ``render``."""
    return {
        "items": [render(item) for item in result.items],
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
        "total_pages": result.total_pages,
    }


def lines(items: list[OutboundLine]) -> Json:
    """Render the organization's lines as ``{"items": […]}``."""
    return {"items": [line(item) for item in items]}


def health(report: HealthReport, dispatching: bool) -> dict[str, Any]:
    """Render ``GET /health`` (what the database does not say is null while it is down)."""
    known = report.database
    return {
        "status": "ok" if known else "degraded",
        "version": __version__,
        "database": "ok" if known else "unavailable",
        "dispatcher": "running" if dispatching else "not in this process",
        "workers": {
            "alive": report.workers_alive if known else None,
            "last_seen_at": timefmt.seconds(report.workers_last_seen_at),
        },
        "oldest_due_at": timefmt.seconds(report.oldest_due_at),
        "last_claim_at": timefmt.seconds(report.last_claim_at),
        "tzdata": report.tzdata,
    }


def smoke(steps: list[SmokeStep]) -> Json:
    """Render a passed ``POST /agent/smoke``: ``{"status": "ok", "steps": [...]}``."""
    return {"status": "ok", "steps": [step.as_dict() for step in steps]}


def usage_event(e: UsageEvent) -> Json:
    """Render a usage event (``occurred_at`` with milliseconds)."""
    return {
        "id": e.id,
        "occurred_at": millis(e.occurred_at),
        "request_id": e.request_id,
        "api_key_id": e.api_key_id,
        "client_id": e.client_id,
        "user_id": e.user_id,
        "organization_id": e.organization_id,
        "method": e.method,
        "route": e.route,
        "status": e.status,
        "code": e.code,
        "latency_ms": e.latency_ms,
        "idempotent_replay": e.idempotent_replay,
        "deprecated": e.deprecated,
    }
