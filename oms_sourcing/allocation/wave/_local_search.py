"""Step 5, local search: each order in turn re-takes its best plan against what the others
leave; and the price-directed pass it improves."""

from __future__ import annotations

import numpy as np

from oms_sourcing.allocation._parallel import solve_alone
from oms_sourcing.allocation.wave._joint import _JointModel, _objective


def improve(joint: _JointModel, plans: list[np.ndarray], rounds: int, alone: list[int]
            ) -> list[np.ndarray]:
    """Local search: each order in turn gives its stock back and takes the best plan for
    itself against what the others leave, while the wave's objective falls (never rises:
    the order's own plan is always still available). Orders at their optimum alone
    (``alone``) are skipped."""
    plans = [x.copy() for x in plans]
    left = joint.left(plans)
    owners, start = joint.drawers()
    # an order's best reply depends only on the stock left in the cells it may draw on:
    # after its last solve, it is solved again only once one of them changed
    stale = np.ones(len(plans), dtype=np.bool_)
    for _ in range(rounds):
        changed = False
        for o in range(len(joint.problems)):
            if joint.out_of_time():
                return plans
            x = plans[o]
            if not stale[o] or joint.value(o, x) <= alone[o]:
                continue
            stale[o] = False
            cells, units = joint.use(o, x)
            left[cells] += units
            if joint.own_fits(o, left) and joint.value(o, joint.wish[o]) == alone[o]:
                y = joint.wish[o]    # its optimum alone is still in stock: nothing beats it
            else:
                problem = joint.priced(o, left, None)
                value, y = solve_alone(problem)
                if not (value < _objective(problem, x) and _objective(problem, y) == value):
                    y = x
            if y is not x:
                for c in np.union1d(cells, joint.use(o, y)[0]).tolist():
                    stale[owners[start[c]:start[c + 1]]] = True
                stale[o] = False
                x = plans[o] = y.copy()
                changed = True
            cells, units = joint.use(o, x)
            left[cells] -= units
        if not changed:
            break
    return plans


def price_directed(joint: _JointModel) -> list[np.ndarray]:
    """Orders sourced one by one against the stock left, each unit charged its LP price:
    a per-order pass that leaves stock where the LP says it is worth most."""
    stock = joint.stock.copy()
    plans = []
    for o in range(len(joint.problems)):
        if joint.own_fits(o, stock) and not joint.prices[joint.wish_use[o][0]].any():
            # its optimum alone is in stock and unpriced (prices only make others dearer)
            x = joint.wish[o]
        else:
            _, x = solve_alone(joint.priced(o, stock, joint.prices))
        cells, units = joint.use(o, x)
        stock[cells] -= units
        plans.append(x)
    return plans
