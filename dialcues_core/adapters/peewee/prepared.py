"""Hot statements: SQL text built once per backend, then re-executed with new parameters.

Building a query through peewee costs ≈ 0.2 ms (``spec/targets.md``) — more than SQLite takes
to run it. The statements on the hot path of ``POST /reminders`` (find the default line,
insert the reminder) are therefore built once per backend class — their text depends only on
its quoting and parameter style — and re-executed with fresh parameters. Values still pass
through the fields' own ``db_value`` / ``python_value`` converters, so rows read the same as
through peewee's models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import peewee as pw

from dialcues_core.adapters.peewee.tables import database_proxy


def _database() -> pw.Database:
    db = database_proxy.obj
    if db is None:
        raise RuntimeError("the row classes are not bound to a database")
    return db  # type: ignore[no-any-return]


class PreparedSelect:
    """A SELECT built by ``build(*markers)``; each marker's position takes an argument."""

    def __init__(self, build: Callable[..., Any], arity: int):
        self._build = build
        self._arity = arity
        self._cache: dict[type, tuple[str, list[Any], list[tuple[int, int]], list[Any]]] = {}

    def _prepare(self, db: pw.Database) -> tuple[str, list[Any], list[tuple[int, int]], list[Any]]:
        found = self._cache.get(type(db))
        if found is None:
            markers = [f"\x00param{i}\x00" for i in range(self._arity)]
            query = self._build(*markers)
            sql, params = query.sql()
            slots = [(pos, markers.index(p)) for pos, p in enumerate(params) if p in markers]
            selected = list(cast(Any, query)._returning)
            found = self._cache[type(db)] = (sql, list(params), slots, selected)
        return found

    def first(self, *args: Any) -> dict[str, Any] | None:
        """Return the first row as ``{column name: python value}``, or None."""
        db = _database()
        sql, params, slots, fields = self._prepare(db)
        values = list(params)
        for pos, index in slots:
            values[pos] = args[index]
        row = db.execute_sql(sql, values).fetchone()
        if row is None:
            return None
        return {f.column_name: f.python_value(v) for f, v in zip(fields, row, strict=True)}


class PreparedInsert:
    """An INSERT of one row of ``model``; its text is built once per backend and column set."""

    def __init__(self, model: type[pw.Model]):
        self._model = model
        self._cache: dict[tuple[type, tuple[str, ...]], tuple[str, list[pw.Field], bool]] = {}

    def _prepare(self, db: pw.Database, names: tuple[str, ...]) -> tuple[str, list[pw.Field], bool]:
        found = self._cache.get((type(db), names))
        if found is None:
            meta = self._model._meta
            fields = [meta.fields[name] for name in names]
            columns = ", ".join(f'"{f.column_name}"' for f in fields)
            marks = ", ".join(db.param for _ in fields)
            sql = f'INSERT INTO "{meta.table_name}" ({columns}) VALUES ({marks})'
            returning = bool(db.returning_clause)
            pk = cast(pw.Field, meta.primary_key).column_name
            sql += f' RETURNING "{pk}"' if returning else ""
            found = self._cache[(type(db), names)] = (sql, fields, returning)
        return found

    def insert(self, values: Mapping[str, Any]) -> None:
        """Insert ``values`` (field name → python value); for rows whose id the caller chose."""
        db = _database()
        sql, fields, _ = self._prepare(db, tuple(values))
        db.execute_sql(sql, [f.db_value(v) for f, v in zip(fields, values.values(), strict=True)])

    def execute(self, values: Mapping[str, Any]) -> int:
        """Insert ``values`` (field name → python value) and return the new row's id."""
        db = _database()
        sql, fields, returning = self._prepare(db, tuple(values))
        params = [f.db_value(v) for f, v in zip(fields, values.values(), strict=True)]
        cursor = db.execute_sql(sql, params)
        return int(cursor.fetchone()[0] if returning else cursor.lastrowid)
