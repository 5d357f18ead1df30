"""Policies on the academic multi-item fulfilment family, scored as cost / DLP (lower is better).

Run with ``pytest benchmarks/bench_fulfillment_family.py --benchmark-only -s``. Environment:

* ``FAMILY``: ``warmup`` (default; 10 cities x 5 FCs, 20 items, T = 10,000), ``large-0.5`` or
  ``large-0.25`` (99 x 10, 100 items, T = 100,000);
* ``FAMILY_INSTANCES`` (default 30) seeded instances, ``FAMILY_SEQUENCES`` (default 2) arrival
  sequences each; ``FAMILY_HORIZON`` overrides T (for quick runs);
* ``FAMILY_UNCARRIED``: what becomes of an item no FC carries — ``dummy`` (default, the
  reference code's: no stock, every unit unfilled) or ``random-fc`` (the variant this bench ran
  until 2026-12-07: stocked at one FC drawn at random); see ``_fulfillment_family.UNCARRIED``.
  A results line records it, and the family table reports the variant apart.

``FAMILY_WAVE`` (default 0: off) adds the wave policy with waves of that many arrivals;
``FAMILY_RESOLVE`` (default 0: off) adds the bid-price policy with its DLP re-solved that many
times over the horizon (remaining periods, stock left). ``FAMILY_JOBS`` (default 1) solves
that many instances at once, in separate processes. ``FAMILY_SEEDS`` picks the instances
(``0-29``, ``8,9,12-15``; default ``0`` to ``FAMILY_INSTANCES - 1``). ``FAMILY_ADDED_ONLY=1``
runs only the policies ``FAMILY_WAVE`` and ``FAMILY_RESOLVE`` add (the DLP still), for a grid
of those alone next to one of the base policies (a results file per grid);
``FAMILY_STATIC_MYOPIC=1`` (with ``FAMILY_ADDED_ONLY=1``) adds the static myopic to them, for
its row on a grid measured before that policy existed.
``FAMILY_DLP_FROM=path.jsonl`` (with ``FAMILY_ADDED_ONLY=1``) takes each instance's DLP from
another grid's results file of the same family and horizon instead of solving it again: the
value is what the DLP gave there (PDLP and GLOP are deterministic), and the added policies do
not need its prices. Instances that file lacks are solved as usual.

``FAMILY_RESULTS=path.jsonl`` keeps every finished instance as one JSON line in that file and
takes the instances already there (same family, way with uncarried items, sequences, horizon,
wave and re-solves) from it
instead of solving them again: a grid of hours can be stopped and resumed with the same command,
or split over machines (``FAMILY_SEEDS``) and summed up by running the whole range against the
concatenated files.

Policies: ``static myopic`` (the literature's: each item from its nearest FC that carries it
while that FC has some left, else unfilled), ``nearest in stock`` (each item from its nearest
FC still holding it, falling back to the next-nearest; called ``myopic`` until 2026-12-07),
``per-order optimal``
(``allocate`` with live inventory: the cheapest plan for each order as it arrives) and
``bid-price`` (the same with every unit charged at the DLP's dual price of its (FC, item) stock,
computed once at the start). Each instance's DLP (over the whole horizon, against the starting
stock) is the denominator; a policy's ratio is its mean total cost over the sequences / DLP,
averaged over instances.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _fulfillment_family import (
    BID_PRICE,
    OPTIMAL,
    SPECS,
    UNCARRIED,
    dlp,
    make_instance,
    run_allocator,
    run_nearest_in_stock,
    run_resolving,
    run_static_myopic,
    run_waves,
    upgrade_result,
)

FAMILY = os.environ.get("FAMILY", "warmup")
INSTANCES = int(os.environ.get("FAMILY_INSTANCES", "30"))
SEQUENCES = int(os.environ.get("FAMILY_SEQUENCES", "2"))
HORIZON = int(os.environ["FAMILY_HORIZON"]) if os.environ.get("FAMILY_HORIZON") else None
WAVE = int(os.environ.get("FAMILY_WAVE", "0"))
RESOLVE = int(os.environ.get("FAMILY_RESOLVE", "0"))
JOBS = int(os.environ.get("FAMILY_JOBS", "1"))
RESULTS = Path(os.environ["FAMILY_RESULTS"]) if os.environ.get("FAMILY_RESULTS") else None
ADDED_ONLY = os.environ.get("FAMILY_ADDED_ONLY", "0") == "1"
STATIC_ADDED = os.environ.get("FAMILY_STATIC_MYOPIC", "0") == "1"
DLP_FROM = Path(os.environ["FAMILY_DLP_FROM"]) if os.environ.get("FAMILY_DLP_FROM") else None
UNCARRIED_WAY = os.environ.get("FAMILY_UNCARRIED", "dummy")


def parse_seeds(text: str) -> list[int]:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]`` (ranges inclusive, in the order given)."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"FAMILY_SEEDS part {part!r} is neither a seed nor a range; "
                             "write e.g. '0-29' or '0,4,8-11'")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


SEEDS = (parse_seeds(os.environ["FAMILY_SEEDS"]) if os.environ.get("FAMILY_SEEDS")
         else list(range(INSTANCES)))
POLICIES = ("static myopic", "nearest in stock", "per-order optimal", "bid-price")


def instance_costs(family: str, seed: int, sequences: int, horizon: int | None,
                   wave: int = 0, resolve: int = 0, added_only: bool = False,
                   uncarried: str = "dummy", static_added: bool = False,
                   known_dlp: float | None = None) -> dict[str, Any]:
    """One instance: its DLP, every policy's total cost on each sequence, and timings
    (``added_only``: only the wave and re-solving policies, if asked for, and the static
    myopic with ``static_added``; ``uncarried``: the
    way with items no FC carries, one of ``UNCARRIED``; ``known_dlp``: the
    instance's DLP value from an earlier run, not solved again — ``added_only`` only, as the
    bid-price policy needs the DLP's prices)."""
    if added_only and not (wave or resolve or static_added):
        raise ValueError("added_only runs only the wave and re-solving policies: ask for one "
                         "of them (FAMILY_WAVE, FAMILY_RESOLVE, FAMILY_STATIC_MYOPIC)")
    if static_added and not added_only:
        raise ValueError("FAMILY_STATIC_MYOPIC adds the static myopic to a grid of the added "
                         "policies (FAMILY_ADDED_ONLY=1); a base grid runs it anyway")
    if known_dlp is not None and not added_only:
        raise ValueError("a known DLP (FAMILY_DLP_FROM) serves only runs of the added policies "
                         "(FAMILY_ADDED_ONLY=1): the bid-price policy needs the DLP's prices")
    instance = make_instance(SPECS[family], seed, horizon, uncarried)
    t0 = time.perf_counter()
    bound = dlp(instance) if known_dlp is None else None
    dlp_s = time.perf_counter() - t0 if bound is not None else None
    if bound is not None and bound.status != "optimal":
        # a FEASIBLE (unproven) or failed LP is no denominator for cost / DLP
        raise RuntimeError(f"{family} instance {seed}: the DLP ended {bound.status}, not "
                           "optimal; its value is no lower bound")
    costs: dict[str, list[float]] = {name: [] for name in POLICIES if not added_only}
    if static_added:
        costs["static myopic"] = []
    if wave:
        costs["wave"] = []
    if resolve:
        costs["bid-price re-solved"] = []
    per_order_ms: list[float] = []
    for sequence in range(sequences):
        if static_added:
            costs["static myopic"].append(run_static_myopic(instance, sequence))
        if not added_only:
            costs["static myopic"].append(run_static_myopic(instance, sequence))
            costs["nearest in stock"].append(run_nearest_in_stock(instance, sequence))
            t0 = time.perf_counter()
            costs["per-order optimal"].append(run_allocator(instance, sequence, OPTIMAL))
            orders = sum(1 for _ in instance.arrivals(sequence))
            per_order_ms.append((time.perf_counter() - t0) * 1000 / max(orders, 1))
            assert bound is not None         # (solved: known_dlp needs added_only)
            costs["bid-price"].append(run_allocator(instance, sequence, BID_PRICE,
                                                    bound.bid_prices))
        if wave:
            costs["wave"].append(run_waves(instance, sequence, wave))
        if resolve:
            costs["bid-price re-solved"].append(run_resolving(instance, sequence, resolve))
    return {"family": family, "seed": seed, "sequences": sequences, "horizon": horizon,
            "wave": wave, "resolve": resolve, "added_only": added_only, "uncarried": uncarried,
            "static_added": static_added,
            "dlp": bound.value if bound is not None else known_dlp, "dlp_seconds": dlp_s,
            "dlp_status": bound.status if bound is not None else None,
            "costs": costs, "allocate_ms_per_order": per_order_ms}


_KEY = ("family", "seed", "sequences", "horizon", "wave", "resolve", "added_only", "uncarried",
        "static_added")


def _kept(results: Path | None) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The instances a results file already holds, by what identifies their run."""
    if results is None or not results.exists():
        return {}
    kept = {}
    for number, line in enumerate(results.read_text().splitlines(), 1):
        if line.strip():
            try:
                one = json.loads(line)
                one.setdefault("added_only", False)     # (lines written before it existed)
                one.setdefault("static_added", False)
                one = upgrade_result(one)               # (and before "uncarried" did)
                kept[tuple(one[k] for k in _KEY)] = one
            except (ValueError, KeyError) as err:
                raise ValueError(f"{results}:{number}: not an instance's result ({err}); "
                                 "remove the line or the file") from err
    return kept


def known_dlps(results: Path, family: str, horizon: int | None, uncarried: str = "dummy"
               ) -> dict[int, float]:
    """Each instance's DLP value in another grid's results file.

    Args:
        results: that grid's ``FAMILY_RESULTS`` file.
        family, horizon: the instances wanted (``None``: the family's horizon, which also
            matches lines that name it).
        uncarried: the way with items no FC carries of the instances wanted.

    Returns:
        Per seed, the DLP value of the instances of that family and horizon in the file.

    Raises:
        FileNotFoundError: no such file (a mistyped path would otherwise solve every DLP).
        ValueError: a line that is not an instance's result.
    """
    if not results.exists():
        raise FileNotFoundError(f"FAMILY_DLP_FROM {results}: no such results file")
    t = horizon or SPECS[family].horizon
    return {key[1]: one["dlp"] for key, one in _kept(results).items()
            if key[0] == family and (key[3] or SPECS[family].horizon) == t
            and key[7] == uncarried}


def _solved(args: list[tuple[Any, ...]], jobs: int) -> Iterator[dict[str, Any]]:
    """Each instance's costs as soon as it is solved."""
    if jobs > 1 and len(args) > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(instance_costs, *a) for a in args]):
                yield future.result()
    else:
        for a in args:
            yield instance_costs(*a)


def run_family(family: str, instances: int | Iterable[int], sequences: int,
               horizon: int | None, wave: int = 0, resolve: int = 0, jobs: int = 1,
               results: Path | None = None, added_only: bool = False,
               dlp_from: Path | None = None, uncarried: str = "dummy",
               static_added: bool = False) -> dict[str, Any]:
    """Every policy on every instance and sequence: ratios to the DLP, and timings.

    ``instances`` is a count (seeds 0 to n - 1) or the seeds themselves. ``wave`` > 0 adds the
    wave policy with waves of that many arrivals; ``jobs`` > 1 solves that many instances at
    once in separate processes (the same figures, sooner; each process's per-order time is
    then that of a shared machine). With ``results``, instances already in that JSON-lines
    file are read from it, and each one solved is appended as it finishes. ``added_only``:
    only the wave and re-solving policies (see :func:`instance_costs`); ``dlp_from``: with
    ``added_only``, a results file whose instances' DLP values are taken instead of solving the
    DLP again (see :func:`known_dlps`); ``uncarried``: the way with items no FC carries (one of
    ``UNCARRIED``; ``dummy``, the reference's, by default); ``static_added``: with
    ``added_only``, the static myopic too."""
    if uncarried not in UNCARRIED:
        raise ValueError(f"FAMILY_UNCARRIED={uncarried!r} is not a way of the family; use one "
                         f"of {', '.join(UNCARRIED)} ('dummy': the reference's)")
    seeds = list(range(instances)) if isinstance(instances, int) else list(instances)
    kept = _kept(results)
    if dlp_from is not None and not added_only:
        raise ValueError("FAMILY_DLP_FROM serves only runs of the added policies "
                         "(FAMILY_ADDED_ONLY=1): the bid-price policy needs the DLP's prices")
    known = known_dlps(dlp_from, family, horizon, uncarried) if dlp_from is not None else {}
    runs = {seed: (family, seed, sequences, horizon, wave, resolve, added_only, uncarried,
                   static_added) for seed in seeds}
    by_seed = {seed: kept[key] for seed, key in runs.items() if key in kept}
    todo = [(*key, known.get(seed)) for seed, key in runs.items() if seed not in by_seed]
    for one in _solved(todo, jobs):
        by_seed[one["seed"]] = one
        if results is not None:
            with results.open("a") as out:
                out.write(json.dumps(one) + "\n")
    done = [by_seed[seed] for seed in seeds]
    ratios: dict[str, list[float]] = {}     # (a line from before "static myopic" lacks it)
    for one in done:
        for name, values in one["costs"].items():
            ratios.setdefault(name, []).append(float(np.mean(values)) / one["dlp"])
    return {
        "family": family, "uncarried": uncarried, "instances": len(seeds), "seeds": seeds,
        "sequences": sequences,
        "wave_size": wave, "horizon": horizon or SPECS[family].horizon, "jobs": jobs,
        "solved_now": len(todo), "taken_from_results": len(seeds) - len(todo),
        **{f"{name} / DLP": round(float(np.mean(v)), 4) for name, v in ratios.items()},
        **{f"{name} / DLP std": round(float(np.std(v)), 4) for name, v in ratios.items()},
        **{f"{name} / DLP per instance": [round(r, 4) for r in v] for name, v in ratios.items()},
        "dlp_seconds_mean": round(float(np.mean(solved)), 3) if (solved := [
            d["dlp_seconds"] for d in done if d["dlp_seconds"] is not None]) else None,
        "dlp_taken": sum(1 for d in done if d["dlp_seconds"] is None),   # (now or before)
        "allocate_ms_per_order": round(float(np.mean(timed)), 4) if (timed := [
            ms for d in done for ms in d["allocate_ms_per_order"]]) else None,
    }


def test_bench_fulfillment_family(benchmark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    info = benchmark.pedantic(run_family,
                              args=(FAMILY, SEEDS, SEQUENCES, HORIZON, WAVE, RESOLVE, JOBS,
                                    RESULTS, ADDED_ONLY, DLP_FROM, UNCARRIED_WAY,
                                    STATIC_ADDED),
                              rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    names = [key.removesuffix(" / DLP") for key in info if key.endswith(" / DLP")]
    assert names and all(info[f"{name} / DLP"] > 0 for name in names)
    labels = {"wave": f"waves of {WAVE}", "bid-price re-solved": f"re-solved x{RESOLVE}"}
    with capsys.disabled():
        print(f"\n[family] {FAMILY} (uncarried items: {UNCARRIED_WAY}), {len(SEEDS)} instances "
              f"x {SEQUENCES} sequences "
              f"({info['taken_from_results']} taken from {RESULTS}), "
              f"T = {info['horizon']}: cost / DLP "
              + ", ".join(f"{labels.get(name, name)} {info[f'{name} / DLP']}" for name in names)
              + (f"; DLP {info['dlp_seconds_mean']} s" if info["dlp_seconds_mean"] else "")
              + (f"; {info['dlp_taken']} DLPs taken from a base grid" if info["dlp_taken"]
                 else "")
              + "; allocate "
              f"{info['allocate_ms_per_order']} ms/order")
