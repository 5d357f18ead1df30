"""Step 4 of the exact path: depth-first branch and bound over source sets, for what the DPs
leave (see the package docstring)."""

from __future__ import annotations

import math

import numpy as np

from oms_sourcing.allocation.exact._matrices import (
    _NO_COVER,
    FloatArray,
    _below,
    _fill_from,
    _Matrices,
)
from oms_sourcing.allocation.exact._subset_dp import _SubsetDP
from oms_sourcing.allocation.problem import AllocationProblem


class _Search:
    """Depth-first branch and bound; see the module docstring."""

    def __init__(self, p: AllocationProblem, m: _Matrices, node_limit: int, best: int,
                 best_set: list[int], dp: _SubsetDP | None = None, floor: int = -1) -> None:
        self.p = p
        self.m = m
        n = p.n_sources
        self.limit = p.max_shipments if p.max_shipments is not None else n
        self.node_limit = node_limit
        self.nodes = 0
        self.exhausted = False   # stop searching: out of budget, or ``done``
        self.done = False        # stopped because the best plan meets ``floor``
        self.chosen_flag = [False] * n
        self.ruled_out = [False] * n
        self.admit_all = [True] * n     # chosen or open: not ruled out
        self.best = best
        self.best_set = best_set
        self.chosen: list[int] = []
        self.fixed_sum = 0
        self.fixed = p.fixed_cost.tolist()
        self.offers_np, self.stock_np, self.cost_np = m.offers, m.stock, m.cost
        self.fixed_np = np.asarray(p.fixed_cost, dtype=np.float64)
        self.floor = floor  # a proven lower bound: the search stops once it finds a plan at it
        self.dp = dp        # node bounds by subset DP, for few commodities
        self.closed_np = np.zeros(n, dtype=np.bool_)    # chosen or ruled out
        self._generic = False
        if dp is None:
            self._prepare_generic()

    def _prepare_generic(self) -> None:
        """What the generic branching needs (offer lists in cost order, a greedy first plan);
        the DP-bounded search needs none of it unless it falls back."""
        if self._generic:
            return
        self._generic = True
        self.comms = comms = self.m.commodities()
        # per commodity, its offering sources by (fixed cost, unit cost, index)
        self.by_fixed: list[list[int]] = [
            [k for _, _, k in sorted((self.fixed[k], uc, k) for uc, k, _ in c.offers)]
            for c in comms
        ]
        offered = sorted({k for c in comms for _, k, _ in c.offers})
        self.offered = sorted(offered, key=lambda k: (self.fixed[k], k))
        if self.dp is None:
            self._greedy()

    def _value(self, chosen: list[int]) -> int:
        return int(self.p.fixed_cost[chosen].sum()) + self.m.fill(chosen)[0]

    def _greedy(self) -> None:
        """A first plan, to prune with from the start: the best single source, and a greedy
        cover (cheapest cost per unit filled) with redundant sources dropped afterwards."""
        comms = self.comms
        demand = np.array([c.demand for c in comms], dtype=np.int64)
        short = np.array([c.short_cost for c in comms], dtype=np.int64)
        take = np.minimum(self.stock_np, demand[:, None])
        single = (np.asarray(self.p.fixed_cost) + (take * self.cost_np).sum(axis=0)
                  + ((demand[:, None] - take) * short[:, None]).sum(axis=0))
        if single.size:
            k = int(np.argmin(single))
            if int(single[k]) < self.best and self.offers_np[:, k].any():
                self.best, self.best_set = int(single[k]), [k]
        chosen: list[int] = []
        missing = demand.copy()
        used = np.zeros(self.p.n_sources, dtype=np.bool_)
        while len(chosen) < self.limit and missing.any():
            gain = np.minimum(self.stock_np, missing[:, None])
            units = gain.sum(axis=0)
            units[used] = 0
            if not units.any():
                break
            cost = self.fixed_np + (gain * self.cost_np).sum(axis=0)
            ratio = np.where(units > 0, cost / np.maximum(units, 1), np.inf)
            k = int(np.argmin(ratio))
            chosen.append(k)
            used[k] = True
            missing = missing - gain[:, k]
        value = self._value(chosen)
        improved = True
        while improved and len(chosen) > 1:
            improved = False
            for k in list(chosen):
                rest = [j for j in chosen if j != k]
                v = self._value(rest)
                if v <= value:
                    chosen, value, improved = rest, v, True
                    break
        if value < self.best:
            self.best, self.best_set = value, sorted(chosen)

    def run(self) -> None:
        self.visit()

    def visit(self) -> None:
        self.nodes += 1
        if self.nodes > self.node_limit:
            self.exhausted = True
            return
        if self.dp is not None:
            here = self._value(self.chosen)
            if here < self.best:
                self.best, self.best_set = here, list(self.chosen)
                if here <= self.floor:
                    self.exhausted = self.done = True
                    return
            if len(self.chosen) >= self.limit or self._dp_step(self.dp):
                return
            self._prepare_generic()
        comms, chosen_flag, admit = self.comms, self.chosen_flag, self.admit_all
        here = self.fixed_sum
        relax = self.fixed_sum
        gains: list[tuple[int, int, int]] = []   # (offerers left, -bound gain, commodity)
        best_gain = 0
        least_loss = -1     # smallest own - free over the commodities that need a source
        need: list[int] = []    # those commodities
        room = len(self.chosen) < self.limit
        for ci, c in enumerate(comms):
            own, own_units = _fill_from(c, chosen_flag)
            free, free_units = _fill_from(c, admit)
            here += own
            relax += free
            if room and free < own:
                f_u = -1
                count = 0
                for k in self.by_fixed[ci]:
                    if admit[k] and not chosen_flag[k]:
                        if f_u < 0:
                            f_u = self.fixed[k]
                        count += 1
                loss = own - free
                best_gain = max(best_gain, min(f_u, loss))
                need.append(ci)
                least_loss = loss if least_loss < 0 else min(least_loss, loss)
                if free_units > own_units:
                    gains.append((count, -min(f_u, loss), ci))
        if here < self.best:
            self.best = here
            self.best_set = list(self.chosen)
            if here <= self.floor:
                self.exhausted = self.done = True
                return
        if not room or relax + best_gain >= self.best:
            return
        shares = None
        if need and self.dp is None and relax + least_loss < self.best:
            # Every commodity in ``need`` gets a new source, or one of them gets none and
            # loses at least ``least_loss``.
            cover, shares = self._cover(need)
            best_gain = max(best_gain, min(cover, least_loss))
            if relax + best_gain >= self.best:
                return
        if gains:
            _, _, ci = min(gains)
            self._branch_on(ci, relax, need, shares if least_loss >= 0 else None, least_loss)
        else:
            self._improve(relax)

    def _dp_step(self, dp: _SubsetDP) -> bool:
        """Bound the node by the subset DP and, where it helps, branch here; True when the
        node is settled (pruned, solved or branched)."""
        m = self.m
        chosen = np.array(self.chosen_flag, dtype=np.bool_)
        ruled = np.array(self.ruled_out, dtype=np.bool_)
        partial = [(u, k) for k in self.chosen for u in np.flatnonzero(
            m.offers[:, k] & (m.stock[:, k] < m.demand)).tolist()]
        bound, steps, left = dp.node(m, ruled, chosen, partial)
        bound += self.fixed_sum
        if bound >= self.best:
            return True
        # A source the relaxation uses for stock it does not hold: branch on it (with it, its
        # partial offers are counted as they are; without it, it is ruled out).
        for k, part in steps:
            if self.chosen_flag[k]:
                continue
            short_of_it = [u for u in range(len(m.demand))
                           if part >> u & 1 and m.stock[u, k] < left[u]]
            if short_of_it:
                self._include(k)
                if not self.exhausted:
                    self._rule_out(k)
                    self.visit()
                    self._restore([k])
                return True
        # Every source of the relaxation holds what it serves: it is a plan (within the limit).
        plan = sorted({*self.chosen, *(k for k, _ in steps)})
        if len(plan) <= self.limit:
            value = self._value(plan)
            if value < self.best:
                self.best, self.best_set = value, plan
                if value <= self.floor:
                    self.exhausted = self.done = True
                    return True
            if value <= bound:
                return True
        # The gap comes from chosen partial offers, whose units the bound charges at the
        # cheapest admitted unit cost: branch on the open source offering that cheaper cost
        # (with it, it serves first; without it, the charge rises).
        best_j: tuple[int, int] | None = None
        for u, k in partial:
            cheaper = m.offers[u] & ~chosen & ~ruled & (m.cost[u] < m.cost[u, k])
            for j in np.flatnonzero(cheaper).tolist():
                key = (int(m.cost[u, j]), j)
                if best_j is None or key < best_j:
                    best_j = key
        if best_j is not None:
            j = best_j[1]
            self._include(j)
            if not self.exhausted:
                self._rule_out(j)
                self.visit()
                self._restore([j])
            return True
        return False

    def _cover(self, need: list[int]) -> tuple[int, FloatArray]:
        """A lower bound on the fixed cost of open sources that together offer every commodity
        in ``need``, and the set-cover LP dual it comes from.

        The bound is the best of: one source offering them all or else the two cheapest
        offering any; and the dual ``Σ shares`` where each commodity pays its cheapest share
        ``fixed[k] / (commodities of need k offers)`` (a feasible dual of the covering LP).
        """
        rows = self.offers_np[need] & ~self.closed_np
        count = rows.sum(axis=0)
        useful = count > 0
        fixed = self.fixed_np
        shares: FloatArray = np.where(rows, fixed / np.maximum(count, 1), np.inf).min(axis=1)
        if not useful.any():
            return _NO_COVER, shares
        lp = _below(float(shares.sum()))
        whole = count == len(need)
        one = float(fixed[whole].min()) if whole.any() else math.inf
        relevant = fixed[useful]
        two = float(np.partition(relevant, 1)[:2].sum()) if relevant.size >= 2 else math.inf
        combinatorial = min(one, two)
        return max(lp, int(combinatorial) if combinatorial < math.inf else _NO_COVER), shares

    def _include(self, k: int) -> None:
        self.chosen.append(k)
        self.chosen_flag[k] = True
        self.closed_np[k] = True
        self.fixed_sum += self.fixed[k]
        self.visit()
        self.fixed_sum -= self.fixed[k]
        self.closed_np[k] = False
        self.chosen_flag[k] = False
        self.chosen.pop()

    def _rule_out(self, k: int) -> None:
        self.ruled_out[k] = True
        self.admit_all[k] = False
        self.closed_np[k] = True

    def _restore(self, ruled: list[int]) -> None:
        for k in ruled:
            self.ruled_out[k] = False
            self.admit_all[k] = True
            self.closed_np[k] = False

    def _branch_on(self, ci: int, relax: int, need: list[int], shares: FloatArray | None,
                   least_loss: int) -> None:
        """Branch on which open source fills commodity ``ci`` next, or none does.

        With source ``k`` added, no plan costs less than ``relax + fixed[k]`` plus, unless a
        commodity is left as it is (costing ``least_loss``), the LP shares of the commodities
        in ``need`` that ``k`` does not offer (the parent's dual stays feasible for the
        child). Children are visited cheapest bound first; the rest are ruled out unvisited.
        """
        offerers = [k for k in self.by_fixed[ci]
                    if not self.chosen_flag[k] and not self.ruled_out[k]]
        ks = np.array(offerers, dtype=np.int64)
        bound = relax + self.fixed_np[ks]
        if shares is not None and np.isfinite(shares).all():
            rest = float(shares.sum()) - (shares[:, None] * self.offers_np[need][:, ks]).sum(
                axis=0)
            bound = bound + np.minimum(rest, float(least_loss))
        order = np.lexsort((ks, self.fixed_np[ks], bound))
        ruled: list[int] = []
        for j in order.tolist():
            k = offerers[j]
            if _below(float(bound[j])) < self.best:
                self._include(k)
                if self.exhausted:
                    break
            self._rule_out(k)
            ruled.append(k)
        else:
            self.visit()   # every offering source ruled out: the commodity stays as it is
        self._restore(ruled)

    def _improve(self, relax: int) -> None:
        """No commodity gains units from another source: try sources that make units cheaper."""
        ruled: list[int] = []
        for k in self.offered:
            if self.chosen_flag[k] or self.ruled_out[k]:
                continue
            if relax + self.fixed[k] >= self.best:
                break   # sorted by fixed cost: no later source passes either
            self._include(k)
            if self.exhausted:
                break
            self._rule_out(k)
            ruled.append(k)
        self._restore(ruled)
