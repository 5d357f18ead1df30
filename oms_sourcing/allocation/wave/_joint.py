"""The joint model every step from column generation on works on: the stock cells the joint
orders share, each order's view of them, and what a plan takes and costs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np

from oms_sourcing.allocation._parallel import Solvers
from oms_sourcing.allocation.problem import AllocationProblem, objective_of


def _cost_and_short(p: AllocationProblem, x: np.ndarray) -> tuple[int, int]:
    """(cost without short, short units) of quantities ``x`` of ``p``."""
    used = x.sum(axis=0) > 0
    cost = int(p.fixed_cost[used].sum()) + int((p.unit_cost * x).sum())
    return cost, int((p.demand - x.sum(axis=1)).sum())


def _objective(p: AllocationProblem, x: np.ndarray) -> int:
    """``p``'s own objective (its short costs included) of quantities ``x``."""
    return objective_of(p, x, p.demand - x.sum(axis=1))


def _int_bound(value: float) -> int:
    """A float lower bound of an integer objective as an integer: rounded up (every plan's
    objective is a whole number), after allowing for the solver's float error."""
    return int(np.ceil(value - 1e-9 * abs(value) - 1e-6))


def _joint_stock(problems: Sequence[AllocationProblem], columns: Sequence[np.ndarray],
                 n_src: int, taken: Mapping[str, np.ndarray], managed: Callable[[str], bool]
                 ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The stock the joint orders share, as an array over cell ids, each order's cell id per
    (SKU, source) of its problem (shaped like its ``stock``), and where each order may take
    from at all (its own view is not empty; same shape).

    A cell is a (source, SKU) pair some order may take units from. Each order sees the stock
    its policy lets it take (safety stock, stock status and reservations applied by the
    builder), less what the orders outside the joint model took (``taken``: units per SKU
    and source, in network order; ``columns``: the network position of each problem's
    sources, of ``n_src``). A cell holds the least any of those orders sees, so every
    plan within it leaves each order's safety stock in place whatever the order of
    reservation; a SKU whose stock is not managed holds what all of them want. The last id
    stands for every cell no order could take from even on the full stock, and holds 0: no
    plan of the wave uses it. An order whose view of a cell is empty takes nothing from it,
    whatever the cell holds for the others.
    """
    sku_id = {sku: u for u, sku in enumerate(sorted({s for p in problems for s in p.skus}))}
    unlimited = np.array([not managed(sku) for sku in sku_id], dtype=np.bool_)
    dense: list[np.ndarray] = []
    may: list[np.ndarray] = []
    keys: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    views: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for p, src in zip(problems, columns, strict=True):
        rows = np.array([sku_id[sku] for sku in p.skus], dtype=np.int64)
        full = np.asarray(p.stock, dtype=np.int64)
        view = full.copy()
        for u, sku in enumerate(p.skus):
            if sku in taken and not unlimited[rows[u]]:
                view[u] = np.maximum(view[u] - taken[sku][src], 0)
        d = rows[:, None] * n_src + src[None, :]
        dense.append(d)
        may.append(view > 0)
        # every cell the order could take from on the full stock is a cell (its plans from
        # the per-order pass may use it), even if the others left it nothing
        keys.append(d[full > 0])
        views.append(view[full > 0])
    flat = np.concatenate(keys)
    order = np.argsort(flat, kind="stable")
    flat, units = flat[order], np.concatenate(views)[order]
    starts = np.flatnonzero(np.diff(flat, prepend=-1)) if len(flat) else np.zeros(0, np.int64)
    cells = flat[starts]
    stock = np.zeros(len(cells) + 1, dtype=np.int64)
    if len(cells):
        # the least view among the orders that still see some stock there (an order that
        # sees none cannot take any, whatever the others do)
        least = np.minimum.reduceat(np.where(units > 0, units, np.iinfo(np.int64).max), starts)
        least[least == np.iinfo(np.int64).max] = 0
        stock[:-1] = np.where(unlimited[cells // n_src], np.add.reduceat(units, starts), least)
    dead = len(cells)
    sku_cid = []
    for d in dense:
        pos = np.searchsorted(cells, d)
        hit = (pos < dead) & (cells[np.minimum(pos, max(dead - 1, 0))] == d) if dead else \
            np.zeros(d.shape, dtype=np.bool_)
        sku_cid.append(np.where(hit, pos, dead))
    return stock, sku_cid, may


class _JointModel:
    """The wave's joint model over the orders' problem columns."""

    def __init__(self, problems: list[AllocationProblem], stock: np.ndarray,
                 sku_cells: list[np.ndarray], may: list[np.ndarray], penalty: int,
                 deadline: float | None = None, wish: list[np.ndarray] | None = None,
                 solvers: Solvers | None = None) -> None:
        """``stock``: the units per cell id the orders share; ``sku_cells``: each order's cell
        id per (SKU, source), ``may``: where it may take from (see :func:`_joint_stock`);
        ``solvers``: where orders priced by column generation are solved (default: in this
        process)."""
        self.stock = stock
        self.solvers = solvers or Solvers()
        # each order's optimum alone, if known (a shortcut where it still fits the stock)
        self.wish = wish or []
        self.penalty = penalty
        self.problems = problems
        self.deadline = deadline
        # per order: the cell id of each (SKU, source) and of each (line, source)
        self.sku_cid = sku_cells
        self.cid = [s[p.line_sku] for s, p in zip(self.sku_cid, problems, strict=True)]
        self.may_sku = may
        self.may = [m[p.line_sku] for m, p in zip(may, problems, strict=True)]
        self.wish_use = [self.use(o, x) for o, x in enumerate(self.wish)]
        self.wish_may = [not ((x > 0) & ~m).any() for x, m in zip(self.wish, self.may,
                                                                   strict=False)]
        self.columns = sum(p.n_sources for p in self.problems)
        # (order, column) pairs dropped by reduced-cost fixing
        self.dropped: set[tuple[int, int]] = set()
        self.kept = self.columns
        self.rows: dict[int, Any] = {}
        # per cell id: the LP's price of one more unit there (objective units, rounded down)
        self.prices = np.zeros(len(stock), dtype=np.int64)
        # column generation's plans per order (by their bytes)
        self.generated: list[dict[bytes, np.ndarray]] = []
        # the prices of column generation's best Lagrangian bound, and each order's priced
        # optimum there (or a lower bound of it)
        self.lagrange: tuple[np.ndarray, list[int]] | None = None

    def priced(self, o: int, stock: np.ndarray | None,
               prices: np.ndarray | None) -> AllocationProblem:
        """Order ``o``'s problem with every unit charged its cell's price (if ``prices``),
        the common short penalty, and (if given) the stock left, both per cell id."""
        p = self.problems[o]
        kw: dict[str, Any] = {}
        if stock is not None:
            kw["stock"] = np.where(self.may_sku[o], np.maximum(stock[self.sku_cid[o]], 0), 0)
        if prices is not None:
            kw["unit_cost"] = p.unit_cost + prices[self.cid[o]]
        return replace(p, short_cost=np.full(p.n_lines, self.penalty, dtype=np.int64), **kw)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def value(self, o: int, x: np.ndarray) -> int:
        """Order ``o``'s objective for quantities ``x``, with the common short penalty."""
        cost, short = _cost_and_short(self.problems[o], x)
        return cost + self.penalty * short

    def use(self, o: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stock ``x`` takes: cell ids (each once) and units."""
        nz = np.nonzero(x)
        cells, units = self.cid[o][nz], x[nz]
        if len(cells) > 1 and len(np.unique(cells)) < len(cells):
            cells, at = np.unique(cells, return_inverse=True)
            units = np.bincount(at, weights=units).astype(np.int64)
        return cells, units

    def left(self, plans: list[np.ndarray]) -> np.ndarray:
        left = self.stock.copy()
        for o, x in enumerate(plans):
            cells, units = self.use(o, x)
            left[cells] -= units
        return left

    @cached_property
    def keys(self) -> list[np.ndarray]:
        """Per order: the cells it may draw on (allowed, with stock); for the searches."""
        return [np.unique(c[p.allowed & m & (self.stock[c] > 0)])
                for c, m, p in zip(self.cid, self.may, self.problems, strict=True)]

    def drawers(self) -> tuple[np.ndarray, np.ndarray]:
        """Which orders may draw on each cell: ``orders[start[c]:start[c + 1]]``."""
        lengths = np.array([len(k) for k in self.keys], dtype=np.int64)
        flat = np.concatenate([*self.keys, np.zeros(0, dtype=np.int64)])
        owner = np.repeat(np.arange(len(self.keys)), lengths)
        order = np.argsort(flat, kind="stable")
        start = np.searchsorted(flat[order], np.arange(len(self.stock) + 1))
        return owner[order], start

    def own_fits(self, o: int, stock: np.ndarray) -> bool:
        """Whether order ``o``'s optimum alone (if known) fits ``stock``."""
        if not self.wish or not self.wish_may[o]:
            return False
        cells, units = self.wish_use[o]
        return bool((stock[cells] >= units).all())
