"""The stock ledger: on hand, reservations and safety stock per (source, SKU).

Quantities are ``Decimal`` in the public API and integers of the SKU's smallest unit inside
(``to_units(qty, catalog.decimals(sku))``). Each SKU keeps numpy ``int64`` arrays indexed by source
(on hand, reserved, safety stock) and a ``bool`` array of in-stock flags, so a
:class:`StockSnapshot` for the allocator is a handful of array copies.

Stock records are versioned so feeds are idempotent and their order does not matter. A record's
version is ``(effective_at, record_id)``, compared lexicographically. Per cell the ledger keeps the
latest *absolute* record applied (the base) and the *adjustments* newer than it::

    on_hand = base.value + sum(adjustment.delta for adjustments newer than base)

* an absolute record older than the base is ignored (reported as stale); a newer one becomes the
  base and drops the adjustments it already contains (those with a version <= its own);
* an adjustment older than the base is ignored (reported): the snapshot already counts it;
* a record id seen before is a no-op (reported as a duplicate).

A NONZERO feed is, per source, one more absolute statement: "every stock-managed SKU this feed
does not list is 0 as of ``effective_at``". The ledger applies it to the SKUs it knows and keeps
the source's newest such statement, so a SKU whose first record arrives later starts from that
implicit 0 (its record is stale if older). The same statement sent again is a no-op.

Applying any set of records in any order therefore ends in the state of applying them sorted by
version. (Record ids identify records: two different records under one id are not covered.)
Shipping a reservation is an adjustment of ``-qty`` at ``(at, "ship:<order>:<line>[:<id>]")``:
a feed effective after the shipment supersedes it, a stale feed effective before it does not undo
it.

The in-stock flag follows the newest record (by version) that states a status. Absolute records
always state one (``in_stock`` unless told otherwise); adjustments only when given explicitly.

Reservations are keyed by ``(order id, line id)``. Reserving is all-or-nothing across the
allocations of a key, and :meth:`StockLedger.reserve_order` across the lines of an order;
reserving the same allocations again is a no-op; different allocations under an existing key
raise :class:`~oms_sourcing.errors.ReservationConflictError`. Not having enough stock is a
result (``INSUFFICIENT``), never an exception.

A key is reserved once. Shipping part of a line (``qty`` with a ``shipment_id``, the idempotency
key of that shipment) leaves the rest reserved; when all of it has shipped, or it is released,
the line is *closed* and kept: a late retry of its reservation answers ``ALREADY_SHIPPED`` /
``ALREADY_RELEASED``, a retried shipment ``ALREADY_SHIPPED``, a retried release the same, and
none changes stock. Sourcing a released line again takes a new line id (``"3#2"``): each
attempt its own key, so a late retry of an earlier attempt's ship or release cannot touch a
later one. Closed lines are kept for the ledger's lifetime (about 0.8 KB per shipped line, its
stock adjustment included), as a database keeps their rows.

(Applying records lives in the private ``_records`` module, a line's reservation bookkeeping in
``_reservations``; their public names are re-exported here.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from oms_sourcing._suggest import suggest
from oms_sourcing.domain import MAX_DECIMALS, Catalog, from_units, parse_quantity
from oms_sourcing.errors import (
    InputError,
    ReservationConflictError,
    UnknownReferenceError,
)
from oms_sourcing.inventory._records import (
    _SCALE,
    MAX_UNITS,
    RecordOutcome,
    RecordResult,
    RecordsMixin,
    StockFact,
    StockRecord,
    StockUpdate,
    Version,
    _Cell,
    _scaled,
)
from oms_sourcing.inventory._reservations import (
    Allocation,
    Line,
    LineState,
    ReleaseResult,
    ReleaseStatus,
    ShippingMixin,
    ShipResult,
    ShipStatus,
)
from oms_sourcing.inventory._state import StateMixin

__all__ = [
    "MAX_UNITS",
    "Allocation",
    "AllocationCheck",
    "OrderReserveResult",
    "RecordOutcome",
    "RecordResult",
    "ReleaseResult",
    "ReleaseStatus",
    "Reservation",
    "ReserveResult",
    "ReserveStatus",
    "SalableQty",
    "ShipResult",
    "ShipStatus",
    "SkuStock",
    "StockFact",
    "StockLedger",
    "StockRecord",
    "StockSnapshot",
    "StockUpdate",
    "Version",
    "unknown_source_message",
]

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reservation:
    """Stock promised to one order line: one allocation per (source, SKU), quantities of the
    same (source, SKU) added up, in the ledger's source order.

    ``allocations``: what is still reserved; ``shipped``: what part shipments of the line took.
    """

    order_id: str
    line_id: str
    allocations: tuple[Allocation, ...]
    shipped: tuple[Allocation, ...] = ()


class ReserveStatus(StrEnum):
    """What a reservation call did for a line (or an order).

    ``ALREADY_SHIPPED`` / ``ALREADY_RELEASED``: a late retry: the line was reserved with these
    allocations and has since been shipped / released (after any part shipments); nothing
    changed.
    """

    RESERVED = "RESERVED"
    ALREADY_RESERVED = "ALREADY_RESERVED"
    ALREADY_SHIPPED = "ALREADY_SHIPPED"
    ALREADY_RELEASED = "ALREADY_RELEASED"
    INSUFFICIENT = "INSUFFICIENT"


@dataclass(frozen=True, slots=True)
class AllocationCheck:
    """How one requested allocation compared with the stock it draws on.

    ``available``: on hand − reserved − safety stock before this reservation (an out-of-stock
    cell counts at most 0 on hand); ``None`` for a SKU whose stock is not managed.
    ``sufficient``: whether the request fits, counting the SKU's backorder allowance.
    """

    source: str
    sku: str
    requested: Decimal
    available: Decimal | None
    sufficient: bool


@dataclass(frozen=True, slots=True)
class ReserveResult:
    """The result of :meth:`StockLedger.reserve`; ``checks`` has one entry per (source, SKU)
    (per cell still reserved for ``ALREADY_RESERVED``; none for a closed line)."""

    status: ReserveStatus
    order_id: str
    line_id: str
    checks: tuple[AllocationCheck, ...]

    @property
    def ok(self) -> bool:
        """True unless stock was short: the line holds its reservation (new or from an earlier
        identical call) or held it and has since been shipped or released."""
        return self.status is not ReserveStatus.INSUFFICIENT

    @property
    def shortfalls(self) -> tuple[AllocationCheck, ...]:
        return tuple(c for c in self.checks if not c.sufficient)


@dataclass(frozen=True, slots=True)
class OrderReserveResult:
    """The result of :meth:`StockLedger.reserve_order`: one :class:`ReserveResult` per line, in
    the order given.

    ``status`` is ``INSUFFICIENT`` when some line did not fit (no line was newly reserved: those
    lines say ``INSUFFICIENT``, and the checks of the ones that fell short are not
    ``sufficient``), ``ALREADY_RESERVED`` when every line held its reservation before the call,
    and ``RESERVED`` otherwise. (When no line is new and every line is ``ALREADY_SHIPPED``, or
    every one ``ALREADY_RELEASED``, the order says so instead.)
    """

    status: ReserveStatus
    order_id: str
    lines: tuple[ReserveResult, ...]

    @property
    def ok(self) -> bool:
        """True unless stock was short (see :attr:`ReserveResult.ok`)."""
        return self.status is not ReserveStatus.INSUFFICIENT

    @property
    def shortfalls(self) -> tuple[AllocationCheck, ...]:
        """The checks that did not fit, over every line."""
        return tuple(c for line in self.lines for c in line.shortfalls)


class SalableQty(NamedTuple):
    """Magento MSI's salable quantity of one SKU over some sources, and what an is-salable
    check needs besides (see :meth:`StockLedger.salable_detail`).

    ``qty``: not clamped; ``Decimal('Infinity')`` for a SKU whose stock is not managed.
    ``threshold``: the out-of-stock threshold subtracted (the SKU's own, else the one given).
    ``assigned``: some source holds a stock record of the SKU (MSI: a source item exists).
    ``in_stock``: some source holding a record has the SKU in stock.
    """

    qty: Decimal
    threshold: Decimal
    assigned: bool
    in_stock: bool


@dataclass(frozen=True, slots=True, eq=False)
class SkuStock:
    """Stock of one SKU across the ledger's sources, in the SKU's smallest units.

    ``available[i]``: :meth:`StockLedger.available` at source ``i`` in units — on hand (at
    most 0 where out of stock) − reserved − safety stock, not clamped: negative is oversold or
    backordered. ``in_stock[i]``: the source's stock status for the SKU. ``backorder_floor``:
    how far below zero a reservation may take ``available`` (0 without backorders, ``None``
    unbounded). ``reserved`` and ``safety`` are the two terms subtracted, so a policy can hold
    back more safety stock or look past other orders' reservations. Arrays are read-only copies.
    """

    sku: str
    decimals: int
    stock_managed: bool
    backorder_floor: int | None
    available: Int64Array
    in_stock: BoolArray
    reserved: Int64Array
    safety: Int64Array


@dataclass(frozen=True, slots=True, eq=False)
class StockSnapshot:
    """An immutable view of some SKUs' stock for the allocator; later ledger changes do not show.

    ``skus[sku]`` is a :class:`SkuStock` whose arrays are indexed like ``source_codes``.
    """

    source_codes: tuple[str, ...]
    skus: Mapping[str, SkuStock]

    def __getitem__(self, sku: str) -> SkuStock:
        return self.skus[sku]

    def __contains__(self, sku: object) -> bool:
        return sku in self.skus


class UnitAllocations(dict[str, list[tuple[str, str, Decimal]]]):
    """Allocations for :meth:`StockLedger.reserve_order` as ``AllocationResult.reservations()``
    gives them: per line id, ``(source, sku, qty)`` triples, equal to the same plain ``dict``,
    that also carry each triple's quantity in integer units, so that the ledger need not parse
    it again.

    The units are used only for a line whose list and triples are the ones :meth:`add` made
    (checked by identity): a line replaced or edited since is read from its triples as in a
    plain mapping, and so is a SKU whose precision the ledger's catalog sees otherwise.
    """

    __slots__ = ("units",)

    def __init__(self) -> None:
        super().__init__()
        # line id -> (its list of triples, per triple: (the triple, units, decimals))
        self.units: dict[str, tuple[list[tuple[str, str, Decimal]],
                                    list[tuple[tuple[str, str, Decimal], int, int]]]] = {}

    def add(self, line_id: str, source: str, sku: str, units: int, decimals: int) -> None:
        """Append ``units`` smallest units (``decimals`` places) of ``sku`` from ``source``
        to line ``line_id``."""
        self.add_qty(line_id, (source, sku, from_units(units, decimals)), units, decimals)

    def add_qty(self, line_id: str, triple: tuple[str, str, Decimal], units: int,
                decimals: int) -> None:
        """:meth:`add` of a triple whose quantity is already ``units`` at ``decimals``
        places (the caller vouches for that)."""
        found = self.units.get(line_id)
        if found is None:
            found = self.units[line_id] = ([], [])
            self[line_id] = found[0]
        found[0].append(triple)
        found[1].append((triple, units, decimals))


# --------------------------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------------------------


class _SkuEntry:
    __slots__ = (
        "cached", "cells", "decimals", "floor", "in_stock", "managed", "on_hand", "reserved",
        "safety", "sku",
    )

    def __init__(self, sku: str, n: int, decimals: int, managed: bool, floor: int | None) -> None:
        self.sku = sku
        self.decimals = decimals
        self.managed = managed
        self.floor = floor
        self.on_hand: Int64Array = np.zeros(n, dtype=np.int64)
        self.reserved: Int64Array = np.zeros(n, dtype=np.int64)
        self.safety: Int64Array = np.zeros(n, dtype=np.int64)
        self.in_stock: BoolArray = np.ones(n, dtype=np.bool_)
        self.cells: dict[int, _Cell] = {}
        # the last SkuStock handed out; its arrays are read-only copies, so it can be shared by
        # every snapshot until the SKU changes
        self.cached: SkuStock | None = None


def unknown_source_message(code: str, known: Sequence[str]) -> str:
    """``unknown source 'X'; did you mean 'Y'?`` (or the list of known sources)."""
    hint = suggest(code, known)
    if hint is not None:
        return f"unknown source {code!r}; did you mean {hint!r}?"
    shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    return f"unknown source {code!r}; known sources: {shown}"


#: How a reservation call finds a line an earlier call reserved.
_EARLIER: Mapping[LineState, ReserveStatus] = MappingProxyType({
    LineState.OPEN: ReserveStatus.ALREADY_RESERVED,
    LineState.SHIPPED: ReserveStatus.ALREADY_SHIPPED,
    LineState.RELEASED: ReserveStatus.ALREADY_RELEASED,
})


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


class StockLedger(RecordsMixin, ShippingMixin, StateMixin):
    """In-memory stock of a set of sources. Thread-safe: every call holds one lock.

    Args:
        source_codes: the sources, in the index order used by snapshots (usually
            ``SourceNetwork.codes``). Codes must be unique and non-empty.
        catalog: SKU settings (precision, stock management, backorders); defaults apply to SKUs
            it does not list, and to every SKU without a catalog.

    Raises:
        InputError: empty or repeated source codes.
    """

    def __init__(self, source_codes: Sequence[str], catalog: Catalog | None = None) -> None:
        codes = tuple(source_codes)
        seen: set[str] = set()
        for code in codes:
            if not isinstance(code, str) or not code:
                raise InputError(
                    f"source codes must be non-empty strings, got {code!r}",
                    field="source_codes", value=code, expected="a non-empty string",
                )
            if code in seen:
                raise InputError(
                    f"source code {code!r} is listed twice",
                    field="source_codes", value=code, expected="unique codes",
                )
            seen.add(code)
        self._codes = codes
        self._index = {code: i for i, code in enumerate(codes)}
        self._catalog = catalog if catalog is not None else Catalog()
        self._entries: dict[str, _SkuEntry] = {}
        self._known: list[set[str]] = [set() for _ in codes]
        self._seen_ids: set[str] = set()
        # per source, the newest NONZERO reset applied, (effective_at, tag): an implicit
        # absolute 0 for every stock-managed SKU it did not list, those first seen later too
        self._resets: list[tuple[datetime, str] | None] = [None] * len(codes)
        self._seen_resets: list[set[tuple[datetime, str]]] = [set() for _ in codes]
        self._ever_out: set[str] = set()  # SKUs a record ever said out of stock somewhere
        self._held: dict[tuple[str, str], Line] = {}    # open, in the order they were made
        self._closed: dict[tuple[str, str], Line] = {}  # shipped or released: kept for retries
        self._lock = threading.Lock()
        self._empty: dict[str, SkuStock] = {}

    # ---------------------------------------------------------------- lookups

    @property
    def source_codes(self) -> tuple[str, ...]:
        return self._codes

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def index(self, source: str) -> int:
        """Index of ``source`` in :attr:`source_codes`.

        Raises:
            UnknownReferenceError: with a "did you mean" suggestion.
        """
        found = self._index.get(source)
        if found is None:
            raise UnknownReferenceError(
                unknown_source_message(str(source), self._codes),
                field="source", value=source, known=self._codes,
            )
        return found

    def _floor_units(self, sku: str, decimals: int) -> int | None:
        floor = self._catalog.info(sku).backorders.floor
        if floor is None:
            return None
        return int((floor * _SCALE[decimals]).to_integral_value(rounding=ROUND_CEILING))

    def _entry(self, sku: str) -> _SkuEntry:
        entry = self._entries.get(sku)
        if entry is None:
            decimals = self._catalog.decimals(sku)
            entry = _SkuEntry(
                sku, len(self._codes), decimals, self._catalog.stock_managed(sku),
                self._floor_units(sku, decimals),
            )
            self._entries[sku] = entry
        return entry

    def _qty(self, sku: str, units: int) -> Decimal:
        entry = self._entries.get(sku)
        decimals = entry.decimals if entry is not None else self._catalog.decimals(sku)
        return from_units(units, decimals)

    # ---------------------------------------------------------------- reads

    def on_hand(self, source: str, sku: str) -> Decimal:
        """Physical stock of ``sku`` at ``source`` (0 if the ledger never heard of it)."""
        i = self.index(source)
        with self._lock:
            entry = self._entries.get(sku)
            return self._qty(sku, int(entry.on_hand[i]) if entry else 0)

    def reserved(self, source: str, sku: str) -> Decimal:
        """Quantity of ``sku`` at ``source`` promised to open reservations."""
        i = self.index(source)
        with self._lock:
            entry = self._entries.get(sku)
            return self._qty(sku, int(entry.reserved[i]) if entry else 0)

    def safety_stock(self, source: str, sku: str) -> Decimal:
        i = self.index(source)
        with self._lock:
            entry = self._entries.get(sku)
            return self._qty(sku, int(entry.safety[i]) if entry else 0)

    def in_stock(self, source: str, sku: str) -> bool:
        """The stock status of ``sku`` at ``source`` (``True`` until a record says otherwise)."""
        i = self.index(source)
        with self._lock:
            entry = self._entries.get(sku)
            return bool(entry.in_stock[i]) if entry else True

    def available(self, source: str, sku: str) -> Decimal:
        """What ``source`` can still promise of ``sku``: on hand − reserved − safety stock.

        The one figure of the ledger: the snapshot's :attr:`SkuStock.available` and the
        reservation checks use it too. An out-of-stock cell counts at most 0 on hand. Not
        clamped: negative means more is promised than is there — oversold (a count came in
        below the reservations: some open order cannot ship from here) or backordered within
        the SKU's allowance. A SKU whose stock is not managed returns ``Decimal('Infinity')``.
        """
        i = self.index(source)
        with self._lock:
            if not self._catalog.stock_managed(sku):
                return Decimal("Infinity")
            entry = self._entries.get(sku)
            if entry is None:
                return Decimal(0)
            return from_units(self._effective(entry, i), entry.decimals)

    def reservation(self, order_id: str, line_id: str) -> Reservation | None:
        """The reservation an order line still holds, or ``None`` (never reserved, or closed:
        shipped or released)."""
        with self._lock:
            line = self._held.get((order_id, line_id))
            return self._view(order_id, line_id, line) if line else None

    def reservations(self) -> tuple[Reservation, ...]:
        """Every open reservation, in the order they were made."""
        with self._lock:
            return tuple(self._view(*key, line) for key, line in self._held.items())

    def _view(self, order_id: str, line_id: str, line: Line) -> Reservation:
        return Reservation(
            order_id, line_id, self._public(line.still_reserved()),
            self._public(line.shipped_cells()),
        )

    def skus(self) -> tuple[str, ...]:
        """Every SKU the ledger holds data for (stock, safety stock or reservations), sorted."""
        with self._lock:
            return tuple(sorted(self._entries))

    def known_skus(self, source: str) -> tuple[str, ...]:
        """SKUs that have received a stock record (or a shipment) at ``source``, sorted."""
        i = self.index(source)
        with self._lock:
            return tuple(sorted(self._known[i]))

    def salable(self, sku: str, sources: Iterable[str], threshold: Decimal = Decimal(0)) -> Decimal:
        """Magento MSI's salable quantity of ``sku`` over ``sources``.

        Sum over the in-stock sources of (on hand − safety stock), minus the reservations held
        at any of the sources, minus the SKU's out-of-stock threshold: the catalog's
        (``backorders: {allow_until: N}`` is ``-N``, ``allow`` is 0), else ``threshold`` (the
        stock's figure; negative allows limited backorders). Not clamped.
        ``Decimal('Infinity')`` when the SKU's stock is not managed.

        The ledger counts exactly the ``sources`` given. For a network's stock, count only the
        sources that can fulfil (``SourceNetwork.salable_sources``), as
        :func:`oms_sourcing.inventory.salable.salable_qty` does.

        Raises:
            UnknownReferenceError: for an unknown source.
            QuantityError: for a threshold that is not a finite number.
        """
        return self.salable_detail(sku, sources, threshold).qty

    def salable_detail(
        self, sku: str, sources: Iterable[str], threshold: Decimal = Decimal(0)
    ) -> SalableQty:
        """:meth:`salable` with the threshold applied and whether any of ``sources`` holds the
        SKU (in stock), read under one lock.

        Raises:
            UnknownReferenceError: for an unknown source.
            QuantityError: for a threshold that is not a finite number.
        """
        idx = sorted({self.index(s) for s in sources})
        default = parse_quantity(
            threshold, decimals=MAX_DECIMALS, field="threshold", allow_negative=True
        )
        limit = self._catalog.info(sku).backorders.threshold(default)
        # as written: -20, not -20.000000 (parse_quantity pads to six places)
        limit = limit.quantize(Decimal(1)) if limit == limit.to_integral_value() else (
            limit.normalize())
        with self._lock:
            entry = self._entries.get(sku)
            held = [] if entry is None else [i for i in idx if i in entry.cells]
            assigned = bool(held)
            in_stock = entry is not None and any(bool(entry.in_stock[i]) for i in held)
            if not self._catalog.stock_managed(sku):
                return SalableQty(Decimal("Infinity"), limit, assigned, in_stock)
            if entry is None or not idx:
                return SalableQty(Decimal(0) - limit, limit, assigned, in_stock)
            sel = np.asarray(idx, dtype=np.intp)
            stocked = sel[entry.in_stock[sel]]
            units = int(entry.on_hand[stocked].sum() - entry.safety[stocked].sum())
            units -= int(entry.reserved[sel].sum())
            return SalableQty(from_units(units, entry.decimals) - limit, limit, assigned,
                              in_stock)

    def snapshot(self, skus: Iterable[str]) -> StockSnapshot:
        """An immutable, consistent view of ``skus`` for the allocator (see :class:`SkuStock`)."""
        out: dict[str, SkuStock] = {}
        with self._lock:
            for sku in skus:
                entry = self._entries.get(sku)
                if entry is None:
                    stock = self._empty.get(sku) or self._empty_stock(sku)
                else:
                    stock = entry.cached or self._freeze(entry)
                out[sku] = stock
        return StockSnapshot(self._codes, MappingProxyType(out))

    def _freeze(self, entry: _SkuEntry) -> SkuStock:
        available = entry.on_hand - entry.reserved
        available -= entry.safety
        if entry.sku in self._ever_out and not entry.in_stock.all():
            # an out-of-stock cell counts at most 0 on hand
            out = ~entry.in_stock
            available[out] -= np.maximum(entry.on_hand[out], 0)
        available.flags.writeable = False
        in_stock = entry.in_stock.copy()
        in_stock.flags.writeable = False
        reserved = entry.reserved.copy()
        reserved.flags.writeable = False
        safety = entry.safety.copy()
        safety.flags.writeable = False
        stock = SkuStock(
            entry.sku, entry.decimals, entry.managed, entry.floor, available, in_stock,
            reserved, safety,
        )
        entry.cached = stock
        return stock

    def _empty_stock(self, sku: str) -> SkuStock:
        decimals = self._catalog.decimals(sku)
        available = np.zeros(len(self._codes), dtype=np.int64)
        available.flags.writeable = False
        in_stock = np.ones(len(self._codes), dtype=np.bool_)
        in_stock.flags.writeable = False
        stock = SkuStock(
            sku, decimals, self._catalog.stock_managed(sku), self._floor_units(sku, decimals),
            available, in_stock, available, available,
        )
        if len(self._empty) < 10_000:  # a cache, not a registry of every SKU ever asked about
            self._empty[sku] = stock
        return stock

    @staticmethod
    def _effective(entry: _SkuEntry, i: int) -> int:
        # .item(): a Python int (bool) straight away, without a numpy scalar in between
        on_hand: int = entry.on_hand.item(i)
        if not entry.in_stock.item(i):
            on_hand = min(on_hand, 0)
        return on_hand - entry.reserved.item(i) - entry.safety.item(i)

    # ---------------------------------------------------------------- safety stock

    def set_safety_stock(self, source: str, sku: str, qty: Decimal) -> None:
        """Keep ``qty`` of ``sku`` at ``source`` out of what can be promised.

        Raises:
            UnknownReferenceError, QuantityError: nothing changes.
        """
        i = self.index(source)
        decimals = self._catalog.decimals(sku)
        parsed = parse_quantity(
            qty, decimals=decimals, field="safety_stock", where=f"{source}/{sku}", positive=False
        )
        units = _scaled(parsed, decimals, field="safety_stock", where=f"{source}/{sku}")
        with self._lock:
            entry = self._entry(sku)
            entry.safety[i] = units
            entry.cached = None

    # ---------------------------------------------------------------- reservations

    def reserve(
        self, order_id: str, line_id: str, allocations: Sequence[tuple[str, str, Decimal]]
    ) -> ReserveResult:
        """Reserve stock for one order line, all allocations or none.

        Args:
            order_id, line_id: the key; a retry with the same key and allocations is a no-op,
                also after the line shipped or was released.
            allocations: ``(source, sku, qty)`` triples; the same (source, SKU) may appear more
                than once (the quantities add up).

        Returns:
            ``RESERVED``, ``ALREADY_RESERVED``, ``ALREADY_SHIPPED``, ``ALREADY_RELEASED`` or
            ``INSUFFICIENT`` (nothing reserved), with one :class:`AllocationCheck` per
            (source, SKU) (none for a closed line).

        Raises:
            InputError: empty ids or no allocations.
            UnknownReferenceError: an unknown source. QuantityError: a bad quantity.
            ReservationConflictError: the key holds, or held, a reservation with other
                allocations.
        """
        self._key(order_id, line_id)    # (an id that is not a string never becomes a key)
        return self.reserve_order(order_id, {line_id: allocations}).lines[0]

    def reserve_order(
        self, order_id: str, lines: Mapping[str, Sequence[tuple[str, str, Decimal]]]
    ) -> OrderReserveResult:
        """Reserve stock for several lines of one order: every line or none.

        Each line is keyed ``(order_id, line_id)`` as in :meth:`reserve`. A line that already
        holds the same allocations keeps them (``ALREADY_RESERVED``), one reserved with them and
        since closed stays closed (``ALREADY_SHIPPED`` / ``ALREADY_RELEASED``); the others are
        checked together, in the order given — lines that draw on the same (source, SKU) count
        against its stock one after the other, and each check shows what was available to its
        line — and reserved only if every one of them fits: a call never reserves part of what
        it asks for. (Lines held before the call stay held either way.)

        Args:
            order_id: the order.
            lines: per line id, its ``(source, sku, qty)`` triples (see :meth:`reserve`), as
                ``AllocationResult.reservations()`` gives them. An empty mapping (a decision
                that draws no stock) changes nothing and is ``ALREADY_RESERVED``.

        Returns:
            An :class:`OrderReserveResult` with one :class:`ReserveResult` per line.

        Raises:
            InputError: empty ids, ``lines`` not a mapping, or a line without allocations.
            UnknownReferenceError: an unknown source. QuantityError: a bad quantity.
            ReservationConflictError: a line holds, or held, a reservation with other
                allocations. Nothing changes when any of these is raised.
        """
        self._id("order_id", order_id)
        if not isinstance(lines, Mapping):
            raise InputError(
                f"order {order_id}: lines must map each line id to its allocations, got "
                f"{type(lines).__name__}",
                field="lines", value=lines, expected="{line id: [(source, sku, qty), ...]}",
                where=f"order {order_id}",
            )
        fast = lines.units if isinstance(lines, UnitAllocations) else None
        wanted: list[tuple[tuple[str, str], tuple[tuple[int, str, int], ...]]] = []
        for line_id, allocations in lines.items():
            key = self._key(order_id, line_id)
            cells = None
            if fast is not None:
                cells = self._unit_cells(fast.get(line_id), allocations)
            if cells is None:
                cells = self._cells(order_id, line_id, allocations)
            wanted.append((key, cells))
        with self._lock:
            known: list[ReserveStatus | None] = []  # per line: how an earlier call left it
            for key, cells in wanted:
                line = self._held.get(key) or self._closed.get(key)
                if line is not None and line.cells != cells:
                    raise ReservationConflictError(self._conflict(key, line, cells))
                known.append(None if line is None else _EARLIER[line.state])
            taken: dict[tuple[int, str], int] = {}  # units the new lines take so far, per cell
            checks: list[tuple[AllocationCheck, ...]] = []
            for (key, cells), earlier in zip(wanted, known, strict=True):
                if earlier is ReserveStatus.ALREADY_RESERVED:  # shown as before its reservation
                    checks.append(self._checks(self._held[key].still_reserved(), held=True))
                elif earlier is not None:
                    checks.append(())  # closed: nothing to check
                else:
                    checks.append(self._checks(cells, taken=taken))
                    for i, sku, units in cells:
                        taken[(i, sku)] = taken.get((i, sku), 0) + units
            fits = all(c.sufficient for line_checks, earlier in zip(checks, known, strict=True)
                       if earlier is None for c in line_checks)
            if fits:
                for (key, cells), earlier in zip(wanted, known, strict=True):
                    if earlier is None:
                        self._hold(key, cells)
        new_status = ReserveStatus.RESERVED if fits else ReserveStatus.INSUFFICIENT
        results = tuple(
            ReserveResult(new_status if earlier is None else earlier, order_id, line_id,
                          line_checks)
            for ((_, line_id), _), line_checks, earlier in zip(wanted, checks, known, strict=True)
        )
        if not fits or None in known:
            status = new_status
        elif len(set(known)) == 1 and known[0] is not None:
            status = known[0]  # every line shipped, or every one released (or every one held)
        else:
            status = ReserveStatus.ALREADY_RESERVED
        return OrderReserveResult(status, order_id, results)

    def _conflict(
        self, key: tuple[str, str], line: Line, cells: tuple[tuple[int, str, int], ...]
    ) -> str:
        where = f"order {key[0]} line {key[1]}"
        asked = self._describe(self._public(cells))
        if line.state is LineState.OPEN:
            return (f"{where} already holds a reservation of "
                    f"{self._describe(self._public(line.cells))}; to reserve {asked} instead, "
                    "release it and reserve under a new line id (a line id is reserved once)")
        return (f"{where} was reserved for {self._describe(self._public(line.cells))} and has "
                f"been {line.state.value}; a line id is reserved once (a retry changes "
                f"nothing), so reserve {asked} under a new line id")

    def _cells(
        self, order_id: str, line_id: str, allocations: Sequence[tuple[str, str, Decimal]]
    ) -> tuple[tuple[int, str, int], ...]:
        """One line's allocations, validated, as sorted ``(source index, sku, units)`` cells
        with the quantities of the same (source, SKU) added up."""
        where = f"order {order_id} line {line_id}"
        if not allocations:
            raise InputError(
                f"{where}: a reservation needs at least one allocation",
                field="allocations", value=[], expected="(source, sku, qty) triples",
                where=where,
            )
        merged: dict[tuple[int, str], int] = {}
        for n, item in enumerate(allocations, 1):
            try:
                source, sku, qty = item
            except (TypeError, ValueError) as err:
                raise InputError(
                    f"{where}: allocation {n} must be (source, sku, qty), got {item!r}",
                    field="allocations", value=item, expected="(source, sku, qty)", where=where,
                ) from err
            i = self.index(source)
            if not isinstance(sku, str) or not sku:
                raise InputError(
                    f"{where}: allocation {n} has no SKU", field="sku", value=sku, where=where
                )
            decimals = self._catalog.decimals(sku)
            parsed = parse_quantity(qty, decimals=decimals, where=f"{where} allocation {n}")
            units = _scaled(parsed, decimals, field="qty", where=f"{where} allocation {n}")
            merged[(i, sku)] = merged.get((i, sku), 0) + units
        return tuple(sorted((i, sku, units) for (i, sku), units in merged.items()))

    def _unit_cells(
        self,
        entry: tuple[list[tuple[str, str, Decimal]],
                     list[tuple[tuple[str, str, Decimal], int, int]]] | None,
        allocations: Sequence[tuple[str, str, Decimal]],
    ) -> tuple[tuple[int, str, int], ...] | None:
        """:meth:`_cells` from the integer units of :class:`UnitAllocations`, or ``None``
        where they cannot be trusted as they are (then the triples are read and checked)."""
        if entry is None or entry[0] is not allocations or len(allocations) != len(entry[1]):
            return None
        merged: dict[tuple[int, str], int] = {}
        index, decimals_of = self._index, self._catalog.decimals
        for item, (triple, units, decimals) in zip(allocations, entry[1], strict=True):
            if item is not triple:
                return None
            source, sku, _ = triple
            i = index.get(source)
            if (i is None or not isinstance(sku, str) or not sku or type(units) is not int
                    or units <= 0 or decimals_of(sku) != decimals):
                return None
            merged[(i, sku)] = merged.get((i, sku), 0) + units
        return tuple(sorted((i, sku, units) for (i, sku), units in merged.items()))

    def _hold(self, key: tuple[str, str], cells: tuple[tuple[int, str, int], ...]) -> None:
        """Reserve ``cells`` under ``key`` (checked by the caller, under the lock)."""
        for i, sku, units in cells:
            if self._catalog.stock_managed(sku):
                entry = self._entry(sku)
                entry.reserved[i] += units
                entry.cached = None
        self._held[key] = Line.reserved(cells)

    @staticmethod
    def _id(name: str, value: str) -> str:
        if not isinstance(value, str) or not value:
            raise InputError(
                f"{name} must be a non-empty string, got {value!r}",
                field=name, value=value, expected="a non-empty string",
            )
        return value

    @classmethod
    def _key(cls, order_id: str, line_id: str) -> tuple[str, str]:
        return (cls._id("order_id", order_id), cls._id("line_id", line_id))

    def _public(self, cells: Iterable[tuple[int, str, int]]) -> tuple[Allocation, ...]:
        return tuple(
            Allocation(self._codes[i], sku, from_units(units, self._catalog.decimals(sku)))
            for i, sku, units in cells
        )

    @staticmethod
    def _describe(allocations: Iterable[Allocation]) -> str:
        return ", ".join(f"{a.qty} x {a.sku} from {a.source}" for a in allocations)

    def _checks(
        self, cells: Iterable[tuple[int, str, int]], *, held: bool = False,
        taken: Mapping[tuple[int, str], int] | None = None,
    ) -> tuple[AllocationCheck, ...]:
        """One check per cell; ``held``: the cells' reservation exists, so availability is shown
        as it was before it (its own units added back); ``taken``: units other lines of the same
        call take first, per (source index, SKU)."""
        checks: list[AllocationCheck] = []
        for i, sku, units in cells:
            decimals = self._catalog.decimals(sku)
            requested = from_units(units, decimals)
            if not self._catalog.stock_managed(sku):
                checks.append(AllocationCheck(self._codes[i], sku, requested, None, True))
                continue
            entry = self._entries.get(sku)
            if entry is None:
                effective, floor = 0, self._floor_units(sku, decimals)
            else:
                effective, floor = self._effective(entry, i), entry.floor
            if held:
                effective += units
            elif taken:
                effective -= taken.get((i, sku), 0)
            fits = floor is None or effective - units >= floor
            checks.append(
                AllocationCheck(
                    self._codes[i], sku, requested, from_units(effective, decimals), fits
                )
            )
        return tuple(checks)
