"""Schemathesis, ``--checks all``, against a live ``dialcues serve`` and its own OpenAPI.

The server is a real process on a real SQLite file, with rate limits off (the contract's
test setting) and private webhook URLs allowed (so that generated URLs need no DNS). The
only relaxation is the checked-in ``schemathesis.toml``'s: ``positive_data_acceptance``
accepts 400, and (``telephony.md`` amendment 6) 409, 422 and 503 ``carrier_unavailable``,
because the core rightly refuses some schema-valid requests (a number another organization
holds, a recipient without consent, a carrier that fails). Schemathesis's defaults for that
check already hold 409 and every 5xx; the test below pins the list. The server's numbers are
on the simulated carrier, which never fails, so no 503 reaches ``not_a_server_error``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.platform import make_tenant, settings_for

from dialcues_core import Dialcues
from e2e.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = 50
"""Per operation and phase: a few hundred requests over the whole API."""
BUDGET_SECONDS = 170
ACCEPTED_POSITIVE: frozenset[str] = frozenset(
    {"2xx", "3xx", "400", "401", "403", "404", "409", "422", "429", "5xx"}
)
"""What ``positive_data_acceptance`` accepts: Schemathesis's defaults (409 and 5xx among
them), plus 400 and 422 (the contract's one exception, as amended)."""


def _server_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update(
        {
            "DIALCUES_DATABASE_URL": url,
            "DIALCUES_RATE_LIMITS": "off",
            "DIALCUES_CALLING_WINDOW": "off",
            "DIALCUES_FREQUENCY_CAPS": "off",
            "DIALCUES_WEBHOOKS_ALLOW_PRIVATE": "1",
            "DIALCUES_LOG_LEVEL": "warning",
            "DIALCUES_SIMULATED_DELAY": "0.05",
        }
    )
    return env


def _wait_until_up(root: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"dialcues serve exited:\n{log.read_text()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{root}/healthz", timeout=1) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"dialcues serve did not answer within 30 s:\n{log.read_text()}")


@contextlib.contextmanager
def serving(url: str, log: Path) -> Iterator[str]:
    """Run ``dialcues serve`` on ``url``'s database; yield its REST root."""
    port = free_port()
    command = [sys.executable, "-m", "dialcues_cli.main", "serve", "--rest-port", str(port)]
    command += ["--grpc-port", str(free_port())]
    with log.open("wb") as sink:
        server = subprocess.Popen(command, env=_server_env(url), stdout=sink, stderr=sink)
    root = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(root, server, log)
        yield root
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_only_relaxation_is_the_contracts_exception() -> None:
    config = tomllib.loads((ROOT / "schemathesis.toml").read_text(encoding="utf-8"))
    assert set(config) == {"checks"}
    assert set(config["checks"]) == {"positive_data_acceptance"}
    accepted = config["checks"]["positive_data_acceptance"]["expected-statuses"]
    assert set(accepted) == ACCEPTED_POSITIVE


@pytest.mark.slow
def test_schemathesis_finds_no_failure(sqlite_url: str, tmp_path: Path) -> None:
    platform = Dialcues.open(settings=settings_for(sqlite_url))
    key = make_tenant(platform).api_key
    platform.close()
    with serving(sqlite_url, tmp_path / "server.log") as root:
        command = [
            str(SCHEMATHESIS),
            "--config-file",
            str(ROOT / "schemathesis.toml"),
            "run",
            f"{root}/api/public/v1/openapi.json",
            "--checks",
            "all",
            "-H",
            f"Authorization: Bearer {key}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20260325",
            "--generation-database",
            "none",
            "--no-color",
        ]
        result = subprocess.run(
            command,
            cwd=tmp_path,  # its caches stay out of the checkout
            capture_output=True,
            text=True,
            timeout=BUDGET_SECONDS,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
