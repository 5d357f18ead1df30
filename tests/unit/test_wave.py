"""Wave optimisation: orders sourced together never oversell, never cost more than sourcing them
one by one, and fix what greedy per-order sourcing gets wrong."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oms_sourcing.allocation.wave import WaveConfig, WaveResult, allocate_wave
from oms_sourcing.domain import (
    Capacity,
    Catalog,
    LineId,
    Location,
    Order,
    OrderId,
    OrderLine,
    Shipping,
    Sku,
    SkuInfo,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
    Zone,
)
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork
from oms_sourcing.inventory.stock import StockLedger, StockRecord
from oms_sourcing.rules.model import Objective, Policy, StockPolicy

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PLACES = {
    "berlin": Location(country="DE", postcode="10115"),
    "hamburg": Location(country="DE", postcode="20095"),
    "munich": Location(country="DE", postcode="80331"),
}
# per shipment from each warehouse to each place
COST = {("WH-HAM", "berlin"): "4", ("WH-HAM", "hamburg"): "4", ("WH-HAM", "munich"): "10",
        ("WH-MUC", "berlin"): "4.50", ("WH-MUC", "hamburg"): "5", ("WH-MUC", "munich"): "4"}
ZONES = {name: Zone(name=name, postcode_prefixes=frozenset({loc.postcode[:1]}))
         for name, loc in PLACES.items() if loc.postcode}
NETWORK = SourceNetwork(
    (Source(SourceCode("WH-HAM"), SourceKind.WAREHOUSE, priority=1),
     Source(SourceCode("WH-MUC"), SourceKind.WAREHOUSE, priority=2)),
    zones=tuple(ZONES.values()),
    shipping_lanes=tuple(
        ShippingLane(name=f"{code}-{place}", sources=SourceSelector(codes=frozenset({code})),
                     destination=ZONES[place], per_shipment=D(cost), per_unit=D("0.10"),
                     position=i)
        for i, ((code, place), cost) in enumerate(sorted(COST.items()))
    ),
)
CATALOG = Catalog((SkuInfo(Sku("MUG")), SkuInfo(Sku("PAN"))))
POLICY = Policy(objective=Objective(shipping_cost=D(1)))


def order(n: int, place: str, **qty: int) -> Order:
    return Order(OrderId(str(n)), NOW,
                 tuple(OrderLine(LineId(sku), Sku(sku), D(q)) for sku, q in qty.items()),
                 shipping=Shipping(address=PLACES[place]))


def ledger(stock: dict[tuple[str, str], int]) -> StockLedger:
    led = StockLedger(NETWORK.codes, CATALOG)
    led.apply_records([StockRecord(src, sku, D(q), NOW, f"{src}:{sku}")
                       for (src, sku), q in stock.items()])
    return led


def test_the_wave_leaves_the_hamburg_unit_for_the_hamburg_customer() -> None:
    orders = [order(1, "berlin", MUG=1), order(2, "hamburg", MUG=1)]
    led = ledger({("WH-HAM", "MUG"): 1, ("WH-MUC", "MUG"): 1})
    wave = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG"]), NOW, catalog=CATALOG)
    # one by one: Berlin takes Hamburg's unit (4.10), Hamburg then ships from Munich (5.10)
    assert wave.per_order_cost == D("9.20")
    # together: Berlin from Munich (4.60), Hamburg from Hamburg (4.10)
    assert wave.cost == D("8.70") and wave.status == "optimal" and wave.improved
    assert [r.order_id for r in wave.results] == ["1", "2"]
    assert [r.shipments[0].source for r in wave.results] == ["WH-MUC", "WH-HAM"]
    assert wave.bound <= wave.objective and wave.gap == 0


def test_a_wave_whose_orders_all_get_their_own_best_plan_is_proven_without_the_joint_model(
) -> None:
    orders = [order(1, "berlin", MUG=1), order(2, "hamburg", MUG=1)]
    led = ledger({("WH-HAM", "MUG"): 5, ("WH-MUC", "MUG"): 5})
    wave = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG"]), NOW, catalog=CATALOG)
    # both from Hamburg, the cheapest for each, and nothing in the way of either
    assert [r.shipments[0].source for r in wave.results] == ["WH-HAM", "WH-HAM"]
    assert wave.status == "optimal" and wave.gap == 0 and not wave.improved
    assert wave.bound == wave.sum_of_optima == wave.objective
    assert wave.lp_bound is None and wave.lagrangian_bound is None
    assert "lp" not in dict(wave.phases) and "column_generation" not in dict(wave.phases)


@st.composite
def waves(draw: st.DrawFn) -> tuple[list[Order], dict[tuple[str, str], int]]:
    n = draw(st.integers(1, 6))
    orders = []
    for i in range(n):
        place = draw(st.sampled_from(sorted(PLACES)))
        skus = draw(st.lists(st.sampled_from(["MUG", "PAN"]), min_size=1, max_size=2,
                             unique=True))
        orders.append(order(i, place, **{s: draw(st.integers(1, 3)) for s in skus}))
    stock = {(src, sku): draw(st.integers(0, 4)) for src in ("WH-HAM", "WH-MUC")
             for sku in ("MUG", "PAN")}
    return orders, stock


def test_a_wave_never_ships_more_orders_from_a_source_than_its_capacity_left() -> None:
    # both customers are cheapest from Hamburg, which takes one more order today
    orders = [order(1, "berlin", MUG=1), order(2, "hamburg", MUG=1)]
    led = ledger({("WH-HAM", "MUG"): 5, ("WH-MUC", "MUG"): 5})
    unlimited = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG"]), NOW,
                              catalog=CATALOG)
    assert [r.shipments[0].source for r in unlimited.results] == ["WH-HAM", "WH-HAM"]
    limited = replace(NETWORK.source("WH-HAM"), capacity=Capacity(orders=1))
    network = SourceNetwork((limited, NETWORK.source("WH-MUC")), zones=tuple(ZONES.values()),
                            shipping_lanes=NETWORK.shipping_lanes)
    for net, left in ((network, None), (NETWORK, {"WH-HAM": Capacity(orders=1)})):
        wave = allocate_wave(orders, POLICY, net, led.snapshot(["MUG"]), NOW,
                             catalog=CATALOG, capacity_left=left)
        sources = [s.source for r in wave.results for s in r.shipments]
        assert sources.count("WH-HAM") == 1 and wave.cost <= wave.per_order_cost


def shipped_from(wave: WaveResult, source: str) -> D:
    return sum((lq.qty for r in wave.results for s in r.shipments if s.source == source
                for lq in s.lines), D(0))


def test_a_wave_keeps_the_safety_stock_its_policy_holds_back() -> None:
    # Hamburg holds 3 mugs and the policy keeps 2 of them back: one may ship from there
    careful = replace(POLICY, stock=StockPolicy(by_source=(("WH-HAM", D(2)),)))
    orders = [order(1, "hamburg", MUG=1), order(2, "hamburg", MUG=1)]
    led = ledger({("WH-HAM", "MUG"): 3, ("WH-MUC", "MUG"): 5})
    wave = allocate_wave(orders, careful, NETWORK, led.snapshot(["MUG"]), NOW, catalog=CATALOG)
    assert shipped_from(wave, "WH-HAM") == 1 and shipped_from(wave, "WH-MUC") == 1


def test_a_wave_ships_nothing_from_a_source_marked_out_of_stock() -> None:
    orders = [order(1, "hamburg", MUG=1), order(2, "berlin", MUG=1)]
    led = ledger({("WH-MUC", "MUG"): 5})
    led.apply_records([StockRecord("WH-HAM", "MUG", D(5), NOW, "ham-oos", in_stock=False)])
    wave = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG"]), NOW, catalog=CATALOG)
    assert shipped_from(wave, "WH-HAM") == 0 and shipped_from(wave, "WH-MUC") == 2


def test_the_neighbourhood_search_alone_swaps_what_one_order_at_a_time_cannot() -> None:
    # each order re-taking its best plan against what the other holds changes nothing here:
    # only the two solved together swap their warehouses
    orders = [order(1, "berlin", MUG=1), order(2, "hamburg", MUG=1)]
    led = ledger({("WH-HAM", "MUG"): 1, ("WH-MUC", "MUG"): 1})
    only_local = WaveConfig(lp=False, pricing_rounds=0, neighbourhoods=0)
    wave = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG"]), NOW, catalog=CATALOG,
                         config=only_local)
    assert wave.cost == D("9.20") and not wave.improved
    only_lns = WaveConfig(lp=False, pricing_rounds=0, local_search_rounds=0,
                          neighbourhoods=2, neighbourhood_orders=2)
    wave = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG"]), NOW, catalog=CATALOG,
                         config=only_lns)
    assert wave.cost == D("8.70") and wave.improved
    assert [name for name, _ in wave.phases] == ["build", "optima", "per_order",
                                                 "neighbourhoods", "results"]


@pytest.mark.parametrize(("field", "value", "fix"), [
    ("neighbourhoods", -1, "0 or more"),
    ("neighbourhood_orders", 1, "at least 2 orders"),
    ("mip_solver", "gurobi", "'scip' or 'highs'"),
    ("pricing_tolerance", 1.5, "fraction of the cost"),
    ("master_effort", -1.0, "0 or more"),
    ("time_limit_s", 0.0, "or None"),
    ("proof_gap", -0.1, "0 to skip"),
    ("proof_plans", -1, "0 or more"),
])
def test_a_wave_config_names_the_field_the_value_and_the_fix(
    field: str, value: object, fix: str,
) -> None:
    with pytest.raises(ValueError, match=field) as err:
        WaveConfig(**{field: value})  # type: ignore[arg-type]
    assert str(value) in str(err.value) and fix in str(err.value)


def reference(orders: list[Order], stock: dict[tuple[str, str], int]) -> tuple[int, D]:
    """The fewest units short, then the least shipping cost, of any joint plan: an
    independent CP-SAT model written from the test's own cost table."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    sources = ("WH-HAM", "WH-MUC")
    cents, short_terms, take = [], [], defaultdict(list)
    for o in orders:
        place = next(name for name, loc in PLACES.items() if loc == o.shipping.address)
        for src in sources:
            ship = model.new_bool_var(f"{o.id}-{src}")
            cents.append(int(D(COST[(src, place)]) * 100) * ship)
            for line in o.lines:
                x = model.new_int_var(0, int(line.qty), f"{o.id}-{line.id}-{src}")
                model.add(x <= int(line.qty) * ship)
                cents.append(10 * x)
                take[(src, str(line.sku))].append(x)
                take[(o.id, line.id)].append(x)
        for line in o.lines:
            short = model.new_int_var(0, int(line.qty), f"{o.id}-{line.id}-short")
            model.add(sum(take[(o.id, line.id)]) + short == int(line.qty))
            short_terms.append(short)
    for (src, sku), q in stock.items():
        model.add(sum(take[(src, sku)]) <= q)
    model.minimize(sum(short_terms) * 10**6 + sum(cents))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL
    value = round(solver.objective_value)
    return value // 10**6, D(value % 10**6) / 100


CONFIGS = [WaveConfig(), WaveConfig(mip=True, neighbourhoods=0),
           WaveConfig(lp=False, pricing_rounds=3, master_effort=0, neighbourhood_orders=2),
           WaveConfig(lp=False, local_search_rounds=0, neighbourhoods=0),
           WaveConfig(lp=False, local_search_rounds=0, neighbourhoods=0, price_directed=False,
                      proof_gap=1e-9)]


# A wave without local or neighbourhood search may leave one unit more short than the true
# minimum when its objective says so (here 6 units instead of 5, for two parcels fewer: the
# penalty per short unit, just above shipping a unit on its own, is less than two parcels) —
# found by hypothesis on 2026-12-08; the test had assumed every wave minimises short units first.
_TRADES_A_UNIT_FOR_TWO_PARCELS = (
    [order(0, "berlin", PAN=2), order(1, "berlin", MUG=1, PAN=1),
     order(2, "berlin", MUG=1, PAN=1), order(3, "berlin", MUG=3, PAN=1),
     order(4, "berlin", MUG=1), order(5, "berlin", MUG=1)],
    {("WH-HAM", "MUG"): 0, ("WH-HAM", "PAN"): 0, ("WH-MUC", "MUG"): 3, ("WH-MUC", "PAN"): 4},
)


@settings(max_examples=25, deadline=None)
@given(waves(), st.sampled_from(CONFIGS))
@example(_TRADES_A_UNIT_FOR_TWO_PARCELS, CONFIGS[3])
def test_a_wave_never_oversells_and_never_costs_more_than_one_by_one(
    case: tuple[list[Order], dict[tuple[str, str], int]], config: WaveConfig,
) -> None:
    orders, stock = case
    led = ledger(stock)
    wave = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG", "PAN"]), NOW,
                         catalog=CATALOG, config=config)
    again = allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG", "PAN"]), NOW,
                          catalog=CATALOG, config=config)
    assert plans(wave) == plans(again)
    # the bound holds against the true optimum, and "optimal" means it
    short, cost = reference(orders, stock)
    assert wave.short_units >= short
    if wave.short_units == short:
        assert bound_on_cost(wave) <= cost <= wave.cost
    if wave.status == "optimal":
        assert (wave.short_units, wave.cost) == (short, cost)
    taken: dict[tuple[str, str], D] = defaultdict(D)
    for result in wave.results:
        for allocs in result.reservations().values():
            for source, sku, qty in allocs:
                taken[(source, sku)] += qty
    assert all(q <= stock[key] for key, q in taken.items())
    assert wave.objective <= wave.per_order_objective
    assert wave.short_units <= wave.per_order_short_units or wave.objective < (
        wave.per_order_objective)
    # every bound reported, not only the best (which is capped at the wave's objective), is
    # below the true optimum's objective (its cost plus the short units every plan leaves)
    optimum = cost + short_penalty(wave) * short
    for bound in (wave.lp_bound, wave.lagrangian_bound, wave.sum_of_optima, wave.bound):
        assert bound is None or bound <= optimum, (bound, optimum)
    # column generation's bound prices whole plans: never below the LP relaxation's by more
    # than its stopping tolerance
    if wave.lagrangian_bound is not None and wave.lp_bound is not None:
        slack = D(str(config.pricing_tolerance)) * wave.per_order_cost + D("0.000001")
        assert wave.lagrangian_bound >= wave.lp_bound - slack
    # every unit of every line has exactly one outcome
    for o, result in zip(orders, wave.results, strict=True):
        got: dict[str, D] = defaultdict(D)
        for s in result.shipments:
            for lq in s.lines:
                got[lq.line_id] += lq.qty
        for h in (*result.backorders, *result.held, *result.cancelled):
            got[h.line.line_id] += h.line.qty
        assert got == {line.id: line.qty for line in o.lines}


def bound_on_cost(wave: WaveResult) -> D:
    """The wave's bound on the full objective, less the short penalty of its own short units
    (every plan leaves at least as many short, as the reference shows)."""
    return wave.bound - short_penalty(wave) * wave.short_units


def short_penalty(wave: WaveResult) -> D:
    """The objective's penalty per unit left short, read off the wave's own plan."""
    return (wave.objective - wave.cost) / wave.short_units if wave.short_units else D(0)


def plans(wave: WaveResult) -> list[dict[str, object]]:
    """Each order's decisions, without the solver's timing."""
    return [{key: value for key, value in r.to_dict().items() if key != "solver"}
            for r in wave.results]


def test_a_wave_gets_the_same_plans_and_bounds_in_two_processes_as_in_one() -> None:
    places = sorted(PLACES)
    orders = [order(n, places[n % 3], **({"MUG": 1 + n % 3} if n % 4 else {"MUG": 1, "PAN": 2}))
              for n in range(80)]    # enough for the workers to take part (64 or more)
    led = ledger({("WH-HAM", "MUG"): 40, ("WH-MUC", "MUG"): 45, ("WH-HAM", "PAN"): 12,
                  ("WH-MUC", "PAN"): 9})
    waves = [allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG", "PAN"]), NOW,
                           catalog=CATALOG, config=WaveConfig(workers=workers))
             for workers in (1, 2)]
    one, two = waves
    assert plans(one) == plans(two)
    assert (one.bound, one.lagrangian_bound, one.cost) == (two.bound, two.lagrangian_bound,
                                                           two.cost)
    assert one.cost < one.per_order_cost    # the orders compete: the wave has work to do


def test_each_shared_cell_holds_the_least_any_order_may_still_take() -> None:
    import numpy as np

    from oms_sourcing.allocation.problem import AllocationProblem
    from oms_sourcing.allocation.wave._joint import _joint_stock

    def problem(name: str, skus: tuple[str, ...], stock: list[list[int]]) -> AllocationProblem:
        n = len(skus)
        return AllocationProblem(
            order_id=name, sources=("WH-HAM", "WH-MUC"), lines=skus, skus=skus,
            line_sku=np.arange(n), demand=np.ones(n, dtype=np.int64), stock=np.array(stock),
            allowed=np.ones((n, 2), dtype=bool), fixed_cost=np.array([400, 450]),
            unit_cost=np.full((n, 2), 10), short_cost=np.full(n, 10_000))

    # a careful order sees 1 mug at Hamburg (its policy holds the rest back), a lax one 5;
    # the orders outside the joint model took 4 mugs there and both pans at Munich
    careful = problem("careful", ("MUG", "PAN"), [[1, 3], [0, 2]])
    lax = problem("lax", ("MUG",), [[5, 3]])
    taken = {"MUG": np.array([4, 0]), "PAN": np.array([0, 2])}
    stock, cells, may = _joint_stock([careful, lax], [np.array([0, 1])] * 2, 2, taken,
                                lambda sku: True)
    dead = len(stock) - 1
    mug_ham, mug_muc = cells[1][0]
    assert (stock[mug_ham], stock[mug_muc]) == (1, 3)   # the careful order sees none left
    assert may[0][0].tolist() == [False, True] and may[1][0].tolist() == [True, True]
    pan_ham, pan_muc = cells[0][1]
    assert pan_ham == dead and stock[dead] == 0         # no order could ever take from it
    assert pan_muc != dead and stock[pan_muc] == 0      # a cell, emptied by the others
    assert list(cells[0][0]) == [mug_ham, mug_muc]


def test_an_order_whose_policy_holds_stock_back_never_takes_it_in_a_wave() -> None:
    from oms_sourcing.rules.loader import parse_ruleset

    # Hamburg customers' rule keeps 4 of Hamburg's 5 mugs back; Berlin orders are held until
    # complete (so they are sourced one by one, outside the joint model); others keep nothing
    rules = parse_ruleset(
        "id: mixed\nversion: 1\ndefaults:\n  objective: {shipping_cost: 1}\nrules:\n"
        "  - name: careful\n    when: {postcode_prefix: ['2']}\n"
        "    stock: {safety: {sources: {WH-HAM: 4}}}\n"
        "  - name: berlin-whole\n    when: {postcode_prefix: ['1']}\n"
        "    split: {mode: hold_until_complete}\n"
        "  - name: lax\n", "mixed.yaml", NETWORK, CATALOG)
    led = ledger({("WH-HAM", "MUG"): 5, ("WH-MUC", "MUG"): 9})
    orders = [order(1, "berlin", MUG=4), order(2, "hamburg", MUG=1), order(3, "munich", MUG=1)]
    wave = allocate_wave(orders, rules, NETWORK, led.snapshot(["MUG"]), NOW, catalog=CATALOG)
    # Berlin takes 4 of Hamburg's mugs; the last one is Munich's to take, never the careful
    # Hamburg customer's (Hamburg would be its cheapest source, 4.10 against 5.10)
    assert [s.source for s in wave.results[0].shipments] == ["WH-HAM"]
    assert [s.source for s in wave.results[1].shipments] == ["WH-MUC"]
    assert shipped_from(wave, "WH-HAM") <= 5


def test_the_large_wave_settings_stop_after_the_master_mip_and_take_overrides() -> None:
    large = WaveConfig.large()
    assert (large.pricing_tolerance, large.price_directed, large.local_search_rounds,
            large.neighbourhoods, large.workers) == (0.003, False, 0, 0, 2)
    assert WaveConfig.large(4, neighbourhoods=50).neighbourhoods == 50
    with pytest.raises(ValueError, match="workers"):
        WaveConfig.large(0)


def test_the_proven_gap_settings_run_column_generation_to_the_end_then_the_proof() -> None:
    proven = WaveConfig.proven()
    assert (proven.pricing_tolerance, proven.proof_gap, proven.price_directed,
            proven.local_search_rounds, proven.neighbourhoods, proven.workers) == (
        0.0, 0.003, False, 0, 0, 1)
    assert WaveConfig.proven(0.01, workers=2, lp=False) == replace(
        proven, proof_gap=0.01, workers=2, lp=False)
    with pytest.raises(ValueError, match="proof_gap"):
        WaveConfig.proven(1.5)


def test_column_generation_goes_on_with_simplex_when_the_interior_point_stalls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from oms_sourcing.allocation.wave import _column_generation

    places = sorted(PLACES)
    orders = [order(n, places[n % 3], **({"MUG": 1 + n % 3} if n % 4 else {"MUG": 1, "PAN": 2}))
              for n in range(40)]
    led = ledger({("WH-HAM", "MUG"): 20, ("WH-MUC", "MUG"): 22, ("WH-HAM", "PAN"): 6,
                  ("WH-MUC", "PAN"): 5})
    config = WaveConfig(lp=False, neighbourhoods=0, local_search_rounds=0, price_directed=False)

    def run() -> WaveResult:
        return allocate_wave(orders, POLICY, NETWORK, led.snapshot(["MUG", "PAN"]), NOW,
                             catalog=CATALOG, config=config)

    healthy = run()
    real = _column_generation._quiet_highs

    def stalling() -> object:
        master = real()
        master.setOptionValue("ipm_iteration_limit", 0)     # the interior point never finishes
        return master

    monkeypatch.setattr(_column_generation, "_quiet_highs", stalling)
    stalled = run()
    assert healthy.lagrangian_bound is not None and healthy.lagrangian_bound > 0
    # without simplex taking over, the second master would end column generation at the
    # first round's bound; with it, the rounds go on to (nearly: other duals) the same bound
    assert stalled.lagrangian_bound is not None
    assert stalled.lagrangian_bound >= healthy.lagrangian_bound * D("0.999")
    assert stalled.objective <= stalled.per_order_objective


def test_the_proof_step_closes_the_gap_column_generation_leaves_on_a_scarce_unit() -> None:
    # two customers want 2 pans each and Hamburg has 3: one of them gets a unit short, which
    # column generation's bound spreads over both orders' plans at once
    orders = [order(1, "hamburg", PAN=2), order(2, "munich", PAN=2)]
    led = ledger({("WH-HAM", "PAN"): 3})
    settings = {"lp": False, "local_search_rounds": 0, "neighbourhoods": 0,
                "price_directed": False}
    waves = [allocate_wave(orders, POLICY, NETWORK, led.snapshot(["PAN"]), NOW,
                           catalog=CATALOG, config=WaveConfig(**settings, proof_gap=gap))
             for gap in (0.0, 0.01, 1e-9)]
    plain, within, proven = waves
    assert plain.status == "feasible" and plain.gap > 0.01
    assert plain.lagrangian_bound is not None and plain.bound == plain.lagrangian_bound
    # the proof lifts the bound as far as asked: to 1 % of the cost, then to the optimum
    assert within.gap <= 0.01 and within.bound > plain.bound
    assert proven.status == "optimal" and proven.gap == 0
    assert proven.bound == proven.objective
    assert (proven.short_units, proven.cost) == reference(orders, {("WH-HAM", "PAN"): 3,
                                                                   ("WH-MUC", "PAN"): 0})
    assert "proof" in dict(proven.phases) and "proof" not in dict(plain.phases)
