"""Random feasible problems: every solver's plan passes the independent checker, the exact fast
path proves the same optimum as CP-SAT, optimal never costs more than the greedy fill, and the
same problem always gets the same plan."""

from __future__ import annotations

import itertools
import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from oms_sourcing.allocation import _plans as plans_module
from oms_sourcing.allocation._plans import plans_within
from oms_sourcing.allocation.check import check_plan
from oms_sourcing.allocation.cpsat import solve_cpsat
from oms_sourcing.allocation.exact import _lattice, _source_sets, solve_exact, source_floors
from oms_sourcing.allocation.exact._subset_dp import _DP_MAX_COMMODITIES
from oms_sourcing.allocation.problem import AllocationProblem, SolveStatus, make_plan
from oms_sourcing.allocation.ranked import solve_ranked


@st.composite
def problems(draw: st.DrawFn, side_constraints: bool) -> AllocationProblem:
    n_lines = draw(st.integers(1, 4))
    n_sources = draw(st.integers(1, 6))
    n_skus = draw(st.integers(1, n_lines))
    line_sku = np.array([draw(st.integers(0, n_skus - 1)) for _ in range(n_lines)])
    line_sku[: n_skus] = np.arange(min(n_skus, n_lines))
    ints = st.integers
    demand = np.array([draw(ints(1, 5)) for _ in range(n_lines)])
    stock = np.array([[draw(ints(0, 6)) for _ in range(n_sources)] for _ in range(n_skus)])
    sku_allowed = np.array([[draw(st.booleans()) or k == 0 for k in range(n_sources)]
                            for _ in range(n_skus)])
    sku_cost = np.array([[draw(ints(0, 40)) for _ in range(n_sources)] for _ in range(n_skus)])
    fixed = np.array([draw(ints(50, 900)) for _ in range(n_sources)])
    kw: dict[str, object] = {}
    if side_constraints:
        kw["single_source"] = np.array([draw(st.booleans()) for _ in range(n_lines)])
        if n_lines >= 2 and draw(st.booleans()):
            kw["bundles"] = ((0, 1),)
        if draw(st.booleans()):
            kw["min_shipment_value"] = draw(ints(1, 60))
            # free items (price 0) too: a parcel of them is worth 0, below any minimum
            kw["unit_value"] = np.array([draw(st.just(0) | ints(1, 30)) for _ in range(n_lines)])
        if draw(st.booleans()):
            kw["capacity_units"] = np.array([draw(ints(-1, 8)) for _ in range(n_sources)])
        if draw(st.booleans()):
            kw["capacity_lines"] = np.array([draw(ints(-1, 3)) for _ in range(n_sources)])
        kw["all_or_nothing"] = draw(st.booleans())
        if n_lines >= 3 and draw(st.booleans()):
            kw["whole_groups"] = ((n_lines - 2, n_lines - 1),)
        if draw(st.booleans()):
            kw["exempt"] = np.array([k == 0 for k in range(n_sources)])
    return AllocationProblem(
        order_id="P",
        sources=tuple(f"S{k}" for k in range(n_sources)),
        lines=tuple(f"L{i}" for i in range(n_lines)),
        skus=tuple(f"U{u}" for u in range(n_skus)),
        line_sku=line_sku,
        demand=demand,
        stock=stock,
        allowed=sku_allowed[line_sku],
        fixed_cost=fixed,
        unit_cost=sku_cost[line_sku],
        short_cost=np.full(n_lines, draw(ints(100, 2000))),
        max_shipments=draw(st.none() | ints(1, 3)),
        **kw,  # type: ignore[arg-type]
    )


@given(problems(side_constraints=False))
def test_the_fast_path_proves_the_cp_sat_optimum(problem: AllocationProblem) -> None:
    exact = solve_exact(problem)
    reference = solve_cpsat(problem)
    assert reference.status is SolveStatus.OPTIMAL
    assert exact is not None
    assert check_plan(problem, exact) == []
    assert exact.status is SolveStatus.OPTIMAL
    assert exact.objective == reference.objective


@given(problems(side_constraints=True))
def test_every_solver_returns_a_feasible_plan_and_optimal_beats_greedy(
    problem: AllocationProblem,
) -> None:
    greedy = solve_ranked(problem)
    optimal = solve_cpsat(problem)
    fast = solve_exact(problem)
    assert check_plan(problem, greedy) == []
    assert check_plan(problem, optimal) == []
    assert fast is None or check_plan(problem, fast) == []
    assert optimal.status is SolveStatus.OPTIMAL
    assert optimal.objective <= greedy.objective


@given(problems(side_constraints=True))
def test_the_same_problem_always_gets_the_same_plan(problem: AllocationProblem) -> None:
    first, second = solve_cpsat(problem), solve_cpsat(problem)
    assert np.array_equal(first.x, second.x) and np.array_equal(first.short, second.short)
    fast = solve_exact(problem), solve_exact(problem)
    if fast[0] is not None and fast[1] is not None:
        assert np.array_equal(fast[0].x, fast[1].x)
    assert np.array_equal(solve_ranked(problem).x, solve_ranked(problem).x)


@st.composite
def wide_problems(draw: st.DrawFn) -> AllocationProblem:
    """Many sources, scarce stock: partial offers force the fast path past its subset DP into
    the lattice DP or the branch and bound; orders of more SKUs than the subset DP takes (of
    small quantities, so the lattice still fits) reach the lattice without the DP's bounds."""
    ints = st.integers
    n_skus = draw(ints(1, 6) | ints(_DP_MAX_COMMODITIES + 1, 9))
    n_sources = draw(ints(8, 40))
    seed = draw(ints(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    stock = rng.integers(0, 5, size=(n_skus, n_sources)) * (rng.random((n_skus, n_sources)) < 0.4)
    demand = rng.integers(1, 6 if n_skus <= _DP_MAX_COMMODITIES else 3, size=n_skus)
    cost = rng.integers(0, 40, size=(n_skus, n_sources))
    fixed = rng.integers(50, 900, size=n_sources)
    short = int(fixed.sum()) + 40 * int(demand.sum()) + 1 if draw(st.booleans()) else draw(
        ints(100, 2000))
    return one_line_per_sku("W", demand, stock, cost, fixed, short,
                            draw(st.none() | ints(1, 4)))


def one_line_per_sku(order_id: str, demand: np.ndarray, stock: np.ndarray, cost: np.ndarray,
                     fixed: np.ndarray, short: int, max_shipments: int | None
                     ) -> AllocationProblem:
    """An order of one line per SKU, every source allowed for every line."""
    n_skus, n_sources = stock.shape
    return AllocationProblem(
        order_id=order_id,
        sources=tuple(f"S{k}" for k in range(n_sources)),
        lines=tuple(f"L{i}" for i in range(n_skus)),
        skus=tuple(f"U{u}" for u in range(n_skus)),
        line_sku=np.arange(n_skus),
        demand=demand,
        stock=stock,
        allowed=np.ones((n_skus, n_sources), dtype=bool),
        fixed_cost=fixed,
        unit_cost=cost,
        short_cost=np.full(n_skus, short),
        max_shipments=max_shipments,
    )


@pytest.mark.parametrize("lattice", [True, False], ids=["lattice DP", "branch and bound"])
@given(problem=wide_problems())
def test_the_fast_path_proves_the_cp_sat_optimum_on_wide_scarce_problems(
    lattice: bool, problem: AllocationProblem,
) -> None:
    # the lattice DP answers most of these; switched off, the branch and bound must agree too
    states = _lattice._LATTICE_MAX_STATES if lattice else 0
    with mock.patch.object(_lattice, "_LATTICE_MAX_STATES", states):
        exact = solve_exact(problem, node_limit=200_000)
    reference = solve_cpsat(problem)
    assert reference.status is SolveStatus.OPTIMAL
    assert exact is not None
    assert check_plan(problem, exact) == []
    assert exact.objective == reference.objective


@given(problem=wide_problems())
def test_a_known_plan_as_hint_leaves_the_fast_paths_plan_unchanged(
    problem: AllocationProblem,
) -> None:
    plain = solve_exact(problem, node_limit=200_000)
    if plain is None:
        return
    # the tightest true hint (the optimum itself) and a looser one (a greedy fill)
    for hint in (plain.objective, solve_ranked(problem).objective):
        hinted = solve_exact(problem, node_limit=200_000, upper=hint)
        assert hinted is not None
        assert np.array_equal(np.asarray(hinted.x), np.asarray(plain.x))


@given(problem=wide_problems(), data=st.data())
def test_a_sources_floor_bounds_every_plan_it_ships_in_and_narrowing_keeps_the_optimum(
    problem: AllocationProblem, data: st.DataObject,
) -> None:
    floors = source_floors(problem)
    assert floors is not None
    # a plan on a random subset of the sources is a plan of the whole problem
    picked = data.draw(st.lists(st.booleans(), min_size=problem.n_sources,
                                max_size=problem.n_sources))
    some = np.flatnonzero(picked) if any(picked) else np.arange(problem.n_sources)
    plan = solve_exact(problem.with_sources(some), node_limit=200_000)
    best = solve_exact(problem, node_limit=200_000)
    if plan is None or best is None:
        return
    for k in plan.sources_used():
        assert floors[some[k]] <= plan.objective
    # without the sources whose floor is above a known plan's value: the same optimal plan
    keep = np.flatnonzero(floors <= plan.objective)
    narrowed = solve_exact(problem.with_sources(keep), node_limit=200_000, upper=plan.objective)
    assert narrowed is not None
    widened = np.zeros_like(np.asarray(best.x))
    widened[:, keep] = np.asarray(narrowed.x)
    assert np.array_equal(widened, np.asarray(best.x))


@st.composite
def many_sku_problems(draw: st.DrawFn) -> AllocationProblem:
    """Orders of more SKUs than the subset DP takes, from few sources, nearly every offer
    holding its SKU's whole demand (ten items from ten fulfilment centres): the fast path
    tries every set of sources; the odd partial offer sends it to the lattice DP instead."""
    ints = st.integers
    n_skus = draw(ints(_DP_MAX_COMMODITIES + 1, 11))
    n_sources = draw(ints(1, 11))
    rng = np.random.default_rng(draw(ints(0, 2**32 - 1)))
    demand = rng.integers(1, 3, size=n_skus)
    offered = rng.random((n_skus, n_sources)) < draw(st.sampled_from([0.3, 0.6, 0.9]))
    stock = np.where(offered, demand[:, None] + rng.integers(0, 3, size=(n_skus, n_sources)), 0)
    if draw(st.booleans()):     # one partial offer
        stock[rng.integers(n_skus), rng.integers(n_sources)] = 1
    # few distinct costs, so that equal plans are common and the tie-break is exercised
    cost = rng.integers(0, 4, size=(n_skus, n_sources)) * 10
    fixed = rng.integers(1, 4, size=n_sources) * draw(st.sampled_from([0, 50, 300]))
    return one_line_per_sku("M", demand, stock, cost, fixed, draw(ints(35, 400)),
                            draw(st.none() | ints(1, 4)))


@given(problem=many_sku_problems())
def test_trying_every_source_set_proves_the_optimum_the_lattice_dp_finds(
    problem: AllocationProblem,
) -> None:
    exact = solve_exact(problem, node_limit=200_000)
    assert exact is not None
    assert check_plan(problem, exact) == []
    assert exact.objective == solve_cpsat(problem).objective
    with mock.patch.object(_source_sets, "_SETS_MAX_CELLS", 0):
        lattice = solve_exact(problem, node_limit=200_000)
    assert lattice is not None and lattice.objective == exact.objective


def every_plan(problem: AllocationProblem) -> dict[bytes, int] | None:
    """Every feasible plan of a small ``problem`` and its objective, by brute force: each
    line's units over its allowed sources in every way, kept if the SKUs' stock and the
    shipment limit hold (the checker's own rules); ``None`` if there are too many to try."""
    fills = []
    for i in range(problem.n_lines):
        ks = np.flatnonzero(problem.allowed[i])
        rows = []
        for qty in itertools.product(range(int(problem.demand[i]) + 1), repeat=len(ks)):
            if sum(qty) <= problem.demand[i]:
                row = np.zeros(problem.n_sources, dtype=np.int64)
                row[ks] = qty
                rows.append(row)
        fills.append(rows)
    if math.prod(len(rows) for rows in fills) > 3_000:
        return None
    found = {}
    for rows in itertools.product(*fills):
        x = np.array(rows, dtype=np.int64).reshape(problem.n_lines, problem.n_sources)
        plan = make_plan(problem, x, problem.demand - x.sum(axis=1),
                         status=SolveStatus.FEASIBLE, solver="test")
        if check_plan(problem, plan) == []:
            found[x.tobytes()] = plan.objective
    return found


@pytest.mark.parametrize("tables", [True, False], ids=["split-tables", "grown-unit-by-unit"])
@given(problem=problems(side_constraints=False), slack=st.integers(0, 3000))
def test_listing_the_plans_within_a_limit_finds_every_one_brute_force_finds(
    tables: bool, problem: AllocationProblem, slack: int,
) -> None:
    assume(problem.n_lines * problem.n_sources <= 8)
    every = every_plan(problem)
    assume(every is not None)
    assert every is not None
    limit = solve_cpsat(problem).objective + slack
    plans_module._compositions.cache_clear()
    try:
        # without tables, every line's ways to be filled are grown a unit at a time
        with mock.patch.object(plans_module, "_MAX_TABLE",
                               plans_module._MAX_TABLE if tables else 0):
            listed = plans_within(problem, limit, max_plans=10**6)
    finally:
        plans_module._compositions.cache_clear()
    assert listed is not None
    xs, values = listed
    want = {key: value for key, value in every.items() if value <= limit}
    assert {x.tobytes(): int(v) for x, v in zip(xs, values, strict=True)} == want
    assert len(xs) == len(want)     # each plan once


@pytest.mark.parametrize("solver", [solve_ranked, solve_cpsat], ids=["ranked", "cp-sat"])
def test_a_parcel_of_free_items_waits_like_any_parcel_below_the_minimum_value(
    solver: object,
) -> None:
    # S0 holds only the free tote bag (price 0), S1 the EUR 4 scarf; a parcel must be worth 5.
    problem = AllocationProblem(
        order_id="FREEBIE",
        sources=("S0", "S1"),
        lines=("TOTE-FREE", "SCARF-4"),
        skus=("TOTE-FREE", "SCARF-4"),
        line_sku=np.array([0, 1]),
        demand=np.array([1, 1]),
        stock=np.array([[1, 0], [0, 1]]),
        allowed=np.ones((2, 2), dtype=bool),
        fixed_cost=np.array([100, 100]),
        unit_cost=np.zeros((2, 2), dtype=np.int64),
        short_cost=np.array([1000, 1000]),
        unit_value=np.array([0, 4]),
        min_shipment_value=5,
    )
    plan = solver(problem)  # type: ignore[operator]
    assert check_plan(problem, plan) == []
    assert list(plan.short) == [1, 1]
