"""The OpenAPI document: generated from the route table, served, checked in, valid 3.1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from dialcues_rest.openapi import app_document, check_coverage, document, to_yaml
from dialcues_rest.openapi_parts import PROBLEM_JSON
from dialcues_rest.operations import OPERATIONS
from dialcues_rest.routes import BASE, ROUTES, Route
from rest.support import Api

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "docs" / "public-api.openapi.yaml"
MUTATING = {"post", "patch", "delete"}


def _operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, op) for path, item in doc["paths"].items() for method, op in item.items()
    ]


def test_every_route_has_metadata_and_every_metadata_a_route() -> None:
    routes = {(route.method, route.path) for route in ROUTES}
    assert routes == set(OPERATIONS)


def test_a_route_without_metadata_cannot_be_documented() -> None:
    extra = (*ROUTES, Route("GET", f"{BASE}/undocumented", ROUTES[0].handler))
    with pytest.raises(LookupError, match="undocumented"):
        document(extra, OPERATIONS)


def test_metadata_without_a_route_is_refused() -> None:
    with pytest.raises(LookupError, match="metadata without route"):
        check_coverage([], OPERATIONS)


def test_checked_in_document_is_the_generated_one(tmp_path: Path) -> None:
    out = tmp_path / "openapi.yaml"
    script = ROOT / "scripts" / "gen_openapi.py"
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True, timeout=60)
    assert CHECKED_IN.read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        "docs/public-api.openapi.yaml is stale: run .venv/bin/python scripts/gen_openapi.py"
    )


def test_document_is_valid_openapi_3_1() -> None:
    doc = app_document()
    assert doc["openapi"] == "3.1.0"
    OPENAPI_31_VALIDATOR.validate(doc)


def test_the_validator_refuses_a_broken_document() -> None:
    doc = app_document()
    doc["paths"][f"{BASE}/me"]["get"]["responses"] = "not an object"
    assert not OPENAPI_31_VALIDATOR.is_valid(doc)


def test_every_route_of_the_table_is_a_path_of_the_document() -> None:
    documented = {(m.upper(), p) for m, p, _ in _operations(app_document())}
    assert documented == {(route.method, route.path) for route in ROUTES}


def test_every_response_declares_the_request_id_header() -> None:
    doc = app_document()
    for method, path, op in _operations(doc):
        for status, response in op["responses"].items():
            response = _resolve(doc, response)
            assert "X-Request-Id" in response["headers"], (method, path, status)


def test_contract_errors_come_in_both_media_types() -> None:
    doc = app_document()
    for method, path, op in _operations(doc):
        for status, response in op["responses"].items():
            if int(status) < 400 or "$ref" not in response:
                continue
            media = set(_resolve(doc, response)["content"])
            assert media == {"application/json", PROBLEM_JSON}, (method, path, status)


def test_authenticated_operations_declare_401_and_public_ones_need_no_credential() -> None:
    for method, path, op in _operations(app_document()):
        if op.get("security") == []:
            public = {"/healthz", "/api/oauth/token", f"{BASE}/openapi.json"}
            assert path in public | {f"{BASE}/deprecations"}
        else:
            assert {"400", "401", "429", "500"} <= set(op["responses"]), (method, path)


def test_mutating_operations_take_an_idempotency_key_and_may_conflict() -> None:
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    exempt = {("post", "/api/oauth/token"), ("post", f"{BASE}/agent/smoke")}
    for method, path, op in _operations(app_document()):
        if method in MUTATING and (method, path) not in exempt:
            assert ref in op["parameters"], (method, path)
            assert "409" in op["responses"], (method, path)


def test_rate_limited_replies_carry_retry_after() -> None:
    headers = app_document()["components"]["responses"]["TooManyRequests"]["headers"]
    assert headers["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert app_document()["components"]["headers"]["Retry-After"]["required"] is True


def test_the_token_endpoints_429_is_in_oauths_shape() -> None:
    refusal = app_document()["paths"]["/api/oauth/token"]["post"]["responses"]["429"]
    schema = refusal["content"]["application/json"]["schema"]
    assert set(refusal["content"]) == {"application/json"}
    assert schema["properties"]["error"] == {"const": "rate_limited"}
    assert set(schema["required"]) == {"error", "error_description"}
    assert refusal["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
    assert "X-RateLimit-Remaining" in refusal["headers"]


def test_routes_that_read_no_fields_still_declare_413() -> None:
    paths = app_document()["paths"]
    subscription = f"{BASE}/webhooks/subscriptions/{{id}}"
    for method, path in [
        ("delete", f"{BASE}/reminders/{{id}}"),
        ("delete", subscription),
        ("post", f"{subscription}/rotate-secret"),
    ]:
        assert "413" in paths[path][method]["responses"], (method, path)


def test_the_number_search_is_routed_before_a_number() -> None:
    order = [route.path for route in ROUTES]
    assert order.index(f"{BASE}/numbers/search") < order.index(f"{BASE}/numbers/{{number}}")
    paths = list(app_document()["paths"])
    assert paths.index(f"{BASE}/numbers/search") < paths.index(f"{BASE}/numbers/{{number}}")


def test_the_number_routes_declare_their_statuses() -> None:
    paths = app_document()["paths"]
    number = f"{BASE}/numbers/{{number}}"
    expected = {
        ("get", f"{BASE}/numbers/search"): {"200", "400", "503"},
        ("post", f"{BASE}/numbers/hold"): {"200", "201", "400", "409", "503"},
        ("get", f"{BASE}/numbers"): {"200", "400"},
        ("get", number): {"200", "404"},
        ("post", f"{number}/hold/extend"): {"200", "400", "404", "409", "413", "503"},
        ("delete", f"{number}/hold"): {"204", "400", "404", "409", "413"},
        ("post", f"{number}/assign"): {"202", "400", "404", "409", "413"},
        ("post", f"{number}/release"): {"202", "400", "404", "409", "413"},
        ("get", f"{BASE}/lines/{{id}}"): {"200", "404"},
        ("patch", f"{BASE}/lines/{{id}}"): {"200", "400", "404", "409", "413"},
        ("post", f"{BASE}/calls/inbound/answer"): {"200", "400", "404", "409", "413"},
    }
    for (method, path), statuses in expected.items():
        assert statuses <= set(paths[path][method]["responses"]), (method, path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/numbers/search"),
        ("post", "/numbers/hold"),
        ("post", "/numbers/{number}/hold/extend"),
    ],
)
def test_carrier_unavailable_may_say_retry_after(method: str, path: str) -> None:
    refusal = app_document()["paths"][f"{BASE}{path}"][method]["responses"]["503"]
    assert "`carrier_unavailable`" in refusal["description"]
    assert refusal["headers"]["Retry-After"] == {
        "$ref": "#/components/headers/Retry-After-Optional"
    }
    assert set(refusal["content"]) == {"application/json", PROBLEM_JSON}


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("post", "/numbers/hold", ["number_held", "number_unavailable", "hold_limit_reached"]),
        ("post", "/numbers/{number}/hold/extend", ["hold_expired"]),
        ("post", "/numbers/{number}/assign", ["hold_expired"]),
        ("post", "/calls/inbound/answer", ["call_already_answered"]),
    ],
)
def test_the_new_conflicts_are_described_beside_the_idempotency_ones(
    method: str, path: str, codes: list[str]
) -> None:
    conflict = app_document()["paths"][f"{BASE}{path}"][method]["responses"]["409"]
    for code in ["idempotency_mismatch", "idempotency_in_progress", *codes]:
        assert f"`{code}`" in conflict["description"], (path, code)
    assert "Retry-After" in conflict["headers"]


def test_provider_not_configured_is_a_described_400() -> None:
    paths = app_document()["paths"]
    for path in ("/numbers/hold", "/numbers/{number}/hold/extend", "/numbers/{number}/assign"):
        bad = paths[f"{BASE}{path}"]["post"]["responses"]["400"]
        assert "`provider_not_configured`" in bad["description"], path


def test_a_line_route_is_a_union_discriminated_on_its_type() -> None:
    schemas = app_document()["components"]["schemas"]
    shown = schemas["Line"]["properties"]["route"]["anyOf"][0]
    written = schemas["UpdateLine"]["properties"]["route"]["anyOf"][0]
    types = {"reminders_readback", "assistant", "transfer", "message", "reject", "external"}
    for union in (shown, written):
        assert union["discriminator"]["propertyName"] == "type"
        assert set(union["discriminator"]["mapping"]) == types
        assert len(union["oneOf"]) == len(types)


def test_a_decided_route_is_never_external() -> None:
    schemas = app_document()["components"]["schemas"]
    answer = schemas["AnswerInboundCall"]["properties"]["route"]
    executed = schemas["Execution"]["properties"]["route"]["anyOf"][0]
    fallback = schemas["ExternalRouteShown"]["properties"]["fallback"]
    for union in (answer, executed, fallback):
        assert "external" not in union["discriminator"]["mapping"]


def test_executions_can_be_listed_by_direction() -> None:
    listing = app_document()["paths"][f"{BASE}/executions"]["get"]
    direction = next(p for p in listing["parameters"] if p.get("name") == "direction")
    assert direction["schema"]["enum"] == ["outbound", "inbound"]


def test_the_number_search_requires_a_country() -> None:
    search = app_document()["paths"][f"{BASE}/numbers/search"]["get"]
    country = next(p for p in search["parameters"] if p["name"] == "country")
    assert country["required"] is True


def test_the_yaml_is_stable() -> None:
    assert to_yaml(app_document()) == to_yaml(app_document())


async def test_the_document_is_served_without_a_credential(anon: Api) -> None:
    reply = await anon.get("/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.body == json.loads(json.dumps(app_document()))


async def test_the_document_refuses_query_parameters(anon: Api) -> None:
    reply = await anon.get("/openapi.json", params={"x": "1"})
    assert reply.status == 400
    assert reply.code == "validation_error"


def _resolve(doc: dict, obj: dict) -> dict:
    while "$ref" in obj:
        node = doc
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        obj = node
    return obj
