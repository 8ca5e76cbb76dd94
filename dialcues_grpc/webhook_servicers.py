"""``dialcues.v1.WebhookService``: the REST /webhooks/subscriptions routes over gRPC.

Authenticate, convert (:mod:`dialcues_grpc.webhook_convert`), call one core use case,
convert back. The mutating RPCs honour ``request_id`` as REST honours ``Idempotency-Key``.
"""

from __future__ import annotations

import functools

from google.protobuf import empty_pb2

from dialcues_grpc import convert, paging
from dialcues_grpc import webhook_convert as wc
from dialcues_grpc._pb.dialcues.v1 import webhooks_pb2, webhooks_pb2_grpc
from dialcues_grpc.errors import translated
from dialcues_grpc.idempotency import idempotent
from dialcues_grpc.servicers import Context, _Servicer


class WebhookServicer(_Servicer, webhooks_pb2_grpc.WebhookServiceServicer):
    """``dialcues.v1.WebhookService``: subscriptions, secret rotation, the delivery log."""

    @translated
    async def CreateWebhookSubscription(  # noqa: N802
        self, request: webhooks_pb2.CreateWebhookSubscriptionRequest, context: Context
    ) -> webhooks_pb2.WebhookSubscriptionWithSecret:
        """Subscribe; the secret is in this response only."""
        who = await self.who(context)
        effect = functools.partial(self.dc.webhooks.create, who, wc.new_subscription(request))
        return await idempotent(self, context, request, who, effect, wc.issued)

    @translated
    async def ListWebhookSubscriptions(  # noqa: N802
        self, request: webhooks_pb2.ListWebhookSubscriptionsRequest, context: Context
    ) -> webhooks_pb2.ListWebhookSubscriptionsResponse:
        """Return one page of the caller's subscriptions."""
        who = await self.who(context)
        params, token = wc.page_query(request)
        params = paging.apply_token("webhooks", params, token)
        found = await self.run(self.dc.webhooks.list, who, params)
        return wc.subscription_page(found, paging.next_token("webhooks", params, found))

    @translated
    async def GetWebhookSubscription(  # noqa: N802
        self, request: webhooks_pb2.GetWebhookSubscriptionRequest, context: Context
    ) -> webhooks_pb2.WebhookSubscription:
        """Return one of the caller's subscriptions."""
        who = await self.who(context)
        return wc.subscription(await self.run(self.dc.webhooks.get, who, request.id))

    @translated
    async def UpdateWebhookSubscription(  # noqa: N802
        self, request: webhooks_pb2.UpdateWebhookSubscriptionRequest, context: Context
    ) -> webhooks_pb2.WebhookSubscription:
        """Change the masked fields of a subscription."""
        who = await self.who(context)
        sid, payload = wc.update(request)
        effect = functools.partial(self.dc.webhooks.update, who, sid, payload)
        return await idempotent(self, context, request, who, effect, wc.subscription)

    @translated
    async def DeleteWebhookSubscription(  # noqa: N802
        self, request: webhooks_pb2.DeleteWebhookSubscriptionRequest, context: Context
    ) -> empty_pb2.Empty:
        """Delete a subscription."""
        who = await self.who(context)
        effect = functools.partial(self.dc.webhooks.delete, who, request.id)
        return await idempotent(self, context, request, who, effect, lambda _: convert.empty())

    @translated
    async def RotateWebhookSecret(  # noqa: N802
        self, request: webhooks_pb2.RotateWebhookSecretRequest, context: Context
    ) -> webhooks_pb2.WebhookSubscriptionWithSecret:
        """Issue a new secret; the old one signs beside it for 24 hours."""
        who = await self.who(context)
        effect = functools.partial(self.dc.webhooks.rotate_secret, who, request.id)
        return await idempotent(self, context, request, who, effect, wc.issued)

    @translated
    async def ListWebhookDeliveries(  # noqa: N802
        self, request: webhooks_pb2.ListWebhookDeliveriesRequest, context: Context
    ) -> webhooks_pb2.ListWebhookDeliveriesResponse:
        """Return one page of a subscription's delivery attempts, newest first."""
        who = await self.who(context)
        params, token = wc.page_query(request)
        listing = f"webhook-deliveries:{request.id}"
        params = paging.apply_token(listing, params, token)
        found = await self.run(self.dc.webhooks.deliveries, who, request.id, params)
        return wc.delivery_page(found, paging.next_token(listing, params, found))
