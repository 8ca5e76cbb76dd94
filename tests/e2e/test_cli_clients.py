"""``dialcues clients``: create (secret once), list (never a secret), revoke — a real process."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialcues_core import Dialcues
from dialcues_core.errors import InvalidClient
from e2e.test_cli import dialcues, ok_json

CLIENT_FIELDS = {"client_id", "user_id", "organization_id", "name", "scopes", "created_at"}


def new_user(db: Path) -> str:
    """Create an organization and a user through the CLI; return the user's id."""
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    user = ok_json(
        db, "users", "create", "--org", org["id"], "--email", "a@example.com", "--name", "Ann"
    )
    return str(user["id"])


def test_create_prints_the_client_and_its_secret_once(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    user_id = new_user(db)
    created = ok_json(
        db, "clients", "create", "--user", user_id, "--name", "ci", "--scopes", "lines:read"
    )
    assert set(created) == CLIENT_FIELDS | {"revoked_at", "client_secret"}
    assert created["client_id"].startswith("cli_")
    assert created["client_secret"].startswith("dc_cs_")
    assert (created["name"], created["scopes"]) == ("ci", ["lines:read"])


def test_the_printed_secret_obtains_a_token(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    created = ok_json(db, "clients", "create", "--user", new_user(db))
    dc = Dialcues.open(f"sqlite:///{db}")
    try:
        token = dc.oauth.issue_token(created["client_id"], created["client_secret"])
        assert dc.authenticate(token.access_token).client_id == created["client_id"]
    finally:
        dc.close()


def test_list_never_prints_a_secret(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    user_id = new_user(db)
    created = ok_json(db, "clients", "create", "--user", user_id)
    listed = ok_json(db, "clients", "list", "--user", user_id)
    human = dialcues(db, "clients", "list", "--user", user_id)
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    assert set(listed[0]) == CLIENT_FIELDS | {"revoked_at"}
    assert created["client_secret"] not in str(listed) + human.stdout
    assert "secret" not in human.stdout


def test_revoke_prints_the_revocation_and_the_secret_stops_working(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    created = ok_json(db, "clients", "create", "--user", new_user(db))
    revoked = ok_json(db, "clients", "revoke", created["client_id"])
    assert revoked["client_id"] == created["client_id"]
    assert revoked["revoked_at"] is not None and "client_secret" not in revoked
    dc = Dialcues.open(f"sqlite:///{db}")
    try:
        with pytest.raises(InvalidClient):
            dc.oauth.issue_token(created["client_id"], created["client_secret"])
    finally:
        dc.close()


def test_bad_scopes_exit_2_with_the_code(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    result = dialcues(db, "clients", "create", "--user", new_user(db), "--scopes", "root")
    assert result.returncode == 2
    assert result.stderr.startswith("dialcues: validation_error: scopes")


def test_revoking_an_unknown_client_exits_2_not_found(tmp_path: Path) -> None:
    result = dialcues(tmp_path / "d.db", "clients", "revoke", "cli_nope")
    assert (result.returncode, result.stderr.split(":")[1].strip()) == (2, "not_found")
