"""The durable stock store: the stock ledger's state in SQLite (default) or PostgreSQL.

:class:`~oms_sourcing.store.stock.SqlStock` has :class:`~oms_sourcing.inventory.stock.StockLedger`'s
interface; :func:`~oms_sourcing.store.engine.create_store_engine` makes an engine and migrates
the schema (Alembic, shipped in ``migrations/``) on first use. Imports SQLAlchemy: nothing
imports this package unless asked.
"""

from __future__ import annotations

from oms_sourcing.store.engine import DEFAULT_URL, create_store_engine, migrate
from oms_sourcing.store.stock import SqlStock, StoreBusyError

__all__ = ["DEFAULT_URL", "SqlStock", "StoreBusyError", "create_store_engine", "migrate"]
