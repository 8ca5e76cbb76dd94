"""The repositories of the accounts capability."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from dialcues_core.accounts.model import ApiKey, Organization, OutboundLine, ProviderSettings, User


class OrganizationRepository(Protocol):
    """Organizations and their provider settings."""

    def add(self, org: Organization) -> None:
        """Store a new organization."""
        ...

    def get(self, org_id: str) -> Organization | None:
        """Return the organization or None."""
        ...

    def set_provider(self, org_id: str, settings: ProviderSettings) -> None:
        """Replace the organization's provider settings."""
        ...

    def exists_any(self) -> bool:
        """Tell whether any organization exists (an empty database gets the demo)."""
        ...


class UserRepository(Protocol):
    """Users, each in one organization."""

    def add(self, user: User) -> None:
        """Store a new user (``AlreadyExists`` if the e-mail is taken in the organization)."""
        ...

    def get(self, user_id: str) -> User | None:
        """Return the user or None."""
        ...


class ApiKeyRepository(Protocol):
    """API keys, found by hash."""

    def add(self, key: ApiKey) -> None:
        """Store a new key."""
        ...

    def find_by_hash(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """Return the key with this hash and its user, or None."""
        ...

    def get(self, key_id: str) -> ApiKey | None:
        """Return the key or None."""
        ...

    def list_for_user(self, user_id: str) -> list[ApiKey]:
        """Return the user's keys, newest first."""
        ...

    def revoke(self, key_id: str, at: datetime) -> None:
        """Mark the key revoked at ``at`` (idempotent: the first time wins)."""
        ...

    def touch(self, last_used: dict[str, datetime]) -> None:
        """Record ``last_used_at`` for many keys at once."""
        ...


class LineRepository(Protocol):
    """Outbound lines."""

    def add(self, line: OutboundLine) -> None:
        """Store a new line; a default line makes the others non-default."""
        ...

    def get(self, org_id: str, line_id: str) -> OutboundLine | None:
        """Return the organization's line or None."""
        ...

    def list_for_org(self, org_id: str) -> list[OutboundLine]:
        """Return the organization's lines, oldest first."""
        ...

    def default_for(self, org_id: str) -> OutboundLine | None:
        """Return the organization's default line (or its oldest line, or None)."""
        ...

    def remove(self, org_id: str, line_id: str) -> bool:
        """Delete the line; tell whether it existed."""
        ...

    def by_provider_line_id(self, provider_line_id: str) -> OutboundLine | None:
        """Any organization's lasting line by the voice provider's id of it."""
        ...

    def update(self, org_id: str, line_id: str, changes: Mapping[str, Any]) -> bool:
        """Change ``label`` and/or ``route`` (the keys given); tell whether the line exists."""
        ...

    def set_default(self, org_id: str, line_id: str) -> bool:
        """Make the line the default; tell whether it existed."""
        ...
