"""The example rulesets in rulesets/ against the example network, catalog and orders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from oms_sourcing.cli._rules import register
from oms_sourcing.domain import Catalog, Delivery, Order, SourceKind
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.rules import (
    BundleMode,
    RankKey,
    Ruleset,
    SplitMode,
    dump_ruleset,
    load_ruleset,
    parse_ruleset,
    select,
)

ROOT = Path(__file__).resolve().parents[2]
RULESETS = sorted((ROOT / "rulesets").glob("*.yaml"))
EXAMPLES = ROOT / "examples"


def load(name: str, network: SourceNetwork, catalog: Catalog) -> Ruleset:
    return load_ruleset(ROOT / "rulesets" / f"{name}.yaml", network=network, catalog=catalog)


def test_there_are_the_five_example_rulesets() -> None:
    assert {p.stem for p in RULESETS} >= {
        "priority", "distance", "cost", "ship_from_store", "ship_complete",
    }


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_every_example_ruleset_loads_against_the_examples_without_a_warning(
    path: Path, network: SourceNetwork, catalog: Catalog
) -> None:
    ruleset = load_ruleset(path, network=network, catalog=catalog)
    assert ruleset.warnings == ()
    assert ruleset.fallback is ruleset.rules[-1]


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_every_example_ruleset_loads_on_its_own(path: Path) -> None:
    ruleset = load_ruleset(path)
    assert {w.code for w in ruleset.warnings} <= {"no-catalog"}


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_the_cli_validates_every_example_ruleset(path: Path) -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, [
        "validate", str(path),
        "--network", str(EXAMPLES / "network.yaml"), "--catalog", str(EXAMPLES / "catalog.yaml"),
        "--strict",
    ])
    assert result.exit_code == 0, result.output
    assert result.output.endswith("0 warnings, checked against the network and catalog\n")


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_every_example_ruleset_survives_being_written_back(
    path: Path, network: SourceNetwork, catalog: Catalog
) -> None:
    ruleset = load_ruleset(path, network=network, catalog=catalog)
    assert parse_ruleset(dump_ruleset(ruleset), "dumped.yaml", network, catalog) == ruleset


@pytest.mark.parametrize("path", RULESETS, ids=lambda p: p.stem)
def test_every_example_order_gets_a_rule_and_the_same_one_every_time(
    path: Path, network: SourceNetwork, catalog: Catalog, orders: list[Order]
) -> None:
    ruleset = load_ruleset(path, network=network, catalog=catalog)
    chosen = [select(o, ruleset, catalog) for o in orders]
    assert all(c.rule is not None for c in chosen)
    assert [c.rule_name for c in chosen] == [
        select(o, ruleset, catalog).rule_name for o in orders
    ]
    # A useful ruleset sends the example orders down more than one path.
    assert len(Counter(c.rule_name for c in chosen)) >= 2


@pytest.mark.parametrize("name", ["priority", "distance"])
def test_the_msi_rulesets_use_exactly_the_sources_of_each_channels_stock(
    name: str, network: SourceNetwork, catalog: Catalog, orders: list[Order]
) -> None:
    ruleset = load(name, network, catalog)
    for order in orders:
        policy = select(order, ruleset, catalog).policy
        stock = network.stock_for_channel(order.channel)
        assert stock is not None
        allowed = {s.code for s in network.sources if policy.sources.allows(s)}
        assert allowed == set(network.stock_sources(stock.name))
        assert policy.split.mode is SplitMode.ALLOW
        assert policy.bundle.mode is BundleMode.SEPARATE
        assert policy.stock.respect_reservations
        assert not policy.stock.has_safety_stock


def test_msi_priority_ranks_by_priority_and_msi_distance_by_distance(
    network: SourceNetwork, catalog: Catalog
) -> None:
    assert {r.policy.rank for r in load("priority", network, catalog).rules} == {
        (RankKey.PRIORITY,)
    }
    assert {r.policy.rank for r in load("distance", network, catalog).rules} == {
        (RankKey.DISTANCE, RankKey.PRIORITY)
    }


def test_ship_from_store_sends_pickup_orders_to_click_and_collect(
    network: SourceNetwork, catalog: Catalog, orders: list[Order]
) -> None:
    ruleset = load("ship_from_store", network, catalog)
    pickups = [o for o in orders if o.delivery is Delivery.PICKUP]
    assert pickups
    for order in pickups:
        chosen = select(order, ruleset, catalog)
        assert chosen.rule_name == "click-and-collect"
        assert chosen.policy.split.mode is SplitMode.HOLD_UNTIL_COMPLETE
        store = network.source(order.pickup_source or "")
        assert chosen.policy.sources.allows(store)
        assert chosen.policy.stock.safety_for(store) == 0


def test_ship_from_store_keeps_store_safety_stock_for_shipped_orders(
    network: SourceNetwork, catalog: Catalog, orders: list[Order]
) -> None:
    ruleset = load("ship_from_store", network, catalog)
    german = next(
        o for o in orders
        if o.destination.country == "DE" and o.delivery is Delivery.SHIP
        and o.shipping.method != "express"
    )
    chosen = select(german, ruleset, catalog)
    assert chosen.rule_name == "ship-from-store-eu"
    stock = chosen.policy.stock
    assert stock.safety_for(network.source("ST-BER")) == 2
    assert stock.safety_for(network.source("ST-HAM")) == 1
    assert stock.safety_for(network.source("WH-BER")) == 0
    allowed = {s.code for s in network.sources if chosen.policy.sources.allows(s)}
    assert {"ST-BER", "ST-PAR", "WH-BER", "DS-POZ", "VIRTUAL-DIGITAL"} <= allowed
    assert not allowed & {"ST-LON", "ST-NYC", "WH-MEM"}


def test_hazmat_lines_only_ever_ship_from_certified_sources(
    network: SourceNetwork, catalog: Catalog, orders: list[Order]
) -> None:
    hazmat_orders = [
        o for o in orders if any("hazmat" in catalog.info(ln.sku).tags for ln in o.lines)
    ]
    assert hazmat_orders
    for name in ("cost", "ship_from_store", "ship_complete"):
        ruleset = load(name, network, catalog)
        for order in hazmat_orders:
            policy = select(order, ruleset, catalog).policy
            for line in order.lines:
                tags = catalog.info(line.sku).tags
                if "hazmat" not in tags:
                    continue
                allowed = [
                    s.code for s in network.sources
                    if policy.sources.allows_for_line(s, line.sku, tags)
                ]
                assert allowed, (name, order.id)
                for code in allowed:
                    source = network.source(code)
                    handed_over = (
                        order.delivery is Delivery.PICKUP and source.kind is SourceKind.STORE
                    )
                    assert "hazmat_certified" in source.tags or handed_over, (name, order.id)


def test_fewest_splits_ships_hazmat_orders_complete_from_a_certified_dc(
    network: SourceNetwork, catalog: Catalog, orders: list[Order]
) -> None:
    ruleset = load("ship_complete", network, catalog)
    hazmat = next(
        o for o in orders if any("hazmat" in catalog.info(ln.sku).tags for ln in o.lines)
    )
    chosen = select(hazmat, ruleset, catalog)
    assert chosen.rule_name == "hazmat-complete-from-certified"
    assert chosen.policy.split.mode is SplitMode.SHIP_COMPLETE
    assert chosen.policy.bundle.split_after_attempts == 3


def test_cost_optimal_routes_us_orders_to_us_dcs(
    network: SourceNetwork, catalog: Catalog, orders: list[Order]
) -> None:
    ruleset = load("cost", network, catalog)
    us_orders = [o for o in orders if o.destination.country == "US"]
    assert us_orders
    names = Counter(select(o, ruleset, catalog).rule_name for o in us_orders)
    assert set(names) <= {"us-offshore", "us-mainland"}
    assert names["us-offshore"] >= 1
