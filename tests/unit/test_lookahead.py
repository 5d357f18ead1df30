"""Look-ahead for scarce stock: the DLP's bound and bid prices, and allocation that charges them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.allocation.lookahead import (
    BidPrices,
    DemandClass,
    Unfilled,
    demand_from_orders,
    solve_dlp,
)
from oms_sourcing.domain import (
    Catalog,
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
    SourceKind,
    SourceSelector,
    Zone,
)
from oms_sourcing.errors import InputError
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork
from oms_sourcing.inventory.stock import StockLedger, StockRecord
from oms_sourcing.rules.model import Objective, Policy

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HAMBURG = Location(lat=53.55, lon=9.99, country="DE", postcode="20095")
MUNICH = Location(lat=48.14, lon=11.58, country="DE", postcode="80331")

# Two warehouses; each ships cheaply to its own city and dearly to the other's.
NETWORK = SourceNetwork(
    (
        Source(SourceCode("WH-HAM"), SourceKind.WAREHOUSE, priority=1, location=HAMBURG),
        Source(SourceCode("WH-MUC"), SourceKind.WAREHOUSE, priority=2, location=MUNICH),
    ),
    zones=(Zone(name="north", postcode_prefixes=frozenset({"2"})),
           Zone(name="south", postcode_prefixes=frozenset({"8"}))),
    shipping_lanes=tuple(
        ShippingLane(name=f"{code}-{zone}", sources=SourceSelector(codes=frozenset({code})),
                     destination=Zone(name=zone, postcode_prefixes=frozenset({prefix})),
                     per_shipment=D(cost), position=i)
        for i, (code, zone, prefix, cost) in enumerate((
            ("WH-HAM", "north", "2", "4"), ("WH-HAM", "south", "8", "10"),
            ("WH-MUC", "north", "2", "5"), ("WH-MUC", "south", "8", "4"),
        ))
    ),
)
UNFILLED = Unfilled(per_order=D(30), per_unit=D(0))


def test_scarce_stock_near_a_busy_city_gets_a_bid_price_and_the_dlp_bounds_the_cost() -> None:
    # 10 Hamburg and 10 Munich orders of one MUG; Hamburg holds 10, Munich 10 (plenty at 20).
    classes = [DemandClass(("MUG",), HAMBURG, 10.0), DemandClass(("MUG",), MUNICH, 10.0)]
    stock = {("WH-HAM", "MUG"): 10.0, ("WH-MUC", "MUG"): 20.0}
    result = solve_dlp(classes, NETWORK, stock, unfilled=UNFILLED)
    assert result.status == "optimal"
    # each city served from its own warehouse: 10 x 4 + 10 x 4
    assert result.value == pytest.approx(80.0)
    assert result.bid_prices.price("WH-MUC", "MUG") == 0
    # scarce: 15 units for 20 orders, so 5 go unfilled (30 each); Hamburg serves Hamburg
    stock = {("WH-HAM", "MUG"): 10.0, ("WH-MUC", "MUG"): 5.0}
    result = solve_dlp(classes, NETWORK, stock, unfilled=UNFILLED)
    assert result.value == pytest.approx(10 * 4 + 5 * 4 + 5 * 30)
    # one more unit in Munich serves a Munich order for 4 instead of 30
    assert result.bid_prices.price("WH-MUC", "MUG") == D(26)
    # one more in Hamburg serves a Munich order from Hamburg for 10 instead of 30
    assert result.bid_prices.price("WH-HAM", "MUG") == D(20)


def test_a_demand_class_without_skus_is_refused() -> None:
    with pytest.raises(InputError, match="distinct SKUs"):
        solve_dlp([DemandClass((), HAMBURG, 1.0)], NETWORK, {}, unfilled=UNFILLED)


def test_negative_bid_prices_are_refused() -> None:
    with pytest.raises(InputError, match="bid price"):
        BidPrices.of({("WH-HAM", "MUG"): -1})


def order_to(where: Location) -> Order:
    return Order(OrderId("1"), NOW, (OrderLine(LineId("1"), Sku("MUG"), D(1)),),
                 shipping=Shipping(address=where))


def test_a_high_bid_price_keeps_the_unit_for_the_customers_who_need_it_more() -> None:
    catalog = Catalog((SkuInfo(Sku("MUG")),))
    ledger = StockLedger(NETWORK.codes, catalog)
    ledger.apply_records([StockRecord("WH-HAM", "MUG", D(5), NOW, "a"),
                          StockRecord("WH-MUC", "MUG", D(5), NOW, "b")])
    snap = ledger.snapshot(["MUG"])
    o = order_to(HAMBURG)
    prices = BidPrices.of({("WH-HAM", "MUG"): D("2.5")})
    plain = allocate(o, Policy(objective=Objective(shipping_cost=D(1))), NETWORK, snap, NOW,
                     catalog=catalog, bid_prices=prices)
    assert plain.shipments[0].source == "WH-HAM"          # 4 < 5: the weight is 0
    scarce = Policy(objective=Objective(shipping_cost=D(1), stock_value=D(1)))
    priced = allocate(o, scarce, NETWORK, snap, NOW, catalog=catalog, bid_prices=prices)
    assert priced.shipments[0].source == "WH-MUC"         # 5 < 4 + 2.5
    assert priced.breakdown == {"shipping_cost": D(5)}
    kept = allocate(o, scarce, NETWORK, snap, NOW, catalog=catalog,
                    bid_prices=BidPrices.of({("WH-HAM", "MUG"): D("0.5")}))
    assert kept.shipments[0].source == "WH-HAM"           # 4 + 0.5 < 5
    assert kept.breakdown == {"shipping_cost": D(4), "stock_value": D("0.5")}


def test_pdlp_finds_the_same_bound_and_prices_to_its_tolerance() -> None:
    classes = [DemandClass(("MUG",), HAMBURG, 10.0), DemandClass(("MUG",), MUNICH, 10.0)]
    stock = {("WH-HAM", "MUG"): 10.0, ("WH-MUC", "MUG"): 5.0}
    result = solve_dlp(classes, NETWORK, stock, unfilled=UNFILLED, solver="pdlp",
                       tolerance=1e-7)
    assert result.value == pytest.approx(210.0, rel=1e-5)
    assert float(result.bid_prices.price("WH-MUC", "MUG")) == pytest.approx(26, rel=1e-4)


def test_highs_gives_the_bound_but_refuses_to_price() -> None:
    classes = [DemandClass(("MUG",), HAMBURG, 10.0)]
    stock = {("WH-HAM", "MUG"): 10.0}
    with pytest.raises(InputError, match="HiGHS duals"):
        solve_dlp(classes, NETWORK, stock, unfilled=UNFILLED, solver="highs")
    result = solve_dlp(classes, NETWORK, stock, unfilled=UNFILLED, solver="highs",
                       with_prices=False)
    assert result.value == pytest.approx(40.0)


def test_a_history_becomes_demand_classes_with_quantities() -> None:
    history = [Order(OrderId(str(n)), NOW, (OrderLine(LineId("1"), Sku("MUG"), D(2)),),
                     shipping=Shipping(address=HAMBURG)) for n in range(5)]
    classes = demand_from_orders(history, scale=1.0)
    assert len(classes) == 1 and classes[0].expected == 5 and classes[0].qty == (2.0,)
    # 10 units wanted, 6 in Hamburg (4 per shipment), the rest from Munich (5)
    result = solve_dlp(classes, NETWORK, {("WH-HAM", "MUG"): 6.0, ("WH-MUC", "MUG"): 10.0},
                       unfilled=UNFILLED)
    assert result.value == pytest.approx(5 * (0.6 * 4 + 0.4 * 5))
    # one more unit in Hamburg moves a tenth of an order's units there: 5 x 0.1 x (5 - 4)
    assert result.bid_prices.price("WH-HAM", "MUG") == D("0.5")
