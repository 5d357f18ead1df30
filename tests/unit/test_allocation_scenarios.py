"""Scenario tests of ``allocate``: a small network built in code, one behaviour per test.

Every result passes through :func:`sourced` which checks that every unit of every line ends in
exactly one outcome, and that every solver plan satisfies the independent checker.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oms_sourcing.allocation.allocate import AllocationResult, SolverConfig, allocate, solve_problem
from oms_sourcing.allocation.builder import Exclusion, build_problem
from oms_sourcing.allocation.check import check_plan
from oms_sourcing.domain import (
    Backorder,
    BackorderMode,
    Backorders,
    BundleComponent,
    BundleDefinition,
    Cancelled,
    Capabilities,
    Catalog,
    Delivery,
    Held,
    LineKind,
    Location,
    Order,
    OrderLine,
    Reason,
    Shipping,
    Sku,
    SkuInfo,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
)
from oms_sourcing.domain.order import OrderId
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork, TransferLane
from oms_sourcing.inventory.stock import StockLedger, StockRecord, StockSnapshot
from oms_sourcing.rules.model import (
    BackorderPolicy,
    BundlePolicy,
    DeclineAction,
    DeclinePolicy,
    LineRestriction,
    Objective,
    Policy,
    RankKey,
    SourcePolicy,
    SplitMode,
    SplitPolicy,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BERLIN = Location(lat=52.52, lon=13.405, country="DE", region="BE", postcode="10115",
                  city="Berlin")
D = Decimal

DEFAULT = Policy()
AUTO = SolverConfig()
CPSAT = SolverConfig(solver="cp-sat")
SOLVERS = pytest.mark.parametrize("config", [AUTO, CPSAT], ids=["auto", "cp-sat"])

# -- the network ----------------------------------------------------------------------------
# Priorities: WH-OLD 0 (disabled), WH-NORTH 1, DROP-SOFA 2, WH-SOUTH 3, STORE-CITY 4,
# STORE-MALL 5, VIRTUAL-KEYS 6. Distances from the Berlin customer: STORE-CITY ~0 km,
# STORE-MALL ~26 km, WH-OLD ~60 km, WH-NORTH ~255 km, WH-SOUTH ~505 km; DROP-SOFA and
# VIRTUAL-KEYS have no coordinates.

SOURCES = (
    Source(SourceCode("WH-OLD"), SourceKind.WAREHOUSE, enabled=False, priority=0,
           location=Location(lat=52.0, lon=13.0, country="DE", city="Zossen")),
    Source(SourceCode("WH-NORTH"), SourceKind.WAREHOUSE, priority=1,
           location=Location(lat=53.55, lon=9.99, country="DE", city="Hamburg"),
           groups=frozenset({"dc"}), tags=frozenset({"hazmat_certified"})),
    Source(SourceCode("DROP-SOFA"), SourceKind.DROPSHIP, priority=2,
           location=Location(country="DE")),
    Source(SourceCode("WH-SOUTH"), SourceKind.WAREHOUSE, priority=3,
           location=Location(lat=48.14, lon=11.58, country="DE", city="Munich"),
           groups=frozenset({"dc"})),
    Source(SourceCode("STORE-CITY"), SourceKind.STORE, priority=4,
           location=Location(lat=52.52, lon=13.40, country="DE", city="Berlin"),
           capabilities=Capabilities(ships=True, pickup=True, receives_transfers=True)),
    Source(SourceCode("STORE-MALL"), SourceKind.STORE, priority=5,
           location=Location(lat=52.40, lon=13.05, country="DE", city="Potsdam"),
           capabilities=Capabilities(ships=True, pickup=False)),
    Source(SourceCode("VIRTUAL-KEYS"), SourceKind.VIRTUAL, priority=6),
)


def lane(code: str, per_shipment: str, per_unit: str = "0") -> ShippingLane:
    return ShippingLane(name=code.lower(), sources=SourceSelector(codes=frozenset({code})),
                        per_shipment=D(per_shipment), per_unit=D(per_unit), days=1)


NETWORK = SourceNetwork(
    SOURCES,
    shipping_lanes=(
        lane("WH-OLD", "1.00"),
        lane("WH-NORTH", "4.00", "0.10"),
        lane("WH-SOUTH", "6.00", "0.30"),
        lane("STORE-CITY", "9.00", "0.50"),
        lane("STORE-MALL", "5.00", "0.20"),
        lane("DROP-SOFA", "15.00"),
    ),
    transfer_lanes=(
        TransferLane(SourceCode("WH-NORTH"), SourceCode("STORE-CITY"), D("2.00"), D("0.10"),
                     days=2),
    ),
)

# -- the catalog ----------------------------------------------------------------------------

CATALOG = Catalog(
    items=(
        SkuInfo(Sku("MUG")),
        SkuInfo(Sku("PAN")),
        SkuInfo(Sku("LID")),
        SkuInfo(Sku("SOFA")),
        SkuInfo(Sku("TEE"), backorders=Backorders(BackorderMode.ALLOW)),
        SkuInfo(Sku("FABRIC-LINEN"), decimals=1),
        SkuInfo(Sku("GIFT-CARD"), stock_managed=False),
        SkuInfo(Sku("LICENCE-KEY")),
        SkuInfo(Sku("SOLVENT"), tags=frozenset({"hazmat"})),
    ),
    bundles=(
        BundleDefinition(Sku("KIT"), (BundleComponent(Sku("PAN"), D(1)),
                                      BundleComponent(Sku("LID"), D(1)))),
    ),
)

# -- helpers --------------------------------------------------------------------------------

Stock = Mapping[tuple[str, str], str | int]


def line(line_id: str, sku: str, qty: str | int, **kw: object) -> OrderLine:
    return OrderLine(line_id, Sku(sku), D(str(qty)), **kw)  # type: ignore[arg-type]


def kit(bundle: str, first: str = "1", *, with_lid: bool = True) -> tuple[OrderLine, ...]:
    lines = [line(first, "PAN", 1, bundle=bundle, bundle_sku=Sku("KIT"))]
    if with_lid:
        lines.append(line(first + "b", "LID", 1, bundle=bundle, bundle_sku=Sku("KIT")))
    return tuple(lines)


def order(*lines: OrderLine, pickup: str | None = None, order_id: str = "1001") -> Order:
    return Order(
        OrderId(order_id), NOW, tuple(lines),
        delivery=Delivery.PICKUP if pickup else Delivery.SHIP,
        pickup_source=SourceCode(pickup) if pickup else None,
        shipping=Shipping(address=BERLIN),
    )


def snapshot(stock: Stock, skus: Iterable[str]) -> StockSnapshot:
    ledger = StockLedger(NETWORK.codes, CATALOG)
    records = [StockRecord(src, sku, D(str(q)), NOW, f"{src}:{sku}")
               for (src, sku), q in stock.items()]
    if records:
        ledger.apply_records(records)
    return ledger.snapshot(sorted(set(skus)))


def units_by_line(result: AllocationResult) -> dict[str, Decimal]:
    got: dict[str, Decimal] = defaultdict(Decimal)
    for s in result.shipments:
        for lq in s.lines:
            got[lq.line_id] += lq.qty
    for t in result.transfers:
        for lq in t.lines:
            got[lq.line_id] += lq.qty
    short: tuple[Backorder | Held | Cancelled, ...] = (
        *result.backorders, *result.held, *result.cancelled)
    for outcome in short:
        got[outcome.line.line_id] += outcome.line.qty
    return dict(got)


def assert_every_unit_once(o: Order, result: AllocationResult) -> None:
    assert units_by_line(result) == {ln.id: ln.qty for ln in o.lines}


def sourced(
    o: Order,
    stock: Stock,
    policy: Policy = DEFAULT,
    *,
    config: SolverConfig = AUTO,
    declined: Mapping[str, frozenset[str]] | None = None,
    attempts: int = 0,
) -> AllocationResult:
    """Allocate ``o`` and check the result accounts for every unit and every plan is feasible."""
    snap = snapshot(stock, (ln.sku for ln in o.lines))
    result = allocate(o, policy, NETWORK, snap, NOW, catalog=CATALOG, config=config,
                      declined=declined, attempts=attempts)
    assert_every_unit_once(o, result)
    sp = build_problem(o, policy, NETWORK, snap, NOW, catalog=CATALOG, declined=declined,
                       attempts=attempts)
    for name, plan in solve_problem(sp, config).items():
        problem = sp.physical if name == "physical" else sp.virtual
        assert problem is not None
        assert check_plan(problem, plan) == []
    return result


def shipped(result: AllocationResult) -> dict[tuple[str, str], Decimal]:
    """(source, line id) -> quantity shipped."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for s in result.shipments:
        for lq in s.lines:
            out[s.source, lq.line_id] += lq.qty
    return dict(out)


def reasons(outcomes: Iterable[Backorder | Held | Cancelled]) -> list[tuple[str, Decimal, str]]:
    return sorted((o.line.line_id, o.line.qty, o.reason.value) for o in outcomes)


def candidate(result: AllocationResult, line_id: str, code: str) -> Exclusion | None:
    explanation = next(e for e in result.lines if e.line_id == line_id)
    return next(c for c in explanation.candidates if c.source == code).exclusion


# -- cost -----------------------------------------------------------------------------------


@SOLVERS
def test_the_cheapest_source_with_enough_stock_ships_the_whole_line(config: SolverConfig) -> None:
    o = order(line("1", "MUG", 2))
    result = sourced(o, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5}, config=config)
    assert shipped(result) == {("WH-NORTH", "1"): D(2)}
    assert result.status == "sourced"
    assert result.objective == D("4.20")


def test_the_explanation_prices_the_next_best_source_for_each_line() -> None:
    o = order(line("1", "MUG", 2))
    result = sourced(o, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5})
    alt = result.lines[0].alternative
    assert alt is not None
    assert alt.without == ("WH-NORTH",) and alt.sources == ("WH-SOUTH",)
    # WH-SOUTH: 6.00 + 2 x 0.30 = 6.60 against WH-NORTH's 4.00 + 2 x 0.10 = 4.20
    assert alt.cost_difference == D("2.40")


def test_the_explanation_says_when_no_other_source_could_ship_the_line() -> None:
    o = order(line("1", "MUG", 2))
    result = sourced(o, {("WH-NORTH", "MUG"): 5})
    alt = result.lines[0].alternative
    assert alt is not None and alt.cost_difference is None and alt.short == D(2)
    assert alt.sources == ()


def test_a_line_that_ships_nowhere_has_no_alternative() -> None:
    o = order(line("1", "MUG", 2))
    result = sourced(o, {})
    assert result.lines[0].alternative is None


def test_a_closer_but_dearer_store_loses_when_shipping_cost_is_minimised() -> None:
    o = order(line("1", "MUG", 1))
    result = sourced(o, {("STORE-CITY", "MUG"): 5, ("WH-NORTH", "MUG"): 5})
    assert shipped(result) == {("WH-NORTH", "1"): D(1)}


def test_a_closer_but_dearer_store_wins_when_distance_is_minimised() -> None:
    o = order(line("1", "MUG", 1))
    policy = Policy(objective=Objective(distance=D(1)))
    result = sourced(o, {("STORE-CITY", "MUG"): 5, ("WH-NORTH", "MUG"): 5}, policy)
    assert shipped(result) == {("STORE-CITY", "1"): D(1)}
    assert result.objective < D(1)  # under a kilometre from the customer


# -- splitting ------------------------------------------------------------------------------


@SOLVERS
def test_a_line_splits_across_two_sources_when_no_single_one_has_enough(
    config: SolverConfig,
) -> None:
    o = order(line("1", "MUG", 8))
    result = sourced(o, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5}, config=config)
    # WH-SOUTH costs more per unit, so the cheaper WH-NORTH gives all it has.
    assert shipped(result) == {("WH-NORTH", "1"): D(5), ("WH-SOUTH", "1"): D(3)}
    assert result.status == "sourced"
    assert result.objective == D("4.00") + D("0.50") + D("6.00") + D("0.90")


def test_one_source_per_line_ships_each_line_whole_from_one_source() -> None:
    o = order(line("1", "MUG", 4), line("2", "PAN", 1))
    stock = {("WH-NORTH", "MUG"): 2, ("WH-SOUTH", "MUG"): 2, ("STORE-MALL", "MUG"): 4,
             ("WH-NORTH", "PAN"): 1}
    split = sourced(o, stock)
    assert len({src for (src, ln) in shipped(split) if ln == "1"}) == 2   # MUG splits
    policy = Policy(objective=Objective(shipping_cost=D(1)),
                    split=SplitPolicy(one_source_per_line=True))
    whole = sourced(o, stock, policy)
    assert shipped(whole) == {("STORE-MALL", "1"): D(4), ("WH-NORTH", "2"): D(1)}
    assert whole.solver == "cp-sat"


@SOLVERS
def test_one_shipment_at_most_ships_what_one_source_has_and_holds_the_rest(
    config: SolverConfig,
) -> None:
    o = order(line("1", "MUG", 8))
    policy = Policy(split=SplitPolicy(max_shipments=1))
    result = sourced(o, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5}, policy, config=config)
    assert shipped(result) == {("WH-NORTH", "1"): D(5)}
    assert reasons(result.held) == [("1", D(3), "WAITING_FOR_STOCK")]
    assert result.status == "partial"


@SOLVERS
def test_ship_complete_sends_everything_from_the_one_source_that_has_it_all(
    config: SolverConfig,
) -> None:
    o = order(line("1", "MUG", 2), line("2", "PAN", 1))
    stock = {("WH-NORTH", "MUG"): 2, ("WH-SOUTH", "MUG"): 2, ("WH-SOUTH", "PAN"): 1}
    policy = Policy(split=SplitPolicy(mode=SplitMode.SHIP_COMPLETE))
    result = sourced(o, stock, policy, config=config)
    assert shipped(result) == {("WH-SOUTH", "1"): D(2), ("WH-SOUTH", "2"): D(1)}
    assert len(result.shipments) == 1


@SOLVERS
def test_ship_complete_holds_the_whole_order_when_no_single_source_has_it_all(
    config: SolverConfig,
) -> None:
    o = order(line("1", "MUG", 2), line("2", "PAN", 1))
    stock = {("WH-NORTH", "MUG"): 2, ("WH-SOUTH", "PAN"): 1}
    policy = Policy(split=SplitPolicy(mode=SplitMode.SHIP_COMPLETE))
    result = sourced(o, stock, policy, config=config)
    assert result.shipments == ()
    assert reasons(result.held) == [("1", D(2), "HOLD_UNTIL_COMPLETE"),
                                    ("2", D(1), "HOLD_UNTIL_COMPLETE")]
    assert result.status == "waiting"


def test_hold_until_complete_ships_in_several_parcels_once_everything_is_in_stock() -> None:
    o = order(line("1", "MUG", 2), line("2", "PAN", 1))
    stock = {("WH-NORTH", "MUG"): 2, ("WH-SOUTH", "PAN"): 1}
    policy = Policy(split=SplitPolicy(mode=SplitMode.HOLD_UNTIL_COMPLETE))
    result = sourced(o, stock, policy)
    assert shipped(result) == {("WH-NORTH", "1"): D(2), ("WH-SOUTH", "2"): D(1)}
    assert result.status == "sourced"


@SOLVERS
def test_hold_until_complete_holds_every_line_while_one_is_short(config: SolverConfig) -> None:
    o = order(line("1", "MUG", 2), line("2", "PAN", 2))
    stock = {("WH-NORTH", "MUG"): 2, ("WH-SOUTH", "PAN"): 1}
    policy = Policy(split=SplitPolicy(mode=SplitMode.HOLD_UNTIL_COMPLETE),
                    backorder=BackorderPolicy.CANCEL)
    result = sourced(o, stock, policy, config=config)
    assert result.shipments == ()
    assert reasons(result.held) == [("1", D(2), "HOLD_UNTIL_COMPLETE"),
                                    ("2", D(2), "HOLD_UNTIL_COMPLETE")]
    assert result.cancelled == ()


# -- short stock ----------------------------------------------------------------------------

SHORT_TEE = {("WH-NORTH", "TEE"): 1}


def test_allowed_backorders_backorder_what_no_source_has_for_a_sku_that_permits_them() -> None:
    o = order(line("1", "TEE", 3))
    result = sourced(o, SHORT_TEE, Policy(backorder=BackorderPolicy.ALLOW))
    assert shipped(result) == {("WH-NORTH", "1"): D(1)}
    assert reasons(result.backorders) == [("1", D(2), "BACKORDERED")]
    assert result.held == ()
    assert result.cancelled == ()


def test_a_cancel_policy_cancels_the_missing_quantity_as_out_of_stock() -> None:
    o = order(line("1", "TEE", 3))
    result = sourced(o, SHORT_TEE, Policy(backorder=BackorderPolicy.CANCEL))
    assert shipped(result) == {("WH-NORTH", "1"): D(1)}
    assert reasons(result.cancelled) == [("1", D(2), "OUTOFSTOCK")]


def test_a_hold_policy_holds_the_missing_quantity_waiting_for_stock() -> None:
    o = order(line("1", "TEE", 3))
    result = sourced(o, SHORT_TEE, Policy(backorder=BackorderPolicy.HOLD))
    assert reasons(result.held) == [("1", D(2), "WAITING_FOR_STOCK")]
    assert result.backorders == ()


def test_allowed_backorders_narrow_to_a_hold_for_a_sku_without_backorders() -> None:
    o = order(line("1", "MUG", 3))
    result = sourced(o, {("WH-NORTH", "MUG"): 1}, Policy(backorder=BackorderPolicy.ALLOW))
    assert reasons(result.held) == [("1", D(2), "WAITING_FOR_STOCK")]
    assert result.backorders == ()


def test_a_line_that_refuses_backorders_is_held_even_when_sku_and_policy_allow_them() -> None:
    o = order(line("1", "TEE", 3, allow_backorder=False))
    result = sourced(o, SHORT_TEE, Policy(backorder=BackorderPolicy.ALLOW))
    assert reasons(result.held) == [("1", D(2), "WAITING_FOR_STOCK")]


def test_a_line_that_allows_backorders_is_backordered_whatever_the_policy_says() -> None:
    o = order(line("1", "MUG", 3, allow_backorder=True))
    result = sourced(o, {("WH-NORTH", "MUG"): 1}, Policy(backorder=BackorderPolicy.CANCEL))
    assert reasons(result.backorders) == [("1", D(2), "BACKORDERED")]
    assert result.cancelled == ()


# -- pre-shipped and virtual lines ----------------------------------------------------------


def test_a_preshipped_line_ships_from_its_source_without_needing_stock() -> None:
    o = order(line("1", "MUG", 2, kind=LineKind.PRESHIPPED,
                   preshipped_source=SourceCode("STORE-MALL")))
    result = sourced(o, {})
    assert [(s.source, s.reason) for s in result.shipments] == [("STORE-MALL",
                                                                 Reason.PRESHIPPED)]
    assert shipped(result) == {("STORE-MALL", "1"): D(2)}
    assert result.status == "sourced"


def test_a_preshipped_line_keeps_its_reason_beside_a_sourced_line_from_the_same_store() -> None:
    o = order(
        line("1", "MUG", 1, kind=LineKind.PRESHIPPED, preshipped_source=SourceCode("STORE-CITY")),
        line("2", "PAN", 1),
    )
    result = sourced(o, {("STORE-CITY", "PAN"): 1})
    by_line = {lq.line_id: s.reason for s in result.shipments for lq in s.lines}
    assert by_line == {"1": Reason.PRESHIPPED, "2": Reason.SOURCED}


def test_a_virtual_line_that_is_not_stock_managed_ships_without_stock() -> None:
    o = order(line("1", "GIFT-CARD", 3, kind=LineKind.VIRTUAL))
    result = sourced(o, {})
    assert [s.reason for s in result.shipments] == [Reason.NOT_STOCK_MANAGED]
    assert units_by_line(result) == {"1": D(3)}
    assert result.status == "sourced"


def test_a_stock_managed_virtual_line_draws_only_from_the_virtual_source() -> None:
    o = order(line("1", "LICENCE-KEY", 2, kind=LineKind.VIRTUAL))
    result = sourced(o, {("WH-NORTH", "LICENCE-KEY"): 10, ("VIRTUAL-KEYS", "LICENCE-KEY"): 10})
    assert shipped(result) == {("VIRTUAL-KEYS", "1"): D(2)}


def test_a_stock_managed_virtual_line_waits_rather_than_ship_from_a_warehouse() -> None:
    o = order(line("1", "LICENCE-KEY", 2, kind=LineKind.VIRTUAL))
    result = sourced(o, {("WH-NORTH", "LICENCE-KEY"): 10})
    assert result.shipments == ()
    assert reasons(result.held) == [("1", D(2), "WAITING_FOR_STOCK")]


# -- bundles --------------------------------------------------------------------------------

KIT_SPLIT_STOCK = {("WH-NORTH", "PAN"): 1, ("STORE-MALL", "LID"): 1}


@SOLVERS
def test_a_bundle_ships_from_one_source_even_when_splitting_it_would_be_cheaper(
    config: SolverConfig,
) -> None:
    o = order(*kit("b1"))
    # Split: 4.10 + 5.20 = 9.30; together from STORE-CITY: 9.00 + 2 * 0.50 = 10.00.
    stock = {**KIT_SPLIT_STOCK, ("STORE-CITY", "PAN"): 1, ("STORE-CITY", "LID"): 1}
    result = sourced(o, stock, config=config)
    assert shipped(result) == {("STORE-CITY", "1"): D(1), ("STORE-CITY", "1b"): D(1)}
    assert result.objective == D("10.00")


@SOLVERS
def test_a_bundle_no_single_source_holds_is_held_whole(config: SolverConfig) -> None:
    o = order(*kit("b1"))
    result = sourced(o, KIT_SPLIT_STOCK, config=config)
    assert result.shipments == ()
    assert reasons(result.held) == [("1", D(1), Reason.BUNDLE_NOT_FROM_ONE_SOURCE.value),
                                    ("1b", D(1), Reason.BUNDLE_NOT_FROM_ONE_SOURCE.value)]


def test_a_bundle_still_waits_before_its_split_after_attempts_are_used_up() -> None:
    o = order(*kit("b1"))
    policy = Policy(bundle=BundlePolicy(split_after_attempts=2))
    result = sourced(o, KIT_SPLIT_STOCK, policy, attempts=1)
    assert result.shipments == ()


def test_a_bundle_splits_across_sources_after_split_after_attempts_attempts() -> None:
    o = order(*kit("b1"))
    policy = Policy(bundle=BundlePolicy(split_after_attempts=2))
    result = sourced(o, KIT_SPLIT_STOCK, policy, attempts=2)
    assert shipped(result) == {("WH-NORTH", "1"): D(1), ("STORE-MALL", "1b"): D(1)}
    assert result.status == "sourced"


def test_a_bundle_missing_a_component_rejects_the_order_and_ships_nothing() -> None:
    o = order(*kit("b1", with_lid=False), line("2", "MUG", 1))
    result = sourced(o, {("WH-NORTH", "PAN"): 5, ("WH-NORTH", "MUG"): 5})
    assert result.status == "rejected"
    assert result.shipments == ()
    assert result.transfers == ()
    assert any("lacks LID" in e for e in result.errors)


# -- pickup ---------------------------------------------------------------------------------


@SOLVERS
def test_a_pickup_order_takes_store_stock_first_and_transfers_the_rest(
    config: SolverConfig,
) -> None:
    o = order(line("1", "MUG", 5), pickup="STORE-CITY")
    stock = {("STORE-CITY", "MUG"): 2, ("WH-NORTH", "MUG"): 10, ("WH-SOUTH", "MUG"): 10}
    result = sourced(o, stock, config=config)
    assert [(s.source, s.reason) for s in result.shipments] == [
        ("STORE-CITY", Reason.PICKUP_IN_STORE)]
    assert shipped(result) == {("STORE-CITY", "1"): D(2)}
    assert [(t.from_source, t.to_source, t.days, [(lq.line_id, lq.qty) for lq in t.lines])
            for t in result.transfers] == [("WH-NORTH", "STORE-CITY", 2, [("1", D(3))])]
    assert candidate(result, "1", "WH-SOUTH") is Exclusion.NO_TRANSFER_LANE
    assert result.objective == D("2.00") + D("0.30")


def test_a_pickup_at_a_store_that_is_not_in_the_network_is_rejected() -> None:
    o = order(line("1", "MUG", 1), pickup="STORE-NOWHERE")
    result = sourced(o, {("WH-NORTH", "MUG"): 5})
    assert result.status == "rejected"
    assert result.shipments == ()
    assert result.transfers == ()
    assert {c.reason for c in result.cancelled} == {Reason.NO_PICKUP_SOURCE}


def test_a_pickup_at_a_store_without_pickup_capability_is_rejected() -> None:
    o = order(line("1", "MUG", 1), pickup="STORE-MALL")
    result = sourced(o, {("STORE-MALL", "MUG"): 5})
    assert result.status == "rejected"
    assert result.shipments == ()
    assert {c.reason for c in result.cancelled} == {Reason.NO_PICKUP_SOURCE}


# -- declines, exclusions, restrictions -----------------------------------------------------


def test_a_source_that_declined_the_line_is_not_asked_again() -> None:
    o = order(line("1", "MUG", 2))
    stock = {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5}
    result = sourced(o, stock, declined={"1": frozenset({"WH-NORTH"})})
    assert shipped(result) == {("WH-SOUTH", "1"): D(2)}
    assert candidate(result, "1", "WH-NORTH") is Exclusion.DECLINED_BEFORE


def test_a_line_declined_as_often_as_the_policy_allows_is_held_with_decline_limit() -> None:
    o = order(line("1", "MUG", 2))
    stock = {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5}
    policy = Policy(decline=DeclinePolicy(attempts=2))
    result = sourced(o, stock, policy, declined={"1": frozenset({"WH-NORTH", "STORE-CITY"})})
    assert result.shipments == ()
    assert reasons(result.held) == [("1", D(2), "DECLINE_LIMIT")]


def test_a_decline_policy_that_cancels_cancels_the_line_at_the_limit() -> None:
    o = order(line("1", "MUG", 2))
    policy = Policy(decline=DeclinePolicy(attempts=1, then=DeclineAction.CANCEL))
    result = sourced(o, {("WH-SOUTH", "MUG"): 5}, policy,
                     declined={"1": frozenset({"WH-NORTH"})})
    assert reasons(result.cancelled) == [("1", D(2), "DECLINE_LIMIT")]


def test_a_disabled_source_is_never_used_even_when_it_is_cheapest() -> None:
    o = order(line("1", "MUG", 2))
    result = sourced(o, {("WH-OLD", "MUG"): 50, ("WH-SOUTH", "MUG"): 5})
    assert shipped(result) == {("WH-SOUTH", "1"): D(2)}
    assert candidate(result, "1", "WH-OLD") is Exclusion.DISABLED


def test_a_rule_excluding_stores_keeps_store_stock_out_of_reach() -> None:
    o = order(line("1", "MUG", 2))
    policy = Policy(sources=SourcePolicy(exclude=SourceSelector(kinds=frozenset({
        SourceKind.STORE}))))
    result = sourced(o, {("STORE-CITY", "MUG"): 5}, policy)
    assert result.shipments == ()
    assert candidate(result, "1", "STORE-CITY") is Exclusion.EXCLUDED_BY_RULE
    assert reasons(result.held) == [("1", D(2), "WAITING_FOR_STOCK")]


def test_a_rule_excluding_a_tag_sends_the_line_to_the_next_cheapest_source() -> None:
    o = order(line("1", "MUG", 2))
    policy = Policy(sources=SourcePolicy(exclude=SourceSelector(tags=frozenset({
        "hazmat_certified"}))))
    result = sourced(o, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5}, policy)
    assert shipped(result) == {("WH-SOUTH", "1"): D(2)}
    assert candidate(result, "1", "WH-NORTH") is Exclusion.EXCLUDED_BY_RULE


def test_a_maximum_distance_drops_far_sources_and_sources_without_coordinates() -> None:
    o = order(line("1", "SOFA", 1))
    stock = {("WH-SOUTH", "SOFA"): 5, ("DROP-SOFA", "SOFA"): 5, ("WH-NORTH", "SOFA"): 5}
    policy = Policy(sources=SourcePolicy(max_distance_km=300))
    result = sourced(o, stock, policy)
    assert shipped(result) == {("WH-NORTH", "1"): D(1)}
    assert candidate(result, "1", "WH-SOUTH") is Exclusion.BEYOND_RADIUS
    assert candidate(result, "1", "DROP-SOFA") is Exclusion.BEYOND_RADIUS


def test_a_hazmat_restriction_sends_only_the_hazmat_line_to_a_certified_source() -> None:
    o = order(line("1", "SOLVENT", 1), line("2", "MUG", 1))
    stock = {("STORE-MALL", "SOLVENT"): 5, ("STORE-MALL", "MUG"): 5, ("WH-NORTH", "SOLVENT"): 5}
    free = sourced(o, stock)
    assert shipped(free) == {("STORE-MALL", "1"): D(1), ("STORE-MALL", "2"): D(1)}
    policy = Policy(sources=SourcePolicy(lines=(LineRestriction(
        sku_tags=frozenset({"hazmat"}),
        include=SourceSelector(tags=frozenset({"hazmat_certified"}))),)))
    result = sourced(o, stock, policy)
    assert shipped(result) == {("WH-NORTH", "1"): D(1), ("STORE-MALL", "2"): D(1)}
    assert candidate(result, "1", "STORE-MALL") is Exclusion.EXCLUDED_BY_RULE
    assert candidate(result, "2", "STORE-MALL") is None


def test_an_unknown_sku_is_cancelled_when_a_catalog_is_given() -> None:
    o = order(line("1", "NOPE-1", 1))
    result = sourced(o, {("WH-NORTH", "NOPE-1"): 5})
    assert reasons(result.cancelled) == [("1", D(1), "UNKNOWN_SKU")]
    assert result.status == "cancelled"


# -- quantities -----------------------------------------------------------------------------


def test_two_and_a_half_metres_of_fabric_are_allocated_exactly() -> None:
    o = order(line("1", "FABRIC-LINEN", "2.5"))
    result = sourced(o, {("WH-NORTH", "FABRIC-LINEN"): "10.0"})
    assert shipped(result) == {("WH-NORTH", "1"): D("2.5")}
    assert result.objective == D("4.25")


def test_fabric_splits_in_tenths_of_a_metre_when_no_source_has_enough() -> None:
    o = order(line("1", "FABRIC-LINEN", "2.5"))
    result = sourced(o, {("WH-NORTH", "FABRIC-LINEN"): "1.5",
                         ("WH-SOUTH", "FABRIC-LINEN"): "1.5"})
    assert shipped(result) == {("WH-NORTH", "1"): D("1.5"), ("WH-SOUTH", "1"): D("1.0")}


# -- ranked fill ----------------------------------------------------------------------------

RANK_PRIORITY = Policy(objective=None, rank=(RankKey.PRIORITY,))
RANK_DISTANCE = Policy(objective=None, rank=(RankKey.DISTANCE,))


def test_a_priority_fill_takes_what_each_source_has_in_priority_order() -> None:
    o = order(line("1", "MUG", 8))
    stock = {("WH-OLD", "MUG"): 9, ("WH-NORTH", "MUG"): 3, ("WH-SOUTH", "MUG"): 4,
             ("STORE-CITY", "MUG"): 10}
    result = sourced(o, stock, RANK_PRIORITY)
    assert shipped(result) == {("WH-NORTH", "1"): D(3), ("WH-SOUTH", "1"): D(4),
                               ("STORE-CITY", "1"): D(1)}
    assert result.solver == "ranked"


def test_a_distance_fill_visits_nearer_sources_first_and_those_without_coordinates_last() -> None:
    o = order(line("1", "MUG", 8))
    stock = {("STORE-CITY", "MUG"): 2, ("STORE-MALL", "MUG"): 2, ("WH-NORTH", "MUG"): 2,
             ("WH-SOUTH", "MUG"): 1, ("DROP-SOFA", "MUG"): 10}
    result = sourced(o, stock, RANK_DISTANCE)
    assert shipped(result) == {("STORE-CITY", "1"): D(2), ("STORE-MALL", "1"): D(2),
                               ("WH-NORTH", "1"): D(2), ("WH-SOUTH", "1"): D(1),
                               ("DROP-SOFA", "1"): D(1)}


def test_a_priority_fill_for_pickup_empties_the_store_before_transferring() -> None:
    o = order(line("1", "MUG", 5), pickup="STORE-CITY")
    result = sourced(o, {("STORE-CITY", "MUG"): 2, ("WH-NORTH", "MUG"): 10}, RANK_PRIORITY)
    assert shipped(result) == {("STORE-CITY", "1"): D(2)}
    assert [(t.from_source, [lq.qty for lq in t.lines]) for t in result.transfers] == [
        ("WH-NORTH", [D(3)])]


def test_two_lines_of_one_sku_share_the_stock_in_a_priority_fill() -> None:
    o = order(line("1", "MUG", 3), line("2", "MUG", 3))
    result = sourced(o, {("WH-NORTH", "MUG"): 4, ("WH-SOUTH", "MUG"): 10}, RANK_PRIORITY)
    assert shipped(result) == {("WH-NORTH", "1"): D(3), ("WH-NORTH", "2"): D(1),
                               ("WH-SOUTH", "2"): D(2)}


@SOLVERS
def test_two_lines_of_one_sku_never_take_more_than_the_source_holds(
    config: SolverConfig,
) -> None:
    o = order(line("1", "MUG", 3), line("2", "MUG", 3))
    result = sourced(o, {("WH-NORTH", "MUG"): 4}, config=config)
    from_north = sum(q for (src, _), q in shipped(result).items() if src == "WH-NORTH")
    assert from_north == D(4)
    assert sum(h.line.qty for h in result.held) == D(2)


# -- determinism and comparison -------------------------------------------------------------

MIXED = order(line("1", "MUG", 6), line("2", "PAN", 2), line("3", "FABRIC-LINEN", "1.5"),
              line("4", "GIFT-CARD", 1, kind=LineKind.VIRTUAL))
MIXED_STOCK: Stock = {("WH-NORTH", "MUG"): 4, ("WH-SOUTH", "MUG"): 10, ("STORE-CITY", "MUG"): 10,
               ("WH-SOUTH", "PAN"): 2, ("STORE-MALL", "PAN"): 2,
               ("WH-NORTH", "FABRIC-LINEN"): "1.5", ("WH-SOUTH", "FABRIC-LINEN"): "5"}


def without_timing(result: AllocationResult) -> dict[str, object]:
    d = result.to_dict()
    d["solver"] = {k: v for k, v in d["solver"].items() if k != "ms"}
    return d


@SOLVERS
def test_allocating_the_same_order_twice_gives_the_same_decision(config: SolverConfig) -> None:
    first = sourced(MIXED, MIXED_STOCK, config=config)
    second = sourced(MIXED, MIXED_STOCK, config=config)
    assert without_timing(first) == without_timing(second)


def test_the_optimal_plan_costs_no_more_than_the_priority_fill_and_both_ship_everything() -> None:
    optimal = sourced(MIXED, MIXED_STOCK)
    cpsat = sourced(MIXED, MIXED_STOCK, config=CPSAT)
    ranked = sourced(MIXED, MIXED_STOCK, RANK_PRIORITY)
    assert optimal.status == cpsat.status == ranked.status == "sourced"
    assert optimal.objective == cpsat.objective
    assert optimal.objective <= ranked.objective
    assert optimal.objective == sum(optimal.breakdown.values())
    assert ranked.objective == sum(ranked.breakdown.values())
    # The priority fill drains WH-NORTH first and tops up from WH-SOUTH (4.55 + 7.20); the
    # optimum sends everything from WH-SOUTH alone (6.00 + 1.80 + 0.60 + 0.45).
    assert shipped(ranked) == {(None, "4"): D(1), ("WH-NORTH", "1"): D(4),
                               ("WH-NORTH", "3"): D("1.5"), ("WH-SOUTH", "1"): D(2),
                               ("WH-SOUTH", "2"): D(2)}
    assert ranked.objective == D("11.75")
    assert shipped(optimal) == {(None, "4"): D(1), ("WH-SOUTH", "1"): D(6),
                                ("WH-SOUTH", "2"): D(2), ("WH-SOUTH", "3"): D("1.5")}
    assert optimal.objective == D("8.85")


def test_a_result_serialises_to_json_with_exact_decimal_strings() -> None:
    result = sourced(MIXED, MIXED_STOCK)
    text = json.dumps(result.to_dict())
    back = json.loads(text)
    assert back["status"] == "sourced"
    qtys = {x["line"]: x["qty"] for s in back["shipments"] for x in s["lines"]
            if x["line"] == "3"}
    assert qtys == {"3": "1.5"}
    assert D(back["cost"]["objective"]) == result.objective
