"""The exact fast path: the optimal plan for orders without side constraints, proven.

For a *fixed* set of sources the best plan is easy: each SKU's demand fills from the set's
cheapest units first (a transportation problem with one commodity per SKU and linear costs,
which greedy solves exactly), and whatever costs more than leaving it short stays short. So the
question is which set of sources ships. Four methods answer it:

* **Subset DP** (orders of up to ``_DP_MAX_COMMODITIES`` SKUs). If each offer either serves a
  SKU's whole demand or nothing, a dynamic programme over subsets of SKUs is exact: the cheapest
  source for each subset comes from two matrix products, then subsets combine. Counting only
  offers that hold the whole demand gives a plan; treating every offer as whole gives a lower
  bound. Most orders have only whole offers; then both agree and the plan is proven at once.
* **Every source set** (orders of more SKUs than the subset DP takes, from few sources, every
  offer whole: ten items from ten fulfilment centres). A set's best plan serves each SKU from
  the set's cheapest source offering it, so all ``2**K`` sets of the ``K`` sources that can
  beat a known plan cost one array minimum per source to evaluate.
* **Lattice DP** (orders of few units), for the rest when the subset DP cannot prove its plan:
  a dynamic programme over the units filled per SKU, source by source, exact for partial
  offers; it applies while the product of (demand + 1) over the SKUs stays small. Only
  sources that can ship in a plan no dearer than the subset DP's enter it: a per-source lower
  bound from the subset DP's relaxation (the source serves some subset, the rest is served
  or left short as cheaply as the relaxation allows) rules out four in five at 500 sources.
* **Branch and bound** over source sets, for the rest. A node has ``chosen`` sources and
  sources ruled out. With few SKUs it is bounded by the same DP over the still-open sources,
  where a chosen source's partial offer covers its units (charged at the cheapest unit cost
  still admitted) and the rest of that demand must come from others; when the DP's own plan
  leans on stock a source does not hold, the search branches on that source (use it, or rule it
  out). Otherwise, or for more SKUs, it bounds with the unit-cost relaxation plus the set-cover
  LP dual (every SKU the chosen sources cannot fill as well must pay for one more source) and
  branches on the SKU the fewest open sources offer, cheapest bound first.

Every node's own set is a plan, so the search always holds an upper bound, and it stops once
that meets the root's lower bound. The fast path answers problems without side constraints
(``AllocationProblem.has_side_constraints``) whose lines of one SKU share costs; it returns
``None`` for anything else and for searches beyond ``node_limit`` nodes (a deterministic work
budget), so the caller can fall back to CP-SAT. A plan it returns is proven optimal; among
equal plans the DP prefers sources earlier in tie-break order (priority, then code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus, make_plan

__all__ = ["ExactSolver", "solve_exact", "source_floors"]

_NO_COVER = 2**62   # no set of open sources offers every commodity that needs one
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _below(value: float) -> int:
    """An integer at most ``value``, with room for float rounding (bounds must never
    exceed the exact figure)."""
    return math.floor(value * (1 - 1e-12)) - 1


@dataclass(frozen=True, slots=True)
class _Commodity:
    """One SKU: the lines asking for it and its offers."""

    lines: tuple[int, ...]
    demand: int
    short_cost: int
    # (unit cost, source, stock), cheapest first; only sources cheaper than leaving units short
    offers: tuple[tuple[int, int, int], ...]


def _groups(p: AllocationProblem) -> list[tuple[int, ...]] | None:
    """The lines of each SKU (one commodity each), or ``None`` when lines of one SKU differ
    in sources, costs or short cost (the fast path then does not apply)."""
    skus = p.line_sku.tolist()
    if len(set(skus)) == len(skus):
        return [(i,) for i in range(len(skus))]
    by_sku: dict[int, list[int]] = {}
    for i, u in enumerate(skus):
        by_sku.setdefault(u, []).append(i)
    for lines in by_sku.values():
        first = lines[0]
        for i in lines[1:]:
            same = (
                p.short_cost[i] == p.short_cost[first]
                and np.array_equal(p.allowed[i], p.allowed[first])
                and np.array_equal(p.unit_cost[i], p.unit_cost[first])
            )
            if not same:
                return None
    return [tuple(lines) for lines in by_sku.values()]


@dataclass(frozen=True, slots=True)
class _Matrices:
    """The commodities' offers as (commodity x source) arrays; only sources cheaper than
    leaving units short offer."""

    groups: list[tuple[int, ...]]
    offers: BoolArray
    stock: IntArray
    cost: IntArray
    demand: IntArray
    short: IntArray

    @staticmethod
    def of(p: AllocationProblem, groups: list[tuple[int, ...]]) -> _Matrices:
        firsts = np.array([g[0] for g in groups], dtype=np.int64)
        short = p.short_cost[firsts]
        cost = p.unit_cost[firsts]
        stock = p.stock[p.line_sku[firsts]]
        offers = p.allowed[firsts] & (stock > 0) & (cost < short[:, None])
        if len(groups) == p.n_lines:
            demand = p.demand[firsts]
        else:
            demand = np.array([int(p.demand[list(g)].sum()) for g in groups], dtype=np.int64)
        return _Matrices(groups, offers, np.where(offers, stock, 0), np.where(offers, cost, 0),
                         demand, short)

    def commodities(self) -> list[_Commodity]:
        out = []
        for u, lines in enumerate(self.groups):
            ks = np.flatnonzero(self.offers[u])
            ks = ks[np.lexsort((ks, self.cost[u, ks]))]
            offers = tuple(zip(self.cost[u, ks].tolist(), ks.tolist(),
                               self.stock[u, ks].tolist(), strict=True))
            out.append(_Commodity(lines, int(self.demand[u]), int(self.short[u]), offers))
        return out

    def fill(self, chosen: list[int]) -> tuple[int, list[list[tuple[int, int]]]]:
        """The cheapest fill of every commodity from the sources ``chosen``: its variable cost
        (short units included) and, per commodity, ``(source, units)`` cheapest first."""
        total = 0
        takes: list[list[tuple[int, int]]] = []
        cost, stock, offers = self.cost, self.stock, self.offers
        for u in range(len(self.groups)):
            left = int(self.demand[u])
            mine = sorted((int(cost[u, k]), k) for k in chosen if offers[u, k])
            taken: list[tuple[int, int]] = []
            for uc, k in mine:
                if not left:
                    break
                st = int(stock[u, k])
                take = st if st < left else left
                total += take * uc
                left -= take
                taken.append((k, take))
            total += left * int(self.short[u])
            takes.append(taken)
        return total, takes

    def assign(self, p: AllocationProblem, chosen: list[int]) -> tuple[IntArray, IntArray]:
        """Quantities per line and source (and short) of the cheapest fill from ``chosen``."""
        x = np.zeros((p.n_lines, p.n_sources), dtype=np.int64)
        short = np.zeros(p.n_lines, dtype=np.int64)
        _, takes = self.fill(chosen)
        for lines, taken in zip(self.groups, takes, strict=True):
            supply = [[k, t] for k, t in taken]
            pos = 0
            for i in lines:
                need = int(p.demand[i])
                while need and pos < len(supply):
                    k, st = supply[pos]
                    take = min(st, need)
                    x[i, k] += take
                    need -= take
                    supply[pos][1] = st - take
                    if st == take:
                        pos += 1
                short[i] = need
        return x, short


def _fill_from(c: _Commodity, admit: list[bool]) -> tuple[int, int]:
    """Cheapest fill of ``c`` from the admitted sources: (cost incl. short units, units filled)."""
    left = c.demand
    cost = 0
    for uc, k, st in c.offers:
        if admit[k]:
            take = st if st < left else left
            cost += take * uc
            left -= take
            if not left:
                break
    return cost + left * c.short_cost, c.demand - left


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

#: Commodities up to which the subset dynamic programme runs (it visits 3**n subset pairs).
_DP_MAX_COMMODITIES = 7
_DP_INF = 2**62


class _SubsetDP:
    """Dynamic programming over subsets of commodities, for problems of few commodities.

    In it each commodity is either left short whole or served whole by one source, and a
    source serving the subset ``s`` costs its fixed cost plus ``s``'s unit costs; the cheapest
    source for each subset comes from two matrix products. That is exact when every offer
    holds its commodity's whole demand. Counting only such *whole* offers gives a feasible plan
    (an upper bound); taking every offer as whole gives a lower bound on the true optimum
    (more stock never costs more). Most orders have only whole offers, and then the two agree
    and no search is needed.
    """

    def __init__(self, m: _Matrices, fixed: IntArray, max_shipments: int | None) -> None:
        self.n_c = n_c = len(m.demand)
        self.size = size = 1 << n_c
        short = m.short * m.demand
        self.sub = ((np.arange(size)[:, None] >> np.arange(n_c)[None, :]) & 1).astype(np.int64)
        self.var = self.sub @ (m.cost * m.demand[:, None])      # (subsets, sources)
        self.fixed = fixed
        self.any_ok = (self.sub @ (~m.offers).astype(np.int64)) == 0
        whole = m.offers & (m.stock >= m.demand[:, None])
        self.all_whole = bool((whole == m.offers).all())
        self.whole_ok = (self.any_ok if self.all_whole
                         else (self.sub @ (~whole).astype(np.int64)) == 0)
        self.short_of = (1 - self.sub) @ short
        self.short_unit = short     # leaving each commodity short, whole
        # the cost table and best per subset of the programme over every offer, once run
        self._every: tuple[IntArray, list[int]] | None = None
        # a plan never needs more sources than commodities: count them only when the
        # problem's max_shipments is below that
        self.limit = max_shipments if max_shipments is not None and max_shipments < n_c else 0

    def solve(self, *, whole_only: bool) -> tuple[int, list[tuple[int, int]]]:
        """The DP's optimum over every source: value and ``(source, subset served)`` steps."""
        # the programme over every offer also gives least_with its table
        return self.run(self.whole_ok if whole_only else self.any_ok, self.var, self.fixed,
                        self.short_of, keep=not whole_only or self.all_whole)

    def node(self, m: _Matrices, ruled_out: BoolArray, chosen: BoolArray,
             partial: list[tuple[int, int]]) -> tuple[int, list[tuple[int, int]], IntArray]:
        """The relaxation for a search node: ``ruled_out`` sources left out, ``chosen`` ones at
        no fixed cost, and each chosen ``partial`` offer ``(commodity, source)`` taken out of
        the programme with its units: they cover part of the demand, charged at the cheapest
        unit cost still admitted (no plan pays less for them), and the rest must come from
        others. Returns the bound (without the chosen fixed costs), the steps and the
        demand left per commodity.
        """
        demand = m.demand
        ok, var, short_of = self.any_ok, self.var, self.short_of
        extra = 0
        if partial:
            offers = m.offers.copy()
            covered = np.zeros_like(demand)
            for u, k in partial:
                offers[u, k] = False
                covered[u] += m.stock[u, k]
            covered = np.minimum(covered, demand)
            admitted = m.offers & ~ruled_out
            for u in np.flatnonzero(covered).tolist():
                extra += int(covered[u]) * int(m.cost[u, admitted[u]].min())
            demand = demand - covered
            ok = (self.sub @ (~offers).astype(np.int64)) == 0
            var = self.sub @ (m.cost * demand[:, None])
            short_of = (1 - self.sub) @ (m.short * demand)
        ok = ok & ~ruled_out
        fixed = np.where(chosen, 0, self.fixed)
        value, steps = self.run(ok, var, fixed, short_of)
        return value + extra, steps, demand

    def run(self, ok: BoolArray, var: IntArray, fixed: IntArray, short_of: IntArray,
            keep: bool = False) -> tuple[int, list[tuple[int, int]]]:
        """The programme's optimum for ``ok`` offers at ``fixed`` costs (``keep``: remember
        the cost table and the best per subset, for :meth:`least_with`)."""
        cost = np.where(ok, fixed[None, :] + var, _DP_INF)
        if cost.shape[1]:
            who = cost.argmin(axis=1).tolist()
            single = cost.min(axis=1).tolist()
        else:
            who, single = [0] * self.size, [_DP_INF] * self.size
        size, limit = self.size, self.limit
        # best[m][mask]: cheapest way to serve ``mask`` with m sources; without a limit one
        # layer, best[1][mask], with any number of sources
        layers = limit or 1
        best = [[_DP_INF] * size for _ in range(layers + 1)]
        step: list[list[int]] = [[0] * size for _ in range(layers + 1)]
        best[0][0] = 0
        for m in range(1, layers + 1):
            if not limit:
                best[m][0] = 0
            _combine(best[m - 1] if limit else best[m], single, best[m], step[m])
        if keep and not limit:
            self._every = cost, best[1]
        shorts = short_of.tolist()
        value, at_m, at_mask = shorts[0], 0, 0
        for m in range(1, layers + 1):
            row = best[m]
            for mask in range(1, size):
                v = row[mask] + shorts[mask]
                if v < value:
                    value, at_m, at_mask = v, m, mask
        steps: list[tuple[int, int]] = []
        while at_mask:
            part = step[at_m][at_mask]
            steps.append((int(who[part]), part))
            at_mask ^= part
            if limit:
                at_m -= 1
        return value, steps

    def least_with(self) -> IntArray | None:
        """Per source, a lower bound on every plan it ships in (``None`` under a shipment
        limit): in the relaxation, the source serves some subset ``s`` of the commodities
        (possibly none: its units may all be of commodities another source of the plan
        serves cheaper) and the rest are served by others or left short."""
        if self.limit:
            return None
        size = self.size
        if self._every is None:
            self.run(self.any_ok, self.var, self.fixed, self.short_of, keep=True)
        # run(keep=True) without a limit has set it
        cost, best = cast(tuple[IntArray, list[int]], self._every)
        # rest[c]: the cheapest way to serve part of ``c`` and leave the rest short, by a
        # min over the subsets of each ``c`` (one pass per commodity)
        short = self.sub @ self.short_unit
        rest = np.asarray(best, dtype=np.int64) - short
        masks = np.arange(size)
        for u in range(self.n_c):
            has = masks[(masks >> u) & 1 == 1]
            rest[has] = np.minimum(rest[has], rest[has ^ (1 << u)])
        rest += short
        least: IntArray = (cost + rest[(size - 1) ^ masks][:, None]).min(axis=0)
        return least


def _combine(prev: list[int], single: list[int], here: list[int], took: list[int]) -> None:
    """``here[mask] = min over parts of mask: prev[mask ^ part] + single[part]`` (each split
    counted once: ``part`` holds the lowest commodity of ``mask``), and the part in ``took``.
    ``prev`` may be ``here`` (any number of sources)."""
    for mask in range(1, len(here)):
        low = mask & -mask
        part = mask
        top, arg = _DP_INF, 0
        while part:
            if part & low:
                v = prev[mask ^ part] + single[part]
                if v < top:
                    top, arg = v, part
            part = (part - 1) & mask
        here[mask], took[mask] = top, arg


#: Most states (filled-units vectors times shipment counts) the lattice DP may visit per source.
_LATTICE_MAX_STATES = 1 << 14
#: Most states kept for the way back, over all sources.
_LATTICE_MAX_TABLE = 1 << 21
_INF = 2**61
#: Most (source set x commodity) cells the enumeration of source sets may take.
_SETS_MAX_CELLS = 1 << 16


def _singles(fixed: IntArray, m: _Matrices) -> IntArray:
    """Per source, the cost of the plan where it alone ships (what it can, the rest short)."""
    take = np.minimum(m.stock, m.demand[:, None])
    single: IntArray = (fixed + (take * m.cost).sum(axis=0)
                        + ((m.demand[:, None] - take) * m.short[:, None]).sum(axis=0))
    return single


def _simple_floors(fixed: IntArray, m: _Matrices, single: IntArray) -> IntArray:
    """Per source ``k``, a lower bound on every plan it ships in, without the subset DP: a plan
    of ``k`` alone costs what it costs (``single``, from :func:`_singles`), and a plan of ``k``
    and others at least ``k``'s fixed cost, the cheapest other offering source's, and every
    commodity's cheapest units (from all sources, the rest short). For non-negative costs."""
    # every commodity's cheapest units: offers by unit cost, stock counted up to the demand
    order = np.argsort(np.where(m.offers, m.cost, np.iinfo(np.int64).max), axis=1,
                       kind="stable")
    stock = np.take_along_axis(m.stock, order, axis=1)
    filled = np.minimum(np.cumsum(stock, axis=1), m.demand[:, None])
    got = np.diff(filled, axis=1, prepend=0)
    variable = int((got * np.take_along_axis(m.cost, order, axis=1)).sum()
                   + ((m.demand - filled[:, -1]) * m.short).sum()) if filled.size else 0
    f = np.where(m.offers.any(axis=0), fixed, np.iinfo(np.int64).max // 4)
    two = np.partition(f, 1)[:2] if len(f) > 1 else np.array([f[0], _NO_COVER])
    other = np.where(f == two[0], two[1], two[0])     # the cheapest fixed cost but k's
    floors: IntArray = np.minimum(single, fixed + other + variable)
    return floors


def _candidates(p: AllocationProblem, m: _Matrices, upper: int,
                least: IntArray | None = None) -> BoolArray:
    """The sources that can ship in a plan costing at most ``upper`` (the value of a known
    plan, or of the best single-source plan if lower): those whose lower bound on the plans
    they ship in is at most that. The bound is ``least`` (:meth:`_SubsetDP.least_with`) if
    given, else :func:`_simple_floors`. With negative costs nothing is ruled out."""
    offering = m.offers.any(axis=0)
    fixed = np.asarray(p.fixed_cost, dtype=np.int64)
    if (fixed < 0).any() or (m.cost < 0).any() or offering.sum() < 2:
        return np.asarray(offering, dtype=np.bool_)
    single = _singles(fixed, m)
    upper = min(upper, int(single[offering].min()))
    # with ``least``, the simple bound rules out almost nothing more (measured: 25.8 -> 25.2
    # sources per priced order of a 500-source wave)
    floors = least if least is not None else _simple_floors(fixed, m, single)
    kept: BoolArray = offering & (floors <= upper)
    return kept


def source_floors(problem: AllocationProblem) -> IntArray | None:
    """Per source, a lower bound on the objective of every plan of ``problem`` that ships from
    it (``2**62`` for a source offering nothing); ``None`` where the fast path does not apply
    or a cost is negative.

    A caller that knows a plan's objective can solve the problem with only the sources whose
    bound does not exceed it (the same optimum), and keep the bounds while costs only rise
    (a wave re-pricing an order's stock)."""
    offered = _offered(problem)
    if offered is None:
        return None
    m, cols = offered
    fixed = np.asarray(problem.fixed_cost[cols], dtype=np.int64)
    if (fixed < 0).any() or (m.cost < 0).any():
        return None
    floors = np.full(problem.n_sources, _NO_COVER, dtype=np.int64)
    if not len(cols):
        return floors
    least = None
    if len(m.groups) <= _DP_MAX_COMMODITIES:
        least = _SubsetDP(m, fixed, problem.max_shipments).least_with()
    floors[cols] = least if least is not None else _simple_floors(fixed, m,
                                                                   _singles(fixed, m))
    return floors


def _offered(p: AllocationProblem) -> tuple[_Matrices, IntArray] | None:
    """The commodities' offers over only the sources that offer something (a source that
    offers nothing ships in no plan), and those sources' positions in ``p``; ``None`` where
    the fast path does not apply."""
    if p.has_side_constraints:
        return None
    groups = _groups(p)
    if groups is None:
        return None
    m = _Matrices.of(p, groups)
    cols = np.flatnonzero(m.offers.any(axis=0))
    if len(cols) < p.n_sources:
        m = _Matrices(groups, m.offers[:, cols], m.stock[:, cols], m.cost[:, cols], m.demand,
                      m.short)
    return m, cols


def _solve_sets(p: AllocationProblem, m: _Matrices, upper: int) -> list[int] | None:
    """The optimal source set by trying every set of the sources that can beat ``upper`` (see
    :func:`_candidates`), or ``None`` where that does not apply: some offer holds less than
    its commodity's whole demand, a cost is negative, or the sets are too many.

    With whole offers only, a set's best plan serves each commodity from the set's cheapest
    source offering it (offers are cheaper than leaving units short), so a set costs its fixed
    costs plus one minimum per commodity. The sets are built by doubling: adding source ``j``
    to the first ``2**j`` sets takes one array minimum. Orders of many SKUs from few sources
    (ten items from ten FCs) cost a few dozen array operations here, where the lattice DP
    needs a few hundred. Among equal sets the one without the latest sources (the smallest
    bit mask, bit ``j`` for the ``j``-th source in tie-break order) wins.
    """
    n = len(m.demand)
    if n == 0 or (m.offers & (m.stock < m.demand[:, None])).any():
        return None
    if (p.fixed_cost < 0).any() or (m.cost < 0).any():
        return None
    ks = np.flatnonzero(_candidates(p, m, upper))
    size = 1 << len(ks)
    if size * n > _SETS_MAX_CELLS:
        return None
    whole = np.where(m.offers[:, ks], m.cost[:, ks] * m.demand[:, None],
                     (m.short * m.demand)[:, None])      # (commodity, source)
    best = np.empty((size, n), dtype=np.int64)           # per set: each commodity's cost
    best[0] = m.short * m.demand
    fixed = np.zeros(size, dtype=np.int64)
    for j, k in enumerate(ks.tolist()):
        low = 1 << j
        np.minimum(best[:low], whole[:, j], out=best[low:2 * low])
        fixed[low:2 * low] = fixed[:low] + int(p.fixed_cost[k])
    total = best.sum(axis=1) + fixed
    if p.max_shipments is not None and p.max_shipments < len(ks):
        sizes = np.zeros(size, dtype=np.int64)
        for j in range(len(ks)):
            sizes[1 << j:2 << j] = sizes[:1 << j] + 1
        total[sizes > p.max_shipments] = _INF
    at = int(np.argmin(total))
    return [int(k) for j, k in enumerate(ks.tolist()) if at >> j & 1]


def _solve_lattice(p: AllocationProblem, m: _Matrices, upper: int,
                   dp: _SubsetDP | None = None) -> list[int] | None:
    """The optimal source set by dynamic programming over units filled, or ``None`` when the
    lattice is too large; ``upper`` is the value of a known plan, and the subset DP ``dp`` (if
    any) bounds each source (sources that cannot beat the plan are left out, see
    :func:`_candidates`).

    The state is the vector of units filled per SKU (and, with ``max_shipments``, the number
    of shipments); sources are taken in tie-break order, each either skipped or shipping a
    box of quantities up to its stock. Because a source's cost is its fixed cost plus a linear
    cost per unit and SKU, the best box from each state separates into one short sliding
    minimum per SKU, so a source costs a few array operations whatever its offers. Exact for
    partial offers of any size, where the subset DP only bounds; the lattice is small when
    quantities are (orders of a few units per line).

    Without a shipment limit, the sources offering one SKU of the order only (most of them,
    in a large network) are pooled per SKU first: the cheapest way to fill ``t`` units from
    them is a one-dimensional knapsack, and only the ``demand`` cheapest sources for each
    quantity can be in it (a plan uses at most ``demand`` of them, so a dearer one can always
    be swapped for an idle cheaper one). The pool then enters the lattice as one stage.
    """
    dims = [int(d) + 1 for d in m.demand]
    count = p.max_shipments
    if count is not None:
        dims.append(min(count, p.n_sources) + 1)
    states = math.prod(dims)
    if states > _LATTICE_MAX_STATES:
        return None
    n = len(m.demand)
    least = dp.least_with() if dp is not None else None
    live = m.offers & _candidates(p, m, upper, least)[None, :]
    offered = live.sum(axis=0)
    pools: list[_Pool] = []
    if count is None:
        for u in range(n):
            mine = np.flatnonzero(live[u] & (offered == 1))
            if len(mine):
                pools.append(_Pool.of(p, m, u, mine))
        offered = np.where(offered == 1, 0, offered)
    stages: list[int | _Pool] = [*np.flatnonzero(offered).tolist(), *pools]
    if states * (len(stages) + 1) > _LATTICE_MAX_TABLE:
        return None
    # per SKU and quantity q: the states that can take q more units, and where they come from
    shifts = _shifts(dims[:n])
    box = np.where(live, np.minimum(m.stock, m.demand[:, None]), 0).tolist()
    unit = m.cost.tolist()
    fixed_cost = p.fixed_cost.tolist()
    f = np.full(dims, _INF, dtype=np.int64)
    f[(0,) * len(dims)] = 0
    tables = [f]
    for stage in stages:
        if isinstance(stage, _Pool):
            f = stage.apply(f, shifts)
            tables.append(f)
            continue
        k = stage
        h = f
        for u in range(n):
            b = box[u][k]
            if not b:
                continue
            c = unit[u][k]
            g = h.copy()
            for q in range(1, b + 1):
                dst, src = shifts[u][q]
                np.minimum(g[dst], h[src] + c * q, out=g[dst])
            h = g
        if count is not None:
            shifted = np.full(dims, _INF, dtype=np.int64)
            shifted[..., 1:] = h[..., :-1]
            h = shifted
        elif h is f:
            h = f.copy()
        h += fixed_cost[k]
        np.minimum(h, _INF, out=h)
        np.minimum(f, h, out=h)
        f = h
        tables.append(f)
    # the best final state: what was filled plus what stays short
    short_left = np.zeros(dims[:n], dtype=np.int64)
    for u in range(n):
        shape = [1] * n
        shape[u] = dims[u]
        short_left = short_left + (int(m.demand[u]) - np.arange(dims[u])).reshape(shape) \
            * int(m.short[u])
    if count is not None:
        short_left = short_left[..., None]
    total = np.minimum(f + short_left, _INF)
    v = [int(i) for i in np.unravel_index(int(np.argmin(total)), dims)]
    chosen: list[int] = []
    for t in range(len(stages), 0, -1):
        stage, now, before = stages[t - 1], tables[t], tables[t - 1]
        if now[tuple(v)] == before[tuple(v)]:
            continue
        if isinstance(stage, _Pool):
            v, used = stage.back(before, v, int(now[tuple(v)]))
            chosen.extend(used)
            continue
        prev = _box_step(p, m, stage, before, v, int(now[tuple(v)]), count is not None)
        if prev[:n] != v[:n]:
            chosen.append(stage)
        v = prev
    return sorted(chosen)


_Shift = tuple[tuple[slice, ...], tuple[slice, ...]]


def _shifts(dims: list[int]) -> list[list[_Shift]]:
    """Per axis ``u`` and shift ``q``: the index of the states ``v`` with ``v_u >= q`` and of
    the states ``v - q e_u`` they come from (trailing axes, such as a shipment count, whole).
    ``g[dst] = min(g[dst], f[src] + cost)`` then fills ``q`` more units of ``u``."""
    out = []
    for u, size in enumerate(dims):
        row: list[_Shift] = [((), ())]
        for q in range(1, size):
            dst: list[slice] = [slice(None)] * len(dims)
            src = list(dst)
            dst[u], src[u] = slice(q, size), slice(0, size - q)
            row.append((tuple(dst), tuple(src)))
        out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class _Pool:
    """The sources offering only SKU ``u`` of the order, as one lattice stage: ``best[t]`` is
    the cheapest way to fill ``t`` units of ``u`` from them (a knapsack over ``offers``:
    (source, fixed cost, unit cost, stock), each used at most once)."""

    u: int
    offers: tuple[tuple[int, int, int, int], ...]
    tables: tuple[tuple[int, ...], ...]     # the knapsack after each offer

    @staticmethod
    def of(p: AllocationProblem, m: _Matrices, u: int, ks: IntArray) -> _Pool:
        demand = int(m.demand[u])
        fixed, unit = p.fixed_cost[ks], m.cost[u, ks]
        stock = np.minimum(m.stock[u, ks], demand)
        keep: set[int] = set(range(len(ks)))
        if len(ks) > demand:
            keep.clear()
            for q in range(1, demand + 1):
                able = np.flatnonzero(stock >= q)
                price = fixed[able] + unit[able] * q
                keep.update(able[np.lexsort((ks[able], price))][:demand].tolist())
        offers = tuple(zip(ks[sorted(keep)].tolist(), fixed[sorted(keep)].tolist(),
                           unit[sorted(keep)].tolist(), stock[sorted(keep)].tolist(),
                           strict=True))
        best = [0] + [_INF] * demand
        tables = [tuple(best)]
        for _, fx, c, b in offers:
            new = best[:]
            for t in range(1, demand + 1):
                for q in range(1, min(b, t) + 1):
                    if best[t - q] < _INF and best[t - q] + fx + c * q < new[t]:
                        new[t] = best[t - q] + fx + c * q
            best = new
            tables.append(tuple(best))
        return _Pool(u, offers, tuple(tables))

    def apply(self, f: IntArray, shifts: list[list[_Shift]]) -> IntArray:
        best = self.tables[-1]
        g = f.copy()
        for t, (dst, src) in enumerate(shifts[self.u]):
            if t and best[t] < _INF:
                np.minimum(g[dst], f[src] + best[t], out=g[dst])
        np.minimum(g, _INF, out=g)
        return g

    def back(self, before: IntArray, v: list[int], target: int) -> tuple[list[int], list[int]]:
        """The state before the pool and the pool's sources that ship, from state ``v``."""
        best = self.tables[-1]
        for t in range(1, v[self.u] + 1):
            prev = list(v)
            prev[self.u] -= t
            if best[t] < _INF and int(before[tuple(prev)]) + best[t] == target:
                break
        else:  # pragma: no cover
            raise AssertionError("the lattice DP's way back lost its pool")
        used, left = [], t
        for j in range(len(self.offers), 0, -1):
            if not left:
                break
            now, was = self.tables[j], self.tables[j - 1]
            if now[left] == was[left]:
                continue
            k, fx, c, b = self.offers[j - 1]
            q = next(q for q in range(1, min(b, left) + 1)
                     if was[left - q] + fx + c * q == now[left])
            used.append(k)
            left -= q
        return prev, used


def _box_step(p: AllocationProblem, m: _Matrices, k: int, before: IntArray, v: list[int],
              target: int, counted: bool) -> list[int]:
    """The state before source ``k`` shipped, on the way back from state ``v``: the first box
    ``q`` (in lexicographic order) with ``before[v - q] + cost(q) == target - fixed``."""
    n = len(m.demand)
    reach = [min(int(m.stock[u, k]), v[u]) if m.offers[u, k] else 0 for u in range(n)]
    # the states v - q for every box q, indexed by q (q = 0 first on every axis)
    index: tuple[slice | int, ...] = tuple(
        slice(v[u], v[u] - reach[u] - 1 if v[u] > reach[u] else None, -1) for u in range(n))
    if counted:
        index += (v[n] - 1,)
    total = before[index].copy()
    for u in range(n):
        if reach[u]:
            shape = [1] * n
            shape[u] = reach[u] + 1
            total += (int(m.cost[u, k]) * np.arange(reach[u] + 1)).reshape(shape)
    hit = (total == int(target) - int(p.fixed_cost[k])).ravel()
    # an empty "shipment" only moves the count (possible when a fixed cost is zero)
    hit[0] &= counted
    at = np.flatnonzero(hit)
    if not at.size:  # pragma: no cover
        raise AssertionError("the lattice DP's way back lost its state")
    q = np.unravel_index(int(at[0]), total.shape)
    prev = [v[u] - int(q[u]) for u in range(n)]
    if counted:
        prev.append(v[n] - 1)
    return prev


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
