"""Message templates (``telephony.md`` §4.1): organization resources, versioned and hashed.

A change to ``body``, ``channels``, ``purpose`` or ``opt_out_footer`` makes version n + 1 (even
when the hash is unchanged); ``name`` and ``description`` change in place. Deleting archives:
the template stays readable, and a send naming it is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from dialcues_core.accounts.model import Principal
from dialcues_core.errors import AlreadyExists, InvalidState, ResourceNotFound, ValidationFailed
from dialcues_core.kernel.crypto import generate_id
from dialcues_core.kernel.fields import is_well_formed_id
from dialcues_core.kernel.paging import Page
from dialcues_core.kernel.scopes import READ_MESSAGES, WRITE_TEMPLATES, requires
from dialcues_core.messages import fields, templates
from dialcues_core.messages.deps import MessageDeps
from dialcues_core.messages.model import MessageTemplate, TemplateVersion
from dialcues_core.messages.ports import TemplateQuery


class MessageTemplates:
    """Create, read, list, change and archive an organization's templates."""

    def __init__(self, deps: MessageDeps):
        self.deps = deps
        self.store = deps.store
        self.tx = deps.transactions
        self.clock = deps.clock

    @requires(WRITE_TEMPLATES)
    def create(self, principal: Principal, payload: Any) -> MessageTemplate:
        """``POST /message-templates`` → 201."""
        found = fields.read_template(payload, creating=True)
        assert found.purpose and found.body and found.channels and found.name
        problem = fields.footer_problem(found.purpose, found.opt_out_footer)
        if problem:
            raise ValidationFailed({"opt_out_footer": problem})
        footer = found.purpose == "marketing" or bool(found.opt_out_footer)
        now = self.clock.now()
        template_id = generate_id("tpl")
        content = _version(template_id, 1, found.body, found.channels, found.purpose, footer, now)
        template = MessageTemplate(
            id=template_id,
            organization_id=principal.organization_id,
            name=found.name,
            description=found.description,
            created_at=now,
            updated_at=now,
            archived_at=None,
            content=content,
        )
        with self.tx.atomic():
            self.store.lock_templates(principal.organization_id)
            if self.store.name_taken(principal.organization_id, found.name, None):
                raise _name_taken(found.name)
            self.store.add_template(template)
        return template

    @requires(READ_MESSAGES)
    def get(self, principal: Principal, template_id: Any) -> MessageTemplate:
        """``GET /message-templates/{id}``: the current version."""
        with self.tx.atomic():
            return self._get(principal.organization_id, template_id)

    @requires(READ_MESSAGES)
    def list(self, principal: Principal, params: Mapping[str, Any]) -> Page[MessageTemplate]:
        """``GET /message-templates``: newest first."""
        query = TemplateQuery(principal.organization_id, **fields.read_template_query(params))
        with self.tx.atomic():
            items, total = self.store.list_templates(query)
        return Page(items, total, query.offset // query.limit + 1, query.limit)

    @requires(WRITE_TEMPLATES)
    def update(self, principal: Principal, template_id: Any, payload: Any) -> MessageTemplate:
        """``PATCH /message-templates/{id}``: a new version when the content changes."""
        found = fields.read_template(payload, creating=False)
        now = self.clock.now()
        org = principal.organization_id
        with self.tx.atomic():
            self.store.lock_templates(org)
            current = self._get(org, template_id)
            if current.archived_at is not None:
                raise InvalidState("archived", "changed", "message_template")
            renamed = found.name is not None and found.name != current.name
            if renamed and self.store.name_taken(org, found.name or "", current.id):
                raise _name_taken(found.name or "")
            content = current.content
            if any(getattr(found, name) is not None for name in fields.VERSIONED):
                content = self._next_version(current, found, now)
                self.store.add_version(content)
            updated = dataclasses.replace(
                current,
                name=found.name if found.name is not None else current.name,
                description=found.description if found.description_given else current.description,
                updated_at=now,
                content=content,
            )
            self.store.save_template(updated)
        return updated

    def _next_version(
        self, current: MessageTemplate, found: fields.TemplateFields, now: Any
    ) -> TemplateVersion:
        c = current.content
        purpose = found.purpose or c.purpose
        problem = fields.footer_problem(purpose, found.opt_out_footer)
        if problem:
            raise ValidationFailed({"opt_out_footer": problem})
        footer = (
            True
            if purpose == "marketing"
            else (found.opt_out_footer if found.opt_out_footer is not None else c.opt_out_footer)
        )
        return _version(
            current.id,
            c.version + 1,
            found.body or c.body,
            found.channels or c.channels,
            purpose,
            footer,
            now,
        )

    @requires(WRITE_TEMPLATES)
    def archive(self, principal: Principal, template_id: Any) -> MessageTemplate:
        """``DELETE /message-templates/{id}`` → 204: archived (again: unchanged)."""
        now = self.clock.now()
        with self.tx.atomic():
            self.store.lock_templates(principal.organization_id)
            current = self._get(principal.organization_id, template_id)
            if current.archived_at is not None:
                return current
            archived = dataclasses.replace(current, archived_at=now, updated_at=now)
            self.store.save_template(archived)
        return archived

    @requires(READ_MESSAGES)
    def versions(
        self, principal: Principal, template_id: Any, params: Mapping[str, Any]
    ) -> Page[TemplateVersion]:
        """``GET /message-templates/{id}/versions``: newest first."""
        offset, limit = fields.read_versions_query(params)
        with self.tx.atomic():
            current = self._get(principal.organization_id, template_id)
            items, total = self.store.list_versions(current.id, offset, limit)
        return Page(items, total, offset // limit + 1, limit)

    @requires(READ_MESSAGES)
    def version(self, principal: Principal, template_id: Any, version: Any) -> TemplateVersion:
        """``GET /message-templates/{id}/versions/{version}``."""
        with self.tx.atomic():
            current = self._get(principal.organization_id, template_id)
            text = str(version)
            found = None
            if text.isascii() and text.isdigit() and len(text) <= 9:
                found = self.store.get_version(current.id, int(text))
        if found is None:
            raise ResourceNotFound("message_template_version", version)
        return found

    def _get(self, organization_id: str, template_id: Any) -> MessageTemplate:
        found = None
        if isinstance(template_id, str) and is_well_formed_id(template_id):
            found = self.store.get_template(organization_id, template_id)
        if found is None:
            raise ResourceNotFound("message_template", template_id)
        return found


def _version(
    template_id: str,
    number: int,
    body: str,
    channels: tuple[str, ...],
    purpose: str,
    footer: bool,
    now: Any,
) -> TemplateVersion:
    return TemplateVersion(
        template_id=template_id,
        version=number,
        body=body,
        channels=channels,
        purpose=purpose,
        opt_out_footer=footer,
        variables=templates.slots_of(body),
        content_hash=templates.content_hash(body, footer),
        created_at=now,
    )


def _name_taken(name: str) -> AlreadyExists:
    return AlreadyExists(
        f"An unarchived template is already named {name!r}.",
        {"resource": "message_template", "name": name},
    )
