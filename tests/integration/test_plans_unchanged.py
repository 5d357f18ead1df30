"""The plans do not change unless we mean them to: every ``to_dict`` on fixed seeds, hashed.

The hashes below are of the full deterministic output of small synthetic runs (the W1/W2
generator of ``benchmarks/_synthetic.py`` at a small size, and a small W3 wave): a refactoring
that keeps them keeps every plan, bound and explanation. A change that is *meant* to change
plans (a new tie-break, a new solver step) updates them, and says so in its commit. The same
runs must give the same bytes in another process with another hash seed (no set or dict order
leaks into a plan).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.allocation.wave import WaveConfig, WaveResult, allocate_wave
from oms_sourcing.rules.model import Objective, Policy, RankKey

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "benchmarks" / "_synthetic.py"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
OPTIMAL = Policy(objective=Objective(shipping_cost=Decimal(1)))
PRIORITY = Policy(objective=None, rank=(RankKey.PRIORITY,))

PINNED = {
    "allocate 8 src optimal":
        "0c5f9689320463d9144c3d464b7a4b23402a0b8e2a02b33c1a6920f1ed0d1707",
    "allocate 8 src priority":
        "c15f3ddbd37eb73a8faa4535e5583a9fcf1aad812b6c2a931ac694d9c5a57185",
    "allocate 60 src optimal":
        "2192efc532de1aaac95d9ecfcb468c7a57190d3d5e341c3c102599776bdad69d",
    "wave 40x5x3 default":
        "b13269e7ae9b88b52b0cc014bfe8acc77eedd85d40664bb5ac6781984a7187bd",
    "wave 40x5x3 proven":
        "5fc34347ec1cc9fd36a301cf85e6eb1c9552560a0bf5b82668225f2813b75c8e",
    "wave 40x5x3 whole-wave MIP":
        "4fed946e5ef54dc1f73cc4f3c68a964309b919cfb9401499f4eb989f97261c40",
}


def load_synthetic() -> ModuleType:
    if "_synthetic" in sys.modules:
        return sys.modules["_synthetic"]
    spec = importlib.util.spec_from_file_location("_synthetic", SYNTHETIC)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_synthetic"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def digest(dicts: list[dict[str, Any]], *extra: object) -> str:
    """A hash of results' ``to_dict`` (without the solve time) and of ``extra``."""
    h = hashlib.sha256()
    for d in dicts:
        d["solver"].pop("ms")      # the one figure that is not a decision
        h.update(json.dumps(d, sort_keys=True).encode())
    h.update(repr(extra).encode())
    return h.hexdigest()


def allocate_hash(n_sources: int, n_skus: int, n_orders: int, policy: Policy) -> str:
    syn = load_synthetic()
    world = syn.make_world(n_sources, n_skus, seed=n_sources)
    orders = syn.make_orders(n_orders, world, seed=1000 + n_sources)
    return digest([allocate(o, policy, world.network,
                            world.ledger.snapshot([line.sku for line in o.lines]), NOW,
                            catalog=world.catalog).to_dict() for o in orders])


def wave_hash(config: WaveConfig) -> str:
    syn = load_synthetic()
    world = syn.make_world(5, 60, seed=5, max_qty=3)
    orders = syn.make_orders(40, world, seed=2005)
    r: WaveResult = allocate_wave(orders, OPTIMAL, world.network,
                                  world.ledger.snapshot(world.skus), NOW,
                                  catalog=world.catalog, config=config)
    return digest([x.to_dict() for x in r.results], r.status, r.improved, r.cost,
                  r.per_order_cost, r.short_units, r.per_order_short_units, r.objective,
                  r.per_order_objective, r.bound, r.lp_bound, r.lagrangian_bound,
                  r.sum_of_optima, r.gap, r.joint_orders, r.columns, r.columns_kept,
                  r.short_qty, r.per_order_short_qty, [name for name, _ in r.phases])


def hashes() -> dict[str, str]:
    return {
        "allocate 8 src optimal": allocate_hash(8, 200, 150, OPTIMAL),
        "allocate 8 src priority": allocate_hash(8, 200, 150, PRIORITY),
        "allocate 60 src optimal": allocate_hash(60, 300, 100, OPTIMAL),
        "wave 40x5x3 default": wave_hash(WaveConfig(workers=1)),
        "wave 40x5x3 proven": wave_hash(WaveConfig.proven(0.01, workers=1)),
        "wave 40x5x3 whole-wave MIP": wave_hash(WaveConfig(workers=1, mip=True)),
    }


def test_the_plans_on_fixed_seeds_are_the_pinned_ones() -> None:
    assert hashes() == PINNED


CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
from integration.test_plans_unchanged import allocate_hash, OPTIMAL, PRIORITY
print(json.dumps([allocate_hash(8, 200, 200, OPTIMAL), allocate_hash(8, 200, 200, PRIORITY)]))
"""


def test_plans_are_the_same_bytes_under_any_hash_seed() -> None:
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", CHILD.format(tests=str(ROOT / "tests"))],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outputs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert outputs[0] == outputs[1]
