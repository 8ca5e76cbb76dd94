"""``request_id`` on the gRPC edge: the REST ``Idempotency-Key`` rules for mutating RPCs.

A servicer method converts its request as usual, then hands the core call and the response
converter to :func:`idempotent`::

    who = await self.who(context, self.dc.reminders.create)  # the scope first
    payload = reminder_convert.create_reminder(request)
    effect = functools.partial(self.dc.reminders.create, who, payload)
    return await idempotent(self, context, request, who, effect, reminder_convert.reminder)

An empty (or unset) ``request_id`` means no key: the effect simply runs. Otherwise the
fingerprint is the RPC's full method name plus the deterministic serialization of the
request with ``request_id`` cleared, and the core's
:class:`~dialcues_core.platform.idempotency.Idempotency` stores the serialized response message (and
its full type name) in the effect's transaction. A replay parses it back and is marked for
the usage event (:func:`mark_replay`). A mismatch is ALREADY_EXISTS
``idempotency_mismatch``, a request still running ABORTED ``idempotency_in_progress`` (the
error table maps both); a bad key is INVALID_ARGUMENT on ``request_id``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from google.protobuf import descriptor_pool, message, message_factory

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.kernel.staged import Staged
from dialcues_core.offload import Offloader
from dialcues_core.platform.idempotency import validate_key
from dialcues_core.platform.ports import StoredReply

T = TypeVar("T")
M = TypeVar("M", bound=message.Message)
KEY_FIELD = "request_id"

_REPLAYED: set[int] = set()
"""``id()`` of the live contexts whose reply is a replay (removed when the RPC is done)."""


class Platform(Protocol):
    """What the helper needs of a servicer: the platform and its thread pool."""

    dc: Dialcues
    offloader: Offloader


async def idempotent(
    servicer: Platform,
    context: Any,
    request: message.Message,
    who: Principal,
    effect: Callable[[], T],
    render: Callable[[T], M],
) -> M:
    """Run ``effect`` at most once per ``request.request_id``; replay its response after.

    ``effect`` is a synchronous core call (run on the offloader); ``render`` converts its
    result to the response message (with a key, inside the effect's transaction).
    """
    staged: Staged[T] = Staged(_nothing, lambda _: effect())
    return await idempotent_staged(servicer, context, request, who, staged, render)


def _nothing() -> None:
    """A use case without a first step (``Idempotency.run_staged`` then behaves as ``run``)."""


async def idempotent_staged(
    servicer: Platform,
    context: Any,
    request: message.Message,
    who: Principal,
    staged: Staged[T],
    render: Callable[[T], M],
) -> M:
    """:func:`~dialcues_grpc.idempotency.idempotent` for a staged use case.

    ``staged.prepare`` commits on its own (a hold's claim) before the carrier is asked, so it
    must not run inside the idempotency transaction; the core's ``run_staged`` claims the key,
    runs it outside, then commits ``staged.finish`` with the stored response. Both steps run
    on the offloader's threads.
    """
    key = request_key(request)
    if key is None:
        return render(await servicer.offloader.run(staged.run))
    validate_key(key, KEY_FIELD)
    rendered: list[M] = []

    def render_stored(result: T) -> StoredReply:
        rendered.append(render(result))
        return stored_reply(rendered[-1])

    run = servicer.dc.idempotency.run_staged
    outcome = await servicer.offloader.run(
        run, who, key, fingerprint(request), staged, render_stored
    )
    if not outcome.replayed:
        return rendered[-1]
    mark_replay(context)
    return cast(M, parse_reply(outcome.reply))


def request_key(request: message.Message) -> str | None:
    """Return the request's ``request_id``, or None when it carries none.

    A plain proto3 string cannot tell empty from unset, so empty means none; an ``optional``
    one set to the empty string is kept (and refused as too short).
    """
    key = str(getattr(request, KEY_FIELD))
    if key:
        return key
    field = request.DESCRIPTOR.fields_by_name[KEY_FIELD]
    return "" if field.has_presence and request.HasField(KEY_FIELD) else None


def fingerprint(request: message.Message) -> bytes:
    """Return the RPC's full method name and the request's bytes without its ``request_id``."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField(KEY_FIELD)
    method = full_method_name(request.DESCRIPTOR.full_name)
    return method.encode() + b"\n" + bytes(copy.SerializeToString(deterministic=True))


@functools.cache
def full_method_name(request_type: str) -> str:
    """Return ``/package.Service/Method`` of the one RPC taking ``request_type``."""
    wanted = descriptor_pool.Default().FindMessageTypeByName(request_type)
    found = [
        f"/{service.full_name}/{method.name}"
        for service in wanted.file.services_by_name.values()
        for method in service.methods
        if method.input_type is wanted
    ]
    if len(found) != 1:
        raise TypeError(f"{request_type} is the request of {len(found)} RPCs, not one")
    return found[0]


def stored_reply(response: message.Message) -> StoredReply:
    """Return what to store of a response: status 0 (OK), its bytes and full type name."""
    return StoredReply(0, bytes(response.SerializeToString()), response.DESCRIPTOR.full_name)


def parse_reply(stored: StoredReply) -> message.Message:
    """Return the response message a stored reply holds."""
    descriptor = descriptor_pool.Default().FindMessageTypeByName(stored.content_type)
    response = message_factory.GetMessageClass(descriptor)()
    response.ParseFromString(stored.body)
    return response


# ----------------------------------------------------------------------------- replay marker
def mark_replay(context: Any) -> None:
    """Remember that this RPC's response is a stored one replayed (for the usage event).

    grpc.aio's context takes neither attributes nor weak references, so the mark is kept by
    ``id(context)`` and dropped when the RPC is done. Read it with :func:`is_replay` before
    the RPC completes (e.g. in an interceptor's wrapper right after the handler returns).
    """
    ident = id(context)
    _REPLAYED.add(ident)
    context.add_done_callback(lambda _ctx: _REPLAYED.discard(ident))


def is_replay(context: Any) -> bool:
    """Tell whether :func:`mark_replay` marked this RPC's context."""
    return id(context) in _REPLAYED
