"""Step 1 of the exact path: the subset DP over the SKUs of orders of few SKUs (a plan, a bound,
and per-source floors for the later steps)."""

from __future__ import annotations

from typing import cast

import numpy as np

from oms_sourcing.allocation.exact._matrices import BoolArray, IntArray, _Matrices

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
