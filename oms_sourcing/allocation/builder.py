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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from oms_sourcing.allocation._arrays import (
    COST_SCALE,
    BoolArray,
    FloatArray,
    IntArray,
    NetworkArrays,
    PolicyArrays,
    Rate,
    TransferArrays,
    capacity_limits,
    network_arrays,
    round_div,
)
from oms_sourcing.allocation.lookahead import BidPrices
from oms_sourcing.allocation.problem import AllocationProblem
from oms_sourcing.domain import (
    Capacity,
    Catalog,
    Delivery,
    LineKind,
    Location,
    Order,
    OrderLine,
    Reason,
    to_units,
)
from oms_sourcing.errors import InputError
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.salable import snapshot_salable_units
from oms_sourcing.inventory.stock import StockSnapshot
from oms_sourcing.rules.model import (
    BackorderPolicy,
    BundleMode,
    DeclineAction,
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
    short_action: Mapping[str, ShortAction]
    line_decimals: Mapping[str, int]
    pickup_store: str | None = None
    rank: tuple[int, ...] | None = None
    rejected: tuple[str, ...] = ()
    # sub-problem name -> its objective split by term
    terms: Mapping[str, CostTerms] = field(default_factory=dict)
    transfer_days: Mapping[str, int] = field(default_factory=dict)
    bundle_of: Mapping[str, str] = field(default_factory=dict)
    bundle_split: bool = False
    explainer: _Explainer | None = field(default=None, repr=False)

    def candidates(self, line_id: str) -> tuple[Candidate, ...]:
        """Every source considered for line ``line_id``: why it was excluded or, for a
        candidate, what it holds and what shipping the line from it alone costs. Computed on
        demand (explanations are read far less often than decisions are made)."""
        if self.explainer is None:
            return ()
        return self.explainer.candidates(line_id)

    def network_columns(self, problem: AllocationProblem) -> IntArray | None:
        """The network position of each source of ``problem`` (``physical`` or ``virtual``),
        or ``None`` if this problem was not built with them."""
        if self.explainer is None:
            return None
        return self.explainer.columns(problem)

    @property
    def lines_by_id(self) -> Mapping[str, OrderLine]:
        return {line.id: line for line in self.order.lines}


def _owned(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Mark an array the builder just made (nobody else holds it) read-only, so the problem
    can keep it without a defensive copy."""
    array.flags.writeable = False
    return array


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


def _limit_backorders(
    order: Order,
    short_action: dict[str, ShortAction],
    catalog: Catalog | None,
    network: SourceNetwork,
    snapshot: StockSnapshot,
) -> None:
    """Hold, rather than backorder, lines of SKUs with limited backorders (``allow_until: N``)
    whose order quantity exceeds the salable quantity of the order's stock: the SKU's
    out-of-stock threshold (``-N``) bounds what sourcing backorders as it bounds the salable
    quantity (see :func:`~oms_sourcing.inventory.salable.snapshot_salable_units`)."""
    if catalog is None:
        return
    limited: dict[str, Decimal] = {}
    for line in order.lines:
        if short_action.get(line.id) is ShortAction.BACKORDER:
            info = catalog.info(line.sku)
            if info.backorders.allowed and not info.backorders.unlimited and info.stock_managed:
                limited[line.sku] = limited.get(line.sku, Decimal(0)) + line.qty
    for sku, wanted in limited.items():
        info = catalog.info(sku)
        if to_units(wanted, info.decimals) > snapshot_salable_units(
            network, snapshot, order.channel, info
        ):
            for line in order.lines:
                if line.sku == sku and short_action.get(line.id) is ShortAction.BACKORDER:
                    short_action[line.id] = ShortAction.HOLD


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
    bid_prices: BidPrices | None = None,
) -> SourcingProblem:
    """Build the sourcing problem of ``order`` under ``policy``.

    Args:
        order: a validated order.
        policy: the policy ``rules.select`` chose for it.
        network: sources and lanes.
        snapshot: stock of (at least) the order's SKUs, from ``StockLedger.snapshot`` of a
            ledger over the network's sources (in the network's order).
        now: the decision time (the engine never reads the clock).
        catalog: SKU settings; without it every SKU is whole-unit, stock-managed, untagged.
        declined: per line id, the sources that declined it before (they are excluded, and a
            line declined ``policy.decline.attempts`` times is held or cancelled).
        attempts: how many times this order was sourced before (bundles may split after
            ``policy.bundle.split_after_attempts``).
        capacity_left: per source, capacity remaining today; ``None`` uses each source's full
            daily capacity from the network.
        bid_prices: what a unit of stock is worth per (source, SKU), charged per unit taken
            when the objective weighs ``stock_value`` (see :mod:`.lookahead`).

    Returns:
        The :class:`SourcingProblem`; a rejected order has ``rejected`` reasons and no
        sub-problems.

    Raises:
        InputError: the snapshot's sources are not the network's, in the network's order.
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
            virtual=None, decided=refused, short_action=short_action,
            line_decimals=decimals, rejected=tuple(r for r, _ in rejected), bundle_of=bundle_of,
        )
    if snapshot.source_codes is not network.codes and (
        tuple(snapshot.source_codes) != tuple(network.codes)
    ):
        raise InputError(
            "the stock snapshot's sources are not the network's sources in the network's order",
            field="snapshot.source_codes", value=len(snapshot.source_codes),
            expected="StockLedger(network.codes, ...).snapshot(...)",
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

    _limit_backorders(order, short_action, catalog, network, snapshot)
    pickup = order.pickup_source if order.delivery is Delivery.PICKUP else None
    builder = _Builder(order, policy, network, snapshot, catalog_, declined, capacity_left,
                       pickup, decimals, bid_prices)
    bundle_split = (
        policy.bundle.split_after_attempts is not None
        and attempts >= policy.bundle.split_after_attempts
    )
    physical = virtual = None
    rank: tuple[int, ...] | None = None
    if physical_lines:
        physical = builder.problem("physical", physical_lines, virtual=False,
                                   bundle_split=bundle_split)
        if policy.uses_rank:
            rank = builder.rank(physical)
    if virtual_lines:
        virtual = builder.problem("virtual", virtual_lines, virtual=True, bundle_split=True)

    return SourcingProblem(
        order=order, policy=policy, now=now, currency=network.currency, physical=physical,
        virtual=virtual, decided=tuple(decided), short_action=short_action,
        line_decimals=decimals, pickup_store=pickup, rank=rank, terms=builder.terms,
        transfer_days=builder.transfer_days, bundle_of=bundle_of, bundle_split=bundle_split,
        explainer=_Explainer(builder),
    )


@dataclass(frozen=True, slots=True, eq=False)
class CostTerms:
    """A sub-problem's objective split by term, for the cost breakdown: ``fixed[name]`` is
    ``(K,)`` objective units per shipment from each source, ``unit[name]`` ``(L, K)`` per
    smallest unit of each line from each source. Summed, they are the problem's ``fixed_cost``
    and ``unit_cost``."""

    fixed: Mapping[str, IntArray]
    unit: Mapping[str, IntArray]


# The filters, in the order an explanation reports them: a source excluded for several reasons
# is explained by the first.
_ORDER_CHECKS = (
    Exclusion.NOT_IN_CHANNEL_STOCK, Exclusion.WRONG_KIND, Exclusion.DISABLED,
    Exclusion.CANNOT_SHIP, Exclusion.EXCLUDED_BY_RULE, Exclusion.BEYOND_RADIUS,
    Exclusion.NO_LANE, Exclusion.NO_TRANSFER_LANE, Exclusion.DECLINED_BEFORE,
    Exclusion.NO_CAPACITY, Exclusion.OUT_OF_STOCK,
)


# A line's own filters: the sources its rule admits, those within the rule's distance limit
# (None: no limit) and those that did not decline it before (None: none did).
_LineChecks = tuple[BoolArray, BoolArray | None, BoolArray | None]


@dataclass(slots=True)
class _Sub:
    """One sub-problem as built, kept for explanations."""

    name: str
    lines: list[OrderLine]
    virtual: bool
    problem: AllocationProblem
    keep: IntArray                                  # (n_k,) network index of each column
    common: dict[Exclusion, BoolArray]              # filter -> sources passing it
    checks: list[_LineChecks]                       # per line: its own filters
    stock: IntArray                                 # (U, K) units each source may give
    limits: list[float | None]                      # per line: distance limit


class _Destination:
    """What building a problem needs that depends on the network, the policy, where the order
    ships to (the lanes of its destination zone, or the pickup store) and its sales channel,
    and not on the order: built once per such key and kept in the policy's arrays (see
    :mod:`._arrays`). Every array is read-only and over the network's sources."""

    __slots__ = ("base", "common", "is_store", "lane", "priority", "ship_fixed",
                 "ship_per_metre", "stock_name", "store", "transfer", "uncapped", "unit_rows")

    def __init__(self, net: NetworkArrays, pol: PolicyArrays, network: SourceNetwork,
                 destination: Location, pickup: str | None, channel: str) -> None:
        self.store = network.index(pickup) if pickup is not None else -1
        is_store: BoolArray = np.zeros(net.n, dtype=np.bool_)
        if self.store >= 0:
            is_store[self.store] = True
        self.is_store = _owned(is_store)
        self.lane: IntArray | None = None
        self.transfer: TransferArrays | None = None
        # per lane-clipped source, the shipping term's parts (see ShippingCosting.shipment)
        self.ship_fixed: npt.NDArray[Any] | None = None
        self.ship_per_metre: npt.NDArray[Any] | None = None
        self.unit_rows: dict[int, IntArray] = {}
        if pickup is not None:
            self.transfer = pol.transfers(pickup)
        else:
            self.lane = net.lane_indexes(destination)
            clipped = np.maximum(self.lane, 0)
            self.ship_fixed = pol.shipping.fixed[clipped]
            self.ship_per_metre = pol.shipping.per_metre[clipped]
        # Source priority is the link's, per stock (MSI): the order's channel picks the array,
        # built once with the network; a channel without a stock keeps each source's own.
        stock = network.stock_for_channel(channel)
        self.stock_name = stock.name if stock is not None else None
        self.priority: IntArray = (network.stock_priorities(stock.name) if stock is not None
                                   else net.priority)
        mask = net.channel_mask(channel)
        checks: dict[Exclusion, BoolArray] = {
            Exclusion.DISABLED: net.enabled,
            Exclusion.CANNOT_SHIP: _owned(net.ships | is_store),
            Exclusion.NO_CAPACITY: _owned(net.cap_orders != 0),
        }
        if mask is not None:
            checks[Exclusion.NOT_IN_CHANNEL_STOCK] = _owned(mask | is_store)
        if self.transfer is not None:
            checks[Exclusion.NO_TRANSFER_LANE] = _owned(self.transfer.has | is_store)
        elif self.lane is not None:
            checks[Exclusion.NO_LANE] = _owned(self.lane >= 0)
        # per sub-problem kind (virtual or not): the filters common to all its lines, their
        # conjunction, and that without the capacity filter (which capacity left may change)
        self.common: dict[bool, dict[Exclusion, BoolArray]] = {}
        self.base: dict[bool, BoolArray] = {}
        self.uncapped: dict[bool, BoolArray] = {}
        for virtual in (False, True):
            common = dict(checks)
            common[Exclusion.WRONG_KIND] = _owned(net.virtual.copy() if virtual
                                                  else ~net.virtual)
            if virtual:
                common.pop(Exclusion.NO_LANE, None)
                common.pop(Exclusion.NO_TRANSFER_LANE, None)
            self.common[virtual] = common
            self.base[virtual] = _owned(np.logical_and.reduce(list(common.values())))
            self.uncapped[virtual] = _owned(np.logical_and.reduce(
                [v for k, v in common.items() if k is not Exclusion.NO_CAPACITY]))

    def unit_row(self, pol: PolicyArrays, decimals: int) -> IntArray:
        """Per source, its lane's weighted shipping cost of one smallest unit of a SKU with
        ``decimals`` places."""
        found = self.unit_rows.get(decimals)
        if found is None:
            if self.lane is None:  # rows per unit exist only for destinations with lanes
                raise RuntimeError("internal error: a per-unit lane row without lanes")
            found = self.unit_rows[decimals] = _owned(
                pol.shipping_per_unit(decimals)[np.maximum(self.lane, 0)])
        return found


class _Builder:
    """Per-order state shared by the physical and the virtual sub-problem.

    Every filter is a boolean mask over the network's sources, computed with numpy; cost terms
    are computed only for the columns that survive (sources that may ship at least one line).
    What does not depend on the order itself comes from a :class:`_Destination` cached in the
    policy's arrays; per order only the distances to the exact destination are computed.
    """

    def __init__(
        self,
        order: Order,
        policy: Policy,
        network: SourceNetwork,
        snapshot: StockSnapshot,
        catalog: Catalog,
        declined: Mapping[str, frozenset[str]],
        capacity_left: Mapping[str, Capacity] | None,
        pickup: str | None,
        decimals: Mapping[str, int],
        bid_prices: BidPrices | None = None,
    ) -> None:
        self.order = order
        self.bid_prices = bid_prices
        self.policy = policy
        self.network = network
        self.net = net = network_arrays(network)
        self.pol = pol = net.policy(policy)
        self.snapshot = snapshot
        self.catalog = catalog
        self.declined = declined
        self.pickup = pickup
        self.decimals = decimals
        self.transfer_days: dict[str, int] = {}
        self.terms: dict[str, CostTerms] = {}
        self.subs: dict[str, _Sub] = {}

        # Where shipments go: the customer, or for pickup the store (transfers end there).
        destination: Location = (network.source(pickup).location if pickup is not None
                                 else order.destination)
        key = (("pickup", pickup, order.channel) if pickup is not None
               else ("ship", network.destination_key(destination), order.channel))
        self.dest = dest = pol.destinations.get(key, lambda: _Destination(
            net, pol, network, destination, pickup, order.channel))
        self.store = dest.store
        self.is_store = dest.is_store
        self.lane = dest.lane
        self.transfer = dest.transfer
        self.stock_name = dest.stock_name
        self.priority = dest.priority
        # the one thing that depends on the exact destination point
        self.km: FloatArray = network.distances_km(destination)

        self.cap_orders, self.cap_lines, self.cap_units = (
            net.cap_orders, net.cap_lines, net.cap_units)
        self.capacity_left = bool(capacity_left)
        if capacity_left:
            self.cap_orders = net.cap_orders.copy()
            self.cap_lines = net.cap_lines.copy()
            self.cap_units = net.cap_units.copy()
            for code, cap in capacity_left.items():
                if code not in network:
                    continue
                k = network.index(code)
                self.cap_orders[k], self.cap_lines[k], self.cap_units[k] = capacity_limits(cap)

    def metres(self, keep: IntArray) -> IntArray:
        """Whole metres to the destination from the sources ``keep`` (0 without coordinates)."""
        km = self.km[keep]
        unknown = np.isnan(km)
        metres = np.floor(km * 1000.0 + 0.5)
        metres[unknown] = 0.0
        return metres.astype(np.int64)

    def metres_for_distance(self, keep: IntArray) -> IntArray:
        """:meth:`metres`, where a source without coordinates is costed as the farthest known
        one of the network (never favoured)."""
        every = self.metres(np.arange(self.net.n))
        return np.where(np.isnan(self.km), int(every.max(initial=0)), every)[keep]

    # -- stock ----------------------------------------------------------------------------

    def _stock(self, sku: str, wanted: int) -> IntArray:
        """Units of ``sku`` each source may give under the policy (>= 0); ``wanted`` units
        everywhere for a SKU that is not stock-managed."""
        n = self.net.n
        if not self.catalog.stock_managed(sku):
            return np.full(n, wanted, dtype=np.int64)
        st = self.snapshot.skus.get(sku)
        if st is None:
            return np.zeros(n, dtype=np.int64)
        avail = st.available
        if not self.policy.stock.respect_reservations:
            avail = avail + st.reserved
        safety = self.pol.safety_units(st.decimals)
        if safety is not None:
            avail = avail - np.maximum(safety - st.safety, 0)
        return np.where(st.in_stock, np.maximum(avail, 0), 0)

    # -- the sub-problem ------------------------------------------------------------------

    def problem(
        self, name: str, lines: list[OrderLine], *, virtual: bool, bundle_split: bool
    ) -> AllocationProblem:
        net, pol, dest = self.net, self.pol, self.dest
        n_l = len(lines)
        skus = sorted({line.sku for line in lines})
        sku_index = {sku: u for u, sku in enumerate(skus)}
        line_sku = [sku_index[line.sku] for line in lines]
        demand_list = [to_units(line.qty, self.decimals[line.id]) for line in lines]
        wanted = [0] * len(skus)
        for u, d in zip(line_sku, demand_list, strict=True):
            wanted[u] += d
        stock_full = (self._stock(skus[0], wanted[0])[None, :] if len(skus) == 1 else
                      np.stack([self._stock(sku, wanted[u]) for u, sku in enumerate(skus)]))

        checks_common = dest.common[virtual]
        base = dest.base[virtual]
        if self.capacity_left:
            checks_common = dict(checks_common)
            checks_common[Exclusion.NO_CAPACITY] = self.cap_orders != 0
            base = dest.uncapped[virtual] & checks_common[Exclusion.NO_CAPACITY]

        # per line, the filters that depend on the line (the rest are common to all lines):
        # the rule's sources, those within its distance limit, those that did not decline it
        checks: list[_LineChecks] = []
        limits: list[float | None] = []
        has_stock = stock_full > 0
        line_sku_arr = np.array(line_sku, dtype=np.int64)
        restricted = bool(self.policy.sources.lines)
        rule, limit = pol.rule_mask(())
        if not restricted and (limit is None or virtual) and not any(
                self.declined.get(line.id) for line in lines):
            # the common case: every line has the same filters
            if self.store >= 0:
                rule = rule | self.is_store
            checks = [(rule, None, None)] * n_l
            limits = [limit] * n_l
            allowed_full = has_stock[line_sku_arr] & (rule & base)
        else:
            rules = np.empty((n_l, net.n), dtype=np.bool_)
            tagged = bool(self.catalog.items)
            for i, line in enumerate(lines):
                if restricted:
                    tags = self.catalog.info(line.sku).tags if tagged else frozenset()
                    rule, limit = pol.rule_mask(pol.restrictions(line.sku, tags))
                if self.store >= 0:
                    rule = rule | self.is_store
                rules[i] = rule
                near: BoolArray | None = None
                if limit is not None and not virtual:
                    near = (self.km <= limit) | self.is_store
                    rules[i] &= near
                limits.append(limit)
                asked: BoolArray | None = None
                refused = self.declined.get(line.id)
                if refused:
                    asked = np.array([c not in refused for c in net.codes], dtype=np.bool_)
                    rules[i] &= asked
                checks.append((rule, near, asked))
            allowed_full = rules & base & has_stock[line_sku_arr]

        used_any: BoolArray = np.asarray(allowed_full.any(axis=0))
        if self.store >= 0 and not virtual:
            used_any[self.store] = True
        keep = np.flatnonzero(used_any)
        if self.stock_name is not None and self.priority is not self.network.priorities:
            # columns in tie-break order: the stock's priority, then the network's order
            keep = keep[np.argsort(self.priority[keep], kind="stable")]
        n_k = len(keep)
        demand = np.array(demand_list, dtype=np.int64)
        allowed = allowed_full[:, keep]
        stock = stock_full[:, keep]
        # a column's stock counts only for lines that may take it
        if len(skus) == n_l:
            takes = allowed[np.argsort(line_sku_arr)] if n_l > 1 else allowed
        else:
            owner = np.zeros((len(skus), n_l), dtype=np.int64)
            owner[line_sku, np.arange(n_l)] = 1
            takes = (owner @ allowed) > 0
        stock = np.where(takes, stock, 0)

        fixed_terms, unit_terms = self._costs(lines, keep, virtual=virtual)
        fixed = _total(fixed_terms.values(), (n_k,))
        unit = _total(unit_terms.values(), (n_l, n_k))
        self.terms[name] = CostTerms(fixed_terms, unit_terms)

        # Capacity counts each line's smallest unit; for decimal-quantity SKUs that is
        # conservative (2.5 m counts as 25 tenths). Whole-unit SKUs count exactly.
        cap_units = self.cap_units[keep]
        cap_lines = self.cap_lines[keep]
        exempt = np.ones(n_k, dtype=np.bool_) if virtual else self.is_store[keep]

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
        single = np.full(n_l, split.one_source_per_line and not virtual, dtype=np.bool_)
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

        kept = keep.tolist()
        if self.transfer is not None and not virtual:
            for k in kept:
                if k != self.store:
                    self.transfer_days[net.codes[k]] = int(self.transfer.days[k])

        codes = net.codes
        problem = AllocationProblem(
            order_id=self.order.id,
            sources=tuple([codes[k] for k in kept]),
            lines=tuple([line.id for line in lines]),
            skus=tuple(skus),
            line_sku=_owned(line_sku_arr),
            demand=_owned(demand),
            stock=_owned(stock),
            allowed=_owned(allowed),
            fixed_cost=_owned(fixed),
            unit_cost=_owned(unit),
            short_cost=_owned(short),
            unit_value=_owned(unit_value),
            single_source=_owned(single),
            bundles=tuple(bundles),
            whole_groups=tuple(whole),
            max_shipments=max_shipments,
            min_shipment_value=min_value,
            capacity_units=_owned(cap_units),
            capacity_lines=_owned(cap_lines),
            all_or_nothing=all_or_nothing,
            exempt=_owned(exempt),
        )
        self.subs[name] = _Sub(name, lines, virtual, problem, keep, checks_common, checks,
                               stock_full, limits)
        return problem

    def _costs(
        self, lines: list[OrderLine], keep: IntArray, *, virtual: bool
    ) -> tuple[dict[str, IntArray], dict[str, IntArray]]:
        """The objective's terms for the kept columns: per shipment and per smallest unit."""
        pol, w, dest = self.pol, self.pol.objective, self.dest
        n_k, n_l = len(keep), len(lines)
        fixed: dict[str, IntArray] = {}
        unit: dict[str, IntArray] = {}
        line_decimals = [self.decimals[line.id] for line in lines]
        if not virtual:
            parcel = ~self.is_store[keep]            # columns that make a shipment or transfer
            if self.transfer is not None:
                tr = self.transfer
                if w.transfer_cost or w.shipping_cost:
                    fixed["transfer_cost"] = np.where(parcel, tr.fixed[keep], 0)
                    per_unit = np.stack([
                        round_div(tr.per_unit.num[keep], tr.per_unit.den * 10**d)
                        for d in line_decimals])
                    unit["transfer_cost"] = np.where(parcel, per_unit, 0)
                if w.transfer_days:
                    fixed["transfer_days"] = np.where(parcel, tr.days_term[keep], 0)
            elif w.shipping_cost:
                if dest.ship_fixed is None or dest.ship_per_metre is None:
                    raise RuntimeError("internal error: shipping rows missing for a "
                                       "destination whose policy weighs shipping cost")
                # ShippingCosting.shipment over the destination's lanes, rounded once
                fixed["shipping_cost"] = round_div(
                    dest.ship_fixed[keep] + dest.ship_per_metre[keep] * self.metres(keep),
                    pol.shipping.den)
                first = line_decimals[0]
                if all(d == first for d in line_decimals):
                    row = dest.unit_row(pol, first)[keep]
                    unit["shipping_cost"] = (row[None, :] if n_l == 1
                                             else np.repeat(row[None, :], n_l, axis=0))
                else:
                    unit["shipping_cost"] = np.stack([
                        dest.unit_row(pol, d)[keep] for d in line_decimals])
            if w.distance:
                fixed["distance"] = np.where(
                    parcel, pol.distance_per_metre.times(self.metres_for_distance(keep)), 0)
            if w.shipments:
                fixed["shipments"] = np.where(parcel, pol.shipment_term, 0).astype(np.int64)
            if w.source_priority:
                fixed["source_priority"] = self._priority_term()[keep]
        if w.capacity_use:
            caps = self.cap_units[keep]
            rows = np.zeros((n_l, n_k), dtype=np.int64)
            for j in np.flatnonzero(caps > 0).tolist():
                per_unit_pct = w.capacity_use * 100 / int(caps[j])
                for i, d in enumerate(line_decimals):
                    rows[i, j] = _units(per_unit_pct / Decimal(10) ** d)
            unit["capacity_use"] = rows
        if w.stock_value and self.bid_prices is not None and self.bid_prices.prices:
            codes = self.net.codes
            rows = np.zeros((n_l, n_k), dtype=np.int64)
            for i, line in enumerate(lines):
                scale = w.stock_value * COST_SCALE / Decimal(10) ** line_decimals[i]
                prices = [self.bid_prices.price(codes[k], line.sku) * scale
                          for k in keep.tolist()]
                rows[i] = Rate.of(prices).times(1)
            unit["stock_value"] = rows
        fixed = {k: v for k, v in fixed.items() if v.any()}
        unit = {k: v for k, v in unit.items() if v.any()}
        return fixed, unit

    def _priority_term(self) -> IntArray:
        """The weighted source-priority term per source, for the order's stock."""
        if self.stock_name is None or self.priority is self.network.priorities:
            return self.pol.priority_term
        terms = self.pol.stock_priority_terms
        found = terms.get(self.stock_name)
        if found is None:
            found = terms[self.stock_name] = Rate.of(
                [self.pol.objective.source_priority * COST_SCALE]).times(self.priority)
        return found

    def rank(self, problem: AllocationProblem) -> tuple[int, ...]:
        """Source order for the greedy fill: the policy's rank keys, then priority, then code."""
        keep = self.subs["physical"].keep
        keys: list[npt.NDArray[np.generic]] = []
        if self.pickup is not None:
            # The pickup store's own stock first, whatever the keys say.
            keys.append((~self.is_store[keep]).astype(np.int64))
        priority = self.priority[keep]
        for rk in self.policy.rank:
            if rk is RankKey.PRIORITY:
                keys.append(priority)
            elif rk is RankKey.DISTANCE:
                km = self.km[keep]
                keys.append(np.isnan(km).astype(np.int64))
                keys.append(np.nan_to_num(km, nan=0.0))
            elif rk is RankKey.STOCK:
                have = np.minimum(problem.stock[problem.line_sku], problem.demand[:, None])
                keys.append(-(have * problem.allowed).sum(axis=0))
            elif rk is RankKey.COST:
                keys.append(problem.fixed_cost + problem.demand @ problem.unit_cost)
        # then the stock's priority; the network's order is (own priority, code): the column
        # index breaks every tie
        keys.append(priority)
        keys.append(np.arange(len(keep)))
        order = np.lexsort(tuple(reversed(keys)))
        return tuple(int(j) for j in order)


def _total(terms: Iterable[IntArray], shape: tuple[int, ...]) -> IntArray:
    """The sum of cost terms: the term itself when there is one (the problem and the cost
    breakdown then share that read-only array), else a new array."""
    arrays = list(terms)
    if len(arrays) == 1 and arrays[0].shape == shape and arrays[0].dtype == np.int64:
        return arrays[0]
    out = np.zeros(shape, dtype=np.int64)
    for arr in arrays:
        out += arr
    return out


class _Explainer:
    """Builds per-line candidate explanations on demand from the builder's masks."""

    __slots__ = ("_builder",)

    def __init__(self, builder: _Builder) -> None:
        self._builder = builder

    def columns(self, problem: AllocationProblem) -> IntArray | None:
        for sub in self._builder.subs.values():
            if sub.problem is problem:
                return sub.keep
        return None

    def candidates(self, line_id: str) -> tuple[Candidate, ...]:
        b = self._builder
        for sub in b.subs.values():
            for i, line in enumerate(sub.lines):
                if line.id == line_id:
                    return self._line(sub, i, line)
        return ()

    def _line(self, sub: _Sub, i: int, line: OrderLine) -> tuple[Candidate, ...]:
        b = self._builder
        p = sub.problem
        rule, near, asked = sub.checks[i]
        checks = {**sub.common, Exclusion.EXCLUDED_BY_RULE: rule,
                  Exclusion.OUT_OF_STOCK: sub.stock[int(p.line_sku[i])] > 0}
        if near is not None:
            checks[Exclusion.BEYOND_RADIUS] = near
        if asked is not None:
            checks[Exclusion.DECLINED_BEFORE] = asked
        column = {int(k): j for j, k in enumerate(sub.keep.tolist())}
        u = int(p.line_sku[i])
        dec = b.decimals[line.id]
        notes: list[Candidate] = []
        for k, code in enumerate(b.net.codes):
            why: Exclusion | None = None
            for check in _ORDER_CHECKS:
                mask = checks.get(check)
                if mask is not None and not mask[k]:
                    why = check
                    break
            if why is Exclusion.WRONG_KIND:
                continue  # not worth a line in an explanation
            km = float(b.km[k])
            distance = None if math.isnan(km) else km
            detail = ""
            if why is Exclusion.BEYOND_RADIUS:
                shown = "unknown" if distance is None else f"{distance:.0f} km"
                detail = f"{shown} > {sub.limits[i]:g} km"
            cost: Decimal | None = None
            available: Decimal | None = None
            if why is None:
                j = column[k]
                units = int(p.fixed_cost[j]) + int(p.unit_cost[i, j]) * int(p.demand[i])
                cost = Decimal(units) / COST_SCALE
                available = Decimal(int(sub.stock[u, k])).scaleb(-dec)
            notes.append(Candidate(source=code, exclusion=why, available=available,
                                   shipment_cost=cost, distance_km=distance, detail=detail))
        return tuple(notes)
