from . import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("user", "organization_id", "api_key_id", "client_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    user: _common_pb2.User
    organization_id: str
    api_key_id: str
    client_id: str
    def __init__(self, user: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., organization_id: _Optional[str] = ..., api_key_id: _Optional[str] = ..., client_id: _Optional[str] = ...) -> None: ...
