"""Loading rulesets: compiling to domain objects, cross-checks, limits and bad input."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal
from pathlib import Path

import pytest

from oms_sourcing.domain import (
    Catalog,
    Location,
    Sku,
    SkuInfo,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
    Zone,
)
from oms_sourcing.errors import Problem, RulesetError
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.rules import (
    DEFAULT_POLICY,
    MAX_RULES,
    MAX_RULESET_BYTES,
    BackorderPolicy,
    BundleMode,
    DeclineAction,
    FieldIn,
    Objective,
    RankKey,
    Ruleset,
    SplitMode,
    load_ruleset,
    parse_ruleset,
)

NETWORK = SourceNetwork(
    [
        Source(code=SourceCode("WH-BER"), groups=frozenset({"eu", "dc"}),
               location=Location(lat=52.52, lon=13.405, country="DE")),
        Source(code=SourceCode("WH-VEN"), groups=frozenset({"eu", "dc"}),
               tags=frozenset({"hazmat_certified"})),
        Source(code=SourceCode("ST-BER"), kind=SourceKind.STORE,
               groups=frozenset({"eu", "stores_de"})),
        Source(code=SourceCode("ST-OLD"), kind=SourceKind.STORE, enabled=False,
               groups=frozenset({"closed"})),
    ],
    zones=[Zone("dach", countries=frozenset({"DE", "AT", "CH"}))],
)
CATALOG = Catalog([
    SkuInfo(sku=Sku("SPRAY-STARCH"), tags=frozenset({"hazmat", "aerosol"})),
    SkuInfo(sku=Sku("SOFA-OAT"), tags=frozenset({"oversize"})),
])


def parse(text: str, **kw: object) -> Ruleset:
    return parse_ruleset(text, "rules.yaml", **kw)  # type: ignore[arg-type]


def problems(text: str, **kw: object) -> list[str]:
    with pytest.raises(RulesetError) as caught:
        parse(text, **kw)
    return [str(p) for p in caught.value.problems]


def test_a_ruleset_compiles_to_frozen_domain_objects() -> None:
    rs = parse(
        "id: eu\nversion: 7\ndescription: EU rules\n"
        "rules:\n"
        "  - name: express\n"
        "    description: fast\n"
        "    when: {shipping_method: express, country: [DE, AT]}\n"
        "    sources:\n"
        "      include: {groups: [dc], kinds: [warehouse]}\n"
        "      exclude: {sources: [WH-OLD]}\n"
        "      max_distance_km: 800\n"
        "    stock: {safety: {kinds: {store: 2}, default: 1}, respect_reservations: false}\n"
        "    split: {mode: hold_until_complete, max_shipments: 2, min_shipment_value: '25.50'}\n"
        "    bundles: {mode: simultaneous, split_after_attempts: 3}\n"
        "    objective: {shipping_cost: 1, shipments: 2.5}\n"
        "    backorder: cancel\n"
        "    decline: {attempts: 2, then: cancel}\n"
        "  - name: fallback\n"
    )
    assert (rs.id, rs.version, rs.description) == ("eu", "7", "EU rules")
    express = rs.rule("express")
    assert express.description == "fast"
    assert express.line == 5
    assert FieldIn("country", frozenset({"DE", "AT"})) in express.conditions
    policy = express.policy
    assert policy.sources.include == SourceSelector(
        groups=frozenset({"dc"}), kinds=frozenset({SourceKind.WAREHOUSE})
    )
    assert policy.sources.exclude == SourceSelector(codes=frozenset({"WH-OLD"}))
    assert policy.sources.max_distance_km == 800.0
    assert policy.stock.by_kind == ((SourceKind.STORE, Decimal(2)),)
    assert policy.stock.default == Decimal(1)
    assert policy.stock.respect_reservations is False
    assert policy.split.mode is SplitMode.HOLD_UNTIL_COMPLETE
    assert policy.split.max_shipments == 2
    assert policy.split.min_shipment_value == Decimal("25.50")
    assert policy.bundle.mode is BundleMode.SIMULTANEOUS
    assert policy.bundle.split_after_attempts == 3
    assert policy.objective == Objective(shipping_cost=Decimal(1), shipments=Decimal("2.5"))
    assert policy.rank == ()
    assert policy.backorder is BackorderPolicy.CANCEL
    assert (policy.decline.attempts, policy.decline.then) == (2, DeclineAction.CANCEL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        express.name = "other"  # type: ignore[misc]


def test_a_ruleset_that_sets_nothing_gets_the_library_defaults() -> None:
    rs = parse("id: x\nversion: 1\nrules: [{name: fallback}]\n")
    assert rs.defaults == DEFAULT_POLICY
    assert rs.rule("fallback").policy == DEFAULT_POLICY
    assert DEFAULT_POLICY.objective == Objective(shipping_cost=Decimal(1))
    assert DEFAULT_POLICY.backorder is BackorderPolicy.HOLD
    assert rs.fallback is not None and rs.fallback.name == "fallback"


def test_a_rule_section_replaces_the_same_section_of_the_defaults_as_a_whole() -> None:
    rs = parse(
        "id: x\nversion: 1\n"
        "defaults:\n"
        "  split: {mode: allow, max_shipments: 3}\n"
        "  stock: {safety: {kinds: {store: 2}}}\n"
        "  rank: [priority]\n"
        "rules:\n"
        "  - {name: tight, split: {mode: ship_complete}, objective: {shipments: 1}}\n"
        "  - {name: fallback}\n"
    )
    tight, fallback = rs.rules
    assert tight.policy.split.max_shipments is None
    assert tight.policy.stock == rs.defaults.stock
    assert tight.policy.rank == () and tight.policy.objective == Objective(shipments=Decimal(1))
    assert fallback.policy == rs.defaults
    assert fallback.policy.rank == (RankKey.PRIORITY,)


def test_one_value_where_a_list_is_expected_is_a_list_of_one() -> None:
    rs = parse("id: x\nversion: 1\nrules: [{name: r, when: {country: de, channel: Web_EU}}]\n")
    assert set(rs.rules[0].conditions) == {
        FieldIn("country", frozenset({"DE"})),
        FieldIn("channel", frozenset({"web_eu"})),
    }


def test_yaml_anchors_and_merge_keys_share_sections_between_rules() -> None:
    rs = parse(
        "id: x\nversion: 1\n"
        "rules:\n"
        "  - name: a\n"
        "    when: {country: DE}\n"
        "    split: &one-parcel {mode: ship_complete}\n"
        "  - name: b\n"
        "    when: {country: AT}\n"
        "    split: *one-parcel\n"
        "  - <<: {split: {mode: hold_until_complete}}\n"
        "    name: c\n"
    )
    assert [r.policy.split.mode for r in rs.rules] == [
        SplitMode.SHIP_COMPLETE, SplitMode.SHIP_COMPLETE, SplitMode.HOLD_UNTIL_COMPLETE,
    ]


def test_amounts_are_exact_decimals_whatever_way_they_are_written() -> None:
    rs = parse(
        "id: x\nversion: 1\nrules:\n"
        "  - {name: a, objective: {shipping_cost: 0.1, distance: '0.002', shipments: 3}}\n"
    )
    objective = rs.rules[0].policy.objective
    assert objective is not None
    assert objective.shipping_cost == Decimal("0.1")
    assert objective.distance == Decimal("0.002")
    assert objective.shipments == Decimal(3)


def test_a_version_is_a_label_and_a_decimal_version_must_be_quoted() -> None:
    assert parse("id: x\nversion: '1.10'\nrules: [{name: a}]\n").version == "1.10"
    assert problems("id: x\nversion: 1.10\nrules: [{name: a}]\n") == [
        "rules.yaml:2:10: version: YAML read this version as a decimal number; quote it, "
        "e.g. '1.10' (got 1.1)"
    ]


def test_problems_are_labelled_with_the_given_path() -> None:
    with pytest.raises(RulesetError) as caught:
        parse_ruleset("id: x\nversion: 1\nrules: [{name: a, when: {contry: DE}}]\n", "mine.yaml")
    (problem,) = caught.value.problems
    assert str(problem) == (
        "mine.yaml:3:26: rules[0].when: unknown key 'contry'; did you mean 'country'?"
    )
    assert problem.path == "mine.yaml"
    assert caught.value.path == "mine.yaml"


def test_warnings_come_back_with_the_ruleset_and_with_the_errors() -> None:
    text = "id: x\nversion: 1\nrules: [{name: de, when: {country: DE}}]\n"
    rs = parse(text)
    assert [p.code for p in rs.warnings] == ["no-fallback"]
    assert all(isinstance(p, Problem) and p.severity == "warning" for p in rs.warnings)
    assert problems(text + "zones: {bad: {}}\n") == [
        "rules.yaml:4:9: zones.bad: zone 'bad' lists no countries, regions or postcodes, so it "
        "would contain every address; list some, or drop the zone condition from the rules"
    ]


def test_a_missing_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RulesetError) as caught:
        load_ruleset(missing)
    assert [str(p) for p in caught.value.problems] == [
        f"{missing}:0:0: cannot read the ruleset: No such file or directory"
    ]


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: m\u00fcnchen\n".encode("latin-1"))
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:0:0: the file is not UTF-8 text (byte 5)"
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# padding\n" * (MAX_RULESET_BYTES // 10 + 1))
    started = time.perf_counter()
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    assert time.perf_counter() - started < 0.1
    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.code) == (0, 0, "too-large")
    assert "more than the 64 KiB a ruleset may have" in problem.message


def test_a_ruleset_with_too_many_rules_is_refused_with_the_first_rule_too_many() -> None:
    text = "id: x\nversion: 1\nrules:\n" + "".join(
        f"  - {{name: r{i}}}\n" for i in range(MAX_RULES + 1)
    )
    assert problems(text) == [
        f"rules.yaml:{4 + MAX_RULES}:5: rules[{MAX_RULES}]: the ruleset has {MAX_RULES + 1} "
        f"rules, more than the {MAX_RULES} allowed; a first-match list that long cannot be "
        "reviewed (group destinations into zones)"
    ]


def test_the_largest_ruleset_allowed_loads_in_about_a_second_at_most() -> None:
    rule = (
        "  - name: rule-{i}\n"
        "    when: {{country: [DE, AT], channel: web_eu, line_count: {{max: {i}}}}}\n"
        "    sources: {{include: {{groups: [eu, dc]}}}}\n"
    )
    text = "id: x\nversion: 1\nrules:\n"
    i = 1
    while len(text) + 200 < MAX_RULESET_BYTES and i < MAX_RULES:
        text += rule.format(i=i)
        i += 1
    text += "  - name: fallback\n"
    started = time.perf_counter()
    rs = parse(text)
    assert time.perf_counter() - started < 1.5
    assert len(rs) == i


def test_an_alias_bomb_in_a_string_is_refused_without_expanding_it() -> None:
    levels = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for n in range(1, 12):
        prev, cur = chr(ord("a") + n - 1), chr(ord("a") + n)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    text = "id: x\nversion: 1\n" + "\n".join(levels) + "\nrules: [{name: a}]\n"
    started = time.perf_counter()
    with pytest.raises(RulesetError) as caught:
        parse(text)
    assert time.perf_counter() - started < 0.1
    assert [p.code for p in caught.value.problems] == ["alias-bomb"]


def test_shared_anchors_within_the_limit_load() -> None:
    rs = parse(
        "id: x\nversion: 1\n"
        "defaults: {sources: {include: &dcs {groups: [dc]}}}\n"
        "rules:\n"
        "  - {name: a, when: {country: DE}, sources: {include: *dcs, max_distance_km: 300}}\n"
        "  - {name: b}\n"
    )
    assert rs.rules[0].policy.sources.include == rs.defaults.sources.include


class TestAgainstANetwork:
    def test_unknown_source_codes_groups_and_tags_are_errors_with_a_suggestion(self) -> None:
        text = (
            "id: x\nversion: 1\nrules:\n"
            "  - name: a\n"
            "    sources:\n"
            "      include: {sources: [WH-BRE], groups: [stores_dee], tags: [hazmat]}\n"
            "      exclude: {groups: [warehouses]}\n"
            "  - name: b\n"
        )
        assert problems(text, network=NETWORK) == [
            "rules.yaml:6:27: rules[0].sources.include.sources[0]: the network has no source "
            "'WH-BRE'; did you mean 'WH-BER'?",
            "rules.yaml:6:45: rules[0].sources.include.groups[0]: the network has no source "
            "group 'stores_dee'; did you mean 'stores_de'?",
            "rules.yaml:6:65: rules[0].sources.include.tags[0]: the network has no source tag "
            "'hazmat'; did you mean 'hazmat_certified'?",
            "rules.yaml:7:26: rules[0].sources.exclude.groups[0]: the network has no source "
            "group 'warehouses' (known source groups: closed, dc, eu, stores_de)",
        ]

    def test_without_a_network_source_names_are_not_checked(self) -> None:
        rs = parse("id: x\nversion: 1\nrules: [{name: a, sources: {include: {sources: [X]}}}]\n")
        assert rs.rules[0].policy.sources.include == SourceSelector(codes=frozenset({"X"}))

    def test_safety_stock_for_an_unknown_source_or_group_is_an_error(self) -> None:
        text = (
            "id: x\nversion: 1\nrules:\n"
            "  - name: a\n"
            "    stock:\n"
            "      safety:\n"
            "        sources: {ST-BRE: 2}\n"
            "        groups: {stores: 1}\n"
        )
        assert problems(text, network=NETWORK) == [
            "rules.yaml:7:19: rules[0].stock.safety.sources.ST-BRE: the network has no source "
            "'ST-BRE'; did you mean 'ST-BER'?",
            "rules.yaml:8:18: rules[0].stock.safety.groups.stores: the network has no source "
            "group 'stores'; did you mean 'stores_de'?",
        ]

    def test_a_kind_no_source_of_the_network_has_is_a_warning(self) -> None:
        rs = parse(
            "id: x\nversion: 1\nrules:\n"
            "  - {name: a, sources: {include: {kinds: [dropship, warehouse]}}}\n",
            network=NETWORK,
        )
        assert [str(p) for p in rs.warnings if p.code == "unused-kind"] == [
            "rules.yaml:4:43: warning: rules[0].sources.include.kinds[0]: the network has no "
            "source of kind 'dropship'"
        ]

    def test_the_networks_zones_are_known_only_with_the_network(self) -> None:
        text = "id: x\nversion: 1\nrules: [{name: a, when: {zone: dach}}, {name: b}]\n"
        assert parse(text, network=NETWORK).rules[0].conditions[0].key == "zone"
        assert problems(text) == [
            "rules.yaml:3:32: rules[0].when.zone: unknown zone 'dach'; define it under `zones:` "
            "(the network's zones are known only when the ruleset is loaded with the network)"
        ]

    def test_a_ruleset_zone_that_redefines_a_network_zone_differently_is_a_warning(
        self,
    ) -> None:
        rs = parse(
            "id: x\nversion: 1\nzones:\n  dach: {countries: [DE, AT]}\n"
            "rules: [{name: a, when: {zone: dach}}, {name: b}]\n",
            network=NETWORK,
        )
        assert [str(p) for p in rs.warnings] == [
            "rules.yaml:4:3: warning: zones.dach: zone 'dach' is also defined by the network, "
            "differently; this ruleset uses its own definition (rename one to avoid confusion)"
        ]
        zone_condition = rs.rules[0].conditions[0]
        assert zone_condition.describe() == "destination in zone dach"
        assert rs.zones == (Zone("dach", countries=frozenset({"DE", "AT"})),)

    def test_the_same_definition_under_the_same_name_is_fine(self) -> None:
        rs = parse(
            "id: x\nversion: 1\nzones:\n  dach: {countries: [de, at, ch]}\n"
            "rules: [{name: a, when: {zone: dach}}, {name: b}]\n",
            network=NETWORK,
        )
        assert rs.warnings == ()


class TestAgainstACatalog:
    def test_an_sku_tag_no_sku_carries_is_an_error_with_a_suggestion(self) -> None:
        text = (
            "id: x\nversion: 1\nrules:\n"
            "  - name: a\n"
            "    when: {sku_tags: {any: [hazmt]}}\n"
            "    sources:\n"
            "      lines: [{when: {sku_tag: oversized}, sources: {exclude: {kinds: [store]}}}]\n"
            "  - name: b\n"
        )
        assert problems(text, catalog=CATALOG) == [
            "rules.yaml:5:29: rules[0].when.sku_tags.any[0]: no SKU in the catalog is tagged "
            "'hazmt'; did you mean 'hazmat'?",
            "rules.yaml:7:32: rules[0].sources.lines[0].when.sku_tag: no SKU in the catalog is "
            "tagged 'oversized'; did you mean 'oversize'?",
        ]

    def test_a_line_restriction_for_an_sku_the_catalog_lacks_is_a_warning(self) -> None:
        rs = parse(
            "id: x\nversion: 1\nrules:\n"
            "  - name: a\n"
            "    sources:\n"
            "      lines: [{when: {sku: [sofa-oat, SOFA-ELM]}, sources: {max_distance_km: 50}}]\n",
            catalog=CATALOG,
        )
        assert [str(p) for p in rs.warnings if p.code == "unknown-sku"] == [
            "rules.yaml:6:39: warning: rules[0].sources.lines[0].when.sku[1]: SKU 'SOFA-ELM' is "
            "not in the catalog"
        ]
