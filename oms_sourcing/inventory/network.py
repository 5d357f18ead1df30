"""The source network: sources, their groups, shipping lanes, transfer lanes and stocks.

A :class:`SourceNetwork` is built once (from domain objects, or from ``network.yaml`` through
:func:`oms_sourcing.formats.network.load_network`) and never changes afterwards. It answers the
questions the allocator asks for every order, fast and deterministically:

- which sources a selector picks (by code, group, kind or tag), in index order;
- which shipping lane a source uses to a destination, and what it costs;
- which sources can send a transfer to a pickup store, cheapest first;
- how far every source is from a destination (one vectorised haversine).

Sources are indexed in ``(priority, code)`` order; every per-source array the network returns
follows that index. Stock never lives here: the network describes places and routes, the stock
ledger describes quantities.

Lane resolution: a source uses the *most specific* shipping lane whose ``sources`` selector
matches it and whose destination zone contains the address. From-specificity ranks how the
selector matched: source code (0) < group (1) < kind (2) < tag (3) < any source (4); ties go to
the narrower zone (postcode/region 0, country list 1, anywhere 2), then to file order. If the
network defines shipping lanes, a source without a lane to a destination cannot ship there; if it
defines none, every source that ships can ship anywhere at no lane cost (distance then decides).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

import networkx as nx
import numpy as np
import numpy.typing as npt

from oms_sourcing._suggest import suggest
from oms_sourcing.domain.quantity import MAX_DECIMALS, from_units, parse_quantity
from oms_sourcing.domain.source import (
    Location,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
    StockDefinition,
    Zone,
)
from oms_sourcing.errors import InputError, UnknownReferenceError

__all__ = [
    "EARTH_RADIUS_KM",
    "ShippingLane",
    "SourceNetwork",
    "TransferLane",
    "TransferLaneSpec",
    "selector_specificity",
]

#: Mean earth radius used for great-circle distances; the value Magento MSI uses.
EARTH_RADIUS_KM: Final = 6371.0

#: From-specificity of a selector match: lower is more specific.
BY_CODE: Final = 0
BY_GROUP: Final = 1
BY_KIND: Final = 2
BY_TAG: Final = 3
BY_ANY: Final = 4

# Fixed-point scales of the exact cost arithmetic: rates have at most MAX_DECIMALS places and so
# do quantities, so ``rate * units`` is a whole number of 10**-12 currency units.
_RATE_SCALE: Final = 10**MAX_DECIMALS
_COST_SCALE: Final = 10 ** (2 * MAX_DECIMALS)
_INT64_SAFE: Final = 2**62
_CACHE_SIZE: Final = 4096
# Enough digits that products of rates and quantities are never rounded.
_EXACT: Final = decimal.Context(prec=80, traps=[decimal.InvalidOperation, decimal.Overflow])

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_Signature = tuple[str, str, str]
_D = TypeVar("_D")


def selector_specificity(selector: SourceSelector | None, source: Source) -> int | None:
    """How specifically ``selector`` picks ``source``: ``BY_CODE`` (0) … ``BY_ANY`` (4).

    ``None`` as selector means "every source" (``BY_ANY``). Returns ``None`` when the selector
    does not match the source.
    """
    if selector is None:
        return BY_ANY
    if source.code in selector.codes:
        return BY_CODE
    if not selector.groups.isdisjoint(source.groups):
        return BY_GROUP
    if source.kind in selector.kinds:
        return BY_KIND
    if not selector.tags.isdisjoint(source.tags):
        return BY_TAG
    return None


def _metres(km: float | None) -> int:
    """Distance rounded half-up to whole metres; unknown distance counts as 0."""
    if km is None or math.isnan(km):
        return 0
    return math.floor(km * 1000.0 + 0.5)


@dataclass(frozen=True, slots=True)
class ShippingLane:
    """How a set of sources ships to a destination zone, and what it costs.

    Attributes:
        name: optional label (unique in a network file), shown in explanations.
        sources: which sources the lane ships from; ``None`` means every source.
        destination: the zone it ships to; ``None`` means anywhere.
        per_shipment, per_unit, per_km: cost rates in the network currency (exact, ``>= 0``).
        days: transit days.
        position: the lane's index in the file; breaks ties between equally specific lanes.
    """

    name: str | None = None
    sources: SourceSelector | None = None
    destination: Zone | None = None
    per_shipment: Decimal = Decimal(0)
    per_unit: Decimal = Decimal(0)
    per_km: Decimal = Decimal(0)
    days: int = 0
    position: int = 0

    @property
    def to_specificity(self) -> int:
        """0 for postcode/region zones, 1 for country lists, 2 for anywhere."""
        return self.destination.specificity if self.destination is not None else 2

    def serves(self, destination: Location) -> bool:
        """Whether the lane's destination zone contains ``destination``."""
        return self.destination is None or self.destination.contains(destination)

    def cost(self, units: Decimal | int = 1, km: float | None = None) -> Decimal:
        """Exact cost of one shipment of ``units`` over ``km`` great-circle kilometres.

        ``km`` is rounded to whole metres first (the distance is not known more precisely than
        that); an unknown distance (``None`` or NaN) adds nothing.
        """
        return (
            self.per_shipment
            + self.per_unit * Decimal(units)
            + self.per_km * Decimal(_metres(km)) / 1000
        )


@dataclass(frozen=True, slots=True)
class TransferLane:
    """A transfer route between two sources (first leg of ship-to-store).

    ``position`` is the index in the file of the lane entry this pair came from.
    """

    from_source: SourceCode
    to_source: SourceCode
    per_shipment: Decimal = Decimal(0)
    per_unit: Decimal = Decimal(0)
    days: int = 0
    position: int = 0

    def cost(self, units: Decimal | int = 1) -> Decimal:
        """Exact cost of one transfer of ``units``."""
        return self.per_shipment + self.per_unit * Decimal(units)


@dataclass(frozen=True, slots=True)
class TransferLaneSpec:
    """A transfer lane entry as written: selectors on both ends, expanded by the network into
    one :class:`TransferLane` per (from, to) pair.

    ``None`` selects every source: on the ``from`` side every source that ships, on the ``to``
    side every source that receives transfers. Sources a group, kind or tag selector matches but
    that cannot take part (a ``from`` source that does not ship, a ``to`` source without
    ``receives_transfers``, the pair of a source with itself) are skipped; naming such a source
    by code is an error.
    """

    from_sources: SourceSelector | None = None
    to_sources: SourceSelector | None = None
    per_shipment: Decimal = Decimal(0)
    per_unit: Decimal = Decimal(0)
    days: int = 0
    position: int = 0


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    pool = sorted(set(known))
    close = suggest(value, pool)
    shown = ", ".join(pool[:20]) + (", …" if len(pool) > 20 else "")
    hint = f"; did you mean {close!r}?" if close else ""
    return f"{hint} (known: {shown or 'none'})"


def _unknown(what: str, value: str, known: Iterable[str], *, field: str, where: str) -> \
        UnknownReferenceError:
    pool = sorted(set(known))
    return UnknownReferenceError(
        f"{where}: unknown {what} {value!r}{_did_you_mean(value, pool)}",
        field=field, value=value, known=pool, where=where,
    )


def _rate(value: Decimal, *, field: str, where: str) -> Decimal:
    """Check a cost rate: an exact, finite amount >= 0 with at most MAX_DECIMALS places."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InputError(
            f"{where}: {field} must be a Decimal amount, got {value!r}",
            field=field, value=value, expected="a Decimal >= 0", where=where,
        )
    rate = Decimal(value)
    exponent = rate.as_tuple().exponent
    if not rate.is_finite() or rate < 0 or (
        isinstance(exponent, int) and exponent < -MAX_DECIMALS
        and rate != rate.quantize(Decimal(1).scaleb(-MAX_DECIMALS), context=_EXACT)
    ):
        raise InputError(
            f"{where}: {field} must be a finite amount >= 0 with at most {MAX_DECIMALS} "
            f"decimal places, got {value}",
            field=field, value=value, expected=f"a Decimal >= 0, <= {MAX_DECIMALS} places",
            where=where,
        )
    return rate


def _days(value: int, *, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(
            f"{where}: days must be a whole number >= 0, got {value!r}",
            field="days", value=value, expected="an int >= 0", where=where,
        )
    return value


def _frozen_array(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.setflags(write=False)
    return array


class SourceNetwork:
    """Immutable description of where stock can ship from and how.

    Args:
        sources: every source; codes must be unique and non-empty.
        zones: named destination zones (as zones or a name -> zone mapping).
        shipping_lanes: shipping lanes; see the module docstring for how one is chosen.
        transfer_lanes: explicit :class:`TransferLane` pairs and/or :class:`TransferLaneSpec`
            entries with selectors. When several entries give the same pair, the most specific
            wins: by from-specificity, then to-specificity, then ``position``, then input order.
        stocks: Magento-MSI-style stocks (sources serving sales channels).
        currency: ISO 4217 code of every cost.
        minor_digits: decimal places of the currency's minor unit (2 for EUR), 0 to 6.

    Raises:
        InputError: duplicate or empty source codes, duplicate zone or stock names, a channel in
            two stocks, bad costs or days, a lane naming a source that cannot take part, a
            selector that matches nothing.
        UnknownReferenceError: a lane or stock naming a source code, group or tag nobody
            defined; the message suggests the closest known name and lists the known ones.
    """

    __slots__ = (
        "_by_channel",
        "_candidates",
        "_codes",
        "_cos_lat",
        "_cost_tables",
        "_currency",
        "_derived",
        "_graph",
        "_groups",
        "_index",
        "_lane_days",
        "_lane_indexes",
        "_lanes",
        "_lat",
        "_lon",
        "_matching_lanes",
        "_max_per_km",
        "_minor_digits",
        "_open_lane_indexes",
        "_per_km_array",
        "_per_km_micro",
        "_priority",
        "_salable_sources",
        "_sig_uses_postcode",
        "_sig_uses_region",
        "_sources",
        "_stock_priority",
        "_stock_sources",
        "_stocks",
        "_tags",
        "_transfer_lanes",
        "_transfer_sources",
        "_zones",
        "_zones_ranked",
    )

    def __init__(
        self,
        sources: Iterable[Source],
        *,
        zones: Iterable[Zone] | Mapping[str, Zone] = (),
        shipping_lanes: Iterable[ShippingLane] = (),
        transfer_lanes: Iterable[TransferLane | TransferLaneSpec] = (),
        stocks: Iterable[StockDefinition] = (),
        currency: str = "EUR",
        minor_digits: int = 2,
    ) -> None:
        self._currency = self._check_currency(currency)
        if isinstance(minor_digits, bool) or not isinstance(minor_digits, int) or not (
            0 <= minor_digits <= MAX_DECIMALS
        ):
            raise InputError(
                f"minor_digits must be a whole number from 0 to {MAX_DECIMALS}, "
                f"got {minor_digits!r}",
                field="minor_digits", value=minor_digits, expected=f"0..{MAX_DECIMALS}",
            )
        self._minor_digits = minor_digits

        self._sources = self._check_sources(sources)
        self._codes = tuple(s.code for s in self._sources)
        self._index: Mapping[str, int] = MappingProxyType(
            {s.code: i for i, s in enumerate(self._sources)}
        )
        groups: dict[str, set[SourceCode]] = {}
        for s in self._sources:
            for g in s.groups:
                groups.setdefault(g, set()).add(s.code)
        self._groups: Mapping[str, frozenset[SourceCode]] = MappingProxyType(
            {g: frozenset(groups[g]) for g in sorted(groups)}
        )
        self._tags = frozenset(t for s in self._sources for t in s.tags)
        self._zones = self._check_zones(zones)

        self._lanes = self._check_shipping_lanes(shipping_lanes)
        self._candidates = self._lane_candidates()
        self._lane_days: IntArray = _frozen_array(
            np.array([ln.days for ln in self._lanes], dtype=np.int64)
        )
        self._per_km_micro = tuple(int(ln.per_km * _RATE_SCALE) for ln in self._lanes) or (0,)
        self._max_per_km = max(self._per_km_micro)
        self._per_km_array: IntArray = _frozen_array(
            np.array(self._per_km_micro, dtype=np.int64)
        )
        ships = [s.capabilities.ships for s in self._sources]
        self._open_lane_indexes = _frozen_array(
            np.array([0 if can else -1 for can in ships], dtype=np.int64)
        )
        self._sig_uses_region = any(
            ln.destination is not None and ln.destination.regions for ln in self._lanes
        )
        self._sig_uses_postcode = any(
            ln.destination is not None and ln.destination.postcode_prefixes for ln in self._lanes
        )
        # Per-destination caches; keys are the normalised address parts zones look at.
        self._matching_lanes = lru_cache(maxsize=_CACHE_SIZE)(self._matching_uncached)
        # Each entry holds one int per source: keep the cache near a million ints at most.
        entries = max(16, min(_CACHE_SIZE, 1_000_000 // max(1, len(self._sources))))
        self._lane_indexes = lru_cache(maxsize=entries)(self._lane_indexes_uncached)
        # Per-quantity cache: orders ask for the same few quantities over and over.
        self._cost_tables = lru_cache(maxsize=256)(self._cost_table_uncached)
        # What other layers derive from this network (see :meth:`derived`).
        self._derived: dict[str, Any] = {}

        self._priority: IntArray = _frozen_array(
            np.array([s.priority for s in self._sources], dtype=np.int64)
        )
        self._stocks, self._stock_sources, self._by_channel = self._check_stocks(stocks)
        # Per stock, built once: the rank of every source in the stock (its link priority, else
        # its own), and the linked sources that can fulfil (count towards salable quantity).
        self._stock_priority: Mapping[str, IntArray] = MappingProxyType({
            name: self._priority if not stock.priorities else self._link_priorities(stock)
            for name, stock in self._stocks.items()
        })
        self._salable_sources: Mapping[str, tuple[SourceCode, ...]] = MappingProxyType({
            name: tuple(
                code for code in members
                if (src := self._sources[self._index[code]]).enabled
                and (src.capabilities.ships or src.capabilities.pickup)
            )
            for name, members in self._stock_sources.items()
        })

        # A source with only one coordinate has none: both NaN.
        self._lat: FloatArray = _frozen_array(np.radians(np.array(
            [s.location.lat if s.location.has_coordinates else np.nan for s in self._sources],
            dtype=np.float64,
        )))
        self._lon: FloatArray = _frozen_array(np.radians(np.array(
            [s.location.lon if s.location.has_coordinates else np.nan for s in self._sources],
            dtype=np.float64,
        )))
        self._cos_lat: FloatArray = _frozen_array(np.cos(self._lat))
        self._zones_ranked = tuple(sorted(
            self._zones.items(), key=lambda item: (item[1].specificity, item[0])
        ))

        self._graph = self._build_graph(transfer_lanes)
        self._transfer_lanes: tuple[TransferLane, ...] = tuple(
            lane for _, _, lane in sorted(
                self._graph.edges(data="lane"),
                key=lambda e: (self._index[e[0]], self._index[e[1]]),
            )
        )
        self._transfer_sources: Mapping[str, tuple[tuple[SourceCode, TransferLane], ...]] = (
            MappingProxyType({
                s.code: tuple(sorted(
                    ((SourceCode(f), self._graph.edges[f, s.code]["lane"])
                     for f in self._graph.predecessors(s.code)),
                    key=lambda p: (p[1].per_shipment, p[1].days,
                                   self._sources[self._index[p[0]]].priority, p[0]),
                ))
                for s in self._sources
            })
        )

    # -- construction -------------------------------------------------------------------------

    @staticmethod
    def _check_currency(currency: str) -> str:
        if not isinstance(currency, str) or len(currency.strip()) != 3 or not (
            currency.strip().isalpha()
        ):
            raise InputError(
                f"currency must be a three-letter ISO 4217 code like 'EUR', got {currency!r}",
                field="currency", value=currency, expected="e.g. EUR",
            )
        return currency.strip().upper()

    @staticmethod
    def _check_sources(sources: Iterable[Source]) -> tuple[Source, ...]:
        seen: set[str] = set()
        listed: list[Source] = []
        for i, s in enumerate(sources):
            if not isinstance(s.code, str) or not s.code.strip():
                raise InputError(
                    f"sources[{i}]: a source code must be a non-empty string, got {s.code!r}",
                    field="code", value=s.code, expected="a non-empty string",
                    where=f"sources[{i}]",
                )
            if s.code in seen:
                raise InputError(
                    f"sources[{i}]: source code {s.code!r} is used twice; codes must be unique",
                    field="code", value=s.code, where=f"sources[{i}]",
                )
            seen.add(s.code)
            listed.append(s)
        return tuple(sorted(listed, key=lambda s: (s.priority, s.code)))

    @staticmethod
    def _check_zones(zones: Iterable[Zone] | Mapping[str, Zone]) -> Mapping[str, Zone]:
        items = list(zones.values()) if isinstance(zones, Mapping) else list(zones)
        out: dict[str, Zone] = {}
        for zone in items:
            if zone.name in out:
                raise InputError(
                    f"zone {zone.name!r} is defined twice; zone names must be unique",
                    field="zones", value=zone.name,
                )
            out[zone.name] = zone
        return MappingProxyType({name: out[name] for name in sorted(out)})

    def check_selector(self, selector: SourceSelector, *, where: str = "selector") -> None:
        """Raise if ``selector`` names a source code, group or tag this network does not have.

        Raises:
            UnknownReferenceError: naming the first unknown name, the closest known one and
                the known names.
        """
        for code in sorted(selector.codes):
            if code not in self._index:
                raise _unknown("source", code, self._index, field="sources", where=where)
        for group in sorted(selector.groups):
            if group not in self._groups:
                raise _unknown("group", group, self._groups, field="groups", where=where)
        for tag in sorted(selector.tags):
            if tag not in self._tags:
                raise _unknown("tag", tag, self._tags, field="tags", where=where)

    def _check_shipping_lanes(self, lanes: Iterable[ShippingLane]) -> tuple[ShippingLane, ...]:
        out: list[ShippingLane] = []
        for k, lane in enumerate(lanes):
            where = f"shipping lane {lane.name!r}" if lane.name else f"shipping_lanes[{k}]"
            if lane.sources is not None:
                self.check_selector(lane.sources, where=f"{where}.from")
                for code in sorted(lane.sources.codes):
                    if not self.source(code).capabilities.ships:
                        raise InputError(
                            f"{where}: source {code!r} ships from this lane but its "
                            "capabilities say ships: false",
                            field="from.sources", value=code, where=where,
                        )
            out.append(replace(
                lane,
                destination=lane.destination,
                per_shipment=_rate(lane.per_shipment, field="per_shipment", where=where),
                per_unit=_rate(lane.per_unit, field="per_unit", where=where),
                per_km=_rate(lane.per_km, field="per_km", where=where),
                days=_days(lane.days, where=where),
            ))
        return tuple(out)

    def _lane_candidates(self) -> tuple[tuple[int, ...], ...]:
        """Per source, the lanes it may use, most specific first."""
        out: list[tuple[int, ...]] = []
        for s in self._sources:
            if not s.capabilities.ships:
                out.append(())
                continue
            ranked: list[tuple[int, int, int, int]] = []
            for k, lane in enumerate(self._lanes):
                spec = selector_specificity(lane.sources, s)
                if spec is not None:
                    ranked.append((spec, lane.to_specificity, lane.position, k))
            out.append(tuple(r[3] for r in sorted(ranked)))
        return tuple(out)

    def _check_stocks(self, stocks: Iterable[StockDefinition]) -> tuple[
        Mapping[str, StockDefinition],
        Mapping[str, tuple[SourceCode, ...]],
        Mapping[str, StockDefinition],
    ]:
        by_name: dict[str, StockDefinition] = {}
        members: dict[str, tuple[SourceCode, ...]] = {}
        by_channel: dict[str, StockDefinition] = {}
        for stock in stocks:
            where = f"stock {stock.name!r}"
            if not stock.name:
                raise InputError("a stock needs a non-empty name", field="name", value=stock.name)
            if stock.name in by_name:
                raise InputError(
                    f"{where} is defined twice; stock names must be unique",
                    field="name", value=stock.name, where=where,
                )
            self.check_selector(stock.sources, where=f"{where}.sources")
            picked = tuple(s.code for s in self.select(stock.sources))
            if not picked:
                raise InputError(
                    f"{where}: its sources selector matches no source",
                    field="sources", value=stock.sources, where=where,
                )
            for channel in sorted(stock.channels):
                other = by_channel.get(channel)
                if other is not None:
                    raise InputError(
                        f"{where}: channel {channel!r} is already served by stock "
                        f"{other.name!r}; a sales channel has exactly one stock",
                        field="channels", value=channel, where=where,
                    )
                by_channel[channel] = stock
            self._check_stock_priorities(stock, picked, where)
            by_name[stock.name] = stock
            members[stock.name] = picked
        return (
            MappingProxyType(by_name),
            MappingProxyType(members),
            MappingProxyType(by_channel),
        )

    def _link_priorities(self, stock: StockDefinition) -> IntArray:
        links = dict(stock.priorities)
        return _frozen_array(np.array(
            [links.get(s.code, s.priority) for s in self._sources], dtype=np.int64))

    def _check_stock_priorities(
        self, stock: StockDefinition, linked: tuple[SourceCode, ...], where: str
    ) -> None:
        seen: set[str] = set()
        for code, priority in stock.priorities:
            if code not in self._index:
                raise _unknown("source", code, self._index, field="priorities",
                               where=f"{where}.priorities")
            if code not in linked:
                raise InputError(
                    f"{where}.priorities: source {code!r} is not linked to this stock (its "
                    f"sources selector does not pick it; linked: {', '.join(linked)}); add it "
                    "to the stock's sources or drop its priority",
                    field="priorities", value=code, where=where,
                )
            if code in seen:
                raise InputError(
                    f"{where}.priorities: source {code!r} is given two priorities",
                    field="priorities", value=code, where=where,
                )
            seen.add(code)
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise InputError(
                    f"{where}.priorities: the priority of {code!r} must be a whole number, "
                    f"got {priority!r}",
                    field="priorities", value=priority, expected="an int", where=where,
                )

    def _transfer_specs(
        self, lanes: Iterable[TransferLane | TransferLaneSpec]
    ) -> list[tuple[TransferLaneSpec, str]]:
        specs: list[tuple[TransferLaneSpec, str]] = []
        for k, lane in enumerate(lanes):
            where = f"transfer_lanes[{k}]"
            if isinstance(lane, TransferLane):
                spec = TransferLaneSpec(
                    from_sources=SourceSelector(codes=frozenset({lane.from_source})),
                    to_sources=SourceSelector(codes=frozenset({lane.to_source})),
                    per_shipment=lane.per_shipment, per_unit=lane.per_unit, days=lane.days,
                    position=lane.position,
                )
            else:
                spec = lane
            for selector, side in ((spec.from_sources, "from"), (spec.to_sources, "to")):
                if selector is not None:
                    self.check_selector(selector, where=f"{where}.{side}")
            self._check_named_transfer_ends(spec, where)
            specs.append((replace(
                spec,
                per_shipment=_rate(spec.per_shipment, field="per_shipment", where=where),
                per_unit=_rate(spec.per_unit, field="per_unit", where=where),
                days=_days(spec.days, where=where),
            ), where))
        return specs

    def _check_named_transfer_ends(self, spec: TransferLaneSpec, where: str) -> None:
        if spec.from_sources is not None:
            for code in sorted(spec.from_sources.codes):
                if not self.source(code).capabilities.ships:
                    raise InputError(
                        f"{where}: transfers from {code!r}, which cannot ship "
                        "(capabilities.ships is false)",
                        field="from.sources", value=code, where=where,
                    )
        if spec.to_sources is not None:
            for code in sorted(spec.to_sources.codes):
                if not self.source(code).capabilities.receives_transfers:
                    raise InputError(
                        f"{where}: transfers to {code!r}, which does not receive transfers; "
                        "set capabilities.receives_transfers: true on it or drop it here",
                        field="to.sources", value=code, where=where,
                    )
        only = SourceSelector(codes=spec.from_sources.codes) if spec.from_sources else None
        if only is not None and len(only.codes) == 1 and spec.from_sources == spec.to_sources:
            raise InputError(
                f"{where}: transfers from {next(iter(only.codes))!r} to itself",
                field="to.sources", value=sorted(only.codes), where=where,
            )

    def _build_graph(self, lanes: Iterable[TransferLane | TransferLaneSpec]) -> nx.DiGraph:
        graph = nx.DiGraph()
        for i, s in enumerate(self._sources):
            graph.add_node(s.code, index=i)
        best: dict[tuple[str, str], tuple[tuple[int, int, int, int], TransferLane]] = {}
        for order, (spec, where) in enumerate(self._transfer_specs(lanes)):
            senders = [
                (s, spec_f) for s in self._sources
                if s.capabilities.ships
                and (spec_f := selector_specificity(spec.from_sources, s)) is not None
            ]
            receivers = [
                (s, spec_t) for s in self._sources
                if s.capabilities.receives_transfers
                and (spec_t := selector_specificity(spec.to_sources, s)) is not None
            ]
            pairs = [(f, t, sf, st) for f, sf in senders for t, st in receivers if f is not t]
            if not pairs:
                raise InputError(
                    f"{where}: matches no pair of a source that ships and another source that "
                    "receives transfers",
                    field="transfer_lanes", value=spec, where=where,
                )
            for f, t, sf, st in pairs:
                rank = (sf, st, spec.position, order)
                current = best.get((f.code, t.code))
                if current is None or rank < current[0]:
                    best[f.code, t.code] = (rank, TransferLane(
                        from_source=f.code, to_source=t.code, per_shipment=spec.per_shipment,
                        per_unit=spec.per_unit, days=spec.days, position=spec.position,
                    ))
        for (f_code, t_code), (_, lane) in best.items():
            graph.add_edge(f_code, t_code, lane=lane)
        return nx.freeze(graph)

    # -- sources ------------------------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self._currency

    @property
    def minor_digits(self) -> int:
        return self._minor_digits

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every source in index order: sorted by ``(priority, code)``."""
        return self._sources

    @property
    def codes(self) -> tuple[SourceCode, ...]:
        """Source codes in index order."""
        return self._codes

    def __len__(self) -> int:
        return len(self._sources)

    def __iter__(self) -> Iterator[Source]:
        return iter(self._sources)

    def __contains__(self, code: object) -> bool:
        return code in self._index

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its parts (the caches and the frozen graph are derived), so a network
        # can be sent to worker processes.
        return (_rebuild, (
            self._sources, tuple(self._zones.values()), self._lanes, self._transfer_lanes,
            tuple(self._stocks.values()), self._currency, self._minor_digits,
        ))

    def derived(self, name: str, make: Callable[[SourceNetwork], _D]) -> _D:
        """A value derived from this network alone, built by ``make(self)`` on first use and
        kept with the network (the allocator's per-source arrays and their caches).

        The network is immutable, so the value never goes stale: a changed network is a new
        object with nothing derived yet, and the value lives exactly as long as the network.
        ``name`` says who derived it (one value per name). Not pickled: a network sent to a
        worker process derives its own.
        """
        found = self._derived.get(name)
        if found is None:
            found = self._derived.setdefault(name, make(self))
        return cast(_D, found)

    def __repr__(self) -> str:
        return (
            f"SourceNetwork({len(self._sources)} sources, {len(self._lanes)} shipping lanes, "
            f"{len(self._transfer_lanes)} transfer lanes, {len(self._stocks)} stocks)"
        )

    def index(self, code: str) -> int:
        """Position of source ``code`` in :attr:`sources` and in every per-source array.

        Raises:
            UnknownReferenceError: no source has that code.
        """
        found = self._index.get(code)
        if found is None:
            raise _unknown("source", code, self._index, field="source", where="network")
        return found

    def source(self, code: str) -> Source:
        """The source with ``code``.

        Raises:
            UnknownReferenceError: no source has that code (with a did-you-mean).
        """
        return self._sources[self.index(code)]

    @property
    def groups(self) -> Mapping[str, frozenset[SourceCode]]:
        """Group name -> codes of its member sources."""
        return self._groups

    @property
    def tags(self) -> frozenset[str]:
        """Every tag some source carries."""
        return self._tags

    @property
    def zones(self) -> Mapping[str, Zone]:
        return self._zones

    def select(self, selector: SourceSelector) -> tuple[Source, ...]:
        """Sources ``selector`` matches (any listed code, group, kind or tag), in index order.

        An empty selector matches nothing. Unknown names simply match nothing here; use
        :meth:`check_selector` to reject them.
        """
        if selector.is_empty:
            return ()
        return tuple(s for s in self._sources if selector.matches(s))

    def by_group(self, name: str) -> tuple[Source, ...]:
        """Members of group ``name`` in index order.

        Raises:
            UnknownReferenceError: no source is in that group.
        """
        if name not in self._groups:
            raise _unknown("group", name, self._groups, field="group", where="network")
        return tuple(s for s in self._sources if name in s.groups)

    def by_kind(self, kind: SourceKind | str) -> tuple[Source, ...]:
        """Sources of ``kind`` in index order (empty if there are none).

        Raises:
            InputError: ``kind`` is not a source kind.
        """
        try:
            wanted = SourceKind(kind)
        except ValueError:
            known = [k.value for k in SourceKind]
            raise InputError(
                f"unknown source kind {kind!r}{_did_you_mean(str(kind), known)}",
                field="kind", value=kind, expected=" | ".join(known),
            ) from None
        return tuple(s for s in self._sources if s.kind is wanted)

    def by_tag(self, tag: str) -> tuple[Source, ...]:
        """Sources carrying ``tag`` in index order.

        Raises:
            UnknownReferenceError: no source carries that tag.
        """
        if tag not in self._tags:
            raise _unknown("tag", tag, self._tags, field="tag", where="network")
        return tuple(s for s in self._sources if tag in s.tags)

    def zones_of(self, location: Location) -> tuple[str, ...]:
        """Names of the network's zones containing ``location``, narrowest first, then by name."""
        return tuple(name for name, zone in self._zones_ranked if zone.contains(location))

    # -- stocks -------------------------------------------------------------------------------

    @property
    def stocks(self) -> Mapping[str, StockDefinition]:
        return self._stocks

    def stock_sources(self, name: str) -> tuple[SourceCode, ...]:
        """Codes of the sources linked to stock ``name``, in index order.

        Raises:
            UnknownReferenceError: no stock has that name.
        """
        found = self._stock_sources.get(name)
        if found is None:
            raise _unknown("stock", name, self._stocks, field="stock", where="network")
        return found

    def stock_for_channel(self, channel: str) -> StockDefinition | None:
        """The stock serving sales channel ``channel``, or ``None``."""
        return self._by_channel.get(channel)

    @property
    def priorities(self) -> IntArray:
        """Every source's own ``priority``, in index order (read-only)."""
        return self._priority

    def stock_priorities(self, name: str) -> IntArray:
        """Per source (index order), its priority in stock ``name``: the stock's link priority
        where the stock gives one, else the source's own. Built with the network; read-only.
        A stock without link priorities returns :attr:`priorities` itself.

        Raises:
            UnknownReferenceError: no stock has that name.
        """
        found = self._stock_priority.get(name)
        if found is None:
            raise _unknown("stock", name, self._stocks, field="stock", where="network")
        return found

    def stock_sources_by_priority(self, name: str) -> tuple[SourceCode, ...]:
        """The sources linked to stock ``name`` in the stock's priority order (ties: the
        network's order), as Magento MSI's ``GetSourcesAssignedToStockOrderedByPriority``.

        Raises:
            UnknownReferenceError: no stock has that name.
        """
        ranks = self.stock_priorities(name)
        return tuple(sorted(self.stock_sources(name),
                            key=lambda code: (int(ranks[self._index[code]]), self._index[code])))

    def salable_sources(self, name: str) -> tuple[SourceCode, ...]:
        """The sources of stock ``name`` whose stock is salable: linked, enabled, and able to
        ship or to hand over (pickup), in index order. Magento MSI counts only enabled linked
        sources in the salable quantity; a disabled source (or one that can neither ship nor
        hand over) would promise stock that sourcing never uses.

        Raises:
            UnknownReferenceError: no stock has that name.
        """
        found = self._salable_sources.get(name)
        if found is None:
            raise _unknown("stock", name, self._stocks, field="stock", where="network")
        return found

    # -- shipping -----------------------------------------------------------------------------

    @property
    def shipping_lanes(self) -> tuple[ShippingLane, ...]:
        """The lanes in the order given."""
        return self._lanes

    @property
    def has_shipping_lanes(self) -> bool:
        """False: every shipping source ships anywhere (see :attr:`OPEN_LANE`)."""
        return bool(self._lanes)

    #: The lane every shipping source uses in a network without shipping lanes: no cost, no days.
    OPEN_LANE: Final = ShippingLane(name=None, position=-1)

    def _signature(self, destination: Location) -> _Signature:
        return (
            (destination.country or "").strip().upper(),
            (destination.region or "").strip().upper() if self._sig_uses_region else "",
            (destination.postcode or "").replace(" ", "").upper()
            if self._sig_uses_postcode else "",
        )

    def _matching_uncached(self, signature: _Signature) -> frozenset[int]:
        where = Location(country=signature[0], region=signature[1], postcode=signature[2])
        verdicts: dict[Zone, bool] = {}
        out: set[int] = set()
        for k, lane in enumerate(self._lanes):
            zone = lane.destination
            if zone is None:
                out.add(k)
                continue
            verdict = verdicts.get(zone)
            if verdict is None:
                verdict = verdicts[zone] = zone.contains(where)
            if verdict:
                out.add(k)
        return frozenset(out)

    def _lane_index(self, i: int, signature: _Signature) -> int:
        matching = self._matching_lanes(signature)
        for k in self._candidates[i]:
            if k in matching:
                return k
        return -1

    def _lane_indexes_uncached(self, signature: _Signature) -> IntArray:
        out = np.fromiter(
            (self._lane_index(i, signature) for i in range(len(self._sources))),
            dtype=np.int64, count=len(self._sources),
        )
        out.setflags(write=False)
        return out

    def destination_key(self, destination: Location) -> Hashable:
        """What of ``destination`` the shipping lanes look at (its country, and its region
        and postcode when some lane's zone names them): destinations with equal keys are
        served by the same lanes, so anything derived from the lanes can be cached per key
        (the coordinates, which distances need, are not part of it)."""
        return self._signature(destination)

    def shipping_lane_indexes(self, destination: Location) -> IntArray:
        """Per source (index order), which lane it ships to ``destination`` on: an index into
        :attr:`shipping_lanes` (into ``(OPEN_LANE,)`` in a network without lanes), or -1 when
        it cannot ship there. The read-only array is cached per destination zone signature.
        """
        if not self._lanes:
            return self._open_lane_indexes
        return self._lane_indexes(self._signature(destination))

    def shipping_lane(self, code: str, destination: Location) -> ShippingLane | None:
        """The lane source ``code`` ships to ``destination`` on, or ``None`` if it cannot.

        ``None`` when the source does not ship (``capabilities.ships``) or, in a network with
        lanes, when no lane from it serves the destination. Whether the source is enabled is not
        considered here; the allocator filters disabled sources and explains it.

        Raises:
            UnknownReferenceError: no source has that code.
        """
        i = self.index(code)
        if not self._sources[i].capabilities.ships:
            return None
        if not self._lanes:
            return self.OPEN_LANE
        k = self._lane_index(i, self._signature(destination))
        return self._lanes[k] if k >= 0 else None

    def _cost_table_uncached(
        self, qty: Decimal
    ) -> tuple[tuple[int, ...], int, IntArray | None]:
        """Per lane, the exact fixed part ``per_shipment + per_unit * qty`` in 10**-12
        currency units; its maximum; and the parts as an int64 array when they all fit."""
        lanes = self._lanes or (self.OPEN_LANE,)
        with decimal.localcontext(_EXACT):
            fixed = tuple(int((ln.per_shipment + ln.per_unit * qty) * _COST_SCALE)
                          for ln in lanes)
        top = max(fixed)
        return fixed, top, (
            _frozen_array(np.array(fixed, dtype=np.int64)) if top < _INT64_SAFE else None
        )

    def _to_minor(self, total: int) -> int:
        """10**-12 currency units -> minor units, rounded half up (costs are never negative)."""
        step: int = 10 ** (2 * MAX_DECIMALS - self._minor_digits)
        return (total + step // 2) // step

    def shipping_cost(
        self, code: str, destination: Location, units: Decimal | int = 1
    ) -> Decimal | None:
        """Cost of one shipment of ``units`` from ``code`` to ``destination``, rounded half up
        to the currency's minor unit; ``None`` if the source cannot ship there.

        The distance is rounded to whole metres; a distance that is unknown (no coordinates on
        either end) adds nothing. Agrees exactly with :meth:`shipping_costs`.

        Raises:
            UnknownReferenceError: no source has that code.
            QuantityError: ``units`` is negative, not finite or has more than 6 decimals.
        """
        qty = parse_quantity(units, decimals=MAX_DECIMALS, field="units", positive=False)
        i = self.index(code)
        if not self._sources[i].capabilities.ships:
            return None
        k = self._lane_index(i, self._signature(destination)) if self._lanes else 0
        if k < 0:
            return None
        metres = _metres(float(self.distances_km(destination)[i]))
        total = self._cost_tables(qty)[0][k] + self._per_km_micro[k] * metres * 1000
        return from_units(self._to_minor(total), self._minor_digits)

    def shipping_costs(
        self, destination: Location, units: Decimal | int = 1
    ) -> tuple[IntArray, IntArray, BoolArray]:
        """Per source (index order): shipment cost in minor units, transit days, can-ship mask.

        Costs are ``per_shipment + per_unit * units + per_km * km`` computed exactly in integers
        (km rounded to whole metres, unknown distance = 0) and rounded half up to minor units
        (cents for EUR). Where the mask is false, cost and days are 0. Whether a source is
        enabled is not considered (see :meth:`shipping_lane`).

        Raises:
            QuantityError: ``units`` is negative, not finite or has more than 6 decimals.
            InputError: a cost does not fit in int64.
        """
        qty = parse_quantity(units, decimals=MAX_DECIMALS, field="units", positive=False)
        fixed, top, fixed_arr = self._cost_tables(qty)
        if self._lanes:
            lane_idx = self._lane_indexes(self._signature(destination))
        else:
            lane_idx = self._open_lane_indexes
        mask: BoolArray = lane_idx >= 0
        safe_idx = np.maximum(lane_idx, 0)
        if self._max_per_km and destination.has_coordinates:
            metres_f = self.distances_km(destination)
            metres_f *= 1000.0
            metres_f += 0.5
            np.floor(metres_f, out=metres_f)
            metres_f[np.isnan(metres_f)] = 0.0
            metres = metres_f.astype(np.int64)
        else:
            # no lane charges by distance (or it is unknown): skip the trigonometry
            metres = np.zeros(len(self._sources), dtype=np.int64)
        step: int = 10 ** (2 * MAX_DECIMALS - self._minor_digits)
        bound = top + self._max_per_km * int(metres.max(initial=0)) * 1000 + step
        if fixed_arr is not None and bound < _INT64_SAFE:
            per_km = self._per_km_array[safe_idx]
            cost = (fixed_arr[safe_idx] + per_km * metres * 1000 + step // 2) // step
        else:
            exact = [
                self._to_minor(fixed[k] + self._per_km_micro[k] * m * 1000)
                for k, m in zip(safe_idx.tolist(), metres.tolist(), strict=True)
            ]
            if max(exact, default=0) >= _INT64_SAFE:
                raise InputError(
                    f"the shipping cost of {units} units to {destination} does not fit in "
                    "int64 minor units",
                    field="units", value=units, expected="a smaller quantity",
                )
            cost = np.array(exact, dtype=np.int64)
        cost = np.where(mask, cost, 0)
        if self._lanes:
            days = np.where(mask, self._lane_days[safe_idx], 0)
        else:
            days = np.zeros(len(self._sources), dtype=np.int64)
        return cost, days, mask

    def distances_km(self, destination: Location) -> FloatArray:
        """Great-circle distance in km from every source (index order) to ``destination``.

        NaN for sources without coordinates; all NaN if the destination has none. Haversine on
        a sphere of radius :data:`EARTH_RADIUS_KM`, as Magento MSI's distance algorithm. The
        array is new on every call; the caller may change it.
        """
        if destination.lat is None or destination.lon is None:
            return np.full(len(self._sources), np.nan, dtype=np.float64)
        lat2 = math.radians(destination.lat)
        lon2 = math.radians(destination.lon)
        a = np.sin((lat2 - self._lat) * 0.5)
        a *= a
        b = np.sin((lon2 - self._lon) * 0.5)
        b *= b
        b *= self._cos_lat
        b *= math.cos(lat2)
        a += b
        np.minimum(a, 1.0, out=a)
        np.sqrt(a, out=a)
        np.arcsin(a, out=a)
        a *= 2.0 * EARTH_RADIUS_KM
        return a

    # -- transfers ----------------------------------------------------------------------------

    @property
    def transfer_lanes(self) -> tuple[TransferLane, ...]:
        """Every expanded (from, to) transfer lane, ordered by from index then to index."""
        return self._transfer_lanes

    def transfer_lane(self, from_code: str, to_code: str) -> TransferLane | None:
        """The lane for transfers from ``from_code`` to ``to_code``, or ``None``.

        Raises:
            UnknownReferenceError: either code is unknown.
        """
        self.index(from_code)
        self.index(to_code)
        if not self._graph.has_edge(from_code, to_code):
            return None
        lane: TransferLane = self._graph.edges[from_code, to_code]["lane"]
        return lane

    def transfer_sources(self, to_code: str) -> tuple[tuple[SourceCode, TransferLane], ...]:
        """Sources that can transfer to ``to_code`` with their lanes, sorted by
        (per_shipment cost, days, priority, code).

        Raises:
            UnknownReferenceError: ``to_code`` is unknown.
        """
        self.index(to_code)
        return self._transfer_sources[to_code]


def _rebuild(
    sources: tuple[Source, ...],
    zones: tuple[Zone, ...],
    shipping_lanes: tuple[ShippingLane, ...],
    transfer_lanes: tuple[TransferLane, ...],
    stocks: tuple[StockDefinition, ...],
    currency: str,
    minor_digits: int,
) -> SourceNetwork:
    return SourceNetwork(
        sources, zones=zones, shipping_lanes=shipping_lanes, transfer_lanes=transfer_lanes,
        stocks=stocks, currency=currency, minor_digits=minor_digits,
    )
