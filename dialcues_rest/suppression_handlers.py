"""Handlers of ``/suppressions``: the organization's suppression list (``responsible-calling.md``
§7). Parse, call one core use case, render.

``{number}`` is E.164 with ``+`` as is or ``%2B`` (aiohttp hands the handler the decoded
segment); the core answers ``not_found`` for any other segment, as for a malformed id. The
mutating routes run through :func:`dialcues_rest.idempotency.idempotent`: a retried add or
removal with the same ``Idempotency-Key`` replays its first reply.
"""

from __future__ import annotations

import functools
from typing import Final

from aiohttp import web

from dialcues_core.consent.model import SuppressionEntry
from dialcues_core.consent.rendering import suppression_payload
from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import (
    json_body,
    no_fields,
    no_query,
    only_query,
    principal,
    query_params,
    reply,
)
from dialcues_rest.idempotency import idempotent

CONSENT_ID: Final = "consent_id"
"""The one query parameter of ``DELETE /suppressions/{number}``."""


def _added(result: tuple[SuppressionEntry, bool]) -> web.Response:
    entry, created = result
    return reply(suppression_payload(entry), status=201 if created else 200)


def _removed(_: SuppressionEntry) -> web.Response:
    return web.Response(status=204)


async def list_suppressions(request: web.Request) -> web.Response:
    """``GET /suppressions``: one page of entries, newest first.

    Filters ``status`` (``active`` by default, ``removed``, ``all``), ``reason``,
    ``phone_number``, ``date_from``, ``date_to`` (on ``created_at``); paging ``page``/``page_size``.
    """
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.suppressions.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, suppression_payload))


async def add_suppression(request: web.Request) -> web.Response:
    """``POST /suppressions``: 201 with the new entry, or 200 with the number's active one."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    return await idempotent(request, functools.partial(dc.suppressions.add, who, payload), _added)


async def get_suppression(request: web.Request) -> web.Response:
    """``GET /suppressions/{number}``: the number's active entry (else ``not_found``)."""
    dc, number = request.app[DIALCUES], request.match_info["number"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.suppressions.get, who, number)
    return reply(suppression_payload(found))


async def remove_suppression(request: web.Request) -> web.Response:
    """``DELETE /suppressions/{number}?consent_id=cns_…``: 204; the entry becomes ``removed``.

    Without a newer active consent for the number the core answers ``consent_required``.
    """
    dc, number = request.app[DIALCUES], request.match_info["number"]
    who = principal(request)
    consent_id = only_query(request, CONSENT_ID).get(CONSENT_ID)
    await no_fields(request)
    effect = functools.partial(dc.suppressions.remove, who, number, consent_id)
    return await idempotent(request, effect, _removed)
