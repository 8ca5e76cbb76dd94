from . import executions_pb2 as _executions_pb2
from . import lines_pb2 as _lines_pb2
from . import policy_pb2 as _policy_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlaceCallRequest(_message.Message):
    __slots__ = ("to", "message", "title", "vapi_line_id", "request_id", "purpose", "timezone", "calling_window")
    TO_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    VAPI_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    CALLING_WINDOW_FIELD_NUMBER: _ClassVar[int]
    to: str
    message: str
    title: str
    vapi_line_id: str
    request_id: str
    purpose: str
    timezone: str
    calling_window: _policy_pb2.CallingWindow
    def __init__(self, to: _Optional[str] = ..., message: _Optional[str] = ..., title: _Optional[str] = ..., vapi_line_id: _Optional[str] = ..., request_id: _Optional[str] = ..., purpose: _Optional[str] = ..., timezone: _Optional[str] = ..., calling_window: _Optional[_Union[_policy_pb2.CallingWindow, _Mapping]] = ...) -> None: ...

class AnswerInboundCallRequest(_message.Message):
    __slots__ = ("call_id", "execution_id", "route", "request_id")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    execution_id: int
    route: _lines_pb2.DecidedRoute
    request_id: str
    def __init__(self, call_id: _Optional[str] = ..., execution_id: _Optional[int] = ..., route: _Optional[_Union[_lines_pb2.DecidedRoute, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SmokeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SmokeStep(_message.Message):
    __slots__ = ("name", "duration_ms", "result", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    duration_ms: int
    result: str
    detail: str
    def __init__(self, name: _Optional[str] = ..., duration_ms: _Optional[int] = ..., result: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class SmokeResponse(_message.Message):
    __slots__ = ("status", "steps")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    status: str
    steps: _containers.RepeatedCompositeFieldContainer[SmokeStep]
    def __init__(self, status: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[SmokeStep, _Mapping]]] = ...) -> None: ...
