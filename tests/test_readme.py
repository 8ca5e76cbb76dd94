"""The README's promises: the two commands come first, and the embedding example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_exactly_the_two_commands() -> None:
    block = README.read_text(encoding="utf-8").split("```")[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["make run", "make test"]


def test_readme_embedding_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Both blocks of the section: the synchronous use cases, then a Runtime dialing in asyncio.
    text = README.read_text(encoding="utf-8")
    section = text.split("## Embedding the core", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "reminders.db").exists()
