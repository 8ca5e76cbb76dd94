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
]
"""Migration ``n`` is ``MIGRATIONS[n - 1]``; ``schema_version`` records each one applied."""
