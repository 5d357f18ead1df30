"""The compiled policy objects the allocator reads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms_sourcing.domain import Source, SourceCode, SourceKind, SourceSelector
from oms_sourcing.errors import UnknownReferenceError
from oms_sourcing.rules import (
    DEFAULT_POLICY,
    LineRestriction,
    Objective,
    Policy,
    RankKey,
    SourcePolicy,
    StockPolicy,
    parse_ruleset,
)

BERLIN_DC = Source(code=SourceCode("WH-BER"), groups=frozenset({"eu", "dc"}))
VENLO_DC = Source(code=SourceCode("WH-VEN"), groups=frozenset({"eu", "dc"}),
                  tags=frozenset({"hazmat_certified"}))
BERLIN_STORE = Source(code=SourceCode("ST-BER"), kind=SourceKind.STORE,
                      groups=frozenset({"eu", "stores", "flagship"}))
HAMBURG_STORE = Source(code=SourceCode("ST-HAM"), kind=SourceKind.STORE,
                       groups=frozenset({"eu", "stores"}))
POZNAN_DROPSHIP = Source(code=SourceCode("DS-POZ"), kind=SourceKind.DROPSHIP)


class TestSafetyStock:
    policy = StockPolicy(
        by_source=(("ST-HAM", Decimal(1)),),
        by_group=(("stores", Decimal(2)), ("flagship", Decimal(5))),
        by_kind=((SourceKind.STORE, Decimal(3)), (SourceKind.DROPSHIP, Decimal(4))),
        default=Decimal("0.5"),
    )

    def test_a_source_setting_beats_its_groups(self) -> None:
        assert self.policy.safety_for(HAMBURG_STORE) == Decimal(1)

    def test_the_largest_of_several_matching_groups_applies(self) -> None:
        assert self.policy.safety_for(BERLIN_STORE) == Decimal(5)

    def test_a_kind_applies_when_no_source_or_group_setting_does(self) -> None:
        assert self.policy.safety_for(POZNAN_DROPSHIP) == Decimal(4)

    def test_the_default_applies_to_every_other_source(self) -> None:
        assert self.policy.safety_for(BERLIN_DC) == Decimal("0.5")

    def test_no_safety_stock_by_default(self) -> None:
        assert StockPolicy().safety_for(BERLIN_STORE) == 0
        assert not StockPolicy().has_safety_stock
        assert self.policy.has_safety_stock

    def test_policies_with_the_same_settings_in_another_order_are_equal(self) -> None:
        reordered = StockPolicy(
            by_source=(("ST-HAM", Decimal(1)),),
            by_group=(("flagship", Decimal(5)), ("stores", Decimal(2))),
            by_kind=((SourceKind.DROPSHIP, Decimal(4)), (SourceKind.STORE, Decimal(3))),
            default=Decimal("0.5"),
        )
        assert reordered == self.policy
        assert hash(reordered) == hash(self.policy)


class TestSourcePolicy:
    policy = SourcePolicy(
        include=SourceSelector(groups=frozenset({"eu"})),
        exclude=SourceSelector(codes=frozenset({"ST-HAM"})),
        max_distance_km=500.0,
        lines=(
            LineRestriction(sku_tags=frozenset({"hazmat"}),
                            include=SourceSelector(tags=frozenset({"hazmat_certified"}))),
            LineRestriction(skus=frozenset({"sofa-oat"}),
                            exclude=SourceSelector(kinds=frozenset({SourceKind.STORE})),
                            max_distance_km=200.0),
        ),
    )

    def test_include_and_exclude_decide_which_sources_may_ship(self) -> None:
        assert self.policy.allows(BERLIN_STORE)
        assert not self.policy.allows(HAMBURG_STORE)
        assert not self.policy.allows(POZNAN_DROPSHIP)

    def test_no_include_means_every_source(self) -> None:
        assert SourcePolicy().allows(POZNAN_DROPSHIP)

    def test_line_restrictions_narrow_the_sources_of_the_lines_they_apply_to(self) -> None:
        hazmat = frozenset({"hazmat", "aerosol"})
        assert self.policy.allows_for_line(VENLO_DC, "SPRAY-STARCH", hazmat)
        assert not self.policy.allows_for_line(BERLIN_DC, "SPRAY-STARCH", hazmat)
        assert self.policy.allows_for_line(BERLIN_DC, "TEE-RED-M", frozenset({"apparel"}))

    def test_a_restriction_by_sku_ignores_letter_case(self) -> None:
        assert self.policy.restrictions_for("SOFA-OAT", frozenset()) == (self.policy.lines[1],)
        assert not self.policy.allows_for_line(BERLIN_STORE, "Sofa-Oat", frozenset())

    def test_the_tightest_distance_limit_applies_to_a_line(self) -> None:
        assert self.policy.max_distance_for_line("SOFA-OAT", frozenset()) == 200.0
        assert self.policy.max_distance_for_line("TEE-RED-M", frozenset()) == 500.0
        assert SourcePolicy().max_distance_for_line("TEE-RED-M", frozenset()) is None

    def test_a_restriction_with_tags_and_skus_needs_both(self) -> None:
        both = LineRestriction(sku_tags=frozenset({"hazmat"}), skus=frozenset({"spray-starch"}))
        assert both.applies_to("SPRAY-STARCH", frozenset({"hazmat"}))
        assert not both.applies_to("SPRAY-STARCH", frozenset())
        assert not both.applies_to("BATTERY-AA", frozenset({"hazmat"}))


def test_an_objective_knows_when_all_its_weights_are_zero() -> None:
    assert Objective().is_zero
    assert not Objective(capacity_use=Decimal("0.01")).is_zero
    assert Objective(distance=Decimal(2)).weights()["distance"] == Decimal(2)


def test_a_policy_uses_rank_or_objective() -> None:
    assert not DEFAULT_POLICY.uses_rank
    assert Policy(objective=None, rank=(RankKey.DISTANCE,)).uses_rank


def test_policies_are_hashable_so_callers_can_cache_by_policy() -> None:
    cache = {DEFAULT_POLICY: "default", Policy(rank=(RankKey.STOCK,), objective=None): "stock"}
    assert cache[Policy()] == "default"


def test_asking_for_a_rule_that_does_not_exist_names_the_known_rules() -> None:
    rs = parse_ruleset("id: x\nversion: 1\nrules: [{name: germany}, {name: rest}]\n")
    with pytest.raises(UnknownReferenceError) as caught:
        rs.rule("germnay")
    assert caught.value.known == ("germany", "rest")
    assert len(rs) == 2


def test_a_ruleset_knows_whether_it_reads_sku_tags_and_which_zones_it_names() -> None:
    plain = parse_ruleset("id: x\nversion: 1\nrules: [{name: a}]\n")
    tagged = parse_ruleset(
        "id: x\nversion: 1\nzones: {north: {countries: [DK]}}\n"
        "rules:\n  - {name: a, when: {zone: north}}\n"
        "  - {name: b, sources: {lines: [{when: {sku_tag: hazmat}, "
        "sources: {max_distance_km: 10}}]}}\n"
    )
    assert not plain.uses_sku_tags
    assert tagged.uses_sku_tags
    assert tagged.zone_names == ("north",)
