import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UsageEvent(_message.Message):
    __slots__ = ("id", "occurred_at", "request_id", "api_key_id", "client_id", "user_id", "organization_id", "method", "route", "status", "code", "latency_ms", "idempotent_replay", "deprecated")
    ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_REPLAY_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    id: int
    occurred_at: _timestamp_pb2.Timestamp
    request_id: str
    api_key_id: str
    client_id: str
    user_id: str
    organization_id: str
    method: str
    route: str
    status: int
    code: str
    latency_ms: float
    idempotent_replay: bool
    deprecated: bool
    def __init__(self, id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., api_key_id: _Optional[str] = ..., client_id: _Optional[str] = ..., user_id: _Optional[str] = ..., organization_id: _Optional[str] = ..., method: _Optional[str] = ..., route: _Optional[str] = ..., status: _Optional[int] = ..., code: _Optional[str] = ..., latency_ms: _Optional[float] = ..., idempotent_replay: _Optional[bool] = ..., deprecated: _Optional[bool] = ...) -> None: ...

class ListUsageEventsRequest(_message.Message):
    __slots__ = ("date_from", "date_to", "route", "status", "code", "page", "page_size", "page_token", "deprecated")
    DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    DATE_TO_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_FIELD_NUMBER: _ClassVar[int]
    date_from: _timestamp_pb2.Timestamp
    date_to: _timestamp_pb2.Timestamp
    route: str
    status: int
    code: str
    page: int
    page_size: int
    page_token: str
    deprecated: bool
    def __init__(self, date_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., route: _Optional[str] = ..., status: _Optional[int] = ..., code: _Optional[str] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., deprecated: _Optional[bool] = ...) -> None: ...

class ListUsageEventsResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[UsageEvent]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[UsageEvent, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...
