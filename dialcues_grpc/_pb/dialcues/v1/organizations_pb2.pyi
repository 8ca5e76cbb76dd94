import datetime

from . import common_pb2 as _common_pb2
from . import policy_pb2 as _policy_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Organization(_message.Message):
    __slots__ = ("id", "name", "created_at", "provider")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    created_at: _timestamp_pb2.Timestamp
    provider: MaskedProviderSettings
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., provider: _Optional[_Union[MaskedProviderSettings, _Mapping]] = ...) -> None: ...

class RetryDelays(_message.Message):
    __slots__ = ("seconds",)
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    seconds: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, seconds: _Optional[_Iterable[int]] = ...) -> None: ...

class MaskedProviderSettings(_message.Message):
    __slots__ = ("provider", "api_key_hint", "assistant_id", "webhook_secret_hint", "base_url", "concurrency", "retry_delays", "model", "voice", "transcriber", "telnyx_credential_id")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_HINT_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_HINT_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAYS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIBER_FIELD_NUMBER: _ClassVar[int]
    TELNYX_CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    provider: _common_pb2.Provider
    api_key_hint: str
    assistant_id: str
    webhook_secret_hint: str
    base_url: str
    concurrency: int
    retry_delays: RetryDelays
    model: str
    voice: _struct_pb2.Struct
    transcriber: _struct_pb2.Struct
    telnyx_credential_id: str
    def __init__(self, provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., api_key_hint: _Optional[str] = ..., assistant_id: _Optional[str] = ..., webhook_secret_hint: _Optional[str] = ..., base_url: _Optional[str] = ..., concurrency: _Optional[int] = ..., retry_delays: _Optional[_Union[RetryDelays, _Mapping]] = ..., model: _Optional[str] = ..., voice: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., transcriber: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., telnyx_credential_id: _Optional[str] = ...) -> None: ...

class CreateOrganizationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetOrganizationRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("organization_id", "email", "name")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    email: str
    name: str
    def __init__(self, organization_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class SetProviderSettingsRequest(_message.Message):
    __slots__ = ("organization_id", "provider", "api_key", "assistant_id", "webhook_secret", "base_url", "concurrency", "retry_delays", "model", "voice", "transcriber", "telnyx_credential_id")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    ASSISTANT_ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_SECRET_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAYS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIBER_FIELD_NUMBER: _ClassVar[int]
    TELNYX_CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    provider: _common_pb2.Provider
    api_key: str
    assistant_id: str
    webhook_secret: str
    base_url: str
    concurrency: int
    retry_delays: RetryDelays
    model: str
    voice: _struct_pb2.Struct
    transcriber: _struct_pb2.Struct
    telnyx_credential_id: str
    def __init__(self, organization_id: _Optional[str] = ..., provider: _Optional[_Union[_common_pb2.Provider, str]] = ..., api_key: _Optional[str] = ..., assistant_id: _Optional[str] = ..., webhook_secret: _Optional[str] = ..., base_url: _Optional[str] = ..., concurrency: _Optional[int] = ..., retry_delays: _Optional[_Union[RetryDelays, _Mapping]] = ..., model: _Optional[str] = ..., voice: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., transcriber: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., telnyx_credential_id: _Optional[str] = ...) -> None: ...

class SetCarrierSettingsRequest(_message.Message):
    __slots__ = ("organization_id", "carrier", "api_key", "public_key", "messaging_profile_id", "base_url", "ten_dlc_campaign_id", "rcs_agent_id", "help_text", "opt_out_text", "opt_in_text")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGING_PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    TEN_DLC_CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    RCS_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    HELP_TEXT_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_TEXT_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_TEXT_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    carrier: str
    api_key: str
    public_key: str
    messaging_profile_id: str
    base_url: str
    ten_dlc_campaign_id: str
    rcs_agent_id: str
    help_text: str
    opt_out_text: str
    opt_in_text: str
    def __init__(self, organization_id: _Optional[str] = ..., carrier: _Optional[str] = ..., api_key: _Optional[str] = ..., public_key: _Optional[str] = ..., messaging_profile_id: _Optional[str] = ..., base_url: _Optional[str] = ..., ten_dlc_campaign_id: _Optional[str] = ..., rcs_agent_id: _Optional[str] = ..., help_text: _Optional[str] = ..., opt_out_text: _Optional[str] = ..., opt_in_text: _Optional[str] = ...) -> None: ...

class MaskedCarrierSettings(_message.Message):
    __slots__ = ("carrier", "api_key", "public_key", "messaging_profile_id", "base_url", "ten_dlc_campaign_id", "rcs_agent_id", "help_text", "opt_out_text", "opt_in_text", "webhook_url")
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    MESSAGING_PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    TEN_DLC_CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    RCS_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    HELP_TEXT_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_TEXT_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_TEXT_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_FIELD_NUMBER: _ClassVar[int]
    carrier: str
    api_key: str
    public_key: str
    messaging_profile_id: str
    base_url: str
    ten_dlc_campaign_id: str
    rcs_agent_id: str
    help_text: str
    opt_out_text: str
    opt_in_text: str
    webhook_url: str
    def __init__(self, carrier: _Optional[str] = ..., api_key: _Optional[str] = ..., public_key: _Optional[str] = ..., messaging_profile_id: _Optional[str] = ..., base_url: _Optional[str] = ..., ten_dlc_campaign_id: _Optional[str] = ..., rcs_agent_id: _Optional[str] = ..., help_text: _Optional[str] = ..., opt_out_text: _Optional[str] = ..., opt_in_text: _Optional[str] = ..., webhook_url: _Optional[str] = ...) -> None: ...

class GetCallingPolicyRequest(_message.Message):
    __slots__ = ("organization_id",)
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    organization_id: str
    def __init__(self, organization_id: _Optional[str] = ...) -> None: ...

class PredialChange(_message.Message):
    __slots__ = ("url", "timeout_ms", "on_failure")
    URL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    url: str
    timeout_ms: int
    on_failure: str
    def __init__(self, url: _Optional[str] = ..., timeout_ms: _Optional[int] = ..., on_failure: _Optional[str] = ...) -> None: ...

class UpdateCallingPolicyRequest(_message.Message):
    __slots__ = ("organization_id", "update_mask", "actor", "reset", "rotate_predial_secret", "calling_window", "window_basis", "blocked_dates", "allow_window_bypass", "max_lateness_seconds", "retry_policy", "frequency_caps", "caller_name", "callback_number", "ai_disclosure", "opening_template", "snooze_default_minutes", "require_consent_for_informational", "predial")
    ORGANIZATION_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    ROTATE_PREDIAL_SECRET_FIELD_NUMBER: _ClassVar[int]
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
    organization_id: str
    update_mask: _field_mask_pb2.FieldMask
    actor: str
    reset: _containers.RepeatedScalarFieldContainer[str]
    rotate_predial_secret: bool
    calling_window: _policy_pb2.CallingWindow
    window_basis: str
    blocked_dates: _containers.RepeatedScalarFieldContainer[str]
    allow_window_bypass: bool
    max_lateness_seconds: int
    retry_policy: _policy_pb2.RetryPolicy
    frequency_caps: _policy_pb2.FrequencyCaps
    caller_name: str
    callback_number: str
    ai_disclosure: bool
    opening_template: str
    snooze_default_minutes: int
    require_consent_for_informational: bool
    predial: PredialChange
    def __init__(self, organization_id: _Optional[str] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., actor: _Optional[str] = ..., reset: _Optional[_Iterable[str]] = ..., rotate_predial_secret: _Optional[bool] = ..., calling_window: _Optional[_Union[_policy_pb2.CallingWindow, _Mapping]] = ..., window_basis: _Optional[str] = ..., blocked_dates: _Optional[_Iterable[str]] = ..., allow_window_bypass: _Optional[bool] = ..., max_lateness_seconds: _Optional[int] = ..., retry_policy: _Optional[_Union[_policy_pb2.RetryPolicy, _Mapping]] = ..., frequency_caps: _Optional[_Union[_policy_pb2.FrequencyCaps, _Mapping]] = ..., caller_name: _Optional[str] = ..., callback_number: _Optional[str] = ..., ai_disclosure: _Optional[bool] = ..., opening_template: _Optional[str] = ..., snooze_default_minutes: _Optional[int] = ..., require_consent_for_informational: _Optional[bool] = ..., predial: _Optional[_Union[PredialChange, _Mapping]] = ...) -> None: ...

class UpdateCallingPolicyResponse(_message.Message):
    __slots__ = ("policy", "predial_secret")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PREDIAL_SECRET_FIELD_NUMBER: _ClassVar[int]
    policy: _policy_pb2.CallingPolicy
    predial_secret: str
    def __init__(self, policy: _Optional[_Union[_policy_pb2.CallingPolicy, _Mapping]] = ..., predial_secret: _Optional[str] = ...) -> None: ...
