"""``MessageService`` and ``MessageTemplateService``: REST's ``/messages`` and
``/message-templates`` routes over gRPC (``telephony.md`` §4, §6.2, §6.5); and the reminders'
SMS ``fallback`` with the executions' ``fallback_message_id`` (§4.6).

Each call goes through a real server on 127.0.0.1:0 over the SQLite platform. The tenant gets
a simulated line that sends SMS and MMS (made the default), so a send needs no ``from``. The
server's process does not dispatch: a sent message stays ``queued``, as REST's 201 shows it.
Objects are compared with the core's renderers, the bodies REST answers, field for field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from consent_support import millis_text
from google.protobuf import field_mask_pb2
from google.protobuf import message as pb_message
from grpc_support import Server, Stubs, add_execution, fails, reminder_request
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import MessageRow
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.messages.rendering import message_payload, template_payload, version_payload
from dialcues_grpc._pb.dialcues.v1 import (
    executions_pb2,
    messages_pb2,
    messages_pb2_grpc,
    reminders_pb2,
)

M = messages_pb2
Json = dict[str, Any]
SMS_LINE = "+14155550142"
TO = "+14155552671"
BODY = "Hi {{ first_name }}, see you at {{time}}."
VARIABLES = {"first_name": "Ada", "time": "3 pm"}


# ----------------------------------------------------------------------------- setup
@pytest.fixture(autouse=True)
def sms_line(dc: Dialcues, tenant: Tenant) -> str:
    """A simulated line that sends SMS and MMS, the organization's default; its id."""
    line = dc.accounts.add_line(
        tenant.org.id,
        "simulated",
        SMS_LINE,
        features=("mms", "sms", "voice"),
        carrier="simulated",
        default=True,
    )
    return line.id


def consent(dc: Dialcues, tenant: Tenant, number: str = TO) -> None:
    """Record an active express informational consent of ``number``."""
    captured = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    payload = {
        "phone_number": number,
        "type": "express",
        "purpose": "informational",
        "source": "api",
        "text": "Yes, text me reminders of my appointments.",
        "captured_at": captured,
    }
    dc.consents.create(tenant.principal, payload)


def messages(stubs: Stubs) -> messages_pb2_grpc.MessageServiceStub:
    """The MessageService stub of ``stubs``' channel."""
    return messages_pb2_grpc.MessageServiceStub(stubs.channel)


def templates(stubs: Stubs) -> messages_pb2_grpc.MessageTemplateServiceStub:
    """The MessageTemplateService stub of ``stubs``' channel."""
    return messages_pb2_grpc.MessageTemplateServiceStub(stubs.channel)


def template_request(**fields: Any) -> M.CreateMessageTemplateRequest:
    """A valid informational SMS template named ``visit`` with ``fields``."""
    values: Json = {"name": "visit", "body": BODY, "channels": ["sms"], "purpose": "informational"}
    values.update(fields)
    return M.CreateMessageTemplateRequest(**values)


async def create_template(api: Stubs, **fields: Any) -> M.MessageTemplate:
    """CreateMessageTemplate of ``template_request(**fields)``."""
    return await templates(api).CreateMessageTemplate(template_request(**fields), metadata=api.md)


def send_request(template_id: str, **fields: Any) -> M.SendMessageRequest:
    """A valid SMS send of the template to :data:`TO` with ``fields``."""
    values: Json = {
        "to": TO,
        "channel": "sms",
        "template_id": template_id,
        "variables": VARIABLES,
    }
    values.update(fields)
    return M.SendMessageRequest(**values)


async def send(api: Stubs, template_id: str, **fields: Any) -> M.Message:
    """SendMessage of ``send_request(template_id, **fields)``."""
    return await messages(api).SendMessage(send_request(template_id, **fields), metadata=api.md)


def update_template(template_id: str, paths: list[str], **fields: Any) -> Any:
    """An UpdateMessageTemplateRequest masking ``paths``."""
    mask = field_mask_pb2.FieldMask(paths=paths)
    return M.UpdateMessageTemplateRequest(id=template_id, update_mask=mask, **fields)


def key_without(dc: Dialcues, tenant: Tenant, scope: str) -> str:
    """A key of the tenant's user carrying every scope but ``scope``."""
    return dc.accounts.create_api_key(
        tenant.user.id, scopes=[s for s in ALL_SCOPES if s != scope]
    ).raw


def rest_shape(message: pb_message.Message) -> Json:
    """Return a response message as REST's JSON: unset → null, times with milliseconds."""
    out: Json = {}
    for fd in message.DESCRIPTOR.fields:
        value = getattr(message, fd.name)
        kind = fd.message_type.full_name if fd.message_type is not None else None
        if fd.is_repeated:
            out[fd.name] = list(value)
        elif fd.has_presence and not message.HasField(fd.name):
            out[fd.name] = None
        elif kind == "google.protobuf.Timestamp":
            out[fd.name] = millis_text(value)
        elif kind is not None:
            out[fd.name] = rest_shape(value)
        else:
            out[fd.name] = value
    return out


# ----------------------------------------------------------------------------- templates
async def test_a_template_is_created_at_version_one_as_rest_shows_it(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    created = await create_template(api, description="Visit reminder")

    assert (created.version, list(created.variables)) == (1, ["first_name", "time"])
    assert created.body == "Hi {{first_name}}, see you at {{time}}."
    assert created.content_hash.startswith("sha256:")
    assert not created.HasField("archived_at")
    stored = dc.message_templates.get(tenant.principal, created.id)
    assert rest_shape(created) == template_payload(stored)


async def test_a_template_without_a_body_names_body(api: Stubs) -> None:
    failed = await fails(
        templates(api).CreateMessageTemplate(
            M.CreateMessageTemplateRequest(name="x", channels=["sms"], purpose="informational"),
            metadata=api.md,
        )
    )

    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {"body"}


async def test_a_taken_name_is_already_exists(api: Stubs) -> None:
    await create_template(api)

    failed = await fails(create_template(api))

    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "already_exists")
    assert failed.metadata == {"resource": "message_template", "name": "visit"}


async def test_get_returns_the_current_version(api: Stubs) -> None:
    created = await create_template(api)

    got = await templates(api).GetMessageTemplate(
        M.GetMessageTemplateRequest(id=created.id), metadata=api.md
    )

    assert got == created


async def test_list_filters_by_purpose_channel_and_archived(api: Stubs) -> None:
    visit = await create_template(api)
    promo = await create_template(
        api, name="promo", purpose="marketing", channels=["sms", "mms"], body="Sale!"
    )
    old = await create_template(api, name="old", body="Bye")
    await templates(api).ArchiveMessageTemplate(
        M.ArchiveMessageTemplateRequest(id=old.id), metadata=api.md
    )

    async def ids(**filters: Any) -> list[str]:
        request = M.ListMessageTemplatesRequest(**filters)
        found = await templates(api).ListMessageTemplates(request, metadata=api.md)
        return [t.id for t in found.items]

    assert await ids() == [promo.id, visit.id]
    assert await ids(purpose="marketing") == [promo.id]
    assert await ids(channel="mms") == [promo.id]
    assert await ids(archived=True) == [old.id]
    assert await ids(archived=False) == [promo.id, visit.id]


async def test_templates_page_by_token(api: Stubs) -> None:
    for name in ("a1", "a2", "a3"):
        await create_template(api, name=name)
    stub = templates(api)

    first = await stub.ListMessageTemplates(
        M.ListMessageTemplatesRequest(page_size=2), metadata=api.md
    )
    second = await stub.ListMessageTemplates(
        M.ListMessageTemplatesRequest(page_token=first.next_page_token), metadata=api.md
    )

    assert (first.total, first.total_pages, len(first.items)) == (3, 2, 2)
    assert [t.name for t in [*first.items, *second.items]] == ["a3", "a2", "a1"]
    assert second.next_page_token == ""


async def test_a_body_change_makes_a_new_version_and_a_rename_does_not(api: Stubs) -> None:
    created = await create_template(api)
    stub = templates(api)

    renamed = await stub.UpdateMessageTemplate(
        update_template(created.id, ["name", "description"], name="visit2"), metadata=api.md
    )
    edited = await stub.UpdateMessageTemplate(
        update_template(created.id, ["body"], body="See you at {{time}}."), metadata=api.md
    )

    assert (renamed.version, renamed.name, renamed.HasField("description")) == (1, "visit2", False)
    assert (edited.version, list(edited.variables)) == (2, ["time"])
    assert edited.content_hash != created.content_hash


async def test_versions_list_newest_first_and_each_is_readable(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    created = await create_template(api)
    stub = templates(api)
    await stub.UpdateMessageTemplate(
        update_template(
            created.id, ["channels", "opt_out_footer"], channels=["sms", "mms"], opt_out_footer=True
        ),
        metadata=api.md,
    )

    page = await stub.ListMessageTemplateVersions(
        M.ListMessageTemplateVersionsRequest(id=created.id), metadata=api.md
    )
    first = await stub.GetMessageTemplateVersion(
        M.GetMessageTemplateVersionRequest(id=created.id, version=1), metadata=api.md
    )

    assert [(v.version, list(v.channels)) for v in page.items] == [
        (2, ["sms", "mms"]),
        (1, ["sms"]),
    ]
    assert page.items[0].opt_out_footer and not first.opt_out_footer
    stored = dc.message_templates.version(tenant.principal, created.id, 1)
    assert rest_shape(first) == version_payload(stored)


async def test_a_version_the_template_lacks_is_not_found(api: Stubs) -> None:
    created = await create_template(api)

    failed = await fails(
        templates(api).GetMessageTemplateVersion(
            M.GetMessageTemplateVersionRequest(id=created.id, version=2), metadata=api.md
        )
    )

    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")
    assert failed.metadata["resource"] == "message_template_version"


async def test_an_update_mask_path_that_names_no_field_is_a_validation_error(api: Stubs) -> None:
    created = await create_template(api)

    failed = await fails(
        templates(api).UpdateMessageTemplate(
            update_template(created.id, ["version"]), metadata=api.md
        )
    )

    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {"update_mask"}


async def test_a_marketing_template_without_the_footer_is_refused(api: Stubs) -> None:
    failed = await fails(create_template(api, purpose="marketing", opt_out_footer=False))

    assert failed.code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(failed.violations) == {"opt_out_footer"}


async def test_an_archived_template_stays_readable_and_a_send_naming_it_is_refused(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await create_template(api)

    archived = await templates(api).ArchiveMessageTemplate(
        M.ArchiveMessageTemplateRequest(id=created.id), metadata=api.md
    )
    got = await templates(api).GetMessageTemplate(
        M.GetMessageTemplateRequest(id=created.id), metadata=api.md
    )
    failed = await fails(send(api, created.id))

    assert archived.HasField("archived_at") and got == archived
    assert (failed.code, set(failed.violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        {"template_id"},
    )


# ----------------------------------------------------------------------------- sending
async def test_a_send_without_consent_is_consent_required(api: Stubs) -> None:
    created = await create_template(api)

    failed = await fails(send(api, created.id))

    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "consent_required")
    assert failed.metadata == {"required": "express", "purpose": "informational"}


async def test_a_send_with_consent_returns_the_queued_message_as_rest_shows_it(
    api: Stubs, dc: Dialcues, tenant: Tenant, sms_line: str
) -> None:
    consent(dc, tenant)
    created = await create_template(api)

    sent = await send(api, created.id)

    assert (sent.status, sent.direction, sent.source, sent.channel) == (
        "queued",
        "outbound",
        "api",
        "sms",
    )
    assert (getattr(sent, "from"), sent.line_id) == (SMS_LINE, sms_line)
    assert (sent.template_id, sent.template_version) == (created.id, 1)
    assert (sent.content_hash, sent.text) == (created.content_hash, "Hi Ada, see you at 3 pm.")
    assert not sent.HasField("cost") and not sent.HasField("sent_at")
    stored = dc.messages.get(tenant.principal, sent.id)
    assert rest_shape(sent) == message_payload(stored)


async def test_a_missing_variable_names_it(api: Stubs, dc: Dialcues, tenant: Tenant) -> None:
    consent(dc, tenant)
    created = await create_template(api)

    failed = await fails(send(api, created.id, variables={"first_name": "Ada"}))

    assert failed.code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(failed.violations) == {"variables.time"}


async def test_an_mms_carries_its_media_and_needs_it(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await create_template(api, channels=["sms", "mms"])
    media = ["https://example.com/a.png"]

    sent = await send(api, created.id, channel="mms", media_urls=media)
    failed = await fails(send(api, created.id, channel="mms"))

    assert (sent.channel, list(sent.media_urls)) == ("mms", media)
    assert set(failed.violations) == {"media_urls"}


async def test_get_and_list_show_the_callers_messages(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await create_template(api)
    first = await send(api, created.id)
    second = await send(api, created.id)
    stub = messages(api)

    got = await stub.GetMessage(M.GetMessageRequest(id=first.id), metadata=api.md)
    filters = {"to": TO, "from": SMS_LINE, "channel": "sms", "template_id": created.id}
    listed = await stub.ListMessages(
        M.ListMessagesRequest(direction="outbound", status="queued", **filters), metadata=api.md
    )
    none = await stub.ListMessages(M.ListMessagesRequest(execution_id=1), metadata=api.md)

    assert got == first
    assert [m.id for m in listed.items] == [second.id, first.id]
    assert listed.total == 2
    assert list(none.items) == []


async def test_list_bounds_on_created_at_and_pages_by_token(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await create_template(api)
    sent = [await send(api, created.id) for _ in range(3)]
    stub = messages(api)
    after = M.ListMessagesRequest()
    after.date_from.FromDatetime(datetime.now(UTC) + timedelta(minutes=5))

    later = await stub.ListMessages(after, metadata=api.md)
    first = await stub.ListMessages(M.ListMessagesRequest(page_size=2), metadata=api.md)
    rest = await stub.ListMessages(
        M.ListMessagesRequest(page_token=first.next_page_token), metadata=api.md
    )

    assert list(later.items) == []
    assert [m.id for m in [*first.items, *rest.items]] == [m.id for m in reversed(sent)]


async def test_another_users_message_is_not_found(
    server: Server, api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await create_template(api)
    sent = await send(api, created.id)
    other_user = dc.accounts.create_user(tenant.org.id, "other@example.com", "Other")
    other = server.stubs(dc.accounts.create_api_key(other_user.id, name="o").raw)

    failed = await fails(
        messages(other).GetMessage(M.GetMessageRequest(id=sent.id), metadata=other.md)
    )

    assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "not_found")


async def test_a_send_repeated_with_its_request_id_replays_the_same_message(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await create_template(api)

    replies = [await send(api, created.id, request_id="send-1") for _ in range(3)]

    assert replies[0] == replies[1] == replies[2]
    assert MessageRow.select().count() == 1


async def test_a_request_id_reused_for_another_send_is_idempotency_mismatch(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    created = await create_template(api)
    await send(api, created.id, request_id="send-1")

    failed = await fails(
        send(api, created.id, request_id="send-1", variables={**VARIABLES, "time": "4 pm"})
    )

    assert (failed.code, failed.reason) == (grpc.StatusCode.ALREADY_EXISTS, "idempotency_mismatch")


async def test_a_template_write_repeated_with_its_request_id_makes_one_template(
    api: Stubs,
) -> None:
    first = await create_template(api, request_id="tpl-1")
    again = await create_template(api, request_id="tpl-1")

    assert again == first


async def test_a_us_pair_on_a_telnyx_line_without_a_campaign_is_campaign_not_registered(
    api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    consent(dc, tenant)
    telnyx = "+14155550199"
    dc.accounts.add_line(
        tenant.org.id, "simulated", telnyx, features=("sms", "voice"), carrier="telnyx"
    )
    created = await create_template(api)

    failed = await fails(send(api, created.id, **{"from": telnyx}))

    assert (failed.code, failed.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "campaign_not_registered",
    )
    assert failed.metadata == {"from": telnyx, "setting": "ten_dlc_campaign_id"}


# ----------------------------------------------------------------------------- scopes
def _scoped_calls() -> list[Any]:
    tpl = "tpl_0123456789abcdefghij"
    return [
        ("messages:write", "messages", "SendMessage", send_request(tpl)),
        ("messages:read", "messages", "GetMessage", M.GetMessageRequest(id="msg_x")),
        ("messages:read", "messages", "ListMessages", M.ListMessagesRequest()),
        ("templates:write", "templates", "CreateMessageTemplate", template_request()),
        ("messages:read", "templates", "GetMessageTemplate", M.GetMessageTemplateRequest(id=tpl)),
        ("messages:read", "templates", "ListMessageTemplates", M.ListMessageTemplatesRequest()),
        ("templates:write", "templates", "UpdateMessageTemplate", update_template(tpl, ["name"])),
        (
            "templates:write",
            "templates",
            "ArchiveMessageTemplate",
            M.ArchiveMessageTemplateRequest(id=tpl),
        ),
        (
            "messages:read",
            "templates",
            "ListMessageTemplateVersions",
            M.ListMessageTemplateVersionsRequest(id=tpl),
        ),
        (
            "messages:read",
            "templates",
            "GetMessageTemplateVersion",
            M.GetMessageTemplateVersionRequest(id=tpl, version=1),
        ),
    ]


@pytest.mark.parametrize(
    ("scope", "service", "rpc", "request_"), _scoped_calls(), ids=lambda v: str(v)[:40]
)
async def test_a_key_lacking_the_scope_is_permission_denied(
    server: Server,
    dc: Dialcues,
    tenant: Tenant,
    scope: str,
    service: str,
    rpc: str,
    request_: object,
) -> None:
    stubs = server.stubs(key_without(dc, tenant, scope))
    stub = messages(stubs) if service == "messages" else templates(stubs)

    failed = await fails(getattr(stub, rpc)(request_, metadata=stubs.md))

    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": scope}


# ----------------------------------------------------------------------------- reminders
def fallback(template_id: str, **fields: Any) -> reminders_pb2.ReminderFallback:
    """A fallback after the final failure, filling the template's slots but ``time``."""
    values: Json = {
        "channel": "sms",
        "template_id": template_id,
        "after": "final_failure",
        "variables": {"first_name": "Ada", "time": "3 pm"},
    }
    values.update(fields)
    return reminders_pb2.ReminderFallback(**values)


async def test_a_reminder_fallback_round_trips_and_clears(api: Stubs) -> None:
    created = await create_template(api)
    reminder = await api.create(fallback=fallback(created.id))
    mask = field_mask_pb2.FieldMask(paths=["fallback"])

    got = await api.reminders.GetReminder(
        reminders_pb2.GetReminderRequest(id=reminder.id), metadata=api.md
    )
    changed = await api.reminders.UpdateReminder(
        reminders_pb2.UpdateReminderRequest(
            id=reminder.id, update_mask=mask, fallback=fallback(created.id, after="voicemail")
        ),
        metadata=api.md,
    )
    cleared = await api.reminders.UpdateReminder(
        reminders_pb2.UpdateReminderRequest(id=reminder.id, update_mask=mask), metadata=api.md
    )

    assert reminder.fallback == fallback(created.id) and got.fallback == reminder.fallback
    assert changed.fallback.after == "voicemail"
    assert not cleared.HasField("fallback")


async def test_a_reminder_without_a_fallback_has_none(api: Stubs) -> None:
    reminder = await api.create()

    assert not reminder.HasField("fallback")


async def test_a_fallback_missing_a_slot_names_it(api: Stubs) -> None:
    created = await create_template(api)

    failed = await fails(api.create(fallback=fallback(created.id, variables={"time": "3 pm"})))

    assert failed.code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(failed.violations) == {"fallback.variables.first_name"}


async def test_a_fallback_without_a_channel_names_it(api: Stubs) -> None:
    created = await create_template(api)
    partial = reminders_pb2.ReminderFallback(template_id=created.id, after="final_failure")

    failed = await fails(api.create(fallback=partial))

    assert set(failed.violations) == {"fallback.channel"}


async def test_a_fallback_needs_messages_write_too(
    server: Server, api: Stubs, dc: Dialcues, tenant: Tenant
) -> None:
    created = await create_template(api)
    stubs = server.stubs(key_without(dc, tenant, "messages:write"))

    failed = await fails(
        stubs.reminders.CreateReminder(
            reminder_request(fallback=fallback(created.id)), metadata=stubs.md
        )
    )

    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "messages:write"}


async def test_an_execution_shows_its_fallback_message_id(api: Stubs, tenant: Tenant) -> None:
    with_link = add_execution(tenant, None, fallback_message_id="msg_abc")
    without = add_execution(tenant, None)

    linked = await api.executions.GetExecution(
        executions_pb2.GetExecutionRequest(id=with_link), metadata=api.md
    )
    plain = await api.executions.GetExecution(
        executions_pb2.GetExecutionRequest(id=without), metadata=api.md
    )

    assert linked.fallback_message_id == "msg_abc"
    assert not plain.HasField("fallback_message_id")
