"""The suppression list and consent records on SQLite and PostgreSQL (caller's transaction)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import peewee as pw

from dialcues_core.adapters.peewee.dispatch import number_lock_key
from dialcues_core.adapters.peewee.tables import (
    ConsentRow,
    OrganizationRow,
    SuppressionRow,
    from_ms,
)
from dialcues_core.audit.model import Actor
from dialcues_core.consent.model import (
    ConsentRecord,
    Coverage,
    Revocation,
    Source,
    SuppressionEntry,
)
from dialcues_core.consent.ports import ConsentQuery, Number, SuppressionQuery
from dialcues_core.consent.rendering import actor_json, source_json

_CHUNK = 400
"""Numbers per ``IN`` list (SQLite allows 999 parameters; each number takes two)."""


class PeeweeConsentStore:
    """The ``suppressions`` and ``consents`` tables."""

    def __init__(self, db: pw.Database):
        self.db = db
        self.pg = isinstance(db, pw.PostgresqlDatabase)

    def organization_exists(self, organization_id: str) -> bool:
        """Tell whether the organization exists."""
        return bool(OrganizationRow.select().where(OrganizationRow.id == organization_id).exists())

    def consent_by_id(self, consent_id: str) -> ConsentRecord | None:
        """Any organization's record by its id, or None."""
        row = ConsentRow.get_or_none(ConsentRow.id == consent_id)
        return _consent(row) if row is not None else None

    def lock_number(self, number: Number) -> None:
        """Wait for the number's lock (PostgreSQL); claims try the same one without waiting."""
        if self.pg:
            self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (number_lock_key(*number),))

    # ------------------------------------------------------------------ suppressions
    def active_suppressions(self, numbers: Iterable[Number]) -> dict[Number, SuppressionEntry]:
        """The active entries of these numbers (plain SQL: every claim batch and every batch of
        outcomes asks, so the query builder's cost would show in dispatch throughput)."""
        found: dict[Number, SuppressionEntry] = {}
        for orgs, phones in _chunks(numbers):
            mark = "%s" if self.pg else "?"
            sql = (
                f"SELECT {_SUPPRESSION_COLS} FROM suppressions WHERE removed_at IS NULL"
                f" AND organization_id IN ({','.join([mark] * len(orgs))})"
                f" AND phone_number IN ({','.join([mark] * len(phones))})"
            )
            for row in self.db.execute_sql(sql, [*orgs, *phones]).fetchall():
                entry = _entry_of(row)
                found[(entry.organization_id, entry.phone_number)] = entry
        return found

    def add_suppression(self, entry: SuppressionEntry) -> None:
        """Store a new active entry."""
        source = entry.source
        SuppressionRow.insert(
            id=entry.id,
            organization_id=entry.organization_id,
            phone_number=entry.phone_number,
            reason=entry.reason,
            source_type=source.type,
            source_id=None if source.id is None else str(source.id),
            source_user_id=source.user_id,
            source_external_id=source.external_id,
            note=entry.note,
            created_at=entry.created_at,
        ).execute()

    def remove_suppression(
        self, entry_id: str, at: datetime, by: Actor, consent_id: str
    ) -> SuppressionEntry:
        """Mark an entry removed; return it."""
        SuppressionRow.update(
            removed_at=at, removed_by=_actor_text(by), removal_consent_id=consent_id
        ).where(SuppressionRow.id == entry_id).execute()
        return _entry(SuppressionRow.get_by_id(entry_id))

    def list_suppressions(self, query: SuppressionQuery) -> tuple[list[SuppressionEntry], int]:
        """One page, newest first, and the total matching."""
        where = SuppressionRow.organization_id == query.organization_id
        if query.status == "active":
            where &= SuppressionRow.removed_at.is_null()
        elif query.status == "removed":
            where &= SuppressionRow.removed_at.is_null(False)
        if query.reason is not None:
            where &= SuppressionRow.reason == query.reason
        if query.phone_number is not None:
            where &= SuppressionRow.phone_number == query.phone_number
        if query.date_from is not None:
            where &= SuppressionRow.created_at >= query.date_from
        if query.date_to is not None:
            where &= SuppressionRow.created_at < query.date_to
        selected = SuppressionRow.select().where(where)
        total = selected.count()
        rows = (
            selected.order_by(SuppressionRow.created_at.desc(), SuppressionRow.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        return [_entry(r) for r in rows], total

    # ------------------------------------------------------------------ consents
    def add_consent(self, record: ConsentRecord) -> None:
        """Store a new consent record."""
        ConsentRow.insert(
            id=record.id,
            organization_id=record.organization_id,
            phone_number=record.phone_number,
            type=record.type,
            purpose=record.purpose,
            source=record.source,
            text=record.text,
            captured_at=record.captured_at,
            evidence=json.dumps(record.evidence) if record.evidence is not None else None,
            created_at=record.created_at,
            created_by=_actor_text(record.created_by),
        ).execute()

    def get_consent(self, organization_id: str, consent_id: str) -> ConsentRecord | None:
        """One of the organization's records, or None."""
        row = ConsentRow.get_or_none(
            (ConsentRow.id == consent_id) & (ConsentRow.organization_id == organization_id)
        )
        return _consent(row) if row is not None else None

    def list_consents(self, query: ConsentQuery) -> tuple[list[ConsentRecord], int]:
        """One page, newest first (by ``captured_at``), and the total matching."""
        where = ConsentRow.organization_id == query.organization_id
        for column, value in (
            (ConsentRow.phone_number, query.phone_number),
            (ConsentRow.type, query.type),
            (ConsentRow.purpose, query.purpose),
        ):
            if value is not None:
                where &= column == value
        if query.active is not None:
            where &= ConsentRow.revoked_at.is_null(query.active)
        if query.date_from is not None:
            where &= ConsentRow.captured_at >= query.date_from
        if query.date_to is not None:
            where &= ConsentRow.captured_at < query.date_to
        selected = ConsentRow.select().where(where)
        total = selected.count()
        rows = (
            selected.order_by(ConsentRow.captured_at.desc(), ConsentRow.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        return [_consent(r) for r in rows], total

    def active_consents(self, number: Number) -> list[ConsentRecord]:
        """The number's active consents."""
        rows = ConsentRow.select().where(
            (ConsentRow.organization_id == number[0])
            & (ConsentRow.phone_number == number[1])
            & ConsentRow.revoked_at.is_null()
        )
        return [_consent(r) for r in rows]

    def coverage(self, numbers: Iterable[Number]) -> dict[Number, Coverage]:
        """What each number's active consents cover (plain SQL, as the claim asks)."""
        kinds: dict[Number, set[tuple[str, str]]] = {}
        for orgs, phones in _chunks(numbers):
            mark = "%s" if self.pg else "?"
            sql = (
                "SELECT organization_id, phone_number, type, purpose FROM consents"
                " WHERE revoked_at IS NULL"
                f" AND organization_id IN ({','.join([mark] * len(orgs))})"
                f" AND phone_number IN ({','.join([mark] * len(phones))})"
            )
            for org, phone, kind, purpose in self.db.execute_sql(sql, [*orgs, *phones]):
                kinds.setdefault((org, phone), set()).add((kind, purpose))
        return {pair: Coverage(frozenset(found)) for pair, found in kinds.items()}

    def revoke_consents(
        self, consent_ids: list[str], at: datetime, revocation: Revocation
    ) -> list[ConsentRecord]:
        """Revoke those still active (under the number's lock); return the ones revoked."""
        active = [
            row.id
            for row in ConsentRow.select(ConsentRow.id).where(
                ConsentRow.id.in_(consent_ids) & ConsentRow.revoked_at.is_null()
            )
        ]
        if not active:
            return []
        ConsentRow.update(revoked_at=at, revocation=_revocation_text(revocation)).where(
            ConsentRow.id.in_(active) & ConsentRow.revoked_at.is_null()
        ).execute()
        rows = ConsentRow.select().where(ConsentRow.id.in_(active)).order_by(ConsentRow.id)
        return [_consent(r) for r in rows]


_SUPPRESSION_COLS = (
    "id, organization_id, phone_number, reason, source_type, source_id, source_user_id,"
    " source_external_id, note, created_at, removed_at, removed_by, removal_consent_id"
)


def _chunks(numbers: Iterable[Number]) -> list[tuple[list[str], list[str]]]:
    """The (organization, number) pairs as ``IN`` lists, a chunk each (the caller keys the
    rows by pair, so a row matching another pair's organization and number is harmless)."""
    pairs = sorted(set(numbers))
    chunks = []
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        chunks.append((sorted({org for org, _ in chunk}), sorted({phone for _, phone in chunk})))
    return chunks


def _entry_of(row: tuple[Any, ...]) -> SuppressionEntry:
    return SuppressionEntry(
        id=row[0],
        organization_id=row[1],
        phone_number=row[2],
        reason=row[3],
        source=_source(row[4], row[5], row[6], row[7]),
        note=row[8],
        created_at=from_ms(row[9]),
        removed_at=from_ms(row[10]) if row[10] is not None else None,
        removed_by=_actor(row[11]),
        removal_consent_id=row[12],
    )


def _source(kind: str, ident: str | None, user_id: str | None, external: str | None) -> Source:
    value: str | int | None = ident
    if kind == "execution" and ident is not None and ident.isdigit():
        value = int(ident)
    return Source(kind, value, user_id, external)


def _actor_text(actor: Actor) -> str:
    return json.dumps(actor_json(actor))


def _actor(text: str | None) -> Actor | None:
    if not text:
        return None
    data = json.loads(text)
    return Actor(data["type"], data.get("id"), data.get("user_id"))


def _revocation_text(revocation: Revocation) -> str:
    return json.dumps(
        {
            "reason": revocation.reason,
            "source": source_json(revocation.source),
            "note": revocation.note,
        }
    )


def _revocation(text: str | None) -> Revocation | None:
    if not text:
        return None
    data = json.loads(text)
    s = data["source"]
    return Revocation(
        data["reason"], Source(s["type"], s["id"], s["user_id"], s["external_id"]), data["note"]
    )


def _entry(row: SuppressionRow) -> SuppressionEntry:
    return SuppressionEntry(
        id=row.id,
        organization_id=row.organization_id,
        phone_number=row.phone_number,
        reason=row.reason,
        source=_source(row.source_type, row.source_id, row.source_user_id, row.source_external_id),
        created_at=row.created_at,
        note=row.note,
        removed_at=row.removed_at,
        removed_by=_actor(row.removed_by),
        removal_consent_id=row.removal_consent_id,
    )


def _consent(row: ConsentRow) -> ConsentRecord:
    created_by = _actor(row.created_by)
    assert created_by is not None
    return ConsentRecord(
        id=row.id,
        organization_id=row.organization_id,
        phone_number=row.phone_number,
        type=row.type,
        purpose=row.purpose,
        source=row.source,
        text=row.text,
        captured_at=row.captured_at,
        created_at=row.created_at,
        created_by=created_by,
        evidence=json.loads(row.evidence) if row.evidence else None,
        revoked_at=row.revoked_at,
        revocation=_revocation(row.revocation),
    )
