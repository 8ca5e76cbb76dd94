"""``GET /policy`` (scope ``policy:read``) and ``GET /audit/events`` (scope ``audit:read``)."""

from __future__ import annotations

from aiohttp import web

from dialcues_core.audit.rendering import audit_event_to_json
from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import principal, query_params, reply


async def get_policy(request: web.Request) -> web.Response:
    """``GET /policy``: the organization's calling policy, every default filled in."""
    dc = request.app[DIALCUES]
    view = await request.app[OFFLOADER].run(dc.policies.get, principal(request))
    return reply(view.to_json())


async def list_occurrences(request: web.Request) -> web.Response:
    """``GET /reminders/{id}/occurrences``: what the dispatcher will do next (``count`` 1–100)."""
    dc, rid = request.app[DIALCUES], request.match_info["id"]
    found = await request.app[OFFLOADER].run(
        dc.reminders.occurrences, principal(request), rid, query_params(request)
    )
    return reply(found)


async def list_audit_events(request: web.Request) -> web.Response:
    """``GET /audit/events``: one page of the organization's audit events, newest first.

    Filters ``action``, ``subject_type``, ``subject_id``, ``date_from``, ``date_to``; paging
    ``page``/``page_size``.
    """
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.audit.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, audit_event_to_json))
