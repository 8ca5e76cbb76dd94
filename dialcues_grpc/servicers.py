"""The ``dialcues.v1`` servicers: authenticate, convert, call one core function, convert back.

No rule lives here: the core validates, :mod:`dialcues_grpc.convert` translates and
:func:`dialcues_grpc.errors.translated` turns every error into a status. Database work runs
on the offloader's threads; ``WhoAmI`` is pure (it reads the principal) and makes no hop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from google.protobuf import empty_pb2

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Principal
from dialcues_core.numbers import carrier_settings
from dialcues_core.offload import Offloader
from dialcues_grpc import (
    admin_convert,
    convert,
    number_convert,
    paging,
    policy_convert,
    reminder_convert,
)
from dialcues_grpc._pb.dialcues.v1 import (
    api_keys_pb2,
    api_keys_pb2_grpc,
    common_pb2,
    executions_pb2,
    executions_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    lines_pb2,
    lines_pb2_grpc,
    organizations_pb2,
    organizations_pb2_grpc,
    outbound_lines_pb2,
    outbound_lines_pb2_grpc,
    policy_pb2,
    reminders_pb2,
    reminders_pb2_grpc,
)
from dialcues_grpc.auth import AdminAuth, ApiKeyAuth
from dialcues_grpc.errors import refuse_malformed_request, translated
from dialcues_grpc.idempotency import idempotent

P = ParamSpec("P")
R = TypeVar("R")
Context = Any
"""``grpc.aio.ServicerContext`` (grpc ships no type information)."""


class _Servicer:
    """What every servicer holds: the platform, the thread pool and the API-key check."""

    def __init__(self, dc: Dialcues, offloader: Offloader):
        self.dc = dc
        self.offloader = offloader
        self.auth = ApiKeyAuth(dc.authenticator, offloader)

    async def who(self, context: Context) -> Principal:
        """Return the principal of the call (or raise the core's auth error).

        The platform interceptor admitted the call: the scope of its use case was checked
        before the request was converted, so a credential lacking it is PERMISSION_DENIED
        whatever it sent.
        """
        who = await self.auth.principal(context)
        refuse_malformed_request()
        return who

    async def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a synchronous core call on the offloader."""
        return await self.offloader.run(fn, *args, **kwargs)


class _AdminServicer(_Servicer):
    """A servicer of the administration services: every call needs the admin token."""

    def __init__(self, dc: Dialcues, offloader: Offloader, admin: AdminAuth):
        super().__init__(dc, offloader)
        self.admin = admin


# ----------------------------------------------------------------------------- public
class ReminderServicer(_Servicer, reminders_pb2_grpc.ReminderServiceServicer):
    """``dialcues.v1.ReminderService``: the REST /reminders routes."""

    @translated
    async def CreateReminder(  # noqa: N802
        self, request: reminders_pb2.CreateReminderRequest, context: Context
    ) -> reminders_pb2.Reminder:
        """Schedule a reminder."""
        who = await self.who(context)
        payload = reminder_convert.create_reminder(request)
        effect = functools.partial(self.dc.reminders.create, who, payload)
        return await idempotent(self, context, request, who, effect, reminder_convert.reminder)

    @translated
    async def GetReminder(  # noqa: N802
        self, request: reminders_pb2.GetReminderRequest, context: Context
    ) -> reminders_pb2.Reminder:
        """Return one of the caller's reminders."""
        who = await self.who(context)
        rid = convert.object_id(request)
        return reminder_convert.reminder(await self.run(self.dc.reminders.get, who, rid))

    @translated
    async def ListReminders(  # noqa: N802
        self, request: reminders_pb2.ListRemindersRequest, context: Context
    ) -> reminders_pb2.ListRemindersResponse:
        """Return one page of the caller's reminders."""
        who = await self.who(context)
        params, token = convert.reminder_query(request)
        params = paging.apply_token("reminders", params, token)
        found = await self.run(self.dc.reminders.list, who, params)
        return reminder_convert.reminder_page(found, paging.next_token("reminders", params, found))

    @translated
    async def UpdateReminder(  # noqa: N802
        self, request: reminders_pb2.UpdateReminderRequest, context: Context
    ) -> reminders_pb2.Reminder:
        """Change the masked fields of a reminder."""
        who = await self.who(context)
        rid, payload = reminder_convert.update_reminder(request)
        effect = functools.partial(self.dc.reminders.update, who, rid, payload)
        return await idempotent(self, context, request, who, effect, reminder_convert.reminder)

    @translated
    async def PauseReminder(  # noqa: N802
        self, request: reminders_pb2.PauseReminderRequest, context: Context
    ) -> reminders_pb2.Reminder:
        """Pause a reminder."""
        who = await self.who(context)
        rid, payload = reminder_convert.pause_reminder(request)
        effect = functools.partial(self.dc.reminders.update, who, rid, payload)
        return await idempotent(self, context, request, who, effect, reminder_convert.reminder)

    @translated
    async def ResumeReminder(  # noqa: N802
        self, request: reminders_pb2.ResumeReminderRequest, context: Context
    ) -> reminders_pb2.Reminder:
        """Resume a paused reminder."""
        who = await self.who(context)
        rid, payload = reminder_convert.resume_reminder(request)
        effect = functools.partial(self.dc.reminders.update, who, rid, payload)
        return await idempotent(self, context, request, who, effect, reminder_convert.reminder)

    @translated
    async def DeleteReminder(  # noqa: N802
        self, request: reminders_pb2.DeleteReminderRequest, context: Context
    ) -> empty_pb2.Empty:
        """Delete a reminder for good."""
        who = await self.who(context)
        rid = convert.object_id(request)
        effect = functools.partial(self.dc.reminders.delete, who, rid)
        return await idempotent(self, context, request, who, effect, lambda _: convert.empty())

    @translated
    async def ListOccurrences(  # noqa: N802
        self, request: reminders_pb2.ListOccurrencesRequest, context: Context
    ) -> reminders_pb2.ListOccurrencesResponse:
        """Preview what the gate will do with a reminder's next occurrences."""
        who = await self.who(context)
        rid, params = reminder_convert.occurrence_query(request)
        found = await self.run(self.dc.reminders.occurrences, who, rid, params)
        return reminder_convert.occurrences(found)


class ExecutionServicer(_Servicer, executions_pb2_grpc.ExecutionServiceServicer):
    """``dialcues.v1.ExecutionService``: the REST /executions routes."""

    @translated
    async def ListExecutions(  # noqa: N802
        self, request: executions_pb2.ListExecutionsRequest, context: Context
    ) -> executions_pb2.ListExecutionsResponse:
        """Return one page of the caller's executions, newest first."""
        who = await self.who(context)
        params, token = convert.execution_query(request)
        params = paging.apply_token("executions", params, token)
        found = await self.run(self.dc.executions.list, who, params)
        return convert.execution_page(found, paging.next_token("executions", params, found))

    @translated
    async def GetExecution(  # noqa: N802
        self, request: executions_pb2.GetExecutionRequest, context: Context
    ) -> executions_pb2.Execution:
        """Return one of the caller's executions."""
        who = await self.who(context)
        eid = convert.object_id(request)
        return convert.execution(await self.run(self.dc.executions.get, who, eid))


class LineServicer(_Servicer, lines_pb2_grpc.LineServiceServicer):
    """``dialcues.v1.LineService``: the REST /lines routes."""

    @translated
    async def ListLines(  # noqa: N802
        self, request: lines_pb2.ListLinesRequest, context: Context
    ) -> lines_pb2.ListLinesResponse:
        """Return the caller's organization's lines."""
        who = await self.who(context)
        return convert.lines(await self.run(self.dc.accounts.lines_of, who))

    @translated
    async def GetLine(  # noqa: N802
        self, request: lines_pb2.GetLineRequest, context: Context
    ) -> lines_pb2.Line:
        """Return one of the caller's organization's lines."""
        who = await self.who(context)
        return convert.line(await self.run(self.dc.lines.get, who, request.id))

    @translated
    async def UpdateLine(  # noqa: N802
        self, request: lines_pb2.UpdateLineRequest, context: Context
    ) -> lines_pb2.Line:
        """Change the masked fields of a line: label, route, default."""
        who = await self.who(context)
        line_id, payload = convert.update_line(request)
        effect = functools.partial(self.dc.lines.update, who, line_id, payload)
        return await idempotent(self, context, request, who, effect, convert.line)


class IdentityServicer(_Servicer, identity_pb2_grpc.IdentityServiceServicer):
    """``dialcues.v1.IdentityService``: the REST /me route."""

    @translated
    async def WhoAmI(  # noqa: N802
        self, request: identity_pb2.WhoAmIRequest, context: Context
    ) -> identity_pb2.WhoAmIResponse:
        """Return who the call's API key acts as."""
        return convert.whoami(self.dc.whoami(await self.who(context)))


# ----------------------------------------------------------------------------- administration
class OrganizationServicer(_AdminServicer, organizations_pb2_grpc.OrganizationServiceServicer):
    """``dialcues.v1.OrganizationService``: organizations, users, provider settings, policies."""

    @translated
    async def CreateOrganization(  # noqa: N802
        self, request: organizations_pb2.CreateOrganizationRequest, context: Context
    ) -> organizations_pb2.Organization:
        """Create an organization."""
        org = await self.run(self.dc.accounts.create_organization, request.name)
        return admin_convert.organization(org)

    @translated
    async def GetOrganization(  # noqa: N802
        self, request: organizations_pb2.GetOrganizationRequest, context: Context
    ) -> organizations_pb2.Organization:
        """Return an organization (provider secrets masked)."""
        return admin_convert.organization(
            await self.run(self.dc.accounts.get_organization, request.id)
        )

    @translated
    async def CreateUser(  # noqa: N802
        self, request: organizations_pb2.CreateUserRequest, context: Context
    ) -> common_pb2.User:
        """Create a user."""
        created = await self.run(self.dc.accounts.create_user, *admin_convert.new_user(request))
        return convert.user(created)

    @translated
    async def GetUser(  # noqa: N802
        self, request: organizations_pb2.GetUserRequest, context: Context
    ) -> common_pb2.User:
        """Return a user."""
        return convert.user(await self.run(self.dc.accounts.get_user, request.id))

    @translated
    async def SetProviderSettings(  # noqa: N802
        self, request: organizations_pb2.SetProviderSettingsRequest, context: Context
    ) -> organizations_pb2.Organization:
        """Set the organization's provider account (secrets write-only)."""
        org_id, fields = admin_convert.provider_settings(request)
        return admin_convert.organization(
            await self.run(self.dc.accounts.set_provider, org_id, fields)
        )

    @translated
    async def GetCallingPolicy(  # noqa: N802
        self, request: organizations_pb2.GetCallingPolicyRequest, context: Context
    ) -> policy_pb2.CallingPolicy:
        """Return an organization's calling policy."""
        view = await self.run(self.dc.policies.get_for, request.organization_id)
        return policy_convert.policy(view)

    @translated
    async def UpdateCallingPolicy(  # noqa: N802
        self, request: organizations_pb2.UpdateCallingPolicyRequest, context: Context
    ) -> organizations_pb2.UpdateCallingPolicyResponse:
        """Change the masked fields of a calling policy; audited as the request's actor.

        Like the other administration RPCs it takes no ``request_id``: the edge's idempotency
        store is keyed by a user, and an admin call has none. Sending the same change twice
        changes nothing the second time (and writes no second audit event), except a
        ``rotate_predial_secret``.
        """
        org_id, changes, options = policy_convert.policy_update(request)
        view = await self.run(self.dc.policies.update, org_id, changes, **options)
        return policy_convert.updated_policy(view)

    @translated
    async def SetCarrierSettings(  # noqa: N802
        self, request: organizations_pb2.SetCarrierSettingsRequest, context: Context
    ) -> organizations_pb2.MaskedCarrierSettings:
        """Set the organization's carrier; answer it masked, with the webhook URL to set."""
        org_id, fields = number_convert.carrier_settings(request)
        settings = await self.run(self.dc.numbers.set_carrier, org_id, fields)
        shown = carrier_settings.masked(settings, org_id, self.dc.settings.public_url)
        return number_convert.masked_carrier(shown)


class ApiKeyServicer(_AdminServicer, api_keys_pb2_grpc.ApiKeyServiceServicer):
    """``dialcues.v1.ApiKeyService``: create (raw key once), list, revoke."""

    @translated
    async def CreateApiKey(  # noqa: N802
        self, request: api_keys_pb2.CreateApiKeyRequest, context: Context
    ) -> api_keys_pb2.CreateApiKeyResponse:
        """Create a key; the raw key is in this response only."""
        issued = await self.run(
            self.dc.accounts.create_api_key, **admin_convert.new_api_key(request)
        )
        return admin_convert.issued_api_key(issued)

    @translated
    async def ListApiKeys(  # noqa: N802
        self, request: api_keys_pb2.ListApiKeysRequest, context: Context
    ) -> api_keys_pb2.ListApiKeysResponse:
        """Return a user's keys."""
        return admin_convert.api_keys(
            await self.run(self.dc.accounts.list_api_keys, request.user_id)
        )

    @translated
    async def RevokeApiKey(  # noqa: N802
        self, request: api_keys_pb2.RevokeApiKeyRequest, context: Context
    ) -> api_keys_pb2.ApiKey:
        """Revoke a key."""
        return admin_convert.api_key(await self.run(self.dc.accounts.revoke_api_key, request.id))


class OutboundLineServicer(_AdminServicer, outbound_lines_pb2_grpc.OutboundLineServiceServicer):
    """``dialcues.v1.OutboundLineService``: add, list, choose the default, remove."""

    @translated
    async def AddLine(  # noqa: N802
        self, request: outbound_lines_pb2.AddLineRequest, context: Context
    ) -> outbound_lines_pb2.OutboundLine:
        """Add a line."""
        line = await self.run(self.dc.accounts.add_line, **admin_convert.new_line(request))
        return admin_convert.outbound_line(line)

    @translated
    async def ListLines(  # noqa: N802
        self, request: outbound_lines_pb2.ListOutboundLinesRequest, context: Context
    ) -> outbound_lines_pb2.ListOutboundLinesResponse:
        """Return an organization's lines."""
        found = await self.run(self.dc.accounts.list_lines, request.organization_id)
        return admin_convert.outbound_lines(found)

    @translated
    async def SetDefaultLine(  # noqa: N802
        self, request: outbound_lines_pb2.SetDefaultLineRequest, context: Context
    ) -> outbound_lines_pb2.OutboundLine:
        """Make a line the organization's default."""
        line = await self.run(self.dc.accounts.set_default_line, *admin_convert.line_ref(request))
        return admin_convert.outbound_line(line)

    @translated
    async def RemoveLine(  # noqa: N802
        self, request: outbound_lines_pb2.RemoveLineRequest, context: Context
    ) -> empty_pb2.Empty:
        """Remove a line."""
        await self.run(self.dc.accounts.remove_line, *admin_convert.line_ref(request))
        return convert.empty()
