"""Each public RPC's core use case: where its rate class and its scope come from.

The platform interceptor admits every call through the core
(:class:`~dialcues_core.platform.admission.Admission`): it charges the bucket the use case
declares (``read`` or ``write``) and checks its scope before the servicer runs, exactly as
REST does for its routes. A use case is named by its attribute path on
:class:`~dialcues_core.Dialcues`; None is an RPC without one (``WhoAmI``: a read that any
valid credential may make). A test derives the registered services' methods and requires an
entry for each. The RPCs of :data:`OPEN` need no credential at all (as REST's public routes):
they are charged to the peer's ``anon`` bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, Final

from dialcues_core import Dialcues

_V1: Final = "/dialcues.v1."

USES: Final[dict[str, str | None]] = {
    f"{_V1}ReminderService/CreateReminder": "reminders.create",
    f"{_V1}ReminderService/GetReminder": "reminders.get",
    f"{_V1}ReminderService/ListReminders": "reminders.list",
    f"{_V1}ReminderService/UpdateReminder": "reminders.update",
    f"{_V1}ReminderService/PauseReminder": "reminders.update",
    f"{_V1}ReminderService/ResumeReminder": "reminders.update",
    f"{_V1}ReminderService/DeleteReminder": "reminders.delete",
    f"{_V1}ReminderService/ListOccurrences": "reminders.occurrences",
    f"{_V1}ExecutionService/ListExecutions": "executions.list",
    f"{_V1}ExecutionService/GetExecution": "executions.get",
    f"{_V1}LineService/ListLines": "accounts.lines_of",
    f"{_V1}LineService/GetLine": "lines.get",
    f"{_V1}LineService/UpdateLine": "lines.update",
    f"{_V1}IdentityService/WhoAmI": None,
    f"{_V1}UsageService/ListUsageEvents": "usage.list",
    f"{_V1}CallService/PlaceCall": "calls.place",
    f"{_V1}CallService/AnswerInboundCall": "inbound.answer",
    f"{_V1}AgentService/Smoke": "smoke.run",
    f"{_V1}WebhookService/CreateWebhookSubscription": "webhooks.create",
    f"{_V1}WebhookService/ListWebhookSubscriptions": "webhooks.list",
    f"{_V1}WebhookService/GetWebhookSubscription": "webhooks.get",
    f"{_V1}WebhookService/UpdateWebhookSubscription": "webhooks.update",
    f"{_V1}WebhookService/DeleteWebhookSubscription": "webhooks.delete",
    f"{_V1}WebhookService/RotateWebhookSecret": "webhooks.rotate_secret",
    f"{_V1}WebhookService/ListWebhookDeliveries": "webhooks.deliveries",
    f"{_V1}PolicyService/GetPolicy": "policies.get",
    f"{_V1}AuditService/ListAuditEvents": "audit.list",
    f"{_V1}SuppressionService/ListSuppressions": "suppressions.list",
    f"{_V1}SuppressionService/CreateSuppression": "suppressions.add",
    f"{_V1}SuppressionService/GetSuppression": "suppressions.get",
    f"{_V1}SuppressionService/RemoveSuppression": "suppressions.remove",
    f"{_V1}ConsentService/CreateConsent": "consents.create",
    f"{_V1}ConsentService/ListConsents": "consents.list",
    f"{_V1}ConsentService/GetConsent": "consents.get",
    f"{_V1}ConsentService/RevokeConsent": "consents.revoke",
    f"{_V1}NumberService/SearchNumbers": "numbers.search",
    f"{_V1}NumberService/HoldNumber": "numbers.hold",
    f"{_V1}NumberService/ExtendHold": "numbers.extend",
    f"{_V1}NumberService/DropHold": "numbers.drop_hold",
    f"{_V1}NumberService/AssignNumber": "numbers.assign",
    f"{_V1}NumberService/ReleaseNumber": "numbers.release",
    f"{_V1}NumberService/GetNumber": "numbers.get",
    f"{_V1}NumberService/ListNumbers": "numbers.list",
    f"{_V1}MessageService/SendMessage": "messages.send",
    f"{_V1}MessageService/GetMessage": "messages.get",
    f"{_V1}MessageService/ListMessages": "messages.list",
    f"{_V1}MessageTemplateService/CreateMessageTemplate": "message_templates.create",
    f"{_V1}MessageTemplateService/GetMessageTemplate": "message_templates.get",
    f"{_V1}MessageTemplateService/ListMessageTemplates": "message_templates.list",
    f"{_V1}MessageTemplateService/UpdateMessageTemplate": "message_templates.update",
    f"{_V1}MessageTemplateService/ArchiveMessageTemplate": "message_templates.archive",
    f"{_V1}MessageTemplateService/ListMessageTemplateVersions": "message_templates.versions",
    f"{_V1}MessageTemplateService/GetMessageTemplateVersion": "message_templates.version",
    f"{_V1}DeprecationService/ListDeprecations": None,
}
"""Full method name → the use case it runs (attribute path on ``Dialcues``), or None."""

OPEN: Final = frozenset({f"{_V1}DeprecationService/ListDeprecations"})
"""The public RPCs answered without a credential (REST: ``GET /deprecations``)."""


def use_cases(dc: Dialcues) -> dict[str, Callable[..., Any] | None]:
    """Return each public RPC's bound use case on ``dc``."""
    return {rpc: attrgetter(path)(dc) if path else None for rpc, path in USES.items()}
