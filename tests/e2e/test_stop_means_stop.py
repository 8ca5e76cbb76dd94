"""Stop means stop, end to end (``responsible-calling.md`` §23 items 11, 13, 14, 17, 18, 26).

A real ``dialcues serve`` process on a SQLite file dials its simulated line; the pretend person
acts by the number's last four digits (``0007`` confirms, ``0008`` snoozes on an occurrence's
first attempt, ``0009`` presses 9, ``0010`` says stop). Everything is read back over REST; a
real webhook receiver on a loopback port verifies every delivery with ``standardwebhooks``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from dialcues_core import Dialcues
from dialcues_core.audit.model import Actor
from dialcues_core.kernel.timefmt import millis
from e2e.support import BASE, free_port

pytestmark = pytest.mark.slow

EVENTS = [
    "execution.finished",
    "execution.skipped",
    "reminder.suppressed",
    "suppression.created",
    "suppression.removed",
    "consent.revoked",
]
CONFIRMS, SNOOZES, PRESSES_9, SAYS_STOP = (
    "+12125550007",
    "+12125550008",
    "+12125550009",
    "+12125550010",
)
LISTENS = "+12125550123"


@dataclass
class Receiver:
    """A webhook receiver that verifies every delivery and keeps it."""

    port: int = field(default_factory=free_port)
    secret: str = ""
    delivered: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception as exc:
            self.rejected.append(str(exc))
            return web.Response(status=400)
        self.delivered.append(event)
        return web.Response(status=200)

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The delivered events of one type, in order."""
        return [e for e in self.delivered if e["type"] == kind]


@dataclass
class Platform:
    """A ``dialcues serve`` process, its database, a user's key and an HTTP session."""

    url: str
    path: Path
    org_id: str
    key: str
    rest_port: int
    session: aiohttp.ClientSession
    receiver: Receiver

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One authenticated API request: status and decoded JSON (None when empty)."""
        headers = {"Authorization": f"Bearer {self.key}"}
        url = f"http://127.0.0.1:{self.rest_port}{BASE}{path}"
        async with self.session.request(method, url, json=body, headers=headers) as reply:
            text = await reply.text()
            return reply.status, (await reply.json() if text else None)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, found = await self.call(method, path, body)
        assert status < 300, (status, found)
        return found

    def sql(self, statement: str, *params: Any) -> None:
        """Change the database as time passing would (the process polls it every second)."""
        with sqlite3.connect(self.path) as db:
            db.execute(statement, params)


async def wait_for(check: Any, within: float = 15.0) -> Any:
    """Poll ``check`` (a coroutine function) every 0.1 s until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.1)


@pytest.fixture
async def p(tmp_path: Path) -> AsyncIterator[Platform]:
    path = tmp_path / "stop.db"
    url = f"sqlite:///{path}"
    dc = Dialcues.open(url)
    org = dc.accounts.create_organization("Acme Pharmacy")
    user = dc.accounts.create_user(org.id, "stop@example.com", "Stop")
    dc.accounts.add_line(org.id, "simulated", "+14155550100", label="Sim")
    key = dc.accounts.create_api_key(user.id).raw
    dc.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env.update(
        {
            "DIALCUES_DATABASE_URL": url,
            "DIALCUES_REST_PORT": str(port),
            "DIALCUES_GRPC_PORT": str(free_port()),
            "DIALCUES_RATE_LIMITS": "off",
            "DIALCUES_CALLING_WINDOW": "off",
            "DIALCUES_FREQUENCY_CAPS": "off",
            "DIALCUES_RETRY_DELAYS": "1",
            "DIALCUES_SIMULATED_DELAY": "0.2",
            "DIALCUES_WEBHOOKS_ALLOW_PRIVATE": "1",
            "DIALCUES_LOG_LEVEL": "warning",
        }
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialcues_cli.main", "serve", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
    async with aiohttp.ClientSession() as session:
        p = Platform(url, path, org.id, key, port, session, receiver)

        async def up() -> bool:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as reply:
                    return reply.status == 200
            except aiohttp.ClientError:
                return False

        try:
            await wait_for(up, within=20)
            hook = {"url": f"http://127.0.0.1:{receiver.port}/hook", "events": EVENTS}
            receiver.secret = (await p.ok("POST", "/webhooks/subscriptions", hook))["secret"]
            yield p
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            await proc.wait()
            await runner.cleanup()


def soon(seconds: float = 1.5) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


async def remind(p: Platform, number: str, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Evening dose",
        "message": "Time for your evening dose.",
        "phone_number": number,
        "timezone": "UTC",
        "scheduled_at": soon(),
        **fields,
    }
    return dict(await p.ok("POST", "/reminders", body))


async def settled(p: Platform, reminder_id: int, *statuses: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        found = await p.ok("GET", f"/reminders/{reminder_id}")
        return dict(found) if found["status"] in statuses else None

    return dict(await wait_for(check))


async def executions(p: Platform, reminder_id: int) -> list[dict[str, Any]]:
    """The reminder's executions, oldest first."""
    page = await p.ok("GET", f"/executions?reminder_id={reminder_id}")
    return list(reversed(page["items"]))


async def consent(p: Platform, number: str, **fields: Any) -> dict[str, Any]:
    body = {
        "phone_number": number,
        "type": "express_written",
        "purpose": "marketing",
        "source": "web_form",
        "text": "I agree that Acme Pharmacy may call me with offers, using an automated voice.",
        "captured_at": millis(datetime.now(UTC)),
        **fields,
    }
    return dict(await p.ok("POST", "/consents", body))


async def test_a_confirmed_call_is_completed_confirmed_and_never_retried(p: Platform) -> None:
    reminder = await remind(p, CONFIRMS)
    await settled(p, reminder["id"], "completed")
    (execution,) = await executions(p, reminder["id"])
    assert (execution["status"], execution["confirmation"]) == ("completed", "confirmed")
    assert execution["confirmed_at"] is not None
    (action,) = execution["actions"]
    assert (action["type"], action["via"], action["outcome"]) == ("confirm", "keypad", "applied")


async def test_a_call_nobody_acts_on_is_no_input_and_never_retried(p: Platform) -> None:
    reminder = await remind(p, LISTENS)
    await settled(p, reminder["id"], "completed")
    await asyncio.sleep(1.5)  # a retry would be due after 1 s
    (execution,) = await executions(p, reminder["id"])
    assert (execution["status"], execution["confirmation"]) == ("completed", "no_input")
    assert execution["actions"] == []


async def test_a_snooze_calls_back_once_and_the_series_keeps_its_time(p: Platform) -> None:
    reminder = await remind(p, SNOOZES, recurrence_type="daily")
    first_at = reminder["scheduled_at"]

    async def snoozed() -> dict[str, Any] | None:
        found = await p.ok("GET", f"/reminders/{reminder['id']}")
        return dict(found) if found["retry_count"] == 1 else None

    waiting = await wait_for(snoozed)
    (first,) = await executions(p, reminder["id"])
    assert (first["status"], first["confirmation"], first["attempt"]) == (
        "completed",
        "snoozed",
        1,
    )
    (action,) = first["actions"]
    assert (action["type"], action["outcome"]) == ("snooze", "applied")
    assert action["detail"]["minutes"] == 10  # the policy's snooze_default_minutes
    action_at = datetime.fromisoformat(action["at"])
    attempt_at = datetime.fromisoformat(action["detail"]["attempt_at"])
    assert attempt_at - action_at == timedelta(minutes=10)
    # the reminder shows whole seconds
    assert attempt_at.replace(microsecond=0) == datetime.fromisoformat(waiting["next_attempt_at"])
    assert (waiting["status"], waiting["scheduled_at"]) == ("scheduled", first_at)
    # ten minutes pass: the snoozed attempt is due now
    due = int(datetime.now(UTC).timestamp() * 1000)
    p.sql("UPDATE reminders SET due_at = ?, next_attempt_at = ? WHERE id = ?", due, due,
          reminder["id"])  # fmt: skip

    async def called_back() -> list[dict[str, Any]] | None:
        found = await executions(p, reminder["id"])
        return found if len(found) == 2 and found[1]["status"] != "in_progress" else None

    second = (await wait_for(called_back))[1]
    assert (second["status"], second["confirmation"], second["attempt"]) == (
        "completed",
        "no_input",
        2,
    )
    after = await p.ok("GET", f"/reminders/{reminder['id']}")
    next_day = datetime.fromisoformat(first_at) + timedelta(days=1)
    assert datetime.fromisoformat(after["scheduled_at"]) == next_day
    assert (after["status"], after["retry_count"], after["next_attempt_at"]) == (
        "scheduled",
        0,
        None,
    )


async def test_a_snooze_with_no_attempt_left_is_refused(p: Platform) -> None:
    policy = {"max_attempts": 1, "delays": {}}
    reminder = await remind(p, SNOOZES, retry_policy=policy)
    await settled(p, reminder["id"], "completed")
    (execution,) = await executions(p, reminder["id"])
    (action,) = execution["actions"]
    assert (action["outcome"], action["detail"]["refusal"]) == ("refused", "budget_exhausted")
    assert (execution["status"], execution["confirmation"]) == ("completed", "no_input")


@pytest.mark.parametrize(("number", "reason"), [(PRESSES_9, "opt_out_keypress"),
                                                (SAYS_STOP, "opt_out_voice")])  # fmt: skip
async def test_a_stop_suppresses_the_number_for_every_reminder(
    p: Platform, number: str, reason: str
) -> None:
    given = await consent(p, number, type="express", purpose="informational")
    later = await remind(p, number, scheduled_at=soon(6))  # another reminder to the number
    reminder = await remind(p, number)
    await settled(p, reminder["id"], "suppressed")
    (execution,) = await executions(p, reminder["id"])
    assert (execution["status"], execution["confirmation"]) == ("completed", "opted_out")
    entry = await p.ok("GET", f"/suppressions/{number.replace('+', '%2B')}")
    assert entry["reason"] == reason
    assert entry["source"]["type"] == "execution"
    assert entry["source"]["id"] == execution["id"]
    revoked = await p.ok("GET", f"/consents/{given['id']}")
    assert revoked["revoked_at"] is not None
    assert revoked["revocation"]["reason"] == reason
    # no further call to the number from any reminder of the organization
    await settled(p, later["id"], "suppressed")
    (skipped,) = await executions(p, later["id"])
    assert (skipped["status"], skipped["skip_reason"], skipped["executed_at"]) == (
        "skipped",
        "suppressed",
        None,
    )
    status, refused = await p.call("POST", "/reminders", {**_body(number)})
    assert (status, refused["error"]["code"]) == (422, "recipient_suppressed")
    assert refused["error"]["details"]["reason"] == reason
    status, refused = await p.call("POST", "/calls", {"to": number, "message": "Hi"})
    assert (status, refused["error"]["code"]) == (422, "recipient_suppressed")

    async def delivered() -> bool:
        return all(
            p.receiver.of(kind)
            for kind in ("suppression.created", "consent.revoked", "reminder.suppressed")
        )

    await wait_for(delivered)
    assert p.receiver.rejected == []
    (created,) = p.receiver.of("suppression.created")
    assert created["data"] == entry  # the payload is what GET shows
    assert p.receiver.of("consent.revoked")[0]["data"] == revoked
    suppressed = {e["data"]["id"]: e["data"] for e in p.receiver.of("reminder.suppressed")}
    assert suppressed[reminder["id"]]["status"] == "suppressed"


def _body(number: str) -> dict[str, Any]:
    return {
        "title": "Again",
        "message": "Hello",
        "phone_number": number,
        "timezone": "UTC",
        "scheduled_at": soon(30),
    }


async def test_a_suppressed_reminder_resumes_only_after_a_newer_consent(p: Platform) -> None:
    reminder = await remind(p, PRESSES_9, recurrence_type="daily")
    await settled(p, reminder["id"], "suppressed")
    status, refused = await p.call("PATCH", f"/reminders/{reminder['id']}",
                                   {"status": "scheduled"})  # fmt: skip
    assert (status, refused["error"]["code"]) == (422, "recipient_suppressed")
    number = PRESSES_9.replace("+", "%2B")
    status, refused = await p.call("DELETE", f"/suppressions/{number}")
    assert (status, refused["error"]["code"]) == (422, "consent_required")
    newer = await consent(p, PRESSES_9, type="express", purpose="informational")
    status, _ = await p.call("DELETE", f"/suppressions/{number}?consent_id={newer['id']}")
    assert status == 204
    listed = await p.ok("GET", f"/suppressions?status=removed&phone_number={number}")
    assert [e["removal_consent_id"] for e in listed["items"]] == [newer["id"]]

    async def removed() -> list[dict[str, Any]]:
        return p.receiver.of("suppression.removed")

    (event,) = await wait_for(removed)
    assert event["data"] == listed["items"][0]  # the payload is what GET shows
    (gone,) = p.receiver.of("reminder.suppressed")
    assert gone["data"] == await p.ok("GET", f"/reminders/{reminder['id']}")
    resumed = await p.ok("PATCH", f"/reminders/{reminder['id']}", {"status": "scheduled"})
    assert resumed["status"] == "scheduled"


async def test_revoking_consent_suppresses_and_the_next_attempt_is_skipped(p: Platform) -> None:
    given = await consent(p, LISTENS)
    reminder = await remind(p, LISTENS, purpose="marketing", scheduled_at=soon(4))
    revoked = await p.ok("POST", f"/consents/{given['id']}/revoke", {"note": "asked by mail"})
    assert revoked["revocation"]["reason"] == "api"
    # the entry and the revoked consent are there in the first read after the write
    entry = await p.ok("GET", f"/suppressions/{LISTENS.replace('+', '%2B')}")
    assert (entry["reason"], entry["source"]["type"]) == ("api", "api_key")
    await settled(p, reminder["id"], "suppressed")
    (skipped,) = await executions(p, reminder["id"])
    assert (skipped["status"], skipped["skip_reason"]) == ("skipped", "suppressed")
    events = await p.ok("GET", "/audit/events?subject_type=consent")
    revokes = [e for e in events["items"] if e["action"] == "consent.revoked"]
    assert [e["actor"]["type"] for e in revokes] == ["api_key"]


async def test_an_older_informational_reminder_waits_for_consent_when_required(
    p: Platform,
) -> None:
    reminder = await remind(p, LISTENS, scheduled_at=soon(3))
    dc = Dialcues.open(p.url)
    try:
        changes = {"require_consent_for_informational": True}
        dc.policies.update(p.org_id, changes, actor=Actor("admin", "test"))
    finally:
        dc.close()
    await settled(p, reminder["id"], "failed")
    (skipped,) = await executions(p, reminder["id"])
    assert (skipped["status"], skipped["skip_reason"]) == ("skipped", "consent_missing")

    async def refused() -> Any:  # the serving process rereads a policy within 5 s
        status, body = await p.call("POST", "/reminders", _body(LISTENS))
        return body if status == 422 else None

    body = await wait_for(refused, within=8)
    error = body["error"]
    assert (error["code"], error["details"]["required"]) == ("consent_required", "express")
