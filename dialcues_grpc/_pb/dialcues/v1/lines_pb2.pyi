from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Line(_message.Message):
    __slots__ = ("id", "label", "phone_number", "provider", "is_default")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: str
    phone_number: str
    provider: _common_pb2.Provider
    is_default: bool
    def __init__(self, id: _Optional[str] = ..., label: _Optional[str] = ..., phone_number: _Optional[str] = ..., provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., is_default: _Optional[bool] = ...) -> None: ...

class ListLinesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListLinesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Line]
    def __init__(self, items: _Optional[_Iterable[_Union[Line, _Mapping]]] = ...) -> None: ...
