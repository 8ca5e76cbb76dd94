import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageTemplate(_message.Message):
    __slots__ = ("id", "name", "description", "version", "body", "channels", "purpose", "opt_out_footer", "variables", "content_hash", "created_at", "updated_at", "archived_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_FOOTER_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    version: int
    body: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    purpose: str
    opt_out_footer: bool
    variables: _containers.RepeatedScalarFieldContainer[str]
    content_hash: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    archived_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., version: _Optional[int] = ..., body: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ..., purpose: _Optional[str] = ..., opt_out_footer: _Optional[bool] = ..., variables: _Optional[_Iterable[str]] = ..., content_hash: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., archived_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MessageTemplateVersion(_message.Message):
    __slots__ = ("template_id", "version", "body", "channels", "purpose", "opt_out_footer", "variables", "content_hash", "created_at")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_FOOTER_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    version: int
    body: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    purpose: str
    opt_out_footer: bool
    variables: _containers.RepeatedScalarFieldContainer[str]
    content_hash: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, template_id: _Optional[str] = ..., version: _Optional[int] = ..., body: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ..., purpose: _Optional[str] = ..., opt_out_footer: _Optional[bool] = ..., variables: _Optional[_Iterable[str]] = ..., content_hash: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MessageCost(_message.Message):
    __slots__ = ("amount", "currency")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    amount: str
    currency: str
    def __init__(self, amount: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "direction", "source", "channel", "delivered_channel", "status", "to", "line_id", "template_id", "template_version", "content_hash", "purpose", "text", "media_urls", "fallback_channel", "execution_id", "reminder_id", "segments", "cost", "error_code", "carrier_error_code", "error_message", "created_at", "sent_at", "completed_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_URLS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    REMINDER_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    CARRIER_ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    direction: str
    source: str
    channel: str
    delivered_channel: str
    status: str
    to: str
    line_id: str
    template_id: str
    template_version: int
    content_hash: str
    purpose: str
    text: str
    media_urls: _containers.RepeatedScalarFieldContainer[str]
    fallback_channel: str
    execution_id: int
    reminder_id: int
    segments: int
    cost: MessageCost
    error_code: str
    carrier_error_code: str
    error_message: str
    created_at: _timestamp_pb2.Timestamp
    sent_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., direction: _Optional[str] = ..., source: _Optional[str] = ..., channel: _Optional[str] = ..., delivered_channel: _Optional[str] = ..., status: _Optional[str] = ..., to: _Optional[str] = ..., line_id: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., content_hash: _Optional[str] = ..., purpose: _Optional[str] = ..., text: _Optional[str] = ..., media_urls: _Optional[_Iterable[str]] = ..., fallback_channel: _Optional[str] = ..., execution_id: _Optional[int] = ..., reminder_id: _Optional[int] = ..., segments: _Optional[int] = ..., cost: _Optional[_Union[MessageCost, _Mapping]] = ..., error_code: _Optional[str] = ..., carrier_error_code: _Optional[str] = ..., error_message: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("to", "channel", "template_id", "template_version", "variables", "media_urls", "fallback_channel", "timezone", "request_id")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TO_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_URLS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    to: str
    channel: str
    template_id: str
    template_version: int
    variables: _containers.ScalarMap[str, str]
    media_urls: _containers.RepeatedScalarFieldContainer[str]
    fallback_channel: str
    timezone: str
    request_id: str
    def __init__(self, to: _Optional[str] = ..., channel: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., variables: _Optional[_Mapping[str, str]] = ..., media_urls: _Optional[_Iterable[str]] = ..., fallback_channel: _Optional[str] = ..., timezone: _Optional[str] = ..., request_id: _Optional[str] = ..., **kwargs) -> None: ...

class GetMessageRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("direction", "status", "channel", "to", "template_id", "execution_id", "date_from", "date_to", "page", "page_size", "page_token")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    DATE_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    direction: str
    status: str
    channel: str
    to: str
    template_id: str
    execution_id: int
    date_from: _timestamp_pb2.Timestamp
    date_to: _timestamp_pb2.Timestamp
    page: int
    page_size: int
    page_token: str
    def __init__(self, direction: _Optional[str] = ..., status: _Optional[str] = ..., channel: _Optional[str] = ..., to: _Optional[str] = ..., template_id: _Optional[str] = ..., execution_id: _Optional[int] = ..., date_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., **kwargs) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Message]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateMessageTemplateRequest(_message.Message):
    __slots__ = ("name", "description", "body", "channels", "purpose", "opt_out_footer", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_FOOTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    body: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    purpose: str
    opt_out_footer: bool
    request_id: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., body: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ..., purpose: _Optional[str] = ..., opt_out_footer: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetMessageTemplateRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListMessageTemplatesRequest(_message.Message):
    __slots__ = ("purpose", "channel", "archived", "page", "page_size", "page_token")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    purpose: str
    channel: str
    archived: bool
    page: int
    page_size: int
    page_token: str
    def __init__(self, purpose: _Optional[str] = ..., channel: _Optional[str] = ..., archived: _Optional[bool] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessageTemplatesResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[MessageTemplate]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[MessageTemplate, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateMessageTemplateRequest(_message.Message):
    __slots__ = ("id", "update_mask", "name", "description", "body", "channels", "purpose", "opt_out_footer", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_FOOTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    update_mask: _field_mask_pb2.FieldMask
    name: str
    description: str
    body: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    purpose: str
    opt_out_footer: bool
    request_id: str
    def __init__(self, id: _Optional[str] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., body: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ..., purpose: _Optional[str] = ..., opt_out_footer: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class ArchiveMessageTemplateRequest(_message.Message):
    __slots__ = ("id", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListMessageTemplateVersionsRequest(_message.Message):
    __slots__ = ("id", "page", "page_size", "page_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    page: int
    page_size: int
    page_token: str
    def __init__(self, id: _Optional[str] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessageTemplateVersionsResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[MessageTemplateVersion]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[MessageTemplateVersion, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetMessageTemplateVersionRequest(_message.Message):
    __slots__ = ("id", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...
