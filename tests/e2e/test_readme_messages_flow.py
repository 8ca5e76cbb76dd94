"""The README's text-message flow runs as written (``telephony.md`` §8 item 41).

A real ``dialcues serve`` on a fresh SQLite file, no carrier configured (the simulated carrier),
prints its demo key; the ``sh`` block of the README's "Text messages" section then runs in
``bash`` with ``curl`` and ``jq`` — search, hold, assign, a template, a consent, a text to a
magic number that answers STOP, the refusal that follows, and ``dialcues lines ring`` on the
new line — exactly as a reader would paste it (only the port differs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from e2e.support import free_port

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[2] / "README.md"


def flow() -> str:
    """The ``sh`` block of the README's "Text messages" section."""
    section = README.read_text(encoding="utf-8").split("### Text messages", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def tools_or_skip() -> None:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing and os.environ.get("CI") != "true":
        pytest.skip(f"the README flow needs {', '.join(missing)}")
    assert not missing, f"CI needs {missing} (.ci/run installs them)"


def test_the_readme_message_flow_runs_end_to_end(tmp_path: Path) -> None:
    tools_or_skip()
    rest, grpc_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env["DIALCUES_DATABASE_URL"] = f"sqlite:///{tmp_path / 'dialcues.db'}"
    env["DIALCUES_SIMULATED_DELAY"] = "0.2"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    server = subprocess.Popen(
        [sys.executable, "-m", "dialcues_cli.main", "serve", "--rest-port", str(rest),
         "--grpc-port", str(grpc_port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    output: list[str] = []
    try:
        assert server.stdout is not None
        key = None
        deadline = time.monotonic() + 60
        while key is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            assert line, "serve exited:\n" + "".join(output)
            output.append(line)
            found = re.search(r"API key \(shown once\): (\S+)", line)
            key = found.group(1) if found else None
        assert key is not None, "".join(output)
        drain = threading.Thread(target=lambda: output.extend(server.stdout or []), daemon=True)
        drain.start()
        script = flow().replace("http://127.0.0.1:8080", f"http://127.0.0.1:{rest}")
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env={**env, "KEY": key},
            capture_output=True,
            text=True,
            timeout=180,
            cwd=tmp_path,
        )
        said = ran.stdout + ran.stderr
        assert ran.returncode == 0, said + "\n--- server ---\n" + "".join(output)
        lines = ran.stdout.splitlines()
        assert "recipient_suppressed" in lines, said
        assert "STOP" in lines, said
        assert re.search(r"execution \d+ inbound completed", ran.stdout), said
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
