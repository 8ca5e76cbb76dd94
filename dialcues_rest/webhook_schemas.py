"""Wire shapes of webhook subscriptions and their delivery attempts (core objects in, dicts out).

Every field is always present (``None`` where empty); times are RFC 3339 UTC in whole seconds,
delivery attempts with milliseconds. A ``secret`` appears only in the replies of create and
rotate-secret.
"""

from __future__ import annotations

from typing import Any

from dialcues_core.kernel.timefmt import millis, seconds
from dialcues_core.webhooks.model import IssuedSecret, WebhookDelivery, WebhookSubscription

Json = dict[str, Any]


def subscription(s: WebhookSubscription) -> Json:
    """Render a subscription (never its secrets)."""
    return {
        "id": s.id,
        "url": s.url,
        "events": list(s.events),
        "enabled": s.enabled,
        "disabled_reason": s.disabled_reason.value if s.disabled_reason else None,
        "created_at": seconds(s.created_at),
        "updated_at": seconds(s.updated_at),
    }


def issued(result: IssuedSecret) -> Json:
    """Render a subscription with its new secret (shown this once)."""
    return {**subscription(result.subscription), "secret": result.secret}


def delivery(d: WebhookDelivery) -> Json:
    """Render one delivery attempt."""
    return {
        "id": d.id,
        "message_id": d.message_id,
        "event_type": d.event_type,
        "attempt": d.attempt,
        "status_code": d.status_code,
        "latency_ms": d.latency_ms,
        "error": d.error,
        "attempted_at": millis(d.attempted_at),
    }
