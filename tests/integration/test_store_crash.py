"""A process killed in the middle of a batch of reservations leaves nothing half done.

The child reserves batches of orders, each batch in one transaction, and acknowledges a batch's
orders (appends them to a file) only after its commit. It is killed with SIGKILL at some point
of its work. Afterwards: every acknowledged order holds its reservations, each cell's
``reserved`` equals the sum of its open reservations, and no batch is there in part.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from oms_sourcing.inventory.stock import ReserveStatus, StockRecord
from oms_sourcing.store import SqlStock, create_store_engine
from oms_sourcing.store.schema import reservation_cells, reservation_lines, stock_cells

SOURCES = ("WH-BER", "WH-MUC")
SKUS = ("TEE-RED-M", "MUG-BLUE")
BATCH = 5  # orders per transaction, two lines each
ACKNOWLEDGED_BEFORE_KILL = 30


def reserve_batches(url: str, acks: str) -> None:
    """Reserve batches of orders until killed; acknowledge each batch after its commit."""
    engine = create_store_engine(url)
    with open(acks, "a", encoding="utf-8") as out:
        for batch in range(1_000_000):
            orders = [f"b{batch}-{n}" for n in range(BATCH)]
            with engine.begin() as conn:
                stock = SqlStock(conn, SOURCES)
                for n, order_id in enumerate(orders):
                    result = stock.reserve_order(order_id, {
                        "1": [(SOURCES[n % 2], SKUS[0], Decimal(1))],
                        "2": [(SOURCES[(n + 1) % 2], SKUS[1], Decimal(2))],
                    })
                    assert result.status is ReserveStatus.RESERVED
            out.write("".join(f"{o}\n" for o in orders))  # after the commit
            out.flush()


def test_a_killed_process_loses_no_acknowledged_reservation_and_leaves_no_half_batch(
    store_url: str, tmp_path: Path
) -> None:
    engine = create_store_engine(store_url)
    SqlStock.open(engine, SOURCES).apply_records([
        StockRecord(s, sku, Decimal(10**9), datetime(2026, 11, 1, tzinfo=UTC), f"seed-{s}-{sku}")
        for s in SOURCES for sku in SKUS
    ])
    acks = tmp_path / "acks.txt"
    acks.touch()
    child = multiprocessing.get_context("spawn").Process(
        target=reserve_batches, args=(store_url, str(acks))
    )
    child.start()
    deadline = time.monotonic() + 120
    while len(acks.read_text().split()) < ACKNOWLEDGED_BEFORE_KILL:
        assert child.is_alive(), "the child died before it was killed"
        assert time.monotonic() < deadline, "the child acknowledged too few orders"
        time.sleep(0.02)
    time.sleep(0.013)  # somewhere in the middle of a batch
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL

    acknowledged = acks.read_text().split()
    stock = SqlStock.open(store_url, SOURCES)  # "after restart": a new engine
    try:
        for order_id in acknowledged:
            assert stock.reservation(order_id, "1") is not None, order_id
            assert stock.reservation(order_id, "2") is not None, order_id
        with engine.connect() as conn:
            open_units = dict(conn.execute(
                select(reservation_cells.c.source + "|" + reservation_cells.c.sku,
                       func.sum(reservation_cells.c.open))
                .join(reservation_lines, reservation_lines.c.id == reservation_cells.c.line)
                .where(reservation_lines.c.state == "open")
                .group_by(reservation_cells.c.source, reservation_cells.c.sku)
            ).all())
            cells = {f"{r.source}|{r.sku}": int(r.reserved)
                     for r in conn.execute(select(stock_cells))}
            lines = conn.execute(select(func.count()).select_from(reservation_lines)).scalar()
        assert cells == {key: int(open_units.get(key, 0)) for key in cells}
        assert lines is not None and lines % (2 * BATCH) == 0  # whole batches only
        assert lines >= 2 * len(acknowledged)
    finally:
        stock.close()
        engine.dispose()
