"""Route handlers: parse the request, call one core function, render the result.

No rule lives here. Every database-touching core call runs on the offloader's threads;
``whoami`` is pure (it reads the principal the auth middleware resolved), so ``GET /me`` makes
no thread hop.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Final

from aiohttp import web

from dialcues_core.accounts.model import Principal
from dialcues_core.errors import MissingCredentials, StorageUnavailable, ValidationFailed
from dialcues_core.kernel.fields import FieldReader, require_object, single_values
from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, DISPATCHING, OFFLOADER, PRINCIPAL
from dialcues_rest.idempotency import idempotent

MAX_BODY_BYTES: Final = 64 * 1024
"""The largest request body accepted (the contract's 64 KiB); larger is ``payload_too_large``."""

Query = dict[str, str | list[str]]


# ----------------------------------------------------------------------------- parsing
def principal(request: web.Request) -> Principal:
    """Return the request's principal, admitted by the auth middleware.

    The admission path already checked the scope of the route's use case, before anything of
    the request was parsed: a credential lacking it got ``insufficient_scope`` whatever it
    sent.
    """
    if PRINCIPAL not in request:  # a public path reached a private handler: never anonymously
        raise MissingCredentials()
    return request[PRINCIPAL]


def query_params(request: web.Request) -> Query:
    """Return the query string as a dict; a repeated name maps to the list of its values."""
    query = request.query
    params: Query = {}
    for name in query:
        values = query.getall(name)
        params[name] = values if len(values) > 1 else values[0]
    return params


def no_query(request: web.Request) -> None:
    """Reject every query parameter (for routes that take none), through the core's reader."""
    if request.query_string:
        FieldReader(query_params(request), ()).raise_if_any()


def only_query(request: web.Request, *names: str) -> dict[str, Any]:
    """Return the query parameters of a route that takes only ``names``, each given once.

    Another parameter, or one given twice, is a ``validation_error`` (the core's reader says
    which); an absent one is simply not in the result.
    """
    values = single_values(query_params(request))
    FieldReader(values, names).raise_if_any()
    return values


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
"""Strict JSON: ``NaN`` and ``Infinity`` are not JSON (built once: a decoder per call costs)."""


_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
"""A ``\\u`` escape in U+D800–U+DFFF: the only way a lone surrogate gets into a decoded body."""
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


async def json_body(request: web.Request) -> Any:
    """Return the decoded UTF-8 JSON body (any JSON value: the core checks it is an object).

    A string holding a lone surrogate (``"\\ud800"`` with no low half) is refused: it is no
    Unicode text, and nothing downstream can encode it. Only a body with a surrogate escape
    is searched for one; a pair (``"\\ud83d\\ude00"``) decodes to one character and passes.
    """
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
        value = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        problem = str(exc) if isinstance(exc, json.JSONDecodeError) else "not valid JSON"
        raise ValidationFailed({}, f"The request body is not valid JSON ({problem}).") from None
    if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(value):
        raise ValidationFailed({}, "The request body is not valid JSON (a lone surrogate).")
    return value


def has_lone_surrogate(value: Any) -> bool:
    """Tell whether a decoded JSON value holds a surrogate code point in a key or string."""
    pending = [value]
    while pending:  # a loop, not recursion: the body may be nested as deep as the decoder allows
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


async def no_fields(request: web.Request) -> None:
    """Check the body of a route that takes none: empty or ``{}``, else ``validation_error``.

    Reading it also enforces the 64 KiB limit (``payload_too_large``) on such routes.
    """
    if (await request.read()).strip():
        FieldReader(require_object(await json_body(request)), ()).raise_if_any()


def reply(body: object, status: int = 200) -> web.Response:
    """Return ``body`` as a JSON response."""
    return web.json_response(body, status=status)


# ----------------------------------------------------------------------------- me, health
async def get_me(request: web.Request) -> web.Response:
    """``GET /me``: who the API key acts as."""
    no_query(request)
    return reply(schemas.me(request.app[DIALCUES].whoami(principal(request))))


async def get_health(request: web.Request) -> web.Response:
    """``GET /healthz``: 200 when the database answers, else ``unavailable`` (503)."""
    if not await request.app[OFFLOADER].run(request.app[DIALCUES].ping):
        raise StorageUnavailable()
    return reply({"status": "ok"})


async def get_api_health(request: web.Request) -> web.Response:
    """``GET /health``: version, database, dispatchers and backlog (any valid credential)."""
    no_query(request)
    principal(request)
    report = await request.app[OFFLOADER].run(request.app[DIALCUES].health)
    return reply(schemas.health(report, request.app[DISPATCHING]))


# ----------------------------------------------------------------------------- reminders
async def create_reminder(request: web.Request) -> web.Response:
    """``POST /reminders``: schedule a reminder (201)."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    return await idempotent(
        request,
        functools.partial(dc.reminders.create, who, payload),
        lambda created: reply(schemas.reminder(created), status=201),
    )


async def list_reminders(request: web.Request) -> web.Response:
    """``GET /reminders``: one page of the user's reminders."""
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.reminders.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, schemas.reminder))


async def get_reminder(request: web.Request) -> web.Response:
    """``GET /reminders/{id}``: one of the user's reminders."""
    dc, rid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.reminders.get, who, rid)
    return reply(schemas.reminder(found))


async def update_reminder(request: web.Request) -> web.Response:
    """``PATCH /reminders/{id}``: edit, pause, resume or revive a reminder."""
    dc, rid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    return await idempotent(
        request,
        functools.partial(dc.reminders.update, who, rid, payload),
        lambda updated: reply(schemas.reminder(updated)),
    )


async def delete_reminder(request: web.Request) -> web.Response:
    """``DELETE /reminders/{id}``: delete for good (204, empty body)."""
    dc, rid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    await no_fields(request)
    return await idempotent(
        request,
        functools.partial(dc.reminders.delete, who, rid),
        lambda _: web.Response(status=204),
    )


# ----------------------------------------------------------------------------- executions, lines
async def list_executions(request: web.Request) -> web.Response:
    """``GET /executions``: one page of the user's call attempts, newest first."""
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.executions.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, schemas.execution))


async def get_execution(request: web.Request) -> web.Response:
    """``GET /executions/{id}``: one of the user's call attempts."""
    dc, eid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.executions.get, who, eid)
    return reply(schemas.execution(found))


async def list_lines(request: web.Request) -> web.Response:
    """``GET /lines``: the organization's outbound lines."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.accounts.lines_of, who)
    return reply(schemas.lines(found))
