"""API key format, checksum, hashing and opaque ids: pure functions, standard library only.

A Dialcues API key looks like this (46 characters)::

    dc_live_ 7fQk2Lr9ZpX0aB3cD4eF5gH6iJ7kL8mN 2qfoMm
    └prefix┘ └──────── body: 32 base62 ────┘ └check┘

* ``dc_live_`` — a fixed prefix, so secret scanners (GitHub, gitleaks) can recognise a leaked
  key, and a human can tell a Dialcues key from any other token at a glance.
* body — 32 characters drawn uniformly from the base62 alphabet ``0-9A-Za-z`` with
  :mod:`secrets` (about 190 bits of entropy).
* checksum — CRC32 of the body's bytes, written in base62 and left-padded with ``'0'`` to six
  characters. It lets :func:`is_well_formed` reject a mistyped or truncated key *offline*,
  without a database read, and lets scanners discard random look-alikes. It is not a secret
  and adds no security: anyone can compute it.

Why the checksum catches typos: a single-character substitution changes one byte of the body,
an error burst of at most 8 bits, and CRC32 detects every burst of up to 32 bits; the base62
encoding is injective (62**6 > 2**32). So every single-character substitution (and every swap
of two adjacent, different characters — a 16-bit burst) in the body changes the checksum.

Keys are stored only as :func:`hash_key` (hex SHA-256 of the whole key); the raw key is shown
once, at creation. A plain fast hash is enough because the key carries ~190 random bits — there
is nothing to brute-force, so a slow password hash would only cost latency on every request.
Compare stored hashes with :func:`hashes_match`, which takes constant time.
"""

from __future__ import annotations

import hashlib
import zlib

from dialcues_core.kernel.crypto import BASE62_ALPHABET, random_base62

KEY_PREFIX = "dc_live_"
"""The fixed prefix of every API key."""


BODY_LENGTH = 32
"""Random base62 characters after the prefix."""


CHECKSUM_LENGTH = 6
"""Base62 characters of the CRC32 checksum (62**6 > 2**32, so every CRC32 value fits)."""


KEY_LENGTH = len(KEY_PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
"""Total length of a key: 46."""


DISPLAY_PREFIX_LENGTH = 12
"""Characters of a key shown in listings (``dc_live_`` and the first four of the body)."""


def _checksum(body: str) -> str:
    """Return the six-character base62 CRC32 of ``body`` (ASCII), zero-padded on the left."""
    value = zlib.crc32(body.encode("ascii"))
    digits: list[str] = []
    while value:
        value, digit = divmod(value, 62)
        digits.append(BASE62_ALPHABET[digit])
    return "".join(reversed(digits)).rjust(CHECKSUM_LENGTH, "0")


def generate_key() -> str:
    """Generate a new raw API key: ``dc_live_`` + 32 random base62 + 6-character checksum.

    The result is 46 characters long and always passes :func:`is_well_formed`. Show it to its
    owner once and store only :func:`hash_key` of it.
    """
    body = random_base62(BODY_LENGTH)
    return KEY_PREFIX + body + _checksum(body)


def is_well_formed(raw: str) -> bool:
    """Return whether ``raw`` has the key's prefix, length, alphabet and a matching checksum.

    Cheap enough to run on every request before any database read: a mistyped, truncated or
    foreign token is rejected here. ``True`` says nothing about whether the key exists, is
    revoked or has expired — that needs the stored hash.
    """
    if len(raw) != KEY_LENGTH or not raw.startswith(KEY_PREFIX):
        return False
    rest = raw[len(KEY_PREFIX) :]
    # isascii() + isalnum() is exactly [0-9A-Za-z], checked in C without a regex.
    if not (rest.isascii() and rest.isalnum()):
        return False
    return _checksum(rest[:BODY_LENGTH]) == rest[BODY_LENGTH:]


def hash_key(raw: str) -> str:
    """Return the hex SHA-256 (64 lowercase hex characters) of the whole key, UTF-8 encoded."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def display_prefix(raw: str) -> str:
    """Return the first 12 characters of a key (e.g. ``dc_live_AbCd``), safe to list.

    Shorter input is returned whole; the key is not validated.
    """
    return raw[:DISPLAY_PREFIX_LENGTH]


def last4(raw: str) -> str:
    """Return the last 4 characters of a key, safe to list; shorter input is returned whole."""
    return raw[-4:]
