"""OAuth 2.1 client credentials: clients of a user, and the access tokens they obtain.

A client belongs to one user and carries a subset of
:data:`~dialcues_core.kernel.scopes.ALL_SCOPES`.
Its id is opaque (``cli_…``); its secret (``dc_cs_`` + 43 base62, about 256 bits) is shown
once, at creation, and stored as SHA-256 only — like API keys, a fast hash suffices for a
random secret. The token endpoint (:meth:`OAuth.issue_token`) checks the secret in constant
time and returns an access token ``dc_at_`` + 43 base62: opaque, stored hashed with its
client, scopes and expiry (one hour by default), and never confused with an API key
(``dc_live_``). No refresh token: a client asks again.

:class:`AccessTokens` turns a raw token back into a :class:`~dialcues_core.accounts.model.Principal`
for the core's :class:`~dialcues_core.accounts.authn.Authenticator`, in this order of checks: a
malformed or unknown token is ``invalid_api_key``; a token whose client was revoked is
``invalid_api_key``; an expired token is ``token_expired``. Found tokens are cached for
``cache_seconds`` (so revoking a client in another process takes effect within that bound;
in this process at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from dialcues_core.accounts import keys
from dialcues_core.accounts.model import Principal, User
from dialcues_core.accounts.oauth_model import (
    AccessToken,
    AccessTokenRepository,
    IssuedClient,
    IssuedToken,
    OAuthClient,
    OAuthClientRepository,
    OAuthRepositories,
)
from dialcues_core.errors import (
    InvalidApiKey,
    InvalidClient,
    InvalidScope,
    ResourceNotFound,
    TokenExpired,
    ValidationFailed,
)
from dialcues_core.kernel import crypto
from dialcues_core.kernel.ports import Clock
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.kernel.ttlcache import TtlCache

CLIENT_SECRET_PREFIX = "dc_cs_"
"""The fixed prefix of every client secret."""

CLIENT_ID_PREFIX = "cli_"
"""The prefix of every client id (an opaque id of kind ``cli``)."""

ACCESS_TOKEN_PREFIX = "dc_at_"
"""The fixed prefix of every access token (API keys start ``dc_live_``)."""

SECRET_BODY_LENGTH = 43
"""Random base62 characters after a secret's or token's prefix (about 256 bits)."""

DEFAULT_TOKEN_LIFETIME = 3600
"""Seconds an access token lives unless :class:`OAuth` is given another lifetime."""

_NAME_LIMIT = 255

EXPIRED_TOKENS_KEPT = timedelta(days=1)
"""How long an expired token is kept to answer ``token_expired`` rather than unknown."""


# ----------------------------------------------------------------------------- formats


def generate_client_secret() -> str:
    """Return a new client secret: ``dc_cs_`` + 43 random base62 characters."""
    return CLIENT_SECRET_PREFIX + crypto.random_base62(SECRET_BODY_LENGTH)


def generate_access_token() -> str:
    """Return a new access token: ``dc_at_`` + 43 random base62 characters."""
    return ACCESS_TOKEN_PREFIX + crypto.random_base62(SECRET_BODY_LENGTH)


def is_access_token(raw: str) -> bool:
    """Tell whether ``raw`` claims to be an access token (by its prefix; cheap)."""
    return raw.startswith(ACCESS_TOKEN_PREFIX)


def is_client_id(text: str) -> bool:
    """Tell whether ``text`` has a client id's shape (``cli_`` + 20 base62), before any read."""
    return crypto.has_shape(text, CLIENT_ID_PREFIX, crypto.ID_LENGTH)


def is_well_formed_token(raw: str) -> bool:
    """Tell whether ``raw`` has an access token's prefix, length and alphabet."""
    return crypto.has_shape(raw, ACCESS_TOKEN_PREFIX, SECRET_BODY_LENGTH)


def parse_scopes(scopes: Iterable[str] | None) -> tuple[str, ...]:
    """Return the scopes of a new client (all when None), or raise ``validation_error``."""
    if scopes is None:
        return ALL_SCOPES
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    chosen = {str(s).strip() for s in scopes if str(s).strip()}
    if not chosen or not chosen <= set(ALL_SCOPES):
        raise ValidationFailed.one(
            "scopes", f"must be a non-empty subset of {', '.join(ALL_SCOPES)}"
        )
    return tuple(s for s in ALL_SCOPES if s in chosen)


def granted_scopes(client: OAuthClient, scope: str | None) -> tuple[str, ...]:
    """Return the scopes a token gets: the requested ones (space-separated) or the client's.

    An empty or absent ``scope`` means all of the client's; anything outside them (unknown
    names included) raises ``invalid_scope``.
    """
    asked = set(scope.split()) if scope else set()
    if not asked:
        return client.scopes
    beyond = sorted(asked - set(client.scopes))
    if beyond:  # echoed to the caller: a few, each cut short
        raise InvalidScope([name[:64] for name in beyond[:10]])
    return tuple(s for s in client.scopes if s in asked)


def _parse_name(name: str | None) -> str | None:
    if name is None:
        return None
    clean = name.strip() if isinstance(name, str) else ""
    if "\x00" in clean or not 1 <= len(clean) <= _NAME_LIMIT:
        raise ValidationFailed.one(
            "name", f"must be 1–{_NAME_LIMIT} characters long, without NUL characters"
        )
    return clean


# ----------------------------------------------------------------------------- use cases
class OAuth:
    """Create, list and revoke OAuth clients; issue access tokens (the token endpoint)."""

    def __init__(
        self,
        repos: OAuthRepositories,
        clock: Clock,
        tokens: AccessTokens,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    ):
        self.repos = repos
        self.clock = clock
        self.tokens = tokens
        self.token_lifetime = token_lifetime

    def create_client(
        self, user_id: str, name: str | None = None, scopes: Iterable[str] | None = None
    ) -> IssuedClient:
        """Create a client for the user; its secret is in the result, and only there."""
        user = self._user(user_id)
        clean_name, clean_scopes = _parse_name(name), parse_scopes(scopes)
        secret = generate_client_secret()
        client = OAuthClient(
            id=crypto.generate_id(CLIENT_ID_PREFIX[:-1]),
            user_id=user.id,
            organization_id=user.organization_id,
            name=clean_name,
            secret_hash=keys.hash_key(secret),
            scopes=clean_scopes,
            created_at=self.clock.now(),
            all_scopes=scopes is None,
        )
        with self.repos.transactions.atomic():
            self.repos.clients.add(client)
        return IssuedClient(client, secret)

    def list_clients(self, user_id: str) -> list[OAuthClient]:
        """Return the user's clients (never their secrets), newest first."""
        self._user(user_id)
        return self.repos.clients.list_for_user(user_id)

    def get_client(self, client_id: str) -> OAuthClient:
        """Return the client or raise ``not_found`` (a malformed id is not looked up)."""
        client = self.repos.clients.get(client_id) if is_client_id(client_id) else None
        if client is None:
            raise ResourceNotFound("oauth_client", client_id)
        return client

    def revoke_client(self, client_id: str) -> OAuthClient:
        """Revoke the client: its secret and every token it got stop working.

        At once in this process; within the token cache's lifetime in every other.
        """
        now = self.clock.now()
        with self.repos.transactions.atomic():
            self.get_client(client_id)
            self.repos.clients.revoke(client_id, now)
            # Its tokens can never work again: every one expires before this bound.
            self.repos.tokens.purge_expired(
                client_id, now + timedelta(seconds=self.token_lifetime + 1)
            )
        self.tokens.forget_client(client_id)
        return self.get_client(client_id)

    def issue_token(
        self, client_id: str, client_secret: str, scope: str | None = None
    ) -> IssuedToken:
        """Check the client's credentials and return a new access token.

        Raises ``invalid_client`` for an unknown or revoked client or a wrong secret (the
        secret is compared in constant time, and hashed even for an unknown client), and
        ``invalid_scope`` when ``scope`` asks for more than the client has.
        """
        client = self._authenticate_client(client_id, client_secret)
        granted = granted_scopes(client, scope)
        raw, now = generate_access_token(), self.clock.now()
        token = AccessToken(
            token_hash=keys.hash_key(raw),
            client_id=client.id,
            scopes=granted,
            created_at=now,
            expires_at=now + timedelta(seconds=self.token_lifetime),
        )
        with self.repos.transactions.atomic():
            # Tokens expired for a day go; younger ones stay, so that a worker still holding
            # one is told ``token_expired`` (not ``invalid_api_key``) after a refresh.
            self.repos.tokens.purge_expired(client.id, now - EXPIRED_TOKENS_KEPT)
            self.repos.tokens.add(token)
        return IssuedToken(raw, self.token_lifetime, " ".join(granted))

    def _authenticate_client(self, client_id: str, client_secret: str) -> OAuthClient:
        client = self.repos.clients.get(client_id) if is_client_id(client_id) else None
        stored = client.secret_hash if client is not None else _UNKNOWN_CLIENT_HASH
        matches = crypto.hashes_match(stored, keys.hash_key(client_secret or ""))
        if client is None or not matches or client.revoked_at is not None:
            raise InvalidClient()
        return client

    def _user(self, user_id: str) -> User:
        user = self.repos.users.get(user_id)
        if user is None:
            raise ResourceNotFound("user", user_id)
        return user


_UNKNOWN_CLIENT_HASH = keys.hash_key(generate_client_secret())
"""Compared against when the client is unknown, so that case costs the same as a bad secret."""


# ----------------------------------------------------------------------------- authentication
_Found = tuple[AccessToken, OAuthClient, User]


class AccessTokens:
    """Turn a raw access token into a :class:`Principal` (the Authenticator's token half)."""

    def __init__(
        self,
        tokens: AccessTokenRepository,
        clock: Clock,
        cache_seconds: float,
        cache_size: int = 10_000,
    ):
        self.tokens = tokens
        self.clock = clock
        self._cache: TtlCache[str, _Found] = TtlCache(clock, cache_seconds, cache_size)

    def authenticate(self, raw: str) -> Principal:
        """Return who the token acts as, or raise ``invalid_api_key`` / ``token_expired``."""
        if not is_well_formed_token(raw):
            raise InvalidApiKey("The access token is invalid.")
        token, client, user = self._lookup(keys.hash_key(raw))
        if client.revoked_at is not None:
            raise InvalidApiKey("The access token's client has been revoked.")
        if token.expires_at <= self.clock.now():
            raise TokenExpired()
        return _principal(token, user)

    def peek(self, raw: str) -> Principal | None:
        """Return the principal when ``raw`` is a cached, valid token; None when unsure.

        Never touches the database (an event loop may call it directly).
        """
        cached = self._cache.get(keys.hash_key(raw))
        if cached is None:
            return None
        token, client, user = cached
        if client.revoked_at is not None or token.expires_at <= self.clock.now():
            return None
        return _principal(token, user)

    def _lookup(self, token_hash: str) -> _Found:
        cached = self._cache.get(token_hash)
        if cached is not None:
            return cached
        found = self.tokens.find_by_hash(token_hash)
        if found is None:
            raise InvalidApiKey("The access token is invalid.")
        self._cache.put(token_hash, found)
        return found

    def forget_client(self, client_id: str) -> None:
        """Drop every cached token of a client (after it was revoked here)."""
        self._cache.discard_where(lambda found: found[1].id == client_id)


def _principal(token: AccessToken, user: User) -> Principal:
    return Principal(user, None, frozenset(token.scopes), client_id=token.client_id)


__all__ = [
    "AccessToken",
    "AccessTokenRepository",
    "AccessTokens",
    "IssuedClient",
    "IssuedToken",
    "OAuth",
    "OAuthClient",
    "OAuthClientRepository",
    "OAuthRepositories",
]
