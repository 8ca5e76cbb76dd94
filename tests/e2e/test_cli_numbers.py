"""``dialcues orgs set-carrier``, ``numbers search|hold|extend-hold|drop-hold|assign|release|
list`` and the carrier flags of ``orgs set-provider`` and ``lines add`` — real processes on a
real SQLite file with the simulated carrier (``telephony.md`` §1.5, §2, §6.6).

Orders complete at once (``DIALCUES_SIMULATED_DELAY=0``), so ``assign --wait`` settles after
one pass of the provisioner it runs in its own process: no ``serve`` or ``worker`` runs here.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

from dialcues_core import Dialcues
from dialcues_core.config import Settings
from e2e.test_cli_policy import new_org, run, run_json

ENV = {"DIALCUES_SIMULATED_DELAY": "0", "DIALCUES_PUBLIC_URL": "https://dialcues.example.com"}
NUMBER = "+14155550142"
FAILING = "+14152009902"
"""The simulated carrier fails every order of a number ending 9902."""
API_KEY = "KEY0123456789ABCDEF"
PUBLIC_KEY = base64.b64encode(bytes(range(32))).decode()


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one command with :data:`ENV`."""
    return run(db, *args, env=ENV)


def cli_json(db: Path, *args: str) -> Any:
    """Run one command with :data:`ENV` and ``--json``; return what it printed."""
    return run_json(db, *args, env=ENV)


def telnyx_flags(org: str, public_key: str = PUBLIC_KEY) -> list[str]:
    """Every flag a telnyx carrier needs."""
    return [
        "--org", org, "--carrier", "telnyx", "--api-key", API_KEY,
        "--public-key", public_key, "--messaging-profile-id", "mp_1",
    ]  # fmt: skip


def assert_refused(result: subprocess.CompletedProcess[str], code: str) -> None:
    """Exit 2 with one line naming the code; never a traceback."""
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"dialcues: {code}: ")


# ----------------------------------------------------------------------------- carrier settings
def test_set_carrier_prints_the_settings_masked_with_the_webhook_url(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    shown = cli_json(db, "orgs", "set-carrier", *telnyx_flags(org))

    assert shown["carrier"] == "telnyx" and shown["api_key"] == "KEY0…CDEF"
    assert shown["public_key"] == PUBLIC_KEY and shown["messaging_profile_id"] == "mp_1"
    assert shown["webhook_url"] == (
        f"https://dialcues.example.com/api/providers/telnyx/events/{org}"
    )


def test_set_carrier_prints_a_human_summary_without_the_raw_key(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    result = cli(db, "orgs", "set-carrier", *telnyx_flags(org))

    assert result.returncode == 0, result.stderr
    assert API_KEY not in result.stdout and "api_key: KEY0…CDEF" in result.stdout
    assert f"/api/providers/telnyx/events/{org}" in result.stdout


def test_set_carrier_refuses_a_public_key_that_is_not_32_bytes(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    short = base64.b64encode(b"too short").decode()

    result = cli(db, "orgs", "set-carrier", *telnyx_flags(org, public_key=short))

    assert_refused(result, "validation_error")
    assert "public_key must be the base64 of exactly 32 bytes" in result.stderr
    assert API_KEY not in result.stderr


def test_set_provider_stores_the_telnyx_credential_id(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    flags = ["--provider", "vapi", "--api-key", "vapi-1234", "--webhook-secret", "whs-1234"]

    cli_json(db, "orgs", "set-provider", "--org", org, *flags, "--telnyx-credential-id", "cred_1")

    dc = Dialcues.open(settings=Settings(database_url=f"sqlite:///{db}"))
    try:
        provider = dc.accounts.get_organization(org).provider
    finally:
        dc.close()
    assert provider is not None and provider.telnyx_credential_id == "cred_1"


def test_lines_add_keeps_features_and_carrier(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    flags = ["--org", org, "--provider", "simulated", "--number", "+14155550177"]

    line = cli_json(db, "lines", "add", *flags, "--features", "sms,voice", "--carrier", "telnyx")

    assert (line["features"], line["carrier"]) == (["sms", "voice"], "telnyx")


# ----------------------------------------------------------------------------- numbers
def test_search_prints_the_available_numbers_by_number(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    flags = ["--org", org, "--country", "US", "--npa", "415", "--nxx", "555", "--limit", "3"]

    found = cli_json(db, "numbers", "search", *flags, "--features", "voice,sms")
    human = cli(db, "numbers", "search", *flags)

    assert [o["number"] for o in found] == ["+14155550100", "+14155550101", "+14155550102"]
    assert found[0]["cost"] == {"monthly": "1.00", "upfront": "1.00", "currency": "USD"}
    assert human.stdout.splitlines()[0].startswith("+14155550100  San Francisco, CA")


def test_search_refuses_a_wildcard(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    result = cli(db, "numbers", "search", "--org", org, "--country", "US", "--locality", "San*")

    assert_refused(result, "validation_error")
    assert "locality" in result.stderr


def test_a_hold_is_taken_once_then_shown_as_already_held(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    held = cli_json(db, "numbers", "hold", "--org", org, NUMBER)
    again = cli(db, "numbers", "hold", "--org", org, NUMBER)

    assert (held["number"], held["status"], held["hold_extended"]) == (NUMBER, "held", False)
    assert again.returncode == 0 and again.stdout.startswith(f"already held: {held['id']}")


def test_a_hold_extends_once_then_is_invalid_state(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    held = cli_json(db, "numbers", "hold", "--org", org, NUMBER)

    extended = cli_json(db, "numbers", "extend-hold", "--org", org, NUMBER)
    twice = cli(db, "numbers", "extend-hold", "--org", org, NUMBER)

    assert extended["hold_extended"] and extended["hold_expires_at"] > held["hold_expires_at"]
    assert_refused(twice, "invalid_state")


def test_a_dropped_hold_is_released(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    cli_json(db, "numbers", "hold", "--org", org, NUMBER)

    dropped = cli_json(db, "numbers", "drop-hold", "--org", org, NUMBER)

    assert dropped["status"] == "released"


def test_assign_wait_returns_the_active_number_then_release_removes_it(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    cli_json(db, "numbers", "hold", "--org", org, NUMBER)

    active = cli_json(
        db, "numbers", "assign", "--org", org, NUMBER, "--label", "Front desk", "--wait"
    )
    listed = cli_json(db, "numbers", "list", "--org", org)
    releasing = cli_json(db, "numbers", "release", "--org", org, NUMBER)

    assert active["status"] == "active" and active["line_id"].startswith("line_")
    assert [(n["number"], n["status"]) for n in listed] == [(NUMBER, "active")]
    assert releasing["status"] == "releasing"


def test_assign_wait_of_a_failing_order_exits_1_with_the_failure(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)
    cli_json(db, "numbers", "hold", "--org", org, FAILING)

    result = cli(db, "numbers", "assign", "--org", org, FAILING, "--wait")

    assert result.returncode == 1
    assert f"{FAILING}  failed" in result.stdout and "order failed" in result.stdout
    assert "simulated_order_failed" in result.stderr and "Traceback" not in result.stderr


def test_assign_without_a_hold_is_not_found(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    result = cli(db, "numbers", "assign", "--org", org, NUMBER)

    assert_refused(result, "not_found")


def test_list_of_an_organization_without_numbers_says_so(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = new_org(db)

    result = cli(db, "numbers", "list", "--org", org)

    assert (result.returncode, result.stdout) == (0, "no numbers\n")
