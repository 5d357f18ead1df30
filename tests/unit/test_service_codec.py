"""Everything the service stores survives JSON: what a row-based store (SQL) needs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from service_world import at, line, order, preshipped, ruleset, service

from oms_sourcing.errors import InputError
from oms_sourcing.inventory.stock import StockLedger
from oms_sourcing.lifecycle import HoldReason
from oms_sourcing.service import MemoryStore, OrderView
from oms_sourcing.service.codec import decode, encode
from oms_sourcing.service.commands import HoldSpec
from oms_sourcing.service.ports import UnitOfWork


def test_every_record_event_answer_and_ruleset_of_a_busy_store_comes_back_equal() -> None:
    stores: list[MemoryStore] = []

    def keep(led: StockLedger) -> Callable[[], UnitOfWork]:
        stores.append(MemoryStore(led))
        return stores[-1].unit_of_work

    svc, _ = service(keep, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5,
                                    ("WH-NORTH", "TEAPOT"): 2})
    first = svc.source(order("O-JSON", line("L1", "MUG"), preshipped("L2", "MUG", "STORE-CITY")),
                       at=at(1), idempotency_key="k-json",
                       holds=[HoldSpec("remorse", HoldReason.PENDING_REMORSE_TIME, at(9))])
    svc.expire_holds(now=at(10))
    assert isinstance(first, OrderView)
    svc.decline(svc.order("O-JSON").requests_of("ship")[0].request_id, at=at(11))
    svc.source(order("O-STS", line("L1", "TEAPOT"), pickup="STORE-CITY"), at=at(12))
    (store,) = stores

    values: list[object] = [
        *store.orders.values(), *store.requests.values(), *store.decisions.values(),
        *store.outbox, *store.idempotency.values(), *store.rulesets.values(), ruleset(),
    ]

    assert len(values) > 20
    for value in values:
        assert decode(encode(value)) == value, type(value).__name__


def test_only_library_types_are_decoded() -> None:
    with pytest.raises(InputError, match="only oms_sourcing types"):
        decode('{"__type__": "os:system"}')
