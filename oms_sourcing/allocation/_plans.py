"""Every plan of an order within a cost limit.

The wave's proof step (:func:`oms_sourcing.allocation.wave._proof.prove`) needs, for each
order, *all* its plans whose priced objective lies within a small margin of the order's priced
optimum: the wave is then solved exactly over those, and any plan using another costs more
than the bound it proves. :func:`plans_within` enumerates them with arrays: each line's ways to
fill its demand (units per source, the rest short), pruned by a lower bound on the other lines,
then the lines combined one at a time, keeping the partial plans whose cost, their sources'
fixed costs and the cheapest fill of the lines still to come stay within the limit.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from oms_sourcing.allocation.problem import AllocationProblem, IntArray


def plans_within(p: AllocationProblem, limit: int, max_plans: int
                 ) -> tuple[IntArray, IntArray] | None:
    """Every plan of ``p`` whose objective is at most ``limit``: quantities shaped
    ``(plans, lines, sources)`` and their objectives, or ``None`` if there are more than
    ``max_plans`` (or more than ``4 * max_plans`` partial plans, or a line with more ways to
    be filled, or too many pairs of partial plans and a line's ways to weigh at once), ``p``
    has side constraints (bundles, single sources, capacities...) or a negative fixed cost.

    A plan is any quantities within ``p``'s stock (shared by lines of the same SKU) and
    allowed sources, the rest of each line short at its short cost, and at most
    ``max_shipments`` shipments if set: ``p``'s feasible set."""
    if not listable(p):
        return None
    cols = np.flatnonzero(p.allowed.any(axis=0))
    n_lines = p.n_lines
    stock = np.asarray(p.stock)[:, cols]
    unit = np.asarray(p.unit_cost)[:, cols].astype(np.int64)
    fixed = np.asarray(p.fixed_cost)[cols].astype(np.int64)
    short = np.asarray(p.short_cost, dtype=np.int64)
    demand = np.asarray(p.demand, dtype=np.int64)
    may = np.asarray(p.allowed)[:, cols] & (stock[p.line_sku] > 0)
    # the cheapest a unit of each line can be had for (shipping or short), fixed costs aside
    cheapest = np.minimum(np.where(may, unit, _FAR).min(axis=1, initial=_FAR), short)
    floor_all = int((cheapest * demand).sum())
    if floor_all > limit:
        return _empty(p)
    # a plan shipping from a source pays its fixed cost and at least one unit there more than
    # that line's cheapest: sources above the limit even so are in no plan within it
    extra = np.where(may, unit - cheapest[:, None], _FAR).min(axis=0)
    near = np.flatnonzero(floor_all + fixed + extra <= limit)
    if len(near) < len(cols):
        cols, stock, unit, fixed, may = (cols[near], stock[:, near], unit[:, near], fixed[near],
                                         may[:, near])
    options = []
    for i in range(n_lines):
        rest = floor_all - int(cheapest[i] * demand[i])
        found = _line_options(demand[i], may[i], stock[p.line_sku[i]], unit[i], fixed,
                              int(short[i]), limit - rest, max_plans)
        if found is None:
            return None
        options.append(found)
    # the lines with fewest options first: fewer partial plans to carry
    order = sorted(range(n_lines), key=lambda i: len(options[i][0]))
    after = np.zeros(n_lines + 1, dtype=np.int64)     # the cheapest fill of the lines after
    for pos in range(n_lines - 1, -1, -1):
        i = order[pos]
        after[pos] = after[pos + 1] + int(cheapest[i] * demand[i])
    n_k = len(cols)
    cost = np.zeros(1, dtype=np.int64)               # per partial plan: units and short
    used = np.zeros((1, n_k), dtype=np.int64)        # the sources it ships from (0 or 1)
    picks = np.zeros((1, 0), dtype=np.int64)         # each line's option, in `order`
    for pos, i in enumerate(order):
        qty, ocost = options[i]
        if len(cost) * len(ocost) > _MAX_PAIRS:
            return None
        oused = (qty > 0).astype(np.int64)
        # the fixed costs of both parts' sources, those they share counted once
        shared = (used * fixed) @ oused.T
        total = cost[:, None] + ocost[None, :]
        keep = (total + (used @ fixed)[:, None] + (oused @ fixed)[None, :] - shared
                + after[pos + 1] <= limit)
        a, b = np.nonzero(keep)
        if len(a) > 4 * max_plans:
            return None
        cost, used = total[a, b], used[a] | oused[b]
        picks = np.concatenate([picks[a], b[:, None]], axis=1)
    n = len(cost)
    x = np.zeros((n, n_lines, p.n_sources), dtype=np.int64)
    for pos, i in enumerate(order):
        x[:, i, cols] = options[i][0][picks[:, pos]]
    value = cost + used @ fixed
    fits = np.ones(n, dtype=np.bool_)
    if len(set(p.line_sku.tolist())) < n_lines:      # lines sharing a SKU share its stock
        for u in np.unique(p.line_sku).tolist():
            rows = np.flatnonzero(p.line_sku == u)
            if len(rows) > 1:
                fits &= (x[:, rows].sum(axis=1) <= np.asarray(p.stock)[u]).all(axis=1)
    if p.max_shipments is not None:     # (no source is exempt: a side constraint otherwise)
        fits &= used.sum(axis=1) <= p.max_shipments
    if fits.sum() > max_plans:
        return None
    return x[fits], value[fits]


def listable(p: AllocationProblem) -> bool:
    """Whether :func:`plans_within` lists ``p``'s plans at all: no side constraints (its
    feasible set is stock, allowed sources and ``max_shipments``) and no negative fixed cost
    (its pruning counts on fixed costs only ever adding up)."""
    return not p.has_side_constraints and not (np.asarray(p.fixed_cost) < 0).any()


def _empty(p: AllocationProblem) -> tuple[IntArray, IntArray]:
    return (np.zeros((0, p.n_lines, p.n_sources), dtype=np.int64),
            np.zeros(0, dtype=np.int64))


def _line_options(demand: int, may: np.ndarray, stock: np.ndarray, unit: np.ndarray,
                  fixed: np.ndarray, short: int, limit: int, max_options: int
                  ) -> tuple[IntArray, IntArray] | None:
    """Each way to fill a line's ``demand`` (units per source, the rest short) whose own
    cost and its sources' fixed costs stay within ``limit``: quantities ``(options, sources)``
    and their costs without fixed costs; ``None`` if more than ``max_options``."""
    ks = np.flatnonzero(may)
    table = _compositions(len(ks) + 1, int(demand))
    if table is None:
        found = _grown(int(demand), stock[ks], unit[ks], fixed[ks], short, limit, max_options)
        if found is None:
            return None
        table, cost = found
    else:
        # the last column of the table is the units left short
        table = table[(table[:, :-1] <= stock[ks]).all(axis=1)]
        cost = table @ np.append(unit[ks], short)
        keep = cost + (table[:, :-1] > 0) @ fixed[ks] <= limit
        table, cost = table[keep], cost[keep]
    if len(cost) > max_options:
        return None
    qty = np.zeros((len(cost), len(may)), dtype=np.int64)
    qty[:, ks] = table[:, :-1]
    return qty, cost


def _grown(demand: int, stock: np.ndarray, unit: np.ndarray, fixed: np.ndarray, short: int,
           limit: int, max_options: int) -> tuple[IntArray, IntArray] | None:
    """:func:`_line_options` for a line with too many splits to list them all: the options
    grown a unit at a time, each to a source no earlier than the last one's (every multiset
    once; the last column is short), pruned by their cost, their sources' fixed costs and the
    cheapest the units still to come can cost; ``None`` if more than ``max_options`` at any
    step. Quantities ``(options, sources + 1)`` and costs."""
    n = len(unit)
    price = np.append(unit, short)
    cap = np.append(stock, demand)
    fixed_all = np.append(fixed, 0)
    cheapest = int(price.min())
    qty = np.zeros((1, n + 1), dtype=np.int64)
    last = np.zeros(1, dtype=np.int64)
    cost = np.zeros(1, dtype=np.int64)
    for step in range(demand):
        a, c = np.nonzero(np.arange(n + 1)[None, :] >= last[:, None])
        ok = qty[a, c] < cap[c]
        a, c = a[ok], c[ok]
        grown = qty[a]
        grown[np.arange(len(a)), c] += 1
        grown_cost = cost[a] + price[c]
        keep = (grown_cost + (demand - step - 1) * cheapest + (grown > 0) @ fixed_all
                <= limit)
        qty, last, cost = grown[keep], c[keep], grown_cost[keep]
        if len(cost) > max_options:
            return None
    return qty, cost


@functools.lru_cache(maxsize=32)
def _compositions(parts: int, total: int) -> IntArray | None:
    """Every way to split ``total`` units into ``parts`` ordered parts, one per row (read-only;
    ``None`` if that table would hold more than ``_MAX_TABLE`` numbers)."""
    if math.comb(total + parts - 1, total) * parts > _MAX_TABLE:
        return None
    rows = np.array([np.bincount(c, minlength=parts) for c in
                     itertools.combinations_with_replacement(range(parts), total)],
                    dtype=np.int64).reshape(-1, parts)
    rows.flags.writeable = False
    return rows


_FAR = np.iinfo(np.int64).max // 4    # no option (sums of a few stay within int64)

#: the most numbers in a table of every split of a line's units (4 MB; larger: grown, pruned)
_MAX_TABLE = 500_000
#: the most (partial plan, line option) pairs weighed at once before giving up
_MAX_PAIRS = 4_000_000
