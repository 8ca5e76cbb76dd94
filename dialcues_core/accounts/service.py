"""Use cases of the account side: organizations, users, API keys, outbound lines, authentication.

Administration (everything but :meth:`Authenticator.authenticate`) is for the CLI, the gRPC
admin service and host apps — never for the public API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialcues_core.accounts import keys
from dialcues_core.accounts.authn import Authenticator
from dialcues_core.accounts.model import (
    CARRIERS,
    DEFAULT_MODEL,
    FEATURES,
    ApiKey,
    IssuedApiKey,
    Organization,
    OutboundLine,
    Principal,
    Provider,
    ProviderSettings,
    User,
)
from dialcues_core.accounts.ports import (
    ApiKeyRepository,
    LineRepository,
    OrganizationRepository,
    UserRepository,
)
from dialcues_core.config import parse_seconds_list
from dialcues_core.errors import ResourceNotFound
from dialcues_core.kernel import crypto
from dialcues_core.kernel.fields import MISSING, FieldReader, text_parser
from dialcues_core.kernel.moments import parse_local_moment
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.kernel.ports import Clock, Transactions
from dialcues_core.kernel.scopes import ALL_SCOPES, READ_LINES, requires

_parse_name = text_parser(255)


@dataclass(frozen=True, slots=True)
class AccountRepositories:
    """The repositories the account use cases need."""

    transactions: Transactions
    organizations: OrganizationRepository
    users: UserRepository
    api_keys: ApiKeyRepository
    lines: LineRepository


class Accounts:
    """Create and manage organizations, users, keys and lines."""

    def __init__(self, repos: AccountRepositories, clock: Clock, authenticator: Authenticator):
        self.repos = repos
        self.clock = clock
        self.authenticator = authenticator
        self.on_organization_created: list[Callable[[Organization], None]] = []
        """Called in the creating transaction (the calling policy names the caller)."""

    # ------------------------------------------------------------------ organizations, users
    def create_organization(self, name: str) -> Organization:
        """Create an organization named ``name``."""
        reader = FieldReader({"name": name}, {"name"})
        clean = reader.read("name", _parse_name, required=True)
        reader.raise_if_any()
        org = Organization(crypto.generate_id("org"), clean, self.clock.now())
        with self.repos.transactions.atomic():
            self.repos.organizations.add(org)
            for created in self.on_organization_created:
                created(org)
        return org

    def is_empty(self) -> bool:
        """Tell whether no organization exists yet."""
        return not self.repos.organizations.exists_any()

    def get_organization(self, org_id: str) -> Organization:
        """Return the organization or raise ``not_found``."""
        org = self.repos.organizations.get(org_id)
        if org is None:
            raise ResourceNotFound("organization", org_id)
        return org

    def set_provider(self, org_id: str, fields: Mapping[str, Any]) -> Organization:
        """Set the organization's provider account (see ``configuration.md``)."""
        self.get_organization(org_id)
        settings = parse_provider_settings(fields)
        with self.repos.transactions.atomic():
            self.repos.organizations.set_provider(org_id, settings)
        return self.get_organization(org_id)

    def create_user(self, org_id: str, email: str, name: str) -> User:
        """Create a user in the organization; the e-mail is unique there."""
        reader = FieldReader({"email": email, "name": name}, {"email", "name"})
        clean_email = reader.read("email", _parse_email, required=True)
        clean_name = reader.read("name", _parse_name, required=True)
        reader.raise_if_any()
        self.get_organization(org_id)
        user = User(crypto.generate_id("usr"), org_id, clean_email, clean_name, self.clock.now())
        with self.repos.transactions.atomic():
            self.repos.users.add(user)
        return user

    def get_user(self, user_id: str) -> User:
        """Return the user or raise ``not_found``."""
        user = self.repos.users.get(user_id)
        if user is None:
            raise ResourceNotFound("user", user_id)
        return user

    # ------------------------------------------------------------------ API keys
    def create_api_key(
        self,
        user_id: str,
        name: str | None = None,
        expires_at: datetime | str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> IssuedApiKey:
        """Create a key for the user; the raw key is in the result, and only there."""
        user = self.get_user(user_id)
        reader = FieldReader({"name": name} if name is not None else {}, ("name",))
        clean_name = reader.read("name", _parse_name) if name is not None else None
        expiry = self._parse_expiry(reader, expires_at)
        clean_scopes = _parse_scopes(reader, scopes)
        reader.raise_if_any()
        raw = keys.generate_key()
        key = ApiKey(
            id=crypto.generate_id("key"),
            user_id=user.id,
            organization_id=user.organization_id,
            name=clean_name,
            prefix=keys.display_prefix(raw),
            last4=keys.last4(raw),
            key_hash=keys.hash_key(raw),
            scopes=clean_scopes,
            created_at=self.clock.now(),
            expires_at=expiry,
            all_scopes=scopes is None,
        )
        with self.repos.transactions.atomic():
            self.repos.api_keys.add(key)
        return IssuedApiKey(key, raw)

    def _parse_expiry(self, reader: FieldReader, value: datetime | str | None) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            moment = parse_local_moment(value) if _looks_aware(value) else None
            if moment is None or moment.instant is None:
                reader.fail("expires_at", "must be an RFC 3339 time with an offset")
                return None
            value = moment.instant
        if value.tzinfo is None or value <= self.clock.now():
            reader.fail("expires_at", "must be an aware time in the future")
            return None
        return value

    def list_api_keys(self, user_id: str) -> list[ApiKey]:
        """Return the user's keys (prefix and last 4 only), newest first."""
        self.get_user(user_id)
        return self.repos.api_keys.list_for_user(user_id)

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Revoke the key; it stops working at once in this process."""
        with self.repos.transactions.atomic():
            if self.repos.api_keys.get(key_id) is None:
                raise ResourceNotFound("api_key", key_id)
            self.repos.api_keys.revoke(key_id, self.clock.now())
        key = self.repos.api_keys.get(key_id)
        assert key is not None
        self.authenticator.forget(key.key_hash)
        return key

    # ------------------------------------------------------------------ lines
    def add_line(
        self,
        org_id: str,
        provider: str,
        number: str,
        provider_line_id: str | None = None,
        label: str | None = None,
        default: bool = False,
        features: tuple[str, ...] = ("voice",),
        carrier: str | None = None,
        number_id: str | None = None,
    ) -> OutboundLine:
        """Add an outbound line; the first line (or ``default=True``) becomes the default.

        ``features`` (sorted, of ``voice``, ``sms``, ``mms``) and ``carrier`` (the carrier its
        messages go through; None: it sends none) are checked by the caller's parser; an assign
        passes its ``number_id``.
        """
        self.get_organization(org_id)
        given = {"label": label, "provider_line_id": provider_line_id}
        fields: dict[str, Any] = {"provider": provider, "phone_number": number}
        fields |= {name: value for name, value in given.items() if value is not None}
        reader = FieldReader(fields, fields.keys())
        clean_provider = reader.read("provider", _parse_provider, required=True)
        clean_number = reader.read("phone_number", parse_phone_number, required=True)
        label = _none_if_missing(reader.read("label", _parse_name))
        provider_line_id = _none_if_missing(reader.read("provider_line_id", _parse_name))
        if clean_provider is Provider.VAPI and not provider_line_id:
            reader.fail("provider_line_id", "is required for a vapi line (its phoneNumberId)")
        if not features or len(set(features)) != len(features) or set(features) - set(FEATURES):
            reader.fail("features", "must be voice, sms or mms, each once")
        if carrier is not None and carrier not in CARRIERS:
            reader.fail("carrier", "must be simulated or telnyx")
        reader.raise_if_any()
        with self.repos.transactions.atomic():
            first = self.repos.lines.default_for(org_id) is None
            line = OutboundLine(
                id=crypto.generate_id("line"),
                organization_id=org_id,
                provider=clean_provider,
                phone_number=clean_number,
                label=label,
                is_default=default or first,
                created_at=self.clock.now(),
                provider_line_id=provider_line_id,
                features=tuple(sorted(features)),
                carrier=carrier,
                number_id=number_id,
            )
            self.repos.lines.add(line)
        return line

    @requires(READ_LINES)
    def lines_of(self, principal: Principal) -> list[OutboundLine]:
        """Return the lines of the principal's organization (scope ``lines:read``)."""
        return self.repos.lines.list_for_org(principal.organization_id)

    def list_lines(self, org_id: str) -> list[OutboundLine]:
        """Return the organization's lines, oldest first (``not_found`` for no such org)."""
        self.get_organization(org_id)
        return self.repos.lines.list_for_org(org_id)

    def set_default_line(self, org_id: str, line_id: str) -> OutboundLine:
        """Make the line the organization's default."""
        with self.repos.transactions.atomic():
            if not self.repos.lines.set_default(org_id, line_id):
                raise ResourceNotFound("line", line_id)
        line = self.repos.lines.get(org_id, line_id)
        assert line is not None
        return line

    def remove_line(self, org_id: str, line_id: str) -> None:
        """Remove the line; reminders fixed on it fall back to the default line at dial time."""
        with self.repos.transactions.atomic():
            if not self.repos.lines.remove(org_id, line_id):
                raise ResourceNotFound("line", line_id)


# ----------------------------------------------------------------------------- parsing
def _none_if_missing(value: Any) -> Any:
    return None if value is MISSING else value


def _parse_email(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an e-mail address")
    text = value.strip()
    local, _, domain = text.partition("@")
    bad = any(ch <= " " or ch == "\x7f" for ch in text)
    if not local or "." not in domain or len(text) > 320 or bad:
        raise ValueError("must be an e-mail address")
    return text


def _parse_provider(value: Any) -> Provider:
    try:
        return Provider(value)
    except ValueError:
        raise ValueError("must be one of simulated, vapi") from None


def _parse_scopes(reader: FieldReader, scopes: Iterable[str] | None) -> tuple[str, ...]:
    if scopes is None:
        return ALL_SCOPES
    chosen = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in chosen if s not in ALL_SCOPES]
    if unknown or not chosen:
        reader.fail("scopes", f"must be a non-empty subset of {', '.join(ALL_SCOPES)}")
    return chosen


def _looks_aware(value: str) -> bool:
    tail = value[19:]
    return value.endswith(("Z", "z")) or "+" in tail or "-" in tail


PROVIDER_FIELDS = frozenset(
    {
        "provider",
        "api_key",
        "assistant_id",
        "webhook_secret",
        "base_url",
        "concurrency",
        "retry_delays",
        "model",
        "voice",
        "transcriber",
        "telnyx_credential_id",
    }
)


def parse_provider_settings(fields: Mapping[str, Any]) -> ProviderSettings:
    """Validate provider settings given as a mapping (CLI flags, gRPC, host apps)."""
    reader = FieldReader({k: v for k, v in fields.items() if v is not None}, PROVIDER_FIELDS)
    provider = reader.read("provider", _parse_provider, required=True)
    if provider is Provider.SIMULATED:
        reader.fail("provider", "must be vapi (simulated lines need no provider account)")
    secret = text_parser(1000)
    api_key = reader.read("api_key", secret, required=True)
    assistant_id = reader.read("assistant_id", secret)
    webhook_secret = reader.read("webhook_secret", secret, required=True)
    base_url = reader.read("base_url", _parse_base_url)
    concurrency = reader.read("concurrency", _parse_concurrency)
    delays = reader.read("retry_delays", _parse_delays)
    model = reader.read("model", _parse_model)
    voice = reader.read("voice", _parse_vapi_object)
    transcriber = reader.read("transcriber", _parse_vapi_object)
    credential = reader.read("telnyx_credential_id", text_parser(255))
    reader.raise_if_any()
    return ProviderSettings(
        provider=provider,
        api_key=api_key,
        assistant_id=assistant_id if assistant_id is not MISSING else None,
        webhook_secret=webhook_secret,
        base_url=base_url if base_url is not MISSING else "https://api.vapi.ai",
        concurrency=concurrency if concurrency is not MISSING else 10,
        retry_delays=delays if delays is not MISSING else None,
        model=model if model is not MISSING else DEFAULT_MODEL,
        voice=voice if voice is not MISSING else None,
        transcriber=transcriber if transcriber is not MISSING else None,
        telnyx_credential_id=credential if credential is not MISSING else None,
    )


_MODEL = re.compile(r"[a-z0-9][a-z0-9.-]{0,49}:[^\s:][^\s]{0,199}")
"""``PROVIDER:MODEL``: Vapi's provider names (``openai``, ``anthropic``, ``custom-llm``, …) and
a model id without spaces (it may hold colons: ``openai:ft:gpt-4.1-mini:acme``)."""

VAPI_OBJECT_LIMIT = 10_000
"""The longest ``voice`` or ``transcriber`` object accepted, as JSON."""


def _parse_model(value: Any) -> str:
    if not isinstance(value, str) or not _MODEL.fullmatch(value.strip()):
        raise ValueError("must be PROVIDER:MODEL, such as openai:gpt-4.1-mini")
    return value.strip()


def _parse_vapi_object(value: Any) -> dict[str, Any]:
    """A Vapi ``voice`` or ``transcriber``: a JSON object (or its text) naming its provider."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("must be a JSON object") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    if not isinstance(value.get("provider"), str) or not value["provider"].strip():
        raise ValueError('must name its "provider"')
    if len(json.dumps(value)) > VAPI_OBJECT_LIMIT:
        raise ValueError(f"must be at most {VAPI_OBJECT_LIMIT} characters as JSON")
    return dict(value)


def _parse_base_url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def _parse_concurrency(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be an integer from 1 to 1000") from None
    if not 1 <= number <= 1000:
        raise ValueError("must be an integer from 1 to 1000")
    return number


def _parse_delays(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        return parse_seconds_list(value)
    if isinstance(value, list | tuple) and all(isinstance(v, int) and v >= 0 for v in value):
        return tuple(value)
    raise ValueError("must be a list of whole seconds such as 300,900")
