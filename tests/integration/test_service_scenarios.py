"""One scenario per flow of ../shared/domain.md, through the ``Sourcing`` facade.

Each scenario takes the ``store`` fixture: a factory of units of work over stock seeded from a
``StockLedger``. Only the in-memory store exists now; the SQL store is added as a second
parameter (see ``service_world.STORES``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from service_world import (
    STORES,
    StoreFactory,
    at,
    available,
    line,
    order,
    preshipped,
    reserved,
    ruleset,
    service,
)

from oms_sourcing.domain import Sku
from oms_sourcing.errors import InputError
from oms_sourcing.inventory.feeds import parse_feed_rows
from oms_sourcing.lifecycle import HoldReason, TransitionError
from oms_sourcing.rules.model import BackorderPolicy, DeclineAction
from oms_sourcing.service import DefaultHold, OrderView, ReservationConflict, Settings
from oms_sourcing.service.commands import HoldSpec


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest) -> StoreFactory:
    return STORES[request.param]


def sourced(answer: object) -> OrderView:
    assert isinstance(answer, OrderView), answer
    return answer


def test_an_order_is_sourced_reserved_and_requested_from_the_nearest_warehouse(
    store: StoreFactory,
) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 5})

    answer = sourced(svc.source(order("O-MUG", line("L1", "MUG", 2)), at=at(1)))

    assert answer.status == "LOGISTICS" and answer.reason == "PENDING_FIRST_SHIPMENT"
    assert answer.line("L1").status == "SHIPMENT_REQUESTED"
    (request,) = answer.requests
    assert (request.kind, request.source, request.status) == ("ship", "WH-NORTH", "REQUESTED")
    assert reserved(svc, "WH-NORTH", "MUG") == 2
    assert answer.decision_id == "O-MUG-D1"


def test_decline_twice_then_held(store: StoreFactory) -> None:
    stock = {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5, ("OUTLET-EAST", "MUG"): 5}
    svc, _ = service(store, stock, ruleset(decline_attempts=2, then=DeclineAction.HOLD))
    first = sourced(svc.source(order("O-DECL", line("L1", "MUG")), at=at(1)))

    second = sourced(svc.decline(first.line("L1").request_id or "", at=at(2)))
    assert second.line("L1").status == "SHIPMENT_REQUESTED"
    assert second.line("L1").source == "WH-SOUTH"
    assert reserved(svc, "WH-NORTH", "MUG") == 0 and reserved(svc, "WH-SOUTH", "MUG") == 1

    third = sourced(svc.decline(second.line("L1").request_id or "", at=at(3)))

    assert third.line("L1").status == "HELD" and third.line("L1").reason == "DECLINE_LIMIT"
    assert third.line("L1").declined_by == ("WH-NORTH", "WH-SOUTH")
    assert third.status == "ONHOLD"
    assert sum(reserved(svc, s, "MUG") for s in ("WH-NORTH", "WH-SOUTH", "OUTLET-EAST")) == 0
    # held for declines, it waits for a person, not for stock
    assert svc.release_backorders(at=at(4)).orders == ()
    assert len(svc.decisions("O-DECL")) == 3


def test_decline_limit_cancels_when_the_rule_says_so(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5},
                     ruleset(decline_attempts=1, then=DeclineAction.CANCEL))
    first = sourced(svc.source(order("O-CXL", line("L1", "MUG")), at=at(1)))

    after = sourced(svc.decline(first.requests[0].request_id, at=at(2)))

    assert after.line("L1").status == "CANCELLED" and after.line("L1").reason == "DECLINE_LIMIT"
    assert after.status == "COMPLETE" and after.reason == "FULLYCANCELLED"


def test_ship_to_store_with_a_transfer(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "TEAPOT"): 3})
    answer = sourced(svc.source(order("O-STS", line("L1", "TEAPOT"), pickup="STORE-CITY"),
                                at=at(1)))

    (transfer,) = answer.requests_of("transfer")
    (pickup,) = answer.requests_of("pickup")
    assert (transfer.source, transfer.to_source, transfer.status) == (
        "WH-NORTH", "STORE-CITY", "REQUESTED")
    assert (pickup.source, pickup.status, pickup.pair) == (
        "STORE-CITY", "PENDING_ARRIVAL", transfer.request_id)
    assert reserved(svc, "WH-NORTH", "TEAPOT") == 1

    svc.accept(transfer.request_id, at=at(2))
    sent = svc.ship(transfer.request_id, shipment_id="TRUCK-7", at=at(3))
    assert sent.line("L1").status == "PENDING_ARRIVAL"
    assert available(svc, "WH-NORTH", "TEAPOT") == 2 and reserved(svc, "WH-NORTH", "TEAPOT") == 0
    arrived = svc.confirm_arrival(pickup.request_id, at=at(60))
    assert arrived.line("L1").status == "READY_FOR_PICKUP"
    done = svc.confirm_pickup(pickup.request_id, at=at(90))

    assert done.line("L1").status == "PICKED_UP"
    assert (done.status, done.reason) == ("COMPLETE", "FULLYSHIPPED")


def test_pickup_from_the_stores_own_stock(store: StoreFactory) -> None:
    svc, _ = service(store, {("STORE-CITY", "MUG"): 2})
    answer = sourced(svc.source(order("O-PICK", line("L1", "MUG"), pickup="STORE-CITY"),
                                at=at(1)))
    (pickup,) = answer.requests
    assert (pickup.kind, pickup.status) == ("pickup", "REQUESTED")

    svc.accept(pickup.request_id, at=at(2))
    svc.mark_ready(pickup.request_id, at=at(3))
    done = svc.confirm_pickup(pickup.request_id, at=at(4))

    assert done.line("L1").status == "PICKED_UP"
    assert available(svc, "STORE-CITY", "MUG") == 1 and reserved(svc, "STORE-CITY", "MUG") == 0


def test_bundle_split_after_two_attempts(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "PAN"): 1, ("WH-SOUTH", "LID"): 1},
                     ruleset(split_after=2))
    kit = (line("K1", "PAN", bundle="kit-1", bundle_sku=Sku("KIT")),
           line("K2", "LID", bundle="kit-1", bundle_sku=Sku("KIT")))

    first = sourced(svc.source(order("O-KIT", *kit), at=at(1)))
    assert {first.line(i).status for i in ("K1", "K2")} == {"HELD"}
    assert first.line("K1").reason == "FilterSourceBundleFromOneSource"
    second = svc.release_backorders(at=at(2)).orders
    assert {second[0].line(i).status for i in ("K1", "K2")} == {"HELD"}

    third = svc.release_backorders(at=at(3)).orders[0]

    assert {third.line(i).status for i in ("K1", "K2")} == {"SHIPMENT_REQUESTED"}
    assert {r.source for r in third.requests} == {"WH-NORTH", "WH-SOUTH"}


def test_backorder_released_by_a_feed_oldest_order_first(store: StoreFactory) -> None:
    svc, _ = service(store, {})
    older = sourced(svc.source(order("O-OLD", line("L1", "KETTLE"), minute=1), at=at(1)))
    newer = sourced(svc.source(order("O-NEW", line("L1", "KETTLE"), minute=2), at=at(2)))
    assert older.line("L1").status == newer.line("L1").status == "BACKORDERED"
    assert older.status == "ONHOLD" and older.reason == "BACKORDERED"

    feed = parse_feed_rows([{"source": "WH-SOUTH", "sku": "KETTLE", "qty": "1", "mode": "DELTA",
                             "effective_at": at(10).isoformat(), "record_id": "f-1"}])
    answer = svc.apply_feed(feed, at=at(10))

    assert answer.applied == 1
    assert [o.order_id for o in answer.released][:1] == ["O-OLD"]
    assert svc.order("O-OLD").line("L1").status == "SHIPMENT_REQUESTED"
    assert svc.order("O-NEW").line("L1").status == "BACKORDERED"
    assert reserved(svc, "WH-SOUTH", "KETTLE") == 1


def test_short_stock_held_under_a_hold_rule_is_released_by_release_backorders(
    store: StoreFactory,
) -> None:
    svc, _ = service(store, {}, ruleset(backorder=BackorderPolicy.HOLD))
    held = sourced(svc.source(order("O-WAIT", line("L1", "MUG")), at=at(1)))
    assert held.line("L1").status == "HELD"
    feed = parse_feed_rows([{"source": "WH-NORTH", "sku": "MUG", "qty": "4", "mode": "DELTA",
                             "effective_at": at(5).isoformat(), "record_id": "f-2"}])

    svc.apply_feed(feed, at=at(5))

    assert svc.order("O-WAIT").line("L1").status == "SHIPMENT_REQUESTED"


def test_exchange_held_until_the_return_is_received(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "SCARF-RED"): 1, ("WH-NORTH", "SCARF-BLUE"): 1})
    first = sourced(svc.source(order("O-SCARF", line("L1", "SCARF-RED")), at=at(1)))
    rid = first.requests[0].request_id
    svc.accept(rid, at=at(2))
    svc.ship(rid, shipment_id="P-1", at=at(3))

    swap = sourced(svc.exchange("O-SCARF", "L1", sku="SCARF-BLUE", new_order_id="O-SCARF-X",
                                at=at(100), wait_for_return=True))
    assert swap.parent_order == "O-SCARF" and swap.kind == "exchange"
    assert swap.status == "ONHOLD" and swap.reason == "PENDING_RETURN"
    assert swap.requests == ()          # nothing is sent while the hold is open
    assert reserved(svc, "WH-NORTH", "SCARF-BLUE") == 1
    with pytest.raises(TransitionError, match="exchanged once"):
        svc.exchange("O-SCARF", "L1", sku="SCARF-BLUE", new_order_id="O-SCARF-Y", at=at(101))

    svc.start_return("O-SCARF", ["L1"], at=at(110))
    svc.receive_return("O-SCARF", ["L1"], source="STORE-CITY", at=at(200))

    released = svc.order("O-SCARF-X")
    assert released.status == "LOGISTICS"
    assert released.requests[0].source == "WH-NORTH"
    assert svc.order("O-SCARF").line("L1").status == "RETURNED"


def test_exchange_at_once_sources_the_replacement_now(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "SCARF-RED"): 1, ("WH-SOUTH", "SCARF-BLUE"): 1})
    first = sourced(svc.source(order("O-S2", line("L1", "SCARF-RED")), at=at(1)))
    rid = first.requests[0].request_id
    svc.accept(rid, at=at(2))
    svc.ship(rid, shipment_id="P-1", at=at(3))

    swap = sourced(svc.exchange("O-S2", "L1", sku="SCARF-BLUE", new_order_id="O-S2-X",
                                at=at(10)))

    assert swap.status == "LOGISTICS" and swap.requests[0].source == "WH-SOUTH"


def test_reship_makes_a_linked_zero_value_order(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 2})
    first = sourced(svc.source(order("O-LOST", line("L1", "MUG")), at=at(1)))
    rid = first.requests[0].request_id
    svc.accept(rid, at=at(2))
    svc.ship(rid, shipment_id="P-1", at=at(3))

    again = sourced(svc.reship("O-LOST", ["L1"], new_order_id="O-LOST-R", at=at(50)))

    assert again.parent_order == "O-LOST" and again.kind == "reship"
    assert again.line("L1").status == "SHIPMENT_REQUESTED"
    assert reserved(svc, "WH-NORTH", "MUG") == 1 and available(svc, "WH-NORTH", "MUG") == 0
    with svc.uow_factory() as uow:
        reshipped = uow.orders.get("O-LOST-R")
        assert reshipped is not None and reshipped.order.value == 0


def test_cancel_after_ship_refused(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 2})
    first = sourced(svc.source(order("O-LATE", line("L1", "MUG")), at=at(1)))
    rid = first.requests[0].request_id
    svc.accept(rid, at=at(2))
    shipped = svc.ship(rid, shipment_id="P-1", at=at(3))
    events = len(svc.events("O-LATE"))

    with pytest.raises(TransitionError) as err:
        svc.cancel("O-LATE", at=at(4))

    assert "SHIPPED" in str(err.value) and "after shipment" in str(err.value)
    assert svc.order("O-LATE") == shipped
    assert len(svc.events("O-LATE")) == events


def test_cancel_releases_the_reservation_and_the_request(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 2})
    sourced(svc.source(order("O-OOPS", line("L1", "MUG"), line("L2", "MUG")), at=at(1)))

    after = svc.cancel("O-OOPS", at=at(2))

    assert after.status == "COMPLETE" and after.reason == "FULLYCANCELLED"
    assert reserved(svc, "WH-NORTH", "MUG") == 0
    assert after.requests[0].status == "CANCELLED"


def test_cancelling_a_bundle_component_cancels_the_bundle(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "PAN"): 1, ("WH-NORTH", "LID"): 1})
    kit = (line("K1", "PAN", bundle="kit-1", bundle_sku=Sku("KIT")),
           line("K2", "LID", bundle="kit-1", bundle_sku=Sku("KIT")))
    sourced(svc.source(order("O-KIT2", *kit), at=at(1)))

    after = svc.cancel("O-KIT2", ["K1"], at=at(2))

    assert after.line("K2").status == "CANCELLED"
    assert after.line("K2").reason == "ASSOCIATEDITEMCANCELLED"
    assert reserved(svc, "WH-NORTH", "PAN") == reserved(svc, "WH-NORTH", "LID") == 0


def test_partial_ship_then_the_rest(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 5})
    first = sourced(svc.source(order("O-PART", line("L1", "MUG", 3)), at=at(1)))
    rid = first.requests[0].request_id
    svc.accept(rid, at=at(2))

    part = svc.ship(rid, shipment_id="P-1", lines=[("L1", 1)], at=at(3))
    assert part.request(rid).status == "PARTIALLY_SHIPPED"
    assert part.line("L1").status == "ACCEPTED"
    assert reserved(svc, "WH-NORTH", "MUG") == 2
    retry = svc.ship(rid, shipment_id="P-1", lines=[("L1", 1)], at=at(3))
    assert retry == part and reserved(svc, "WH-NORTH", "MUG") == 2

    rest = svc.ship(rid, shipment_id="P-2", at=at(4))

    assert rest.request(rid).status == "SHIPPED" and rest.line("L1").status == "SHIPPED"
    assert reserved(svc, "WH-NORTH", "MUG") == 0 and available(svc, "WH-NORTH", "MUG") == 2


def test_a_preshipped_line_gets_a_request_to_its_store_and_no_reservation(
    store: StoreFactory,
) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 5})
    answer = sourced(svc.source(order("O-POS", preshipped("L1", "MUG", "STORE-CITY"),
                                      line("L2", "MUG")), at=at(1)))

    pre = answer.requests_of("preshipped")[0]
    assert pre.source == "STORE-CITY" and answer.line("L1").status == "PRESHIPPED"
    assert reserved(svc, "WH-NORTH", "MUG") == 1
    done = svc.ship(pre.request_id, shipment_id="POS-1", at=at(2))
    assert done.line("L1").status == "SHIPPED"


def test_holds_release_the_requests_only_when_every_hold_is_done(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 5})
    holds = [HoldSpec("remorse", HoldReason.PENDING_REMORSE_TIME, until=at(30)),
             HoldSpec("payment", HoldReason.PAYMENT_CAPTURE)]
    answer = sourced(svc.source(order("O-HOLD", line("L1", "MUG")), at=at(1), holds=holds))
    assert answer.status == "ONHOLD" and answer.reason == "PENDING_REMORSE_TIME"
    assert answer.requests == () and reserved(svc, "WH-NORTH", "MUG") == 1

    assert svc.expire_holds(now=at(20)).orders == ()
    svc.expire_holds(now=at(30))
    assert svc.order("O-HOLD").requests == ()
    released = svc.complete_hold("O-HOLD", "payment", at=at(40))

    assert released.status == "LOGISTICS" and released.requests[0].status == "REQUESTED"


def test_idempotent_retry_returns_the_first_answer(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 5})
    cmd_order = order("O-RETRY", line("L1", "MUG"))
    first = svc.source(cmd_order, at=at(1), idempotency_key="k-1")
    events = len(svc.events("O-RETRY"))

    again = svc.source(cmd_order, at=at(1), idempotency_key="k-1")

    assert again == first
    assert reserved(svc, "WH-NORTH", "MUG") == 1 and len(svc.events("O-RETRY")) == events
    with pytest.raises(InputError, match="used for another command"):
        svc.source(order("O-OTHER", line("L1", "MUG")), at=at(1), idempotency_key="k-1")


def test_returns_restock_only_when_the_service_is_set_to(store: StoreFactory) -> None:
    for restock, expected in ((False, 0), (True, 1)):
        svc, _ = service(store, {("WH-NORTH", "MUG"): 1},
                         settings=Settings(restock_returns=restock))
        first = sourced(svc.source(order("O-RET", line("L1", "MUG")), at=at(1)))
        rid = first.requests[0].request_id
        svc.accept(rid, at=at(2))
        svc.ship(rid, shipment_id="P-1", at=at(3))

        back = svc.receive_return("O-RET", ["L1"], source="WH-SOUTH", at=at(9))

        assert back.line("L1").status == "RETURNED"
        assert available(svc, "WH-SOUTH", "MUG") == expected


def test_a_reservation_conflict_is_retried_then_answered(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 1}, settings=Settings(reserve_retries=2))
    real = svc.uow_factory
    calls = []

    def thief() -> object:
        uow = real()
        stock = uow.stock

        class Stealing:
            def __getattr__(self, name: str) -> object:
                return getattr(stock, name)

            def reserve_order(self, order_id: str, lines: object) -> object:
                calls.append(order_id)   # as if other commands took the stock meanwhile
                return stock.reserve_order(order_id, {
                    k: [(s, sku, Decimal(5)) for s, sku, _ in v]
                    for k, v in lines.items()})  # type: ignore[attr-defined]

        uow.stock = Stealing()  # type: ignore[assignment]
        return uow

    svc.bus.uow_factory = thief  # type: ignore[assignment]

    answer = svc.source(order("O-RACE", line("L1", "MUG")), at=at(1))

    assert isinstance(answer, ReservationConflict) and answer.attempts == 3
    assert len(calls) == 3
    svc.bus.uow_factory = real
    with pytest.raises(InputError):      # nothing was stored: the order is unknown
        svc.order("O-RACE")
    assert reserved(svc, "WH-NORTH", "MUG") == 0


def test_a_command_failing_after_the_reservation_leaves_nothing_half_done(
    store: StoreFactory,
) -> None:
    svc, _ = service(store, {("WH-NORTH", "MUG"): 3})
    sourced(svc.source(order("O-KEEP", line("L1", "MUG")), at=at(1)))
    real = svc.uow_factory
    before = [m.id for m in svc.events("O-KEEP")]

    def faulty() -> object:
        uow = real()
        stock = uow.stock

        class Crashing:
            def __getattr__(self, name: str) -> object:
                return getattr(stock, name)

            def reserve_order(self, order_id: str, lines: object) -> object:
                stock.reserve_order(order_id, lines)  # type: ignore[arg-type]
                raise RuntimeError("power cut after the reservation")

        uow.stock = Crashing()  # type: ignore[assignment]
        return uow

    svc.bus.uow_factory = faulty  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="power cut"):
        svc.source(order("O-CRASH", line("L1", "MUG", 2)), at=at(2))
    svc.bus.uow_factory = real

    assert reserved(svc, "WH-NORTH", "MUG") == 1
    with pytest.raises(InputError):
        svc.order("O-CRASH")
    assert svc.events("O-CRASH") == []
    assert [m.id for m in svc.events("O-KEEP")] == before
    # and the same order sources cleanly afterwards, under the same line ids
    again = sourced(svc.source(order("O-CRASH", line("L1", "MUG", 2)), at=at(3)))
    assert again.line("L1").status == "SHIPMENT_REQUESTED"
    assert reserved(svc, "WH-NORTH", "MUG") == 3


def test_a_declined_transfer_cancels_the_stores_pending_request_and_sources_again(
    store: StoreFactory,
) -> None:
    svc, _ = service(store, {("WH-NORTH", "TEAPOT"): 1})
    first = sourced(svc.source(order("O-STS2", line("L1", "TEAPOT"), pickup="STORE-CITY"),
                               at=at(1)))
    (transfer,) = first.requests_of("transfer")

    after = sourced(svc.decline(transfer.request_id, at=at(2)))

    assert after.request(transfer.pair or "").status == "CANCELLED"
    assert after.line("L1").declined_by == ("WH-NORTH",)
    assert after.line("L1").status == "HELD"          # no other source can bring it
    assert reserved(svc, "WH-NORTH", "TEAPOT") == 0
    feed = parse_feed_rows([{"source": "STORE-CITY", "sku": "TEAPOT", "qty": "1",
                             "mode": "DELTA", "effective_at": at(5).isoformat(),
                             "record_id": "pos-1"}])
    svc.apply_feed(feed, at=at(5))
    now = svc.order("O-STS2")
    assert now.line("L1").status == "SHIPMENT_REQUESTED"
    assert [(r.kind, r.source, r.status) for r in now.requests][-1] == (
        "pickup", "STORE-CITY", "REQUESTED")


def test_a_pickup_request_accepted_by_the_store_cannot_be_cancelled(store: StoreFactory) -> None:
    svc, _ = service(store, {("STORE-CITY", "MUG"): 2})
    first = sourced(svc.source(order("O-PCX", line("L1", "MUG"), pickup="STORE-CITY"),
                               at=at(1)))
    accepted = svc.accept(first.requests[0].request_id, at=at(2))

    with pytest.raises(TransitionError, match="only while it is new"):
        svc.cancel("O-PCX", at=at(3))

    assert svc.order("O-PCX") == accepted and reserved(svc, "STORE-CITY", "MUG") == 1


def test_an_exchange_stays_held_when_the_return_comes_back_damaged(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "SCARF-RED"): 1, ("WH-NORTH", "SCARF-BLUE"): 1})
    first = sourced(svc.source(order("O-DMG", line("L1", "SCARF-RED")), at=at(1)))
    rid = first.requests[0].request_id
    svc.accept(rid, at=at(2))
    svc.ship(rid, shipment_id="P-1", at=at(3))
    svc.exchange("O-DMG", "L1", sku="SCARF-BLUE", new_order_id="O-DMG-X", at=at(10),
                 wait_for_return=True)

    svc.receive_return("O-DMG", ["L1"], source="WH-NORTH", at=at(20), sellable=False)

    assert svc.order("O-DMG-X").reason == "PENDING_RETURN"
    released = svc.skip_hold("O-DMG-X", "return", at=at(30))   # a person decides
    assert released.status == "LOGISTICS" and released.requests


def test_a_restocked_return_releases_a_backorder(store: StoreFactory) -> None:
    svc, _ = service(store, {("WH-NORTH", "KETTLE"): 1},
                     settings=Settings(restock_returns=True))
    first = sourced(svc.source(order("O-K1", line("L1", "KETTLE"), minute=1), at=at(1)))
    waiting = sourced(svc.source(order("O-K2", line("L1", "KETTLE"), minute=2), at=at(2)))
    assert waiting.line("L1").status == "BACKORDERED"
    rid = first.requests[0].request_id
    svc.accept(rid, at=at(3))
    svc.ship(rid, shipment_id="P-1", at=at(4))

    svc.receive_return("O-K1", ["L1"], source="WH-SOUTH", at=at(50))

    assert svc.order("O-K2").line("L1").status == "SHIPMENT_REQUESTED"
    assert svc.order("O-K2").line("L1").source == "WH-SOUTH"


def test_threads_racing_for_the_last_units_never_oversell(store: StoreFactory) -> None:
    import threading

    svc, _ = service(store, {("WH-NORTH", "MUG"): 5}, ruleset(backorder=BackorderPolicy.HOLD))
    answers: list[object] = []
    lock = threading.Lock()

    def buy(n: int) -> None:
        got = svc.source(order(f"O-RUSH-{n}", line("L1", "MUG")), at=at(n))
        with lock:
            answers.append(got)

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    views = [a for a in answers if isinstance(a, OrderView)]
    assert len(views) == 12
    assert sum(v.line("L1").status == "SHIPMENT_REQUESTED" for v in views) == 5
    assert sum(v.line("L1").status == "HELD" for v in views) == 7
    assert reserved(svc, "WH-NORTH", "MUG") == 5 and available(svc, "WH-NORTH", "MUG") == 0


def test_remorse_time_set_for_every_order_times_out_and_releases_the_requests(
    store: StoreFactory,
) -> None:
    remorse = DefaultHold("remorse", HoldReason.PENDING_REMORSE_TIME, timedelta(minutes=30))
    svc, _ = service(store, {("WH-NORTH", "MUG"): 5}, settings=Settings(order_holds=(remorse,)))
    answer = sourced(svc.source(order("O-REMORSE", line("L1", "MUG")), at=at(1)))
    assert answer.reason == "PENDING_REMORSE_TIME" and answer.requests == ()

    (released,) = svc.expire_holds(now=at(31)).orders

    assert released.status == "LOGISTICS" and released.requests[0].status == "REQUESTED"
    assert released.holds[0].status.value == "timed-out"
