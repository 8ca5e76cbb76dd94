"""Handlers of ``/webhooks/subscriptions``: parse, call one core use case, render.

The mutating routes run through :func:`dialcues_rest.idempotency.idempotent`, so a retried
create with the same ``Idempotency-Key`` makes one subscription (and replays the reply that
showed its secret).
"""

from __future__ import annotations

import functools

from aiohttp import web

from dialcues_core.webhooks.model import IssuedSecret, WebhookSubscription
from dialcues_rest import schemas
from dialcues_rest import webhook_schemas as ws
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import json_body, no_fields, no_query, principal, query_params, reply
from dialcues_rest.idempotency import idempotent


def _created(result: IssuedSecret) -> web.Response:
    return reply(ws.issued(result), status=201)


def _rotated(result: IssuedSecret) -> web.Response:
    return reply(ws.issued(result))


def _updated(result: WebhookSubscription) -> web.Response:
    return reply(ws.subscription(result))


def _deleted(_: None) -> web.Response:
    return web.Response(status=204)


async def create_subscription(request: web.Request) -> web.Response:
    """``POST /webhooks/subscriptions``: subscribe (201, with the secret shown once)."""
    webhooks = request.app[DIALCUES].webhooks
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    effect = functools.partial(webhooks.create, who, payload)
    return await idempotent(request, effect, _created)


async def list_subscriptions(request: web.Request) -> web.Response:
    """``GET /webhooks/subscriptions``: one page of the user's subscriptions."""
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.webhooks.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, ws.subscription))


async def get_subscription(request: web.Request) -> web.Response:
    """``GET /webhooks/subscriptions/{id}``: one of the user's subscriptions."""
    dc, sid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.webhooks.get, who, sid)
    return reply(ws.subscription(found))


async def update_subscription(request: web.Request) -> web.Response:
    """``PATCH /webhooks/subscriptions/{id}``: change ``url``, ``events`` or ``enabled``."""
    dc, sid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    effect = functools.partial(dc.webhooks.update, who, sid, payload)
    return await idempotent(request, effect, _updated)


async def delete_subscription(request: web.Request) -> web.Response:
    """``DELETE /webhooks/subscriptions/{id}``: unsubscribe (204)."""
    dc, sid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    await no_fields(request)
    effect = functools.partial(dc.webhooks.delete, who, sid)
    return await idempotent(request, effect, _deleted)


async def rotate_secret(request: web.Request) -> web.Response:
    """``POST /webhooks/subscriptions/{id}/rotate-secret``: a new secret (the old one signs
    beside it for 24 hours). The body may be empty or ``{}``; any field in it is refused."""
    dc, sid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    await no_fields(request)
    effect = functools.partial(dc.webhooks.rotate_secret, who, sid)
    return await idempotent(request, effect, _rotated)


async def list_deliveries(request: web.Request) -> web.Response:
    """``GET /webhooks/subscriptions/{id}/deliveries``: the attempt log, newest first."""
    dc, sid = request.app[DIALCUES], request.match_info["id"]
    found = await request.app[OFFLOADER].run(
        dc.webhooks.deliveries, principal(request), sid, query_params(request)
    )
    return reply(schemas.page(found, ws.delivery))
