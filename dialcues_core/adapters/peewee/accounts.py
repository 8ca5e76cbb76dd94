"""Organizations, users, API keys and lines in peewee."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import peewee as pw

from dialcues_core.accounts.model import (
    DEFAULT_MODEL,
    ApiKey,
    Organization,
    OutboundLine,
    Provider,
    ProviderSettings,
    User,
)
from dialcues_core.adapters.peewee.prepared import PreparedSelect
from dialcues_core.adapters.peewee.tables import (
    ApiKeyRow,
    LineRow,
    OrganizationRow,
    ReminderRow,
    UserRow,
    read_scopes,
    stored_scopes,
)
from dialcues_core.errors import AlreadyExists
from dialcues_core.kernel.scopes import ALL_SCOPES_MARK


# ----------------------------------------------------------------------------- organizations
class PeeweeOrganizationRepository:
    """Organizations in the ``organizations`` table."""

    def add(self, org: Organization) -> None:
        """Store a new organization."""
        OrganizationRow.create(id=org.id, name=org.name, created_at=org.created_at)

    def get(self, org_id: str) -> Organization | None:
        """Return the organization or None."""
        row = OrganizationRow.get_or_none(OrganizationRow.id == org_id)
        return _organization(row) if row else None

    def exists_any(self) -> bool:
        """Tell whether any organization exists."""
        return OrganizationRow.select().exists()

    def set_provider(self, org_id: str, settings: ProviderSettings) -> None:
        """Replace the organization's provider settings."""
        OrganizationRow.update(**provider_columns(settings)).where(
            OrganizationRow.id == org_id
        ).execute()


PROVIDER_COLUMNS = (
    "provider",
    "provider_api_key",
    "provider_assistant_id",
    "provider_webhook_secret",
    "provider_base_url",
    "provider_concurrency",
    "provider_retry_delays",
    "provider_model",
    "provider_voice",
    "provider_transcriber",
    "provider_telnyx_credential_id",
)
"""The ``organizations`` columns of the provider settings, in :func:`provider_from` order."""


def provider_columns(settings: ProviderSettings) -> dict[str, Any]:
    """Return the stored form of provider settings, by column."""
    delays = settings.retry_delays
    return {
        "provider": settings.provider.value,
        "provider_api_key": settings.api_key,
        "provider_assistant_id": settings.assistant_id,
        "provider_webhook_secret": settings.webhook_secret,
        "provider_base_url": settings.base_url,
        "provider_concurrency": settings.concurrency,
        "provider_retry_delays": ",".join(map(str, delays)) if delays is not None else None,
        "provider_model": settings.model,
        "provider_voice": _json(settings.voice),
        "provider_transcriber": _json(settings.transcriber),
        "provider_telnyx_credential_id": settings.telnyx_credential_id,
    }


def provider_from(values: Sequence[Any]) -> ProviderSettings | None:
    """Read provider settings back from :data:`PROVIDER_COLUMNS`' values (None: no provider).

    A row written before v11 has no model: the default one.
    """
    if not values[0]:
        return None
    return ProviderSettings(
        provider=Provider(values[0]),
        api_key=values[1],
        assistant_id=values[2],
        webhook_secret=values[3],
        base_url=values[4],
        concurrency=values[5],
        retry_delays=_delays(values[6]),
        model=values[7] or DEFAULT_MODEL,
        voice=json.loads(values[8]) if values[8] else None,
        transcriber=json.loads(values[9]) if values[9] else None,
        telnyx_credential_id=values[10],
    )


def _json(value: dict[str, Any] | None) -> str | None:
    return json.dumps(value, separators=(",", ":")) if value is not None else None


def _delays(text: str | None) -> tuple[int, ...] | None:
    return tuple(int(d) for d in text.split(",") if d) if text is not None else None


def _organization(row: Any) -> Organization:
    provider = provider_from([getattr(row, column) for column in PROVIDER_COLUMNS])
    return Organization(row.id, row.name, row.created_at, provider)


# ----------------------------------------------------------------------------- users and keys
class PeeweeUserRepository:
    """Users in the ``users`` table."""

    def add(self, user: User) -> None:
        """Store a new user; the e-mail is unique within the organization."""
        try:
            with UserRow._meta.database.atomic():
                UserRow.create(
                    id=user.id,
                    organization=user.organization_id,
                    email=user.email,
                    name=user.name,
                    created_at=user.created_at,
                )
        except pw.IntegrityError as exc:
            raise AlreadyExists(
                "A user with this e-mail already exists in the organization.", {"field": "email"}
            ) from exc

    def get(self, user_id: str) -> User | None:
        """Return the user or None."""
        row = UserRow.get_or_none(UserRow.id == user_id)
        return _user(row) if row else None


def _user(row: Any) -> User:
    return User(row.id, row.organization_id, row.email, row.name, row.created_at)


class PeeweeApiKeyRepository:
    """API keys in the ``api_keys`` table."""

    def add(self, key: ApiKey) -> None:
        """Store a new key."""
        ApiKeyRow.create(
            id=key.id,
            user=key.user_id,
            organization_id=key.organization_id,
            name=key.name,
            prefix=key.prefix,
            last4=key.last4,
            key_hash=key.key_hash,
            scopes=stored_scopes(key.scopes, key.all_scopes),
            created_at=key.created_at,
            expires_at=key.expires_at,
        )

    def find_by_hash(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """Return the key with this hash and its user, or None."""
        query = (
            ApiKeyRow.select(ApiKeyRow, UserRow).join(UserRow).where(ApiKeyRow.key_hash == key_hash)
        )
        row = query.first()
        return (_api_key(row), _user(row.user)) if row else None

    def get(self, key_id: str) -> ApiKey | None:
        """Return the key or None."""
        row = ApiKeyRow.get_or_none(ApiKeyRow.id == key_id)
        return _api_key(row) if row else None

    def list_for_user(self, user_id: str) -> list[ApiKey]:
        """Return the user's keys, newest first."""
        rows = ApiKeyRow.select().where(ApiKeyRow.user == user_id)
        return [_api_key(r) for r in rows.order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id)]

    def revoke(self, key_id: str, at: datetime) -> None:
        """Mark the key revoked (the first revocation time is kept)."""
        ApiKeyRow.update(revoked_at=at).where(
            (ApiKeyRow.id == key_id) & ApiKeyRow.revoked_at.is_null()
        ).execute()

    def touch(self, last_used: dict[str, datetime]) -> None:
        """Record ``last_used_at`` for many keys in one transaction."""
        with ApiKeyRow._meta.database.atomic():
            for key_id, at in last_used.items():
                ApiKeyRow.update(last_used_at=at).where(ApiKeyRow.id == key_id).execute()


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        name=row.name,
        prefix=row.prefix,
        last4=row.last4,
        key_hash=row.key_hash,
        scopes=read_scopes(row.scopes),
        all_scopes=row.scopes == ALL_SCOPES_MARK,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


# ----------------------------------------------------------------------------- lines
class PeeweeLineRepository:
    """Outbound lines in the ``outbound_lines`` table."""

    def add(self, line: OutboundLine) -> None:
        """Store a new line; a default line makes the others non-default."""
        with LineRow._meta.database.atomic():
            if line.is_default:
                LineRow.update(is_default=False).where(
                    LineRow.organization == line.organization_id
                ).execute()
            LineRow.create(
                id=line.id,
                organization=line.organization_id,
                provider=line.provider.value,
                provider_line_id=line.provider_line_id,
                phone_number=line.phone_number,
                label=line.label,
                is_default=line.is_default,
                created_at=line.created_at,
                features=",".join(line.features),
                carrier=line.carrier,
                number_id=line.number_id,
                route=json.dumps(dict(line.route)) if line.route is not None else None,
            )

    def get(self, org_id: str, line_id: str) -> OutboundLine | None:
        """Return the organization's line or None (never a temporary line)."""
        row = LineRow.get_or_none(
            (LineRow.id == line_id) & (LineRow.organization == org_id) & _LASTING
        )
        return _line(row) if row else None

    def list_for_org(self, org_id: str) -> list[OutboundLine]:
        """Return the organization's lines, oldest first (temporary lines left out)."""
        rows = LineRow.select().where((LineRow.organization == org_id) & _LASTING)
        return [_line(r) for r in rows.order_by(LineRow.created_at, LineRow.id)]

    def default_for(self, org_id: str) -> OutboundLine | None:
        """Return the default line, else the oldest line, else None (never a temporary line)."""
        row = _DEFAULT_LINE.first(org_id)
        return _line(SimpleNamespace(**row)) if row else None

    def remove(self, org_id: str, line_id: str) -> bool:
        """Delete the organization's line; its reminders fall back to the default at dial time."""
        with LineRow._meta.database.atomic():
            deleted = (
                LineRow.delete()
                .where((LineRow.id == line_id) & (LineRow.organization == org_id) & _LASTING)
                .execute()
            )
            if deleted:
                ReminderRow.update(line_id=None).where(
                    (ReminderRow.line_id == line_id) & (ReminderRow.organization_id == org_id)
                ).execute()
        return bool(deleted)

    def by_provider_line_id(self, provider_line_id: str) -> OutboundLine | None:
        """Any organization's lasting line by the voice provider's id of it."""
        row = LineRow.get_or_none((LineRow.provider_line_id == provider_line_id) & _LASTING)
        return _line(row) if row else None

    def update(self, org_id: str, line_id: str, changes: Mapping[str, Any]) -> bool:
        """Change ``label`` and/or ``route`` (the keys given); tell whether the line exists."""
        values: dict[str, Any] = {}
        if "label" in changes:
            values["label"] = changes["label"]
        if "route" in changes:
            route = changes["route"]
            values["route"] = json.dumps(dict(route)) if route is not None else None
        if not values:
            return self.get(org_id, line_id) is not None
        query = LineRow.update(**values).where(
            (LineRow.id == line_id) & (LineRow.organization == org_id) & _LASTING
        )
        return bool(query.execute())

    def set_default(self, org_id: str, line_id: str) -> bool:
        """Make the line the organization's only default; tell whether it exists."""
        with LineRow._meta.database.atomic():
            if self.get(org_id, line_id) is None:
                return False
            LineRow.update(is_default=(LineRow.id == line_id)).where(
                LineRow.organization == org_id
            ).execute()
        return True


_LASTING = LineRow.temporary == False  # noqa: E712 (SQL, not Python)
"""Lines other than the smoke flow's temporary one (the only lines callers can see or pick)."""


_DEFAULT_LINE = PreparedSelect(
    lambda org_id: (
        LineRow.select()
        .where((LineRow.organization == org_id) & _LASTING)
        .order_by(LineRow.is_default.desc(), LineRow.created_at, LineRow.id)
        .limit(1)
    ),
    arity=1,
)


def _line(row: Any) -> OutboundLine:
    return OutboundLine(
        id=row.id,
        organization_id=row.organization_id,
        provider=Provider(row.provider),
        phone_number=row.phone_number,
        label=row.label,
        is_default=bool(row.is_default),
        created_at=row.created_at,
        provider_line_id=row.provider_line_id,
        features=tuple(f for f in (row.features or "voice").split(",") if f),
        carrier=row.carrier,
        number_id=row.number_id,
        route=json.loads(row.route) if row.route else None,
    )
