"""The stock ledger: on hand, reservations, safety stock, versioned records, snapshots."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from oms_sourcing.domain import BackorderMode, Backorders, Catalog, Sku, SkuInfo
from oms_sourcing.errors import (
    InputError,
    QuantityError,
    ReservationConflictError,
    UnknownReferenceError,
)
from oms_sourcing.inventory.stock import (
    Allocation,
    RecordOutcome,
    ReleaseStatus,
    Reservation,
    ReserveStatus,
    ShipStatus,
    StockLedger,
    StockRecord,
    Version,
)

SOURCES = ("WH-BER", "WH-MUC", "ST-HAM")

CATALOG = Catalog(
    [
        SkuInfo(Sku("FABRIC-LINEN"), decimals=1),
        SkuInfo(Sku("GIFT-CARD"), stock_managed=False),
        SkuInfo(
            Sku("KETTLE-PREORDER"),
            backorders=Backorders(BackorderMode.ALLOW_UNTIL, Decimal(5)),
        ),
        SkuInfo(Sku("VINYL-RESTOCK"), backorders=Backorders(BackorderMode.ALLOW)),
    ]
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 1, hour, minute, tzinfo=UTC)


def d(text: str | int) -> Decimal:
    return Decimal(str(text))


def stock(
    ledger: StockLedger,
    source: str,
    sku: str,
    qty: str | int,
    hour: int,
    record_id: str,
    *,
    adjust: bool = False,
    in_stock: bool | None = None,
) -> RecordOutcome:
    update = ledger.apply_records(
        [StockRecord(source, sku, d(qty), at(hour), record_id, adjust, in_stock)]
    )
    return update.outcomes[0]


@pytest.fixture
def ledger() -> StockLedger:
    ledger = StockLedger(SOURCES, CATALOG)
    stock(ledger, "WH-BER", "TEE-RED-M", 10, 8, "ber-tee")
    stock(ledger, "WH-MUC", "TEE-RED-M", 4, 8, "muc-tee")
    return ledger


def state(ledger: StockLedger) -> list[tuple[str, str, Decimal, Decimal, bool]]:
    return [
        (s, sku, ledger.on_hand(s, sku), ledger.reserved(s, sku), ledger.in_stock(s, sku))
        for sku in ledger.skus()
        for s in ledger.source_codes
    ]


# ------------------------------------------------------------------ construction and reads


def test_a_ledger_refuses_a_source_code_listed_twice() -> None:
    with pytest.raises(InputError, match="listed twice"):
        StockLedger(["WH-BER", "WH-BER"])


def test_a_ledger_refuses_an_empty_source_code() -> None:
    with pytest.raises(InputError, match="non-empty"):
        StockLedger(["WH-BER", ""])


def test_a_sku_nobody_mentioned_has_nothing_on_hand_and_is_in_stock(ledger: StockLedger) -> None:
    assert ledger.on_hand("ST-HAM", "MUG-BLUE") == 0
    assert ledger.available("ST-HAM", "MUG-BLUE") == 0
    assert ledger.in_stock("ST-HAM", "MUG-BLUE") is True
    assert "MUG-BLUE" not in ledger.skus()


def test_an_unknown_source_suggests_the_code_that_was_probably_meant(
    ledger: StockLedger,
) -> None:
    with pytest.raises(UnknownReferenceError, match="did you mean 'WH-BER'") as info:
        ledger.on_hand("WH-BRE", "TEE-RED-M")
    assert info.value.known == SOURCES


def test_an_unknown_source_without_a_close_match_lists_the_known_sources(
    ledger: StockLedger,
) -> None:
    with pytest.raises(UnknownReferenceError, match="known sources: WH-BER, WH-MUC, ST-HAM"):
        ledger.available("PARIS", "TEE-RED-M")


def test_known_skus_lists_what_a_source_has_received_stock_records_for(
    ledger: StockLedger,
) -> None:
    stock(ledger, "WH-BER", "MUG-BLUE", 3, 8, "ber-mug")
    assert ledger.known_skus("WH-BER") == ("MUG-BLUE", "TEE-RED-M")
    assert ledger.known_skus("ST-HAM") == ()
    assert ledger.skus() == ("MUG-BLUE", "TEE-RED-M")


# ------------------------------------------------------------------ reserving


def test_reserving_takes_stock_out_of_what_is_available(ledger: StockLedger) -> None:
    result = ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    assert result.status is ReserveStatus.RESERVED
    assert result.ok
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 3
    assert ledger.available("WH-BER", "TEE-RED-M") == 7
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 10
    assert ledger.reservation("1001", "1") == Reservation(
        "1001", "1", (Allocation("WH-BER", "TEE-RED-M", d(3)),)
    )


def test_reserving_the_same_line_twice_changes_nothing(ledger: StockLedger) -> None:
    first = ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    before = state(ledger)
    second = ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    assert first.status is ReserveStatus.RESERVED
    assert second.status is ReserveStatus.ALREADY_RESERVED
    assert second.ok
    assert second.checks == first.checks  # availability as it was before the reservation
    assert state(ledger) == before
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 3


def test_a_retry_listing_the_same_allocations_in_another_order_is_the_same_reservation(
    ledger: StockLedger,
) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3)), ("WH-MUC", "TEE-RED-M", d(1))])
    again = ledger.reserve(
        "1001", "1",
        [
            ("WH-MUC", "TEE-RED-M", d(1)),
            ("WH-BER", "TEE-RED-M", d(2)),
            ("WH-BER", "TEE-RED-M", d(1)),
        ],
    )
    assert again.status is ReserveStatus.ALREADY_RESERVED
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 3


def test_reserving_a_line_again_with_other_allocations_is_a_conflict(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    before = state(ledger)
    with pytest.raises(ReservationConflictError, match="order 1001 line 1 already holds"):
        ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(3))])
    assert state(ledger) == before


def test_not_enough_stock_is_a_result_not_an_exception(ledger: StockLedger) -> None:
    result = ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(5))])
    assert result.status is ReserveStatus.INSUFFICIENT
    assert not result.ok
    (check,) = result.shortfalls
    assert (check.source, check.requested, check.available) == ("WH-MUC", d(5), d(4))
    assert ledger.reservation("1001", "1") is None
    assert ledger.reserved("WH-MUC", "TEE-RED-M") == 0


def test_a_reservation_is_all_or_nothing_across_its_allocations(ledger: StockLedger) -> None:
    before = state(ledger)
    result = ledger.reserve(
        "1001", "1", [("WH-BER", "TEE-RED-M", d(2)), ("WH-MUC", "TEE-RED-M", d(9))]
    )
    assert result.status is ReserveStatus.INSUFFICIENT
    assert [c.sufficient for c in result.checks] == [True, False]
    assert state(ledger) == before


def test_a_line_can_be_reserved_after_an_insufficient_attempt(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(9))])
    result = ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(4))])
    assert result.status is ReserveStatus.RESERVED


def test_reservations_of_other_orders_count_against_available(ledger: StockLedger) -> None:
    assert ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(3))]).ok
    assert not ledger.reserve("1002", "1", [("WH-MUC", "TEE-RED-M", d(2))]).ok
    assert ledger.reserve("1002", "1", [("WH-MUC", "TEE-RED-M", d(1))]).ok
    assert ledger.available("WH-MUC", "TEE-RED-M") == 0


def test_an_orders_lines_are_reserved_together_or_not_at_all(ledger: StockLedger) -> None:
    before = state(ledger)
    refused = ledger.reserve_order("1001", {
        "1": [("WH-MUC", "TEE-RED-M", d(3))],
        "2": [("WH-MUC", "TEE-RED-M", d(2))],     # only 1 left at WH-MUC after line 1
    })
    assert refused.status is ReserveStatus.INSUFFICIENT and not refused.ok
    assert [line.status for line in refused.lines] == [ReserveStatus.INSUFFICIENT] * 2
    assert [c.available for line in refused.lines for c in line.checks] == [d(4), d(1)]
    assert [(c.source, c.requested) for c in refused.shortfalls] == [("WH-MUC", d(2))]
    assert state(ledger) == before
    assert ledger.reservation("1001", "1") is None

    taken = ledger.reserve_order("1001", {
        "1": [("WH-MUC", "TEE-RED-M", d(3))],
        "2": [("WH-BER", "TEE-RED-M", d(2))],
    })
    assert taken.status is ReserveStatus.RESERVED and taken.ok
    assert [line.line_id for line in taken.lines] == ["1", "2"]
    assert ledger.available("WH-MUC", "TEE-RED-M") == 1
    assert ledger.available("WH-BER", "TEE-RED-M") == 8


def test_reserving_an_order_again_keeps_what_its_lines_already_hold(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(3))])
    both = {"1": [("WH-MUC", "TEE-RED-M", d(3))], "2": [("WH-BER", "TEE-RED-M", d(1))]}
    first = ledger.reserve_order("1001", both)
    assert first.status is ReserveStatus.RESERVED
    assert [line.status for line in first.lines] == [
        ReserveStatus.ALREADY_RESERVED, ReserveStatus.RESERVED]
    before = state(ledger)
    again = ledger.reserve_order("1001", both)
    assert again.status is ReserveStatus.ALREADY_RESERVED and again.ok
    assert state(ledger) == before
    assert ledger.reserved("WH-MUC", "TEE-RED-M") == 3


def test_new_lines_of_an_order_see_only_what_its_held_lines_left(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(3))])
    result = ledger.reserve_order("1001", {
        "1": [("WH-MUC", "TEE-RED-M", d(3))],
        "2": [("WH-MUC", "TEE-RED-M", d(2))],
    })
    assert result.status is ReserveStatus.INSUFFICIENT
    assert [line.status for line in result.lines] == [
        ReserveStatus.ALREADY_RESERVED, ReserveStatus.INSUFFICIENT]
    assert result.lines[1].checks[0].available == 1
    assert ledger.reservation("1001", "1") is not None    # held before the call: still held
    assert ledger.reservation("1001", "2") is None


def test_an_orders_lines_share_the_backorder_allowance_in_turn() -> None:
    ledger = StockLedger(SOURCES, CATALOG)      # KETTLE-PREORDER: 5 may be backordered
    kettles = {"1": [("WH-BER", "KETTLE-PREORDER", d(3))],
               "2": [("WH-BER", "KETTLE-PREORDER", d(3))]}
    refused = ledger.reserve_order("1001", kettles)
    assert not refused.ok
    assert [c.available for line in refused.lines for c in line.checks] == [d(0), d(-3)]
    kettles["2"] = [("WH-BER", "KETTLE-PREORDER", d(2))]
    assert ledger.reserve_order("1001", kettles).ok
    assert ledger.available("WH-BER", "KETTLE-PREORDER") == -5
    unlimited = {"1": [("WH-BER", "VINYL-RESTOCK", d(40))],
                 "2": [("WH-BER", "GIFT-CARD", d(7)), ("WH-MUC", "VINYL-RESTOCK", d(1))]}
    result = ledger.reserve_order("1002", unlimited)
    assert result.status is ReserveStatus.RESERVED
    assert [c.available for c in result.lines[1].checks] == [None, d(0)]   # gift cards: unmanaged
    assert ledger.reserved("WH-BER", "GIFT-CARD") == 0


def test_an_order_with_nothing_to_reserve_changes_nothing(ledger: StockLedger) -> None:
    before = state(ledger)
    nothing = ledger.reserve_order("1001", {})
    assert (nothing.status, nothing.ok, nothing.lines) == (ReserveStatus.ALREADY_RESERVED,
                                                          True, ())
    assert state(ledger) == before


def test_a_conflict_on_one_line_of_an_order_reserves_none_of_the_others(
    ledger: StockLedger,
) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    before = state(ledger)
    with pytest.raises(ReservationConflictError, match="order 1001 line 1 already holds"):
        ledger.reserve_order("1001", {
            "2": [("WH-BER", "TEE-RED-M", d(1))],
            "1": [("WH-MUC", "TEE-RED-M", d(3))],
        })
    assert state(ledger) == before
    assert ledger.reservation("1001", "2") is None


def test_an_order_reservation_reserves_nothing_on_bad_input(ledger: StockLedger) -> None:
    before = state(ledger)
    with pytest.raises(InputError, match="order_id must be a non-empty string"):
        ledger.reserve_order("", {})
    with pytest.raises(InputError, match="line_id must be a non-empty string"):
        ledger.reserve("1001", ["1"], [("WH-BER", "TEE-RED-M", d(1))])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="lines must map each line id"):
        ledger.reserve_order("1001", [("WH-BER", "TEE-RED-M", d(1))])  # type: ignore[arg-type]
    with pytest.raises(QuantityError, match="order 1001 line 2 allocation 1"):
        ledger.reserve_order("1001", {
            "1": [("WH-BER", "TEE-RED-M", d(1))],
            "2": [("WH-BER", "TEE-RED-M", d("0.5"))],
        })
    assert state(ledger) == before
    assert ledger.reservation("1001", "1") is None


def test_safety_stock_is_never_promised(ledger: StockLedger) -> None:
    ledger.set_safety_stock("WH-MUC", "TEE-RED-M", d(2))
    assert ledger.safety_stock("WH-MUC", "TEE-RED-M") == 2
    assert ledger.available("WH-MUC", "TEE-RED-M") == 2
    assert not ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(3))]).ok
    assert ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(2))]).ok


def test_safety_stock_above_on_hand_shows_the_shortfall_as_negative_availability(
    ledger: StockLedger,
) -> None:
    ledger.set_safety_stock("WH-MUC", "TEE-RED-M", d(6))
    assert ledger.available("WH-MUC", "TEE-RED-M") == -2
    assert ledger.snapshot(["TEE-RED-M"])["TEE-RED-M"].available[1] == -2
    assert not ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(1))]).ok


def test_a_count_below_the_reservations_shows_the_oversold_units_in_both_figures(
    ledger: StockLedger,
) -> None:
    ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(4))])
    stock(ledger, "WH-MUC", "TEE-RED-M", 2, 9, "muc-recount")
    assert ledger.available("WH-MUC", "TEE-RED-M") == -2  # two reserved units are not there
    assert ledger.snapshot(["TEE-RED-M"])["TEE-RED-M"].available[1] == -2
    check = ledger.reserve("1002", "1", [("WH-MUC", "TEE-RED-M", d(1))]).checks[0]
    assert check.available == -2 and not check.sufficient


def test_an_out_of_stock_cell_has_the_same_availability_in_the_snapshot(
    ledger: StockLedger,
) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    stock(ledger, "WH-BER", "TEE-RED-M", 10, 9, "ber-oos", in_stock=False)
    tee = ledger.snapshot(["TEE-RED-M"])["TEE-RED-M"]
    assert ledger.available("WH-BER", "TEE-RED-M") == -3
    assert tee.available[0] == -3 and not tee.in_stock[0]
    assert ledger.available("WH-MUC", "TEE-RED-M") == int(tee.available[1]) == 4


def test_an_out_of_stock_source_promises_nothing_whatever_its_quantity(
    ledger: StockLedger,
) -> None:
    stock(ledger, "WH-BER", "TEE-RED-M", 10, 9, "ber-oos", in_stock=False)
    assert ledger.in_stock("WH-BER", "TEE-RED-M") is False
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 10
    assert ledger.available("WH-BER", "TEE-RED-M") == 0
    result = ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(1))])
    assert result.status is ReserveStatus.INSUFFICIENT
    assert result.checks[0].available == 0


def test_limited_backorders_let_a_reservation_go_below_zero_up_to_the_limit() -> None:
    ledger = StockLedger(SOURCES, CATALOG)
    stock(ledger, "WH-BER", "KETTLE-PREORDER", 2, 8, "ber-kettle")
    assert ledger.reserve("1001", "1", [("WH-BER", "KETTLE-PREORDER", d(6))]).ok
    assert ledger.available("WH-BER", "KETTLE-PREORDER") == -4
    result = ledger.reserve("1002", "1", [("WH-BER", "KETTLE-PREORDER", d(2))])
    assert result.status is ReserveStatus.INSUFFICIENT
    assert ledger.reserve("1002", "1", [("WH-BER", "KETTLE-PREORDER", d(1))]).ok
    assert ledger.available("WH-BER", "KETTLE-PREORDER") == -5


def test_limited_backorders_at_an_out_of_stock_source_ignore_its_quantity() -> None:
    ledger = StockLedger(SOURCES, CATALOG)
    stock(ledger, "WH-BER", "KETTLE-PREORDER", 3, 8, "ber-kettle", in_stock=False)
    assert ledger.reserve("1001", "1", [("WH-BER", "KETTLE-PREORDER", d(5))]).ok
    assert not ledger.reserve("1002", "1", [("WH-BER", "KETTLE-PREORDER", d(1))]).ok


def test_unlimited_backorders_always_reserve() -> None:
    ledger = StockLedger(SOURCES, CATALOG)
    result = ledger.reserve("1001", "1", [("ST-HAM", "VINYL-RESTOCK", d(1000))])
    assert result.status is ReserveStatus.RESERVED
    assert ledger.available("ST-HAM", "VINYL-RESTOCK") == -1000


def test_a_sku_whose_stock_is_not_managed_always_reserves_and_tracks_nothing() -> None:
    ledger = StockLedger(SOURCES, CATALOG)
    result = ledger.reserve("1001", "1", [("WH-BER", "GIFT-CARD", d(50))])
    assert result.status is ReserveStatus.RESERVED
    assert result.checks[0].available is None
    assert ledger.reserved("WH-BER", "GIFT-CARD") == 0
    assert ledger.available("WH-BER", "GIFT-CARD") == Decimal("Infinity")
    assert ledger.reservation("1001", "1") is not None
    assert ledger.release("1001", "1").status is ReleaseStatus.RELEASED
    assert "GIFT-CARD" not in ledger.skus()


def test_decimal_quantities_are_exact_to_the_skus_precision() -> None:
    ledger = StockLedger(SOURCES, CATALOG)
    stock(ledger, "WH-BER", "FABRIC-LINEN", "12.5", 8, "ber-linen")
    assert ledger.reserve("1001", "1", [("WH-BER", "FABRIC-LINEN", d("2.5"))]).ok
    assert ledger.reserve("1002", "1", [("WH-BER", "FABRIC-LINEN", d("0.1"))]).ok
    assert ledger.available("WH-BER", "FABRIC-LINEN") == d("9.9")
    assert ledger.snapshot(["FABRIC-LINEN"])["FABRIC-LINEN"].available[0] == 99


@pytest.mark.parametrize(
    ("qty", "fragment"),
    [
        (d("NaN"), "finite"),
        (d(-1), "greater than 0"),
        (d(0), "greater than 0"),
        (d("1.5"), "decimal place"),
        ("lots", "must be a number"),
    ],
)
def test_a_bad_quantity_is_refused_and_changes_nothing(
    ledger: StockLedger, qty: object, fragment: str
) -> None:
    before = state(ledger)
    with pytest.raises(QuantityError, match=fragment):
        ledger.reserve(
            "1001", "1", [("WH-BER", "TEE-RED-M", d(1)), ("WH-MUC", "TEE-RED-M", qty)]  # type: ignore[list-item]
        )
    assert state(ledger) == before
    assert ledger.reservation("1001", "1") is None


def test_a_reservation_at_an_unknown_source_is_refused_and_changes_nothing(
    ledger: StockLedger,
) -> None:
    before = state(ledger)
    with pytest.raises(UnknownReferenceError, match="did you mean 'WH-MUC'"):
        ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(1)), ("WH-MCU", "TEE-RED-M", d(1))])
    assert state(ledger) == before


def test_a_reservation_needs_ids_and_at_least_one_allocation(ledger: StockLedger) -> None:
    with pytest.raises(InputError, match="at least one allocation"):
        ledger.reserve("1001", "1", [])
    with pytest.raises(InputError, match="order_id"):
        ledger.reserve("", "1", [("WH-BER", "TEE-RED-M", d(1))])
    with pytest.raises(InputError, match=r"\(source, sku, qty\)"):
        ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M")])  # type: ignore[list-item]


# ------------------------------------------------------------------ release and ship


def test_releasing_gives_the_stock_back(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    result = ledger.release("1001", "1")
    assert result.status is ReleaseStatus.RELEASED
    assert result.released == (Allocation("WH-BER", "TEE-RED-M", d(3)),)
    assert ledger.available("WH-BER", "TEE-RED-M") == 10
    assert ledger.reservation("1001", "1") is None


def test_releasing_a_line_without_a_reservation_is_a_reported_no_op(ledger: StockLedger) -> None:
    before = state(ledger)
    assert ledger.release("1001", "9").status is ReleaseStatus.NOT_FOUND
    assert state(ledger) == before


def test_shipping_deducts_on_hand_and_closes_the_reservation(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    result = ledger.ship("1001", "1", at=at(10))
    assert result.status is ShipStatus.SHIPPED
    assert result.shipped == (Allocation("WH-BER", "TEE-RED-M", d(3)),)
    assert result.already_counted == ()
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 7
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 0
    assert ledger.available("WH-BER", "TEE-RED-M") == 7
    assert ledger.reservation("1001", "1") is None


def test_shipping_a_line_without_a_reservation_is_not_found(ledger: StockLedger) -> None:
    before = state(ledger)
    assert ledger.ship("1001", "1", at=at(10)).status is ShipStatus.NOT_FOUND
    assert state(ledger) == before


def test_shipping_twice_deducts_once(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    ledger.ship("1001", "1", at=at(10))
    again = ledger.ship("1001", "1", at=at(10))
    assert again.status is ShipStatus.ALREADY_SHIPPED
    assert again.shipped == (Allocation("WH-BER", "TEE-RED-M", d(3)),)
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 7


# ------------------------------------------------------------------ closed lines and part shipments


def lamp_ledger() -> StockLedger:
    """Five oak lamps in Berlin, two in Munich."""
    ledger = StockLedger(SOURCES, CATALOG)
    stock(ledger, "WH-BER", "LAMP-OAK", 5, 8, "ber-lamp")
    stock(ledger, "WH-MUC", "LAMP-OAK", 2, 8, "muc-lamp")
    return ledger


def test_a_late_retry_of_a_reservation_after_shipping_reserves_and_ships_nothing() -> None:
    ledger = lamp_ledger()
    lines = {"1": [("WH-BER", "LAMP-OAK", d(2))]}
    assert ledger.reserve_order("1001", lines).status is ReserveStatus.RESERVED
    ledger.ship("1001", "1", at=at(10))
    retry = ledger.reserve_order("1001", lines)
    assert retry.status is ReserveStatus.ALREADY_SHIPPED and retry.ok
    assert retry.lines[0].status is ReserveStatus.ALREADY_SHIPPED
    assert ledger.reserved("WH-BER", "LAMP-OAK") == 0
    assert ledger.ship("1001", "1", at=at(11)).status is ShipStatus.ALREADY_SHIPPED
    assert ledger.on_hand("WH-BER", "LAMP-OAK") == 3  # one line shipped once: 5 -> 3


def test_a_late_retry_of_a_reservation_after_its_release_reserves_nothing() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(2))])
    assert ledger.release("1001", "1").status is ReleaseStatus.RELEASED
    retry = ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(2))])
    assert retry.status is ReserveStatus.ALREADY_RELEASED and retry.checks == ()
    assert ledger.reserved("WH-BER", "LAMP-OAK") == 0
    assert ledger.reservation("1001", "1") is None
    shipped = ledger.ship("1001", "1", at=at(10))
    assert shipped.status is ShipStatus.ALREADY_RELEASED
    assert ledger.on_hand("WH-BER", "LAMP-OAK") == 5


def test_releasing_a_closed_line_again_changes_nothing() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(2))])
    ledger.reserve("1001", "2", [("WH-BER", "LAMP-OAK", d(1))])
    ledger.ship("1001", "1", at=at(10))
    ledger.release("1001", "2")
    assert ledger.release("1001", "1").status is ReleaseStatus.ALREADY_SHIPPED
    again = ledger.release("1001", "2")
    assert again.status is ReleaseStatus.ALREADY_RELEASED and again.released == ()
    assert (ledger.on_hand("WH-BER", "LAMP-OAK"), ledger.reserved("WH-BER", "LAMP-OAK")) == (3, 0)


def test_a_closed_line_is_not_reserved_again_with_other_allocations() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(2))])
    ledger.release("1001", "1")
    with pytest.raises(ReservationConflictError, match=r"has been released.*new line id"):
        ledger.reserve("1001", "1", [("WH-MUC", "LAMP-OAK", d(2))])
    assert ledger.reserved("WH-MUC", "LAMP-OAK") == 0
    assert ledger.reserve("1001", "1-resourced", [("WH-MUC", "LAMP-OAK", d(2))]).ok


def test_an_order_retried_after_some_lines_closed_reserves_only_its_new_lines() -> None:
    ledger = lamp_ledger()
    ledger.reserve_order("1001", {"1": [("WH-BER", "LAMP-OAK", d(1))],
                                  "2": [("WH-BER", "LAMP-OAK", d(1))]})
    ledger.ship("1001", "1", at=at(10))
    ledger.release("1001", "2")
    retry = ledger.reserve_order("1001", {"1": [("WH-BER", "LAMP-OAK", d(1))],
                                          "2": [("WH-BER", "LAMP-OAK", d(1))],
                                          "3": [("WH-MUC", "LAMP-OAK", d(1))]})
    assert retry.status is ReserveStatus.RESERVED
    assert [line.status for line in retry.lines] == [
        ReserveStatus.ALREADY_SHIPPED, ReserveStatus.ALREADY_RELEASED, ReserveStatus.RESERVED
    ]
    assert ledger.reserved("WH-BER", "LAMP-OAK") == 0 and ledger.reserved("WH-MUC", "LAMP-OAK") == 1
    mixed = ledger.reserve_order("1001", {"1": [("WH-BER", "LAMP-OAK", d(1))],
                                          "2": [("WH-BER", "LAMP-OAK", d(1))]})
    assert mixed.status is ReserveStatus.ALREADY_RESERVED


def test_a_part_shipment_ships_part_and_leaves_the_rest_reserved() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(4))])
    part = ledger.ship("1001", "1", at=at(10), qty=d(1), shipment_id="parcel-1")
    assert part.status is ShipStatus.SHIPPED
    assert part.shipped == (Allocation("WH-BER", "LAMP-OAK", d(1)),)
    assert part.remaining == (Allocation("WH-BER", "LAMP-OAK", d(3)),)
    assert (ledger.on_hand("WH-BER", "LAMP-OAK"), ledger.reserved("WH-BER", "LAMP-OAK")) == (4, 3)
    assert ledger.reservation("1001", "1") == Reservation(
        "1001", "1", (Allocation("WH-BER", "LAMP-OAK", d(3)),),
        (Allocation("WH-BER", "LAMP-OAK", d(1)),),
    )
    assert ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(4))]).status is (
        ReserveStatus.ALREADY_RESERVED
    )
    rest = ledger.ship("1001", "1", at=at(11))
    assert rest.shipped == (Allocation("WH-BER", "LAMP-OAK", d(3)),) and rest.remaining == ()
    assert (ledger.on_hand("WH-BER", "LAMP-OAK"), ledger.reserved("WH-BER", "LAMP-OAK")) == (1, 0)
    assert ledger.reservation("1001", "1") is None


def test_a_retried_part_shipment_ships_nothing_twice() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(4))])
    ledger.ship("1001", "1", at=at(10), qty=d(1), shipment_id="parcel-1")
    retry = ledger.ship("1001", "1", at=at(12), qty=d("1.0"), shipment_id="parcel-1")
    assert retry.status is ShipStatus.ALREADY_SHIPPED
    assert retry.shipped == (Allocation("WH-BER", "LAMP-OAK", d(1)),)
    assert (ledger.on_hand("WH-BER", "LAMP-OAK"), ledger.reserved("WH-BER", "LAMP-OAK")) == (4, 3)
    ledger.ship("1001", "1", at=at(13), qty=d(3), shipment_id="parcel-2")
    late = ledger.ship("1001", "1", at=at(14), qty=d(1), shipment_id="parcel-1")
    assert late.status is ShipStatus.ALREADY_SHIPPED  # after the line closed, too
    assert ledger.on_hand("WH-BER", "LAMP-OAK") == 1


def test_a_part_shipment_needs_a_shipment_id() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(4))])
    with pytest.raises(InputError, match="needs a shipment_id"):
        ledger.ship("1001", "1", at=at(10), qty=d(1))
    assert ledger.reserved("WH-BER", "LAMP-OAK") == 4


def test_a_shipment_id_used_again_for_another_quantity_is_a_conflict() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(4))])
    ledger.ship("1001", "1", at=at(10), qty=d(1), shipment_id="parcel-1")
    with pytest.raises(ReservationConflictError, match="shipment 'parcel-1' shipped 1 x LAMP"):
        ledger.ship("1001", "1", at=at(10), qty=d(2), shipment_id="parcel-1")
    assert ledger.reserved("WH-BER", "LAMP-OAK") == 3


def test_a_part_shipment_cannot_ship_more_than_is_reserved() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(2))])
    with pytest.raises(QuantityError, match="only 2 is still reserved there"):
        ledger.ship("1001", "1", at=at(10), qty=d(3), shipment_id="parcel-1")
    assert (ledger.on_hand("WH-BER", "LAMP-OAK"), ledger.reserved("WH-BER", "LAMP-OAK")) == (5, 2)


def test_a_part_shipment_of_a_line_split_over_sources_names_its_source() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(3)), ("WH-MUC", "LAMP-OAK", d(2))])
    with pytest.raises(InputError, match="name its source"):
        ledger.ship("1001", "1", at=at(10), qty=d(1), shipment_id="p-1")
    with pytest.raises(InputError, match="holds nothing reserved at ST-HAM"):
        ledger.ship("1001", "1", at=at(10), source="ST-HAM")
    munich = ledger.ship("1001", "1", at=at(10), source="WH-MUC")
    assert munich.shipped == (Allocation("WH-MUC", "LAMP-OAK", d(2)),)
    part = ledger.ship("1001", "1", at=at(11), qty=d(1), shipment_id="p-2")
    assert part.shipped == (Allocation("WH-BER", "LAMP-OAK", d(1)),)
    assert ledger.reserved("WH-BER", "LAMP-OAK") == 2 and ledger.on_hand("WH-MUC", "LAMP-OAK") == 0


def test_shipping_what_a_source_holds_twice_ships_it_once() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(3)), ("WH-MUC", "LAMP-OAK", d(2))])
    ledger.ship("1001", "1", at=at(10), source="WH-MUC")
    retry = ledger.ship("1001", "1", at=at(10), source="WH-MUC")
    assert retry.status is ShipStatus.ALREADY_SHIPPED
    assert retry.shipped == (Allocation("WH-MUC", "LAMP-OAK", d(2)),)
    assert retry.remaining == (Allocation("WH-BER", "LAMP-OAK", d(3)),)
    assert ledger.on_hand("WH-MUC", "LAMP-OAK") == 0 and ledger.reserved("WH-BER", "LAMP-OAK") == 3


def test_releasing_after_a_part_shipment_gives_back_only_the_rest() -> None:
    ledger = lamp_ledger()
    ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(4))])
    ledger.ship("1001", "1", at=at(10), qty=d(1), shipment_id="parcel-1")
    released = ledger.release("1001", "1")
    assert released.released == (Allocation("WH-BER", "LAMP-OAK", d(3)),)
    assert (ledger.on_hand("WH-BER", "LAMP-OAK"), ledger.reserved("WH-BER", "LAMP-OAK")) == (4, 0)
    assert ledger.reserve("1001", "1", [("WH-BER", "LAMP-OAK", d(4))]).status is (
        ReserveStatus.ALREADY_RELEASED
    )


def test_shipping_needs_a_time_zone(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    with pytest.raises(InputError, match="no time zone"):
        ledger.ship("1001", "1", at=datetime(2026, 11, 1, 10))
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 3


def test_a_feed_effective_after_a_shipment_supersedes_its_deduction(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    ledger.ship("1001", "1", at=at(10))
    # the warehouse counted at 11:00, after the parcel left: 8 already excludes it
    stock(ledger, "WH-BER", "TEE-RED-M", 8, 11, "ber-count-11")
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 8


def test_a_stale_feed_effective_before_a_shipment_does_not_erase_it(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    ledger.ship("1001", "1", at=at(10))
    # counted at 09:00 (before the parcel left) but delivered late
    stock(ledger, "WH-BER", "TEE-RED-M", 12, 9, "ber-count-09")
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 9


def test_a_shipment_older_than_the_last_count_is_already_in_that_count(
    ledger: StockLedger,
) -> None:
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(3))])
    stock(ledger, "WH-BER", "TEE-RED-M", 7, 11, "ber-count-11")
    result = ledger.ship("1001", "1", at=at(10))
    assert result.already_counted == (Allocation("WH-BER", "TEE-RED-M", d(3)),)
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 7
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 0


# ------------------------------------------------------------------ versioned stock records


def test_an_older_absolute_record_is_ignored_and_reported(ledger: StockLedger) -> None:
    update = ledger.apply_records([StockRecord("WH-BER", "TEE-RED-M", d(99), at(7), "ber-07")])
    assert update.outcomes == (RecordOutcome.STALE,)
    assert update.superseded_by[0] == Version(at(8), "ber-tee")
    assert update.results[0].superseded_by == Version(at(8), "ber-tee")
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 10


def test_a_newer_absolute_record_replaces_the_quantity_and_older_adjustments(
    ledger: StockLedger,
) -> None:
    stock(ledger, "WH-BER", "TEE-RED-M", 5, 9, "ber-adj-09", adjust=True)
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 15
    stock(ledger, "WH-BER", "TEE-RED-M", 2, 11, "ber-adj-11", adjust=True)
    stock(ledger, "WH-BER", "TEE-RED-M", 20, 10, "ber-count-10")
    # the 10:00 count includes the 09:00 adjustment but not the 11:00 one
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 22


def test_an_adjustment_older_than_the_last_count_is_ignored(ledger: StockLedger) -> None:
    outcome = stock(ledger, "WH-BER", "TEE-RED-M", -4, 7, "ber-adj-07", adjust=True)
    assert outcome is RecordOutcome.STALE
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 10


def test_a_repeated_record_id_is_a_no_op(ledger: StockLedger) -> None:
    assert stock(ledger, "WH-BER", "TEE-RED-M", 3, 9, "ber-adj", adjust=True) is (
        RecordOutcome.APPLIED
    )
    assert stock(ledger, "WH-BER", "TEE-RED-M", 3, 9, "ber-adj", adjust=True) is (
        RecordOutcome.DUPLICATE
    )
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 13


def test_timestamps_in_different_time_zones_compare_by_instant(ledger: StockLedger) -> None:
    berlin = timezone(timedelta(hours=1))
    # 08:30 in Berlin is 07:30 UTC: older than the 08:00 UTC count
    update = ledger.apply_records([
        StockRecord("WH-BER", "TEE-RED-M", d(1), datetime(2026, 11, 1, 8, 30, tzinfo=berlin), "x")
    ])
    assert update.outcomes == (RecordOutcome.STALE,)


def test_the_stock_status_follows_the_newest_record_that_states_one(ledger: StockLedger) -> None:
    stock(ledger, "WH-BER", "TEE-RED-M", 10, 9, "ber-oos", in_stock=False)
    stock(ledger, "WH-BER", "TEE-RED-M", 2, 10, "ber-adj", adjust=True)
    assert ledger.in_stock("WH-BER", "TEE-RED-M") is False  # an adjustment states no status
    stock(ledger, "WH-BER", "TEE-RED-M", 1, 11, "ber-adj-back", adjust=True, in_stock=True)
    assert ledger.in_stock("WH-BER", "TEE-RED-M") is True
    stock(ledger, "WH-BER", "TEE-RED-M", 1, 8, "ber-late", adjust=True, in_stock=False)
    assert ledger.in_stock("WH-BER", "TEE-RED-M") is True


def test_a_batch_with_one_bad_record_applies_nothing(ledger: StockLedger) -> None:
    before = state(ledger)
    good = StockRecord("WH-BER", "TEE-RED-M", d(1), at(9), "good")
    cases: list[tuple[StockRecord, type[Exception]]] = [
        (StockRecord("WH-BRE", "TEE-RED-M", d(1), at(9), "bad"), UnknownReferenceError),
        (StockRecord("WH-BER", "TEE-RED-M", d(-1), at(9), "bad"), QuantityError),
        (StockRecord("WH-BER", "TEE-RED-M", d("1.5"), at(9), "bad"), QuantityError),
        (StockRecord("WH-BER", "TEE-RED-M", d(10**16), at(9), "bad"), QuantityError),
        (StockRecord("WH-BER", "TEE-RED-M", d(1), datetime(2026, 11, 1), "bad"), InputError),
        (StockRecord("WH-BER", "TEE-RED-M", d(1), at(9), ""), InputError),
        (StockRecord("WH-BER", "", d(1), at(9), "bad"), InputError),
    ]
    for bad, error in cases:
        with pytest.raises(error):
            ledger.apply_records([good, bad])
        assert state(ledger) == before
    assert ledger.apply_records([good]).outcomes == (RecordOutcome.APPLIED,)


# ------------------------------------------------------------------ salable quantity


def test_salable_quantity_follows_magento_msi(ledger: StockLedger) -> None:
    stock(ledger, "ST-HAM", "TEE-RED-M", 6, 8, "ham-tee", in_stock=False)
    ledger.set_safety_stock("WH-BER", "TEE-RED-M", d(1))
    ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(2))])
    # (10 - 1) + 4, out-of-stock Hamburg left out, minus the reservation of 2
    assert ledger.salable("TEE-RED-M", SOURCES) == 11
    assert ledger.salable("TEE-RED-M", ["WH-MUC"]) == 2
    assert ledger.salable("TEE-RED-M", SOURCES, threshold=d(3)) == 8
    assert ledger.salable("TEE-RED-M", SOURCES, threshold=d(-5)) == 16


def test_salable_quantity_of_an_unmanaged_sku_is_unlimited(ledger: StockLedger) -> None:
    assert ledger.salable("GIFT-CARD", SOURCES) == Decimal("Infinity")


def test_salable_quantity_checks_its_sources(ledger: StockLedger) -> None:
    with pytest.raises(UnknownReferenceError):
        ledger.salable("TEE-RED-M", ["WH-BER", "NOWHERE"])


# ------------------------------------------------------------------ snapshots


def test_a_snapshot_holds_available_stock_in_units_per_source(ledger: StockLedger) -> None:
    ledger.reserve("1001", "1", [("WH-MUC", "TEE-RED-M", d(1))])
    snap = ledger.snapshot(["TEE-RED-M", "MUG-BLUE"])
    assert snap.source_codes == SOURCES
    tee = snap["TEE-RED-M"]
    assert tee.available.dtype == np.int64
    assert tee.available.tolist() == [10, 3, 0]
    assert tee.in_stock.tolist() == [True, True, True]
    assert (tee.decimals, tee.stock_managed, tee.backorder_floor) == (0, True, 0)
    assert snap["MUG-BLUE"].available.tolist() == [0, 0, 0]
    assert "MUG-BLUE" in snap and "VINYL-RESTOCK" not in snap


def test_a_snapshot_is_read_only(ledger: StockLedger) -> None:
    tee = ledger.snapshot(["TEE-RED-M"])["TEE-RED-M"]
    with pytest.raises(ValueError, match="read-only"):
        tee.available[0] = 99
    with pytest.raises(ValueError, match="read-only"):
        tee.in_stock[0] = False


def test_later_ledger_changes_do_not_leak_into_a_snapshot(ledger: StockLedger) -> None:
    snap = ledger.snapshot(["TEE-RED-M"])
    ledger.reserve("1001", "1", [("WH-BER", "TEE-RED-M", d(4))])
    stock(ledger, "WH-MUC", "TEE-RED-M", 0, 9, "muc-oos", in_stock=False)
    assert snap["TEE-RED-M"].available.tolist() == [10, 4, 0]
    assert snap["TEE-RED-M"].in_stock.tolist() == [True, True, True]
    fresh = ledger.snapshot(["TEE-RED-M"])["TEE-RED-M"]
    assert fresh.available.tolist() == [6, 0, 0]
    assert fresh.in_stock.tolist() == [True, False, True]


def test_a_snapshot_carries_the_backorder_floor_in_units() -> None:
    ledger = StockLedger(SOURCES, CATALOG)
    snap = ledger.snapshot(["KETTLE-PREORDER", "VINYL-RESTOCK", "GIFT-CARD"])
    assert snap["KETTLE-PREORDER"].backorder_floor == -5
    assert snap["VINYL-RESTOCK"].backorder_floor is None
    assert snap["GIFT-CARD"].stock_managed is False


# ------------------------------------------------------------------ concurrency


def in_threads(buy: Callable[[str], bool], buyers: int = 8, each: int = 20) -> list[bool]:
    """``buy(order_id)`` for ``each`` orders in each of ``buyers`` threads at once; every
    outcome."""
    results: list[bool] = []
    lock = threading.Lock()

    def run(worker: int) -> None:
        for n in range(each):
            ok = buy(f"{worker}-{n}")
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(buyers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_reservations_never_oversell() -> None:
    ledger = StockLedger(SOURCES)
    stock(ledger, "WH-BER", "TEE-RED-M", 50, 8, "ber-tee")
    results = in_threads(
        lambda order: ledger.reserve(order, "1", [("WH-BER", "TEE-RED-M", d(1))]).ok)
    assert results.count(True) == 50
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 50
    assert ledger.available("WH-BER", "TEE-RED-M") == 0


def test_concurrent_order_reservations_never_oversell_or_half_reserve() -> None:
    ledger = StockLedger(SOURCES)
    stock(ledger, "WH-BER", "TEE-RED-M", 31, 8, "ber-tee")
    stock(ledger, "WH-MUC", "MUG-BLUE", 40, 8, "muc-mug")
    results = in_threads(lambda order: ledger.reserve_order(order, {
        "1": [("WH-BER", "TEE-RED-M", d(1))],
        "2": [("WH-BER", "TEE-RED-M", d(1)), ("WH-MUC", "MUG-BLUE", d(1))],
    }).ok, each=10)
    assert results.count(True) == 15          # 31 tees, two per order
    assert ledger.reserved("WH-BER", "TEE-RED-M") == 30
    assert ledger.reserved("WH-MUC", "MUG-BLUE") == 15
    held = {(r.order_id, r.line_id) for r in ledger.reservations()}
    assert all(((o, "1") in held) == ((o, "2") in held) for o, _ in held)
