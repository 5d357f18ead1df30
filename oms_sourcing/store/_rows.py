"""Rows of the stock store's tables to and from the ledger's state values (private)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_sourcing.inventory._state import CellState, LineCellState, LineRecord, ShipmentState
from oms_sourcing.inventory.stock import Version


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _version(at: str | None, record_id: str | None) -> Version | None:
    if at is None or record_id is None:
        return None
    return Version(_at(at), record_id)


def cell_from_row(row: Mapping[Any, Any]) -> CellState:
    adjustments: tuple[tuple[Version, int], ...] = ()
    if row["adjustments"]:
        adjustments = tuple(
            (Version(_at(at), rid), int(units)) for at, rid, units in json.loads(row["adjustments"])
        )
    return CellState(
        row["source"], row["sku"], int(row["on_hand"]), int(row["reserved"]), int(row["safety"]),
        bool(row["in_stock"]), bool(row["known"]), _version(row["base_at"], row["base_id"]),
        int(row["base_units"]), adjustments, _version(row["status_at"], row["status_id"]),
    )


def record_columns(cell: CellState) -> dict[str, Any]:
    """The columns stock records and shipments write (never ``reserved`` or ``safety``)."""
    return {
        "on_hand": cell.on_hand,
        "in_stock": cell.in_stock,
        "known": cell.known,
        "base_at": None if cell.base_version is None else cell.base_version[0].isoformat(),
        "base_id": None if cell.base_version is None else cell.base_version[1],
        "base_units": cell.base_units,
        "adjustments": json.dumps(
            [[v.effective_at.isoformat(), v.record_id, units] for v, units in cell.adjustments]
        ) if cell.adjustments else None,
        "status_at": None if cell.status_version is None else cell.status_version[0].isoformat(),
        "status_id": None if cell.status_version is None else cell.status_version[1],
    }


def empty_cell_row(source: str, sku: str) -> dict[str, Any]:
    """A row that means what no row means: nothing known of the cell."""
    return {"source": source, "sku": sku, "reserved": 0, "safety": 0,
            **record_columns(CellState(source, sku))}


def shipments_json(shipments: Sequence[ShipmentState]) -> str | None:
    if not shipments:
        return None
    return json.dumps({
        s.shipment_id: {
            "source": s.source, "qty": None if s.qty is None else str(s.qty),
            "shipped": [list(x) for x in s.shipped], "counted": [list(x) for x in s.counted],
        }
        for s in shipments
    })


def shipments_from_json(text: str | None) -> tuple[ShipmentState, ...]:
    if not text:
        return ()
    return tuple(
        ShipmentState(
            sid, s["source"], None if s["qty"] is None else Decimal(s["qty"]),
            tuple((src, sku, int(u)) for src, sku, u in s["shipped"]),
            tuple((src, sku) for src, sku in s["counted"]),
        )
        for sid, s in json.loads(text).items()
    )


def line_from_rows(
    line: Mapping[Any, Any], cells: Sequence[Mapping[Any, Any]]
) -> LineRecord:
    return LineRecord(
        line["order_id"], line["line_id"], line["state"],
        tuple(LineCellState(c["source"], c["sku"], int(c["units"]), int(c["open"]),
                            int(c["shipped"])) for c in cells),
        shipments_from_json(line["shipments"]),
    )
