"""The stock store's tables (SQLAlchemy Core): the :class:`StockLedger`'s state, durable.

Quantities are integers of the SKU's smallest unit, as inside the ledger. A record version is
kept as its ``effective_at`` in ISO 8601 with its offset and its record id; a cell's adjustments
newer than its base (a handful at most) as a JSON list. The schema itself is made by the Alembic
migrations in ``migrations/versions`` (this module mirrors them for the queries).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: One row per (source, SKU): what the ledger's arrays and the cell's version history hold.
stock_cells = Table(
    "stock_cells", metadata,
    Column("source", String, primary_key=True),
    Column("sku", String, primary_key=True),
    Column("on_hand", BigInteger, nullable=False, default=0),
    Column("reserved", BigInteger, nullable=False, default=0),  # open reservations' units
    Column("safety", BigInteger, nullable=False, default=0),
    Column("in_stock", Boolean, nullable=False, default=True),
    Column("known", Boolean, nullable=False, default=False),    # a record reached the cell
    Column("base_at", String),       # the newest absolute record's version
    Column("base_id", String),
    Column("base_units", BigInteger, nullable=False, default=0),
    Column("adjustments", Text),     # JSON [[at, record id, units], ...] newer than the base
    Column("status_at", String),     # the newest record that stated a stock status
    Column("status_id", String),
)

#: One row per source that stock records reached: its newest NONZERO statement. Record-writing
#: calls lock their sources' rows, so feeds and shipments of one source take turns.
stock_sources = Table(
    "stock_sources", metadata,
    Column("source", String, primary_key=True),
    Column("reset_at", String),
    Column("reset_tag", String),
)

#: Every NONZERO statement seen, so the same statement again is a no-op.
stock_statements = Table(
    "stock_statements", metadata,
    Column("source", String, primary_key=True),
    Column("effective_at", String, primary_key=True),
    Column("tag", String, primary_key=True),
)

#: Every stock record id applied (a repeated id is a no-op).
stock_record_ids = Table(
    "stock_record_ids", metadata,
    Column("record_id", String, primary_key=True),
)

#: One row per reserved order line, kept after it closed (retries find it).
reservation_lines = Table(
    "reservation_lines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the order they were made
    Column("order_id", String, nullable=False),
    Column("line_id", String, nullable=False),
    Column("state", String, nullable=False),  # open | shipped | released
    Column("shipments", Text),  # JSON {shipment id: {source, qty, shipped, counted}}
    UniqueConstraint("order_id", "line_id", name="uq_reservation_lines_key"),
)

#: The cells of a reserved line: what it was reserved with, still holds open and shipped.
reservation_cells = Table(
    "reservation_cells", metadata,
    Column("line", Integer, ForeignKey("reservation_lines.id"), primary_key=True),
    Column("source", String, primary_key=True),
    Column("sku", String, primary_key=True),
    Column("units", BigInteger, nullable=False),
    Column("open", BigInteger, nullable=False),
    Column("shipped", BigInteger, nullable=False),
    Index("ix_reservation_cells_cell", "source", "sku"),
)
