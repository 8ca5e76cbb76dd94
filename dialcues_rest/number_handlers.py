"""Handlers of ``/numbers``: the carrier's inventory, holds, assigns and releases
(``telephony.md`` §2). Parse, call one core use case, render.

``{number}`` is E.164 with ``+`` as is or ``%2B``. A hold and an extension wait on the carrier
(their claim commits first: :func:`~dialcues_rest.idempotency.idempotent_staged`); every other
write is one transaction through :func:`~dialcues_rest.idempotency.idempotent`.
"""

from __future__ import annotations

import functools
from datetime import datetime

from aiohttp import web

from dialcues_core.numbers.model import AvailableNumber, NumberRecord
from dialcues_core.numbers.rendering import number_payload, offer_payload
from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import json_body, no_fields, no_query, principal, query_params, reply
from dialcues_rest.idempotency import idempotent, idempotent_staged


def _now(request: web.Request) -> datetime:
    return request.app[DIALCUES].clock.now()


def _number_reply(request: web.Request, status: int) -> functools.partial[web.Response]:
    return functools.partial(_render, request, status)


def _render(request: web.Request, status: int, record: NumberRecord) -> web.Response:
    return reply(number_payload(record, _now(request)), status=status)


async def search_numbers(request: web.Request) -> web.Response:
    """``GET /numbers/search``: the carrier's available local numbers (not paginated)."""
    dc = request.app[DIALCUES]
    found: list[AvailableNumber] = await request.app[OFFLOADER].run(
        dc.numbers.search, principal(request), query_params(request)
    )
    return reply({"items": [offer_payload(o) for o in found]})


async def list_numbers(request: web.Request) -> web.Response:
    """``GET /numbers``: the organization's records, newest first."""
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.numbers.list, principal(request), query_params(request)
    )
    now = _now(request)
    return reply(schemas.page(found, lambda r: number_payload(r, now)))


async def get_number(request: web.Request) -> web.Response:
    """``GET /numbers/{number}``: the latest record."""
    dc, number = request.app[DIALCUES], request.match_info["number"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.numbers.get, who, number)
    return _render(request, 200, found)


async def hold_number(request: web.Request) -> web.Response:
    """``POST /numbers/hold``: 201 with a new hold, 200 with the organization's own."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)

    def render(result: tuple[NumberRecord, bool]) -> web.Response:
        record, created = result
        return _render(request, 201 if created else 200, record)

    staged = await request.app[OFFLOADER].run(dc.numbers.hold, who, payload)
    return await idempotent_staged(request, staged, render)


async def extend_hold(request: web.Request) -> web.Response:
    """``POST /numbers/{number}/hold/extend``: once per hold."""
    dc, number = request.app[DIALCUES], request.match_info["number"]
    who = principal(request)
    no_query(request)
    await no_fields(request)
    staged = await request.app[OFFLOADER].run(dc.numbers.extend, who, number)
    return await idempotent_staged(request, staged, _number_reply(request, 200))


async def drop_hold(request: web.Request) -> web.Response:
    """``DELETE /numbers/{number}/hold``: 204; the number is free again."""
    dc, number = request.app[DIALCUES], request.match_info["number"]
    who = principal(request)
    no_query(request)
    await no_fields(request)
    effect = functools.partial(dc.numbers.drop_hold, who, number)
    return await idempotent(request, effect, lambda _: web.Response(status=204))


async def assign_number(request: web.Request) -> web.Response:
    """``POST /numbers/{number}/assign``: 202; the provisioner orders, imports, adds the line."""
    dc, number = request.app[DIALCUES], request.match_info["number"]
    who = principal(request)
    no_query(request)
    payload = await json_body(request) if (await request.read()).strip() else None
    effect = functools.partial(dc.numbers.assign, who, number, payload)
    return await idempotent(request, effect, _number_reply(request, 202))


async def release_number(request: web.Request) -> web.Response:
    """``POST /numbers/{number}/release``: 202; the line goes at once, the carrier after."""
    dc, number = request.app[DIALCUES], request.match_info["number"]
    who = principal(request)
    no_query(request)
    await no_fields(request)
    effect = functools.partial(dc.numbers.release, who, number)
    return await idempotent(request, effect, _number_reply(request, 202))
