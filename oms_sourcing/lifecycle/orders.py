"""Orders: their lines' states, their holds, and the status that follows from both.

An order's status is never set; ``derive_order_status`` computes it, in this order of precedence:

1. rejected                                   -> REJECTED (the rejection's reason)
2. every line SHIPPED / PICKED_UP / RETURN_REQUESTED / RETURNED / CANCELLED
                                              -> COMPLETE: FULLYCANCELLED if all are cancelled,
                                                 FULLYSHIPPED if none is, else PARTIALLYSHIPPED
3. an open hold                               -> ONHOLD (the first open hold's reason)
4. a HELD line                                -> ONHOLD (the first held line's reason)
5. a line sourced, requested, in logistics or shipped
                                              -> LOGISTICS: PARTIALLYSHIPPED once something
                                                 shipped, else PENDING_FIRST_SHIPMENT
6. a BACKORDERED line                         -> ONHOLD (BACKORDERED)
7. otherwise (lines NEW, the rest cancelled)  -> NEW (INITIALORDER)

The helpers here move lines of an order (``act``), cancel lines with their bundles
(``cancel_lines``), and place and release holds, returning the new order and every event,
including ``OrderStatusChanged`` / ``OrderCompleted`` when the derived status changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from oms_sourcing.domain import OrderId, SourceCode
from oms_sourcing.errors import InputError, UnknownReferenceError
from oms_sourcing.lifecycle import events as ev
from oms_sourcing.lifecycle.holds import Hold, add_hold, expire_holds, open_holds, release_hold
from oms_sourcing.lifecycle.states import LineState
from oms_sourcing.lifecycle.statuses import (
    Action,
    CancelReason,
    CompleteReason,
    HoldReason,
    LineStatus,
    LogisticsReason,
    NewReason,
    OrderStatus,
    RejectReason,
    RequestKind,
)
from oms_sourcing.lifecycle.table import FINAL_LINE_STATUSES
from oms_sourcing.lifecycle.transitions import Transition, TransitionError, check_time, transition

__all__ = [
    "OrderState",
    "OrderUpdate",
    "act",
    "cancel_lines",
    "cancel_order",
    "complete_hold",
    "derive_order_status",
    "expire_order_holds",
    "place_hold",
    "reject_order",
    "skip_hold",
]

L = LineStatus
_IN_LOGISTICS = frozenset({
    L.SOURCED, L.PRESHIPPED, L.SHIPMENT_REQUESTED, L.ACCEPTED, L.DECLINED, L.RESOURCED,
    L.PENDING_ARRIVAL, L.READY_FOR_PICKUP,
})
_SHIPPED = frozenset({L.SHIPPED, L.PICKED_UP, L.RETURN_REQUESTED, L.RETURNED})


def derive_order_status(
    lines: Sequence[LineState], holds: Sequence[Hold] = (), rejected: RejectReason | None = None
) -> tuple[OrderStatus, str]:
    """The order's status and reason, from its lines, holds and rejection (see the module doc).

    Raises:
        InputError: ``lines`` is empty (an order has at least one line).
    """
    if not lines:
        raise InputError("an order needs at least one line to have a status",
                         field="lines", value=(), expected="at least one line")
    if rejected is not None:
        return OrderStatus.REJECTED, rejected.value
    statuses = [line.status for line in lines]
    if all(s in FINAL_LINE_STATUSES for s in statuses):
        cancelled = sum(s is L.CANCELLED for s in statuses)
        if cancelled == len(statuses):
            return OrderStatus.COMPLETE, CompleteReason.FULLYCANCELLED.value
        if cancelled == 0:
            return OrderStatus.COMPLETE, CompleteReason.FULLYSHIPPED.value
        return OrderStatus.COMPLETE, CompleteReason.PARTIALLYSHIPPED.value
    waiting = open_holds(holds)
    if waiting:
        return OrderStatus.ONHOLD, waiting[0].reason.value
    for line in lines:
        if line.status is L.HELD:
            return OrderStatus.ONHOLD, line.reason or HoldReason.WAITING_FOR_STOCK.value
    shipped = any(s in _SHIPPED for s in statuses)
    if shipped or any(s in _IN_LOGISTICS for s in statuses):
        reason = LogisticsReason.PARTIALLYSHIPPED if shipped else (
            LogisticsReason.PENDING_FIRST_SHIPMENT
        )
        return OrderStatus.LOGISTICS, reason.value
    if any(s is L.BACKORDERED for s in statuses):
        return OrderStatus.ONHOLD, HoldReason.BACKORDERED.value
    return OrderStatus.NEW, NewReason.INITIALORDER.value


@dataclass(frozen=True, slots=True)
class OrderState:
    """One order's lifecycle state: its lines (in order), its holds, whether it was rejected."""

    order_id: OrderId
    lines: tuple[LineState, ...]
    holds: tuple[Hold, ...] = ()
    rejected: RejectReason | None = None

    @property
    def status(self) -> OrderStatus:
        return derive_order_status(self.lines, self.holds, self.rejected)[0]

    @property
    def reason(self) -> str:
        return derive_order_status(self.lines, self.holds, self.rejected)[1]

    @property
    def holds_released(self) -> bool:
        """No hold is open: the order's shipment requests may be sent."""
        return not open_holds(self.holds)

    def line(self, line_id: str) -> LineState:
        """The state of line ``line_id``.

        Raises:
            UnknownReferenceError: no such line (the message lists the order's lines).
        """
        for line in self.lines:
            if line.line_id == line_id:
                return line
        known = [ln.line_id for ln in self.lines]
        raise UnknownReferenceError(
            f"order {self.order_id} has no line {line_id!r}; its lines: {', '.join(known)}",
            field="line_id", value=line_id, known=known, where=f"order {self.order_id}",
        )


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order after some moves: the new state, each line's transition (with the stock effect it
    asks for) and every event in order (line events, then the order's own)."""

    order: OrderState
    transitions: tuple[Transition[LineState], ...]
    events: tuple[ev.Event, ...]


def _finish(
    before: OrderState, after: OrderState, transitions: Sequence[Transition[LineState]],
    events: Iterable[ev.Event], at: datetime,
) -> OrderUpdate:
    out = [*events]
    old = derive_order_status(before.lines, before.holds, before.rejected)
    new = derive_order_status(after.lines, after.holds, after.rejected)
    if new != old:
        out.append(ev.OrderStatusChanged(order_id=after.order_id, at=at, reason=new[1],
                                         status=new[0].value, previous=old[0].value))
        if new[0] is OrderStatus.COMPLETE:
            out.append(ev.OrderCompleted(order_id=after.order_id, at=at, reason=new[1]))
        elif new[0] is OrderStatus.REJECTED:
            out.append(ev.OrderRejected(order_id=after.order_id, at=at, reason=new[1]))
    return OrderUpdate(after, tuple(transitions), tuple(out))


def _refuse_if_rejected(order: OrderState, action: str) -> None:
    if order.rejected is not None:
        raise TransitionError(f"order {order.order_id}", OrderStatus.REJECTED.value, action, (),
                              f"rejected: {order.rejected.value}")


def _with_lines(order: OrderState, moved: Sequence[Transition[LineState]]) -> OrderState:
    by_id = {t.state.line_id: t.state for t in moved}
    return replace(order, lines=tuple(by_id.get(ln.line_id, ln) for ln in order.lines))


def act(
    order: OrderState, line_id: str, action: Action | str, *, at: datetime, reason: str = "",
    source: SourceCode | None = None, route: RequestKind | None = None,
    request_id: ev.RequestId | None = None,
) -> OrderUpdate:
    """Move one line of ``order`` (see ``transition``); a cancellation goes through
    ``cancel_lines``, so a bundle is cancelled whole.

    Raises:
        UnknownReferenceError: no such line. TransitionError / InputError: as ``transition``;
        also for any action on a rejected order.
    """
    _refuse_if_rejected(order, str(action))
    line = order.line(line_id)
    if str(action) == Action.CANCEL.value:
        return cancel_lines(order, [line_id], reason, at=at)
    moved = transition(line, action, at=at, reason=reason, source=source, route=route,
                       request_id=request_id)
    return _finish(order, _with_lines(order, [moved]), [moved], moved.events, at)


def cancel_lines(
    order: OrderState, line_ids: Iterable[str], reason: CancelReason | str, *, at: datetime
) -> OrderUpdate:
    """Cancel the named lines, and with each bundle component the rest of its bundle
    (``ASSOCIATEDITEMCANCELLED``). All or nothing: if one of them cannot be cancelled (shipped,
    at the pickup store, already cancelled …) nothing is, and the error names that line.

    Raises:
        UnknownReferenceError: a line id the order does not have.
        TransitionError: a named line, or a component of its bundle, cannot be cancelled.
    """
    _refuse_if_rejected(order, Action.CANCEL.value)
    named = [order.line(line_id) for line_id in dict.fromkeys(line_ids)]
    named_ids = {line.line_id for line in named}
    moves: list[Transition[LineState]] = [
        transition(line, Action.CANCEL, at=at, reason=reason) for line in named
    ]
    bundles = {line.bundle: line.line_id for line in named if line.bundle is not None}
    for line in order.lines:
        if line.bundle not in bundles or line.line_id in named_ids:
            continue
        if line.status is L.CANCELLED:
            continue
        try:
            moves.append(transition(line, Action.CANCEL, at=at,
                                    reason=CancelReason.ASSOCIATEDITEMCANCELLED))
        except TransitionError as err:
            raise TransitionError(
                f"{line.subject} (bundle {line.bundle} with line {bundles[line.bundle]})",
                err.status, err.action, err.allowed,
                "cancelling a bundle component cancels the whole bundle",
            ) from err
    events = [e for move in moves for e in move.events]
    return _finish(order, _with_lines(order, moves), moves, events, at)


def cancel_order(
    order: OrderState, reason: CancelReason | str, *, at: datetime
) -> OrderUpdate:
    """Cancel every line not cancelled yet; refused (nothing changes) if one cannot be."""
    open_ids = [line.line_id for line in order.lines if line.status is not L.CANCELLED]
    if not open_ids:
        raise TransitionError(f"order {order.order_id}", order.status.value,
                              Action.CANCEL.value, (), "every line is cancelled already")
    return cancel_lines(order, open_ids, reason, at=at)


def reject_order(order: OrderState, reason: RejectReason, *, at: datetime) -> OrderUpdate:
    """Reject an order that nothing has happened to yet (every line NEW)."""
    check_time(at, f"order {order.order_id}")
    if order.rejected is not None or any(line.status is not L.NEW for line in order.lines):
        raise TransitionError(f"order {order.order_id}", order.status.value, "reject", (),
                              "only an order whose lines are all NEW can be rejected")
    return _finish(order, replace(order, rejected=RejectReason(reason)), [], [], at)


def place_hold(
    order: OrderState, name: str, reason: HoldReason, *, at: datetime,
    until: datetime | None = None,
) -> OrderUpdate:
    """Place an open hold on the order (see ``holds.add_hold``)."""
    holds, event = add_hold(order.order_id, order.holds, name, reason, at=at, until=until)
    return _finish(order, replace(order, holds=holds), [], [event], at)


def complete_hold(order: OrderState, name: str, *, at: datetime) -> OrderUpdate:
    """The dependency ``name`` is met (payment captured, address validated …)."""
    holds, event = release_hold(order.order_id, order.holds, name, Action.COMPLETE, at=at)
    return _finish(order, replace(order, holds=holds), [], [event], at)


def skip_hold(order: OrderState, name: str, *, at: datetime) -> OrderUpdate:
    """Waive the hold ``name`` (an operations specialist's decision)."""
    holds, event = release_hold(order.order_id, order.holds, name, Action.SKIP, at=at)
    return _finish(order, replace(order, holds=holds), [], [event], at)


def expire_order_holds(order: OrderState, now: datetime) -> OrderUpdate:
    """Time out every open hold whose ``until`` has come (remorse time over …)."""
    check_time(now, f"order {order.order_id}")
    holds, events = expire_holds(order.order_id, order.holds, now)
    return _finish(order, replace(order, holds=holds), [], events, now)
