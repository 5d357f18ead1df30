"""The CP-SAT model of an :class:`AllocationProblem` (the only module that imports OR-Tools).

Used for orders with side constraints the exact fast path does not cover (bundles, one source
per line, minimum shipment value, capacities, hold-until-complete) and as the cross-check of the
fast path in the tests. One worker and a fixed seed make every solve reproducible; the budget is
deterministic time (a work measure), not wall time, so results do not depend on machine load.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus, make_plan

__all__ = ["CpSatConfig", "CpSatSolver", "solve_cpsat"]


@dataclass(frozen=True, slots=True)
class CpSatConfig:
    """Budget and reproducibility settings of a CP-SAT solve."""

    max_deterministic_time: float = 5.0
    random_seed: int = 7
    relative_gap: float = 0.0


def solve_cpsat(problem: AllocationProblem, config: CpSatConfig = CpSatConfig()) -> Plan:
    """Solve ``problem`` with CP-SAT; never returns ``None`` (leaving every unit short is always
    feasible unless ``all_or_nothing`` forbids partial plans, and then "all short" still is)."""
    p = problem
    n_l, n_k = p.n_lines, p.n_sources
    m = cp_model.CpModel()

    # x[i][k]: units of line i shipped from source k (only where allowed).
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    # z[i][k]: line i ships some units from source k.
    z: dict[tuple[int, int], cp_model.IntVar] = {}
    for i in range(n_l):
        d = int(p.demand[i])
        u = int(p.line_sku[i])
        for k in range(n_k):
            cap = min(d, int(p.stock[u, k]))
            if p.allowed[i, k] and cap > 0:
                x[i, k] = m.new_int_var(0, cap, f"x_{i}_{k}")
                z[i, k] = m.new_bool_var(f"z_{i}_{k}")
                m.add(x[i, k] <= cap * z[i, k])
                m.add(x[i, k] >= 1).only_enforce_if(z[i, k])
    # short[i]: units of line i not allocated.
    short = [m.new_int_var(0, int(p.demand[i]), f"short_{i}") for i in range(n_l)]
    # y[k]: source k ships (pays its shipment cost).
    y = [m.new_bool_var(f"y_{k}") for k in range(n_k)]

    for i in range(n_l):
        m.add(sum(x[i, k] for k in range(n_k) if (i, k) in x) + short[i] == int(p.demand[i]))
        for k in range(n_k):
            if (i, k) in z:
                m.add_implication(z[i, k], y[k])
        if p.single_source[i]:
            m.add_at_most_one(z[i, k] for k in range(n_k) if (i, k) in z)
    for k in range(n_k):
        users = [z[i, k] for i in range(n_l) if (i, k) in z]
        if users:
            m.add_bool_or(users).only_enforce_if(y[k])  # no empty shipment is paid for
        else:
            m.add(y[k] == 0)
    for u in range(len(p.skus)):
        for k in range(n_k):
            terms = [x[i, k] for i in range(n_l) if int(p.line_sku[i]) == u and (i, k) in x]
            if len(terms) > 1:
                m.add(sum(terms) <= int(p.stock[u, k]))
    if p.max_shipments is not None:
        m.add(sum(y[k] for k in range(n_k) if not p.exempt[k]) <= p.max_shipments)
    for k in range(n_k):
        cap_u, cap_l = int(p.capacity_units[k]), int(p.capacity_lines[k])
        if cap_u >= 0:
            m.add(sum(x[i, k] for i in range(n_l) if (i, k) in x) <= cap_u)
        if cap_l >= 0:
            m.add(sum(z[i, k] for i in range(n_l) if (i, k) in z) <= cap_l)
        if p.min_shipment_value > 0:
            value = sum(int(p.unit_value[i]) * x[i, k] for i in range(n_l) if (i, k) in x)
            m.add(value >= p.min_shipment_value * y[k])
    for group in p.bundles:
        # one origin for the whole bundle: b[k] = the bundle ships from k
        b = [m.new_bool_var(f"bundle_{group[0]}_{k}") for k in range(n_k)]
        m.add_at_most_one(b)
        for i in group:
            for k in range(n_k):
                if (i, k) in z:
                    m.add_implication(z[i, k], b[k])
        # whole or waiting: every line of the bundle short, or none of them
        waits = m.new_bool_var(f"bundle_waits_{group[0]}")
        for i in group:
            m.add(short[i] == int(p.demand[i])).only_enforce_if(waits)
            m.add(short[i] == 0).only_enforce_if(~waits)
    for g, group in enumerate(p.whole_groups):
        waits = m.new_bool_var(f"whole_waits_{g}")
        for i in group:
            m.add(short[i] == int(p.demand[i])).only_enforce_if(waits)
            m.add(short[i] == 0).only_enforce_if(~waits)
    if p.all_or_nothing:
        waits = m.new_bool_var("order_waits")
        for i in range(n_l):
            m.add(short[i] == int(p.demand[i])).only_enforce_if(waits)
            m.add(short[i] == 0).only_enforce_if(~waits)

    m.minimize(
        sum(int(p.fixed_cost[k]) * y[k] for k in range(n_k))
        + sum(int(p.unit_cost[i, k]) * var for (i, k), var in x.items())
        + sum(int(p.short_cost[i]) * short[i] for i in range(n_l))
    )

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = config.random_seed
    solver.parameters.max_deterministic_time = config.max_deterministic_time
    solver.parameters.relative_gap_limit = config.relative_gap
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Cannot happen for a well-formed problem (all short is feasible); fall back to it so the
        # caller still gets a valid plan, and say so.
        zeros = np.zeros((n_l, n_k), dtype=np.int64)
        return make_plan(p, zeros, p.demand.copy(), status=SolveStatus.INFEASIBLE,
                         solver="cp-sat", bound=0)
    xs = np.zeros((n_l, n_k), dtype=np.int64)
    for (i, k), var in x.items():
        xs[i, k] = solver.value(var)
    ss = np.array([solver.value(s) for s in short], dtype=np.int64)
    optimal = status == cp_model.OPTIMAL
    return make_plan(
        p, xs, ss,
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        solver="cp-sat",
        bound=None if optimal else int(np.floor(solver.best_objective_bound)),
        nodes=int(solver.num_branches),
    )


class CpSatSolver:
    """CP-SAT for every problem."""

    name = "cp-sat"

    def __init__(self, config: CpSatConfig = CpSatConfig()) -> None:
        self.config = config

    def solve(self, problem: AllocationProblem) -> Plan:
        return solve_cpsat(problem, self.config)
