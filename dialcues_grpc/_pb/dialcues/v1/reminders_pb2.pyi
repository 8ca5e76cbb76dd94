import datetime

from . import common_pb2 as _common_pb2
from . import policy_pb2 as _policy_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReminderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMINDER_STATUS_UNSPECIFIED: _ClassVar[ReminderStatus]
    REMINDER_STATUS_SCHEDULED: _ClassVar[ReminderStatus]
    REMINDER_STATUS_PAUSED: _ClassVar[ReminderStatus]
    REMINDER_STATUS_IN_PROGRESS: _ClassVar[ReminderStatus]
    REMINDER_STATUS_COMPLETED: _ClassVar[ReminderStatus]
    REMINDER_STATUS_FAILED: _ClassVar[ReminderStatus]
    REMINDER_STATUS_SUPPRESSED: _ClassVar[ReminderStatus]

class ReminderSort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REMINDER_SORT_UNSPECIFIED: _ClassVar[ReminderSort]
    REMINDER_SORT_SCHEDULED_AT_ASC: _ClassVar[ReminderSort]
    REMINDER_SORT_SCHEDULED_AT_DESC: _ClassVar[ReminderSort]
    REMINDER_SORT_UPDATED_AT_DESC: _ClassVar[ReminderSort]
REMINDER_STATUS_UNSPECIFIED: ReminderStatus
REMINDER_STATUS_SCHEDULED: ReminderStatus
REMINDER_STATUS_PAUSED: ReminderStatus
REMINDER_STATUS_IN_PROGRESS: ReminderStatus
REMINDER_STATUS_COMPLETED: ReminderStatus
REMINDER_STATUS_FAILED: ReminderStatus
REMINDER_STATUS_SUPPRESSED: ReminderStatus
REMINDER_SORT_UNSPECIFIED: ReminderSort
REMINDER_SORT_SCHEDULED_AT_ASC: ReminderSort
REMINDER_SORT_SCHEDULED_AT_DESC: ReminderSort
REMINDER_SORT_UPDATED_AT_DESC: ReminderSort

class Recurrence(_message.Message):
    __slots__ = ("daily", "weekly", "interval_days", "weekdays", "cron")
    DAILY_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_DAYS_FIELD_NUMBER: _ClassVar[int]
    WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    daily: DailyRule
    weekly: WeeklyRule
    interval_days: int
    weekdays: WeekdaysRule
    cron: str
    def __init__(self, daily: _Optional[_Union[DailyRule, _Mapping]] = ..., weekly: _Optional[_Union[WeeklyRule, _Mapping]] = ..., interval_days: _Optional[int] = ..., weekdays: _Optional[_Union[WeekdaysRule, _Mapping]] = ..., cron: _Optional[str] = ...) -> None: ...

class DailyRule(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WeeklyRule(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WeekdaysRule(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, days: _Optional[_Iterable[int]] = ...) -> None: ...

class Reminder(_message.Message):
    __slots__ = ("id", "title", "message", "phone_number", "scheduled_at", "timezone", "status", "vapi_line_id", "outbound_line_label", "recurrence", "recurrence_end_at", "retry_count", "next_attempt_at", "last_execution_id", "created_at", "updated_at", "purpose", "calling_window", "max_lateness_seconds", "retry_policy", "next_eligible_at", "fallback")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VAPI_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTBOUND_LINE_LABEL_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_END_AT_FIELD_NUMBER: _ClassVar[int]
    RETRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CALLING_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENESS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    NEXT_ELIGIBLE_AT_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    id: int
    title: str
    message: str
    phone_number: str
    scheduled_at: _timestamp_pb2.Timestamp
    timezone: str
    status: ReminderStatus
    vapi_line_id: str
    outbound_line_label: str
    recurrence: Recurrence
    recurrence_end_at: _timestamp_pb2.Timestamp
    retry_count: int
    next_attempt_at: _timestamp_pb2.Timestamp
    last_execution_id: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    purpose: str
    calling_window: _policy_pb2.CallingWindow
    max_lateness_seconds: int
    retry_policy: _policy_pb2.RetryPolicy
    next_eligible_at: _timestamp_pb2.Timestamp
    fallback: ReminderFallback
    def __init__(self, id: _Optional[int] = ..., title: _Optional[str] = ..., message: _Optional[str] = ..., phone_number: _Optional[str] = ..., scheduled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., timezone: _Optional[str] = ..., status: _Optional[_Union[ReminderStatus, str]] = ..., vapi_line_id: _Optional[str] = ..., outbound_line_label: _Optional[str] = ..., recurrence: _Optional[_Union[Recurrence, _Mapping]] = ..., recurrence_end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_count: _Optional[int] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_execution_id: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purpose: _Optional[str] = ..., calling_window: _Optional[_Union[_policy_pb2.CallingWindow, _Mapping]] = ..., max_lateness_seconds: _Optional[int] = ..., retry_policy: _Optional[_Union[_policy_pb2.RetryPolicy, _Mapping]] = ..., next_eligible_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fallback: _Optional[_Union[ReminderFallback, _Mapping]] = ...) -> None: ...

class ReminderFallback(_message.Message):
    __slots__ = ("channel", "template_id", "after", "variables")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    channel: str
    template_id: str
    after: str
    variables: _containers.ScalarMap[str, str]
    def __init__(self, channel: _Optional[str] = ..., template_id: _Optional[str] = ..., after: _Optional[str] = ..., variables: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateReminderRequest(_message.Message):
    __slots__ = ("title", "message", "phone_number", "timezone", "scheduled_at", "vapi_line_id", "recurrence", "recurrence_end_at", "purpose", "calling_window", "max_lateness_seconds", "retry_policy", "fallback", "request_id")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    VAPI_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_END_AT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CALLING_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENESS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    title: str
    message: str
    phone_number: str
    timezone: str
    scheduled_at: _common_pb2.TimeInput
    vapi_line_id: str
    recurrence: Recurrence
    recurrence_end_at: _common_pb2.TimeInput
    purpose: str
    calling_window: _policy_pb2.CallingWindow
    max_lateness_seconds: int
    retry_policy: _policy_pb2.RetryPolicy
    fallback: ReminderFallback
    request_id: str
    def __init__(self, title: _Optional[str] = ..., message: _Optional[str] = ..., phone_number: _Optional[str] = ..., timezone: _Optional[str] = ..., scheduled_at: _Optional[_Union[_common_pb2.TimeInput, _Mapping]] = ..., vapi_line_id: _Optional[str] = ..., recurrence: _Optional[_Union[Recurrence, _Mapping]] = ..., recurrence_end_at: _Optional[_Union[_common_pb2.TimeInput, _Mapping]] = ..., purpose: _Optional[str] = ..., calling_window: _Optional[_Union[_policy_pb2.CallingWindow, _Mapping]] = ..., max_lateness_seconds: _Optional[int] = ..., retry_policy: _Optional[_Union[_policy_pb2.RetryPolicy, _Mapping]] = ..., fallback: _Optional[_Union[ReminderFallback, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetReminderRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class ListRemindersRequest(_message.Message):
    __slots__ = ("status", "search", "date_from", "date_to", "sort", "page", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    DATE_TO_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: ReminderStatus
    search: str
    date_from: _timestamp_pb2.Timestamp
    date_to: _timestamp_pb2.Timestamp
    sort: ReminderSort
    page: int
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[ReminderStatus, str]] = ..., search: _Optional[str] = ..., date_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sort: _Optional[_Union[ReminderSort, str]] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRemindersResponse(_message.Message):
    __slots__ = ("items", "total", "page", "page_size", "total_pages", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Reminder]
    total: int
    page: int
    page_size: int
    total_pages: int
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Reminder, _Mapping]]] = ..., total: _Optional[int] = ..., page: _Optional[int] = ..., page_size: _Optional[int] = ..., total_pages: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateReminderRequest(_message.Message):
    __slots__ = ("id", "update_mask", "title", "message", "phone_number", "timezone", "scheduled_at", "vapi_line_id", "recurrence", "recurrence_end_at", "purpose", "calling_window", "max_lateness_seconds", "retry_policy", "request_id", "fallback")
    ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    VAPI_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_END_AT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CALLING_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENESS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    id: int
    update_mask: _field_mask_pb2.FieldMask
    title: str
    message: str
    phone_number: str
    timezone: str
    scheduled_at: _common_pb2.TimeInput
    vapi_line_id: str
    recurrence: Recurrence
    recurrence_end_at: _common_pb2.TimeInput
    purpose: str
    calling_window: _policy_pb2.CallingWindow
    max_lateness_seconds: int
    retry_policy: _policy_pb2.RetryPolicy
    request_id: str
    fallback: ReminderFallback
    def __init__(self, id: _Optional[int] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., title: _Optional[str] = ..., message: _Optional[str] = ..., phone_number: _Optional[str] = ..., timezone: _Optional[str] = ..., scheduled_at: _Optional[_Union[_common_pb2.TimeInput, _Mapping]] = ..., vapi_line_id: _Optional[str] = ..., recurrence: _Optional[_Union[Recurrence, _Mapping]] = ..., recurrence_end_at: _Optional[_Union[_common_pb2.TimeInput, _Mapping]] = ..., purpose: _Optional[str] = ..., calling_window: _Optional[_Union[_policy_pb2.CallingWindow, _Mapping]] = ..., max_lateness_seconds: _Optional[int] = ..., retry_policy: _Optional[_Union[_policy_pb2.RetryPolicy, _Mapping]] = ..., request_id: _Optional[str] = ..., fallback: _Optional[_Union[ReminderFallback, _Mapping]] = ...) -> None: ...

class PauseReminderRequest(_message.Message):
    __slots__ = ("id", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    request_id: str
    def __init__(self, id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ResumeReminderRequest(_message.Message):
    __slots__ = ("id", "scheduled_at", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    scheduled_at: _common_pb2.TimeInput
    request_id: str
    def __init__(self, id: _Optional[int] = ..., scheduled_at: _Optional[_Union[_common_pb2.TimeInput, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteReminderRequest(_message.Message):
    __slots__ = ("id", "request_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    request_id: str
    def __init__(self, id: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListOccurrencesRequest(_message.Message):
    __slots__ = ("id", "count")
    ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    id: int
    count: int
    def __init__(self, id: _Optional[int] = ..., count: _Optional[int] = ...) -> None: ...

class Occurrence(_message.Message):
    __slots__ = ("occurrence_at", "local_time", "plan", "attempt_at", "reason", "window_zones")
    OCCURRENCE_AT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TIME_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WINDOW_ZONES_FIELD_NUMBER: _ClassVar[int]
    occurrence_at: _timestamp_pb2.Timestamp
    local_time: str
    plan: str
    attempt_at: _timestamp_pb2.Timestamp
    reason: str
    window_zones: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, occurrence_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., local_time: _Optional[str] = ..., plan: _Optional[str] = ..., attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., window_zones: _Optional[_Iterable[str]] = ...) -> None: ...

class ListOccurrencesResponse(_message.Message):
    __slots__ = ("reminder_id", "items")
    REMINDER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    reminder_id: int
    items: _containers.RepeatedCompositeFieldContainer[Occurrence]
    def __init__(self, reminder_id: _Optional[int] = ..., items: _Optional[_Iterable[_Union[Occurrence, _Mapping]]] = ...) -> None: ...
