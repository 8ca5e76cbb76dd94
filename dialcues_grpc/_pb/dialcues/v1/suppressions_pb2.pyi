import datetime

from . import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SuppressionSource(_message.Message):
    __slots__ = ("type", "id", "execution_id", "user_id", "external_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    execution_id: int
    user_id: str
    external_id: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., execution_id: _Optional[int] = ..., user_id: _Optional[str] = ..., external_id: _Optional[str] = ...) -> None: ...

class SuppressionEntry(_message.Message):
    __slots__ = ("id", "phone_number", "status", "reason", "source", "note", "created_at", "removed_at", "removed_by", "removal_consent_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_AT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_BY_FIELD_NUMBER: _ClassVar[int]
    REMOVAL_CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    phone_number: str
    status: str
    reason: str
    source: SuppressionSource
    note: str
    created_at: _timestamp_pb2.Timestamp
    removed_at: _timestamp_pb2.Timestamp
    removed_by: _common_pb2.Actor
    removal_consent_id: str
    def __init__(self, id: _Optional[str] = ..., phone_number: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., source: _Optional[_Union[SuppressionSource, _Mapping]] = ..., note: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., removed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., removed_by: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., removal_consent_id: _Optional[str] = ...) -> None: ...

class ListSuppressionsRequest(_message.Message):
    __slots__ = ("status", "reason", "phone_number", "date_from", "date_to", "page", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    DATE_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: str
    reason: str
    phone_number: str
    date_from: _timestamp_pb2.Timestamp
    date_to: _timestamp_pb2.Timestamp
    page: int
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[str] = ..., reason: _Optional[str] = ..., phone_number: _Optional[str] = ..., date_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSuppressionsResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[SuppressionEntry]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[SuppressionEntry, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateSuppressionRequest(_message.Message):
    __slots__ = ("phone_number", "reason", "note", "external_id", "request_id")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    reason: str
    note: str
    external_id: str
    request_id: str
    def __init__(self, phone_number: _Optional[str] = ..., reason: _Optional[str] = ..., note: _Optional[str] = ..., external_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateSuppressionResponse(_message.Message):
    __slots__ = ("entry", "created")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    entry: SuppressionEntry
    created: bool
    def __init__(self, entry: _Optional[_Union[SuppressionEntry, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetSuppressionRequest(_message.Message):
    __slots__ = ("phone_number",)
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    def __init__(self, phone_number: _Optional[str] = ...) -> None: ...

class RemoveSuppressionRequest(_message.Message):
    __slots__ = ("phone_number", "consent_id", "request_id")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    consent_id: str
    request_id: str
    def __init__(self, phone_number: _Optional[str] = ..., consent_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
