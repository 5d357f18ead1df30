"""Every bundled order under every example ruleset: plans pass the independent checker, every
unit ends in exactly one outcome, and the optimiser never costs more than the greedy fill."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from oms_sourcing.allocation.allocate import AllocationResult, SolverConfig, allocate, solve_problem
from oms_sourcing.allocation.builder import SourcingProblem, build_problem
from oms_sourcing.allocation.check import check_plan
from oms_sourcing.domain import Catalog, Order
from oms_sourcing.formats.catalog import load_catalog
from oms_sourcing.formats.network import load_network
from oms_sourcing.formats.orders import load_orders
from oms_sourcing.formats.result import AllocationResultModel
from oms_sourcing.inventory.feeds import apply_feed, read_feed
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockLedger
from oms_sourcing.rules import load_ruleset, select

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOW = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
RULESETS = sorted((ROOT / "rulesets").glob("*.yaml"))
World = tuple[SourceNetwork, Catalog, StockLedger, list[Order]]


@pytest.fixture(scope="module")
def world() -> World:
    network = load_network(EXAMPLES / "network.yaml")
    catalog = load_catalog(EXAMPLES / "catalog.yaml")
    ledger = StockLedger(network.codes, catalog)
    apply_feed(ledger, read_feed(EXAMPLES / "stock.csv"))
    return network, catalog, ledger, load_orders(EXAMPLES / "orders.jsonl", catalog)


def units_per_line(result: AllocationResult) -> dict[str, Decimal]:
    total: dict[str, Decimal] = defaultdict(Decimal)
    for s in result.shipments:
        for lq in s.lines:
            total[lq.line_id] += lq.qty
    for t in result.transfers:
        for lq in t.lines:
            total[lq.line_id] += lq.qty
    for group in (result.backorders, result.held, result.cancelled):
        for item in group:
            total[item.line.line_id] += item.line.qty
    return total


@pytest.mark.parametrize("ruleset_path", RULESETS, ids=lambda p: p.stem)
def test_every_example_order_gets_a_feasible_complete_decision(
    world: World, ruleset_path: Path
) -> None:
    network, catalog, ledger, orders = world
    ruleset = load_ruleset(ruleset_path, network, catalog)
    for order in orders:
        snapshot = ledger.snapshot({line.sku for line in order.lines})
        policy = select(order, ruleset, catalog).policy
        problem = build_problem(order, policy, network, snapshot, NOW, catalog=catalog)
        for plan, sub in zip(solve_problem(problem).values(),
                             [p for p in (problem.physical, problem.virtual) if p is not None],
                             strict=True):
            assert check_plan(sub, plan) == [], order.id
        result = allocate(order, ruleset, network, snapshot, NOW, catalog=catalog)
        assert units_per_line(result) == {line.id: line.qty for line in order.lines}, order.id
        doc = json.loads(json.dumps(result.to_dict()))
        AllocationResultModel.model_validate(doc)
        if not policy.uses_rank and result.solver_status == "optimal":
            for line in result.lines:
                alt = line.alternative
                if alt is not None and alt.cost_difference is not None:
                    # no plan without the chosen sources beats the proven optimum
                    assert alt.cost_difference >= 0, (order.id, line.line_id)


def physical_problems(world: World, count: int) -> Iterator[tuple[str, SourcingProblem]]:
    """The physical sub-problems of the first ``count`` example orders under cost.yaml."""
    network, catalog, ledger, orders = world
    ruleset = load_ruleset(ROOT / "rulesets" / "cost.yaml", network, catalog)
    for order in orders[:count]:
        snapshot = ledger.snapshot({line.sku for line in order.lines})
        policy = select(order, ruleset, catalog).policy
        problem = build_problem(order, policy, network, snapshot, NOW, catalog=catalog)
        if problem.physical is not None:
            yield order.id, problem


def test_the_optimiser_never_costs_more_than_the_greedy_fill(world: World) -> None:
    for order_id, problem in physical_problems(world, 120):
        optimal = solve_problem(problem)["physical"]
        greedy = solve_problem(problem, SolverConfig(solver="ranked"))["physical"]
        assert optimal.objective <= greedy.objective, order_id


def test_the_fast_path_and_cp_sat_agree_on_the_examples(world: World) -> None:
    for order_id, problem in physical_problems(world, 80):
        fast = solve_problem(problem)["physical"]
        exact = solve_problem(problem, SolverConfig(solver="cp-sat"))["physical"]
        assert fast.objective == exact.objective, order_id
