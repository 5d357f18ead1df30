"""The allocation benchmark's synthetic world still works (tiny size, no timing)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.rules.model import Objective, Policy, RankKey

SYNTHETIC = Path(__file__).resolve().parents[2] / "benchmarks" / "_synthetic.py"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
POLICIES = {
    "optimal": Policy(objective=Objective(shipping_cost=Decimal(1))),
    "priority": Policy(objective=None, rank=(RankKey.PRIORITY,)),
}


def load_synthetic() -> ModuleType:
    if "_synthetic" in sys.modules:
        return sys.modules["_synthetic"]
    spec = importlib.util.spec_from_file_location("_synthetic", SYNTHETIC)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_synthetic"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_world_is_deterministic_for_a_seed() -> None:
    syn = load_synthetic()
    a, b = syn.make_world(5, 50, seed=3), syn.make_world(5, 50, seed=3)
    assert a.network.codes == b.network.codes
    assert [s.location for s in a.network.sources] == [s.location for s in b.network.sources]
    for sku in a.skus[:10]:
        assert list(a.ledger.snapshot([sku])[sku].available) == list(
            b.ledger.snapshot([sku])[sku].available)
    oa, ob = syn.make_orders(20, a, seed=4), syn.make_orders(20, b, seed=4)
    assert oa == ob
    assert all(1 <= len(o.lines) <= 5 for o in oa)
    network, catalog, ledger = a
    assert len(network) == 5 and len(catalog) == 50 and ledger.source_codes == network.codes


@pytest.mark.parametrize("policy_name", list(POLICIES))
def test_one_allocation_per_order_is_feasible(policy_name: str) -> None:
    syn = load_synthetic()
    world = syn.make_world(5, 50, seed=3)
    orders = syn.make_orders(20, world, seed=4)
    policy = POLICIES[policy_name]
    for order in orders:
        snap = world.ledger.snapshot([line.sku for line in order.lines])
        result = allocate(order, policy, world.network, snap, NOW, catalog=world.catalog)
        assert result.status in {"sourced", "partial", "waiting"}, result.errors
        if policy_name == "optimal":
            assert result.solver_status == "optimal"
        shipped: dict[str, Decimal] = {}
        for s in result.shipments:
            for lq in s.lines:
                shipped[lq.line_id] = shipped.get(lq.line_id, Decimal(0)) + lq.qty
        for line in order.lines:
            assert shipped.get(line.id, Decimal(0)) <= line.qty


def test_the_allocation_benchmark_runs_at_a_tiny_size() -> None:
    syn = load_synthetic()
    if str(SYNTHETIC.parent) not in sys.path:
        sys.path.insert(0, str(SYNTHETIC.parent))
    spec = importlib.util.spec_from_file_location("bench_allocation",
                                                  SYNTHETIC.parent / "bench_allocation.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_allocation"] = bench
    spec.loader.exec_module(bench)
    world = syn.make_world(8, 60, seed=5)
    orders = syn.make_orders(bench.WARMUP + 12, world, seed=6)
    b = bench.Bench(8, world, orders,
                    [world.ledger.snapshot([ln.sku for ln in o.lines]) for o in orders])
    times, results = bench.run_latency(b, bench.POLICIES["optimal"])
    assert len(times) == len(results) == 12 and bench.percentiles(times)["p99_ms"] > 0
    split = bench.run_split(b, bench.POLICIES["priority"], 5)
    assert [len(v) for v in split.values()] == [5, 5, 5]
    split = bench.run_split(b, bench.POLICIES["optimal"], 5)
    assert len(split["solve_cp_sat"]) == 5
    costs = bench.compare_costs(b)
    assert costs["orders"] == 12 and costs["optimal_worse_than_a_fill"] == 0


def test_the_physical_floor_fills_each_line_from_its_nearest_stocked_sources_first() -> None:
    syn = load_synthetic()
    if str(SYNTHETIC.parent) not in sys.path:
        sys.path.insert(0, str(SYNTHETIC.parent))
    spec = importlib.util.spec_from_file_location("bench_allocation",
                                                  SYNTHETIC.parent / "bench_allocation.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_allocation"] = bench
    spec.loader.exec_module(bench)
    world = syn.make_world(8, 60, seed=5, max_qty=2)
    orders = syn.make_orders(bench.WARMUP + 12, world, seed=6)
    b = bench.Bench(8, world, orders,
                    [world.ledger.snapshot([ln.sku for ln in o.lines]) for o in orders])
    floor = bench.build_floor(b)
    for n, order in enumerate(orders):
        take = bench.floor_fill(floor, n)
        for i, line in enumerate(order.lines):
            stock = [max(int(world.ledger.snapshot([line.sku])[line.sku].available[k]), 0)
                     for k in floor.by_cost[n].tolist()]
            want = int(line.qty)
            # greedy: every source before the last one used gives all it has
            used = [k for k, q in enumerate(take[i].tolist()) if q]
            assert sum(take[i].tolist()) == min(want, sum(stock))
            assert all(take[i, k] <= stock[k] for k in range(len(stock)))
            assert all(take[i, k] == stock[k] for k in range(used[-1])) if used else True
    assert len(bench.run_floor(b, floor)) == 12
    info = bench.ratio_to_floor(b)
    assert info["floor_orders_per_s"] > 0 and info["optimal_to_floor"] > 0
