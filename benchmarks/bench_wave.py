"""W3: waves of orders on scarce stock, sourced jointly (``allocate_wave``) vs one by one.

Run with ``pytest benchmarks/bench_wave.py --benchmark-only -s``. Environment:

* ``WAVE_SIZES`` — comma-separated ``orders x sources`` cases (default ``1000x50,1000x500``;
  add ``10000x500`` for the big one),
* ``WAVE_SKUS`` (default 500) SKUs stocked 0..``WAVE_MAX_QTY`` (default 3) units at ~20 % of
  the sources, so orders compete for stock,
* ``WAVE_TIME_LIMIT`` (default 60) seconds for the joint MIP (``WAVE_NODES`` nodes, default
  100,000).

Reported per case: wave and per-order cost and short units, the bounds (LP, Lagrangian, sum of
per-order optima), the gap of both plans to the best bound, columns kept by reduced-cost
fixing, and the wall time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from _synthetic import make_orders, make_world

from oms_sourcing.allocation.wave import WaveConfig, WaveResult, allocate_wave
from oms_sourcing.rules.model import Objective, Policy

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SIZES = [tuple(int(v) for v in case.split("x"))
         for case in os.environ.get("WAVE_SIZES", "1000x50,1000x500").split(",")]
SKUS = int(os.environ.get("WAVE_SKUS", "500"))
MAX_QTY = int(os.environ.get("WAVE_MAX_QTY", "3"))
TIME_LIMIT = float(os.environ.get("WAVE_TIME_LIMIT", "60"))
NODES = int(os.environ.get("WAVE_NODES", "100000"))
POLICY = Policy(objective=Objective(shipping_cost=Decimal(1)))


def run_wave(n_orders: int, n_sources: int, skus: int = SKUS, max_qty: int = MAX_QTY,
             time_limit: float = TIME_LIMIT, nodes: int = NODES) -> WaveResult:
    world = make_world(n_sources, skus, seed=n_sources, max_qty=max_qty)
    orders = make_orders(n_orders, world, seed=2000 + n_sources)
    snapshot = world.ledger.snapshot(world.skus)
    return allocate_wave(orders, POLICY, world.network, snapshot, NOW, catalog=world.catalog,
                         config=WaveConfig(time_limit_s=time_limit, mip_max_nodes=nodes))


def summary(r: WaveResult) -> dict[str, Any]:
    def gap(objective: Decimal, cost: Decimal) -> float:
        return round(float((objective - r.bound) / cost) * 100, 3) if cost else 0.0

    return {
        "status": r.status, "improved": r.improved, "joint_orders": r.joint_orders,
        "cost": float(r.cost), "per_order_cost": float(r.per_order_cost),
        "short_units": r.short_units, "per_order_short_units": r.per_order_short_units,
        "gap_pct": gap(r.objective, r.cost),
        "per_order_gap_pct": gap(r.per_order_objective, r.per_order_cost),
        "saving_pct": round(float((r.per_order_cost - r.cost) / r.per_order_cost) * 100, 3)
        if r.per_order_cost else 0.0,
        "lp_bound": float(r.lp_bound) if r.lp_bound is not None else None,
        "bound": float(r.bound), "sum_of_optima": float(r.sum_of_optima),
        "columns": r.columns, "columns_kept": r.columns_kept, "seconds": round(r.seconds, 2),
    }


@pytest.mark.parametrize("case", SIZES, ids=lambda c: f"{c[0]}x{c[1]}")
def test_bench_wave(benchmark: Any, case: tuple[int, int],
                    capsys: pytest.CaptureFixture[str]) -> None:
    n_orders, n_sources = case
    result = benchmark.pedantic(run_wave, args=(n_orders, n_sources), rounds=1, iterations=1)
    info = summary(result) | {"orders": n_orders, "sources": n_sources, "skus": SKUS,
                              "max_qty": MAX_QTY, "time_limit_s": TIME_LIMIT}
    benchmark.extra_info.update(info)
    assert result.objective <= result.per_order_objective
    with capsys.disabled():
        print(f"\n[wave] {n_orders} orders x {n_sources} sources, {SKUS} SKUs, 0-{MAX_QTY} "
              f"units: wave {info['cost']:.2f} vs per-order {info['per_order_cost']:.2f} "
              f"({info['saving_pct']}% less), short {info['short_units']}/"
              f"{info['per_order_short_units']}; gap {info['gap_pct']}% vs per-order "
              f"{info['per_order_gap_pct']}%; columns {info['columns_kept']}/{info['columns']};"
              f" {info['seconds']} s")
