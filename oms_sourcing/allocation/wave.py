"""Wave optimisation: source a batch of orders jointly against shared stock.

Per-order sourcing is greedy across orders: the first order takes the cheap unit a later order
needed more. :func:`allocate_wave` sources a wave together:

1. **Each order alone** against the full stock (its optimum: the sum of them is a bound).
2. **Per-order pass** — every order sourced in turn against the stock the earlier ones left,
   as live sourcing would (the baseline, and the warm start: the wave result is never worse
   than it). An order whose own optimum still fits the stock left keeps it without a solve.
3. **Column generation** (Dantzig-Wolfe) — a master LP picks, per order, a convex mix of
   known plans within the shared stock; its stock duals price every cell, and each order solved
   alone against its priced stock (exactly, by the per-order solver) yields new plans. Every
   round gives a Lagrangian bound, ``Σ_o min_o(cost + λ·use) − λ·stock``, which at the end is
   the best bound that prices stock instead of enforcing it — above the LP relaxation of the
   compact model (each order's plans are integral). Prices are smoothed (Wentges) towards the
   best so far, and only orders whose dual exceeds their optimum alone are priced.
4. **Master MIP** — one generated plan per order, within the stock (CP-SAT, deterministic),
   warm-started with the per-order plan: usually most of the saving.
5. **Local search** — each order in turn gives its stock back and re-takes its best plan
   against what the others leave; then a **large-neighbourhood search** frees a dozen orders
   competing for the same stock and re-solves them jointly (a small SCIP MIP).
6. **Proof** (``WaveConfig.proof_gap``) — at column generation's best prices, each order's
   plans within a margin ``δ`` of its priced optimum are few: all of them are listed and the
   wave is solved exactly over those (CP-SAT). Any wave plan that uses another costs more
   than the Lagrangian bound plus ``δ``, so the step proves the least of that and its MIP's
   bound, past the Dantzig-Wolfe bound, and its plan is often better too.
7. Optionally the LP relaxation of the compact model (GLOP) and the **whole-wave MIP** over it,
   with reduced-cost fixing (a shipment whose reduced cost lifts the LP bound above the
   per-order plan's cost cannot be in a better plan).

The objective is each order's own (shipping cost terms of its policy) plus a common penalty per
unit left short, larger than any order's shipping, so the wave first ships as many units as the
stock allows, then at least cost. Orders whose problems carry side constraints (bundles, one
source per line, minimum values, binding capacities, hold-until-complete), virtual lines or
``rank`` policies keep their per-order plans, and their stock is taken out before the joint
model. So do orders that may ship from a source whose capacity left (orders, lines, units)
the wave's orders could together exceed: the per-order pass counts what each of them uses,
so the wave never ships more than a source can take, but the joint model does not yet trade
capacity between orders. Each stock cell (source, SKU) holds what the joint orders' policies let
them take (safety stock held back, stock status, reservations), the least of them where their
policies differ, so no order's safety stock is spent by another. Every budget is work
(rounds, nodes, CP-SAT's deterministic time), so a wave gets the same plan on any machine;
``WaveConfig.time_limit_s`` is an optional wall-clock stop. Steps 1 and 3 solve thousands of
orders independently: ``WaveConfig.workers`` shares them with worker processes, with the same
plans for any number of them.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cached_property, partial
from typing import Any

import numpy as np

from oms_sourcing.allocation._parallel import MIN_BATCH, Solvers, solve_alone, solve_plan
from oms_sourcing.allocation._plans import listable, plans_within
from oms_sourcing.allocation.allocate import (
    AllocationResult,
    SolverConfig,
    _result,
    _solve_one,
    solve_problem,
)
from oms_sourcing.allocation.builder import COST_SCALE, SourcingProblem, build_problem
from oms_sourcing.allocation.exact import source_floors
from oms_sourcing.allocation.lookahead import BidPrices
from oms_sourcing.allocation.problem import (
    AllocationProblem,
    Plan,
    SolveStatus,
    make_plan,
    objective_of,
)
from oms_sourcing.domain import Capacity, Catalog, Order, from_units
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import SkuStock, StockSnapshot
from oms_sourcing.rules.model import Policy, Ruleset
from oms_sourcing.rules.select import select

__all__ = ["WaveConfig", "WaveResult", "allocate_wave"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WaveConfig:
    """What the wave solves, and its budget — counted in work (rounds, nodes, CP-SAT's
    deterministic time), so the same wave gets the same plan on any machine;
    ``time_limit_s`` is a wall-clock safety stop (``None``: none), and a result it cut short
    may differ from run to run.

    Attributes:
        lp: solve the LP relaxation of the compact model (a bound, and reduced-cost fixing for
            the whole-wave MIP); skipped for waves with more than ``lp_max_columns`` shipment
            columns. The column generation's bound is never below it by more than its
            ``pricing_tolerance``.
        pricing_rounds: column-generation rounds (master LP solves), each pricing the orders
            the master's stock duals make worth re-solving; the Lagrangian bound is the best
            of them (0: no column generation; the bound is then the LP's and the sum of
            per-order optima).
        pricing_tolerance: column generation stops once its bound is within this fraction of
            the per-order pass's cost of the master LP's value (the best bound it could reach
            lies between the two); 0: only when no order can gain a plan.
        master_effort: the deterministic seconds (CP-SAT's work measure) of the MIP that picks
            one generated plan per order (0: skip it).
        neighbourhoods: large-neighbourhood-search steps: each frees ``neighbourhood_orders``
            orders competing for the same stock and re-solves them jointly (a small MIP,
            at most ``neighbourhood_nodes`` nodes) against what the others leave, each line
            from the sources its current and its own best plan use plus its
            ``neighbourhood_sources`` cheapest others (0: every source).
        local_search_rounds: rounds of each order in turn re-taking its best plan.
        price_directed: after column generation, also source the orders one by one against
            the stock left with every unit charged its stock price, then improve that plan by
            local search (it pays where stock is very scarce; on large waves the master MIP's
            plan is usually better, and this pass costs a sequential solve per order).
        mip: also solve the whole wave as one MIP (``mip_solver``: ``scip`` or ``highs``,
            at most ``mip_max_nodes`` nodes); slower than the neighbourhood search on large
            waves, but it reports the MIP's own bound.
        proof_gap: after the steps above, prove the plan within this fraction of its cost if
            the bound so far does not (0: skip): every plan of each order within reach of
            column generation's Lagrangian bound is listed, and the wave is solved exactly over
            those (a CP-SAT MIP of at most ``proof_effort`` deterministic seconds, over at
            most ``proof_plans`` plans in all); its plan is taken if better. It needs column
            generation (``pricing_rounds``), and works best after it ran to the end
            (``pricing_tolerance=0``, as in :meth:`proven`).
        workers: processes that solve orders alone (each order's optimum, column generation's
            pricing): 1 solves everything in this process; more start ``workers - 1`` worker
            processes for waves of at least 64 orders. The plans are the same either way.
    """

    lp: bool = True
    lp_max_columns: int = 50_000
    pricing_rounds: int = 30
    pricing_tolerance: float = 0.001
    master_effort: float = 1.0
    neighbourhoods: int = 600
    neighbourhood_orders: int = 12
    neighbourhood_sources: int = 8
    neighbourhood_nodes: int = 2_000
    local_search_rounds: int = 3
    price_directed: bool = True
    mip: bool = False
    mip_solver: str = "scip"
    mip_max_nodes: int = 100_000
    proof_gap: float = 0.0
    proof_plans: int = 50_000
    proof_effort: float = 5.0
    time_limit_s: float | None = None
    workers: int = 1

    @classmethod
    def large(cls, workers: int = 2, **changes: Any) -> WaveConfig:
        """For large waves, where speed matters more than the last tenth of a percent: column
        generation stops within 0.3 % of its bound, and the master MIP's plan is the wave's
        (no price-directed pass, local or neighbourhood search); ``workers`` processes.
        ``changes`` override any other field. BENCHMARKS.md (W3) has its figures."""
        settings: dict[str, Any] = {
            "pricing_tolerance": 0.003, "price_directed": False, "local_search_rounds": 0,
            "neighbourhoods": 0, "workers": workers}
        return cls(**{**settings, **changes})

    @classmethod
    def proven(cls, gap: float = 0.003, workers: int = 1, **changes: Any) -> WaveConfig:
        """For a proven gap: column generation runs until no order can gain a plan (the best
        Lagrangian bound, which the proof step builds on), then the master MIP and the proof
        step to within ``gap`` (no price-directed pass, local or neighbourhood search);
        ``workers`` processes. ``changes`` override any other field. It proved 1,000 orders
        × 50 sources within 0.298 % in 6-9 s (BENCHMARKS.md, W3); where stock is scarcer the
        bound's own gap is larger and the proof step gives up (within ``proof_plans``)."""
        settings: dict[str, Any] = {
            "pricing_tolerance": 0.0, "price_directed": False, "local_search_rounds": 0,
            "neighbourhoods": 0, "proof_gap": gap, "workers": workers}
        return cls(**{**settings, **changes})

    def __post_init__(self) -> None:
        for name in ("lp_max_columns", "pricing_rounds", "master_effort",
                     "neighbourhoods", "neighbourhood_sources", "neighbourhood_nodes",
                     "local_search_rounds", "mip_max_nodes", "proof_plans", "proof_effort"):
            if getattr(self, name) < 0:
                raise ValueError(f"WaveConfig.{name} is {getattr(self, name)}; "
                                 "it must be 0 or more")
        if self.workers < 1:
            raise ValueError(f"WaveConfig.workers is {self.workers}; use 1 (this process only) "
                             "or more (that many processes, such as os.cpu_count())")
        if self.neighbourhood_orders < 2:
            raise ValueError(f"WaveConfig.neighbourhood_orders is {self.neighbourhood_orders}; "
                             "a neighbourhood needs at least 2 orders")
        if self.mip_solver not in ("scip", "highs"):
            raise ValueError(f"WaveConfig.mip_solver is {self.mip_solver!r}; "
                             "use 'scip' or 'highs'")
        if not 0 <= self.pricing_tolerance < 1:
            raise ValueError(f"WaveConfig.pricing_tolerance is {self.pricing_tolerance}; use a "
                             "fraction of the cost in [0, 1), such as 0.001")
        if not 0 <= self.proof_gap < 1:
            raise ValueError(f"WaveConfig.proof_gap is {self.proof_gap}; use a fraction of the "
                             "cost in [0, 1), such as 0.003, or 0 to skip the proof step")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ValueError(f"WaveConfig.time_limit_s is {self.time_limit_s}; use a positive "
                             "number of seconds, or None for no wall-clock stop")


@dataclass(frozen=True, slots=True)
class WaveResult:
    """A wave's decisions and how good they are.

    ``results`` are per order, in input order. Money is in the network currency: ``cost`` is
    the wave's objective without the short penalty, ``per_order_cost`` the same for the per-order
    pass; ``short_units`` count units left short (by the wave, by the per-order pass), each
    SKU's in its smallest unit (tenths of a metre for a SKU sold in tenths); ``short_qty`` and
    ``per_order_short_qty`` are the same in each SKU's own unit (2.5 for 2.5 m). These figures
    are the joint orders'; the other orders keep their per-order plans.
    ``bound`` is a lower bound on the full objective (the best of the LP relaxation, the
    Lagrangian bound, the sum of per-order optima, and the proof step's and the whole-wave
    MIP's, where they ran; short penalty included, as are
    ``objective`` and ``per_order_objective``) and ``gap`` is ``(objective - bound) / cost``.
    Where the per-order pass already reaches ``sum_of_optima`` (no order's best plan is in
    another's way), that plan is proven optimal and nothing joint runs: ``lp_bound`` and
    ``lagrangian_bound`` are then ``None``.
    """

    results: tuple[AllocationResult, ...]
    status: str      # "optimal" (bound reached) or "feasible" (a gap remains)
    improved: bool   # the joint plan beats the per-order pass (else the wave keeps the latter)
    cost: Decimal
    per_order_cost: Decimal
    short_units: int
    per_order_short_units: int
    objective: Decimal
    per_order_objective: Decimal
    bound: Decimal
    lp_bound: Decimal | None
    lagrangian_bound: Decimal | None   # column generation's (None: it did not run)
    sum_of_optima: Decimal
    gap: float
    joint_orders: int
    columns: int
    columns_kept: int
    seconds: float
    #: seconds per step, in order: ``build`` (rules, problems), ``optima``, ``per_order``,
    #: ``lp``, ``column_generation``, ``master_mip``, ``local_search``, ``neighbourhoods``,
    #: ``proof``, ``mip``, ``results`` (the joint orders' results; steps that did not run are
    #: left out)
    phases: tuple[tuple[str, float], ...] = ()
    short_qty: Decimal = Decimal(0)
    per_order_short_qty: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class _Entry:
    order: Order
    policy: Policy
    trace: tuple[str, ...]
    rule: str | None
    full: SourcingProblem          # against the full stock


@dataclass(frozen=True, slots=True)
class _Joint:
    """An order in the joint model: its physical problem against the full stock, and its
    per-order plan on that problem's columns."""

    index: int
    problem: AllocationProblem
    plan: Plan      # the per-order pass's
    ms: float       # and the milliseconds it took
    best: Plan      # the order's optimum alone, against the full stock

    @property
    def x(self) -> np.ndarray:
        return np.asarray(self.plan.x)


def _remaining(snapshot: StockSnapshot, used: Mapping[str, np.ndarray],
               skus: Sequence[str]) -> StockSnapshot:
    out: dict[str, SkuStock] = {}
    for sku in skus:
        st = snapshot[sku]
        if sku in used:
            out[sku] = replace(st, available=st.available - used[sku])
        else:
            out[sku] = st
    return StockSnapshot(snapshot.source_codes, out)


class _Capacity:
    """The capacity left per limited source as the per-order pass uses it."""

    def __init__(self, network: SourceNetwork, start: Mapping[str, Capacity] | None) -> None:
        self.remaining: dict[str, list[Decimal | None]] = {}
        for source in network.sources:
            cap = source.capacity
            if start is not None and source.code in start:
                cap = start[source.code]
            if cap.is_limited:
                self.remaining[source.code] = [None if v is None else Decimal(v)
                                               for v in (cap.orders, cap.lines, cap.units)]

    def at_risk(self, problems: Sequence[SourcingProblem]) -> set[str]:
        """The limited sources the orders of ``problems`` could together ask more of than
        is left (each order once, every line it may send there, all its units)."""
        if not self.remaining:
            return set()
        asked: dict[str, list[Decimal]] = {code: [Decimal(0)] * 3 for code in self.remaining}
        for sp in problems:
            for part in (sp.physical, sp.virtual):
                if part is None:
                    continue
                for k, code in enumerate(part.sources):
                    lines = part.allowed[:, k]
                    if code not in asked or not lines.any():
                        continue
                    asked[code][0] += 1
                    asked[code][1] += int(lines.sum())
                    asked[code][2] += sum(Decimal(int(d)).scaleb(-sp.line_decimals[line])
                                          for d, line, ok in zip(part.demand, part.lines, lines,
                                                                 strict=True) if ok)
        return {code for code, limit in self.remaining.items()
                if any(lim is not None and need > lim
                       for lim, need in zip(limit, asked[code], strict=True))}

    def left(self) -> dict[str, Capacity]:
        return {code: Capacity(orders=None if o is None else max(int(o), 0),
                               lines=None if li is None else max(int(li), 0),
                               units=None if u is None else max(u, Decimal(0)))
                for code, (o, li, u) in self.remaining.items()}

    def take(self, result: AllocationResult) -> None:
        """Count what ``result``'s shipments use."""
        for shipment in result.shipments:
            if shipment.source is None or shipment.source not in self.remaining:
                continue
            cap = self.remaining[shipment.source]
            deltas = (Decimal(1), Decimal(len(shipment.lines)),
                      sum((lq.qty for lq in shipment.lines), Decimal(0)))
            for i, delta in enumerate(deltas):
                value = cap[i]
                if value is not None:
                    cap[i] = value - delta


def _joinable(sp: SourcingProblem, policy: Policy) -> AllocationProblem | None:
    """The problem of an order that may join the joint model (unless capacity keeps it out:
    physical lines only, no ranks, no side constraints), else ``None``."""
    whole = sp.physical
    if (whole is None or sp.virtual is not None or sp.rejected or policy.uses_rank
            or whole.has_side_constraints):
        return None
    return whole


def _fits(p: AllocationProblem, x: np.ndarray, stock: np.ndarray) -> bool:
    """Whether quantities ``x`` of ``p`` fit ``stock`` (shaped like ``p.stock``)."""
    need = np.zeros_like(p.stock)
    np.add.at(need, p.line_sku, x)
    return bool((need <= stock).all())


def _taken(p: AllocationProblem, used: Mapping[str, np.ndarray], columns: np.ndarray,
           managed: Callable[[str], bool]) -> np.ndarray | None:
    """The units of each of ``p``'s stock cells (SKU, source) that ``used`` (units per SKU
    and source, in network order; ``columns`` is the network position of ``p``'s sources)
    took; ``None`` if none."""
    out: np.ndarray | None = None
    for u, sku in enumerate(p.skus):
        arr = used.get(sku)
        if arr is None or not managed(sku):
            continue
        got = np.minimum(arr[columns], p.stock[u])
        if got.any():
            if out is None:
                out = np.zeros_like(p.stock)
            out[u] = got
    return out


def allocate_wave(
    orders: Sequence[Order],
    rules: Ruleset | Policy,
    network: SourceNetwork,
    snapshot: StockSnapshot,
    now: datetime,
    *,
    catalog: Catalog | None = None,
    config: WaveConfig = WaveConfig(),
    solver: SolverConfig | None = None,
    bid_prices: BidPrices | None = None,
    capacity_left: Mapping[str, Capacity] | None = None,
) -> WaveResult:
    """Source ``orders`` jointly against ``snapshot`` (which must hold every SKU of the wave).

    Returns per-order results whose reservations together never exceed the snapshot's stock,
    nor the wave's shipments any source's capacity left (``capacity_left``, per source, as for
    :func:`allocate`; ``None``: each source's daily capacity from the network), and the bound
    and gap of the joint plan. Nothing is reserved: reserve each result's ``reservations()``
    as for :func:`allocate`. With ``config.workers > 1``, orders solved alone are shared with
    worker processes (see :mod:`oms_sourcing.allocation._parallel`; same plans).
    """
    with Solvers(config.workers) as solvers:
        if len(orders) >= MIN_BATCH:
            solvers.start()     # the workers import while the problems are built
        return _allocate_wave(orders, rules, network, snapshot, now, catalog=catalog,
                              config=config, solver=solver, bid_prices=bid_prices,
                              capacity_left=capacity_left, solvers=solvers)


def _allocate_wave(
    orders: Sequence[Order],
    rules: Ruleset | Policy,
    network: SourceNetwork,
    snapshot: StockSnapshot,
    now: datetime,
    *,
    catalog: Catalog | None,
    config: WaveConfig,
    solver: SolverConfig | None,
    bid_prices: BidPrices | None,
    capacity_left: Mapping[str, Capacity] | None,
    solvers: Solvers,
) -> WaveResult:
    start = time.perf_counter()
    solver = solver or SolverConfig()
    phases: dict[str, float] = {}
    clock = start

    def lap(name: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now_ - clock
        clock = now_

    entries: list[_Entry] = []
    # each order that may join the joint model, solved alone by the workers while the rest
    # are built (an order that capacity keeps out, below, just does not use its answer)
    solving = solvers.stream(partial(solve_plan, solver), len(orders))
    streamed: list[tuple[int, AllocationProblem]] = []
    for order in orders:
        if isinstance(rules, Ruleset):
            sel = select(order, rules, catalog)
            policy, trace, rule = sel.policy, tuple(str(t) for t in sel.trace), sel.rule_name
        else:
            policy, trace, rule = rules, (), None
        full = build_problem(order, policy, network, snapshot, now, catalog=catalog,
                             bid_prices=bid_prices, capacity_left=capacity_left)
        entries.append(_Entry(order, policy, trace, rule, full))
        whole = _joinable(full, policy)
        if whole is not None:
            streamed.append((len(entries) - 1, whole))
            solving.put(whole)
    rid = rules.id if isinstance(rules, Ruleset) else None
    rversion = rules.version if isinstance(rules, Ruleset) else None

    lap("build")
    # sources whose capacity left the wave's orders could exhaust: only orders sourced one by
    # one (which count what the earlier ones used) may ship from them
    capacity = _Capacity(network, capacity_left)
    risky = capacity.at_risk([e.full for e in entries])
    # 1. each order of the joint model (no side constraints, virtual lines, ranks or sources
    # whose capacity could run out) alone, against the full stock, as _solve_one solves an
    # order without ranks (streamed while the wave was built): a lower bound on its part of
    # any wave plan
    first: dict[int, tuple[AllocationProblem, Plan, float]] = {}
    for (n, whole), (plan, ms) in zip(streamed, solving.results(), strict=True):
        if not (risky and any(whole.allowed[:, k].any() for k, code in enumerate(whole.sources)
                              if code in risky)):
            first[n] = whole, plan, ms
    lap("optima")

    # 2. the per-order pass: each order in turn against the stock the earlier ones left
    used: dict[str, np.ndarray] = {}     # SKU -> units taken per source (network order)
    per_order: list[AllocationResult | None] = []
    joint: list[_Joint] = []
    managed = catalog.stock_managed if catalog is not None else (lambda sku: True)
    positions: dict[int, np.ndarray] = {}

    def columns(n: int, p: AllocationProblem) -> np.ndarray:
        """The network position of each source of order ``n``'s problem ``p``."""
        found = positions.get(n)
        if found is None:
            found = entries[n].full.network_columns(p)
            if found is None:
                found = np.array([network.index(code) for code in p.sources], dtype=np.int64)
            positions[n] = found
        return found

    others: dict[str, np.ndarray] = {}   # the same, by the orders outside the joint model

    def take(sub: AllocationProblem, x: np.ndarray, outside: bool = False) -> None:
        for i in range(sub.n_lines):
            sku = sub.skus[int(sub.line_sku[i])]
            for k in np.flatnonzero(x[i]).tolist():
                for book in (used, others) if outside else (used,):
                    arr = book.setdefault(sku, np.zeros(len(network.codes), dtype=np.int64))
                    arr[network.index(sub.sources[k])] += int(x[i, k])

    for n, e in enumerate(entries):
        if n in first:
            whole, best, ms = first[n]
            plan = best
            # the order's problem on the stock the earlier orders left is the same as one built
            # on it (which only lowers the stock-managed cells they took from); while that
            # stock still holds the order's own optimum, it is still optimal
            taken = _taken(whole, used, columns(n, whole), managed)
            if taken is not None and not _fits(whole, np.asarray(best.x), whole.stock - taken):
                t0 = time.perf_counter()
                plan = _solve_one(replace(whole, stock=whole.stock - taken), "physical", e.full,
                                  solver)
                ms = (time.perf_counter() - t0) * 1000
            take(whole, np.asarray(plan.x))
            per_order.append(None)    # its result is made from the plan the wave keeps
            joint.append(_Joint(n, whole, plan, ms, best))
            continue
        skus = sorted({line.sku for line in e.order.lines if line.sku in snapshot})
        sp = build_problem(e.order, e.policy, network, _remaining(snapshot, used, skus), now,
                           catalog=catalog, bid_prices=bid_prices,
                           capacity_left=capacity.left() if risky else capacity_left)
        t0 = time.perf_counter()
        order_plans = solve_problem(sp, solver)
        ms = (time.perf_counter() - t0) * 1000
        sourced = _result(sp, order_plans, ms, e.trace, e.rule, rid, rversion, solver)
        capacity.take(sourced)
        per_order.append(sourced)
        for name, part in (("physical", sp.physical), ("virtual", sp.virtual)):
            if part is not None and name in order_plans:
                take(part, np.asarray(order_plans[name].x), outside=True)

    penalty = max((int(j.problem.short_cost.max()) for j in joint), default=1)
    base_cost = base_short = 0
    for j in joint:
        c, s = _cost_and_short(j.problem, j.x)
        base_cost, base_short = base_cost + c, base_short + s
    base_obj = base_cost + penalty * base_short
    # each order's optimum alone, with the common short penalty (0 where not proven: still a
    # lower bound), and its plan; their sum bounds the wave (each order fills at least as
    # many units alone as in any wave plan)
    alone: list[int] = []
    wish: list[np.ndarray] = []
    for j in joint:
        c, s = _cost_and_short(j.problem, np.asarray(j.best.x))
        alone.append(c + penalty * s if j.best.status is SolveStatus.OPTIMAL else 0)
        wish.append(np.asarray(j.best.x))
    optima = sum(alone)

    # the stock the joint orders share: what each may take, less what the other orders took
    stock0, sku_cells, may = _joint_stock([j.problem for j in joint],
                                          [columns(j.index, j.problem) for j in joint],
                                          len(network.codes), others, managed)
    lap("per_order")
    deadline = None if config.time_limit_s is None else start + config.time_limit_s
    model = _JointModel([j.problem for j in joint], stock0, sku_cells, may, penalty,
                        deadline, wish, solvers)
    # the per-order pass already reaches the sum of the optima alone (no order's optimum is
    # in another's way): that plan is optimal, and nothing joint can improve it
    contended = bool(joint) and base_obj > optima
    lp_bound: int | None = None
    if config.lp and contended and model.columns <= config.lp_max_columns:
        lp_bound = model.solve_lp(base_obj)
        lap("lp")
    best_x = [j.x for j in joint]
    best_obj = base_obj

    def consider(xs: list[np.ndarray], step: str) -> None:
        nonlocal best_x, best_obj
        value = sum(model.value(o, x) for o, x in enumerate(xs))
        logger.debug("%s: objective %d (best so far %d)", step, value, min(value, best_obj))
        if value < best_obj:
            best_x, best_obj = xs, value

    # 3-7: bound, then improve the plan (each step starts from the best so far)
    lagrangian = 0
    if contended and config.pricing_rounds:
        lagrangian = model.column_generation([wish, best_x], alone, config.pricing_rounds,
                                             int(config.pricing_tolerance * base_cost))
        lap("column_generation")
        if config.master_effort:
            master_x = model.master_mip(best_x, config.master_effort)
            if master_x is not None:
                consider(master_x, "master MIP")
            lap("master_mip")
    if contended and config.price_directed and model.prices.any():
        consider(model.improve(model.price_directed(), config.local_search_rounds, alone),
                 "price-directed pass")
    if contended and config.local_search_rounds:
        consider(model.improve(best_x, config.local_search_rounds, alone), "local search")
    if contended and ((config.price_directed and model.prices.any())
                  or config.local_search_rounds):
        lap("local_search")
    if contended and config.neighbourhoods:
        consider(model.neighbourhood_search(best_x, alone, wish, config), "neighbourhoods")
        lap("neighbourhoods")
    proof_bound = 0
    if contended and config.proof_gap and config.pricing_rounds:
        so_far = max(lp_bound or 0, optima, lagrangian)
        best_cost = sum(_cost_and_short(j.problem, x)[0] for j, x in zip(joint, best_x,
                                                                            strict=True))
        target = best_obj - int(config.proof_gap * best_cost)
        if target > so_far:
            proof_x, proof_bound = model.prove(best_x, target, config.proof_plans,
                                               config.proof_effort)
            if proof_x is not None:
                consider(proof_x, "proof")
        lap("proof")
    cp_bound = 0
    if contended and config.mip:
        mip_x, cp_bound = model.solve_mip(best_x, config.mip_solver, config.mip_max_nodes)
        if mip_x is not None:
            consider(model.improve(mip_x, config.local_search_rounds, alone), "wave MIP")
        lap("mip")
    joint_x: list[np.ndarray] | None = None
    wave_cost, wave_short = base_cost, base_short
    if best_obj < base_obj:
        joint_x = best_x
        wave_cost = wave_short = 0
        for j, x in zip(joint, best_x, strict=True):
            c, s = _cost_and_short(j.problem, x)
            wave_cost, wave_short = wave_cost + c, wave_short + s

    results = list(per_order)
    for n, j in enumerate(joint):
        e = entries[j.index]
        plan, ms = j.plan, j.ms
        if joint_x is not None:
            x = joint_x[n]
            plan = make_plan(j.problem, x, j.problem.demand - x.sum(axis=1),
                             status=SolveStatus.FEASIBLE, solver="wave")
            ms = 0.0
        # made on the wave's stock: explanations (alternatives) look at all of it
        results[j.index] = _result(e.full, {"physical": plan}, ms, e.trace, e.rule, rid,
                                   rversion, solver)
    lap("results")
    # the MIP's bound ignores plans through columns reduced-cost fixing dropped, which cost at
    # least the per-order plan: it bounds only below that
    bound = max(lp_bound or 0, optima, lagrangian, min(cp_bound, base_obj), proof_bound)
    wave_obj = wave_cost + penalty * wave_short
    # only the proof step's target may pass the plan (when CP-SAT found one below it); any other
    # bound above a feasible plan is a bug to hear about, not to hide behind "optimal"
    if max(lp_bound or 0, optima, lagrangian) > wave_obj * (1 + 1e-9) + 1:
        logger.warning("wave: a lower bound (LP %s, optima %s, Lagrangian %s) exceeds the plan's "
                       "objective %s", lp_bound, optima, lagrangian, wave_obj)
    bound = min(bound, wave_obj)
    gap = (wave_obj - bound) / wave_cost if wave_cost else 0.0
    status = "optimal" if wave_obj <= bound else "feasible"

    def money(v: int) -> Decimal:
        return Decimal(v) / COST_SCALE

    def short_qty(xs: Sequence[np.ndarray]) -> Decimal:
        """Units the joint orders' quantities ``xs`` leave short, in each SKU's own unit."""
        total = Decimal(0)
        for j, x in zip(joint, xs, strict=True):
            decimals = entries[j.index].full.line_decimals
            left = (j.problem.demand - x.sum(axis=1)).tolist()
            total += sum((from_units(int(s), decimals[j.problem.lines[i]])
                          for i, s in enumerate(left) if s), Decimal(0))
        return total

    per_order_short = short_qty([j.x for j in joint])

    return WaveResult(
        results=tuple(r for r in results if r is not None), status=status,
        improved=joint_x is not None,
        cost=money(wave_cost),
        per_order_cost=money(base_cost), short_units=wave_short,
        per_order_short_units=base_short, objective=money(wave_obj),
        per_order_objective=money(base_obj), bound=money(bound),
        lp_bound=None if lp_bound is None else money(lp_bound),
        lagrangian_bound=money(lagrangian) if contended and config.pricing_rounds else None,
        sum_of_optima=money(optima),
        gap=gap, joint_orders=len(joint), columns=model.columns, columns_kept=model.kept,
        seconds=time.perf_counter() - start,
        phases=tuple((name, round(sec, 3)) for name, sec in phases.items()),
        short_qty=per_order_short if joint_x is None else short_qty(joint_x),
        per_order_short_qty=per_order_short,
    )


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
        self._wish_use = [self._use(o, x) for o, x in enumerate(self.wish)]
        self._wish_may = [not ((x > 0) & ~m).any() for x, m in zip(self.wish, self.may,
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

    def _build(self, integer: bool, hints: list[np.ndarray] | None = None) -> tuple[
        Any, dict[tuple[int, int], Any], dict[tuple[int, int, int], Any]
    ]:
        """The joint model (continuous for the LP relaxation, integer for the MIP); its
        objective is in currency units (solvers handle those better than millionths)."""
        from ortools.linear_solver.python import model_builder as mb

        m = mb.Model()  # type: ignore[no-untyped-call]
        ys: dict[tuple[int, int], Any] = {}
        xs: dict[tuple[int, int, int], Any] = {}
        use: dict[int, list[Any]] = {}
        obj_vars: list[Any] = []
        obj_coef: list[float] = []
        for o, p in enumerate(self.problems):
            hint = hints[o] if hints is not None else None
            caps = np.where(self.may[o], np.minimum(self.stock[self.cid[o]], p.demand[:, None]),
                            0).tolist()
            cid = self.cid[o].tolist()
            for k in range(p.n_sources):
                if integer and (o, k) in self.dropped and (hint is None or not hint[:, k].any()):
                    continue
                y = m.new_var(0.0, 1.0, integer, f"y{o}_{k}")
                ys[o, k] = y
                obj_vars.append(y)
                obj_coef.append(float(p.fixed_cost[k]) / COST_SCALE)
                if hint is not None:
                    m.add_hint(y, float(hint[:, k].any()))
            for i in range(p.n_lines):
                fill = []
                for k in np.flatnonzero(p.allowed[i]).tolist():
                    cap = caps[i][k]
                    if (o, k) not in ys or cap <= 0:
                        continue
                    x = m.new_var(0.0, float(cap), integer, f"x{o}_{i}_{k}")
                    xs[o, i, k] = x
                    m.add(x <= cap * ys[o, k])
                    fill.append(x)
                    obj_vars.append(x)
                    obj_coef.append(float(p.unit_cost[i, k]) / COST_SCALE)
                    use.setdefault(cid[i][k], []).append(x)
                    if hint is not None:
                        m.add_hint(x, float(hint[i, k]))
                short = m.new_var(0.0, float(p.demand[i]), integer, f"s{o}_{i}")
                obj_vars.append(short)
                obj_coef.append(float(self.penalty) / COST_SCALE)
                if hint is not None:
                    m.add_hint(short, float(int(p.demand[i]) - int(hint[i].sum())))
                m.add(mb.LinearExpr.sum([*fill, short]) == float(p.demand[i]))
            if p.max_shipments is not None:
                m.add(mb.LinearExpr.sum([ys[o, k] for k in range(p.n_sources)
                                         if (o, k) in ys]) <= float(p.max_shipments))
        self.rows = {c: m.add(mb.LinearExpr.sum(vs) <= float(self.stock[c]))
                     for c, vs in use.items()}
        m.minimize(mb.LinearExpr.weighted_sum(obj_vars, obj_coef))
        return m, ys, xs

    def solve_lp(self, upper: int) -> int | None:
        """The LP relaxation's optimum (a bound) and reduced-cost fixing against ``upper``."""
        from ortools.linear_solver.python import model_builder as mb

        m, ys, _ = self._build(integer=False)
        lp = mb.Solver("glop")
        lp.enable_output(False)
        if lp.solve(m) != mb.SolveStatus.OPTIMAL:
            return None
        value = float(lp.objective_value) * COST_SCALE
        bound = _int_bound(value)
        slack = upper - value
        for (o, k), y in ys.items():
            rc = float(lp.reduced_cost(y)) * COST_SCALE
            if lp.value(y) <= 1e-9 and rc > slack + 1e-6 * abs(upper):
                self.dropped.add((o, k))
        self.kept = self.columns - len(self.dropped)
        for c, row in self.rows.items():
            self.prices[c] = max(int(np.floor(-float(lp.dual_value(row)) * COST_SCALE)), 0)
        return max(bound, 0)

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

    def _use(self, o: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stock ``x`` takes: cell ids (each once) and units."""
        nz = np.nonzero(x)
        cells, units = self.cid[o][nz], x[nz]
        if len(cells) > 1 and len(np.unique(cells)) < len(cells):
            cells, at = np.unique(cells, return_inverse=True)
            units = np.bincount(at, weights=units).astype(np.int64)
        return cells, units

    def _left(self, plans: list[np.ndarray]) -> np.ndarray:
        left = self.stock.copy()
        for o, x in enumerate(plans):
            cells, units = self._use(o, x)
            left[cells] -= units
        return left

    def column_generation(self, starts: list[list[np.ndarray]], alone: list[int],
                          rounds: int, tolerance: int = 0) -> int:
        """The Lagrangian (Dantzig-Wolfe) bound by column generation; the plans it generated
        are kept for :meth:`master_mip`, its last stock prices in ``prices``.

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

        n = len(self.problems)
        cid, stock = self.cid, self.stock
        # each order against the wave's stock, with the common short penalty
        base = [self.priced(o, stock, None) for o in range(n)]
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
                cells, units = self._use(o, x)
                if (key in columns[o] or (units > stock[cells]).any()
                        or ((x > 0) & ~self.may[o]).any()):
                    continue
                for c in cells.tolist():
                    if c not in rows:
                        rows[c] = n + len(rows)
                        new_rows.append(c)
                value = self.value(o, x)
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
        centre = self.prices.astype(np.float64)
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
            floors.update(zip(first, self.solvers.map(source_floors, [base[o] for o in first]),
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
            answers = self.solvers.alone(problems, known)
            for o, (value[o], x) in zip(todo, answers, strict=True):
                keep = narrowed[o][1]
                if keep is not None:
                    x = _widen(x, keep, base[o].n_sources)
                if self.value(o, x) + float((dual[cid[o]] * x).sum()) < mu[o] - tol[o]:
                    found.append((o, x))
            bound = sum(value) - int((lam * stock).sum())
            if bound > best:
                best, centre = bound, lam.astype(np.float64)
                self.lagrange = lam, value
            return found

        for round_ in range(rounds):
            if self.out_of_time():
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
        self.prices = np.where(lam >= COST_SCALE // 100, lam, 0)
        self.generated = [{key: x for key, (x, _) in plans.items()} for plans in columns]
        return best

    def master_mip(self, hint: list[np.ndarray], effort: float) -> list[np.ndarray] | None:
        """The best choice of one plan per order among those :meth:`column_generation`
        generated, within the stock: CP-SAT (one worker, so deterministic) for at most
        ``effort`` deterministic seconds, warm-started with ``hint`` (whose plans must be among
        them); ``None`` if it found nothing. Orders with one plan are fixed to it."""
        from ortools.sat.python import cp_model

        model = cp_model.CpModel()
        left = self.stock.copy()
        terms: dict[int, list[tuple[Any, int]]] = {}
        objective = []
        chosen: list[list[tuple[Any, np.ndarray]] | np.ndarray] = []
        for o, cols in enumerate(self.generated):
            if len(cols) == 1:
                x = next(iter(cols.values()))
                cells, units = self._use(o, x)
                left[cells] -= units
                chosen.append(x)
                continue
            picks = []
            # each order picks exactly one plan: its cheapest costs nothing extra (smaller
            # coefficients make CP-SAT's relaxation cheaper; the optimum is the same)
            floor = min(self.value(o, x) for x in cols.values())
            for key, x in cols.items():
                z = model.new_bool_var("")
                picks.append((z, x))
                objective.append((z, self.value(o, x) - floor))
                cells, units = self._use(o, x)
                for c, q in zip(cells.tolist(), units.tolist(), strict=True):
                    terms.setdefault(c, []).append((z, q))
                model.add_hint(z, key == hint[o].tobytes())
            model.add_exactly_one(z for z, _ in picks)
            chosen.append(picks)
        solver, status, _ = self._solve_choice(model, terms, left, objective, effort)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return [pick if isinstance(pick, np.ndarray)
                else next(x for z, x in pick if solver.boolean_value(z)) for pick in chosen]

    def prove(self, hint: list[np.ndarray], target: int, max_plans: int, effort: float
              ) -> tuple[list[np.ndarray] | None, int]:
        """Solve the wave exactly over every plan within reach of the bound: the plan found
        (``None``: none found, or the step could not run) and a proven lower bound of the
        wave's objective (0 where nothing was proven).

        At column generation's best prices ``λ`` every wave plan costs at least
        ``L + Σ_o (c_o − v_o)``, ``L`` being its Lagrangian bound, ``c_o`` order ``o``'s plan
        at those prices and ``v_o ≤`` its priced optimum. So a plan below ``L + δ`` gives each
        order a plan within ``δ`` of ``v_o`` — few, and :func:`plans_within` lists them all —
        and the wave's best plan among those (CP-SAT, one worker, at most ``effort``
        deterministic seconds, warm-started with ``hint`` where its plans are among them)
        is the wave's optimum if CP-SAT proves it the best of them and it costs less than
        ``L + δ``; in any case the least of CP-SAT's bound and ``L + δ`` is proven. ``δ`` is
        what lifts the bound to ``target``, halved while the orders have more than
        ``max_plans`` such plans together (at most three times).

        Before the MIP, a cell that the orders' plans could not overdraw even if each took the
        most any of its plans takes is left out, and an order keeps, among plans that take the
        same units of the other cells, only its cheapest (the first, on ties).
        """
        from ortools.sat.python import cp_model

        if self.lagrange is None or not all(listable(p) for p in self.problems):
            return None, 0
        lam, value = self.lagrange
        lagrangian = sum(value) - int((lam * self.stock).sum())
        delta = target - lagrangian
        if delta <= 0:
            return None, 0
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None
        for _ in range(4):
            found = self._plans_within(lam, value, delta, max_plans)
            if found is not None or self.out_of_time():
                break
            delta //= 2
        if found is None:
            return None, 0
        if any(not len(vals) for _, _, vals, _ in found):
            # some order has no plan within δ of its priced optimum: every wave plan costs
            # more than L + δ
            return None, lagrangian + delta
        left = self.stock.copy()
        alive = [np.arange(len(vals)) for _, _, vals, _ in found]
        fixed = np.zeros(len(found), dtype=np.bool_)
        while True:
            most = np.zeros(len(left), dtype=np.int64)
            for o, (cells, use, _, _) in enumerate(found):
                if not fixed[o]:
                    most[cells] += use[alive[o]].max(axis=0)
            binding = most > left
            changed = False
            for o, (cells, use, vals, _) in enumerate(found):
                if fixed[o]:
                    continue
                at = alive[o]
                keys = np.ascontiguousarray(use[at][:, binding[cells]])
                # per distinct use of the binding cells, the cheapest plan (the first on ties)
                cheapest: dict[bytes, int] = {}
                for n in np.lexsort((at, vals[at])).tolist():
                    cheapest.setdefault(keys[n].tobytes(), n)
                keep = np.sort(at[np.fromiter(cheapest.values(), dtype=np.int64)])
                if len(keep) < len(at):
                    alive[o], changed = keep, True
                if len(keep) == 1:
                    fixed[o], changed = True, True
                    left[cells] -= use[keep[0]]
            if not changed:
                break
        if (left < 0).any():
            # orders left with one plan each overdraw a cell: no choice of the plans listed
            # fits the stock, so every wave plan costs more than L + δ
            return None, lagrangian + delta
        model = cp_model.CpModel()
        terms: dict[int, list[tuple[Any, int]]] = {}
        objective: list[tuple[Any, int]] = []
        base = 0
        choice: list[list[tuple[Any, int]]] = []
        for o, (cells, use, vals, xs) in enumerate(found):
            at = alive[o]
            floor = int(vals[at].min())
            base += floor
            if fixed[o]:
                choice.append([])
                continue
            want = hint[o].tobytes()
            picks = []
            hot = np.flatnonzero(binding[cells])
            for n in at.tolist():
                z = model.new_bool_var("")
                picks.append((z, n))
                if vals[n] > floor:
                    objective.append((z, int(vals[n]) - floor))
                for h in hot.tolist():
                    if use[n, h]:
                        terms.setdefault(int(cells[h]), []).append((z, int(use[n, h])))
                model.add_hint(z, xs[n].tobytes() == want)
            model.add_exactly_one(z for z, _ in picks)
            choice.append(picks)
        solver, status, unit = self._solve_choice(model, terms, left, objective, effort)
        if status == cp_model.INFEASIBLE:
            # no choice of those plans fits the stock: every wave plan costs more than L + δ
            return None, lagrangian + delta
        if status != cp_model.OPTIMAL and status != cp_model.FEASIBLE:
            # nothing found within the effort; CP-SAT's bound holds all the same
            return None, min(base + int(solver.best_objective_bound) * unit,
                             lagrangian + delta)
        bound = min(base + int(solver.best_objective_bound) * unit, lagrangian + delta)
        plans = []
        for o, (_, _, _, xs) in enumerate(found):
            n = alive[o][0] if fixed[o] else next(n for z, n in choice[o]
                                                  if solver.boolean_value(z))
            plans.append(xs[n])
        return plans, bound

    def _plans_within(self, lam: np.ndarray, value: list[int], delta: int, max_plans: int
                      ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None:
        """Per order, every plan whose objective at prices ``lam`` is within ``delta`` of
        ``value``: the cells the order may use, each plan's units of them, its objective
        (unpriced, with the common short penalty) and its quantities; ``None`` if more than
        ``max_plans`` in all."""
        out = []
        total = 0
        for o, p in enumerate(self.problems):
            got = plans_within(self.priced(o, self.stock, lam), value[o] + delta,
                               max_plans - total)
            if got is None:
                return None
            xs, priced = got
            total += len(xs)
            if total > max_plans or self.out_of_time():
                return None
            cid = self.cid[o]
            cells, at = np.unique(cid, return_inverse=True)
            flat = xs.reshape(len(xs), p.n_lines * p.n_sources)
            use = np.zeros((len(xs), len(cells)), dtype=np.int64)
            np.add.at(use.T, at.reshape(-1), flat.T)
            out.append((cells, use, priced - use @ lam[cells], xs))
        return out

    def _solve_choice(self, model: Any, terms: dict[int, list[tuple[Any, int]]],
                      left: np.ndarray, objective: list[tuple[Any, int]], effort: float
                      ) -> tuple[Any, Any, int]:
        """Finish and solve a CP-SAT model in which each order picks one plan: a stock row for
        each cell its plans could overdraw (``terms``: the plans' booleans and units per cell;
        ``left``: the stock), and the objective (booleans and costs, divided by their common
        divisor). One worker (deterministic), at most ``effort`` deterministic seconds and the
        deadline. Returns the solver, its status and that divisor."""
        from ortools.sat.python import cp_model

        for c, zs in terms.items():
            if sum(q for _, q in zs) > left[c]:
                model.add(cp_model.LinearExpr.weighted_sum([z for z, _ in zs],
                                                           [q for _, q in zs]) <= int(left[c]))
        unit = math.gcd(*(v for _, v in objective)) or 1
        model.minimize(cp_model.LinearExpr.weighted_sum([z for z, _ in objective],
                                                        [v // unit for _, v in objective]))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_deterministic_time = effort
        if self.deadline is not None:
            solver.parameters.max_time_in_seconds = max(self.deadline - time.perf_counter(), 0.01)
        return solver, solver.solve(model), unit

    @cached_property
    def keys(self) -> list[np.ndarray]:
        """Per order: the cells it may draw on (allowed, with stock); for the searches."""
        return [np.unique(c[p.allowed & m & (self.stock[c] > 0)])
                for c, m, p in zip(self.cid, self.may, self.problems, strict=True)]

    def _drawers(self) -> tuple[np.ndarray, np.ndarray]:
        """Which orders may draw on each cell: ``orders[start[c]:start[c + 1]]``."""
        lengths = np.array([len(k) for k in self.keys], dtype=np.int64)
        flat = np.concatenate([*self.keys, np.zeros(0, dtype=np.int64)])
        owner = np.repeat(np.arange(len(self.keys)), lengths)
        order = np.argsort(flat, kind="stable")
        start = np.searchsorted(flat[order], np.arange(len(self.stock) + 1))
        return owner[order], start

    def improve(self, plans: list[np.ndarray], rounds: int, alone: list[int]
                ) -> list[np.ndarray]:
        """Local search: each order in turn gives its stock back and takes the best plan for
        itself against what the others leave, while the wave's objective falls (never rises:
        the order's own plan is always still available). Orders at their optimum alone
        (``alone``) are skipped."""
        plans = [x.copy() for x in plans]
        left = self._left(plans)
        owners, start = self._drawers()
        # an order's best reply depends only on the stock left in the cells it may draw on:
        # after its last solve, it is solved again only once one of them changed
        stale = np.ones(len(plans), dtype=np.bool_)
        for _ in range(rounds):
            changed = False
            for o in range(len(self.problems)):
                if self.out_of_time():
                    return plans
                x = plans[o]
                if not stale[o] or self.value(o, x) <= alone[o]:
                    continue
                stale[o] = False
                cells, units = self._use(o, x)
                left[cells] += units
                if self._own_fits(o, left) and self.value(o, self.wish[o]) == alone[o]:
                    y = self.wish[o]    # its optimum alone is still in stock: nothing beats it
                else:
                    problem = self.priced(o, left, None)
                    value, y = solve_alone(problem)
                    if not (value < _objective(problem, x) and _objective(problem, y) == value):
                        y = x
                if y is not x:
                    for c in np.union1d(cells, self._use(o, y)[0]).tolist():
                        stale[owners[start[c]:start[c + 1]]] = True
                    stale[o] = False
                    x = plans[o] = y.copy()
                    changed = True
                cells, units = self._use(o, x)
                left[cells] -= units
            if not changed:
                break
        return plans

    def _narrowed(self, o: int, plan: np.ndarray, wish: np.ndarray, stock: np.ndarray,
                  width: int) -> AllocationProblem:
        """Order ``o``'s problem for a neighbourhood: each line may use the sources its plan
        and its own optimum use, and the ``width`` cheapest others holding stock (a unit plus
        the shipment); ``width`` 0 keeps every source."""
        p = self.problems[o]
        if not width or p.n_sources <= width:
            return p
        allowed = (plan > 0) | (wish > 0)
        held = (stock[self.cid[o]] > 0) & self.may[o]
        for i in range(p.n_lines):
            ok = np.flatnonzero(p.allowed[i] & held[i])
            price = p.unit_cost[i, ok] + p.fixed_cost[ok]
            allowed[i, ok[np.lexsort((ok, price))][:width]] = True
        return replace(p, allowed=allowed & p.allowed)

    def neighbourhood_search(self, plans: list[np.ndarray], alone: list[int],
                             wish: list[np.ndarray], config: WaveConfig) -> list[np.ndarray]:
        """Large-neighbourhood search: free a few orders that compete for the same stock and
        solve them jointly (a small MIP, warm-started with their plans) against what the others
        leave, keeping the result when it is better.

        Seeds are the orders furthest above their own optimum (``alone``, with plans
        ``wish``); a seed's neighbours are the orders holding the cells its own optimum takes
        (those count most) or that it may draw on. An order is seeded again only after its
        plan changed. The steps and each MIP's nodes are the budget.
        """
        wanted = [set(self._use(o, x)[0].tolist()) for o, x in enumerate(wish)]
        plans = [x.copy() for x in plans]
        n = len(plans)
        left = self._left(plans)
        holders: dict[int, set[int]] = {}
        for o, x in enumerate(plans):
            for c in self._use(o, x)[0].tolist():
                holders.setdefault(c, set()).add(o)
        value = [self.value(o, x) for o, x in enumerate(plans)]
        tried = [False] * n
        steps = 0
        while steps < config.neighbourhoods and not self.out_of_time():
            seeds = sorted((o for o in range(n) if not tried[o] and value[o] > alone[o]),
                           key=lambda o: (alone[o] - value[o], o))
            if not seeds:
                break
            for seed in seeds:
                if steps >= config.neighbourhoods or self.out_of_time():
                    break
                if tried[seed]:
                    continue
                steps += 1
                tried[seed] = True
                score: dict[int, int] = {}
                for c in self.keys[seed].tolist():
                    weight = 4 if c in wanted[seed] else 1
                    for o in holders.get(c, ()):
                        if o != seed:
                            score[o] = score.get(o, 0) + weight
                rivals = sorted(score, key=lambda o: (-score[o], o))
                hood = [seed, *rivals[:config.neighbourhood_orders - 1]]
                if len(hood) < 2:
                    continue
                # the stock the others leave to the neighbourhood, on its cells (those it may
                # draw on, and those its plans hold)
                sub_stock = np.zeros_like(left)
                mine = np.unique(np.concatenate([*(self.keys[o] for o in hood),
                                                 *(self._use(o, plans[o])[0] for o in hood)]))
                sub_stock[mine] = left[mine]
                for o in hood:
                    cells, units = self._use(o, plans[o])
                    sub_stock[cells] += units
                problems = [self._narrowed(o, plans[o], wish[o], sub_stock,
                                           config.neighbourhood_sources) for o in hood]
                sub = _JointModel(problems, sub_stock, [self.sku_cid[o] for o in hood],
                                  [self.may_sku[o] for o in hood], self.penalty)
                found, _ = sub.solve_mip([plans[o] for o in hood], config.mip_solver,
                                         config.neighbourhood_nodes)
                if found is None:
                    continue
                before = sum(value[o] for o in hood)
                after = [sub.value(h, x) for h, x in enumerate(found)]
                new_left = sub._left(found)
                # the MIP's quantities are rounded floats: keep them only if they fit the stock
                # (where the others already hold more than the joint stock, as per-order plans
                # of orders with laxer policies may, the neighbourhood must take nothing)
                if sum(after) >= before or (
                        new_left[mine] < np.minimum(sub_stock[mine], 0)).any():
                    continue
                for h, o in enumerate(hood):
                    if np.array_equal(found[h], plans[o]):
                        continue
                    for c in self._use(o, plans[o])[0].tolist():
                        holders[c].discard(o)
                    plans[o], value[o], tried[o] = found[h], after[h], False
                    for c in self._use(o, plans[o])[0].tolist():
                        holders.setdefault(c, set()).add(o)
                left[mine] = new_left[mine]
        return plans

    def _own_fits(self, o: int, stock: np.ndarray) -> bool:
        """Whether order ``o``'s optimum alone (if known) fits ``stock``."""
        if not self.wish or not self._wish_may[o]:
            return False
        cells, units = self._wish_use[o]
        return bool((stock[cells] >= units).all())

    def price_directed(self) -> list[np.ndarray]:
        """Orders sourced one by one against the stock left, each unit charged its LP price:
        a per-order pass that leaves stock where the LP says it is worth most."""
        stock = self.stock.copy()
        plans = []
        for o in range(len(self.problems)):
            if self._own_fits(o, stock) and not self.prices[self._wish_use[o][0]].any():
                # its optimum alone is in stock and unpriced (prices only make others dearer)
                x = self.wish[o]
            else:
                _, x = solve_alone(self.priced(o, stock, self.prices))
            cells, units = self._use(o, x)
            stock[cells] -= units
            plans.append(x)
        return plans

    def solve_mip(self, hints: list[np.ndarray], backend: str, nodes: int
                  ) -> tuple[list[np.ndarray] | None, int]:
        """The joint MIP within ``nodes`` (and the deadline, if any): quantities per order
        (``None``: no plan found) and the solver's bound."""
        from ortools.linear_solver.python import model_builder as mb

        # OR-Tools 9.15 crashes when HiGHS is given hints (SCIP takes them): the caller's plan
        # stays the fallback either way (a MIP plan is used only when it is better)
        m, _, xs = self._build(integer=True, hints=None if backend == "highs" else hints)
        mip = mb.Solver(backend)
        mip.enable_output(False)
        if backend == "highs":
            mip.set_solver_specific_parameters(f"output_flag=false\nmip_max_nodes={nodes}")
        else:
            mip.set_solver_specific_parameters(f"limits/nodes = {nodes}")
        if self.deadline is not None:
            mip.set_time_limit_in_seconds(max(self.deadline - time.perf_counter(), 0.01))
        status = mip.solve(m)
        if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
            return None, 0
        plans = [np.zeros((p.n_lines, p.n_sources), dtype=np.int64) for p in self.problems]
        for (o, i, k), var in xs.items():
            plans[o][i, k] = round(mip.value(var))
        bound = _int_bound(float(mip.best_objective_bound) * COST_SCALE)
        return plans, bound
