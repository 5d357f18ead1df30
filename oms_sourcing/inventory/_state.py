"""The ledger's state as plain values, out and back in (private).

A durable store (``oms_sourcing.store``) keeps the ledger's state in tables and, for each call,
loads the few cells and lines it touches into a fresh :class:`StockLedger`, runs the call there
and writes back what changed: the ledger's rules (versions, NONZERO statements, closed lines)
then live in one place. :class:`StateMixin` is that export and import; quantities are in the
SKU's smallest units, cells named by source code (not index) so the values do not depend on the
order of the ledger's sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from oms_sourcing.inventory._records import Version, _Cell
from oms_sourcing.inventory._reservations import Line, LineState, Shipment

if TYPE_CHECKING:
    from oms_sourcing.inventory.stock import _SkuEntry


@dataclass(frozen=True, slots=True)
class CellState:
    """One (source, SKU) cell. ``known``: a stock record (or a shipment) reached it, so it has
    a version history (``base_*``, ``adjustments``, ``status_version``)."""

    source: str
    sku: str
    on_hand: int = 0
    reserved: int = 0
    safety: int = 0
    in_stock: bool = True
    known: bool = False
    base_version: Version | None = None
    base_units: int = 0
    adjustments: tuple[tuple[Version, int], ...] = ()
    status_version: Version | None = None

    @property
    def is_default(self) -> bool:
        """Nothing is known of the cell: the same as no cell at all."""
        return self == CellState(self.source, self.sku)


@dataclass(frozen=True, slots=True)
class ShipmentState:
    """A shipment made with an id: what it asked (``source``, ``qty``) and took
    (``(source, sku, units)``), and the cells whose deduction a newer count already held."""

    shipment_id: str
    source: str | None
    qty: Decimal | None
    shipped: tuple[tuple[str, str, int], ...]
    counted: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class LineCellState:
    source: str
    sku: str
    units: int
    open: int
    shipped: int


@dataclass(frozen=True, slots=True)
class LineRecord:
    """One reserved order line; ``state``: ``open``, ``shipped`` or ``released``."""

    order_id: str
    line_id: str
    state: str
    cells: tuple[LineCellState, ...]
    shipments: tuple[ShipmentState, ...] = ()


@dataclass(frozen=True, slots=True)
class StockState:
    """Some or all of a ledger's state.

    ``record_ids``: record ids applied; ``resets``: per source, its newest NONZERO statement
    ``(effective_at, tag)``; ``statements``: the ``(source, effective_at, tag)`` statements seen.
    ``lines``: open lines in the order they were made, then closed ones.
    """

    cells: tuple[CellState, ...] = ()
    lines: tuple[LineRecord, ...] = ()
    record_ids: frozenset[str] = frozenset()
    resets: Mapping[str, tuple[datetime, str]] = field(default_factory=dict)
    statements: frozenset[tuple[str, datetime, str]] = frozenset()


class StateMixin:
    """Export and import of the ledger's state (see the module docstring)."""

    _codes: tuple[str, ...]
    _index: dict[str, int]
    _entries: dict[str, _SkuEntry]
    _known: list[set[str]]
    _seen_ids: set[str]
    _ever_out: set[str]
    _resets: list[tuple[datetime, str] | None]
    _seen_resets: list[set[tuple[datetime, str]]]
    _held: dict[tuple[str, str], Line]
    _closed: dict[tuple[str, str], Line]

    if TYPE_CHECKING:
        def _entry(self, sku: str) -> _SkuEntry: ...

    def export_state(self) -> StockState:
        """Everything the ledger holds, as values (cells equal to no cell left out)."""
        cells: list[CellState] = []
        for sku, entry in self._entries.items():
            for i, code in enumerate(self._codes):
                cell = entry.cells.get(i)
                state = CellState(
                    code, sku, int(entry.on_hand[i]), int(entry.reserved[i]),
                    int(entry.safety[i]), bool(entry.in_stock[i]), cell is not None,
                    None if cell is None else cell.base_version,
                    0 if cell is None else cell.base_units,
                    () if cell is None or not cell.adjustments else tuple(cell.adjustments),
                    None if cell is None else cell.status_version,
                )
                if not state.is_default:
                    cells.append(state)
        lines = [self._line_record(key, line)
                 for key, line in (*self._held.items(), *self._closed.items())]
        resets = {self._codes[i]: r for i, r in enumerate(self._resets) if r is not None}
        statements = frozenset(
            (self._codes[i], at, tag) for i, seen in enumerate(self._seen_resets)
            for at, tag in seen
        )
        return StockState(
            tuple(cells), tuple(lines), frozenset(self._seen_ids), resets, statements
        )

    def import_state(self, state: StockState) -> None:
        """Add ``state`` to the ledger (meant for a fresh one: what is there is overwritten
        cell by cell and line by line, never merged)."""
        for c in state.cells:
            i = self._index[c.source]
            entry = self._entry(c.sku)
            entry.on_hand[i] = c.on_hand
            entry.reserved[i] = c.reserved
            entry.safety[i] = c.safety
            entry.in_stock[i] = c.in_stock
            if not c.in_stock:
                self._ever_out.add(c.sku)
            if c.known:
                cell = _Cell()
                cell.base_version = c.base_version
                cell.base_units = c.base_units
                cell.adjustments = list(c.adjustments) or None
                cell.status_version = c.status_version
                entry.cells[i] = cell
                self._known[i].add(c.sku)
            entry.cached = None
        for rec in state.lines:
            line = self._line(rec)
            key = (rec.order_id, rec.line_id)
            if line.state is LineState.OPEN:
                self._held[key] = line
            else:
                self._closed[key] = line
        self._seen_ids.update(state.record_ids)
        for source, reset in state.resets.items():
            self._resets[self._index[source]] = reset
        for source, at, tag in state.statements:
            self._seen_resets[self._index[source]].add((at, tag))

    def _line_record(self, key: tuple[str, str], line: Line) -> LineRecord:
        codes = self._codes
        shipments = tuple(
            ShipmentState(
                sid, None if s.source is None else codes[s.source], s.qty,
                tuple((codes[line.cells[n][0]], line.cells[n][1], u) for n, u in s.shipped),
                tuple((codes[line.cells[n][0]], line.cells[n][1]) for n in s.counted),
            )
            for sid, s in line.shipments.items()
        )
        cells = tuple(
            LineCellState(codes[i], sku, units, line.open[n], line.shipped[n])
            for n, (i, sku, units) in enumerate(line.cells)
        )
        return LineRecord(key[0], key[1], line.state.value, cells, shipments)

    def _line(self, rec: LineRecord) -> Line:
        ordered = sorted(rec.cells, key=lambda c: (self._index[c.source], c.sku))
        position = {(c.source, c.sku): n for n, c in enumerate(ordered)}
        line = Line(
            tuple((self._index[c.source], c.sku, c.units) for c in ordered),
            [c.open for c in ordered], [c.shipped for c in ordered], LineState(rec.state),
        )
        for s in rec.shipments:
            line.shipments[s.shipment_id] = Shipment(
                None if s.source is None else self._index[s.source], s.qty,
                tuple((position[(src, sku)], u) for src, sku, u in s.shipped),
                tuple(position[key] for key in s.counted),
            )
        return line


def cells_of(state: StockState) -> dict[tuple[str, str], CellState]:
    """The state's cells by (source, SKU)."""
    return {(c.source, c.sku): c for c in state.cells}


def lines_of(state: StockState) -> dict[tuple[str, str], LineRecord]:
    """The state's lines by (order id, line id)."""
    return {(r.order_id, r.line_id): r for r in state.lines}


__all__ = [
    "CellState", "LineCellState", "LineRecord", "ShipmentState", "StateMixin", "StockState",
    "cells_of", "lines_of",
]
