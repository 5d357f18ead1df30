"""The README's "Order lifecycle" section: its table is the code's, its example runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from oms_sourcing.lifecycle import status_table_markdown

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- lifecycle-table:begin -->\n", "<!-- lifecycle-table:end -->"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Order lifecycle")
    return text[start:text.index("\n## ", start + 1)]


def test_the_readme_status_table_is_the_transition_table_of_the_code() -> None:
    text = section()
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    assert table == status_table_markdown(), (
        "README.md's lifecycle table is stale; paste oms_sourcing.lifecycle.status_table_markdown()"
    )


def test_the_lifecycle_example_in_the_readme_runs_and_shows_the_refusal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = section()
    start = text.index("```python\n") + len("```python\n")
    exec(compile(text[start:text.index("```", start)], "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "1 ('WH-BER',) release" in out
    assert ("line L1 of order O-1001 is DECLINED: 'ship' is not allowed; "
            "allowed: backorder, cancel, hold, resource") in out
