"""Audit events on SQLite and PostgreSQL (appended in the caller's transaction)."""

from __future__ import annotations

import json
from typing import Any

from dialcues_core.adapters.peewee.tables import AuditEventRow
from dialcues_core.audit.model import Actor, AuditEvent
from dialcues_core.audit.ports import AuditQuery


class PeeweeAuditStore:
    """The ``audit_events`` table."""

    def add_audit_event(self, event: AuditEvent) -> None:
        """Append one event."""
        AuditEventRow.insert(
            id=event.id,
            organization_id=event.organization_id,
            occurred_at=event.occurred_at,
            action=event.action,
            actor_type=event.actor.type,
            actor_id=None if event.actor.id is None else str(event.actor.id),
            actor_user_id=event.actor.user_id,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            detail=json.dumps(event.detail, sort_keys=True, default=str),
            request_id=event.request_id,
        ).execute()

    def list_audit_events(self, query: AuditQuery) -> tuple[list[AuditEvent], int]:
        """One page, newest first, and the total matching."""
        where = AuditEventRow.organization_id == query.organization_id
        if query.action is not None:
            where &= AuditEventRow.action == query.action
        if query.subject_type is not None:
            where &= AuditEventRow.subject_type == query.subject_type
        if query.subject_id is not None:
            where &= AuditEventRow.subject_id == query.subject_id
        if query.date_from is not None:
            where &= AuditEventRow.occurred_at >= query.date_from
        if query.date_to is not None:
            where &= AuditEventRow.occurred_at < query.date_to  # exclusive, as every listing
        found = AuditEventRow.select().where(where)
        rows = found.order_by(AuditEventRow.occurred_at.desc(), AuditEventRow.id.desc())
        page = [_event(r) for r in rows.offset(query.offset).limit(query.limit)]
        return page, found.count()


def _event(row: Any) -> AuditEvent:
    stored: str | None = row.actor_id
    actor_id: str | int | None = stored
    if row.actor_type == "recipient" and stored is not None and stored.isdigit():
        actor_id = int(stored)  # an execution's id
    return AuditEvent(
        id=row.id,
        organization_id=row.organization_id,
        occurred_at=row.occurred_at,
        action=row.action,
        actor=Actor(row.actor_type, actor_id, row.actor_user_id),
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        detail=json.loads(row.detail),
        request_id=row.request_id,
    )
