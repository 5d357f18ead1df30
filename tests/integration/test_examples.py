"""The bundled example data loads with the library's own loaders, hangs together, and
regenerates byte for byte from examples/generate.py."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from oms_sourcing.domain import (
    Catalog,
    Delivery,
    LineKind,
    Order,
    SourceKind,
)
from oms_sourcing.domain.order import validate_order
from oms_sourcing.inventory.feeds import Feed, apply_feed
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockLedger

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FILES = ("network.yaml", "catalog.yaml", "stock.csv", "orders.jsonl")


@pytest.fixture(scope="module")
def ledger(network: SourceNetwork, catalog: Catalog, feed: Feed) -> StockLedger:
    stock = StockLedger(network.codes, catalog)
    apply_feed(stock, feed)
    return stock


def test_the_network_has_about_thirty_sources_of_all_four_kinds(network: SourceNetwork) -> None:
    kinds = Counter(source.kind for source in network.sources)
    assert 25 <= len(network) <= 35
    assert kinds[SourceKind.WAREHOUSE] >= 5
    assert kinds[SourceKind.STORE] >= 15
    assert kinds[SourceKind.DROPSHIP] == 1
    assert kinds[SourceKind.VIRTUAL] == 1


def test_the_network_has_one_disabled_store_and_two_hazmat_certified_dcs(
    network: SourceNetwork,
) -> None:
    disabled = [s for s in network.sources if not s.enabled]
    assert [s.kind for s in disabled] == [SourceKind.STORE]
    certified = network.by_tag("hazmat_certified")
    assert len(certified) == 2
    assert all(s.kind is SourceKind.WAREHOUSE for s in certified)


def test_both_stocks_include_the_virtual_source(network: SourceNetwork) -> None:
    virtual = network.by_kind(SourceKind.VIRTUAL)[0].code
    assert set(network.stocks) == {"eu", "us"}
    for name in network.stocks:
        assert virtual in network.stock_sources(name)


def test_every_store_can_receive_a_transfer_from_a_dc(network: SourceNetwork) -> None:
    for store in network.by_kind(SourceKind.STORE):
        assert network.transfer_sources(store.code), store.code


def test_the_catalog_holds_a_few_hundred_skus_and_about_ten_bundles(catalog: Catalog) -> None:
    infos = list(catalog.items.values())
    assert 250 <= len(catalog) <= 350
    assert 8 <= len(catalog.bundles) <= 15
    assert any(not i.stock_managed for i in infos)
    assert {1, 2} <= {i.decimals for i in infos}
    assert any("hazmat" in i.tags for i in infos)
    assert any("oversize" in i.tags for i in infos)
    assert {i.backorders.mode.value for i in infos} == {"none", "allow", "allow_until"}


def test_the_stock_feed_applies_to_a_ledger_with_no_bad_rows(
    network: SourceNetwork, catalog: Catalog, feed: Feed
) -> None:
    assert feed.ok, feed.problems[:5]
    report = apply_feed(StockLedger(network.codes, catalog), feed)
    assert report.bad_rows == ()
    assert report.ignored_stale == ()
    assert report.duplicates == ()
    assert len(report.applied) == len(feed.rows)


def test_every_physical_source_appears_in_the_feed(network: SourceNetwork, feed: Feed) -> None:
    assert {row.source for row in feed.rows} == set(network.codes)


def test_every_order_loads_and_validates(orders: list[Order], catalog: Catalog) -> None:
    assert 250 <= len(orders) <= 350
    assert len({order.id for order in orders}) == len(orders)
    for order in orders:
        validate_order(order, catalog)


def test_every_sku_in_the_orders_and_the_feed_is_in_the_catalog(
    orders: list[Order], feed: Feed, catalog: Catalog
) -> None:
    ordered = {line.sku for order in orders for line in order.lines}
    bundled = {line.bundle_sku for order in orders for line in order.lines if line.bundle_sku}
    fed = {row.sku for row in feed.rows}
    assert ordered <= set(catalog.items)
    assert bundled <= set(catalog.bundles)
    assert fed <= set(catalog.items)
    assert all(catalog.stock_managed(sku) for sku in fed)


def test_bundle_lines_are_exactly_the_definition_times_the_bundle_quantity(
    orders: list[Order], catalog: Catalog
) -> None:
    instances = 0
    for order in orders:
        lines_of: dict[str, list[tuple[str, Decimal, str | None]]] = defaultdict(list)
        for line in order.lines:
            if line.bundle is not None:
                lines_of[line.bundle].append((line.sku, line.qty, line.bundle_sku))
        for bundle_id, lines in lines_of.items():
            instances += 1
            bundle_skus = {bundle_sku for _, _, bundle_sku in lines}
            assert len(bundle_skus) == 1, (order.id, bundle_id)
            definition = catalog.bundle(str(bundle_skus.pop()))
            per_bundle = {c.sku: c.qty for c in definition.components}
            got = {sku: qty for sku, qty, _ in lines}
            assert set(got) == set(per_bundle), (order.id, bundle_id)
            ratios = {got[sku] / per_bundle[sku] for sku in per_bundle}
            assert len(ratios) == 1, (order.id, bundle_id, ratios)
            ratio = ratios.pop()
            assert ratio >= 1 and ratio == ratio.to_integral_value()
    assert instances >= 10


def test_preshipped_and_pickup_sources_are_enabled_stores_that_can_do_it(
    orders: list[Order], network: SourceNetwork
) -> None:
    for order in orders:
        if order.delivery is Delivery.PICKUP:
            assert order.pickup_source is not None
            store = network.source(order.pickup_source)
            assert store.enabled and store.capabilities.pickup, order.id
        for line in order.lines:
            if line.kind is LineKind.PRESHIPPED:
                assert line.preshipped_source is not None
                source = network.source(line.preshipped_source)
                assert source.enabled and source.kind is SourceKind.STORE, order.id
                assert line.qty == 1


def test_every_line_kind_and_delivery_type_appears(
    orders: list[Order], catalog: Catalog
) -> None:
    lines = [line for order in orders for line in order.lines]
    assert {line.kind for line in lines} == set(LineKind)
    assert {order.delivery for order in orders} == set(Delivery)
    virtual = [line for line in lines if line.kind is LineKind.VIRTUAL]
    assert {catalog.stock_managed(line.sku) for line in virtual} == {True, False}
    assert any(line.bundle is not None for line in lines)
    assert any(line.allow_backorder is True for line in lines)
    assert any(line.qty != line.qty.to_integral_value() for line in lines)
    pickups = sum(order.delivery is Delivery.PICKUP for order in orders)
    assert 0.05 <= pickups / len(orders) <= 0.15


def test_every_channel_has_a_stock_and_every_destination_a_shipping_lane(
    orders: list[Order], network: SourceNetwork
) -> None:
    for order in orders:
        stock = network.stock_for_channel(order.channel)
        assert stock is not None, order.channel
        physical = [
            code for code in network.stock_sources(stock.name)
            if network.source(code).kind is not SourceKind.VIRTUAL
        ]
        lanes = [network.shipping_lane(code, order.destination) for code in physical]
        assert any(lane is not None for lane in lanes), order.id


def test_the_orders_reach_alaska_hawaii_and_the_scottish_highlands(
    orders: list[Order], network: SourceNetwork
) -> None:
    zones = Counter(zone for order in orders for zone in network.zones_of(order.destination))
    assert zones["alaska_hawaii"] == 2
    assert zones["scottish_highlands"] == 2


def test_some_orders_ask_for_more_than_the_network_holds(
    orders: list[Order], network: SourceNetwork, ledger: StockLedger
) -> None:
    demand: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for order in orders:
        stock = network.stock_for_channel(order.channel)
        assert stock is not None
        for line in order.lines:
            if line.kind is LineKind.REGULAR:
                demand[(stock.name, line.sku)] += line.qty
    short = [
        key for key, qty in demand.items()
        if ledger.salable(key[1], network.stock_sources(key[0])) < qty
    ]
    assert len(short) >= 5


def test_the_examples_stay_under_one_megabyte() -> None:
    assert sum((EXAMPLES / name).stat().st_size for name in FILES) < 1_000_000


def test_regenerating_the_examples_writes_byte_identical_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(EXAMPLES / "generate.py"), str(tmp_path)],
        check=True, capture_output=True, timeout=60,
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
