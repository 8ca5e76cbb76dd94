import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NumberCost(_message.Message):
    __slots__ = ("monthly", "upfront", "currency")
    MONTHLY_FIELD_NUMBER: _ClassVar[int]
    UPFRONT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    monthly: str
    upfront: str
    currency: str
    def __init__(self, monthly: _Optional[str] = ..., upfront: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class NumberFailure(_message.Message):
    __slots__ = ("step", "code", "message")
    STEP_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    step: str
    code: str
    message: str
    def __init__(self, step: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PhoneNumber(_message.Message):
    __slots__ = ("id", "number", "status", "country", "locality", "region", "rate_center", "features", "carrier", "cost", "hold_expires_at", "hold_extended", "line_id", "failure", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    LOCALITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    RATE_CENTER_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    HOLD_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    HOLD_EXTENDED_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    status: str
    country: str
    locality: str
    region: str
    rate_center: str
    features: _containers.RepeatedScalarFieldContainer[str]
    carrier: str
    cost: NumberCost
    hold_expires_at: _timestamp_pb2.Timestamp
    hold_extended: bool
    line_id: str
    failure: NumberFailure
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., status: _Optional[str] = ..., country: _Optional[str] = ..., locality: _Optional[str] = ..., region: _Optional[str] = ..., rate_center: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., carrier: _Optional[str] = ..., cost: _Optional[_Union[NumberCost, _Mapping]] = ..., hold_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hold_extended: _Optional[bool] = ..., line_id: _Optional[str] = ..., failure: _Optional[_Union[NumberFailure, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AvailableNumber(_message.Message):
    __slots__ = ("number", "country", "locality", "region", "rate_center", "features", "cost", "reservable")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    LOCALITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    RATE_CENTER_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    RESERVABLE_FIELD_NUMBER: _ClassVar[int]
    number: str
    country: str
    locality: str
    region: str
    rate_center: str
    features: _containers.RepeatedScalarFieldContainer[str]
    cost: NumberCost
    reservable: bool
    def __init__(self, number: _Optional[str] = ..., country: _Optional[str] = ..., locality: _Optional[str] = ..., region: _Optional[str] = ..., rate_center: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., cost: _Optional[_Union[NumberCost, _Mapping]] = ..., reservable: _Optional[bool] = ...) -> None: ...

class SearchNumbersRequest(_message.Message):
    __slots__ = ("country", "npa", "nxx", "locality", "region", "rate_center", "features", "limit")
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    NPA_FIELD_NUMBER: _ClassVar[int]
    NXX_FIELD_NUMBER: _ClassVar[int]
    LOCALITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    RATE_CENTER_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    country: str
    npa: str
    nxx: str
    locality: str
    region: str
    rate_center: str
    features: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    def __init__(self, country: _Optional[str] = ..., npa: _Optional[str] = ..., nxx: _Optional[str] = ..., locality: _Optional[str] = ..., region: _Optional[str] = ..., rate_center: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchNumbersResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[AvailableNumber]
    def __init__(self, items: _Optional[_Iterable[_Union[AvailableNumber, _Mapping]]] = ...) -> None: ...

class HoldNumberRequest(_message.Message):
    __slots__ = ("number", "request_id")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    number: str
    request_id: str
    def __init__(self, number: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class HoldNumberResponse(_message.Message):
    __slots__ = ("number", "created")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    number: PhoneNumber
    created: bool
    def __init__(self, number: _Optional[_Union[PhoneNumber, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ExtendHoldRequest(_message.Message):
    __slots__ = ("number", "request_id")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    number: str
    request_id: str
    def __init__(self, number: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DropHoldRequest(_message.Message):
    __slots__ = ("number", "request_id")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    number: str
    request_id: str
    def __init__(self, number: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AssignNumberRequest(_message.Message):
    __slots__ = ("number", "label", "is_default", "request_id")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    number: str
    label: str
    is_default: bool
    request_id: str
    def __init__(self, number: _Optional[str] = ..., label: _Optional[str] = ..., is_default: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReleaseNumberRequest(_message.Message):
    __slots__ = ("number", "request_id")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    number: str
    request_id: str
    def __init__(self, number: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetNumberRequest(_message.Message):
    __slots__ = ("number",)
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    number: str
    def __init__(self, number: _Optional[str] = ...) -> None: ...

class ListNumbersRequest(_message.Message):
    __slots__ = ("status", "country", "page", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: str
    country: str
    page: int
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[str] = ..., country: _Optional[str] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNumbersResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[PhoneNumber]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[PhoneNumber, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...
