"""Handlers of ``/message-templates`` and ``/messages`` (``telephony.md`` §4.1, §4.3).
Parse, call one core use case, render.

Templates are the organization's; messages are the caller's outbound ones plus the
organization's inbound ones and keyword replies (the core decides what a caller sees). Every
write runs through :func:`~dialcues_rest.idempotency.idempotent`: a send with a key writes its
``queued`` message and the stored reply in one transaction, so ten sends with one key queue one
message.
"""

from __future__ import annotations

import functools

from aiohttp import web

from dialcues_core.messages.model import Message, MessageTemplate
from dialcues_core.messages.rendering import message_payload, template_payload, version_payload
from dialcues_rest import schemas
from dialcues_rest.appkeys import DIALCUES, OFFLOADER
from dialcues_rest.handlers import json_body, no_fields, no_query, principal, query_params, reply
from dialcues_rest.idempotency import idempotent


def _template(template: MessageTemplate) -> web.Response:
    return reply(template_payload(template))


def _created_template(template: MessageTemplate) -> web.Response:
    return reply(template_payload(template), status=201)


def _archived(_: MessageTemplate) -> web.Response:
    return web.Response(status=204)


def _sent(message: Message) -> web.Response:
    return reply(message_payload(message), status=201)


# ----------------------------------------------------------------------------- templates
async def create_template(request: web.Request) -> web.Response:
    """``POST /message-templates``: a new template, version 1 (201)."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    effect = functools.partial(dc.message_templates.create, who, payload)
    return await idempotent(request, effect, _created_template)


async def list_templates(request: web.Request) -> web.Response:
    """``GET /message-templates``: one page, newest first.

    Filters ``purpose``, ``channel``, ``archived`` (default ``false``); paging
    ``page``/``page_size``.
    """
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.message_templates.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, template_payload))


async def get_template(request: web.Request) -> web.Response:
    """``GET /message-templates/{id}``: the current version (archived ones too)."""
    dc, tid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.message_templates.get, who, tid)
    return _template(found)


async def update_template(request: web.Request) -> web.Response:
    """``PATCH /message-templates/{id}``: a content change makes a new version."""
    dc, tid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    effect = functools.partial(dc.message_templates.update, who, tid, payload)
    return await idempotent(request, effect, _template)


async def archive_template(request: web.Request) -> web.Response:
    """``DELETE /message-templates/{id}``: archive (204, empty body); still readable."""
    dc, tid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    await no_fields(request)
    effect = functools.partial(dc.message_templates.archive, who, tid)
    return await idempotent(request, effect, _archived)


async def list_versions(request: web.Request) -> web.Response:
    """``GET /message-templates/{id}/versions``: one page of the history, newest first."""
    dc, tid = request.app[DIALCUES], request.match_info["id"]
    found = await request.app[OFFLOADER].run(
        dc.message_templates.versions, principal(request), tid, query_params(request)
    )
    return reply(schemas.page(found, version_payload))


async def get_version(request: web.Request) -> web.Response:
    """``GET /message-templates/{id}/versions/{version}``: one immutable version."""
    dc, tid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    version = request.match_info["version"]
    found = await request.app[OFFLOADER].run(dc.message_templates.version, who, tid, version)
    return reply(version_payload(found))


# ----------------------------------------------------------------------------- messages
async def send_message(request: web.Request) -> web.Response:
    """``POST /messages``: 201 with the message, ``queued``."""
    dc = request.app[DIALCUES]
    who = principal(request)
    no_query(request)
    payload = await json_body(request)
    return await idempotent(request, functools.partial(dc.messages.send, who, payload), _sent)


async def list_messages(request: web.Request) -> web.Response:
    """``GET /messages``: one page, newest first.

    Filters ``direction``, ``status``, ``channel``, ``to``, ``from``, ``template_id``,
    ``execution_id``, ``date_from``, ``date_to`` (on ``created_at``); paging
    ``page``/``page_size``.
    """
    dc = request.app[DIALCUES]
    found = await request.app[OFFLOADER].run(
        dc.messages.list, principal(request), query_params(request)
    )
    return reply(schemas.page(found, message_payload))


async def get_message(request: web.Request) -> web.Response:
    """``GET /messages/{id}``: the caller's outbound message, or the organization's inbound."""
    dc, mid = request.app[DIALCUES], request.match_info["id"]
    who = principal(request)
    no_query(request)
    found = await request.app[OFFLOADER].run(dc.messages.get, who, mid)
    return reply(message_payload(found))
