"""Bad input to the service: each error names the id, the status and what is allowed — and
nothing changes (the order, its requests, its events and the stock are as before)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from service_world import (
    NETWORK,
    at,
    line,
    memory_store,
    order,
    reserved,
    service,
)

from oms_sourcing.errors import InputError, QuantityError, UnknownReferenceError
from oms_sourcing.lifecycle import HoldReason, TransitionError
from oms_sourcing.service import OrderView, Sourcing


def world() -> tuple[Sourcing, str]:
    """An order O-BAD: line L1 shipped from WH-NORTH (request R1), line L2 requested from
    WH-SOUTH (R2)."""
    svc, _ = service(memory_store, {("WH-NORTH", "MUG"): 1, ("WH-SOUTH", "TEAPOT"): 1})
    first = svc.source(order("O-BAD", line("L1", "MUG"), line("L2", "TEAPOT")), at=at(1))
    assert isinstance(first, OrderView)
    mug = first.line("L1").request_id or ""
    svc.accept(mug, at=at(2))
    svc.ship(mug, shipment_id="P-1", at=at(3))
    return svc, mug


def unchanged(svc: Sourcing, call: Callable[[], object],
              error: type[Exception]) -> Exception:
    before = (svc.order("O-BAD"), [m.id for m in svc.events("O-BAD")],
              [reserved(svc, s, sku) for s in NETWORK.codes for sku in ("MUG", "TEAPOT")])
    with pytest.raises(error) as caught:
        call()
    after = (svc.order("O-BAD"), [m.id for m in svc.events("O-BAD")],
             [reserved(svc, s, sku) for s in NETWORK.codes for sku in ("MUG", "TEAPOT")])
    assert after == before
    return caught.value


def test_an_unknown_order_id_is_named() -> None:
    svc, _ = world()
    err = unchanged(svc, lambda: svc.cancel("O-NOPE", at=at(5)), UnknownReferenceError)
    assert "'O-NOPE'" in str(err)


def test_an_unknown_line_id_is_named_with_the_orders_lines() -> None:
    svc, _ = world()
    err = unchanged(svc, lambda: svc.cancel("O-BAD", ["L9"], at=at(5)), UnknownReferenceError)
    assert "'L9'" in str(err) and "L1, L2" in str(err)


def test_an_unknown_request_id_is_named() -> None:
    svc, _ = world()
    err = unchanged(svc, lambda: svc.accept("O-BAD-R9", at=at(5)), UnknownReferenceError)
    assert "'O-BAD-R9'" in str(err)


def test_shipping_a_request_not_accepted_yet_names_its_status_and_the_allowed_actions() -> None:
    svc, _ = world()
    teapot = svc.order("O-BAD").line("L2").request_id or ""
    err = unchanged(svc, lambda: svc.ship(teapot, shipment_id="P-2", at=at(5)),
                    TransitionError)
    assert teapot in str(err) and "REQUESTED" in str(err)
    assert "allowed: accept, cancel, decline" in str(err)


def test_shipping_more_than_was_requested_is_refused() -> None:
    svc, _ = world()
    teapot = svc.order("O-BAD").line("L2").request_id or ""
    svc.accept(teapot, at=at(4))
    err = unchanged(svc, lambda: svc.ship(teapot, shipment_id="P-2", lines=[("L2", 2)],
                                          at=at(5)), QuantityError)
    assert teapot in str(err) and "ACCEPTED" in str(err) and "1 of it is left" in str(err)


def test_shipping_a_line_the_request_does_not_carry_names_its_lines() -> None:
    svc, _ = world()
    teapot = svc.order("O-BAD").line("L2").request_id or ""
    svc.accept(teapot, at=at(4))
    err = unchanged(svc, lambda: svc.ship(teapot, shipment_id="P-2", lines=[("L1", 1)],
                                          at=at(5)), UnknownReferenceError)
    assert "'L1'" in str(err) and "its lines: L2" in str(err)


def test_declining_a_shipped_request_is_refused() -> None:
    svc, mug = world()
    err = unchanged(svc, lambda: svc.decline(mug, at=at(5)), TransitionError)
    assert mug in str(err) and "SHIPPED" in str(err) and "none (final status)" in str(err)


def test_returning_a_line_that_has_not_shipped_is_refused() -> None:
    svc, _ = world()
    err = unchanged(svc, lambda: svc.start_return("O-BAD", ["L2"], at=at(5)), TransitionError)
    assert "line L2 of order O-BAD is SHIPMENT_REQUESTED" in str(err)
    assert "only shipped lines" in str(err) and "allowed: accept, cancel, decline" in str(err)


def test_a_return_to_a_source_that_takes_no_returns_is_refused() -> None:
    svc, _ = world()
    err = unchanged(svc, lambda: svc.receive_return("O-BAD", ["L1"], source="OUTLET-EAST",
                                                    at=at(5)), InputError)
    assert "OUTLET-EAST does not accept returns" in str(err) and "WH-NORTH" in str(err)


def test_an_unknown_hold_name_is_named_with_the_orders_holds() -> None:
    svc, _ = world()
    svc.place_hold("O-BAD", "fraud-check", HoldReason.MANUAL_APPROVAL, at=at(4))
    err = unchanged(svc, lambda: svc.complete_hold("O-BAD", "frod-check", at=at(5)),
                    UnknownReferenceError)
    assert "'frod-check'" in str(err) and "fraud-check" in str(err)


def test_cancelling_a_shipped_line_names_its_status() -> None:
    svc, _ = world()
    err = unchanged(svc, lambda: svc.cancel("O-BAD", ["L1", "L2"], at=at(5)), TransitionError)
    assert "line L1 of order O-BAD is SHIPPED" in str(err)


def test_sourcing_an_order_twice_without_a_key_is_refused() -> None:
    svc, _ = world()
    err = unchanged(svc, lambda: svc.source(order("O-BAD", line("L1", "MUG")), at=at(5)),
                    InputError)
    assert "O-BAD exists already" in str(err) and "LOGISTICS" in str(err)
