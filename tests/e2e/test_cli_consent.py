"""``dialcues suppressions add|list|remove`` and ``dialcues consents add|list|revoke`` — real
processes on a real SQLite file (responsible-calling §7, §8, §16, §19).
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from e2e.test_cli_policy import audit, new_org, run, run_json

NUMBER = "+14155550009"
OTHER = "+14155550010"
TEXT = "I agree that Acme may call me at this number with reminders, using an automated voice."


def suppress(db: Path, org: str, number: str = NUMBER, *flags: str) -> Any:
    """``suppressions add --json``; return the printed entry."""
    return run_json(db, "suppressions", "add", "--org", org, "--number", number, *flags)


def suppressions(db: Path, org: str, *flags: str) -> list[dict[str, Any]]:
    """``suppressions list --json``."""
    return list(run_json(db, "suppressions", "list", "--org", org, *flags))


def add_consent(db: Path, org: str, captured_at: str, *flags: str, number: str = NUMBER) -> Any:
    """``consents add --json`` of an express informational consent; return the record."""
    return run_json(db, "consents", "add", *consent_flags(org, captured_at, number), *flags)


def consent_flags(org: str, captured_at: str, number: str = NUMBER) -> list[str]:
    """Every required flag of ``consents add``, valid."""
    return [
        "--org", org, "--number", number, "--type", "express", "--purpose", "informational",
        "--source", "verbal", "--text", TEXT, "--captured-at", captured_at,
    ]  # fmt: skip


def consents(db: Path, org: str, *flags: str) -> list[dict[str, Any]]:
    """``consents list --json``."""
    return list(run_json(db, "consents", "list", "--org", org, *flags))


def remove(db: Path, org: str, consent_id: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """``suppressions remove --json`` of :data:`NUMBER`."""
    return run(
        db, "suppressions", "remove", "--org", org, "--number", NUMBER,
        "--consent-id", consent_id, *flags, "--json",
    )  # fmt: skip


def after(entry: dict[str, Any], seconds: int) -> str:
    """The instant ``seconds`` after the entry was created (negative: before), RFC 3339."""
    created = datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
    return (created + timedelta(seconds=seconds)).isoformat()


def assert_refused(result: subprocess.CompletedProcess[str], code: str, *named: str) -> None:
    """Exit 2 with one line holding the code and every name; never a traceback."""
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"dialcues: {code}: " in result.stderr
    for name in named:
        assert name in result.stderr


def test_adding_a_number_twice_prints_the_same_active_entry(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    first = suppress(db, org, NUMBER, "--note", "asked by email", "--external-id", "tick-7")
    second = suppress(db, org, NUMBER, "--reason", "complaint")

    assert second == first
    assert first["status"] == "active" and first["reason"] == "api"
    assert first["id"].startswith("sup_") and first["note"] == "asked by email"
    assert first["source"] == {
        "type": "admin",
        "id": "cli",
        "user_id": None,
        "external_id": "tick-7",
    }
    assert first["removed_at"] is None and first["removal_consent_id"] is None
    assert suppressions(db, org) == [first]
    assert [e["action"] for e in audit(db, org)] == ["suppression.created"]


def test_a_reason_given_is_recorded(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    entry = suppress(db, org, NUMBER, "--reason", "inbound_call")
    assert entry["reason"] == "inbound_call"
    (event,) = audit(db, org)
    assert event["detail"] == {"reason": "inbound_call", "source": {"type": "admin", "id": "cli"}}


def test_removal_without_a_newer_consent_is_refused_with_consent_required(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    entry = suppress(db, org)
    older = add_consent(db, org, after(entry, -60))
    other_number = add_consent(db, org, after(entry, 1), number=OTHER)

    for consent_id in ("cns_missing", "not an id", older["id"], other_number["id"]):
        assert_refused(remove(db, org, consent_id), "consent_required")

    assert suppressions(db, org) == [entry]
    assert "suppression.removed" not in [e["action"] for e in audit(db, org)]


def test_removal_with_a_newer_consent_prints_the_removed_entry(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    entry = suppress(db, org)
    consent = add_consent(db, org, after(entry, 1))

    result = remove(db, org, consent["id"], "--actor", "ann")

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == {**entry, **_removal(printed, consent["id"])}
    assert suppressions(db, org, "--status", "removed") == [printed]
    assert suppressions(db, org) == []
    assert consents(db, org)[0]["revoked_at"] is None  # removal changes no consent


def test_a_removed_number_can_be_suppressed_again(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    entry = suppress(db, org)
    assert remove(db, org, add_consent(db, org, after(entry, 1))["id"]).returncode == 0

    again = suppress(db, org)

    assert again["id"] != entry["id"] and again["status"] == "active"


def test_removing_a_number_not_suppressed_is_not_found(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    assert_refused(remove(db, org, "cns_whatever"), "not_found")


def test_list_shows_the_status_asked_newest_first(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    kept = suppress(db, org, OTHER)
    lifted = suppress(db, org, NUMBER)
    assert remove(db, org, add_consent(db, org, after(lifted, 1))["id"]).returncode == 0

    active = suppressions(db, org)
    removed = suppressions(db, org, "--status", "removed")
    every = suppressions(db, org, "--status", "all")

    assert [e["id"] for e in active] == [kept["id"]]
    assert [(e["id"], e["status"]) for e in removed] == [(lifted["id"], "removed")]
    assert [e["id"] for e in every] == [lifted["id"], kept["id"]]
    assert_refused(
        run(db, "suppressions", "list", "--org", org, "--status", "gone"),
        "validation_error",
        "status",
    )


def test_list_prints_one_line_an_entry_without_json(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    empty = run(db, "suppressions", "list", "--org", org)
    entry = suppress(db, org)

    shown = run(db, "suppressions", "list", "--org", org)

    assert empty.stdout.strip() == "no suppressions"
    assert shown.returncode == 0, shown.stderr
    (line,) = shown.stdout.splitlines()
    assert line.startswith(f"{entry['id']}  {NUMBER}  active  api  admin:cli")


def test_the_audit_trail_names_the_admin_of_each_change(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    entry = suppress(db, org)
    consent = add_consent(db, org, after(entry, 1), "--actor", "bob")
    assert remove(db, org, consent["id"], "--actor", "ann").returncode == 0

    removed, created_consent, created = audit(db, org)

    assert (created["action"], created["actor"]) == (
        "suppression.created",
        {"type": "admin", "id": "cli", "user_id": None},
    )
    assert created["subject"] == {"type": "phone_number", "id": NUMBER}
    assert created["detail"] == {"reason": "api", "source": {"type": "admin", "id": "cli"}}
    assert (created_consent["action"], created_consent["actor"]["id"]) == ("consent.created", "bob")
    assert created_consent["detail"] == {"type": "express", "purpose": "informational"}
    assert (removed["action"], removed["actor"]) == (
        "suppression.removed",
        {"type": "admin", "id": "ann", "user_id": None},
    )
    assert removed["subject"] == {"type": "phone_number", "id": NUMBER}
    assert removed["detail"] == {"consent_id": consent["id"]}


def test_consents_add_prints_the_record_with_its_evidence(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    record = run_json(
        db, "consents", "add", "--org", org, "--number", "+14155550123",
        "--type", "express_written", "--purpose", "marketing", "--source", "web_form",
        "--text", TEXT, "--captured-at", "2026-03-01T11:12:00+01:00",
        "--evidence-url", "https://acme.example/signup", "--evidence-ip", "203.0.113.7",
        "--evidence-user-agent", "Mozilla/5.0",
    )  # fmt: skip

    assert record["id"].startswith("cns_")
    assert {k: record[k] for k in ("phone_number", "type", "purpose", "source", "text")} == {
        "phone_number": "+14155550123",
        "type": "express_written",
        "purpose": "marketing",
        "source": "web_form",
        "text": TEXT,
    }
    assert record["captured_at"] == "2026-03-01T10:12:00.000Z"
    assert record["evidence"] == {
        "url": "https://acme.example/signup",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
    }
    assert record["created_by"] == {"type": "admin", "id": "cli", "user_id": None}
    assert (record["revoked_at"], record["revocation"]) == (None, None)
    assert consents(db, org) == [record]


def test_consents_add_without_evidence_records_none(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    assert add_consent(db, org, "2026-03-01T10:12:00Z")["evidence"] is None


def test_consents_add_names_every_bad_field_and_records_nothing(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    result = run(
        db, "consents", "add", "--org", org, "--number", "555", "--type", "implied",
        "--purpose", "sales", "--source", "rumour", "--text", "",
        "--captured-at", "yesterday", "--evidence-url", "ftp://acme.example",
        "--evidence-ip", "300.1.1.1",
    )  # fmt: skip

    assert_refused(
        result,
        "validation_error",
        *("phone_number", "type", "purpose", "source", "text", "captured_at", "evidence"),
    )
    assert consents(db, org) == []
    assert audit(db, org) == []


def test_consents_add_refuses_a_capture_far_in_the_future(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    result = run(db, "consents", "add", *consent_flags(org, "2999-01-01T00:00:00Z"))
    assert_refused(result, "validation_error", "captured_at", "future")


def test_consents_add_without_a_required_flag_names_it(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    result = run(db, "consents", "add", "--org", org, "--number", NUMBER, "--type", "express")
    assert_refused(result, "validation_error", "--purpose", "--source", "--text", "--captured-at")


def test_consents_list_filters_by_number(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    mine = add_consent(db, org, "2026-03-01T10:12:00Z")
    theirs = add_consent(db, org, "2026-03-02T10:12:00Z", number=OTHER)

    assert [c["id"] for c in consents(db, org)] == [theirs["id"], mine["id"]]
    assert consents(db, org, "--number", NUMBER) == [mine]
    assert_refused(
        run(db, "consents", "list", "--org", org, "--number", "nope"),
        "validation_error",
        "phone_number",
    )


def test_revoking_a_consent_suppresses_its_number(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    consent = add_consent(db, org, "2026-03-01T10:12:00Z")

    revoked = run_json(
        db, "consents", "revoke", consent["id"], "--org", org, "--note", "by phone",
        "--actor", "ann",
    )  # fmt: skip

    assert revoked["id"] == consent["id"] and revoked["revoked_at"] is not None
    assert revoked["revocation"] == {
        "reason": "api",
        "source": {"type": "admin", "id": "ann", "user_id": None, "external_id": None},
        "note": "by phone",
    }
    (entry,) = suppressions(db, org)
    assert (entry["phone_number"], entry["reason"]) == (NUMBER, "api")
    assert entry["source"]["type"] == "admin"
    assert consents(db, org) == [revoked]
    actions = [(e["action"], e["actor"]["id"]) for e in audit(db, org)]
    assert set(actions[:2]) == {("consent.revoked", "ann"), ("suppression.created", "ann")}


def test_revoking_a_revoked_consent_prints_it_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    consent = add_consent(db, org, "2026-03-01T10:12:00Z")
    first = run_json(db, "consents", "revoke", consent["id"])  # found by its id alone

    second = run_json(db, "consents", "revoke", consent["id"], "--org", org, "--note", "again")

    assert second == first
    assert len(suppressions(db, org, "--status", "all")) == 1


def test_suppressing_a_number_revokes_its_consents(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    add_consent(db, org, "2026-03-01T10:12:00Z")

    entry = suppress(db, org, NUMBER, "--reason", "complaint")

    (record,) = consents(db, org)
    assert record["revoked_at"] is not None
    assert record["revocation"] == {"reason": "complaint", "source": entry["source"], "note": None}


def test_unknown_organizations_and_records_are_not_found(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    elsewhere = new_org(db)
    foreign = add_consent(db, elsewhere, "2026-03-01T10:12:00Z")
    missing = "org_missing"
    for args in (
        ("suppressions", "add", "--org", missing, "--number", NUMBER),
        ("suppressions", "list", "--org", missing),
        ("suppressions", "remove", "--org", missing, "--number", NUMBER, "--consent-id", "x"),
        ("consents", "add", *consent_flags(missing, "2026-03-01T10:12:00Z")),
        ("consents", "list", "--org", missing),
        ("consents", "revoke", foreign["id"], "--org", missing),
        ("consents", "revoke", foreign["id"], "--org", org),
        ("consents", "revoke", "cns_missing", "--org", org),
    ):
        assert_refused(run(db, *args), "not_found")
    assert consents(db, elsewhere)[0]["revoked_at"] is None
    assert suppressions(db, org) == [] and audit(db, org) == []


def test_an_actor_name_out_of_bounds_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    for name in ("", "x" * 101):
        result = run(db, "suppressions", "add", "--org", org, "--number", NUMBER, "--actor", name)
        assert_refused(result, "validation_error", "actor")
    assert suppressions(db, org) == []


def _removal(entry: dict[str, Any], consent_id: str) -> dict[str, Any]:
    """What removing changes in an entry (``removed_at`` as printed, checked for presence)."""
    assert entry["removed_at"] is not None
    return {
        "status": "removed",
        "removed_at": entry["removed_at"],
        "removed_by": {"type": "admin", "id": "ann", "user_id": None},
        "removal_consent_id": consent_id,
    }
