"""Every public RPC demands the contract's scope: PERMISSION_DENIED ``insufficient_scope``.

The table below is the contract's scope rule, one entry per RPC. The RPCs themselves are read
from the registered services (``PUBLIC_SERVICES`` and their descriptors), so an RPC added
without an entry here fails ``test_every_public_rpc_has_a_scope_rule``. Each request is a
valid one on real rows of the tenant: the full key would succeed, so the only thing a key
missing the scope lacks is that scope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, field_mask_pb2, timestamp_pb2
from grpc_support import Server, add_execution, failure, local, reminder_request
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.offload import Offloader
from dialcues_grpc._pb.dialcues.v1 import (
    audit_pb2,
    calls_pb2,
    common_pb2,
    consents_pb2,
    executions_pb2,
    identity_pb2,
    lines_pb2,
    messages_pb2,
    numbers_pb2,
    policy_pb2,
    reminders_pb2,
    suppressions_pb2,
    usage_pb2,
    webhooks_pb2,
)
from dialcues_grpc.server import PUBLIC_SERVICES

R, E, W = reminders_pb2, executions_pb2, webhooks_pb2
S, C, N, L = suppressions_pb2, consents_pb2, numbers_pb2, lines_pb2
M = messages_pb2
TEXTS = "+14155550150"
"""A line of the tenant that sends SMS (not the default)."""
HOOK_URL = "https://93.184.215.14/hooks"
SUPPRESSED = "+14155550009"
"""A number on the tenant's suppression list, with a newer consent to remove it."""
CONSENTED = "+14155550123"
"""A number with an active consent (to read and revoke)."""
HELD, DROPPED, ASSIGNED, ACTIVE, FREE = (f"+1415555014{d}" for d in "23456")
"""Numbers of the simulated carrier: held (to extend and read), held (to drop), held (to
assign), assigned and active (to release), and free (to hold)."""


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The platform on a fresh SQLite file; simulated number orders complete at once."""
    platform = Dialcues.open(settings=settings_for(sqlite_url, simulated_delay=0))
    yield platform
    platform.close()


def consent_fields(number: str, captured_at: datetime) -> dict[str, str]:
    """An informational consent's REST body."""
    return {
        "phone_number": number,
        "type": "express",
        "purpose": "informational",
        "source": "verbal",
        "text": "You may call me with reminders.",
        "captured_at": captured_at.isoformat(),
    }


@dataclass
class Targets:
    """Rows of the tenant the requests act on."""

    reminder: int
    paused: int
    execution: int
    subscription: str
    consent: str
    """An active consent of ``CONSENTED``."""
    removal_consent: str
    """A consent of ``SUPPRESSED`` captured after its entry."""
    line: str
    """The tenant's line, on an ``external`` route."""
    waiting: int
    """An inbound call ringing that line, waiting for its decision (5 s)."""
    template: str
    """A message template of the organization (``visit``, SMS, one slot)."""
    message: str
    """A message the tenant sent to ``CONSENTED``."""


Request = Callable[[Targets], Any]
SCOPE_RULES: dict[str, tuple[str | None, Request]] = {
    "ReminderService/CreateReminder": ("reminders:write", lambda t: reminder_request()),
    "ReminderService/GetReminder": (
        "reminders:read",
        lambda t: R.GetReminderRequest(id=t.reminder),
    ),
    "ReminderService/ListReminders": ("reminders:read", lambda t: R.ListRemindersRequest()),
    "ReminderService/UpdateReminder": (
        "reminders:write",
        lambda t: R.UpdateReminderRequest(
            id=t.reminder, update_mask=field_mask_pb2.FieldMask(paths=["title"]), title="New"
        ),
    ),
    "ReminderService/PauseReminder": (
        "reminders:write",
        lambda t: R.PauseReminderRequest(id=t.reminder),
    ),
    "ReminderService/ResumeReminder": (
        "reminders:write",
        lambda t: R.ResumeReminderRequest(id=t.paused, scheduled_at=local("2031-01-02T09:00:00")),
    ),
    "ReminderService/DeleteReminder": (
        "reminders:write",
        lambda t: R.DeleteReminderRequest(id=t.reminder),
    ),
    "ReminderService/ListOccurrences": (
        "reminders:read",
        lambda t: R.ListOccurrencesRequest(id=t.reminder, count=3),
    ),
    "ExecutionService/ListExecutions": ("executions:read", lambda t: E.ListExecutionsRequest()),
    "ExecutionService/GetExecution": (
        "executions:read",
        lambda t: E.GetExecutionRequest(id=t.execution),
    ),
    "LineService/ListLines": ("lines:read", lambda t: lines_pb2.ListLinesRequest()),
    "UsageService/ListUsageEvents": ("usage:read", lambda t: usage_pb2.ListUsageEventsRequest()),
    "CallService/PlaceCall": (
        "calls:write",
        lambda t: calls_pb2.PlaceCallRequest(to="+14155552671", message="Now"),
    ),
    "AgentService/Smoke": ("reminders:write", lambda t: calls_pb2.SmokeRequest()),
    "WebhookService/CreateWebhookSubscription": (
        "webhooks:manage",
        lambda t: W.CreateWebhookSubscriptionRequest(url=HOOK_URL, events=["execution.finished"]),
    ),
    "WebhookService/ListWebhookSubscriptions": (
        "webhooks:manage",
        lambda t: W.ListWebhookSubscriptionsRequest(),
    ),
    "WebhookService/GetWebhookSubscription": (
        "webhooks:manage",
        lambda t: W.GetWebhookSubscriptionRequest(id=t.subscription),
    ),
    "WebhookService/UpdateWebhookSubscription": (
        "webhooks:manage",
        lambda t: W.UpdateWebhookSubscriptionRequest(
            id=t.subscription, update_mask=field_mask_pb2.FieldMask(paths=["enabled"])
        ),
    ),
    "WebhookService/DeleteWebhookSubscription": (
        "webhooks:manage",
        lambda t: W.DeleteWebhookSubscriptionRequest(id=t.subscription),
    ),
    "WebhookService/RotateWebhookSecret": (
        "webhooks:manage",
        lambda t: W.RotateWebhookSecretRequest(id=t.subscription),
    ),
    "WebhookService/ListWebhookDeliveries": (
        "webhooks:manage",
        lambda t: W.ListWebhookDeliveriesRequest(id=t.subscription),
    ),
    "PolicyService/GetPolicy": ("policy:read", lambda t: policy_pb2.GetPolicyRequest()),
    "AuditService/ListAuditEvents": (
        "audit:read",
        lambda t: audit_pb2.ListAuditEventsRequest(action="policy.updated"),
    ),
    "SuppressionService/ListSuppressions": (
        "suppressions:read",
        lambda t: S.ListSuppressionsRequest(),
    ),
    "SuppressionService/CreateSuppression": (
        "suppressions:write",
        lambda t: S.CreateSuppressionRequest(phone_number="+14155550010"),
    ),
    "SuppressionService/GetSuppression": (
        "suppressions:read",
        lambda t: S.GetSuppressionRequest(phone_number=SUPPRESSED),
    ),
    "SuppressionService/RemoveSuppression": (
        "suppressions:write",
        lambda t: S.RemoveSuppressionRequest(phone_number=SUPPRESSED, consent_id=t.removal_consent),
    ),
    "ConsentService/CreateConsent": (
        "consents:write",
        lambda t: C.CreateConsentRequest(
            phone_number=CONSENTED,
            type="express",
            purpose="informational",
            source="verbal",
            text="You may call me.",
            captured_at=timestamp_pb2.Timestamp(seconds=1_767_225_600),  # 2026-01-01
        ),
    ),
    "ConsentService/ListConsents": ("consents:read", lambda t: C.ListConsentsRequest()),
    "ConsentService/GetConsent": ("consents:read", lambda t: C.GetConsentRequest(id=t.consent)),
    "ConsentService/RevokeConsent": (
        "consents:write",
        lambda t: C.RevokeConsentRequest(id=t.consent),
    ),
    "IdentityService/WhoAmI": (None, lambda t: identity_pb2.WhoAmIRequest()),
    "NumberService/SearchNumbers": (
        "numbers:read",
        lambda t: N.SearchNumbersRequest(country="US", npa="415", limit=2),
    ),
    "NumberService/GetNumber": ("numbers:read", lambda t: N.GetNumberRequest(number=HELD)),
    "NumberService/ListNumbers": ("numbers:read", lambda t: N.ListNumbersRequest()),
    "NumberService/HoldNumber": ("numbers:write", lambda t: N.HoldNumberRequest(number=FREE)),
    "NumberService/ExtendHold": ("numbers:write", lambda t: N.ExtendHoldRequest(number=HELD)),
    "NumberService/DropHold": ("numbers:write", lambda t: N.DropHoldRequest(number=DROPPED)),
    "NumberService/AssignNumber": (
        "numbers:write",
        lambda t: N.AssignNumberRequest(number=ASSIGNED),
    ),
    "NumberService/ReleaseNumber": (
        "numbers:write",
        lambda t: N.ReleaseNumberRequest(number=ACTIVE),
    ),
    "LineService/GetLine": ("lines:read", lambda t: L.GetLineRequest(id=t.line)),
    "LineService/UpdateLine": (
        "lines:write",
        lambda t: L.UpdateLineRequest(
            id=t.line, update_mask=field_mask_pb2.FieldMask(paths=["label"]), label="Front desk"
        ),
    ),
    "CallService/AnswerInboundCall": (
        "calls:write",
        lambda t: calls_pb2.AnswerInboundCallRequest(
            execution_id=t.waiting, route=L.DecidedRoute(reject=L.RejectRoute())
        ),
    ),
    "MessageService/SendMessage": ("messages:write", lambda t: send_request(t.template)),
    "MessageService/GetMessage": ("messages:read", lambda t: M.GetMessageRequest(id=t.message)),
    "MessageService/ListMessages": ("messages:read", lambda t: M.ListMessagesRequest()),
    "MessageTemplateService/CreateMessageTemplate": (
        "templates:write",
        lambda t: M.CreateMessageTemplateRequest(
            name="other", body="Hi", channels=["sms"], purpose="informational"
        ),
    ),
    "MessageTemplateService/GetMessageTemplate": (
        "messages:read",
        lambda t: M.GetMessageTemplateRequest(id=t.template),
    ),
    "MessageTemplateService/ListMessageTemplates": (
        "messages:read",
        lambda t: M.ListMessageTemplatesRequest(),
    ),
    "MessageTemplateService/UpdateMessageTemplate": (
        "templates:write",
        lambda t: M.UpdateMessageTemplateRequest(
            id=t.template, update_mask=field_mask_pb2.FieldMask(paths=["body"]), body="Hey {{who}}"
        ),
    ),
    "MessageTemplateService/ArchiveMessageTemplate": (
        "templates:write",
        lambda t: M.ArchiveMessageTemplateRequest(id=t.template),
    ),
    "MessageTemplateService/ListMessageTemplateVersions": (
        "messages:read",
        lambda t: M.ListMessageTemplateVersionsRequest(id=t.template),
    ),
    "MessageTemplateService/GetMessageTemplateVersion": (
        "messages:read",
        lambda t: M.GetMessageTemplateVersionRequest(id=t.template, version=1),
    ),
}
"""``Service/Method`` → (the scope it needs, None for any credential; a valid request)."""
SCOPED = sorted(name for name, (scope, _) in SCOPE_RULES.items() if scope is not None)


def send_request(template_id: str) -> M.SendMessageRequest:
    """A valid SMS send of the template from :data:`TEXTS` to :data:`CONSENTED`."""
    return M.SendMessageRequest(
        to=CONSENTED,
        channel="sms",
        template_id=template_id,
        variables={"who": "Ada"},
        **{"from": TEXTS},
    )


def public_rpcs() -> dict[str, str]:
    """Return ``Service/Method`` → wire name of every RPC of the registered public services."""
    pool = descriptor_pool.Default()
    return {
        f"{service.name}/{method.name}": f"/{service.full_name}/{method.name}"
        for _, name in PUBLIC_SERVICES.values()
        for service in [pool.FindServiceByName(name)]
        for method in service.methods
    }


async def invoke(server: Server, token: str, rpc: str, request: Any) -> grpc.aio.AioRpcError | None:
    """Call ``rpc`` with ``token``; return its error, or None when it succeeded."""
    channel = server.stubs(token).channel
    method = channel.unary_unary(
        public_rpcs()[rpc], request_serializer=type(request).SerializeToString
    )
    try:
        await method(request, metadata=(("authorization", f"Bearer {token}"),))
    except grpc.aio.AioRpcError as exc:
        return exc
    return None


def targets(dc: Dialcues, tenant: Tenant, offloader: Offloader) -> Targets:
    """Create a scheduled and a paused reminder, an execution, a subscription, a suppressed
    number with a newer consent, a consent of another number, the numbers of :data:`HELD` …
    :data:`ACTIVE`, an inbound call waiting on the tenant's line, a line that texts, a
    template and a message sent with it."""
    who = tenant.principal
    numbers(dc, tenant, offloader)
    route = {"type": "external", "timeout_ms": 5000}
    dc.lines.update_for(tenant.org.id, tenant.line.id, {"route": route})
    ringing = dc.inbound.ring_line(tenant.org.id, tenant.line.id, "+14155552671")
    assert ringing.execution_id is not None
    fields = {"title": "Stand-up", "message": "Hi", "phone_number": "+14155552671"}
    when = {"timezone": "America/New_York", "scheduled_at": "2030-03-25T09:00:00"}
    reminder = dc.reminders.create(who, fields | when)
    paused = dc.reminders.create(who, fields | when)
    dc.reminders.update(who, paused.id, {"status": "paused"})
    sub = dc.webhooks.create(who, {"url": HOOK_URL, "events": ["execution.finished"]})
    now = datetime.now(UTC)
    consent = dc.consents.create(who, consent_fields(CONSENTED, now - timedelta(days=1)))
    dc.suppressions.add(who, {"phone_number": SUPPRESSED})
    newer = dc.consents.create(who, consent_fields(SUPPRESSED, now + timedelta(minutes=1)))
    features = ("sms", "voice")
    dc.accounts.add_line(tenant.org.id, "simulated", TEXTS, features=features, carrier="simulated")
    body = {"name": "visit", "body": "Hi {{who}}", "channels": ["sms"], "purpose": "informational"}
    template = dc.message_templates.create(who, body)
    sent = dc.messages.send(
        who,
        {
            "from": TEXTS,
            "to": CONSENTED,
            "channel": "sms",
            "template_id": template.id,
            "variables": {"who": "Ada"},
        },
    )
    return Targets(
        reminder.id,
        paused.id,
        add_execution(tenant, reminder.id),
        sub.subscription.id,
        consent.id,
        newer.id,
        tenant.line.id,
        ringing.execution_id,
        template.id,
        sent.id,
    )


def numbers(dc: Dialcues, tenant: Tenant, offloader: Offloader) -> None:
    """Hold :data:`HELD`, :data:`DROPPED` and :data:`ASSIGNED`; make :data:`ACTIVE` active."""
    org = tenant.org.id
    for number in (HELD, DROPPED, ASSIGNED, ACTIVE):
        dc.numbers.hold_for(org, {"number": number}).run()
    record = dc.numbers.assign_for(org, ACTIVE)
    assert dc.provisioner(offloader).provisioning.advance(record.id) is not None
    assert dc.numbers.get_for(org, ACTIVE).status == "active"


def key_with(dc: Dialcues, tenant: Tenant, scopes: list[str]) -> str:
    """Issue a key of the tenant's user carrying exactly ``scopes``."""
    return dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw


def test_every_public_rpc_has_a_scope_rule() -> None:
    assert set(public_rpcs()) == set(SCOPE_RULES)


@pytest.mark.parametrize("rpc", SCOPED)
async def test_a_key_lacking_exactly_the_scope_is_permission_denied(
    server: Server, dc: Dialcues, tenant: Tenant, grpc_offloader: Offloader, rpc: str
) -> None:
    scope, request = SCOPE_RULES[rpc]
    key = key_with(dc, tenant, [s for s in ALL_SCOPES if s != scope])
    error = await invoke(server, key, rpc, request(targets(dc, tenant, grpc_offloader)))
    assert error is not None, f"{rpc} succeeded without {scope}"
    failed = failure(error)
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": scope}


@pytest.mark.parametrize("rpc", SCOPED)
async def test_a_key_with_only_the_scope_gets_past_the_check(
    server: Server, dc: Dialcues, tenant: Tenant, grpc_offloader: Offloader, rpc: str
) -> None:
    dc.smoke.wait_seconds = 0.3  # no dispatcher runs here: Smoke stops at `dispatch`
    scope, request = SCOPE_RULES[rpc]
    made = targets(dc, tenant, grpc_offloader)
    error = await invoke(server, key_with(dc, tenant, [str(scope)]), rpc, request(made))
    if rpc == "AgentService/Smoke":
        assert error is not None and failure(error).reason == "smoke_failed"
    else:
        assert error is None, f"{rpc}: {error and error.code()} {error and error.details()}"


@pytest.mark.parametrize("scope", ALL_SCOPES)
async def test_who_am_i_needs_no_scope(
    server: Server, dc: Dialcues, tenant: Tenant, scope: str
) -> None:
    error = await invoke(
        server,
        key_with(dc, tenant, [scope]),
        "IdentityService/WhoAmI",
        identity_pb2.WhoAmIRequest(),
    )
    assert error is None


MALFORMED = {
    "ReminderService/UpdateReminder": R.UpdateReminderRequest(
        id=1, update_mask=field_mask_pb2.FieldMask(paths=["nope"])
    ),
    "ReminderService/ListReminders": R.ListRemindersRequest(page_token="zzz"),
    "WebhookService/UpdateWebhookSubscription": W.UpdateWebhookSubscriptionRequest(
        id="whsub_x", update_mask=field_mask_pb2.FieldMask(paths=["secret"])
    ),
    "WebhookService/ListWebhookSubscriptions": W.ListWebhookSubscriptionsRequest(page_token="zzz"),
    "WebhookService/ListWebhookDeliveries": W.ListWebhookDeliveriesRequest(
        id="whsub_x", page_token="zzz"
    ),
    "ExecutionService/ListExecutions": E.ListExecutionsRequest(page_token="zzz"),
    "UsageService/ListUsageEvents": usage_pb2.ListUsageEventsRequest(page_token="zzz"),
    "AuditService/ListAuditEvents": audit_pb2.ListAuditEventsRequest(page_token="zzz"),
    "SuppressionService/ListSuppressions": S.ListSuppressionsRequest(page_token="zzz"),
    "ConsentService/ListConsents": C.ListConsentsRequest(page_token="zzz"),
    "SuppressionService/CreateSuppression": S.CreateSuppressionRequest(
        phone_number="+14155550010", request_id="x" * 300
    ),
    "ConsentService/GetConsent": C.GetConsentRequest(id="cns_\x00"),
    "ReminderService/CreateReminder": reminder_request(
        scheduled_at=common_pb2.TimeInput(instant=timestamp_pb2.Timestamp(nanos=-1))
    ),
    "CallService/PlaceCall": calls_pb2.PlaceCallRequest(
        to="+14155552671", message="Now", request_id="x" * 300
    ),
    "WebhookService/DeleteWebhookSubscription": W.DeleteWebhookSubscriptionRequest(
        id="whsub_x", request_id="x" * 300
    ),
    "WebhookService/GetWebhookSubscription": W.GetWebhookSubscriptionRequest(id="whsub_\x00"),
    "NumberService/ListNumbers": N.ListNumbersRequest(page_token="zzz"),
    "NumberService/HoldNumber": N.HoldNumberRequest(number=FREE, request_id="x" * 300),
    "LineService/UpdateLine": L.UpdateLineRequest(
        id="line_x", update_mask=field_mask_pb2.FieldMask(paths=["nope"])
    ),
    "CallService/AnswerInboundCall": calls_pb2.AnswerInboundCallRequest(
        execution_id=1, request_id="x" * 300
    ),
    "MessageService/ListMessages": M.ListMessagesRequest(page_token="zzz"),
    "MessageService/SendMessage": M.SendMessageRequest(to=CONSENTED, request_id="x" * 300),
    "MessageTemplateService/UpdateMessageTemplate": M.UpdateMessageTemplateRequest(
        id="tpl_x", update_mask=field_mask_pb2.FieldMask(paths=["nope"])
    ),
    "MessageTemplateService/ListMessageTemplateVersions": M.ListMessageTemplateVersionsRequest(
        id="tpl_x", page_token="zzz"
    ),
}
"""Requests the gRPC edge refuses before the core runs (unknown mask path, foreign token,
out-of-range timestamp, over-long ``request_id``)."""


@pytest.mark.parametrize("rpc", sorted(MALFORMED))
async def test_the_scope_is_checked_before_the_request_is_validated(
    server: Server, dc: Dialcues, tenant: Tenant, rpc: str
) -> None:
    scope = SCOPE_RULES[rpc][0]
    key = key_with(dc, tenant, [s for s in ALL_SCOPES if s != scope])
    error = await invoke(server, key, rpc, MALFORMED[rpc])
    assert error is not None
    assert (failure(error).reason, failure(error).metadata) == (
        "insufficient_scope",
        {"scope": scope},
    )


async def test_an_unauthenticated_call_with_a_nul_is_unauthenticated_first(server: Server) -> None:
    request = W.GetWebhookSubscriptionRequest(id="whsub_\x00")
    error = await invoke(
        server, "dc_live_not_a_key", "WebhookService/GetWebhookSubscription", request
    )
    assert error is not None and error.code() == grpc.StatusCode.UNAUTHENTICATED
