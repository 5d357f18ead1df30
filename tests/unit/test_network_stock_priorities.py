"""Source priority per stock (Magento MSI's stock-source links; issue 17, item 2): two stocks
rank the same sources in opposite orders, and ``rank: [priority]`` follows the stock of the
order's channel."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oms_sourcing.allocation.allocate import AllocationResult, allocate
from oms_sourcing.domain import (
    Location,
    Order,
    OrderLine,
    Shipping,
    Sku,
    Source,
    SourceCode,
    SourceSelector,
    StockDefinition,
)
from oms_sourcing.domain.order import OrderId
from oms_sourcing.errors import InputError, NetworkFileError, UnknownReferenceError
from oms_sourcing.formats.network import parse_network
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockLedger, StockRecord
from oms_sourcing.rules.model import Objective, Policy, RankKey

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
D = Decimal
BERLIN = Location(lat=52.52, lon=13.405, country="DE")

NETWORK_YAML = """\
sources:
  - {code: WH-NORTH, priority: 1, groups: [dc]}
  - {code: WH-SOUTH, priority: 2, groups: [dc]}
  - {code: WH-WEST, priority: 3, groups: [dc]}
stocks:
  - name: north
    channels: [web_north]
    sources: {groups: [dc]}
  - name: south
    channels: [web_south]
    sources: {groups: [dc]}
    priorities: {WH-SOUTH: 1, WH-NORTH: 9}
"""

NETWORK = parse_network(NETWORK_YAML, "network.yaml")
RANK_PRIORITY = Policy(objective=None, rank=(RankKey.PRIORITY,))


def problems_of(text: str) -> list[str]:
    with pytest.raises(NetworkFileError) as err:
        parse_network(text, "network.yaml")
    return [str(p) for p in err.value.problems]


def source_mugs(channel: str, policy: Policy = RANK_PRIORITY, qty: int = 5,
                stock: dict[str, int] | None = None) -> AllocationResult:
    ledger = StockLedger(NETWORK.codes)
    held = stock if stock is not None else {"WH-NORTH": 3, "WH-SOUTH": 3, "WH-WEST": 3}
    ledger.apply_records([StockRecord(code, "MUG", D(q), NOW, f"{code}:MUG")
                          for code, q in held.items()])
    order = Order(OrderId("1001"), NOW, (OrderLine("1", Sku("MUG"), D(qty)),),
                  channel=channel, shipping=Shipping(address=BERLIN))
    return allocate(order, policy, NETWORK, ledger.snapshot(["MUG"]), NOW)


def shipped(result: AllocationResult) -> dict[str, Decimal]:
    return {str(s.source): sum((lq.qty for lq in s.lines), D(0)) for s in result.shipments}


def test_a_stock_ranks_its_sources_by_its_own_link_priorities() -> None:
    # WH-WEST is not listed: it keeps its own priority (3)
    assert NETWORK.stock_priorities("south").tolist() == [9, 1, 3]
    assert NETWORK.stock_sources_by_priority("south") == ("WH-SOUTH", "WH-WEST", "WH-NORTH")
    assert NETWORK.stock_priorities("north") is NETWORK.priorities
    assert NETWORK.stock_sources_by_priority("north") == ("WH-NORTH", "WH-SOUTH", "WH-WEST")
    assert NETWORK.stocks["south"].priorities == (("WH-SOUTH", 1), ("WH-NORTH", 9))


def test_a_priority_fill_follows_the_stock_of_the_orders_channel() -> None:
    assert shipped(source_mugs("web_north")) == {"WH-NORTH": 3, "WH-SOUTH": 2}
    assert shipped(source_mugs("web_south")) == {"WH-SOUTH": 3, "WH-WEST": 2}


def test_an_order_whose_channel_has_no_stock_keeps_each_sources_own_priority() -> None:
    assert shipped(source_mugs("marketplace")) == {"WH-NORTH": 3, "WH-SOUTH": 2}


def test_a_weighted_source_priority_follows_the_stock_of_the_orders_channel() -> None:
    by_priority = Policy(objective=Objective(source_priority=D(1)))
    plenty = {"WH-NORTH": 9, "WH-SOUTH": 9, "WH-WEST": 9}
    assert shipped(source_mugs("web_north", by_priority, stock=plenty)) == {"WH-NORTH": 5}
    assert shipped(source_mugs("web_south", by_priority, stock=plenty)) == {"WH-SOUTH": 5}


def test_a_network_rebuilt_in_a_worker_keeps_the_stocks_priorities() -> None:
    import pickle

    again = pickle.loads(pickle.dumps(NETWORK))
    assert again.stock_priorities("south").tolist() == [9, 1, 3]


def test_priorities_naming_unknown_or_unlinked_sources_are_reported_at_their_line() -> None:
    found = problems_of("""\
sources:
  - {code: WH-NORTH, groups: [dc]}
  - {code: ST-MUC, kind: store}
stocks:
  - name: north
    sources: {groups: [dc]}
    priorities:
      WH-NRTH: 1
      ST-MUC: 2
""")
    assert found == [
        "network.yaml:8:7: stocks[0].priorities: unknown source 'WH-NRTH'; did you mean "
        "'WH-NORTH'? (known sources of this stock: WH-NORTH)",
        "network.yaml:9:7: stocks[0].priorities: source 'ST-MUC' is not linked to stock "
        "'north' (its sources selector does not pick it; known sources of this stock: "
        "WH-NORTH); add it to the stock's sources or drop its priority",
    ]


def test_a_priority_that_is_not_a_whole_number_is_reported_at_its_line() -> None:
    found = problems_of("""\
sources:
  - {code: WH-NORTH, groups: [dc]}
stocks:
  - {name: north, sources: {groups: [dc]}, priorities: {WH-NORTH: first}}
""")
    assert len(found) == 1
    assert found[0].startswith("network.yaml:4:67: stocks[0].priorities.WH-NORTH: ")


def test_a_network_built_in_code_checks_its_stocks_priorities() -> None:
    sources = (Source(SourceCode("WH-NORTH"), groups=frozenset({"dc"})),
               Source(SourceCode("ST-MUC")))
    dc = SourceSelector(groups=frozenset({"dc"}))
    with pytest.raises(UnknownReferenceError, match="did you mean 'WH-NORTH'"):
        SourceNetwork(sources, stocks=(StockDefinition("north", dc,
                                                       priorities=(("WH-NRTH", 1),)),))
    with pytest.raises(InputError, match="'ST-MUC' is not linked to this stock"):
        SourceNetwork(sources, stocks=(StockDefinition("north", dc,
                                                       priorities=(("ST-MUC", 1),)),))
    with pytest.raises(InputError, match="two priorities"):
        SourceNetwork(sources, stocks=(StockDefinition(
            "north", dc, priorities=(("WH-NORTH", 1), ("WH-NORTH", 2))),))
    with pytest.raises(InputError, match="must be a whole number"):
        SourceNetwork(sources, stocks=(StockDefinition(
            "north", dc, priorities=(("WH-NORTH", True),)),))


def test_a_distance_fill_visits_sources_without_coordinates_in_the_stocks_priority_order() -> None:
    network = parse_network("""\
sources:
  - {code: WH-NEAR, priority: 5, groups: [dc], location: {lat: 52.5, lon: 13.4}}
  - {code: DROP-A, priority: 1, groups: [dc]}
  - {code: DROP-B, priority: 2, groups: [dc]}
stocks:
  - {name: b_first, channels: [web_b], sources: {groups: [dc]}, priorities: {DROP-B: 0}}
""", "network.yaml")
    ledger = StockLedger(network.codes)
    ledger.apply_records([StockRecord(code, "MUG", D(2), NOW, f"{code}:MUG")
                          for code in network.codes])
    by_distance = Policy(objective=None, rank=(RankKey.DISTANCE,))

    def fill(channel: str) -> list[str]:
        order = Order(OrderId("1001"), NOW, (OrderLine("1", Sku("MUG"), D(4)),),
                      channel=channel, shipping=Shipping(address=BERLIN))
        result = allocate(order, by_distance, network, ledger.snapshot(["MUG"]), NOW)
        return sorted(str(s.source) for s in result.shipments)

    assert fill("web_b") == ["DROP-B", "WH-NEAR"]
    assert fill("marketplace") == ["DROP-A", "WH-NEAR"]


def test_the_problems_sources_are_in_the_stocks_tie_break_order() -> None:
    from oms_sourcing.allocation.builder import build_problem

    ledger = StockLedger(NETWORK.codes)
    ledger.apply_records([StockRecord(code, "MUG", D(3), NOW, f"{code}:MUG")
                          for code in NETWORK.codes])

    def columns(channel: str) -> tuple[str, ...]:
        order = Order(OrderId("1001"), NOW, (OrderLine("1", Sku("MUG"), D(2)),),
                      channel=channel, shipping=Shipping(address=BERLIN))
        sp = build_problem(order, Policy(), NETWORK, ledger.snapshot(["MUG"]), NOW)
        assert sp.physical is not None
        return sp.physical.sources

    # among plans of equal cost the one using earlier sources wins: the stock's order
    assert columns("web_south") == ("WH-SOUTH", "WH-WEST", "WH-NORTH")
    assert columns("web_north") == ("WH-NORTH", "WH-SOUTH", "WH-WEST")
    assert columns("marketplace") == ("WH-NORTH", "WH-SOUTH", "WH-WEST")
