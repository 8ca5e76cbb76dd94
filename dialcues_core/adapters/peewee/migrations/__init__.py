"""The numbered schema migrations, frozen: each creates what it created the day it shipped.

A migration is SQL kept beside this module (``NNNN_name.<dialect>.sql``, one statement per
line) or a function for what SQL alone cannot say (v6 rebuilds SQLite tables; v7 and v8 add a
column only where it is missing). None of them reads today's row classes: a database upgraded
step by step and one created fresh end with the same schema, and a test says so
(``tests/core/test_migrations.py``). To change the schema, append a migration; never edit a
shipped one.

Before the freeze, v1 (and v2) created the row classes of their day, so a database's schema
depended on the release that created it. v7, v8 and v9 therefore add columns only where they
are missing, and v9 repairs what changed without a migration back then: the reminders'
listing indexes (replaced in November 2026) and ``idempotency_keys.scopes``. The schemas
those older releases created are kept as test fixtures (``tests/core/migration_fixtures/``)
and each must upgrade to the fresh schema.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib.resources import files

import peewee as pw

from dialcues_core.adapters.peewee.migrations.sqlite_rebuild import ids_never_reused

Migration = Callable[[pw.Database], None]


def run_script(name: str, db: pw.Database) -> None:
    """Execute the frozen SQL ``name`` in the dialect of ``db``."""
    dialect = "postgres" if isinstance(db, pw.PostgresqlDatabase) else "sqlite"
    text = files(__name__).joinpath(f"{name}.{dialect}.sql").read_text(encoding="utf-8")
    for line in text.splitlines():
        statement = line.strip()
        if statement and not statement.startswith("--"):
            db.execute_sql(statement.removesuffix(";"))


def add_column(db: pw.Database, table: str, column: str, sqlite: str, postgres: str) -> None:
    """Add a column unless ``table`` has it already, typed for the dialect of ``db``."""
    if any(c.name == column for c in db.get_columns(table)):
        return
    kind = postgres if isinstance(db, pw.PostgresqlDatabase) else sqlite
    db.execute_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def temporary_lines(db: pw.Database) -> None:
    """v7: ``outbound_lines.temporary`` (the smoke flow's line)."""
    add_column(
        db,
        "outbound_lines",
        "temporary",
        sqlite="INTEGER NOT NULL DEFAULT 0",
        postgres="BOOLEAN NOT NULL DEFAULT FALSE",
    )


def production_dispatch(db: pw.Database) -> None:
    """v8: heartbeats, the tzdata snapshot, occurrences on executions, local series ends."""
    run_script("0008_production_dispatch", db)
    add_column(db, "executions", "occurrence_at", sqlite="INTEGER", postgres="BIGINT")
    local = "VARCHAR(19)"
    add_column(db, "reminders", "recurrence_end_local", sqlite=local, postgres=local)


def schema_repairs(db: pw.Database) -> None:
    """v9: what changed before the freeze without a migration (see the module's docstring)."""
    run_script("0009_schema_repairs", db)
    add_column(db, "idempotency_keys", "scopes", sqlite="TEXT", postgres="TEXT")


def calling_policy(db: pw.Database) -> None:
    """v10: calling policies, the audit trail, the gate's columns, the all-scopes mark.

    Organizations existing before it get their ``caller_name`` from their name (so Vapi calls
    keep an identification), with one ``policy.updated`` audit event by the system; executions
    get ``occurrence_at = scheduled_for`` where unknown; keys and OAuth clients holding every
    scope of their day are marked all-scopes (they gain ``policy:read`` and ``audit:read``).
    """
    run_script("0010_calling_policy", db)
    text, integer = "TEXT", "INTEGER"
    purpose = "VARCHAR(16) NOT NULL DEFAULT 'informational'"
    for column, kind in (
        ("purpose", purpose),
        ("calling_window", text),
        ("max_lateness_seconds", integer),
        ("retry_policy", text),
        ("number_zones", text),
    ):
        add_column(db, "reminders", column, sqlite=kind, postgres=kind)
    for column, kind in (
        ("purpose", purpose),
        ("skip_reason", "VARCHAR(32)"),
        ("calling_window", text),
        ("timezone", "VARCHAR(64)"),
    ):
        add_column(db, "executions", column, sqlite=kind, postgres=kind)
    db.execute_sql(
        "UPDATE executions SET occurrence_at = scheduled_for WHERE occurrence_at IS NULL"
    )
    _mark_all_scopes(db)
    _caller_names(db)


_SCOPES_OF_V9 = frozenset(
    {
        "reminders:read",
        "reminders:write",
        "executions:read",
        "lines:read",
        "calls:write",
        "usage:read",
        "webhooks:manage",
    }
)
"""Every scope there was before v10 (frozen here: the migration must not follow today's list)."""


def _mark_all_scopes(db: pw.Database, full_list: frozenset[str] = _SCOPES_OF_V9) -> None:
    for table in ("api_keys", "oauth_clients"):
        rows = db.execute_sql(f"SELECT id, scopes FROM {table}").fetchall()
        full = [
            (key_id,)
            for key_id, scopes in rows
            if frozenset(s for s in scopes.split(",") if s) == full_list
        ]
        if full:
            placeholder = "%s" if isinstance(db, pw.PostgresqlDatabase) else "?"
            db.cursor().executemany(
                f"UPDATE {table} SET scopes = '*' WHERE id = {placeholder}", full
            )


def _caller_names(db: pw.Database) -> None:
    import json
    import secrets
    import time

    rows = db.execute_sql(
        "SELECT o.id, o.name FROM organizations o"
        " WHERE NOT EXISTS (SELECT 1 FROM calling_policies p WHERE p.organization_id = o.id)"
    ).fetchall()
    now = int(time.time() * 1000)  # noqa: TID251 - a migration stamps its own change
    truthy = "TRUE" if isinstance(db, pw.PostgresqlDatabase) else "1"
    falsy = "FALSE" if isinstance(db, pw.PostgresqlDatabase) else "0"
    placeholder = "%s" if isinstance(db, pw.PostgresqlDatabase) else "?"
    for org_id, name in rows:
        caller = " ".join(name.replace("{", "").replace("}", "").split())[:100].strip() or None
        db.execute_sql(
            "INSERT INTO calling_policies (organization_id, window_basis, blocked_dates,"
            " allow_window_bypass, caller_name, ai_disclosure, snooze_default_minutes,"
            " require_consent_for_informational, updated_at) VALUES"
            f" ({placeholder}, 'strictest', '[]', {truthy}, {placeholder}, {truthy}, 10,"
            f" {falsy}, {placeholder})",
            (org_id, caller, now),
        )
        detail = json.dumps({"changed": {"caller_name": {"from": None, "to": caller}}})
        event_id = "aud_" + "".join(
            secrets.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
            for _ in range(20)
        )
        db.execute_sql(
            "INSERT INTO audit_events (id, organization_id, occurred_at, action, actor_type,"
            " subject_type, subject_id, detail) VALUES"
            f" ({placeholder}, {placeholder}, {placeholder}, 'policy.updated', 'system',"
            f" 'organization', {placeholder}, {placeholder})",
            (event_id, org_id, now, org_id, detail),
        )


def consent(db: pw.Database) -> None:
    """v11: the suppression list, consent records, the executions' in-call actions, the
    provider settings' model, voice and transcriber (the calls' transient assistant).

    Keys and clients marked all-scopes by v10 gain the four new scopes by that mark; those
    holding every scope of v10's day (policy and audit included) get the mark now.
    """
    run_script("0011_consent", db)
    for column, kind in (
        ("confirmation", "VARCHAR(16)"),
        ("confirmed_at", "BIGINT"),
        ("actions", "TEXT"),
    ):
        sqlite = "INTEGER" if kind == "BIGINT" else kind
        add_column(db, "executions", column, sqlite=sqlite, postgres=kind)
    for column, kind in (
        ("provider_model", "VARCHAR(255)"),
        ("provider_voice", "TEXT"),
        ("provider_transcriber", "TEXT"),
    ):
        add_column(db, "organizations", column, sqlite=kind, postgres=kind)
    _mark_all_scopes(db, _SCOPES_OF_V9 | {"policy:read", "audit:read"})


_SCOPES_OF_V11 = _SCOPES_OF_V9 | {
    "policy:read",
    "audit:read",
    "suppressions:read",
    "suppressions:write",
    "consents:read",
    "consents:write",
}


def numbers(db: pw.Database) -> None:
    """v12: numbers and their claims, lines' features, carrier, number and route, inbound
    executions (direction, caller, route, answer deadline), organizations' carrier settings.

    Keys and clients marked all-scopes gain the six telephony scopes by that mark; those holding
    every scope of v11's day get the mark now (``telephony.md`` §0 #4).
    """
    for column, kind in (
        ("direction", "VARCHAR(8) NOT NULL DEFAULT 'outbound'"),
        ("from_number", "VARCHAR(16)"),
        ("route", "TEXT"),
        ("answer_by", "BIGINT"),
    ):
        sqlite = "INTEGER" if kind == "BIGINT" else kind
        add_column(db, "executions", column, sqlite=sqlite, postgres=kind)
    for column, kind in (
        ("features", "VARCHAR(32) NOT NULL DEFAULT 'voice'"),
        ("carrier", "VARCHAR(20)"),
        ("number_id", "VARCHAR(40)"),
        ("route", "TEXT"),
    ):
        add_column(db, "outbound_lines", column, sqlite=kind, postgres=kind)
    for column, kind in (
        ("carrier", "VARCHAR(20)"),
        ("carrier_api_key", "TEXT"),
        ("carrier_public_key", "VARCHAR(64)"),
        ("carrier_messaging_profile_id", "VARCHAR(255)"),
        ("carrier_base_url", "VARCHAR(500)"),
        ("carrier_ten_dlc_campaign_id", "VARCHAR(255)"),
        ("carrier_rcs_agent_id", "VARCHAR(255)"),
        ("carrier_help_text", "TEXT"),
        ("carrier_opt_out_text", "TEXT"),
        ("carrier_opt_in_text", "TEXT"),
        ("provider_telnyx_credential_id", "VARCHAR(255)"),
    ):
        add_column(db, "organizations", column, sqlite=kind, postgres=kind)
    run_script("0012_numbers", db)
    _mark_all_scopes(db, _SCOPES_OF_V11)


_SCOPES_OF_V12 = _SCOPES_OF_V11 | {"numbers:read", "numbers:write", "lines:write"}


def messages(db: pw.Database) -> None:
    """v13: message templates and their versions, messages, carrier events (deduplicated for
    7 days), reminders' SMS fallback, executions' fallback message, usage events' ``deprecated``.

    Keys and clients holding every scope of v12's day get the all-scopes mark (those marked
    already gain the three message scopes by it).
    """
    add_column(db, "reminders", "fallback", sqlite="TEXT", postgres="TEXT")
    add_column(
        db, "executions", "fallback_message_id", sqlite="VARCHAR(40)", postgres="VARCHAR(40)"
    )
    add_column(
        db,
        "usage_events",
        "deprecated",
        sqlite="INTEGER NOT NULL DEFAULT FALSE",
        postgres="BOOLEAN NOT NULL DEFAULT FALSE",
    )
    run_script("0013_messages", db)
    _mark_all_scopes(db, _SCOPES_OF_V12)


MIGRATIONS: list[Migration] = [
    partial(run_script, "0001_initial"),
    partial(run_script, "0002_idempotency"),
    partial(run_script, "0003_usage_events"),
    partial(run_script, "0004_oauth_clients"),
    partial(run_script, "0005_webhooks"),
    ids_never_reused,  # v6
    temporary_lines,  # v7
    production_dispatch,  # v8
    schema_repairs,  # v9
    calling_policy,  # v10
    consent,  # v11
    numbers,  # v12
    messages,  # v13
]
"""Migration ``n`` is ``MIGRATIONS[n - 1]``; ``schema_version`` records each one applied."""
