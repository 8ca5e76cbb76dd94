"""The `dialcues` command as a user runs it: a real process, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from dialcues_core.adapters.peewee.migrations import MIGRATIONS
from e2e.support import free_port


def dialcues(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one CLI command against ``db``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    return subprocess.run(
        [sys.executable, "-m", "dialcues_cli.main", *args, "--database-url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def ok_json(db: Path, *args: str) -> Any:
    """Run a command with ``--json``; assert it succeeded and return its output."""
    result = dialcues(db, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_migrate_prints_the_schema_version(tmp_path: Path) -> None:
    assert ok_json(tmp_path / "d.db", "migrate") == {
        "version": len(MIGRATIONS),
        "reminders_never_inside": 0,
    }


def test_admin_commands_create_a_working_tenant(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    user = ok_json(
        db, "users", "create", "--org", org["id"], "--email", "a@example.com", "--name", "Ann"
    )
    line = ok_json(
        db,
        "lines",
        "add",
        "--org",
        org["id"],
        "--provider",
        "simulated",
        "--number",
        "+14155550100",
        "--label",
        "Main",
    )
    key = ok_json(db, "keys", "create", "--user", user["id"], "--name", "ci")
    listed = ok_json(db, "keys", "list", "--user", user["id"])
    assert user["organization_id"] == org["id"]
    assert line["is_default"] is True
    assert key["api_key"].startswith("dc_live_")
    assert [k["id"] for k in listed] == [key["id"]]
    assert "api_key" not in listed[0] and "key_hash" not in listed[0]


def test_revoked_key_is_listed_with_its_revocation_time(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    user = ok_json(
        db, "users", "create", "--org", org["id"], "--email", "a@example.com", "--name", "Ann"
    )
    key = ok_json(db, "keys", "create", "--user", user["id"])
    revoked = ok_json(db, "keys", "revoke", key["id"])
    assert revoked["revoked_at"] is not None


def test_set_provider_prints_secrets_masked(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    shown = ok_json(
        db,
        "orgs",
        "set-provider",
        "--org",
        org["id"],
        "--provider",
        "vapi",
        "--api-key",
        "sk-secret-1234",
        "--assistant-id",
        "asst",
        "--webhook-secret",
        "whs-5678",
    )
    assert shown["api_key"] == "…1234"
    assert "sk-secret" not in json.dumps(shown)


def test_typed_error_exits_2_with_its_code_on_one_line(tmp_path: Path) -> None:
    result = dialcues(
        tmp_path / "d.db",
        "users",
        "create",
        "--org",
        "org_missing",
        "--email",
        "a@example.com",
        "--name",
        "Ann",
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "not_found" in result.stderr


def test_bad_phone_number_exits_2_naming_the_field(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    result = dialcues(
        db, "lines", "add", "--org", org["id"], "--provider", "simulated", "--number", "555-1234"
    )
    assert result.returncode == 2
    assert "validation_error" in result.stderr and "phone_number" in result.stderr


def test_unknown_argument_exits_2_with_one_line(tmp_path: Path) -> None:
    result = dialcues(tmp_path / "d.db", "orgs", "create", "--nome", "Acme")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1


async def test_serve_on_an_empty_database_prints_a_working_demo_key(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialcues_cli.main",
        "serve",
        "--rest-port",
        str(port),
        "--grpc-port",
        str(free_port()),
        "--database-url",
        f"sqlite:///{tmp_path / 'd.db'}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        key, curl = await _demo_banner(proc)
        assert f"http://127.0.0.1:{port}/api/public/v1/me" in curl
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/api/public/v1/me",
                headers={"Authorization": f"Bearer {key}"},
            ) as reply,
        ):
            me = await reply.json()
        assert reply.status == 200
        assert me["user"]["email"] == "demo@example.com"
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 15) == 0


async def _demo_banner(proc: asyncio.subprocess.Process) -> tuple[str, str]:
    assert proc.stdout is not None
    key = curl = ""
    async with asyncio.timeout(30):
        while not (key and curl):
            line = (await proc.stdout.readline()).decode()
            assert line, "serve exited before printing the demo key"
            if "API key" in line:
                key = line.rsplit(" ", 1)[1].strip()
            if "curl" in line:
                curl = line
    return key, curl


def test_workers_list_shows_the_dispatchers_heartbeats(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from dialcues_core import Dialcues
    from dialcues_core.operations.model import WorkerInfo

    db = tmp_path / "d.db"
    assert ok_json(db, "workers", "list") == []
    platform = Dialcues.open(f"sqlite:///{db}")
    moment = datetime(2026, 12, 1, 10, tzinfo=UTC)  # long ago: not alive
    platform.operations.beat(WorkerInfo("w-1", "host-a", 4242, moment, moment))
    platform.close()

    (worker,) = ok_json(db, "workers", "list")

    assert (worker["id"], worker["host"], worker["pid"]) == ("w-1", "host-a", 4242)
    assert (worker["last_seen_at"], worker["alive"]) == ("2026-12-01T10:00:00Z", False)
    human = dialcues(db, "workers", "list")
    assert "host-a pid 4242" in human.stdout
