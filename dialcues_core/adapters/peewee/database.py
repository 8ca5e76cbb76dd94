"""Open the database named by a URL, bind the row classes to it, and migrate its schema.

SQLite (the embedded default) runs in WAL mode with a busy timeout, ``synchronous=NORMAL`` and
foreign keys on; PostgreSQL is reached through psycopg 3. The migrations (frozen, in
``migrations/``) are applied in order, each in its own transaction, under a lock so that
several processes starting together migrate once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import peewee as pw

from dialcues_core.adapters.peewee import tables
from dialcues_core.adapters.peewee.healing import HealingPostgresqlDatabase, HealingSqliteDatabase
from dialcues_core.adapters.peewee.migrations import MIGRATIONS
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
