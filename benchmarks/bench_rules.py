"""Rule selection latency: ``select(order, ruleset)`` on a 20-rule ruleset.

Run with ``pytest benchmarks/bench_rules.py --benchmark-only``. The budget is well under 20 µs
per order; the worst case is an order that falls through to the fallback, so every rule is tried.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

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
)
from oms_sourcing.rules import Ruleset, parse_ruleset, select

COUNTRIES = ("DE", "AT", "FR", "NL", "ES", "IT", "GB", "US", "PL", "SE")
CHANNELS = ("web_eu", "app_eu", "web_us", "marketplace")
GROUPS = ("general", "vip", "wholesale")
METHODS = ("standard", "express", "economy")
SKUS = tuple(f"SKU-{i:03d}" for i in range(40))


def build_ruleset(rules: int = 20) -> Ruleset:
    """A ruleset of ``rules`` rules (the last a fallback) using every kind of condition; none
    shadows another, so every rule can be reached."""
    shapes = [
        "{delivery: pickup}",
        "{channel: web_us, country: US, order_value: {min: 500}}",
        "{zone: highlands, customer_group: general}",
        "{customer_group: wholesale, line_count: {min: 5}}",
        "{shipping_method: express, country: [DE, AT, CH]}",
        "{sku_tags: {any: [hazmat]}, channel: [web_eu, app_eu]}",
        "{country: GB, postcode_prefix: [IV, HS, KW]}",
        "{region: [BY, BW], order_value: {min: 100, max: 400}}",
        "{sku_tags: {all: [oversize, furniture]}}",
        "{customer_group: vip, shipping_method: [express, standard]}",
        "{channel: web_us, line_count: {min: 6}}",
        "{country: [FR, BE], order_value: {min: 250}}",
        "{zone: highlands, shipping_method: express}",
        "{customer_group: wholesale, country: [NL, BE]}",
        "{sku_tags: {any: [apparel], none: [hazmat]}, country: ES}",
        "{shipping_method: economy, line_count: {max: 2}, country: [IT, PL]}",
        "{channel: app_eu, order_value: {max: 30}}",
        "{region: [BE], postcode_prefix: ['10']}",
        "{country: US, customer_group: vip}",
        "{channel: marketplace, country: [DE, AT]}",
    ]
    body = [
        f"  - name: rule-{i:02d}\n    when: {shapes[i % len(shapes)]}\n" for i in range(rules - 1)
    ]
    body.append("  - name: fallback\n")
    text = (
        "id: bench\nversion: 1\n"
        "zones:\n  highlands: {countries: [GB], postcodes: [IV, HS, KW, PH, ZE]}\n"
        "rules:\n" + "".join(body)
    )
    return parse_ruleset(text, "bench.yaml", catalog=build_catalog())


def build_catalog() -> Catalog:
    tags: tuple[set[str], ...] = ({"hazmat"}, {"oversize", "furniture"}, {"apparel"}, set())
    return Catalog(
        SkuInfo(sku=Sku(s), tags=frozenset(tags[i % len(tags)])) for i, s in enumerate(SKUS)
    )


def build_orders(n: int = 1000, seed: int = 7) -> list[Order]:
    """``n`` varied orders, reproducible from ``seed``."""
    rng = random.Random(seed)
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    orders = []
    for i in range(n):
        lines = tuple(
            OrderLine(
                id=LineId(str(j + 1)),
                sku=Sku(rng.choice(SKUS)),
                qty=Decimal(rng.randint(1, 3)),
                unit_price=Decimal(rng.choice(("9.99", "19.99", "49.00", "129.00"))),
            )
            for j in range(rng.randint(1, 8))
        )
        country = rng.choice(COUNTRIES)
        orders.append(
            Order(
                id=OrderId(str(100000 + i)),
                created_at=created,
                lines=lines,
                channel=rng.choice(CHANNELS),
                customer_group=rng.choice(GROUPS),
                delivery=Delivery.PICKUP if rng.random() < 0.05 else Delivery.SHIP,
                pickup_source=None,
                shipping=Shipping(
                    method=rng.choice(METHODS),
                    address=Location(country=country, region=rng.choice(("BY", "BE", "")),
                                     postcode=rng.choice(("IV2 3AB", "10115", "80331"))),
                ),
            )
        )
    return orders


def fallthrough_order() -> Order:
    """An order no rule but the fallback matches: the slowest case."""
    return Order(
        id=OrderId("worst"),
        created_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        lines=(OrderLine(id=LineId("1"), sku=Sku("SKU-002"), qty=Decimal(1),
                         unit_price=Decimal("19.99")),),
        channel="marketplace",
        customer_group="general",
        shipping=Shipping(method="economy", address=Location(country="SE", postcode="11122")),
    )


def select_all(orders: list[Order], ruleset: Ruleset, catalog: Catalog) -> int:
    """Select a policy for every order; the number that fell through to the fallback."""
    return sum(1 for o in orders if select(o, ruleset, catalog).rule_name == "fallback")


def test_bench_select_mixed_orders_20_rules(benchmark: Any) -> None:
    ruleset, catalog, orders = build_ruleset(20), build_catalog(), build_orders(1000)
    fallthrough = benchmark(select_all, orders, ruleset, catalog)
    assert 0 < fallthrough < len(orders)
    benchmark.extra_info["orders_per_round"] = len(orders)


def test_bench_select_worst_case_20_rules(benchmark: Any) -> None:
    ruleset, catalog, order = build_ruleset(20), build_catalog(), fallthrough_order()
    chosen = benchmark(select, order, ruleset, catalog)
    assert chosen.rule_name == "fallback"
    assert len(chosen.trace) == 20
