"""The exact fast path on orders of many SKUs from few sources (ten items from ten FCs)."""

from __future__ import annotations

from unittest import mock

import numpy as np

from oms_sourcing.allocation.exact import _source_sets, solve_exact
from oms_sourcing.allocation.problem import AllocationProblem


def ten_items(stock: np.ndarray, unit_cost: np.ndarray, fixed: list[int]) -> AllocationProblem:
    skus, sources = stock.shape
    return AllocationProblem(
        order_id="TEN",
        sources=tuple(f"FC{k}" for k in range(sources)),
        lines=tuple(f"L{i}" for i in range(skus)),
        skus=tuple(f"ITEM{u}" for u in range(skus)),
        line_sku=np.arange(skus),
        demand=np.ones(skus, dtype=np.int64),
        stock=stock,
        allowed=np.ones((skus, sources), dtype=bool),
        fixed_cost=np.array(fixed),
        unit_cost=unit_cost,
        short_cost=np.full(skus, 1_000),
    )


def test_among_equal_plans_of_ten_items_the_earlier_source_ships_them() -> None:
    # FC0 and FC1 hold everything at the same cost; FC2 is dearer
    problem = ten_items(np.ones((10, 3), dtype=np.int64), np.full((10, 3), 40), [300, 300, 400])
    plan = solve_exact(problem)
    assert plan is not None
    assert plan.sources_used() == (0,)
    assert plan.objective == 300 + 10 * 40


def test_a_far_source_ships_only_what_saves_more_than_its_shipment_costs() -> None:
    # the near FC0 lacks ITEM9; FC1 has it for 40, which beats leaving it short (1,000)
    stock = np.ones((10, 2), dtype=np.int64)
    stock[9, 0] = 0
    cost = np.column_stack([np.full(10, 40), np.full(10, 90)])
    plan = solve_exact(ten_items(stock, cost, [300, 300]))
    assert plan is not None
    assert plan.sources_used() == (0, 1)
    assert np.asarray(plan.x)[:9, 0].tolist() == [1] * 9 and int(np.asarray(plan.x)[9, 1]) == 1


def test_trying_every_source_set_and_the_lattice_dp_agree_on_the_optimum() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        stock = (rng.random((10, 6)) < 0.5).astype(np.int64)
        problem = ten_items(stock, rng.integers(0, 60, size=(10, 6)),
                            rng.integers(100, 400, size=6).tolist())
        tried = solve_exact(problem)
        with mock.patch.object(_source_sets, "_SETS_MAX_CELLS", 0):
            lattice = solve_exact(problem)
        assert tried is not None and lattice is not None
        assert tried.objective == lattice.objective
