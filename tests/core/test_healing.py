"""Connections that heal, on the real databases: a connection the server dropped is replaced
at the next transaction; an outage is ``StorageUnavailable``, never a driver error."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import peewee as pw
import psycopg
import pytest

from dialcues_core.adapters.peewee.database import open_database
from dialcues_core.adapters.peewee.healing import execute_many
from dialcues_core.adapters.peewee.transactions import PeeweeTransactions
from dialcues_core.errors import StorageUnavailable


@pytest.fixture
def pg(postgres_url: str) -> Iterator[pw.Database]:
    """A healing PostgreSQL database with a scratch table."""
    db = open_database(postgres_url)
    db.execute_sql("CREATE TABLE scratch (x INTEGER)")
    yield db
    if not db.is_closed():
        db.close()


Kill = Callable[[pw.Database], None]


@pytest.fixture
def kill(postgres_url: str) -> Kill:
    """Terminate the server side of a database's current connection (as a restart would)."""

    def run(db: pw.Database) -> None:
        pid = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))

    return run


@pytest.mark.postgres
def test_the_next_transaction_after_the_server_dropped_the_connection_just_works(
    pg: pw.Database, kill: Kill
) -> None:
    kill(pg)
    tx = PeeweeTransactions(pg)

    with tx.atomic():
        pg.execute_sql("INSERT INTO scratch VALUES (1)")

    assert pg.execute_sql("SELECT COUNT(*) FROM scratch").fetchone()[0] == 1


@pytest.mark.postgres
def test_a_read_outside_a_transaction_retries_once_on_a_new_connection(
    pg: pw.Database, kill: Kill
) -> None:
    kill(pg)

    assert pg.execute_sql("SELECT 41 + 1").fetchone()[0] == 42


@pytest.mark.postgres
def test_a_connection_lost_inside_a_transaction_is_unavailable_then_heals(
    pg: pw.Database, kill: Kill
) -> None:
    tx = PeeweeTransactions(pg)
    with pytest.raises(StorageUnavailable), tx.atomic():
        pg.execute_sql("INSERT INTO scratch VALUES (1)")
        kill(pg)
        pg.execute_sql("INSERT INTO scratch VALUES (2)")

    with tx.atomic():
        pg.execute_sql("INSERT INTO scratch VALUES (3)")
    assert [r[0] for r in pg.execute_sql("SELECT x FROM scratch").fetchall()] == [3]


@pytest.mark.postgres
def test_executemany_on_a_lost_connection_is_unavailable(pg: pw.Database, kill: Kill) -> None:
    tx = PeeweeTransactions(pg)
    with pytest.raises(StorageUnavailable), tx.atomic():
        pg.execute_sql("SELECT 1")
        kill(pg)
        execute_many(pg, "INSERT INTO scratch VALUES (%s)", [(1,), (2,)])


@pytest.mark.postgres
@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "57P01"])
def test_a_serialization_failure_deadlock_or_shutdown_is_unavailable(
    pg: pw.Database, sqlstate: str
) -> None:
    raise_it = f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{sqlstate}'; END $$"

    with pytest.raises(StorageUnavailable), PeeweeTransactions(pg).atomic():
        pg.execute_sql(raise_it)


@pytest.mark.postgres
def test_other_database_errors_pass_through(pg: pw.Database) -> None:
    with pytest.raises(pw.ProgrammingError), PeeweeTransactions(pg).atomic():
        pg.execute_sql("SELECT * FROM no_such_table")


@pytest.mark.postgres
def test_an_unreachable_server_is_unavailable_without_naming_it_to_clients() -> None:
    db = open_database("postgresql://someone@127.0.0.1:1/nothing")

    with pytest.raises(StorageUnavailable) as caught:
        db.execute_sql("SELECT 1")

    assert caught.value.message == "The database is unavailable; retry with backoff."
    assert "127.0.0.1" in caught.value.detail  # for the operator's log only


def test_a_sqlite_database_locked_past_its_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    db = open_database(f"sqlite:///{path}")
    db.execute_sql("CREATE TABLE scratch (x INTEGER)")
    db.close()
    db.init(str(path), pragmas={"busy_timeout": 100, "journal_mode": "wal"}, timeout=0.1)
    other = sqlite3.connect(path)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageUnavailable), PeeweeTransactions(db).atomic():
            db.execute_sql("INSERT INTO scratch VALUES (1)")
    finally:
        other.rollback()
        other.close()

    with PeeweeTransactions(db).atomic():
        db.execute_sql("INSERT INTO scratch VALUES (1)")
    assert db.execute_sql("SELECT COUNT(*) FROM scratch").fetchone()[0] == 1
