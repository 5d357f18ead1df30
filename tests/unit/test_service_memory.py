"""The in-memory unit of work: writes are journaled and undone on rollback, stock included;
one transaction at a time."""

from __future__ import annotations

import threading
from decimal import Decimal

from service_world import CATALOG, NETWORK, T0, ledger, line, order

from oms_sourcing.domain import Sku, SourceCode
from oms_sourcing.inventory.stock import StockRecord
from oms_sourcing.lifecycle import OrderState, StockChanged, initial_lines
from oms_sourcing.service import MemoryStore, OrderRecord
from oms_sourcing.service.model import IdempotencyRecord


def a_record(order_id: str = "O-MEM") -> OrderRecord:
    o = order(order_id, line("L1", "MUG"))
    return OrderRecord(o, OrderState(o.id, initial_lines(o)))


def test_leaving_without_commit_undoes_every_write_and_the_stock() -> None:
    store = MemoryStore(ledger({("WH-NORTH", "MUG"): 3}))
    with store.unit_of_work() as uow:
        uow.orders.save(a_record())
        uow.outbox.add("O-MEM", StockChanged(source=SourceCode("WH-NORTH"), sku=Sku("MUG"),
                                             delta=Decimal(1), on_hand=Decimal(1), at=T0))
        uow.idempotency.add(IdempotencyRecord("k", "fp", "answer"))
        uow.stock.reserve_order("O-MEM", {"L1": [("WH-NORTH", "MUG", Decimal(2))]})
        uow.stock.apply_records([StockRecord("WH-SOUTH", "MUG", Decimal(9), T0, "r-1")])

    assert store.orders == {} and store.outbox == [] and store.idempotency == {}
    assert store.ledger.reserved("WH-NORTH", "MUG") == 0
    assert store.ledger.on_hand("WH-SOUTH", "MUG") == 0
    # the same reservation key and record id are fresh again: nothing of them was kept
    assert store.ledger.reserve_order(
        "O-MEM", {"L1": [("WH-NORTH", "MUG", Decimal(2))]}).status.value == "RESERVED"
    assert store.ledger.apply_records(
        [StockRecord("WH-SOUTH", "MUG", Decimal(9), T0, "r-1")]).outcomes[0].value == "APPLIED"


def test_commit_keeps_the_writes_and_a_later_rollback_does_not_touch_them() -> None:
    store = MemoryStore(ledger({("WH-NORTH", "MUG"): 3}))
    with store.unit_of_work() as uow:
        saved = uow.orders.save(a_record())
        uow.stock.reserve_order("O-MEM", {"L1": [("WH-NORTH", "MUG", Decimal(1))]})
        uow.commit()
    with store.unit_of_work() as uow:
        uow.orders.save(a_record("O-MEM-2"))
        uow.stock.reserve_order("O-MEM-2", {"L1": [("WH-NORTH", "MUG", Decimal(1))]})
        uow.rollback()

    assert list(store.orders) == ["O-MEM"] and store.orders["O-MEM"] == saved
    assert saved.seq == 1
    assert store.ledger.reserved("WH-NORTH", "MUG") == 1


def test_a_rollback_restores_the_ledger_object_itself() -> None:
    led = ledger({("WH-NORTH", "MUG"): 3})
    store = MemoryStore(led)
    with store.unit_of_work() as uow:
        uow.stock.snapshot(["MUG"])   # reading copies nothing
        uow.stock.reserve_order("O-1", {"L1": [("WH-NORTH", "MUG", Decimal(1))]})
    assert store.ledger is led and led.reservations() == ()


def test_units_of_work_run_one_at_a_time() -> None:
    store = MemoryStore(ledger({}))
    seen: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    def first() -> None:
        with store.unit_of_work():
            seen.append("first in")
            inside.set()
            release.wait(5)
            seen.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    second_done = threading.Event()

    def second() -> None:
        with store.unit_of_work():
            seen.append("second in")
        second_done.set()

    other = threading.Thread(target=second)
    other.start()
    second_done.wait(0.05)   # give the second a chance to (wrongly) get in
    release.set()
    thread.join(5)
    other.join(5)
    assert seen == ["first in", "first out", "second in"]


def test_the_ledger_is_the_stock_store_as_it_is() -> None:
    from oms_sourcing.inventory.stock import StockLedger
    from oms_sourcing.service.ports import StockStore

    def use(stock: StockStore) -> StockStore:
        return stock

    led = StockLedger(NETWORK.codes, CATALOG)
    assert use(led) is led
    for name in ("snapshot", "reserve_order", "release", "ship", "apply_records",
                 "reservation", "on_hand", "salable_detail", "source_codes", "catalog"):
        assert hasattr(led, name)


def test_a_rolled_back_shipment_and_release_can_be_made_again() -> None:
    store = MemoryStore(ledger({("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5}))
    with store.unit_of_work() as uow:
        uow.stock.reserve_order("O-1", {"L1": [("WH-NORTH", "MUG", Decimal(2))],
                                        "L2": [("WH-SOUTH", "MUG", Decimal(1))]})
        uow.commit()
    before = (store.ledger.reservations(), store.ledger.on_hand("WH-NORTH", "MUG"),
              store.ledger.known_skus("WH-NORTH"))
    with store.unit_of_work() as uow:
        uow.stock.ship("O-1", "L1", at=T0, qty=Decimal(1), shipment_id="P-1")
        uow.stock.ship("O-1", "L1", at=T0, shipment_id="P-2")
        uow.stock.release("O-1", "L2")

    assert (store.ledger.reservations(), store.ledger.on_hand("WH-NORTH", "MUG"),
            store.ledger.known_skus("WH-NORTH")) == before
    assert store.ledger.ship("O-1", "L1", at=T0, qty=Decimal(1),
                             shipment_id="P-1").status.value == "SHIPPED"
    assert store.ledger.release("O-1", "L2").status.value == "RELEASED"


def test_the_index_of_orders_waiting_for_stock_follows_commits_and_rollbacks() -> None:
    from dataclasses import replace

    from oms_sourcing.lifecycle import LineStatus

    store = MemoryStore(ledger({}))
    record = a_record("O-WAITS")
    waiting = replace(record, state=replace(record.state, lines=tuple(
        replace(ln, status=LineStatus.BACKORDERED) for ln in record.state.lines)))
    with store.unit_of_work() as uow:
        uow.orders.save(waiting)
        assert [r.order_id for r in uow.orders.waiting(frozenset({"MUG"}))] == ["O-WAITS"]
    with store.unit_of_work() as uow:
        assert uow.orders.waiting(None) == []
        saved = uow.orders.save(waiting)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.orders.save(replace(saved, state=record.state))    # sourced: no longer waiting
        assert uow.orders.waiting(None) == []
    with store.unit_of_work() as uow:
        assert [r.order_id for r in uow.orders.waiting(frozenset({"MUG", "PAN"}))] == [
            "O-WAITS"]
        assert uow.orders.waiting(frozenset({"PAN"})) == []
