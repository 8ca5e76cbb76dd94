"""The frozen migrations: a database upgraded step by step equals one created fresh.

"Fresh" is what today's row classes would create (``create_tables``): if a row class changes
without a migration saying so, or a shipped migration is edited so that upgrading diverges,
this test names the table and column that differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
from support.databases import reset_postgres

from dialcues_core.adapters.peewee import database, migrations, tables

ADDED_BY_ALTER = {("outbound_lines", "temporary")}
"""Columns a migration adds to existing rows, which therefore need a server-side default
(``NOT NULL`` on SQLite's ``ADD COLUMN`` demands one); the row classes give theirs in Python."""

Schema = dict[str, Any]


@pytest.fixture
def db(empty_url: str) -> Iterator[pw.Database]:
    """An empty database of each backend in turn."""
    opened = database.open_database(empty_url)
    opened.connect()
    yield opened
    opened.close()


def test_upgrading_step_by_step_equals_creating_fresh(db: pw.Database, empty_url: str) -> None:
    reached = database.migrate(db)
    upgraded = schema_of(db)
    empty(db, empty_url)
    with db.bind_ctx(tables.ALL_TABLES):
        db.create_tables(tables.ALL_TABLES)
    fresh = schema_of(db)

    assert reached == len(database.MIGRATIONS)
    assert set(upgraded) == set(fresh), "the same tables"
    for table in fresh:
        assert upgraded[table] == fresh[table], f"table {table}"


def test_every_migration_runs_in_order_from_every_version(db: pw.Database, empty_url: str) -> None:
    """Stopping after any version and resuming later reaches the same schema."""
    database.migrate(db)
    target = schema_of(db)
    for stop in range(1, len(database.MIGRATIONS)):
        empty(db, empty_url)
        with pytest.MonkeyPatch.context() as m:
            m.setattr(database, "MIGRATIONS", database.MIGRATIONS[:stop])
            assert database.migrate(db) == stop
        assert database.migrate(db) == len(database.MIGRATIONS)
        assert schema_of(db) == target, f"resumed after v{stop}"


FIXTURES = Path(__file__).parent / "migration_fixtures"
OLD_RELEASES = sorted(p.name.split(".")[0] for p in FIXTURES.glob("*.sqlite.sql"))


@pytest.mark.parametrize("release", OLD_RELEASES)
def test_a_database_an_older_release_created_upgrades_to_the_fresh_schema(
    release: str, sqlite_url: str
) -> None:
    """Before the freeze v1 created the row classes of its day; each such schema must upgrade.

    The fixtures are the ``sqlite_master`` of databases those commits created (and migrated to
    their own latest version): their listing indexes and idempotency columns differ from today.
    """
    db = database.open_database(sqlite_url)
    db.connect()
    for line in (FIXTURES / f"{release}.sqlite.sql").read_text().splitlines():
        if line and not line.startswith("--"):
            db.execute_sql(line.removesuffix(";"))
    reached = database.migrate(db)
    upgraded = schema_of(db)
    empty(db, sqlite_url)
    with db.bind_ctx(tables.ALL_TABLES):
        db.create_tables(tables.ALL_TABLES)
    fresh = schema_of(db)
    db.close()

    assert reached == len(database.MIGRATIONS)
    assert set(upgraded) == set(fresh)
    for table in fresh:
        assert upgraded[table] == fresh[table], f"table {table}"


def test_the_frozen_sql_names_no_column_of_a_later_migration() -> None:
    """v1 and v2 shipped without the columns v7, v8 and v9 add (the freeze keeps it so)."""
    later = {
        "0001_initial": ("temporary", "occurrence_at", "recurrence_end_local"),
        "0002_idempotency": ("scopes",),
    }
    for dialect in ("sqlite", "postgres"):
        for name, columns in later.items():
            for column in columns:
                assert f'"{column}"' not in _script(name, dialect), (name, dialect, column)


def test_each_dialect_has_the_same_frozen_statements() -> None:
    for name in (
        "0001_initial",
        "0002_idempotency",
        "0003_usage_events",
        "0004_oauth_clients",
        "0005_webhooks",
        "0008_production_dispatch",
        "0009_schema_repairs",
    ):
        sqlite, postgres = _script(name, "sqlite"), _script(name, "postgres")
        assert len(sqlite.splitlines()) == len(postgres.splitlines()) > 1, name


# ----------------------------------------------------------------------------- helpers
def _script(name: str, dialect: str) -> str:
    from importlib.resources import files

    return files(migrations.__name__).joinpath(f"{name}.{dialect}.sql").read_text()


def empty(db: pw.Database, url: str) -> None:
    """Drop every table."""
    if database.is_postgres(db):
        db.close()
        reset_postgres(url)
        db.connect()
        return
    names = [
        n
        for (n,) in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    ]
    db.execute_sql("PRAGMA foreign_keys = OFF")
    for name in names:
        db.execute_sql(f'DROP TABLE "{name}"')
    db.execute_sql("DELETE FROM sqlite_sequence") if db.table_exists("sqlite_sequence") else None
    db.execute_sql("PRAGMA foreign_keys = ON")


def schema_of(db: pw.Database) -> Schema:
    """Every table's columns (by name), keys and indexes, in a form both paths can compare."""
    if database.is_postgres(db):
        return _postgres_schema(db)
    return _sqlite_schema(db)


def _sqlite_schema(db: pw.Database) -> Schema:
    out: Schema = {}
    tables_sql = db.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for table, create in tables_sql:
        columns = {}
        for _cid, name, kind, notnull, default, pk in db.execute_sql(
            f'PRAGMA table_info("{table}")'
        ).fetchall():
            if (table, name) in ADDED_BY_ALTER:
                default = None
            columns[name] = (kind.upper(), bool(notnull), default, pk)
        foreign = sorted(
            (row[3], row[2], row[4])
            for row in db.execute_sql(f'PRAGMA foreign_key_list("{table}")').fetchall()
        )
        indexes = {}
        for _seq, name, unique, origin, _partial in db.execute_sql(
            f'PRAGMA index_list("{table}")'
        ).fetchall():
            cols = tuple(r[2] for r in db.execute_sql(f'PRAGMA index_info("{name}")').fetchall())
            indexes[name] = (bool(unique), origin, cols)
        autoincrement = "AUTOINCREMENT" in create.upper()
        out[table] = {
            "columns": columns,
            "foreign": foreign,
            "indexes": indexes,
            "autoincrement": autoincrement,
        }
    return out


def _postgres_schema(db: pw.Database) -> Schema:
    out: Schema = {}
    for table, name, kind, length, nullable, default in db.execute_sql(
        "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable,"
        " column_default FROM information_schema.columns WHERE table_schema = 'public'"
    ).fetchall():
        if (table, name) in ADDED_BY_ALTER:
            default = None
        entry = out.setdefault(table, {"columns": {}, "constraints": set(), "indexes": set()})
        entry["columns"][name] = (kind, length, nullable, default)
    for table, definition in db.execute_sql(
        "SELECT c.conrelid::regclass::text, c.contype::text || ' ' || pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE n.nspname = 'public'"
    ).fetchall():
        out[table.strip('"')]["constraints"].add(definition)
    for table, name, definition in db.execute_sql(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    ).fetchall():
        out[table]["indexes"].add((name, definition))
    return out
