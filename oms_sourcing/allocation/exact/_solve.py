"""The exact path's driver: the subset DP, then every source set, the units lattice and branch
and bound, the first that answers."""

from __future__ import annotations

import numpy as np

from oms_sourcing.allocation.exact._branch_and_bound import _Search
from oms_sourcing.allocation.exact._lattice import _solve_lattice
from oms_sourcing.allocation.exact._matrices import _Matrices, _offered
from oms_sourcing.allocation.exact._source_sets import _solve_sets
from oms_sourcing.allocation.exact._subset_dp import _DP_MAX_COMMODITIES, _SubsetDP
from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus, make_plan


def _sources(steps: list[tuple[int, int]]) -> list[int]:
    return sorted({k for k, _ in steps})


def solve_exact(problem: AllocationProblem, *, node_limit: int = 20_000,
                upper: int | None = None) -> Plan | None:
    """Prove an optimal plan, or return ``None`` (see module docstring).

    ``upper``, if given, must be the objective of a plan of ``problem`` (a caller that knows
    one, such as a wave re-pricing an order): sources that cannot beat it are left out of the
    lattice DP sooner. The plan returned is the same with or without it.
    """
    p = problem
    offered = _offered(p)
    if offered is None:
        return None
    # solved without the sources that offer nothing, in the others' tie-break order
    m, cols = offered
    q = p if len(cols) == p.n_sources else p.with_sources(cols)
    found = _solve(q, m, node_limit, upper)
    if found is None:
        return None
    chosen, nodes = found
    x, short = m.assign(q, chosen)
    if q is not p:
        full = np.zeros((p.n_lines, p.n_sources), dtype=np.int64)
        full[:, cols] = x
        x = full
    return make_plan(p, x, short, status=SolveStatus.OPTIMAL, solver="exact", nodes=nodes)


def _solve(p: AllocationProblem, m: _Matrices, node_limit: int, upper: int | None
           ) -> tuple[list[int], int] | None:
    """The optimal source set and the search nodes it took, or ``None`` past ``node_limit``."""
    best = int((m.demand * m.short).sum())     # ship nothing
    best_set: list[int] = []
    dp = None
    floor = -1
    if len(m.groups) <= _DP_MAX_COMMODITIES:
        dp = _SubsetDP(m, p.fixed_cost, p.max_shipments)
        upper_dp, steps = dp.solve(whole_only=True)
        plan = _sources(steps)
        value = int(p.fixed_cost[plan].sum()) + m.fill(plan)[0]
        # without partial offers the relaxation is the same programme: its optimum is exact
        floor = upper_dp if dp.all_whole else dp.solve(whole_only=False)[0]
        if value < best:
            best, best_set = value, plan
        if best <= floor:
            return best_set, 0
    known = best if upper is None else min(best, upper)
    chosen = _solve_sets(p, m, known)
    if chosen is None:
        chosen = _solve_lattice(p, m, known, dp)
    if chosen is not None:
        return chosen, 0
    search = _Search(p, m, node_limit, best, best_set, dp, floor)
    search.run()
    if search.exhausted and not search.done:
        return None
    return search.best_set, search.nodes


class ExactSolver:
    """The fast path alone; ``solve`` returns ``None`` where it does not apply."""

    name = "exact"

    def __init__(self, node_limit: int = 20_000) -> None:
        self.node_limit = node_limit

    def solve(self, problem: AllocationProblem) -> Plan | None:
        return solve_exact(problem, node_limit=self.node_limit)
