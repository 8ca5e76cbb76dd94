"""Number records, their claims and the organizations' carrier settings (caller's transaction).

The claim is one statement on both backends (``telephony.md`` §2.1): an insert that, on a
conflict, takes the row over only when it lapsed or is already this record's, and returns the
row only when it took it. Nothing reads a claim before taking it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import peewee as pw

from dialcues_core.adapters.peewee.prepared import PreparedSelect
from dialcues_core.adapters.peewee.tables import (
    ExecutionRow,
    NumberClaimRow,
    NumberRow,
    OrganizationRow,
    as_instant,
    to_ms,
)
from dialcues_core.numbers.model import (
    TELNYX_URL,
    CarrierSettings,
    Cost,
    FailedStep,
    Failure,
    NumberRecord,
    NumberStatus,
)
from dialcues_core.numbers.ports import Claim, NumberListQuery

_CLAIM_SQL = (
    "INSERT INTO number_claims (phone_number, organization_id, number_id, live_until)"
    " VALUES ({m}, {m}, {m}, {m}) ON CONFLICT (phone_number) DO UPDATE SET"
    " organization_id = excluded.organization_id, number_id = excluded.number_id,"
    " live_until = excluded.live_until"
    " WHERE (number_claims.live_until IS NOT NULL AND number_claims.live_until <= {m})"
    " OR number_claims.number_id = excluded.number_id"
    " RETURNING number_id"
)


class PeeweeNumberStore:
    """The ``numbers`` and ``number_claims`` tables, and ``organizations.carrier_…``."""

    def __init__(self, db: pw.Database):
        self.db = db
        self.pg = isinstance(db, pw.PostgresqlDatabase)
        self._claim_sql = _CLAIM_SQL.format(m="%s" if self.pg else "?")

    # ------------------------------------------------------------------ records
    def add(self, record: NumberRecord) -> None:
        """Store a new record."""
        NumberRow.insert(**_columns(record)).execute()

    def save(self, record: NumberRecord) -> None:
        """Write every field of an existing record."""
        columns = _columns(record)
        del columns["id"]
        NumberRow.update(**columns).where(NumberRow.id == record.id).execute()

    def delete(self, number_id: str) -> None:
        """Forget a record."""
        NumberRow.delete().where(NumberRow.id == number_id).execute()

    def get(self, number_id: str) -> NumberRecord | None:
        """A record by id."""
        row = NumberRow.get_or_none(NumberRow.id == number_id)
        return _record(row) if row is not None else None

    def latest(self, organization_id: str, number: str) -> NumberRecord | None:
        """The organization's newest record of ``number``."""
        row = (
            NumberRow.select()
            .where(NumberRow.organization_id == organization_id, NumberRow.phone_number == number)
            .order_by(NumberRow.created_at.desc(), NumberRow.id.desc())
            .first()
        )
        return _record(row) if row is not None else None

    def by_order_reference(self, organization_id: str, reference: str) -> NumberRecord | None:
        """The record whose order reference this is."""
        row = NumberRow.get_or_none(
            NumberRow.organization_id == organization_id, NumberRow.order_reference == reference
        )
        return _record(row) if row is not None else None

    def page(self, query: NumberListQuery) -> tuple[list[NumberRecord], int]:
        """One page of the organization's records, newest first."""
        where = [NumberRow.organization_id == query.organization_id]
        if query.country is not None:
            where.append(NumberRow.country == query.country)
        held = NumberRow.status == NumberStatus.HELD.value
        live = NumberRow.hold_expires_at > to_ms(query.now)
        if query.status == NumberStatus.EXPIRED.value:
            where.append(held & ~live)
        elif query.status == NumberStatus.HELD.value:
            where.append(held & live)
        elif query.status is not None:
            where.append(NumberRow.status == query.status)
        select = NumberRow.select().where(*where)
        rows = (
            select.order_by(NumberRow.created_at.desc(), NumberRow.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        return [_record(r) for r in rows], select.count()

    # ------------------------------------------------------------------ claims
    def claim(self, number: str, claim: Claim, now: datetime) -> bool:
        """Take the number's claim in one statement; True when taken."""
        until = to_ms(claim.live_until) if claim.live_until is not None else None
        params = (number, claim.organization_id, claim.number_id, until, to_ms(now))
        return self.db.execute_sql(self._claim_sql, params).fetchone() is not None

    def claim_of(self, number: str) -> Claim | None:
        """The number's claim row, live or lapsed."""
        row = NumberClaimRow.get_or_none(NumberClaimRow.phone_number == number)
        if row is None:
            return None
        return Claim(row.organization_id, row.number_id, row.live_until)

    def set_claim(self, number: str, number_id: str, live_until: datetime | None) -> bool:
        """Change the expiry of the record's claim (None: owned); False when it is not the
        record's any more."""
        updated = (
            NumberClaimRow.update(live_until=live_until)
            .where(NumberClaimRow.phone_number == number, NumberClaimRow.number_id == number_id)
            .execute()
        )
        return bool(updated)

    def wake_order(self, number_id: str, now: datetime) -> bool:
        """Make an ``ordering`` record's step due now (its lease untouched)."""
        updated = (
            NumberRow.update(step_due_at=now)
            .where(NumberRow.id == number_id, NumberRow.status == NumberStatus.ORDERING.value)
            .execute()
        )
        return bool(updated)

    def free_claim(self, number: str, number_id: str) -> None:
        """Drop the record's claim."""
        NumberClaimRow.delete().where(
            NumberClaimRow.phone_number == number, NumberClaimRow.number_id == number_id
        ).execute()

    def claimed_by_others(
        self, numbers: Sequence[str], organization_id: str, now: datetime
    ) -> set[str]:
        """Which of ``numbers`` another organization live-claims."""
        if not numbers:
            return set()
        rows = NumberClaimRow.select(NumberClaimRow.phone_number).where(
            NumberClaimRow.phone_number.in_(list(numbers)),
            NumberClaimRow.organization_id != organization_id,
            NumberClaimRow.live_until.is_null() | (NumberClaimRow.live_until > now),
        )
        return {r.phone_number for r in rows}

    def live_holds(self, organization_id: str, now: datetime) -> int:
        """How many unexpired holds the organization has."""
        return int(
            NumberRow.select()
            .where(
                NumberRow.organization_id == organization_id,
                NumberRow.status == NumberStatus.HELD.value,
                NumberRow.hold_expires_at > now,
            )
            .count()
        )

    def lock_organization(self, organization_id: str) -> None:
        """Serialize the organization's holds (PostgreSQL; SQLite has one writer anyway)."""
        if self.pg:
            self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_lock_key(organization_id),))

    # ------------------------------------------------------------------ provisioning
    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of records with a step due and no live lease, soonest first."""
        rows = (
            NumberRow.select(NumberRow.id)
            .where(
                NumberRow.step_due_at <= now,
                NumberRow.lease_until.is_null() | (NumberRow.lease_until < now),
            )
            .order_by(NumberRow.step_due_at)
            .limit(limit)
        )
        return [r.id for r in rows]

    def lease(self, number_id: str, now: datetime, until: datetime) -> NumberRecord | None:
        """Take a due record's lease (one winner)."""
        taken = (
            NumberRow.update(lease_until=until)
            .where(
                NumberRow.id == number_id,
                NumberRow.step_due_at.is_null(False),
                NumberRow.lease_until.is_null() | (NumberRow.lease_until < now),
            )
            .execute()
        )
        return self.get(number_id) if taken else None

    def next_due(self) -> datetime | None:
        """When the soonest step is due."""
        return as_instant(NumberRow.select(pw.fn.MIN(NumberRow.step_due_at)).scalar())

    def busy_on_line(self, line_id: str) -> bool:
        """Whether an execution on the line is ``in_progress``."""
        return bool(
            ExecutionRow.select()
            .where(ExecutionRow.line_id == line_id, ExecutionRow.status == "in_progress")
            .exists()
        )

    # ------------------------------------------------------------------ carrier settings
    def carrier_settings(self, organization_id: str) -> CarrierSettings | None:
        """The organization's carrier settings (None: none set, or no such org). A simulated
        organization's are kept too: its keyword texts and RCS agent."""
        row = _CARRIER_SETTINGS.first(organization_id)  # prepared: every text and event
        if row is None or row["carrier"] is None:
            return None
        return CarrierSettings(
            carrier=row["carrier"],
            api_key=row["carrier_api_key"],
            public_key=row["carrier_public_key"],
            messaging_profile_id=row["carrier_messaging_profile_id"],
            base_url=row["carrier_base_url"] or TELNYX_URL,
            ten_dlc_campaign_id=row["carrier_ten_dlc_campaign_id"],
            rcs_agent_id=row["carrier_rcs_agent_id"],
            help_text=row["carrier_help_text"],
            opt_out_text=row["carrier_opt_out_text"],
            opt_in_text=row["carrier_opt_in_text"],
        )

    def set_carrier_settings(self, organization_id: str, settings: CarrierSettings) -> None:
        """Store the organization's carrier settings."""
        OrganizationRow.update(
            carrier=settings.carrier,
            carrier_api_key=settings.api_key,
            carrier_public_key=settings.public_key,
            carrier_messaging_profile_id=settings.messaging_profile_id,
            carrier_base_url=settings.base_url,
            carrier_ten_dlc_campaign_id=settings.ten_dlc_campaign_id,
            carrier_rcs_agent_id=settings.rcs_agent_id,
            carrier_help_text=settings.help_text,
            carrier_opt_out_text=settings.opt_out_text,
            carrier_opt_in_text=settings.opt_in_text,
        ).where(OrganizationRow.id == organization_id).execute()


_O = OrganizationRow
_CARRIER_SETTINGS = PreparedSelect(
    lambda organization_id: _O.select(
        _O.carrier,
        _O.carrier_api_key,
        _O.carrier_public_key,
        _O.carrier_messaging_profile_id,
        _O.carrier_base_url,
        _O.carrier_ten_dlc_campaign_id,
        _O.carrier_rcs_agent_id,
        _O.carrier_help_text,
        _O.carrier_opt_out_text,
        _O.carrier_opt_in_text,
    ).where(_O.id == organization_id),
    arity=1,
)


def _lock_key(organization_id: str) -> int:
    digest = hashlib.blake2b(f"holds:{organization_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _columns(record: NumberRecord) -> dict[str, Any]:
    cost, failure = record.cost, record.failure
    return {
        "id": record.id,
        "organization_id": record.organization_id,
        "user_id": record.user_id,
        "phone_number": record.number,
        "status": record.status.value,
        "country": record.country,
        "locality": record.locality,
        "region": record.region,
        "rate_center": record.rate_center,
        "features": ",".join(record.features),
        "carrier": record.carrier,
        "cost_monthly": cost.monthly if cost else None,
        "cost_upfront": cost.upfront if cost else None,
        "cost_currency": cost.currency if cost else None,
        "hold_expires_at": record.hold_expires_at,
        "hold_extended": record.hold_extended,
        "line_id": record.line_id,
        "failure_step": failure.step.value if failure else None,
        "failure_code": failure.code if failure else None,
        "failure_message": failure.message if failure else None,
        "reservation_id": record.reservation_id,
        "order_reference": record.order_reference,
        "carrier_order_id": record.carrier_order_id,
        "carrier_number_id": record.carrier_number_id,
        "order_attempted_at": record.order_attempted_at,
        "provider_line_id": record.provider_line_id,
        "assign_label": record.assign_label,
        "assign_default": record.assign_default,
        "step_due_at": record.step_due_at,
        "step_tries": record.step_tries,
        "step_started_at": record.step_started_at,
        "lease_until": None,  # every write of a record ends the step that leased it
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _record(row: NumberRow) -> NumberRecord:
    cost = None
    if row.cost_monthly is not None:
        cost = Cost(row.cost_monthly, row.cost_upfront or "0.00", row.cost_currency or "USD")
    failure = None
    if row.failure_step is not None:
        failure = Failure(
            FailedStep(row.failure_step), row.failure_code or "", row.failure_message or ""
        )
    return NumberRecord(
        id=row.id,
        organization_id=row.organization_id,
        user_id=row.user_id,
        number=row.phone_number,
        status=NumberStatus(row.status),
        country=row.country,
        locality=row.locality,
        region=row.region,
        rate_center=row.rate_center,
        features=tuple(f for f in row.features.split(",") if f),
        carrier=row.carrier,
        cost=cost,
        hold_expires_at=row.hold_expires_at,
        hold_extended=bool(row.hold_extended),
        line_id=row.line_id,
        failure=failure,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reservation_id=row.reservation_id,
        order_reference=row.order_reference,
        carrier_order_id=row.carrier_order_id,
        carrier_number_id=row.carrier_number_id,
        order_attempted_at=row.order_attempted_at,
        provider_line_id=row.provider_line_id,
        assign_label=row.assign_label,
        assign_default=bool(row.assign_default),
        step_due_at=row.step_due_at,
        step_tries=row.step_tries,
        step_started_at=row.step_started_at,
    )
