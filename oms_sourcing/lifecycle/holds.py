"""Holds: pre-shipment dependencies an order waits for (remorse time, manual approval, address
validation, payment capture, or a name of your own).

A hold is a value. It is ``open`` until it is completed, skipped or timed out; while any hold of
an order is open, the order is ``ONHOLD`` with that hold's reason and its shipment requests wait.
A hold with ``until`` times out at that time; the time is passed in (``expire``), never read.
These functions work on an order's tuple of holds; ``orders`` wraps them for an ``OrderState``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from oms_sourcing.domain import OrderId
from oms_sourcing.errors import InputError, UnknownReferenceError
from oms_sourcing.lifecycle import events as ev
from oms_sourcing.lifecycle.statuses import Action, HoldReason, HoldStatus
from oms_sourcing.lifecycle.table import HOLD_TRANSITIONS
from oms_sourcing.lifecycle.transitions import TransitionError, check_time

__all__ = ["Hold", "add_hold", "expire_holds", "open_holds", "release_hold"]


@dataclass(frozen=True, slots=True)
class Hold:
    """One named hold of an order.

    ``name`` is unique within the order (``"remorse"``, ``"fraud-review"`` …); ``reason`` is what
    the order's status shows while the hold is open; ``until``: when it times out, if ever.
    """

    name: str
    reason: HoldReason
    status: HoldStatus = HoldStatus.OPEN
    placed_at: datetime | None = None
    until: datetime | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status is HoldStatus.OPEN


def open_holds(holds: Sequence[Hold]) -> tuple[Hold, ...]:
    return tuple(h for h in holds if h.is_open)


def add_hold(
    order_id: OrderId, holds: Sequence[Hold], name: str, reason: HoldReason, *, at: datetime,
    until: datetime | None = None,
) -> tuple[tuple[Hold, ...], ev.OrderHeld]:
    """Place a new open hold. Returns the holds with it appended and an ``OrderHeld`` event.

    Raises:
        InputError: the name is empty or already used by a hold of this order, ``until`` is
            before ``at``, or a time is naive.
    """
    where = f"order {order_id}"
    check_time(at, where)
    if until is not None:
        check_time(until, where)
        if until < at:
            raise InputError(
                f"{where}: hold {name!r} would time out at {until.isoformat()}, before it is "
                f"placed at {at.isoformat()}",
                field="until", value=until, expected=f">= {at.isoformat()}", where=where,
            )
    if not name:
        raise InputError(f"{where}: a hold needs a name", field="name", value=name, where=where)
    if any(h.name == name for h in holds):
        raise InputError(
            f"{where} has a hold named {name!r} already; give the new one another name",
            field="name", value=name, expected="a name not used by this order", where=where,
        )
    hold = Hold(name, HoldReason(reason), placed_at=at, until=until)
    event = ev.OrderHeld(order_id=order_id, at=at, reason=hold.reason.value, hold=name,
                         until=until)
    return (*holds, hold), event


def _find(order_id: OrderId, holds: Sequence[Hold], name: str) -> int:
    for i, hold in enumerate(holds):
        if hold.name == name:
            return i
    known = [h.name for h in holds]
    raise UnknownReferenceError(
        f"order {order_id} has no hold named {name!r}; its holds: "
        f"{', '.join(known) if known else 'none'}",
        field="hold", value=name, known=known, where=f"order {order_id}",
    )


def release_hold(
    order_id: OrderId, holds: Sequence[Hold], name: str, action: Action, *, at: datetime
) -> tuple[tuple[Hold, ...], ev.HoldReleased]:
    """Complete, skip or time out (``action``) the open hold ``name``.

    Raises:
        UnknownReferenceError: the order has no hold of that name (the message lists its holds).
        TransitionError: the hold is not open any more, or it is timed out before its ``until``
            (or has none).
    """
    i = _find(order_id, holds, name)
    hold = holds[i]
    subject = f"hold {name!r} of order {order_id}"
    check_time(at, subject)
    allowed = tuple(sorted(a.value for (st, a) in HOLD_TRANSITIONS if st is hold.status))
    rule = HOLD_TRANSITIONS.get((hold.status, Action(action)))
    if rule is None:
        raise TransitionError(subject, hold.status.value, Action(action).value, allowed)
    if action is Action.TIME_OUT and (hold.until is None or at < hold.until):
        when = "it has no time-out" if hold.until is None else (
            f"not before {hold.until.isoformat()}"
        )
        raise TransitionError(subject, hold.status.value, action.value,
                              tuple(a for a in allowed if a != action.value), when)
    new = replace(hold, status=HoldStatus(rule.target), closed_at=at)
    event = ev.HoldReleased(order_id=order_id, at=at, reason=hold.reason.value, hold=name,
                            status=new.status.value)
    return (*holds[:i], new, *holds[i + 1:]), event


def expire_holds(
    order_id: OrderId, holds: Sequence[Hold], now: datetime
) -> tuple[tuple[Hold, ...], tuple[ev.HoldReleased, ...]]:
    """Time out every open hold whose ``until`` is at or before ``now``; the rest stay."""
    current = tuple(holds)
    events: list[ev.HoldReleased] = []
    for hold in holds:
        if hold.is_open and hold.until is not None and hold.until <= now:
            current, event = release_hold(order_id, current, hold.name, Action.TIME_OUT, at=now)
            events.append(event)
    return current, tuple(events)
