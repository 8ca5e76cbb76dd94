"""Authentication: an API key or an OAuth access token becomes a principal (cached)."""

from __future__ import annotations

import threading
from datetime import datetime

from dialcues_core.accounts import keys
from dialcues_core.accounts.model import ApiKey, Principal, User
from dialcues_core.accounts.oauth import AccessTokens, is_access_token
from dialcues_core.accounts.ports import ApiKeyRepository
from dialcues_core.errors import ApiKeyExpired, ApiKeyRevoked, InvalidApiKey, MissingCredentials
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.kernel.ttlcache import TtlCache


class Authenticator:
    """Turn a raw API key into a :class:`Principal`, in the contract's order of checks.

    Found keys are cached for ``cache_seconds`` (so a revocation in another process takes
    effect within that bound); ``last_used_at`` is kept in memory and written by
    :meth:`flush_usage`, never by a request. OAuth access tokens (``dc_at_…``) are accepted
    wherever keys are: they go to ``tokens``
    (see :class:`~dialcues_core.accounts.oauth.AccessTokens`).
    """

    def __init__(
        self,
        api_keys: ApiKeyRepository,
        transactions: Transactions,
        clock: Clock,
        cache_seconds: float,
        cache_size: int = 10_000,
        tokens: AccessTokens | None = None,
    ):
        self.tokens = tokens
        self.api_keys = api_keys
        self.transactions = transactions
        self.clock = clock
        self._cache: TtlCache[str, tuple[ApiKey, User]] = TtlCache(clock, cache_seconds, cache_size)
        self._last_used: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def authenticate(self, raw: str | None) -> Principal:
        """Return who ``raw`` acts as, or raise the first failing check's error."""
        if raw is None or raw == "":
            raise MissingCredentials()
        if self.tokens is not None and is_access_token(raw):
            return self.tokens.authenticate(raw)
        if not keys.is_well_formed(raw):
            raise InvalidApiKey()
        key, user = self._lookup(keys.hash_key(raw))
        if key.revoked_at is not None:
            raise ApiKeyRevoked()
        now = self.clock.now()
        if key.expires_at is not None and key.expires_at <= now:
            raise ApiKeyExpired()
        self._last_used[key.id] = now
        return Principal(user, key.id, frozenset(key.scopes))

    def peek(self, raw: str | None) -> Principal | None:
        """Return the principal when ``raw`` is a cached, valid key; None when unsure.

        Never touches the database, so an event loop may call it directly; on None, call
        :meth:`authenticate` off the loop.
        """
        if not raw:
            return None
        if self.tokens is not None and is_access_token(raw):
            return self.tokens.peek(raw)
        # No checksum test here: only keys that passed it in authenticate() are ever cached,
        # so a hash hit is a well-formed key (and the check cost 40 % of a cached lookup).
        cached = self._cache.get(keys.hash_key(raw))
        if cached is None:
            return None
        key, user = cached
        now = self.clock.now()
        if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
            return None
        self._last_used[key.id] = now
        return Principal(user, key.id, frozenset(key.scopes))

    def _lookup(self, key_hash: str) -> tuple[ApiKey, User]:
        cached = self._cache.get(key_hash)
        if cached is not None:
            return cached
        found = self.api_keys.find_by_hash(key_hash)
        if found is None:
            raise InvalidApiKey()
        self._cache.put(key_hash, found)
        return found

    def forget(self, key_hash: str) -> None:
        """Drop a key from the cache (after it was revoked here)."""
        self._cache.pop(key_hash)

    def flush_usage(self) -> int:
        """Write the pending ``last_used_at`` times in one transaction; return how many."""
        with self._lock:
            pending, self._last_used = self._last_used, {}
        if not pending:
            return 0
        try:
            with self.transactions.atomic():
                self.api_keys.touch(pending)
        except BaseException:
            with self._lock:  # kept for the next flush (newer uses win)
                self._last_used = {**pending, **self._last_used}
            raise
        return len(pending)
