"""The call token: a per-execution secret a provider sends back with each server message.

``dct_`` followed by the base64url (no padding) HMAC-SHA256, keyed by the organization's
provider webhook secret, of ``execution:{id}``. Nothing is stored: the token is derived again
to check a message. A call record read in the provider's dashboard therefore exposes one
execution's token, never the organization's secret (``vapi.md``, "Authentication").

Pure and standard-library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from dialcues_core.kernel.crypto import hashes_match

TOKEN_PREFIX = "dct_"
"""The fixed prefix of every call token."""


def call_token(secret: str, execution_id: int) -> str:
    """Return the call token of ``execution_id`` under the organization's ``secret``."""
    digest = hmac.new(secret.encode(), f"execution:{execution_id}".encode(), hashlib.sha256)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def token_matches(secret: str, execution_id: int, given: str | None) -> bool:
    """Tell, in constant time, whether ``given`` is the call token of ``execution_id``.

    An empty secret matches nothing: a blank configuration must not open the door.
    """
    if not secret or given is None:
        return False
    return hashes_match(call_token(secret, execution_id), given)
