"""The ranked greedy fill: Magento MSI's source-selection algorithms, and our baseline.

Sources are visited in a fixed rank (priority order for MSI's default algorithm, great-circle
distance for its distance algorithm; the problem builder computes the rank); each source gives
each line ``min(available, remaining)``. Unlike MSI, lines of the same SKU draw on one shared
stock figure (MSI overwrites the quantity per SKU, so two lines of one SKU could both be promised
the same units). The fill ignores shipment costs: it is what most OMSes do, and what the optimal
solver is measured against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus, make_plan

__all__ = ["RankedFill", "solve_ranked"]


def solve_ranked(problem: AllocationProblem, rank: Sequence[int] | None = None) -> Plan:
    """Fill every line from sources in ``rank`` order (default: the problem's source order).

    Bundles and single-source lines take the first source in rank order that can ship all of
    them; ``max_shipments`` stops opening new sources once reached; capacities are respected.
    Whatever cannot be filled is short. The plan is feasible but not optimal in general, so its
    status is ``FEASIBLE`` with a bound of 0.
    """
    p = problem
    order = list(range(p.n_sources)) if rank is None else [int(k) for k in rank]
    stock = p.stock.astype(np.int64).copy()
    cap_units = p.capacity_units.astype(np.int64).copy()
    cap_lines = p.capacity_lines.astype(np.int64).copy()
    x = np.zeros((p.n_lines, p.n_sources), dtype=np.int64)
    used: list[int] = []

    def may_open(k: int) -> bool:
        if k in used or p.max_shipments is None or p.exempt[k]:
            return True
        return sum(1 for j in used if not p.exempt[j]) < p.max_shipments

    def room(i: int, k: int) -> int:
        if not p.allowed[i, k] or not may_open(k):
            return 0
        have = int(stock[int(p.line_sku[i]), k])
        if cap_units[k] >= 0:
            have = min(have, int(cap_units[k]))
        if cap_lines[k] == 0 and x[i, k] == 0:
            return 0
        return max(have, 0)

    def take(i: int, k: int, qty: int) -> None:
        if qty <= 0:
            return
        if x[i, k] == 0 and cap_lines[k] > 0:
            cap_lines[k] -= 1
        x[i, k] += qty
        stock[int(p.line_sku[i]), k] -= qty
        if cap_units[k] >= 0:
            cap_units[k] -= qty
        if k not in used:
            used.append(k)

    in_bundle = {i for group in p.bundles for i in group}
    for group in p.bundles:
        for k in order:
            if all(room(i, k) >= int(p.demand[i]) for i in group) and _fits_together(
                p, group, k, stock, cap_units, cap_lines
            ):
                for i in group:
                    take(i, k, int(p.demand[i]))
                break
    for i in range(p.n_lines):
        if i in in_bundle:
            continue
        need = int(p.demand[i])
        if p.single_source[i]:
            for k in order:
                if room(i, k) >= need:
                    take(i, k, need)
                    break
            continue
        for k in order:
            if need == 0:
                break
            got = min(room(i, k), need)
            take(i, k, got)
            need -= got
    # Undo what may not ship: a whole group with a short line waits entirely, and a shipment
    # worth less than the minimum is not sent. Each can cause the other, so repeat until stable.
    changed = True
    while changed:
        changed = False
        short = p.demand - x.sum(axis=1)
        for group in (*p.bundles, *p.whole_groups):
            if any(short[i] for i in group) and x[list(group), :].any():
                x[list(group), :] = 0
                changed = True
        if p.min_shipment_value > 0:
            for k in range(p.n_sources):
                # a parcel of free items (value 0) is below the minimum too; only a source
                # that ships nothing is exempt
                if x[:, k].any() and int((p.unit_value * x[:, k]).sum()) < p.min_shipment_value:
                    x[:, k] = 0  # a bundle shipped whole from k waits whole
                    changed = True
    short = p.demand - x.sum(axis=1)
    if p.all_or_nothing and short.any():
        x[:] = 0
        short = p.demand.copy()
    return make_plan(p, x, short, status=SolveStatus.FEASIBLE, solver="ranked", bound=0)


def _fits_together(
    p: AllocationProblem,
    group: tuple[int, ...],
    k: int,
    stock: np.ndarray,
    cap_units: np.ndarray,
    cap_lines: np.ndarray,
) -> bool:
    """Whether source ``k`` holds the whole bundle at once: stock per SKU and capacity."""
    need: dict[int, int] = {}
    for i in group:
        need[int(p.line_sku[i])] = need.get(int(p.line_sku[i]), 0) + int(p.demand[i])
    units = sum(int(p.demand[i]) for i in group)
    return (
        all(int(stock[u, k]) >= q for u, q in need.items())
        and (cap_units[k] < 0 or units <= cap_units[k])
        and (cap_lines[k] < 0 or len(group) <= cap_lines[k])
    )


class RankedFill:
    """The greedy fill as a solver; ``rank`` overrides the problem's source order."""

    name = "ranked"

    def __init__(self, rank: Sequence[int] | None = None) -> None:
        self.rank = rank

    def solve(self, problem: AllocationProblem) -> Plan:
        return solve_ranked(problem, self.rank)
