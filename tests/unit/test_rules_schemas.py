"""JSON Schemas of the file formats, and the committed copies editors use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oms_sourcing.errors import InputError
from oms_sourcing.rules.schema import RulesetFile
from oms_sourcing.rules.schemas import SCHEMA_NAMES, json_schema, schema_text, write_schemas

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
RULESETS = sorted((ROOT / "rulesets").glob("*.yaml"))


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_file_format_has_a_json_schema(name: str) -> None:
    schema = json_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["properties"]


def test_the_committed_ruleset_schema_is_the_generated_one() -> None:
    committed = json.loads((SCHEMAS / "ruleset.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema("ruleset"), (
        "schemas/ruleset.schema.json is stale; regenerate it with "
        "`oms-sourcing schema ruleset -o schemas/ruleset.schema.json`"
    )


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_committed_schema_is_the_generated_one(path: Path) -> None:
    name = path.name.removesuffix(".schema.json")
    assert path.read_text(encoding="utf-8") == schema_text(name), (
        f"{path.name} is stale; regenerate with `oms-sourcing schema all -o schemas`"
    )


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.name)
def test_example_rulesets_point_editors_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/ruleset.schema.json"
    assert (path.parent / "../schemas/ruleset.schema.json").resolve().is_file()


def _objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


def test_the_ruleset_schema_refuses_unknown_keys_everywhere_like_the_loader() -> None:
    objects = _objects(json_schema("ruleset"))
    assert len(objects) >= 15
    assert all(o.get("additionalProperties") is False for o in objects)


def test_the_ruleset_schema_describes_every_key_for_editor_hovers() -> None:
    schema = json_schema("ruleset")
    missing = [
        f"{o.get('title')}.{key}"
        for o in _objects(schema)
        for key, prop in o["properties"].items()
        if "description" not in prop
    ]
    assert missing == []
    assert set(schema["properties"]) == set(RulesetFile.model_fields)


def test_one_value_or_a_list_is_allowed_where_the_loader_allows_both() -> None:
    when = json_schema("ruleset")["$defs"]["WhenModel"]["properties"]
    assert [alt["type"] for alt in when["country"]["anyOf"]] == ["string", "array"]


def test_an_unknown_schema_name_suggests_the_closest() -> None:
    with pytest.raises(InputError, match="no schema named 'rulset'; did you mean 'ruleset'"):
        json_schema("rulset")


def test_all_schemas_can_be_written_into_a_folder(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "out")
    assert [p.name for p in written] == [f"{n}.schema.json" for n in SCHEMA_NAMES]
    assert json.loads(written[0].read_text(encoding="utf-8")) == json_schema("ruleset")
