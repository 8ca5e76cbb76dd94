"""Handlers of ``/consents``: the organization's consent records (``responsible-calling.md`` §8).
Parse, call one core use case, render.

Records are evidence: there is no delete. Create and revoke run through
:func:`dialcues_rest.idempotency.idempotent`; revoking is an opt-out (the core adds the
number's suppression entry in the same transaction).
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from dialcues_core.consent.model import ConsentRecord
from dialcues_core.consent.rendering import consent_payload
from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import json_body, no_query, principal, query_params, reply
from dialcues_rest.idempotency import idempotent


def _created(record: ConsentRecord) -> web.Response:
    return reply(consent_payload(record), status=201)


def _revoked(record: ConsentRecord) -> web.Response:
    return reply(consent_payload(record))


async def optional_body(request: web.Request) -> Any:
    """Return the decoded JSON body, or None when the body is empty."""
    raw = (await request.read()).strip()
    return await json_body(request) if raw else None


async def create_consent(request: web.Request) -> web.Response:
    """``POST /consents``: record a consent (201)."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    return await idempotent(request, functools.partial(dc.consents.create, who, payload), _created)


async def list_consents(request: web.Request) -> web.Response:
    """``GET /consents``: one page of records, newest first.

    Filters ``phone_number``, ``type``, ``purpose``, ``active``, ``date_from``, ``date_to`` (on
    ``captured_at``); paging ``page``/``page_size``.
    """
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.consents.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, consent_payload))


async def get_consent(request: web.Request) -> web.Response:
    """``GET /consents/{id}``: one record."""
    dc, cid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.consents.get, who, cid)
    return reply(consent_payload(found))


async def revoke_consent(request: web.Request) -> web.Response:
    """``POST /consents/{id}/revoke``: 200 with the record revoked (a revoked one unchanged).

    The body is ``{"note"?}``, or empty.
    """
    dc, cid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    payload = await optional_body(request)
    effect = functools.partial(dc.consents.revoke, who, cid, payload)
    return await idempotent(request, effect, _revoked)
