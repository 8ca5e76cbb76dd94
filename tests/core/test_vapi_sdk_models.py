"""The strict validator of ``support.vapi_sdk`` against vapi-server-sdk 3.0.0's own models.

The SDK's models accept unknown keys and open their enums; the validator must refuse what
Vapi's schema lacks at every depth while accepting everything valid, so that the fake Vapi
(which checks creates and its own messages with it) is as strict as Vapi and no stricter.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
from fakes.vapi_server import sdk_models
from support.vapi_sdk import assert_strict, reachable_models, strict_errors
from vapi.types.server_message_status_update_phone_number import (
    ServerMessageStatusUpdatePhoneNumber,
)

pytestmark = pytest.mark.xdist_group("vapi_sdk")  # one worker pays the SDK's ~10 s import

CALL = {
    "id": "c-1",
    "orgId": "org-1",
    "type": "outboundPhoneCall",
    "status": "ended",
    "createdAt": "2026-03-01T10:00:00.000Z",
    "updatedAt": "2026-03-01T10:00:42.400Z",
    "endedReason": "customer-ended-call",
    "assistantOverrides": {"metadata": {"execution_id": "17", "nested": {"any": [1, None]}}},
    "customer": {"number": "+14155550123"},
}


def a_create(**changes: Any) -> dict[str, Any]:
    """A rich, valid create: nested models, lists of models, a dict of anything, unions."""
    body: dict[str, Any] = {
        "phoneNumberId": "pn-1",
        "customers": [{"number": "+14155550123"}, {"number": "+14155550124", "name": "Bo"}],
        "assistant": {
            "firstMessage": "Hello",
            "endCallPhrases": ["bye", "goodbye"],
            "model": {"provider": "openai", "model": "gpt-4o"},
            "serverMessages": ["status-update"],
        },
        "assistantOverrides": {
            "firstMessage": "Hi",
            "voicemailMessage": "Hi",
            "metadata": {"execution_id": "17", "deep": {"x": [1, {"y": None}]}},
            "serverMessages": ["status-update", "end-of-call-report"],
            "server": {"url": "https://x.example/e", "headers": {"a": "b"}, "timeoutSeconds": 20},
            "maxDurationSeconds": 60,
        },
        "name": "Reminder",
    }
    body.update(changes)
    return body


def test_a_rich_valid_create_passes() -> None:
    assert strict_errors(sdk_models().create, a_create(), closed_enums=True) == []
    sdk_models().create.model_validate(a_create())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"metadata": {}}, "/metadata: property metadata should not exist"),
        (
            {"customers": [{"number": "+1"}, {"number": "+2", "phone": "x"}]},
            "/customers/1/phone: property phone should not exist (not a field of "
            "CreateCustomerDto)",
        ),
        (
            {"assistant": {"model": {"provider": "openai", "model": "m", "temp": 1}}},
            "/assistant/model/temp: property temp should not exist",
        ),
        (
            {"assistantOverrides": {"server": {"url": "u", "backoffPlan": {"x": 1}}}},
            "/assistantOverrides/server/backoffPlan/x: property x should not exist",
        ),
        (
            {"assistantOverrides": {"server": {"url": "u", "headers": {"a": "b"}}, "secret": ""}},
            "/assistantOverrides/secret: property secret should not exist",
        ),
    ],
)
def test_unknown_keys_are_refused_at_any_depth(change: dict[str, Any], expected: str) -> None:
    errors = strict_errors(sdk_models().create, a_create(**change))
    assert any(error.startswith(expected) for error in errors), errors


def test_only_the_camel_case_json_names_are_keys() -> None:
    errors = strict_errors(sdk_models().create, {"phone_number_id": "pn-1"})
    assert errors == [
        "/phone_number_id: property phone_number_id should not exist "
        "(not a field of CreateOutboundCallDto)"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": 5}, ["/name: must be a string, not a number"]),
        ({"customers": {"number": "+1"}}, ["/customers: must be an array, not an object"]),
        (
            {"customers": ["+1"]},
            ["/customers/0: must be an object (CreateCustomerDto), not a string"],
        ),
        (
            {"assistantOverrides": {"maxDurationSeconds": "60"}},
            ["/assistantOverrides/maxDurationSeconds: must be a number, not a string"],
        ),
        (
            {"assistantOverrides": {"firstMessageInterruptionsEnabled": 1}},
            ["/assistantOverrides/firstMessageInterruptionsEnabled: must be a boolean, not a"],
        ),
        (
            {"assistantOverrides": {"maxDurationSeconds": True}},
            ["/assistantOverrides/maxDurationSeconds: must be a number, not a boolean"],
        ),
        ({"assistantOverrides": {"metadata": []}}, ["/assistantOverrides/metadata: must be an"]),
        ({"a/b~c": 1}, ["/a~1b~0c: property a/b~c should not exist"]),
    ],
)
def test_json_types_are_checked_without_coercion(data: dict[str, Any], expected: list[str]) -> None:
    errors = strict_errors(sdk_models().create, data)
    assert len(errors) == len(expected)
    for error, start in zip(errors, expected, strict=True):
        assert error.startswith(start), errors


def test_an_int_is_a_float_and_null_fills_an_optional() -> None:
    overrides = {"maxDurationSeconds": 60, "firstMessage": None, "server": None}
    assert strict_errors(sdk_models().create, {"assistantOverrides": overrides}) == []


def test_required_fields_and_nulls_are_checked() -> None:
    assert strict_errors(sdk_models().call, {**CALL, "id": None}) == ["/id: must not be null (str)"]
    missing = {key: value for key, value in CALL.items() if key != "orgId"}
    assert strict_errors(sdk_models().call, missing) == ["/orgId: is required (Call)"]
    assert strict_errors(sdk_models().call, {**CALL, "createdAt": "yesterday"})[0].startswith(
        "/createdAt: is not a valid datetime"
    )
    assert strict_errors(sdk_models().call, {**CALL, "createdAt": 1700000000})[0].startswith(
        "/createdAt: must be an ISO 8601 string"
    )
    assert strict_errors(sdk_models().call, CALL) == []


def test_the_document_itself_must_be_an_object() -> None:
    assert strict_errors(sdk_models().call, None) == ["/: must not be null (Call)"]
    assert strict_errors(sdk_models().call, "call") == ["/: must be an object (Call), not a string"]


def test_open_enums_take_new_strings_and_closed_ones_refuse_them() -> None:
    new_reason = {**CALL, "endedReason": "a-reason-vapi-adds-next-month"}
    assert (
        strict_errors(sdk_models().call, new_reason) == []
    )  # what Vapi sends may be newer than the SDK
    assert strict_errors(sdk_models().call, new_reason, closed_enums=True)[0].startswith(
        "/endedReason: must be one of"
    )
    assert strict_errors(sdk_models().call, {**CALL, "endedReason": 7}) == [
        "/endedReason: must be a string (an enum value), not a number"
    ]
    typo = {"assistantOverrides": {"serverMessages": ["status-update", "end-of-call-reports"]}}
    assert strict_errors(sdk_models().create, typo) == []
    assert strict_errors(sdk_models().create, typo, closed_enums=True)[0].startswith(
        "/assistantOverrides/serverMessages/1: must be one of"
    )


TWILIO = {"provider": "twilio", "number": "+14155550100", "twilioAccountSid": "AC1"}


def test_a_discriminated_union_takes_the_member_its_tag_names() -> None:
    union = ServerMessageStatusUpdatePhoneNumber
    assert strict_errors(union, TWILIO) == []
    assert strict_errors(union, {"provider": "vapi", "sipUri": "sip:a@b"}) == []
    # sipUri is a field of the vapi member, not of twilio's: the tag decides
    errors = strict_errors(union, {**TWILIO, "sipUri": "sip:a@b"})
    assert errors == [
        "/sipUri: property sipUri should not exist "
        "(not a field of ServerMessageStatusUpdatePhoneNumber_Twilio)"
    ]
    assert strict_errors(union, {"provider": "twilio"}) == [
        "/number: is required (ServerMessageStatusUpdatePhoneNumber_Twilio)",
        "/twilioAccountSid: is required (ServerMessageStatusUpdatePhoneNumber_Twilio)",
    ]


def test_a_value_fitting_no_member_names_the_closest() -> None:
    errors = strict_errors(ServerMessageStatusUpdatePhoneNumber, {"id": "pn-1"})
    assert errors[0].startswith("/: matches none of ServerMessageStatusUpdatePhoneNumber_")
    assert "/id: property id should not exist" in " ".join(errors)


def test_a_union_of_open_tags_checks_the_member_the_type_names() -> None:
    # both members' ``type`` is an open enum, so the SDK's StatusUpdate would take a report
    status_model = sdk_models().messages["status-update"]
    report_model = sdk_models().messages["end-of-call-report"]
    union: Any = typing.Union[status_model, report_model]  # noqa: UP007 (the SDK's own spelling)
    status = {"type": "status-update", "status": "ended", "call": CALL}
    report = {
        "type": "end-of-call-report",
        "endedReason": "voicemail",
        "artifact": {"transcript": "AI: hi", "messages": []},
        "analysis": {"summary": "ok"},
        "call": CALL,
    }
    assert strict_errors(union, status) == strict_errors(union, report) == []
    mislabelled = {**status, "type": "end-of-call-report"}
    assert strict_errors(status_model, mislabelled) == []  # alone it fits...
    errors = strict_errors(union, mislabelled)  # ...but its tag names the report
    assert "/status: property status should not exist" in " ".join(errors)
    assert any(error.startswith("/artifact: is required") for error in errors)


def test_lists_of_unions_are_checked_item_by_item() -> None:
    said = {"message": "hi", "time": 1.0, "endTime": 1.5, "secondsFromStart": 0.5}
    messages = [{"role": "user", **said}, {"role": "bot", **said, "source": "model"}]
    assert strict_errors(sdk_models().call, {**CALL, "messages": messages}) == []
    errors = strict_errors(
        sdk_models().call, {**CALL, "messages": [*messages, {"role": "bot", **said, "x": 1}]}
    )
    # no tag tells these members apart (``role`` is a plain string): the closest is named
    assert errors[0].startswith("/messages/2: matches none of UserMessage, SystemMessage, Bot")
    assert "/messages/2/x: property x should not exist" in errors[1]


def test_assert_strict_lists_the_problems() -> None:
    with pytest.raises(AssertionError, match=r"not a strict Call:\n  /orgId: is required"):
        assert_strict(
            sdk_models().call, {key: value for key, value in CALL.items() if key != "orgId"}
        )
    assert_strict(sdk_models().call, CALL)


@pytest.mark.parametrize("name", ["create", "call", "status-update", "end-of-call-report"])
def test_every_model_reachable_from_what_we_check_resolves(name: str) -> None:
    models = sdk_models()
    model = {"create": models.create, "call": models.call}.get(name) or models.messages[name]
    # a forward reference the validator cannot follow would raise TypeError here
    reachable = reachable_models(model)
    assert model in reachable and len(reachable) > 1000
