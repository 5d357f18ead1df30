"""Arrays derived once per network and per policy, so that building a problem is a few vector
operations over the source axis instead of a Python loop over (line, source) pairs.

Everything here is a pure function of immutable inputs (a :class:`SourceNetwork`, a
:class:`Policy`), and every cache hangs off the object it was derived from, so it is invalidated
by construction: a changed network or policy is a new object and gets new arrays.

* :class:`NetworkArrays` lives with its network (:meth:`SourceNetwork.derived`), as long as it;
* :class:`PolicyArrays`, per policy, in its network's arrays: an LRU of at most
  :data:`POLICY_CACHE_SIZE` policies keyed by identity (holding a strong reference, so an
  ``id()`` is never reused while its entry lives);
* per destination, in the policy's arrays: an LRU of what the builder derives from the lanes
  of a destination zone (:meth:`SourceNetwork.destination_key`, never the exact point) or from
  a pickup store, at most :func:`destination_cache_size` entries (about a million numbers).

Nothing is kept in a module global.

Money is exact: every cost term is a rational number of *objective units* (``COST_SCALE`` per
currency unit) with a power-of-ten denominator, computed in integers and rounded half-even once
per term. Distances are rounded to whole metres first, as the network's own shipping costs are.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from oms_sourcing.domain import Capacity, Location, SourceKind, to_units
from oms_sourcing.errors import InputError
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork
from oms_sourcing.rules.model import Objective, Policy, StockPolicy

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Objective units per currency unit: costs are exact to a millionth of the currency.
COST_SCALE = 10**6
#: Marks an unlimited capacity.
UNLIMITED = -1
# Metres in the longest great-circle distance on Earth (half the circumference), rounded up.
_MAX_METRES = 20_040_000
_INT64_SAFE = 2**62
# below this, round_div may divide in floating point and still round exactly
_FLOAT_EXACT = 2**51

_T = TypeVar("_T")
_V = TypeVar("_V")


#: The most policies whose arrays one network keeps (least recently used dropped first).
POLICY_CACHE_SIZE = 256


def destination_cache_size(n_sources: int) -> int:
    """The most destinations whose arrays one policy keeps: each entry holds a few numbers per
    source, so about a million numbers in all, between 16 and 4,096 entries."""
    return max(16, min(4096, 200_000 // max(1, n_sources)))


class IdentityCache(Generic[_T, _V]):
    """A bounded LRU cache keyed by object identity (for immutable objects whose hash is
    costly). It holds each key, so an ``id()`` is never reused while its entry lives."""

    __slots__ = ("_entries", "_maxsize")

    def __init__(self, maxsize: int) -> None:
        self._entries: dict[int, tuple[_T, _V]] = {}
        self._maxsize = maxsize

    def get(self, key: _T, make: Callable[[_T], _V]) -> _V:
        entries = self._entries
        hit = entries.get(id(key))
        if hit is not None and hit[0] is key:
            if len(entries) > 1:
                del entries[id(key)]      # most recently used last
                entries[id(key)] = hit
            return hit[1]
        value = make(key)
        if len(entries) >= self._maxsize:
            entries.pop(next(iter(entries)))
        entries[id(key)] = (key, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class LruCache(Generic[_T, _V]):
    """A bounded LRU cache keyed by value (for small hashable keys)."""

    __slots__ = ("_entries", "_maxsize")

    def __init__(self, maxsize: int) -> None:
        self._entries: dict[_T, _V] = {}
        self._maxsize = maxsize

    def get(self, key: _T, make: Callable[[], _V]) -> _V:
        entries = self._entries
        found = entries.pop(key, None)
        if found is None:
            found = make()
            if len(entries) >= self._maxsize:
                entries.pop(next(iter(entries)))
        entries[key] = found              # most recently used last
        return found

    def __len__(self) -> int:
        return len(self._entries)


def round_div(num: npt.NDArray[np.int64] | npt.NDArray[np.object_], den: int) -> IntArray:
    """``num / den`` rounded half-even, as int64 (``den > 0``; ``num`` int64 or Python ints)."""
    if den == 1:
        out = num
    elif (num.dtype != object and num.size and int(num.max()) < _FLOAT_EXACT
          and int(num.min()) > -_FLOAT_EXACT):
        # exact: the float quotient of |num| < 2**51 lies within 1/(4 den) of the true one,
        # never across a half, and a true half is representable; rint rounds half to even
        return np.rint(num / den).astype(np.int64)
    else:
        q = num // den
        r = num - q * den
        twice = 2 * r
        up = (twice > den) | ((twice == den) & (q % 2 == 1))
        out = q + up.astype(np.int64)
    if out.dtype == object:
        values = [int(v) for v in out.tolist()]
        if any(abs(v) >= _INT64_SAFE for v in values):
            raise InputError(
                "a cost term does not fit in 64-bit objective units; the rule's weights or the "
                "network's rates are too large",
                field="objective", value=max(values, key=abs), expected=f"< {_INT64_SAFE}",
            )
        return np.array(values, dtype=np.int64)
    return out.astype(np.int64, copy=False)


@dataclass(frozen=True, slots=True)
class Rate:
    """Rational rates ``num / den`` per item (``den`` a power of ten shared by all items).

    ``num`` is int64 when every value this rate can be multiplied into fits, else an object
    array of Python ints (exact, slower; only for extreme weights).
    """

    num: npt.NDArray[np.int64] | npt.NDArray[np.object_]
    den: int

    @staticmethod
    def of(values: Sequence[Decimal], *, max_factor: int = 1) -> Rate:
        """Rates ``values``, to be multiplied by integers up to ``max_factor``."""
        # normalize(): 2.4000 has the same value as 2.4 and needs a smaller denominator
        exponents = [int(v.normalize().as_tuple().exponent) for v in values if v]
        places = max([0, *(-e for e in exponents)])
        den = 10**places
        ints = [int(v.scaleb(places)) for v in values]
        top = max((abs(v) for v in ints), default=0)
        if top * max(max_factor, 1) < _INT64_SAFE // 4:
            return Rate(np.array(ints, dtype=np.int64), den)
        return Rate(np.array(ints, dtype=object), den)

    def times(self, factor: npt.NDArray[np.int64] | int) -> IntArray:
        """``rate * factor`` rounded half-even to int64 (per item)."""
        return round_div(self.num * factor, self.den)


@dataclass(frozen=True, slots=True)
class ShippingCosting:
    """Per shipping lane, the shipping-cost term of one shipment over ``m`` metres:
    ``(fixed + per_metre * m) / den`` objective units, rounded half-even once."""

    fixed: npt.NDArray[np.int64] | npt.NDArray[np.object_]       # (lanes,)
    per_metre: npt.NDArray[np.int64] | npt.NDArray[np.object_]   # (lanes,)
    den: int
    per_unit: dict[int, IntArray]  # decimals -> (lanes,) objective units per smallest unit

    def shipment(self, lane: IntArray, metres: IntArray) -> IntArray:
        """The term for shipments on lanes ``lane`` over ``metres`` (elementwise)."""
        return round_div(self.fixed[lane] + self.per_metre[lane] * metres, self.den)


@dataclass(frozen=True, slots=True)
class TransferArrays:
    """Per source, its transfer lane to one pickup store (``has`` false: none)."""

    has: BoolArray
    fixed: IntArray   # objective units per transfer (weighted per_shipment)
    days: IntArray
    days_term: IntArray
    per_unit: Rate    # objective units per unit (weighted per_unit); divide by 10**decimals


def capacity_limits(capacity: Capacity) -> tuple[int, int, int]:
    """Orders, lines and units left as integers: :data:`UNLIMITED` where no limit is set, and
    never below 0 (a source over its capacity has none left). Units are counted whole."""
    def limit(value: int | Decimal | None) -> int:
        return UNLIMITED if value is None else max(int(value), 0)

    return limit(capacity.orders), limit(capacity.lines), limit(capacity.units)


class NetworkArrays:
    """Per-source facts of one network as arrays, in the network's source order."""

    def __init__(self, network: SourceNetwork) -> None:
        sources = network.sources
        self.network = network
        self.n = len(sources)
        self.codes = network.codes
        self.enabled: BoolArray = np.array([s.enabled for s in sources], dtype=np.bool_)
        self.ships: BoolArray = np.array([s.capabilities.ships for s in sources], dtype=np.bool_)
        self.virtual: BoolArray = np.array([s.kind is SourceKind.VIRTUAL for s in sources],
                                           dtype=np.bool_)
        self.priority: IntArray = np.array([s.priority for s in sources], dtype=np.int64)
        limits = np.array([capacity_limits(s.capacity) for s in sources],
                          dtype=np.int64).reshape(self.n, 3)
        self.cap_orders: IntArray = limits[:, 0].copy()
        self.cap_lines: IntArray = limits[:, 1].copy()
        self.cap_units: IntArray = limits[:, 2].copy()
        self.lanes: tuple[ShippingLane, ...] = network.shipping_lanes or (network.OPEN_LANE,)
        self._channels: dict[str, BoolArray | None] = {}
        self._transfers: dict[tuple[str, int], TransferArrays] = {}
        self._policies: IdentityCache[Policy, PolicyArrays] = IdentityCache(POLICY_CACHE_SIZE)

    def channel_mask(self, channel: str) -> BoolArray | None:
        """Sources in the sales channel's stock (``None``: the channel has no stock defined)."""
        if channel not in self._channels:
            stock = self.network.stock_for_channel(channel)
            mask = None
            if stock is not None:
                members = set(self.network.stock_sources(stock.name))
                mask = np.array([c in members for c in self.codes], dtype=np.bool_)
            self._channels[channel] = mask
        return self._channels[channel]

    def lane_indexes(self, destination: Location) -> IntArray:
        """Per source, the index into :attr:`lanes` of its lane to ``destination`` (-1: none)."""
        return self.network.shipping_lane_indexes(destination)

    def policy(self, policy: Policy) -> PolicyArrays:
        return self._policies.get(policy, lambda p: PolicyArrays(self, p))


class PolicyArrays:
    """Per-source facts of one policy on one network: rule masks, safety stock, weights."""

    def __init__(self, net: NetworkArrays, policy: Policy) -> None:
        self.net = net
        self.policy = policy
        sources = net.network.sources
        sp = policy.sources
        self.base_allowed: BoolArray = np.array([sp.allows(s) for s in sources], dtype=np.bool_)
        self._restricted: dict[tuple[int, ...], tuple[BoolArray, float | None]] = {}
        self._safety: dict[int, IntArray | None] = {}
        objective = policy.objective or Objective(shipping_cost=Decimal(1))
        self.objective = objective
        self.shipment_term = int(Rate.of([objective.shipments * COST_SCALE]).times(1)[0])
        self.priority_term: IntArray = Rate.of(
            [objective.source_priority * COST_SCALE]).times(net.priority)
        self.distance_per_metre = Rate.of([objective.distance * COST_SCALE / 1000],
                                          max_factor=_MAX_METRES)
        w = objective.shipping_cost
        lanes = net.lanes
        both = Rate.of([w * ln.per_shipment * COST_SCALE for ln in lanes]
                       + [w * ln.per_km * COST_SCALE / 1000 for ln in lanes],
                       max_factor=_MAX_METRES)
        self.shipping = ShippingCosting(
            fixed=both.num[:len(lanes)], per_metre=both.num[len(lanes):], den=both.den,
            per_unit={})
        self._transfers: dict[str, TransferArrays] = {}
        # per stock with link priorities: the weighted source-priority term of its sources
        self.stock_priority_terms: dict[str, IntArray] = {}
        # per destination: what the builder derives from its lanes (see the module docstring)
        self.destinations: LruCache[Hashable, Any] = LruCache(destination_cache_size(net.n))

    def shipping_per_unit(self, decimals: int) -> IntArray:
        """Per lane, the weighted shipping cost of one smallest unit of a SKU with
        ``decimals`` places."""
        found = self.shipping.per_unit.get(decimals)
        if found is None:
            w = self.objective.shipping_cost
            found = Rate.of([w * ln.per_unit * COST_SCALE / 10**decimals
                             for ln in self.net.lanes]).times(1)
            self.shipping.per_unit[decimals] = found
        return found

    def transfers(self, store: str) -> TransferArrays:
        """Transfer lanes into ``store`` as arrays over the source axis, weighted."""
        found = self._transfers.get(store)
        if found is None:
            net = self.net
            has = np.zeros(net.n, dtype=np.bool_)
            ps = [Decimal(0)] * net.n
            pu = [Decimal(0)] * net.n
            days = np.zeros(net.n, dtype=np.int64)
            for code, lane in net.network.transfer_sources(store):
                k = net.network.index(code)
                has[k] = True
                ps[k], pu[k], days[k] = lane.per_shipment, lane.per_unit, lane.days
            objective = self.objective
            money = objective.transfer_cost or objective.shipping_cost
            found = TransferArrays(
                has=has,
                fixed=Rate.of([money * v * COST_SCALE for v in ps]).times(1),
                days=days,
                days_term=Rate.of([objective.transfer_days * COST_SCALE]).times(days),
                per_unit=Rate.of([money * v * COST_SCALE for v in pu]),
            )
            self._transfers[store] = found
        return found

    def restrictions(self, sku: str, tags: frozenset[str]) -> tuple[int, ...]:
        """Indexes of the line restrictions that apply to a line of ``sku``."""
        lines = self.policy.sources.lines
        if not lines:
            return ()
        return tuple(i for i, r in enumerate(lines) if r.applies_to(sku, tags))

    def rule_mask(self, applied: tuple[int, ...]) -> tuple[BoolArray, float | None]:
        """Sources the rule admits for a line under restrictions ``applied``, and the line's
        distance limit (``None``: unlimited)."""
        found = self._restricted.get(applied)
        if found is None:
            sp = self.policy.sources
            mask = self.base_allowed.copy()
            limits = [sp.max_distance_km]
            for i in applied:
                r = sp.lines[i]
                mask &= np.array([r.allows(s) for s in self.net.network.sources],
                                 dtype=np.bool_)
                limits.append(r.max_distance_km)
            present = [d for d in limits if d is not None]
            found = self._restricted[applied] = (mask, min(present) if present else None)
        return found

    def safety_units(self, decimals: int) -> IntArray | None:
        """Per source, the safety stock the policy keeps back, in smallest units of a SKU with
        ``decimals`` places (``None``: the policy sets none)."""
        if decimals not in self._safety:
            stock: StockPolicy = self.policy.stock
            values: IntArray | None = None
            if stock.has_safety_stock:
                step = Decimal(1).scaleb(-decimals)
                values = np.array([
                    to_units(stock.safety_for(s).quantize(step), decimals)
                    for s in self.net.network.sources], dtype=np.int64)
            self._safety[decimals] = values
        return self._safety[decimals]


def network_arrays(network: SourceNetwork) -> NetworkArrays:
    """The arrays of ``network``, built on first use and kept with the network."""
    return network.derived("allocation.arrays", NetworkArrays)
