"""Deprecations over gRPC (``telephony.md`` §5.2), against a real server.

``DeprecationService.ListDeprecations`` lists the registry without a credential; a call that
uses an entry carries ``deprecation``, ``sunset`` and ``link`` as initial metadata (errors
included) and its usage event says ``deprecated``; the proto's ``deprecated`` options agree
with the registry. After the sunset (the test registry's removed entries), a removed RPC
answers UNIMPLEMENTED with reason ``gone``, a removed request field is refused and a removed
response field is no longer sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_support import ServeFn, Server, Stubs, fails, failure
from support.deprecations import (
    DEPRECATION_HEADER,
    REMOVED_DEPRECATION_HEADER,
    REMOVED_SUNSET_HEADER,
    SUNSET_HEADER,
    TEST_REGISTRY,
)
from support.platform import Tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import UsageEventRow
from dialcues_core.config import RateLimit
from dialcues_core.deprecations import GRPC_KINDS, REGISTRY, Deprecation, InvalidRegistry, Kind
from dialcues_core.offload import Offloader
from dialcues_grpc import deprecations
from dialcues_grpc._pb.dialcues.v1 import (
    deprecations_pb2,
    deprecations_pb2_grpc,
    executions_pb2,
    identity_pb2,
    policy_pb2,
    reminders_pb2,
    usage_pb2,
    usage_pb2_grpc,
)

WHO_AM_I = "/dialcues.v1.IdentityService/WhoAmI"
LIST_EXECUTIONS = "/dialcues.v1.ExecutionService/ListExecutions"
LIST_REMINDERS = "/dialcues.v1.ReminderService/ListReminders"
KEYS = ("deprecation", "sunset", "link")


@pytest.fixture
async def deprecated(serve: ServeFn) -> Server:
    """A server built with the test registry (no admin services)."""
    return await serve(None, deprecations=TEST_REGISTRY)


@pytest.fixture
def api(deprecated: Server, tenant: Tenant) -> Stubs:
    """Stubs of the test-registry server acting with the tenant's key."""
    return deprecated.stubs(tenant.api_key)


def announced(metadata: Any) -> dict[str, str]:
    """Return the deprecation entries of a call's initial metadata."""
    return {key: value for key, value in metadata or () if key in KEYS}


def links(metadata: Any) -> set[str]:
    """Return the ids of the changelog entries the ``link`` metadata names."""
    value = announced(metadata).get("link", "")
    return {part.split("#")[1].split(">")[0] for part in value.split(", ") if part}


async def initial(call: Any) -> Any:
    """Await a call that succeeds; return its initial metadata."""
    await call
    return await call.initial_metadata()


# ----------------------------------------------------------------------------- ListDeprecations
async def test_the_registry_is_listed_without_a_credential(deprecated: Server) -> None:
    stub = deprecations_pb2_grpc.DeprecationServiceStub(deprecated.stubs(None).channel)
    reply = await stub.ListDeprecations(deprecations_pb2.ListDeprecationsRequest())
    assert (reply.policy.minimum_notice_months, reply.policy.changelog) == (
        12,
        "https://dialcues.dev/changelog",
    )
    assert [item.id for item in reply.items] == [e.id for e in TEST_REGISTRY]
    first = reply.items[0]
    assert (first.kind, first.target, first.announced_at, first.sunset_at) == (
        "route",
        "GET /_test/deprecated",
        "2026-12-01",
        "2027-12-01",
    )
    assert (first.replacement, first.removed) == ("GET /health", False)
    assert not reply.items[2].HasField("replacement")


async def test_production_lists_an_empty_registry(server: Server) -> None:
    stub = deprecations_pb2_grpc.DeprecationServiceStub(server.stubs(None).channel)
    reply = await stub.ListDeprecations(deprecations_pb2.ListDeprecationsRequest())
    assert list(reply.items) == [] and reply.policy.minimum_notice_months == 12


# ----------------------------------------------------------------------------- metadata
async def test_a_deprecated_rpc_carries_the_three_headers(api: Stubs) -> None:
    call = api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=api.md)
    metadata = await initial(call)
    assert announced(metadata) == {
        "deprecation": DEPRECATION_HEADER,
        "sunset": SUNSET_HEADER,
        "link": '<https://dialcues.dev/changelog#test-rpc>; rel="deprecation"; type="text/html"',
    }
    assert any(key == "x-request-id" for key, _ in metadata)


async def test_its_error_carries_them_too(deprecated: Server) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await deprecated.stubs(None).identity.WhoAmI(identity_pb2.WhoAmIRequest())
    assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert links(caught.value.initial_metadata()) == {"test-rpc"}


async def test_other_rpcs_carry_none(api: Stubs) -> None:
    call = api.reminders.ListReminders(reminders_pb2.ListRemindersRequest(), metadata=api.md)
    assert announced(await initial(call)) == {}


async def test_a_deprecated_request_field_counts_only_when_set(api: Stubs) -> None:
    usage = usage_pb2_grpc.UsageServiceStub(api.channel)
    plain = usage.ListUsageEvents(usage_pb2.ListUsageEventsRequest(), metadata=api.md)
    assert announced(await initial(plain)) == {}
    coded = usage.ListUsageEvents(usage_pb2.ListUsageEventsRequest(code="x"), metadata=api.md)
    assert links(await initial(coded)) == {"test-rpc-field"}


async def test_a_deprecated_response_field_marks_every_call_of_its_rpc(api: Stubs) -> None:
    call = api.policy.GetPolicy(policy_pb2.GetPolicyRequest(), metadata=api.md)
    assert links(await initial(call)) == {"test-rpc-response-field"}


# ----------------------------------------------------------------------------- after the sunset
async def test_a_removed_rpc_answers_unimplemented_gone_naming_its_entry(api: Stubs) -> None:
    call = api.executions.ListExecutions(executions_pb2.ListExecutionsRequest(), metadata=api.md)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    refused = failure(caught.value)
    assert (refused.code, refused.reason, refused.domain) == (
        grpc.StatusCode.UNIMPLEMENTED,
        "gone",
        "dialcues",
    )
    assert refused.metadata == {"deprecation": "test-removed-rpc"}
    assert "ListDeprecations" in refused.message
    assert announced(caught.value.initial_metadata()) == {
        "deprecation": REMOVED_DEPRECATION_HEADER,
        "sunset": REMOVED_SUNSET_HEADER,
        "link": '<https://dialcues.dev/changelog#test-removed-rpc>; rel="deprecation"; '
        'type="text/html"',
    }


async def test_a_removed_rpc_still_asks_for_a_credential_first(deprecated: Server) -> None:
    anonymous = deprecated.stubs(None).executions
    refused = await fails(anonymous.ListExecutions(executions_pb2.ListExecutionsRequest()))
    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "unauthorized")


async def test_the_rpc_works_on_a_server_without_the_entry(server: Server, tenant: Tenant) -> None:
    stubs = server.stubs(tenant.api_key)
    page = await stubs.executions.ListExecutions(
        executions_pb2.ListExecutionsRequest(), metadata=stubs.md
    )
    assert list(page.items) == []


async def test_a_removed_request_field_is_refused_as_no_longer_supported(api: Stubs) -> None:
    plain = api.reminders.ListReminders(reminders_pb2.ListRemindersRequest(), metadata=api.md)
    assert announced(await initial(plain)) == {}
    searching = reminders_pb2.ListRemindersRequest(search="stand")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.reminders.ListReminders(searching, metadata=api.md)
    refused = failure(caught.value)
    assert (refused.code, refused.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "validation_error",
    )
    assert refused.violations == {"search": "is no longer supported"}
    assert links(caught.value.initial_metadata()) == {"test-removed-rpc-field"}


async def test_a_removed_response_field_is_no_longer_sent(api: Stubs, server: Server) -> None:
    call = api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=api.md)
    me = await call
    assert not me.HasField("api_key_id") and me.organization_id
    assert links(await call.initial_metadata()) == {"test-rpc"}  # the cleared field: unused
    production = server.stubs(api.token)
    other = await production.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=production.md)
    assert other.HasField("api_key_id")


async def test_a_gone_call_still_writes_its_usage_event(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    await fails(
        api.executions.ListExecutions(executions_pb2.ListExecutionsRequest(), metadata=api.md)
    )
    rows: list[dict[str, Any]] = []
    for _ in range(40):  # an event is queued as its call ends: just after the client's answer
        await grpc_offloader.run(dc.usage.flush)
        rows = list(UsageEventRow.select().dicts())
        if rows:
            break
    assert [(r["route"], r["status"], r["code"], bool(r["deprecated"])) for r in rows] == [
        (LIST_EXECUTIONS, grpc.StatusCode.UNIMPLEMENTED.value[0], "gone", True)
    ]


# ----------------------------------------------------------------------------- usage events
async def test_usage_events_say_which_calls_used_a_deprecation(
    api: Stubs, dc: Dialcues, grpc_offloader: Offloader
) -> None:
    await api.identity.WhoAmI(identity_pb2.WhoAmIRequest(), metadata=api.md)
    await api.reminders.ListReminders(reminders_pb2.ListRemindersRequest(), metadata=api.md)
    rows: list[dict[str, Any]] = []
    for _ in range(40):  # an event is queued as its call ends: just after the client's answer
        await grpc_offloader.run(dc.usage.flush)
        rows = list(UsageEventRow.select().order_by(UsageEventRow.id).dicts())
        if len(rows) == 2:
            break
    assert [(r["route"], bool(r["deprecated"])) for r in rows] == [
        (WHO_AM_I, True),
        (LIST_REMINDERS, False),
    ]
    usage = usage_pb2_grpc.UsageServiceStub(api.channel)
    page = await usage.ListUsageEvents(
        usage_pb2.ListUsageEventsRequest(deprecated=True), metadata=api.md
    )
    assert [(e.route, e.deprecated) for e in page.items] == [(WHO_AM_I, True)]


# ----------------------------------------------------------------------------- the proto
def proto_mismatches(
    registry: Iterable[Deprecation], marks: set[tuple[Kind, str]] | None = None
) -> list[str]:
    """Return every difference between the proto's ``deprecated`` options and the registry."""
    found = deprecations.declared() if marks is None else marks
    expected = {(e.kind, e.target) for e in registry if e.kind in GRPC_KINDS}
    return [f"not marked in proto/: {m}" for m in sorted(expected - found)] + [
        f"marked, not in the registry: {m}" for m in sorted(found - expected)
    ]


def test_the_protos_deprecated_options_are_the_production_registrys() -> None:
    assert proto_mismatches(REGISTRY) == []
    assert deprecations.declared() == set()  # production's registry is empty


def test_the_proto_check_fails_either_way_round() -> None:
    pool = descriptor_pool.DescriptorPool()
    proto = descriptor_pb2.FileDescriptorProto()
    _fill_marked(proto)
    pool.Add(proto)
    marks = deprecations.declared([pool.FindFileByName("t.proto")])
    assert marks == {(Kind.RPC, "/t.v1.S/Old"), (Kind.RPC_FIELD, "t.v1.M.old")}
    assert proto_mismatches(REGISTRY, marks) == [
        "marked, not in the registry: (<Kind.RPC: 'rpc'>, '/t.v1.S/Old')",
        "marked, not in the registry: (<Kind.RPC_FIELD: 'rpc_field'>, 't.v1.M.old')",
    ]
    assert proto_mismatches(TEST_REGISTRY)[0].startswith("not marked in proto/: ")


def _fill_marked(proto: descriptor_pb2.FileDescriptorProto) -> None:
    """Describe a file with one deprecated RPC and one deprecated field."""
    proto.name, proto.package, proto.syntax = "t.proto", "t.v1", "proto3"
    message = proto.message_type.add(name="M")
    message.field.add(name="old", number=1, type=9, label=1).options.deprecated = True
    message.field.add(name="new", number=2, type=9, label=1)
    service = proto.service.add(name="S")
    service.method.add(name="Old", input_type=".t.v1.M", output_type=".t.v1.M")
    service.method[0].options.deprecated = True
    service.method.add(name="New", input_type=".t.v1.M", output_type=".t.v1.M")


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (Kind.RPC, "/dialcues.v1.IdentityService/WhoWasI"),
        (Kind.RPC, "/dialcues.v1.NoService/WhoAmI"),
        (Kind.RPC_FIELD, "dialcues.v1.ListUsageEventsRequest.colour"),
    ],
)
async def test_a_target_naming_nothing_in_the_proto_is_refused(
    serve: ServeFn, kind: Kind, target: str
) -> None:
    bad = (Deprecation("bad", kind, target, TEST_REGISTRY[0].announced_at,
                       TEST_REGISTRY[0].sunset_at, None),)  # fmt: skip
    with pytest.raises(InvalidRegistry, match=r"bad: no (RPC|field) "):
        await serve(None, deprecations=bad)


# ----------------------------------------------------------------------------- rate limit
@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The platform with a small ``anon`` bucket (overrides the shared ``dc``)."""
    limits = {"read": RateLimit(1, 50), "write": RateLimit(1, 50), "anon": RateLimit(0.01, 2)}
    platform = Dialcues.open(settings=settings_for(sqlite_url, rate_limits=limits))
    yield platform
    platform.close()


async def test_listing_is_charged_to_the_peers_anon_bucket(deprecated: Server) -> None:
    stub = deprecations_pb2_grpc.DeprecationServiceStub(deprecated.stubs(None).channel)
    for _ in range(2):
        call = stub.ListDeprecations(deprecations_pb2.ListDeprecationsRequest())
        await call
        trailers = dict(await call.trailing_metadata())
        assert trailers["ratelimit-policy"].startswith('"anon"')
    refused = await fails(stub.ListDeprecations(deprecations_pb2.ListDeprecationsRequest()))
    assert (refused.code, refused.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "rate_limited",
    )
