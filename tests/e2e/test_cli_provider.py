"""``dialcues orgs set-provider`` as an operator runs it (``responsible-calling.md`` §19): no
saved assistant needed; the model, voice and transcriber it sets are what the next Vapi call's
transient assistant runs on (a real process writing the database the platform dials from)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from e2e.support import running_stack
from e2e.test_cli import dialcues, ok_json
from e2e.test_dispatch_over_http import create, settled

VOICE = {"provider": "11labs", "voiceId": "burt"}
TRANSCRIBER = {"provider": "deepgram", "model": "nova-2", "language": "en"}


def test_set_provider_needs_no_assistant_and_defaults_the_model(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    shown = ok_json(
        db, "orgs", "set-provider", "--org", org["id"], "--provider", "vapi",
        "--api-key", "sk-secret-1234", "--webhook-secret", "whs-5678",
    )  # fmt: skip
    assert (shown["assistant_id"], shown["model"]) == (None, "openai:gpt-4.1-mini")
    assert (shown["voice"], shown["transcriber"]) == (None, None)


def test_bad_model_voice_and_transcriber_exit_2_naming_each(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    org = ok_json(db, "orgs", "create", "--name", "Acme")
    result = dialcues(
        db, "orgs", "set-provider", "--org", org["id"], "--provider", "vapi",
        "--api-key", "k", "--webhook-secret", "s", "--model", "gpt-4.1-mini",
        "--voice", "burt", "--transcriber", '{"model": "nova-2"}',
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("dialcues: validation_error: ")
    for problem in (
        "model must be PROVIDER:MODEL",
        "voice must be a JSON object",
        'transcriber must name its "provider"',
    ):
        assert problem in line


async def test_the_next_call_runs_on_the_model_voice_and_transcriber_set(
    sqlite_url: str,
) -> None:
    async with running_stack(sqlite_url) as stack:
        vapi = stack.vapi
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialcues_cli.main", "orgs", "set-provider",
            "--org", stack.org_id, "--provider", "vapi", "--api-key", vapi.api_key,
            "--webhook-secret", vapi.webhook_secret, "--base-url", vapi.base_url,
            "--model", "anthropic:claude-sonnet-4-20250514", "--voice", json.dumps(VOICE),
            "--transcriber", json.dumps(TRANSCRIBER), "--json",
            env=stack.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        reminder = await create(stack)
        await settled(stack, reminder["id"], "completed")
    (body,) = vapi.create_bodies
    assert vapi.rejections == []  # Vapi's SDK takes the voice and transcriber as sent
    assert "assistantId" not in body
    model = body["assistant"]["model"]
    assert (model["provider"], model["model"]) == ("anthropic", "claude-sonnet-4-20250514")
    assert (body["assistant"]["voice"], body["assistant"]["transcriber"]) == (VOICE, TRANSCRIBER)
    assert json.loads(out)["model"] == "anthropic:claude-sonnet-4-20250514"
