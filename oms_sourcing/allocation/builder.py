"""``build_problem``: an order, a policy, the network and a stock snapshot become integer data.

This is the one place where domain values are scaled: quantities to each SKU's smallest unit,
money and weights to *objective units* (``COST_SCALE`` per currency unit). It also decides, before
any solver runs, everything that needs no optimisation:

* pre-shipped lines ship from their source (no sourcing, no reservation);
* virtual lines of SKUs that are not stock-managed need no source;
* lines of SKUs the catalog does not know are cancelled (``UNKNOWN_SKU``);
* lines declined as often as the policy allows are held or cancelled (``DECLINE_LIMIT``);
* an order that cannot be sourced as given (pickup without a pickup store, a pre-shipped line
  from an unknown source, a bundle missing components) is rejected whole, with reasons.

For every line and every source it records why the source may not ship it (disabled, excluded
by the rule, beyond the radius, no lane, declined before, no capacity, out of stock …): the
explanation of the decision is built from these records.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

import numpy as np

from oms_sourcing.allocation.problem import UNLIMITED, AllocationProblem
from oms_sourcing.domain import (
    Capacity,
    Catalog,
    Delivery,
    LineKind,
    Location,
    Order,
    OrderLine,
    Reason,
    Source,
    SourceKind,
    to_units,
)
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork, TransferLane
from oms_sourcing.inventory.stock import StockSnapshot
from oms_sourcing.rules.model import (
    BackorderPolicy,
    BundleMode,
    DeclineAction,
    Objective,
    Policy,
    RankKey,
    SplitMode,
)

__all__ = [
    "COST_SCALE",
    "Candidate",
    "Exclusion",
    "LineDecision",
    "ShortAction",
    "SourcingProblem",
    "build_problem",
]

#: Objective units per currency unit: costs are exact to a millionth of the currency.
COST_SCALE = 10**6
_DEFAULT_OBJECTIVE = Objective(shipping_cost=Decimal(1))


class Exclusion(StrEnum):
    """Why a source may not ship a line."""

    NOT_IN_CHANNEL_STOCK = "not in the sales channel's stock"
    WRONG_KIND = "wrong kind of source for this line"
    DISABLED = "source disabled"
    CANNOT_SHIP = "source does not ship"
    EXCLUDED_BY_RULE = "excluded by the rule"
    BEYOND_RADIUS = "beyond the rule's maximum distance"
    NO_LANE = "no shipping lane to the destination"
    NO_TRANSFER_LANE = "no transfer lane to the pickup store"
    DECLINED_BEFORE = "declined this line before"
    NO_CAPACITY = "no order capacity left today"
    OUT_OF_STOCK = "out of stock"


class ShortAction(StrEnum):
    """What happens to quantity no source can ship."""

    BACKORDER = "backorder"
    CANCEL = "cancel"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One source considered for one line: why it was excluded (``None``: it was a candidate),
    how much it had, and what a shipment from it costs (currency, ``None`` if it cannot ship)."""

    source: str
    exclusion: Exclusion | None
    available: Decimal | None = None
    shipment_cost: Decimal | None = None
    distance_km: float | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LineDecision:
    """An outcome decided without a solver (pre-shipped, unmanaged virtual, unknown SKU …)."""

    line: OrderLine
    outcome: str  # "ship" | "cancel" | "hold"
    reason: Reason
    source: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class SourcingProblem:
    """Everything one sourcing decision needs, built once and never changed.

    ``physical`` holds the lines sourced from warehouses, stores and drop-shippers (and for a
    pickup order: the store's own stock plus transfers to it); ``virtual`` the stock-managed
    virtual lines drawn from virtual sources. Either may be ``None``. ``decided`` holds lines
    settled without a solver; ``rejected`` the reasons an order is refused as a whole.
    """

    order: Order
    policy: Policy
    now: datetime
    currency: str
    physical: AllocationProblem | None
    virtual: AllocationProblem | None
    decided: tuple[LineDecision, ...]
    candidates: Mapping[str, tuple[Candidate, ...]]
    short_action: Mapping[str, ShortAction]
    line_decimals: Mapping[str, int]
    pickup_store: str | None = None
    rank: tuple[int, ...] | None = None
    rejected: tuple[str, ...] = ()
    # (problem name, source index) -> term name -> objective units of one shipment
    fixed_terms: Mapping[tuple[str, int], Mapping[str, int]] = field(default_factory=dict)
    # (problem name, line index, source index) -> term name -> objective units per unit
    unit_terms: Mapping[tuple[str, int, int], Mapping[str, int]] = field(default_factory=dict)
    transfer_days: Mapping[str, int] = field(default_factory=dict)
    bundle_of: Mapping[str, str] = field(default_factory=dict)
    bundle_split: bool = False

    @property
    def lines_by_id(self) -> Mapping[str, OrderLine]:
        return {line.id: line for line in self.order.lines}


def _units(value: Decimal) -> int:
    """Currency (or any weighted amount) to objective units, rounded half-even."""
    return int((value * COST_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _km(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def _rejection_reasons(
    order: Order, network: SourceNetwork, catalog: Catalog | None
) -> list[tuple[str, Reason]]:
    reasons: list[tuple[str, Reason]] = []
    if order.delivery is Delivery.PICKUP:
        store = order.pickup_source
        if not store or store not in network:
            reasons.append((f"pickup store {store!r} is not in the network",
                            Reason.NO_PICKUP_SOURCE))
        else:
            src = network.source(store)
            if not src.capabilities.pickup:
                reasons.append((f"{store} does not offer pickup (capabilities.pickup: false)",
                                Reason.NO_PICKUP_SOURCE))
            elif not src.enabled:
                reasons.append((f"pickup store {store} is disabled", Reason.NO_PICKUP_SOURCE))
    for line in order.lines:
        if line.kind is LineKind.PRESHIPPED and (
            not line.preshipped_source or line.preshipped_source not in network
        ):
            reasons.append((f"line {line.id}: pre-shipped source {line.preshipped_source!r} is "
                            "not in the network", Reason.INVALID_LINE))
    groups: dict[str, list[OrderLine]] = defaultdict(list)
    for line in order.lines:
        if line.bundle:
            groups[line.bundle].append(line)
    for bundle_id, members in groups.items():
        skus = {m.bundle_sku for m in members}
        if len(skus) > 1:
            reasons.append((f"bundle {bundle_id}: its lines name different bundle SKUs "
                            f"{sorted(s or '' for s in skus)}", Reason.INVALID_LINE))
            continue
        bundle_sku = members[0].bundle_sku
        if catalog is None or not bundle_sku or bundle_sku not in catalog.bundles:
            continue
        definition = catalog.bundle(bundle_sku)
        wanted = {c.sku: c.qty for c in definition.components}
        have: dict[str, Decimal] = defaultdict(Decimal)
        for m in members:
            have[m.sku] += m.qty
        missing = sorted(set(wanted) - set(have))
        extra = sorted(set(have) - set(wanted))
        if missing or extra:
            what = []
            if missing:
                what.append(f"lacks {', '.join(missing)}")
            if extra:
                what.append(f"has {', '.join(extra)} which {bundle_sku} does not contain")
            reasons.append((f"bundle {bundle_id} ({bundle_sku}) " + " and ".join(what),
                            Reason.INVALID_LINE))
            continue
        counts = {sku: have[sku] / wanted[sku] for sku in wanted}
        whole = all(c == c.to_integral_value() for c in counts.values())
        if len(set(counts.values())) != 1 or not whole:
            reasons.append((f"bundle {bundle_id} ({bundle_sku}): component quantities "
                            f"{ {k: str(v) for k, v in have.items()} } are not a whole number "
                            "of bundles", Reason.INVALID_LINE))
    return reasons


def _short_action(line: OrderLine, policy: Policy, catalog: Catalog | None) -> ShortAction:
    if line.allow_backorder is True:
        return ShortAction.BACKORDER
    mode = policy.backorder
    if mode is BackorderPolicy.CANCEL:
        return ShortAction.CANCEL
    if mode is BackorderPolicy.HOLD:
        return ShortAction.HOLD
    # allow: the line (False) or the SKU's catalog setting can narrow it to hold
    sku_allows = catalog is not None and catalog.info(line.sku).backorders.allowed
    if line.allow_backorder is False or not sku_allows:
        return ShortAction.HOLD
    return ShortAction.BACKORDER


def build_problem(
    order: Order,
    policy: Policy,
    network: SourceNetwork,
    snapshot: StockSnapshot,
    now: datetime,
    *,
    catalog: Catalog | None = None,
    declined: Mapping[str, frozenset[str]] | None = None,
    attempts: int = 0,
    capacity_left: Mapping[str, Capacity] | None = None,
) -> SourcingProblem:
    """Build the sourcing problem of ``order`` under ``policy``.

    Args:
        order: a validated order.
        policy: the policy ``rules.select`` chose for it.
        network: sources and lanes.
        snapshot: stock of (at least) the order's SKUs, from ``StockLedger.snapshot``.
        now: the decision time (the engine never reads the clock).
        catalog: SKU settings; without it every SKU is whole-unit, stock-managed, untagged.
        declined: per line id, the sources that declined it before (they are excluded, and a
            line declined ``policy.decline.attempts`` times is held or cancelled).
        attempts: how many times this order was sourced before (bundles may split after
            ``policy.bundle.split_after_attempts``).
        capacity_left: per source, capacity remaining today; ``None`` uses each source's full
            daily capacity from the network.

    Returns:
        The :class:`SourcingProblem`; a rejected order has ``rejected`` reasons and no
        sub-problems.
    """
    declined = declined or {}
    catalog_ = catalog or Catalog()
    decimals: dict[str, int] = {line.id: catalog_.decimals(line.sku) for line in order.lines}
    short_action: dict[str, ShortAction] = {
        line.id: _short_action(line, policy, catalog) for line in order.lines
    }
    bundle_of: dict[str, str] = {line.id: line.bundle for line in order.lines if line.bundle}

    rejected = _rejection_reasons(order, network, catalog)
    if rejected:
        refused = tuple(
            LineDecision(line, "cancel", rejected[0][1], detail="; ".join(r for r, _ in rejected))
            for line in order.lines
        )
        return SourcingProblem(
            order=order, policy=policy, now=now, currency=network.currency, physical=None,
            virtual=None, decided=refused, candidates={}, short_action=short_action,
            line_decimals=decimals, rejected=tuple(r for r, _ in rejected), bundle_of=bundle_of,
        )

    decided: list[LineDecision] = []
    physical_lines: list[OrderLine] = []
    virtual_lines: list[OrderLine] = []
    for line in order.lines:
        n_declined = len(declined.get(line.id, ()))
        if line.kind is LineKind.PRESHIPPED:
            decided.append(LineDecision(line, "ship", Reason.PRESHIPPED,
                                        source=line.preshipped_source))
        elif line.kind is LineKind.VIRTUAL and not catalog_.stock_managed(line.sku):
            decided.append(LineDecision(line, "ship", Reason.NOT_STOCK_MANAGED))
        elif catalog is not None and line.sku not in catalog.items:
            decided.append(LineDecision(line, "cancel", Reason.UNKNOWN_SKU,
                                        detail=f"SKU {line.sku!r} is not in the catalog"))
        elif n_declined >= policy.decline.attempts:
            action = "cancel" if policy.decline.then is DeclineAction.CANCEL else "hold"
            decided.append(LineDecision(
                line, action, Reason.DECLINE_LIMIT,
                detail=f"declined by {n_declined} source(s); the rule allows "
                       f"{policy.decline.attempts} attempt(s)"))
        elif line.kind is LineKind.VIRTUAL:
            virtual_lines.append(line)
        else:
            physical_lines.append(line)

    objective = policy.objective if policy.objective is not None else _DEFAULT_OBJECTIVE
    pickup = order.pickup_source if order.delivery is Delivery.PICKUP else None
    channel_stock = network.stock_for_channel(order.channel)
    in_channel = frozenset(network.stock_sources(channel_stock.name)) if channel_stock else None
    builder = _Builder(order, policy, objective, network, snapshot, catalog_, declined,
                       capacity_left, in_channel, pickup, decimals)

    candidates: dict[str, tuple[Candidate, ...]] = {}
    fixed_terms: dict[tuple[str, int], Mapping[str, int]] = {}
    unit_terms: dict[tuple[str, int, int], Mapping[str, int]] = {}
    bundle_split = (
        policy.bundle.split_after_attempts is not None
        and attempts >= policy.bundle.split_after_attempts
    )
    physical = virtual = None
    rank: tuple[int, ...] | None = None
    if physical_lines:
        physical, cands, ft, ut = builder.problem("physical", physical_lines, virtual=False,
                                                  bundle_split=bundle_split)
        candidates.update(cands)
        fixed_terms.update(ft)
        unit_terms.update(ut)
        if policy.uses_rank and physical is not None:
            rank = builder.rank(physical)
    if virtual_lines:
        virtual, cands, ft, ut = builder.problem("virtual", virtual_lines, virtual=True,
                                                 bundle_split=True)
        candidates.update(cands)
        fixed_terms.update(ft)
        unit_terms.update(ut)

    return SourcingProblem(
        order=order, policy=policy, now=now, currency=network.currency, physical=physical,
        virtual=virtual, decided=tuple(decided), candidates=candidates,
        short_action=short_action, line_decimals=decimals, pickup_store=pickup, rank=rank,
        fixed_terms=fixed_terms, unit_terms=unit_terms, transfer_days=builder.transfer_days,
        bundle_of=bundle_of, bundle_split=bundle_split,
    )


class _Builder:
    """Per-order state shared by the physical and the virtual sub-problem."""

    def __init__(
        self,
        order: Order,
        policy: Policy,
        objective: Objective,
        network: SourceNetwork,
        snapshot: StockSnapshot,
        catalog: Catalog,
        declined: Mapping[str, frozenset[str]],
        capacity_left: Mapping[str, Capacity] | None,
        in_channel: frozenset[str] | None,
        pickup: str | None,
        decimals: Mapping[str, int],
    ) -> None:
        self.order = order
        self.policy = policy
        self.objective = objective
        self.network = network
        self.snapshot = snapshot
        self.catalog = catalog
        self.declined = declined
        self.capacity_left = capacity_left
        self.in_channel = in_channel
        self.pickup = pickup
        self.decimals = decimals
        self.transfer_days: dict[str, int] = {}
        # Lanes depend on the source and the order's destination only: look each up once.
        self._ship_lanes: dict[str, ShippingLane | None] = {}
        self._transfer_lanes: dict[str, TransferLane | None] = {}
        # Where shipments go: the customer, or for pickup the store (transfers end there).
        if pickup is not None:
            self.destination: Location = network.source(pickup).location
        else:
            self.destination = order.destination
        self.km = network.distances_km(self.destination)
        known = self.km[~np.isnan(self.km)]
        # A source without coordinates is costed as the farthest known one (never favoured).
        self.unknown_km = float(known.max()) if known.size else 0.0

    # -- helpers --------------------------------------------------------------------------

    def _ship_lane(self, code: str) -> ShippingLane | None:
        if code not in self._ship_lanes:
            self._ship_lanes[code] = self.network.shipping_lane(code, self.destination)
        return self._ship_lanes[code]

    def _transfer_lane(self, code: str) -> TransferLane | None:
        if code not in self._transfer_lanes:
            store = self.pickup or ""
            self._transfer_lanes[code] = self.network.transfer_lane(code, store)
        return self._transfer_lanes[code]

    def _capacity(self, source: Source) -> Capacity:
        if self.capacity_left is not None and source.code in self.capacity_left:
            return self.capacity_left[source.code]
        return source.capacity

    def _distance(self, idx: int) -> float | None:
        d = float(self.km[idx])
        return None if math.isnan(d) else d

    def _available(self, line: OrderLine, source: Source, idx: int) -> int:
        """Units of ``line``'s SKU ``source`` may give under the policy (>= 0)."""
        if not self.catalog.stock_managed(line.sku):
            return to_units(line.qty, self.decimals[line.id])
        if line.sku not in self.snapshot:
            return 0
        stock = self.snapshot[line.sku]
        if not stock.in_stock[idx]:
            return 0
        avail = int(stock.available[idx])
        if not self.policy.stock.respect_reservations:
            avail += int(stock.reserved[idx])
        policy_safety = self.policy.stock.safety_for(source)
        if policy_safety:
            want = to_units(policy_safety.quantize(Decimal(1).scaleb(-stock.decimals)),
                            stock.decimals)
            extra = want - int(stock.safety[idx])
            if extra > 0:
                avail -= extra
        return max(avail, 0)

    def _exclusion(self, line: OrderLine, source: Source, idx: int, *, virtual: bool
                   ) -> tuple[Exclusion | None, str, int]:
        """Why ``source`` may not ship ``line`` (``None``: it may), a detail, and the units it
        may give (0 unless it is a candidate)."""
        code = source.code
        is_store = code == self.pickup
        if (self.in_channel is not None and code not in self.in_channel and not is_store):
            return Exclusion.NOT_IN_CHANNEL_STOCK, "", 0
        if virtual != (source.kind is SourceKind.VIRTUAL):
            return Exclusion.WRONG_KIND, (
                "virtual lines draw from virtual sources" if virtual
                else "a virtual source only holds virtual products"), 0
        if not source.enabled:
            return Exclusion.DISABLED, "", 0
        if not is_store and not source.capabilities.ships:
            return Exclusion.CANNOT_SHIP, "", 0
        tags = self.catalog.info(line.sku).tags
        if not is_store and not self.policy.sources.allows_for_line(source, line.sku, tags):
            return Exclusion.EXCLUDED_BY_RULE, "", 0
        limit = self.policy.sources.max_distance_for_line(line.sku, tags)
        if limit is not None and not is_store and not virtual:
            d = self._distance(idx)
            if d is None or d > limit:
                shown = "unknown" if d is None else f"{d:.0f} km"
                return Exclusion.BEYOND_RADIUS, f"{shown} > {limit:g} km", 0
        if not virtual:
            if self.pickup is not None:
                if not is_store and self._transfer_lane(code) is None:
                    return Exclusion.NO_TRANSFER_LANE, "", 0
            elif self._ship_lane(code) is None:
                return Exclusion.NO_LANE, "", 0
        if code in self.declined.get(line.id, frozenset()):
            return Exclusion.DECLINED_BEFORE, "", 0
        cap = self._capacity(source)
        if cap.orders is not None and cap.orders <= 0:
            return Exclusion.NO_CAPACITY, "", 0
        units = self._available(line, source, idx)
        if units <= 0:
            return Exclusion.OUT_OF_STOCK, "", 0
        return None, "", units

    def _fixed_terms(self, source: Source, idx: int, *, virtual: bool) -> dict[str, int]:
        w = self.objective
        terms: dict[str, Decimal] = {}
        km = self._distance(idx)
        km_cost = _km(km if km is not None else self.unknown_km)
        code = source.code
        if virtual:
            pass  # a licence key is no parcel: nothing to pay per shipment
        elif self.pickup is not None and code == self.pickup:
            pass  # the store hands over what it holds: no shipment
        elif self.pickup is not None:
            leg = self._transfer_lane(code)
            if leg is not None:
                self.transfer_days[code] = leg.days
                money_w = w.transfer_cost or w.shipping_cost
                terms["transfer_cost"] = money_w * leg.per_shipment
                terms["transfer_days"] = w.transfer_days * leg.days
                terms["distance"] = w.distance * km_cost
                terms["shipments"] = w.shipments
        else:
            lane = self._ship_lane(code)
            if lane is not None:
                lane_km = _km(km) if km is not None else Decimal(0)
                terms["shipping_cost"] = w.shipping_cost * (
                    lane.per_shipment + lane.per_km * lane_km)
                terms["distance"] = w.distance * km_cost
                terms["shipments"] = w.shipments
        if not virtual:
            terms["source_priority"] = w.source_priority * source.priority
        return {name: _units(v) for name, v in terms.items() if v}

    def _unit_terms(self, line: OrderLine, source: Source, *, virtual: bool) -> dict[str, int]:
        w = self.objective
        scale = Decimal(10) ** self.decimals[line.id]
        terms: dict[str, Decimal] = {}
        code = source.code
        if not virtual and not (self.pickup is not None and code == self.pickup):
            if self.pickup is not None:
                leg = self._transfer_lane(code)
                if leg is not None:
                    terms["transfer_cost"] = (w.transfer_cost or w.shipping_cost) * leg.per_unit
            else:
                lane = self._ship_lane(code)
                if lane is not None:
                    terms["shipping_cost"] = w.shipping_cost * lane.per_unit
        cap = self._capacity(source)
        if w.capacity_use and cap.units:
            terms["capacity_use"] = w.capacity_use * 100 / cap.units
        return {name: _units(v / scale) for name, v in terms.items() if v}

    # -- the sub-problem ------------------------------------------------------------------

    def problem(
        self, name: str, lines: list[OrderLine], *, virtual: bool, bundle_split: bool
    ) -> tuple[
        AllocationProblem | None,
        dict[str, tuple[Candidate, ...]],
        dict[tuple[str, int], Mapping[str, int]],
        dict[tuple[str, int, int], Mapping[str, int]],
    ]:
        net = self.network
        reasons: list[list[tuple[Exclusion | None, str]]] = []
        avail: list[list[int]] = []
        for line in lines:
            row: list[tuple[Exclusion | None, str]] = []
            arow: list[int] = []
            for idx, source in enumerate(net.sources):
                why, detail, units = self._exclusion(line, source, idx, virtual=virtual)
                row.append((why, detail))
                arow.append(units)
            reasons.append(row)
            avail.append(arow)
        keep = [idx for idx in range(len(net.sources))
                if any(reasons[i][idx][0] is None for i in range(len(lines)))]
        if self.pickup is not None and not virtual:
            store = net.index(self.pickup)
            if store not in keep:
                keep = sorted({*keep, store})
        skus = sorted({line.sku for line in lines})
        sku_index = {sku: u for u, sku in enumerate(skus)}
        n_l, n_k = len(lines), len(keep)

        demand = np.array([to_units(line.qty, self.decimals[line.id]) for line in lines],
                          dtype=np.int64)
        stock = np.zeros((len(skus), n_k), dtype=np.int64)
        allowed = np.zeros((n_l, n_k), dtype=np.bool_)
        fixed = np.zeros(n_k, dtype=np.int64)
        unit = np.zeros((n_l, n_k), dtype=np.int64)
        fixed_terms: dict[tuple[str, int], Mapping[str, int]] = {}
        unit_terms: dict[tuple[str, int, int], Mapping[str, int]] = {}
        cap_units = np.full(n_k, UNLIMITED, dtype=np.int64)
        cap_lines = np.full(n_k, UNLIMITED, dtype=np.int64)
        exempt = np.zeros(n_k, dtype=np.bool_)
        for j, idx in enumerate(keep):
            source = net.sources[idx]
            ft = self._fixed_terms(source, idx, virtual=virtual)
            fixed_terms[(name, j)] = ft
            fixed[j] = sum(ft.values())
            cap = self._capacity(source)
            if cap.lines is not None:
                cap_lines[j] = max(cap.lines, 0)
            if cap.units is not None:
                # Capacity counts each line's smallest unit; for decimal-quantity SKUs that is
                # conservative (2.5 m counts as 25 tenths). Whole-unit SKUs count exactly.
                cap_units[j] = max(int(cap.units), 0)
            exempt[j] = virtual or source.code == self.pickup
            for i, line in enumerate(lines):
                u = sku_index[line.sku]
                if reasons[i][idx][0] is None:
                    allowed[i, j] = True
                    stock[u, j] = max(stock[u, j], avail[i][idx])
                ut = self._unit_terms(line, source, virtual=virtual)
                unit_terms[(name, i, j)] = ut
                unit[i, j] = sum(ut.values())

        # Leaving a unit short must cost more than shipping everything: fewest short units first,
        # cheapest plan second.
        short_cost = int(fixed.sum()) + int((demand[:, None] * unit).max(initial=0)) * n_l + 1
        short = np.full(n_l, short_cost, dtype=np.int64)

        split = self.policy.split
        max_shipments = split.max_shipments
        all_or_nothing = False
        if not virtual:
            if split.mode is SplitMode.SHIP_COMPLETE:
                max_shipments = 1
                all_or_nothing = True
            elif split.mode is SplitMode.HOLD_UNTIL_COMPLETE:
                all_or_nothing = True
        else:
            max_shipments = None
        min_value = 0
        unit_value = np.zeros(n_l, dtype=np.int64)
        if split.min_shipment_value and not virtual:
            min_value = _units(split.min_shipment_value)
            for i, line in enumerate(lines):
                unit_value[i] = _units(line.unit_price / Decimal(10) ** self.decimals[line.id])

        bundles: list[tuple[int, ...]] = []
        whole: list[tuple[int, ...]] = []
        if not bundle_split:
            groups: dict[str, list[int]] = defaultdict(list)
            for i, line in enumerate(lines):
                if line.bundle:
                    groups[line.bundle].append(i)
            for members in groups.values():
                if self.policy.bundle.mode is BundleMode.TOGETHER:
                    bundles.append(tuple(members))
                elif self.policy.bundle.mode is BundleMode.SIMULTANEOUS:
                    whole.append(tuple(members))

        candidates: dict[str, tuple[Candidate, ...]] = {}
        column = {idx: col for col, idx in enumerate(keep)}
        for i, line in enumerate(lines):
            notes = []
            for idx, source in enumerate(net.sources):
                why, detail = reasons[i][idx]
                if why is Exclusion.WRONG_KIND:
                    continue  # not worth a line in an explanation
                col = column.get(idx)
                cost: Decimal | None = None
                if col is not None and why is None:
                    per_unit = int(unit[i, col]) * int(demand[i])
                    cost = Decimal(int(fixed[col]) + per_unit) / COST_SCALE
                notes.append(Candidate(
                    source=source.code,
                    exclusion=why,
                    available=(Decimal(avail[i][idx]).scaleb(-self.decimals[line.id])
                               if why is None else None),
                    shipment_cost=cost,
                    distance_km=self._distance(idx),
                    detail=detail,
                ))
            candidates[line.id] = tuple(notes)

        problem = AllocationProblem(
            order_id=self.order.id,
            sources=tuple(net.sources[idx].code for idx in keep),
            lines=tuple(line.id for line in lines),
            skus=tuple(skus),
            line_sku=np.array([sku_index[line.sku] for line in lines], dtype=np.int64),
            demand=demand,
            stock=stock,
            allowed=allowed,
            fixed_cost=fixed,
            unit_cost=unit,
            short_cost=short,
            unit_value=unit_value,
            bundles=tuple(bundles),
            whole_groups=tuple(whole),
            max_shipments=max_shipments,
            min_shipment_value=min_value,
            capacity_units=cap_units,
            capacity_lines=cap_lines,
            all_or_nothing=all_or_nothing,
            exempt=exempt,
        )
        return problem, candidates, fixed_terms, unit_terms

    def rank(self, problem: AllocationProblem) -> tuple[int, ...]:
        """Source order for the greedy fill: the policy's rank keys, then priority, then code."""
        net = self.network
        keys: list[tuple[object, ...]] = []
        for j, code in enumerate(problem.sources):
            idx = net.index(code)
            source = net.sources[idx]
            key: list[object] = []
            for rk in self.policy.rank:
                if rk is RankKey.PRIORITY:
                    key.append(source.priority)
                elif rk is RankKey.DISTANCE:
                    d = self._distance(idx)
                    key.append((1, 0.0) if d is None else (0, d))
                elif rk is RankKey.STOCK:
                    held = sum(min(int(problem.stock[int(problem.line_sku[i]), j]),
                                   int(problem.demand[i]))
                               for i in range(problem.n_lines) if problem.allowed[i, j])
                    key.append(-held)
                elif rk is RankKey.COST:
                    per_unit = sum(int(problem.unit_cost[i, j]) * int(problem.demand[i])
                                   for i in range(problem.n_lines))
                    key.append(int(problem.fixed_cost[j]) + per_unit)
            if self.pickup is not None:
                # The pickup store's own stock first, whatever the keys say.
                key.insert(0, 0 if code == self.pickup else 1)
            key.extend((source.priority, source.code))
            keys.append(tuple(key))
        return tuple(sorted(range(problem.n_sources), key=lambda j: keys[j]))
