"""Step 3, column generation (Dantzig-Wolfe): the master LP over known plans (HiGHS) and the
pricing of each order against its stock duals; the Lagrangian bound."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from typing import Any

import numpy as np

from oms_sourcing.allocation.builder import COST_SCALE
from oms_sourcing.allocation.exact import source_floors
from oms_sourcing.allocation.problem import AllocationProblem
from oms_sourcing.allocation.wave._joint import _JointModel

# one logger for the whole wave, named as when it was one module
logger = logging.getLogger("oms_sourcing.allocation.wave")


def _widen(x: np.ndarray, keep: np.ndarray, n_sources: int) -> np.ndarray:
    """Quantities over the sources at ``keep`` as quantities over all ``n_sources``."""
    full = np.zeros((x.shape[0], n_sources), dtype=np.int64)
    full[:, keep] = x
    return full


def _quiet_highs() -> Any:
    """A HiGHS instance, without the banner the library's first instance in a process prints
    on standard output (before any option can turn output off): the CLI writes JSON there."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            master = highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    master.setOptionValue("output_flag", False)
    return master


def column_generation(joint: _JointModel, starts: list[list[np.ndarray]], alone: list[int],
                      rounds: int, tolerance: int = 0) -> int:
    """The Lagrangian (Dantzig-Wolfe) bound by column generation; the plans it generated
    are kept for :func:`master_mip`, its last stock prices in ``prices``.

    The master LP chooses, per order, a convex combination of known plans (columns) within
    the shared stock; its stock duals ``λ`` price every cell, and each order solved alone
    against its priced stock (exactly) either yields a column of negative reduced cost or
    proves there is none. For any ``λ >= 0``, ``Σ_o min_o(cost + λ·use) − λ·stock`` bounds
    every plan of the wave; at the master's optimum it is the master's value, the best
    bound that prices stock instead of enforcing it (stronger than the LP relaxation, as
    each order's plans are integral). An order whose optimum alone (``alone``, a lower
    bound of its priced optimum as prices are never negative) is no lower than its dual
    cannot gain a column and is not solved; ``alone`` stands for its priced optimum in the
    bound. ``rounds`` master solves at most; the plans in ``starts`` that fit the stock
    seed the master. Pricing stops once the bound is within ``tolerance`` of the master's
    value.
    """
    import highspy

    n = len(joint.problems)
    cid, stock = joint.cid, joint.stock
    # each order against the wave's stock, with the common short penalty
    base = [joint.priced(o, stock, None) for o in range(n)]
    scale = float(COST_SCALE)    # the LP in currency units (better conditioned)
    master = _quiet_highs()
    # interior point without crossover: on this degenerate master it is several times
    # faster than simplex, even warm-started, and its central duals price more evenly
    master.setOptionValue("solver", "ipm")
    master.setOptionValue("run_crossover", "off")
    master.addRows(n, np.ones(n), np.ones(n), 0, np.zeros(0, dtype=np.int32),
                   np.zeros(0, dtype=np.int32), np.zeros(0))
    rows: dict[int, int] = {}
    # per order, its plans in the master (by their bytes) and their objective unpriced
    columns: list[dict[bytes, tuple[np.ndarray, int]]] = [{} for _ in range(n)]

    def add(plans: list[tuple[int, np.ndarray]]) -> int:
        """Add the plans new to the master and within the stock, as columns (and the rows
        of cells no column used before); how many were added."""
        begin: list[int] = [0]     # where each column's entries start in index, coef
        index: list[int] = []
        coef: list[float] = []
        cost: list[float] = []
        new_rows: list[int] = []
        for o, x in plans:
            key = x.tobytes()
            cells, units = joint.use(o, x)
            if (key in columns[o] or (units > stock[cells]).any()
                    or ((x > 0) & ~joint.may[o]).any()):
                continue
            for c in cells.tolist():
                if c not in rows:
                    rows[c] = n + len(rows)
                    new_rows.append(c)
            value = joint.value(o, x)
            columns[o][key] = x, value
            index.extend((o, *(rows[c] for c in cells.tolist())))
            coef.extend((1.0, *units.tolist()))
            begin.append(len(index))
            cost.append(value / scale)
        if new_rows:
            upper = stock[new_rows].astype(np.float64)
            master.addRows(len(new_rows), np.full(len(new_rows), -highspy.kHighsInf), upper,
                           0, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32),
                           np.zeros(0))
        if cost:
            master.addCols(len(cost), np.array(cost), np.zeros(len(cost)),
                           np.full(len(cost), highspy.kHighsInf), len(index),
                           np.array(begin[:-1], dtype=np.int32),
                           np.array(index, dtype=np.int32), np.array(coef))
        return len(cost)

    for plans in starts:
        add(list(enumerate(plans)))
    # per order: a lower bound per source on its plans there (see source_floors), once
    # priced, and its problem without the sources above the known plan's value
    floors: dict[int, np.ndarray | None] = {}
    narrowed: dict[int, tuple[AllocationProblem, np.ndarray | None]] = {}

    def narrow(o: int, upper: int) -> tuple[AllocationProblem, np.ndarray | None]:
        """Order ``o``'s problem with only the sources whose floor is at most ``upper``,
        and their positions (``None``: all of them); the last one, if the same."""
        fl = floors[o]
        keep = None if fl is None else np.flatnonzero(fl <= upper)
        if keep is not None and len(keep) == base[o].n_sources:
            keep = None
        was = narrowed.get(o)
        if was is not None and (was[1] is None if keep is None
                                else was[1] is not None and np.array_equal(was[1], keep)):
            return was
        narrowed[o] = base[o] if keep is None else base[o].with_sources(keep), keep
        return narrowed[o]

    # Wentges smoothing: price at a mix of the best prices so far (the centre; the LP's, if
    # it ran) and the master's duals, which swing wildly in early rounds
    centre = joint.prices.astype(np.float64)
    best = 0
    priced = 0    # orders solved against prices (for the log)

    def price(dual: np.ndarray, mu: np.ndarray, alpha: float) -> list[tuple[int, np.ndarray]]:
        """New columns (negative reduced cost at the master's duals) from each order solved
        against prices smoothed towards the centre, and the Lagrangian bound of those."""
        nonlocal best, centre, priced
        lam = np.floor(alpha * centre + (1 - alpha) * dual).astype(np.int64)
        value = list(alone)
        found = []
        tol = 1e-9 * np.abs(mu) + 1
        # no plan of an order whose optimum alone reaches its dual has a negative reduced
        # cost: only the others are solved
        todo = [o for o in range(n) if alone[o] < mu[o] - tol[o]]
        priced += len(todo)
        first = [o for o in todo if o not in floors]
        floors.update(zip(first, joint.solvers.map(source_floors, [base[o] for o in first]),
                          strict=True))
        # each order's cheapest known plan at these prices: the solver need not look at
        # sources that cannot beat it, and the problem need not hold them (prices only
        # raise costs, so a source's floor unpriced still bounds its plans)
        known = [min(v + int((lam[cid[o]] * x).sum()) for x, v in columns[o].values())
                 for o in todo]
        problems = []
        for o, upper in zip(todo, known, strict=True):
            sub, keep = narrow(o, upper)
            problems.append(replace(sub, unit_cost=sub.unit_cost + lam[
                cid[o] if keep is None else cid[o][:, keep]]))
        answers = joint.solvers.alone(problems, known)
        for o, (value[o], x) in zip(todo, answers, strict=True):
            keep = narrowed[o][1]
            if keep is not None:
                x = _widen(x, keep, base[o].n_sources)
            if joint.value(o, x) + float((dual[cid[o]] * x).sum()) < mu[o] - tol[o]:
                found.append((o, x))
        bound = sum(value) - int((lam * stock).sum())
        if bound > best:
            best, centre = bound, lam.astype(np.float64)
            joint.lagrange = lam, value
        return found

    for round_ in range(rounds):
        if joint.out_of_time():
            break
        master.run()
        if master.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # the interior point can stall on a badly scaled master (short penalties far
            # above the costs): simplex, warm from where it stopped, usually finishes
            logger.debug("column generation round %d: the interior point ended %s; "
                         "simplex takes over", round_,
                         master.modelStatusToString(master.getModelStatus()))
            master.setOptionValue("solver", "simplex")
            master.run()
        if master.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            logger.debug("column generation round %d: the master LP ended %s; the bound "
                         "stays at the last round's", round_,
                         master.modelStatusToString(master.getModelStatus()))
            break
        value_master = master.getInfo().objective_function_value * scale
        if value_master - best <= max(tolerance, 1e-6 * abs(value_master)):
            break      # the bound has reached the master's value: converged
        duals = np.asarray(master.getSolution().row_dual)
        dual = np.zeros(len(stock), dtype=np.float64)
        cells = np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))
        at = np.fromiter(rows.values(), dtype=np.int64, count=len(rows))
        dual[cells] = np.maximum(-duals[at] * scale, 0.0)
        mu = duals[:n] * scale
        # the smoothed prices first; the master's own if those find nothing (mispricing)
        found = price(dual, mu, 0.5) or price(dual, mu, 0.0)
        added = add(found)
        logger.debug("column generation round %d: master %.0f, bound %d, %d orders priced, "
                     "%d columns added", round_, value_master, best, priced, added)
        priced = 0
        if not added:
            break
    lam = centre.astype(np.int64)
    # the interior point's duals are central: cells that are not scarce get a fraction of
    # a cent, noise the price-directed pass would have to solve around
    joint.prices = np.where(lam >= COST_SCALE // 100, lam, 0)
    joint.generated = [{key: x for key, (x, _) in plans.items()} for plans in columns]
    return best
