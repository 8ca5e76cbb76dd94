"""Protobuf messages of ``WebhookService`` meet the core's webhook objects here, and only here.

The webhook part of :mod:`dialcues_grpc.convert`, kept apart so that module stays readable.
Requests become REST's payloads and query parameters (the core validates them); a secret
appears only in ``WebhookSubscriptionWithSecret``.
"""

from __future__ import annotations

from typing import Any

from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.paging import Page
from dialcues_core.webhooks.model import IssuedSecret, WebhookDelivery, WebhookSubscription
from dialcues_grpc._pb.dialcues.v1 import webhooks_pb2
from dialcues_grpc.convert import _page_counts, _page_params, _timestamp

UPDATABLE_PATHS = ("url", "events", "enabled")
Query = dict[str, Any]


def new_subscription(request: webhooks_pb2.CreateWebhookSubscriptionRequest) -> dict[str, Any]:
    """Return REST's create body."""
    return {"url": request.url, "events": list(request.events)}


def update(request: webhooks_pb2.UpdateWebhookSubscriptionRequest) -> tuple[str, dict[str, Any]]:
    """Return the id and REST's PATCH body: the masked fields."""
    paths = list(dict.fromkeys(request.update_mask.paths))
    unknown = [p for p in paths if p not in UPDATABLE_PATHS]
    if unknown:
        raise ValidationFailed.one(
            "update_mask", f"names no updatable field: {', '.join(sorted(unknown))}"
        )
    values = {"url": request.url, "events": list(request.events), "enabled": request.enabled}
    return request.id, {path: values[path] for path in paths}


def page_query(request: Any) -> tuple[Query, str]:
    """Return REST's paging parameters of a list request and its page token."""
    return _page_params(request, {})


def subscription(s: WebhookSubscription) -> webhooks_pb2.WebhookSubscription:
    """Return a subscription (never its secrets)."""
    return webhooks_pb2.WebhookSubscription(
        id=s.id,
        url=s.url,
        events=list(s.events),
        enabled=s.enabled,
        disabled_reason=s.disabled_reason.value if s.disabled_reason else None,
        created_at=_timestamp(s.created_at),
        updated_at=_timestamp(s.updated_at),
    )


def issued(result: IssuedSecret) -> webhooks_pb2.WebhookSubscriptionWithSecret:
    """Return a subscription with its new secret."""
    return webhooks_pb2.WebhookSubscriptionWithSecret(
        subscription=subscription(result.subscription), secret=result.secret
    )


def subscription_page(
    found: Page[WebhookSubscription], next_token: str
) -> webhooks_pb2.ListWebhookSubscriptionsResponse:
    """Return one page of subscriptions."""
    return webhooks_pb2.ListWebhookSubscriptionsResponse(
        items=[subscription(s) for s in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )


def delivery(d: WebhookDelivery) -> webhooks_pb2.WebhookDelivery:
    """Return one delivery attempt."""
    return webhooks_pb2.WebhookDelivery(
        id=d.id,
        message_id=d.message_id,
        event_type=d.event_type,
        attempt=d.attempt,
        status_code=d.status_code,
        latency_ms=d.latency_ms,
        error=d.error,
        attempted_at=_timestamp(d.attempted_at, millis=True),
    )


def delivery_page(
    found: Page[WebhookDelivery], next_token: str
) -> webhooks_pb2.ListWebhookDeliveriesResponse:
    """Return one page of delivery attempts."""
    return webhooks_pb2.ListWebhookDeliveriesResponse(
        items=[delivery(d) for d in found.items],
        next_page_token=next_token,
        **_page_counts(found),
    )
