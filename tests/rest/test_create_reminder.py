"""``POST /reminders``: the 201 shape and the create rules as seen through HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from support.platform import Tenant

from dialcues_core import Dialcues
from rest.support import OMIT, Api, reminder_payload


async def test_create_returns_201_with_every_field_of_the_reminder(
    api: Api, tenant: Tenant
) -> None:
    reply = await api.post("/reminders", json=reminder_payload())
    assert reply.status == 201
    assert reply.body == {
        "id": reply.body["id"],
        "title": "Stand-up",
        "message": "Time for stand-up",
        "phone_number": "+14155552671",
        "scheduled_at": "2026-03-25T13:00:00Z",
        "timezone": "America/New_York",
        "status": "scheduled",
        "vapi_line_id": tenant.line.id,
        "outbound_line_label": "Main",
        "recurrence_type": None,
        "recurrence_config": None,
        "recurrence_end_at": None,
        "retry_count": 0,
        "next_attempt_at": None,
        "last_execution_id": None,
        "created_at": "2026-03-01T12:00:00Z",
        "updated_at": "2026-03-01T12:00:00Z",
        "purpose": "informational",
        "calling_window": None,
        "max_lateness_seconds": None,
        "retry_policy": None,
        "next_eligible_at": "2026-03-25T13:00:00Z",
        "fallback": None,
    }


async def test_created_id_is_an_integer(api: Api) -> None:
    body = await api.create()
    assert isinstance(body["id"], int)


async def test_scheduled_at_with_an_offset_is_that_instant(api: Api) -> None:
    body = await api.create(scheduled_at="2026-03-25T09:00:00+01:00")
    assert body["scheduled_at"] == "2026-03-25T08:00:00Z"


async def test_cron_recurrence_is_returned_as_an_object(api: Api) -> None:
    body = await api.create(
        recurrence_type="cron",
        recurrence_config={"expression": "0 9 * * 1-5"},
        recurrence_end_at="2026-06-30T09:00:00",
    )
    recurrence = {k: body[k] for k in ("recurrence_type", "recurrence_config")}
    assert recurrence == {
        "recurrence_type": "cron",
        "recurrence_config": {"expression": "0 9 * * 1-5"},
    }


async def test_recurrence_end_at_is_rendered_in_utc(api: Api) -> None:
    body = await api.create(recurrence_type="daily", recurrence_end_at="2026-06-30T09:00:00")
    assert body["recurrence_end_at"] == "2026-06-30T13:00:00Z"


async def test_recurrence_config_given_as_a_json_string_is_accepted(api: Api) -> None:
    body = await api.create(recurrence_type="custom", recurrence_config='{"weekdays": [5, 1]}')
    assert body["recurrence_config"] == {"weekdays": [1, 5]}


async def test_custom_interval_reports_type_custom(api: Api) -> None:
    body = await api.create(recurrence_type="custom", recurrence_config={"interval_days": 3})
    assert (body["recurrence_type"], body["recurrence_config"]) == ("custom", {"interval_days": 3})


async def test_explicit_line_is_fixed_on_the_reminder(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    second = dc.accounts.add_line(tenant.org.id, "simulated", "+14155550101", label="Backup")
    body = await api.create(vapi_line_id=second.id)
    assert (body["vapi_line_id"], body["outbound_line_label"]) == (second.id, "Backup")


async def test_bad_fields_are_each_named_in_one_validation_error(api: Api) -> None:
    payload = reminder_payload(title="  ", phone_number="+1 415 555 2671", timezone="Mars/Base")
    reply = await api.post("/reminders", json=payload)
    assert (reply.status, reply.code) == (400, "validation_error")
    assert set(reply.fields) == {"title", "phone_number", "timezone"}


async def test_phone_number_problem_is_the_contracts_sentence(api: Api) -> None:
    reply = await api.post("/reminders", json=reminder_payload(phone_number="4155552671"))
    assert reply.fields == {"phone_number": "must be an E.164 number such as +14155552671"}


async def test_missing_required_field_is_named(api: Api) -> None:
    reply = await api.post("/reminders", json=reminder_payload(message=OMIT))
    assert reply.fields == {"message": "is required"}


async def test_unknown_field_is_a_validation_error_naming_it(api: Api) -> None:
    reply = await api.post("/reminders", json=reminder_payload(colour="blue"))
    assert (reply.code, reply.fields) == ("validation_error", {"colour": "is not a known field"})


async def test_scheduled_at_in_the_past_is_a_validation_error(api: Api) -> None:
    reply = await api.post("/reminders", json=reminder_payload(scheduled_at="2026-02-01T09:00:00"))
    assert reply.fields == {"scheduled_at": "must be in the future"}


async def test_unknown_line_is_a_validation_error(api: Api) -> None:
    reply = await api.post("/reminders", json=reminder_payload(vapi_line_id="line_nope"))
    assert list(reply.fields) == ["vapi_line_id"]


async def test_bad_cron_expression_is_a_validation_error(api: Api) -> None:
    payload = reminder_payload(recurrence_type="cron", recurrence_config={"expression": "@daily"})
    reply = await api.post("/reminders", json=payload)
    assert list(reply.fields) == ["recurrence_config"]


async def test_org_without_a_line_is_missing_outbound_line(anon: Api, dc: Dialcues) -> None:
    org = dc.accounts.create_organization("No lines")
    user = dc.accounts.create_user(org.id, "solo@example.com", "Solo")
    key = dc.accounts.create_api_key(user.id).raw
    reply = await anon.as_key(key).post("/reminders", json=reminder_payload())
    assert (reply.status, reply.code) == (400, "missing_outbound_line")


async def test_malformed_json_is_a_validation_error(api: Api) -> None:
    reply = await api.post("/reminders", data=b'{"title": ', headers=JSON)
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_empty_body_is_a_validation_error(api: Api) -> None:
    reply = await api.post("/reminders", data=b"", headers=JSON)
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_body_that_is_not_an_object_is_a_validation_error(api: Api) -> None:
    reply = await api.post("/reminders", json=[reminder_payload()])
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_nan_in_the_body_is_malformed_json(api: Api) -> None:
    reply = await api.post("/reminders", data=b'{"title": NaN}', headers=JSON)
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_deeply_nested_json_is_a_validation_error_not_a_crash(api: Api) -> None:
    reply = await api.post("/reminders", data=b"[" * 60_000 + b"]" * 10, headers=JSON)
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_invalid_utf8_body_is_a_validation_error(api: Api) -> None:
    reply = await api.post("/reminders", data=b'{"title": "\xff\xfe"}', headers=JSON)
    assert (reply.status, reply.code) == (400, "validation_error")


async def test_body_over_64_kib_is_payload_too_large(api: Api) -> None:
    payload: dict[str, Any] = reminder_payload(message="x" * (64 * 1024))
    reply = await api.post("/reminders", json=payload)
    assert (reply.status, reply.code) == (413, "payload_too_large")


async def test_body_of_exactly_64_kib_is_read(api: Api) -> None:
    body = b'{"title": "' + b" " * (64 * 1024 - 13) + b'"}'
    assert len(body) == 64 * 1024
    reply = await api.post("/reminders", data=body, headers=JSON)
    assert (reply.status, reply.code) == (400, "validation_error")


JSON = {"Content-Type": "application/json"}


async def test_concurrent_creates_are_each_stored_once(api: Api) -> None:
    replies = await asyncio.gather(
        *(api.post("/reminders", json=reminder_payload()) for _ in range(40))
    )
    listed = await api.get("/reminders", params={"page_size": "100"})
    assert ({r.status for r in replies}, listed.body["total"]) == ({201}, 40)
