"""The transition tables: every allowed move, as data.

``LINE_TRANSITIONS[(status, action)]`` is the ``Rule`` for that move of an order line;
``REQUEST_TRANSITIONS`` the same for shipment requests, ``HOLD_TRANSITIONS`` for holds. A pair that
is not in a table is refused. A rule may narrow its move to some routes (``only``: the kinds of
request that serve the line) or add a guard (a line is exchanged at most once).

``status_table_markdown()`` renders the tables; the README's "Order lifecycle" section is that
text, and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from oms_sourcing.lifecycle import events as ev
from oms_sourcing.lifecycle.statuses import (
    Action,
    HoldStatus,
    LineStatus,
    RequestKind,
    RequestStatus,
    StockEffect,
)

__all__ = [
    "FINAL_LINE_STATUSES",
    "FINAL_REQUEST_STATUSES",
    "HOLD_TRANSITIONS",
    "LINE_TRANSITIONS",
    "POST_SALES_ACTIONS",
    "REQUEST_TRANSITIONS",
    "Guard",
    "Rule",
    "refusal_note",
    "status_table_markdown",
]


class Guard(StrEnum):
    """A condition on the state beyond its status."""

    NOT_EXCHANGED = "not exchanged before"


@dataclass(frozen=True, slots=True)
class Rule:
    """One allowed move: the status it leads to, the event it emits, the stock effect it asks for.

    ``only``: the move is allowed only for these routes / request kinds (``None``: for all).
    ``note``: why the move is narrowed, quoted when it is refused.
    """

    target: StrEnum
    event: type[ev.Event]
    effect: StockEffect = StockEffect.NONE
    only: frozenset[RequestKind] | None = None
    guard: Guard | None = None
    note: str = ""


L, A, K, E = LineStatus, Action, RequestKind, StockEffect
_SHIP_ONLY = frozenset({K.SHIP})
_NOT_PICKUP = frozenset({K.SHIP, K.TRANSFER})
_PICKUP_NEW = "a pickup request can be cancelled only while it is new"


def _post_sales(status: LineStatus) -> dict[tuple[LineStatus, Action], Rule]:
    rules = {
        (status, A.EXCHANGE): Rule(status, ev.LineExchanged, guard=Guard.NOT_EXCHANGED,
                                   note="a line exchanged once cannot be exchanged again"),
    }
    if status in (L.SHIPPED, L.PICKED_UP):
        rules[(status, A.REQUEST_RETURN)] = Rule(L.RETURN_REQUESTED, ev.ReturnRequested)
        rules[(status, A.RETURN_RECEIVED)] = Rule(L.RETURNED, ev.ReturnReceived, E.RESTOCK)
    if status is L.SHIPPED:
        rules[(status, A.RESHIP)] = Rule(L.SHIPPED, ev.LineReshipped)
    if status is L.RETURN_REQUESTED:
        rules[(status, A.RETURN_RECEIVED)] = Rule(L.RETURNED, ev.ReturnReceived, E.RESTOCK)
    return rules


LINE_TRANSITIONS: Mapping[tuple[LineStatus, Action], Rule] = {
    (L.NEW, A.SOURCE): Rule(L.SOURCED, ev.LineSourced, E.RESERVE),
    (L.NEW, A.PRESHIP): Rule(L.PRESHIPPED, ev.LinePreshipped),
    (L.NEW, A.BACKORDER): Rule(L.BACKORDERED, ev.LineBackordered),
    (L.NEW, A.HOLD): Rule(L.HELD, ev.LineHeld),
    (L.NEW, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled),
    (L.SOURCED, A.REQUEST_SHIPMENT): Rule(L.SHIPMENT_REQUESTED, ev.LineRequested),
    (L.SOURCED, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled, E.RELEASE),
    (L.BACKORDERED, A.SOURCE): Rule(L.SOURCED, ev.LineSourced, E.RESERVE),
    (L.BACKORDERED, A.HOLD): Rule(L.HELD, ev.LineHeld),
    (L.BACKORDERED, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled),
    (L.HELD, A.SOURCE): Rule(L.SOURCED, ev.LineSourced, E.RESERVE),
    (L.HELD, A.BACKORDER): Rule(L.BACKORDERED, ev.LineBackordered),
    (L.HELD, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled),
    (L.PRESHIPPED, A.SHIP): Rule(L.SHIPPED, ev.LineShipped, E.SHIP),
    (L.PRESHIPPED, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled),
    (L.SHIPMENT_REQUESTED, A.ACCEPT): Rule(L.ACCEPTED, ev.LineAccepted),
    (L.SHIPMENT_REQUESTED, A.DECLINE): Rule(L.DECLINED, ev.LineDeclined, E.RELEASE),
    (L.SHIPMENT_REQUESTED, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled, E.RELEASE),
    (L.ACCEPTED, A.SHIP): Rule(L.SHIPPED, ev.LineShipped, E.SHIP, only=_SHIP_ONLY,
                               note="a pickup line is made ready, a ship-to-store line is "
                                    "shipped to the store"),
    (L.ACCEPTED, A.SHIP_TO_STORE): Rule(L.PENDING_ARRIVAL, ev.LineSentToStore, E.SHIP,
                                        only=frozenset({K.TRANSFER}),
                                        note="only ship-to-store lines go to a store"),
    (L.ACCEPTED, A.MARK_READY): Rule(L.READY_FOR_PICKUP, ev.LineReadyForPickup,
                                     only=frozenset({K.PICKUP}),
                                     note="only the pickup store makes a line ready"),
    (L.ACCEPTED, A.DECLINE): Rule(L.DECLINED, ev.LineDeclined, E.RELEASE),
    (L.ACCEPTED, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled, E.RELEASE, only=_NOT_PICKUP,
                                 note=_PICKUP_NEW),
    (L.DECLINED, A.RESOURCE): Rule(L.RESOURCED, ev.LineResourced, E.RESERVE),
    (L.DECLINED, A.BACKORDER): Rule(L.BACKORDERED, ev.LineBackordered),
    (L.DECLINED, A.HOLD): Rule(L.HELD, ev.LineHeld),
    (L.DECLINED, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled),
    (L.RESOURCED, A.REQUEST_SHIPMENT): Rule(L.SHIPMENT_REQUESTED, ev.LineRequested),
    (L.RESOURCED, A.CANCEL): Rule(L.CANCELLED, ev.LineCancelled, E.RELEASE),
    (L.PENDING_ARRIVAL, A.MARK_ARRIVED): Rule(L.READY_FOR_PICKUP, ev.LineArrived, E.RECEIVE),
    (L.READY_FOR_PICKUP, A.PICK_UP): Rule(L.PICKED_UP, ev.LinePickedUp, E.SHIP),
    **_post_sales(L.SHIPPED),
    **_post_sales(L.PICKED_UP),
    **_post_sales(L.RETURN_REQUESTED),
    **_post_sales(L.RETURNED),
}

# The order is complete once every line is in one of these; from here only post-sales actions.
FINAL_LINE_STATUSES = frozenset(
    {L.SHIPPED, L.PICKED_UP, L.RETURN_REQUESTED, L.RETURNED, L.CANCELLED}
)
POST_SALES_ACTIONS = frozenset({A.REQUEST_RETURN, A.RETURN_RECEIVED, A.EXCHANGE, A.RESHIP})

R = RequestStatus
_ANSWERED_BY_SOURCE = frozenset({K.SHIP, K.TRANSFER, K.PICKUP})
_ANSWER = "a pre-shipped request is answered shipped or cancelled"

REQUEST_TRANSITIONS: Mapping[tuple[RequestStatus, Action], Rule] = {
    (R.REQUESTED, A.ACCEPT): Rule(R.ACCEPTED, ev.RequestAccepted, only=_ANSWERED_BY_SOURCE,
                                  note=_ANSWER),
    (R.REQUESTED, A.DECLINE): Rule(R.DECLINED, ev.RequestDeclined, only=_ANSWERED_BY_SOURCE,
                                   note=_ANSWER),
    (R.REQUESTED, A.SHIP): Rule(R.SHIPPED, ev.RequestShipped, only=frozenset({K.PRESHIPPED}),
                                note="a request is accepted before it ships"),
    (R.REQUESTED, A.CANCEL): Rule(R.CANCELLED, ev.RequestCancelled),
    (R.PENDING_ARRIVAL, A.MARK_ARRIVED): Rule(R.READY_FOR_PICKUP, ev.RequestArrived),
    (R.PENDING_ARRIVAL, A.CANCEL): Rule(R.CANCELLED, ev.RequestCancelled),
    (R.ACCEPTED, A.SHIP): Rule(R.SHIPPED, ev.RequestShipped, only=_NOT_PICKUP,
                               note="a pickup request is made ready, then picked up"),
    (R.ACCEPTED, A.SHIP_PART): Rule(R.PARTIALLY_SHIPPED, ev.RequestPartiallyShipped,
                                    only=_NOT_PICKUP,
                                    note="a pickup request is made ready, then picked up"),
    (R.ACCEPTED, A.MARK_READY): Rule(R.READY_FOR_PICKUP, ev.ReadyForPickup,
                                     only=frozenset({K.PICKUP}),
                                     note="only a pickup request is made ready"),
    (R.ACCEPTED, A.DECLINE): Rule(R.DECLINED, ev.RequestDeclined),
    (R.ACCEPTED, A.CANCEL): Rule(R.CANCELLED, ev.RequestCancelled, only=_NOT_PICKUP,
                                 note=_PICKUP_NEW),
    (R.PARTIALLY_SHIPPED, A.SHIP_PART): Rule(R.PARTIALLY_SHIPPED, ev.RequestPartiallyShipped),
    (R.PARTIALLY_SHIPPED, A.SHIP): Rule(R.SHIPPED, ev.RequestShipped),
    (R.READY_FOR_PICKUP, A.PICK_UP): Rule(R.PICKED_UP, ev.RequestPickedUp),
}

FINAL_REQUEST_STATUSES = frozenset({R.SHIPPED, R.PICKED_UP, R.DECLINED, R.CANCELLED})

H = HoldStatus
HOLD_TRANSITIONS: Mapping[tuple[HoldStatus, Action], Rule] = {
    (H.OPEN, A.COMPLETE): Rule(H.COMPLETED, ev.HoldReleased),
    (H.OPEN, A.SKIP): Rule(H.SKIPPED, ev.HoldReleased),
    (H.OPEN, A.TIME_OUT): Rule(H.TIMED_OUT, ev.HoldReleased),
}

# Why a move that is not in a table is refused, where the table alone does not say it clearly.
_SHIPPED_LINES = frozenset({L.SHIPPED, L.PICKED_UP, L.RETURN_REQUESTED, L.RETURNED})


def refusal_note(status: StrEnum, action: Action) -> str:
    """A sentence on why ``action`` is never allowed from ``status`` ("" if nothing to add)."""
    if isinstance(status, LineStatus):
        if action is A.CANCEL and status in _SHIPPED_LINES:
            return "a line cannot be cancelled after shipment; return it instead"
        if action is A.CANCEL and status in (L.PENDING_ARRIVAL, L.READY_FOR_PICKUP):
            return "the line was sent to the pickup store; " + _PICKUP_NEW
        if action is A.CANCEL and status is L.CANCELLED:
            return "the line is cancelled already"
        if action in (A.REQUEST_RETURN, A.RETURN_RECEIVED, A.EXCHANGE, A.RESHIP) and (
            status not in _SHIPPED_LINES
        ):
            return "only shipped lines can be returned, exchanged or reshipped"
    if isinstance(status, RequestStatus) and action is A.CANCEL and status in (
        R.SHIPPED, R.PARTIALLY_SHIPPED
    ):
        return "a request cannot be cancelled after shipment"
    return ""


def status_table_markdown() -> str:
    """The transition tables as Markdown (the README shows exactly this text)."""
    out: list[str] = []
    for title, table in (
        ("Order lines", LINE_TRANSITIONS),
        ("Shipment requests", REQUEST_TRANSITIONS),
        ("Holds", HOLD_TRANSITIONS),
    ):
        out.append(f"**{title}**\n")
        out.append("| from | action | to | stock effect | only for |")
        out.append("|---|---|---|---|---|")
        for (status, action), rule in table.items():
            only = ", ".join(sorted(k.value for k in rule.only)) if rule.only else ""
            if rule.guard is not None:
                only = f"{only}; {rule.guard.value}" if only else rule.guard.value
            effect = "" if rule.effect is E.NONE else rule.effect.value
            out.append(f"| {status.value} | `{action.value}` | {rule.target.value} | {effect} "
                       f"| {only} |")
        out.append("")
    return "\n".join(out)
