"""The wire models of the OpenAPI document describe what the handlers really send.

Real replies of the real app validate against ``dialcues_rest.wire`` (whose response models
forbid unknown fields), so a rendering and its documented schema cannot drift apart. The
request patterns are checked against the core's own parsers.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from support.platform import Tenant

from dialcues_core.calls.actions import VIAS, Action, ActionType, CallActions
from dialcues_core.calls.executions import CONFIRMATIONS
from dialcues_core.consent.model import (
    CONSENT_PURPOSES,
    CONSENT_SOURCES,
    CONSENT_TYPES,
    SOURCE_TYPES,
    SUPPRESSION_REASONS,
)
from dialcues_core.errors import ValidationFailed
from dialcues_core.inbound.routes import RouteType, parse_route
from dialcues_core.kernel.fields import parse_message, parse_title
from dialcues_core.kernel.phone import parse_phone_number
from dialcues_core.numbers.model import CARRIERS, FEATURES, FailedStep, NumberStatus
from dialcues_core.webhooks.model import EVENT_TYPES
from dialcues_rest import wire
from dialcues_rest import wire_consent as wn
from dialcues_rest import wire_numbers as wu
from dialcues_rest import wire_platform as wp
from rest.support import START, Api, add_execution

PROBLEM = {"Accept": "application/problem+json"}


def valid(model: type[BaseModel], body: Any) -> None:
    """Assert that ``body`` is an instance of ``model`` (strictly: no unknown fields)."""
    model.model_validate(body)


def _fullmatch(pattern: str, text: str) -> bool:
    # JSON Schema's `$` is the very end (ECMA-262); Python's also allows a final newline.
    return re.search(pattern.removesuffix("$") + r"\Z", text) is not None


def _accepted(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


async def test_a_created_reminder_matches_its_schema(api: Api) -> None:
    created = await api.create(
        recurrence_type="cron", recurrence_config={"expression": "0 9 * * 1-5"}
    )
    valid(wire.Reminder, created)


async def test_reminder_pages_and_updates_match_their_schemas(api: Api) -> None:
    created = await api.create()
    paused = await api.patch(f"/reminders/{created['id']}", json={"status": "paused"})
    listed = await api.get("/reminders")
    valid(wire.Reminder, paused.body)
    valid(wire.ReminderPage, listed.body)
    valid(wire.Reminder, (await api.get(f"/reminders/{created['id']}")).body)


async def test_executions_match_their_schemas(api: Api, tenant: Tenant) -> None:
    reminder = await api.create()
    eid = add_execution(tenant, reminder, cost=0.0213, duration_s=31, call_id="call_1")
    valid(wire.ExecutionPage, (await api.get("/executions")).body)
    valid(wire.Execution, (await api.get(f"/executions/{eid}")).body)


async def test_an_execution_with_actions_matches_its_schema(api: Api, tenant: Tenant) -> None:
    actions = CallActions(
        (
            Action(ActionType.SNOOZE, START, "keypad", "refused", {"refusal": "past_deadline"}),
            Action(ActionType.STOP, START, "transcript", "applied"),
        )
    )
    eid = add_execution(tenant, None, confirmation="opted_out", actions=actions.stored())
    valid(wire.Execution, (await api.get(f"/executions/{eid}")).body)


async def test_suppressions_and_consents_match_their_schemas(api: Api) -> None:
    consent = {
        "phone_number": "+14155552671",
        "type": "express_written",
        "purpose": "marketing",
        "source": "web_form",
        "text": "Yes, call me with offers.",
        "captured_at": "2026-03-01T11:00:00Z",
        "evidence": {"ip": "2001:db8::1"},
    }
    created = await api.post("/consents", json=consent)
    assert created.status == 201, created.text
    valid(wn.ConsentRecord, created.body)
    revoked = await api.post(f"/consents/{created.body['id']}/revoke", json={"note": "Gone"})
    valid(wn.ConsentRecord, revoked.body)
    valid(wn.ConsentPage, (await api.get("/consents")).body)
    entry = await api.post("/suppressions", json={"phone_number": "+14155550009"})
    valid(wn.SuppressionEntry, entry.body)
    valid(wn.SuppressionEntry, (await api.get("/suppressions/+14155552671")).body)
    valid(wn.SuppressionPage, (await api.get("/suppressions", params={"status": "all"})).body)


def test_the_wire_vocabularies_are_the_cores() -> None:
    assert get_args(wn.SuppressionReason) == SUPPRESSION_REASONS
    assert get_args(wn.SourceType) == SOURCE_TYPES
    assert get_args(wn.ConsentType) == CONSENT_TYPES
    assert get_args(wn.ConsentSource) == CONSENT_SOURCES
    assert get_args(wire.Purpose) == CONSENT_PURPOSES
    assert get_args(wire.Confirmation) == CONFIRMATIONS
    assert get_args(wp.WebhookEvent) == EVENT_TYPES
    action = wire.ExecutionAction.model_fields
    assert get_args(action["type"].annotation) == tuple(t.value for t in ActionType)
    assert get_args(action["via"].annotation) == VIAS


def test_the_telephony_vocabularies_are_the_cores() -> None:
    assert get_args(wu.NumberStatus) == tuple(s.value for s in NumberStatus)
    assert get_args(wu.FailedStep) == tuple(s.value for s in FailedStep)
    assert get_args(wire.Feature) == tuple(sorted(FEATURES))
    assert get_args(wire.Carrier) == CARRIERS
    routes = get_args(get_args(wu.UpdateLine.model_fields["route"].annotation)[0])[0]
    types = [get_args(m.model_fields["type"].annotation)[0] for m in get_args(routes)]
    assert types == [t.value for t in RouteType]


async def test_me_lines_and_health_match_their_schemas(api: Api) -> None:
    valid(wire.Me, (await api.get("/me")).body)
    valid(wire.LineList, (await api.get("/lines")).body)
    valid(wire.Health, (await api.get("/health")).body)
    valid(wire.Liveness, (await api.get("//healthz")).body)


async def test_a_placed_call_matches_the_execution_schema(api: Api) -> None:
    placed = await api.post("/calls", json={"to": "+14155552671", "message": "Hello"})
    assert placed.status == 201, placed.text
    valid(wire.Execution, placed.body)


async def test_webhook_subscriptions_match_their_schemas(api: Api) -> None:
    body = {"url": "https://93.184.216.34/hooks", "events": ["execution.finished"]}
    created = await api.post("/webhooks/subscriptions", json=body)
    assert created.status == 201, created.text
    sid = created.body["id"]
    valid(wp.SubscriptionWithSecret, created.body)
    valid(wp.SubscriptionPage, (await api.get("/webhooks/subscriptions")).body)
    valid(
        wp.Subscription,
        (await api.patch(f"/webhooks/subscriptions/{sid}", json={"enabled": False})).body,
    )
    valid(wp.DeliveryPage, (await api.get(f"/webhooks/subscriptions/{sid}/deliveries")).body)


async def test_both_error_shapes_match_their_schemas(api: Api) -> None:
    bad = {"title": " ", "colour": "blue"}
    valid(wire.ErrorBody, (await api.post("/reminders", json=bad)).body)
    valid(wire.ErrorBody, (await api.get("/reminders/404")).body)
    problem = await api.post("/reminders", json=bad, headers=PROBLEM)
    assert problem.headers["Content-Type"].startswith("application/problem+json")
    valid(wire.Problem, problem.body)
    assert problem.body["errors"]


async def test_an_unknown_field_in_a_reply_would_fail_its_model(api: Api) -> None:
    me = dict((await api.get("/me")).body)
    me["surprise"] = 1
    try:
        wire.Me.model_validate(me)
    except ValueError:
        return
    raise AssertionError("an unknown field passed the Me model")


@given(st.text(max_size=300))
def test_the_title_pattern_accepts_exactly_what_the_core_accepts(text: str) -> None:
    assert _fullmatch(wire.trimmed_text_pattern(255), text) == _accepted(parse_title, text)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=1100).map(lambda s: s * 2))
def test_the_message_pattern_accepts_exactly_what_the_core_accepts(text: str) -> None:
    assert _fullmatch(wire.trimmed_text_pattern(1000), text) == _accepted(parse_message, text)


@given(st.from_regex(r"\A[+\d٠-٩\n ]{0,17}\Z"))
def test_a_phone_number_the_core_accepts_matches_the_e164_pattern(text: str) -> None:
    if _accepted(parse_phone_number, text):
        assert _fullmatch(wire.E164_PATTERN, text)


def test_padded_titles_are_measured_after_trimming() -> None:
    pattern = wire.trimmed_text_pattern(255)
    assert _fullmatch(pattern, "  " + "x" * 255 + "\n")
    assert not _fullmatch(pattern, "x" * 256)
    assert not _fullmatch(pattern, " \u3000 ")
    assert not _fullmatch(pattern, "a\x00b")


def _route_accepted(route: dict[str, Any]) -> bool:
    try:
        parse_route(route, ())
    except ValidationFailed:
        return False
    return True


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=600).map(lambda s: s * 2))
def test_the_route_text_pattern_accepts_exactly_what_the_core_accepts(text: str) -> None:
    pattern = wire.trimmed_text_pattern(1000, nul=True)
    assert _fullmatch(pattern, text) == _route_accepted({"type": "message", "text": text})


@given(st.text(max_size=70))
def test_the_assistant_id_schema_accepts_exactly_what_the_core_accepts(text: str) -> None:
    schema_ok = 1 <= len(text) <= 64 and re.search(wire.NonBlank, text) is not None
    assert schema_ok == _route_accepted({"type": "assistant", "assistant_id": text})


@given(st.text(max_size=300))
def test_the_line_label_pattern_is_the_lines_add_rule(text: str) -> None:
    assert _fullmatch(wu.LABEL_PATTERN, text) == _accepted(parse_title, text)
