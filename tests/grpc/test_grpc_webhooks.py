"""dialcues.v1.WebhookService against a real grpc.aio server: the REST operations, same rules."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2
from grpc_support import Stubs, fails
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_grpc._pb.dialcues.v1 import webhooks_pb2, webhooks_pb2_grpc

W = webhooks_pb2
URL = "https://93.184.215.14/hooks"
EVENTS = ["execution.finished", "reminder.failed"]


def stub(api: Stubs) -> webhooks_pb2_grpc.WebhookServiceStub:
    """The WebhookService stub of the API's channel."""
    return webhooks_pb2_grpc.WebhookServiceStub(api.channel)


async def create(api: Stubs, request_id: str = "") -> W.WebhookSubscriptionWithSecret:
    """Subscribe the API's user to ``EVENTS``."""
    request = W.CreateWebhookSubscriptionRequest(url=URL, events=EVENTS, request_id=request_id)
    return await stub(api).CreateWebhookSubscription(request, metadata=api.md)


async def test_create_get_list_show_the_subscription(api: Stubs) -> None:
    made = await create(api)
    sid = made.subscription.id
    got = await stub(api).GetWebhookSubscription(
        W.GetWebhookSubscriptionRequest(id=sid), metadata=api.md
    )
    listed = await stub(api).ListWebhookSubscriptions(
        W.ListWebhookSubscriptionsRequest(page_size=1), metadata=api.md
    )
    assert made.secret.startswith("whsec_")
    assert (got.url, list(got.events), got.enabled) == (URL, EVENTS, True)
    assert not got.HasField("disabled_reason")
    assert ([s.id for s in listed.items], listed.total, listed.next_page_token) == ([sid], 1, "")


async def test_update_rotate_deliveries_delete(api: Stubs) -> None:
    sid = (await create(api)).subscription.id
    mask = field_mask_pb2.FieldMask(paths=["enabled"])
    updated = await stub(api).UpdateWebhookSubscription(
        W.UpdateWebhookSubscriptionRequest(id=sid, update_mask=mask, enabled=False),
        metadata=api.md,
    )
    rotated = await stub(api).RotateWebhookSecret(
        W.RotateWebhookSecretRequest(id=sid), metadata=api.md
    )
    log = await stub(api).ListWebhookDeliveries(
        W.ListWebhookDeliveriesRequest(id=sid), metadata=api.md
    )
    await stub(api).DeleteWebhookSubscription(
        W.DeleteWebhookSubscriptionRequest(id=sid), metadata=api.md
    )
    gone = await fails(
        stub(api).GetWebhookSubscription(W.GetWebhookSubscriptionRequest(id=sid), metadata=api.md)
    )
    assert (updated.enabled, updated.disabled_reason) == (False, "by_user")
    assert rotated.secret.startswith("whsec_")
    assert (len(log.items), log.total) == (0, 0)
    assert (gone.code, gone.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_a_loopback_url_is_invalid_argument_on_url(api: Stubs) -> None:
    request = W.CreateWebhookSubscriptionRequest(url="https://127.0.0.1/h", events=EVENTS)
    failed = await fails(stub(api).CreateWebhookSubscription(request, metadata=api.md))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {"url"}


async def test_an_unknown_mask_path_is_refused(api: Stubs) -> None:
    sid = (await create(api)).subscription.id
    mask = field_mask_pb2.FieldMask(paths=["secret"])
    request = W.UpdateWebhookSubscriptionRequest(id=sid, update_mask=mask)
    failed = await fails(stub(api).UpdateWebhookSubscription(request, metadata=api.md))
    assert set(failed.violations) == {"update_mask"}


async def test_a_key_without_webhooks_manage_is_permission_denied(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "webhooks:manage"]
    limited = api.with_token(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
    failed = await fails(
        stub(limited).ListWebhookSubscriptions(
            W.ListWebhookSubscriptionsRequest(), metadata=limited.md
        )
    )
    assert (failed.code, failed.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "insufficient_scope",
    )


async def test_a_retried_create_with_one_request_id_subscribes_once(api: Stubs) -> None:
    first = await create(api, request_id="sub-1")
    second = await create(api, request_id="sub-1")
    listed = await stub(api).ListWebhookSubscriptions(
        W.ListWebhookSubscriptionsRequest(), metadata=api.md
    )
    assert second == first
    assert listed.total == 1


async def test_organization_events_need_the_scope_that_reads_them(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    """responsible-calling.md §15: ``suppression.*`` needs ``suppressions:read``,
    ``consent.revoked`` ``consents:read``, on the creating credential."""
    for event, scope in (("suppression.created", "suppressions:read"),
                         ("consent.revoked", "consents:read")):  # fmt: skip
        scopes = [s for s in ALL_SCOPES if s != scope]
        narrow = api.with_token(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
        request = W.CreateWebhookSubscriptionRequest(url=URL, events=[event])
        failed = await fails(stub(narrow).CreateWebhookSubscription(request, metadata=narrow.md))
        assert (failed.code, failed.reason, failed.metadata) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "insufficient_scope",
            {"scope": scope},
        )
    every = [
        "reminder.suppressed",
        "suppression.created",
        "suppression.removed",
        "consent.revoked",
    ]
    request = W.CreateWebhookSubscriptionRequest(url=URL, events=every)
    made = await stub(api).CreateWebhookSubscription(request, metadata=api.md)
    assert list(made.subscription.events) == every
