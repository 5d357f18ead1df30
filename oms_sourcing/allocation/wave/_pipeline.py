"""The wave's steps in order: :func:`allocate_wave`."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import partial

import numpy as np

from oms_sourcing.allocation._parallel import MIN_BATCH, Solvers, solve_plan
from oms_sourcing.allocation.allocate import (
    AllocationResult,
    SolverConfig,
    _result,
    _solve_one,
    solve_problem,
)
from oms_sourcing.allocation.builder import COST_SCALE, build_problem
from oms_sourcing.allocation.lookahead import BidPrices
from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus, make_plan
from oms_sourcing.allocation.wave._column_generation import column_generation
from oms_sourcing.allocation.wave._compact import solve_lp, solve_mip
from oms_sourcing.allocation.wave._config import WaveConfig, WaveResult
from oms_sourcing.allocation.wave._joint import _cost_and_short, _joint_stock, _JointModel
from oms_sourcing.allocation.wave._local_search import improve, price_directed
from oms_sourcing.allocation.wave._master_mip import master_mip
from oms_sourcing.allocation.wave._neighbourhoods import neighbourhood_search
from oms_sourcing.allocation.wave._per_order import (
    _Capacity,
    _Entry,
    _fits,
    _joinable,
    _Joint,
    _remaining,
    _taken,
)
from oms_sourcing.allocation.wave._proof import prove
from oms_sourcing.domain import Capacity, Catalog, Order, from_units
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockSnapshot
from oms_sourcing.rules.model import Policy, Ruleset
from oms_sourcing.rules.select import select

# one logger for the whole wave, named as when it was one module
logger = logging.getLogger("oms_sourcing.allocation.wave")


def allocate_wave(
    orders: Sequence[Order],
    rules: Ruleset | Policy,
    network: SourceNetwork,
    snapshot: StockSnapshot,
    now: datetime,
    *,
    catalog: Catalog | None = None,
    config: WaveConfig = WaveConfig(),  # noqa: B008 (a frozen dataclass)
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
        lp_bound = solve_lp(model, base_obj)
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
        lagrangian = column_generation(model, [wish, best_x], alone, config.pricing_rounds,
                                             int(config.pricing_tolerance * base_cost))
        lap("column_generation")
        if config.master_effort:
            master_x = master_mip(model, best_x, config.master_effort)
            if master_x is not None:
                consider(master_x, "master MIP")
            lap("master_mip")
    if contended and config.price_directed and model.prices.any():
        consider(improve(model, price_directed(model), config.local_search_rounds, alone),
                 "price-directed pass")
    if contended and config.local_search_rounds:
        consider(improve(model, best_x, config.local_search_rounds, alone), "local search")
    if contended and ((config.price_directed and model.prices.any())
                  or config.local_search_rounds):
        lap("local_search")
    if contended and config.neighbourhoods:
        consider(neighbourhood_search(model, best_x, alone, wish, config), "neighbourhoods")
        lap("neighbourhoods")
    proof_bound = 0
    if contended and config.proof_gap and config.pricing_rounds:
        so_far = max(lp_bound or 0, optima, lagrangian)
        best_cost = sum(_cost_and_short(j.problem, x)[0] for j, x in zip(joint, best_x,
                                                                            strict=True))
        target = best_obj - int(config.proof_gap * best_cost)
        if target > so_far:
            proof_x, proof_bound = prove(model, best_x, target, config.proof_plans,
                                               config.proof_effort)
            if proof_x is not None:
                consider(proof_x, "proof")
        lap("proof")
    cp_bound = 0
    if contended and config.mip:
        mip_x, cp_bound = solve_mip(model, best_x, config.mip_solver, config.mip_max_nodes)
        if mip_x is not None:
            consider(improve(model, mip_x, config.local_search_rounds, alone), "wave MIP")
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
