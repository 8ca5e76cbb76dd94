"""Shared fixtures: a real SQLite file, the real PostgreSQL (when reachable), tenants."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
import pytest

from dialcues_core import Dialcues
from dialcues_core.accounts.model import Organization, OutboundLine, Principal, User
from dialcues_core.config import Settings

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
    _admin(f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _admin(*statements: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """The real PostgreSQL, emptied; skipped when absent (never under CI=true)."""
    reset_postgres(postgres_database)
    return postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: the behaviour suites run against both."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


def settings_for(url: str, **changes: object) -> Settings:
    """Settings for tests: rate limits off, fast simulated dialer, short key cache."""
    base = Settings(database_url=url, rate_limits=None, simulated_delay=0.05)
    return base.replace(**changes)


@pytest.fixture
def dc(sqlite_url: str) -> Iterator[Dialcues]:
    """The embedded platform on a fresh SQLite file."""
    platform = Dialcues.open(settings=settings_for(sqlite_url))
    yield platform
    platform.close()


@dataclass
class Tenant:
    """An organization with one user, one simulated default line and one API key."""

    org: Organization
    user: User
    line: OutboundLine
    api_key: str
    principal: Principal


TenantFactory = Callable[..., Tenant]
_emails = itertools.count(1)


def make_tenant(platform: Dialcues, org: Organization | None = None, email: str = "") -> Tenant:
    """Create a tenant (a new organization unless ``org`` is given)."""
    accounts = platform.accounts
    if org is None:
        org = accounts.create_organization("Acme")
        line = accounts.add_line(org.id, "simulated", "+14155550100", label="Main")
    else:
        line = accounts.list_lines(org.id)[0]
    email = email or f"user{next(_emails)}@example.com"
    user = accounts.create_user(org.id, email, "Jane")
    issued = accounts.create_api_key(user.id, name="test")
    return Tenant(org, user, line, issued.raw, platform.authenticate(issued.raw))


@pytest.fixture
def tenant(dc: Dialcues) -> Tenant:
    """One tenant on the SQLite platform."""
    return make_tenant(dc, email="jane@example.com")
