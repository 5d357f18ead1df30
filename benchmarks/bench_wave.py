"""W3: waves of orders on scarce stock, sourced jointly (``allocate_wave``) vs one by one.

Run with ``pytest benchmarks/bench_wave.py --benchmark-only -s``. Environment:

* ``WAVE_SIZES`` — comma-separated ``orders x sources x max units [x SKUs]`` cases (default
  ``1000x50x3,1000x50x10,1000x500x3``; add ``10000x500x3x5000`` for the big one): SKUs
  (default ``WAVE_SKUS``, 500) stocked 0..max units at ~20 % of the sources, so orders compete
  for stock (0-3 units: very scarce, a third of the lines need two sources; 0-10: scarce),
* ``WAVE_LP=0`` skips the LP relaxation of the compact model,
* the budget, in work: ``WAVE_PRICING`` (30) column-generation rounds (stopping once the
  bound is within ``WAVE_PRICING_TOLERANCE``, 0.001, of the cost), ``WAVE_MASTER_EFFORT``
  (1) deterministic second of the master MIP, ``WAVE_LOCAL_SEARCH`` (3) local-search rounds,
  ``WAVE_NEIGHBOURHOODS`` (600) neighbourhood-search steps of ``WAVE_HOOD`` (12) orders,
  ``WAVE_PRICE_DIRECTED=0`` skips the price-directed pass;
  ``WAVE_MIP=1`` adds the whole-wave MIP (``WAVE_NODES`` nodes, default 100,000);
  ``WAVE_PROOF_GAP`` (0: off) the gap the proof step proves, over at most ``WAVE_PROOF_PLANS``
  (50,000) plans in a MIP of ``WAVE_PROOF_EFFORT`` (5) deterministic seconds;
  ``WAVE_TIME_LIMIT`` a wall-clock stop (default none),
* ``WAVE_WORKERS`` (2): processes solving orders alone (the same plans for any number),
* ``WAVE_CONFIG=large``: the defaults above become ``WaveConfig.large()``'s (column
  generation within 0.3 %, no price-directed pass, local or neighbourhood search);
  ``WAVE_CONFIG=proven`` ``WaveConfig.proven()``'s (column generation to the end, the master
  MIP, the proof step within 0.3 %).

Reported per case: wave and per-order cost and short units, the bounds (LP, Lagrangian, sum of
per-order optima), the gap of both plans to the best bound, and the seconds of each step.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from _synthetic import make_orders, make_world

from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.allocation.wave import WaveConfig, WaveResult, allocate_wave
from oms_sourcing.rules.model import Objective, Policy

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SKUS = int(os.environ.get("WAVE_SKUS", "500"))


def parse_case(text: str) -> tuple[int, int, int, int]:
    """``orders x sources [x max units [x SKUs]]``; missing fields: 3 units, ``SKUS``."""
    values = [int(v) for v in text.split("x")]
    if not 2 <= len(values) <= 4:
        raise ValueError(f"WAVE_SIZES case {text!r}: use orders x sources [x units [x SKUs]]")
    orders, sources, units, skus = (*values, *(0, 0, 3, SKUS)[len(values):])
    return orders, sources, units, skus


SIZES = [parse_case(case) for case in
         os.environ.get("WAVE_SIZES", "1000x50x3,1000x50x10,1000x500x3").split(",")]
LIMIT = os.environ.get("WAVE_TIME_LIMIT")
# the settings' defaults: WaveConfig's, or with WAVE_CONFIG=large (proven) WaveConfig.large()'s
# (WaveConfig.proven()'s)
BASE = {"large": WaveConfig.large(), "proven": WaveConfig.proven()}.get(
    os.environ.get("WAVE_CONFIG", ""), WaveConfig())


def _setting(name: str, field: str) -> str:
    """The environment's ``name``, else ``BASE``'s ``field`` (a flag as 0 or 1)."""
    value = getattr(BASE, field)
    return os.environ.get(name, str(int(value)) if isinstance(value, bool) else str(value))


CONFIG = WaveConfig(
    lp=_setting("WAVE_LP", "lp") == "1",
    neighbourhoods=int(_setting("WAVE_NEIGHBOURHOODS", "neighbourhoods")),
    neighbourhood_orders=int(_setting("WAVE_HOOD", "neighbourhood_orders")),
    local_search_rounds=int(_setting("WAVE_LOCAL_SEARCH", "local_search_rounds")),
    price_directed=_setting("WAVE_PRICE_DIRECTED", "price_directed") == "1",
    pricing_tolerance=float(_setting("WAVE_PRICING_TOLERANCE", "pricing_tolerance")),
    pricing_rounds=int(_setting("WAVE_PRICING", "pricing_rounds")),
    master_effort=float(_setting("WAVE_MASTER_EFFORT", "master_effort")),
    mip=_setting("WAVE_MIP", "mip") == "1",
    mip_max_nodes=int(_setting("WAVE_NODES", "mip_max_nodes")),
    proof_gap=float(_setting("WAVE_PROOF_GAP", "proof_gap")),
    proof_plans=int(_setting("WAVE_PROOF_PLANS", "proof_plans")),
    proof_effort=float(_setting("WAVE_PROOF_EFFORT", "proof_effort")),
    time_limit_s=float(LIMIT) if LIMIT else None,
    workers=int(os.environ.get("WAVE_WORKERS", "2")),
)
POLICY = Policy(objective=Objective(shipping_cost=Decimal(1)))


def run_wave(n_orders: int, n_sources: int, max_qty: int = 3, skus: int = SKUS,
             config: WaveConfig = CONFIG) -> WaveResult:
    world = make_world(n_sources, skus, seed=n_sources, max_qty=max_qty)
    orders = make_orders(n_orders, world, seed=2000 + n_sources)
    snapshot = world.ledger.snapshot(world.skus)
    return allocate_wave(orders, POLICY, world.network, snapshot, NOW, catalog=world.catalog,
                         config=config)


def one_by_one(n_orders: int, n_sources: int, max_qty: int = 3,
               skus: int = SKUS) -> tuple[Decimal, int]:
    """Per-order sourcing of ``run_wave``'s orders done apart from the wave, as a service would:
    ``allocate`` each order in turn on the ledger's stock, then ``reserve_order`` its plan.
    Returns (shipping cost, units left short) — the baseline the wave must never be worse
    than, checked against the wave's own per-order pass."""
    world = make_world(n_sources, skus, seed=n_sources, max_qty=max_qty)
    orders = make_orders(n_orders, world, seed=2000 + n_sources)
    ledger = world.ledger
    cost, short = Decimal(0), 0
    for order in orders:
        result = allocate(order, POLICY, world.network,
                          ledger.snapshot({line.sku for line in order.lines}), NOW,
                          catalog=world.catalog)
        if not ledger.reserve_order(order.id, result.reservations()).ok:
            raise RuntimeError(f"order {order.id}: its plan does not fit the ledger")
        shipped = sum((lq.qty for s in result.shipments for lq in s.lines), Decimal(0))
        cost += result.objective or Decimal(0)
        short += int(sum((line.qty for line in order.lines), Decimal(0)) - shipped)
    return cost, short


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
        "lagrangian_bound": float(r.lagrangian_bound)
        if r.lagrangian_bound is not None else None,
        "bound": float(r.bound), "sum_of_optima": float(r.sum_of_optima),
        "columns": r.columns, "columns_kept": r.columns_kept, "seconds": round(r.seconds, 2),
        "phases": dict(r.phases),
    }


@pytest.mark.parametrize("case", SIZES, ids=lambda c: "x".join(map(str, c)))
def test_bench_wave(benchmark: Any, case: tuple[int, int, int, int],
                    capsys: pytest.CaptureFixture[str]) -> None:
    n_orders, n_sources, max_qty, skus = case
    result = benchmark.pedantic(run_wave, args=(n_orders, n_sources, max_qty, skus), rounds=1,
                                iterations=1)
    info = summary(result) | {"orders": n_orders, "sources": n_sources, "skus": skus,
                              "max_qty": max_qty, "config": repr(CONFIG)}
    benchmark.extra_info.update(info)
    steps = ", ".join(f"{name} {sec:.1f}" for name, sec in result.phases)
    with capsys.disabled():
        print(f"\n[wave] {n_orders} orders x {n_sources} sources, {skus} SKUs, 0-{max_qty} "
              f"units: wave {info['cost']:.2f} vs per-order {info['per_order_cost']:.2f} "
              f"({info['saving_pct']}% less), short {info['short_units']}/"
              f"{info['per_order_short_units']}; gap {info['gap_pct']}% vs per-order "
              f"{info['per_order_gap_pct']}%; bound {info['bound']:.2f} (LP "
              f"{info['lp_bound']}, Lagrangian {info['lagrangian_bound']}, optima "
              f"{info['sum_of_optima']:.2f}); {info['seconds']} s "
              f"({steps})")
    # the baseline, sourced apart from the wave: the wave's per-order pass must be it, and the
    # wave (which keeps its joint plan only when cheaper) never worse
    cost, short = one_by_one(n_orders, n_sources, max_qty, skus)
    assert (result.per_order_cost, result.per_order_short_units) == (cost, short)
    assert result.objective <= result.per_order_objective
