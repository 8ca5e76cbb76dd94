"""Calling policies on SQLite and PostgreSQL (the caller holds the transaction)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from dialcues_core.adapters.peewee.tables import CallingPolicyRow, OrganizationRow
from dialcues_core.calling.policy import CallingPolicy, Predial
from dialcues_core.calling.retry import retry_from_stored, retry_to_stored
from dialcues_core.calling.shapes import (
    FrequencyCaps,
    parse_caps,
    window_from_stored,
    window_to_stored,
)
from dialcues_core.calling.windows import Window
from dialcues_core.calling.zones import WindowBasis


class PeeweePolicyStore:
    """The ``calling_policies`` table."""

    def placed_attempts(self, organization_id: str, to: str, since: datetime) -> list[datetime]:
        """When the organization's attempts to ``to`` were placed after ``since``."""
        from dialcues_core.adapters.peewee.dispatch import PeeweeDispatchStore

        store = PeeweeDispatchStore(CallingPolicyRow._meta.database.obj)
        return store.placed_attempts({(organization_id, to)}, since).get((organization_id, to), [])

    def organization_exists(self, organization_id: str) -> bool:
        """Tell whether the organization exists."""
        return OrganizationRow.select().where(OrganizationRow.id == organization_id).exists()

    def policy_of(self, organization_id: str) -> CallingPolicy | None:
        """The stored policy, or ``None``."""
        row = CallingPolicyRow.get_or_none(CallingPolicyRow.organization_id == organization_id)
        return policy_from_row(row) if row is not None else None

    def provider_retry_delays(self, organization_id: str) -> tuple[int, ...] | None:
        """The provider settings' ``retry_delays`` (``None`` when never set)."""
        row = OrganizationRow.get_or_none(OrganizationRow.id == organization_id)
        return parse_delays(row.provider_retry_delays if row else None)

    def save_policy(self, policy: CallingPolicy) -> None:
        """Insert or replace the policy, keeping the pre-dial secrets."""
        values = _row_values(policy)
        updated = (
            CallingPolicyRow.update(**values)
            .where(CallingPolicyRow.organization_id == policy.organization_id)
            .execute()
        )
        if not updated:
            CallingPolicyRow.insert(organization_id=policy.organization_id, **values).execute()

    def predial_secrets(self, organization_id: str) -> tuple[str | None, str | None]:
        """The current pre-dial secret and a rotated-out one (not yet expired)."""
        row = CallingPolicyRow.get_or_none(CallingPolicyRow.organization_id == organization_id)
        if row is None:
            return None, None
        return row.predial_secret, row.predial_previous_secret

    def set_predial_secret(
        self, organization_id: str, secret: str, previous: str | None, previous_until: datetime
    ) -> None:
        """Store a new secret; ``previous`` keeps signing until ``previous_until``."""
        CallingPolicyRow.update(
            predial_secret=secret,
            predial_previous_secret=previous,
            predial_previous_expires_at=previous_until if previous else None,
        ).where(CallingPolicyRow.organization_id == organization_id).execute()


def parse_delays(text: str | None) -> tuple[int, ...] | None:
    """The organization's stored ``provider_retry_delays`` (comma-separated; empty: none)."""
    if text is None:
        return None
    return tuple(int(p) for p in text.split(",") if p.strip())


def _row_values(policy: CallingPolicy) -> dict[str, Any]:
    predial = policy.predial
    return {
        "calling_window": window_to_stored(policy.calling_window),
        "window_basis": policy.window_basis.value,
        "blocked_dates": json.dumps([d.isoformat() for d in policy.blocked_dates]),
        "allow_window_bypass": policy.allow_window_bypass,
        "max_lateness_seconds": policy.max_lateness_seconds,
        "retry_policy": retry_to_stored(policy.retry_policy),
        "frequency_caps": _json(policy.frequency_caps),
        "caller_name": policy.caller_name,
        "callback_number": policy.callback_number,
        "ai_disclosure": policy.ai_disclosure,
        "opening_template": policy.opening_template,
        "snooze_default_minutes": policy.snooze_default_minutes,
        "require_consent_for_informational": policy.require_consent_for_informational,
        "predial_url": predial.url if predial else None,
        "predial_timeout_ms": predial.timeout_ms if predial else None,
        "predial_on_failure": predial.on_failure if predial else None,
        "updated_at": policy.updated_at,
    }


def _json(value: FrequencyCaps | None) -> str | None:
    return json.dumps(value.to_json(), sort_keys=True) if value is not None else None


def policy_from_row(row: Any) -> CallingPolicy:
    """Read one ``calling_policies`` row."""
    window = window_from_stored(row.calling_window)
    return CallingPolicy(
        organization_id=row.organization_id,
        calling_window=window if isinstance(window, Window) else None,
        window_basis=WindowBasis(row.window_basis),
        blocked_dates=tuple(date.fromisoformat(d) for d in json.loads(row.blocked_dates)),
        allow_window_bypass=bool(row.allow_window_bypass),
        max_lateness_seconds=row.max_lateness_seconds,
        retry_policy=retry_from_stored(row.retry_policy),
        frequency_caps=parse_caps(json.loads(row.frequency_caps)) if row.frequency_caps else None,
        caller_name=row.caller_name,
        callback_number=row.callback_number,
        ai_disclosure=bool(row.ai_disclosure),
        opening_template=row.opening_template,
        snooze_default_minutes=row.snooze_default_minutes,
        require_consent_for_informational=bool(row.require_consent_for_informational),
        predial=(
            Predial(
                row.predial_url, row.predial_timeout_ms or 2000, row.predial_on_failure or "skip"
            )
            if row.predial_url
            else None
        ),
        updated_at=row.updated_at,
    )
