"""Database connections that heal: a lost connection is replaced, an outage is ``unavailable``.

peewee keeps one connection per thread and trusts its own "closed" flag, which stays False
after the server went away (a PostgreSQL restart, a network cut): every later statement on that
thread then fails, for good. These subclasses watch the driver instead:

* before a statement outside a transaction, a connection the driver reports closed or broken
  (psycopg's ``closed``/``broken``) is dropped and a new one opened;
* a statement, ``BEGIN``, ``COMMIT`` or connect that fails because the database is out of
  reach raises :class:`~dialcues_core.errors.StorageUnavailable` (``unavailable``, 503 /
  UNAVAILABLE) with the driver's error as its cause, and the dead connection is dropped, so
  the next transaction on that thread starts on a fresh one;
* ``BEGIN`` and a read outside any transaction that meet a connection that died since its
  last use are retried once on a new connection: nothing had run yet, so nothing runs twice;
* a rollback on a lost connection does not raise (the server rolled back when the connection
  died), so the error that caused it is the one the caller sees.

A server that stops answering without closing the connection (a network cut) is noticed by
TCP itself: PostgreSQL connections are opened with keepalives and a ``tcp_user_timeout``
(:data:`dialcues_core.adapters.peewee.database.PG_CONNECTION_OPTIONS`), so a blocked statement
fails within seconds instead of hanging a thread for good.

"Out of reach" is judged by the driver: a connection it now reports closed or broken, a
PostgreSQL SQLSTATE of class 08 (connection), 40 (deadlock, serialization: retry), 53
(resources) or 57 (shutdown), or SQLite's busy, I/O and cannot-open errors. Other database
errors (a constraint, a syntax error) pass through unchanged.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import peewee as pw
import psycopg

from dialcues_core.errors import StorageUnavailable

T = TypeVar("T")

_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})
_SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "disk i/o error", "unable to open")
_CONNECTION_ERRORS = (pw.OperationalError, pw.InterfaceError, psycopg.OperationalError)
"""peewee wraps most driver errors; a few psycopg ones (a serialization failure) it leaves raw."""


class _Healing:
    """The healing behaviour, mixed into a peewee database class (see the module docstring)."""

    # Provided by peewee.Database (annotations only: the mixin must not shadow them).
    _state: Any
    in_transaction: Callable[[], bool]

    def _driver_lost(self) -> bool:
        """Tell whether the driver reports this thread's connection closed or broken."""
        if self._state.closed:
            return False
        conn = self._state.conn
        return bool(getattr(conn, "closed", False) or getattr(conn, "broken", False))

    def _drop_connection(self) -> None:
        """Forget this thread's connection, closing it quietly (it may be dead already)."""
        if not self._state.closed:
            with contextlib.suppress(Exception):
                self._state.conn.close()
        self._state.reset()

    def _is_outage(self, exc: BaseException) -> bool:
        """Tell whether ``exc`` means the database is out of reach (see the module docstring).

        peewee keeps the driver's error in ``orig`` (and as the ``__context__``).
        """
        if self._driver_lost():
            return True
        for cause in (exc, getattr(exc, "orig", None), exc.__cause__, exc.__context__):
            state = getattr(cause, "sqlstate", None)
            if isinstance(state, str) and state[:2] in _TRANSIENT_SQLSTATE_CLASSES:
                return True
            if isinstance(cause, sqlite3.OperationalError):
                return str(cause).lower().startswith(_SQLITE_UNAVAILABLE)
        return False

    def _raise_translated(self, exc: BaseException) -> NoReturn:
        """Raise ``StorageUnavailable`` for an outage (dropping a lost connection), else ``exc``."""
        if not self._is_outage(exc):
            raise exc
        if self._driver_lost() and not self.in_transaction():
            self._drop_connection()  # inside a transaction, the rollback drops it
        raise StorageUnavailable(detail=_first_line(exc)) from exc

    def _heal_before(self) -> None:
        """Replace a connection the driver reports lost before using it outside a transaction."""
        if not self.in_transaction() and self._driver_lost():
            self._drop_connection()

    def _retrying(self, run: Callable[[], T], may_retry: bool) -> T:
        """Run ``run``; if a dead connection made it fail and ``may_retry``, run it once more.

        Only for what is safe to repeat: ``BEGIN`` and a read outside a transaction, where a
        connection that died since its last use failed before anything ran.
        """
        self._heal_before()
        try:
            return run()
        except _CONNECTION_ERRORS as exc:
            if not (may_retry and self._driver_lost()):
                self._raise_translated(exc)
            self._drop_connection()
        try:
            return run()
        except _CONNECTION_ERRORS as exc:
            self._raise_translated(exc)

    def execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for each row in one round trip (``executemany``), healed alike."""
        if not rows:
            return
        self._heal_before()
        try:
            with pw.__exception_wrapper__:  # type: ignore[attr-defined]
                self.cursor().executemany(sql, rows)  # type: ignore[attr-defined]
        except _CONNECTION_ERRORS as exc:
            self._raise_translated(exc)

    def _committing(self, run: Callable[[], None]) -> None:
        """Commit; an outage is ``unavailable`` (and the transaction did not commit)."""
        try:
            run()
        except _CONNECTION_ERRORS as exc:
            self._raise_translated(exc)

    def _rolling_back(self, run: Callable[[], None]) -> None:
        """Roll back; on a lost connection there is nothing to roll back: drop it quietly."""
        if self._driver_lost():
            self._drop_connection()
            return
        try:
            run()
        except _CONNECTION_ERRORS:
            self._drop_connection()


def execute_many(db: pw.Database, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run ``sql`` once per row in one ``executemany``; on a healing database, healed alike."""
    if isinstance(db, _Healing):
        db.execute_many(sql, rows)
    elif rows:
        db.cursor().executemany(sql, rows)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class HealingPostgresqlDatabase(_Healing, pw.PostgresqlDatabase):
    """PostgreSQL through psycopg 3, with connections that heal."""

    def connect(self, reuse_if_open: bool = False) -> bool:
        """Open this thread's connection; an unreachable server is ``unavailable``."""
        try:
            return bool(super().connect(reuse_if_open))
        except _CONNECTION_ERRORS as exc:
            raise StorageUnavailable(detail=f"cannot connect: {_first_line(exc)}") from exc

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        """Run one statement; heal a dead connection (see the module docstring)."""
        retry = not self.in_transaction() and _is_read(sql)
        return self._retrying(lambda: super(_Healing, self).execute_sql(sql, params), retry)

    def begin(self, isolation_level: Any = None) -> None:
        """Start a transaction, on a new connection if this thread's one died."""
        self._retrying(lambda: super(_Healing, self).begin(isolation_level), may_retry=True)

    def commit(self) -> None:
        """Commit; a lost connection is ``unavailable`` (the transaction did not commit)."""
        self._committing(super().commit)

    def rollback(self) -> None:
        """Roll back; on a lost connection there is nothing to roll back."""
        self._rolling_back(super().rollback)


class HealingSqliteDatabase(_Healing, pw.SqliteDatabase):
    """SQLite, with busy, I/O and cannot-open failures reported as ``unavailable``."""

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        """Run one statement; a busy or unreadable database is ``unavailable``."""
        return self._retrying(lambda: super(_Healing, self).execute_sql(sql, params), False)

    def begin(self, lock_type: str | None = None) -> None:
        """Start a transaction; a database locked past the busy timeout is ``unavailable``."""
        self._retrying(lambda: super(_Healing, self).begin(lock_type), may_retry=False)

    def commit(self) -> None:
        """Commit; a busy or failing disk is ``unavailable``."""
        self._committing(super().commit)

    def rollback(self) -> None:
        """Roll back (quietly when the connection is lost)."""
        self._rolling_back(super().rollback)
