"""Every benchmark runs end to end at a tiny size, printing and recording as it would at scale.

The unit smoke tests (``tests/unit/test_bench_*_smoke.py``) check what the benchmarks' helpers
compute; this one runs the ``test_bench_*`` functions themselves — their module-level settings,
their summaries and ``extra_info`` — in a child pytest with timing disabled, so a benchmark
whose reporting breaks fails here rather than at the start of a grid of hours.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "BENCH_ALLOC_SKUS": "200", "BENCH_ALLOC_ORDERS": "20", "BENCH_ALLOC_SPLIT_ORDERS": "5",
    "WORKLOAD_ORDERS": "20", "WORKLOAD_SKUS": "200", "STRESS_SKUS": "30", "REPLAY_ORDERS": "50",
    "WAVE_SIZES": "40x5x3x60", "WAVE_WORKERS": "1",
    "FAMILY": "warmup", "FAMILY_INSTANCES": "1", "FAMILY_SEQUENCES": "1",
    "FAMILY_HORIZON": "300", "FAMILY_WAVE": "50", "FAMILY_RESOLVE": "2",
    "STORE_BENCH_ORDERS": "20", "STORE_BENCH_SKUS": "50", "STORE_BENCH_WORKERS": "2",
    "STORE_BENCH_CONTENDED": "20", "STORE_BENCH_PROCESSES": "1,2",
}
# the benchmarks' knobs, none of which may leak in from the caller's environment
KNOBS = ("BENCH_ALLOC_", "WORKLOAD_", "STRESS_", "REPLAY_", "WAVE_", "FAMILY", "STORE_BENCH_")


def test_every_benchmark_runs_at_a_tiny_size() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(KNOBS)} | TINY
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "--benchmark-disable", "-q",
         "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert re.search(r"\d+ passed", summary), summary
    assert not re.search(r"skipped|failed|error|deselected", summary), summary
    # the allocation bench gives its figures against the physical floor, at both sizes
    assert len(re.findall(r"^\[floor\] \d+ src: floor [\d.]+ orders/s", proc.stdout, re.M)) == 2
