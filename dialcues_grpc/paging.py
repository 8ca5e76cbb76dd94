"""AIP-158 page tokens over the core's numbered pages.

A token is opaque to callers: URL-safe base64 of ``{"p": page, "s": page_size, "f": …}``
where ``f`` fingerprints the listing and its filters, so a token is refused when sent with
other filters (or to another listing). Tokens are not secret and not signed: they only select
a page of the caller's own data, and the core still checks every value.

Rules: ``page_token`` and ``page`` are exclusive; with a token, ``page_size`` may be omitted
(the token's is used) or repeated, not changed. Problems are ``validation_error``s naming the
field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from dialcues_core.errors import ValidationFailed
from dialcues_core.kernel.paging import Page

_PAGING_FIELDS: Final = frozenset({"page", "page_size"})
_BAD_TOKEN: Final = "is not a page token returned by this listing"


def fingerprint(listing: str, params: Mapping[str, str]) -> str:
    """Return a short digest of a listing's name and its filters (paging fields left out)."""
    filters = {k: v for k, v in params.items() if k not in _PAGING_FIELDS}
    text = json.dumps([listing, filters], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode(page: int, page_size: int, digest: str) -> str:
    """Return the token of one page."""
    raw = json.dumps({"p": page, "s": page_size, "f": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode(token: str) -> tuple[int, int, str]:
    """Return ``(page, page_size, fingerprint)`` of a token, or raise ``validation_error``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state: Any = json.loads(raw)
        page, size, digest = state["p"], state["s"], state["f"]
    except (ValueError, binascii.Error, TypeError, KeyError):
        raise ValidationFailed.one("page_token", _BAD_TOKEN) from None
    if not (isinstance(page, int) and isinstance(size, int) and isinstance(digest, str)):
        raise ValidationFailed.one("page_token", _BAD_TOKEN)
    return page, size, digest


def apply_token(listing: str, params: Mapping[str, str], token: str) -> dict[str, str]:
    """Return ``params`` with the page (and size) the token stands for; unchanged without one."""
    if not token:
        return dict(params)
    if "page" in params:
        raise ValidationFailed.one("page_token", "cannot be combined with page")
    page, size, digest = decode(token)
    if digest != fingerprint(listing, params):
        raise ValidationFailed.one("page_token", "was returned for other filters")
    if params.get("page_size", str(size)) != str(size):
        raise ValidationFailed.one("page_size", "must not change while paging with page_token")
    return {**params, "page": str(page), "page_size": str(size)}


def next_token(listing: str, params: Mapping[str, str], found: Page[Any]) -> str:
    """Return the token of the page after ``found``; empty when it is the last."""
    if found.page >= found.total_pages:
        return ""
    return encode(found.page + 1, found.page_size, fingerprint(listing, params))
