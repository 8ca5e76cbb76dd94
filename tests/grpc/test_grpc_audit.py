"""``AuditService.ListAuditEvents``: REST's ``GET /audit/events`` over gRPC (responsible-calling.md
§16, §18): the same events field by field, the same filters, both paging styles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, timestamp_pb2
from grpc_support import Rest, Server, Stubs, fails
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.kernel.scopes import ALL_SCOPES
from dialcues_core.testing import FakeClock
from dialcues_grpc._pb.dialcues.v1 import audit_pb2, common_pb2

A = audit_pb2
START = datetime(2026, 3, 25, 13, 0, 31, 207_654, tzinfo=UTC)
"""The clock of the first event (a fraction: times keep their milliseconds)."""


@pytest.fixture
def clock() -> FakeClock:
    """The platform's clock: it moves only when a test says so."""
    return FakeClock(START)


@pytest.fixture
def dc(sqlite_url: str, clock: FakeClock) -> Iterator[Dialcues]:
    """The platform on a fake clock (overrides the shared ``dc``)."""
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=clock)
    yield platform
    platform.close()


@pytest.fixture
def trail(dc: Dialcues, clock: FakeClock, tenant: Tenant) -> list[str]:
    """Five events of the tenant's organization a minute apart (ids oldest first), and one of
    another organization."""
    org = tenant.org.id
    recorded = [
        (
            "policy.updated",
            Actor("admin", "ops-jane"),
            ("organization", org),
            {"changed": {"caller_name": {"from": None, "to": "Acme"}}},
        ),
        (
            "calling_window.bypassed",
            Actor("api_key", "key_5tsPa", tenant.user.id),
            ("reminder", "41"),
            {"reason": "Asked for a 06:30 wake-up call"},
        ),
        (
            "suppression.created",
            Actor("recipient", 812),
            ("phone_number", "+14155550009"),
            {"reason": "opt_out_keypress", "source": {"type": "execution", "id": 812}},
        ),
        (
            "consent.created",
            Actor("oauth_client", "cli_9", tenant.user.id),
            ("consent", "cns_Z"),
            {"type": "express", "purpose": "informational"},
        ),
        (
            "suppression.removed",
            Actor("system"),
            ("phone_number", "+14155550009"),
            {"consent_id": "cns_Z", "nested": [1, 2.5, True, None, "x"]},
        ),
    ]
    ids = []
    for action, actor, subject, detail in recorded:
        ids.append(dc.audit.record(org, action, actor, subject, detail).id)
        clock.advance(60)
    other = make_tenant(dc)
    dc.audit.record(other.org.id, "policy.updated", Actor("admin", "x"), ("organization", "o"), {})
    return ids


def at(minutes: int) -> timestamp_pb2.Timestamp:
    """The instant ``minutes`` after the first event."""
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(START + timedelta(minutes=minutes))
    return ts


def millis_text(ts: timestamp_pb2.Timestamp) -> str:
    """Return a Timestamp as REST renders a millisecond time."""
    return ts.ToDatetime(tzinfo=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor_json(actor: common_pb2.Actor) -> dict[str, Any]:
    """Return an Actor in REST's shape: the id a string, an integer or null."""
    which = actor.WhichOneof("actor_id")
    return {
        "type": actor.type,
        "id": getattr(actor, which) if which else None,
        "user_id": actor.user_id if actor.HasField("user_id") else None,
    }


def event_json(event: A.AuditEvent) -> dict[str, Any]:
    """Return an AuditEvent in REST's shape (written apart from the edge)."""
    return {
        "id": event.id,
        "occurred_at": millis_text(event.occurred_at),
        "organization_id": event.organization_id,
        "action": event.action,
        "actor": actor_json(event.actor),
        "subject": {"type": event.subject.type, "id": event.subject.id},
        "detail": json_format.MessageToDict(event.detail),
        "request_id": event.request_id if event.HasField("request_id") else None,
    }


async def listing(api: Stubs, **fields: Any) -> A.ListAuditEventsResponse:
    """Run ListAuditEvents with the tenant's key."""
    request = A.ListAuditEventsRequest(**fields)
    return await api.audit.ListAuditEvents(request, metadata=api.md)


async def ids_of(api: Stubs, **fields: Any) -> list[str]:
    """Return the ids ListAuditEvents lists with ``fields``."""
    return [e.id for e in (await listing(api, **fields)).items]


# ----------------------------------------------------------------------------- the tests
async def test_the_events_equal_the_rest_body(api: Stubs, rest: Rest, trail: list[str]) -> None:
    found = await listing(api)
    body = await rest.get("/audit/events")
    assert [event_json(e) for e in found.items] == body["items"]
    page = {k: getattr(found, k) for k in ("total", "page", "page_size", "total_pages")}
    assert page == {k: body[k] for k in page}
    assert [e["id"] for e in body["items"]] == trail[::-1]


async def test_an_integer_actor_id_is_an_execution_id(api: Stubs, trail: list[str]) -> None:
    (event,) = (await listing(api, action="suppression.created")).items
    assert (event.actor.WhichOneof("actor_id"), event.actor.execution_id) == ("execution_id", 812)
    (system,) = (await listing(api, action="suppression.removed")).items
    assert system.actor.WhichOneof("actor_id") is None


@pytest.mark.parametrize(
    ("fields", "picked"),
    [
        ({"action": "suppression.created"}, [2]),
        ({"subject_type": "phone_number"}, [4, 2]),
        ({"subject_type": "phone_number", "subject_id": "+14155550009"}, [4, 2]),
        ({"subject_id": "41"}, [1]),
        ({"date_from": at(1), "date_to": at(3)}, [2, 1]),  # date_to is exclusive
        ({"date_from": at(4)}, [4]),
        ({"action": "policy.updated", "date_from": at(1)}, []),
    ],
    ids=["action", "subject_type", "subject", "subject_id", "dates", "date_from", "none"],
)
async def test_the_filters_pick_the_events_rest_picks(
    api: Stubs, rest: Rest, trail: list[str], fields: dict[str, Any], picked: list[int]
) -> None:
    assert await ids_of(api, **fields) == [trail[i] for i in picked]
    query = {k: v if isinstance(v, str) else millis_text(v) for k, v in fields.items()}
    assert [e["id"] for e in (await rest.get("/audit/events", **query))["items"]] == [
        trail[i] for i in picked
    ]


async def test_page_numbers_page_newest_first(api: Stubs, trail: list[str]) -> None:
    second = await listing(api, page=2, page_size=2)
    assert [e.id for e in second.items] == [trail[2], trail[1]]
    assert (second.total, second.page, second.page_size, second.total_pages) == (5, 2, 2, 3)


async def test_page_tokens_walk_every_event_once(api: Stubs, trail: list[str]) -> None:
    seen: list[str] = []
    reply = await listing(api, page_size=2)
    while True:
        seen += [e.id for e in reply.items]
        if not reply.next_page_token:
            break
        reply = await listing(api, page_token=reply.next_page_token)
    assert seen == trail[::-1]


async def test_a_page_token_is_refused_with_other_filters(api: Stubs, trail: list[str]) -> None:
    token = (await listing(api, page_size=2)).next_page_token
    failed = await fails(listing(api, page_token=token, action="policy.updated"))
    assert (failed.code, set(failed.violations)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        {"page_token"},
    )


async def test_bad_filters_are_invalid_argument_naming_each(api: Stubs) -> None:
    failed = await fails(listing(api, action="nope", subject_type="planet", page_size=500))
    assert (failed.code, failed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "validation_error")
    assert set(failed.violations) == {"action", "subject_type", "page_size"}


async def test_list_audit_events_needs_the_audit_read_scope(
    server: Server, dc: Dialcues, tenant: Tenant
) -> None:
    scopes = [s for s in ALL_SCOPES if s != "audit:read"]
    stubs = server.stubs(dc.accounts.create_api_key(tenant.user.id, scopes=scopes).raw)
    failed = await fails(listing(stubs))
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope")
    assert failed.metadata == {"scope": "audit:read"}
