"""Look-ahead for scarce stock: bid prices from the deterministic LP.

Sourcing each order at its cheapest (the default) can spend the one unit of stock a later order
needed far more: the nearest warehouse to Munich ships a Berlin order because it is a few cents
cheaper, and the next Munich order then crosses the country. A merchant whose stock is scarce
can price that in. :func:`solve_dlp` solves the *deterministic LP* of the coming horizon — the
expected orders (:class:`DemandClass`) served from the stock at hand at least cost, fractionally
— and reads each (source, SKU) stock constraint's dual value: the **bid price**, what one more
unit there would save over the horizon (Acimovic & Graves 2015 use the same idea). Allocation
with ``objective: {shipping_cost: 1, stock_value: 1}`` and those prices then charges every unit
a plan takes at its bid price, keeping stock where it will be worth most.

The DLP's optimum is also a lower bound on the expected cost of any policy over the horizon
(for a fixed stock), which is how the academic benchmark family scores policies (cost / DLP).

Model (``λ_c`` expected orders of class ``c``, ``F``/``U`` shipment and unit costs of the lane from
source ``k`` to the class's destination; a dummy source stands for leaving items unfilled)::

    minimise  Σ_c λ_c ( Σ_k F[c,k] y[c,k] + Σ_{k,i} U[c,k] u[c,k,i] )
    s.t.      Σ_k u[c,k,i] = 1                       every class c, item i of c
              u[c,k,i] <= y[c,k] <= 1
              Σ_c λ_c u[c,k,i] <= stock[k,i]          every real source k, SKU i   (dual: -π[k,i])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from oms_sourcing.domain import Location, Order, SourceKind
from oms_sourcing.errors import InputError
from oms_sourcing.inventory.network import SourceNetwork

__all__ = ["BidPrices", "DemandClass", "DlpResult", "Unfilled", "demand_from_orders",
           "solve_dlp"]

_PRICE_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class DemandClass:
    """Orders expected over the horizon: ``expected`` orders of ``qty[i]`` units (default 1) of
    each of ``skus`` shipping to ``destination``."""

    skus: tuple[str, ...]
    destination: Location
    expected: float
    qty: tuple[float, ...] = ()

    def units(self, i: int) -> float:
        return self.qty[i] if self.qty else 1.0


def demand_from_orders(orders: Iterable[Order], scale: float = 1.0) -> list[DemandClass]:
    """Demand classes from an order history: orders with the same SKUs and quantities going to
    the same area (country, first two postcode characters, coordinates to 0.1 degree) form one
    class, its ``expected`` count the number of such orders times ``scale`` (e.g. the coming
    horizon's length over the history's). The class ships to its first order's address."""
    Area = tuple[str, str, float | None, float | None]
    groups: dict[tuple[tuple[tuple[str, Decimal], ...], Area], list[Order]] = {}
    for order in orders:
        per_sku: dict[str, Decimal] = {}
        for line in order.lines:
            per_sku[line.sku] = per_sku.get(line.sku, Decimal(0)) + line.qty
        dest = order.destination
        area: Area = (dest.country or "", (dest.postcode or "")[:2],
                None if dest.lat is None else round(dest.lat, 1),
                None if dest.lon is None else round(dest.lon, 1))
        key = (tuple(sorted(per_sku.items())), area)
        groups.setdefault(key, []).append(order)
    out = []
    for (items, _), members in groups.items():
        out.append(DemandClass(
            skus=tuple(sku for sku, _ in items), destination=members[0].destination,
            expected=len(members) * scale, qty=tuple(float(q) for _, q in items)))
    return out


@dataclass(frozen=True, slots=True)
class Unfilled:
    """What leaving items of an order unfilled costs: once per order with unfilled items, and
    per unfilled unit (the literature's "dummy facility")."""

    per_order: Decimal
    per_unit: Decimal


@dataclass(frozen=True, slots=True, eq=False)
class BidPrices:
    """Bid price per (source, SKU), currency per unit, exact to 6 decimals; 0 where unset."""

    prices: Mapping[tuple[str, str], Decimal]

    def price(self, source: str, sku: str) -> Decimal:
        return self.prices.get((source, sku), Decimal(0))

    def row(self, network: SourceNetwork, sku: str) -> list[Decimal]:
        """Prices of ``sku`` at every source of ``network``, in the network's order."""
        return [self.prices.get((code, sku), Decimal(0)) for code in network.codes]

    @staticmethod
    def of(prices: Mapping[tuple[str, str], Decimal | float]) -> BidPrices:
        """Bid prices from any numbers (negative ones are errors)."""
        out: dict[tuple[str, str], Decimal] = {}
        for key, value in prices.items():
            d = Decimal(str(value)).quantize(_PRICE_PLACES)
            if d < 0 or not d.is_finite():
                raise InputError(f"bid price of {key} must be a finite number >= 0, got {value}",
                                 field="bid_prices", value=value, expected=">= 0")
            if d:
                out[key] = d
        return BidPrices(out)


@dataclass(frozen=True, slots=True)
class DlpResult:
    """The DLP's optimum (expected cost over the horizon, a lower bound for any policy), its
    status, and the bid prices it implies."""

    value: float
    status: str
    bid_prices: BidPrices
    variables: int
    constraints: int


def _lane_costs(network: SourceNetwork, destination: Location) -> dict[int, tuple[float, float]]:
    """Per source index that may ship there: (cost per shipment incl. distance, cost per
    unit)."""
    km = network.distances_km(destination)
    out: dict[int, tuple[float, float]] = {}
    for k, source in enumerate(network.sources):
        if not source.enabled or source.kind is SourceKind.VIRTUAL:
            continue
        lane = network.shipping_lane(source.code, destination)
        if lane is None:
            continue
        d = 0.0 if math.isnan(km[k]) else round(float(km[k]), 3)
        out[k] = (float(lane.per_shipment) + float(lane.per_km) * d, float(lane.per_unit))
    return out


def solve_dlp(
    classes: Iterable[DemandClass],
    network: SourceNetwork,
    stock: Mapping[tuple[str, str], float],
    *,
    unfilled: Unfilled | Callable[[DemandClass], Unfilled],
    time_limit_s: float | None = None,
    solver: str = "glop",
    with_prices: bool = True,
    tolerance: float = 1e-4,
) -> DlpResult:
    """Solve the deterministic LP of ``classes`` against ``stock``.

    Args:
        classes: the expected demand over the horizon.
        network: sources and lanes (costs: per shipment + per km, per unit).
        stock: units per (source code, SKU) available over the horizon.
        unfilled: the cost of leaving items unfilled, fixed or per class.
        time_limit_s: stop the LP solver after this long (the status says so); ``None``: no
            limit.
        solver: an LP backend bundled with OR-Tools: ``glop`` (default; simplex, exact duals),
            ``pdlp`` (first-order, for very large models; duals to its tolerance) or ``highs``
            (fast simplex; OR-Tools 9.15's model_builder returns row activities instead of
            its duals, so it gives the bound only and ``with_prices`` must be False).
        with_prices: read the bid prices (duals); False gives the bound only.
        tolerance: PDLP's relative optimality tolerance (its value is then within that of the
            optimum, so the bound is approximate to it); the simplex solvers are exact.

    Returns:
        The optimum, its status and the bid prices (``-dual`` of each stock constraint).

    Raises:
        InputError: a class with no SKUs or a negative expectation.
    """
    from ortools.linear_solver.python import model_builder as mb

    model = mb.Model()  # type: ignore[no-untyped-call]
    objective_vars: list[mb.Variable] = []
    objective_coeffs: list[float] = []
    usage: dict[tuple[int, str], tuple[list[mb.Variable], list[float]]] = {}
    index: dict[str, int] = {code: k for k, code in enumerate(network.codes)}
    carried: dict[str, set[int]] = {}
    for (code, sku), qty in stock.items():
        if code in index and qty > 0:
            carried.setdefault(sku, set()).add(index[code])
    lanes: dict[tuple[str, str, str, float | None, float | None], dict[int, tuple[float, float]]]
    lanes = {}
    n_vars = n_cons = 0
    for c, cls in enumerate(classes):
        if (not cls.skus or cls.expected < 0 or len(set(cls.skus)) != len(cls.skus)
                or (cls.qty and len(cls.qty) != len(cls.skus))):
            raise InputError(f"demand class {c}: needs distinct SKUs and expected >= 0, got "
                             f"{cls.skus!r} x {cls.expected}", field="classes",
                             value=cls.skus, expected="distinct SKUs, expected >= 0")
        if cls.expected == 0:
            continue
        dest = cls.destination
        key = (dest.country or "", dest.region or "", dest.postcode or "", dest.lat, dest.lon)
        if key not in lanes:
            lanes[key] = _lane_costs(network, dest)
        costs = lanes[key]
        dummy = unfilled(cls) if callable(unfilled) else unfilled
        lam = float(cls.expected)
        facilities: dict[int, list[str]] = {}
        for sku in cls.skus:
            for k in carried.get(sku, ()):
                if k in costs:
                    facilities.setdefault(k, []).append(sku)
        assign: dict[str, list[mb.Variable]] = {sku: [] for sku in cls.skus}
        units = {sku: cls.units(i) for i, sku in enumerate(cls.skus)}
        plans = [(k, costs[k][0], costs[k][1], skus) for k, skus in sorted(facilities.items())]
        plans.append((-1, float(dummy.per_order), float(dummy.per_unit), list(cls.skus)))
        for k, fixed, per_unit, skus in plans:
            y = model.new_num_var(0.0, 1.0, f"y{c}_{k}")
            n_vars += 1
            objective_vars.append(y)
            objective_coeffs.append(lam * fixed)
            for sku in skus:
                u = model.new_num_var(0.0, 1.0, f"u{c}_{k}_{sku}")
                n_vars += 1
                model.add(u <= y)
                n_cons += 1
                objective_vars.append(u)
                objective_coeffs.append(lam * per_unit * units[sku])
                assign[sku].append(u)
                if k >= 0:
                    vs, cs = usage.setdefault((k, sku), ([], []))
                    vs.append(u)
                    cs.append(lam * units[sku])
        for us in assign.values():
            model.add(mb.LinearExpr.sum(us) == 1.0)
            n_cons += 1
    stock_rows: list[tuple[tuple[int, str], mb.LinearConstraint]] = []
    for (k, sku), (vs, cs) in sorted(usage.items()):
        cap = float(stock.get((network.codes[k], sku), 0.0))
        stock_rows.append(((k, sku), model.add(mb.LinearExpr.weighted_sum(vs, cs) <= cap)))
        n_cons += 1
    model.minimize(mb.LinearExpr.weighted_sum(objective_vars, objective_coeffs))
    lp = mb.Solver(solver)
    if not lp.solver_is_supported():
        raise InputError(f"LP solver {solver!r} is not available in this OR-Tools build",
                         field="solver", value=solver, expected="glop | pdlp | highs")
    if solver == "highs" and with_prices:
        raise InputError("HiGHS duals are not reliable through OR-Tools' model_builder; use "
                         "solver='glop' or 'pdlp' for bid prices, or with_prices=False",
                         field="solver", value=solver, expected="glop | pdlp")
    lp.enable_output(False)
    if solver == "highs":
        lp.set_solver_specific_parameters("output_flag=false")
    elif solver == "pdlp":
        lp.set_solver_specific_parameters(
            "termination_criteria { simple_optimality_criteria { "
            f"eps_optimal_absolute: {tolerance} eps_optimal_relative: {tolerance} }} }} "
            "num_threads: 1")
    if time_limit_s is not None:
        lp.set_time_limit_in_seconds(time_limit_s)
    status = lp.solve(model)
    prices: dict[tuple[str, str], float] = {}
    value = math.nan
    if status in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        value = float(lp.objective_value)
        for (k, sku), row in (stock_rows if with_prices else []):
            dual = float(lp.dual_value(row))
            if dual < -1e-9:
                prices[(network.codes[k], sku)] = -dual
    return DlpResult(value=value, status=status.name.lower(), bid_prices=BidPrices.of(prices),
                     variables=n_vars, constraints=n_cons)
