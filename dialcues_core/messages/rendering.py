"""The wire shapes of messages and templates (REST, webhooks, the CLI; gRPC mirrors them)."""

from __future__ import annotations

from typing import Any

from dialcues_core.kernel.timefmt import millis
from dialcues_core.messages.model import Message, MessageTemplate, TemplateVersion


def version_payload(v: TemplateVersion) -> dict[str, Any]:
    """One version of a template's content."""
    return {
        "template_id": v.template_id,
        "version": v.version,
        "body": v.body,
        "channels": list(v.channels),
        "purpose": v.purpose,
        "opt_out_footer": v.opt_out_footer,
        "variables": list(v.variables),
        "content_hash": v.content_hash,
        "created_at": millis(v.created_at),
    }


def template_payload(t: MessageTemplate) -> dict[str, Any]:
    """``GET /message-templates/{id}``: the template and its current version's content."""
    c = t.content
    return {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "version": c.version,
        "body": c.body,
        "channels": list(c.channels),
        "purpose": c.purpose,
        "opt_out_footer": c.opt_out_footer,
        "variables": list(c.variables),
        "content_hash": c.content_hash,
        "created_at": millis(t.created_at),
        "updated_at": millis(t.updated_at),
        "archived_at": millis(t.archived_at),
    }


def message_payload(m: Message) -> dict[str, Any]:
    """``GET /messages/{id}`` and the ``message.*`` webhook payloads."""
    return {
        "id": m.id,
        "direction": m.direction,
        "source": m.source,
        "channel": m.channel,
        "delivered_channel": m.delivered_channel,
        "status": m.status.value,
        "to": m.to,
        "from": m.from_number,
        "line_id": m.line_id,
        "template_id": m.template_id,
        "template_version": m.template_version,
        "content_hash": m.content_hash,
        "purpose": m.purpose,
        "text": m.text,
        "media_urls": list(m.media_urls),
        "fallback_channel": m.fallback_channel,
        "execution_id": m.execution_id,
        "reminder_id": m.reminder_id,
        "segments": m.segments,
        "cost": {"amount": m.cost.amount, "currency": m.cost.currency} if m.cost else None,
        "error_code": m.error_code,
        "carrier_error_code": m.carrier_error_code,
        "error_message": m.error_message,
        "created_at": millis(m.created_at),
        "sent_at": millis(m.sent_at),
        "completed_at": millis(m.completed_at),
        "updated_at": millis(m.updated_at),
    }
