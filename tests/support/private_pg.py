"""A private PostgreSQL cluster for tests that stop, restart or break the database.

The shared server on port 5432 is never touched: :func:`private_cluster` runs ``initdb`` into
a new temporary directory and ``pg_ctl`` on a free port of 127.0.0.1, so a test may restart
or stop *its* server without disturbing any other test or process. The binaries come from
``$(pg_config --bindir)``; ``initdb`` refuses to run as root, so as root every command runs as
the ``postgres`` user (``runuser -u postgres -- …``) in a directory chowned to it. The cluster
trusts every local connection, listens on 127.0.0.1 only, keeps its unix socket inside its own
directory and runs with ``fsync=off`` (nothing here needs to survive a power cut). At the end
it is stopped (``immediate``) and its directory removed, whatever happened.

When the binaries (or ``runuser`` and the ``postgres`` user, as root) are missing the test is
skipped with the reason, except under ``CI=true`` where it fails (as ``postgres_database`` of
``tests/conftest.py`` does)::

    with private_cluster() as cluster:
        url = cluster.url            # postgresql://postgres@127.0.0.1:PORT/dialcues
        cluster.stop()               # pg_ctl stop -m fast
        cluster.start()              # pg_ctl start, returns once it accepts connections
        cluster.restart()            # pg_ctl restart -m fast

or the ``private_pg`` fixture.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["ClusterUnavailable", "PrivateCluster", "private_cluster", "private_pg"]

IN_CI = os.environ.get("CI", "").lower() == "true"
OWNER = "postgres"
DATABASE = "dialcues"
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "log_connections": "off",
}
"""postgresql.conf lines of every private cluster (the port and socket dir are added)."""
COMMAND_SECONDS = 60


class ClusterUnavailable(RuntimeError):
    """This machine cannot run a private cluster (binaries, ``runuser`` or user missing)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bindir() -> Path:
    """Return PostgreSQL's server binary directory, or raise ``ClusterUnavailable``."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise ClusterUnavailable("pg_config is not on PATH (no PostgreSQL server installed)")
    found = subprocess.run(
        [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30
    )
    bindir = Path(found.stdout.strip())
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (bindir / tool).is_file():
            raise ClusterUnavailable(f"{bindir / tool} is missing (install the PostgreSQL server)")
    return bindir


def _as_owner() -> list[str]:
    """Return the command prefix that runs a tool as the cluster's owner ([] when not root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise ClusterUnavailable("running as root and runuser is not on PATH (initdb refuses root)")
    try:
        pwd.getpwnam(OWNER)
    except KeyError:
        raise ClusterUnavailable(f"running as root and there is no {OWNER!r} user") from None
    return ["runuser", "-u", OWNER, "--"]


@dataclass
class PrivateCluster:
    """One PostgreSQL cluster of a test's own, in ``root`` (data, socket and log inside)."""

    bindir: Path
    root: Path
    port: int
    prefix: list[str] = field(default_factory=list)
    running: bool = False

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the server puts its unix socket (inside ``root``, never /var/run)."""
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        """The server's log (``pg_ctl -l``)."""
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        """The test database: ``postgresql://postgres@127.0.0.1:PORT/dialcues``."""
        return f"postgresql://{OWNER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def admin_url(self) -> str:
        """The maintenance database ``postgres`` of this cluster."""
        return f"postgresql://{OWNER}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool as the owner; raise with its output when it fails."""
        command = [*self.prefix, str(self.bindir / tool), *args]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=COMMAND_SECONDS,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
                f"\n--- server log ---\n{self.server_log()}"
            )
        return done

    def initialize(self) -> None:
        """``initdb`` with trust auth, then this cluster's settings in ``postgresql.conf``."""
        self._run(
            "initdb", "-D", str(self.data), "-U", OWNER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        self.socket_dir.mkdir()
        if self.prefix:
            shutil.chown(self.socket_dir, OWNER, OWNER)
        lines = {
            **SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# private test cluster\n")
            conf.writelines(f"{name} = {value}\n" for name, value in lines.items())

    def start(self) -> None:
        """Start the server; return once it accepts connections."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-w", "-t", "60", "start"
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back and disconnect every session)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m MODE``: every connection is cut; returns once it is back."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-m", mode,
            "-w", "-t", "60", "restart",
        )  # fmt: skip
        self.running = True

    def create_database(self, name: str = DATABASE) -> None:
        """Create a database in this cluster."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def server_log(self, tail: int = 40) -> str:
        """Return the last lines of the server's log (for assertion messages)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-tail:])
        except OSError:
            return "(no server log)"

    def destroy(self) -> None:
        """Stop the server at once if it runs, and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False
        shutil.rmtree(self.root, ignore_errors=True)


def _prepare() -> tuple[Path, list[str]]:
    """Return the binaries and the command prefix; skip (or fail under CI=true) without them."""
    try:
        return _bindir(), _as_owner()
    except ClusterUnavailable as exc:
        if IN_CI:
            pytest.fail(f"CI=true requires a private PostgreSQL cluster: {exc}")
        pytest.skip(f"no private PostgreSQL cluster: {exc}")


@contextlib.contextmanager
def private_cluster(attempts: int = 3) -> Iterator[PrivateCluster]:
    """Run a new private cluster with an empty ``dialcues`` database for the block.

    A free port can be taken by someone else before the server binds it: starting is tried
    ``attempts`` times, each on a new port.
    """
    bindir, prefix = _prepare()
    parent = Path(tempfile.gettempdir())
    if prefix and not parent.stat().st_mode & stat.S_IXOTH:
        parent = Path("/tmp")  # the owner must be able to reach its directory
    root = Path(tempfile.mkdtemp(prefix="dialcues-pg-", dir=parent))
    if prefix:
        shutil.chown(root, OWNER, OWNER)
    cluster = PrivateCluster(bindir, root, _free_port(), prefix)
    try:
        cluster.initialize()
        for attempt in range(attempts):
            try:
                cluster.start()
                break
            except RuntimeError as exc:
                if attempt == attempts - 1 or "already in use" not in str(exc):
                    raise
                cluster.port = _free_port()
                conf = cluster.data / "postgresql.conf"
                conf.write_text(conf.read_text() + f"port = {cluster.port}\n")
                time.sleep(0.2)
        cluster.create_database()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def private_pg() -> Iterator[PrivateCluster]:
    """A private PostgreSQL cluster of this test alone (stopped and removed after it)."""
    with private_cluster() as cluster:
        yield cluster
