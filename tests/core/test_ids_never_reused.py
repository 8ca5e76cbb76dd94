"""Integer ids are never handed out twice, even after the newest row is deleted.

Executions keep ``reminder_id`` after their reminder is deleted, and workers hold execution
ids across transactions, so a reused id would attach old history (or a late outcome) to a new
row. SQLite needs ``AUTOINCREMENT`` for that (migration v6 rebuilds older databases with it);
PostgreSQL's sequences already never reuse an id, so v6 is a no-op there. Every test runs on a
real SQLite file or the real PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import peewee as pw
import pytest
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee import database, migrations
from dialcues_core.adapters.peewee.calls import PeeweeSmokeStore
from dialcues_core.adapters.peewee.tables import ExecutionRow, ReminderRow
from dialcues_core.calls.model import ExecutionStatus
from dialcues_core.dispatch.attempts import Finished
from dialcues_core.reminders.model import Reminder, ReminderStatus
from dialcues_core.testing import FakeClock

START = datetime(2026, 1, 1, tzinfo=UTC)
AT = datetime(2026, 3, 25, 13, 0, tzinfo=UTC)
LOCAL = datetime(2026, 3, 25, 9, 0)

#: The tables of deletable integer ids, with the columns of a minimal row of each.
_ROWS: dict[str, dict[str, Any]] = {
    "webhook_outbox": {
        "subscription_id": "whs_1",
        "event_type": "execution.completed",
        "body": "{}",
        "status": "pending",
        "attempts": 0,
        "created_at": 0,
    },
    "webhook_deliveries": {
        "subscription_id": "whs_1",
        "message_id": "msg_1",
        "event_type": "execution.completed",
        "attempt": 1,
        "latency_ms": 1,
        "attempted_at": 0,
    },
    "usage_events": {
        "occurred_at": 0,
        "method": "GET",
        "status": 200,
        "latency_ms": 1.0,
        "idempotent_replay": False,
    },
}
_V5 = 5
_serial = itertools.count(1)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def dc(any_url: str) -> Iterator[Dialcues]:
    """The platform on each backend in turn, migrated to the latest version."""
    platform = Dialcues.open(settings=settings_for(any_url), clock=FakeClock(START))
    yield platform
    platform.close()


@pytest.fixture
def alice(dc: Dialcues) -> Tenant:
    """An organization with a simulated default line, and its user."""
    return make_tenant(dc)


@pytest.fixture
def legacy_sqlite(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dialcues]:
    """A SQLite file at schema v5 as v1–v5 built it (ids without ``AUTOINCREMENT``)."""
    yield from _at_v5(sqlite_url, monkeypatch)


@pytest.fixture
def legacy_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dialcues]:
    """The real PostgreSQL at schema v5."""
    yield from _at_v5(postgres_url, monkeypatch)


def _at_v5(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dialcues]:
    """Migrate to v5, then add (without recording v7–v13) what those migrations add.

    The frozen v1–v5 made the ids v6 rebuilds; today's repositories, which write the rows v6
    must keep, also need the later columns, which v7 and v8 add only where missing.
    """
    with monkeypatch.context() as m:
        m.setattr(database, "MIGRATIONS", database.MIGRATIONS[:_V5])
        platform = Dialcues.open(settings=settings_for(url), clock=FakeClock(START))
    with platform.db.atomic():
        migrations.temporary_lines(platform.db)
        migrations.production_dispatch(platform.db)
        migrations.schema_repairs(platform.db)  # the v5 releases already had these indexes
        migrations.calling_policy(platform.db)
        migrations.consent(platform.db)
        migrations.numbers(platform.db)
        migrations.messages(platform.db)
    assert database.current_version(platform.db) == _V5
    yield platform
    platform.close()


# ----------------------------------------------------------------------------- builders
def a_reminder(t: Tenant, title: str = "Stand-up") -> Reminder:
    """A scheduled one-off reminder of the tenant's user (id not yet assigned)."""
    return Reminder(
        id=0,
        user_id=t.user.id,
        organization_id=t.org.id,
        title=title,
        message="Time for stand-up",
        phone_number="+14155552671",
        scheduled_at=AT,
        timezone="America/New_York",
        local_time=LOCAL,
        status=ReminderStatus.SCHEDULED,
        line_id=t.line.id,
        line_label=t.line.label,
        recurrence=None,
        retry_count=0,
        next_attempt_at=None,
        last_execution_id=None,
        created_at=START,
        updated_at=START,
    )


def add_reminder(dc: Dialcues, t: Tenant, title: str = "Stand-up") -> int:
    """Store a reminder through the repository; return its id."""
    with dc.reminders.repos.transactions.atomic():
        return dc.reminders.repos.reminders.add(a_reminder(t, title)).id


def delete_reminder(dc: Dialcues, t: Tenant, reminder_id: int) -> None:
    """Delete a reminder through the use case (its executions stay)."""
    dc.reminders.delete(t.principal, reminder_id)


def add_execution(t: Tenant, reminder_id: int | None = None) -> int:
    """Insert a completed execution row of the tenant's user; return its id."""
    return int(
        ExecutionRow.insert(
            user_id=t.user.id,
            organization_id=t.org.id,
            reminder_id=reminder_id,
            status="completed",
            attempt=1,
            line_id=t.line.id,
            to_number="+14155552671",
            scheduled_for=AT,
            executed_at=AT,
            created_at=START,
        ).execute()
    )


def add_row(db: pw.Database, table: str) -> int:
    """Insert a minimal row into ``table`` with plain SQL; return its id."""
    columns = dict(_ROWS[table])
    if table == "webhook_outbox":
        columns["message_id"] = f"msg_{next(_serial)}"  # unique in the outbox
    marks = ",".join(["%s" if database.is_postgres(db) else "?"] * len(columns))
    cursor = db.execute_sql(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) RETURNING id",
        list(columns.values()),
    )
    return int(cursor.fetchone()[0])


def delete_row(db: pw.Database, table: str, row_id: int) -> None:
    """Delete one row of ``table`` by id."""
    mark = "%s" if database.is_postgres(db) else "?"
    db.execute_sql(f"DELETE FROM {table} WHERE id = {mark}", (row_id,))


def index_list(db: pw.Database, table: str) -> list[tuple[Any, ...]]:
    """Each index of a SQLite table: name, unique, origin, partial, and its columns."""
    found = []
    for _, name, unique, origin, partial in db.execute_sql(f'PRAGMA index_list("{table}")'):
        columns = [row[2] for row in db.execute_sql(f'PRAGMA index_info("{name}")')]
        found.append((name, unique, origin, partial, columns))
    return sorted(found)


def legacy_tables() -> list[str]:
    """The tables v6 rebuilds on SQLite."""
    return ["reminders", "executions", *_ROWS]


# ----------------------------------------------------------------------------- new databases
def test_deleting_the_newest_reminder_does_not_free_its_id(dc: Dialcues, alice: Tenant) -> None:
    first, second = add_reminder(dc, alice, "One"), add_reminder(dc, alice, "Two")
    delete_reminder(dc, alice, second)

    third = add_reminder(dc, alice, "Three")

    assert (first, second, third) == (1, 2, 3)


def test_a_new_reminder_never_inherits_the_executions_of_a_deleted_one(
    dc: Dialcues, alice: Tenant
) -> None:
    old = add_reminder(dc, alice, "Old")
    add_execution(alice, reminder_id=old)
    delete_reminder(dc, alice, old)

    new = add_reminder(dc, alice, "New")

    page = dc.executions.list(alice.principal, {"reminder_id": str(new)})
    assert new != old
    assert page.items == []


def test_deleting_the_newest_execution_does_not_free_its_id(alice: Tenant) -> None:
    first, second = add_execution(alice), add_execution(alice)
    ExecutionRow.delete_by_id(second)

    third = add_execution(alice)

    assert (first, second, third) == (1, 2, 3)


def test_ids_freed_by_the_smoke_clean_up_are_not_reused(dc: Dialcues, alice: Tenant) -> None:
    reminder_id = add_reminder(dc, alice, "Smoke")
    execution_id = add_execution(alice, reminder_id=reminder_id)
    with dc.reminders.repos.transactions.atomic():
        PeeweeSmokeStore().discard(alice.user.id, reminder_id, None)

    assert add_reminder(dc, alice, "Next") == reminder_id + 1
    assert add_execution(alice) == execution_id + 1


@pytest.mark.parametrize("table", list(_ROWS))
def test_deleting_the_newest_row_does_not_free_its_id(dc: Dialcues, table: str) -> None:
    first, second = add_row(dc.db, table), add_row(dc.db, table)
    delete_row(dc.db, table, second)

    third = add_row(dc.db, table)

    assert (first, second, third) == (1, 2, 3)


def test_a_late_outcome_of_a_discarded_attempt_never_lands_on_a_newer_attempt(
    dc: Dialcues, alice: Tenant
) -> None:
    """The smoke clean-up removes a reminder and its attempt while its call may be in the air.

    The worker still holds that attempt's id; were it handed to the next attempt, the old
    call's outcome would be written on it and would finish the newer reminder.
    """
    clock = dc.clock
    assert isinstance(clock, FakeClock)
    attempts = dc.attempts()
    smoke = add_reminder(dc, alice, "Smoke")
    clock.set(AT)
    (in_flight,) = attempts.claim(10)
    with dc.reminders.repos.transactions.atomic():
        PeeweeSmokeStore().discard(alice.user.id, smoke, None)
    newer = add_reminder(dc, alice, "Pills")
    (dialing,) = attempts.claim(10)

    late = Finished(in_flight.execution.id, ExecutionStatus.COMPLETED, False, AT)
    applied = attempts.finish([late])

    assert applied == []
    assert dialing.execution.id != in_flight.execution.id
    assert dc.reminders.get(alice.principal, newer).status is ReminderStatus.IN_PROGRESS
    assert dc.executions.get(alice.principal, dialing.execution.id).status is (
        ExecutionStatus.IN_PROGRESS
    )


# ----------------------------------------------------------------------------- v6 on SQLite
def test_a_v5_database_reuses_ids_before_migrating(legacy_sqlite: Dialcues) -> None:
    """The premise: without v6, SQLite hands the deleted newest id out again."""
    t = make_tenant(legacy_sqlite)
    add_reminder(legacy_sqlite, t, "One")
    second = add_reminder(legacy_sqlite, t, "Two")
    delete_reminder(legacy_sqlite, t, second)

    assert add_reminder(legacy_sqlite, t, "Three") == second


def test_v6_keeps_the_rows_and_indexes_of_a_v5_database(legacy_sqlite: Dialcues) -> None:
    db = legacy_sqlite.db
    t = make_tenant(legacy_sqlite)
    reminder_ids = [add_reminder(legacy_sqlite, t, title) for title in ("One", "Two", "Three")]
    for rid in reminder_ids:
        add_execution(t, reminder_id=rid)
    for table in [*_ROWS, *_ROWS]:
        add_row(db, table)
    # (v10 fills an execution's unknown occurrence_at from scheduled_for: not compared)
    columns = {
        t: ", ".join(c.name for c in db.get_columns(t) if c.name != "occurrence_at")
        for t in legacy_tables()
    }
    rows = {
        table: db.execute_sql(f"SELECT {columns[table]} FROM {table} ORDER BY id").fetchall()
        for table in legacy_tables()
    }
    indexes = {table: index_list(db, table) for table in legacy_tables()}

    reached = database.migrate(db)

    assert reached == len(database.MIGRATIONS)
    # Later migrations may add columns; the rows keep every value they had.
    after = {
        t: db.execute_sql(f"SELECT {columns[t]} FROM {t} ORDER BY id").fetchall() for t in rows
    }
    assert after == rows
    assert {table: index_list(db, table) for table in legacy_tables()} == indexes
    assert all(rows.values()) and all(indexes.values())
    assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []


def test_v6_leaves_every_table_with_an_autoincrement_id(legacy_sqlite: Dialcues) -> None:
    database.migrate(legacy_sqlite.db)

    for table in legacy_tables():
        (sql,) = legacy_sqlite.db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        assert '"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT' in sql, table


def test_v6_stops_a_v5_database_reusing_ids(legacy_sqlite: Dialcues) -> None:
    db = legacy_sqlite.db
    t = make_tenant(legacy_sqlite)
    add_reminder(legacy_sqlite, t, "One")
    newest = add_reminder(legacy_sqlite, t, "Two")
    newest_execution = add_execution(t, reminder_id=newest)
    newest_rows = {table: add_row(db, table) for table in _ROWS}
    database.migrate(db)

    delete_reminder(legacy_sqlite, t, newest)
    ExecutionRow.delete_by_id(newest_execution)
    for table, row_id in newest_rows.items():
        delete_row(db, table, row_id)

    assert add_reminder(legacy_sqlite, t, "Three") == newest + 1
    assert add_execution(t) == newest_execution + 1
    assert {table: add_row(db, table) for table in _ROWS} == {
        table: row_id + 1 for table, row_id in newest_rows.items()
    }


def test_v6_starts_reminder_ids_above_those_deleted_reminders_left_in_executions(
    legacy_sqlite: Dialcues,
) -> None:
    """Reminders deleted before v6 left their ids only in their executions: skip those too."""
    t = make_tenant(legacy_sqlite)
    add_reminder(legacy_sqlite, t, "One")
    deleted = [add_reminder(legacy_sqlite, t, title) for title in ("Two", "Three")]
    add_execution(t, reminder_id=deleted[0])
    for rid in deleted:
        delete_reminder(legacy_sqlite, t, rid)

    database.migrate(legacy_sqlite.db)

    assert add_reminder(legacy_sqlite, t, "Four") == deleted[0] + 1


def test_v6_leaves_a_database_created_with_autoincrement_ids_as_it_is(sqlite_url: str) -> None:
    platform = Dialcues.open(settings=settings_for(sqlite_url), clock=FakeClock(START))
    schema_sql = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    schema = platform.db.execute_sql(schema_sql).fetchall()
    try:
        with platform.db.atomic():
            database.MIGRATIONS[5](platform.db)
        assert platform.db.execute_sql(schema_sql).fetchall() == schema
    finally:
        platform.close()


# ----------------------------------------------------------------------------- v6 on PostgreSQL
@pytest.mark.postgres
def test_v6_is_a_no_op_on_postgres(legacy_postgres: Dialcues) -> None:
    db = legacy_postgres.db
    t = make_tenant(legacy_postgres)
    newest = add_reminder(legacy_postgres, t, "One")
    columns_sql = (
        "SELECT table_name, column_name, data_type, column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    )
    indexes_sql = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    )
    columns, indexes = (
        db.execute_sql(columns_sql).fetchall(),
        db.execute_sql(indexes_sql).fetchall(),
    )
    statements: list[str] = []
    real_execute_sql = db.execute_sql

    def spy(sql: str, params: Any = None) -> Any:
        statements.append(sql)
        return real_execute_sql(sql, params)

    db.execute_sql = spy  # type: ignore[method-assign]
    try:
        with db.atomic():
            database.MIGRATIONS[5](db)
    finally:
        del db.execute_sql
    after_v6 = db.execute_sql(columns_sql).fetchall(), db.execute_sql(indexes_sql).fetchall()
    reached = database.migrate(db)
    delete_reminder(legacy_postgres, t, newest)

    assert statements == []
    assert reached == len(database.MIGRATIONS)
    assert after_v6 == (columns, indexes)
    assert add_reminder(legacy_postgres, t, "Two") == newest + 1


def test_reminder_row_keeps_bigserial_on_postgres() -> None:
    """The SQLite-only ``AUTOINCREMENT`` never reaches PostgreSQL's DDL."""
    pg = pw.PostgresqlDatabase(None)
    with pg.bind_ctx([ReminderRow]):
        sql, _ = pg.get_sql_context().sql(ReminderRow._schema._create_table()).query()

    assert '"id" BIGSERIAL NOT NULL PRIMARY KEY,' in sql
    assert "AUTOINCREMENT" not in sql
