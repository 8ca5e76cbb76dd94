"""A test deprecation registry: one entry of each kind, the test-only route among them.

Production's registry is empty (``telephony.md`` §5.2); the suites build their servers with
this one to see every edge apply it. Every entry is announced 2026-12-01 with a sunset
exactly 12 calendar months later, except ``test-query`` (2026-06-15 → 2027-06-30), so that
a reply using both shows the earliest of each date.
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
)
