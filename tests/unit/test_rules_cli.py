"""``oms-sourcing validate`` and ``oms-sourcing schema``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from oms_sourcing.cli._rules import register
from oms_sourcing.rules.schemas import SCHEMA_NAMES, json_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    return app


def run(app: typer.Typer, *args: str | Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.splitlines()


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_ruleset_exits_0_with_a_one_line_summary(app: typer.Typer, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id: x\nversion: 1\nzones: {dach: {countries: [DE, AT, CH]}}\n"
        "rules: [{name: dach, when: {zone: dach}}, {name: rest}]\n",
    )
    code, lines = run(app, "validate", path)
    assert (code, lines[0]) == (0, f"{path}: ok: 2 rules, 1 zone, 0 warnings")


def test_validate_without_a_network_or_catalog_says_what_went_unchecked(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write(tmp_path, "id: x\nversion: 1\nrules: [{name: rest, sources: {include: "
                           "{groups: [dc_eu]}}}]\n")

    code, alone = run(app, "validate", path)
    _, with_network = run(app, "validate", path, "--network", EXAMPLES / "network.yaml")
    _, with_both = run(app, "validate", path, "--network", EXAMPLES / "network.yaml",
                       "--catalog", EXAMPLES / "catalog.yaml")

    assert code == 0
    assert alone[1:] == [
        f"{path}: not checked: source codes, source groups, kinds and tags, and the network's "
        "zone names (give --network to check them)",
        f"{path}: not checked: SKUs and SKU tags (give --catalog to check them)",
    ]
    assert with_network[1:] == [
        f"{path}: not checked: SKUs and SKU tags (give --catalog to check them)"]
    assert len(with_both) == 1 and with_both[0].endswith("checked against the network and "
                                                         "catalog")


def test_warnings_are_printed_and_do_not_fail_unless_strict(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write(tmp_path, "id: x\nversion: 1\nrules: [{name: de, when: {country: DE}}]\n")
    code, lines = run(app, "validate", path)
    assert code == 0
    assert lines[0].startswith(f"{path}:3:1: warning: rules: no fallback rule")
    assert lines[1] == f"{path}: ok: 1 rule, 0 zones, 1 warning"
    code, lines = run(app, "validate", path, "--strict")
    assert code == 1
    assert lines[1] == f"{path}: failed (--strict): 1 rule, 0 zones, 1 warning"


def test_an_invalid_ruleset_exits_1_printing_each_problem_with_its_position(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "id: x\nversion: 1\nrules:\n"
        "  - {name: a, when: {shiping_method: express}}\n"
        "  - {name: a, split: {mode: ship_complet}}\n",
    )
    code, lines = run(app, "validate", path)
    assert code == 1
    assert lines == [
        f"{path}:4:22: rules[0].when: unknown key 'shiping_method'; did you mean "
        "'shipping_method'?",
        f"{path}:5:12: rules[1].name: rule name 'a' is already used by rules[0] (line 4); rule "
        "names must be unique because explanations and decision history name rules",
        f"{path}:5:29: rules[1].split.mode: Input should be 'allow', 'ship_complete' or "
        "'hold_until_complete' (got 'ship_complet'); did you mean 'ship_complete'?",
        f"{path}: 3 errors, 0 warnings",
    ]
    code, lines = run(app, "validate", path, "--first")
    assert (code, len(lines)) == (1, 2)


def test_bad_yaml_is_reported_without_a_traceback(app: typer.Typer, tmp_path: Path) -> None:
    path = write(tmp_path, "id: x\nrules: [{name: a}\n")
    code, lines = run(app, "validate", path)
    assert code == 1
    assert lines[0].startswith(f"{path}:3:1: YAML syntax error:")
    assert "Traceback" not in "\n".join(lines)


def test_a_missing_ruleset_file_exits_1(app: typer.Typer, tmp_path: Path) -> None:
    code, lines = run(app, "validate", tmp_path / "missing.yaml")
    assert code == 1
    assert lines[0].endswith("cannot read the ruleset: No such file or directory")


def test_references_are_checked_against_the_network_and_catalog(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "id: x\nversion: 1\nrules:\n"
        "  - {name: a, when: {zone: dach, sku_tags: {any: [hazmat]}}, "
        "sources: {include: {groups: [stores_dee]}}}\n"
        "  - {name: rest}\n",
    )
    code, lines = run(
        app, "validate", path,
        "--network", EXAMPLES / "network.yaml", "--catalog", EXAMPLES / "catalog.yaml",
    )
    assert code == 1
    assert lines == [
        f"{path}:4:91: rules[0].sources.include.groups[0]: the network has no source group "
        "'stores_dee'; did you mean 'stores_de'?",
        f"{path}: 1 error, 0 warnings",
    ]


def test_a_broken_network_file_stops_the_check(app: typer.Typer, tmp_path: Path) -> None:
    ruleset = write(tmp_path, "id: x\nversion: 1\nrules: [{name: a}]\n")
    network = write(tmp_path, "sources: [{code: WH-BER, kind: wherehouse}]\n", "network.yaml")
    code, lines = run(app, "validate", ruleset, "--network", network)
    assert code == 1
    assert lines[0].startswith(f"{network}:1:")
    assert lines[-1] == f"{ruleset}: not checked: {network} has errors"


def test_schema_prints_the_json_schema_of_a_format(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["schema", "ruleset"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json_schema("ruleset")


def test_schema_writes_every_format_into_a_folder(app: typer.Typer, tmp_path: Path) -> None:
    code, lines = run(app, "schema", "all", "--output", tmp_path)
    assert code == 0
    assert len(lines) == len(SCHEMA_NAMES)
    assert json.loads((tmp_path / "feed.schema.json").read_text()) == json_schema("feed")


def test_schema_refuses_an_unknown_format_with_a_suggestion(app: typer.Typer) -> None:
    code, lines = run(app, "schema", "orders")
    assert code == 2
    assert lines == [
        "error: no schema named 'orders'; did you mean 'order'? "
        "(schemas: ruleset, network, catalog, order, feed, allocation-result)"
    ]


def test_schema_help_lists_every_schema_it_prints(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["schema", "--help"])
    assert result.exit_code == 0
    said = " ".join(result.output.replace("│", " ").split())   # typer draws a box
    for name in SCHEMA_NAMES:
        assert name in said
