"""``dialcues keys create --scopes``: the printed key is held to its scopes by a real ``serve``."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from e2e.support import BASE, free_port
from e2e.test_cli import dialcues, ok_json
from e2e.test_webhook_delivery import stop, wait_for
from e2e.test_worker_delivers_webhooks import healthy

REMINDER = {
    "title": "Stand-up",
    "message": "Time for stand-up",
    "phone_number": "+14155552671",
    "timezone": "UTC",
    "scheduled_at": "2030-03-25T09:00:00Z",
}


def tenant_with_line(db: Path) -> str:
    """Create an organization, its simulated line and a user through the CLI; return the user."""
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    number = ("--provider", "simulated", "--number", "+14155550100")
    ok_json(db, "lines", "add", "--org", org["id"], *number)
    user = ok_json(
        db, "users", "create", "--org", org["id"], "--email", "a@example.com", "--name", "A"
    )
    return str(user["id"])


@asynccontextmanager
async def serving(db: Path) -> AsyncIterator[str]:
    """Run ``dialcues serve`` on ``db``; yield the REST API's root."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env["DIALCUES_RATE_LIMITS"] = "off"
    env["DIALCUES_CALLING_WINDOW"] = "off"
    env["DIALCUES_FREQUENCY_CAPS"] = "off"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialcues_cli.main", "serve", "--no-dispatcher",
        "--rest-port", str(port), "--grpc-port", str(free_port()),
        "--database-url", f"sqlite:///{db}", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for(lambda: healthy(session, root), within=20)
        yield f"{root}{BASE}"
    finally:
        await stop(proc)


async def request(root: str, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Send one request with ``key``; return the status and the JSON body."""
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, root + path, json=body, headers=headers) as reply,
    ):
        return reply.status, await reply.json()


async def test_a_read_only_key_reads_reminders_and_may_not_create_one(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    user_id = tenant_with_line(db)
    narrow = ok_json(db, "keys", "create", "--user", user_id, "--scopes", "reminders:read")
    full = ok_json(db, "keys", "create", "--user", user_id)
    assert narrow["scopes"] == ["reminders:read"]
    async with serving(db) as root:
        refused = await request(root, narrow["api_key"], "POST", "/reminders", REMINDER)
        created = await request(root, full["api_key"], "POST", "/reminders", REMINDER)
        read = await request(root, narrow["api_key"], "GET", "/reminders")
    assert refused[0] == 403
    assert refused[1]["error"]["code"] == "insufficient_scope"
    assert refused[1]["error"]["details"] == {"scope": "reminders:write"}
    assert created[0] == 201  # the same body with every scope: the scope was all it lacked
    assert (read[0], [r["id"] for r in read[1]["items"]]) == (200, [created[1]["id"]])


def test_an_unknown_scope_exits_2_with_one_line_naming_the_code(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    user_id = tenant_with_line(db)
    result = dialcues(db, "keys", "create", "--user", user_id, "--scopes", "reminders:read,root")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("dialcues: validation_error: scopes")
    assert ok_json(db, "keys", "list", "--user", user_id) == []
