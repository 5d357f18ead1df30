"""Properties of the stock ledger and feeds over random operation sequences (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms_sourcing.errors import InputError, ReservationConflictError
from oms_sourcing.inventory.feeds import apply_feed, parse_feed_rows
from oms_sourcing.inventory.stock import ReserveStatus, ShipStatus, StockLedger, StockRecord

SOURCES = ("WH-BER", "WH-MUC", "ST-HAM")
SKUS = ("TEE-RED-M", "MUG-BLUE")
ORDERS = ("1001", "1002", "1003", "1004")

PROPERTY = settings(max_examples=80, deadline=None)


def at(hour: int) -> datetime:
    return datetime(2026, 11, 1, hour, tzinfo=UTC)


def state(ledger: StockLedger) -> list[tuple[Any, ...]]:
    return [
        (s, sku, ledger.on_hand(s, sku), ledger.reserved(s, sku), ledger.in_stock(s, sku))
        for s in SOURCES
        for sku in SKUS
    ] + [tuple(ledger.known_skus(s)) for s in SOURCES]


def raw_available(ledger: StockLedger) -> dict[tuple[str, str], int]:
    snap = ledger.snapshot(SKUS)
    return {
        (source, sku): int(snap[sku].available[i])
        for sku in SKUS
        for i, source in enumerate(SOURCES)
    }


def seeded(quantities: list[int]) -> StockLedger:
    ledger = StockLedger(SOURCES)
    cells = [(s, sku) for s in SOURCES for sku in SKUS]
    ledger.apply_records([
        StockRecord(s, sku, Decimal(q), at(0), f"seed-{s}-{sku}")
        for (s, sku), q in zip(cells, quantities, strict=True)
    ])
    return ledger


seed_quantities = st.lists(st.integers(0, 8), min_size=6, max_size=6)
allocation = st.tuples(st.sampled_from(SOURCES), st.sampled_from(SKUS), st.integers(1, 6))
reserve_op = st.tuples(
    st.just("reserve"), st.sampled_from(ORDERS), st.lists(allocation, min_size=1, max_size=3)
)
release_op = st.tuples(st.just("release"), st.sampled_from(ORDERS))
ship_op = st.tuples(st.just("ship"), st.sampled_from(ORDERS), st.integers(1, 23))
restock_op = st.tuples(
    st.just("restock"), st.sampled_from(SOURCES), st.sampled_from(SKUS), st.integers(0, 5),
    st.integers(1, 23),
)
count_op = st.tuples(
    st.just("count"), st.sampled_from(SOURCES), st.sampled_from(SKUS), st.integers(0, 10),
    st.integers(0, 23),
)


def run(ledger: StockLedger, op: tuple[Any, ...], n: int) -> ReserveStatus | None:
    """Apply one random operation; the reservation status if it was a reservation."""
    kind = op[0]
    if kind == "reserve":
        allocations = [(s, sku, Decimal(q)) for s, sku, q in op[2]]
        try:
            return ledger.reserve(op[1], "1", allocations).status
        except ReservationConflictError:
            return None
    if kind == "release":
        ledger.release(op[1], "1")
    elif kind == "ship":
        ledger.ship(op[1], "1", at=at(op[2]))
    elif kind == "restock":
        ledger.apply_records(
            [StockRecord(op[1], op[2], Decimal(op[3]), at(op[4]), f"op-{n}", adjust=True)]
        )
    else:
        ledger.apply_records([StockRecord(op[1], op[2], Decimal(op[3]), at(op[4]), f"op-{n}")])
    return None


def reserved_by_reservations(ledger: StockLedger) -> dict[tuple[str, str], Decimal]:
    total: dict[tuple[str, str], Decimal] = {}
    for reservation in ledger.reservations():
        for a in reservation.allocations:
            total[(a.source, a.sku)] = total.get((a.source, a.sku), Decimal(0)) + a.qty
    return total


@PROPERTY
@given(seed_quantities, st.lists(st.one_of(reserve_op, release_op, ship_op, restock_op),
                                 max_size=30))
def test_reservations_never_make_available_stock_negative(
    quantities: list[int], ops: list[tuple[Any, ...]]
) -> None:
    # stock only ever grows here (restocks) or leaves with its reservation (ships), so any
    # negative availability would be oversold by a reservation
    ledger = seeded(quantities)
    for n, op in enumerate(ops):
        run(ledger, op, n)
        assert all(v >= 0 for v in raw_available(ledger).values()), op
        booked = reserved_by_reservations(ledger)
        for s in SOURCES:
            for sku in SKUS:
                assert ledger.reserved(s, sku) == booked.get((s, sku), 0)


@PROPERTY
@given(seed_quantities, st.lists(st.one_of(reserve_op, release_op, ship_op, count_op),
                                 max_size=30))
def test_a_reservation_never_takes_a_cell_below_zero_even_when_counts_drop(
    quantities: list[int], ops: list[tuple[Any, ...]]
) -> None:
    ledger = seeded(quantities)
    for n, op in enumerate(ops):
        before = state(ledger)
        status = run(ledger, op, n)
        if status is ReserveStatus.RESERVED:
            after = raw_available(ledger)
            assert all(after[(s, sku)] >= 0 for s, sku, _ in op[2])
        elif op[0] == "reserve":
            assert state(ledger) == before


@PROPERTY
@given(seed_quantities, st.lists(allocation, min_size=1, max_size=4))
def test_reserving_the_same_key_twice_is_the_same_as_once(
    quantities: list[int], allocations: list[tuple[str, str, int]]
) -> None:
    ledger = seeded(quantities)
    request = [(s, sku, Decimal(q)) for s, sku, q in allocations]
    first = ledger.reserve("1001", "1", request)
    once = state(ledger)
    second = ledger.reserve("1001", "1", list(reversed(request)))
    assert state(ledger) == once
    if first.status is ReserveStatus.RESERVED:
        assert second.status is ReserveStatus.ALREADY_RESERVED
    else:
        assert second.status is ReserveStatus.INSUFFICIENT


feed_row = st.tuples(
    st.sampled_from(["FULL", "NONZERO", "DELTA", "ADJUST"]),
    st.sampled_from(SOURCES),
    st.sampled_from(SKUS),
    st.integers(-5, 10),
    st.integers(0, 23),
    st.sampled_from([None, "in_stock", "out_of_stock"]),
)


@PROPERTY
@given(seed_quantities, st.lists(feed_row, max_size=12))
def test_applying_a_feed_twice_is_the_same_as_once(
    quantities: list[int], rows: list[tuple[Any, ...]]
) -> None:
    ledger = seeded(quantities)
    records = [
        {
            "source": source, "sku": sku, "mode": mode,
            "qty": str(qty if mode == "ADJUST" else abs(qty)),
            "effective_at": at(hour).isoformat(), "record_id": f"r-{n}", "status": status,
        }
        for n, (mode, source, sku, qty, hour, status) in enumerate(rows)
    ]
    stock_feed = parse_feed_rows(records)
    assert stock_feed.ok
    apply_feed(ledger, stock_feed)
    once = state(ledger)
    again = apply_feed(ledger, stock_feed)
    assert state(ledger) == once
    assert again.applied == () and again.zeroed == ()


stock_record = st.tuples(
    st.booleans(),
    st.sampled_from(SOURCES[:2]),  # few cells, so records often meet in one
    st.sampled_from(SKUS),
    st.integers(-5, 10),
    st.integers(0, 4),  # few distinct hours: ties are broken by record id
    st.sampled_from([None, True, False]),
)


@PROPERTY
@given(
    st.lists(stock_record, min_size=1, max_size=10).map(
        lambda rows: [
            StockRecord(
                source, sku, Decimal(qty if adjust else abs(qty)), at(hour), f"r-{n:02d}",
                adjust, in_stock,
            )
            for n, (adjust, source, sku, qty, hour, in_stock) in enumerate(rows)
        ]
    ).flatmap(lambda records: st.tuples(st.just(records), st.permutations(records)))
)
def test_records_in_any_order_end_in_the_state_of_applying_them_by_version(
    records_and_order: tuple[list[StockRecord], list[StockRecord]],
) -> None:
    records, shuffled = records_and_order
    in_order = StockLedger(SOURCES)
    for record in sorted(records, key=lambda r: r.version):
        in_order.apply_records([record])
    any_order = StockLedger(SOURCES)
    for record in shuffled:
        any_order.apply_records([record])
    assert state(any_order) == state(in_order)
    one_batch = StockLedger(SOURCES)
    one_batch.apply_records(shuffled)
    assert state(one_batch) == state(in_order)


order_lines = st.dictionaries(st.sampled_from(("1", "2", "3")),
                              st.lists(allocation, min_size=1, max_size=2), min_size=1)


@given(seed_quantities, st.lists(reserve_op, max_size=5), order_lines, st.booleans())
@PROPERTY
def test_an_order_reservation_is_its_lines_reserved_in_turn_or_nothing(
    quantities: list[int], earlier: list[tuple[Any, ...]], lines: dict[str, Any], again: bool,
) -> None:
    # the earlier reservations hold line "1" of orders 1001-1004, so order 1001's line "1" may
    # already hold the same allocations (kept) or others (a conflict); with ``again`` it asks
    # for what it holds, and line "2" for a unit of the same stock
    together, in_turn = seeded(quantities), seeded(quantities)
    for n, op in enumerate(earlier):
        run(together, op, n)
        run(in_turn, op, n)
    request = {line: [(s, sku, Decimal(q)) for s, sku, q in allocs]
               for line, allocs in lines.items()}
    held = together.reservation("1001", "1")
    if again and held is not None:
        request["1"] = [(a.source, a.sku, a.qty) for a in held.allocations]
        request["2"] = [(held.allocations[0].source, held.allocations[0].sku, Decimal(1))]
    before, held_before = state(together), set(together.reservations())
    conflict, fits = False, True
    for line, allocations in request.items():
        try:
            fits = in_turn.reserve("1001", line, allocations).ok and fits
        except ReservationConflictError:
            conflict = True
    if conflict:
        with pytest.raises(ReservationConflictError):
            together.reserve_order("1001", request)
        assert state(together) == before and set(together.reservations()) == held_before
        return
    result = together.reserve_order("1001", request)
    assert result.ok is fits
    if fits:
        assert state(together) == state(in_turn)
        assert set(together.reservations()) == set(in_turn.reservations())
    else:
        assert state(together) == before and set(together.reservations()) == held_before
        assert result.shortfalls


line_op = st.one_of(
    st.tuples(st.just("reserve"), st.sampled_from(ORDERS[:2]), st.sampled_from(SOURCES),
              st.integers(1, 3)),
    st.tuples(st.just("release"), st.sampled_from(ORDERS[:2])),
    st.tuples(st.just("ship"), st.sampled_from(ORDERS[:2]), st.integers(1, 23)),
    st.tuples(st.just("ship part"), st.sampled_from(ORDERS[:2]), st.integers(1, 23),
              st.sampled_from(["parcel-1", "parcel-2"]), st.integers(1, 2)),
    st.tuples(st.just("ship at"), st.sampled_from(ORDERS[:2]), st.integers(1, 23),
              st.sampled_from(SOURCES)),
)


@PROPERTY
@given(seed_quantities, st.lists(line_op, max_size=25))
def test_retried_reservations_shipments_and_releases_never_ship_a_line_twice(
    quantities: list[int], ops: list[tuple[Any, ...]]
) -> None:
    # each order's line "1" always asks for the same allocation (its retries), and stock leaves
    # only by shipments: on hand is the seed less what SHIPPED results took, and no line ships
    # more than it reserved
    ledger = seeded(quantities)
    seed = {(s, sku): ledger.on_hand(s, sku) for s in SOURCES for sku in SKUS}
    asked: dict[str, tuple[str, str, Decimal]] = {}
    shipped: dict[str, Decimal] = {}
    for op in ops:
        order = op[1]
        if op[0] == "reserve":
            allocation = asked.setdefault(order, (op[2], "MUG-BLUE", Decimal(op[3])))
            ledger.reserve(order, "1", [allocation])
            continue
        if op[0] == "release":
            ledger.release(order, "1")
            continue
        try:
            if op[0] == "ship":
                result = ledger.ship(order, "1", at=at(op[2]))
            elif op[0] == "ship at":
                result = ledger.ship(order, "1", at=at(op[2]), source=op[3])
            else:
                result = ledger.ship(order, "1", at=at(op[2]), qty=Decimal(op[4]),
                                     shipment_id=op[3])
        except (InputError, ReservationConflictError):
            # more than is left (a QuantityError), a source the line holds nothing at, or a
            # shipment id used for another quantity
            continue
        if result.status is ShipStatus.SHIPPED:
            shipped[order] = shipped.get(order, Decimal(0)) + sum(a.qty for a in result.shipped)
    for order, total in shipped.items():
        assert total <= asked[order][2]
    left = dict(seed)
    for order, total in shipped.items():
        source, sku, _ = asked[order]
        left[(source, sku)] -= total
    assert {(s, sku): ledger.on_hand(s, sku) for s in SOURCES for sku in SKUS} == left
    booked = reserved_by_reservations(ledger)
    for s in SOURCES:
        assert ledger.reserved(s, "MUG-BLUE") == booked.get((s, "MUG-BLUE"), 0)
