import datetime

from . import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CallingHours(_message.Message):
    __slots__ = ("start", "end", "days")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    days: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ..., days: _Optional[_Iterable[int]] = ...) -> None: ...

class WindowBypass(_message.Message):
    __slots__ = ("reason", "bypassed_at", "bypassed_by")
    REASON_FIELD_NUMBER: _ClassVar[int]
    BYPASSED_AT_FIELD_NUMBER: _ClassVar[int]
    BYPASSED_BY_FIELD_NUMBER: _ClassVar[int]
    reason: str
    bypassed_at: _timestamp_pb2.Timestamp
    bypassed_by: _common_pb2.Actor
    def __init__(self, reason: _Optional[str] = ..., bypassed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bypassed_by: _Optional[_Union[_common_pb2.Actor, _Mapping]] = ...) -> None: ...

class CallingWindow(_message.Message):
    __slots__ = ("hours", "profile", "bypass")
    HOURS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    BYPASS_FIELD_NUMBER: _ClassVar[int]
    hours: CallingHours
    profile: str
    bypass: WindowBypass
    def __init__(self, hours: _Optional[_Union[CallingHours, _Mapping]] = ..., profile: _Optional[str] = ..., bypass: _Optional[_Union[WindowBypass, _Mapping]] = ...) -> None: ...

class DelayList(_message.Message):
    __slots__ = ("seconds",)
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    seconds: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, seconds: _Optional[_Iterable[int]] = ...) -> None: ...

class RetryDelaysByOutcome(_message.Message):
    __slots__ = ("busy", "no_answer", "failed", "voicemail")
    BUSY_FIELD_NUMBER: _ClassVar[int]
    NO_ANSWER_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    VOICEMAIL_FIELD_NUMBER: _ClassVar[int]
    busy: DelayList
    no_answer: DelayList
    failed: DelayList
    voicemail: DelayList
    def __init__(self, busy: _Optional[_Union[DelayList, _Mapping]] = ..., no_answer: _Optional[_Union[DelayList, _Mapping]] = ..., failed: _Optional[_Union[DelayList, _Mapping]] = ..., voicemail: _Optional[_Union[DelayList, _Mapping]] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("max_attempts", "delays")
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    DELAYS_FIELD_NUMBER: _ClassVar[int]
    max_attempts: int
    delays: RetryDelaysByOutcome
    def __init__(self, max_attempts: _Optional[int] = ..., delays: _Optional[_Union[RetryDelaysByOutcome, _Mapping]] = ...) -> None: ...

class FrequencyCaps(_message.Message):
    __slots__ = ("per_24h", "per_30d")
    PER_24H_FIELD_NUMBER: _ClassVar[int]
    PER_30D_FIELD_NUMBER: _ClassVar[int]
    per_24h: int
    per_30d: int
    def __init__(self, per_24h: _Optional[int] = ..., per_30d: _Optional[int] = ...) -> None: ...

class Predial(_message.Message):
    __slots__ = ("url", "timeout_ms", "on_failure")
    URL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    url: str
    timeout_ms: int
    on_failure: str
    def __init__(self, url: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., on_failure: _Optional[str] = ...) -> None: ...

class CallingPolicy(_message.Message):
    __slots__ = ("organization_id", "calling_window", "window_basis", "blocked_dates", "allow_window_bypass", "max_lateness_seconds", "retry_policy", "frequency_caps", "caller_name", "callback_number", "ai_disclosure", "opening_template", "snooze_default_minutes", "require_consent_for_informational", "predial", "inherited", "opening_preview", "updated_at")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CALLING_WINDOW_FIELD_NUMBER: _ClassVar[int]
    WINDOW_BASIS_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_DATES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_WINDOW_BYPASS_FIELD_NUMBER: _ClassVar[int]
    MAX_LATENESS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_CAPS_FIELD_NUMBER: _ClassVar[int]
    CALLER_NAME_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AI_DISCLOSURE_FIELD_NUMBER: _ClassVar[int]
    OPENING_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SNOOZE_DEFAULT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_CONSENT_FOR_INFORMATIONAL_FIELD_NUMBER: _ClassVar[int]
    PREDIAL_FIELD_NUMBER: _ClassVar[int]
    INHERITED_FIELD_NUMBER: _ClassVar[int]
    OPENING_PREVIEW_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    calling_window: CallingWindow
    window_basis: str
    blocked_dates: _containers.RepeatedScalarFieldContainer[str]
    allow_window_bypass: bool
    max_lateness_seconds: int
    retry_policy: RetryPolicy
    frequency_caps: FrequencyCaps
    caller_name: str
    callback_number: str
    ai_disclosure: bool
    opening_template: str
    snooze_default_minutes: int
    require_consent_for_informational: bool
    predial: Predial
    inherited: _containers.RepeatedScalarFieldContainer[str]
    opening_preview: str
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, organization_id: _Optional[str] = ..., calling_window: _Optional[_Union[CallingWindow, _Mapping]] = ..., window_basis: _Optional[str] = ..., blocked_dates: _Optional[_Iterable[str]] = ..., allow_window_bypass: _Optional[bool] = ..., max_lateness_seconds: _Optional[int] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ..., frequency_caps: _Optional[_Union[FrequencyCaps, _Mapping]] = ..., caller_name: _Optional[str] = ..., callback_number: _Optional[str] = ..., ai_disclosure: _Optional[bool] = ..., opening_template: _Optional[str] = ..., snooze_default_minutes: _Optional[int] = ..., require_consent_for_informational: _Optional[bool] = ..., predial: _Optional[_Union[Predial, _Mapping]] = ..., inherited: _Optional[_Iterable[str]] = ..., opening_preview: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
