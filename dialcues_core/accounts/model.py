"""Who: organizations, users, outbound lines, provider settings, API keys, principals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dialcues_core.kernel.scopes import ALL_SCOPES, demand


class Provider(StrEnum):
    """Who places the calls of an outbound line."""

    SIMULATED = "simulated"
    VAPI = "vapi"


DEFAULT_MODEL = "openai:gpt-4.1-mini"
"""The model of an organization's calls when its provider settings name none."""


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """An organization's voice-provider account; secrets are write-only (see ``masked``).

    Calls carry an assistant Dialcues builds (``responsible-calling.md`` §10.4): ``model``
    (``PROVIDER:MODEL``), ``voice`` and ``transcriber`` (Vapi objects, sent as given; None:
    Vapi's defaults) are its. ``assistant_id`` is kept for inbound routes; no call uses it.
    """

    provider: Provider
    api_key: str
    assistant_id: str | None
    webhook_secret: str
    base_url: str = "https://api.vapi.ai"
    concurrency: int = 10
    retry_delays: tuple[int, ...] | None = None
    model: str = DEFAULT_MODEL
    voice: dict[str, Any] | None = None
    transcriber: dict[str, Any] | None = None
    telnyx_credential_id: str | None = None
    """The Vapi credential holding the organization's Telnyx API key (imports need it)."""

    @property
    def model_parts(self) -> tuple[str, str]:
        """Return the model's provider and name (``("openai", "gpt-4.1-mini")``)."""
        provider, _, name = self.model.partition(":")
        return provider, name

    def masked(self) -> dict[str, object]:
        """Return the settings safe to print: secrets reduced to their last 4 characters."""
        return {
            "provider": self.provider.value,
            "api_key": _mask(self.api_key),
            "assistant_id": self.assistant_id,
            "webhook_secret": _mask(self.webhook_secret),
            "base_url": self.base_url,
            "concurrency": self.concurrency,
            "retry_delays": list(self.retry_delays) if self.retry_delays is not None else None,
            "model": self.model,
            "voice": self.voice,
            "transcriber": self.transcriber,
            "telnyx_credential_id": self.telnyx_credential_id,
        }


def _mask(secret: str) -> str:
    return "…" + secret[-4:] if len(secret) > 4 else "…"


@dataclass(frozen=True, slots=True)
class Organization:
    """A customer account; its users share its outbound lines and provider settings."""

    id: str
    name: str
    created_at: datetime
    provider: ProviderSettings | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A person (or service) acting through API keys, in exactly one organization."""

    id: str
    organization_id: str
    email: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: never the raw key, only its hash and printable hints."""

    id: str
    user_id: str
    organization_id: str
    name: str | None
    prefix: str
    last4: str
    key_hash: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    all_scopes: bool = False
    """Created without an explicit list: ``scopes`` is every scope there is (and grows)."""


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A key just created: the stored record and the raw key, shown this once."""

    key: ApiKey
    raw: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the authenticated user behind a credential."""

    user: User
    api_key_id: str | None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_SCOPES))
    client_id: str | None = None
    """The OAuth client whose access token this is (then ``api_key_id`` is None)."""

    @property
    def user_id(self) -> str:
        """Return the acting user's id."""
        return self.user.id

    @property
    def organization_id(self) -> str:
        """Return the acting user's organization id."""
        return self.user.organization_id

    def require(self, scope: str) -> None:
        """Raise ``insufficient_scope`` (naming ``scope``) unless the credential carries it.

        Inside :func:`~dialcues_core.kernel.scopes.recording_scopes` the scope is also
        recorded (checked or refused).
        """
        demand(scope, self.scopes)


FEATURES = ("voice", "sms", "mms")
"""What a line (and a carrier's number) can do (``telephony.md`` §3.1)."""
CARRIERS = ("simulated", "telnyx")
"""The carriers a line's messages may go through."""


@dataclass(frozen=True, slots=True)
class OutboundLine:
    """A phone number an organization calls from."""

    id: str
    organization_id: str
    provider: Provider
    phone_number: str
    label: str | None
    is_default: bool
    created_at: datetime
    provider_line_id: str | None = None
    temporary: bool = False
    """The agent smoke flow's line (fictional numbers): exempt from the calling gate."""
    features: tuple[str, ...] = ("voice",)
    """Sorted: ``mms``, ``sms``, ``voice``."""
    carrier: str | None = None
    """The carrier its messages go through (None: it sends none)."""
    number_id: str | None = None
    """The number record (``num_…``) whose assign created it."""
    route: Mapping[str, Any] | None = None
    """Its inbound route (``telephony.md`` §3.1); None: it refuses inbound calls."""
