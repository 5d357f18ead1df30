"""The durable stock store behaves as the in-memory ledger, and keeps what it was told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from oms_sourcing.domain import BackorderMode, Backorders, Catalog, SkuInfo
from oms_sourcing.errors import InputError, ReservationConflictError, UnknownReferenceError
from oms_sourcing.inventory.feeds import apply_feed, parse_feed_rows
from oms_sourcing.inventory.stock import (
    RecordOutcome,
    ReleaseStatus,
    ReserveStatus,
    ShipStatus,
    StockLedger,
    StockRecord,
)
from oms_sourcing.store import SqlStock, create_store_engine
from oms_sourcing.store.schema import stock_cells

SOURCES = ("WH-BER", "ST-PAR-RIVOLI")
CATALOG = Catalog([SkuInfo("SCARF-WOOL", backorders=Backorders(BackorderMode.ALLOW_UNTIL,
                                                                 Decimal(2)))])
NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


def at(hour: int) -> datetime:
    return datetime(2026, 11, 3, hour, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stock(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The in-memory ledger, then the store on SQLite, then on PostgreSQL."""
    if request.param == "memory":
        yield StockLedger(SOURCES, CATALOG)
        return
    url = (f"sqlite:///{tmp_path / 'stock.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    with SqlStock.open(url, SOURCES, CATALOG) as store:
        yield store


def seed(stock: Any, qty: int = 1, sku: str = "TEE-NAVY-S") -> None:
    stock.apply_records([StockRecord("WH-BER", sku, Decimal(qty), at(6), f"seed-{sku}")])


def test_the_last_unit_goes_to_the_first_order_and_the_second_is_told_it_is_short(
    stock: Any,
) -> None:
    seed(stock)
    first = stock.reserve_order("1001", {"1": [("WH-BER", "TEE-NAVY-S", Decimal(1))]})
    second = stock.reserve_order("1002", {"1": [("WH-BER", "TEE-NAVY-S", Decimal(1))]})
    assert first.status is ReserveStatus.RESERVED
    assert second.status is ReserveStatus.INSUFFICIENT
    assert second.shortfalls[0].available == Decimal(0)
    assert stock.reserved("WH-BER", "TEE-NAVY-S") == Decimal(1)


def test_an_order_whose_second_line_is_short_reserves_neither_line(stock: Any) -> None:
    seed(stock, 3)
    result = stock.reserve_order("1001", {
        "1": [("WH-BER", "TEE-NAVY-S", Decimal(2))],
        "2": [("WH-BER", "TEE-NAVY-S", Decimal(2))],
    })
    assert result.status is ReserveStatus.INSUFFICIENT
    assert stock.reserved("WH-BER", "TEE-NAVY-S") == Decimal(0)
    assert stock.reservations() == ()


def test_a_retried_reservation_changes_nothing_before_and_after_it_ships(stock: Any) -> None:
    seed(stock, 5)
    lines = {"1": [("WH-BER", "TEE-NAVY-S", Decimal(2))]}
    stock.reserve_order("1001", lines)
    assert stock.reserve_order("1001", lines).status is ReserveStatus.ALREADY_RESERVED
    shipped = stock.ship("1001", "1", at=at(9), qty=Decimal(1), shipment_id="parcel-1")
    assert shipped.status is ShipStatus.SHIPPED
    again = stock.ship("1001", "1", at=at(9), qty=Decimal(1), shipment_id="parcel-1")
    assert again.status is ShipStatus.ALREADY_SHIPPED
    assert stock.on_hand("WH-BER", "TEE-NAVY-S") == Decimal(4)
    assert stock.ship("1001", "1", at=at(10)).status is ShipStatus.SHIPPED
    assert stock.reserve_order("1001", lines).status is ReserveStatus.ALREADY_SHIPPED
    assert stock.release("1001", "1").status is ReleaseStatus.ALREADY_SHIPPED
    assert (stock.on_hand("WH-BER", "TEE-NAVY-S"), stock.reserved("WH-BER", "TEE-NAVY-S")) == (
        Decimal(3), Decimal(0))


def test_other_allocations_under_a_reserved_line_are_a_conflict(stock: Any) -> None:
    seed(stock, 5)
    stock.reserve_order("1001", {"1": [("WH-BER", "TEE-NAVY-S", Decimal(2))]})
    with pytest.raises(ReservationConflictError, match="already holds a reservation"):
        stock.reserve_order("1001", {"1": [("WH-BER", "TEE-NAVY-S", Decimal(3))]})
    assert stock.reserved("WH-BER", "TEE-NAVY-S") == Decimal(2)


def test_a_backorderable_scarf_may_be_promised_down_to_its_allowance(stock: Any) -> None:
    ok = stock.reserve_order("1001", {"1": [("ST-PAR-RIVOLI", "SCARF-WOOL", Decimal(2))]})
    short = stock.reserve_order("1002", {"1": [("ST-PAR-RIVOLI", "SCARF-WOOL", Decimal(1))]})
    assert (ok.status, short.status) == (ReserveStatus.RESERVED, ReserveStatus.INSUFFICIENT)
    assert stock.available("ST-PAR-RIVOLI", "SCARF-WOOL") == Decimal(-2)


def test_a_nonzero_feed_zeroes_the_unlisted_skus_and_a_resent_feed_is_a_no_op(
    stock: Any,
) -> None:
    seed(stock, 4, "MUG-RED")
    feed = parse_feed_rows([{
        "source": "WH-BER", "sku": "TEE-NAVY-S", "qty": "7", "mode": "NONZERO",
        "effective_at": "2026-11-03T07:00:00+00:00", "record_id": "nz-1",
    }])
    report = stock.apply_feed(feed) if isinstance(stock, SqlStock) else apply_feed(stock, feed)
    assert report.zeroed == (("WH-BER", "MUG-RED"),)
    assert stock.on_hand("WH-BER", "MUG-RED") == Decimal(0)
    update = stock.apply_records([StockRecord("WH-BER", "MUG-RED", Decimal(9), at(6), "late")])
    assert update.outcomes == (RecordOutcome.STALE,)
    assert stock.known_skus("WH-BER") == ("MUG-RED", "TEE-NAVY-S")


def test_bad_input_is_refused_with_the_ledgers_own_error(stock: Any) -> None:
    with pytest.raises(UnknownReferenceError, match="did you mean 'WH-BER'"):
        stock.reserve_order("1001", {"1": [("WH-BRE", "TEE-NAVY-S", Decimal(1))]})
    with pytest.raises(InputError, match="needs a shipment_id"):
        stock.ship("1001", "1", at=NOW, qty=Decimal(1))


def test_what_one_process_wrote_another_reads_after_reopening(store_url: str) -> None:
    with SqlStock.open(store_url, SOURCES, CATALOG) as first:
        seed(first, 3)
        first.reserve_order("1001", {"1": [("WH-BER", "TEE-NAVY-S", Decimal(2))]})
    with SqlStock.open(store_url, SOURCES, CATALOG) as again:
        assert again.available("WH-BER", "TEE-NAVY-S") == Decimal(1)
        assert [r.order_id for r in again.reservations()] == ["1001"]
        assert again.apply_records(
            [StockRecord("WH-BER", "TEE-NAVY-S", Decimal(3), at(6), "seed-TEE-NAVY-S")]
        ).outcomes == (RecordOutcome.DUPLICATE,)


def test_calls_joined_to_the_callers_transaction_vanish_when_it_rolls_back(
    store_url: str,
) -> None:
    engine = create_store_engine(store_url)
    try:
        with engine.connect() as conn:
            with conn.begin() as tx:
                stock = SqlStock(conn, SOURCES, CATALOG)
                seed(stock, 3)
                stock.reserve_order("1001", {"1": [("WH-BER", "TEE-NAVY-S", Decimal(2))]})
                with pytest.raises(ReservationConflictError):  # its savepoint only is undone
                    stock.reserve_order("1001", {"1": [("WH-BER", "TEE-NAVY-S", Decimal(1))]})
                assert stock.reserved("WH-BER", "TEE-NAVY-S") == Decimal(2)
                tx.rollback()
            with conn.begin():
                assert conn.execute(select(func.count()).select_from(stock_cells)).scalar() == 0
    finally:
        engine.dispose()


def test_the_schema_is_made_on_first_use_of_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "stock.db"
    with SqlStock.open(f"sqlite:///{path}", SOURCES) as stock:
        assert stock.reservations() == ()
    assert path.exists()


def test_a_url_of_another_database_is_refused_naming_the_two_that_work() -> None:
    with pytest.raises(InputError, match=r"sqlite:///path.db or postgresql\+psycopg"):
        create_store_engine("mysql://shop@localhost/stock")


def test_the_readmes_durable_stock_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\n", text.index("## Durable stock")) + len("```python\n")
    code = text[start:text.index("```", start)].replace(
        "sqlite:///stock.db", f"sqlite:///{tmp_path / 'stock.db'}")
    monkeypatch.chdir(root)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip() == "RESERVED"
