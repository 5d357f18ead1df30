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

Applying any set of records in any order therefore ends in the state of applying them sorted by
version. Shipping a reservation is an adjustment of ``-qty`` at ``(at, "ship:<order>:<line>")``:
a feed effective after the shipment supersedes it, a stale feed effective before it does not undo
it.

The in-stock flag follows the newest record (by version) that states a status. Absolute records
always state one (``in_stock`` unless told otherwise); adjustments only when given explicitly.

Reservations are keyed by ``(order id, line id)``. Reserving is all-or-nothing across the
allocations of a key, and :meth:`StockLedger.reserve_order` across the lines of an order;
reserving the same allocations again is a no-op; different allocations under an existing key
raise :class:`~oms_sourcing.errors.ReservationConflictError`. Not having enough stock is a
result (``INSUFFICIENT``), never an exception.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from oms_sourcing._suggest import suggest
from oms_sourcing.domain import MAX_DECIMALS, Catalog, from_units, parse_quantity, to_units
from oms_sourcing.errors import (
    InputError,
    QuantityError,
    ReservationConflictError,
    UnknownReferenceError,
)

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

#: The largest magnitude of one quantity in smallest units. Far below the int64 limit, so sums of
#: many cells and reservations can never overflow the ledger's arrays.
MAX_UNITS = 10**15

_SCALE = tuple(10**d for d in range(MAX_DECIMALS + 1))

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------------------------


class Version(NamedTuple):
    """When a stock record takes effect; ties broken by its id. Compared as a tuple."""

    effective_at: datetime
    record_id: str


class Allocation(NamedTuple):
    """A quantity of one SKU from one source. A plain ``(source, sku, qty)`` tuple works too."""

    source: str
    sku: str
    qty: Decimal


class StockFact(Protocol):
    """What the ledger reads from a stock record (:class:`StockRecord` and feed rows have it)."""

    @property
    def source(self) -> str: ...
    @property
    def sku(self) -> str: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def effective_at(self) -> datetime: ...
    @property
    def record_id(self) -> str: ...
    @property
    def adjust(self) -> bool: ...
    @property
    def in_stock(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class StockRecord:
    """One stock fact about one (source, SKU) cell.

    ``adjust=False``: an absolute quantity on hand (``qty >= 0``); ``adjust=True``: a signed
    change. ``in_stock``: the stock status the record states; ``None`` means "not stated" (an
    absolute record then states ``in_stock``, an adjustment leaves the status as it is).
    """

    source: str
    sku: str
    qty: Decimal
    effective_at: datetime
    record_id: str
    adjust: bool = False
    in_stock: bool | None = None

    @property
    def version(self) -> Version:
        return Version(self.effective_at, self.record_id)


class RecordOutcome(StrEnum):
    """What applying a stock record did."""

    APPLIED = "APPLIED"
    STALE = "STALE"          # older than the absolute record the cell already holds: ignored
    DUPLICATE = "DUPLICATE"  # its record id was seen before: no-op


@dataclass(frozen=True, slots=True)
class RecordResult:
    """The outcome of one record; ``superseded_by`` is the newer version that made it stale."""

    record: StockFact
    outcome: RecordOutcome
    superseded_by: Version | None = None


@dataclass(frozen=True, slots=True, eq=False)
class StockUpdate:
    """What :meth:`StockLedger.apply_records` did.

    ``outcomes[n]`` is the outcome of ``records[n]``; ``superseded_by[n]`` the newer version that
    made record ``n`` stale. (Parallel tuples rather than one result object per record: feeds of
    100,000 rows should not pay for 100,000 extra objects; :attr:`results` builds them.)
    ``zeroed``: the absolute zero records the ledger made for ``zero_unlisted`` sources.
    ``unlisted``: ``(source, sku)`` cells of the ``report_unlisted`` sources that hold stock
    records but were not in the batch.
    """

    records: tuple[StockFact, ...]
    outcomes: tuple[RecordOutcome, ...]
    superseded_by: Mapping[int, Version]
    zeroed: tuple[RecordResult, ...] = ()
    unlisted: tuple[tuple[str, str], ...] = ()

    @property
    def results(self) -> tuple[RecordResult, ...]:
        """One :class:`RecordResult` per record, in input order."""
        return tuple(
            RecordResult(rec, outcome, self.superseded_by.get(n))
            for n, (rec, outcome) in enumerate(zip(self.records, self.outcomes, strict=True))
        )


@dataclass(frozen=True, slots=True)
class Reservation:
    """Stock promised to one order line: one allocation per (source, SKU), quantities of the
    same (source, SKU) added up, in the ledger's source order."""

    order_id: str
    line_id: str
    allocations: tuple[Allocation, ...]


class ReserveStatus(StrEnum):
    RESERVED = "RESERVED"
    ALREADY_RESERVED = "ALREADY_RESERVED"
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
    """The result of :meth:`StockLedger.reserve`; ``checks`` has one entry per (source, SKU)."""

    status: ReserveStatus
    order_id: str
    line_id: str
    checks: tuple[AllocationCheck, ...]

    @property
    def ok(self) -> bool:
        """True when the line holds its reservation (new or from an earlier identical call)."""
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
    and ``RESERVED`` otherwise.
    """

    status: ReserveStatus
    order_id: str
    lines: tuple[ReserveResult, ...]

    @property
    def ok(self) -> bool:
        """True when every line holds its reservation (new or from an earlier identical call)."""
        return self.status is not ReserveStatus.INSUFFICIENT

    @property
    def shortfalls(self) -> tuple[AllocationCheck, ...]:
        """The checks that did not fit, over every line."""
        return tuple(c for line in self.lines for c in line.shortfalls)


class ReleaseStatus(StrEnum):
    RELEASED = "RELEASED"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    status: ReleaseStatus
    order_id: str
    line_id: str
    released: tuple[Allocation, ...] = ()


class ShipStatus(StrEnum):
    SHIPPED = "SHIPPED"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True, slots=True)
class ShipResult:
    """The result of :meth:`StockLedger.ship`.

    ``already_counted``: shipped allocations whose deduction was not applied because the cell
    already holds an absolute stock record effective after the shipment (it counts the shipment).
    """

    status: ShipStatus
    order_id: str
    line_id: str
    shipped: tuple[Allocation, ...] = ()
    already_counted: tuple[Allocation, ...] = ()


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

    ``available[i]`` = on hand − reserved − safety stock at source ``i`` (not clamped; may be
    negative). ``in_stock[i]``: the source's stock status for the SKU. ``backorder_floor``: how far
    below zero a reservation may take ``available`` (0 without backorders, ``None`` unbounded).
    ``reserved`` and ``safety`` are the two terms subtracted, so a policy can hold back more
    safety stock or look past other orders' reservations. Arrays are read-only copies.
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


# --------------------------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------------------------


class _Cell:
    """Version history of one (source, SKU) cell."""

    __slots__ = ("adjustments", "base_units", "base_version", "status_version")

    def __init__(self) -> None:
        self.base_version: Version | None = None
        self.base_units = 0
        self.adjustments: list[tuple[Version, int]] | None = None  # newer than the base
        self.status_version: Version | None = None


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


@dataclass(frozen=True, slots=True)
class _Held:
    """A reservation as stored: the public view plus its cells in scaled units."""

    reservation: Reservation
    cells: tuple[tuple[int, str, int], ...]  # (source index, sku, units), sorted; the identity


def unknown_source_message(code: str, known: Sequence[str]) -> str:
    """``unknown source 'X'; did you mean 'Y'?`` (or the list of known sources)."""
    hint = suggest(code, known)
    if hint is not None:
        return f"unknown source {code!r}; did you mean {hint!r}?"
    shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    return f"unknown source {code!r}; known sources: {shown}"


def _aware(at: datetime, field: str) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError(
            f"{field} {at!r} has no time zone; add one, e.g. '+00:00'",
            field=field, value=at, expected="a timezone-aware datetime",
        )


def _scaled(qty: Decimal, decimals: int, *, field: str, where: str | None) -> int:
    units = to_units(qty, decimals)
    if abs(units) > MAX_UNITS:
        raise QuantityError(
            f"{where + ': ' if where else ''}{field} {qty} is too large "
            f"(at most {from_units(MAX_UNITS, decimals)})",
            field=field, value=qty, expected=f"at most {from_units(MAX_UNITS, decimals)}",
            where=where,
        )
    return units


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


class StockLedger:
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
        self._held: dict[tuple[str, str], _Held] = {}
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

        An out-of-stock cell counts at most 0 on hand. Clamped at 0 unless the SKU allows
        backorders (then it may be negative: stock already sold beyond what is there). A SKU
        whose stock is not managed returns ``Decimal('Infinity')``.
        """
        i = self.index(source)
        with self._lock:
            if not self._catalog.stock_managed(sku):
                return Decimal("Infinity")
            entry = self._entries.get(sku)
            if entry is None:
                return Decimal(0)
            units = self._effective(entry, i)
            if entry.floor == 0:
                units = max(units, 0)
            return from_units(units, entry.decimals)

    def reservation(self, order_id: str, line_id: str) -> Reservation | None:
        """The reservation held for an order line, or ``None``."""
        with self._lock:
            held = self._held.get((order_id, line_id))
            return held.reservation if held else None

    def reservations(self) -> tuple[Reservation, ...]:
        """Every open reservation, in the order they were made."""
        with self._lock:
            return tuple(h.reservation for h in self._held.values())

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
        on_hand = int(entry.on_hand[i])
        if not entry.in_stock[i]:
            on_hand = min(on_hand, 0)
        return on_hand - int(entry.reserved[i]) - int(entry.safety[i])

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
            order_id, line_id: the key; a retry with the same key and allocations is a no-op.
            allocations: ``(source, sku, qty)`` triples; the same (source, SKU) may appear more
                than once (the quantities add up).

        Returns:
            ``RESERVED``, ``ALREADY_RESERVED`` or ``INSUFFICIENT`` (nothing reserved), with one
            :class:`AllocationCheck` per (source, SKU).

        Raises:
            InputError: empty ids or no allocations.
            UnknownReferenceError: an unknown source. QuantityError: a bad quantity.
            ReservationConflictError: the key holds a reservation with other allocations.
        """
        self._key(order_id, line_id)    # (an id that is not a string never becomes a key)
        return self.reserve_order(order_id, {line_id: allocations}).lines[0]

    def reserve_order(
        self, order_id: str, lines: Mapping[str, Sequence[tuple[str, str, Decimal]]]
    ) -> OrderReserveResult:
        """Reserve stock for several lines of one order: every line or none.

        Each line is keyed ``(order_id, line_id)`` as in :meth:`reserve`. A line that already
        holds the same allocations keeps them (``ALREADY_RESERVED``); the others are checked
        together, in the order given — lines that draw on the same (source, SKU) count against
        its stock one after the other, and each check shows what was available to its line —
        and reserved only if every one of them fits: a call never reserves part of what it
        asks for. (Lines held before the call stay held either way.)

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
            ReservationConflictError: a line holds a reservation with other allocations.
            Nothing changes when any of these is raised.
        """
        self._id("order_id", order_id)
        if not isinstance(lines, Mapping):
            raise InputError(
                f"order {order_id}: lines must map each line id to its allocations, got "
                f"{type(lines).__name__}",
                field="lines", value=lines, expected="{line id: [(source, sku, qty), ...]}",
                where=f"order {order_id}",
            )
        wanted = [(self._key(order_id, line_id), self._cells(order_id, line_id, allocations))
                  for line_id, allocations in lines.items()]
        with self._lock:
            for (_, line_id), cells in wanted:
                held = self._held.get((order_id, line_id))
                if held is not None and held.cells != cells:
                    raise ReservationConflictError(
                        f"order {order_id} line {line_id} already holds a reservation of "
                        f"{self._describe(held.reservation.allocations)}; release it before "
                        f"reserving {self._describe(self._public(cells))}"
                    )
            taken: dict[tuple[int, str], int] = {}  # units the new lines take so far, per cell
            kept = [key in self._held for key, _ in wanted]
            checks: list[tuple[AllocationCheck, ...]] = []
            for (_, cells), was_held in zip(wanted, kept, strict=True):
                checks.append(self._checks(cells, held=was_held, taken=taken))
                if not was_held:
                    for i, sku, units in cells:
                        taken[(i, sku)] = taken.get((i, sku), 0) + units
            fits = all(c.sufficient for line, was_held in zip(checks, kept, strict=True)
                       if not was_held for c in line)
            if fits:
                for (key, cells), was_held in zip(wanted, kept, strict=True):
                    if not was_held:
                        self._hold(key, cells)
        new_status = ReserveStatus.RESERVED if fits else ReserveStatus.INSUFFICIENT
        results = tuple(
            ReserveResult(ReserveStatus.ALREADY_RESERVED if was_held else new_status,
                          order_id, line_id, line_checks)
            for ((_, line_id), _), line_checks, was_held in zip(wanted, checks, kept, strict=True)
        )
        status = (ReserveStatus.ALREADY_RESERVED if fits and all(kept) else new_status)
        return OrderReserveResult(status, order_id, results)

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

    def _hold(self, key: tuple[str, str], cells: tuple[tuple[int, str, int], ...]) -> None:
        """Reserve ``cells`` under ``key`` (checked by the caller, under the lock)."""
        held = _Held(Reservation(key[0], key[1], self._public(cells)), cells)  # before any change
        for i, sku, units in cells:
            if self._catalog.stock_managed(sku):
                entry = self._entry(sku)
                entry.reserved[i] += units
                entry.cached = None
        self._held[key] = held

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

    def release(self, order_id: str, line_id: str) -> ReleaseResult:
        """Give the stock reserved for an order line back; ``NOT_FOUND`` if there is none."""
        key = self._key(order_id, line_id)
        with self._lock:
            held = self._held.pop(key, None)
            if held is None:
                return ReleaseResult(ReleaseStatus.NOT_FOUND, order_id, line_id)
            for i, sku, units in held.cells:
                entry = self._entries.get(sku)
                if entry is not None and entry.managed:
                    entry.reserved[i] -= units
                    entry.cached = None
            return ReleaseResult(
                ReleaseStatus.RELEASED, order_id, line_id, held.reservation.allocations
            )

    def ship(self, order_id: str, line_id: str, *, at: datetime) -> ShipResult:
        """The reserved stock of an order line left the building at ``at``.

        Closes the reservation and deducts on hand as an adjustment at version
        ``(at, "ship:<order>:<line>")`` (see the module docstring). ``NOT_FOUND`` when the line
        holds no reservation.

        Raises:
            InputError: ``at`` without a time zone.
        """
        key = self._key(order_id, line_id)
        _aware(at, "at")
        version = Version(at, f"ship:{order_id}:{line_id}")
        with self._lock:
            held = self._held.pop(key, None)
            if held is None:
                return ShipResult(ShipStatus.NOT_FOUND, order_id, line_id)
            counted: list[Allocation] = []
            for (i, sku, units), allocation in zip(
                held.cells, held.reservation.allocations, strict=True
            ):
                entry = self._entries.get(sku)
                if entry is None or not entry.managed:
                    continue
                entry.reserved[i] -= units
                entry.cached = None
                outcome, _ = self._apply_one(entry, i, version, -units, True, None)
                if outcome is RecordOutcome.STALE:
                    counted.append(allocation)
            return ShipResult(
                ShipStatus.SHIPPED, order_id, line_id, held.reservation.allocations,
                tuple(counted),
            )

    # ---------------------------------------------------------------- stock records

    def apply_records(
        self,
        records: Sequence[StockFact],
        *,
        zero_unlisted: Mapping[str, tuple[datetime, str]] | None = None,
        report_unlisted: Iterable[str] = (),
    ) -> StockUpdate:
        """Apply stock records atomically (all are checked before any is applied).

        Args:
            records: absolute quantities and adjustments, in any order.
            zero_unlisted: ``{source: (effective_at, tag)}``: every stock-managed SKU known at
                ``source`` but absent from ``records`` for that source gets an absolute 0 at
                version ``(effective_at, f"{source}:{sku}:nonzero:{tag}")`` (NONZERO feeds).
            report_unlisted: sources whose known SKUs absent from ``records`` are listed in the
                result, untouched (FULL feeds).

        Returns:
            A :class:`StockUpdate` with one result per record.

        Raises:
            UnknownReferenceError, QuantityError, InputError: naming the first bad record;
                nothing is applied.
        """
        zero = dict(zero_unlisted or {})
        report = sorted({self.index(s) for s in report_unlisted})
        for source, (at, _tag) in zero.items():
            self.index(source)
            _aware(at, f"zero_unlisted[{source!r}]")
        batch = tuple(records)
        positions, amounts = self._prepare(batch)

        with self._lock:
            outcomes: list[RecordOutcome] = []
            superseded: dict[int, Version] = {}
            seen = self._seen_ids
            entry_of = self._entry
            for n, rec in enumerate(batch):
                rid = rec.record_id
                if rid in seen:
                    outcomes.append(RecordOutcome.DUPLICATE)
                    continue
                seen.add(rid)
                adjust = rec.adjust
                status = rec.in_stock
                if status is None and not adjust:
                    status = True
                outcome, newer = self._apply_one(
                    entry_of(rec.sku), positions[n], Version(rec.effective_at, rid),
                    amounts[n], adjust, status,
                )
                outcomes.append(outcome)
                if newer is not None:
                    superseded[n] = newer
            zeroed: list[RecordResult] = []
            unlisted: tuple[tuple[str, str], ...] = ()
            if zero or report:
                listed: list[set[str]] = [set() for _ in self._codes]
                for i, rec in zip(positions, batch, strict=True):
                    listed[i].add(rec.sku)
                for source in sorted(zero):
                    at, tag = zero[source]
                    i = self._index[source]
                    for sku in sorted(self._known[i] - listed[i]):
                        entry = self._entries[sku]
                        if not entry.managed:
                            continue
                        record = StockRecord(
                            source, sku, Decimal(0), at, f"{source}:{sku}:nonzero:{tag}"
                        )
                        if record.record_id in seen:
                            zeroed.append(RecordResult(record, RecordOutcome.DUPLICATE))
                            continue
                        seen.add(record.record_id)
                        outcome, newer = self._apply_one(
                            entry, i, record.version, 0, False, True
                        )
                        zeroed.append(RecordResult(record, outcome, newer))
                unlisted = tuple(
                    (self._codes[i], sku)
                    for i in report for sku in sorted(self._known[i] - listed[i])
                )
        return StockUpdate(
            batch, tuple(outcomes), MappingProxyType(superseded), tuple(zeroed), unlisted
        )

    def _prepare(self, records: Sequence[StockFact]) -> tuple[list[int], list[int]]:
        """Check every record; their source indexes and quantities in units (plain int lists:
        no per-record objects for the garbage collector to walk)."""
        positions: list[int] = []
        amounts: list[int] = []
        index = self._index
        decimals_of: dict[str, int] = {}
        checked_at: datetime | None = None
        for rec in records:
            i = index.get(rec.source)
            if i is None:
                i = self.index(rec.source)  # raises, with a suggestion
            sku = rec.sku
            if not isinstance(sku, str) or not sku:
                raise InputError(
                    f"record {rec.record_id!r}: sku must be a non-empty string",
                    field="sku", value=sku, expected="a non-empty string",
                )
            if not isinstance(rec.record_id, str) or not rec.record_id:
                raise InputError(
                    f"record for {rec.source}/{sku}: record_id must be a non-empty string",
                    field="record_id", value=rec.record_id, expected="a non-empty string",
                )
            at = rec.effective_at
            if at is not checked_at:  # feed rows share one datetime per distinct timestamp
                _aware(at, f"record {rec.record_id!r}: effective_at")
                checked_at = at
            decimals = decimals_of.get(sku)
            if decimals is None:
                decimals = decimals_of[sku] = self._catalog.decimals(sku)
            qty = rec.qty
            if not isinstance(qty, Decimal) or not qty.is_finite():
                where = f"record {rec.record_id!r}"
                raise QuantityError(
                    f"{where}: qty must be a finite Decimal, got {qty!r}",
                    field="qty", value=qty, expected="a finite Decimal", where=where,
                )
            if qty < 0 and not rec.adjust:
                where = f"record {rec.record_id!r}"
                raise QuantityError(
                    f"{where}: an absolute qty must not be negative, got {qty}",
                    field="qty", value=qty, expected=">= 0", where=where,
                )
            scaled = qty * _SCALE[decimals]
            units = int(scaled)
            if units != scaled:
                where = f"record {rec.record_id!r}"
                allowed = "whole units" if decimals == 0 else f"{decimals} decimal place(s)"
                raise QuantityError(
                    f"{where}: qty {qty} is more precise than SKU {sku!r} allows ({allowed})",
                    field="qty", value=qty, expected=allowed, where=where,
                )
            if units > MAX_UNITS or units < -MAX_UNITS:
                _scaled(qty, decimals, field="qty", where=f"record {rec.record_id!r}")  # raises
            positions.append(i)
            amounts.append(units)
        return positions, amounts

    def _apply_one(
        self,
        entry: _SkuEntry,
        i: int,
        version: Version,
        units: int,
        adjust: bool,
        in_stock: bool | None,
    ) -> tuple[RecordOutcome, Version | None]:
        cell = entry.cells.get(i)
        if cell is None:
            cell = entry.cells[i] = _Cell()
            self._known[i].add(entry.sku)
        base = cell.base_version
        if base is not None and version < base:
            return RecordOutcome.STALE, base
        if adjust:
            if cell.adjustments is None:
                cell.adjustments = []
            cell.adjustments.append((version, units))
            entry.on_hand[i] += units
        else:
            cell.base_version = version
            cell.base_units = units
            newer = cell.adjustments
            if newer:
                newer = cell.adjustments = [(v, d) for v, d in newer if v > version] or None
            entry.on_hand[i] = units + (sum(d for _, d in newer) if newer else 0)
        if in_stock is not None and (cell.status_version is None or version > cell.status_version):
            cell.status_version = version
            entry.in_stock[i] = in_stock
        entry.cached = None
        return RecordOutcome.APPLIED, None
