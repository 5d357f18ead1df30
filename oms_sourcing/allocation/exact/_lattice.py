"""Step 3 of the exact path: the units lattice, a DP over the units filled per SKU, source by
source (exact for partial offers; orders of few units)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oms_sourcing.allocation.exact._floors import _candidates
from oms_sourcing.allocation.exact._matrices import _INF, IntArray, _Matrices
from oms_sourcing.allocation.exact._subset_dp import _SubsetDP
from oms_sourcing.allocation.problem import AllocationProblem

#: Most states (filled-units vectors times shipment counts) the lattice DP may visit per source.
_LATTICE_MAX_STATES = 1 << 14
#: Most states kept for the way back, over all sources.
_LATTICE_MAX_TABLE = 1 << 21


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
