"""What messages and templates need of their storage (the caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.messages.fields import FallbackFields
from dialcues_core.messages.model import Message, MessageTemplate, TemplateVersion


@dataclass(frozen=True, slots=True)
class FallbackTarget:
    """What a reminder's fallback needs of the reminder."""

    reminder_id: int
    user_id: str
    organization_id: str
    fallback: FallbackFields
    title: str
    message: str
    timezone: str


@dataclass(frozen=True, slots=True)
class TemplateQuery:
    """``GET /message-templates``: one organization's templates, newest first."""

    organization_id: str
    purpose: str | None = None
    channel: str | None = None
    archived: bool = False
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """``GET /messages``: the caller's outbound messages and the organization's own ones."""

    organization_id: str
    user_id: str | None
    """The caller (None: an operator, who sees every message of the organization)."""
    direction: str | None = None
    status: str | None = None
    channel: str | None = None
    to: str | None = None
    from_number: str | None = None
    template_id: str | None = None
    execution_id: int | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    offset: int = 0
    limit: int = 20


class MessageStore(Protocol):
    """Templates, their versions, messages and applied carrier events."""

    # templates
    def lock_templates(self, organization_id: str) -> None:
        """Serialize this transaction with other template writes of the organization."""
        ...

    def add_template(self, template: MessageTemplate) -> None:
        """Store a new template and its first version."""
        ...

    def add_version(self, version: TemplateVersion) -> None:
        """Store a new version of a template."""
        ...

    def save_template(self, template: MessageTemplate) -> None:
        """Write a template's name, description, current version and times."""
        ...

    def get_template(self, organization_id: str, template_id: str) -> MessageTemplate | None:
        """The organization's template with its current version, or None."""
        ...

    def get_version(self, template_id: str, version: int) -> TemplateVersion | None:
        """One version of a template, or None."""
        ...

    def name_taken(self, organization_id: str, name: str, other_than: str | None) -> bool:
        """Whether an unarchived template of the organization (not ``other_than``) has the name."""
        ...

    def list_templates(self, query: TemplateQuery) -> tuple[list[MessageTemplate], int]:
        """One page, newest first, and the total."""
        ...

    def list_versions(
        self, template_id: str, offset: int, limit: int
    ) -> tuple[list[TemplateVersion], int]:
        """One page of versions, newest first, and the total."""
        ...

    # messages
    def add_message(self, message: Message, fallback_key: str | None = None) -> None:
        """Store a new message (``fallback_key``: once per reminder occurrence)."""
        ...

    def fallback_exists(self, fallback_key: str) -> bool:
        """Whether a fallback message exists for that occurrence."""
        ...

    def get_message(self, message_id: str, for_update: bool = False) -> Message | None:
        """A message by id (locked for this transaction when asked)."""
        ...

    def by_carrier_id(
        self, organization_id: str, carrier_message_id: str, for_update: bool = False
    ) -> Message | None:
        """The organization's message the carrier knows by that id."""
        ...

    def save_message(self, message: Message) -> None:
        """Write every mutable field of a message (and drop its lease)."""
        ...

    def queued_to(self, organization_id: str, number: str) -> list[Message]:
        """The organization's ``queued`` messages to a number."""
        ...

    def list_messages(self, query: MessageQuery) -> tuple[list[Message], int]:
        """One page, newest first, and the total."""
        ...

    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of queued or sending messages whose ``due_at`` has come and have no live lease."""
        ...

    def lease(self, message_id: str, now: datetime, until: datetime) -> Message | None:
        """Take a due message's lease (one winner); None when another process has it."""
        ...

    def next_due(self) -> datetime | None:
        """When the soonest message is due."""
        ...

    def fallback_targets(self, reminder_ids: list[int]) -> dict[int, FallbackTarget]:
        """The reminders among these that have a fallback, with what it needs of them."""
        ...

    def set_execution_fallback(self, execution_id: int, message_id: str) -> None:
        """Point an execution at its fallback message."""
        ...

    # carrier events
    def first_time(self, event_id: str, organization_id: str, now: datetime) -> bool:
        """Record a carrier event id; False when it was applied already."""
        ...

    def forget_events(self, before: datetime, limit: int) -> int:
        """Delete event ids recorded before ``before`` (a few at a time); return how many."""
        ...
