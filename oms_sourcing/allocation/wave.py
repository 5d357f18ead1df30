"""Wave optimisation: source a batch of orders jointly against shared stock.

Per-order sourcing is greedy across orders: the first order takes the cheap unit a later order
needed more. :func:`allocate_wave` sources a wave together:

1. **Per-order pass** — every order sourced in turn against the stock the earlier ones left, as
   live sourcing would (the baseline, and the joint model's warm start: the wave result is never
   worse than it).
2. **Bounds** — the sum of per-order optima against the full stock (each order alone), the LP
   relaxation of the joint model (GLOP), and a Lagrangian bound (step 4), whichever is highest.
3. **Candidate reduction by reduced cost** — a shipment ``y[order, source]`` whose LP reduced
   cost lifts the LP bound to the per-order plan's cost or above cannot be in any better plan
   and is dropped, with its quantities; every source that can still improve is kept.
4. **Price-directed pass and Lagrangian bound** — the LP's stock duals price every unit; the
   orders sourced one by one with those prices give a second plan, and each order solved alone
   with them gives a Lagrangian bound (the shared stock priced instead of enforced), usually a
   little above the LP's because each order's plan is integral.
5. **Joint model** — a MIP over the remaining columns (SCIP, bundled with OR-Tools; HiGHS as an
   option), warm-started with the per-order plan, with a node limit and a wall-clock stop as
   its budget, reporting its own bound.
6. **Local search** — each order in turn gives its stock back and re-takes its best plan
   against what the others leave, for a few rounds, from every plan found; the best is kept.

The objective is each order's own (shipping cost terms of its policy) plus a common penalty per
unit left short, larger than any order's shipping, so the wave first ships as many units as the
stock allows, then at least cost. Orders whose problems carry side constraints (bundles, one
source per line, minimum values, binding capacities, hold-until-complete), virtual lines or
``rank`` policies keep their per-order plans, and their stock is taken out before the joint
model. Capacity is not yet shared across the wave's orders.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from oms_sourcing.allocation.allocate import (
    AllocationResult,
    SolverConfig,
    _result,
    solve_problem,
)
from oms_sourcing.allocation.builder import COST_SCALE, SourcingProblem, build_problem
from oms_sourcing.allocation.exact import solve_exact
from oms_sourcing.allocation.lookahead import BidPrices
from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus, make_plan
from oms_sourcing.domain import Catalog, Order
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import SkuStock, StockSnapshot
from oms_sourcing.rules.model import Policy, Ruleset
from oms_sourcing.rules.select import select

__all__ = ["WaveConfig", "WaveResult", "allocate_wave"]


@dataclass(frozen=True, slots=True)
class WaveConfig:
    """The joint MIP's backend (an OR-Tools bundled solver: ``scip`` by default, or ``highs``)
    and budget: a node limit (a work measure, so results reproduce when it binds first) and a
    wall-clock stop; and whether to solve the LP relaxation (bound, prices, reduced-cost
    fixing) and the MIP at all."""

    lp: bool = True
    mip: bool = True
    local_search_rounds: int = 3
    mip_solver: str = "scip"
    mip_max_nodes: int = 100_000
    time_limit_s: float = 60.0


@dataclass(frozen=True, slots=True)
class WaveResult:
    """A wave's decisions and how good they are.

    ``results`` are per order, in input order. Money is in the network currency: ``cost`` is
    the wave's objective without the short penalty, ``per_order_cost`` the same for the per-order
    pass; ``short_units`` count units left short (by the wave, by the per-order pass).
    ``bound`` is a lower bound on the full objective (short penalty included, as are
    ``objective`` and ``per_order_objective``) and ``gap`` is ``(objective - bound) / cost``.
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
    sum_of_optima: Decimal
    gap: float
    joint_orders: int
    columns: int
    columns_kept: int
    seconds: float


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
    x: np.ndarray


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


def _to_columns(problem: AllocationProblem, sub: AllocationProblem, plan: Plan) -> np.ndarray:
    """``plan`` of ``sub`` (a problem built later, on fewer columns) as quantities of
    ``problem``'s columns."""
    col = {code: j for j, code in enumerate(problem.sources)}
    x = np.zeros((problem.n_lines, problem.n_sources), dtype=np.int64)
    rows = {line: i for i, line in enumerate(problem.lines)}
    for i, line in enumerate(sub.lines):
        for k in np.flatnonzero(plan.x[i]).tolist():
            x[rows[line], col[sub.sources[k]]] += int(plan.x[i, k])
    return x


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
) -> WaveResult:
    """Source ``orders`` jointly against ``snapshot`` (which must hold every SKU of the wave).

    Returns per-order results whose reservations together never exceed the snapshot's stock,
    and the bound and gap of the joint plan. Nothing is reserved: reserve each result's
    ``reservations()`` as for :func:`allocate`.
    """
    start = time.perf_counter()
    solver = solver or SolverConfig()
    entries: list[_Entry] = []
    for order in orders:
        if isinstance(rules, Ruleset):
            sel = select(order, rules, catalog)
            policy, trace, rule = sel.policy, tuple(str(t) for t in sel.trace), sel.rule_name
        else:
            policy, trace, rule = rules, (), None
        full = build_problem(order, policy, network, snapshot, now, catalog=catalog,
                             bid_prices=bid_prices)
        entries.append(_Entry(order, policy, trace, rule, full))
    rid = rules.id if isinstance(rules, Ruleset) else None
    rversion = rules.version if isinstance(rules, Ruleset) else None

    # 1. per-order pass
    used: dict[str, np.ndarray] = {}
    per_order: list[AllocationResult] = []
    joint: list[_Joint] = []
    for n, e in enumerate(entries):
        skus = sorted({line.sku for line in e.order.lines if line.sku in snapshot})
        now_snap = _remaining(snapshot, used, skus)
        sp = build_problem(e.order, e.policy, network, now_snap, now, catalog=catalog,
                           bid_prices=bid_prices)
        t0 = time.perf_counter()
        order_plans = solve_problem(sp, solver)
        ms = (time.perf_counter() - t0) * 1000
        per_order.append(_result(sp, order_plans, ms, e.trace, e.rule, rid, rversion, solver))
        for name, sub in (("physical", sp.physical), ("virtual", sp.virtual)):
            if sub is None or name not in order_plans:
                continue
            plan = order_plans[name]
            for i in range(sub.n_lines):
                sku = sub.skus[int(sub.line_sku[i])]
                for k in np.flatnonzero(plan.x[i]).tolist():
                    idx = network.index(sub.sources[k])
                    arr = used.setdefault(sku, np.zeros(len(network.codes), dtype=np.int64))
                    arr[idx] += int(plan.x[i, k])
        whole = e.full.physical
        if (whole is not None and sp.physical is not None and "physical" in order_plans
                and e.full.virtual is None and not e.full.rejected
                and not e.policy.uses_rank and not whole.has_side_constraints):
            x_full = _to_columns(whole, sp.physical, order_plans["physical"])
            joint.append(_Joint(n, whole, x_full))

    penalty = max((int(j.problem.short_cost.max()) for j in joint), default=1)

    def objective(p: AllocationProblem, x: np.ndarray) -> tuple[int, int]:
        """(cost without short, short units) of quantities ``x`` of ``p``."""
        used_cols = x.sum(axis=0) > 0
        cost = int(p.fixed_cost[used_cols].sum()) + int((p.unit_cost * x).sum())
        return cost, int((p.demand - x.sum(axis=1)).sum())

    base_cost = base_short = 0
    for j in joint:
        c, s = objective(j.problem, j.x)
        base_cost, base_short = base_cost + c, base_short + s
    base_obj = base_cost + penalty * base_short

    # 2. sum of per-order optima against the full stock (each order alone)
    optima = 0
    for j in joint:
        best = solve_exact(j.problem)
        plan = (best if best is not None
                else solve_problem(entries[j.index].full, solver)["physical"])
        c, s = objective(j.problem, np.asarray(plan.x))
        # the order's own optimum fills at least as many units as any wave plan gives it
        optima += c + penalty * s if plan.status is SolveStatus.OPTIMAL else 0

    # stock left for the joint orders: the full stock minus what the other orders use
    stock0: dict[tuple[str, str], int] = {}
    for sku in {sku for j in joint for sku in j.problem.skus}:
        if sku not in snapshot:
            continue
        avail = np.maximum(snapshot[sku].available, 0)
        for k in np.flatnonzero(avail).tolist():
            stock0[(network.codes[k], sku)] = int(avail[k])
    in_joint = {j.index for j in joint}
    for n, e in enumerate(entries):
        if n in in_joint:
            continue
        for line_id, allocs in per_order[n].reservations().items():
            dec = e.full.line_decimals[line_id]
            for source, sku, qty in allocs:
                if (source, sku) in stock0:
                    stock0[(source, sku)] -= int(qty.scaleb(dec))

    model = _JointModel([j.problem for j in joint], stock0, penalty)
    lp_bound: int | None = None
    if config.lp and joint:
        lp_bound = model.solve_lp(base_obj)
    lagrangian = 0
    candidates: list[list[np.ndarray]] = []
    if lp_bound is not None and model.prices:
        lagrangian = model.lagrangian_bound()
        candidates.append(model.price_directed())
    cp_bound = 0
    start_x = [j.x for j in joint]
    if joint and config.mip:
        mip_x, cp_bound = model.solve_mip(start_x, config)
        if mip_x is not None:
            candidates.append(mip_x)
    if joint and config.local_search_rounds:
        candidates.append(model.improve(start_x, config.local_search_rounds))
        for xs in list(candidates[:-1]):
            candidates.append(model.improve(xs, config.local_search_rounds))
    joint_x: list[np.ndarray] | None = None
    wave_cost, wave_short = base_cost, base_short
    for xs in candidates:
        cost = short = 0
        for j, x in zip(joint, xs, strict=True):
            c, s = objective(j.problem, x)
            cost, short = cost + c, short + s
        if cost + penalty * short < wave_cost + penalty * wave_short:
            joint_x, wave_cost, wave_short = xs, cost, short

    results = list(per_order)
    if joint_x is not None:
        for j, x in zip(joint, joint_x, strict=True):
            e = entries[j.index]
            plan = make_plan(j.problem, x, j.problem.demand - x.sum(axis=1),
                             status=SolveStatus.FEASIBLE, solver="wave")
            results[j.index] = _result(e.full, {"physical": plan}, 0.0, e.trace, e.rule, rid,
                                       rversion, solver)
    # plans that use a column reduced-cost fixing dropped cost at least the per-order plan
    bound = max(lp_bound or 0, optima, lagrangian, min(cp_bound, base_obj))
    wave_obj = wave_cost + penalty * wave_short
    bound = min(bound, wave_obj)
    gap = (wave_obj - bound) / wave_cost if wave_cost else 0.0
    status = "optimal" if wave_obj <= bound else "feasible"

    def money(v: int) -> Decimal:
        return Decimal(v) / COST_SCALE

    return WaveResult(
        results=tuple(results), status=status, improved=joint_x is not None,
        cost=money(wave_cost),
        per_order_cost=money(base_cost), short_units=wave_short,
        per_order_short_units=base_short, objective=money(wave_obj),
        per_order_objective=money(base_obj), bound=money(bound),
        lp_bound=None if lp_bound is None else money(lp_bound), sum_of_optima=money(optima),
        gap=gap, joint_orders=len(joint), columns=model.columns, columns_kept=model.kept,
        seconds=time.perf_counter() - start,
    )


def _objective(p: AllocationProblem, x: np.ndarray) -> int:
    used = x.sum(axis=0) > 0
    return int(p.fixed_cost[used].sum() + (p.unit_cost * x).sum()
               + (p.short_cost * (p.demand - x.sum(axis=1))).sum())


def _int_bound(value: float) -> int:
    """A float lower bound of an integer objective as an integer: rounded up (every plan's
    objective is a whole number), after allowing for the solver's float error."""
    return int(np.ceil(value - 1e-9 * abs(value) - 1e-6))


class _JointModel:
    """The wave's joint model over the orders' problem columns."""

    def __init__(self, problems: list[AllocationProblem], stock: dict[tuple[str, str], int],
                 penalty: int) -> None:
        self.stock = stock
        self.penalty = penalty
        self.problems = problems
        self.columns = sum(p.n_sources for p in self.problems)
        # (order, column) pairs dropped by reduced-cost fixing
        self.dropped: set[tuple[int, int]] = set()
        self.kept = self.columns
        self.rows: dict[tuple[str, str], Any] = {}
        # (source, SKU) -> the LP's price of one more unit there (objective units, rounded down)
        self.prices: dict[tuple[str, str], int] = {}

    def _cap(self, p: AllocationProblem, i: int, k: int) -> int:
        sku = p.skus[int(p.line_sku[i])]
        return min(int(p.demand[i]), self.stock.get((p.sources[k], sku), 0))

    def _build(self, integer: bool, hints: list[np.ndarray] | None = None) -> tuple[
        Any, dict[tuple[int, int], Any], dict[tuple[int, int, int], Any]
    ]:
        """The joint model (continuous for the LP relaxation, integer for the MIP); its
        objective is in currency units (solvers handle those better than millionths)."""
        from ortools.linear_solver.python import model_builder as mb

        m = mb.Model()  # type: ignore[no-untyped-call]
        ys: dict[tuple[int, int], Any] = {}
        xs: dict[tuple[int, int, int], Any] = {}
        use: dict[tuple[str, str], list[Any]] = {}
        obj_vars: list[Any] = []
        obj_coef: list[float] = []
        for o, p in enumerate(self.problems):
            hint = hints[o] if hints is not None else None
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
                for k in range(p.n_sources):
                    cap = self._cap(p, i, k)
                    if (o, k) not in ys or not p.allowed[i, k] or cap <= 0:
                        continue
                    x = m.new_var(0.0, float(cap), integer, f"x{o}_{i}_{k}")
                    xs[o, i, k] = x
                    m.add(x <= cap * ys[o, k])
                    fill.append(x)
                    obj_vars.append(x)
                    obj_coef.append(float(p.unit_cost[i, k]) / COST_SCALE)
                    use.setdefault((p.sources[k], p.skus[int(p.line_sku[i])]), []).append(x)
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
        self.rows = {key: m.add(mb.LinearExpr.sum(vs) <= float(self.stock.get(key, 0)))
                     for key, vs in use.items()}
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
        for key, row in self.rows.items():
            price = int(np.floor(-float(lp.dual_value(row)) * COST_SCALE))
            if price > 0:
                self.prices[key] = price
        return max(bound, 0)

    def priced(self, p: AllocationProblem, stock: Mapping[tuple[str, str], int] | None,
               prices: bool = True) -> AllocationProblem:
        """An order's problem with every unit charged its LP price (unless ``prices`` is
        False), the common short penalty, and (if given) the stock left."""
        extra = np.zeros_like(p.unit_cost)
        for i in range(p.n_lines if prices else 0):
            sku = p.skus[int(p.line_sku[i])]
            for k in range(p.n_sources):
                extra[i, k] = self.prices.get((p.sources[k], sku), 0)
        kw: dict[str, Any] = {}
        if stock is not None:
            kw["stock"] = np.array([[stock.get((p.sources[k], p.skus[u]), 0)
                                     for k in range(p.n_sources)] for u in range(len(p.skus))],
                                   dtype=np.int64).reshape(p.stock.shape)
        return replace(p, unit_cost=p.unit_cost + extra,
                       short_cost=np.full(p.n_lines, self.penalty, dtype=np.int64), **kw)

    def lagrangian_bound(self) -> int:
        """``Σ_o min_o(cost + prices) − Σ prices × stock``: with the shared stock constraints
        priced instead of enforced, each order alone is solved exactly; a valid lower bound for
        any prices >= 0, usually tighter than the LP's (each order's plan is integral)."""
        from oms_sourcing.allocation.cpsat import solve_cpsat

        total = -sum(price * self.stock.get(key, 0) for key, price in self.prices.items())
        for p in self.problems:
            q = self.priced(p, None)
            plan = solve_exact(q)
            # CP-SAT's bound is a valid lower bound even when it stops short of optimal
            total += plan.objective if plan is not None else solve_cpsat(q).bound
        return total

    def improve(self, plans: list[np.ndarray], rounds: int) -> list[np.ndarray]:
        """Local search: each order in turn gives its stock back and takes the best plan for
        itself against what the others leave, while the wave's objective falls (never rises:
        the order's own plan is always still available)."""
        from oms_sourcing.allocation.cpsat import solve_cpsat

        plans = [x.copy() for x in plans]
        left = dict(self.stock)
        for p, x in zip(self.problems, plans, strict=True):
            for i, k in zip(*np.nonzero(x), strict=True):
                left[(p.sources[k], p.skus[int(p.line_sku[i])])] -= int(x[i, k])
        for _ in range(rounds):
            changed = False
            for o, p in enumerate(self.problems):
                x = plans[o]
                mine = [((p.sources[k], p.skus[int(p.line_sku[i])]), int(x[i, k]))
                        for i, k in zip(*np.nonzero(x), strict=True)]
                for key, q in mine:
                    left[key] += q
                problem = self.priced(p, left, prices=False)
                plan = solve_exact(problem) or solve_cpsat(problem)
                now = _objective(problem, x)
                if plan.objective < now:
                    x = np.asarray(plan.x).copy()
                    plans[o] = x
                    changed = True
                for i, k in zip(*np.nonzero(x), strict=True):
                    left[(p.sources[k], p.skus[int(p.line_sku[i])])] -= int(x[i, k])
            if not changed:
                break
        return plans

    def price_directed(self) -> list[np.ndarray]:
        """Orders sourced one by one against the stock left, each unit charged its LP price:
        a per-order pass that leaves stock where the LP says it is worth most."""
        from oms_sourcing.allocation.cpsat import solve_cpsat

        stock = dict(self.stock)
        plans = []
        for p in self.problems:
            q = self.priced(p, stock)
            plan = solve_exact(q)
            if plan is None:
                plan = solve_cpsat(q)
            x = np.asarray(plan.x)
            for i in range(p.n_lines):
                sku = p.skus[int(p.line_sku[i])]
                for k in np.flatnonzero(x[i]).tolist():
                    stock[(p.sources[k], sku)] -= int(x[i, k])
            plans.append(x)
        return plans

    def solve_mip(self, hints: list[np.ndarray], config: WaveConfig
                  ) -> tuple[list[np.ndarray] | None, int]:
        """The joint MIP within the budget: quantities per order (``None``: no plan found)
        and the solver's bound."""
        from ortools.linear_solver.python import model_builder as mb

        # OR-Tools 9.15 crashes when HiGHS is given hints (SCIP takes them): the per-order
        # plan stays the fallback either way (a joint plan is used only when it is better)
        m, _, xs = self._build(integer=True, hints=None if config.mip_solver == "highs"
                               else hints)
        mip = mb.Solver(config.mip_solver)
        mip.enable_output(False)
        if config.mip_solver == "highs":
            mip.set_solver_specific_parameters(
                f"output_flag=false\nmip_max_nodes={config.mip_max_nodes}")
        elif config.mip_solver == "scip":
            mip.set_solver_specific_parameters(f"limits/nodes = {config.mip_max_nodes}")
        mip.set_time_limit_in_seconds(config.time_limit_s)
        status = mip.solve(m)
        if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
            return None, 0
        plans = []
        for o, p in enumerate(self.problems):
            qty = np.zeros((p.n_lines, p.n_sources), dtype=np.int64)
            for (oo, i, k), var in xs.items():
                if oo == o:
                    qty[i, k] = round(mip.value(var))
            plans.append(qty)
        bound = _int_bound(float(mip.best_objective_bound) * COST_SCALE)
        return plans, bound
