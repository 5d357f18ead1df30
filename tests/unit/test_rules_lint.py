"""Lint warnings: rulesets that load but probably do not do what their author meant."""

from __future__ import annotations

import pytest

from oms_sourcing.domain import Catalog, Sku, SkuInfo, Source, SourceCode, SourceKind
from oms_sourcing.errors import RulesetError
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.rules import Ruleset, parse_ruleset, shadowing_rule

NETWORK = SourceNetwork([
    Source(code=SourceCode("WH-BER"), groups=frozenset({"dc"})),
    Source(code=SourceCode("WH-VEN"), groups=frozenset({"dc"}),
           tags=frozenset({"hazmat_certified"})),
    Source(code=SourceCode("ST-BER"), kind=SourceKind.STORE, groups=frozenset({"stores"})),
    Source(code=SourceCode("ST-ROM"), kind=SourceKind.STORE, enabled=False,
           groups=frozenset({"stores_it"})),
])
CATALOG = Catalog([SkuInfo(sku=Sku("SPRAY-STARCH"), tags=frozenset({"hazmat"}))])


def load(rules: str, head: str = "", **kw: object) -> Ruleset:
    return parse_ruleset(
        f"id: lint\nversion: 1\n{head}rules:\n{rules}", "lint.yaml", **kw  # type: ignore[arg-type]
    )


def warnings(rules: str, head: str = "", code: str | None = None, **kw: object) -> list[str]:
    found = load(rules, head, **kw).warnings
    return [str(p) for p in found if code is None or p.code == code]


class TestUnreachableRules:
    def test_a_rule_after_one_without_conditions_can_never_match(self) -> None:
        assert warnings(
            "  - name: everything\n  - name: germany\n    when: {country: DE}\n",
            code="unreachable-rule",
        ) == [
            "lint.yaml:5:5: warning: rules[1]: rule 'germany' can never match: rule "
            "'everything' (line 4) comes first and has no conditions, so it matches every order"
        ]

    @pytest.mark.parametrize(
        ("earlier", "later"),
        [
            ("{country: [DE, AT]}", "{country: DE}"),
            ("{country: [DE, AT]}", "{country: DE, channel: web_eu}"),
            ("{order_value: {min: 50}}", "{order_value: {min: 100, max: 500}}"),
            ("{line_count: {max: 10}}", "{line_count: {min: 2, max: 5}}"),
            ("{postcode_prefix: IV}", "{postcode_prefix: [IV2, IV3]}"),
            ("{zone: [north, south]}", "{zone: north}"),
            ("{sku_tags: {any: [hazmat, oversize]}}", "{sku_tags: {any: [hazmat]}}"),
            ("{sku_tags: {any: [hazmat]}}", "{sku_tags: {all: [hazmat, oversize]}}"),
            ("{sku_tags: {none: [hazmat]}}", "{sku_tags: {none: [hazmat, oversize]}}"),
            ("{delivery: ship, channel: [web_eu, app_eu]}",
             "{channel: web_eu, delivery: ship, country: FR}"),
        ],
    )
    def test_a_rule_is_unreachable_when_an_earlier_rule_matches_all_it_matches(
        self, earlier: str, later: str
    ) -> None:
        found = warnings(
            f"  - name: wide\n    when: {earlier}\n  - name: narrow\n    when: {later}\n"
            "  - name: fallback\n",
            head="zones: {north: {countries: [DE]}, south: {countries: [IT]}}\n",
            code="unreachable-rule",
        )
        assert found == [
            "lint.yaml:7:5: warning: rules[1]: rule 'narrow' can never match: rule 'wide' "
            "(line 5) comes first and matches every order this rule matches"
        ]

    @pytest.mark.parametrize(
        ("earlier", "later"),
        [
            ("{country: DE}", "{country: [DE, AT]}"),
            ("{country: DE, channel: web_eu}", "{country: DE}"),
            ("{order_value: {min: 100}}", "{order_value: {min: 50}}"),
            ("{postcode_prefix: IV2}", "{postcode_prefix: IV}"),
            ("{country: DE}", "{zone: north}"),
            ("{sku_tags: {any: [hazmat]}}", "{sku_tags: {any: [hazmat, oversize]}}"),
        ],
    )
    def test_a_rule_that_matches_some_order_the_earlier_rule_does_not_is_reachable(
        self, earlier: str, later: str
    ) -> None:
        assert warnings(
            f"  - name: first\n    when: {earlier}\n  - name: second\n    when: {later}\n"
            "  - name: fallback\n",
            head="zones: {north: {countries: [DE]}}\n",
            code="unreachable-rule",
        ) == []

    def test_the_shadowing_rule_is_the_first_that_covers(self) -> None:
        rs = load(
            "  - {name: a, when: {country: FR}}\n"
            "  - {name: b, when: {country: [DE, AT]}}\n"
            "  - {name: c, when: {country: [DE, AT, CH]}}\n"
            "  - {name: d, when: {country: DE}}\n"
            "  - {name: e}\n"
        )
        assert shadowing_rule(rs.rules, 3) is rs.rules[1]
        assert shadowing_rule(rs.rules, 2) is None
        assert shadowing_rule(rs.rules, 0) is None


def test_a_ruleset_without_a_fallback_rule_is_warned_about() -> None:
    assert warnings("  - {name: de, when: {country: DE}}\n") == [
        "lint.yaml:3:1: warning: rules: no fallback rule: orders that match no rule get the "
        "`defaults` policy; end the list with a rule without `when` to make that choice visible"
    ]
    assert warnings("  - {name: de, when: {country: DE}}\n  - {name: rest}\n") == []


class TestSourcesThatResolveToNothing:
    def test_a_rule_that_excludes_everything_it_includes_is_warned_about(self) -> None:
        assert warnings(
            "  - name: stores\n"
            "    sources:\n"
            "      include: {kinds: [store], groups: [dc]}\n"
            "      exclude: {kinds: [store, dropship], groups: [dc, eu]}\n"
            "  - name: rest\n",
            code="no-sources",
        ) == [
            "lint.yaml:6:7: warning: rules[0].sources: rule 'stores' excludes everything it "
            "includes, so no source can ship its orders"
        ]

    def test_a_rule_whose_only_sources_are_disabled_is_warned_about_with_a_network(
        self,
    ) -> None:
        rules = "  - {name: rome, sources: {include: {groups: [stores_it]}}}\n"
        assert warnings(rules) == []
        assert warnings(rules, network=NETWORK) == [
            "lint.yaml:4:27: warning: rules[0].sources: no enabled source of the network passes "
            "the include/exclude of rule 'rome', so its orders cannot be sourced"
        ]

    def test_the_defaults_sources_are_checked_once_where_they_are_written(self) -> None:
        assert warnings(
            "  - {name: rest}\n",
            head="defaults:\n  sources: {include: {groups: [dc]}, exclude: {sources: "
            "[WH-BER, WH-VEN]}}\n",
            network=NETWORK,
        ) == [
            "lint.yaml:4:12: warning: defaults.sources: no enabled source of the network passes "
            "the include/exclude of defaults, so its orders cannot be sourced"
        ]

    def test_a_line_restriction_no_allowed_source_passes_is_warned_about(self) -> None:
        rules = (
            "  - name: stores-only\n"
            "    sources:\n"
            "      include: {kinds: [store]}\n"
            "      lines:\n"
            "        - when: {sku_tag: hazmat}\n"
            "          sources: {include: {tags: [hazmat_certified]}}\n"
            "  - name: rest\n"
        )
        assert warnings(rules, code="no-sources", network=NETWORK, catalog=CATALOG) == [
            "lint.yaml:8:11: warning: rules[0].sources.lines[0]: no source allowed by rule "
            "'stores-only' also passes this restriction, so lines with SKU tagged hazmat "
            "cannot be sourced"
        ]

    def test_a_line_restriction_that_excludes_what_it_includes_is_warned_about(self) -> None:
        assert warnings(
            "  - name: r\n"
            "    sources:\n"
            "      lines:\n"
            "        - when: {sku: [SOFA-OAT]}\n"
            "          sources: {include: {kinds: [store]}, exclude: {kinds: [store]}}\n",
            code="no-sources",
        ) == [
            "lint.yaml:7:11: warning: rules[0].sources.lines[0]: lines with SKU in sofa-oat "
            "exclude everything they include, so no source can ship them"
        ]


def test_an_objective_whose_weights_are_all_zero_is_warned_about() -> None:
    assert warnings("  - {name: r, objective: {shipping_cost: 0, distance: '0.0'}}\n") == [
        "lint.yaml:4:15: warning: rules[0].objective: every weight is 0, so all plans score the "
        "same and ties decide (priority, then code); give shipping_cost or another weight a "
        "value, or use rank"
    ]


def test_duplicate_rule_names_are_an_error_not_a_warning() -> None:
    with pytest.raises(RulesetError) as caught:
        load("  - {name: same}\n  - {name: same, when: {country: DE}}\n")
    assert [(p.severity, p.code) for p in caught.value.problems] == [("error", "duplicate-rule")]


def test_sku_tags_without_a_catalog_are_warned_about_once() -> None:
    rules = (
        "  - {name: hazmat, when: {sku_tags: {any: [hazmat]}}}\n"
        "  - {name: also, when: {sku_tags: {none: [hazmat]}, country: DE}}\n"
        "  - {name: rest}\n"
    )
    assert warnings(rules) == [
        "lint.yaml:4:37: warning: rules[0].when.sku_tags: SKU tags come from the catalog, and "
        "none was given: tag names were not checked, and orders are matched on tags only when "
        "select() gets a catalog"
    ]
    assert warnings(rules, catalog=CATALOG) == []
