#!/usr/bin/env bash
# One run of every table row of BENCHMARKS.md (not the scratch-script figures, the
# repeated-run medians or the history), one step after another, resumable: `make bench-all` (or
# `bash benchmarks/run_all.sh [OUT]`). About 16 hours on 2 cores, most of it the large family
# grids (p = 0.5, p = 0.25, and p = 0.25's random-FC variant).
#
# Each step writes OUT/<step>.json (pytest-benchmark's --benchmark-json, every figure in each
# case's extra_info) and OUT/<step>.log (the summary lines); a step whose .json exists is
# skipped, so the same command resumes after an interruption. The family grids append one
# line per instance to OUT/<grid>.jsonl and resume inside a grid too. The committed
# benchmarks/results/*.jsonl are the record these tables were measured from; this script never
# writes them (OUT defaults to benchmarks/runs/<today>). To see the family tables:
#   python benchmarks/family_table.py OUT/*.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-benchmarks/runs/$(date -u +%Y-%m-%d)}"
PYTHON="${PYTHON:-.venv/bin/python}"
mkdir -p "$OUT"

step() {   # step NAME SUITE [VAR=value ...]: one pytest run of SUITE with those settings
    local name="$1" suite="$2"
    shift 2
    if [[ -f "$OUT/$name.json" ]]; then
        echo "== $name: done before ($OUT/$name.json)"
        return
    fi
    echo "== $name: $* pytest benchmarks/$suite"
    env "$@" "$PYTHON" -m pytest "benchmarks/$suite" --benchmark-only -s -q -p no:cacheprovider \
        --benchmark-json "$OUT/$name.json.part" 2>&1 | tee "$OUT/$name.log"
    mv "$OUT/$name.json.part" "$OUT/$name.json"
}

# W1/W2 (with the build/solve split and the ratio to the greedy fill), rule selection, memory,
# reservation, feeds, the 2,000-source stress run and the W4 replay
step allocation bench_allocation.py
step rules bench_rules.py
step workloads bench_workloads.py
# W3: every row of the table (wave-default gives rows 1, 2 and the first 1,000 x 500 one)
step wave-default bench_wave.py
step wave-20-default bench_wave.py WAVE_SIZES=1000x50x20
step wave-20-large bench_wave.py WAVE_SIZES=1000x50x20 WAVE_CONFIG=large
step wave-20-proven bench_wave.py WAVE_SIZES=1000x50x20 WAVE_CONFIG=proven WAVE_WORKERS=1
step wave-proven bench_wave.py WAVE_SIZES=1000x50x12,1000x50x15,1000x500x3 \
    WAVE_CONFIG=proven WAVE_WORKERS=1
step wave-10-proven-no-proof bench_wave.py WAVE_SIZES=1000x50x10 WAVE_CONFIG=proven \
    WAVE_WORKERS=1 WAVE_PROOF_GAP=0
step wave-10000-default bench_wave.py WAVE_SIZES=10000x500x3x5000
step wave-10000-large bench_wave.py WAVE_SIZES=10000x500x3x5000 WAVE_CONFIG=large
step wave-10000-large-one-process bench_wave.py WAVE_SIZES=10000x500x3x5000 \
    WAVE_CONFIG=large WAVE_WORKERS=1
# the durable stock store: reservations per second (SQLite, PostgreSQL; 1 and 4 processes) and
# the 64-worker x 10,000-order no-oversell run (hours on 2 cores: most of it PostgreSQL's)
step store bench_store.py STORE_BENCH_PROCESSES=1,4 STORE_BENCH_WORKERS=64 \
    STORE_BENCH_CONTENDED=10000
# the academic family: the warm-up with every policy, then each large family's base grid and
# the wave policy's grid beside it (taking each instance's DLP from the base grid)
step family-warmup bench_fulfillment_family.py FAMILY=warmup FAMILY_WAVE=100 FAMILY_JOBS=2 \
    FAMILY_RESULTS="$OUT/warmup-wave-100.jsonl"
step family-warmup-resolve bench_fulfillment_family.py FAMILY=warmup FAMILY_RESOLVE=9 \
    FAMILY_ADDED_ONLY=1 FAMILY_JOBS=2 FAMILY_DLP_FROM="$OUT/warmup-wave-100.jsonl" \
    FAMILY_RESULTS="$OUT/warmup-resolve-9.jsonl"
for p in 0.5 0.25; do
    step "family-large-$p" bench_fulfillment_family.py FAMILY="large-$p" FAMILY_JOBS=2 \
        FAMILY_RESULTS="$OUT/large-$p.jsonl"
    step "family-large-$p-wave" bench_fulfillment_family.py FAMILY="large-$p" FAMILY_WAVE=100 \
        FAMILY_ADDED_ONLY=1 FAMILY_JOBS=2 FAMILY_DLP_FROM="$OUT/large-$p.jsonl" \
        FAMILY_RESULTS="$OUT/large-$p-wave-only.jsonl"
done
# the p = 0.25 family's variant (items no FC carries stocked at a random FC), reported apart
step family-large-0.25-random-fc bench_fulfillment_family.py FAMILY=large-0.25 \
    FAMILY_UNCARRIED=random-fc FAMILY_JOBS=2 FAMILY_RESULTS="$OUT/large-0.25-random-fc.jsonl"
step family-large-0.25-random-fc-wave bench_fulfillment_family.py FAMILY=large-0.25 \
    FAMILY_UNCARRIED=random-fc FAMILY_WAVE=100 FAMILY_ADDED_ONLY=1 FAMILY_JOBS=2 \
    FAMILY_DLP_FROM="$OUT/large-0.25-random-fc.jsonl" \
    FAMILY_RESULTS="$OUT/large-0.25-random-fc-wave-only.jsonl"
echo "== all done: $OUT"
