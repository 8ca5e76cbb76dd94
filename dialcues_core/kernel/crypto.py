"""Random identifiers and secrets, and constant-time comparison: pure, standard library."""

from __future__ import annotations

import hmac
import secrets

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
"""Digits of base62, in value order (so ``'0'`` is zero and pads numbers on the left)."""


ID_LENGTH = 20
"""Random base62 characters after ``<kind>_`` in an opaque id."""


MIN_SECRET_BYTES = 16
"""The fewest random bytes :func:`generate_secret` accepts (128 bits)."""


def random_base62(length: int) -> str:
    """Return ``length`` characters drawn uniformly from the base62 alphabet."""
    return "".join(secrets.choice(BASE62_ALPHABET) for _ in range(length))


def has_shape(raw: str, prefix: str, length: int) -> bool:
    """Tell whether ``raw`` is ``prefix`` followed by exactly ``length`` base62 characters."""
    body = raw[len(prefix) :]
    return raw.startswith(prefix) and len(body) == length and body.isascii() and body.isalnum()


def hashes_match(a: str, b: str) -> bool:
    """Return whether two hashes are equal, in time that does not depend on where they differ.

    Strings are compared as UTF-8 bytes, so non-ASCII input compares (unequal) instead of
    raising as :func:`hmac.compare_digest` does for non-ASCII ``str``.
    """
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def generate_id(kind: str) -> str:
    """Return a new opaque id ``<kind>_`` + 20 random base62 characters, e.g. ``org_3fK…``.

    Kinds in use: ``org``, ``usr``, ``key``, ``line``, ``cli``. ``kind`` must be non-empty
    lowercase ASCII letters; anything else raises :class:`ValueError` (a programming error).
    """
    if not (kind.isascii() and kind.isalpha() and kind.islower()):
        raise ValueError(f"id kind must be lowercase ASCII letters, got {kind!r}")
    return f"{kind}_{random_base62(ID_LENGTH)}"


def generate_secret(prefix: str, nbytes: int = 32) -> str:
    """Return ``prefix`` followed by ``nbytes`` random bytes in URL-safe base64 (no padding).

    For secrets such as OAuth client secrets: show once, store hashed. ``nbytes`` below 16
    (128 bits) raises :class:`ValueError`.
    """
    if nbytes < MIN_SECRET_BYTES:
        raise ValueError(f"nbytes must be at least {MIN_SECRET_BYTES}, got {nbytes}")
    return prefix + secrets.token_urlsafe(nbytes)


def signing_secret() -> str:
    """Return a Standard Webhooks signing secret: ``whsec_`` + standard base64 of 24 random
    bytes (webhook subscriptions, the pre-dial hook)."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")
