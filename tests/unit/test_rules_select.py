"""Rule selection: the first rule whose conditions all hold applies, and the trace says why."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from oms_sourcing.domain import (
    Catalog,
    Delivery,
    LineId,
    Location,
    Order,
    OrderId,
    OrderLine,
    Shipping,
    Sku,
    SkuInfo,
    Source,
    SourceCode,
    Zone,
)
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.rules import RankKey, Ruleset, RuleTrace, parse_ruleset, select

CATALOG = Catalog([
    SkuInfo(sku=Sku("SPRAY-STARCH"), tags=frozenset({"hazmat", "aerosol"})),
    SkuInfo(sku=Sku("SOFA-OAT"), tags=frozenset({"oversize", "furniture"})),
    SkuInfo(sku=Sku("TEE-RED-M"), tags=frozenset({"apparel"})),
])


def order(
    *skus: str,
    country: str = "DE",
    region: str = "BE",
    postcode: str = "10115",
    channel: str = "web_eu",
    customer_group: str = "general",
    method: str = "standard",
    delivery: Delivery = Delivery.SHIP,
    price: str = "20.00",
    currency: str = "EUR",
) -> Order:
    lines = tuple(
        OrderLine(id=LineId(str(i + 1)), sku=Sku(sku), qty=Decimal(1), unit_price=Decimal(price))
        for i, sku in enumerate(skus or ("TEE-RED-M",))
    )
    return Order(
        id=OrderId("1001"),
        created_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        lines=lines,
        channel=channel,
        customer_group=customer_group,
        delivery=delivery,
        pickup_source=SourceCode("ST-BER") if delivery is Delivery.PICKUP else None,
        shipping=Shipping(
            method=method,
            address=Location(country=country, region=region, postcode=postcode),
        ),
        currency=currency,
    )


def ruleset(rules: str, head: str = "") -> Ruleset:
    return parse_ruleset(f"id: test\nversion: 1\n{head}rules:\n{rules}", "test.yaml")


def test_the_first_rule_whose_conditions_all_hold_applies() -> None:
    rs = ruleset(
        "  - {name: pickup, when: {delivery: pickup}, rank: [distance]}\n"
        "  - {name: germany, when: {country: DE}, rank: [priority]}\n"
        "  - {name: fallback, rank: [cost]}\n"
    )
    chosen = select(order(), rs)
    assert chosen.rule_name == "germany"
    assert chosen.policy.rank == (RankKey.PRIORITY,)
    assert chosen.policy is rs.rule("germany").policy


def test_the_trace_lists_every_rule_tried_with_the_condition_that_failed() -> None:
    rs = ruleset(
        "  - {name: pickup, when: {delivery: pickup}}\n"
        "  - {name: nordics, when: {country: [SE, DK, FI]}}\n"
        "  - {name: big, when: {order_value: {min: 100}}}\n"
        "  - {name: fallback}\n"
        "  - {name: never-tried, when: {country: DE}}\n"
    )
    chosen = select(order(country="FR"), rs)
    assert chosen.trace == (
        RuleTrace("pickup", False, "delivery is ship, rule wants pickup", "delivery"),
        RuleTrace("nordics", False, "country is FR, rule wants DK, FI, SE", "country"),
        RuleTrace("big", False, "order value 20 is below the minimum 100", "order_value"),
        RuleTrace("fallback", True, "every order (fallback)"),
    )


def test_the_explanation_names_the_rule_and_why_the_earlier_ones_did_not_apply() -> None:
    rs = ruleset(
        "  - {name: us, when: {country: US}}\n"
        "  - {name: germany, when: {country: DE, channel: web_eu}}\n"
    )
    text = select(order(), rs).explain()
    assert text.splitlines() == [
        "order 1001: rule 'germany' applies",
        "  us: skipped: country is DE, rule wants US",
        "  germany: matched: channel is web_eu; country is DE",
    ]


def test_when_no_rule_matches_the_ruleset_defaults_apply() -> None:
    rs = ruleset(
        "  - {name: us, when: {country: US}, rank: [distance]}\n",
        head="defaults: {rank: [priority]}\n",
    )
    chosen = select(order(), rs)
    assert chosen.rule is None
    assert chosen.rule_name is None
    assert chosen.policy == rs.defaults
    assert chosen.policy.rank == (RankKey.PRIORITY,)
    assert "no rule matched; the defaults of ruleset 'test' apply" in chosen.explain()


@pytest.mark.parametrize(
    ("when", "matching", "failing", "reason"),
    [
        ("{country: [de, at]}", {"country": "DE"}, {"country": "FR"},
         "country is FR, rule wants AT, DE"),
        ("{region: by}", {"region": "BY"}, {"region": "BE"}, "region is BE, rule wants BY"),
        ("{postcode_prefix: ['80', '81']}", {"postcode": "80331"}, {"postcode": "10115"},
         "postcode 10115 starts with none of 80, 81"),
        ("{postcode_prefix: IV}", {"postcode": "iv2 3ab", "country": "GB"}, {"postcode": ""},
         "postcode is missing, rule wants a prefix of IV"),
        ("{channel: WEB_US}", {"channel": "web_us"}, {"channel": "web_eu"},
         "channel is web_eu, rule wants web_us"),
        ("{customer_group: wholesale}", {"customer_group": "Wholesale"},
         {"customer_group": "vip"}, "customer_group is vip, rule wants wholesale"),
        ("{shipping_method: [express, next_day]}", {"method": "express"},
         {"method": "standard"}, "shipping_method is standard, rule wants express, next_day"),
        ("{delivery: pickup}", {"delivery": Delivery.PICKUP}, {},
         "delivery is ship, rule wants pickup"),
        ("{order_value: {max: 50}}", {"price": "50.00"}, {"price": "50.01"},
         "order value 50.01 is above the maximum 50"),
        ("{line_count: {min: 2}}", {"skus": ("TEE-RED-M", "SOFA-OAT")}, {},
         "order has 1 line, rule wants at least 2"),
        ("{line_count: {max: 1}}", {}, {"skus": ("TEE-RED-M", "SOFA-OAT")},
         "order has 2 lines, rule wants at most 1"),
        ("{sku_tags: {any: [hazmat, oversize]}}", {"skus": ("SOFA-OAT",)}, {},
         "no SKU carries hazmat or oversize; the order's SKUs have tags apparel"),
        ("{sku_tags: {all: [oversize, apparel]}}", {"skus": ("SOFA-OAT", "TEE-RED-M")},
         {"skus": ("SOFA-OAT",)},
         "no SKU carries apparel; the order's SKUs have tags furniture, oversize"),
        ("{sku_tags: {none: [hazmat]}}", {}, {"skus": ("TEE-RED-M", "SPRAY-STARCH")},
         "a SKU carries hazmat, which the rule excludes"),
    ],
)
def test_each_condition_matches_and_explains_why_not(
    when: str, matching: dict[str, Any], failing: dict[str, Any], reason: str
) -> None:
    rs = ruleset(f"  - name: rule\n    when: {when}\n  - name: fallback\n")

    def make(kw: dict[str, Any]) -> Order:
        kw = dict(kw)
        skus = kw.pop("skus", ())
        return order(*skus, **kw)

    assert select(make(matching), rs, CATALOG).rule_name == "rule"
    missed = select(make(failing), rs, CATALOG)
    assert missed.rule_name == "fallback"
    assert missed.trace[0].reason == reason


def test_a_zone_condition_matches_addresses_in_any_of_its_zones() -> None:
    rs = ruleset(
        "  - {name: remote, when: {zone: [highlands, islands]}}\n  - {name: fallback}\n",
        head="zones:\n  highlands: {countries: [GB], postcodes: [IV, PH]}\n"
        "  islands: {countries: [DE], postcodes: ['18565', '25980']}\n",
    )
    assert select(order(country="GB", postcode="IV2 3AB"), rs).rule_name == "remote"
    assert select(order(country="DE", postcode="25980"), rs).rule_name == "remote"
    missed = select(order(country="GB", postcode="EH1 1AA", region=""), rs)
    assert missed.rule_name == "fallback"
    assert missed.trace[0].reason == (
        "destination (GB, postcode EH11AA) is in none of the zones highlands, islands"
    )


def test_a_zone_of_the_network_can_be_used_when_the_network_is_given() -> None:
    network = SourceNetwork(
        [Source(code=SourceCode("WH-BER"))],
        zones=[Zone("alps", countries=frozenset({"AT", "CH"}))],
    )
    rs = parse_ruleset(
        "id: t\nversion: 1\nrules:\n  - {name: alps, when: {zone: alps}}\n  - {name: other}\n",
        "t.yaml",
        network,
    )
    assert select(order(country="CH"), rs).rule_name == "alps"
    assert select(order(country="DE"), rs).rule_name == "other"


def test_without_a_catalog_skus_read_as_untagged_and_the_trace_says_so() -> None:
    rs = ruleset("  - {name: hazmat, when: {sku_tags: {any: [hazmat]}}}\n  - {name: other}\n")
    hazardous = order("SPRAY-STARCH")
    assert select(hazardous, rs, CATALOG).rule_name == "hazmat"
    chosen = select(hazardous, rs)
    assert chosen.rule_name == "other"
    assert chosen.trace[0].reason == (
        "no SKU carries hazmat; the order's SKUs have no tags (no catalog was given)"
    )


def test_an_order_value_condition_holds_only_in_the_ruleset_currency() -> None:
    rs = ruleset(
        "  - {name: big, when: {order_value: {min: 10}}}\n  - {name: other}\n",
        head="currency: EUR\n",
    )
    assert select(order(currency="EUR"), rs).rule_name == "big"
    chosen = select(order(currency="USD"), rs)
    assert chosen.rule_name == "other"
    assert chosen.trace[0].reason == "order currency is USD, the ruleset's amounts are in EUR"


def test_order_value_is_the_sum_of_quantity_times_unit_price() -> None:
    rs = ruleset("  - {name: big, when: {order_value: {min: '59.97'}}}\n  - {name: other}\n")
    assert select(order("A", "B", "C", price="19.99"), rs).rule_name == "big"
    assert select(order("A", "B", price="19.99"), rs).rule_name == "other"


def test_conditions_are_checked_cheapest_first_so_the_trace_names_the_cheap_failure() -> None:
    rs = ruleset(
        "  - name: r\n    when: {sku_tags: {any: [hazmat]}, order_value: {min: 1000}, "
        "delivery: pickup}\n  - {name: other}\n"
    )
    assert [c.key for c in rs.rule("r").conditions] == ["delivery", "order_value", "sku_tags"]
    assert select(order(), rs, CATALOG).trace[0].condition == "delivery"


def test_selecting_twice_gives_the_same_rule_and_trace() -> None:
    rs = ruleset(
        "  - {name: a, when: {country: [FR, ES]}}\n"
        "  - {name: b, when: {channel: app_eu}}\n"
        "  - {name: c}\n"
    )
    first, second = select(order(), rs), select(order(), rs)
    assert first == second
    assert first.trace == second.trace
