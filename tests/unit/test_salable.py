"""Salable quantity per stock, the per-SKU out-of-stock threshold and Magento MSI's
is-salable-for-a-quantity check (issue 17, items 1, 3 and 4)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.cli import build_app
from oms_sourcing.domain import (
    BackorderMode,
    Backorders,
    Capabilities,
    Catalog,
    Order,
    OrderLine,
    Sku,
    SkuInfo,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
    StockDefinition,
)
from oms_sourcing.domain.order import OrderId
from oms_sourcing.errors import QuantityError, UnknownReferenceError
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.salable import SalabilityCode, is_salable_for_qty, salable_qty
from oms_sourcing.inventory.stock import ReserveStatus, StockLedger, StockRecord
from oms_sourcing.rules.model import BackorderPolicy, Policy

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
D = Decimal

# WH-BER ships; WH-OLD is disabled; ST-SHOWROOM neither ships nor hands over; ST-KIOSK only
# hands over (pickup). All four are linked to stock "eu"; "strict" keeps 2 units back.
NETWORK = SourceNetwork(
    (
        Source(SourceCode("WH-BER"), priority=1, groups=frozenset({"eu"})),
        Source(SourceCode("WH-OLD"), enabled=False, priority=2, groups=frozenset({"eu"})),
        Source(SourceCode("ST-SHOWROOM"), SourceKind.STORE, priority=3,
               groups=frozenset({"eu"}),
               capabilities=Capabilities(ships=False, pickup=False)),
        Source(SourceCode("ST-KIOSK"), SourceKind.STORE, priority=4, groups=frozenset({"eu"}),
               capabilities=Capabilities(ships=False, pickup=True)),
    ),
    stocks=(
        StockDefinition("eu", SourceSelector(groups=frozenset({"eu"})),
                        channels=frozenset({"web_eu"})),
        StockDefinition("strict", SourceSelector(codes=frozenset({"WH-BER"})),
                        channels=frozenset({"web_strict"}), out_of_stock_threshold=D(2)),
    ),
)

CATALOG = Catalog((
    SkuInfo(Sku("MUG")),
    SkuInfo(Sku("KETTLE-PREORDER"), backorders=Backorders(BackorderMode.ALLOW_UNTIL, D(5))),
    SkuInfo(Sku("VINYL-RESTOCK"), backorders=Backorders(BackorderMode.ALLOW)),
    SkuInfo(Sku("FABRIC-LINEN"), decimals=1),
    SkuInfo(Sku("GIFT-CARD"), stock_managed=False),
))


def ledger_with(stock: dict[tuple[str, str], int | str], *, out: frozenset[str] = frozenset()
                ) -> StockLedger:
    ledger = StockLedger(NETWORK.codes, CATALOG)
    ledger.apply_records([
        StockRecord(src, sku, D(str(q)), NOW, f"{src}:{sku}", in_stock=src not in out)
        for (src, sku), q in stock.items()
    ])
    return ledger


EVERYWHERE = {("WH-BER", "MUG"): 4, ("WH-OLD", "MUG"): 50, ("ST-SHOWROOM", "MUG"): 7,
              ("ST-KIOSK", "MUG"): 3}


# -- item 1: only sources that can fulfil count ----------------------------------------------


def test_a_stocks_salable_sources_are_its_enabled_sources_that_ship_or_hand_over() -> None:
    assert NETWORK.stock_sources("eu") == ("WH-BER", "WH-OLD", "ST-SHOWROOM", "ST-KIOSK")
    assert NETWORK.salable_sources("eu") == ("WH-BER", "ST-KIOSK")
    with pytest.raises(UnknownReferenceError, match="unknown stock 'ue'"):
        NETWORK.salable_sources("ue")


def test_salable_quantity_of_a_stock_leaves_out_disabled_and_non_fulfilling_sources() -> None:
    ledger = ledger_with(EVERYWHERE)
    assert salable_qty(ledger, NETWORK, "eu", "MUG") == 7  # 4 at WH-BER + 3 at the kiosk


def test_the_stock_command_does_not_promise_stock_of_a_disabled_source(tmp_path: Path) -> None:
    network = tmp_path / "network.yaml"
    network.write_text(
        "sources:\n"
        "  - {code: WH-BER, groups: [eu]}\n"
        "  - {code: WH-OLD, enabled: false, groups: [eu]}\n"
        "stocks:\n"
        "  - {name: eu, channels: [web_eu], sources: {groups: [eu]}}\n"
    )
    feed = tmp_path / "stock.csv"
    feed.write_text(
        "source,sku,qty,mode,effective_at,record_id\n"
        "WH-BER,MUG,4,DELTA,2026-11-01T06:00:00+00:00,r1\n"
        "WH-OLD,MUG,50,DELTA,2026-11-01T06:00:00+00:00,r2\n"
    )
    result = CliRunner().invoke(build_app(), ["stock", "--network", str(network), str(feed)])
    assert result.exit_code == 0, result.output
    assert "eu\tMUG\t4\n" in result.stdout


# -- item 3: the catalog's backorder setting is the SKU's threshold ---------------------------


def test_limited_backorders_of_a_sku_raise_its_salable_quantity_by_their_limit() -> None:
    ledger = ledger_with({("WH-BER", "KETTLE-PREORDER"): 10})
    assert salable_qty(ledger, NETWORK, "eu", "KETTLE-PREORDER") == 15
    # the SKU's own threshold (-5) overrides the stock's (2)
    assert salable_qty(ledger, NETWORK, "strict", "KETTLE-PREORDER") == 15
    assert ledger.salable("KETTLE-PREORDER", ["WH-BER"]) == 15
    assert ledger.salable_detail("KETTLE-PREORDER", ["WH-BER"]).threshold == -5


def test_a_sku_without_its_own_threshold_takes_the_stocks() -> None:
    ledger = ledger_with({("WH-BER", "MUG"): 10})
    assert salable_qty(ledger, NETWORK, "strict", "MUG") == 8
    assert salable_qty(ledger, NETWORK, "eu", "MUG") == 10


def test_unlimited_backorders_ignore_a_positive_stock_threshold_as_msi_does() -> None:
    ledger = ledger_with({("WH-BER", "VINYL-RESTOCK"): 10})
    assert salable_qty(ledger, NETWORK, "strict", "VINYL-RESTOCK") == 10


def test_sourcing_backorders_no_more_than_the_skus_limit_allows() -> None:
    ledger = ledger_with({("WH-BER", "KETTLE-PREORDER"): 10})
    policy = Policy(backorder=BackorderPolicy.ALLOW)

    def source(qty: int) -> tuple[Decimal, Decimal, Decimal]:
        line = OrderLine("1", Sku("KETTLE-PREORDER"), D(qty))
        order = Order(OrderId("1001"), NOW, (line,), channel="web_eu")
        result = allocate(order, policy, NETWORK, ledger.snapshot(["KETTLE-PREORDER"]), NOW,
                          catalog=CATALOG)
        return (sum((lq.qty for s in result.shipments for lq in s.lines), D(0)),
                sum((b.line.qty for b in result.backorders), D(0)),
                sum((h.line.qty for h in result.held), D(0)))

    assert source(15) == (10, 5, 0)       # within the salable quantity: 5 backordered
    assert source(16) == (10, 0, 6)       # beyond it: waits for stock instead


def test_salable_sourcing_and_reservations_agree_on_a_skus_limit() -> None:
    ledger = ledger_with({("WH-BER", "KETTLE-PREORDER"): 10})
    salable = salable_qty(ledger, NETWORK, "strict", "KETTLE-PREORDER")
    fits = ledger.reserve("1001", "1", [("WH-BER", "KETTLE-PREORDER", salable)])
    assert fits.status is ReserveStatus.RESERVED
    assert salable_qty(ledger, NETWORK, "strict", "KETTLE-PREORDER") == 0
    beyond = ledger.reserve("1002", "1", [("WH-BER", "KETTLE-PREORDER", D(1))])
    assert beyond.status is ReserveStatus.INSUFFICIENT


# -- item 4: is this SKU salable for qty Q on stock S ------------------------------------------


def test_a_quantity_within_the_salable_quantity_is_salable() -> None:
    ledger = ledger_with(EVERYWHERE)
    check = is_salable_for_qty(ledger, NETWORK, "eu", "MUG", 7)
    assert check.is_salable and check.errors == () and check.why == "salable quantity"
    assert (check.salable_qty, check.requested, check.threshold) == (7, 7, 0)


def test_a_quantity_beyond_the_salable_quantity_says_the_requested_qty_is_not_available() -> None:
    ledger = ledger_with(EVERYWHERE)
    check = is_salable_for_qty(ledger, NETWORK, "eu", "MUG", 8)
    assert not check
    [error] = check.errors
    assert error.code is SalabilityCode.NOT_ENOUGH_QTY
    assert error.code.value == "is_salable_with_reservations-not_enough_qty"
    assert error.message == "The requested qty is not available"
    assert "8 requested, 7 salable on stock 'eu'" in check.reason


def test_the_stocks_threshold_counts_in_the_check() -> None:
    ledger = ledger_with({("WH-BER", "MUG"): 10})
    assert is_salable_for_qty(ledger, NETWORK, "strict", "MUG", 8)
    assert not is_salable_for_qty(ledger, NETWORK, "strict", "MUG", 9)


def test_limited_backorders_are_salable_up_to_their_limit() -> None:
    ledger = ledger_with({("WH-BER", "KETTLE-PREORDER"): 10})
    assert is_salable_for_qty(ledger, NETWORK, "eu", "KETTLE-PREORDER", 15)
    assert not is_salable_for_qty(ledger, NETWORK, "eu", "KETTLE-PREORDER", 16)


def test_unlimited_backorders_and_unmanaged_stock_are_salable_for_any_quantity() -> None:
    ledger = ledger_with({("WH-BER", "VINYL-RESTOCK"): 0})
    vinyl = is_salable_for_qty(ledger, NETWORK, "eu", "VINYL-RESTOCK", 1000)
    assert vinyl and vinyl.why == "backorders without limit"
    card = is_salable_for_qty(ledger, NETWORK, "eu", "GIFT-CARD", 1000)
    assert card and card.why == "stock not managed" and card.salable_qty == D("Infinity")


def test_a_sku_no_fulfilling_source_holds_is_not_assigned_to_the_stock() -> None:
    ledger = ledger_with({("WH-OLD", "MUG"): 50, ("ST-SHOWROOM", "MUG"): 7})
    check = is_salable_for_qty(ledger, NETWORK, "eu", "MUG", 1)
    assert [e.code for e in check.errors] == [SalabilityCode.NOT_ASSIGNED]
    assert check.errors[0].message == "The requested sku is not assigned to given stock"


def test_a_sku_out_of_stock_everywhere_has_no_source_items_in_stock() -> None:
    ledger = ledger_with({("WH-BER", "VINYL-RESTOCK"): 5}, out=frozenset({"WH-BER"}))
    check = is_salable_for_qty(ledger, NETWORK, "eu", "VINYL-RESTOCK", 1)
    assert [e.code for e in check.errors] == [SalabilityCode.NO_SOURCE_ITEMS_IN_STOCK]
    assert check.errors[0].message == "There are no source items with the in stock status"


def test_a_quantity_finer_than_the_sku_is_sold_in_is_not_correct() -> None:
    ledger = ledger_with({("WH-BER", "MUG"): 5, ("WH-BER", "FABRIC-LINEN"): "20.5"})
    mug = is_salable_for_qty(ledger, NETWORK, "eu", "MUG", "1.5")
    assert [e.code.value for e in mug.errors] == ["is_correct_qty-is_qty_decimal"]
    assert "MUG is sold in whole units, 1.5 requested" in mug.reason
    assert is_salable_for_qty(ledger, NETWORK, "eu", "FABRIC-LINEN", "2.5")
    fabric = is_salable_for_qty(ledger, NETWORK, "eu", "FABRIC-LINEN", "2.55")
    assert "sold in steps of 0.1" in fabric.reason


def test_a_quantity_that_is_not_a_positive_number_is_an_input_error() -> None:
    ledger = ledger_with(EVERYWHERE)
    for bad in (0, -1, "NaN", "two"):
        with pytest.raises(QuantityError):
            is_salable_for_qty(ledger, NETWORK, "eu", "MUG", bad)  # type: ignore[arg-type]


def test_the_stock_command_answers_for_a_quantity_with_the_reason(tmp_path: Path) -> None:
    network = tmp_path / "network.yaml"
    network.write_text(
        "sources:\n"
        "  - {code: WH-BER, groups: [eu]}\n"
        "stocks:\n"
        "  - {name: eu, channels: [web_eu], sources: {groups: [eu]}}\n"
        "  - {name: strict, sources: {groups: [eu]}, out_of_stock_threshold: 2}\n"
    )
    feed = tmp_path / "stock.csv"
    feed.write_text(
        "source,sku,qty,mode,effective_at,record_id\n"
        "WH-BER,MUG,4,DELTA,2026-11-01T06:00:00+00:00,r1\n"
    )
    result = CliRunner().invoke(
        build_app(), ["stock", "--network", str(network), "--qty", "3", str(feed)])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows[0] == ["stock", "sku", "salable", "qty", "is_salable", "reason"]
    assert rows[1] == ["eu", "MUG", "4", "3", "yes", "salable quantity"]
    assert rows[2][:5] == ["strict", "MUG", "2", "3", "no"]
    assert rows[2][5].startswith("The requested qty is not available "
                                 "(is_salable_with_reservations-not_enough_qty): 3 requested")
    only = CliRunner().invoke(
        build_app(), ["stock", "--network", str(network), "--stock", "strict", str(feed)])
    assert only.stdout.splitlines()[1:] == ["strict\tMUG\t2"]
