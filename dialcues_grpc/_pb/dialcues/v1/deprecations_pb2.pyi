from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListDeprecationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeprecationPolicy(_message.Message):
    __slots__ = ("minimum_notice_months", "changelog")
    MINIMUM_NOTICE_MONTHS_FIELD_NUMBER: _ClassVar[int]
    CHANGELOG_FIELD_NUMBER: _ClassVar[int]
    minimum_notice_months: int
    changelog: str
    def __init__(self, minimum_notice_months: _Optional[int] = ..., changelog: _Optional[str] = ...) -> None: ...

class Deprecation(_message.Message):
    __slots__ = ("id", "kind", "target", "announced_at", "sunset_at", "replacement", "removed")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCED_AT_FIELD_NUMBER: _ClassVar[int]
    SUNSET_AT_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    target: str
    announced_at: str
    sunset_at: str
    replacement: str
    removed: bool
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., target: _Optional[str] = ..., announced_at: _Optional[str] = ..., sunset_at: _Optional[str] = ..., replacement: _Optional[str] = ..., removed: _Optional[bool] = ...) -> None: ...

class ListDeprecationsResponse(_message.Message):
    __slots__ = ("policy", "items")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    policy: DeprecationPolicy
    items: _containers.RepeatedCompositeFieldContainer[Deprecation]
    def __init__(self, policy: _Optional[_Union[DeprecationPolicy, _Mapping]] = ..., items: _Optional[_Iterable[_Union[Deprecation, _Mapping]]] = ...) -> None: ...
