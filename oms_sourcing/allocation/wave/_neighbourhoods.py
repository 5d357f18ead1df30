"""Step 5, large-neighbourhood search: a dozen orders competing for the same stock, freed and
re-solved jointly (a small whole-wave MIP)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from oms_sourcing.allocation.problem import AllocationProblem
from oms_sourcing.allocation.wave._compact import solve_mip
from oms_sourcing.allocation.wave._config import WaveConfig
from oms_sourcing.allocation.wave._joint import _JointModel


def _narrowed(joint: _JointModel, o: int, plan: np.ndarray, wish: np.ndarray, stock: np.ndarray,
              width: int) -> AllocationProblem:
    """Order ``o``'s problem for a neighbourhood: each line may use the sources its plan
    and its own optimum use, and the ``width`` cheapest others holding stock (a unit plus
    the shipment); ``width`` 0 keeps every source."""
    p = joint.problems[o]
    if not width or p.n_sources <= width:
        return p
    allowed = (plan > 0) | (wish > 0)
    held = (stock[joint.cid[o]] > 0) & joint.may[o]
    for i in range(p.n_lines):
        ok = np.flatnonzero(p.allowed[i] & held[i])
        price = p.unit_cost[i, ok] + p.fixed_cost[ok]
        allowed[i, ok[np.lexsort((ok, price))][:width]] = True
    return replace(p, allowed=allowed & p.allowed)


def neighbourhood_search(joint: _JointModel, plans: list[np.ndarray], alone: list[int],
                         wish: list[np.ndarray], config: WaveConfig) -> list[np.ndarray]:
    """Large-neighbourhood search: free a few orders that compete for the same stock and
    solve them jointly (a small MIP, warm-started with their plans) against what the others
    leave, keeping the result when it is better.

    Seeds are the orders furthest above their own optimum (``alone``, with plans
    ``wish``); a seed's neighbours are the orders holding the cells its own optimum takes
    (those count most) or that it may draw on. An order is seeded again only after its
    plan changed. The steps and each MIP's nodes are the budget.
    """
    wanted = [set(joint.use(o, x)[0].tolist()) for o, x in enumerate(wish)]
    plans = [x.copy() for x in plans]
    n = len(plans)
    left = joint.left(plans)
    holders: dict[int, set[int]] = {}
    for o, x in enumerate(plans):
        for c in joint.use(o, x)[0].tolist():
            holders.setdefault(c, set()).add(o)
    value = [joint.value(o, x) for o, x in enumerate(plans)]
    tried = [False] * n
    steps = 0
    while steps < config.neighbourhoods and not joint.out_of_time():
        seeds = sorted((o for o in range(n) if not tried[o] and value[o] > alone[o]),
                       key=lambda o: (alone[o] - value[o], o))
        if not seeds:
            break
        for seed in seeds:
            if steps >= config.neighbourhoods or joint.out_of_time():
                break
            if tried[seed]:
                continue
            steps += 1
            tried[seed] = True
            score: dict[int, int] = {}
            for c in joint.keys[seed].tolist():
                weight = 4 if c in wanted[seed] else 1
                for o in holders.get(c, ()):
                    if o != seed:
                        score[o] = score.get(o, 0) + weight
            rivals = sorted(score, key=lambda o: (-score[o], o))
            hood = [seed, *rivals[:config.neighbourhood_orders - 1]]
            if len(hood) < 2:
                continue
            # the stock the others leave to the neighbourhood, on its cells (those it may
            # draw on, and those its plans hold)
            sub_stock = np.zeros_like(left)
            mine = np.unique(np.concatenate([*(joint.keys[o] for o in hood),
                                             *(joint.use(o, plans[o])[0] for o in hood)]))
            sub_stock[mine] = left[mine]
            for o in hood:
                cells, units = joint.use(o, plans[o])
                sub_stock[cells] += units
            problems = [_narrowed(joint, o, plans[o], wish[o], sub_stock,
                                       config.neighbourhood_sources) for o in hood]
            sub = _JointModel(problems, sub_stock, [joint.sku_cid[o] for o in hood],
                              [joint.may_sku[o] for o in hood], joint.penalty)
            found, _ = solve_mip(sub, [plans[o] for o in hood], config.mip_solver,
                                     config.neighbourhood_nodes)
            if found is None:
                continue
            before = sum(value[o] for o in hood)
            after = [sub.value(h, x) for h, x in enumerate(found)]
            new_left = sub.left(found)
            # the MIP's quantities are rounded floats: keep them only if they fit the stock
            # (where the others already hold more than the joint stock, as per-order plans
            # of orders with laxer policies may, the neighbourhood must take nothing)
            if sum(after) >= before or (
                    new_left[mine] < np.minimum(sub_stock[mine], 0)).any():
                continue
            for h, o in enumerate(hood):
                if np.array_equal(found[h], plans[o]):
                    continue
                for c in joint.use(o, plans[o])[0].tolist():
                    holders[c].discard(o)
                plans[o], value[o], tried[o] = found[h], after[h], False
                for c in joint.use(o, plans[o])[0].tolist():
                    holders.setdefault(c, set()).add(o)
            left[mine] = new_left[mine]
    return plans
