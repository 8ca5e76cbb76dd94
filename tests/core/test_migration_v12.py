"""Migration v12 on data the previous release wrote (``telephony.md`` §0 #4, Done when 40), on
SQLite and PostgreSQL: keys that held every scope of v11 (explicit list or the all-scopes mark)
reach the number and line routes, a narrower key does not; existing lines get ``voice`` and no
route (so nothing changes for them until a route is set); old executions are outbound with no
caller; organizations keep the simulated carrier.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts import keys
from dialcues_core.adapters.peewee import database
from dialcues_core.adapters.peewee.migrations import MIGRATIONS
from dialcues_core.adapters.peewee.tables import ALL_TABLES
from dialcues_core.errors import InsufficientScope

V11_ALL = (
    "reminders:read,reminders:write,executions:read,lines:read,calls:write,usage:read,"
    "webhooks:manage,policy:read,audit:read,suppressions:read,suppressions:write,"
    "consents:read,consents:write"
)
T = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds
LISTED, MARKED, NARROW = keys.generate_key(), keys.generate_key(), keys.generate_key()
NEW_SCOPES = {"numbers:read", "numbers:write", "lines:write"}


def at_version_11(url: str) -> None:
    """A v11 database: one organization, a line, three keys, one executed call."""
    db = database.open_database(url)
    db.connect()
    mark = "%s" if database.is_postgres(db) else "?"
    with db.bind_ctx(ALL_TABLES):
        for step in MIGRATIONS[:11]:
            step(db)
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY)"
    )
    db.execute_sql("DELETE FROM schema_version")
    for version in range(1, 12):
        db.execute_sql(f"INSERT INTO schema_version (version) VALUES ({mark})", (version,))
    sql = [
        ("INSERT INTO organizations (id, name, created_at) VALUES ('org_v11', 'Acme', ?)", (T,)),
        (
            "INSERT INTO users (id, organization_id, email, name, created_at)"
            " VALUES ('usr_v11', 'org_v11', 'a@example.com', 'A', ?)",
            (T,),
        ),
        (
            "INSERT INTO outbound_lines (id, organization_id, provider, phone_number, label,"
            " is_default, created_at, temporary) VALUES ('line_v11', 'org_v11', 'simulated',"
            " '+14155550100', 'Main', ?, ?, ?)",
            (True, T, False),
        ),
        (
            "INSERT INTO executions (user_id, organization_id, status, attempt, to_number,"
            " scheduled_for, executed_at, created_at)"
            " VALUES ('usr_v11', 'org_v11', 'completed', 1, '+12125550143', ?, ?, ?)",
            (T, T, T),
        ),
    ]
    for key_id, raw, scopes in (
        ("key_listed", LISTED, V11_ALL),
        ("key_marked", MARKED, "*"),
        ("key_narrow", NARROW, "reminders:read,lines:read"),
    ):
        sql.append(
            (
                "INSERT INTO api_keys (id, user_id, organization_id, name, prefix, last4,"
                " key_hash, scopes, created_at) VALUES (?, 'usr_v11', 'org_v11', 'k', ?, ?, ?,"
                " ?, ?)",
                (key_id, raw[:12], raw[-4:], keys.hash_key(raw), scopes, T),
            )
        )
    for statement, params in sql:
        db.execute_sql(statement.replace("?", mark), params)
    db.close()


@pytest.fixture
def upgraded(empty_url: str) -> Iterator[Dialcues]:
    """A v11 database of each backend in turn, opened (and so migrated) by today's platform."""
    at_version_11(empty_url)
    platform = Dialcues.open(settings=settings_for(empty_url))
    yield platform
    platform.close()


def test_keys_that_held_every_scope_reach_the_number_and_line_routes(upgraded: Dialcues) -> None:
    for raw in (LISTED, MARKED):
        principal = upgraded.authenticate(raw)
        assert principal.scopes >= NEW_SCOPES
        assert upgraded.numbers.list(principal, {}).items == []
        line = upgraded.lines.update(principal, "line_v11", {"label": "Front desk"})
        assert line.label == "Front desk"
    narrow = upgraded.authenticate(NARROW)
    assert not narrow.scopes & NEW_SCOPES
    with pytest.raises(InsufficientScope):
        upgraded.numbers.list(narrow, {})
    with pytest.raises(InsufficientScope):
        upgraded.lines.update(narrow, "line_v11", {"label": "x"})


def test_old_lines_executions_and_organizations_keep_their_behaviour(upgraded: Dialcues) -> None:
    principal = upgraded.authenticate(LISTED)
    line = upgraded.lines.get(principal, "line_v11")
    assert (line.features, line.carrier, line.number_id, line.route) == (
        ("voice",),
        None,
        None,
        None,
    )
    (execution,) = upgraded.executions.list(principal, {}).items
    assert (execution.direction, execution.from_number, execution.route) == ("outbound", None, None)
    assert upgraded.numbers.carrier_settings("org_v11").carrier == "simulated"
    assert database.current_version(upgraded.db) == len(MIGRATIONS) >= 12
