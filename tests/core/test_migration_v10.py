"""Migration v10 on data a previous release wrote (responsible-calling.md section 20, Done
when 30): reminders become ``informational``, organizations get a ``caller_name`` (one
``policy.updated`` audit event by the system), keys holding every scope of their day reach the
new routes while keys with an explicit list do not, and ``reminders_never_inside`` counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.platform import settings_for

from dialcues_core import Dialcues
from dialcues_core.accounts import keys
from dialcues_core.adapters.peewee import database
from dialcues_core.adapters.peewee.migrations import MIGRATIONS
from dialcues_core.adapters.peewee.tables import ALL_TABLES
from dialcues_core.audit.model import Actor
from dialcues_core.errors import InsufficientScope

V9_ALL = ",".join(
    (
        "reminders:read",
        "reminders:write",
        "executions:read",
        "lines:read",
        "calls:write",
        "usage:read",
        "webhooks:manage",
    )
)
"""Every scope of the previous release."""
T = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds


def at_version_9(url: str) -> None:
    """A database as the previous release left it, with one organization's data."""
    db = database.open_database(url)
    db.connect()
    with db.bind_ctx(ALL_TABLES):
        for step in MIGRATIONS[:9]:
            step(db)
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY)"
    )
    db.execute_sql("DELETE FROM schema_version")
    for version in range(1, 10):
        db.execute_sql("INSERT INTO schema_version (version) VALUES (?)", (version,))
    rows = [
        (
            "INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)",
            ("org_old", "Acme Pharmacy", T),
        ),
        (
            "INSERT INTO users (id, organization_id, email, name, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            ("usr_old", "org_old", "a@example.com", "A", T),
        ),
    ]
    for sql, params in rows:
        db.execute_sql(sql, params)
    for key_id, raw, scopes in (
        ("key_full", FULL, V9_ALL),
        ("key_narrow", NARROW, "reminders:read"),
    ):
        db.execute_sql(
            "INSERT INTO api_keys (id, user_id, organization_id, name, prefix, last4, key_hash,"
            " scopes, created_at) VALUES (?, 'usr_old', 'org_old', 'k', ?, ?, ?, ?, ?)",
            (key_id, raw[:12], raw[-4:], keys.hash_key(raw), scopes, T),
        )
    reminder = {
        "user_id": "usr_old",
        "organization_id": "org_old",
        "title": "Dose",
        "message": "Take it",
        "phone_number": "+12125550143",
        "scheduled_at": T + 86_400_000 * 365 * 4 + 11 * 3_600_000,  # 2030, 06:00 in New York
        "timezone": "America/New_York",
        "local_time": "2030-01-01T06:00:00",
        "status": "scheduled",
        "recurrence_kind": "daily",
        "retry_count": 0,
        "due_at": T + 86_400_000 * 365 * 4 + 11 * 3_600_000,
        "search_text": "dose",
        "created_at": T,
        "updated_at": T,
    }
    execution = {
        "user_id": "usr_old",
        "organization_id": "org_old",
        "reminder_id": 1,
        "status": "completed",
        "attempt": 1,
        "to_number": "+12125550143",
        "scheduled_for": T,
        "executed_at": T,
        "created_at": T,
    }
    clients = [
        {"id": f"cli_{name}", "user_id": "usr_old", "organization_id": "org_old", "name": name,
         "secret_hash": "0" * 64, "scopes": scopes, "created_at": T}
        for name, scopes in (("full", V9_ALL), ("narrow", "usage:read"))
    ]  # fmt: skip
    rows = [("reminders", reminder), ("executions", execution)]
    rows += [("oauth_clients", c) for c in clients]
    for table, row in rows:
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        db.execute_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))
    db.close()


FULL, NARROW = keys.generate_key(), keys.generate_key()


@pytest.fixture
def upgraded(sqlite_url: str, tmp_path: Path) -> Dialcues:
    """The v9 database opened (and so migrated) by today's platform."""
    at_version_9(sqlite_url)
    platform = Dialcues.open(settings=settings_for(sqlite_url))
    yield platform  # type: ignore[misc]
    platform.close()


def test_the_migration_reaches_the_latest_version(upgraded: Dialcues) -> None:
    assert database.current_version(upgraded.db) == len(MIGRATIONS) >= 10


def test_keys_that_held_every_scope_reach_the_new_routes_and_others_do_not(
    upgraded: Dialcues,
) -> None:
    full = upgraded.authenticate(FULL)
    assert {"policy:read", "audit:read"} <= full.scopes
    assert upgraded.policies.get(full).policy.organization_id == "org_old"
    narrow = upgraded.authenticate(NARROW)
    assert narrow.scopes == frozenset({"reminders:read"})
    with pytest.raises(InsufficientScope):
        upgraded.policies.get(narrow)


def test_oauth_clients_that_held_every_scope_gain_the_new_ones(upgraded: Dialcues) -> None:
    clients = {c.name: c for c in upgraded.oauth.list_clients("usr_old")}
    assert {"policy:read", "audit:read"} <= set(clients["full"].scopes)
    assert clients["full"].all_scopes
    assert (clients["narrow"].scopes, clients["narrow"].all_scopes) == (("usage:read",), False)


def test_organizations_get_their_name_as_caller_name_audited_by_the_system(
    upgraded: Dialcues,
) -> None:
    view = upgraded.policies.get_for("org_old")
    assert view.to_json()["caller_name"] == "Acme Pharmacy"
    events = upgraded.audit.list_for("org_old", {}).items
    assert [(e.action, e.actor.type) for e in events] == [("policy.updated", "system")]
    assert events[0].detail == {"changed": {"caller_name": {"from": None, "to": "Acme Pharmacy"}}}


def test_older_rows_gain_their_new_fields(upgraded: Dialcues) -> None:
    full = upgraded.authenticate(FULL)
    old = upgraded.reminders.get(full, 1)
    assert (old.purpose, old.calling_window, old.retry_policy) == ("informational", None, None)
    (run,) = upgraded.executions.list(full, {}).items
    assert (run.purpose, run.skip_reason) == ("informational", None)
    # the column itself is filled (a read would fall back to scheduled_for)
    stored = upgraded.db.execute_sql("SELECT occurrence_at, scheduled_for FROM executions")
    assert stored.fetchall() == [(T, T)]
    # the reminder saved before v10 (06:00 daily in New York) is never inside once the
    # organization has the default window: migrate --json counts it
    assert upgraded.reminders.count_never_inside() == 0
    upgraded.policies.update(
        "org_old", {"calling_window": {"start": "08:00", "end": "21:00"}}, actor=Actor("admin", "t")
    )
    assert upgraded.reminders.count_never_inside() == 1


def test_older_reminders_are_informational_and_judged_by_the_window(upgraded: Dialcues) -> None:
    full = upgraded.authenticate(FULL)
    line = upgraded.accounts.add_line("org_old", "simulated", "+14155550100", label="L")
    assert line.organization_id == "org_old"
    created = upgraded.reminders.create(
        full,
        {
            "title": "Dose",
            "message": "Take it",
            "phone_number": "+12125550143",
            "timezone": "America/New_York",
            "scheduled_at": "2030-03-25T06:00:00",
            "recurrence_type": "daily",
        },
    )
    assert created.purpose == "informational"
    assert upgraded.reminders.count_never_inside() == 0  # the platform's window is off here
    upgraded.policies.update(
        "org_old", {"calling_window": {"start": "08:00", "end": "21:00"}}, actor=Actor("admin", "t")
    )
    assert upgraded.reminders.count_never_inside() == 2  # this one and the one from v9
