"""Every file in tests/data/rulesets_invalid/ is refused with exactly the problems it expects.

Each fixture ends with ``# expect: LINE:COL: message`` comments, one per problem, in the order
the loader reports them; the path is the one the file was loaded from.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from oms_sourcing.errors import RulesetError
from oms_sourcing.rules import load_ruleset

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "rulesets_invalid"
FILES = sorted(FIXTURES.glob("*.yaml"))


def expected_problems(path: Path) -> list[str]:
    prefix = "# expect: "
    return [
        f"{path}:{line[len(prefix):]}"
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(prefix)
    ]


def test_there_are_invalid_fixtures_for_every_kind_of_bad_input() -> None:
    names = {p.stem for p in FILES}
    assert {
        "syntax_error", "wrong_type", "unknown_key", "unknown_zone", "duplicate_rule_name",
        "empty", "alias_bomb", "duplicate_key",
    } <= names


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_an_invalid_ruleset_is_refused_with_the_problems_it_expects(path: Path) -> None:
    expected = expected_problems(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    started = time.perf_counter()
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    elapsed = time.perf_counter() - started
    assert [str(p) for p in caught.value.problems] == expected
    assert elapsed < 1.0


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_stopping_at_the_first_error_reports_one_of_the_expected_problems(path: Path) -> None:
    # Stages run in order (YAML, schema, references), so the first error *found* is reported:
    # for a file with a schema error that is not necessarily the first line with a problem.
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path, collect=False)
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 1
    assert problems[0] in expected_problems(path)


def test_stopping_at_the_first_error_reports_the_schema_error_before_reference_errors() -> None:
    path = FIXTURES / "several_problems.yaml"
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path, collect=False)
    assert [p.line for p in caught.value.problems] == [13]
