"""Decision history, exact replay, ruleset versions, the outbox and its dispatcher, and the
order's flow read back in order."""

from __future__ import annotations

from dataclasses import replace

import pytest
from service_world import at, line, memory_store, order, ruleset, service

from oms_sourcing.domain import SourceSelector
from oms_sourcing.errors import InputError, RulesetError
from oms_sourcing.rules.model import SourcePolicy
from oms_sourcing.service import OrderView, OutboxMessage


def test_a_decision_is_stored_with_its_inputs_and_replays_identically() -> None:
    svc, _ = service(memory_store, {("WH-NORTH", "MUG"): 2, ("WH-SOUTH", "MUG"): 2})
    first = svc.source(order("O-REPLAY", line("L1", "MUG")), at=at(1))
    assert isinstance(first, OrderView)
    svc.decline(first.requests[0].request_id, at=at(2))

    decisions = svc.decisions("O-REPLAY")

    assert [d.decision_id for d in decisions] == ["O-REPLAY-D1", "O-REPLAY-D2"]
    d2 = decisions[1]
    assert (d2.ruleset_id, d2.ruleset_version) == ("service-test", "1")
    assert d2.declined == {"L1": frozenset({"WH-NORTH"})} and d2.attempts == 1
    assert {c.sku for c in d2.cells} == {"MUG"} and len(d2.fingerprint) == 64
    assert d2.result["shipments"][0]["source"] == "WH-SOUTH" and "lines" in d2.result
    for d in decisions:
        report = svc.replay(d.decision_id)
        assert report.identical, report.differences


def test_replay_under_another_ruleset_shows_the_difference() -> None:
    svc, _ = service(memory_store, {("WH-NORTH", "MUG"): 2, ("WH-SOUTH", "MUG"): 2})
    svc.source(order("O-WHATIF", line("L1", "MUG")), at=at(1))
    base = ruleset()
    north_closed = SourcePolicy(exclude=SourceSelector(codes=frozenset({"WH-NORTH"})))
    other = replace(ruleset(version="2"), defaults=replace(base.defaults, sources=north_closed))

    report = svc.replay("O-WHATIF-D1", other)

    assert not report.identical and report.ruleset == ("service-test", "2")
    assert "ruleset.version: '1' -> '2'" in report.differences
    assert "shipments[0].source: 'WH-NORTH' -> 'WH-SOUTH'" in report.differences
    assert svc.replay("O-WHATIF-D1", base).identical


def test_a_ruleset_version_is_validated_and_kept_and_decisions_record_it() -> None:
    svc, _ = service(memory_store, {("WH-NORTH", "MUG"): 5})
    text = "id: service-test\nversion: '2'\nrules:\n  - name: everything\n    when: {}\n"
    with pytest.raises(RulesetError):
        svc.activate_ruleset("id: service-test\nversion: '3'\nrulez: []\n", at=at(0))

    answer = svc.activate_ruleset(text, at=at(0))

    assert (answer.ruleset_id, answer.version, answer.previous) == (
        "service-test", "2", ("service-test", "1"))
    svc.source(order("O-V2", line("L1", "MUG")), at=at(1))
    assert svc.decisions("O-V2")[0].ruleset_version == "2"
    with pytest.raises(InputError, match="new version"):
        svc.activate_ruleset(replace(ruleset(), version="2"), at=at(2))
    svc.activate_ruleset(ruleset(), at=at(3))          # an earlier version, kept
    assert svc.active_ruleset() == ruleset()
    assert svc.replay("O-V2-D1").identical


def test_every_event_reaches_each_subscriber_at_least_once_and_in_order() -> None:
    got: list[OutboxMessage] = []
    svc, _ = service(memory_store, {("WH-NORTH", "MUG"): 5}, subscribers=[got.append])

    first = svc.source(order("O-OUT", line("L1", "MUG")), at=at(1))
    assert isinstance(first, OrderView)
    svc.accept(first.requests[0].request_id, at=at(2))

    names = [m.name for m in got if m.order_id == "O-OUT"]
    assert names[:2] == ["LineSourced", "OrderStatusChanged"]
    assert "ShipmentRequested" in names and names[-1] == "LineAccepted"
    assert len({m.id for m in got}) == len(got)
    assert svc.dispatch() == 0                      # nothing left pending


def test_a_failing_subscriber_gets_the_message_again() -> None:
    calls: list[str] = []

    def flaky(message: OutboxMessage) -> None:
        calls.append(message.id)
        if len(calls) == 1:
            raise RuntimeError("webhook down")

    svc, _ = service(memory_store, {("WH-NORTH", "MUG"): 5})
    svc.source(order("O-FLAKY", line("L1", "MUG")), at=at(1))

    assert svc.dispatch([flaky]) == 0
    delivered = svc.dispatch([flaky])

    assert calls[0] == calls[1] and delivered == len(svc.events("O-FLAKY"))


def test_the_orders_flow_reads_back_decisions_and_events_in_order() -> None:
    svc, _ = service(memory_store, {("WH-NORTH", "MUG"): 5, ("WH-SOUTH", "MUG"): 5})
    first = svc.source(order("O-FLOW", line("L1", "MUG")), at=at(1))
    assert isinstance(first, OrderView)
    svc.decline(first.requests[0].request_id, at=at(2))

    flow = [(e.kind, e.name) for e in svc.flow("O-FLOW")]

    assert flow[0] == ("decision", "O-FLOW-D1")
    decided = flow.index(("decision", "O-FLOW-D2"))
    assert ("event", "RequestDeclined") in flow[:decided]
    assert ("event", "LineResourced") in flow[decided:]
    assert [e.seq for e in svc.flow("O-FLOW")] == sorted(e.seq for e in svc.flow("O-FLOW"))
