"""The builder's caches change nothing: on random networks, policies and orders, allocating
with caches warmed by earlier orders gives the same results, byte for byte, as allocating each
order against fresh copies of the network and the policy (nothing cached yet)."""

from __future__ import annotations

import importlib.util
import json
import pickle
import sys
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from oms_sourcing.allocation.allocate import AllocationResult, allocate
from oms_sourcing.domain import Capacity
from oms_sourcing.rules.model import (
    BackorderPolicy,
    Objective,
    Policy,
    RankKey,
    SourcePolicy,
    SplitMode,
    SplitPolicy,
)

SYNTHETIC = Path(__file__).resolve().parents[2] / "benchmarks" / "_synthetic.py"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def load_synthetic() -> ModuleType:
    if "_synthetic" in sys.modules:
        return sys.modules["_synthetic"]
    spec = importlib.util.spec_from_file_location("_synthetic", SYNTHETIC)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_synthetic"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def fingerprint(result: AllocationResult) -> tuple[str, str]:
    """The result as JSON (its timing left out) and its reservations."""
    out = result.to_dict()
    out["solver"].pop("ms")
    return (json.dumps(out, sort_keys=True),
            repr(sorted((k, list(v)) for k, v in result.reservations().items())))


money = st.sampled_from([Decimal(0), Decimal(1), Decimal("0.5"), Decimal("2.25")])


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    if draw(st.integers(0, 4)) == 0:
        return Policy(objective=None, rank=draw(st.sampled_from(
            [(RankKey.PRIORITY,), (RankKey.DISTANCE,), (RankKey.COST, RankKey.PRIORITY)])))
    objective = Objective(shipping_cost=draw(money), distance=draw(money) / 100,
                          shipments=draw(money), source_priority=draw(money) / 10)
    split = SplitPolicy(
        mode=draw(st.sampled_from([SplitMode.ALLOW, SplitMode.ALLOW, SplitMode.SHIP_COMPLETE])),
        max_shipments=draw(st.none() | st.integers(1, 3)),
        one_source_per_line=draw(st.booleans()))
    sources = SourcePolicy(max_distance_km=draw(st.none() | st.sampled_from([80.0, 400.0])))
    return Policy(objective=objective, split=split, sources=sources,
                  backorder=draw(st.sampled_from(list(BackorderPolicy))))


@settings(max_examples=25)
@given(
    n_sources=st.integers(2, 9),
    seed=st.integers(0, 10_000),
    policy=policies(),
    moves=st.lists(st.booleans(), min_size=6, max_size=6),
    capacity=st.booleans(),
)
def test_warm_caches_give_the_results_of_a_fresh_build(
    n_sources: int, seed: int, policy: Policy, moves: list[bool], capacity: bool
) -> None:
    syn = load_synthetic()
    world = syn.make_world(n_sources, 40, seed=seed, max_qty=4)
    orders = syn.make_orders(6, world, seed=seed + 1)
    # some orders ship to another country, or to a point without coordinates: other zones
    # and other distances from the same cached rows
    countries = sorted({s.location.country or "" for s in world.network.sources})
    for j, move in enumerate(moves):
        if move:
            where = orders[j].shipping.address
            moved = replace(where, country=countries[j % len(countries)],
                            lat=None if j % 3 == 0 else where.lat,
                            lon=None if j % 3 == 0 else where.lon)
            orders[j] = replace(orders[j], shipping=replace(orders[j].shipping, address=moved))
    left = ({world.network.codes[0]: Capacity(orders=0)} if capacity else None)
    net, catalog, ledger = world.network, world.catalog, world.ledger
    snapshots = [ledger.snapshot([ln.sku for ln in o.lines]) for o in orders]

    warm: list[tuple[str, str]] = []
    for _ in range(2):          # the second round reads every cache the first one filled
        warm = [fingerprint(allocate(o, policy, net, s, NOW, catalog=catalog,
                                     capacity_left=left))
                for o, s in zip(orders, snapshots, strict=True)]
    for o, s, seen in zip(orders, snapshots, warm, strict=True):
        fresh_net = pickle.loads(pickle.dumps(net))
        fresh = allocate(o, replace(policy), fresh_net, s, NOW, catalog=catalog,
                         capacity_left=left)
        assert fingerprint(fresh) == seen


def _fingerprints(results: list[AllocationResult]) -> list[Any]:
    return [fingerprint(r) for r in results]


def test_the_w1_and_w2_worlds_plan_alike_with_warm_and_fresh_caches() -> None:
    syn = load_synthetic()
    for n_sources in (50, 500):
        world = syn.make_world(n_sources, 1000, seed=n_sources)
        orders = syn.make_orders(25, world, seed=1000 + n_sources)
        policy = Policy(objective=Objective(shipping_cost=Decimal(1)))
        net, catalog = world.network, world.catalog
        snaps = [world.ledger.snapshot([ln.sku for ln in o.lines]) for o in orders]
        warm = _fingerprints([allocate(o, policy, net, s, NOW, catalog=catalog)
                              for o, s in zip(orders, snaps, strict=True)])
        # a copy of the policy per order: its arrays and every per-destination row are new
        fresh = _fingerprints([
            allocate(o, replace(policy), net, s, NOW, catalog=catalog)
            for o, s in zip(orders, snaps, strict=True)])
        assert warm == fresh
