"""Administration messages (organizations, users, API keys, outbound lines) and core objects.

Split from :mod:`dialcues_grpc.convert` (the public API's messages) along the line the services
draw: these serve only the admin services, behind the admin token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format, struct_pb2

from dialcues_core.accounts.model import (
    ApiKey,
    IssuedApiKey,
    Organization,
    OutboundLine,
    ProviderSettings,
)
from dialcues_grpc._pb.dialcues.v1 import (
    api_keys_pb2,
    common_pb2,
    organizations_pb2,
    outbound_lines_pb2,
)
from dialcues_grpc.convert import _PROVIDER, Payload, _enum_text, _timestamp, instant


def organization(org: Organization) -> organizations_pb2.Organization:
    """Return an organization, its provider secrets masked."""
    return organizations_pb2.Organization(
        id=org.id,
        name=org.name,
        created_at=_timestamp(org.created_at),
        provider=_masked_provider(org.provider),
    )


def _masked_provider(
    settings: ProviderSettings | None,
) -> organizations_pb2.MaskedProviderSettings | None:
    if settings is None:
        return None
    masked = settings.masked()
    delays = settings.retry_delays
    return organizations_pb2.MaskedProviderSettings(
        provider=_PROVIDER[settings.provider],
        api_key_hint=str(masked["api_key"]),
        assistant_id=settings.assistant_id,
        webhook_secret_hint=str(masked["webhook_secret"]),
        base_url=settings.base_url,
        concurrency=settings.concurrency,
        retry_delays=organizations_pb2.RetryDelays(seconds=delays) if delays is not None else None,
        model=settings.model,
        voice=_struct(settings.voice),
        transcriber=_struct(settings.transcriber),
        telnyx_credential_id=settings.telnyx_credential_id,
    )


def _struct(value: dict[str, Any] | None) -> struct_pb2.Struct | None:
    if value is None:
        return None
    found = struct_pb2.Struct()
    found.update(value)
    return found


def provider_settings(
    request: organizations_pb2.SetProviderSettingsRequest,
) -> tuple[str, Payload]:
    """Return the organization id and the core's provider fields (unset → absent)."""
    fields: Payload = {
        "provider": _enum_text(common_pb2.Provider, "PROVIDER_", request.provider),
        "api_key": request.api_key or None,
        "assistant_id": request.assistant_id if request.HasField("assistant_id") else None,
        "webhook_secret": request.webhook_secret or None,
        "base_url": request.base_url if request.HasField("base_url") else None,
        "concurrency": request.concurrency if request.HasField("concurrency") else None,
    }
    if request.HasField("retry_delays"):
        fields["retry_delays"] = list(request.retry_delays.seconds)
    for name in ("model", "telnyx_credential_id"):
        if request.HasField(name):
            fields[name] = getattr(request, name)
    for name in ("voice", "transcriber"):
        if request.HasField(name):
            fields[name] = json_format.MessageToDict(getattr(request, name))
    return request.organization_id, fields


def new_user(request: organizations_pb2.CreateUserRequest) -> tuple[str, str, str]:
    """Return the organization id, e-mail and name of a user to create."""
    return request.organization_id, request.email, request.name


def new_api_key(request: api_keys_pb2.CreateApiKeyRequest) -> Payload:
    """Return the core's ``create_api_key`` arguments (empty scopes → all of them)."""
    return {
        "user_id": request.user_id,
        "name": request.name if request.HasField("name") else None,
        "expires_at": (
            instant(request.expires_at, "expires_at") if request.HasField("expires_at") else None
        ),
        "scopes": list(request.scopes) or None,
    }


def api_key(key: ApiKey) -> api_keys_pb2.ApiKey:
    """Return a stored key: hints only, never its hash."""
    return api_keys_pb2.ApiKey(
        id=key.id,
        user_id=key.user_id,
        organization_id=key.organization_id,
        name=key.name,
        prefix=key.prefix,
        last4=key.last4,
        scopes=key.scopes,
        created_at=_timestamp(key.created_at),
        last_used_at=_timestamp(key.last_used_at),
        expires_at=_timestamp(key.expires_at),
        revoked_at=_timestamp(key.revoked_at),
    )


def issued_api_key(issued: IssuedApiKey) -> api_keys_pb2.CreateApiKeyResponse:
    """Return a key just created, with its raw form (the only time it is ever shown)."""
    return api_keys_pb2.CreateApiKeyResponse(key=api_key(issued.key), api_key=issued.raw)


def api_keys(keys: Iterable[ApiKey]) -> api_keys_pb2.ListApiKeysResponse:
    """Return a user's keys."""
    return api_keys_pb2.ListApiKeysResponse(items=[api_key(k) for k in keys])


def new_line(request: outbound_lines_pb2.AddLineRequest) -> Payload:
    """Return the core's ``add_line`` arguments (the core checks them); empty ``features``
    are left out, so the core's default (``voice``) applies."""
    optional = {
        name: getattr(request, name) if request.HasField(name) else None
        for name in ("provider_line_id", "label", "carrier")
    }
    features = {"features": tuple(request.features)} if request.features else {}
    return {
        "org_id": request.organization_id,
        "provider": _enum_text(common_pb2.Provider, "PROVIDER_", request.provider) or "",
        "number": request.phone_number,
        **optional,
        "default": request.is_default,
        **features,
    }


def line_ref(request: Any) -> tuple[str, str]:
    """Return the organization and line ids of a SetDefaultLine/RemoveLine request."""
    return str(request.organization_id), str(request.line_id)


def outbound_line(line: OutboundLine) -> outbound_lines_pb2.OutboundLine:
    """Return a line with everything an administrator may see."""
    return outbound_lines_pb2.OutboundLine(
        id=line.id,
        organization_id=line.organization_id,
        provider=_PROVIDER[line.provider],
        phone_number=line.phone_number,
        label=line.label,
        is_default=line.is_default,
        provider_line_id=line.provider_line_id,
        created_at=_timestamp(line.created_at),
        features=line.features,
        carrier=line.carrier,
        number_id=line.number_id,
    )


def outbound_lines(items: Iterable[OutboundLine]) -> outbound_lines_pb2.ListOutboundLinesResponse:
    """Return an organization's lines for an administrator."""
    return outbound_lines_pb2.ListOutboundLinesResponse(items=[outbound_line(i) for i in items])
