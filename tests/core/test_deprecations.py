"""The deprecation registry's rules and renderings (``telephony.md`` §5), pure."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from support.deprecations import (
    REMOVED_QUERY,
    REMOVED_REQUEST_FIELD,
    REMOVED_ROUTE,
    TEST_QUERY,
    TEST_REGISTRY,
    TEST_ROUTE,
)

from dialcues_core.deprecations import (
    REGISTRY,
    Deprecation,
    InvalidRegistry,
    Kind,
    add_months,
    by_message,
    by_route,
    by_rpc,
    drop_fields,
    earliest_sunset,
    headers,
    item,
    listing,
    problems,
    removed_event_types,
    validate,
)
from dialcues_core.errors import ValidationFailed


def entry(announced: date, sunset: date, **changes: object) -> Deprecation:
    """A route entry announced and sunset on the given days."""
    base = Deprecation("old-route", Kind.ROUTE, "GET /me", announced, sunset, "GET /health")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the notice
def test_a_sunset_11_months_and_30_days_after_the_announcement_is_refused() -> None:
    # 2027-01-01 + 11 months = 2027-12-01, + 30 days = 2027-12-31: one day short.
    with pytest.raises(InvalidRegistry, match="less than 12 months") as caught:
        validate([entry(date(2027, 1, 1), date(2027, 12, 31))])
    assert "(earliest 2028-01-01)" in str(caught.value)


def test_a_sunset_exactly_12_calendar_months_after_passes() -> None:
    validate([entry(date(2027, 1, 1), date(2028, 1, 1))])
    validate([entry(date(2026, 12, 1), date(2028, 1, 15))])


def test_the_twelve_months_end_on_the_months_last_day_when_the_day_does_not_exist() -> None:
    assert earliest_sunset(date(2028, 2, 29)) == date(2029, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 8, 31), 12) == date(2027, 8, 31)
    validate([entry(date(2028, 2, 29), date(2029, 2, 28))])
    assert problems([entry(date(2028, 2, 29), date(2029, 2, 27))])


# ----------------------------------------------------------------------------- other rules
def test_repeated_ids_are_refused() -> None:
    one = entry(date(2026, 12, 1), date(2027, 12, 1))
    other = dataclasses.replace(one, target="GET /health")
    assert problems([one, other]) == ["old-route: the id is used twice"]


def test_one_target_announced_twice_is_refused() -> None:
    one = entry(date(2026, 12, 1), date(2027, 12, 1))
    assert problems([one, dataclasses.replace(one, id="again")]) == [
        "again: route 'GET /me' is announced twice"
    ]


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (Kind.ROUTE, "/me"),
        (Kind.ROUTE, "GET /me query:x"),
        (Kind.QUERY_PARAMETER, "GET /reminders"),
        (Kind.REQUEST_FIELD, "POST /reminders response:message"),
        (Kind.RESPONSE_FIELD, "GET /executions cost"),
        (Kind.EVENT_TYPE, "execution.exploded"),
        (Kind.RPC, "dialcues.v1.IdentityService.WhoAmI"),
        (Kind.RPC_FIELD, "Reminder.title"),
    ],
)
def test_a_target_malformed_for_its_kind_is_refused(kind: Kind, target: str) -> None:
    found = problems([entry(date(2026, 12, 1), date(2027, 12, 1), kind=kind, target=target)])
    assert len(found) == 1 and found[0].startswith("old-route: ")


def test_an_id_must_fit_a_url_fragment() -> None:
    bad = entry(date(2026, 12, 1), date(2027, 12, 1), id="Old Route")
    assert problems([bad])


def test_nothing_is_removed_before_its_sunset() -> None:
    removed = entry(date(2026, 12, 1), date(2027, 12, 1), removed=True)
    assert problems([removed], today=date(2027, 11, 30)) == [
        "old-route: removed before its sunset 2027-12-01"
    ]
    assert problems([removed], today=date(2027, 12, 1)) == []


def test_the_production_registry_is_empty_and_the_test_one_valid() -> None:
    assert REGISTRY == ()
    validate(REGISTRY)
    validate(TEST_REGISTRY, today=date(2026, 1, 1))


def test_the_test_registrys_removed_entries_are_past_their_sunset() -> None:
    assert problems(TEST_REGISTRY, today=date(2025, 1, 1)) == []
    early = problems(TEST_REGISTRY, today=date(2024, 12, 31))
    removed = [e for e in TEST_REGISTRY if e.removed]
    assert early == [f"{e.id}: removed before its sunset 2025-01-01" for e in removed]


# ----------------------------------------------------------------------------- rendering
def test_the_three_headers_of_one_entry() -> None:
    assert headers([TEST_ROUTE]) == {
        "Deprecation": "@1796083200",
        "Sunset": "Wed, 01 Dec 2027 00:00:00 GMT",
        "Link": '<https://dialcues.dev/changelog#test-route>; rel="deprecation"; type="text/html"',
    }


def test_several_entries_give_the_earliest_dates_and_every_link() -> None:
    found = headers([TEST_ROUTE, TEST_QUERY])
    assert found["Deprecation"] == "@1781481600"  # 2026-06-15, TEST_QUERY's
    assert found["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert found["Link"] == (
        '<https://dialcues.dev/changelog#test-route>; rel="deprecation"; type="text/html", '
        '<https://dialcues.dev/changelog#test-query>; rel="deprecation"; type="text/html"'
    )


def test_the_listing_is_the_policy_and_each_entry_with_plain_dates() -> None:
    assert listing([TEST_ROUTE]) == {
        "policy": {"minimum_notice_months": 12, "changelog": "https://dialcues.dev/changelog"},
        "items": [
            {
                "id": "test-route",
                "kind": "route",
                "target": "GET /_test/deprecated",
                "announced_at": "2026-12-01",
                "sunset_at": "2027-12-01",
                "replacement": "GET /health",
                "removed": False,
            }
        ],
    }


# ----------------------------------------------------------------------------- use
def test_a_route_entry_is_used_by_every_request_of_its_route() -> None:
    index = by_route(TEST_REGISTRY)
    assert index[("GET", "/_test/deprecated")].used([]) == [TEST_ROUTE]
    assert ("GET", "/health") not in index


def test_a_query_parameter_is_used_only_when_sent() -> None:
    reminders = by_route(TEST_REGISTRY)[("GET", "/reminders")]
    assert reminders.used(["page"]) == []
    assert reminders.used(["page", "search"]) == [TEST_QUERY]


def test_fields_are_looked_for_at_the_top_and_in_a_pages_items() -> None:
    audit = by_route(TEST_REGISTRY)[("GET", "/audit/events")]
    assert audit.used([], reply={"items": [], "total": 0}) == []
    assert audit.used([], reply={"items": [{"id": "a", "detail": {}}]}) != []
    create = by_route(TEST_REGISTRY)[("POST", "/reminders")]
    assert create.used([], body={"title": "x"}) == []
    assert create.used([], body={"message": "x"}) != []
    assert create.used([], body=["message"]) == []


def test_rpc_entries_are_indexed_by_method_and_fields_by_message() -> None:
    assert set(by_rpc(TEST_REGISTRY)) == {
        "/dialcues.v1.IdentityService/WhoAmI",
        "/dialcues.v1.ExecutionService/ListExecutions",
    }
    assert {m: set(f) for m, f in by_message(TEST_REGISTRY).items()} == {
        "dialcues.v1.ListUsageEventsRequest": {"code"},
        "dialcues.v1.CallingPolicy": {"inherited"},
        "dialcues.v1.ListRemindersRequest": {"search"},
        "dialcues.v1.WhoAmIResponse": {"api_key_id"},
    }


# ----------------------------------------------------------------------------- after the sunset
def test_a_removed_route_is_gone_and_a_deprecated_one_is_not() -> None:
    index = by_route(TEST_REGISTRY)
    assert index[("GET", "/_test/removed")].gone() == REMOVED_ROUTE
    assert index[("GET", "/_test/deprecated")].gone() is None


def test_a_removed_query_parameter_is_refused_only_when_sent() -> None:
    probe = by_route(TEST_REGISTRY)[("GET", "/_test/deprecated")]
    probe.refuse_removed(["fail"])
    with pytest.raises(ValidationFailed) as caught:
        probe.refuse_removed(["fail", "legacy"])
    assert caught.value.fields == {"legacy": "is no longer supported"}
    assert probe.used(["legacy"]) == [TEST_ROUTE, REMOVED_QUERY]  # its refusal is marked


def test_a_removed_request_field_is_refused_only_when_the_body_holds_it() -> None:
    create = by_route(TEST_REGISTRY)[("POST", "/reminders")]
    assert create.removed_request() == {"voice"}
    create.refuse_removed([], {"message": "x"})
    create.refuse_removed([], ["voice"])
    with pytest.raises(ValidationFailed) as caught:
        create.refuse_removed([], {"voice": "alloy", "message": "x"})
    assert caught.value.fields == {"voice": "is no longer supported"}
    assert REMOVED_REQUEST_FIELD in create.used([], body={"voice": "alloy"})


def test_removed_response_fields_are_dropped_at_the_top_and_in_items() -> None:
    names = frozenset({"client_id"})
    assert drop_fields({"id": 1, "client_id": None}, names) == {"id": 1}
    page = {"items": [{"id": 1, "client_id": "c"}, 7], "total": 1}
    assert drop_fields(page, names) == {"items": [{"id": 1}, 7], "total": 1}
    assert page["items"][0] == {"id": 1, "client_id": "c"}  # a copy: the reply is untouched
    untouched = {"id": 1}
    assert drop_fields(untouched, names) is untouched
    assert drop_fields(None, names) is None


def test_a_removed_response_field_is_never_used() -> None:
    me = by_route(TEST_REGISTRY)[("GET", "/me")]
    assert me.removed_response() == {"client_id"}
    assert me.used([], reply={"organization_id": "o"}) == []


def test_removed_event_types_are_named_for_the_outbox() -> None:
    assert removed_event_types(TEST_REGISTRY) == {"suppression.created"}
    assert removed_event_types(REGISTRY) == frozenset()


def test_a_removed_entry_is_listed_with_removed_true() -> None:
    assert item(REMOVED_ROUTE) == {
        "id": "test-removed-route",
        "kind": "route",
        "target": "GET /_test/removed",
        "announced_at": "2024-01-01",
        "sunset_at": "2025-01-01",
        "replacement": "GET /_test/deprecated",
        "removed": True,
    }
