"""A suppression entry, a consent record, and the vocabularies they use (§7–8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialcues_core.audit.model import Actor

SUPPRESSION_REASONS = (
    "opt_out_keypress",
    "opt_out_voice",
    "opt_out_sms",
    "inbound_call",
    "api",
    "complaint",
)
"""Why a number was suppressed (``api``: the API or CLI without a more specific reason)."""

SOURCE_TYPES = ("execution", "message", "carrier", "api_key", "oauth_client", "admin", "system")
"""What added a suppression entry."""

CONSENT_TYPES = ("express", "express_written")
CONSENT_PURPOSES = ("informational", "marketing")
CONSENT_SOURCES = ("web_form", "verbal", "sms_keyword", "api", "import")


@dataclass(frozen=True, slots=True)
class Source:
    """What added an entry: ``type`` (:data:`SOURCE_TYPES`), that thing's id (an integer for an
    execution), the user it acted for, and the host's own reference."""

    type: str
    id: str | int | None = None
    user_id: str | None = None
    external_id: str | None = None

    @classmethod
    def of_actor(cls, actor: Actor, external_id: str | None = None) -> Source:
        """The source of an entry an API key, an OAuth client or an operator added."""
        return cls(actor.type, actor.id, actor.user_id, external_id)


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    """One number on an organization's suppression list (one active entry per number)."""

    id: str
    organization_id: str
    phone_number: str
    reason: str
    source: Source
    created_at: datetime
    note: str | None = None
    removed_at: datetime | None = None
    removed_by: Actor | None = None
    removal_consent_id: str | None = None

    @property
    def active(self) -> bool:
        """Tell whether the entry still blocks calls and messages."""
        return self.removed_at is None


@dataclass(frozen=True, slots=True)
class Revocation:
    """Why a consent stopped counting: a suppression reason, what revoked it, a note."""

    reason: str
    source: Source
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """Evidence that a person agreed to be called (never deleted)."""

    id: str
    organization_id: str
    phone_number: str
    type: str
    purpose: str
    source: str
    text: str
    captured_at: datetime
    created_at: datetime
    created_by: Actor
    evidence: dict[str, Any] | None = None
    revoked_at: datetime | None = None
    revocation: Revocation | None = None

    @property
    def active(self) -> bool:
        """Tell whether the consent still counts."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Coverage:
    """What one number's active consents cover: their (type, purpose) pairs."""

    kinds: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def required(self, purpose: str, informational_needs_consent: bool) -> str | None:
        """The consent ``type`` an attempt of ``purpose`` still needs, or None if covered.

        ``marketing`` needs an ``express_written`` marketing consent; ``informational`` needs
        nothing unless the organization requires consent for it, then any active consent.
        """
        if purpose == "marketing":
            return None if ("express_written", "marketing") in self.kinds else "express_written"
        if informational_needs_consent and not self.kinds:
            return "express"
        return None


NO_COVERAGE = Coverage()
