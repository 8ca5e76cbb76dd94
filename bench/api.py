"""REST benchmarks of ``targets.md``: the real app against a bare aiohttp baseline, same run.

    .venv/bin/python bench/api.py                  # GET /me and POST /reminders, 10 s each
    .venv/bin/python bench/api.py --seconds 5 --log-level warning

Each server runs in its own subprocess on 127.0.0.1 (port 0) and is loaded with ``wrk``
(``apt-get install -y wrk``) from this process:

* the app: ``create_app`` over a fresh SQLite file, rate limits off, usage events off, the
  default offloader, the access log at ``--log-level`` (info, the production default, writes
  to /dev/null) — the bare facade;
* the platform: the same app with the whole platform on — rate limits (a bucket so large it
  never refuses), usage events, and an ``Idempotency-Key`` (unique per request) on every
  POST — over its own fresh SQLite file;
* the baseline: a bare aiohttp app — ``GET /me`` checks the bearer token against a dict;
  ``POST /reminders`` does ``json.loads`` and one ``sqlite3`` INSERT + COMMIT on a WAL file
  (``synchronous=NORMAL``, as the app's database).

Prints requests/s of each and the ratios against the targets: the app against the baseline
(GET /me ≥ 60 %, POST ≥ 50 %), the platform against the app (≥ 70 % on both routes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GATE_OFF: dict[str, Any] = {"calling_window": "off", "frequency_caps": (None, None)}
"""responsible-calling.md section 19: benchmarks not about the calling rules turn them off."""

TARGETS = {"GET /me": 0.60, "POST /reminders": 0.50}
PLATFORM_TARGET = 0.70
"""The full platform middleware against the same routes with it off."""
NEVER_REFUSE = "read=1000000000/1000000000,write=1000000000/1000000000,anon=1000000000/1000000000"
PAYLOAD = {
    "title": "Bench",
    "message": "Benchmark call",
    "phone_number": "+14155552671",
    "timezone": "America/New_York",
    "scheduled_at": "2036-03-25T09:00:00",
}
POST_LUA = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""
IDEMPOTENT_LUA = """
prefix, counter = "", 0
function init(args) prefix = args[1] end
function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format()
end
"""


# ----------------------------------------------------------------------------- servers
def serve_app(db_url: str, log_level: str, platform: str = "") -> None:
    """Serve the real app (subprocess entry point); print the port once listening.

    ``platform`` non-empty: rate limits on (never refusing) and usage events recorded.
    """
    from dialcues_core import Dialcues, Runtime
    from dialcues_core.config import Settings, parse_rate_limits
    from dialcues_core.offload import Offloader
    from dialcues_rest.app import create_app

    logging.basicConfig(  # the CLI's format, written to /dev/null
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=open(os.devnull, "w"),  # noqa: SIM115
    )
    limits = parse_rate_limits(NEVER_REFUSE) if platform else None
    dc = Dialcues.open(settings=Settings(database_url=db_url, rate_limits=limits, **GATE_OFF))
    offloader = Offloader()
    # The platform mode enters the runtime (without dispatching) as `dialcues serve` does:
    # it is what writes the usage events the app queues.
    runtime = Runtime(dc, offloader, dispatch=False) if platform else None
    asyncio.run(_serve(lambda: create_app(dc, offloader, record_usage=bool(platform)), runtime))


def baseline_app(db_path: str, keys: dict[str, str]) -> object:
    """Build the bare aiohttp baseline: a dict-checked bearer token and one sqlite3 INSERT."""
    from aiohttp import web

    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=normal")
    conn.execute("CREATE TABLE IF NOT EXISTS reminders (id INTEGER PRIMARY KEY, body TEXT)")

    async def me(request: web.Request) -> web.Response:
        user = keys.get(request.headers.get("Authorization", ""))
        if user is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"user": {"id": user}})

    async def create(request: web.Request) -> web.Response:
        payload = json.loads(await request.read())
        cur = conn.execute("INSERT INTO reminders (body) VALUES (?)", (payload["title"],))
        conn.commit()
        return web.json_response({"id": cur.lastrowid, **payload}, status=201)

    app = web.Application()
    app.router.add_get("/api/public/v1/me", me)
    app.router.add_post("/api/public/v1/reminders", create)
    return app


def serve_baseline(db_path: str, key: str) -> None:
    """Serve the baseline (subprocess entry point); print the port once listening."""
    asyncio.run(_serve(lambda: baseline_app(db_path, {f"Bearer {key}": "usr_bench"})))


async def _serve(build: object, runtime: object = None) -> None:
    from aiohttp import web

    if runtime is not None:  # writes the usage events while serving, as in production
        await runtime.start()  # type: ignore[attr-defined]
    runner = web.AppRunner(build(), access_log=None)  # type: ignore[operator]
    # (cleanup is never reached: the process is terminated when the driver is done)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent goes


# ----------------------------------------------------------------------------- driver
@dataclass
class Server:
    """A server subprocess, the port it listens on, its API key and its POST script."""

    proc: subprocess.Popen[str]
    port: int
    key: str = ""
    script: str = ""

    def cpu_seconds(self) -> float:
        """Return the CPU time (user + system, all threads) the server has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    """One wrk run: requests/s, server CPU µs per request, answers that were not 2xx/3xx."""

    rps: float
    cpu_us: float
    errors: int


def seed(db_url: str) -> str:
    """Create a tenant with a simulated line in a fresh database; return its raw API key."""
    from dialcues_core import Dialcues
    from dialcues_core.config import Settings

    dc = Dialcues.open(settings=Settings(database_url=db_url, rate_limits=None, **GATE_OFF))
    org = dc.accounts.create_organization("Bench")
    user = dc.accounts.create_user(org.id, "bench@example.com", "Bench")
    dc.accounts.add_line(org.id, "simulated", "+14155550100", label="Bench")
    raw = dc.accounts.create_api_key(user.id).raw
    dc.close()
    return raw


def start(*args: str) -> Server:
    """Start ``bench/api.py <args>`` in a subprocess and wait until it listens."""
    proc = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,  # the server exits when this pipe closes, even if we crash
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    return Server(proc, int(proc.stdout.readline()))


def wrk(
    server: Server,
    path: str,
    seconds: int,
    connections: int,
    extra: list[str],
    script_args: list[str] | None = None,
) -> Result:
    """Load ``path`` with wrk (one thread) and return its figures and the server's CPU cost.

    ``script_args`` go to the Lua script's ``init`` (after the URL).
    """
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *extra]
    cpu_before = server.cpu_seconds()
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{server.port}{path}", *(script_args or [])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = server.cpu_seconds() - cpu_before
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Result(rps, cpu / count * 1e6, int(errors.group(1)) if errors else 0)


def measure(args: argparse.Namespace, server: Server, route: str, seconds: int) -> Result:
    """Load ``route`` (``GET /me`` with the key, or ``POST /reminders`` by the Lua script)."""
    if route == "GET /me":
        extra = ["-H", f"Authorization: Bearer {server.key}"]
        return wrk(server, "/api/public/v1/me", seconds, args.connections, extra)
    extra = ["-s", server.script]
    # The idempotent script takes a key prefix: a fresh one per run, so no request replays.
    prefix = [os.urandom(6).hex()] if server.script.endswith("idempotent.lua") else []
    return wrk(server, "/api/public/v1/reminders", seconds, args.connections, extra, prefix)


def best_of(args: argparse.Namespace, servers: dict[str, Server]) -> dict[str, dict[str, Result]]:
    """Measure every (server, route) ``args.rounds`` times, alternating; keep the best rps.

    Alternating within one run and keeping the best try cancels most of the noise of a
    shared machine (interference only ever slows a try down).
    """
    best: dict[str, dict[str, Result]] = {name: {} for name in servers}
    for route in TARGETS:
        for server in servers.values():
            measure(args, server, route, 1)  # warm-up: key cache, connections, page cache
        for _ in range(args.rounds):
            for name, server in servers.items():
                got = measure(args, server, route, args.seconds)
                if route not in best[name] or got.rps > best[name][route].rps:
                    best[name][route] = got
    return best


def run(args: argparse.Namespace, work: Path) -> None:
    """Start the three servers, measure, report, stop them."""
    servers = {
        "baseline": start("_baseline", str(work / "baseline.db"), args.key),
        "app": start("_app", f"sqlite:///{work / 'app.db'}", args.log_level),
        "platform": start("_app", f"sqlite:///{work / 'platform.db'}", args.log_level, "on"),
    }
    servers["baseline"].key, servers["baseline"].script = args.key, args.script
    servers["app"].key, servers["app"].script = args.key, args.script
    servers["platform"].key, servers["platform"].script = args.platform_key, args.idem_script
    try:
        report(best_of(args, servers))
    finally:
        for server in servers.values():
            server.proc.terminate()
            server.proc.wait()


def report(results: dict[str, dict[str, Result]]) -> None:
    """Print requests/s and CPU per request of each side, and the ratio against the target."""
    print(f"{'route':<16}{'baseline':>16}{'app':>16}{'ratio':>7}{'target':>7}  verdict")
    for route, target in TARGETS.items():
        base, app = results["baseline"][route], results["app"][route]
        ratio = app.rps / base.rps
        verdict = "ok" if ratio >= target else "MISS"
        print(
            f"{route:<16}{base.rps:>9.0f} rps{base.cpu_us:>4.0f}µs{app.rps:>9.0f} rps"
            f"{app.cpu_us:>4.0f}µs{ratio:>7.0%}{target:>7.0%}  {verdict}"
        )
        if base.errors or app.errors:
            print(f"  non-2xx answers: baseline {base.errors}, app {app.errors}")
    print(f"{'route':<16}{'app':>16}{'platform':>16}{'ratio':>7}{'target':>7}  verdict")
    for route in TARGETS:
        bare, full = results["app"][route], results["platform"][route]
        ratio = full.rps / bare.rps
        verdict = "ok" if ratio >= PLATFORM_TARGET else "MISS"
        print(
            f"{route:<16}{bare.rps:>9.0f} rps{bare.cpu_us:>4.0f}µs{full.rps:>9.0f} rps"
            f"{full.cpu_us:>4.0f}µs{ratio:>7.0%}{PLATFORM_TARGET:>7.0%}  {verdict}"
        )
        if full.errors:
            print(f"  non-2xx answers: platform {full.errors}")


def main() -> None:
    """Parse the arguments, seed the app's database, run the benchmark."""
    if len(sys.argv) > 1 and sys.argv[1] in ("_app", "_baseline"):
        (serve_app if sys.argv[1] == "_app" else serve_baseline)(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="tries per side; the best counts")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dialcues-bench-") as tmp:
        work = Path(tmp)
        args.key = seed(f"sqlite:///{work / 'app.db'}")
        args.platform_key = seed(f"sqlite:///{work / 'platform.db'}")
        body = json.dumps(json.dumps(PAYLOAD))
        script, idem = work / "post.lua", work / "idempotent.lua"
        script.write_text(POST_LUA.format(body=body, key=args.key))
        idem.write_text(POST_LUA.format(body=body, key=args.platform_key) + IDEMPOTENT_LUA)
        args.script, args.idem_script = str(script), str(idem)
        run(args, work)


if __name__ == "__main__":
    main()
