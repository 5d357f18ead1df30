"""Step 4, the master MIP: one of the generated plans per order, within the stock (CP-SAT);
and the CP-SAT choice model the proof step shares."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from oms_sourcing.allocation.wave._joint import _JointModel


def master_mip(joint: _JointModel, hint: list[np.ndarray], effort: float
               ) -> list[np.ndarray] | None:
    """The best choice of one plan per order among those :func:`column_generation`
    generated, within the stock: CP-SAT (one worker, so deterministic) for at most
    ``effort`` deterministic seconds, warm-started with ``hint`` (whose plans must be among
    them); ``None`` if it found nothing. Orders with one plan are fixed to it."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    left = joint.stock.copy()
    terms: dict[int, list[tuple[Any, int]]] = {}
    objective = []
    chosen: list[list[tuple[Any, np.ndarray]] | np.ndarray] = []
    for o, cols in enumerate(joint.generated):
        if len(cols) == 1:
            x = next(iter(cols.values()))
            cells, units = joint.use(o, x)
            left[cells] -= units
            chosen.append(x)
            continue
        picks = []
        # each order picks exactly one plan: its cheapest costs nothing extra (smaller
        # coefficients make CP-SAT's relaxation cheaper; the optimum is the same)
        floor = min(joint.value(o, x) for x in cols.values())
        for key, x in cols.items():
            z = model.new_bool_var("")
            picks.append((z, x))
            objective.append((z, joint.value(o, x) - floor))
            cells, units = joint.use(o, x)
            for c, q in zip(cells.tolist(), units.tolist(), strict=True):
                terms.setdefault(c, []).append((z, q))
            model.add_hint(z, key == hint[o].tobytes())
        model.add_exactly_one(z for z, _ in picks)
        chosen.append(picks)
    solver, status, _ = _solve_choice(joint, model, terms, left, objective, effort)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return [pick if isinstance(pick, np.ndarray)
            else next(x for z, x in pick if solver.boolean_value(z)) for pick in chosen]


def _solve_choice(joint: _JointModel, model: Any, terms: dict[int, list[tuple[Any, int]]],
                  left: np.ndarray, objective: list[tuple[Any, int]], effort: float
                  ) -> tuple[Any, Any, int]:
    """Finish and solve a CP-SAT model in which each order picks one plan: a stock row for
    each cell its plans could overdraw (``terms``: the plans' booleans and units per cell;
    ``left``: the stock), and the objective (booleans and costs, divided by their common
    divisor). One worker (deterministic), at most ``effort`` deterministic seconds and the
    deadline. Returns the solver, its status and that divisor."""
    from ortools.sat.python import cp_model

    for c, zs in terms.items():
        if sum(q for _, q in zs) > left[c]:
            model.add(cp_model.LinearExpr.weighted_sum([z for z, _ in zs],
                                                       [q for _, q in zs]) <= int(left[c]))
    unit = math.gcd(*(v for _, v in objective)) or 1
    model.minimize(cp_model.LinearExpr.weighted_sum([z for z, _ in objective],
                                                    [v // unit for _, v in objective]))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = effort
    if joint.deadline is not None:
        solver.parameters.max_time_in_seconds = max(joint.deadline - time.perf_counter(), 0.01)
    return solver, solver.solve(model), unit
