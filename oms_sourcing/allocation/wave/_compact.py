"""The compact model (one variable per order, line and source): its LP relaxation (a bound, the
first stock prices, reduced-cost fixing) and the whole-wave MIP over it."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from oms_sourcing.allocation.builder import COST_SCALE
from oms_sourcing.allocation.wave._joint import _int_bound, _JointModel


def _build(joint: _JointModel, integer: bool, hints: list[np.ndarray] | None = None) -> tuple[
    Any, dict[tuple[int, int], Any], dict[tuple[int, int, int], Any]
]:
    """The joint model (continuous for the LP relaxation, integer for the MIP); its
    objective is in currency units (solvers handle those better than millionths)."""
    from ortools.linear_solver.python import model_builder as mb

    m = mb.Model()  # type: ignore[no-untyped-call]
    ys: dict[tuple[int, int], Any] = {}
    xs: dict[tuple[int, int, int], Any] = {}
    use: dict[int, list[Any]] = {}
    obj_vars: list[Any] = []
    obj_coef: list[float] = []
    for o, p in enumerate(joint.problems):
        hint = hints[o] if hints is not None else None
        caps = np.where(joint.may[o], np.minimum(joint.stock[joint.cid[o]], p.demand[:, None]),
                        0).tolist()
        cid = joint.cid[o].tolist()
        for k in range(p.n_sources):
            if integer and (o, k) in joint.dropped and (hint is None or not hint[:, k].any()):
                continue
            y = m.new_var(0.0, 1.0, integer, f"y{o}_{k}")
            ys[o, k] = y
            obj_vars.append(y)
            obj_coef.append(float(p.fixed_cost[k]) / COST_SCALE)
            if hint is not None:
                m.add_hint(y, float(hint[:, k].any()))
        for i in range(p.n_lines):
            fill = []
            for k in np.flatnonzero(p.allowed[i]).tolist():
                cap = caps[i][k]
                if (o, k) not in ys or cap <= 0:
                    continue
                x = m.new_var(0.0, float(cap), integer, f"x{o}_{i}_{k}")
                xs[o, i, k] = x
                m.add(x <= cap * ys[o, k])
                fill.append(x)
                obj_vars.append(x)
                obj_coef.append(float(p.unit_cost[i, k]) / COST_SCALE)
                use.setdefault(cid[i][k], []).append(x)
                if hint is not None:
                    m.add_hint(x, float(hint[i, k]))
            short = m.new_var(0.0, float(p.demand[i]), integer, f"s{o}_{i}")
            obj_vars.append(short)
            obj_coef.append(float(joint.penalty) / COST_SCALE)
            if hint is not None:
                m.add_hint(short, float(int(p.demand[i]) - int(hint[i].sum())))
            m.add(mb.LinearExpr.sum([*fill, short]) == float(p.demand[i]))
        if p.max_shipments is not None:
            m.add(mb.LinearExpr.sum([ys[o, k] for k in range(p.n_sources)
                                     if (o, k) in ys]) <= float(p.max_shipments))
    joint.rows = {c: m.add(mb.LinearExpr.sum(vs) <= float(joint.stock[c]))
                 for c, vs in use.items()}
    m.minimize(mb.LinearExpr.weighted_sum(obj_vars, obj_coef))
    return m, ys, xs


def solve_lp(joint: _JointModel, upper: int) -> int | None:
    """The LP relaxation's optimum (a bound) and reduced-cost fixing against ``upper``."""
    from ortools.linear_solver.python import model_builder as mb

    m, ys, _ = _build(joint, integer=False)
    lp = mb.Solver("glop")
    lp.enable_output(False)
    if lp.solve(m) != mb.SolveStatus.OPTIMAL:
        return None
    value = float(lp.objective_value) * COST_SCALE
    bound = _int_bound(value)
    slack = upper - value
    for (o, k), y in ys.items():
        rc = float(lp.reduced_cost(y)) * COST_SCALE
        if lp.value(y) <= 1e-9 and rc > slack + 1e-6 * abs(upper):
            joint.dropped.add((o, k))
    joint.kept = joint.columns - len(joint.dropped)
    for c, row in joint.rows.items():
        joint.prices[c] = max(int(np.floor(-float(lp.dual_value(row)) * COST_SCALE)), 0)
    return max(bound, 0)


def solve_mip(joint: _JointModel, hints: list[np.ndarray], backend: str, nodes: int
              ) -> tuple[list[np.ndarray] | None, int]:
    """The joint MIP within ``nodes`` (and the deadline, if any): quantities per order
    (``None``: no plan found) and the solver's bound."""
    from ortools.linear_solver.python import model_builder as mb

    # OR-Tools 9.15 crashes when HiGHS is given hints (SCIP takes them): the caller's plan
    # stays the fallback either way (a MIP plan is used only when it is better)
    m, _, xs = _build(joint, integer=True, hints=None if backend == "highs" else hints)
    mip = mb.Solver(backend)
    mip.enable_output(False)
    if backend == "highs":
        mip.set_solver_specific_parameters(f"output_flag=false\nmip_max_nodes={nodes}")
    else:
        mip.set_solver_specific_parameters(f"limits/nodes = {nodes}")
    if joint.deadline is not None:
        mip.set_time_limit_in_seconds(max(joint.deadline - time.perf_counter(), 0.01))
    status = mip.solve(m)
    if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        return None, 0
    plans = [np.zeros((p.n_lines, p.n_sources), dtype=np.int64) for p in joint.problems]
    for (o, i, k), var in xs.items():
        plans[o][i, k] = round(mip.value(var))
    bound = _int_bound(float(mip.best_objective_bound) * COST_SCALE)
    return plans, bound
