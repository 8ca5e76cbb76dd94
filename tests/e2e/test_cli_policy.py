"""``dialcues orgs set-policy|get-policy``, ``audit list``, the deprecated grace setting and the
demo organization's policy — real processes on a real SQLite file (responsible-calling §19, §20).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from e2e.support import BASE, free_port
from e2e.test_cli import ok_json

GRACE_WARNING = "DIALCUES_GRACE_SECONDS is deprecated"
EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]
HOOK = "http://127.0.0.1:9/predial"


def run(
    db: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one CLI command against ``db`` with no ``DIALCUES_*`` variable but ``env``'s."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    return subprocess.run(
        [sys.executable, "-m", "dialcues_cli.main", *args, "--database-url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
        check=False,
    )


def run_json(db: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run a command with ``--json``; assert it succeeded and return its output."""
    result = run(db, *args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def new_org(db: Path) -> str:
    """Create an organization through the CLI; return its id."""
    return str(ok_json(db, "orgs", "create", "--name", "Acme")["id"])


def get_policy(db: Path, org: str) -> Any:
    """The organization's policy as ``orgs get-policy --json`` prints it."""
    return ok_json(db, "orgs", "get-policy", "--org", org)


def set_policy(db: Path, org: str, *flags: str, env: dict[str, str] | None = None) -> Any:
    """``orgs set-policy --json`` with ``flags``; return the printed policy."""
    return run_json(db, "orgs", "set-policy", "--org", org, *flags, env=env)


def audit(db: Path, org: str, *flags: str) -> list[dict[str, Any]]:
    """``audit list --json`` of the organization."""
    return list(ok_json(db, "audit", "list", "--org", org, *flags))


def test_set_policy_changes_only_the_named_fields(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    before = get_policy(db, org)

    after = set_policy(db, org, "--caller-name", "Acme Pharmacy", "--cap-24h", "3")

    assert after["caller_name"] == "Acme Pharmacy"
    assert after["frequency_caps"] == {"per_24h": 3, "per_30d": None}
    assert after["inherited"] == [f for f in before["inherited"] if f != "frequency_caps"]
    moved = {"caller_name", "frequency_caps", "inherited", "opening_preview", "updated_at"}
    assert {k: v for k, v in after.items() if k not in moved} == {
        k: v for k, v in before.items() if k not in moved
    }
    assert get_policy(db, org) == after


def test_set_policy_writes_one_audit_event_naming_the_admin(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    set_policy(
        db, org, "--max-lateness", "1200", "--window-basis", "reminder_zone", "--actor", "ann"
    )

    (event,) = audit(db, org)
    assert event["action"] == "policy.updated"
    assert event["actor"] == {"type": "admin", "id": "ann", "user_id": None}
    assert event["subject"] == {"type": "organization", "id": org}
    assert event["detail"]["changed"] == {
        "max_lateness_seconds": {"from": None, "to": 1200},
        "window_basis": {"from": "strictest", "to": "reminder_zone"},
    }


def test_actor_defaults_to_cli(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    set_policy(db, org, "--snooze-default", "5")
    (event,) = audit(db, org)
    assert event["actor"]["id"] == "cli"


def test_window_days_alone_keep_the_current_hours(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    weekdays = set_policy(db, org, "--window-days", "1,2,3,4,5")
    narrowed = set_policy(db, org, "--window", "09:00-18:00", "--window-days", "5,1")
    profile = set_policy(db, org, "--window", "us_strict")

    assert weekdays["calling_window"] == {"start": "08:00", "end": "21:00", "days": [1, 2, 3, 4, 5]}
    assert narrowed["calling_window"] == {"start": "09:00", "end": "18:00", "days": [1, 5]}
    assert profile["calling_window"] == {"profile": "us_strict"}
    assert "calling_window" not in profile["inherited"]


def test_window_alone_opens_every_day(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    set_policy(db, org, "--window-days", "1,2")
    shown = set_policy(db, org, "--window", "10:00-17:30")
    assert shown["calling_window"] == {"start": "10:00", "end": "17:30", "days": EVERY_DAY}


def test_one_cap_keeps_the_other(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    set_policy(db, org, "--cap-24h", "4", "--cap-30d", "20")

    per_30d = set_policy(db, org, "--cap-30d", "off")
    per_24h = set_policy(db, org, "--cap-24h", "off")

    assert per_30d["frequency_caps"] == {"per_24h": 4, "per_30d": None}
    assert per_24h["frequency_caps"] == {"per_24h": None, "per_30d": None}


def test_a_boolean_flag_written_alone_means_on(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    off = set_policy(db, org, "--allow-window-bypass", "off", "--ai-disclosure", "off")

    on = set_policy(db, org, "--allow-window-bypass", "--require-consent-informational")

    assert (off["allow_window_bypass"], off["ai_disclosure"]) == (False, False)
    assert (on["allow_window_bypass"], on["require_consent_for_informational"]) == (True, True)
    assert on["ai_disclosure"] is False


def test_none_and_default_clear_the_optional_fields(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    template = "{identification} {message} {disclosure} {actions} {callback} {opt_out}"
    set_policy(
        db, org,
        "--callback-number", "+14155550100", "--blocked-dates", "2030-12-25,2030-01-01",
        "--opening-template", template,
    )  # fmt: skip

    cleared = set_policy(
        db, org, "--callback-number", "none", "--blocked-dates", "none",
        "--opening-template", "default",
    )  # fmt: skip

    assert (cleared["callback_number"], cleared["blocked_dates"]) == (None, [])
    assert cleared["opening_template"] is None


def test_retry_policy_is_set_from_json(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    policy = {"max_attempts": 2, "delays": {"busy": [60], "no_answer": None}}
    shown = set_policy(db, org, "--retry-policy", json.dumps(policy))
    assert shown["retry_policy"] == {
        "max_attempts": 2,
        "delays": {"busy": [60], "no_answer": None, "failed": None, "voicemail": None},
    }


def test_reset_restores_inheritance(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    fresh = get_policy(db, org)
    set_policy(db, org, "--max-lateness", "600", "--window", "09:00-17:00", "--cap-24h", "2")

    reset = set_policy(db, org, "--reset", "max_lateness_seconds,calling_window")

    assert reset["max_lateness_seconds"] == fresh["max_lateness_seconds"]
    assert reset["calling_window"] == fresh["calling_window"]
    assert reset["inherited"] == ["calling_window", "max_lateness_seconds", "retry_policy"]
    assert reset["frequency_caps"] == {"per_24h": 2, "per_30d": None}


def test_bad_input_exits_2_with_the_code_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    before = get_policy(db, org)

    result = run(
        db, "orgs", "set-policy", "--org", org, "--caller-name", "Fine name",
        "--max-lateness", "soon", "--snooze-default", "500", "--window", "21:00-08:00",
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "validation_error" in result.stderr
    for field in ("max_lateness_seconds", "snooze_default_minutes", "calling_window"):
        assert field in result.stderr
    assert get_policy(db, org) == before
    assert audit(db, org) == []


def test_a_flag_the_cli_cannot_read_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    before = get_policy(db, org)
    bad_json = run(db, "orgs", "set-policy", "--org", org, "--retry-policy", "{busy")
    bad_reset = run(db, "orgs", "set-policy", "--org", org, "--reset", "caller_name")
    bad_switch = run(db, "orgs", "set-policy", "--org", org, "--ai-disclosure", "maybe")
    for result, named in (
        (bad_json, "retry_policy"),
        (bad_reset, "reset"),
        (bad_switch, "--ai-disclosure"),
    ):
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "validation_error" in result.stderr and named in result.stderr
    assert get_policy(db, org) == before


def test_an_unknown_organization_is_not_found(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    for args in (
        ("orgs", "set-policy", "--caller-name", "X"),
        ("orgs", "get-policy"),
        ("audit", "list"),
    ):
        result = run(db, *args, "--org", "org_missing")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "not_found" in result.stderr


def test_rotate_predial_secret_prints_a_new_secret_once(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    private = {"DIALCUES_WEBHOOKS_ALLOW_PRIVATE": "1"}
    created = set_policy(db, org, "--predial-url", HOOK, env=private)
    changed = set_policy(
        db, org, "--predial-timeout-ms", "500", "--predial-failure", "allow", env=private
    )

    rotated = run(db, "orgs", "set-policy", "--org", org, "--rotate-predial-secret", env=private)

    assert created["predial"] == {"url": HOOK, "timeout_ms": 2000, "on_failure": "skip"}
    assert created["predial_secret"].startswith("whsec_")
    assert changed["predial"] == {"url": HOOK, "timeout_ms": 500, "on_failure": "allow"}
    assert "predial_secret" not in changed
    assert rotated.returncode == 0, rotated.stderr
    secret_lines = [line for line in rotated.stdout.splitlines() if "whsec_" in line]
    assert len(secret_lines) == 1 and created["predial_secret"] not in secret_lines[0]
    shown = json.dumps(get_policy(db, org)) + json.dumps(audit(db, org))
    assert "whsec_" not in shown
    assert audit(db, org)[0]["detail"]["changed"] == {"predial_secret": "rotated"}


def test_predial_url_none_removes_the_hook(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    set_policy(db, org, "--predial-url", HOOK, env={"DIALCUES_WEBHOOKS_ALLOW_PRIVATE": "1"})
    assert set_policy(db, org, "--predial-url", "none")["predial"] is None


def test_get_policy_prints_a_readable_summary(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    set_policy(db, org, "--caller-name", "Acme Pharmacy", "--window-days", "1,2,3,4,5")

    shown = run(db, "orgs", "get-policy", "--org", org)

    assert shown.returncode == 0, shown.stderr
    assert (
        "calling_window: 08:00–21:00 Monday, Tuesday, Wednesday, Thursday, Friday" in shown.stdout
    )
    assert "max_lateness_seconds: 3600  (inherited)" in shown.stdout
    assert "This is Acme Pharmacy with a reminder." in shown.stdout


def test_audit_list_filters_by_action_newest_first(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    set_policy(db, org, "--snooze-default", "5")
    set_policy(db, org, "--snooze-default", "6")

    updates = audit(db, org, "--action", "policy.updated")
    consents = audit(db, org, "--action", "consent.created")
    unknown = run(db, "audit", "list", "--org", org, "--action", "policy.deleted")
    human = run(db, "audit", "list", "--org", org)

    assert [e["detail"]["changed"]["snooze_default_minutes"]["to"] for e in updates] == [6, 5]
    assert consents == []
    assert unknown.returncode == 2 and "validation_error" in unknown.stderr
    assert human.stdout.count("policy.updated  admin:cli") == 2


def test_the_deprecated_grace_setting_is_warned_once_on_stderr(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    reading = ("orgs", "get-policy", "--org", org, "--json")
    grace = {"DIALCUES_GRACE_SECONDS": "600"}

    alone = run(db, *reading, env=grace)
    both = run(db, *reading, env={**grace, "DIALCUES_MAX_LATENESS_SECONDS": "900"})

    assert alone.stderr.count(GRACE_WARNING) == 1
    assert json.loads(alone.stdout)["max_lateness_seconds"] == 600
    assert GRACE_WARNING not in both.stderr
    assert json.loads(both.stdout)["max_lateness_seconds"] == 900


async def test_the_demo_organization_names_itself_and_calls_at_any_hour(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialcues_cli.main", "serve", "--no-dispatcher",
        "--rest-port", str(port), "--grpc-port", str(free_port()),
        "--database-url", f"sqlite:///{db}", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        key = await _demo_key(proc)
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}{BASE}/policy",
                headers={"Authorization": f"Bearer {key}"},
            ) as reply,
        ):
            policy = await reply.json()
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    assert reply.status == 200, policy
    assert policy["caller_name"] == "Dialcues demo"
    assert policy["calling_window"] == {"start": "00:00", "end": "23:59", "days": EVERY_DAY}
    (event,) = audit(db, policy["organization_id"])
    assert event["actor"] == {"type": "admin", "id": "demo", "user_id": None}


async def _demo_key(proc: asyncio.subprocess.Process) -> str:
    """Read ``serve``'s banner until its demo API key."""
    assert proc.stdout is not None
    async with asyncio.timeout(30):
        while True:
            line = (await proc.stdout.readline()).decode()
            assert line, "serve exited before printing the demo key"
            if "API key" in line:
                return line.rsplit(" ", 1)[1].strip()
