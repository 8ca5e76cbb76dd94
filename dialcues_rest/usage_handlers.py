"""``GET /usage/events``: the caller's user's usage events (scope ``usage:read``)."""

from __future__ import annotations

from aiohttp import web

from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import principal, query_params, reply


async def list_usage_events(request: web.Request) -> web.Response:
    """``GET /usage/events``: one page of the user's events, newest first.

    Filters ``date_from``, ``date_to`` (RFC 3339), ``route`` (a template such as
    ``/reminders/{id}``), ``status``, ``code``, ``deprecated`` (``true``/``false``); paging
    ``page``/``page_size``. Events are listed once written (within about a second of their
    request).
    """
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.usage.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, schemas.usage_event))
