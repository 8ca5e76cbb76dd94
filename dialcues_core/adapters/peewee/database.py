"""Open the database named by a URL, bind the row classes to it, and migrate its schema.

SQLite (the embedded default) runs in WAL mode with a busy timeout, ``synchronous=NORMAL`` and
foreign keys on; PostgreSQL is reached through psycopg 3. Migrations are numbered functions
applied in order, each in its own transaction, under a lock so that several processes
starting together migrate once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import peewee as pw

from dialcues_core.adapters.peewee import tables
from dialcues_core.adapters.peewee.healing import HealingPostgresqlDatabase, HealingSqliteDatabase
from dialcues_core.errors import StorageUnavailable, ValidationFailed

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -64_000,
}


CONNECT_TIMEOUT_SECONDS = 5
"""How long opening a PostgreSQL connection may take before the database counts as down."""

PG_CONNECTION_OPTIONS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
"""libpq options that turn a silent network cut into an error within about 10 s: TCP
keepalives probe an idle connection, and ``tcp_user_timeout`` (ms) bounds unacknowledged
writes. Without them a statement sent to a blackholed server waits for ever."""


def open_database(url: str) -> pw.Database:
    """Return an (unconnected) peewee database for ``sqlite:///PATH`` or ``postgresql://…``."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return HealingSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        return HealingPostgresqlDatabase(
            unquote(parts.path.lstrip("/")) or "postgres",
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            prefer_psycopg3=True,
            **PG_CONNECTION_OPTIONS,
        )
    raise ValidationFailed.one("database_url", "must be sqlite:///PATH or postgresql://…")


def bind(db: pw.Database) -> None:
    """Point every row class at ``db`` (the composition root calls this once)."""
    tables.database_proxy.initialize(db)


def _v1_initial_schema(db: pw.Database) -> None:
    db.create_tables(tables.INITIAL_TABLES, safe=True)


def _v2_idempotency(db: pw.Database) -> None:
    db.create_tables(tables.IDEMPOTENCY_TABLES, safe=True)


def _v3_usage_events(db: pw.Database) -> None:
    db.create_tables(tables.USAGE_TABLES, safe=True)


def _v4_oauth_clients(db: pw.Database) -> None:
    db.create_tables(tables.OAUTH_TABLES, safe=True)


def _v5_webhooks(db: pw.Database) -> None:
    db.create_tables(tables.WEBHOOK_TABLES, safe=True)


#: Tables whose integer ids v6 makes ``AUTOINCREMENT`` on SQLite, each with the SQL of the
#: highest id ever referenced (ids of rows deleted since are not known: references are).
_NEVER_REUSED_IDS: dict[str, str] = {
    "reminders": "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM reminders"
    " UNION ALL SELECT MAX(reminder_id) FROM executions)",
    "executions": "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM executions"
    " UNION ALL SELECT MAX(last_execution_id) FROM reminders)",
    "webhook_outbox": "SELECT MAX(id) FROM webhook_outbox",
    "webhook_deliveries": "SELECT MAX(id) FROM webhook_deliveries",
    "usage_events": "SELECT MAX(id) FROM usage_events",
}

_ID_COLUMN = re.compile(r'("id"\s+INTEGER\s+NOT\s+NULL\s+PRIMARY\s+KEY)(?!\s+AUTOINCREMENT)', re.I)


def _v6_ids_never_reused(db: pw.Database) -> None:
    """On SQLite, rebuild the tables of deletable integer ids with ``AUTOINCREMENT``.

    Without it SQLite hands the id of a deleted newest row to the next row (an execution
    would point at a reminder that is not its own). PostgreSQL's sequences never reuse an id:
    nothing to do there. No foreign key points at these tables, so they can be dropped and
    renamed inside the migration's transaction with ``foreign_keys`` on.
    """
    if not isinstance(db, pw.SqliteDatabase):
        return
    for table, highest_sql in _NEVER_REUSED_IDS.items():
        highest = db.execute_sql(highest_sql).fetchone()[0]
        _add_autoincrement(db, table)
        _seed_sequence(db, table, int(highest or 0))


def _add_autoincrement(db: pw.Database, table: str) -> None:
    """Rebuild ``table`` from its own ``CREATE TABLE`` with an ``AUTOINCREMENT`` id."""
    (create,) = _schema_sql(db, "table", table)
    if re.search(r"\bAUTOINCREMENT\b", create, re.I):
        return  # created by today's row classes: nothing to rebuild
    rebuilt, found = _ID_COLUMN.subn(r"\1 AUTOINCREMENT", create)
    head = f'CREATE TABLE "{table}" ('
    if found != 1 or not rebuilt.startswith(head):
        raise StorageUnavailable(f"Cannot migrate the table {table}: unexpected schema")
    staging = f"{table}__v6"
    indexes = _schema_sql(db, "index", table)
    db.execute_sql(f'CREATE TABLE "{staging}" (' + rebuilt[len(head) :])
    db.execute_sql(f'INSERT INTO "{staging}" SELECT * FROM "{table}"')
    db.execute_sql(f'DROP TABLE "{table}"')
    db.execute_sql(f'ALTER TABLE "{staging}" RENAME TO "{table}"')
    for sql in indexes:
        db.execute_sql(sql)


def _seed_sequence(db: pw.Database, table: str, highest: int) -> None:
    """Make the next id of ``table`` greater than ``highest`` (and than every id it holds)."""
    if highest <= 0:
        return
    row = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    if row is None:
        db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, highest))
    elif row[0] < highest:
        db.execute_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (highest, table))


def _v7_temporary_lines(db: pw.Database) -> None:
    """Add ``outbound_lines.temporary`` (the smoke flow's line), unless v1 already created it."""
    if any(c.name == "temporary" for c in db.get_columns("outbound_lines")):
        return
    kind = "BOOLEAN NOT NULL DEFAULT FALSE" if is_postgres(db) else "INTEGER NOT NULL DEFAULT 0"
    db.execute_sql(f"ALTER TABLE outbound_lines ADD COLUMN temporary {kind}")


def _v8_production_dispatch(db: pw.Database) -> None:
    """Heartbeats, the tzdata snapshot, occurrences on executions, local series ends.

    The new columns exist already when v1 created today's tables; they are added otherwise.
    """
    db.create_tables(tables.OPERATIONS_TABLES, safe=True)
    _add_column(db, "executions", "occurrence_at", "BIGINT")
    _add_column(db, "reminders", "recurrence_end_local", "VARCHAR(19)")


def _add_column(db: pw.Database, table: str, column: str, kind: str) -> None:
    """Add a nullable column unless the table has it already."""
    if any(c.name == column for c in db.get_columns(table)):
        return
    db.execute_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _schema_sql(db: pw.Database, kind: str, table: str) -> list[str]:
    """Return the ``CREATE`` statements of one kind (table, index) SQLite keeps for ``table``.

    Indexes SQLite makes for constraints have no statement: the table's own recreates them.
    """
    cursor = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL"
        " ORDER BY name",
        (kind, table),
    )
    return [sql for (sql,) in cursor.fetchall()]


MIGRATIONS: list[Callable[[pw.Database], None]] = [
    _v1_initial_schema,
    _v2_idempotency,
    _v3_usage_events,
    _v4_oauth_clients,
    _v5_webhooks,
    _v6_ids_never_reused,
    _v7_temporary_lines,
    _v8_production_dispatch,
]


def current_version(db: pw.Database) -> int:
    """Return the schema version the database is at (0 when empty)."""
    if not db.table_exists("schema_version"):
        return 0
    with db.bind_ctx([tables.SchemaVersionRow]):
        row = tables.SchemaVersionRow.select(pw.fn.MAX(tables.SchemaVersionRow.version)).scalar()
    return int(row or 0)


def migrate(db: pw.Database) -> int:
    """Apply every pending migration; return the version reached."""
    try:
        db.connect(reuse_if_open=True)
        with MigrationLock(db):
            version = current_version(db)
            for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
                with db.bind_ctx(tables.ALL_TABLES):
                    step(db)
                    tables.SchemaVersionRow.create(version=number)
            return current_version(db)
    except (pw.OperationalError, StorageUnavailable) as exc:
        raise StorageUnavailable(f"Cannot migrate the database: {exc}") from exc


class MigrationLock:
    """Serialize migrations across processes: an advisory lock, or SQLite's write lock."""

    def __init__(self, db: pw.Database):
        self.db = db
        self.txn = db.atomic("IMMEDIATE") if isinstance(db, pw.SqliteDatabase) else db.atomic()

    def __enter__(self) -> None:
        self.txn.__enter__()
        if isinstance(self.db, pw.PostgresqlDatabase):
            self.db.execute_sql("SELECT pg_advisory_xact_lock(4242001)")

    def __exit__(self, *exc: Any) -> None:
        self.txn.__exit__(*exc)


def is_postgres(db: pw.Database) -> bool:
    """Tell whether ``db`` is PostgreSQL."""
    return isinstance(db, pw.PostgresqlDatabase)
