from __future__ import annotations

import time

import pytest

from oms_sourcing.formats._yaml import MAX_BYTES, YamlLoadError, parse_yaml


def test_values_and_keys_remember_where_they_stand() -> None:
    doc = parse_yaml("a:\n  b: [1, 2]\n  c: {d: x}\n", "f.yaml")
    assert doc.data == {"a": {"b": [1, 2], "c": {"d": "x"}}}
    assert doc.value_pos[("a", "b", 1)] == (2, 10)
    assert doc.key_pos[("a", "c")] == (3, 3)
    assert doc.position(["a", "c", "d", "missing"]) == (3, 10)


def test_merge_keys_fill_in_without_overriding() -> None:
    doc = parse_yaml("base: &b {x: 1, y: 2}\nrule:\n  <<: *b\n  y: 3\n")
    assert doc.data["rule"] == {"x": 1, "y": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a' (the first is at line 1)"),
        ("a: [1,\n", "f.yaml:2:1: YAML syntax error"),
        ("   \n# only a comment\n", "f.yaml:0:0: file is empty"),
        ("a: !!python/object:os.system x\n", "f.yaml:1:4: YAML value error"),
    ],
)
def test_broken_yaml_is_reported_with_its_position(text: str, expected: str) -> None:
    with pytest.raises(YamlLoadError) as err:
        parse_yaml(text, "f.yaml")
    assert str(err.value.problems[0]).startswith(expected), str(err.value)


def test_an_alias_bomb_is_refused_quickly() -> None:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        levels.append(f"a{i}: &a{i} [{refs}]")
    start = time.perf_counter()
    with pytest.raises(YamlLoadError, match="expands to more than"):
        parse_yaml("\n".join(levels) + "\n", "bomb.yaml")
    assert time.perf_counter() - start < 5  # generous: the point is "never hangs"


def test_an_oversized_text_is_refused_before_parsing() -> None:
    with pytest.raises(YamlLoadError, match="larger than"):
        parse_yaml("a: " + "x" * (MAX_BYTES + 1), "big.yaml")
