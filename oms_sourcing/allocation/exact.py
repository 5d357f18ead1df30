"""The exact fast path: branch and bound over the set of shipping sources.

For a *fixed* set of sources the best plan is easy: each SKU's demand fills from the set's
cheapest units first (a single-commodity transportation problem with linear costs, which greedy
solves exactly), and whatever costs more than leaving it short stays short. So the search is
over sets of sources only:

* the relaxation "every source ships for free" gives a lower bound, and the set it actually uses
  gives the first upper bound;
* a source whose shipment cost alone, added to that lower bound, reaches the upper bound can never
  be part of a better plan, and is dropped;
* a source dominated by another that is no dearer in every respect and holds the whole demand on
  its own is dropped;
* depth-first search over the remaining sources (cheapest shipment first), pruning every branch
  whose relaxation cannot beat the best plan found.

It answers problems without side constraints (see ``AllocationProblem.has_side_constraints``)
and whose lines of the same SKU share costs; it returns ``None`` for anything else, and for
searches that exceed ``node_limit`` (a deterministic work budget), so the caller can fall back to
CP-SAT. When it returns a plan, that plan is proven optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus, make_plan

__all__ = ["ExactSolver", "solve_exact"]

_INF = float("inf")


@dataclass(frozen=True, slots=True)
class _Commodity:
    lines: tuple[int, ...]
    demand: int
    short_cost: int
    # (unit cost, source, stock), cheapest first; only sources cheaper than leaving units short
    offers: tuple[tuple[int, int, int], ...]


def _commodities(p: AllocationProblem) -> list[_Commodity] | None:
    by_sku: dict[int, list[int]] = {}
    for i in range(p.n_lines):
        by_sku.setdefault(int(p.line_sku[i]), []).append(i)
    out: list[_Commodity] = []
    for u, lines in by_sku.items():
        first = lines[0]
        for i in lines[1:]:
            same = (
                p.short_cost[i] == p.short_cost[first]
                and np.array_equal(p.allowed[i], p.allowed[first])
                and np.array_equal(p.unit_cost[i], p.unit_cost[first])
            )
            if not same:
                return None
        sc = int(p.short_cost[first])
        offers = sorted(
            (int(p.unit_cost[first, k]), k, int(p.stock[u, k]))
            for k in range(p.n_sources)
            if p.allowed[first, k] and p.stock[u, k] > 0 and p.unit_cost[first, k] < sc
        )
        demand = int(sum(int(p.demand[i]) for i in lines))
        out.append(_Commodity(tuple(lines), demand, sc, tuple(offers)))
    return out


def _fill(comms: list[_Commodity], allowed: set[int] | None) -> tuple[int, set[int]]:
    """Cheapest fill of every commodity from ``allowed`` sources (None: all); cost and users."""
    cost = 0
    used: set[int] = set()
    for c in comms:
        left = c.demand
        for uc, k, st in c.offers:
            if left == 0:
                break
            if allowed is not None and k not in allowed:
                continue
            take = st if st < left else left
            cost += take * uc
            left -= take
            used.add(k)
        cost += left * c.short_cost
    return cost, used


def _assign(p: AllocationProblem, comms: list[_Commodity], chosen: set[int]) -> tuple[
    np.ndarray, np.ndarray
]:
    x = np.zeros((p.n_lines, p.n_sources), dtype=np.int64)
    short = np.zeros(p.n_lines, dtype=np.int64)
    for c in comms:
        supply = [(k, st) for _, k, st in c.offers if k in chosen]
        pos = 0
        for i in c.lines:
            need = int(p.demand[i])
            while need and pos < len(supply):
                k, st = supply[pos]
                take = min(st, need)
                x[i, k] += take
                need -= take
                st -= take
                supply[pos] = (k, st)
                if st == 0:
                    pos += 1
            short[i] = need
    return x, short


def _dominated(p: AllocationProblem, comms: list[_Commodity], cand: list[int]) -> set[int]:
    """Sources another candidate can fully replace at no extra cost.

    ``j`` dominates ``k`` when its shipment costs no more, it offers every SKU ``k`` offers at
    no higher unit cost, and it holds each such SKU's whole demand: then any plan using ``k`` can
    move ``k``'s units to ``j`` without costing more or adding a shipment. Between two equal
    sources the later in tie-break order is the one dropped.
    """
    offer = {(ci, k): (uc, st) for ci, c in enumerate(comms) for uc, k, st in c.offers}
    mine = {k: [(ci, uc) for (ci, kk), (uc, _) in offer.items() if kk == k] for k in cand}
    out: set[int] = set()
    for k in cand:
        for j in cand:
            if j == k or j in out or p.fixed_cost[j] > p.fixed_cost[k]:
                continue
            covers = True
            equal = p.fixed_cost[j] == p.fixed_cost[k]
            for ci, uc in mine[k]:
                theirs = offer.get((ci, j))
                if theirs is None or theirs[0] > uc or theirs[1] < comms[ci].demand:
                    covers = False
                    break
                equal = equal and theirs[0] == uc
            if covers and (not equal or j < k):
                out.add(k)
                break
    return out


def solve_exact(problem: AllocationProblem, *, node_limit: int = 20_000) -> Plan | None:
    """Prove an optimal plan by branch and bound, or return ``None`` (see module docstring)."""
    p = problem
    if p.has_side_constraints:
        return None
    comms = _commodities(p)
    if comms is None:
        return None
    fixed = [int(v) for v in p.fixed_cost]
    limit = p.max_shipments if p.max_shipments is not None else p.n_sources

    relax_var, relax_used = _fill(comms, None)
    best_cost: float = _INF
    best_set: set[int] = set()
    if len(relax_used) <= limit:
        best_cost = relax_var + sum(fixed[k] for k in relax_used)
        best_set = set(relax_used)
    nothing = _fill(comms, set())[0]  # ship nothing: every unit short
    if nothing < best_cost:
        best_cost, best_set = nothing, set()

    offered = sorted({k for c in comms for _, k, _ in c.offers})
    cand = [k for k in offered if fixed[k] + relax_var < best_cost]
    dominated = _dominated(p, comms, cand)
    cand = sorted((k for k in cand if k not in dominated), key=lambda k: (fixed[k], k))

    nodes = 0
    exhausted = False

    def visit(j: int, chosen: list[int], fixed_sum: int) -> None:
        nonlocal best_cost, best_set, nodes, exhausted
        nodes += 1
        if nodes > node_limit:
            exhausted = True
            return
        here, used = _fill(comms, set(chosen))
        value = here + sum(fixed[k] for k in used)
        if value < best_cost:
            best_cost, best_set = value, set(used)
        if len(chosen) >= limit or j >= len(cand):
            return
        bound = fixed_sum + _fill(comms, set(chosen) | set(cand[j:]))[0]
        if bound >= best_cost:
            return
        for jj in range(j, len(cand)):
            k = cand[jj]
            if fixed_sum + fixed[k] + relax_var >= best_cost:
                continue
            chosen.append(k)
            visit(jj + 1, chosen, fixed_sum + fixed[k])
            chosen.pop()
            if exhausted:
                return

    visit(0, [], 0)
    if exhausted:
        return None
    x, short = _assign(p, comms, best_set)
    return make_plan(p, x, short, status=SolveStatus.OPTIMAL, solver="exact", nodes=nodes)


class ExactSolver:
    """The fast path alone; ``solve`` returns ``None`` where it does not apply."""

    name = "exact"

    def __init__(self, node_limit: int = 20_000) -> None:
        self.node_limit = node_limit

    def solve(self, problem: AllocationProblem) -> Plan | None:
        return solve_exact(problem, node_limit=self.node_limit)
