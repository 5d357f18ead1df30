"""The rule-selection benchmark's setup still works (run at a small size, without timing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rules.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_rules", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_ruleset_has_twenty_rules_and_no_warnings() -> None:
    bench = load_bench()
    ruleset = bench.build_ruleset(20)
    assert len(ruleset.rules) == 20
    assert ruleset.warnings == ()


def test_the_benchmark_orders_reach_several_rules_and_the_worst_case_falls_through() -> None:
    bench = load_bench()
    ruleset, catalog = bench.build_ruleset(20), bench.build_catalog()
    orders = bench.build_orders(200)
    chosen = {bench.select(o, ruleset, catalog).rule_name for o in orders}
    assert len(chosen) >= 8
    assert 0 < bench.select_all(orders, ruleset, catalog) < len(orders)
    assert bench.select(bench.fallthrough_order(), ruleset, catalog).rule_name == "fallback"
