"""``POST /messages``, ``GET /messages[/{id}]`` and injected inbound texts (``telephony.md``
§4.3–4.4).

A send is judged in full before anything is written — fields, the template and its version,
the sending line, the variables, then the refusals of :mod:`.checks` — and one transaction
writes the message ``queued`` (with the idempotency response, when the edge holds a key). The
sender (:mod:`.sender`) posts it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dialcues_core.accounts.model import OutboundLine, Principal
from dialcues_core.errors import ResourceNotFound, ValidationFailed
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.kernel.fields import is_well_formed_id
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.scopes import READ_MESSAGES, WRITE_MESSAGES, requires
from dialcues_core.messages import checks, fields, templates
from dialcues_core.messages.deps import MessageDeps
from dialcues_core.messages.model import (
    Channel,
    IncomingText,
    Message,
    MessageStatus,
    MessageTemplate,
    Source,
    TemplateVersion,
)
from dialcues_core.messages.ports import MessageQuery
from dialcues_core.messages.texts import Texts
from dialcues_core.numbers.model import SIMULATED, CarrierSettings


def feature_of(channel: str) -> str:
    """The line feature a channel needs (RCS: SMS, for the fallback and the replies)."""
    return "mms" if channel == Channel.MMS else "sms"


def can_send(line: OutboundLine | None, channel: str) -> bool:
    """Whether a line has a carrier and the channel's feature."""
    return line is not None and line.carrier is not None and feature_of(channel) in line.features


class Messages:
    """Send, read and list messages; inject inbound texts (simulated carrier)."""

    def __init__(self, deps: MessageDeps, texts: Texts):
        self.deps = deps
        self.texts = texts
        self.store = deps.store
        self.tx = deps.transactions
        self.clock = deps.clock

    @requires(WRITE_MESSAGES)
    def send(self, principal: Principal, payload: Any) -> Message:
        """``POST /messages`` → 201 with the ``queued`` message."""
        found = fields.read_send(payload)
        org = principal.organization_id
        now = self.clock.now()
        with self.tx.atomic():
            template, version = self._template(org, found)
            settings = self.deps.numbers.carrier_settings(org) or CarrierSettings()
            if found.channel == Channel.RCS and not settings.rcs_agent_id:
                raise ValidationFailed(
                    {"channel": "rcs needs the organization's RCS agent (rcs_agent_id)"}
                )
            line = self._line(org, found.from_number, found.channel)
            problems = fields.slot_problems(version.variables, found.variables, "variables")
            if problems:
                raise ValidationFailed(problems)
            text = templates.render(version.body, found.variables, version.opt_out_footer)
            limit = fields.MAX_TEXT[found.channel]
            if len(text) > limit:
                raise ValidationFailed(
                    {
                        "variables": f"make the text {len(text)} characters; {found.channel} allows"
                        f" {limit}"
                    }
                )
            checks.refuse(
                self.deps, org, found.to, version.purpose, found.timezone, line, settings, now
            )
            message = Message(
                id=generate_id("msg"),
                organization_id=org,
                user_id=principal.user_id,
                direction="outbound",
                source=Source.API.value,
                channel=found.channel,
                status=MessageStatus.QUEUED,
                to=found.to,
                from_number=line.phone_number,
                line_id=line.id,
                text=text,
                purpose=version.purpose,
                created_at=now,
                updated_at=now,
                template_id=template.id,
                template_version=version.version,
                content_hash=version.content_hash,
                media_urls=found.media_urls,
                fallback_channel=found.fallback_channel,
                carrier=line.carrier,
                timezone=found.timezone,
                due_at=now,
            )
            self.store.add_message(message)
        self._wake()
        return message

    def _template(
        self, organization_id: str, found: fields.SendFields
    ) -> tuple[MessageTemplate, TemplateVersion]:
        template = None
        if is_well_formed_id(found.template_id):
            template = self.store.get_template(organization_id, found.template_id)
        if template is None or template.archived_at is not None:
            raise ValidationFailed(
                {"template_id": "is not an unarchived message template of the organization"}
            )
        version = template.content
        if found.template_version is not None and found.template_version != version.version:
            older = self.store.get_version(template.id, found.template_version)
            if older is None:
                problem = f"must be a version of the template (1–{version.version})"
                raise ValidationFailed({"template_version": problem})
            version = older
        if found.channel not in version.channels:
            raise ValidationFailed(
                {
                    "channel": "must be one of the template's channels: "
                    + ", ".join(version.channels)
                }
            )
        if found.fallback_channel and found.fallback_channel not in version.channels:
            raise ValidationFailed({"fallback_channel": "the template does not allow sms"})
        return template, version

    def _line(self, organization_id: str, sender: str | None, channel: str) -> OutboundLine:
        lines = self.deps.lines
        if sender is None:
            line = lines.default_for(organization_id)
            if not can_send(line, channel):
                raise ValidationFailed(
                    {"from": f"is required: the default line cannot send {feature_of(channel)}"}
                )
            assert line is not None
            return line
        for line in lines.list_for_org(organization_id):
            if line.phone_number == sender and can_send(line, channel):
                return line
        raise ValidationFailed(
            {
                "from": "must be the number of one of the organization's lines that sends "
                + feature_of(channel)
            }
        )

    @requires(READ_MESSAGES)
    def get(self, principal: Principal, message_id: Any) -> Message:
        """``GET /messages/{id}``: the caller's own, or the organization's."""
        found = None
        if isinstance(message_id, str) and is_well_formed_id(message_id):
            with self.tx.atomic():
                found = self.store.get_message(message_id)
        visible = found is not None and found.organization_id == principal.organization_id
        if not visible or found is None or found.user_id not in (None, principal.user_id):
            raise ResourceNotFound("message", message_id)
        return found

    @requires(READ_MESSAGES)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[Message]:
        """``GET /messages``: newest first."""
        query = MessageQuery(
            principal.organization_id, principal.user_id, **fields.read_message_query(params)
        )
        with self.tx.atomic():
            items, total = self.store.list_messages(query)
        return Page(items, total, query.offset // query.limit + 1, query.limit)

    def receive_for(
        self, organization_id: str, to: Any, sender: Any, text: Any
    ) -> tuple[Message, Sequence[str]]:
        """Inject an inbound text to one of the organization's simulated lines (the CLI's
        ``messages receive``, host apps): the core path of a verified ``message.received``."""
        problems: dict[str, str] = {}
        numbers = {}
        for name, value in (("to", to), ("from", sender)):
            try:
                numbers[name] = parse_phone_number(value)
            except ValueError as exc:
                problems[name] = str(exc)
        if not isinstance(text, str) or not 1 <= len(text) <= 1600 or "\x00" in text:
            problems["text"] = "must be 1–1600 characters"
        if problems:
            raise ValidationFailed(problems)
        now = self.clock.now()
        with self.tx.atomic(), self.deps.outbox.collecting():
            if self.deps.organizations.get(organization_id) is None:
                raise ResourceNotFound("organization", organization_id)
            line = self.texts._line_of(organization_id, numbers["to"])
            if line is None or line.carrier != SIMULATED:
                raise ValidationFailed(
                    {
                        "to": "must be the number of one of the organization's"
                        " simulated-carrier lines"
                    }
                )
            incoming = IncomingText(numbers["from"], numbers["to"], text, received_at=now)
            found = self.texts.receive(organization_id, incoming, now)
        self._wake()
        return found

    def _wake(self) -> None:
        for listener in self.deps.listeners:
            listener(None)
