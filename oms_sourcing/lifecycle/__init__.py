"""The order lifecycle: statuses, reasons, one transition table per kind of state, events.

Pure: no I/O, no clock (every ``at`` is passed in), no stock. A transition says which stock effect
it asks for (``StockEffect``); the service applies it. The pieces:

- ``statuses``: ``LineStatus``, ``RequestStatus``, ``OrderStatus``, ``HoldStatus``, reasons,
  ``Action`` (the verbs) and ``StockEffect``;
- ``table``: ``LINE_TRANSITIONS``, ``REQUEST_TRANSITIONS``, ``HOLD_TRANSITIONS``, as data;
- ``states``: ``LineState`` and ``RequestState`` (frozen);
- ``transitions``: ``transition(state, action, at=...)`` -> ``Transition`` (new state, events,
  stock effect), or ``TransitionError`` naming the status, the action and the allowed actions;
- ``events``: past-tense values (``LineShipped``, ``RequestDeclined``, ``OrderHeld`` …);
- ``holds`` and ``orders``: holds as values, the derived order status, bundle-wide cancellation.
"""

from oms_sourcing.lifecycle.events import Event, LineEvent, RequestEvent, RequestId, StockChanged
from oms_sourcing.lifecycle.holds import Hold
from oms_sourcing.lifecycle.orders import (
    OrderState,
    OrderUpdate,
    act,
    cancel_lines,
    cancel_order,
    complete_hold,
    derive_order_status,
    expire_order_holds,
    place_hold,
    reject_order,
    skip_hold,
)
from oms_sourcing.lifecycle.states import LineState, RequestState, initial_lines
from oms_sourcing.lifecycle.statuses import (
    Action,
    CancelReason,
    CompleteReason,
    HoldReason,
    HoldStatus,
    LineStatus,
    LogisticsReason,
    NewReason,
    OrderStatus,
    RejectReason,
    RequestKind,
    RequestStatus,
    StockEffect,
)
from oms_sourcing.lifecycle.table import (
    FINAL_LINE_STATUSES,
    FINAL_REQUEST_STATUSES,
    HOLD_TRANSITIONS,
    LINE_TRANSITIONS,
    POST_SALES_ACTIONS,
    REQUEST_TRANSITIONS,
    Rule,
    status_table_markdown,
)
from oms_sourcing.lifecycle.transitions import (
    Transition,
    TransitionError,
    allowed_actions,
    line_status_after,
    new_request,
    transition,
)

__all__ = [
    "FINAL_LINE_STATUSES",
    "FINAL_REQUEST_STATUSES",
    "HOLD_TRANSITIONS",
    "LINE_TRANSITIONS",
    "POST_SALES_ACTIONS",
    "REQUEST_TRANSITIONS",
    "Action",
    "CancelReason",
    "CompleteReason",
    "Event",
    "Hold",
    "HoldReason",
    "HoldStatus",
    "LineEvent",
    "LineState",
    "LineStatus",
    "LogisticsReason",
    "NewReason",
    "OrderState",
    "OrderStatus",
    "OrderUpdate",
    "RejectReason",
    "RequestEvent",
    "RequestId",
    "RequestKind",
    "RequestState",
    "RequestStatus",
    "Rule",
    "StockChanged",
    "StockEffect",
    "Transition",
    "TransitionError",
    "act",
    "allowed_actions",
    "cancel_lines",
    "cancel_order",
    "complete_hold",
    "derive_order_status",
    "expire_order_holds",
    "initial_lines",
    "line_status_after",
    "new_request",
    "place_hold",
    "reject_order",
    "skip_hold",
    "status_table_markdown",
    "transition",
]
