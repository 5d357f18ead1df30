"""Input that made the loaders crash with another exception (found by fuzzing the bundled
examples): each is now the loader's own error, at the file, line and column of the mistake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from oms_sourcing.errors import FileError
from oms_sourcing.formats.catalog import load_catalog
from oms_sourcing.formats.network import load_network
from oms_sourcing.formats.orders import load_orders
from oms_sourcing.inventory.feeds import read_feed
from oms_sourcing.rules.loader import load_ruleset

YAML_LOADERS: dict[str, Callable[[Path], object]] = {
    "network": load_network, "catalog": load_catalog, "ruleset": load_ruleset,
}
ORDER = '{"id": "1001", "created_at": "2026-11-01T10:00:00+00:00", "lines": %s}'
LINE = '[{"id": "1", "sku": "TEE-RED-M", "qty": %s}]'
HEADER = "source,sku,qty,mode,effective_at,record_id\n"
ROW = "WH-BER,TEE-RED-M,{qty},FULL,2026-11-01T06:00:00+00:00,{rid}\n"


def problem_of(load: Callable[[Path], object], path: Path) -> str:
    with pytest.raises(FileError) as err:
        load(path)
    return str(err.value.problems[0])


@pytest.mark.parametrize("kind", sorted(YAML_LOADERS))
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # libyaml stops at 1,000 levels; the pure parser's words used to recurse without end
        ("id: " + "[" * 5000 + "]" * 5000 + "\n", ":1:1004: nesting deeper than 200 levels"),
        ("id: " + "{a: " * 1500 + "1" + "}" * 1500 + "\n", ":1:4001: nesting deeper than 200"),
        ("id: " + "[" * 300 + "]" * 300 + "\n", ":1:205: nesting deeper than 200 levels"),
        ("id: WH\x01BER\n", ":1:7: YAML does not allow the control character U+0001"),
        ("id: [WH\x1bBER\n", ":1:8: YAML does not allow the control character U+001B"),
        ("id: 2026-02-30\n", ":1:5: '2026-02-30' is not a valid date (day is out of range"),
        ("id: " + "9" * 5000 + "\n", ":1:5: a number of 5,000 digits"),
        ("id: 0x" + "f" * 5000 + "\n", ":1:5: the number '0xfff"),
        ("a: &a [1, *a]\n", ":1:4: an alias refers to a collection it is part of"),
    ],
    ids=["deep-lists", "deep-maps", "deeper-than-200", "control-char", "control-char-in-flow",
         "impossible-date", "huge-int", "huge-hex", "recursive-alias"],
)
def test_hostile_yaml_is_a_positioned_problem_of_each_yaml_loader(
    tmp_path: Path, kind: str, text: str, expected: str
) -> None:
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    problem = problem_of(YAML_LOADERS[kind], path)
    assert problem.startswith(f"{path}{expected}"), problem


def test_an_alias_bomb_in_a_network_is_refused_without_expanding_it(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = tmp_path / "network.yaml"
    path.write_text("\n".join([*levels, "sources: *a9"]) + "\n", encoding="utf-8")
    # a5 (line 6) expands to about 9**6 > 500,000 values: refused there, before anything is built
    assert problem_of(load_network, path).startswith(
        f"{path}:6:5: document expands to more than 500,000 values"
    )


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ORDER % (LINE % ("9" * 5000)), ":1:108: a number of 5,000 digits"),
        ("[" * 100_000 + "]" * 100_000, ":1:1: JSON nested too deeply"),
        (ORDER % (LINE % "1e9999999999999999999"), ":1:108: a number with an exponent out of"),
    ],
    ids=["huge-int", "deep-arrays", "huge-exponent"],
)
def test_hostile_json_is_a_positioned_problem_of_the_order_loader(
    tmp_path: Path, suffix: str, text: str, expected: str
) -> None:
    path = tmp_path / f"orders{suffix}"
    path.write_text(text + "\n", encoding="utf-8")
    problem = problem_of(load_orders, path)
    assert problem.startswith(f"{path}{expected}"), problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"qty": ' + "9" * 5000 + "}\n", ":1:1: a number of 5,000 digits"),
        ("[" * 100_000 + "]" * 100_000 + "\n", ":1:1: JSON nested too deeply"),
        ('{"qty": 1e9999999999999999999}\n', ":1:1: a number with an exponent out of range"),
    ],
    ids=["huge-int", "deep-arrays", "huge-exponent"],
)
def test_hostile_json_lines_are_problems_of_the_feed(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "stock.jsonl"
    path.write_text(text, encoding="utf-8")
    problems = [str(p) for p in read_feed(path).problems]
    assert problems and problems[0].startswith(f"{path}{expected}"), problems


def test_a_csv_field_over_the_csv_modules_limit_is_a_problem_of_its_row(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    unclosed = '"r2' + "x" * 200_000  # a quote never closed: the field runs to the end
    path.write_text(HEADER + ROW.format(qty=1, rid="r1") + ROW.format(qty=2, rid=unclosed),
                    encoding="utf-8")
    feed = read_feed(path)
    assert [r.record_id for r in feed.rows] == ["r1"]
    assert str(feed.problems[0]).startswith(f"{path}:3:1: a field longer than 131,072 characters")


@pytest.mark.parametrize("qty", ["1000000000000", "+1000000000000", "0001000000000000"])
def test_a_plain_digit_quantity_meets_the_same_limit_as_any_other(
    tmp_path: Path, qty: str
) -> None:
    path = tmp_path / "stock.csv"
    path.write_text(HEADER + ROW.format(qty=qty, rid="r1"), encoding="utf-8")
    feed = read_feed(path)
    assert not feed.rows
    assert str(feed.problems[0]).startswith(f"{path}:2:3: qty '{qty}' is too large"), feed.problems


def test_a_header_over_the_csv_modules_limit_is_a_problem_of_line_1(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text('"source' + "x" * 200_000 + "\n", encoding="utf-8")
    feed = read_feed(path)
    assert str(feed.problems[0]).startswith(f"{path}:1:1: a field longer than 131,072 characters")
