"""The exact path's data: an order's commodities (one per SKU) and their offers as
(commodity x source) arrays, the cheapest fill from a set of sources, and the bounds' helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oms_sourcing.allocation.problem import AllocationProblem

_NO_COVER = 2**62   # no set of open sources offers every commodity that needs one
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: Infinity for the lattice DP and the source-set enumeration (below ``_NO_COVER``).
_INF = 2**61


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
