"""What the audit trail needs of its storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.audit.model import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """A validated listing of an organization's audit events (``date_to`` exclusive)."""

    organization_id: str
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    offset: int = 0
    limit: int = 20


class AuditStore(Protocol):
    """Audit events, appended and listed newest first."""

    def add_audit_event(self, event: AuditEvent) -> None:
        """Append one event (in the caller's transaction)."""
        ...

    def list_audit_events(self, query: AuditQuery) -> tuple[list[AuditEvent], int]:
        """Return one page (newest first) and the total matching."""
        ...
