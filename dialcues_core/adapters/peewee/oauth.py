"""Peewee implementations of the OAuth ports: clients and access tokens (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialcues_core.accounts.model import User
from dialcues_core.accounts.oauth_model import AccessToken, OAuthClient
from dialcues_core.adapters.peewee.tables import (
    AccessTokenRow,
    OAuthClientRow,
    UserRow,
    read_scopes,
    stored_scopes,
)
from dialcues_core.kernel.scopes import ALL_SCOPES_MARK


class PeeweeOAuthClientRepository:
    """OAuth clients in the ``oauth_clients`` table."""

    def add(self, client: OAuthClient) -> None:
        """Store a new client."""
        OAuthClientRow.create(
            id=client.id,
            user=client.user_id,
            organization_id=client.organization_id,
            name=client.name,
            secret_hash=client.secret_hash,
            scopes=stored_scopes(client.scopes, client.all_scopes),
            created_at=client.created_at,
        )

    def get(self, client_id: str) -> OAuthClient | None:
        """Return the client or None."""
        row = OAuthClientRow.get_or_none(OAuthClientRow.id == client_id)
        return _client(row) if row else None

    def list_for_user(self, user_id: str) -> list[OAuthClient]:
        """Return the user's clients, newest first."""
        rows = OAuthClientRow.select().where(OAuthClientRow.user == user_id)
        order = (OAuthClientRow.created_at.desc(), OAuthClientRow.id)
        return [_client(r) for r in rows.order_by(*order)]

    def revoke(self, client_id: str, at: datetime) -> None:
        """Mark the client revoked (the first revocation time is kept)."""
        OAuthClientRow.update(revoked_at=at).where(
            (OAuthClientRow.id == client_id) & OAuthClientRow.revoked_at.is_null()
        ).execute()


class PeeweeAccessTokenRepository:
    """Access tokens in the ``oauth_access_tokens`` table."""

    def add(self, token: AccessToken) -> None:
        """Store a new token."""
        AccessTokenRow.create(
            token_hash=token.token_hash,
            client=token.client_id,
            scopes=",".join(token.scopes),
            created_at=token.created_at,
            expires_at=token.expires_at,
        )

    def find_by_hash(self, token_hash: str) -> tuple[AccessToken, OAuthClient, User] | None:
        """Return the token, its client and the client's user in one query, or None."""
        row = (
            AccessTokenRow.select(AccessTokenRow, OAuthClientRow, UserRow)
            .join(OAuthClientRow)
            .join(UserRow)
            .where(AccessTokenRow.token_hash == token_hash)
            .first()
        )
        if row is None:
            return None
        client = row.client
        return _token(row), _client(client), _user(client.user)

    def purge_expired(self, client_id: str, before: datetime) -> int:
        """Delete the client's tokens that expired before ``before``; return how many."""
        query = AccessTokenRow.delete().where(
            (AccessTokenRow.client == client_id) & (AccessTokenRow.expires_at < before)
        )
        return int(query.execute())


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(s for s in text.split(",") if s)


def _client(row: Any) -> OAuthClient:
    return OAuthClient(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        name=row.name,
        secret_hash=row.secret_hash,
        scopes=read_scopes(row.scopes),
        all_scopes=row.scopes == ALL_SCOPES_MARK,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _token(row: Any) -> AccessToken:
    return AccessToken(
        token_hash=row.token_hash,
        client_id=row.client_id,
        scopes=_scopes(row.scopes),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def _user(row: Any) -> User:
    return User(row.id, row.organization_id, row.email, row.name, row.created_at)
