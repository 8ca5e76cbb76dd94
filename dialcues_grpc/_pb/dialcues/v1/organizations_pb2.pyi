import datetime

from . import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Organization(_message.Message):
    __slots__ = ("id", "name", "created_at", "provider")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    created_at: _timestamp_pb2.Timestamp
    provider: MaskedProviderSettings
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., provider: _Optional[_Union[MaskedProviderSettings, _Mapping]] = ...) -> None: ...

class RetryDelays(_message.Message):
    __slots__ = ("seconds",)
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    seconds: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, seconds: _Optional[_Iterable[int]] = ...) -> None: ...

class MaskedProviderSettings(_message.Message):
    __slots__ = ("provider", "api_key_hint", "assistant_id", "webhook_secret_hint", "base_url", "concurrency", "retry_delays")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_HINT_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_HINT_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAYS_FIELD_NUMBER: _ClassVar[int]
    provider: _common_pb2.Provider
    api_key_hint: str
    assistant_id: str
    webhook_secret_hint: str
    base_url: str
    concurrency: int
    retry_delays: RetryDelays
    def __init__(self, provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., api_key_hint: _Optional[str] = ..., assistant_id: _Optional[str] = ..., webhook_secret_hint: _Optional[str] = ..., base_url: _Optional[str] = ..., concurrency: _Optional[int] = ..., retry_delays: _Optional[_Union[RetryDelays, _Mapping]] = ...) -> None: ...

class CreateOrganizationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetOrganizationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("organization_id", "email", "name")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    email: str
    name: str
    def __init__(self, organization_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class SetProviderSettingsRequest(_message.Message):
    __slots__ = ("organization_id", "provider", "api_key", "assistant_id", "webhook_secret", "base_url", "concurrency", "retry_delays")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAYS_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    provider: _common_pb2.Provider
    api_key: str
    assistant_id: str
    webhook_secret: str
    base_url: str
    concurrency: int
    retry_delays: RetryDelays
    def __init__(self, organization_id: _Optional[str] = ..., provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., api_key: _Optional[str] = ..., assistant_id: _Optional[str] = ..., webhook_secret: _Optional[str] = ..., base_url: _Optional[str] = ..., concurrency: _Optional[int] = ..., retry_delays: _Optional[_Union[RetryDelays, _Mapping]] = ...) -> None: ...
