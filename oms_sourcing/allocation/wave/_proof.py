"""Step 6, the proof: every plan within reach of the Lagrangian bound listed, and the wave
solved exactly over those (CP-SAT)."""

from __future__ import annotations

from typing import Any

import numpy as np

from oms_sourcing.allocation._plans import listable, plans_within
from oms_sourcing.allocation.wave._joint import _JointModel
from oms_sourcing.allocation.wave._master_mip import _solve_choice


def prove(joint: _JointModel, hint: list[np.ndarray], target: int, max_plans: int, effort: float
          ) -> tuple[list[np.ndarray] | None, int]:
    """Solve the wave exactly over every plan within reach of the bound: the plan found
    (``None``: none found, or the step could not run) and a proven lower bound of the
    wave's objective (0 where nothing was proven).

    At column generation's best prices ``λ`` every wave plan costs at least
    ``L + Σ_o (c_o − v_o)``, ``L`` being its Lagrangian bound, ``c_o`` order ``o``'s plan
    at those prices and ``v_o ≤`` its priced optimum. So a plan below ``L + δ`` gives each
    order a plan within ``δ`` of ``v_o`` — few, and :func:`plans_within` lists them all —
    and the wave's best plan among those (CP-SAT, one worker, at most ``effort``
    deterministic seconds, warm-started with ``hint`` where its plans are among them)
    is the wave's optimum if CP-SAT proves it the best of them and it costs less than
    ``L + δ``; in any case the least of CP-SAT's bound and ``L + δ`` is proven. ``δ`` is
    what lifts the bound to ``target``, halved while the orders have more than
    ``max_plans`` such plans together (at most three times).

    Before the MIP, a cell that the orders' plans could not overdraw even if each took the
    most any of its plans takes is left out, and an order keeps, among plans that take the
    same units of the other cells, only its cheapest (the first, on ties).
    """
    from ortools.sat.python import cp_model

    if joint.lagrange is None or not all(listable(p) for p in joint.problems):
        return None, 0
    lam, value = joint.lagrange
    lagrangian = sum(value) - int((lam * joint.stock).sum())
    delta = target - lagrangian
    if delta <= 0:
        return None, 0
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None
    for _ in range(4):
        found = _plans_within(joint, lam, value, delta, max_plans)
        if found is not None or joint.out_of_time():
            break
        delta //= 2
    if found is None:
        return None, 0
    if any(not len(vals) for _, _, vals, _ in found):
        # some order has no plan within δ of its priced optimum: every wave plan costs
        # more than L + δ
        return None, lagrangian + delta
    left = joint.stock.copy()
    alive = [np.arange(len(vals)) for _, _, vals, _ in found]
    fixed = np.zeros(len(found), dtype=np.bool_)
    while True:
        most = np.zeros(len(left), dtype=np.int64)
        for o, (cells, use, _, _) in enumerate(found):
            if not fixed[o]:
                most[cells] += use[alive[o]].max(axis=0)
        binding = most > left
        changed = False
        for o, (cells, use, vals, _) in enumerate(found):
            if fixed[o]:
                continue
            at = alive[o]
            keys = np.ascontiguousarray(use[at][:, binding[cells]])
            # per distinct use of the binding cells, the cheapest plan (the first on ties)
            cheapest: dict[bytes, int] = {}
            for n in np.lexsort((at, vals[at])).tolist():
                cheapest.setdefault(keys[n].tobytes(), n)
            keep = np.sort(at[np.fromiter(cheapest.values(), dtype=np.int64)])
            if len(keep) < len(at):
                alive[o], changed = keep, True
            if len(keep) == 1:
                fixed[o], changed = True, True
                left[cells] -= use[keep[0]]
        if not changed:
            break
    if (left < 0).any():
        # orders left with one plan each overdraw a cell: no choice of the plans listed
        # fits the stock, so every wave plan costs more than L + δ
        return None, lagrangian + delta
    model = cp_model.CpModel()
    terms: dict[int, list[tuple[Any, int]]] = {}
    objective: list[tuple[Any, int]] = []
    base = 0
    choice: list[list[tuple[Any, int]]] = []
    for o, (cells, use, vals, xs) in enumerate(found):
        at = alive[o]
        floor = int(vals[at].min())
        base += floor
        if fixed[o]:
            choice.append([])
            continue
        want = hint[o].tobytes()
        picks = []
        hot = np.flatnonzero(binding[cells])
        for n in at.tolist():
            z = model.new_bool_var("")
            picks.append((z, n))
            if vals[n] > floor:
                objective.append((z, int(vals[n]) - floor))
            for h in hot.tolist():
                if use[n, h]:
                    terms.setdefault(int(cells[h]), []).append((z, int(use[n, h])))
            model.add_hint(z, xs[n].tobytes() == want)
        model.add_exactly_one(z for z, _ in picks)
        choice.append(picks)
    solver, status, unit = _solve_choice(joint, model, terms, left, objective, effort)
    if status == cp_model.INFEASIBLE:
        # no choice of those plans fits the stock: every wave plan costs more than L + δ
        return None, lagrangian + delta
    if status != cp_model.OPTIMAL and status != cp_model.FEASIBLE:
        # nothing found within the effort; CP-SAT's bound holds all the same
        return None, min(base + int(solver.best_objective_bound) * unit,
                         lagrangian + delta)
    bound = min(base + int(solver.best_objective_bound) * unit, lagrangian + delta)
    plans = []
    for o, (_, _, _, xs) in enumerate(found):
        n = alive[o][0] if fixed[o] else next(n for z, n in choice[o]
                                              if solver.boolean_value(z))
        plans.append(xs[n])
    return plans, bound


def _plans_within(joint: _JointModel, lam: np.ndarray, value: list[int], delta: int, max_plans: int
                  ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None:
    """Per order, every plan whose objective at prices ``lam`` is within ``delta`` of
    ``value``: the cells the order may use, each plan's units of them, its objective
    (unpriced, with the common short penalty) and its quantities; ``None`` if more than
    ``max_plans`` in all."""
    out = []
    total = 0
    for o, p in enumerate(joint.problems):
        got = plans_within(joint.priced(o, joint.stock, lam), value[o] + delta,
                           max_plans - total)
        if got is None:
            return None
        xs, priced = got
        total += len(xs)
        if total > max_plans or joint.out_of_time():
            return None
        cid = joint.cid[o]
        cells, at = np.unique(cid, return_inverse=True)
        flat = xs.reshape(len(xs), p.n_lines * p.n_sources)
        use = np.zeros((len(xs), len(cells)), dtype=np.int64)
        np.add.at(use.T, at.reshape(-1), flat.T)
        out.append((cells, use, priced - use @ lam[cells], xs))
    return out
