"""Key format, checksum, hashing and ids (``accounts.keys``, ``kernel.crypto`` of the core).

The checksum tests compute CRC32/base62 independently of the module, so a change to the
algorithm shows up here and not only as "still self-consistent".

On what is guaranteed: CRC32 detects every error burst of up to 32 bits. Replacing one body
character changes one byte (an 8-bit burst); swapping two adjacent, different characters changes
two bytes (a 16-bit burst); and base62 with six digits is injective on CRC32 values
(62**6 > 2**32). So *every* single substitution and adjacent transposition in the body is
detected — the property tests below assert exactly that, with no exceptions allowed.
"""

from __future__ import annotations

import hashlib
import re
import string
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialcues_core.accounts import keys
from dialcues_core.kernel import crypto

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
PREFIX = "dc_live_"
BODY = "7fQk2Lr9ZpX0aB3cD4eF5gH6iJ7kL8mN"
KNOWN_KEY = "dc_live_7fQk2Lr9ZpX0aB3cD4eF5gH6iJ7kL8mN2qfoMm"
BODY_START = len(PREFIX)
CHECK_START = BODY_START + 32

bodies = st.text(alphabet=ALPHABET, min_size=32, max_size=32)


def crc_base62(body: str) -> str:
    """Checksum computed here, independently: base62 CRC32 of UTF-8 bytes, 6 chars, '0'-padded."""
    value = zlib.crc32(body.encode("utf-8"))
    out = ""
    for _ in range(6):
        value, digit = divmod(value, 62)
        out = ALPHABET[digit] + out
    return out


def replace_at(text: str, index: int, char: str) -> str:
    return text[:index] + char + text[index + 1 :]


# ----------------------------------------------------------------------------- generate_key
def test_generated_key_is_well_formed() -> None:
    assert keys.is_well_formed(keys.generate_key())


def test_generated_key_is_prefix_32_base62_and_its_checksum() -> None:
    key = keys.generate_key()
    body, check = key[BODY_START:CHECK_START], key[CHECK_START:]
    assert key.startswith(PREFIX)
    assert len(key) == 46 == keys.KEY_LENGTH
    assert set(body) <= set(ALPHABET)
    assert check == crc_base62(body)


def test_generated_keys_are_unique() -> None:
    generated = {keys.generate_key() for _ in range(2000)}
    assert len(generated) == 2000


def test_key_prefix_constant_is_dc_live() -> None:
    assert keys.KEY_PREFIX == "dc_live_"


def test_known_key_literal_is_well_formed() -> None:
    assert keys.is_well_formed(KNOWN_KEY)


def test_checksum_is_zero_padded_on_the_left() -> None:
    # Search for a body whose CRC32 is small enough to need padding (< 62**5).
    candidates = (f"{n:0>32}" for n in range(100_000))
    body = next(b for b in candidates if zlib.crc32(b.encode()) < 62**5)
    key = PREFIX + body + crc_base62(body)
    assert key[CHECK_START] == "0"
    assert keys.is_well_formed(key)


# ----------------------------------------------------------------------------- typos
@pytest.mark.parametrize("position", range(BODY_START, CHECK_START))
def test_any_substitution_in_the_body_is_rejected(position: int) -> None:
    accepted = [
        c
        for c in ALPHABET
        if c != KNOWN_KEY[position] and keys.is_well_formed(replace_at(KNOWN_KEY, position, c))
    ]
    assert accepted == []


@pytest.mark.parametrize("position", range(CHECK_START, 46))
def test_any_substitution_in_the_checksum_is_rejected(position: int) -> None:
    accepted = [
        c
        for c in ALPHABET
        if c != KNOWN_KEY[position] and keys.is_well_formed(replace_at(KNOWN_KEY, position, c))
    ]
    assert accepted == []


@given(body=bodies, position=st.integers(0, 31), char=st.sampled_from(ALPHABET))
def test_checksum_detects_every_single_substitution_in_the_body(
    body: str, position: int, char: str
) -> None:
    key = PREFIX + body + crc_base62(body)
    typo = replace_at(key, BODY_START + position, char)
    assert keys.is_well_formed(typo) == (typo == key)


@given(body=bodies, position=st.integers(0, 30))
def test_checksum_detects_every_adjacent_transposition_in_the_body(
    body: str, position: int
) -> None:
    key = PREFIX + body + crc_base62(body)
    i = BODY_START + position
    swapped = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    assert keys.is_well_formed(swapped) == (swapped == key)


@given(body=bodies)
def test_any_base62_body_with_its_checksum_is_well_formed(body: str) -> None:
    assert keys.is_well_formed(PREFIX + body + crc_base62(body))


# ----------------------------------------------------------------------------- malformed
@pytest.mark.parametrize("prefix", ["dc_test_", "DC_LIVE_", "sk_live_", "dc-live_", "dc_livE_"])
def test_wrong_prefix_is_rejected(prefix: str) -> None:
    assert not keys.is_well_formed(prefix + KNOWN_KEY[BODY_START:])


@pytest.mark.parametrize(
    "raw",
    [
        KNOWN_KEY[:-1],
        KNOWN_KEY + "0",
        PREFIX + BODY[:-1] + crc_base62(BODY[:-1]),
        PREFIX + BODY + "0" + crc_base62(BODY + "0"),
        PREFIX,
        " " + KNOWN_KEY,
        KNOWN_KEY + "\n",
    ],
    ids=[
        "truncated",
        "extra-char",
        "short-body-valid-crc",
        "long-body-valid-crc",
        "prefix-only",
        "leading-space",
        "trailing-newline",
    ],
)
def test_wrong_length_is_rejected(raw: str) -> None:
    assert not keys.is_well_formed(raw)


@pytest.mark.parametrize("char", ["-", "_", " ", "+", "/", "=", "é", "٣", "Ａ", "\x00"])
def test_non_base62_character_is_rejected_even_with_matching_crc(char: str) -> None:
    body = replace_at(BODY, 5, char)
    # The CRC of the (UTF-8) body matches, so only the alphabet check can reject it.
    raw = PREFIX + body + crc_base62(body)
    assert len(raw) == 46
    assert not keys.is_well_formed(raw)


def test_empty_string_is_rejected() -> None:
    assert not keys.is_well_formed("")


# ----------------------------------------------------------------------------- hashing
def test_hash_is_sha256_hex_of_the_whole_key() -> None:
    assert keys.hash_key(KNOWN_KEY) == hashlib.sha256(KNOWN_KEY.encode("utf-8")).hexdigest()


def test_hash_is_64_lowercase_hex_characters() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", keys.hash_key(keys.generate_key()))


def test_hash_is_deterministic() -> None:
    key = keys.generate_key()
    assert keys.hash_key(key) == keys.hash_key(key)


def test_hash_differs_per_key() -> None:
    hashes = {keys.hash_key(keys.generate_key()) for _ in range(500)}
    assert len(hashes) == 500


def test_hashes_match_accepts_equal_hashes() -> None:
    assert crypto.hashes_match(keys.hash_key(KNOWN_KEY), keys.hash_key(KNOWN_KEY))


def test_hashes_match_rejects_different_hashes() -> None:
    assert not crypto.hashes_match(keys.hash_key(KNOWN_KEY), keys.hash_key(keys.generate_key()))


def test_hashes_match_rejects_non_ascii_input_without_raising() -> None:
    assert not crypto.hashes_match(keys.hash_key(KNOWN_KEY), "é" * 64)


# ----------------------------------------------------------------------------- display
def test_display_prefix_is_the_first_12_characters() -> None:
    assert keys.display_prefix(KNOWN_KEY) == "dc_live_7fQk"


def test_last4_is_the_last_4_characters() -> None:
    assert keys.last4(KNOWN_KEY) == "foMm"


# ----------------------------------------------------------------------------- ids, secrets
@pytest.mark.parametrize("kind", ["org", "usr", "key", "line", "cli"])
def test_generate_id_is_kind_underscore_20_base62(kind: str) -> None:
    assert re.fullmatch(rf"{kind}_[0-9A-Za-z]{{20}}", crypto.generate_id(kind))


def test_generated_ids_are_unique() -> None:
    ids = {crypto.generate_id("org") for _ in range(2000)}
    assert len(ids) == 2000


@pytest.mark.parametrize("kind", ["", "Org", "org_", "or g", "org1", "é"])
def test_generate_id_refuses_a_malformed_kind(kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        crypto.generate_id(kind)


def test_generate_secret_is_prefix_and_urlsafe_random() -> None:
    secret = crypto.generate_secret("dcs_")
    # 32 bytes of URL-safe base64 without padding is 43 characters.
    assert re.fullmatch(r"dcs_[A-Za-z0-9_-]{43}", secret)


def test_generate_secret_length_follows_nbytes() -> None:
    assert len(crypto.generate_secret("", nbytes=48)) == 64


def test_generated_secrets_are_unique() -> None:
    secrets_ = {crypto.generate_secret("dcs_") for _ in range(500)}
    assert len(secrets_) == 500


def test_generate_secret_refuses_fewer_than_16_bytes() -> None:
    with pytest.raises(ValueError, match="nbytes"):
        crypto.generate_secret("dcs_", nbytes=15)
