"""The wire models of numbers, lines and inbound answers describe what the handlers really send.

Real replies of the real app (on the simulated carrier) validate against
``dialcues_rest.wire_numbers`` and ``dialcues_rest.wire``, whose response models forbid unknown
fields, in both error shapes. The app's process runs no provisioner: an assign is checked at
its 202; the one test that needs an ``active`` number runs the provisioning steps itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.offload import Offloader
from dialcues_core.testing import FakeClock
from dialcues_rest import wire
from dialcues_rest import wire_numbers as wn
from rest.support import Api

NUMBER = "+14155550142"
REFUSED = "+14152009901"
"""The simulated carrier refuses to hold a number ending 9901."""
PROBLEM = {"Accept": "application/problem+json"}
ROUTES: list[dict[str, Any]] = [
    {"type": "reminders_readback"},
    {"type": "assistant", "assistant_id": "asst_123"},
    {"type": "transfer", "number": "+14155552671"},
    {"type": "message", "text": "  We are closed today.  "},
    {"type": "reject"},
    {"type": "external"},
    {"type": "external", "timeout_ms": 500, "fallback": {"type": "message", "text": "Bye"}},
]
"""One route of each type, as a request sets it (``external`` with and without defaults)."""


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on the fake clock; simulated orders complete at once."""
    platform = Dialcues.open(settings=settings_for(sqlite_url, simulated_delay=0), clock=clock)
    yield platform
    platform.close()


def valid(model: type[BaseModel], body: Any) -> None:
    """Assert that ``body`` is an instance of ``model`` (strictly: no unknown fields)."""
    model.model_validate(body)


def valid_error(model: type[BaseModel], reply: Any, status: int, code: str) -> None:
    """Assert the reply is the error ``code`` with ``status``, in ``model``'s shape."""
    assert reply.status == status, reply.text
    valid(model, reply.body)
    body = reply.body
    assert (body["code"] if model is wire.Problem else body["error"]["code"]) == code


async def hold(api: Api, number: str = NUMBER) -> dict[str, Any]:
    """Hold ``number`` and return the record."""
    reply = await api.post("/numbers/hold", json={"number": number})
    assert reply.status == 201, reply.text
    return dict(reply.body)


# ----------------------------------------------------------------------------- numbers
async def test_a_search_matches_its_schema(api: Api) -> None:
    params = {"country": "US", "npa": "415", "features": "voice,sms", "limit": "3"}
    reply = await api.get("/numbers/search", params=params)
    assert reply.status == 200, reply.text
    valid(wn.NumberSearchResult, reply.body)
    assert len(reply.body["items"]) == 3


async def test_a_new_hold_and_its_repeat_match_the_number_schema(api: Api) -> None:
    valid(wn.Number, await hold(api))
    again = await api.post("/numbers/hold", json={"number": NUMBER})
    assert again.status == 200, again.text
    valid(wn.Number, again.body)


async def test_a_replayed_hold_matches_the_number_schema(api: Api) -> None:
    key = {"Idempotency-Key": "hold-1"}
    await api.post("/numbers/hold", json={"number": NUMBER}, headers=key)
    replay = await api.post("/numbers/hold", json={"number": NUMBER}, headers=key)
    assert (replay.status, replay.headers.get("Idempotent-Replayed")) == (201, "true")
    valid(wn.Number, replay.body)


async def test_number_reads_match_their_schemas(api: Api) -> None:
    await hold(api)
    valid(wn.Number, (await api.get(f"/numbers/{NUMBER}")).body)
    valid(wn.Number, (await api.get("/numbers/%2B14155550142")).body)
    listed = await api.get("/numbers", params={"status": "held", "country": "US"})
    valid(wn.NumberPage, listed.body)
    assert [item["number"] for item in listed.body["items"]] == [NUMBER]


async def test_an_expired_hold_reads_back_in_the_number_schema(api: Api, clock: FakeClock) -> None:
    await hold(api)
    clock.advance(timedelta(minutes=31).total_seconds())
    reply = await api.get(f"/numbers/{NUMBER}")
    assert reply.body["status"] == "expired"
    valid(wn.Number, reply.body)


async def test_an_extended_hold_matches_the_number_schema(api: Api) -> None:
    await hold(api)
    reply = await api.post(f"/numbers/{NUMBER}/hold/extend")
    assert reply.status == 200, reply.text
    valid(wn.Number, reply.body)
    assert reply.body["hold_extended"] is True


async def test_a_dropped_hold_is_204_without_a_body(api: Api) -> None:
    await hold(api)
    reply = await api.delete(f"/numbers/{NUMBER}/hold")
    assert (reply.status, reply.text) == (204, "")
    valid(wn.Number, (await api.get(f"/numbers/{NUMBER}")).body)


async def test_an_assign_is_202_with_the_number_ordering(api: Api) -> None:
    await hold(api)
    body = {"label": "Front desk", "default": True}
    reply = await api.post(f"/numbers/{NUMBER}/assign", json=body)
    assert reply.status == 202, reply.text
    valid(wn.Number, reply.body)
    assert reply.body["status"] == "ordering"


async def test_an_assign_without_a_body_is_202(api: Api) -> None:
    await hold(api)
    reply = await api.post(f"/numbers/{NUMBER}/assign")
    assert reply.status == 202, reply.text
    valid(wn.Number, reply.body)


async def test_a_release_and_the_new_line_match_their_schemas(
    api: Api, dc: Dialcues, offloader: Offloader
) -> None:
    record = await hold(api)
    await api.post(f"/numbers/{NUMBER}/assign", json={"label": "Front desk"})
    dc.provisioner(offloader).provisioning.advance(record["id"])  # order → ordered → active
    active = (await api.get(f"/numbers/{NUMBER}")).body
    assert active["status"] == "active", active
    line = await api.get(f"/lines/{active['line_id']}")
    valid(wire.Line, line.body)
    assert (line.body["number_id"], line.body["carrier"]) == (record["id"], "simulated")
    released = await api.post(f"/numbers/{NUMBER}/release")
    assert released.status == 202, released.text
    valid(wn.Number, released.body)


@pytest.mark.parametrize("model", [wire.ErrorBody, wire.Problem])
async def test_a_refused_hold_matches_the_error_schemas(api: Api, model: type[BaseModel]) -> None:
    headers = PROBLEM if model is wire.Problem else None
    reply = await api.post("/numbers/hold", json={"number": REFUSED}, headers=headers)
    valid_error(model, reply, 409, "number_unavailable")


@pytest.mark.parametrize("model", [wire.ErrorBody, wire.Problem])
async def test_a_number_held_elsewhere_matches_the_error_schemas(
    api: Api, anon: Api, dc: Dialcues, model: type[BaseModel]
) -> None:
    await hold(anon.as_key(make_tenant(dc).api_key))
    headers = PROBLEM if model is wire.Problem else None
    reply = await api.post("/numbers/hold", json={"number": NUMBER}, headers=headers)
    valid_error(model, reply, 409, "number_held")


async def test_an_assign_after_the_hold_lapsed_matches_the_error_schema(
    api: Api, clock: FakeClock
) -> None:
    await hold(api)
    clock.advance(timedelta(minutes=31).total_seconds())
    reply = await api.post(f"/numbers/{NUMBER}/assign")
    valid_error(wire.ErrorBody, reply, 409, "hold_expired")


async def test_a_second_extension_matches_the_error_schema(api: Api) -> None:
    await hold(api)
    await api.post(f"/numbers/{NUMBER}/hold/extend")
    reply = await api.post(f"/numbers/{NUMBER}/hold/extend", headers=PROBLEM)
    valid_error(wire.Problem, reply, 400, "invalid_state")


async def test_a_bad_search_names_each_parameter_in_the_problem(api: Api) -> None:
    params = {"country": "US", "npa": "555", "locality": "S*n"}
    reply = await api.get("/numbers/search", params=params, headers=PROBLEM)
    valid_error(wire.Problem, reply, 400, "validation_error")
    assert {e["parameter"] for e in reply.body["errors"]} == {"npa", "locality"}


# ----------------------------------------------------------------------------- lines
async def test_a_line_matches_its_schema(api: Api, tenant: Tenant) -> None:
    reply = await api.get(f"/lines/{tenant.line.id}")
    assert reply.status == 200, reply.text
    valid(wire.Line, reply.body)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r['type']}-{len(r)}")
async def test_a_line_with_each_route_matches_its_schema(
    api: Api, tenant: Tenant, route: dict[str, Any]
) -> None:
    valid(wn.UpdateLine, {"route": route})
    reply = await api.patch(f"/lines/{tenant.line.id}", json={"route": route})
    assert reply.status == 200, reply.text
    valid(wire.Line, reply.body)


async def test_a_cleared_route_and_label_match_the_line_schema(api: Api, tenant: Tenant) -> None:
    body = {"label": None, "route": None, "is_default": True}
    valid(wn.UpdateLine, body)
    reply = await api.patch(f"/lines/{tenant.line.id}", json=body)
    assert reply.status == 200, reply.text
    valid(wire.Line, reply.body)
    assert (reply.body["label"], reply.body["route"]) == (None, None)


async def test_a_bad_route_names_its_fields_in_the_problem(api: Api, tenant: Tenant) -> None:
    body = {"route": {"type": "external", "timeout_ms": 10, "fallback": {"type": "external"}}}
    reply = await api.patch(f"/lines/{tenant.line.id}", json=body, headers=PROBLEM)
    valid_error(wire.Problem, reply, 400, "validation_error")
    assert len(reply.body["errors"]) == 2  # route.timeout_ms and route.fallback.type


# ----------------------------------------------------------------------------- inbound calls
async def ring_external(api: Api, dc: Dialcues, tenant: Tenant) -> int:
    """Put the line on an ``external`` route, ring it, return the waiting execution's id."""
    route = {"type": "external", "timeout_ms": 5000}
    await api.patch(f"/lines/{tenant.line.id}", json={"route": route})
    answer = dc.inbound.ring_line(tenant.org.id, tenant.line.id, "+14155552671")
    assert answer.execution_id is not None and answer.answer_by is not None
    return answer.execution_id


async def test_a_waiting_inbound_call_matches_the_execution_schema(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    execution_id = await ring_external(api, dc, tenant)
    reply = await api.get(f"/executions/{execution_id}")
    assert reply.status == 200, reply.text
    valid(wire.Execution, reply.body)
    assert (reply.body["direction"], reply.body["route"]) == ("inbound", None)


async def test_an_answered_inbound_call_matches_the_execution_schema(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    execution_id = await ring_external(api, dc, tenant)
    body = {"execution_id": execution_id, "route": {"type": "transfer", "number": "+14155550199"}}
    valid(wn.AnswerInboundCall, body)
    reply = await api.post("/calls/inbound/answer", json=body)
    assert reply.status == 200, reply.text
    valid(wire.Execution, reply.body)
    assert reply.body["route"] == body["route"]


async def test_a_second_answer_matches_the_error_schema(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    execution_id = await ring_external(api, dc, tenant)
    body = {"execution_id": execution_id, "route": {"type": "reject"}}
    await api.post("/calls/inbound/answer", json=body)
    reply = await api.post("/calls/inbound/answer", json=body)
    valid_error(wire.ErrorBody, reply, 409, "call_already_answered")
    assert reply.body["error"]["details"]["route"] == {"type": "reject"}


async def test_inbound_executions_list_in_the_page_schema(
    api: Api, dc: Dialcues, tenant: Tenant
) -> None:
    await ring_external(api, dc, tenant)
    reply = await api.get("/executions", params={"direction": "inbound"})
    assert reply.status == 200, reply.text
    valid(wire.ExecutionPage, reply.body)
    assert [item["direction"] for item in reply.body["items"]] == ["inbound"]


# ----------------------------------------------------------------------------- request examples
@pytest.mark.parametrize(
    "model", [wn.HoldNumber, wn.AssignNumber, wn.UpdateLine, wn.AnswerInboundCall]
)
def test_each_request_example_is_valid_for_its_model(model: type[BaseModel]) -> None:
    for example in model.model_json_schema()["examples"]:
        model.model_validate(example)
