"""Reservations after they are made: shipping and releasing order lines (private).

A line keeps its reservation's identity (the cells it was reserved with) for good: once shipped
or released it is *closed*, and a late retry of the reservation, the shipment or the release
finds it and changes nothing (see :mod:`oms_sourcing.inventory.stock`). :class:`Line` is the
ledger's record of one line, guarded by its lock and never handed out; :class:`ShippingMixin`
is the part of :class:`~oms_sourcing.inventory.stock.StockLedger` that ships and releases. Split
out of ``stock.py`` by responsibility; everything public is re-exported there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, NamedTuple

from oms_sourcing.domain import MAX_DECIMALS, Catalog, from_units, parse_quantity
from oms_sourcing.errors import InputError, QuantityError, ReservationConflictError
from oms_sourcing.inventory._records import RecordOutcome, Version, _aware, _scaled

if TYPE_CHECKING:
    from oms_sourcing.inventory.stock import _SkuEntry

Cell = tuple[int, str, int]  # (source index, sku, units)


class Allocation(NamedTuple):
    """A quantity of one SKU from one source. A plain ``(source, sku, qty)`` tuple works too."""

    source: str
    sku: str
    qty: Decimal


class ReleaseStatus(StrEnum):
    """``ALREADY_RELEASED`` / ``ALREADY_SHIPPED``: the line was closed before; nothing changed.
    ``NOT_FOUND``: the line was never reserved."""

    RELEASED = "RELEASED"
    ALREADY_RELEASED = "ALREADY_RELEASED"
    ALREADY_SHIPPED = "ALREADY_SHIPPED"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    """The result of :meth:`StockLedger.release`; ``released``: what this call gave back."""

    status: ReleaseStatus
    order_id: str
    line_id: str
    released: tuple[Allocation, ...] = ()


class ShipStatus(StrEnum):
    """``ALREADY_SHIPPED``: this shipment was made before (same ``shipment_id``), or nothing of
    the line is left to ship; ``ALREADY_RELEASED``: the line was released; ``NOT_FOUND``: the
    line was never reserved. Nothing changes but for ``SHIPPED``."""

    SHIPPED = "SHIPPED"
    ALREADY_SHIPPED = "ALREADY_SHIPPED"
    ALREADY_RELEASED = "ALREADY_RELEASED"
    NOT_FOUND = "NOT_FOUND"


@dataclass(frozen=True, slots=True)
class ShipResult:
    """The result of :meth:`StockLedger.ship`.

    ``shipped``: what this shipment took (for a retry, what it took the first time; for a
    retry without ``shipment_id`` of a shipped line, everything the line shipped).
    ``already_counted``: shipped allocations whose deduction was not applied because the cell
    already holds an absolute stock record effective after the shipment (it counts the shipment).
    ``remaining``: what the line still holds reserved after the call.
    """

    status: ShipStatus
    order_id: str
    line_id: str
    shipped: tuple[Allocation, ...] = ()
    already_counted: tuple[Allocation, ...] = ()
    remaining: tuple[Allocation, ...] = ()


class LineState(Enum):
    OPEN = "open"          # some units still reserved (maybe part shipped)
    SHIPPED = "shipped"    # every unit shipped
    RELEASED = "released"  # released (what had shipped before stays shipped)


@dataclass(frozen=True, slots=True)
class Shipment:
    """A shipment made with a ``shipment_id``, kept for its retries.

    ``source``/``qty``: what the call asked for (``None``: everything still reserved there /
    anywhere), compared with a retry's; ``shipped``: ``(cell position, units)``; ``counted``:
    the positions whose deduction a newer count already held.
    """

    source: int | None
    qty: Decimal | None
    shipped: tuple[tuple[int, int], ...]
    counted: tuple[int, ...]


@dataclass(slots=True, eq=False)
class Line:
    """One line's reservation: ``cells`` (sorted) is its identity; ``open[n]`` and
    ``shipped[n]`` are the units of ``cells[n]`` still reserved and shipped."""

    cells: tuple[Cell, ...]
    open: list[int]
    shipped: list[int]
    state: LineState = LineState.OPEN
    shipments: dict[str, Shipment] = field(default_factory=dict)

    @classmethod
    def reserved(cls, cells: tuple[Cell, ...]) -> Line:
        return cls(cells, [units for _, _, units in cells], [0] * len(cells))

    def still_reserved(self) -> tuple[Cell, ...]:
        """The cells with units still reserved, with those units."""
        return tuple(
            (i, sku, left) for (i, sku, _), left in zip(self.cells, self.open, strict=True) if left
        )

    def shipped_cells(self, picks: tuple[tuple[int, int], ...] | None = None) -> tuple[Cell, ...]:
        """``picks`` as cells; every shipped unit of the line without them."""
        if picks is None:
            picks = tuple((n, units) for n, units in enumerate(self.shipped) if units)
        return tuple((self.cells[n][0], self.cells[n][1], units) for n, units in picks)


class ShippingMixin:
    """Releasing and shipping reservations; the ledger's state it works on is declared here."""

    _lock: threading.Lock
    _codes: tuple[str, ...]
    _catalog: Catalog
    _entries: dict[str, _SkuEntry]
    _held: dict[tuple[str, str], Line]
    _closed: dict[tuple[str, str], Line]

    if TYPE_CHECKING:
        def index(self, source: str) -> int: ...
        @classmethod
        def _key(cls, order_id: str, line_id: str) -> tuple[str, str]: ...
        @staticmethod
        def _id(name: str, value: str) -> str: ...
        def _public(self, cells: Iterable[Cell]) -> tuple[Allocation, ...]: ...
        @staticmethod
        def _describe(allocations: Iterable[Allocation]) -> str: ...
        def _apply_one(
            self, entry: _SkuEntry, i: int, version: Version, units: int, adjust: bool,
            in_stock: bool | None,
        ) -> tuple[RecordOutcome, Version | None]: ...

    def release(self, order_id: str, line_id: str) -> ReleaseResult:
        """Give back the stock an order line still holds reserved, and close the line.

        What part shipments took stays shipped. The line's identity is kept: a retry, or a
        late retry of its reservation, changes nothing (``ALREADY_RELEASED``, or
        ``ALREADY_SHIPPED`` when it had shipped whole); ``NOT_FOUND`` when it was never
        reserved.
        """
        key = self._key(order_id, line_id)
        with self._lock:
            line = self._held.pop(key, None)
            if line is None:
                closed = self._closed.get(key)
                if closed is None:
                    return ReleaseResult(ReleaseStatus.NOT_FOUND, order_id, line_id)
                status = (ReleaseStatus.ALREADY_SHIPPED if closed.state is LineState.SHIPPED
                          else ReleaseStatus.ALREADY_RELEASED)
                return ReleaseResult(status, order_id, line_id)
            given_back = line.still_reserved()
            for i, sku, units in given_back:
                entry = self._entries.get(sku)
                if entry is not None and entry.managed:
                    entry.reserved[i] -= units
                    entry.cached = None
            line.open = [0] * len(line.cells)
            line.state = LineState.RELEASED
            self._closed[key] = line
            return ReleaseResult(
                ReleaseStatus.RELEASED, order_id, line_id, self._public(given_back)
            )

    def ship(
        self, order_id: str, line_id: str, *, at: datetime, qty: Decimal | None = None,
        source: str | None = None, shipment_id: str | None = None,
    ) -> ShipResult:
        """Stock reserved for an order line left the building at ``at``.

        Deducts on hand as an adjustment at version ``(at, "ship:<order>:<line>[:<shipment>]")``
        (see the module docstring) and takes the units out of the reservation; the line closes
        when nothing of it is left reserved.

        Args:
            at: when the stock left (timezone-aware).
            qty: ship only this much (a part shipment); the rest stays reserved. The line
                must then hold stock at one cell, or ``source`` must name it.
            source: ship only what the line holds at this source.
            shipment_id: the shipment's idempotency key, scoped to the line (a parcel id will
                do). Required with ``qty``: a retried part shipment must not ship twice. A retry
                with the same id changes nothing and answers ``ALREADY_SHIPPED`` with what the
                shipment took; the same id with another ``qty`` or ``source`` is a conflict.
                Without an id, a call ships everything left (at ``source``), so its retry finds
                nothing left: ``ALREADY_SHIPPED``.

        Returns:
            ``SHIPPED``; ``ALREADY_SHIPPED`` / ``ALREADY_RELEASED`` (closed, or this shipment
            made before: nothing changes); ``NOT_FOUND`` (never reserved).

        Raises:
            InputError: ``at`` without a time zone, ``qty`` without ``shipment_id``, a ``qty``
                that does not say which cell, a ``source`` where the line holds nothing.
            QuantityError: a bad ``qty``, or more than the line still holds there.
            UnknownReferenceError: an unknown ``source``.
            ReservationConflictError: a ``shipment_id`` used before for another shipment.
        """
        key = self._key(order_id, line_id)
        _aware(at, "at")
        where = f"order {order_id} line {line_id}"
        at_source = None if source is None else self.index(source)
        asked = None if qty is None else parse_quantity(
            qty, decimals=MAX_DECIMALS, field="qty", where=f"{where} shipment"
        )
        if shipment_id is not None:
            self._id("shipment_id", shipment_id)
        elif qty is not None:
            raise InputError(
                f"{where}: a part shipment (qty={qty}) needs a shipment_id, so that a retry "
                "does not ship it twice",
                field="shipment_id", value=None, expected="a non-empty string", where=where,
            )
        record_id = f"ship:{order_id}:{line_id}" + (f":{shipment_id}" if shipment_id else "")
        version = Version(at, record_id)
        with self._lock:
            line = self._held.get(key) or self._closed.get(key)
            if line is None:
                return ShipResult(ShipStatus.NOT_FOUND, order_id, line_id)
            earlier = line.shipments.get(shipment_id) if shipment_id is not None else None
            if earlier is not None:
                if (earlier.source, earlier.qty) != (at_source, asked):
                    raise ReservationConflictError(
                        f"{where}: shipment {shipment_id!r} shipped "
                        f"{self._describe(self._public(line.shipped_cells(earlier.shipped)))}; "
                        "a retry must ask for the same qty and source (or use a new shipment_id)"
                    )
                return self._shipped(
                    ShipStatus.ALREADY_SHIPPED, order_id, line_id, line, earlier.shipped,
                    earlier.counted,
                )
            if line.state is LineState.RELEASED:
                return ShipResult(ShipStatus.ALREADY_RELEASED, order_id, line_id)
            if line.state is LineState.SHIPPED:
                return ShipResult(ShipStatus.ALREADY_SHIPPED, order_id, line_id,
                                  self._public(line.shipped_cells()))
            picks = self._picks(line, where, at_source, asked)
            if not picks:  # a retry of a shipment of everything at ``at_source``
                there = tuple((n, units) for n, units in enumerate(line.shipped)
                              if units and line.cells[n][0] == at_source)
                return self._shipped(
                    ShipStatus.ALREADY_SHIPPED, order_id, line_id, line, there, ()
                )
            counted: list[int] = []
            for n, units in picks:
                i, sku, _ = line.cells[n]
                line.open[n] -= units
                line.shipped[n] += units
                entry = self._entries.get(sku)
                if entry is None or not entry.managed:
                    continue
                entry.reserved[i] -= units
                entry.cached = None
                outcome, _ = self._apply_one(entry, i, version, -units, True, None)
                if outcome is RecordOutcome.STALE:
                    counted.append(n)
            if shipment_id is not None:
                line.shipments[shipment_id] = Shipment(at_source, asked, picks, tuple(counted))
            if not any(line.open):
                line.state = LineState.SHIPPED
                del self._held[key]
                self._closed[key] = line
            return self._shipped(
                ShipStatus.SHIPPED, order_id, line_id, line, picks, tuple(counted)
            )

    def _picks(
        self, line: Line, where: str, at_source: int | None, qty: Decimal | None
    ) -> tuple[tuple[int, int], ...]:
        """``(cell position, units)`` a shipment takes from an open ``line`` (under the lock)."""
        positions = [n for n, (i, _, _) in enumerate(line.cells)
                     if line.open[n] and (at_source is None or i == at_source)]
        if at_source is not None and not positions:
            if qty is None and any(
                units for (i, _, _), units in zip(line.cells, line.shipped, strict=True)
                if i == at_source
            ):
                return ()  # everything there shipped before: the caller says ALREADY_SHIPPED
            raise InputError(
                f"{where} holds nothing reserved at {self._codes[at_source]}; it holds "
                f"{self._describe(self._public(line.still_reserved()))}",
                field="source", value=self._codes[at_source], where=where,
            )
        if qty is None:
            return tuple((n, line.open[n]) for n in positions)
        if len(positions) != 1:
            raise InputError(
                f"{where} holds {self._describe(self._public(line.still_reserved()))}; "
                "a part shipment ships from one of them: name its source",
                field="source", value=None, where=where,
            )
        (n,) = positions
        sku = line.cells[n][1]
        decimals = self._catalog.decimals(sku)
        parsed = parse_quantity(qty, decimals=decimals, field="qty", where=f"{where} shipment")
        units = _scaled(parsed, decimals, field="qty", where=f"{where} shipment")
        if units > line.open[n]:
            left = from_units(line.open[n], decimals)
            raise QuantityError(
                f"{where}: cannot ship {parsed} of {sku} from {self._codes[line.cells[n][0]]}: "
                f"only {left} is still reserved there",
                field="qty", value=qty, expected=f"at most {left}", where=where,
            )
        return ((n, units),)

    def _shipped(
        self, status: ShipStatus, order_id: str, line_id: str, line: Line,
        picks: tuple[tuple[int, int], ...], counted: tuple[int, ...],
    ) -> ShipResult:
        taken = dict(picks)
        left = line.still_reserved()
        return ShipResult(
            status, order_id, line_id, self._public(line.shipped_cells(picks)),
            self._public(line.shipped_cells(tuple((n, taken[n]) for n in counted)))
            if counted else (),
            self._public(left) if left else (),
        )
