"""Use cases of the order lifecycle: one ``handle_*`` per command, each run in one unit of work.

A handler reads through the ports, moves lines and requests with the pure lifecycle
(``oms_sourcing.lifecycle``), applies the stock effects a move asks for, writes every event to
the outbox and returns an answer (a frozen value). An illegal move raises ``TransitionError``
(naming the id, the status and the allowed actions) or ``InputError`` before anything is
written — and the unit of work rolls back whatever was, so nothing changes. Post-sales,
holds, feeds and rulesets are in ``_aftersales``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_sourcing.domain import LineId, validate_order
from oms_sourcing.errors import InputError, QuantityError, UnknownReferenceError
from oms_sourcing.lifecycle import (
    FINAL_REQUEST_STATUSES,
    Action,
    LineStatus,
    OrderState,
    RequestKind,
    act,
    cancel_lines,
    cancel_order,
    initial_lines,
    place_hold,
    transition,
)
from oms_sourcing.service import commands as c
from oms_sourcing.service._sourcing import request_shipments, source_lines
from oms_sourcing.service._tx import Tx
from oms_sourcing.service.answers import OrderView, ReservationConflict, order_view
from oms_sourcing.service.model import OrderRecord, RequestRecord

__all__ = ["HANDLERS", "new_order", "view"]


def view(tx: Tx, record: OrderRecord, decision_id: str | None = None) -> OrderView:
    return order_view(record, tx.uow.requests.for_order(record.order_id), decision_id)


def new_order(
    tx: Tx, cmd_order: Any, at: datetime, holds: tuple[c.HoldSpec, ...] = (), *,
    kind: str = "order", awaits_return: tuple[str, str] | None = None,
) -> OrderView | ReservationConflict:
    """Store a new order, place its holds, source it and open its requests."""
    order = cmd_order
    validate_order(order, tx.env.catalog)
    existing = tx.uow.orders.get(order.id)
    if existing is not None:
        raise InputError(
            f"order {order.id} exists already (status {existing.state.status.value}); an "
            "order is sourced once — retry with the same idempotency key to get the first "
            "answer, or use another order id",
            field="order.id", value=order.id, expected="a new order id",
        )
    state = OrderState(order.id, initial_lines(order))
    record = tx.uow.orders.save(OrderRecord(order, state, kind=kind, awaits_return=awaits_return))
    for hold in holds:
        record = tx.apply(record, place_hold(record.state, hold.name, hold.reason, at=at,
                                             until=hold.until))
    outcome = source_lines(tx, record, [ln.id for ln in order.lines], at)
    if isinstance(outcome, ReservationConflict):
        return outcome
    record, decision_id = outcome
    if record.state.holds_released:
        record = request_shipments(tx, record, at)
    return view(tx, record, decision_id)


def source_order(cmd: c.SourceOrder, tx: Tx) -> OrderView | ReservationConflict:
    named = {h.name for h in cmd.holds}
    defaults = tuple(
        c.HoldSpec(h.name, h.reason, None if h.lasts is None else cmd.at + h.lasts)
        for h in tx.env.settings.order_holds if h.name not in named
    )
    return new_order(tx, cmd.order, cmd.at, defaults + cmd.holds)


# ---------------------------------------------------------------------- requests


def _lines_on(tx: Tx, req: RequestRecord) -> tuple[OrderRecord, list[LineId]]:
    record = tx.order(req.order_id)
    open_ids = [i for i in req.state.line_ids
                if record.state.line(i).status is not LineStatus.CANCELLED]
    return record, open_ids


def _move_request(tx: Tx, req: RequestRecord, action: Action, at: datetime,
                  reason: str = "") -> RequestRecord:
    moved = transition(req.state, action, at=at, reason=reason)
    new = replace(req, state=moved.state)
    tx.save_request(new, moved.events)
    return new


def accept_request(cmd: c.AcceptRequest, tx: Tx) -> OrderView:
    req = tx.request(cmd.request_id)
    transition(req.state, Action.ACCEPT, at=cmd.at)       # refused before anything changes
    record, ids = _lines_on(tx, req)
    _move_request(tx, req, Action.ACCEPT, cmd.at)
    for line_id in ids:
        if record.state.line(line_id).status is LineStatus.SHIPMENT_REQUESTED:
            record = tx.apply(record, act(record.state, line_id, Action.ACCEPT, at=cmd.at))
    return view(tx, record)


def decline_request(cmd: c.DeclineRequest, tx: Tx) -> OrderView | ReservationConflict:
    req = tx.request(cmd.request_id)
    transition(req.state, Action.DECLINE, at=cmd.at, reason=cmd.reason)
    record, ids = _lines_on(tx, req)
    _move_request(tx, req, Action.DECLINE, cmd.at, cmd.reason)
    if req.pair is not None:                   # the pickup store waits for nothing now
        paired = tx.request(req.pair)
        if paired.state.status not in FINAL_REQUEST_STATUSES:
            _move_request(tx, paired, Action.CANCEL, cmd.at, "TRANSFER_DECLINED")
    for line_id in ids:
        if record.state.line(line_id).status in (LineStatus.SHIPMENT_REQUESTED,
                                                 LineStatus.ACCEPTED):
            record = tx.apply(record, act(record.state, line_id, Action.DECLINE, at=cmd.at,
                                          reason=cmd.reason))
    outcome = source_lines(tx, record, list(ids), cmd.at)
    if isinstance(outcome, ReservationConflict):
        return outcome
    record, decision_id = outcome
    return view(tx, record, decision_id)


def _ship_plan(req: RequestRecord, cmd: c.ShipRequest,
               record: OrderRecord) -> list[tuple[LineId, Decimal]]:
    where = f"shipment request {req.request_id} ({req.state.status.value})"
    on_request = list(req.state.line_ids)
    if not cmd.lines:
        return [(i, req.left(i)) for i in on_request
                if req.left(i) > 0 and record.state.line(i).status is not LineStatus.CANCELLED]
    plan: list[tuple[LineId, Decimal]] = []
    for part in cmd.lines:
        if part.line_id not in on_request:
            raise UnknownReferenceError(
                f"{where} has no line {part.line_id!r}; its lines: {', '.join(on_request)}",
                field="lines.line_id", value=part.line_id, known=on_request, where=where,
            )
        line_id = LineId(part.line_id)
        left = req.left(line_id)
        qty = left if part.qty is None else Decimal(part.qty)
        if qty <= 0 or qty > left:
            raise QuantityError(
                f"{where}: cannot ship {qty} of line {line_id}: {left} of it is left to ship "
                f"on this request (requested {req.quantities[line_id]}, shipped "
                f"{req.shipped.get(line_id, Decimal(0))})",
                field="lines.qty", value=part.qty, expected=f"more than 0, at most {left}",
                where=where,
            )
        plan.append((line_id, qty))
    return plan


def ship_request(cmd: c.ShipRequest, tx: Tx) -> OrderView:
    req = tx.request(cmd.request_id)
    record = tx.order(req.order_id)
    if cmd.shipment_id in req.shipments:       # a retry: nothing changes
        return view(tx, record)
    plan = _ship_plan(req, cmd, record)
    shipped = dict(req.shipped)
    for line_id, qty in plan:
        shipped[line_id] = shipped.get(line_id, Decimal(0)) + qty
    done = all(req.quantities[i] - shipped.get(i, Decimal(0)) <= 0 for i in req.state.line_ids
               if record.state.line(i).status is not LineStatus.CANCELLED)
    action = Action.SHIP if done else Action.SHIP_PART
    moved = transition(req.state, action, at=cmd.at)        # refused before any stock moves
    line_action = {RequestKind.TRANSFER: Action.SHIP_TO_STORE}.get(req.state.kind, Action.SHIP)
    finishing = [i for i, _ in plan if req.quantities[i] - shipped[i] <= 0]
    for line_id in finishing:   # check the lines' moves too before the stock moves
        transition(record.state.line(line_id), line_action, at=cmd.at)
    stock = tx.uow.stock
    for line_id, qty in plan:
        key = record.reservation_keys.get(line_id)
        if key is None or req.state.kind is RequestKind.PRESHIPPED:
            continue
        result = stock.ship(record.order_id, key, at=cmd.at, qty=qty, source=req.state.source,
                            shipment_id=f"{req.request_id}:{cmd.shipment_id}")
        for a in result.shipped:
            tx.stock_changed(a.source, a.sku, -a.qty, cmd.at, f"shipped {req.request_id}")
    new = replace(req, state=moved.state, shipped=shipped,
                  shipments={**req.shipments, cmd.shipment_id: tuple(plan)},
                  tracking={**req.tracking, cmd.shipment_id: cmd.tracking})
    tx.save_request(new, moved.events)
    for line_id in finishing:
        record = tx.apply(record, act(record.state, line_id, line_action, at=cmd.at))
    return view(tx, record)


def _lines_request(cmd_request_id: str, tx: Tx, request_action: Action, line_action: Action,
                   at: datetime, lines_from: frozenset[LineStatus]) -> OrderView:
    req = tx.request(cmd_request_id)
    transition(req.state, request_action, at=at)
    record, ids = _lines_on(tx, req)
    moving = [i for i in ids if record.state.line(i).status in lines_from]
    for line_id in ids:   # every open line must be able to move, or nothing moves
        transition(record.state.line(line_id), line_action, at=at)
    stock = tx.uow.stock
    if line_action is Action.PICK_UP:
        for line_id in moving:    # the store hands over its own stock (transfers shipped before)
            state = record.state.line(line_id)
            key = record.reservation_keys.get(line_id)
            if state.route is RequestKind.PICKUP and key is not None:
                result = stock.ship(record.order_id, key, at=at, source=req.state.source)
                for a in result.shipped:
                    tx.stock_changed(a.source, a.sku, -a.qty, at, f"picked up {req.request_id}")
    _move_request(tx, req, request_action, at)
    for line_id in moving:
        record = tx.apply(record, act(record.state, line_id, line_action, at=at))
    return view(tx, record)


def mark_ready(cmd: c.MarkReady, tx: Tx) -> OrderView:
    return _lines_request(cmd.request_id, tx, Action.MARK_READY, Action.MARK_READY, cmd.at,
                          frozenset({LineStatus.ACCEPTED}))


def confirm_arrival(cmd: c.ConfirmArrival, tx: Tx) -> OrderView:
    return _lines_request(cmd.request_id, tx, Action.MARK_ARRIVED, Action.MARK_ARRIVED, cmd.at,
                          frozenset({LineStatus.PENDING_ARRIVAL}))


def confirm_pickup(cmd: c.ConfirmPickup, tx: Tx) -> OrderView:
    return _lines_request(cmd.request_id, tx, Action.PICK_UP, Action.PICK_UP, cmd.at,
                          frozenset({LineStatus.READY_FOR_PICKUP}))


# ---------------------------------------------------------------------- cancellation


def _close_emptied_requests(tx: Tx, record: OrderRecord, at: datetime) -> None:
    for req in tx.uow.requests.for_order(record.order_id):
        if req.state.status in FINAL_REQUEST_STATUSES:
            continue
        if all(record.state.line(i).status is LineStatus.CANCELLED for i in req.state.line_ids):
            _move_request(tx, req, Action.CANCEL, at, "LINES_CANCELLED")


def cancel(cmd: c.CancelOrder | c.CancelLines, tx: Tx) -> OrderView:
    record = tx.order(cmd.order_id)
    if isinstance(cmd, c.CancelOrder):
        update = cancel_order(record.state, cmd.reason, at=cmd.at)
    else:
        update = cancel_lines(record.state, cmd.line_ids, cmd.reason, at=cmd.at)
    record = tx.apply(record, update)
    _close_emptied_requests(tx, record, cmd.at)
    return view(tx, record)


def _handlers() -> dict[type[c.Command], Callable[[Any, Tx], object]]:
    from oms_sourcing.service import _aftersales as a
    return {
        c.SourceOrder: source_order,
        c.AcceptRequest: accept_request,
        c.DeclineRequest: decline_request,
        c.ShipRequest: ship_request,
        c.MarkReady: mark_ready,
        c.ConfirmArrival: confirm_arrival,
        c.ConfirmPickup: confirm_pickup,
        c.CancelOrder: cancel,
        c.CancelLines: cancel,
        c.Reship: a.reship,
        c.Exchange: a.exchange,
        c.StartReturn: a.start_return,
        c.ReceiveReturn: a.receive_return,
        c.ApplyFeed: a.apply_feed_command,
        c.ReleaseBackorders: a.release_backorders,
        c.PlaceHold: a.place_hold_command,
        c.CompleteHold: a.complete_hold_command,
        c.SkipHold: a.skip_hold_command,
        c.ExpireHolds: a.expire_holds_command,
        c.ActivateRuleset: a.activate_ruleset,
    }


HANDLERS: dict[type[c.Command], Callable[[Any, Tx], object]] = {}


def handler_for(command: c.Command) -> Callable[[Any, Tx], object]:
    if not HANDLERS:
        HANDLERS.update(_handlers())
    found = HANDLERS.get(type(command))
    if found is None:
        raise InputError(f"no handler for {type(command).__name__}", field="command",
                         value=type(command).__name__, expected="a command of service.commands")
    return found

