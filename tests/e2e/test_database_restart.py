"""A database that goes away and comes back: real processes, a private PostgreSQL, real signals.

Every test runs its own cluster (``support.private_pg``), never the shared server, and stops
or restarts it under ``dialcues serve`` and ``dialcues worker`` processes:

* mid-burst, a ``pg_ctl stop -m fast`` / start cuts every connection: dialing resumes by
  itself, each reminder is dialed exactly once and finishes, the API answers 503
  ``unavailable`` with ``Retry-After`` while the database is away (never a 500), and no
  process exits;
* a worker (or ``serve``) that cannot reach the database for
  ``DIALCUES_DB_FAILURE_EXIT_SECONDS`` exits 75 with one line on stderr — also when the
  network is cut silently (a proxy that stops forwarding but keeps the sockets open);
* ``SIGTERM`` after (or during) an outage still exits 0 within ``DIALCUES_SHUTDOWN_SECONDS``;
* gRPC answers ``UNAVAILABLE`` while the database is away, and heals after.

Every process's stderr goes to a file of the test and is quoted by failing assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import psycopg
import pytest
from fakes.vapi_server import FakeVapi, start_fake_vapi
from support.platform import settings_for
from support.private_pg import PrivateCluster, private_cluster

from dialcues_core import Dialcues
from dialcues_core.testing import insert_reminders, one_off_reminder
from dialcues_grpc._pb.dialcues.v1 import reminders_pb2, reminders_pb2_grpc
from e2e.support import BASE, VAPI_LINE_NUMBER, free_port, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BURST = 240
BATCHES = 12
BATCH_GAP = 1.5
"""240 reminders fall due in 12 batches 1.5 s apart, so the outage lands mid-burst."""
NUMBER = "+14155552671"
"""Its last four digits end a call ``assistant-ended-call-after-message-spoken``: completed."""
DOWN_SECONDS = 3.0
SETTLE_SECONDS = 90.0
SHUTDOWN_SECONDS = 10
MARGIN = 1.5
"""The hard stop ends a shutdown half a second past its budget."""
EXIT_AFTER = 3
FINAL = ("completed", "failed")


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    """A private PostgreSQL cluster of this test alone."""
    with private_cluster() as running:
        yield running


# ----------------------------------------------------------------------------- setup
@dataclass(frozen=True)
class Tenant:
    """The organization, user, line and raw API key the processes serve."""

    org_id: str
    user_id: str
    line_id: str
    key: str


def seed_tenant(url: str, public_url: str, vapi: FakeVapi | None = None) -> Tenant:
    """Migrate ``url`` and create a tenant (a Vapi line on ``vapi``, else a simulated one)."""
    dc = Dialcues.open(settings=settings_for(url, public_url=public_url))
    try:
        org = dc.accounts.create_organization("Restart")
        if vapi is None:
            line = dc.accounts.add_line(org.id, "simulated", "+14155550100", default=True)
        else:
            provider = {
                "provider": "vapi",
                "api_key": vapi.api_key,
                "assistant_id": "asst_restart",
                "webhook_secret": vapi.webhook_secret,
                "base_url": vapi.base_url,
                "concurrency": 500,
            }
            dc.accounts.set_provider(org.id, provider)
            line = dc.accounts.add_line(
                org.id, "vapi", VAPI_LINE_NUMBER, provider_line_id="pn_restart", default=True
            )
        user = dc.accounts.create_user(org.id, "restart@example.com", "Restart")
        return Tenant(org.id, user.id, line.id, dc.accounts.create_api_key(user.id).raw)
    finally:
        dc.close()


def seed_reminders(url: str, tenant: Tenant, due: list[datetime]) -> None:
    """Insert one one-off reminder to :data:`NUMBER` per instant of ``due``."""
    dc = Dialcues.open(settings=settings_for(url), migrate=False)
    try:
        reminders = [
            one_off_reminder(tenant.user_id, tenant.org_id, tenant.line_id, at, phone_number=NUMBER)
            for at in due
        ]
        insert_reminders(dc, reminders)
    finally:
        dc.close()


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]] | None:
    """Run one read on a fresh connection of its own; None when the database does not answer."""
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return list(conn.execute(sql, params).fetchall())
    except psycopg.OperationalError:
        return None


# ----------------------------------------------------------------------------- processes
@dataclass
class Proc:
    """One ``dialcues`` process and the file its stderr goes to."""

    name: str
    proc: asyncio.subprocess.Process
    stderr_file: Path
    signalled_by_test: bool = False

    def stderr(self) -> str:
        """Everything the process wrote to stderr so far."""
        return self.stderr_file.read_text(errors="replace")

    def report(self) -> str:
        """The process's name, exit status and stderr tail, for an assertion message."""
        tail = "\n".join(self.stderr().splitlines()[-60:])
        how = " after the test's SIGTERM/SIGKILL" if self.signalled_by_test else ""
        return f"--- {self.name} (returncode {self.proc.returncode}{how}) stderr ---\n{tail}"


def env_for(url: str, public_url: str, **settings: str) -> dict[str, str]:
    """A process environment on ``url`` (``e2e.support.worker_env``) plus ``DIALCUES_*`` extras."""
    env = worker_env(url, public_url)
    env.update({f"DIALCUES_{name.upper()}": value for name, value in settings.items()})
    return env


async def launch(tmp_path: Path, name: str, env: dict[str, str], *args: str) -> Proc:
    """Start ``python -m dialcues_cli.main ARGS``; its stderr goes to ``tmp_path/NAME.stderr``."""
    path = tmp_path / f"{name}.stderr"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialcues_cli.main", *args,
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=fd,
        )  # fmt: skip
    finally:
        os.close(fd)
    return Proc(name, proc, path)


async def exit_status(process: Proc, within: float) -> int | None:
    """Wait up to ``within`` seconds for the process to exit; its status, or None if it runs."""
    try:
        return await asyncio.wait_for(process.proc.wait(), within)
    except TimeoutError:
        return None


async def terminate(processes: list[Proc]) -> None:
    """SIGTERM every process still running; SIGKILL what has not exited 20 s later."""
    for process in processes:
        if process.proc.returncode is None:
            process.signalled_by_test = True
            process.proc.send_signal(signal.SIGTERM)
    for process in processes:
        if await exit_status(process, 20) is None:
            process.proc.kill()
            await process.proc.wait()


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float, what: str, *watched: Proc
) -> None:
    """Poll ``check`` until true; fail (quoting stderr) on timeout or if a process exits."""
    deadline = time.monotonic() + within
    while not await check():
        dead = [p for p in watched if p.proc.returncode is not None]
        if dead or time.monotonic() > deadline:
            reports = "\n".join(p.report() for p in watched)
            raise AssertionError(f"{what}: not within {within} s\n{reports}")
        await asyncio.sleep(0.2)


def listening(port: int) -> bool:
    """Tell whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def start_serve(
    tmp_path: Path, env: dict[str, str], http: aiohttp.ClientSession, rest: int, grpc_port: int
) -> Proc:
    """Start ``dialcues serve`` on these ports; return once /healthz and gRPC answer."""
    serve = await launch(
        tmp_path, "serve", env, "serve", "--rest-port", str(rest), "--grpc-port", str(grpc_port)
    )

    async def ready() -> bool:
        try:
            async with http.get(f"http://127.0.0.1:{rest}/healthz") as reply:
                return reply.status == 200 and listening(grpc_port)
        except aiohttp.ClientError:
            return False

    await eventually(ready, 30, "serve answering /healthz and gRPC", serve)
    return serve


async def connected_since(cluster: PrivateCluster, since: float) -> bool:
    """Tell whether a connection to the database was opened since ``since`` (epoch seconds)."""
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_start >= to_timestamp(%s)"
    )
    rows = await asyncio.to_thread(query, cluster.url, sql, (since,))
    return bool(rows and rows[0][0] > 0)


def tracebacks(process: Proc) -> str:
    """Say which log records came with a traceback on the process's stderr."""
    lines = process.stderr().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    records = Counter(
        " ".join(lines[i - 1].split()[2:]) for i in starts if i and lines[i - 1][:1].isdigit()
    )
    summary = f"{len(starts)} 'Traceback' blocks on {process.name}'s stderr, after {dict(records)}"
    return f"{summary}\n{process.report()}"


# ----------------------------------------------------------------------------- REST watch
@dataclass
class Sample:
    """One answer of ``GET /reminders`` (``status`` None: no HTTP answer at all)."""

    at: float
    database_down: bool
    status: int | None
    code: str | None = None
    retry_after: str | None = None


@dataclass
class ApiWatch:
    """Polls ``GET /api/public/v1/reminders`` with the key and keeps every answer."""

    http: aiohttp.ClientSession
    root: str
    key: str
    database_down: bool = False
    samples: list[Sample] = field(default_factory=list)

    async def run(self) -> None:
        """Poll every 0.2 s until cancelled."""
        while True:
            self.samples.append(await self.sample())
            await asyncio.sleep(0.2)

    async def sample(self) -> Sample:
        """Send one request and record its status, error code and Retry-After."""
        down, at = self.database_down, time.time()
        headers = {"Authorization": f"Bearer {self.key}"}
        url = f"{self.root}{BASE}/reminders?page_size=100"
        try:
            async with self.http.get(url, headers=headers) as reply:
                body = await reply.json(content_type=None) if reply.status != 200 else None
                code = (body or {}).get("error", {}).get("code") if body else None
                return Sample(at, down, reply.status, code, reply.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return Sample(at, down, None)


# ----------------------------------------------------------------------------- the burst
async def api_health(http: aiohttp.ClientSession, root: str, key: str) -> Any:
    """``GET /api/public/v1/health`` with the key: its JSON, or its status when not 200."""
    try:
        headers = {"Authorization": f"Bearer {key}"}
        async with http.get(f"{root}{BASE}/health", headers=headers) as reply:
            return await reply.json() if reply.status == 200 else reply.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return repr(exc)


async def outage(cluster: PrivateCluster, watch: ApiWatch | None = None) -> tuple[float, float]:
    """``pg_ctl stop -m fast``, :data:`DOWN_SECONDS` away, start; return (stopped, back) times."""
    if watch is not None:
        watch.database_down = True
    stopped = time.time()
    await asyncio.to_thread(cluster.stop, "fast")
    await asyncio.sleep(DOWN_SECONDS)
    await asyncio.to_thread(cluster.start)
    back = time.time()
    if watch is not None:
        watch.database_down = False
    return stopped, back


def progress(url: str) -> dict[str, dict[str, int]] | None:
    """Reminders and executions of the database counted by status (None: it does not answer)."""
    reminders = query(url, "SELECT status, count(*) FROM reminders GROUP BY status")
    executions = query(url, "SELECT status, count(*) FROM executions GROUP BY status")
    if reminders is None or executions is None:
        return None
    return {"reminders": dict(reminders), "executions": dict(executions)}


def all_final(counts: dict[str, dict[str, int]] | None) -> bool:
    """Tell whether every reminder and every execution has a final status."""
    if counts is None or sum(counts["reminders"].values()) != BURST:
        return False
    open_reminders = sum(n for s, n in counts["reminders"].items() if s not in FINAL)
    open_executions = sum(
        n for s, n in counts["executions"].items() if s in ("queued", "in_progress")
    )
    return open_reminders == 0 and open_executions == 0


def seconds_to_first_claim(url: str, back: float) -> float | None:
    """Seconds from the database's return to the first execution claimed after it."""
    rows = query(
        url, "SELECT min(executed_at) FROM executions WHERE executed_at >= %s", (int(back * 1000),)
    )
    first = rows[0][0] if rows else None
    return None if first is None else round(first / 1000 - back, 3)


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Write the run's measurements as JSON and print where (``pytest -s`` shows it)."""
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str))
    print(f"\ndatabase restart summary: {path}\n{json.dumps(summary['measured'], indent=2)}")


async def test_a_database_restart_mid_burst_dials_every_reminder_once_and_heals(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    """pg_ctl stop/start under serve and two workers: no 500, 503s while down, all done once."""
    async with (
        start_fake_vapi(webhook_delay=1.0) as vapi,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):
        rest, grpc_port = free_port(), free_port()
        root = f"http://127.0.0.1:{rest}"
        tenant = seed_tenant(cluster.url, root, vapi)
        env = env_for(cluster.url, root, db_failure_exit_seconds="300")
        procs = [await start_serve(tmp_path, env, http, rest, grpc_port)]
        procs += [await launch(tmp_path, f"worker{i}", env, "worker") for i in (1, 2)]
        watch = ApiWatch(http, root, tenant.key)
        watcher = asyncio.create_task(watch.run())
        try:
            first_due = datetime.now(UTC) + timedelta(seconds=3)
            due = [first_due + timedelta(seconds=BATCH_GAP * (i % BATCHES)) for i in range(BURST)]
            seed_reminders(cluster.url, tenant, sorted(due))

            async def dialing() -> bool:
                return len(vapi.calls) >= BURST // 6

            await eventually(dialing, 30, "the first 40 calls", *procs)
            stopped, back = await outage(cluster, watch)

            async def finished() -> bool:
                return all_final(await asyncio.to_thread(progress, cluster.url))

            settled_after: float | None = None
            with contextlib.suppress(AssertionError):
                await eventually(finished, SETTLE_SECONDS, "every reminder final")
                settled_after = round(time.time() - back, 3)
            await vapi.settle()
            last = await watch.sample()  # one last answer, once everything settled
            health = await api_health(http, root, tenant.key)
        finally:
            watcher.cancel()
            alive = {p.name: p.proc.returncode is None for p in procs}
            await terminate(procs)

    reports = "\n".join(p.report() for p in procs) + f"\n--- postgres ---\n{cluster.server_log()}"
    counts = progress(cluster.url)
    by_reminder = Counter(c["assistantOverrides"]["metadata"]["reminder_id"] for c in vapi.calls)
    by_execution = Counter(c["assistantOverrides"]["metadata"]["execution_id"] for c in vapi.calls)
    statuses = Counter(str(s.status) for s in watch.samples)
    while_down = Counter(f"{s.status} {s.code}" for s in watch.samples if s.database_down)
    five_hundreds = [
        s for s in watch.samples if s.status is not None and s.status >= 500 and s.status != 503
    ]
    unavailable = [s for s in watch.samples if s.status == 503 and s.code == "unavailable"]
    event_answers = Counter(str(d.http_status) for d in vapi.deliveries)
    measured = {
        "seconds_database_down": round(back - stopped, 3),
        "seconds_to_first_claim_after_return": seconds_to_first_claim(cluster.url, back),
        "seconds_from_return_to_all_final": settled_after,
        "calls_created": len(vapi.calls),
        "distinct_reminders_called": len(by_reminder),
        "rest_statuses": dict(statuses),
        "rest_while_down": dict(while_down),
        "provider_event_answers": dict(event_answers),
        "final_counts": counts,
        "processes_alive_at_end": alive,
        "last_rest_status": last.status,
        "health_after": health,
    }
    write_summary(tmp_path / "database_restart.json", {"measured": measured})

    assert all(alive.values()), f"a process exited during the test: {alive}\n{reports}"
    assert settled_after is not None, (
        f"not every reminder final {SETTLE_SECONDS} s after the restart: {counts}\n{reports}"
    )
    assert counts is not None and counts["reminders"] == {"completed": BURST}, (
        f"{counts}\n{reports}"
    )
    assert len(by_reminder) == BURST, f"{len(by_reminder)} of {BURST} reminders were called"
    assert [r for r, n in by_reminder.items() if n > 1] == [], by_reminder.most_common(5)
    assert [e for e, n in by_execution.items() if n > 1] == [], by_execution.most_common(5)
    assert vapi.rejections == []
    assert five_hundreds == [], (
        f"5xx other than 503 from GET /reminders: {five_hundreds[:5]}\n{reports}"
    )
    assert any(s.retry_after for s in unavailable), (
        f"no 503 unavailable with Retry-After: {while_down}"
    )
    assert "500" not in event_answers, f"provider events answered 500: {event_answers}\n{reports}"
    assert isinstance(health, dict), health
    assert health["workers"]["alive"] == 3, health  # serve and two workers, by heartbeat
    assert health["last_claim_at"] is not None and health["oldest_due_at"] is None, health
    assert health["database"] == "ok" and health["tzdata"], health


# ----------------------------------------------------------------------------- exit, shutdown
@pytest.mark.parametrize("command", ["worker", "serve"])
async def test_a_dispatcher_cut_off_from_the_database_exits_nonzero_with_one_line(
    cluster: PrivateCluster, tmp_path: Path, command: str
) -> None:
    """DIALCUES_DB_FAILURE_EXIT_SECONDS=3: the process exits 75 soon after, one stderr line."""
    seed_tenant(cluster.url, "http://127.0.0.1:9")
    env = env_for(cluster.url, "http://127.0.0.1:9", db_failure_exit_seconds=str(EXIT_AFTER))
    launched = time.time()
    args = [command] if command == "worker" else [command, *serve_ports()]
    worker = await launch(tmp_path, command, env, *args)
    try:
        await eventually(
            lambda: connected_since(cluster, launched), 30, "the worker connected", worker
        )
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.stop, "fast")
        status = await exit_status(worker, EXIT_AFTER + 10)
    finally:
        await terminate([worker])
    stderr = worker.stderr()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert status is not None, (
        f"still running {EXIT_AFTER + 10} s after the database stopped\n{worker.report()}"
    )
    assert status == 75, worker.report()
    assert "Traceback" not in stderr, tracebacks(worker)
    assert lines and lines[-1].startswith(f"dialcues {command}: exiting: the database"), (
        worker.report()
    )


def serve_ports() -> list[str]:
    """``serve``'s port flags, on free ports."""
    return ["--rest-port", str(free_port()), "--grpc-port", str(free_port())]


# ----------------------------------------------------------------------------- a network cut
class FreezingProxy:
    """A TCP proxy in front of the cluster that, once frozen, forwards nothing more while it
    keeps every connection open: a network cut TCP itself cannot see (the peer still acks)."""

    def __init__(self, port: int):
        self.port = port
        self.frozen = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Listen on a free port; return it."""
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                if self.frozen.is_set():
                    await asyncio.Event().wait()  # hold the bytes for ever, keep the socket
                writer.write(data)
                await writer.drain()

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if self.server is not None:
            await self.server.wait_closed()


@pytest.mark.parametrize("ending", ["watchdog", "sigterm"])
async def test_a_silent_network_cut_neither_hangs_a_worker_nor_its_shutdown(
    cluster: PrivateCluster, tmp_path: Path, ending: str
) -> None:
    """Behind a proxy that stops forwarding: the watchdog still ends the worker (75), and a
    SIGTERM is still honoured within DIALCUES_SHUTDOWN_SECONDS (exit 0)."""
    seed_tenant(cluster.url, "http://127.0.0.1:9")
    port = int(cluster.url.rsplit(":", 1)[1].split("/")[0])
    proxy = FreezingProxy(port)
    via = cluster.url.replace(f":{port}/", f":{await proxy.start()}/")
    exit_after = "5" if ending == "watchdog" else "0"
    env = env_for(via, "http://127.0.0.1:9", db_failure_exit_seconds=exit_after,
                  shutdown_seconds="5")  # fmt: skip
    worker = await launch(tmp_path, "worker", env, "worker")
    try:
        await asyncio.sleep(4.0)
        assert worker.proc.returncode is None, worker.report()
        proxy.frozen.set()
        if ending == "sigterm":
            await asyncio.sleep(2.0)
            worker.proc.send_signal(signal.SIGTERM)
            status = await exit_status(worker, 5 + 1.5)
            assert status == 0, f"not gone 6.5 s after SIGTERM\n{worker.report()}"
        else:
            status = await exit_status(worker, 5 + 15 + 5 + 5)  # cap, beat timeout, budget
            assert status == 75, worker.report()
    finally:
        await terminate([worker])
        await proxy.close()
    assert "Traceback" not in worker.stderr(), tracebacks(worker)


@pytest.mark.parametrize("database_back", [True, False], ids=["after-outage", "during-outage"])
async def test_sigterm_after_or_during_an_outage_exits_zero_within_the_shutdown_budget(
    cluster: PrivateCluster, tmp_path: Path, database_back: bool
) -> None:
    """serve gets SIGTERM after a 3 s outage (or while the database is still away): exit 0."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        rest, grpc_port = free_port(), free_port()
        root = f"http://127.0.0.1:{rest}"
        tenant = seed_tenant(cluster.url, root)
        env = env_for(
            cluster.url, root, shutdown_seconds=str(SHUTDOWN_SECONDS),
            db_failure_exit_seconds="60" if database_back else "0",
        )  # fmt: skip
        serve = await start_serve(tmp_path, env, http, rest, grpc_port)
        watch = ApiWatch(http, root, tenant.key)
        try:
            await watch.sample()
            await asyncio.to_thread(cluster.stop, "fast")
            for _ in range(int(DOWN_SECONDS / 0.5)):
                await watch.sample()  # the REST side meets the outage too
                await asyncio.sleep(0.5)
            if database_back:
                await asyncio.to_thread(cluster.start)
                await asyncio.sleep(1.0)
            assert serve.proc.returncode is None, serve.report()
            serve.proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            status = await exit_status(serve, SHUTDOWN_SECONDS + MARGIN)
            took = time.monotonic() - started
        finally:
            await terminate([serve])
    assert status is not None, (
        f"still running {SHUTDOWN_SECONDS + MARGIN} s after SIGTERM\n{serve.report()}"
    )
    assert status == 0, f"exit {status} after {took:.1f} s\n{serve.report()}"
    assert "Traceback" not in serve.stderr(), tracebacks(serve)


async def rpc_status(call: Awaitable[Any]) -> grpc.StatusCode:
    """Await one RPC; return OK, or the status code it failed with."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def test_grpc_answers_unavailable_while_the_database_is_away_and_heals(
    cluster: PrivateCluster, tmp_path: Path
) -> None:
    """ListReminders and GetReminder answer UNAVAILABLE (not INTERNAL) while it is down."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        rest, grpc_port = free_port(), free_port()
        root = f"http://127.0.0.1:{rest}"
        tenant = seed_tenant(cluster.url, root)
        seed_reminders(cluster.url, tenant, [datetime.now(UTC) + timedelta(days=1)])
        serve = await start_serve(tmp_path, env_for(cluster.url, root), http, rest, grpc_port)
        md = (("authorization", f"Bearer {tenant.key}"),)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                stub = reminders_pb2_grpc.ReminderServiceStub(channel)
                listed = await stub.ListReminders(reminders_pb2.ListRemindersRequest(), metadata=md)
                get = reminders_pb2.GetReminderRequest(id=listed.items[0].id)
                await asyncio.to_thread(cluster.stop, "fast")
                down = {
                    "ListReminders": await rpc_status(
                        stub.ListReminders(
                            reminders_pb2.ListRemindersRequest(), metadata=md, timeout=10
                        )
                    ),
                    "GetReminder": await rpc_status(stub.GetReminder(get, metadata=md, timeout=10)),
                }
                await asyncio.to_thread(cluster.start)
                back = time.monotonic()

                async def healed() -> bool:
                    reply = await rpc_status(stub.GetReminder(get, metadata=md, timeout=5))
                    return reply == grpc.StatusCode.OK

                healed_after: float | None = None
                with contextlib.suppress(AssertionError):
                    await eventually(healed, 15, "gRPC answering after the restart", serve)
                    healed_after = time.monotonic() - back
        finally:
            await terminate([serve])
    unavailable = grpc.StatusCode.UNAVAILABLE
    assert down == dict.fromkeys(down, unavailable), (
        f"{down}; healed: {healed_after}\n{serve.report()}"
    )
    assert healed_after is not None, f"gRPC still failing 15 s after the restart\n{serve.report()}"
