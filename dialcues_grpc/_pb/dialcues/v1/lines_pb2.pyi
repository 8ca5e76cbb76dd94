from . import common_pb2 as _common_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Line(_message.Message):
    __slots__ = ("id", "label", "phone_number", "provider", "is_default", "features", "carrier", "number_id", "route")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    NUMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: str
    phone_number: str
    provider: _common_pb2.Provider
    is_default: bool
    features: _containers.RepeatedScalarFieldContainer[str]
    carrier: str
    number_id: str
    route: Route
    def __init__(self, id: _Optional[str] = ..., label: _Optional[str] = ..., phone_number: _Optional[str] = ..., provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., is_default: _Optional[bool] = ..., features: _Optional[_Iterable[str]] = ..., carrier: _Optional[str] = ..., number_id: _Optional[str] = ..., route: _Optional[_Union[Route, _Mapping]] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("reminders_readback", "assistant", "transfer", "message", "reject", "external")
    REMINDERS_READBACK_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_FIELD_NUMBER: _ClassVar[int]
    reminders_readback: ReadbackRoute
    assistant: AssistantRoute
    transfer: TransferRoute
    message: MessageRoute
    reject: RejectRoute
    external: ExternalRoute
    def __init__(self, reminders_readback: _Optional[_Union[ReadbackRoute, _Mapping]] = ..., assistant: _Optional[_Union[AssistantRoute, _Mapping]] = ..., transfer: _Optional[_Union[TransferRoute, _Mapping]] = ..., message: _Optional[_Union[MessageRoute, _Mapping]] = ..., reject: _Optional[_Union[RejectRoute, _Mapping]] = ..., external: _Optional[_Union[ExternalRoute, _Mapping]] = ...) -> None: ...

class DecidedRoute(_message.Message):
    __slots__ = ("reminders_readback", "assistant", "transfer", "message", "reject")
    REMINDERS_READBACK_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    reminders_readback: ReadbackRoute
    assistant: AssistantRoute
    transfer: TransferRoute
    message: MessageRoute
    reject: RejectRoute
    def __init__(self, reminders_readback: _Optional[_Union[ReadbackRoute, _Mapping]] = ..., assistant: _Optional[_Union[AssistantRoute, _Mapping]] = ..., transfer: _Optional[_Union[TransferRoute, _Mapping]] = ..., message: _Optional[_Union[MessageRoute, _Mapping]] = ..., reject: _Optional[_Union[RejectRoute, _Mapping]] = ...) -> None: ...

class ReadbackRoute(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AssistantRoute(_message.Message):
    __slots__ = ("assistant_id",)
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    assistant_id: str
    def __init__(self, assistant_id: _Optional[str] = ...) -> None: ...

class TransferRoute(_message.Message):
    __slots__ = ("number",)
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    number: str
    def __init__(self, number: _Optional[str] = ...) -> None: ...

class MessageRoute(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class RejectRoute(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExternalRoute(_message.Message):
    __slots__ = ("timeout_ms", "fallback")
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    timeout_ms: int
    fallback: DecidedRoute
    def __init__(self, timeout_ms: _Optional[int] = ..., fallback: _Optional[_Union[DecidedRoute, _Mapping]] = ...) -> None: ...

class ListLinesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListLinesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Line]
    def __init__(self, items: _Optional[_Iterable[_Union[Line, _Mapping]]] = ...) -> None: ...

class GetLineRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateLineRequest(_message.Message):
    __slots__ = ("id", "update_mask", "label", "route", "is_default", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    update_mask: _field_mask_pb2.FieldMask
    label: str
    route: Route
    is_default: bool
    request_id: str
    def __init__(self, id: _Optional[str] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., label: _Optional[str] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., is_default: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...
