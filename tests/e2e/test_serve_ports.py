"""``dialcues serve`` on a port it cannot bind exits 2 with one line naming the setting.

gRPC would otherwise share a busy port through SO_REUSEPORT, splitting calls between two
servers and two databases.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.support import free_port


def serve(tmp_path: Path, name: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALCUES_")}
    env["DIALCUES_DATABASE_URL"] = f"sqlite:///{tmp_path / name}.db"
    return subprocess.Popen(
        [sys.executable, "-m", "dialcues_cli.main", "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def first(tmp_path: Path) -> Iterator[tuple[int, int]]:
    rest, grpc_port = free_port(), free_port()
    proc = serve(tmp_path, "first", "--rest-port", str(rest), "--grpc-port", str(grpc_port))
    try:
        for _ in range(200):
            if listening(rest) and listening(grpc_port):
                break
            proc.poll()
            assert proc.returncode is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        yield rest, grpc_port
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


@pytest.mark.parametrize("busy", ["grpc", "rest"])
def test_a_busy_port_is_refused_in_one_line(
    tmp_path: Path, first: tuple[int, int], busy: str
) -> None:
    rest, grpc_port = first
    ports = ("--rest-port", str(rest if busy == "rest" else free_port()))
    ports += ("--grpc-port", str(grpc_port if busy == "grpc" else free_port()))
    second = serve(tmp_path, "second", *ports)
    _, err = second.communicate(timeout=30)
    assert second.returncode == 2
    ours = [line for line in err.splitlines() if line.startswith("dialcues:")]
    assert len(ours) == 1
    assert ours[0].startswith(f"dialcues: validation_error: {busy}_port cannot be bound")


def test_a_port_out_of_range_is_refused_in_one_line(tmp_path: Path) -> None:
    second = serve(tmp_path, "third", "--rest-port", "99999", "--grpc-port", str(free_port()))
    _, err = second.communicate(timeout=30)
    assert second.returncode == 2
    assert err.strip().splitlines()[-1].startswith("dialcues: validation_error: rest_port")
