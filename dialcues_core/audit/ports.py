"""What the audit trail needs of its storage."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dialcues_core.audit.model import AuditEvent


class AuditStore(Protocol):
    """Audit events, appended and listed newest first."""

    def add_audit_event(self, event: AuditEvent) -> None:
        """Append one event (in the caller's transaction)."""
        ...

    def list_audit_events(
        self,
        organization_id: str,
        *,
        action: str | None,
        subject_type: str | None,
        subject_id: str | None,
        date_from: datetime | None,
        date_to: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[list[AuditEvent], int]:
        """Return one page (newest first) and the total matching."""
        ...
