"""The order's derived status, bundles, holds and whole flows, as memorable scenarios."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from oms_sourcing.domain import LineId, Order, OrderId, OrderLine, Sku, SourceCode
from oms_sourcing.errors import InputError, UnknownReferenceError
from oms_sourcing.lifecycle import (
    Action,
    CancelReason,
    Hold,
    HoldReason,
    HoldStatus,
    LineState,
    LineStatus,
    OrderState,
    OrderStatus,
    RejectReason,
    RequestId,
    RequestKind,
    RequestState,
    RequestStatus,
    StockEffect,
    TransitionError,
    act,
    cancel_lines,
    cancel_order,
    complete_hold,
    derive_order_status,
    expire_order_holds,
    initial_lines,
    new_request,
    place_hold,
    reject_order,
    skip_hold,
    transition,
)
from oms_sourcing.lifecycle import events as ev
from oms_sourcing.lifecycle.holds import release_hold

AT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
OID = OrderId("O-KETTLE")
BER, MUC, HAM = SourceCode("WH-BER"), SourceCode("WH-MUC"), SourceCode("ST-HAM")


def line(line_id: str, status: LineStatus = LineStatus.NEW, bundle: str | None = None,
         reason: str = "") -> LineState:
    return LineState(OID, LineId(line_id), status, reason=reason, bundle=bundle,
                     route=None if status is LineStatus.NEW else RequestKind.SHIP)


def order(*lines: LineState, holds: tuple[Hold, ...] = ()) -> OrderState:
    return OrderState(OID, tuple(lines), holds)


def statuses(state: OrderState) -> dict[str, str]:
    return {ln.line_id: ln.status.value for ln in state.lines}


# --- the derived order status ----------------------------------------------------------------

S = LineStatus


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([S.CANCELLED, S.CANCELLED], (OrderStatus.COMPLETE, "FULLYCANCELLED")),
        ([S.SHIPPED, S.PICKED_UP], (OrderStatus.COMPLETE, "FULLYSHIPPED")),
        ([S.SHIPPED, S.CANCELLED], (OrderStatus.COMPLETE, "PARTIALLYSHIPPED")),
        ([S.RETURNED, S.RETURN_REQUESTED], (OrderStatus.COMPLETE, "FULLYSHIPPED")),
        ([S.SHIPMENT_REQUESTED, S.NEW], (OrderStatus.LOGISTICS, "PENDING_FIRST_SHIPMENT")),
        ([S.SHIPPED, S.ACCEPTED], (OrderStatus.LOGISTICS, "PARTIALLYSHIPPED")),
        ([S.SHIPPED, S.BACKORDERED], (OrderStatus.LOGISTICS, "PARTIALLYSHIPPED")),
        ([S.BACKORDERED, S.CANCELLED], (OrderStatus.ONHOLD, "BACKORDERED")),
        ([S.NEW, S.CANCELLED], (OrderStatus.NEW, "INITIALORDER")),
        ([S.PENDING_ARRIVAL], (OrderStatus.LOGISTICS, "PENDING_FIRST_SHIPMENT")),
    ],
    ids=lambda v: "-".join(map(str, v)) if isinstance(v, list) else "",
)
def test_the_order_status_follows_from_its_lines(
    lines: list[LineStatus], expected: tuple[OrderStatus, str]
) -> None:
    states = [line(f"L{i}", s) for i, s in enumerate(lines)]
    assert derive_order_status(states) == expected


def test_an_open_hold_puts_the_order_on_hold_with_the_holds_reason() -> None:
    holds = (Hold("approval", HoldReason.MANUAL_APPROVAL, HoldStatus.COMPLETED),
             Hold("remorse", HoldReason.PENDING_REMORSE_TIME))
    lines = [line("L1", S.SOURCED)]
    assert derive_order_status(lines, holds) == (OrderStatus.ONHOLD, "PENDING_REMORSE_TIME")
    closed = (holds[0], Hold("remorse", HoldReason.PENDING_REMORSE_TIME, HoldStatus.TIMED_OUT))
    assert derive_order_status(lines, closed)[0] is OrderStatus.LOGISTICS


def test_a_held_line_puts_the_order_on_hold_but_a_complete_order_stays_complete() -> None:
    held = [line("L1", S.SHIPPED), line("L2", S.HELD, reason="DECLINE_LIMIT")]
    assert derive_order_status(held) == (OrderStatus.ONHOLD, "DECLINE_LIMIT")
    done = [line("L1", S.CANCELLED)]
    remorse = (Hold("remorse", HoldReason.PENDING_REMORSE_TIME),)
    assert derive_order_status(done, remorse) == (OrderStatus.COMPLETE, "FULLYCANCELLED")


def test_a_rejected_order_is_rejected_and_an_order_without_lines_has_no_status() -> None:
    assert derive_order_status([line("L1")], rejected=RejectReason.FRAUD) == (
        OrderStatus.REJECTED, "FRAUD"
    )
    with pytest.raises(InputError, match="at least one line"):
        derive_order_status([])


# --- flows -----------------------------------------------------------------------------------


def test_decline_twice_then_held_puts_the_order_on_hold_with_decline_limit() -> None:
    state = order(line("L1"))
    state = act(state, "L1", Action.SOURCE, at=AT, source=BER).order
    state = act(state, "L1", Action.REQUEST_SHIPMENT, at=AT, request_id=RequestId("R-1")).order
    assert state.status is OrderStatus.LOGISTICS
    state = act(state, "L1", Action.DECLINE, at=AT, reason="DAMAGED_STOCK").order
    assert state.line("L1").status is S.DECLINED
    state = act(state, "L1", Action.RESOURCE, at=AT, source=MUC).order
    state = act(state, "L1", Action.REQUEST_SHIPMENT, at=AT, request_id=RequestId("R-2")).order
    state = act(state, "L1", Action.DECLINE, at=AT).order
    update = act(state, "L1", Action.HOLD, at=AT, reason=HoldReason.DECLINE_LIMIT)
    held = update.order.line("L1")
    assert (held.status, held.attempts, held.declined_by) == (S.HELD, 2, (BER, MUC))
    assert (update.order.status, update.order.reason) == (OrderStatus.ONHOLD, "DECLINE_LIMIT")
    kinds = [type(e) for e in update.events]
    assert kinds == [ev.LineHeld, ev.OrderStatusChanged]


def test_ship_to_store_goes_pending_arrival_then_ready_for_pickup_then_picked_up() -> None:
    state = order(line("L1"))
    transfer = new_request(RequestState(OID, RequestId("R-T"), RequestKind.TRANSFER, BER,
                                        (LineId("L1"),), to_source=HAM), at=AT).state
    pickup = new_request(RequestState(OID, RequestId("R-P"), RequestKind.PICKUP, HAM,
                                      (LineId("L1"),)), at=AT, awaiting_transfer=True).state
    assert pickup.status is RequestStatus.PENDING_ARRIVAL
    effects = []
    for action, kw in [
        (Action.SOURCE, {"source": BER, "route": RequestKind.TRANSFER}),
        (Action.REQUEST_SHIPMENT, {"request_id": transfer.request_id}),
        (Action.ACCEPT, {}),
        (Action.SHIP_TO_STORE, {}),
    ]:
        update = act(state, "L1", action, at=AT, **kw)  # type: ignore[arg-type]
        state, effects = update.order, [*effects, update.transitions[0].effect]
    transfer = transition(transition(transfer, Action.ACCEPT, at=AT).state, Action.SHIP,
                          at=AT).state
    assert state.line("L1").status is S.PENDING_ARRIVAL
    with pytest.raises(TransitionError, match="sent to the pickup store"):
        act(state, "L1", Action.CANCEL, at=AT, reason=CancelReason.CUSTOMERREQ)
    arrived = act(state, "L1", Action.MARK_ARRIVED, at=AT)
    pickup = transition(pickup, Action.MARK_ARRIVED, at=AT).state
    assert (arrived.order.line("L1").status, pickup.status) == (S.READY_FOR_PICKUP,
                                                                RequestStatus.READY_FOR_PICKUP)
    done = act(arrived.order, "L1", Action.PICK_UP, at=AT + timedelta(days=2))
    pickup = transition(pickup, Action.PICK_UP, at=AT).state
    assert (transfer.status, pickup.status) == (RequestStatus.SHIPPED, RequestStatus.PICKED_UP)
    assert [*effects, arrived.transitions[0].effect, done.transitions[0].effect] == [
        StockEffect.RESERVE, StockEffect.NONE, StockEffect.NONE, StockEffect.SHIP,
        StockEffect.RECEIVE, StockEffect.SHIP,
    ]
    assert (done.order.status, done.order.reason) == (OrderStatus.COMPLETE, "FULLYSHIPPED")
    assert [type(e) for e in done.events] == [ev.LinePickedUp, ev.OrderStatusChanged,
                                              ev.OrderCompleted]


def test_a_preshipped_line_is_confirmed_shipped_without_sourcing() -> None:
    state = order(line("L1"))
    state = act(state, "L1", Action.PRESHIP, at=AT, source=HAM).order
    assert state.line("L1").route is RequestKind.PRESHIPPED
    shipped = act(state, "L1", Action.SHIP, at=AT)
    assert shipped.transitions[0].effect is StockEffect.SHIP
    assert shipped.order.reason == "FULLYSHIPPED"
    request = RequestState(OID, RequestId("R-PRE"), RequestKind.PRESHIPPED, HAM, (LineId("L1"),))
    with pytest.raises(TransitionError, match="answered shipped or cancelled"):
        transition(request, Action.ACCEPT, at=AT)
    assert transition(request, Action.SHIP, at=AT).state.status is RequestStatus.SHIPPED


def test_a_bundle_components_cancellation_cancels_the_bundle_with_associateditemcancelled(
) -> None:
    state = order(line("KETTLE", S.SOURCED, bundle="B1"), line("FILTER", S.BACKORDERED, "B1"),
                  line("MUG", S.SOURCED))
    update = cancel_lines(state, ["KETTLE"], CancelReason.OUTOFSTOCK, at=AT)
    cancelled = {t.state.line_id: (t.state.reason, t.effect) for t in update.transitions}
    assert cancelled == {"KETTLE": ("OUTOFSTOCK", StockEffect.RELEASE),
                         "FILTER": ("ASSOCIATEDITEMCANCELLED", StockEffect.NONE)}
    assert statuses(update.order) == {"KETTLE": "CANCELLED", "FILTER": "CANCELLED",
                                      "MUG": "SOURCED"}
    reasons = [e.reason for e in update.events if isinstance(e, ev.LineCancelled)]
    assert reasons == ["OUTOFSTOCK", "ASSOCIATEDITEMCANCELLED"]


def test_cancelling_one_component_through_act_cancels_the_whole_bundle_too() -> None:
    state = order(line("KETTLE", S.SOURCED, bundle="B1"), line("FILTER", S.SOURCED, "B1"))
    update = act(state, "FILTER", Action.CANCEL, at=AT, reason=CancelReason.CUSTOMERREQ)
    assert (update.order.status, update.order.reason) == (OrderStatus.COMPLETE, "FULLYCANCELLED")
    assert isinstance(update.events[-1], ev.OrderCompleted)


def test_a_bundle_with_a_shipped_component_is_not_cancelled_at_all() -> None:
    state = order(line("KETTLE", S.SOURCED, bundle="B1"), line("FILTER", S.SHIPPED, "B1"))
    with pytest.raises(TransitionError, match="bundle B1 with line KETTLE") as caught:
        cancel_lines(state, ["KETTLE"], CancelReason.CUSTOMERREQ, at=AT)
    assert "cancels the whole bundle" in str(caught.value)
    assert statuses(state) == {"KETTLE": "SOURCED", "FILTER": "SHIPPED"}


def test_cancelling_an_order_after_a_shipment_is_refused_and_changes_nothing() -> None:
    state = order(line("L1", S.SHIPPED), line("L2", S.SOURCED))
    with pytest.raises(TransitionError, match="cannot be cancelled after shipment"):
        cancel_order(state, CancelReason.CUSTOMERREQ, at=AT)
    assert statuses(state) == {"L1": "SHIPPED", "L2": "SOURCED"}
    rest = cancel_lines(state, ["L2"], CancelReason.CUSTOMERREQ, at=AT).order
    assert (rest.status, rest.reason) == (OrderStatus.COMPLETE, "PARTIALLYSHIPPED")
    with pytest.raises(TransitionError, match="every line is cancelled already"):
        cancel_order(order(line("L1", S.CANCELLED)), CancelReason.CUSTOMERREQ, at=AT)


def test_exchange_twice_is_refused_on_the_order_too() -> None:
    state = order(line("L1", S.SHIPPED))
    once = act(state, "L1", Action.EXCHANGE, at=AT)
    assert [type(e) for e in once.events] == [ev.LineExchanged]
    with pytest.raises(TransitionError, match="cannot be exchanged again"):
        act(once.order, "L1", Action.EXCHANGE, at=AT)


def test_an_unknown_line_is_named_with_the_lines_the_order_has() -> None:
    with pytest.raises(UnknownReferenceError, match="no line 'L9'; its lines: L1, L2"):
        act(order(line("L1"), line("L2")), "L9", Action.SOURCE, at=AT, source=BER)


def test_a_rejected_order_refuses_every_action_and_only_a_new_order_can_be_rejected() -> None:
    update = reject_order(order(line("L1")), RejectReason.UNKNOWN_SKU, at=AT)
    assert [type(e) for e in update.events] == [ev.OrderStatusChanged, ev.OrderRejected]
    with pytest.raises(TransitionError, match="is REJECTED"):
        act(update.order, "L1", Action.SOURCE, at=AT, source=BER)
    with pytest.raises(TransitionError, match="only an order whose lines are all NEW"):
        reject_order(order(line("L1", S.SOURCED)), RejectReason.FRAUD, at=AT)


def test_initial_lines_carry_the_bundles_of_the_order() -> None:
    o = Order(OID, AT, (OrderLine(LineId("L1"), Sku("KETTLE"), Decimal(1), bundle="B1"),
                      OrderLine(LineId("L2"), Sku("MUG"), Decimal(2))))
    assert [(ln.line_id, ln.status, ln.bundle) for ln in initial_lines(o)] == [
        ("L1", S.NEW, "B1"), ("L2", S.NEW, None)
    ]


# --- holds -----------------------------------------------------------------------------------


def test_remorse_time_holds_the_order_until_it_times_out() -> None:
    state = act(order(line("L1")), "L1", Action.SOURCE, at=AT, source=BER).order
    held = place_hold(state, "remorse", HoldReason.PENDING_REMORSE_TIME, at=AT,
                      until=AT + timedelta(minutes=30))
    assert (held.order.status, held.order.reason) == (OrderStatus.ONHOLD, "PENDING_REMORSE_TIME")
    assert not held.order.holds_released
    early = expire_order_holds(held.order, AT + timedelta(minutes=29))
    assert early.order == held.order and early.events == ()
    over = expire_order_holds(held.order, AT + timedelta(minutes=30))
    assert over.order.holds[0].status is HoldStatus.TIMED_OUT and over.order.holds_released
    assert over.order.status is OrderStatus.LOGISTICS
    assert [type(e) for e in over.events] == [ev.HoldReleased, ev.OrderStatusChanged]


def test_holds_are_completed_or_skipped_once_and_unknown_names_are_refused() -> None:
    state = place_hold(order(line("L1")), "payment", HoldReason.PAYMENT_CAPTURE, at=AT).order
    state = place_hold(state, "address", HoldReason.ADDRESS_VALIDATION, at=AT).order
    assert state.reason == "PAYMENT_CAPTURE"
    state = complete_hold(state, "payment", at=AT).order
    assert state.reason == "ADDRESS_VALIDATION"
    with pytest.raises(TransitionError, match="is completed: 'complete' is not allowed"):
        complete_hold(state, "payment", at=AT)
    with pytest.raises(UnknownReferenceError, match="no hold named 'fraud'; its holds: "
                                                    "payment, address"):
        skip_hold(state, "fraud", at=AT)
    with pytest.raises(InputError, match="has a hold named 'address' already"):
        place_hold(state, "address", HoldReason.ADDRESS_VALIDATION, at=AT)
    released = skip_hold(state, "address", at=AT).order
    assert released.holds_released and released.status is OrderStatus.NEW


def test_a_hold_without_a_time_out_cannot_time_out() -> None:
    state = place_hold(order(line("L1")), "approval", HoldReason.MANUAL_APPROVAL, at=AT).order
    assert expire_order_holds(state, AT + timedelta(days=365)).order == state
    with pytest.raises(TransitionError, match="'time_out' is not allowed \\(it has no time-out"):
        release_hold(OID, state.holds, "approval", Action.TIME_OUT, at=AT)
    remorse = place_hold(state, "remorse", HoldReason.PENDING_REMORSE_TIME, at=AT,
                         until=AT + timedelta(hours=1)).order
    with pytest.raises(TransitionError, match="not before 2026-11-03T09:00"):
        release_hold(OID, remorse.holds, "remorse", Action.TIME_OUT, at=AT)
    with pytest.raises(InputError, match="before it is placed"):
        place_hold(state, "remorse", HoldReason.PENDING_REMORSE_TIME, at=AT,
                   until=AT - timedelta(minutes=1))
