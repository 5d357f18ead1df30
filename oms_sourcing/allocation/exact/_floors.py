"""Per-source lower bounds on the plans a source ships in: which sources the source-set
enumeration and the lattice DP may leave out, and :func:`source_floors` for the wave's pricing."""

from __future__ import annotations

import numpy as np

from oms_sourcing.allocation.exact._matrices import (
    _NO_COVER,
    BoolArray,
    IntArray,
    _Matrices,
    _offered,
)
from oms_sourcing.allocation.exact._subset_dp import _DP_MAX_COMMODITIES, _SubsetDP
from oms_sourcing.allocation.problem import AllocationProblem


def _singles(fixed: IntArray, m: _Matrices) -> IntArray:
    """Per source, the cost of the plan where it alone ships (what it can, the rest short)."""
    take = np.minimum(m.stock, m.demand[:, None])
    single: IntArray = (fixed + (take * m.cost).sum(axis=0)
                        + ((m.demand[:, None] - take) * m.short[:, None]).sum(axis=0))
    return single


def _simple_floors(fixed: IntArray, m: _Matrices, single: IntArray) -> IntArray:
    """Per source ``k``, a lower bound on every plan it ships in, without the subset DP: a plan
    of ``k`` alone costs what it costs (``single``, from :func:`_singles`), and a plan of ``k``
    and others at least ``k``'s fixed cost, the cheapest other offering source's, and every
    commodity's cheapest units (from all sources, the rest short). For non-negative costs."""
    # every commodity's cheapest units: offers by unit cost, stock counted up to the demand
    order = np.argsort(np.where(m.offers, m.cost, np.iinfo(np.int64).max), axis=1,
                       kind="stable")
    stock = np.take_along_axis(m.stock, order, axis=1)
    filled = np.minimum(np.cumsum(stock, axis=1), m.demand[:, None])
    got = np.diff(filled, axis=1, prepend=0)
    variable = int((got * np.take_along_axis(m.cost, order, axis=1)).sum()
                   + ((m.demand - filled[:, -1]) * m.short).sum()) if filled.size else 0
    f = np.where(m.offers.any(axis=0), fixed, np.iinfo(np.int64).max // 4)
    two = np.partition(f, 1)[:2] if len(f) > 1 else np.array([f[0], _NO_COVER])
    other = np.where(f == two[0], two[1], two[0])     # the cheapest fixed cost but k's
    floors: IntArray = np.minimum(single, fixed + other + variable)
    return floors


def _candidates(p: AllocationProblem, m: _Matrices, upper: int,
                least: IntArray | None = None) -> BoolArray:
    """The sources that can ship in a plan costing at most ``upper`` (the value of a known
    plan, or of the best single-source plan if lower): those whose lower bound on the plans
    they ship in is at most that. The bound is ``least`` (:meth:`_SubsetDP.least_with`) if
    given, else :func:`_simple_floors`. With negative costs nothing is ruled out."""
    offering = m.offers.any(axis=0)
    fixed = np.asarray(p.fixed_cost, dtype=np.int64)
    if (fixed < 0).any() or (m.cost < 0).any() or offering.sum() < 2:
        return np.asarray(offering, dtype=np.bool_)
    single = _singles(fixed, m)
    upper = min(upper, int(single[offering].min()))
    # with ``least``, the simple bound rules out almost nothing more (measured: 25.8 -> 25.2
    # sources per priced order of a 500-source wave)
    floors = least if least is not None else _simple_floors(fixed, m, single)
    kept: BoolArray = offering & (floors <= upper)
    return kept


def source_floors(problem: AllocationProblem) -> IntArray | None:
    """Per source, a lower bound on the objective of every plan of ``problem`` that ships from
    it (``2**62`` for a source offering nothing); ``None`` where the fast path does not apply
    or a cost is negative.

    A caller that knows a plan's objective can solve the problem with only the sources whose
    bound does not exceed it (the same optimum), and keep the bounds while costs only rise
    (a wave re-pricing an order's stock)."""
    offered = _offered(problem)
    if offered is None:
        return None
    m, cols = offered
    fixed = np.asarray(problem.fixed_cost[cols], dtype=np.int64)
    if (fixed < 0).any() or (m.cost < 0).any():
        return None
    floors = np.full(problem.n_sources, _NO_COVER, dtype=np.int64)
    if not len(cols):
        return floors
    least = None
    if len(m.groups) <= _DP_MAX_COMMODITIES:
        least = _SubsetDP(m, fixed, problem.max_shipments).least_with()
    floors[cols] = least if least is not None else _simple_floors(fixed, m,
                                                                   _singles(fixed, m))
    return floors
