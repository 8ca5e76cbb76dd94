"""Migration v13 on data the previous release wrote (``telephony.md`` §0 #4, Done when 40), on
SQLite and PostgreSQL: keys that held every scope of v12 (explicit list or the all-scopes mark)
reach the message and template routes, a narrower key does not; existing reminders have no
fallback, existing executions no fallback message, existing usage events are not deprecated.
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

V12_ALL = (
    "reminders:read,reminders:write,executions:read,lines:read,calls:write,usage:read,"
    "webhooks:manage,policy:read,audit:read,suppressions:read,suppressions:write,"
    "consents:read,consents:write,numbers:read,numbers:write,lines:write"
)
T = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds
LISTED, MARKED, NARROW = keys.generate_key(), keys.generate_key(), keys.generate_key()
NEW_SCOPES = {"messages:read", "messages:write", "templates:write"}


def at_version_12(url: str) -> None:
    """A v12 database: one organization, a user, three keys, a reminder, an execution and a
    usage event."""
    db = database.open_database(url)
    db.connect()
    mark = "%s" if database.is_postgres(db) else "?"
    with db.bind_ctx(ALL_TABLES):
        for step in MIGRATIONS[:12]:
            step(db)
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY)"
    )
    db.execute_sql("DELETE FROM schema_version")
    for version in range(1, 13):
        db.execute_sql(f"INSERT INTO schema_version (version) VALUES ({mark})", (version,))
    sql = [
        ("INSERT INTO organizations (id, name, created_at) VALUES ('org_v12', 'Acme', ?)", (T,)),
        (
            "INSERT INTO users (id, organization_id, email, name, created_at)"
            " VALUES ('usr_v12', 'org_v12', 'a@example.com', 'A', ?)",
            (T,),
        ),
        (
            "INSERT INTO executions (user_id, organization_id, status, attempt, to_number,"
            " scheduled_for, executed_at, created_at)"
            " VALUES ('usr_v12', 'org_v12', 'completed', 1, '+12125550143', ?, ?, ?)",
            (T, T, T),
        ),
        (
            "INSERT INTO usage_events (occurred_at, user_id, organization_id, method, route,"
            " status, latency_ms, idempotent_replay) VALUES (?, 'usr_v12', 'org_v12', 'GET',"
            " '/api/public/v1/me', 200, 1.5, ?)",
            (T, False),
        ),
    ]
    for key_id, raw, scopes in (
        ("key_listed", LISTED, V12_ALL),
        ("key_marked", MARKED, "*"),
        ("key_narrow", NARROW, "reminders:read,numbers:read"),
    ):
        sql.append(
            (
                "INSERT INTO api_keys (id, user_id, organization_id, name, prefix, last4,"
                " key_hash, scopes, created_at) VALUES (?, 'usr_v12', 'org_v12', 'k', ?, ?, ?,"
                " ?, ?)",
                (key_id, raw[:12], raw[-4:], keys.hash_key(raw), scopes, T),
            )
        )
    for statement, params in sql:
        db.execute_sql(statement.replace("?", mark), params)
    db.close()


@pytest.fixture
def upgraded(empty_url: str) -> Iterator[Dialcues]:
    """A v12 database of each backend in turn, opened (and so migrated) by today's platform."""
    at_version_12(empty_url)
    platform = Dialcues.open(settings=settings_for(empty_url))
    yield platform
    platform.close()


def test_keys_that_held_every_scope_reach_the_message_routes(upgraded: Dialcues) -> None:
    for raw in (LISTED, MARKED):
        principal = upgraded.authenticate(raw)
        assert principal.scopes >= NEW_SCOPES
        assert upgraded.messages.list(principal, {}).items == []
        template = upgraded.message_templates.create(
            principal,
            {
                "name": f"t-{raw[-4:].lower()}",
                "body": "Hi",
                "channels": ["sms"],
                "purpose": "informational",
            },
        )
        assert template.version == 1
    narrow = upgraded.authenticate(NARROW)
    assert not narrow.scopes & NEW_SCOPES
    with pytest.raises(InsufficientScope):
        upgraded.messages.list(narrow, {})
    with pytest.raises(InsufficientScope):
        upgraded.message_templates.list(narrow, {})


def test_old_rows_keep_their_meaning(upgraded: Dialcues) -> None:
    principal = upgraded.authenticate(LISTED)
    (execution,) = upgraded.executions.list(principal, {}).items
    assert execution.fallback_message_id is None
    (event,) = upgraded.usage.list(principal, {}).items
    assert event.deprecated is False
    assert database.current_version(upgraded.db) == len(MIGRATIONS) >= 13
