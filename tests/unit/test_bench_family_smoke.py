"""The academic fulfilment family and its benchmark still work (tiny horizon, no timing)."""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def family() -> ModuleType:
    return load("_fulfillment_family")


def test_the_warmup_network_has_ten_cities_five_fcs_and_a_dummy(family: ModuleType) -> None:
    inst = family.make_instance(family.SPECS["warmup"], seed=0, horizon=500)
    assert len(inst.cities) == 10 and len(inst.fcs) == 5
    assert inst.network.codes[-1] == family.DUMMY
    assert len(inst.types) == 1 + 5 * 5 and inst.types[0] == ()
    assert abs(float(inst.type_prob.sum()) - 1) < 1e-12


def test_lanes_carry_the_literatures_cost(family: ModuleType) -> None:
    inst = family.make_instance(family.SPECS["warmup"], seed=0, horizon=500)
    fc, city = inst.fcs[0], inst.cities[3]
    per_item = family.item_cost(family.miles(*_latlon(inst, fc), city.lat, city.lon))
    assert inst.network.shipping_cost(fc, city, 2) == (
        Decimal("8.759") + 2 * per_item).quantize(Decimal("0.01"))
    assert family.plan_cost(inst, 3, {fc: 2}) == pytest.approx(8.759 + 2 * float(per_item))


def _latlon(inst: object, code: str) -> tuple[float, float]:
    loc = inst.network.source(code).location  # type: ignore[attr-defined]
    return loc.lat, loc.lon


def test_every_item_orders_ask_for_is_stocked_somewhere(family: ModuleType) -> None:
    inst = family.make_instance(family.SPECS["warmup"], seed=2, horizon=10_000)
    stocked = {sku for (_, sku) in inst.stock}
    asked = {sku for t in inst.types for sku in t}
    assert asked <= stocked
    # T x demand share, plus half a standard deviation: about the horizon's demand in all
    demand = sum(p * len(t) for t, p in zip(inst.types, inst.type_prob.tolist(), strict=True))
    assert 10_000 * demand <= sum(inst.stock.values()) <= 10_000 * demand * 1.1


def test_the_benchmark_runs_every_policy_at_a_tiny_size() -> None:
    bench = load("bench_fulfillment_family")
    info = bench.run_family("warmup", instances=1, sequences=1, horizon=200, wave=50,
                            resolve=2)
    for name in ("myopic", "per-order optimal", "bid-price", "wave", "bid-price re-solved"):
        assert 0.5 < info[f"{name} / DLP"] < 3, info


def test_instances_solved_in_two_processes_give_the_same_figures() -> None:
    bench = load("bench_fulfillment_family")
    alone = bench.run_family("warmup", instances=2, sequences=1, horizon=150)
    shared = bench.run_family("warmup", instances=2, sequences=1, horizon=150, jobs=2)
    for name in ("myopic", "per-order optimal", "bid-price"):
        assert shared[f"{name} / DLP per instance"] == alone[f"{name} / DLP per instance"]


def test_the_wave_benchmark_runs_at_a_tiny_size() -> None:
    bench = load("bench_wave")
    config = bench.WaveConfig(neighbourhoods=20, pricing_rounds=2, mip=True,
                              mip_max_nodes=200)
    result = bench.run_wave(30, 8, max_qty=2, skus=10, config=config)
    info = bench.summary(result)
    assert [name for name, _ in result.phases] == [
        "build", "optima", "per_order", "lp", "column_generation", "master_mip",
        "local_search", "neighbourhoods", "mip", "results"]
    assert info["cost"] <= info["per_order_cost"] or info["short_units"] < info[
        "per_order_short_units"]
    assert info["gap_pct"] <= info["per_order_gap_pct"]
    assert bench.parse_case("1000x50") == (1000, 50, 3, bench.SKUS)
    assert bench.parse_case("1000x50x10") == (1000, 50, 10, bench.SKUS)
    assert bench.parse_case("10000x500x3x5000") == (10000, 500, 3, 5000)


def test_the_workload_benchmarks_run_at_a_tiny_size() -> None:
    bench = load("bench_workloads")
    info = bench.replay(30)
    assert sum(info["statuses"].values()) == 30
    assert info["refused_reservations"] == 0 and info["p50_ms"] <= info["p99_ms"]
    memory = bench.memory_and_reservation(50, 30)
    assert memory["reserve_order_us_p50"] > 0 and memory["peak_kb_per_decision_mean"] > 0
    stress = bench.stress(20, 50, 10)
    assert stress["orders"] == 10 and stress["p99_ms"] > 0


def test_a_family_run_resumes_from_its_results_file(tmp_path: Path) -> None:
    bench = load("bench_fulfillment_family")
    results = tmp_path / "grid.jsonl"
    first = bench.run_family("warmup", [1], sequences=1, horizon=120, results=results)
    assert first["solved_now"] == 1 and len(results.read_text().splitlines()) == 1
    both = bench.run_family("warmup", [0, 1], sequences=1, horizon=120, results=results)
    assert both["solved_now"] == 1 and both["taken_from_results"] == 1
    assert len(results.read_text().splitlines()) == 2
    fresh = bench.run_family("warmup", 2, sequences=1, horizon=120)
    for name in ("myopic", "per-order optimal", "bid-price"):
        assert both[f"{name} / DLP per instance"] == fresh[f"{name} / DLP per instance"]
    other_horizon = bench.run_family("warmup", [1], sequences=1, horizon=100, results=results)
    assert other_horizon["solved_now"] == 1


def test_a_grid_of_the_wave_alone_runs_only_the_wave_and_keeps_its_own_results(
    tmp_path: Path,
) -> None:
    bench = load("bench_fulfillment_family")
    results = tmp_path / "grid.jsonl"
    base = bench.run_family("warmup", [0], sequences=1, horizon=120, wave=40,
                            results=results)
    alone = bench.run_family("warmup", [0], sequences=1, horizon=120, wave=40,
                             results=results, added_only=True)
    assert alone["solved_now"] == 1      # not the run with every policy
    assert [k for k in alone if k.endswith(" / DLP")] == ["wave / DLP"]
    assert alone["wave / DLP"] == base["wave / DLP"] and alone["allocate_ms_per_order"] is None
    again = bench.run_family("warmup", [0], sequences=1, horizon=120, wave=40,
                             results=results, added_only=True)
    assert again["taken_from_results"] == 1
    with pytest.raises(ValueError, match="FAMILY_WAVE"):
        bench.instance_costs("warmup", 0, 1, 120, added_only=True)


def test_a_grid_of_the_wave_alone_can_take_each_dlp_from_the_base_grid(tmp_path: Path) -> None:
    bench = load("bench_fulfillment_family")
    base_file, alone_file = tmp_path / "base.jsonl", tmp_path / "wave.jsonl"
    bench.run_family("warmup", [0], sequences=1, horizon=120, results=base_file)
    solved = bench.run_family("warmup", [0, 1], sequences=1, horizon=120, wave=40,
                              added_only=True)
    taken = bench.run_family("warmup", [0, 1], sequences=1, horizon=120, wave=40,
                             results=alone_file, added_only=True, dlp_from=base_file)
    assert taken["dlp_taken"] == 1     # seed 0 taken; seed 1, not in the base grid, solved
    assert taken["wave / DLP per instance"] == solved["wave / DLP per instance"]
    lines = [json.loads(line) for line in alone_file.read_text().splitlines()]
    assert sorted(one["dlp_seconds"] is None for one in lines) == [False, True]
    # a DLP solved here says it was proven optimal; one taken from the base grid says nothing
    assert sorted(str(one["dlp_status"]) for one in lines) == ["None", "optimal"]
    assert bench.known_dlps(base_file, "warmup", 100) == {}    # another horizon: not taken
    explicit = tmp_path / "explicit.jsonl"         # T written out: the family's own horizon
    explicit.write_text(json.dumps({"family": "warmup", "seed": 3, "sequences": 1,
                                    "horizon": 10_000, "wave": 0, "resolve": 0, "dlp": 5.0,
                                    "costs": {}}) + "\n")
    assert bench.known_dlps(explicit, "warmup", None) == {3: 5.0}
    with pytest.raises(ValueError, match="FAMILY_ADDED_ONLY"):
        bench.run_family("warmup", [0], sequences=1, horizon=120, dlp_from=base_file)
    with pytest.raises(FileNotFoundError, match="no such results file"):
        bench.run_family("warmup", [0], sequences=1, horizon=120, wave=40, added_only=True,
                         dlp_from=tmp_path / "typo.jsonl")


def test_the_family_table_joins_grids_of_different_policies_by_instance(tmp_path: Path) -> None:
    table = load("family_table")

    def line(seed: int, dlp: float, costs: dict[str, list[float]], **run: int) -> str:
        return json.dumps({"family": "large-0.25", "seed": seed, "sequences": 2,
                           "horizon": None, "wave": run.get("wave", 0), "resolve": 0,
                           "dlp": dlp, "costs": costs})

    base, waves = tmp_path / "base.jsonl", tmp_path / "wave.jsonl"
    base.write_text(line(0, 100.0, {"myopic": [130, 126], "per-order optimal": [104, 102]})
                    + "\n" + line(1, 200.0, {"myopic": [250, 254],
                                              "per-order optimal": [206, 206]}) + "\n")
    waves.write_text(line(1, 200.0, {"wave": [205, 203]}, wave=100) + "\n")
    ratios = table.ratios([base, waves])[("large-0.25", 2, 100_000)]
    assert ratios["per-order optimal"] == {0: 1.03, 1: 1.03}
    assert ratios["wave (100 arrivals)"] == {1: 1.02}
    text = table.markdown({("large-0.25", 2, 100_000): ratios})
    assert text.startswith("large-0.25, 2 sequences, T = 100,000")
    assert "| myopic | 2 | 1.2700 | 0.0100 | +0.2400 (2) |" in text
    assert "| wave (100 arrivals) | 1 | 1.0200 | 0.0000 | -0.0100 (1) |" in text
    rows = [row.split(" | ")[0] for row in text.splitlines()
            if row.startswith("| ") and not row.startswith("| policy")]
    assert rows == ["| myopic", "| per-order optimal", "| wave (100 arrivals)"]
    other = tmp_path / "other.jsonl"
    other.write_text(line(1, 201.0, {"wave": [205, 203]}, wave=100) + "\n")
    with pytest.raises(ValueError, match=r"other\.jsonl:1: instance 1 of large-0\.25 has DLP"):
        table.ratios([base, other])


def test_family_seeds_read_as_ranges_and_lists() -> None:
    bench = load("bench_fulfillment_family")
    assert bench.parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert bench.parse_seeds("12") == [12]
    with pytest.raises(ValueError, match="FAMILY_SEEDS part 'x'"):
        bench.parse_seeds("0,x")
