"""Migration v6: on SQLite, tables of deletable integer ids rebuilt with ``AUTOINCREMENT``.

Frozen like every migration: it reads ``sqlite_master``, never today's row classes.
"""

from __future__ import annotations

import re

import peewee as pw

from dialcues_core.errors import StorageUnavailable

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


def ids_never_reused(db: pw.Database) -> None:
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
