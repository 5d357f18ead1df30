"""The guarded update itself: a cell that cannot give the units matches no row."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from oms_sourcing.inventory.stock import StockRecord
from oms_sourcing.store import SqlStock, create_store_engine
from oms_sourcing.store.stock import _RESERVE_GUARDED


def test_the_guard_refuses_the_one_cell_short_among_several_in_one_statement(
    store_url: str,
) -> None:
    engine = create_store_engine(store_url)
    try:
        SqlStock.open(engine, ("WH-BER",)).apply_records([
            StockRecord("WH-BER", sku, Decimal(2), datetime(2026, 11, 1, tzinfo=UTC), sku)
            for sku in ("TEE-NAVY-S", "MUG-RED")
        ])
        with engine.begin() as conn:
            done = conn.execute(_RESERVE_GUARDED, [
                {"s": "WH-BER", "k": "TEE-NAVY-S", "d": 2, "floor": 0},
                {"s": "WH-BER", "k": "MUG-RED", "d": 3, "floor": 0},
            ])
            assert done.rowcount == 1
            conn.rollback()
    finally:
        engine.dispose()
