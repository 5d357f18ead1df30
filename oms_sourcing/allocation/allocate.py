"""``allocate``: one order in, one :class:`AllocationResult` out.

The pipeline is ``rules.select`` → :func:`build_problem` → a solver → outcomes. Every unit of
every line ends in exactly one outcome (shipment, transfer to the pickup store, backorder, hold,
cancellation), each with a reason code, and the result explains the decision: which rule applied
and why earlier ones did not, and per line every source with why it was or was not used.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

import numpy as np

from oms_sourcing.allocation.builder import (
    COST_SCALE,
    Candidate,
    ShortAction,
    SourcingProblem,
    build_problem,
)
from oms_sourcing.allocation.exact import solve_exact
from oms_sourcing.allocation.lookahead import BidPrices
from oms_sourcing.allocation.problem import AllocationProblem, Plan, SolveStatus
from oms_sourcing.allocation.ranked import solve_ranked
from oms_sourcing.domain import (
    Backorder,
    Cancelled,
    Capacity,
    Catalog,
    Held,
    LineQty,
    Order,
    Reason,
    Shipment,
    Sku,
    SourceCode,
    Transfer,
    from_units,
)
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockSnapshot, UnitAllocations
from oms_sourcing.rules.model import Policy, Ruleset
from oms_sourcing.rules.select import select

__all__ = [
    "AllocationResult",
    "Alternative",
    "LineExplanation",
    "OptimalSolver",
    "Solver",
    "SolverConfig",
    "allocate",
    "solve_problem",
]


class Solver(Protocol):
    """Anything that turns an :class:`AllocationProblem` into a feasible :class:`Plan`."""

    name: str

    def solve(self, problem: AllocationProblem) -> Plan: ...


@dataclass(frozen=True, slots=True)
class SolverConfig:
    """How to solve: ``auto`` (exact fast path, CP-SAT where it does not apply; the greedy fill
    for ``rank`` policies), or one solver forced. Budgets are deterministic work limits."""

    solver: Literal["auto", "exact", "cp-sat", "ranked"] = "auto"
    node_limit: int = 20_000
    cpsat_deterministic_time: float = 5.0
    seed: int = 7


class OptimalSolver:
    """The exact fast path, with CP-SAT for problems it does not cover."""

    name = "optimal"

    def __init__(self, config: SolverConfig = SolverConfig()) -> None:
        self.config = config

    def solve(self, problem: AllocationProblem) -> Plan:
        if self.config.solver != "cp-sat":
            plan = solve_exact(problem, node_limit=self.config.node_limit)
            if plan is not None:
                return plan
        from oms_sourcing.allocation.cpsat import CpSatConfig, solve_cpsat

        return solve_cpsat(problem, CpSatConfig(
            max_deterministic_time=self.config.cpsat_deterministic_time,
            random_seed=self.config.seed,
        ))


def solve_problem(sp: SourcingProblem, config: SolverConfig = SolverConfig()) -> dict[str, Plan]:
    """Plans for the sub-problems of ``sp`` (``"physical"``, ``"virtual"``)."""
    plans: dict[str, Plan] = {}
    for name, problem in (("physical", sp.physical), ("virtual", sp.virtual)):
        if problem is not None:
            plans[name] = _solve_one(problem, name, sp, config)
    return plans


@dataclass(frozen=True, slots=True)
class Alternative:
    """The best plan in which a line may not use the source(s) it was given.

    ``cost_difference`` is that plan's objective minus the chosen plan's (>= 0 for an optimal
    decision; in currency units of the objective); it is ``None`` when without those sources
    some of the line's units could not ship at all (``short`` says how many, in line units).
    ``sources`` are where the line would have shipped from instead.
    """

    without: tuple[str, ...]
    sources: tuple[str, ...]
    cost_difference: Decimal | None
    short: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class LineExplanation:
    """Why one line ended as it did: its outcomes, every source considered and the best
    alternative to the sources it was given."""

    line_id: str
    sku: str
    qty: Decimal
    outcome: str
    candidates: tuple[Candidate, ...] = ()
    alternative: Alternative | None = None


class _Explanations:
    """Computes a result's per-line explanations when they are first read.

    Candidates come from the builder's filter masks; the alternative plan of a line is one more
    solve of its sub-problem with the line's chosen sources forbidden to it — per line, so it is
    done on demand, not on the hot path of every decision.
    """

    __slots__ = ("_config", "_done", "_plans", "_sp", "shipped_units", "transfer_units")

    def __init__(self, sp: SourcingProblem, plans: Mapping[str, Plan], config: SolverConfig,
                 shipped_units: Mapping[tuple[str, Reason], list[int]],
                 transfer_units: Mapping[str, list[int]]) -> None:
        self._sp = sp
        self._plans = plans
        self._config = config
        self._done: tuple[LineExplanation, ...] | None = None
        # per sourced shipment (source, reason) and per transfer origin: the units of each of
        # its lines, in order (reservations in integer units)
        self.shipped_units = shipped_units
        self.transfer_units = transfer_units

    @property
    def line_decimals(self) -> Mapping[str, int]:
        return self._sp.line_decimals

    def lines(self) -> tuple[LineExplanation, ...]:
        if self._done is None:
            outcome = _outcomes(self._sp, self._plans)
            self._done = tuple(
                LineExplanation(
                    line_id=line.id, sku=line.sku, qty=line.qty,
                    outcome="; ".join(outcome.get(line.id, [])),
                    candidates=self._sp.candidates(line.id),
                    alternative=self._alternative(line.id),
                )
                for line in self._sp.order.lines
            )
        return self._done

    def _alternative(self, line_id: str) -> Alternative | None:
        sp = self._sp
        for name, plan in self._plans.items():
            problem = sp.physical if name == "physical" else sp.virtual
            if problem is None or line_id not in problem.lines:
                continue
            i = problem.lines.index(line_id)
            used = np.flatnonzero(plan.x[i] > 0)
            if not len(used):
                return None
            allowed = problem.allowed.copy()
            allowed[i, used] = False
            alt = _solve_one(replace(problem, allowed=allowed), name, sp, self._config)
            dec = sp.line_decimals[line_id]
            short = int(alt.short[i]) - int(plan.short[i])
            others_short = int(alt.short.sum()) - int(alt.short[i]) > int(plan.short.sum()) - int(
                plan.short[i])
            difference = None
            if short <= 0 and not others_short:
                difference = Decimal(alt.objective - plan.objective) / COST_SCALE
            return Alternative(
                without=tuple(problem.sources[int(k)] for k in used),
                sources=tuple(problem.sources[int(k)] for k in np.flatnonzero(alt.x[i] > 0)),
                cost_difference=difference,
                short=from_units(max(short, 0), dec),
            )
        return None


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """The decision for one order. ``status``: ``sourced`` (every unit ships), ``partial``,
    ``waiting`` (nothing ships yet), ``cancelled`` or ``rejected`` (bad input; nothing
    reserved). ``lines`` explains each line; it is computed when first read."""

    order_id: str
    status: str
    shipments: tuple[Shipment, ...]
    transfers: tuple[Transfer, ...]
    backorders: tuple[Backorder, ...]
    held: tuple[Held, ...]
    cancelled: tuple[Cancelled, ...]
    objective: Decimal
    breakdown: Mapping[str, Decimal]
    solver: str
    solver_status: str
    bound: Decimal
    solve_ms: float
    ruleset_id: str | None
    ruleset_version: str | None
    rule: str | None
    rule_trace: tuple[str, ...]
    decided_at: datetime
    errors: tuple[str, ...] = ()
    currency: str = "EUR"
    notes: tuple[str, ...] = field(default=())
    explanations: _Explanations | None = field(default=None, repr=False, compare=False)

    @property
    def lines(self) -> tuple[LineExplanation, ...]:
        """Per order line: outcome text, candidate sources and the best alternative."""
        return self.explanations.lines() if self.explanations is not None else ()

    def reservations(self) -> dict[str, list[tuple[str, str, Decimal]]]:
        """What to reserve for this decision: per line id, ``(source, sku, qty)`` allocations.

        Shipments and transfer origins draw stock; pre-shipped lines, lines that need no source
        and rejected orders reserve nothing. Feed them to ``StockLedger.reserve_order`` (every
        line or none), or each entry to ``StockLedger.reserve``.
        """
        if self.status == "rejected":
            return {}
        lazy = self.explanations
        if lazy is None:
            out: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
            for s in self.shipments:
                if s.source is None or s.reason in (Reason.PRESHIPPED,
                                                    Reason.NOT_STOCK_MANAGED):
                    continue
                for lq in s.lines:
                    out[lq.line_id].append((s.source, lq.sku, lq.qty))
            for t in self.transfers:
                for lq in t.lines:
                    out[lq.line_id].append((t.from_source, lq.sku, lq.qty))
            return dict(out)
        # the same, carrying each allocation's integer units for StockLedger.reserve_order
        units = UnitAllocations()
        decimals = lazy.line_decimals
        groups: list[tuple[str, tuple[LineQty, ...], list[int]]] = [
            (s.source, s.lines, lazy.shipped_units[(s.source, s.reason)])
            for s in self.shipments
            if s.source is not None and s.reason not in (Reason.PRESHIPPED,
                                                         Reason.NOT_STOCK_MANAGED)]
        groups.extend((t.from_source, t.lines, lazy.transfer_units[t.from_source])
                      for t in self.transfers)
        for source, parts, counts in groups:
            for lq, n in zip(parts, counts, strict=True):
                units.add_qty(lq.line_id, (source, lq.sku, lq.qty), n, decimals[lq.line_id])
        return units

    def to_dict(self, *, explain: bool = True) -> dict[str, Any]:
        """JSON-ready form (see ``schemas/allocation-result.schema.json``): quantities and money
        as exact decimal strings. ``explain=False`` leaves out the per-line explanations
        (``lines``), which cost one extra solve per sourced line."""

        def lq(x: LineQty) -> dict[str, str]:
            return {"line": x.line_id, "sku": x.sku, "qty": _num(x.qty)}

        out: dict[str, Any] = {
            "order_id": self.order_id,
            "status": self.status,
            "decided_at": self.decided_at.isoformat(),
            "ruleset": {"id": self.ruleset_id, "version": self.ruleset_version,
                        "rule": self.rule, "trace": list(self.rule_trace)},
            "shipments": [{"source": s.source, "reason": s.reason.value,
                           "lines": [lq(x) for x in s.lines]} for s in self.shipments],
            "transfers": [{"from": t.from_source, "to": t.to_source, "days": t.days,
                           "reason": t.reason.value, "lines": [lq(x) for x in t.lines]}
                          for t in self.transfers],
            "backorders": [{**lq(b.line), "reason": b.reason.value} for b in self.backorders],
            "held": [{**lq(h.line), "reason": h.reason.value} for h in self.held],
            "cancelled": [{**lq(c.line), "reason": c.reason.value} for c in self.cancelled],
            "cost": {"currency": self.currency, "objective": _num(self.objective),
                     "bound": _num(self.bound),
                     "breakdown": {k: _num(v) for k, v in self.breakdown.items()}},
            "solver": {"name": self.solver, "status": self.solver_status,
                       "ms": round(self.solve_ms, 3)},
            "errors": list(self.errors),
            "notes": list(self.notes),
        }
        if explain:
            out["lines"] = [_line_dict(e) for e in self.lines]
        return out


def _line_dict(e: LineExplanation) -> dict[str, Any]:
    out: dict[str, Any] = {
        "line": e.line_id, "sku": e.sku, "qty": _num(e.qty), "outcome": e.outcome,
        "candidates": [
            {"source": c.source,
             "excluded": c.exclusion.value if c.exclusion else None,
             **({"detail": c.detail} if c.detail else {}),
             **({"available": _num(c.available)} if c.available is not None else {}),
             **({"shipment_cost": _num(c.shipment_cost)} if c.shipment_cost is not None else {}),
             **({"km": round(c.distance_km, 1)} if c.distance_km is not None else {})}
            for c in e.candidates],
    }
    if e.alternative is not None:
        a = e.alternative
        out["alternative"] = {
            "without": list(a.without), "sources": list(a.sources),
            "cost_difference": None if a.cost_difference is None else _num(a.cost_difference),
            "short": _num(a.short),
        }
    return out


def _num(d: Decimal) -> str:
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def allocate(
    order: Order,
    rules: Ruleset | Policy,
    network: SourceNetwork,
    snapshot: StockSnapshot,
    now: datetime,
    *,
    catalog: Catalog | None = None,
    config: SolverConfig = SolverConfig(),
    declined: Mapping[str, frozenset[str]] | None = None,
    attempts: int = 0,
    capacity_left: Mapping[str, Capacity] | None = None,
    bid_prices: BidPrices | None = None,
) -> AllocationResult:
    """Source one order.

    Args:
        rules: a ruleset (its first matching rule applies) or a policy used as is.
        snapshot: ``ledger.snapshot(sku of every line)``.
        now: the decision time; the engine never reads the clock.
        declined / attempts / capacity_left / bid_prices: see :func:`build_problem`.

    Returns:
        The :class:`AllocationResult`. Short stock, declines and bad orders are outcomes in it,
        never exceptions.
    """
    if isinstance(rules, Ruleset):
        selection = select(order, rules, catalog)
        policy = selection.policy
        trace = tuple(str(t) for t in selection.trace)
        rule_name = selection.rule_name
        rid, rversion = rules.id, rules.version
    else:
        policy, trace, rule_name, rid, rversion = rules, (), None, None, None
    start = time.perf_counter()
    sp = build_problem(order, policy, network, snapshot, now, catalog=catalog,
                       declined=declined, attempts=attempts, capacity_left=capacity_left,
                       bid_prices=bid_prices)
    plans = solve_problem(sp, config)
    elapsed = (time.perf_counter() - start) * 1000
    return _result(sp, plans, elapsed, trace, rule_name, rid, rversion, config)


def _solve_one(problem: AllocationProblem, name: str, sp: SourcingProblem,
               config: SolverConfig) -> Plan:
    ranked = config.solver == "ranked" or (config.solver == "auto" and sp.policy.uses_rank)
    if ranked:
        return solve_ranked(problem, sp.rank if name == "physical" else None)
    return OptimalSolver(config).solve(problem)


@dataclass(slots=True)
class _Decision:
    """A walk over a sourcing problem's decided lines and plans: what ships, transfers and is
    left short, with each part's integer units (for reservations), and, when asked, each
    line's outcome text (only explanations read it)."""

    shipped: dict[tuple[str | None, Reason], list[LineQty]]
    shipped_units: dict[tuple[str, Reason], list[int]]
    transfers: dict[str, list[LineQty]]
    transfer_units: dict[str, list[int]]
    backorders: list[Backorder]
    held: list[Held]
    cancelled: list[Cancelled]
    outcome: dict[str, list[str]] | None
    objective_units: int = 0
    bound_units: int = 0
    breakdown: dict[str, int] = field(default_factory=dict)
    statuses: list[str] = field(default_factory=list)
    solvers: list[str] = field(default_factory=list)


def _decide(sp: SourcingProblem, plans: Mapping[str, Plan], *, texts: bool) -> _Decision:
    lines = sp.lines_by_id
    # one shipment per (source, reason): a store's pre-shipped sale and a line it ships now
    # are different shipment requests
    d_ = _Decision(defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list),
                   [], [], [], defaultdict(list) if texts else None)
    shipped, transfers, outcome = d_.shipped, d_.transfers, d_.outcome
    backorders, held, cancelled = d_.backorders, d_.held, d_.cancelled
    unsourced: list[Held | Cancelled] = []
    breakdown: dict[str, int] = defaultdict(int)
    d_.breakdown = breakdown

    def qty(line_id: str, units: int) -> LineQty:
        line = lines[line_id]
        return LineQty(line.id, Sku(line.sku), from_units(units, sp.line_decimals[line_id]))

    for d in sp.decided:
        lq = LineQty(d.line.id, d.line.sku, d.line.qty)
        if d.outcome == "ship":
            shipped[(d.source, d.reason)].append(lq)
            if outcome is not None:
                outcome[d.line.id].append(f"ships from {d.source}" if d.source else
                                          "needs no source (not stock-managed)")
        elif d.outcome == "hold":
            unsourced.append(Held(lq, d.reason))
            if outcome is not None:
                outcome[d.line.id].append(f"held ({d.reason.value}) {d.detail}".strip())
        else:
            unsourced.append(Cancelled(lq, d.reason))
            if outcome is not None:
                outcome[d.line.id].append(f"cancelled ({d.reason.value}) {d.detail}".strip())

    for name, plan in plans.items():
        problem = sp.physical if name == "physical" else sp.virtual
        if problem is None:
            continue
        d_.statuses.append(plan.status.value)
        d_.solvers.append(plan.solver)
        used = plan.x.sum(axis=0) > 0
        terms = sp.terms.get(name)
        if terms is not None:
            for term, arr in terms.fixed.items():
                breakdown[term] += int(arr[used].sum())
            for term, arr in terms.unit.items():
                breakdown[term] += int((arr * plan.x).sum())
        pickup = sp.pickup_store if name == "physical" else None
        rows, cols = np.nonzero(plan.x)
        units_of = plan.x[rows, cols].tolist()
        for i, k, units in zip(rows.tolist(), cols.tolist(), units_of, strict=True):
            line_id = problem.lines[i]
            code = problem.sources[k]
            part = qty(line_id, units)
            if pickup is not None and code != pickup:
                transfers[code].append(part)
                d_.transfer_units[code].append(units)
                if outcome is not None:
                    outcome[line_id].append(f"{_num(part.qty)} transferred from {code} to "
                                            f"{pickup} for pickup")
            else:
                reason = Reason.PICKUP_IN_STORE if code == pickup else Reason.SOURCED
                shipped[(code, reason)].append(part)
                d_.shipped_units[(code, reason)].append(units)
                if outcome is not None:
                    outcome[line_id].append(f"{_num(part.qty)} from {code}")
        d_.objective_units += int((problem.unit_cost * plan.x).sum())
        d_.objective_units += int(problem.fixed_cost[used].sum())
        d_.bound_units += min(plan.bound, plan.objective - int(
            (plan.short * problem.short_cost).sum()))
        if not plan.short.any():
            continue
        in_bundle = {i for g in problem.bundles for i in g}
        in_whole = {i for g in problem.whole_groups for i in g}
        for i in np.flatnonzero(plan.short).tolist():
            line_id = problem.lines[i]
            lq = qty(line_id, int(plan.short[i]))
            text: str
            if problem.all_or_nothing:
                # ship complete / hold until complete: the order waits whole, whatever the
                # backorder policy says about single lines
                held.append(Held(lq, Reason.HOLD_UNTIL_COMPLETE))
                text = "held until the order can ship complete"
            elif i in in_bundle:
                held.append(Held(lq, Reason.BUNDLE_NOT_FROM_ONE_SOURCE))
                text = "held: no single source holds the whole bundle"
            elif i in in_whole:
                held.append(Held(lq, Reason.WAITING_FOR_STOCK))
                text = "held: the bundle ships together"
            else:
                action = sp.short_action[line_id]
                if action is ShortAction.BACKORDER:
                    backorders.append(Backorder(lq))
                    text = "backordered"
                elif action is ShortAction.CANCEL:
                    cancelled.append(Cancelled(lq, Reason.OUTOFSTOCK))
                    text = "cancelled: out of stock"
                else:
                    held.append(Held(lq, Reason.WAITING_FOR_STOCK))
                    text = "held for the next attempt"
            if outcome is not None:
                outcome[line_id].append(f"{_num(lq.qty)} {text}")
    for u in unsourced:
        (held if isinstance(u, Held) else cancelled).append(u)  # type: ignore[arg-type]
    return d_


def _outcomes(sp: SourcingProblem, plans: Mapping[str, Plan]) -> dict[str, list[str]]:
    """Per line id, its outcome texts (computed when explanations are first read)."""
    outcome = _decide(sp, plans, texts=True).outcome
    if outcome is None:  # _decide fills it whenever texts=True
        raise RuntimeError("internal error: outcome texts were asked for and not built")
    return outcome


def _result(
    sp: SourcingProblem,
    plans: Mapping[str, Plan],
    elapsed: float,
    trace: tuple[str, ...],
    rule_name: str | None,
    rid: str | None,
    rversion: str | None,
    config: SolverConfig,
) -> AllocationResult:
    order = sp.order
    d = _decide(sp, plans, texts=False)
    held, cancelled, backorders = d.held, d.cancelled, d.backorders
    shipments = tuple(
        Shipment(SourceCode(code) if code is not None else None, tuple(lqs), reason)
        for (code, reason), lqs in d.shipped.items()
    )
    transfer_list = tuple(
        Transfer(SourceCode(code), SourceCode(sp.pickup_store or ""), tuple(lqs),
                 days=sp.transfer_days.get(code, 0))
        for code, lqs in d.transfers.items()
    )
    if sp.rejected:
        status = "rejected"
    elif not held and not cancelled and not backorders:
        status = "sourced"
    elif not shipments and not transfer_list:
        status = "cancelled" if cancelled and not held and not backorders else "waiting"
    else:
        status = "partial"
    solver = "+".join(dict.fromkeys(d.solvers)) or "none"
    optimal = SolveStatus.OPTIMAL.value
    if all(s == optimal for s in d.statuses):
        solver_status = SolveStatus.OPTIMAL.value
    else:
        solver_status = SolveStatus.FEASIBLE.value
    return AllocationResult(
        order_id=order.id,
        status=status,
        shipments=shipments,
        transfers=transfer_list,
        backorders=tuple(backorders),
        held=tuple(held),
        cancelled=tuple(cancelled),
        objective=Decimal(d.objective_units) / COST_SCALE,
        breakdown={k: Decimal(v) / COST_SCALE for k, v in sorted(d.breakdown.items()) if v},
        solver=solver,
        solver_status=solver_status,
        bound=Decimal(max(d.bound_units, 0)) / COST_SCALE,
        solve_ms=elapsed,
        ruleset_id=rid,
        ruleset_version=rversion,
        rule=rule_name,
        rule_trace=trace,
        decided_at=sp.now,
        errors=sp.rejected,
        currency=sp.currency,
        explanations=_Explanations(sp, plans, config, d.shipped_units, d.transfer_units),
    )
