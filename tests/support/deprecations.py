"""A test deprecation registry: one entry of each kind, the test-only route among them.

Production's registry is empty (``telephony.md`` §5.2); the suites build their servers with
this one to see every edge apply it. Every entry is announced 2026-12-01 with a sunset
exactly 12 calendar months later, except ``test-query`` (2026-06-15 → 2027-06-30), so that
a reply using both shows the earliest of each date.

Then one ``removed`` entry of each kind (§5.1: after the sunset): nothing may be removed
before its sunset, so these were announced 2024-01-01 and sunset 2025-01-01, both past.
``GET /_test/removed`` is a route that exists only as this entry (the app serves it only to
answer ``gone``); ``voice`` is a request field the reminders no longer take, and
``client_id`` of ``GET /me`` and ``latency_ms`` of a usage event are response fields no
longer sent. On gRPC, ``ListExecutions`` is removed, ``ListRemindersRequest.search`` refused
and ``WhoAmIResponse.api_key_id`` no longer sent.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from dialcues_core.deprecations import Deprecation, Kind

ANNOUNCED: Final = date(2026, 12, 1)
SUNSET: Final = date(2027, 12, 1)
DEPRECATION_HEADER: Final = "@1796083200"
"""``Deprecation`` of ``ANNOUNCED``: 2026-12-01T00:00:00Z in Unix seconds."""
SUNSET_HEADER: Final = "Wed, 01 Dec 2027 00:00:00 GMT"


def _entry(id_: str, kind: Kind, target: str, replacement: str | None = None) -> Deprecation:
    return Deprecation(id_, kind, target, ANNOUNCED, SUNSET, replacement)


TEST_ROUTE: Final = _entry("test-route", Kind.ROUTE, "GET /_test/deprecated", "GET /health")
TEST_QUERY: Final = Deprecation(
    "test-query",
    Kind.QUERY_PARAMETER,
    "GET /reminders query:search",
    date(2026, 6, 15),
    date(2027, 6, 30),
    None,
)
TEST_REQUEST_FIELD: Final = _entry(
    "test-request-field", Kind.REQUEST_FIELD, "POST /reminders request:message"
)
TEST_RESPONSE_FIELD: Final = _entry(
    "test-response-field", Kind.RESPONSE_FIELD, "GET /policy response:inherited"
)
TEST_ITEM_FIELD: Final = _entry(
    "test-item-field", Kind.RESPONSE_FIELD, "GET /audit/events response:detail"
)
TEST_EVENT: Final = _entry("test-event", Kind.EVENT_TYPE, "execution.skipped")
TEST_RPC: Final = _entry(
    "test-rpc", Kind.RPC, "/dialcues.v1.IdentityService/WhoAmI", "GET /api/public/v1/me"
)
TEST_RPC_FIELD: Final = _entry(
    "test-rpc-field", Kind.RPC_FIELD, "dialcues.v1.ListUsageEventsRequest.code"
)
TEST_RPC_RESPONSE_FIELD: Final = _entry(
    "test-rpc-response-field", Kind.RPC_FIELD, "dialcues.v1.CallingPolicy.inherited"
)

REMOVED_ANNOUNCED: Final = date(2024, 1, 1)
REMOVED_SUNSET: Final = date(2025, 1, 1)
REMOVED_DEPRECATION_HEADER: Final = "@1704067200"
"""``Deprecation`` of ``REMOVED_ANNOUNCED``: 2024-01-01T00:00:00Z in Unix seconds."""
REMOVED_SUNSET_HEADER: Final = "Wed, 01 Jan 2025 00:00:00 GMT"


def _removed(id_: str, kind: Kind, target: str, replacement: str | None = None) -> Deprecation:
    return Deprecation(id_, kind, target, REMOVED_ANNOUNCED, REMOVED_SUNSET, replacement, True)


REMOVED_ROUTE: Final = _removed(
    "test-removed-route", Kind.ROUTE, "GET /_test/removed", "GET /_test/deprecated"
)
REMOVED_QUERY: Final = _removed(
    "test-removed-query", Kind.QUERY_PARAMETER, "GET /_test/deprecated query:legacy"
)
REMOVED_REQUEST_FIELD: Final = _removed(
    "test-removed-request-field", Kind.REQUEST_FIELD, "POST /reminders request:voice"
)
REMOVED_RESPONSE_FIELD: Final = _removed(
    "test-removed-response-field", Kind.RESPONSE_FIELD, "GET /me response:client_id"
)
REMOVED_ITEM_FIELD: Final = _removed(
    "test-removed-item-field", Kind.RESPONSE_FIELD, "GET /usage/events response:latency_ms"
)
REMOVED_EVENT: Final = _removed("test-removed-event", Kind.EVENT_TYPE, "suppression.created")
REMOVED_RPC: Final = _removed(
    "test-removed-rpc", Kind.RPC, "/dialcues.v1.ExecutionService/ListExecutions"
)
REMOVED_RPC_FIELD: Final = _removed(
    "test-removed-rpc-field", Kind.RPC_FIELD, "dialcues.v1.ListRemindersRequest.search"
)
REMOVED_RPC_RESPONSE_FIELD: Final = _removed(
    "test-removed-rpc-response-field", Kind.RPC_FIELD, "dialcues.v1.WhoAmIResponse.api_key_id"
)

TEST_REGISTRY: Final = (
    TEST_ROUTE,
    TEST_QUERY,
    TEST_REQUEST_FIELD,
    TEST_RESPONSE_FIELD,
    TEST_ITEM_FIELD,
    TEST_EVENT,
    TEST_RPC,
    TEST_RPC_FIELD,
    TEST_RPC_RESPONSE_FIELD,
    REMOVED_ROUTE,
    REMOVED_QUERY,
    REMOVED_REQUEST_FIELD,
    REMOVED_RESPONSE_FIELD,
    REMOVED_ITEM_FIELD,
    REMOVED_EVENT,
    REMOVED_RPC,
    REMOVED_RPC_FIELD,
    REMOVED_RPC_RESPONSE_FIELD,
)
