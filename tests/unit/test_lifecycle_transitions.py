"""Every move of the transition tables, allowed and refused, generated from the tables."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from oms_sourcing.domain import LineId, OrderId, SourceCode
from oms_sourcing.errors import InputError, OmsSourcingError
from oms_sourcing.lifecycle import (
    FINAL_LINE_STATUSES,
    FINAL_REQUEST_STATUSES,
    LINE_TRANSITIONS,
    POST_SALES_ACTIONS,
    REQUEST_TRANSITIONS,
    Action,
    CancelReason,
    LineState,
    LineStatus,
    RequestId,
    RequestKind,
    RequestState,
    RequestStatus,
    Rule,
    StockEffect,
    TransitionError,
    allowed_actions,
    line_status_after,
    new_request,
    transition,
)
from oms_sourcing.lifecycle import events as ev

AT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
ORDER = OrderId("O-KETTLE")
LINE = LineId("L1")
LINE_ACTIONS = [a for a in Action if a not in (Action.COMPLETE, Action.SKIP, Action.TIME_OUT)]


def route_for(rule: Rule | None) -> RequestKind:
    return sorted(rule.only)[0] if rule is not None and rule.only else RequestKind.SHIP


def line_in(status: LineStatus, route: RequestKind = RequestKind.SHIP) -> LineState:
    sourced = status is not LineStatus.NEW
    return LineState(
        ORDER, LINE, status,
        route=route if sourced else None,
        source=SourceCode("WH-BER") if sourced else None,
        request_id=RequestId("R-1") if sourced else None,
    )


def args_for(action: Action) -> dict[str, object]:
    if action in (Action.SOURCE, Action.RESOURCE, Action.PRESHIP):
        return {"source": SourceCode("WH-MUC")}
    if action is Action.REQUEST_SHIPMENT:
        return {"request_id": RequestId("R-2")}
    if action is Action.CANCEL:
        return {"reason": CancelReason.CUSTOMERREQ}
    return {}


def request_in(status: RequestStatus, kind: RequestKind = RequestKind.SHIP) -> RequestState:
    return RequestState(ORDER, RequestId("R-1"), kind, SourceCode("WH-BER"), (LINE,), status)


LINE_ALLOWED = [pytest.param(s, a, r, id=f"{s.value}-{a.value}")
                for (s, a), r in LINE_TRANSITIONS.items()]
LINE_REFUSED = [pytest.param(s, a, id=f"{s.value}-{a.value}")
                for s in LineStatus for a in LINE_ACTIONS if (s, a) not in LINE_TRANSITIONS]
REQUEST_ALLOWED = [pytest.param(s, a, r, id=f"{s.value}-{a.value}")
                   for (s, a), r in REQUEST_TRANSITIONS.items()]
REQUEST_REFUSED = [pytest.param(s, a, id=f"{s.value}-{a.value}")
                   for s in RequestStatus for a in LINE_ACTIONS
                   if (s, a) not in REQUEST_TRANSITIONS]


@pytest.mark.parametrize(("status", "action", "rule"), LINE_ALLOWED)
def test_every_allowed_line_move_reaches_its_target_with_its_event_and_effect(
    status: LineStatus, action: Action, rule: Rule
) -> None:
    line = line_in(status, route_for(rule))
    moved = transition(line, action, at=AT, **args_for(action))  # type: ignore[arg-type]
    assert moved.state.status is rule.target
    assert moved.effect is rule.effect
    (event,) = moved.events
    assert type(event) is rule.event
    assert isinstance(event, ev.LineEvent)
    assert (event.order_id, event.line_id, event.at, event.status) == (
        ORDER, LINE, AT, rule.target.value
    )
    assert line.status is status  # the old state is untouched


@pytest.mark.parametrize(("status", "action"), LINE_REFUSED)
def test_every_line_move_outside_the_table_is_refused_naming_status_action_and_choices(
    status: LineStatus, action: Action
) -> None:
    line = line_in(status)
    before = copy.deepcopy(line)
    with pytest.raises(TransitionError) as caught:
        transition(line, action, at=AT, **args_for(action))  # type: ignore[arg-type]
    message = str(caught.value)
    assert f"is {status.value}:" in message
    assert repr(action.value) in message
    allowed = allowed_actions(line)
    assert caught.value.allowed == allowed
    for choice in allowed:
        assert choice in message.split("allowed: ")[1]
    if not allowed:
        assert "none (final status)" in message
    assert line == before
    assert isinstance(caught.value, OmsSourcingError)


@pytest.mark.parametrize(("status", "action", "rule"), REQUEST_ALLOWED)
def test_every_allowed_request_move_reaches_its_target(
    status: RequestStatus, action: Action, rule: Rule
) -> None:
    request = request_in(status, route_for(rule))
    moved = transition(request, action, at=AT)
    assert moved.state.status is rule.target
    (event,) = moved.events
    assert type(event) is rule.event
    assert isinstance(event, ev.RequestEvent)
    assert (event.request_id, event.source, event.line_ids) == ("R-1", "WH-BER", (LINE,))


@pytest.mark.parametrize(("status", "action"), REQUEST_REFUSED)
def test_every_request_move_outside_the_table_is_refused_and_changes_nothing(
    status: RequestStatus, action: Action
) -> None:
    request = request_in(status)
    before = copy.deepcopy(request)
    with pytest.raises(TransitionError, match=rf"is {status.value}: '{action.value}' is not"):
        transition(request, action, at=AT)
    assert request == before


NARROWED = [pytest.param(s, a, r, kind, id=f"{s.value}-{a.value}-{kind.value}")
            for (s, a), r in LINE_TRANSITIONS.items() if r.only
            for kind in RequestKind if kind not in r.only]


@pytest.mark.parametrize(("status", "action", "rule", "kind"), NARROWED)
def test_a_move_narrowed_to_some_routes_is_refused_on_the_others_with_the_rules_note(
    status: LineStatus, action: Action, rule: Rule, kind: RequestKind
) -> None:
    line = line_in(status, kind)
    with pytest.raises(TransitionError) as caught:
        transition(line, action, at=AT, **args_for(action))  # type: ignore[arg-type]
    assert rule.note in str(caught.value)
    assert action.value not in caught.value.allowed
    assert line_status_after(line, action) is None


def test_a_line_is_cancelled_with_a_release_of_its_reservation_only_when_it_holds_one() -> None:
    assert transition(line_in(LineStatus.SOURCED), Action.CANCEL, at=AT,
                      reason=CancelReason.CUSTOMERREQ).effect is StockEffect.RELEASE
    assert transition(line_in(LineStatus.BACKORDERED), Action.CANCEL, at=AT,
                      reason=CancelReason.OUTOFSTOCK).effect is StockEffect.NONE


def test_cancel_after_ship_is_refused_and_says_to_return_instead() -> None:
    shipped = line_in(LineStatus.SHIPPED)
    with pytest.raises(TransitionError, match="cannot be cancelled after shipment") as caught:
        transition(shipped, Action.CANCEL, at=AT, reason=CancelReason.CUSTOMERREQ)
    assert caught.value.allowed == ("exchange", "request_return", "reship", "return_received")


def test_a_pickup_line_the_store_accepted_can_no_longer_be_cancelled() -> None:
    accepted = line_in(LineStatus.ACCEPTED, RequestKind.PICKUP)
    with pytest.raises(TransitionError, match="only while it is new"):
        transition(accepted, Action.CANCEL, at=AT, reason=CancelReason.CUSTOMERREQ)
    ship_line = line_in(LineStatus.ACCEPTED, RequestKind.SHIP)
    assert transition(ship_line, Action.CANCEL, at=AT,
                      reason=CancelReason.CUSTOMERREQ).state.status is LineStatus.CANCELLED


def test_return_of_a_line_not_shipped_is_refused() -> None:
    accepted = line_in(LineStatus.ACCEPTED)
    with pytest.raises(TransitionError, match="only shipped lines can be returned"):
        transition(accepted, Action.RETURN_RECEIVED, at=AT)


def test_a_return_received_names_the_source_that_received_it() -> None:
    shipped = line_in(LineStatus.SHIPPED)
    received = transition(shipped, Action.RETURN_RECEIVED, at=AT, source=SourceCode("ST-HAM"))
    (event,) = received.events
    assert isinstance(event, ev.ReturnReceived) and event.source == "ST-HAM"
    assert received.state.source == "WH-BER"  # the line still shipped from WH-BER
    assert received.effect is StockEffect.RESTOCK


def test_a_line_exchanged_once_cannot_be_exchanged_again() -> None:
    once = transition(line_in(LineStatus.SHIPPED), Action.EXCHANGE, at=AT).state
    assert once.exchanged and once.status is LineStatus.SHIPPED
    with pytest.raises(TransitionError, match="exchanged once cannot be exchanged again"):
        transition(once, Action.EXCHANGE, at=AT)
    returned = transition(once, Action.RETURN_RECEIVED, at=AT).state
    with pytest.raises(TransitionError, match="exchanged once"):
        transition(returned, Action.EXCHANGE, at=AT)


def test_a_decline_counts_the_attempt_remembers_the_source_and_releases_the_stock() -> None:
    requested = line_in(LineStatus.SHIPMENT_REQUESTED)
    declined = transition(requested, Action.DECLINE, at=AT)
    assert declined.effect is StockEffect.RELEASE
    assert (declined.state.attempts, declined.state.declined_by) == (1, ("WH-BER",))
    assert (declined.state.source, declined.state.request_id) == (None, None)
    assert declined.state.reason == "PICKDECLINED"
    (event,) = declined.events
    assert isinstance(event, ev.LineDeclined)
    assert (event.source, event.request_id, event.attempts) == ("WH-BER", "R-1", 1)


def test_resourcing_to_a_source_that_declined_the_line_is_refused() -> None:
    declined = transition(line_in(LineStatus.SHIPMENT_REQUESTED), Action.DECLINE, at=AT).state
    with pytest.raises(InputError, match="WH-BER declined this line before"):
        transition(declined, Action.RESOURCE, at=AT, source=SourceCode("WH-BER"))


def test_sourcing_without_a_source_or_cancelling_without_a_reason_is_refused() -> None:
    with pytest.raises(InputError, match="needs the source"):
        transition(line_in(LineStatus.NEW), Action.SOURCE, at=AT)
    with pytest.raises(InputError, match="cancelling needs a reason") as caught:
        transition(line_in(LineStatus.NEW), Action.CANCEL, at=AT)
    assert caught.value.field == "reason"
    with pytest.raises(InputError, match="'CUSTOMERREQ' is not a hold reason"):
        transition(line_in(LineStatus.NEW), Action.HOLD, at=AT, reason=CancelReason.CUSTOMERREQ)
    with pytest.raises(InputError, match="needs the id of the shipment request"):
        transition(line_in(LineStatus.SOURCED), Action.REQUEST_SHIPMENT, at=AT)


def test_a_naive_time_or_an_unknown_action_is_refused() -> None:
    with pytest.raises(InputError, match="no time zone"):
        transition(line_in(LineStatus.NEW), Action.HOLD, at=datetime(2026, 11, 3, 8, 0))
    with pytest.raises(TransitionError, match="'teleport' is not allowed \\(no such action\\)"):
        transition(line_in(LineStatus.NEW), "teleport", at=AT)


def test_a_string_action_works_like_the_enum() -> None:
    moved = transition(line_in(LineStatus.NEW), "source", at=AT, source=SourceCode("WH-MUC"),
                       route=RequestKind.TRANSFER)
    assert moved.state.status is LineStatus.SOURCED
    assert (moved.state.source, moved.state.route) == ("WH-MUC", RequestKind.TRANSFER)
    assert moved.effect is StockEffect.RESERVE


def test_final_statuses_allow_only_post_sales_moves() -> None:
    for (status, action) in LINE_TRANSITIONS:
        if status in FINAL_LINE_STATUSES:
            assert action in POST_SALES_ACTIONS, (status, action)
    assert not [key for key in REQUEST_TRANSITIONS if key[0] in FINAL_REQUEST_STATUSES]
    assert allowed_actions(line_in(LineStatus.CANCELLED)) == ()


def test_a_pickup_request_waiting_for_a_transfer_opens_as_pending_arrival() -> None:
    fresh = RequestState(ORDER, RequestId("R-PICK"), RequestKind.PICKUP, SourceCode("ST-HAM"),
                         (LINE,))
    opened = new_request(fresh, at=AT, awaiting_transfer=True)
    assert opened.state.status is RequestStatus.PENDING_ARRIVAL
    (event,) = opened.events
    assert isinstance(event, ev.ShipmentRequested) and event.status == "PENDING_ARRIVAL"
    ship = RequestState(ORDER, RequestId("R-2"), RequestKind.SHIP, SourceCode("WH-BER"), (LINE,))
    with pytest.raises(InputError, match="only a pickup request waits for a transfer"):
        new_request(ship, at=AT, awaiting_transfer=True)


def test_a_pickup_request_is_cancelled_only_while_new() -> None:
    pending = request_in(RequestStatus.PENDING_ARRIVAL, RequestKind.PICKUP)
    assert transition(pending, Action.CANCEL, at=AT).state.status is RequestStatus.CANCELLED
    accepted = request_in(RequestStatus.ACCEPTED, RequestKind.PICKUP)
    with pytest.raises(TransitionError, match="only while it is new"):
        transition(accepted, Action.CANCEL, at=AT)


def test_a_declined_request_for_a_shipped_request_is_refused() -> None:
    shipped = request_in(RequestStatus.SHIPPED)
    with pytest.raises(TransitionError, match="'decline' is not allowed; allowed: none"):
        transition(shipped, Action.DECLINE, at=AT)
