"""W1/W2 extra figures, the 2,000-source stress run and W4 (replay of a long history).

Run with ``pytest benchmarks/bench_workloads.py --benchmark-only -s``. Environment:
``WORKLOAD_ORDERS`` (default 1,000) orders per latency run, ``STRESS_SKUS`` (default 2,000; the
2,000-source world stocks ~20 % of 2,000 x SKUs cells, so 10,000 SKUs would need ~4 M stock
records), ``REPLAY_ORDERS`` (default 20,000) and ``WORKLOAD_SKUS`` (default 10,000: the other
worlds' SKUs).

* memory per decision: ``tracemalloc`` peak while one order is allocated (its working set), and
  the size of what the decision keeps (the result before its explanations are read);
* reservation: ``StockLedger.reserve_order`` per order (every line or none), after each
  decision, and per line;
* stress: allocate latency at 2,000 sources;
* stock feeds: a FULL feed of every stocked cell of the 50-source world read from CSV and
  applied, sent again (idempotent: all duplicates), and a stale DELTA (out of order: ignored);
* replay (W4): a long history sourced in order against one ledger, reserving each order as it
  goes, with rule selection from a ruleset — the end-to-end path a service runs: throughput,
  per-order latency percentiles and peak RSS at the end.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _synthetic import make_orders, make_world

from oms_sourcing.allocation._arrays import network_arrays
from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.inventory.feeds import apply_feed, read_feed
from oms_sourcing.rules import parse_ruleset
from oms_sourcing.rules.model import Objective, Policy

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
ORDERS = int(os.environ.get("WORKLOAD_ORDERS", "1000"))
SKUS = int(os.environ.get("WORKLOAD_SKUS", "10000"))
STRESS_SKUS = int(os.environ.get("STRESS_SKUS", "2000"))
REPLAY = int(os.environ.get("REPLAY_ORDERS", "20000"))
OPTIMAL = Policy(objective=Objective(shipping_cost=Decimal(1)))
RULESET = """\
id: replay
version: 1
defaults:
  objective: {shipping_cost: 1, shipments: "0.50"}
  backorder: allow
rules:
  - name: us
    when: {country: [US]}
    split: {mode: allow, max_shipments: 2}
  - name: dach-large
    when: {country: [DE, AT, CH], line_count: {min: 3}}
    objective: {shipping_cost: 1, shipments: 2}
  - name: everything-else
"""


def _say(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(f"\n{text}")


def _deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes held by ``obj`` and what it references (numpy buffers included)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, np.ndarray):
        return size + (obj.nbytes if obj.base is None else 0)
    if isinstance(obj, dict):
        return size + sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return size + sum(_deep_size(v, seen) for v in obj)
    slots = getattr(type(obj), "__slots__", ())
    for name in slots if isinstance(slots, tuple) else (slots,):
        if hasattr(obj, name):
            size += _deep_size(getattr(obj, name), seen)
    if hasattr(obj, "__dict__"):
        size += _deep_size(vars(obj), seen)
    return size


def memory_and_reservation(n_sources: int, n_orders: int) -> dict[str, Any]:
    world = make_world(n_sources, SKUS, seed=n_sources)
    orders = make_orders(n_orders, world, seed=1000 + n_sources)
    net, catalog, ledger = world.network, world.catalog, world.ledger
    for o in orders[:20]:       # warm the caches
        allocate(o, OPTIMAL, net, ledger.snapshot({ln.sku for ln in o.lines}), NOW,
                 catalog=catalog)
    peaks: list[int] = []
    kept: list[int] = []
    # what every decision shares (network, catalog, policy, their cached arrays) is not counted
    shared = {id(net), id(catalog), id(OPTIMAL), id(network_arrays(net)),
              id(network_arrays(net).policy(OPTIMAL))}
    tracemalloc.start()
    for o in orders:
        snap = ledger.snapshot({ln.sku for ln in o.lines})
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = allocate(o, OPTIMAL, net, snap, NOW, catalog=catalog)
        peaks.append(tracemalloc.get_traced_memory()[1] - base)
        kept.append(_deep_size(result, set(shared)))
    tracemalloc.stop()
    # timings without tracemalloc, which slows every allocation
    order_us: list[float] = []
    lines = 0
    for o in orders:
        result = allocate(o, OPTIMAL, net, ledger.snapshot({ln.sku for ln in o.lines}), NOW,
                          catalog=catalog)
        wanted = result.reservations()
        t0 = time.perf_counter()
        ledger.reserve_order(o.id, wanted)
        order_us.append((time.perf_counter() - t0) * 1e6)
        lines += len(wanted)
    return {
        "n_sources": n_sources, "orders": n_orders,
        "peak_kb_per_decision_mean": round(float(np.mean(peaks)) / 1024, 1),
        "peak_kb_per_decision_p99": round(float(np.percentile(peaks, 99)) / 1024, 1),
        "result_kb_mean": round(float(np.mean(kept)) / 1024, 1),
        "reserve_order_us_p50": round(float(np.percentile(order_us, 50)), 1),
        "reserve_order_us_p99": round(float(np.percentile(order_us, 99)), 1),
        "reserve_us_per_line": round(sum(order_us) / max(lines, 1), 1),
    }


@pytest.mark.parametrize("n_sources", [50, 500], ids=lambda n: f"{n}src")
def test_bench_memory_and_reservation(benchmark: Any, n_sources: int,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    info = benchmark.pedantic(memory_and_reservation, args=(n_sources, ORDERS), rounds=1,
                              iterations=1)
    benchmark.extra_info.update(info)
    _say(capsys, f"[memory] {n_sources} src: working set per decision "
         f"{info['peak_kb_per_decision_mean']} KB (p99 {info['peak_kb_per_decision_p99']}), "
         f"result kept {info['result_kb_mean']} KB; reserve_order p50 "
         f"{info['reserve_order_us_p50']} µs, p99 {info['reserve_order_us_p99']} µs per order "
         f"({info['reserve_us_per_line']} µs per line)")


def stress(n_sources: int, n_skus: int, n_orders: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    world = make_world(n_sources, n_skus, seed=n_sources)
    setup = time.perf_counter() - t0
    orders = make_orders(n_orders + 20, world, seed=1000 + n_sources)
    snaps = [world.ledger.snapshot({ln.sku for ln in o.lines}) for o in orders]
    for o, s in zip(orders[:20], snaps[:20], strict=True):
        allocate(o, OPTIMAL, world.network, s, NOW, catalog=world.catalog)
    ms = []
    for o, s in zip(orders[20:], snaps[20:], strict=True):
        t1 = time.perf_counter()
        allocate(o, OPTIMAL, world.network, s, NOW, catalog=world.catalog)
        ms.append((time.perf_counter() - t1) * 1000)
    return {"n_sources": n_sources, "n_skus": n_skus, "orders": n_orders,
            "world_seconds": round(setup, 1),
            "orders_per_s": round(len(ms) / (sum(ms) / 1000), 1),
            **{f"p{q}_ms": round(float(np.percentile(ms, q)), 3) for q in (50, 95, 99)}}


def test_bench_stress_2000_sources(benchmark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    info = benchmark.pedantic(stress, args=(2000, STRESS_SKUS, ORDERS), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    _say(capsys, f"[stress] 2000 src, {STRESS_SKUS} SKUs: {info['orders_per_s']} orders/s, "
         f"p50 {info['p50_ms']} p95 {info['p95_ms']} p99 {info['p99_ms']} ms")


def _write_feed(path: Path, rows: list[tuple[str, str, int]], mode: str, at: datetime,
                tag: str) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("source,sku,qty,mode,effective_at,record_id\n")
        stamp = at.isoformat()
        f.writelines(f"{src},{sku},{qty},{mode},{stamp},{tag}-{n}\n"
                     for n, (src, sku, qty) in enumerate(rows))


def stock_feeds(n_skus: int, workdir: Path) -> dict[str, Any]:
    """Feeds against the 50-source world (~20 % of 50 x ``n_skus`` cells stocked): a FULL feed of
    every stocked cell, read from CSV and applied; the same file sent again (every row a
    duplicate); then a DELTA feed of a tenth of the cells dated before the FULL one (every row
    stale). Each is timed reading and applying; the ledger is checked against the FULL feed."""
    world = make_world(50, n_skus, seed=50)
    ledger = world.ledger
    rng = np.random.default_rng(7)
    cells = [(src, sku) for src in ledger.source_codes for sku in ledger.known_skus(src)]
    qty = rng.integers(0, 60, size=len(cells)).tolist()
    full = workdir / "full.csv"
    _write_feed(full, [(src, sku, q) for (src, sku), q in zip(cells, qty, strict=True)],
                "FULL", NOW, "full")
    late = workdir / "delta-late.csv"
    tenth = [(src, sku, 999) for src, sku in cells[::10]]
    _write_feed(late, tenth, "DELTA", NOW - timedelta(hours=1), "late")
    timings: dict[str, float] = {}
    reports = {}
    for name, path in (("full", full), ("resent", full), ("stale_delta", late)):
        t0 = time.perf_counter()
        feed = read_feed(path)
        t1 = time.perf_counter()
        reports[name] = apply_feed(ledger, feed)
        t2 = time.perf_counter()
        timings[f"{name}_read_s"] = round(t1 - t0, 3)
        timings[f"{name}_apply_s"] = round(t2 - t1, 3)
    assert len(reports["full"].applied) == len(cells)
    assert len(reports["resent"].duplicates) == len(cells) and not reports["resent"].applied
    assert len(reports["stale_delta"].ignored_stale) == len(tenth)
    for (src, sku), q in list(zip(cells, qty, strict=True))[::97]:
        assert ledger.on_hand(src, sku) == q, (src, sku)
    full_s = timings["full_read_s"] + timings["full_apply_s"]
    return {"rows": len(cells), "stale_rows": len(tenth), **timings,
            "full_rows_per_s": round(len(cells) / full_s) if full_s else None}


def test_bench_stock_feeds(benchmark: Any, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    info = benchmark.pedantic(stock_feeds, args=(SKUS, tmp_path), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    _say(capsys, f"[feeds] FULL feed of {info['rows']:,} rows: read {info['full_read_s']} s, "
         f"applied {info['full_apply_s']} s ({info['full_rows_per_s']:,} rows/s); sent again "
         f"(all duplicates): {info['resent_read_s']} + {info['resent_apply_s']} s; a stale "
         f"DELTA of {info['stale_rows']:,} rows: {info['stale_delta_read_s']} + "
         f"{info['stale_delta_apply_s']} s")


def replay(n_orders: int) -> dict[str, Any]:
    world = make_world(50, SKUS, seed=50)
    orders = make_orders(n_orders, world, seed=4242)
    ruleset = parse_ruleset(RULESET, "replay.yaml", world.network, world.catalog)
    net, catalog, ledger = world.network, world.catalog, world.ledger
    statuses: dict[str, int] = {}
    refused = 0
    ms: list[float] = []
    gc.collect()
    t0 = time.perf_counter()
    for o in orders:
        t1 = time.perf_counter()
        snap = ledger.snapshot({ln.sku for ln in o.lines})
        result = allocate(o, ruleset, net, snap, NOW, catalog=catalog)
        refused += not ledger.reserve_order(o.id, result.reservations()).ok
        ms.append((time.perf_counter() - t1) * 1000)
        statuses[result.status] = statuses.get(result.status, 0) + 1
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"orders": n_orders, "seconds": round(seconds, 1),
            "orders_per_s": round(n_orders / seconds, 1), "statuses": statuses,
            "refused_reservations": refused,
            **{f"p{q}_ms": round(float(np.percentile(ms, q)), 3) for q in (50, 95, 99)},
            "peak_rss_mb": round(rss_mb, 1)}


def test_bench_replay_history(benchmark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    info = benchmark.pedantic(replay, args=(REPLAY,), rounds=1, iterations=1)
    benchmark.extra_info.update(info)
    _say(capsys, f"[replay] {info['orders']} orders, rules + snapshot + allocate + reserve: "
         f"{info['orders_per_s']} orders/s ({info['seconds']} s), p50 {info['p50_ms']} p95 "
         f"{info['p95_ms']} p99 {info['p99_ms']} ms per order, statuses {info['statuses']}, "
         f"{info['refused_reservations']} reservations refused; peak RSS "
         f"{info['peak_rss_mb']} MB")
