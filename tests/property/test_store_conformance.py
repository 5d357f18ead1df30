"""The durable store answers as the in-memory ledger does, call for call (hypothesis).

The same random sequence of feeds (absolute records, adjustments, NONZERO statements, re-sent
records), reservations (retries and conflicts too), releases, shipments (part shipments with
their retries) and safety stock runs on a ``StockLedger`` and on a ``SqlStock`` over SQLite and
over PostgreSQL: every answer, every error and the final state are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from oms_sourcing.domain import BackorderMode, Backorders, Catalog, SkuInfo
from oms_sourcing.errors import OmsSourcingError
from oms_sourcing.inventory.stock import StockLedger, StockRecord, StockUpdate
from oms_sourcing.store import SqlStock, create_store_engine
from oms_sourcing.store.schema import metadata

SOURCES = ("WH-BER", "WH-MUC", "ST-HAM")
SKUS = ("TEE-RED-M", "MUG-BLUE", "SCARF-WOOL", "GIFT-CARD")
CATALOG = Catalog([
    SkuInfo("SCARF-WOOL", backorders=Backorders(BackorderMode.ALLOW_UNTIL, Decimal(2))),
    SkuInfo("GIFT-CARD", stock_managed=False),
])
ORDERS = ("1001", "1002", "1003")
LINES = ("1", "2")


def at(hour: int) -> datetime:
    return datetime(2026, 11, 1, hour, tzinfo=UTC)


# a record id always names the same record (the ledger's contract), so a pool of them
record_pool = st.lists(
    st.tuples(st.sampled_from(SOURCES), st.sampled_from(SKUS), st.integers(-3, 9),
              st.booleans(), st.integers(0, 8), st.sampled_from([None, True, False])),
    min_size=8, max_size=8,
)
feed_op = st.tuples(
    st.just("feed"), st.lists(st.integers(0, 7), min_size=0, max_size=4),
    st.none() | st.tuples(st.sampled_from(SOURCES), st.integers(0, 8), st.sampled_from("ab")),
)
allocation = st.tuples(st.sampled_from(SOURCES), st.sampled_from(SKUS), st.integers(1, 4))
reserve_op = st.tuples(
    st.just("reserve"), st.sampled_from(ORDERS),
    st.dictionaries(st.sampled_from(LINES), st.lists(allocation, min_size=1, max_size=2),
                    min_size=1, max_size=2),
)
release_op = st.tuples(st.just("release"), st.sampled_from(ORDERS), st.sampled_from(LINES))
ship_op = st.tuples(
    st.just("ship"), st.sampled_from(ORDERS), st.sampled_from(LINES), st.integers(0, 8),
    st.none() | st.integers(1, 3), st.none() | st.sampled_from(SOURCES),
    st.none() | st.sampled_from(("parcel-1", "parcel-2")),
)
safety_op = st.tuples(st.just("safety"), st.sampled_from(SOURCES), st.sampled_from(SKUS),
                      st.integers(0, 2))
operations = st.lists(st.one_of(feed_op, reserve_op, release_op, ship_op, safety_op),
                      min_size=1, max_size=12)


def run(stock: Any, pool: list[tuple[Any, ...]], op: tuple[Any, ...]) -> Any:
    """One operation; its answer, or the error it raised, as a comparable value."""
    try:
        kind = op[0]
        if kind == "feed":
            records = []
            for n in op[1]:
                source, sku, qty, adjust, hour, status = pool[n]
                records.append(StockRecord(source, sku, Decimal(qty if adjust else abs(qty)),
                                           at(hour), f"rec-{n}", adjust, status))
            zero = None if op[2] is None else {op[2][0]: (at(op[2][1]), op[2][2])}
            update: StockUpdate = stock.apply_records(records, zero_unlisted=zero)
            return (update.outcomes, dict(update.superseded_by), update.zeroed, update.unlisted)
        if kind == "reserve":
            lines = {line: [(s, sku, Decimal(q)) for s, sku, q in allocs]
                     for line, allocs in op[2].items()}
            return stock.reserve_order(op[1], lines)
        if kind == "release":
            return stock.release(op[1], op[2])
        if kind == "ship":
            qty = None if op[4] is None else Decimal(op[4])
            return stock.ship(op[1], op[2], at=at(op[3]), qty=qty, source=op[5],
                              shipment_id=op[6])
        stock.set_safety_stock(op[1], op[2], Decimal(op[3]))
        return None
    except OmsSourcingError as err:
        return (type(err).__name__, str(err))


def state(stock: Any) -> Any:
    cells = [
        (s, sku, stock.on_hand(s, sku), stock.reserved(s, sku), stock.available(s, sku),
         stock.in_stock(s, sku), stock.safety_stock(s, sku))
        for s in SOURCES for sku in SKUS
    ]
    snap = stock.snapshot(SKUS)
    arrays = [(sku, snap[sku].available.tolist(), snap[sku].in_stock.tolist(),
               snap[sku].reserved.tolist(), snap[sku].safety.tolist(), snap[sku].backorder_floor)
              for sku in SKUS]
    salable = [stock.salable_detail(sku, SOURCES) for sku in SKUS]
    known = [stock.known_skus(s) for s in SOURCES]
    reservations = stock.reservations()
    held = [stock.reservation(o, line) for o in ORDERS for line in LINES]
    return cells, arrays, salable, known, reservations, held


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    made = create_store_engine(store_url)
    yield made
    made.dispose()


def emptied(engine: Engine) -> SqlStock:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
    return SqlStock.open(engine, SOURCES, CATALOG)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pool=record_pool, ops=operations)
def test_the_store_gives_the_ledgers_answers_and_ends_in_its_state(
    engine: Engine, pool: list[tuple[Any, ...]], ops: list[tuple[Any, ...]]
) -> None:
    ledger = StockLedger(SOURCES, CATALOG)
    store = emptied(engine)
    for op in ops:
        assert run(store, pool, op) == run(ledger, pool, op), op
    assert state(store) == state(ledger)


def test_the_comparison_sees_a_difference_in_stock() -> None:
    """The state compared is not blind: one unit more at one cell shows."""
    one, other = StockLedger(SOURCES, CATALOG), StockLedger(SOURCES, CATALOG)
    other.apply_records([StockRecord("WH-BER", "TEE-RED-M", Decimal(1), at(1), "x")])
    assert state(one) != state(other)
    assert not np.array_equal(one.snapshot(SKUS)["TEE-RED-M"].available,
                              other.snapshot(SKUS)["TEE-RED-M"].available)
