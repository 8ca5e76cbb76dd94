"""REST/gRPC parity of messages and templates (``telephony.md`` §4, §6.5): the calls of the
parity scenario's messages phase, over each facade, with REST's inputs and REST-shaped
outcomes (the conventions of :mod:`e2e.parity_support`).

:func:`messaging` gives a facade's messages calls. Over gRPC a REST body becomes the request
message field for field (``from`` included; a PATCH an ``update_mask`` naming the body's
fields, a null an unset field), query parameters become the list request's fields
(``archived`` a bool, ``execution_id`` an integer, the date bounds Timestamps), and
``DELETE /message-templates/{id}``'s 204 is ``ArchiveMessageTemplate``'s reply dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from dialcues_grpc._pb.dialcues.v1 import messages_pb2, messages_pb2_grpc
from e2e.parity_support import (
    Facade,
    GrpcFacade,
    Json,
    Outcome,
    RestFacade,
    _page,
    parse_rest_time,
    timestamp,
    to_rest,
)

M = messages_pb2
_INT_PARAMS: Final = frozenset({"page", "page_size", "execution_id"})
_BOUNDS: Final = frozenset({"date_from", "date_to"})


class Messaging:
    """The messages calls of one facade."""

    async def create_template(self, payload: Json) -> Outcome:
        """``POST /message-templates`` / ``CreateMessageTemplate``."""
        raise NotImplementedError

    async def template(self, template_id: str) -> Outcome:
        """``GET /message-templates/{id}`` / ``GetMessageTemplate``."""
        raise NotImplementedError

    async def templates(self, params: Mapping[str, str]) -> Outcome:
        """``GET /message-templates?…`` / ``ListMessageTemplates``."""
        raise NotImplementedError

    async def update_template(self, template_id: str, payload: Json) -> Outcome:
        """``PATCH /message-templates/{id}`` / ``UpdateMessageTemplate`` with a field mask."""
        raise NotImplementedError

    async def archive_template(self, template_id: str) -> Outcome:
        """``DELETE /message-templates/{id}`` / ``ArchiveMessageTemplate`` (``{"ok": None}``)."""
        raise NotImplementedError

    async def versions(self, template_id: str, params: Mapping[str, str]) -> Outcome:
        """``GET /message-templates/{id}/versions?…`` / ``ListMessageTemplateVersions``."""
        raise NotImplementedError

    async def version(self, template_id: str, version: int) -> Outcome:
        """``GET /message-templates/{id}/versions/{n}`` / ``GetMessageTemplateVersion``."""
        raise NotImplementedError

    async def send(self, payload: Json) -> Outcome:
        """``POST /messages`` / ``SendMessage``."""
        raise NotImplementedError

    async def message(self, message_id: str) -> Outcome:
        """``GET /messages/{id}`` / ``GetMessage``."""
        raise NotImplementedError

    async def messages(self, params: Mapping[str, str]) -> Outcome:
        """``GET /messages?…`` / ``ListMessages``."""
        raise NotImplementedError


def messaging(facade: Facade) -> Messaging:
    """Return the messages calls of ``facade`` (acting with its credential)."""
    if isinstance(facade, RestFacade):
        return RestMessaging(facade)
    assert isinstance(facade, GrpcFacade), facade
    return GrpcMessaging(facade)


# ----------------------------------------------------------------------------- REST
class RestMessaging(Messaging):
    """The messages calls over HTTP."""

    def __init__(self, rest: RestFacade):
        self.call = rest._call

    async def create_template(self, payload: Json) -> Outcome:
        return await self.call("POST", "/message-templates", payload)

    async def template(self, template_id: str) -> Outcome:
        return await self.call("GET", f"/message-templates/{template_id}")

    async def templates(self, params: Mapping[str, str]) -> Outcome:
        return await self.call("GET", "/message-templates", params=dict(params))

    async def update_template(self, template_id: str, payload: Json) -> Outcome:
        return await self.call("PATCH", f"/message-templates/{template_id}", payload)

    async def archive_template(self, template_id: str) -> Outcome:
        return await self.call("DELETE", f"/message-templates/{template_id}")

    async def versions(self, template_id: str, params: Mapping[str, str]) -> Outcome:
        path = f"/message-templates/{template_id}/versions"
        return await self.call("GET", path, params=dict(params))

    async def version(self, template_id: str, version: int) -> Outcome:
        return await self.call("GET", f"/message-templates/{template_id}/versions/{version}")

    async def send(self, payload: Json) -> Outcome:
        return await self.call("POST", "/messages", payload)

    async def message(self, message_id: str) -> Outcome:
        return await self.call("GET", f"/messages/{message_id}")

    async def messages(self, params: Mapping[str, str]) -> Outcome:
        return await self.call("GET", "/messages", params=dict(params))


# ----------------------------------------------------------------------------- gRPC
def _set(payload: Mapping[str, Any]) -> Json:
    """Return a REST body's fields as request fields (a null one left unset)."""
    return {name: value for name, value in payload.items() if value is not None}


def _query(params: Mapping[str, str]) -> Json:
    """Return REST's query parameters as list request fields."""
    values: Json = {}
    for name, text in params.items():
        if name in _INT_PARAMS:
            values[name] = int(text)
        elif name in _BOUNDS:
            values[name] = timestamp(parse_rest_time(text))
        elif name == "archived":
            values[name] = text == "true"
        else:
            values[name] = text
    return values


def update_template_request(template_id: str, payload: Json) -> M.UpdateMessageTemplateRequest:
    """Return a REST PATCH body as an UpdateMessageTemplateRequest (masked; null → unset)."""
    request = M.UpdateMessageTemplateRequest(id=template_id, **_set(payload))
    request.update_mask.paths.extend(payload)
    return request


class GrpcMessaging(Messaging):
    """The messages calls through the generated stubs."""

    def __init__(self, grpc_facade: GrpcFacade):
        self.call = grpc_facade._call
        self.messages_stub = messages_pb2_grpc.MessageServiceStub(grpc_facade.channel)
        self.templates_stub = messages_pb2_grpc.MessageTemplateServiceStub(grpc_facade.channel)

    async def create_template(self, payload: Json) -> Outcome:
        request = M.CreateMessageTemplateRequest(**_set(payload))
        return await self.call(self.templates_stub.CreateMessageTemplate, request, to_rest)

    async def template(self, template_id: str) -> Outcome:
        request = M.GetMessageTemplateRequest(id=template_id)
        return await self.call(self.templates_stub.GetMessageTemplate, request, to_rest)

    async def templates(self, params: Mapping[str, str]) -> Outcome:
        request = M.ListMessageTemplatesRequest(**_query(params))
        return await self.call(self.templates_stub.ListMessageTemplates, request, _page)

    async def update_template(self, template_id: str, payload: Json) -> Outcome:
        request = update_template_request(template_id, payload)
        return await self.call(self.templates_stub.UpdateMessageTemplate, request, to_rest)

    async def archive_template(self, template_id: str) -> Outcome:
        request = M.ArchiveMessageTemplateRequest(id=template_id)
        return await self.call(self.templates_stub.ArchiveMessageTemplate, request, lambda _: None)

    async def versions(self, template_id: str, params: Mapping[str, str]) -> Outcome:
        request = M.ListMessageTemplateVersionsRequest(id=template_id, **_query(params))
        return await self.call(self.templates_stub.ListMessageTemplateVersions, request, _page)

    async def version(self, template_id: str, version: int) -> Outcome:
        request = M.GetMessageTemplateVersionRequest(id=template_id, version=version)
        return await self.call(self.templates_stub.GetMessageTemplateVersion, request, to_rest)

    async def send(self, payload: Json) -> Outcome:
        request = M.SendMessageRequest(**_set(payload))
        return await self.call(self.messages_stub.SendMessage, request, to_rest)

    async def message(self, message_id: str) -> Outcome:
        request = M.GetMessageRequest(id=message_id)
        return await self.call(self.messages_stub.GetMessage, request, to_rest)

    async def messages(self, params: Mapping[str, str]) -> Outcome:
        request = M.ListMessagesRequest(**_query(params))
        return await self.call(self.messages_stub.ListMessages, request, _page)
