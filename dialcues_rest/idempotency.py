"""``Idempotency-Key`` on the REST edge: wrap a handler's core call in the core's idempotency.

A mutating handler parses its request as usual, then hands the core call and its renderer
to :func:`idempotent`::

    async def create_reminder(request):
        dc = request.app[DIALCUES]
        who = principal(request)  # admitted: the scope is checked
        no_query(request)
        payload = await json_body(request)
        return await idempotent(
            request,
            functools.partial(dc.reminders.create, who, payload),
            lambda created: reply(schemas.reminder(created), status=201),
        )

Without the header the effect runs on the offloader and ``render`` renders its result, as
before. With it, the request's fingerprint (method, path with its query string, and the
body's canonical JSON — or its raw bytes when it is not JSON) and the key go to
:meth:`Idempotency.run`, which runs the effect and ``render`` inside one transaction and
stores the rendered status, body and content type. A replay answers the stored reply with
``Idempotent-Replayed: true`` and sets ``request[IDEMPOTENT_REPLAY]`` (for the usage event).
Errors propagate to the error renderer as usual (``idempotency_in_progress`` gets
``Retry-After: 1`` there).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final, TypeVar

from aiohttp import hdrs, web

from dialcues_core.errors import MissingCredentials
from dialcues_core.kernel.staged import Staged
from dialcues_core.platform.ports import StoredReply
from dialcues_rest.appkeys import DIALCUES, IDEMPOTENT_REPLAY, OFFLOADER, PRINCIPAL

T = TypeVar("T")

KEY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"


async def idempotent(
    request: web.Request,
    effect: Callable[[], T],
    render: Callable[[T], web.Response],
) -> web.Response:
    """Run ``effect`` (a synchronous core call) at most once per ``Idempotency-Key``.

    ``effect`` runs on the offloader's threads; ``render`` turns its result into the reply
    (with a key it runs in the effect's transaction, so keep it pure). Returns the rendered
    reply, or on a replay the stored one with ``Idempotent-Replayed: true``.
    """
    staged: Staged[T] = Staged(_nothing, lambda _: effect())
    return await idempotent_staged(request, staged, render)


def _nothing() -> None:
    """A use case without a first step (``Idempotency.run_staged`` then behaves as ``run``)."""


async def idempotent_staged(
    request: web.Request,
    staged: Staged[T],
    render: Callable[[T], web.Response],
) -> web.Response:
    """:func:`idempotent` for a staged use case (a hold: its claim commits before the carrier
    is asked, ``telephony.md`` §0 #8); both steps run on the offloader's threads."""
    offloader = request.app[OFFLOADER]
    key = request.headers.get(KEY_HEADER)
    if key is None:
        return render(await offloader.run(staged.run))
    who = request.get(PRINCIPAL)
    if who is None:
        raise MissingCredentials()
    fingerprint = await request_fingerprint(request)
    rendered: list[web.Response] = []

    def render_stored(result: T) -> StoredReply:
        rendered.append(render(result))
        return stored_reply(rendered[-1])

    run = request.app[DIALCUES].idempotency.run_staged
    outcome = await offloader.run(run, who, key, fingerprint, staged, render_stored)
    if not outcome.replayed:
        return rendered[-1]
    request[IDEMPOTENT_REPLAY] = True
    return replayed(outcome.reply)


async def request_fingerprint(request: web.Request) -> bytes:
    """Return the request's identity (see :func:`fingerprint`).

    The path is the decoded one (``+`` and ``%2B`` are the same number), with the query
    string when there is one: ``DELETE /suppressions/{number}?consent_id=…`` with another
    consent is another request.
    """
    query = request.query_string
    path = f"{request.path}?{query}" if query else request.path
    return fingerprint(request.method, path, await request.read())


def fingerprint(method: str, path: str, raw: bytes) -> bytes:
    """Return method, path and the body as canonical JSON (sorted keys, compact).

    A body that is not JSON counts as its raw bytes; an empty body as nothing. A lone
    surrogate (``"\\ud800"``: JSON, not Unicode) is kept as is rather than failing.
    """
    try:
        decoded = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        body = b"raw:" + raw
    else:
        canonical = json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        body = b"json:" + canonical.encode("utf-8", "surrogatepass")
    return f"{method} {path}\n".encode() + body


def stored_reply(response: web.Response) -> StoredReply:
    """Return what to store of a rendered reply: status, body bytes and ``Content-Type``.

    Only the body and its type are kept: a renderer's other headers are not replayed.
    """
    body = response.body
    data = bytes(body) if isinstance(body, bytes | bytearray | memoryview) else b""
    content_type = response.headers.get(hdrs.CONTENT_TYPE, "") if data else ""
    return StoredReply(response.status, data, content_type)


def replayed(stored: StoredReply) -> web.Response:
    """Return a stored reply as a response marked ``Idempotent-Replayed: true``."""
    headers = {REPLAYED_HEADER: "true"}
    if not stored.body:
        return web.Response(status=stored.status, headers=headers)
    headers[hdrs.CONTENT_TYPE] = stored.content_type
    return web.Response(status=stored.status, body=stored.body, headers=headers)


__all__ = [
    "KEY_HEADER",
    "REPLAYED_HEADER",
    "fingerprint",
    "idempotent",
    "idempotent_staged",
    "request_fingerprint",
]
