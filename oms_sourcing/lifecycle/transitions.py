"""``transition(state, action, ...)``: one move of a line or a shipment request, checked against
the tables in ``table``.

A move the table allows returns a ``Transition``: the new state, the events it caused and the
stock effect it asks the service for. A move it does not allow raises ``TransitionError`` naming
the state, the action and the actions that would be allowed; nothing changes (states are frozen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast, overload

from oms_sourcing.domain import SourceCode
from oms_sourcing.errors import InputError
from oms_sourcing.lifecycle import events as ev
from oms_sourcing.lifecycle.states import LineState, RequestState
from oms_sourcing.lifecycle.statuses import (
    Action,
    CancelReason,
    HoldReason,
    LineStatus,
    RequestKind,
    RequestStatus,
    StockEffect,
)
from oms_sourcing.lifecycle.table import (
    LINE_TRANSITIONS,
    REQUEST_TRANSITIONS,
    Guard,
    Rule,
    refusal_note,
)

__all__ = [
    "Transition",
    "TransitionError",
    "allowed_actions",
    "check_time",
    "line_status_after",
    "new_request",
    "transition",
]

S = TypeVar("S", LineState, RequestState)
_Table = Mapping[tuple[Any, Action], Rule]

_DECLINED = "PICKDECLINED"


class TransitionError(InputError):
    """A move the transition table does not allow from the current state. Nothing changed.

    ``subject`` names what was asked to move (``line L1 of order O-1``), ``status`` where it is,
    ``action`` what was asked and ``allowed`` the actions that would have been accepted.
    """

    def __init__(
        self, subject: str, status: str, action: str, allowed: tuple[str, ...], note: str = ""
    ) -> None:
        choices = ", ".join(allowed) if allowed else "none (final status)"
        why = f" ({note})" if note else ""
        super().__init__(
            f"{subject} is {status}: {action!r} is not allowed{why}; allowed: {choices}",
            field="action", value=action, expected=f"one of: {choices}", where=subject,
        )
        self.subject = subject
        self.status = status
        self.action = action
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    """The result of an allowed move."""

    state: S
    events: tuple[ev.Event, ...]
    effect: StockEffect = StockEffect.NONE


def check_time(at: datetime, where: str) -> None:
    """``at`` must be timezone-aware, as every time in the library."""
    if at.tzinfo is None:
        raise InputError(
            f"{where}: the time {at.isoformat()!r} has no time zone; pass an aware datetime",
            field="at", value=at, expected="a timezone-aware datetime", where=where,
        )


def _blocked(rule: Rule, kind: RequestKind | None, exchanged: bool) -> bool:
    if rule.only is not None and kind not in rule.only:
        return True
    return rule.guard is Guard.NOT_EXCHANGED and exchanged


def _allowed(
    table: _Table, status: StrEnum, kind: RequestKind | None,
    exchanged: bool,
) -> tuple[str, ...]:
    return tuple(sorted(
        action.value for (st, action), rule in table.items()
        if st is status and not _blocked(rule, kind, exchanged)
    ))


def allowed_actions(state: LineState | RequestState) -> tuple[str, ...]:
    """The actions ``state`` accepts now, in alphabetical order."""
    if isinstance(state, LineState):
        return _allowed(LINE_TRANSITIONS, state.status, state.route, state.exchanged)
    return _allowed(REQUEST_TRANSITIONS, state.status, state.kind, False)


def _rule(
    table: _Table, subject: str, status: StrEnum,
    action: Action | str, kind: RequestKind | None, exchanged: bool,
) -> Rule:
    allowed = _allowed(table, status, kind, exchanged)
    try:
        act = Action(action)
    except ValueError:
        raise TransitionError(subject, status.value, str(action), allowed,
                              "no such action") from None
    rule = table.get((status, act))
    if rule is None:
        raise TransitionError(subject, status.value, act.value, allowed,
                              refusal_note(status, act))
    if _blocked(rule, kind, exchanged):
        route = f"on route {kind.value}" if kind is not None else "not routed yet"
        note = rule.note if rule.guard is not None else f"{route}: {rule.note}"
        raise TransitionError(subject, status.value, act.value, allowed, note)
    return rule


def _line(
    line: LineState, action: Action | str, *, at: datetime, reason: str, source: SourceCode | None,
    route: RequestKind | None, request_id: ev.RequestId | None,
) -> Transition[LineState]:
    rule = _rule(LINE_TRANSITIONS, line.subject, line.status, action, line.route, line.exchanged)
    check_time(at, line.subject)
    act = Action(action)
    out_reason, src, rte, req = reason, line.source, line.route, line.request_id
    attempts, declined, exchanged = line.attempts, line.declined_by, line.exchanged
    if act in (Action.SOURCE, Action.RESOURCE, Action.PRESHIP):
        if not source:
            raise InputError(
                f"{line.subject}: {act.value!r} needs the source that serves the line",
                field="source", value=source, expected="a source code", where=line.subject,
            )
        if source in line.declined_by:
            raise InputError(
                f"{line.subject}: {source} declined this line before; source it elsewhere "
                f"(declined by {', '.join(line.declined_by)})",
                field="source", value=source, expected="a source that has not declined the line",
                where=line.subject,
            )
        src, req = source, None
        rte = RequestKind.PRESHIPPED if act is Action.PRESHIP else (
            route or line.route or RequestKind.SHIP
        )
    elif act is Action.REQUEST_SHIPMENT:
        if not request_id:
            raise InputError(
                f"{line.subject}: 'request_shipment' needs the id of the shipment request",
                field="request_id", value=request_id, expected="a request id", where=line.subject,
            )
        req = request_id
    elif act is Action.CANCEL:
        if reason not in {r.value for r in CancelReason}:
            raise InputError(
                f"{line.subject}: cancelling needs a reason, one of "
                f"{', '.join(r.value for r in CancelReason)}; got {str(reason)!r}",
                field="reason", value=reason, expected="a CancelReason", where=line.subject,
            )
    elif act is Action.HOLD:
        if reason and reason not in {r.value for r in HoldReason}:
            raise InputError(
                f"{line.subject}: {str(reason)!r} is not a hold reason; use one of "
                f"{', '.join(r.value for r in HoldReason)}",
                field="reason", value=reason, expected="a HoldReason", where=line.subject,
            )
        out_reason = reason or HoldReason.WAITING_FOR_STOCK
    elif act is Action.BACKORDER:
        out_reason = reason or HoldReason.BACKORDERED
    elif act is Action.DECLINE:
        if line.source is not None and line.source not in declined:
            declined = (*declined, line.source)
        out_reason, attempts, src, req = reason or _DECLINED, attempts + 1, None, None
    elif act is Action.EXCHANGE:
        exchanged = True
    new = replace(
        line, status=LineStatus(rule.target), reason=str(out_reason), route=rte, source=src,
        request_id=req, attempts=attempts, declined_by=declined, exchanged=exchanged,
    )
    # a return may arrive at any source that accepts returns; a decline names who declined
    event_source = source if act is Action.RETURN_RECEIVED and source else (
        new.source if new.source is not None else line.source
    )
    event = cast(type[ev.LineEvent], rule.event)(
        order_id=line.order_id, at=at, reason=new.reason,
        line_id=line.line_id, status=new.status.value, source=event_source,
        request_id=new.request_id if new.request_id is not None else line.request_id,
        attempts=new.attempts,
    )
    return Transition(new, (event,), rule.effect)


def _request(
    request: RequestState, action: Action | str, *, at: datetime, reason: str
) -> Transition[RequestState]:
    rule = _rule(REQUEST_TRANSITIONS, request.subject, request.status, action, request.kind,
                 False)
    check_time(at, request.subject)
    new = replace(request, status=RequestStatus(rule.target), reason=reason)
    event = cast(type[ev.RequestEvent], rule.event)(
        order_id=request.order_id, at=at, reason=reason,
        request_id=request.request_id, kind=request.kind.value, source=request.source,
        status=new.status.value, line_ids=request.line_ids,
    )
    return Transition(new, (event,), rule.effect)


@overload
def transition(
    state: LineState, action: Action | str, *, at: datetime, reason: str = "",
    source: SourceCode | None = None, route: RequestKind | None = None,
    request_id: ev.RequestId | None = None,
) -> Transition[LineState]: ...


@overload
def transition(
    state: RequestState, action: Action | str, *, at: datetime, reason: str = "",
    source: SourceCode | None = None, route: RequestKind | None = None,
    request_id: ev.RequestId | None = None,
) -> Transition[RequestState]: ...


def transition(
    state: LineState | RequestState, action: Action | str, *, at: datetime, reason: str = "",
    source: SourceCode | None = None, route: RequestKind | None = None,
    request_id: ev.RequestId | None = None,
) -> Transition[LineState] | Transition[RequestState]:
    """Move a line or a shipment request by ``action`` at time ``at``.

    Args:
        state: the line's or the request's current state (never changed).
        action: an ``Action`` or its value (``"cancel"``).
        at: when it happens (timezone-aware; time is passed in, never read).
        reason: why (a ``CancelReason`` is required to cancel a line; holds, backorders and
            declines have defaults).
        source: the source for ``source`` / ``resource`` / ``preship`` (required there), or the
            source that received a return (``return_received``).
        route: for ``source`` / ``resource``: the kind of request that will serve the line
            (default: as before, else ``ship``).
        request_id: for ``request_shipment``: the request the line is put on (required there).

    Returns:
        The new state, the events (past tense, one per move) and the stock effect asked for.

    Raises:
        TransitionError: the table does not allow ``action`` now; the message names the status,
            the action and the allowed actions.
        InputError: a required argument is missing or wrong (a source that declined the line
            before, a cancellation without a reason, a naive ``at``).
    """
    if isinstance(state, LineState):
        return _line(state, action, at=at, reason=reason, source=source, route=route,
                     request_id=request_id)
    return _request(state, action, at=at, reason=reason)


def new_request(
    request: RequestState, *, at: datetime, awaiting_transfer: bool = False
) -> Transition[RequestState]:
    """Open a shipment request: ``REQUESTED``, or ``PENDING_ARRIVAL`` for a pickup request whose
    goods come by transfer. Emits ``ShipmentRequested``.

    Raises:
        InputError: ``request`` is not a fresh pickup request and ``awaiting_transfer`` is set, or
            ``at`` is naive.
    """
    check_time(at, request.subject)
    if awaiting_transfer and request.kind is not RequestKind.PICKUP:
        raise InputError(
            f"{request.subject}: only a pickup request waits for a transfer",
            field="awaiting_transfer", value=True, expected="False for this kind",
            where=request.subject,
        )
    status = RequestStatus.PENDING_ARRIVAL if awaiting_transfer else RequestStatus.REQUESTED
    new = replace(request, status=status)
    event = ev.ShipmentRequested(
        order_id=request.order_id, at=at, request_id=request.request_id,
        kind=request.kind.value, source=request.source, status=status.value,
        line_ids=request.line_ids,
    )
    return Transition(new, (event,))


def line_status_after(line: LineState, action: Action) -> LineStatus | None:
    """The status ``action`` would lead ``line`` to, or ``None`` if it is not allowed now."""
    rule = LINE_TRANSITIONS.get((line.status, action))
    if rule is None or _blocked(rule, line.route, line.exchanged):
        return None
    return LineStatus(rule.target)
