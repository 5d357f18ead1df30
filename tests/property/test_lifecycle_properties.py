"""Properties of the lifecycle over random sequences of actions (hypothesis)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from oms_sourcing.domain import LineId, OrderId, SourceCode
from oms_sourcing.errors import InputError
from oms_sourcing.lifecycle import (
    FINAL_LINE_STATUSES,
    FINAL_REQUEST_STATUSES,
    HOLD_TRANSITIONS,
    LINE_TRANSITIONS,
    REQUEST_TRANSITIONS,
    Action,
    CancelReason,
    HoldReason,
    HoldStatus,
    LineState,
    LineStatus,
    OrderState,
    OrderStatus,
    RequestId,
    RequestKind,
    RequestState,
    RequestStatus,
    TransitionError,
    act,
    allowed_actions,
    complete_hold,
    expire_order_holds,
    line_status_after,
    place_hold,
    skip_hold,
    transition,
)
from oms_sourcing.lifecycle import events as ev

PROPERTY = settings(max_examples=150, deadline=None)
AT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
OID = OrderId("O-KETTLE")
SOURCES = [SourceCode(s) for s in ("WH-BER", "WH-MUC", "ST-HAM", "DS-PAR")]
ACTIONS = [a for a in Action if a not in (Action.COMPLETE, Action.SKIP, Action.TIME_OUT)]
REACHABLE_LINE = {LineStatus.NEW} | {rule.target for rule in LINE_TRANSITIONS.values()}
REACHABLE_REQUEST = {RequestStatus.REQUESTED, RequestStatus.PENDING_ARRIVAL} | {
    rule.target for rule in REQUEST_TRANSITIONS.values()
}

def next_action(data: st.DataObject, allowed: tuple[str, ...]) -> Action:
    """Mostly an allowed action (so sequences go deep), sometimes any action (to be refused)."""
    if allowed and data.draw(st.integers(0, 3), label="pick allowed") > 0:
        return Action(data.draw(st.sampled_from(allowed), label="action"))
    return data.draw(st.sampled_from(ACTIONS), label="action")


@PROPERTY
@given(st.data())
def test_random_line_actions_stay_in_the_table_and_refusals_change_nothing(
    data: st.DataObject,
) -> None:
    line = LineState(OID, LineId("L1"))
    was_final = False
    for n in range(data.draw(st.integers(0, 40), label="steps")):
        action = next_action(data, allowed_actions(line))
        source = data.draw(st.sampled_from(SOURCES), label="source")
        route = data.draw(st.sampled_from([*RequestKind, None]), label="route")
        reason = data.draw(st.sampled_from([*CancelReason, ""]), label="reason")
        before = copy.deepcopy(line)
        expected = line_status_after(line, action)
        try:
            moved = transition(line, action, at=AT, source=source, route=route, reason=reason,
                               request_id=RequestId(f"R-{n}"))
        except TransitionError as err:
            assert expected is None
            assert action.value not in err.allowed and err.allowed == allowed_actions(line)
            assert line == before
            continue
        except InputError:
            # a wrong argument (a source that declined before, no cancel reason): nothing changed
            assert expected is not None and line == before
            continue
        assert (line.status, action) in LINE_TRANSITIONS
        assert moved.state.status is expected and expected in REACHABLE_LINE
        assert len(moved.events) == 1 and isinstance(moved.events[0], ev.LineEvent)
        assert moved.effect is LINE_TRANSITIONS[(line.status, action)].effect
        if was_final:
            assert moved.state.status in FINAL_LINE_STATUSES  # nothing leaves the final set
        line = moved.state
        was_final = line.status in FINAL_LINE_STATUSES
        assert line.attempts == len(line.declined_by)
        if line.status is LineStatus.RETURNED:
            assert before.status in (LineStatus.SHIPPED, LineStatus.PICKED_UP,
                                     LineStatus.RETURN_REQUESTED, LineStatus.RETURNED)


@PROPERTY
@given(st.sampled_from(list(RequestKind)), st.booleans(),
       st.lists(st.sampled_from(ACTIONS), max_size=20))
def test_random_request_actions_stay_in_the_table_and_final_statuses_are_final(
    kind: RequestKind, pending: bool, plan: list[Action]
) -> None:
    status = (RequestStatus.PENDING_ARRIVAL if pending and kind is RequestKind.PICKUP
              else RequestStatus.REQUESTED)
    request = RequestState(OID, RequestId("R-1"), kind, SOURCES[0], (LineId("L1"),), status)
    for action in plan:
        before = copy.deepcopy(request)
        try:
            moved = transition(request, action, at=AT)
        except TransitionError:
            assert request == before
            continue
        assert request.status not in FINAL_REQUEST_STATUSES
        assert (request.status, action) in REQUEST_TRANSITIONS
        assert moved.state.status in REACHABLE_REQUEST
        request = moved.state


def test_final_statuses_have_only_the_documented_way_out() -> None:
    way_out = {(s.value, a.value) for (s, a) in LINE_TRANSITIONS if s in FINAL_LINE_STATUSES}
    assert way_out == {
        ("SHIPPED", "request_return"), ("SHIPPED", "return_received"), ("SHIPPED", "exchange"),
        ("SHIPPED", "reship"),
        ("PICKED_UP", "request_return"), ("PICKED_UP", "return_received"),
        ("PICKED_UP", "exchange"),
        ("RETURN_REQUESTED", "return_received"), ("RETURN_REQUESTED", "exchange"),
        ("RETURNED", "exchange"),
    }
    assert all(s is HoldStatus.OPEN for (s, _) in HOLD_TRANSITIONS)


BUNDLE = ("KETTLE", "FILTER")


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(["KETTLE", "FILTER", "MUG"]), st.sampled_from(ACTIONS),
                          st.sampled_from(SOURCES), st.sampled_from([*RequestKind, None])),
                max_size=40))
def test_an_orders_status_and_bundles_stay_consistent_under_random_actions(
    plan: list[tuple[str, Action, SourceCode, RequestKind | None]],
) -> None:
    order = OrderState(OID, (LineState(OID, LineId("KETTLE"), bundle="B1"),
                             LineState(OID, LineId("FILTER"), bundle="B1"),
                             LineState(OID, LineId("MUG"))))
    for n, (line_id, action, source, route) in enumerate(plan):
        before = copy.deepcopy(order)
        try:
            update = act(order, line_id, action, at=AT, source=source, route=route,
                         reason=CancelReason.CUSTOMERREQ, request_id=RequestId(f"R-{n}"))
        except InputError:  # TransitionError is one
            assert order == before
            continue
        changed = [e for e in update.events if isinstance(e, ev.OrderStatusChanged)]
        assert bool(changed) == ((update.order.status, update.order.reason)
                                 != (order.status, order.reason))
        order = update.order
        all_final = all(ln.status in FINAL_LINE_STATUSES for ln in order.lines)
        assert (order.status is OrderStatus.COMPLETE) == all_final
        bundle = [order.line(b).status is LineStatus.CANCELLED for b in BUNDLE]
        assert all(bundle) or not any(bundle), "a bundle is cancelled whole or not at all"


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(["place", "complete", "skip", "expire"]),
                          st.sampled_from(["remorse", "payment", "approval"]),
                          st.integers(0, 120)), max_size=25))
def test_an_order_is_on_hold_exactly_while_a_hold_is_open(
    plan: list[tuple[str, str, int]],
) -> None:
    order = OrderState(OID, (LineState(OID, LineId("L1")),))
    now = AT
    for verb, name, minutes in plan:
        now = now + timedelta(minutes=minutes)
        before = copy.deepcopy(order)
        try:
            if verb == "place":
                until = now + timedelta(minutes=30) if name == "remorse" else None
                order = place_hold(order, name, HoldReason.CUSTOM, at=now, until=until).order
            elif verb == "complete":
                order = complete_hold(order, name, at=now).order
            elif verb == "skip":
                order = skip_hold(order, name, at=now).order
            else:
                order = expire_order_holds(order, now).order
        except InputError:
            assert order == before
            continue
        opened = [h for h in order.holds if h.status is HoldStatus.OPEN]
        assert (order.status is OrderStatus.ONHOLD) == bool(opened)
        assert order.holds_released == (not opened)
        assert len({h.name for h in order.holds}) == len(order.holds)
        for hold in order.holds:
            if hold.status is HoldStatus.TIMED_OUT:
                assert hold.until is not None and hold.closed_at is not None
                assert hold.until <= hold.closed_at

