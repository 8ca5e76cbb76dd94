"""The shared PostgreSQL of the test machines: where it is, whether it answers, emptying it."""

from __future__ import annotations

import functools
import hashlib
import os

import peewee as pw

PG_URL = os.environ.get("DIALCUES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_reachable() -> str | None:
    """Return None when PostgreSQL answers, else the reason it does not."""
    from dialcues_core.adapters.peewee.database import open_database

    db = open_database(PG_URL)
    try:
        db.connect()
        db.execute_sql("SELECT 1")
        return None
    except pw.OperationalError as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {exc}".splitlines()[0]
    finally:
        if not db.is_closed():
            db.close()


def reset_postgres(url: str = PG_URL) -> None:
    """Drop every table of the database at ``url`` (each test starts empty)."""
    from dialcues_core.adapters.peewee.database import open_database

    db = open_database(url)
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")


def admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)  # type: ignore[arg-type]


_FINGERPRINT_SQL = (
    "SELECT (SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' '"
    " || coalesce(character_maximum_length, 0) || ' ' || is_nullable || ' '"
    " || coalesce(column_default, ''), ',' ORDER BY table_name, column_name)"
    " FROM information_schema.columns WHERE table_schema = 'public')"
    " || (SELECT coalesce(string_agg(indexdef, ',' ORDER BY indexname), '')"
    " FROM pg_indexes WHERE schemaname = 'public')"
    " || (SELECT coalesce(string_agg(c.conrelid::regclass::text || ' ' || c.conname || ' '"
    " || pg_get_constraintdef(c.oid), ',' ORDER BY 1), '') FROM pg_constraint c"
    " JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public')"
    " || (SELECT count(*) FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid"
    " JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = 'public')"
)
_migrated_schemas: dict[str, str] = {}
"""Per database: the schema fingerprint right after this process migrated it from empty."""


def clear_migrated_postgres(url: str) -> None:
    """Leave the database at ``url`` at the latest schema with no rows and fresh sequences.

    Emptying and migrating costs about 250 ms a test; when the schema is exactly what this
    process's last fresh migration made (same columns, lengths, defaults, indexes,
    constraints, trigger count and versions), deleting the rows instead costs a few
    milliseconds. A test that changed the schema (a dropped
    column, an extra table) is caught by the fingerprint and gets the full reset.
    """
    from dialcues_core.adapters.peewee.database import migrate, open_database

    db = open_database(url)
    with db.connection_context():
        found = _fingerprint(db)
        if found is not None and _migrated_schemas.get(url) == found:
            keep = {"schema_version"} | ({"tzdata_zones"} if _tzdata_intact(db) else set())
            with db.atomic():
                db.execute_sql("SET LOCAL session_replication_role = replica")  # no FK order
                for (table,) in db.execute_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall():
                    if table not in keep:
                        db.execute_sql(f'DELETE FROM "{table}"')
                db.execute_sql(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"
                    " AND c.relname <> 'schema_version_id_seq'"
                )
            return
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
        migrate(db)
        _migrated_schemas[url] = str(_fingerprint(db))


def _fingerprint(db: pw.Database) -> str | None:
    versions = ""
    if db.table_exists("schema_version"):
        rows = db.execute_sql("SELECT version FROM schema_version ORDER BY version").fetchall()
        versions = ",".join(str(v) for (v,) in rows)
    schema = db.execute_sql(_FINGERPRINT_SQL).fetchone()[0]
    return None if schema is None else f"{versions}|{schema}"


def _tzdata_intact(db: pw.Database) -> bool:
    """Tell whether ``tzdata_zones`` holds exactly the installed tzdata's zones and version."""
    stored = db.execute_sql(
        "SELECT min(version), max(version), md5(string_agg(name || ':' || md5(tzif), ','"
        ' ORDER BY name COLLATE "C")) FROM tzdata_zones'
    ).fetchone()
    return tuple(stored) == _installed_tzdata()


@functools.cache
def _installed_tzdata() -> tuple[str, str, str]:
    from dialcues_core.kernel.localtime import tzdata_version, zone_data, zone_names

    digest = ",".join(
        f"{name}:{hashlib.md5(zone_data(name)).hexdigest()}" for name in sorted(zone_names())
    )
    version = tzdata_version()
    return version, version, hashlib.md5(digest.encode()).hexdigest()
