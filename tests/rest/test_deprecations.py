"""Deprecations over REST (``telephony.md`` §5, §8 items 36–37), against the real app.

The app is built with the test registry of ``support.deprecations`` (one entry of each
kind, the test-only route among them, and one removed entry of each kind) and, for
comparison, with production's (empty).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
from support.deprecations import (
    DEPRECATION_HEADER,
    REMOVED_DEPRECATION_HEADER,
    REMOVED_QUERY,
    REMOVED_REQUEST_FIELD,
    REMOVED_ROUTE,
    REMOVED_SUNSET_HEADER,
    SUNSET_HEADER,
    TEST_QUERY,
    TEST_REGISTRY,
    TEST_REQUEST_FIELD,
    TEST_RESPONSE_FIELD,
    TEST_ROUTE,
)
from support.platform import Tenant

from dialcues_core import Dialcues
from dialcues_core.deprecations import REGISTRY, REST_KINDS, Deprecation, InvalidRegistry, Kind
from dialcues_core.offload import Offloader
from dialcues_rest.app import create_app
from dialcues_rest.openapi import app_document
from dialcues_rest.routes import BASE
from rest.support import Api, Reply, ServeFn, reminder_payload

LINK_PREFIX = "<https://dialcues.dev/changelog#"
HEADERS = ("Deprecation", "Sunset", "Link")


@pytest.fixture
async def deprecated(serve: ServeFn, dc: Dialcues, offloader: Offloader, tenant: Tenant) -> Api:
    """A client of the app built with the test registry, acting with the tenant's key."""
    app = create_app(dc, offloader, deprecations=TEST_REGISTRY)
    return (await serve(app)).as_key(tenant.api_key)


def announced(reply: Reply, *entries: Deprecation) -> bool:
    """Tell whether ``reply`` carries the headers of exactly ``entries``."""
    links = reply.headers.get("Link", "")
    named = {part.split(">")[0].removeprefix(LINK_PREFIX) for part in links.split(", ") if part}
    return named == {e.id for e in entries}


def bare(reply: Reply) -> bool:
    """Tell whether ``reply`` carries none of the three headers."""
    return not any(name in reply.headers for name in HEADERS)


# ----------------------------------------------------------------------------- the test route
async def test_the_deprecated_route_answers_with_the_three_headers(deprecated: Api) -> None:
    reply = await deprecated.get("/_test/deprecated")
    assert (reply.status, reply.body) == (200, {"ok": True})
    assert reply.headers["Deprecation"] == DEPRECATION_HEADER
    assert reply.headers["Sunset"] == SUNSET_HEADER
    assert reply.headers["Link"] == (
        '<https://dialcues.dev/changelog#test-route>; rel="deprecation"; type="text/html"'
    )
    assert "X-Request-Id" in reply.headers


async def test_its_error_carries_the_headers_too(deprecated: Api) -> None:
    reply = await deprecated.get("/_test/deprecated", params={"fail": "1"})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert reply.headers["Deprecation"] == DEPRECATION_HEADER
    assert reply.headers["Sunset"] == SUNSET_HEADER
    assert announced(reply, TEST_ROUTE)


async def test_its_problem_details_carry_the_headers_too(deprecated: Api) -> None:
    accept = {"Accept": "application/problem+json"}
    reply = await deprecated.get("/_test/deprecated", params={"fail": "1"}, headers=accept)
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert (reply.body["status"], reply.body["code"]) == (400, "validation_error")
    assert reply.body["errors"] == [{"detail": "asked to fail", "parameter": "fail"}]
    assert announced(reply, TEST_ROUTE)


async def test_a_refused_credential_still_gets_the_headers(deprecated: Api) -> None:
    reply = await deprecated.as_key(None).get("/_test/deprecated")
    assert (reply.status, reply.code) == (401, "unauthorized")
    assert announced(reply, TEST_ROUTE)


async def test_a_head_request_gets_the_headers(deprecated: Api) -> None:
    reply = await deprecated.call("HEAD", "/_test/deprecated")
    assert reply.status == 200
    assert announced(reply, TEST_ROUTE)


async def test_other_routes_get_no_headers(deprecated: Api) -> None:
    assert bare(await deprecated.get("/me"))
    assert bare(await deprecated.get("/reminders"))


async def test_the_test_route_does_not_exist_in_production(api: Api) -> None:
    reply = await api.get("/_test/deprecated")
    assert (reply.status, reply.code) == (404, "not_found")
    assert bare(reply)


# ----------------------------------------------------------------------------- parameters, fields
async def test_a_deprecated_query_parameter_marks_only_requests_that_send_it(
    deprecated: Api,
) -> None:
    used = await deprecated.get("/reminders", params={"search": "stand"})
    assert used.status == 200 and announced(used, TEST_QUERY)
    assert used.headers["Deprecation"] == "@1781481600"  # 2026-06-15
    assert used.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert bare(await deprecated.get("/reminders", params={"page": "1"}))


async def test_a_deprecated_request_field_marks_only_bodies_that_hold_it(deprecated: Api) -> None:
    created = await deprecated.post("/reminders", json=reminder_payload())
    assert created.status == 201 and announced(created, TEST_REQUEST_FIELD)
    refused = await deprecated.post("/reminders", json={"title": "no message"})
    assert refused.status == 400 and bare(refused)


async def test_a_deprecated_response_field_marks_every_reply_holding_it(deprecated: Api) -> None:
    reply = await deprecated.get("/policy")
    assert "inherited" in reply.body
    assert announced(reply, TEST_RESPONSE_FIELD)


async def test_a_deprecated_item_field_marks_a_page_only_when_an_item_holds_it(
    deprecated: Api,
) -> None:
    empty = await deprecated.get("/audit/events")
    assert empty.body["items"] == [] and bare(empty)
    added = await deprecated.post("/suppressions", json={"phone_number": "+14155550123"})
    assert added.status == 201, added.text
    listed = await deprecated.get("/audit/events")
    assert listed.body["items"] and listed.headers["Link"].count("rel=") == 1
    assert "#test-item-field>" in listed.headers["Link"]


# ----------------------------------------------------------------------------- GET /deprecations
# ----------------------------------------------------------------------------- after the sunset
PROBLEM = {"Accept": "application/problem+json"}


async def test_a_removed_route_answers_410_gone_naming_its_entry(deprecated: Api) -> None:
    reply = await deprecated.get("/_test/removed")
    assert (reply.status, reply.code) == (410, "gone")
    assert reply.body["error"]["details"] == {"deprecation": "test-removed-route"}
    assert "GET /api/public/v1/deprecations" in reply.body["error"]["message"]
    assert reply.headers["Deprecation"] == REMOVED_DEPRECATION_HEADER
    assert reply.headers["Sunset"] == REMOVED_SUNSET_HEADER
    assert announced(reply, REMOVED_ROUTE)
    assert "X-Request-Id" in reply.headers


async def test_its_problem_details_say_gone_and_name_the_entry(deprecated: Api) -> None:
    reply = await deprecated.get("/_test/removed", headers=PROBLEM)
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    body = reply.body
    assert (body["type"], body["title"], body["status"], body["code"]) == (
        "https://dialcues.dev/errors/gone",
        "Gone",
        410,
        "gone",
    )
    assert (body["deprecation"], body["instance"]) == (
        "test-removed-route",
        "/api/public/v1/_test/removed",
    )
    assert announced(reply, REMOVED_ROUTE)


async def test_a_removed_route_still_asks_for_a_credential_first(deprecated: Api) -> None:
    reply = await deprecated.as_key(None).get("/_test/removed")
    assert (reply.status, reply.code) == (401, "unauthorized")
    assert announced(reply, REMOVED_ROUTE)
    head = await deprecated.call("HEAD", "/_test/removed")
    assert head.status == 410 and announced(head, REMOVED_ROUTE)


async def test_the_removed_route_does_not_exist_in_production(api: Api) -> None:
    reply = await api.get("/_test/removed")
    assert (reply.status, reply.code) == (404, "not_found")
    assert bare(reply)


async def test_a_removed_query_parameter_is_refused_as_no_longer_supported(
    deprecated: Api,
) -> None:
    reply = await deprecated.get("/_test/deprecated", params={"legacy": "1"})
    assert (reply.status, reply.fields) == (400, {"legacy": "is no longer supported"})
    assert announced(reply, TEST_ROUTE, REMOVED_QUERY)
    assert reply.headers["Deprecation"] == REMOVED_DEPRECATION_HEADER  # the earliest
    problem = await deprecated.get("/_test/deprecated", params={"legacy": "1"}, headers=PROBLEM)
    assert problem.body["errors"] == [{"detail": "is no longer supported", "parameter": "legacy"}]


async def test_a_removed_request_field_is_refused_and_nothing_is_created(
    deprecated: Api, api: Api
) -> None:
    refused = await deprecated.post("/reminders", json=reminder_payload(voice="alloy"))
    assert (refused.status, refused.fields) == (400, {"voice": "is no longer supported"})
    assert announced(refused, TEST_REQUEST_FIELD, REMOVED_REQUEST_FIELD)
    assert (await deprecated.get("/reminders")).body["items"] == []
    unknown = await api.post("/reminders", json=reminder_payload(voice="alloy"))
    assert unknown.fields == {"voice": "is not a known field"}  # production never knew it


async def test_a_removed_response_field_is_no_longer_sent(deprecated: Api, api: Api) -> None:
    me = await deprecated.get("/me")
    assert me.status == 200 and "client_id" not in me.body
    assert set(me.body) == {"user", "organization_id", "api_key_id"}
    assert bare(me)  # a reply never holds it, so it uses nothing
    assert "client_id" in (await api.get("/me")).body


async def test_a_removed_item_field_is_dropped_from_every_item(
    deprecated: Api, dc: Dialcues, offloader: Offloader
) -> None:
    await deprecated.get("/me")
    await offloader.run(dc.usage.flush)
    page = (await deprecated.get("/usage/events")).body
    assert page["items"] and all("latency_ms" not in event for event in page["items"])
    assert all("status" in event for event in page["items"])


async def test_a_gone_request_still_writes_its_usage_event(
    deprecated: Api, dc: Dialcues, offloader: Offloader
) -> None:
    await deprecated.get("/_test/removed")
    await offloader.run(dc.usage.flush)
    used = (await deprecated.get("/usage/events", params={"deprecated": "true"})).body
    assert [(e["route"], e["status"], e["code"], e["deprecated"]) for e in used["items"]] == [
        ("/_test/removed", 410, "gone", True)
    ]


async def test_the_registry_is_listed_without_a_credential(deprecated: Api) -> None:
    reply = await deprecated.as_key(None).get("/deprecations")
    assert reply.status == 200
    assert reply.body["policy"] == {
        "minimum_notice_months": 12,
        "changelog": "https://dialcues.dev/changelog",
    }
    assert [item["id"] for item in reply.body["items"]] == [e.id for e in TEST_REGISTRY]
    assert reply.body["items"][0] == {
        "id": "test-route",
        "kind": "route",
        "target": "GET /_test/deprecated",
        "announced_at": "2026-12-01",
        "sunset_at": "2027-12-01",
        "replacement": "GET /health",
        "removed": False,
    }
    removed = {item["id"] for item in reply.body["items"] if item["removed"]}
    assert removed == {e.id for e in TEST_REGISTRY if e.removed} and "test-removed-route" in removed
    assert bare(reply)


async def test_production_lists_an_empty_registry(anon: Api) -> None:
    reply = await anon.get("/deprecations")
    assert (reply.status, reply.body["items"]) == (200, [])


async def test_the_listing_takes_no_query_parameter(anon: Api) -> None:
    reply = await anon.get("/deprecations", params={"kind": "route"})
    assert (reply.status, reply.fields) == (400, {"kind": "is not a known field"})


# ----------------------------------------------------------------------------- usage events
async def test_usage_events_say_which_requests_used_a_deprecation(
    deprecated: Api, dc: Dialcues, offloader: Offloader
) -> None:
    await deprecated.get("/_test/deprecated")
    await deprecated.get("/_test/deprecated", params={"fail": "1"})
    await deprecated.get("/me")
    await offloader.run(dc.usage.flush)
    used = (await deprecated.get("/usage/events", params={"deprecated": "true"})).body
    assert [(e["route"], e["status"], e["deprecated"]) for e in used["items"]] == [
        ("/_test/deprecated", 400, True),
        ("/_test/deprecated", 200, True),
    ]
    other = (await deprecated.get("/usage/events", params={"deprecated": "false"})).body
    assert [(e["route"], e["deprecated"]) for e in other["items"]] == [("/me", False)]


async def test_the_deprecated_filter_takes_true_or_false(api: Api) -> None:
    reply = await api.get("/usage/events", params={"deprecated": "yes"})
    assert (reply.status, reply.fields) == (400, {"deprecated": "must be true or false"})


# ----------------------------------------------------------------------------- OpenAPI
def _marked(node: Any) -> Iterator[int]:
    """Yield the id of every object in ``node`` that says ``deprecated: true``."""
    if isinstance(node, dict):
        if node.get("deprecated") is True:
            yield id(node)
        for value in node.values():
            yield from _marked(value)
    elif isinstance(node, list):
        for value in node:
            yield from _marked(value)


def _ref(doc: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj:
        obj = doc["components"]["schemas"][obj["$ref"].rsplit("/", 1)[1]]
    return obj


def _schemas(doc: dict[str, Any], op: dict[str, Any], side: str) -> list[dict[str, Any]]:
    """The request (or 2xx response) schemas of ``op``, and of a page's items."""
    if side == "request":
        contents = [op.get("requestBody", {}).get("content", {})]
    else:
        contents = [r.get("content", {}) for s, r in op["responses"].items() if s[0] == "2"]
    found = [_ref(doc, media["schema"]) for c in contents for media in c.values()]
    items = [s.get("properties", {}).get("items", {}).get("items") for s in found]
    return found + [_ref(doc, i) for i in items if isinstance(i, dict)]


def declared(doc: dict[str, Any]) -> tuple[set[tuple[str, str, str]], set[int]]:
    """Read the marks back as ``(kind, target, sunset)``; also the ids of the marked objects."""
    found: set[tuple[str, str, str]] = set()
    seen: set[int] = set()

    def note(kind: str, target: str, node: dict[str, Any]) -> None:
        if node.get("deprecated") is True:
            found.add((kind, target, node["x-sunset"]))
            seen.add(id(node))

    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path.removeprefix(BASE)}"
            note("route", where, op)
            for param in op.get("parameters", []):
                note("query_parameter", f"{where} query:{param.get('name')}", param)
            for side in ("request", "response"):
                for schema in _schemas(doc, op, side):
                    for name, prop in schema.get("properties", {}).items():
                        note(f"{side}_field", f"{where} {side}:{name}", prop)
    return found, seen


def mismatches(doc: dict[str, Any], registry: Iterable[Deprecation]) -> list[str]:
    """Return every difference between the document's marks and the registry's REST entries:
    each entry marked, nothing else marked, and nothing a removed entry names described."""
    registry = tuple(registry)
    marks, seen = declared(doc)
    expected = {
        (e.kind.value, e.target, e.sunset_at.isoformat())
        for e in registry
        if e.kind in REST_KINDS and not e.removed
    }
    problems = [f"not marked: {m}" for m in sorted(expected - marks)]
    problems += [f"marked, not in the registry: {m}" for m in sorted(marks - expected)]
    if set(_marked(doc)) - seen:
        problems.append("a deprecated mark outside operations, parameters and their properties")
    return problems + [f"removed, still described: {e.target}" for e in leftovers(doc, registry)]


def leftovers(doc: dict[str, Any], registry: Iterable[Deprecation]) -> list[Deprecation]:
    """Return the removed REST entries whose operation, parameter or property ``doc`` has."""
    found = []
    for entry in registry:
        route = entry.rest_route() if entry.removed else None
        op = doc["paths"].get(BASE + route[1], {}).get(route[0].lower()) if route else None
        if op is None:
            continue
        if entry.kind == Kind.ROUTE:
            names = {None}
        elif entry.kind == Kind.QUERY_PARAMETER:
            names = {p.get("name") for p in op.get("parameters", [])}
        else:
            side = "request" if entry.kind == Kind.REQUEST_FIELD else "response"
            names = {n for schema in _schemas(doc, op, side) for n in schema.get("properties", {})}
        if entry.member() in names:
            found.append(entry)
    return found


async def test_the_served_document_marks_exactly_the_test_registry(deprecated: Api) -> None:
    doc = (await deprecated.get("/openapi.json")).body
    assert mismatches(doc, TEST_REGISTRY) == []
    op = doc["paths"][f"{BASE}/_test/deprecated"]["get"]
    assert (op["deprecated"], op["x-sunset"]) == (True, "2027-12-01")
    assert set(HEADERS) <= set(op["responses"]["400"]["headers"])
    OPENAPI_31_VALIDATOR.validate(doc)


async def test_the_served_document_leaves_out_what_was_removed(deprecated: Api) -> None:
    doc = (await deprecated.get("/openapi.json")).body
    assert f"{BASE}/_test/removed" not in doc["paths"]
    me = doc["components"]["schemas"]["Me"]
    assert "client_id" not in me["properties"] and "client_id" not in me["required"]
    assert "latency_ms" not in doc["components"]["schemas"]["UsageEvent"]["properties"]
    create = doc["paths"][f"{BASE}/reminders"]["post"]
    assert set(HEADERS) <= set(create["responses"]["400"]["headers"])  # its refusal has them


async def test_the_production_document_marks_nothing_and_lists_the_registry(anon: Api) -> None:
    doc = (await anon.get("/openapi.json")).body
    assert mismatches(doc, REGISTRY) == []
    assert list(_marked(doc)) == []
    assert f"{BASE}/_test/deprecated" not in doc["paths"]
    assert doc["paths"][f"{BASE}/deprecations"]["get"]["security"] == []


def test_the_drift_check_fails_either_way_round() -> None:
    production, testing = app_document(), app_document(TEST_REGISTRY)
    assert mismatches(production, TEST_REGISTRY)[0].startswith("not marked: ")
    assert mismatches(testing, REGISTRY)[0].startswith("marked, not in the registry: ")
    assert [e.id for e in leftovers(production, TEST_REGISTRY)] == [
        "test-removed-response-field",
        "test-removed-item-field",
    ]
    revived = app_document(TEST_REGISTRY)
    revived["paths"][f"{BASE}/_test/removed"] = revived["paths"][f"{BASE}/_test/deprecated"]
    assert mismatches(revived, TEST_REGISTRY)[-1] == "removed, still described: GET /_test/removed"
    stray = app_document(TEST_REGISTRY)
    stray["components"]["schemas"]["Problem"]["deprecated"] = True
    assert mismatches(stray, TEST_REGISTRY)[-1].startswith("a deprecated mark outside")


# ----------------------------------------------------------------------------- a bad registry
def _bad(kind: Kind, target: str) -> tuple[Deprecation, ...]:
    return (Deprecation("bad", kind, target, date(2026, 12, 1), date(2027, 12, 1), None),)


@pytest.mark.parametrize(
    ("kind", "target", "problem"),
    [
        (Kind.ROUTE, "GET /nowhere", "no route GET /nowhere"),
        (Kind.ROUTE, "DELETE /me", "no route DELETE /me"),
        (Kind.QUERY_PARAMETER, "GET /reminders query:colour", "no query parameter 'colour'"),
        (Kind.REQUEST_FIELD, "POST /reminders request:colour", "no property 'colour'"),
        (Kind.RESPONSE_FIELD, "GET /policy response:colour", "no property 'colour'"),
        (Kind.EVENT_TYPE, "reminder.exploded", "no event type"),
    ],
)
def test_a_target_naming_nothing_is_refused(
    dc: Dialcues, offloader: Offloader, kind: Kind, target: str, problem: str
) -> None:
    with pytest.raises(InvalidRegistry, match=problem):
        create_app(dc, offloader, deprecations=_bad(kind, target))


def test_a_short_notice_is_refused_when_the_app_is_built(
    dc: Dialcues, offloader: Offloader
) -> None:
    short = dataclasses.replace(TEST_ROUTE, sunset_at=date(2027, 11, 30))
    with pytest.raises(InvalidRegistry, match="less than 12 months"):
        create_app(dc, offloader, deprecations=(short,))
