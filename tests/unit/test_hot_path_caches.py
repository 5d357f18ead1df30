"""What the hot path caches lives with the immutable objects it was derived from, is bounded,
and never outlives them; problems check their shapes in tests only; results build their
explanation texts when first read and reserve in integer units."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import numpy as np
import pytest

from oms_sourcing.allocation import allocate as allocate_module
from oms_sourcing.allocation._arrays import (
    IdentityCache,
    LruCache,
    destination_cache_size,
    network_arrays,
)
from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.allocation.builder import build_problem
from oms_sourcing.allocation.problem import AllocationProblem, check_problem_shapes
from oms_sourcing.domain import (
    Location,
    Order,
    OrderLine,
    Shipping,
    Source,
    SourceKind,
    SourceSelector,
    Zone,
)
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork
from oms_sourcing.inventory.stock import StockLedger, StockRecord, UnitAllocations
from oms_sourcing.rules.model import Objective, Policy

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
CHEAPEST = Policy(objective=Objective(shipping_cost=Decimal(1)))
EU = Zone(name="eu", countries=frozenset({"DE", "FR"}))


def network(berlin_parcel: str = "4.90") -> SourceNetwork:
    sources = [
        Source(code="BERLIN", kind=SourceKind.WAREHOUSE, priority=1,
               location=Location(lat=52.52, lon=13.40, country="DE")),
        Source(code="LYON", kind=SourceKind.WAREHOUSE, priority=2,
               location=Location(lat=45.76, lon=4.84, country="FR")),
    ]
    lanes = [
        ShippingLane(name="berlin-eu", sources=_codes("BERLIN"), destination=EU,
                     per_shipment=Decimal(berlin_parcel), per_km=Decimal("0.002")),
        ShippingLane(name="lyon-eu", sources=_codes("LYON"), destination=EU,
                     per_shipment=Decimal("5.10"), per_unit=Decimal("0.25")),
    ]
    return SourceNetwork(sources, zones=[EU], shipping_lanes=lanes)


def _codes(code: str) -> SourceSelector:
    return SourceSelector(codes=frozenset({code}))


def kettle_order(order_id: str = "O-1", lat: float = 50.11, lon: float = 8.68,
                 country: str = "DE") -> Order:
    return Order(
        id=order_id, created_at=NOW,
        lines=(OrderLine(id="1", sku="KETTLE", qty=Decimal(2), unit_price=Decimal("39.90")),),
        shipping=Shipping(address=Location(lat=lat, lon=lon, country=country)),
    )


def stocked(net: SourceNetwork) -> StockLedger:
    ledger = StockLedger(net.codes)
    ledger.apply_records([StockRecord(code, "KETTLE", Decimal(5), NOW, f"count-{code}")
                          for code in ("BERLIN", "LYON")])
    return ledger


def test_a_network_keeps_its_own_allocation_arrays_and_a_copy_derives_new_ones() -> None:
    net = network()
    arrays = network_arrays(net)
    assert network_arrays(net) is arrays
    assert net.derived("allocation.arrays", lambda n: None) is arrays
    twin = pickle.loads(pickle.dumps(net))
    assert network_arrays(twin) is not arrays


def test_a_network_with_a_dearer_lane_costs_its_orders_anew_not_from_stale_rows() -> None:
    cheap, dear = network("4.90"), network("9.90")
    order = kettle_order()
    costs = []
    for net in (cheap, dear, cheap):
        ledger = stocked(net)
        sp = build_problem(order, CHEAPEST, net, ledger.snapshot(["KETTLE"]), NOW)
        assert sp.physical is not None
        costs.append(dict(zip(sp.physical.sources, sp.physical.fixed_cost.tolist(),
                              strict=True)))
    assert costs[1]["BERLIN"] - costs[0]["BERLIN"] == 5_000_000   # 5.00 more per parcel
    assert costs[1]["LYON"] == costs[0]["LYON"]
    assert costs[2] == costs[0]


def test_an_edited_policy_gets_its_own_arrays_and_costs() -> None:
    net = network()
    ledger = stocked(net)
    doubled = replace(CHEAPEST, objective=Objective(shipping_cost=Decimal(2)))
    snap = ledger.snapshot(["KETTLE"])
    once = build_problem(kettle_order(), CHEAPEST, net, snap, NOW).physical
    twice = build_problem(kettle_order(), doubled, net, snap, NOW).physical
    assert once is not None and twice is not None
    assert (twice.fixed_cost == 2 * once.fixed_cost).all()
    arrays = network_arrays(net)
    assert arrays.policy(CHEAPEST) is arrays.policy(CHEAPEST)
    assert arrays.policy(replace(CHEAPEST)) is not arrays.policy(CHEAPEST)


def test_orders_to_the_same_zone_share_the_zone_rows_but_not_their_distances() -> None:
    net = network()
    ledger = stocked(net)
    snap = ledger.snapshot(["KETTLE"])
    frankfurt = build_problem(kettle_order(), CHEAPEST, net, snap, NOW).physical
    hamburg = build_problem(kettle_order(lat=53.55, lon=9.99), CHEAPEST, net, snap,
                            NOW).physical
    rows = network_arrays(net).policy(CHEAPEST).destinations
    assert len(rows) == 1          # one zone (DE), one channel
    assert frankfurt is not None and hamburg is not None
    # Berlin's lane charges per km: Hamburg is nearer to it than Frankfurt
    berlin = frankfurt.sources.index("BERLIN")
    assert hamburg.fixed_cost[berlin] < frankfurt.fixed_cost[berlin]


def test_the_caches_are_bounded_and_keep_what_was_used_last() -> None:
    rows: LruCache[int, str] = LruCache(3)
    for key in (1, 2, 3):
        rows.get(key, lambda k=key: f"row {k}")   # type: ignore[misc]
    rows.get(1, lambda: "rebuilt")                # used again: kept
    rows.get(4, lambda: "row 4")                  # drops 2, the least recently used
    assert len(rows) == 3
    assert rows.get(1, lambda: "rebuilt") == "row 1"
    assert rows.get(2, lambda: "rebuilt") == "rebuilt"
    policies: IdentityCache[Policy, int] = IdentityCache(2)
    a, b, c = replace(CHEAPEST), replace(CHEAPEST), replace(CHEAPEST)
    policies.get(a, lambda p: 1)
    policies.get(b, lambda p: 2)
    policies.get(a, lambda p: 99)
    policies.get(c, lambda p: 3)
    assert len(policies) == 2 and policies.get(a, lambda p: 99) == 1
    assert destination_cache_size(50) == 4000 and destination_cache_size(100_000) == 16


def test_problem_shapes_are_checked_in_tests_and_skipped_when_turned_off() -> None:
    def lopsided() -> AllocationProblem:
        return AllocationProblem(
            order_id="O", sources=("BERLIN", "LYON"), lines=("1",), skus=("KETTLE",),
            line_sku=np.array([0]), demand=np.array([2]), stock=np.array([[5, 5]]),
            allowed=np.array([[True, True]]), fixed_cost=np.array([1, 2, 3]),
            unit_cost=np.array([[0, 0]]), short_cost=np.array([99]))

    with pytest.raises(ValueError, match="fixed_cost has shape"):
        lopsided()
    before = check_problem_shapes(False)
    try:
        problem = lopsided()
    finally:
        check_problem_shapes(before)
    assert before is True
    with pytest.raises(ValueError, match="fixed_cost has shape"):
        problem.check_shapes()


def test_outcome_texts_are_written_only_when_the_explanation_is_read() -> None:
    net = network()
    ledger = stocked(net)
    with mock.patch.object(allocate_module, "_outcomes",
                           wraps=allocate_module._outcomes) as texts:
        result = allocate(kettle_order(), CHEAPEST, net, ledger.snapshot(["KETTLE"]), NOW)
        result.to_dict(explain=False)
        result.reservations()
        assert texts.call_count == 0
        assert result.lines[0].outcome == "2 from LYON"   # 5.60 a parcel; Berlin's 5.74
        assert texts.call_count == 1


def test_reservations_carry_their_units_and_reserve_as_the_plain_mapping_does() -> None:
    net = network()
    fast_ledger, plain_ledger = stocked(net), stocked(net)
    result = allocate(kettle_order(), CHEAPEST, net, fast_ledger.snapshot(["KETTLE"]), NOW)
    wanted = result.reservations()
    assert isinstance(wanted, UnitAllocations)
    assert wanted == {"1": [("LYON", "KETTLE", Decimal(2))]}
    fast = fast_ledger.reserve_order("O-1", wanted)
    plain = plain_ledger.reserve_order("O-1", {k: list(v) for k, v in wanted.items()})
    assert fast == plain and fast.ok
    assert fast_ledger.reserved("LYON", "KETTLE") == Decimal(2)
    assert fast_ledger.reservations() == plain_ledger.reservations()


def test_a_reservation_edited_after_the_result_is_read_from_its_triples() -> None:
    net = network()
    ledger = stocked(net)
    result = allocate(kettle_order(), CHEAPEST, net, ledger.snapshot(["KETTLE"]), NOW)
    wanted = result.reservations()
    wanted["1"][0] = ("BERLIN", "KETTLE", Decimal(3))      # the units no longer match
    assert ledger.reserve_order("O-1", wanted).ok
    assert ledger.reserved("BERLIN", "KETTLE") == Decimal(3)
    assert ledger.reserved("LYON", "KETTLE") == Decimal(0)
