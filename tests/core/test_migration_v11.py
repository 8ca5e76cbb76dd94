"""Migration v11 on data the previous release wrote (``responsible-calling.md`` §17, §20,
Done when 30), on SQLite and PostgreSQL: the suppression and consent tables appear empty,
executions get no confirmation and no actions, and keys and OAuth clients that held every
scope of v10 (explicit list or the all-scopes mark) reach the new routes while narrower ones
do not.
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

V10_ALL = (
    "reminders:read,reminders:write,executions:read,lines:read,calls:write,usage:read,"
    "webhooks:manage,policy:read,audit:read"
)
T = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds
LISTED, MARKED, NARROW = keys.generate_key(), keys.generate_key(), keys.generate_key()
NEW_SCOPES = {"suppressions:read", "suppressions:write", "consents:read", "consents:write"}


def at_version_10(url: str) -> None:
    """A v10 database: one organization, three keys, one executed call."""
    db = database.open_database(url)
    db.connect()
    mark = "%s" if database.is_postgres(db) else "?"
    with db.bind_ctx(ALL_TABLES):
        for step in MIGRATIONS[:10]:
            step(db)
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY)"
    )
    db.execute_sql("DELETE FROM schema_version")
    for version in range(1, 11):
        db.execute_sql(f"INSERT INTO schema_version (version) VALUES ({mark})", (version,))
    db.execute_sql(
        f"INSERT INTO organizations (id, name, created_at) VALUES ('org_v10', 'Acme', {mark})",
        (T,),
    )
    db.execute_sql(
        "INSERT INTO users (id, organization_id, email, name, created_at)"
        f" VALUES ('usr_v10', 'org_v10', 'a@example.com', 'A', {mark})",
        (T,),
    )
    for key_id, raw, scopes in (
        ("key_listed", LISTED, V10_ALL),
        ("key_marked", MARKED, "*"),
        ("key_narrow", NARROW, "reminders:read,audit:read"),
    ):
        db.execute_sql(
            "INSERT INTO api_keys (id, user_id, organization_id, name, prefix, last4, key_hash,"
            " scopes, created_at) VALUES (?, 'usr_v10', 'org_v10', 'k', ?, ?, ?, ?, ?)".replace(
                "?", mark
            ),
            (key_id, raw[:12], raw[-4:], keys.hash_key(raw), scopes, T),
        )
    db.execute_sql(
        "INSERT INTO executions (user_id, organization_id, status, attempt, to_number,"
        " scheduled_for, executed_at, created_at)"
        f" VALUES ('usr_v10', 'org_v10', 'completed', 1, '+12125550143', {mark}, {mark}, {mark})",
        (T, T, T),
    )
    db.close()


@pytest.fixture
def upgraded(empty_url: str) -> Iterator[Dialcues]:
    """A v10 database of each backend in turn, opened (and so migrated) by today's platform."""
    at_version_10(empty_url)
    platform = Dialcues.open(settings=settings_for(empty_url))
    yield platform
    platform.close()


def test_keys_that_held_every_scope_reach_the_suppression_and_consent_routes(
    upgraded: Dialcues,
) -> None:
    for raw in (LISTED, MARKED):
        principal = upgraded.authenticate(raw)
        assert principal.scopes >= NEW_SCOPES
        assert upgraded.suppressions.list(principal, {}).items == []
        assert upgraded.consents.list(principal, {}).items == []
    narrow = upgraded.authenticate(NARROW)
    assert not narrow.scopes & NEW_SCOPES
    with pytest.raises(InsufficientScope):
        upgraded.suppressions.list(narrow, {})


def test_old_executions_have_no_confirmation_and_no_actions(upgraded: Dialcues) -> None:
    principal = upgraded.authenticate(LISTED)
    (execution,) = upgraded.executions.list(principal, {}).items
    assert (execution.confirmation, execution.confirmed_at) == (None, None)
    assert execution.actions.to_json() == []
    assert database.current_version(upgraded.db) == len(MIGRATIONS) >= 11
