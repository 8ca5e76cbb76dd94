"""An audit event and who acted (``responsible-calling.md`` §16)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: ``api_key``, ``oauth_client``, ``admin``, ``recipient`` or ``system``.

    ``id`` is the key's, client's or execution's id, the admin's name (the CLI's ``--actor``,
    the gRPC request's ``actor``), or ``None`` for the system.
    """

    type: str
    id: str | int | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited change, written in the transaction of the change."""

    id: str
    organization_id: str
    occurred_at: datetime
    action: str
    actor: Actor
    subject_type: str
    subject_id: str
    detail: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None


ACTIONS = (
    "policy.updated",
    "calling_window.bypassed",
    "suppression.created",
    "suppression.removed",
    "consent.created",
    "consent.revoked",
)
"""Every action the trail records (the later issues' are listed so the filter knows them)."""
