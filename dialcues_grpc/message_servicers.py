"""``dialcues.v1.MessageService`` and ``MessageTemplateService``: REST's ``/messages`` and
``/message-templates`` routes over gRPC (``telephony.md`` §4, §6.5).

Authenticate, convert (:mod:`dialcues_grpc.message_convert`), call one core use case, convert
back. The platform interceptor has checked the use case's scope (``messages:read|write``,
``templates:write``) before the request is read. The writes honour ``request_id`` as REST
honours ``Idempotency-Key``: ten sends with one key make one message.

One shape differs from REST's status-only answer, carrying the same facts:
``ArchiveMessageTemplate`` answers the archived template (REST's 204 has no body).
"""

from __future__ import annotations

import functools

from dialcues_grpc import message_convert as mc
from dialcues_grpc import paging
from dialcues_grpc._pb.dialcues.v1 import messages_pb2, messages_pb2_grpc
from dialcues_grpc.errors import translated
from dialcues_grpc.idempotency import idempotent
from dialcues_grpc.servicers import Context, _Servicer

M = messages_pb2


class MessageServicer(_Servicer, messages_pb2_grpc.MessageServiceServicer):
    """``dialcues.v1.MessageService``: send and read text messages."""

    @translated
    async def SendMessage(  # noqa: N802
        self, request: M.SendMessageRequest, context: Context
    ) -> M.Message:
        """Send a templated text: the message, ``queued``."""
        who = await self.who(context)
        effect = functools.partial(self.dc.messages.send, who, mc.send_body(request))
        return await idempotent(self, context, request, who, effect, mc.message)

    @translated
    async def GetMessage(  # noqa: N802
        self, request: M.GetMessageRequest, context: Context
    ) -> M.Message:
        """Return one of the caller's messages, or one of the organization's."""
        who = await self.who(context)
        return mc.message(await self.run(self.dc.messages.get, who, request.id))

    @translated
    async def ListMessages(  # noqa: N802
        self, request: M.ListMessagesRequest, context: Context
    ) -> M.ListMessagesResponse:
        """Return one page of messages, newest first."""
        who = await self.who(context)
        params, token = mc.message_query(request)
        params = paging.apply_token("messages", params, token)
        found = await self.run(self.dc.messages.list, who, params)
        return mc.message_page(found, paging.next_token("messages", params, found))


class MessageTemplateServicer(_Servicer, messages_pb2_grpc.MessageTemplateServiceServicer):
    """``dialcues.v1.MessageTemplateService``: the organization's message templates."""

    @translated
    async def CreateMessageTemplate(  # noqa: N802
        self, request: M.CreateMessageTemplateRequest, context: Context
    ) -> M.MessageTemplate:
        """Create a template at version 1."""
        who = await self.who(context)
        body = mc.new_template(request)
        effect = functools.partial(self.dc.message_templates.create, who, body)
        return await idempotent(self, context, request, who, effect, mc.template)

    @translated
    async def GetMessageTemplate(  # noqa: N802
        self, request: M.GetMessageTemplateRequest, context: Context
    ) -> M.MessageTemplate:
        """Return a template at its current version."""
        who = await self.who(context)
        return mc.template(await self.run(self.dc.message_templates.get, who, request.id))

    @translated
    async def ListMessageTemplates(  # noqa: N802
        self, request: M.ListMessageTemplatesRequest, context: Context
    ) -> M.ListMessageTemplatesResponse:
        """Return one page of the organization's templates, newest first."""
        who = await self.who(context)
        params, token = mc.template_query(request)
        params = paging.apply_token("message_templates", params, token)
        found = await self.run(self.dc.message_templates.list, who, params)
        return mc.template_page(found, paging.next_token("message_templates", params, found))

    @translated
    async def UpdateMessageTemplate(  # noqa: N802
        self, request: M.UpdateMessageTemplateRequest, context: Context
    ) -> M.MessageTemplate:
        """Change the masked fields; a content change makes a new version."""
        who = await self.who(context)
        template_id, body = mc.template_changes(request)
        effect = functools.partial(self.dc.message_templates.update, who, template_id, body)
        return await idempotent(self, context, request, who, effect, mc.template)

    @translated
    async def ArchiveMessageTemplate(  # noqa: N802
        self, request: M.ArchiveMessageTemplateRequest, context: Context
    ) -> M.MessageTemplate:
        """Archive a template; return it archived."""
        who = await self.who(context)
        effect = functools.partial(self.dc.message_templates.archive, who, request.id)
        return await idempotent(self, context, request, who, effect, mc.template)

    @translated
    async def ListMessageTemplateVersions(  # noqa: N802
        self, request: M.ListMessageTemplateVersionsRequest, context: Context
    ) -> M.ListMessageTemplateVersionsResponse:
        """Return one page of a template's versions, newest first."""
        who = await self.who(context)
        listing = f"message_template_versions:{request.id}"  # a token is one template's
        params, token = mc.versions_query(request)
        params = paging.apply_token(listing, params, token)
        found = await self.run(self.dc.message_templates.versions, who, request.id, params)
        return mc.version_page(found, paging.next_token(listing, params, found))

    @translated
    async def GetMessageTemplateVersion(  # noqa: N802
        self, request: M.GetMessageTemplateVersionRequest, context: Context
    ) -> M.MessageTemplateVersion:
        """Return one version of a template."""
        who = await self.who(context)
        found = await self.run(
            self.dc.message_templates.version, who, request.id, str(request.version)
        )
        return mc.version(found)
