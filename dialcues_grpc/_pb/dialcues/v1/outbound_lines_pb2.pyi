import datetime

from . import common_pb2 as _common_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OutboundLine(_message.Message):
    __slots__ = ("id", "organization_id", "provider", "phone_number", "label", "is_default", "provider_line_id", "created_at", "features", "carrier", "number_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    organization_id: str
    provider: _common_pb2.Provider
    phone_number: str
    label: str
    is_default: bool
    provider_line_id: str
    created_at: _timestamp_pb2.Timestamp
    features: _containers.RepeatedScalarFieldContainer[str]
    carrier: str
    number_id: str
    def __init__(self, id: _Optional[str] = ..., organization_id: _Optional[str] = ..., provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., phone_number: _Optional[str] = ..., label: _Optional[str] = ..., is_default: _Optional[bool] = ..., provider_line_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., features: _Optional[_Iterable[str]] = ..., carrier: _Optional[str] = ..., number_id: _Optional[str] = ...) -> None: ...

class AddLineRequest(_message.Message):
    __slots__ = ("organization_id", "provider", "phone_number", "provider_line_id", "label", "is_default", "features", "carrier")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    provider: _common_pb2.Provider
    phone_number: str
    provider_line_id: str
    label: str
    is_default: bool
    features: _containers.RepeatedScalarFieldContainer[str]
    carrier: str
    def __init__(self, organization_id: _Optional[str] = ..., provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., phone_number: _Optional[str] = ..., provider_line_id: _Optional[str] = ..., label: _Optional[str] = ..., is_default: _Optional[bool] = ..., features: _Optional[_Iterable[str]] = ..., carrier: _Optional[str] = ...) -> None: ...

class ListOutboundLinesRequest(_message.Message):
    __slots__ = ("organization_id",)
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    def __init__(self, organization_id: _Optional[str] = ...) -> None: ...

class ListOutboundLinesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[OutboundLine]
    def __init__(self, items: _Optional[_Iterable[_Union[OutboundLine, _Mapping]]] = ...) -> None: ...

class SetDefaultLineRequest(_message.Message):
    __slots__ = ("organization_id", "line_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    line_id: str
    def __init__(self, organization_id: _Optional[str] = ..., line_id: _Optional[str] = ...) -> None: ...

class RemoveLineRequest(_message.Message):
    __slots__ = ("organization_id", "line_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    line_id: str
    def __init__(self, organization_id: _Optional[str] = ..., line_id: _Optional[str] = ...) -> None: ...
