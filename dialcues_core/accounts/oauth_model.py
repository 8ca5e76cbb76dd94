"""The nouns and ports of OAuth client credentials (see :mod:`dialcues_core.accounts.oauth`).

Frozen dataclasses free of any framework, and the repository Protocols the peewee adapter
(``adapters.peewee.oauth``) implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialcues_core.accounts.model import User
from dialcues_core.accounts.ports import UserRepository
from dialcues_core.kernel.ports import Transactions


# ----------------------------------------------------------------------------- nouns
@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A stored OAuth client: never its secret, only the secret's hash."""

    id: str
    user_id: str
    organization_id: str
    name: str | None
    secret_hash: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None
    all_scopes: bool = False
    """Created without an explicit list: ``scopes`` is every scope there is (and grows)."""

    @property
    def client_id(self) -> str:
        """Return the id OAuth calls ``client_id``."""
        return self.id


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """A client just created: the stored record and its secret, shown this once."""

    client: OAuthClient
    client_secret: str

    @property
    def client_id(self) -> str:
        """Return the client's id."""
        return self.client.id


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A stored access token: its hash, its client, what it may do and until when."""

    token_hash: str
    client_id: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """The token endpoint's answer: the raw token (shown once), its lifetime and scope."""

    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"


# ----------------------------------------------------------------------------- ports
class OAuthClientRepository(Protocol):
    """OAuth clients, each of one user."""

    def add(self, client: OAuthClient) -> None:
        """Store a new client."""
        ...

    def get(self, client_id: str) -> OAuthClient | None:
        """Return the client or None."""
        ...

    def list_for_user(self, user_id: str) -> list[OAuthClient]:
        """Return the user's clients, newest first."""
        ...

    def revoke(self, client_id: str, at: datetime) -> None:
        """Mark the client revoked at ``at`` (idempotent: the first time wins)."""
        ...


class AccessTokenRepository(Protocol):
    """Access tokens, found by hash."""

    def add(self, token: AccessToken) -> None:
        """Store a new token."""
        ...

    def find_by_hash(self, token_hash: str) -> tuple[AccessToken, OAuthClient, User] | None:
        """Return the token with this hash, its client and the client's user, or None."""
        ...

    def purge_expired(self, client_id: str, before: datetime) -> int:
        """Delete the client's tokens that expired before ``before``; return how many."""
        ...


@dataclass(frozen=True, slots=True)
class OAuthRepositories:
    """The repositories the OAuth use cases need."""

    transactions: Transactions
    users: UserRepository
    clients: OAuthClientRepository
    tokens: AccessTokenRepository
