"""What the calling policy and the gate need of storage."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from dialcues_core.calling.policy import CallingPolicy


class PolicyStore(Protocol):
    """Organizations' calling policies (one row each, absent until first changed)."""

    def organization_exists(self, organization_id: str) -> bool:
        """Tell whether the organization exists."""
        ...

    def policy_of(self, organization_id: str) -> CallingPolicy | None:
        """The stored policy, or ``None`` when the organization never set one."""
        ...

    def placed_attempts(self, organization_id: str, to: str, since: datetime) -> list[datetime]:
        """When the organization's attempts to ``to`` were placed after ``since`` (those the
        frequency caps count)."""
        ...

    def provider_retry_delays(self, organization_id: str) -> tuple[int, ...] | None:
        """The provider settings' ``retry_delays``, when the organization configured them."""
        ...

    def save_policy(self, policy: CallingPolicy) -> None:
        """Insert or replace the policy (the pre-dial secret is kept)."""
        ...

    def predial_secrets(self, organization_id: str) -> tuple[str | None, str | None]:
        """The current pre-dial secret and a rotated-out one still signing (or ``None``)."""
        ...

    def set_predial_secret(
        self, organization_id: str, secret: str, previous: str | None, previous_until: datetime
    ) -> None:
        """Store a new pre-dial secret; ``previous`` keeps signing until ``previous_until``."""
        ...
