"""The academic fulfilment family and its benchmark still work (tiny horizon, no timing)."""

from __future__ import annotations

import dataclasses
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


def test_every_item_of_warmup_instance_2_is_stocked_somewhere(family: ModuleType) -> None:
    inst = family.make_instance(family.SPECS["warmup"], seed=2, horizon=10_000)
    assert family.uncarried_items("warmup", 2) == ()     # (p = 0.75 over 5 FCs: every item)
    stocked = {sku for (_, sku) in inst.stock}
    asked = {sku for t in inst.types for sku in t}
    assert asked <= stocked
    # T x demand share, plus half a standard deviation: about the horizon's demand in all
    demand = sum(p * len(t) for t, p in zip(inst.types, inst.type_prob.tolist(), strict=True))
    assert 10_000 * demand <= sum(inst.stock.values()) <= 10_000 * demand * 1.1


def test_an_item_no_fc_carries_has_no_stock_and_goes_to_the_dummy(family: ModuleType) -> None:
    # as the reference code (corr_rounding.jl: closest FC K+1, the dummy); p = 0.25 instance 0
    # has four such items
    spec = family.SPECS["large-0.25"]
    unheld = family.uncarried_items("large-0.25", 0)
    assert len(unheld) == 4
    inst = family.make_instance(spec, seed=0, horizon=2_000)
    assert not {sku for (_, sku) in inst.stock} & set(unheld)
    rows = [int(sku.removeprefix("ITEM-")) for sku in unheld]
    assert (inst.routed[rows] == -1).all() and (inst.routed[[0, 1, 2]] >= 0).all()
    # the variant, by name only: each of them stocked at one FC drawn at random
    variant = family.make_instance(spec, seed=0, horizon=2_000, uncarried="random-fc")
    held = {sku: {fc for (fc, s) in variant.stock if s == sku} for sku in unheld}
    assert all(len(fcs) == 1 for fcs in held.values()), held
    with pytest.raises(ValueError, match=r"'random' is not a way.*dummy, random-fc"):
        family.make_instance(spec, seed=0, horizon=2_000, uncarried="random")


def test_the_static_myopic_never_turns_to_a_farther_fc(family: ModuleType) -> None:
    # stock only where no city's demand was routed: the static myopic sends every item to
    # the dummy, the nearest-in-stock policy finds it farther away
    inst = family.make_instance(family.SPECS["warmup"], seed=0, horizon=300)
    routed = {(inst.fcs[int(inst.routed[i, c])], family.sku_name(i))
              for i in range(inst.routed.shape[0]) for c in range(inst.routed.shape[1])}
    elsewhere = {(fc, sku): 1_000 for fc in inst.fcs for sku in inst.catalog.items
                 if (fc, sku) not in routed}
    far = dataclasses.replace(inst, stock=elsewhere)
    all_dummy = sum(family.plan_cost(inst, int(o.destination.postcode[1:]),
                                     {family.DUMMY: len(o.lines)}) for o in inst.arrivals(0))
    assert family.run_static_myopic(far, 0) == pytest.approx(all_dummy, rel=1e-12)
    assert family.run_nearest_in_stock(far, 0) != pytest.approx(all_dummy, rel=1e-3)
    # with the stock the family gives, the static myopic ships from the FCs
    assert family.run_static_myopic(inst, 0) != pytest.approx(all_dummy, rel=1e-3)


def test_results_lines_from_before_the_reference_way_read_as_what_their_instances_are(
    family: ModuleType,
) -> None:
    def old(fam: str, seed: int) -> dict[str, object]:
        return {"family": fam, "seed": seed, "costs": {"myopic": [1.0], "bid-price": [2.0]}}

    affected = family.upgrade_result(old("large-0.25", 0))
    assert affected["uncarried"] == "random-fc"
    assert affected["costs"] == {"nearest in stock": [1.0], "bid-price": [2.0]}
    # instance 0 of p = 0.5 has no item without a carrier: both ways make the same instance
    assert family.uncarried_items("large-0.5", 0) == ()
    assert family.upgrade_result(old("large-0.5", 0))["uncarried"] == "dummy"
    assert family.upgrade_result(old("large-0.5", 7))["uncarried"] == "random-fc"
    new = {**old("large-0.25", 0), "uncarried": "dummy"}
    assert family.upgrade_result(new) == new


def test_a_reference_run_does_not_take_the_variants_instances(tmp_path: Path) -> None:
    bench = load("bench_fulfillment_family")
    assert load("_fulfillment_family").uncarried_items("warmup", 51) == ("ITEM-001",)
    results = tmp_path / "grid.jsonl"
    variant = bench.run_family("warmup", [51], sequences=1, horizon=300, results=results,
                               uncarried="random-fc")
    again = bench.run_family("warmup", [51], sequences=1, horizon=300, results=results,
                             uncarried="random-fc")
    assert variant["solved_now"] == 1 and again["taken_from_results"] == 1
    reference = bench.run_family("warmup", [51], sequences=1, horizon=300, results=results)
    assert reference["solved_now"] == 1 and reference["uncarried"] == "dummy"
    dlps = bench.known_dlps(results, "warmup", 300), bench.known_dlps(results, "warmup", 300,
                                                                      "random-fc")
    assert dlps[0][51] > dlps[1][51]     # the item without stock costs the dummy's price
    with pytest.raises(ValueError, match="FAMILY_UNCARRIED='stocked'"):
        bench.run_family("warmup", [0], sequences=1, horizon=60, uncarried="stocked")


def test_the_benchmark_runs_every_policy_at_a_tiny_size() -> None:
    bench = load("bench_fulfillment_family")
    info = bench.run_family("warmup", instances=1, sequences=1, horizon=200, wave=50,
                            resolve=2)
    for name in ("static myopic", "nearest in stock", "per-order optimal", "bid-price", "wave",
                 "bid-price re-solved"):
        assert 0.5 < info[f"{name} / DLP"] < 3, info


def test_instances_solved_in_two_processes_give_the_same_figures() -> None:
    bench = load("bench_fulfillment_family")
    alone = bench.run_family("warmup", instances=2, sequences=1, horizon=150)
    shared = bench.run_family("warmup", instances=2, sequences=1, horizon=150, jobs=2)
    for name in ("static myopic", "nearest in stock", "per-order optimal", "bid-price"):
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
    for name in ("static myopic", "nearest in stock", "per-order optimal", "bid-price"):
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


def test_a_grid_of_the_static_myopic_alone_gives_the_base_grids_figure(tmp_path: Path) -> None:
    bench = load("bench_fulfillment_family")
    base_file = tmp_path / "base.jsonl"
    base = bench.run_family("warmup", [0], sequences=1, horizon=120, results=base_file)
    alone = bench.run_family("warmup", [0], sequences=1, horizon=120, added_only=True,
                             dlp_from=base_file, static_added=True)
    assert [k for k in alone if k.endswith(" / DLP")] == ["static myopic / DLP"]
    assert alone["static myopic / DLP"] == base["static myopic / DLP"]
    assert alone["dlp_taken"] == 1
    with pytest.raises(ValueError, match="FAMILY_ADDED_ONLY=1"):
        bench.instance_costs("warmup", 0, 1, 120, static_added=True)


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
    # lines from before "uncarried" existed: these instances have items no FC carries, so
    # they were made the variant's way, and their "myopic" is the nearest-in-stock policy
    variant = ("large-0.25", "random-fc", 2, 100_000)
    ratios = table.ratios([base, waves])[variant]
    assert ratios["per-order optimal"] == {0: 1.03, 1: 1.03}
    assert ratios["wave (100 arrivals)"] == {1: 1.02}
    text = table.markdown({variant: ratios})
    assert text.startswith("large-0.25, 2 sequences, T = 100,000 — variant: items no FC "
                           "carries stocked at a random FC")
    assert "| nearest in stock | 2 | 1.2700 | 0.0100 | +0.2400 (2) |" in text
    assert "| wave (100 arrivals) | 1 | 1.0200 | 0.0000 | -0.0100 (1) |" in text
    rows = [row.split(" | ")[0] for row in text.splitlines()
            if row.startswith("| ") and not row.startswith("| policy")]
    assert rows == ["| nearest in stock", "| per-order optimal", "| wave (100 arrivals)"]
    other = tmp_path / "other.jsonl"
    other.write_text(line(1, 201.0, {"wave": [205, 203]}, wave=100) + "\n")
    with pytest.raises(ValueError, match=r"other\.jsonl:1: instance 1 of large-0\.25 "
                                         r"\(random-fc\) has DLP"):
        table.ratios([base, other])
    # the reference family's instance 1 (another DLP) is a table of its own, beside
    reference = tmp_path / "reference.jsonl"
    reference.write_text(json.dumps({**json.loads(line(1, 210.0, {
        "per-order optimal": [214, 214], "static myopic": [300, 300]})),
        "uncarried": "dummy"}) + "\n")
    both = table.ratios([base, reference])
    assert list(both) == [variant, ("large-0.25", "dummy", 2, 100_000)]
    text = table.markdown(both)
    assert "large-0.25, 2 sequences, T = 100,000\n" in text
    assert text.index("| static myopic | 1 |") > text.index("| nearest in stock | 2 |")


def test_family_seeds_read_as_ranges_and_lists() -> None:
    bench = load("bench_fulfillment_family")
    assert bench.parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert bench.parse_seeds("12") == [12]
    with pytest.raises(ValueError, match="FAMILY_SEEDS part 'x'"):
        bench.parse_seeds("0,x")


def test_the_family_table_answers_help_and_a_missing_file_with_its_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    table = load("family_table")
    assert table.main(["--help"]) == 0
    assert "usage:" in capsys.readouterr().out
    assert table.main([str(tmp_path / "none.jsonl")]) == 2
    assert "no such results file" in capsys.readouterr().err
