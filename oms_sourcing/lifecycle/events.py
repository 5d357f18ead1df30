"""Events: frozen values, named in the past tense, that say what happened.

Every transition returns the events it caused; the service writes them to the outbox in the same
transaction as the change. Each event carries the ids it concerns, the time ``at`` (passed in,
never read from a clock) and a reason (an enum value of ``statuses``, or ``""``).

Line events share one shape (``LineEvent``): the class says what happened, ``status`` where the
line is now, ``source`` and ``request_id`` what served it at that moment. Shipment-request events
share ``RequestEvent``'s shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NewType

from oms_sourcing.domain import LineId, OrderId, Sku, SourceCode

__all__ = [
    "Event",
    "HoldReleased",
    "LineAccepted",
    "LineArrived",
    "LineBackordered",
    "LineCancelled",
    "LineDeclined",
    "LineEvent",
    "LineExchanged",
    "LineHeld",
    "LinePickedUp",
    "LinePreshipped",
    "LineReadyForPickup",
    "LineRequested",
    "LineReshipped",
    "LineResourced",
    "LineSentToStore",
    "LineShipped",
    "LineSourced",
    "OrderCompleted",
    "OrderHeld",
    "OrderRejected",
    "OrderStatusChanged",
    "ReadyForPickup",
    "RequestAccepted",
    "RequestArrived",
    "RequestCancelled",
    "RequestDeclined",
    "RequestEvent",
    "RequestId",
    "RequestPartiallyShipped",
    "RequestPickedUp",
    "RequestShipped",
    "ReturnReceived",
    "ReturnRequested",
    "ShipmentRequested",
    "StockChanged",
]

RequestId = NewType("RequestId", str)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every lifecycle event."""

    order_id: OrderId
    at: datetime
    reason: str = ""


# --- lines -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LineEvent(Event):
    """Something happened to one order line; ``status`` is the line's status after it."""

    line_id: LineId
    status: str
    source: SourceCode | None = None
    request_id: RequestId | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LineSourced(LineEvent):
    """A source was chosen for the line (and its stock is to be reserved)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinePreshipped(LineEvent):
    """The line was handed over already; sourcing is skipped."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineBackordered(LineEvent):
    """The line is short of stock and waits for stock to arrive."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineHeld(LineEvent):
    """The line waits for a later attempt; ``reason`` says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineRequested(LineEvent):
    """The line was put on a shipment request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineAccepted(LineEvent):
    """The line's source accepted its request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineDeclined(LineEvent):
    """The line's source declined it; ``attempts`` counts the declines so far."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineResourced(LineEvent):
    """The line was sourced again after a decline, from ``source``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineShipped(LineEvent):
    """The line left its source for the customer (or was confirmed, if pre-shipped)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineSentToStore(LineEvent):
    """Ship-to-store: the line left its source for the pickup store."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineArrived(LineEvent):
    """Ship-to-store: the line arrived at the pickup store."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineReadyForPickup(LineEvent):
    """The pickup store prepared the line from its own stock."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinePickedUp(LineEvent):
    """The customer collected the line at the pickup store."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineCancelled(LineEvent):
    """The line was cancelled; ``reason`` says why (``CUSTOMERREQ``, ``OUTOFSTOCK`` …)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnRequested(LineEvent):
    """The customer announced the return of a shipped line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnReceived(LineEvent):
    """The return of the line was received (at ``source``, a source that accepts returns)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineExchanged(LineEvent):
    """The line was exchanged for another item (a new linked order carries the replacement)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LineReshipped(LineEvent):
    """The carrier lost the parcel; a new zero-value linked order ships the line again."""


# --- shipment requests -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestEvent(Event):
    """Something happened to one shipment request; ``status`` is its status after it."""

    request_id: RequestId
    kind: str
    source: SourceCode
    status: str
    line_ids: tuple[LineId, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentRequested(RequestEvent):
    """A shipment request was sent to ``source``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestAccepted(RequestEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDeclined(RequestEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestShipped(RequestEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestPartiallyShipped(RequestEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestArrived(RequestEvent):
    """A pickup request's transferred goods arrived at the store."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadyForPickup(RequestEvent):
    """A pickup request is ready: the customer can collect it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestPickedUp(RequestEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestCancelled(RequestEvent):
    pass


# --- orders and holds ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderHeld(Event):
    """A hold named ``hold`` was placed on the order; ``until`` is when it times out, if ever."""

    hold: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldReleased(Event):
    """A hold stopped blocking the order; ``status`` says how (completed, skipped, timed-out)."""

    hold: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusChanged(Event):
    """The order's derived status changed from ``previous`` (status/reason) to ``status``."""

    status: str
    previous: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCompleted(Event):
    """Every line of the order reached a final status; ``reason`` is FULLYSHIPPED etc."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(Event):
    pass


# --- stock -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StockChanged:
    """Stock of ``sku`` at ``source`` changed by ``delta`` units (on hand after: ``on_hand``).

    Emitted by the service when it applies a feed, a shipment or a restock; not tied to an order.
    """

    source: SourceCode
    sku: Sku
    delta: Decimal
    on_hand: Decimal
    at: datetime
    reason: str = ""
