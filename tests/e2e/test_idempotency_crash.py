"""A process killed between the effect and the reply leaves no half-stored idempotency key.

A child process (the embedding API, ``Dialcues.open``) claims a key for a ``POST
/reminders``, creates the reminder inside the idempotency transaction and dies
(``os._exit``) from inside ``render``, before the commit. The parent then serves the REST
app over the same database: the reminder is not there, the same request is
``idempotency_in_progress`` while the claim's lease lasts (a fake clock moved past it stands
in for waiting 30 s), and then it succeeds exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import aiohttp
from support.platform import make_tenant, settings_for

from dialcues_core import Dialcues
from dialcues_core.adapters.peewee.tables import IdempotencyRow, ReminderRow
from dialcues_core.platform.idempotency import LEASE_SECONDS
from dialcues_core.testing import FakeClock
from dialcues_rest.app import create_app, start_rest
from e2e.support import BASE

EXIT_IN_RENDER = 17
BODY = {
    "title": "Stand-up",
    "message": "Time for stand-up",
    "phone_number": "+12125550143",  # New York: 09:00 is inside the default calling window
    "timezone": "America/New_York",
    "scheduled_at": "2030-03-25T09:00:00",
}
CHILD = textwrap.dedent(
    """
    import json, os, sys
    from dialcues_core import Dialcues
    from dialcues_rest.idempotency import fingerprint

    url, user_id, raw = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    dc = Dialcues.open(url)
    who = dc.as_user(user_id)

    def render(reminder):
        print("created", reminder.id, flush=True)
        os._exit(17)  # killed after the effect, before the reply is stored and committed

    dc.idempotency.run(
        who, "crash-1", fingerprint("POST", sys.argv[4], raw),
        lambda: dc.reminders.create(who, json.loads(raw)), render,
    )
    """
)


def run_child(url: str, user_id: str) -> subprocess.CompletedProcess[str]:
    """Run the child that dies mid-request; return how it ended."""
    command = [sys.executable, "-c", CHILD, url, user_id, json.dumps(BODY), f"{BASE}/reminders"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


async def test_a_process_killed_before_commit_leaves_neither_effect_nor_reply(
    any_url: str,
) -> None:
    setup = Dialcues.open(settings=settings_for(any_url))
    tenant = make_tenant(setup)
    setup.close()
    child = run_child(any_url, tenant.user.id)
    assert child.returncode == EXIT_IN_RENDER, child.stderr
    assert child.stdout.startswith("created ")

    clock = FakeClock(datetime.now(UTC))
    dc = Dialcues.open(settings=settings_for(any_url), clock=clock)
    try:
        assert ReminderRow.select().count() == 0
        claim = IdempotencyRow.get()
        assert (claim.key, claim.status, claim.body) == ("crash-1", None, None)
        answers = await retry_after_the_lease(dc, clock, tenant.api_key)
        assert answers == [(409, None), (201, None), (201, "true")]
        assert ReminderRow.select().count() == 1
    finally:
        dc.close()


async def retry_after_the_lease(
    dc: Dialcues, clock: FakeClock, api_key: str
) -> list[tuple[int, str | None]]:
    """Serve the app and send the child's request: once now, twice after its lease ended."""
    pool = dc.offloader(threads=2)
    runner = await start_rest(create_app(dc, pool), "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}{BASE}/reminders"
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "crash-1"}
    answers = []
    try:
        async with aiohttp.ClientSession() as session:
            for attempt in range(3):
                if attempt == 1:
                    clock.advance(LEASE_SECONDS + 1)
                async with session.post(url, data=json.dumps(BODY), headers=headers) as reply:
                    answers.append((reply.status, reply.headers.get("Idempotent-Replayed")))
    finally:
        await runner.cleanup()
        pool.shutdown()
    return answers
