"""The deprecation registry on gRPC: ``DeprecationService`` and the metadata of deprecated calls.

The rules live in :mod:`dialcues_core.deprecations`; this module only reads the proto's
descriptors. A call *uses* an entry when it calls a deprecated RPC (``rpc``: its full method
name), sets a deprecated field of its request message, or calls an RPC whose response
message declares a deprecated field (``rpc_field``: the field's full name, top level only).
The platform interceptor (:mod:`dialcues_grpc.platform`) sends the three headers of such a
call as lower-case initial metadata (``deprecation``, ``sunset``, ``link``) beside
``x-request-id``, errors included, and marks its usage event ``deprecated``.

After the sunset (an entry marked ``removed``, ``telephony.md`` §5.1) the interceptor, once
the call is admitted (so a removed RPC still answers UNAUTHENTICATED without a credential,
and is charged and logged), answers a removed RPC ``UNIMPLEMENTED`` with ``ErrorInfo``
reason ``gone`` and ``metadata.deprecation`` the entry's id (:meth:`RpcDeprecations.gone`;
``gone`` is an edge-only code, as on REST), refuses a call that sets a removed field of its
request (``INVALID_ARGUMENT`` ``validation_error``, "is no longer supported"), and clears
removed fields of its response before sending it. A removed RPC or field stays declared in
the proto (marked ``deprecated``): the server must recognise what it refuses, and a field's
number is never reused. A cleared response field is not "held" by the reply, so it marks no
call as deprecated.

``ListDeprecations`` needs no credential (REST's ``GET /deprecations`` needs none either): it
is listed in :data:`dialcues_grpc.rpcs.OPEN` and charged to the peer's ``anon`` bucket.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, Final

import grpc
from google.protobuf import descriptor, descriptor_pool
from google.protobuf.message import Message

from dialcues_core.deprecations import (
    NO_LONGER_SUPPORTED,
    Deprecation,
    InvalidRegistry,
    Kind,
    by_message,
    by_rpc,
    headers,
    item,
    listing,
    problems,
)
from dialcues_core.errors import ValidationFailed
from dialcues_grpc._pb.dialcues import v1 as pb_package
from dialcues_grpc._pb.dialcues.v1 import deprecations_pb2, deprecations_pb2_grpc
from dialcues_grpc.errors import translated

SERVICE: Final = str(deprecations_pb2.DESCRIPTOR.services_by_name["DeprecationService"].full_name)
Metadata = tuple[tuple[str, str], ...]


class RpcDeprecations:
    """Tell which entries of a registry a call uses (module docstring)."""

    def __init__(self, registry: Iterable[Deprecation]):
        registry = tuple(registry)
        self.rpcs = by_rpc(registry)
        self.messages = by_message(registry)
        self.removed = {
            message: names
            for message, fields in self.messages.items()
            if (names := frozenset(name for name, e in fields.items() if e.removed))
        }
        """Message full name → its removed fields (only messages that have some)."""
        self._by_method: dict[str, tuple[Deprecation, ...]] = {}

    def used(self, method: str, request: Message) -> tuple[Deprecation, ...]:
        """Return the entries a call of ``method`` with ``request`` uses (none: empty)."""
        if not self.rpcs and not self.messages:
            return ()
        found = self._by_method.get(method)
        if found is None:
            found = self._by_method[method] = self._of_method(method)
        fields = self.messages.get(request.DESCRIPTOR.full_name)
        if fields:
            sent = [fields[f.name] for f, _ in request.ListFields() if f.name in fields]
            found = tuple(dict.fromkeys((*found, *sent)))
        return found

    def _of_method(self, method: str) -> tuple[Deprecation, ...]:
        """The entries every call of ``method`` uses: the RPC's, its response type's fields
        (but removed ones, which no response holds)."""
        found = self.rpcs.get(method, ())
        rpc = method_descriptor(method)
        if rpc is not None:
            fields = self.messages.get(rpc.output_type.full_name, {}).values()
            found += tuple(entry for entry in fields if not entry.removed)
        return found

    def gone(self, method: str) -> Deprecation | None:
        """Return the removed entry of the RPC ``method``, or None (it still works)."""
        return next((entry for entry in self.rpcs.get(method, ()) if entry.removed), None)

    def refuse_removed(self, request: Message) -> None:
        """Raise ``validation_error`` naming each removed field ``request`` sets, if any."""
        removed = self.removed.get(request.DESCRIPTOR.full_name) if self.removed else None
        if removed:
            sent = [f.name for f, _ in request.ListFields() if f.name in removed]
            if sent:
                raise ValidationFailed(dict.fromkeys(sent, NO_LONGER_SUPPORTED))

    def clear_removed(self, response: object) -> None:
        """Clear the removed fields of a response message (anything else is left alone)."""
        if self.removed and isinstance(response, Message):
            for name in self.removed.get(response.DESCRIPTOR.full_name, ()):
                response.ClearField(name)


def metadata(entries: tuple[Deprecation, ...]) -> Metadata:
    """Return the three headers of ``entries`` as gRPC metadata (lower-case keys)."""
    if not entries:
        return ()
    return tuple((name.lower(), value) for name, value in headers(entries).items())


def method_descriptor(method: str) -> descriptor.MethodDescriptor | None:
    """Return the descriptor of a full method name (``/pkg.Service/Method``), or None."""
    service, _, name = method.removeprefix("/").partition("/")
    try:
        found = descriptor_pool.Default().FindServiceByName(service)
    except KeyError:
        return None
    return found.methods_by_name.get(name)


def field_exists(full_name: str) -> bool:
    """Tell whether ``full_name`` (``pkg.Message.field``) names a field of the proto."""
    try:
        descriptor_pool.Default().FindFieldByName(full_name)
    except KeyError:
        return False
    return True


def target_problems(registry: Iterable[Deprecation]) -> list[str]:
    """Return one sentence per ``rpc``/``rpc_field`` entry whose target the proto lacks."""
    load_protos()
    found = []
    for entry in registry:
        if entry.kind == Kind.RPC and method_descriptor(entry.target) is None:
            found.append(f"{entry.id}: no RPC {entry.target!r} in proto/")
        elif entry.kind == Kind.RPC_FIELD and not field_exists(entry.target):
            found.append(f"{entry.id}: no field {entry.target!r} in proto/")
    return found


def check(registry: tuple[Deprecation, ...], today: date) -> None:
    """Raise :class:`InvalidRegistry` unless the registry keeps its rules and every gRPC
    target names something in the proto (the server refuses to start otherwise)."""
    found = problems(registry, today) + target_problems(registry)
    if found:
        raise InvalidRegistry("; ".join(found))


def load_protos() -> list[descriptor.FileDescriptor]:
    """Import every generated ``dialcues.v1`` module; return their file descriptors."""
    files = []
    for module in pkgutil.iter_modules(pb_package.__path__):
        if module.name.endswith("_pb2"):
            imported = importlib.import_module(f"{pb_package.__name__}.{module.name}")
            files.append(imported.DESCRIPTOR)
    return files


def declared(files: Iterable[descriptor.FileDescriptor] | None = None) -> set[tuple[Kind, str]]:
    """Return every ``deprecated`` option of ``files`` (default: ours) as ``(kind, target)``.

    Services, messages, enums and enum values have no kind of entry: one marked deprecated
    is returned as ``(Kind.RPC_FIELD, <its full name>)``, so it matches no entry.
    """
    found: set[tuple[Kind, str]] = set()
    for file in load_protos() if files is None else files:
        for service in file.services_by_name.values():
            found |= _marked(Kind.RPC_FIELD, [service])
            for rpc in service.methods:
                if rpc.GetOptions().deprecated:
                    found.add((Kind.RPC, f"/{service.full_name}/{rpc.name}"))
        for message in _messages(file.message_types_by_name.values()):
            found |= _marked(Kind.RPC_FIELD, [message, *message.fields, *message.enum_types])
            found |= _marked(Kind.RPC_FIELD, [v for e in message.enum_types for v in e.values])
        for enum in file.enum_types_by_name.values():
            found |= _marked(Kind.RPC_FIELD, [enum, *enum.values])
    return found


def _messages(messages: Iterable[Any]) -> Iterator[Any]:
    for message in messages:
        yield message
        yield from _messages(message.nested_types)


def _marked(kind: Kind, described: Iterable[Any]) -> set[tuple[Kind, str]]:
    return {(kind, d.full_name) for d in described if d.GetOptions().deprecated}


class DeprecationServicer(deprecations_pb2_grpc.DeprecationServiceServicer):
    """``dialcues.v1.DeprecationService``: the registry the server was built with."""

    def __init__(self, registry: tuple[Deprecation, ...]):
        body = listing(registry)
        self.reply = deprecations_pb2.ListDeprecationsResponse(
            policy=deprecations_pb2.DeprecationPolicy(**body["policy"]),
            items=[deprecations_pb2.Deprecation(**item(entry)) for entry in registry],
        )

    @translated
    async def ListDeprecations(  # noqa: N802
        self, request: deprecations_pb2.ListDeprecationsRequest, context: Any
    ) -> deprecations_pb2.ListDeprecationsResponse:
        """Return the policy and every entry (no credential needed)."""
        return self.reply


def add_deprecation_service(server: grpc.aio.Server, registry: Iterable[Deprecation]) -> str:
    """Register ``DeprecationService`` over ``registry`` on ``server``; return its name."""
    servicer = DeprecationServicer(tuple(registry))
    register = deprecations_pb2_grpc.add_DeprecationServiceServicer_to_server
    register(servicer, server)  # type: ignore[no-untyped-call]
    return SERVICE
