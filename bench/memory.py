"""Memory of ``dialcues serve`` after many requests, against its own size at start.

    .venv/bin/python bench/memory.py [--requests 1000000] [--connections 32]

Starts the real ``dialcues serve`` (SQLite file, rate limits off, dispatcher on, logs to
/dev/null) with the demo tenant, warms it up with 10,000 requests, reads its RSS, sends the
requests with ``wrk`` (``GET /me`` and ``GET /reminders`` alternating by run, each half of the
total), and reads the RSS again. Target: grows by less than 20 MB.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "/api/public/v1"


def rss_mb(pid: int) -> float:
    """Return the resident set size of ``pid`` in MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    assert match is not None
    return int(match.group(1)) / 1024


def start_serve(tmp: str, port: int) -> tuple[subprocess.Popen[str], str]:
    """Start ``dialcues serve`` on an empty database; return it and the demo key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update({"DIALCUES_RATE_LIMITS": "off", "DIALCUES_LOG_LEVEL": "warning"})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dialcues_cli.main",
            "serve",
            "--rest-port",
            str(port),
            "--grpc-port",
            str(port + 1),
            "--database-url",
            f"sqlite:///{tmp}/m.db",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "API key" in line:
            return proc, line.rsplit(" ", 1)[1].strip()
    raise RuntimeError("serve exited before printing the demo key")


def wrk(url: str, key: str, requests: int, connections: int) -> float:
    """Send about ``requests`` requests with wrk; return the requests/s it reported."""
    probe = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", "-d3s", "-H", f"Authorization: Bearer {key}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", probe.stdout).group(1))  # type: ignore[union-attr]
    seconds = max(1, int(requests / max(rate, 1)))
    run = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-H",
            f"Authorization: Bearer {key}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout).group(1))  # type: ignore[union-attr]


def main() -> None:
    """Measure RSS before and after the load."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, key = start_serve(tmp, args.port)
        try:
            root = f"http://127.0.0.1:{args.port}{BASE}"
            wrk(f"{root}/me", key, 10_000, args.connections)
            time.sleep(1)
            before = rss_mb(proc.pid)
            started = time.perf_counter()
            me = wrk(f"{root}/me", key, args.requests // 2, args.connections)
            listing = wrk(f"{root}/reminders", key, args.requests // 2, args.connections)
            elapsed = time.perf_counter() - started
            time.sleep(1)
            after = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"dialcues serve RSS: {before:.1f} MiB after warm-up, {after:.1f} MiB after "
        f"~{args.requests:,} requests in {elapsed:.0f} s (GET /me {me:,.0f} req/s, "
        f"GET /reminders {listing:,.0f} req/s): grew {after - before:+.1f} MiB "
        f"(target < 20 MB)"
    )


if __name__ == "__main__":
    main()
