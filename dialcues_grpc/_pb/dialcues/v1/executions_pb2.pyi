import datetime

from . import lines_pb2 as _lines_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExecutionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_STATUS_UNSPECIFIED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_QUEUED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_IN_PROGRESS: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_COMPLETED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_VOICEMAIL: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_NO_ANSWER: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_BUSY: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_FAILED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_MISSED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_SKIPPED: _ClassVar[ExecutionStatus]
    EXECUTION_STATUS_CANCELED: _ClassVar[ExecutionStatus]

class ExecutionDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_DIRECTION_UNSPECIFIED: _ClassVar[ExecutionDirection]
    EXECUTION_DIRECTION_OUTBOUND: _ClassVar[ExecutionDirection]
    EXECUTION_DIRECTION_INBOUND: _ClassVar[ExecutionDirection]
EXECUTION_STATUS_UNSPECIFIED: ExecutionStatus
EXECUTION_STATUS_QUEUED: ExecutionStatus
EXECUTION_STATUS_IN_PROGRESS: ExecutionStatus
EXECUTION_STATUS_COMPLETED: ExecutionStatus
EXECUTION_STATUS_VOICEMAIL: ExecutionStatus
EXECUTION_STATUS_NO_ANSWER: ExecutionStatus
EXECUTION_STATUS_BUSY: ExecutionStatus
EXECUTION_STATUS_FAILED: ExecutionStatus
EXECUTION_STATUS_MISSED: ExecutionStatus
EXECUTION_STATUS_SKIPPED: ExecutionStatus
EXECUTION_STATUS_CANCELED: ExecutionStatus
EXECUTION_DIRECTION_UNSPECIFIED: ExecutionDirection
EXECUTION_DIRECTION_OUTBOUND: ExecutionDirection
EXECUTION_DIRECTION_INBOUND: ExecutionDirection

class Execution(_message.Message):
    __slots__ = ("id", "reminder_id", "reminder_title", "status", "attempt", "call_id", "line_id", "to", "scheduled_for", "executed_at", "ended_at", "ended_reason", "duration_s", "cost", "error_message", "purpose", "occurrence_at", "skip_reason", "confirmation", "confirmed_at", "actions", "direction", "route", "answer_by", "fallback_message_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    REMINDER_ID_FIELD_NUMBER: _ClassVar[int]
    REMINDER_TITLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FOR_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_REASON_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_AT_FIELD_NUMBER: _ClassVar[int]
    SKIP_REASON_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_BY_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    reminder_id: int
    reminder_title: str
    status: ExecutionStatus
    attempt: int
    call_id: str
    line_id: str
    to: str
    scheduled_for: _timestamp_pb2.Timestamp
    executed_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    ended_reason: str
    duration_s: int
    cost: float
    error_message: str
    purpose: str
    occurrence_at: _timestamp_pb2.Timestamp
    skip_reason: str
    confirmation: str
    confirmed_at: _timestamp_pb2.Timestamp
    actions: _containers.RepeatedCompositeFieldContainer[ExecutionAction]
    direction: ExecutionDirection
    route: _lines_pb2.DecidedRoute
    answer_by: _timestamp_pb2.Timestamp
    fallback_message_id: str
    def __init__(self, id: _Optional[int] = ..., reminder_id: _Optional[int] = ..., reminder_title: _Optional[str] = ..., status: _Optional[_Union[ExecutionStatus, str]] = ..., attempt: _Optional[int] = ..., call_id: _Optional[str] = ..., line_id: _Optional[str] = ..., to: _Optional[str] = ..., scheduled_for: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., executed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_reason: _Optional[str] = ..., duration_s: _Optional[int] = ..., cost: _Optional[float] = ..., error_message: _Optional[str] = ..., purpose: _Optional[str] = ..., occurrence_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., skip_reason: _Optional[str] = ..., confirmation: _Optional[str] = ..., confirmed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actions: _Optional[_Iterable[_Union[ExecutionAction, _Mapping]]] = ..., direction: _Optional[_Union[ExecutionDirection, str]] = ..., route: _Optional[_Union[_lines_pb2.DecidedRoute, _Mapping]] = ..., answer_by: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fallback_message_id: _Optional[str] = ..., **kwargs) -> None: ...

class ExecutionAction(_message.Message):
    __slots__ = ("type", "at", "via", "outcome", "detail")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    VIA_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    type: str
    at: _timestamp_pb2.Timestamp
    via: str
    outcome: str
    detail: _struct_pb2.Struct
    def __init__(self, type: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., via: _Optional[str] = ..., outcome: _Optional[str] = ..., detail: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("status", "reminder_id", "date_from", "date_to", "page", "page_size", "page_token", "skip_reason", "to", "confirmation", "direction")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REMINDER_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    DATE_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SKIP_REASON_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    status: ExecutionStatus
    reminder_id: int
    date_from: _timestamp_pb2.Timestamp
    date_to: _timestamp_pb2.Timestamp
    page: int
    page_size: int
    page_token: str
    skip_reason: str
    to: str
    confirmation: str
    direction: ExecutionDirection
    def __init__(self, status: _Optional[_Union[ExecutionStatus, str]] = ..., reminder_id: _Optional[int] = ..., date_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., skip_reason: _Optional[str] = ..., to: _Optional[str] = ..., confirmation: _Optional[str] = ..., direction: _Optional[_Union[ExecutionDirection, str]] = ...) -> None: ...

class ListExecutionsResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Execution]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetExecutionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...
