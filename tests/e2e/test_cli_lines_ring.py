"""``dialcues lines set-route`` and ``dialcues lines ring`` — real processes on a real SQLite file
(``telephony.md`` §3.1, §3.5, §6.6; Done when 21, 22).

``ring`` runs the core path of an inbound call on a simulated line and, after
``DIALCUES_SIMULATED_DELAY`` (0.1 s here), ends it with the route's ended reason: the command
prints the ended inbound execution. No ``serve`` or ``worker`` runs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from dialcues_core import Dialcues
from dialcues_core.calls.model import Execution
from dialcues_core.config import Settings
from e2e.test_cli_policy import new_org, run

ENV = {"DIALCUES_SIMULATED_DELAY": "0.1"}
LINE_NUMBER = "+14155550100"
CALLER = "+14155552671"
REJECT_SENTENCE = "This number does not accept calls."


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one command with :data:`ENV`."""
    return run(db, *args, env=ENV)


def cli_json(db: Path, *args: str) -> Any:
    """Run one command with ``--json``; assert it succeeded and return what it printed."""
    result = cli(db, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def new_line(db: Path) -> tuple[str, str]:
    """A new organization with one simulated line; return (organization id, line id)."""
    org = new_org(db)
    added = cli_json(db, "lines", "add", "--org", org, "--provider", "simulated",
                     "--number", LINE_NUMBER, "--default")  # fmt: skip
    return org, str(added["id"])


def set_route(db: Path, org: str, line: str, route: str) -> Any:
    """``lines set-route --json``; return the printed line."""
    return cli_json(db, "lines", "set-route", line, "--org", org, "--route", route)


def ring(db: Path, org: str, line: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``lines ring`` from :data:`CALLER`."""
    return cli(db, "lines", "ring", line, "--org", org, "--from", CALLER, *extra)


def inbound_executions(db: Path, org: str) -> list[Execution]:
    """The organization's executions, read through the embedding API."""
    dc = Dialcues.open(settings=Settings(database_url=f"sqlite:///{db}"))
    try:
        user = dc.accounts.create_user(org, "reader@example.com", "Reader")
        return list(dc.executions.list(dc.as_user(user.id), {}).items)
    finally:
        dc.close()


# ----------------------------------------------------------------------------- set-route
def test_set_route_prints_the_line_with_its_route(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, line = new_line(db)

    shown = set_route(db, org, line, '{"type": "message", "text": "  We are closed.  "}')

    assert (shown["id"], shown["route"]) == (line, {"type": "message", "text": "We are closed."})


def test_set_route_null_clears_the_route(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, line = new_line(db)
    set_route(db, org, line, '{"type": "reminders_readback"}')

    assert set_route(db, org, line, "null")["route"] is None
    assert ring(db, org, line).returncode == 1


def test_an_invalid_route_is_refused_naming_its_field(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, line = new_line(db)

    premium = cli(db, "lines", "set-route", line, "--org", org,
                  "--route", '{"type": "transfer", "number": "+19005550100"}')  # fmt: skip
    not_json = cli(db, "lines", "set-route", line, "--org", org, "--route", "{bad")

    for result in (premium, not_json):
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert premium.stderr.startswith("dialcues: validation_error: route.number ")
    assert not_json.stderr.startswith("dialcues: validation_error: route must be JSON")


# ----------------------------------------------------------------------------- ring
def test_a_ring_on_a_message_route_ends_in_a_completed_inbound_execution(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, line = new_line(db)
    set_route(db, org, line, '{"type": "message", "text": "We are closed today."}')

    shown = cli_json(db, "lines", "ring", line, "--org", org, "--from", CALLER)

    assert (shown["status"], shown["direction"], shown["from"], shown["to"]) == (
        "completed",
        "inbound",
        CALLER,
        LINE_NUMBER,
    )
    assert shown["route"] == {"type": "message", "text": "We are closed today."}
    assert (shown["line_id"], shown["ended_reason"]) == (line, "assistant-request-returned-error")
    assert shown["answer_by"] is None and shown["reminder_id"] is None
    assert [e.id for e in inbound_executions(db, org)] == [shown["id"]]


def test_a_ring_prints_a_human_summary(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, line = new_line(db)
    set_route(db, org, line, '{"type": "message", "text": "We are closed today."}')

    result = ring(db, org, line)

    assert result.returncode == 0, result.stderr
    first, said = result.stdout.splitlines()
    assert first.startswith("execution ") and " inbound completed " in first
    assert f"from {CALLER} to {LINE_NUMBER}" in first
    assert said == 'the caller heard: "We are closed today."'


def test_a_line_without_a_route_refuses_and_records_nothing(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, line = new_line(db)

    human = ring(db, org, line)
    machine = ring(db, org, line, "--json")

    assert human.returncode == machine.returncode == 1
    assert REJECT_SENTENCE in human.stdout and "nothing recorded" in human.stdout
    assert machine.stdout.strip() == "null" and "nothing recorded" in machine.stderr
    assert inbound_executions(db, org) == []


def test_an_undecided_external_call_gets_its_fallback(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, line = new_line(db)
    fallback = {"type": "message", "text": "Later."}
    set_route(
        db, org, line, json.dumps({"type": "external", "timeout_ms": 500, "fallback": fallback})
    )

    shown = cli_json(db, "lines", "ring", line, "--org", org, "--from", CALLER)

    assert shown["route"] == fallback
    assert shown["answer_by"] is not None and shown["status"] == "completed"
    assert shown["ended_reason"] == "assistant-request-returned-error"


def test_ringing_an_unknown_line_is_not_found(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org, _ = new_line(db)

    result = ring(db, org, "line_unknown")

    assert result.returncode == 2 and result.stderr.startswith("dialcues: not_found: ")
