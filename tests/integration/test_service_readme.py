"""The README's "Embedding the service" example runs as written, from the repository root,
and stays a few lines long."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Embedding the service"


def block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\n", text.index(HEADING)) + len("```python\n")
    return text[start:text.index("```", start)]


def test_the_embedding_example_runs_and_its_decision_replays(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(block(), "README.md", "exec"), {"__name__": "readme"})

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("LOGISTICS [(")
    assert out[1] == "COMPLETE"
    assert out[2].startswith("['") and "LineSourced" in out[2]
    assert out[-1] == "True"


def test_the_embedding_example_is_a_few_lines() -> None:
    assert len(block().splitlines()) <= 20
