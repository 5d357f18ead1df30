"""The README's library example runs as written (from the repository root), is as short as its
heading says, and the commands table says which options the bundled examples need."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## The library in twenty lines"


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def python_block_after(heading: str) -> str:
    text = readme()
    start = text.index("```python\n", text.index(heading)) + len("```python\n")
    return text[start:text.index("```", start)]


def test_the_library_example_in_the_readme_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    code = python_block_after(HEADING)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip()
    assert os.getcwd() == str(ROOT)


def test_the_library_example_is_twenty_lines_importing_only_the_top_level() -> None:
    code = python_block_after(HEADING)

    assert len(code.splitlines()) <= 20
    imports = [line for line in code.splitlines() if re.match(r"(from|import) ", line)]
    assert all(line.startswith(("from oms_sourcing import", "from datetime"))
               for line in imports), imports


def test_the_readme_names_only_what_the_package_exports_at_its_top_level() -> None:
    import oms_sourcing

    names = re.findall(r"\b(\w+)\b", python_block_after(HEADING).split("\n\n")[0])
    imported = names[names.index("oms_sourcing") + 2:]
    assert imported and set(imported) <= set(oms_sourcing.__all__)
    for name in ("load_network", "load_catalog", "load_ruleset", "read_feed", "apply_feed",
                 "load_orders", "StockLedger", "allocate", "allocate_wave"):
        assert name in oms_sourcing.__all__
        assert getattr(oms_sourcing, name) is not None


def commands_table() -> dict[str, str]:
    text = readme()
    table = text[text.index("## Commands"):text.index("## Rulesets")]
    rows = {}
    for line in table.splitlines():
        found = re.match(r"\| `oms-sourcing ([\w-]+) ([^`]*)`", line)
        if found:
            rows[found.group(1)] = found.group(2)
    return rows


@pytest.mark.parametrize("command", ["source", "wave", "explain", "bid-prices", "stock"])
def test_the_commands_table_shows_the_catalog_the_bundled_examples_need(command: str) -> None:
    usage = commands_table()[command]

    assert "--catalog C" in usage and "[--catalog C]" not in usage


def test_the_introduction_promises_no_simulation_that_is_not_there_yet() -> None:
    intro = readme()[:readme().index("## Quick start")]

    assert "to simulate rule\nchanges before go-live" not in intro
    assert "Simulating rule changes before go-live" in intro and "is coming" in intro
