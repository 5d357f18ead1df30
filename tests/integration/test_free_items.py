"""Free items (price 0) under a minimum shipment value: every example order, with every other
line given away, gets a plan the independent checker accepts under every example ruleset."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from oms_sourcing.allocation.allocate import solve_problem
from oms_sourcing.allocation.builder import build_problem
from oms_sourcing.allocation.check import check_plan
from oms_sourcing.domain import Catalog, Order
from oms_sourcing.inventory.feeds import Feed, apply_feed
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockLedger
from oms_sourcing.rules import load_ruleset, select

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


def with_free_items(order: Order) -> Order:
    lines = tuple(dataclasses.replace(ln, unit_price=Decimal(0)) if i % 2 else ln
                  for i, ln in enumerate(order.lines))
    return dataclasses.replace(order, lines=lines)


@pytest.mark.parametrize("name", ["ship_complete", "cost"])
def test_a_parcel_of_free_items_is_never_sent_below_the_minimum_shipment_value(
    network: SourceNetwork, catalog: Catalog, feed: Feed, orders: list[Order], name: str
) -> None:
    ledger = StockLedger(network.codes, catalog)
    apply_feed(ledger, feed)
    ruleset = load_ruleset(ROOT / "rulesets" / f"{name}.yaml", network, catalog)
    checked = 0
    for order in map(with_free_items, orders):
        policy = select(order, ruleset, catalog).policy
        snapshot = ledger.snapshot({line.sku for line in order.lines})
        problem = build_problem(order, policy, network, snapshot, NOW, catalog=catalog)
        subs = [p for p in (problem.physical, problem.virtual) if p is not None]
        for plan, sub in zip(solve_problem(problem).values(), subs, strict=True):
            assert check_plan(sub, plan) == [], order.id
            checked += sub.min_shipment_value > 0
    assert checked  # the ruleset has a minimum shipment value somewhere
