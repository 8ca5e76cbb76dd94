"""What the suppression list and consent records need of their storage."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dialcues_core.audit.model import Actor
from dialcues_core.consent.model import ConsentRecord, Coverage, Revocation, SuppressionEntry

Number = tuple[str, str]
"""(organization id, E.164 number)."""


@dataclass(frozen=True, slots=True)
class SuppressionQuery:
    """A validated listing of an organization's entries (``date_to`` exclusive)."""

    organization_id: str
    status: str = "active"
    reason: str | None = None
    phone_number: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class ConsentQuery:
    """A validated listing of an organization's consent records (on ``captured_at``)."""

    organization_id: str
    phone_number: str | None = None
    type: str | None = None
    purpose: str | None = None
    active: bool | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    offset: int = 0
    limit: int = 20


class OrganizationEvents(Protocol):
    """Webhook events of an organization's records, written with the transaction that made
    them (the webhook outbox)."""

    def collecting(self) -> AbstractContextManager[None]:
        """Collect events in the block; write them when the outermost block ends cleanly."""
        ...

    def organization_event(self, event: str, organization_id: str, data: dict[str, Any]) -> None:
        """Note an event every enabled subscription of the organization that lists it gets."""
        ...


class ConsentStore(Protocol):
    """Suppression entries and consent records, in the caller's transaction."""

    def organization_exists(self, organization_id: str) -> bool:
        """Tell whether the organization exists (operators name one)."""
        ...

    def consent_by_id(self, consent_id: str) -> ConsentRecord | None:
        """Any organization's record by its id (operators), or None."""
        ...

    def lock_number(self, number: Number) -> None:
        """Serialize this transaction with claims and other writes to the number
        (PostgreSQL: ``pg_advisory_xact_lock``; SQLite's single writer needs nothing)."""
        ...

    def active_suppressions(self, numbers: Iterable[Number]) -> dict[Number, SuppressionEntry]:
        """The active entries of these numbers (one query)."""
        ...

    def add_suppression(self, entry: SuppressionEntry) -> None:
        """Store a new active entry."""
        ...

    def remove_suppression(
        self, entry_id: str, at: datetime, by: Actor, consent_id: str
    ) -> SuppressionEntry:
        """Mark an entry removed; return it."""
        ...

    def list_suppressions(self, query: SuppressionQuery) -> tuple[list[SuppressionEntry], int]:
        """One page, newest first, and the total matching."""
        ...

    def add_consent(self, record: ConsentRecord) -> None:
        """Store a new consent record."""
        ...

    def get_consent(self, organization_id: str, consent_id: str) -> ConsentRecord | None:
        """One of the organization's records, or None."""
        ...

    def list_consents(self, query: ConsentQuery) -> tuple[list[ConsentRecord], int]:
        """One page, newest first (by ``captured_at``), and the total matching."""
        ...

    def active_consents(self, number: Number) -> list[ConsentRecord]:
        """The number's active consents."""
        ...

    def coverage(self, numbers: Iterable[Number]) -> dict[Number, Coverage]:
        """What each number's active consents cover (one query; absent: none)."""
        ...

    def revoke_consents(
        self, consent_ids: list[str], at: datetime, revocation: Revocation
    ) -> list[ConsentRecord]:
        """Revoke those of these records still active (the caller holds the number's lock);
        return the ones it revoked, as they are now."""
        ...
