import datetime

from . import common_pb2 as _common_pb2
from . import suppressions_pb2 as _suppressions_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsentEvidence(_message.Message):
    __slots__ = ("url", "ip", "user_agent")
    URL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    url: str
    ip: str
    user_agent: str
    def __init__(self, url: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class ConsentRevocation(_message.Message):
    __slots__ = ("reason", "source", "note")
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    source: _suppressions_pb2.SuppressionSource
    note: str
    def __init__(self, reason: _Optional[str] = ..., source: _Optional[_Union[_suppressions_pb2.SuppressionSource, _Mapping]] = ..., note: _Optional[str] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("id", "phone_number", "type", "purpose", "source", "text", "captured_at", "evidence", "created_at", "created_by", "revoked_at", "revocation")
    ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_FIELD_NUMBER: _ClassVar[int]
    id: str
    phone_number: str
    type: str
    purpose: str
    source: str
    text: str
    captured_at: _timestamp_pb2.Timestamp
    evidence: ConsentEvidence
    created_at: _timestamp_pb2.Timestamp
    created_by: _common_pb2.Actor
    revoked_at: _timestamp_pb2.Timestamp
    revocation: ConsentRevocation
    def __init__(self, id: _Optional[str] = ..., phone_number: _Optional[str] = ..., type: _Optional[str] = ..., purpose: _Optional[str] = ..., source: _Optional[str] = ..., text: _Optional[str] = ..., captured_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence: _Optional[_Union[ConsentEvidence, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revocation: _Optional[_Union[ConsentRevocation, _Mapping]] = ...) -> None: ...

class CreateConsentRequest(_message.Message):
    __slots__ = ("phone_number", "type", "purpose", "source", "text", "captured_at", "evidence", "request_id")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    type: str
    purpose: str
    source: str
    text: str
    captured_at: _timestamp_pb2.Timestamp
    evidence: ConsentEvidence
    request_id: str
    def __init__(self, phone_number: _Optional[str] = ..., type: _Optional[str] = ..., purpose: _Optional[str] = ..., source: _Optional[str] = ..., text: _Optional[str] = ..., captured_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., evidence: _Optional[_Union[ConsentEvidence, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListConsentsRequest(_message.Message):
    __slots__ = ("phone_number", "type", "purpose", "active", "date_from", "date_to", "page", "page_size", "page_token")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    DATE_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    type: str
    purpose: str
    active: bool
    date_from: _timestamp_pb2.Timestamp
    date_to: _timestamp_pb2.Timestamp
    page: int
    page_size: int
    page_token: str
    def __init__(self, phone_number: _Optional[str] = ..., type: _Optional[str] = ..., purpose: _Optional[str] = ..., active: _Optional[bool] = ..., date_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConsentsResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Consent]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetConsentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevokeConsentRequest(_message.Message):
    __slots__ = ("id", "note", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    note: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
