"""Shared fixtures: a real SQLite file, the real PostgreSQL (when reachable), tenants.

Helpers live in the ``support`` package (``from support.platform import make_tenant``):
nothing imports this module by name, so every folder may have a ``conftest.py`` of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.databases import (
    IN_CI,
    PG_URL,
    admin,
    clear_migrated_postgres,
    postgres_reachable,
    reset_postgres,
)
from support.platform import Tenant, make_tenant, settings_for

from dialcues_core import Dialcues


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'dialcues.db'}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this test session's own (so parallel runs never share tables)."""
    reason = postgres_reachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"dialcues_test_{os.getpid()}"
    admin(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """The real PostgreSQL, emptied; skipped when absent (never under CI=true)."""
    reset_postgres(postgres_database)
    return postgres_database


@pytest.fixture
def migrated_postgres_url(postgres_database: str) -> str:
    """The real PostgreSQL at the latest schema with no rows (what a fresh platform opens)."""
    clear_migrated_postgres(postgres_database)
    return postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: the behaviour suites run against both.

    PostgreSQL comes migrated and without rows; a suite that needs an empty database asks for
    ``empty_url``.
    """
    name = "sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn, with no table at all (migrations start from here)."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The embedded platform on a fresh SQLite file."""
    platform = Dialcues.open(settings=settings_for(sqlite_url))
    yield platform
    platform.close()


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One tenant on the SQLite platform."""
    return make_tenant(dc, email="jane@example.com")
