"""Turn core objects into the JSON the CLI prints (secrets masked, times RFC 3339)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from dialcues_core.accounts.model import ApiKey, IssuedApiKey, Organization


def jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON types."""
    if isinstance(value, Organization):
        return _organization(value)
    if isinstance(value, IssuedApiKey):
        return {**_api_key(value.key), "api_key": value.raw}
    if isinstance(value, ApiKey):
        return _api_key(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset):
        return [jsonable(v) for v in value]
    return value


def _organization(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "created_at": jsonable(org.created_at),
        "provider": org.provider.masked() if org.provider else None,
    }


def _api_key(key: ApiKey) -> dict[str, Any]:
    fields = {f.name: jsonable(getattr(key, f.name)) for f in dataclasses.fields(key)}
    fields.pop("key_hash")
    return fields
