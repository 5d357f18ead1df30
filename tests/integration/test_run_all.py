"""`make bench-all` (benchmarks/run_all.sh) runs every BENCHMARKS.md row once, and resumes.

The script's pytest is replaced by a stand-in Python that records each call and writes the
JSON the real run would, so the script's logic is checked without hours of benchmarks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "run_all.sh"
# the benchmarks' settings: recorded by the stand-in, kept out of the caller's environment
KNOBS = ("WAVE_", "FAMILY", "BENCH_", "WORKLOAD_", "REPLAY_", "STRESS_")

STAND_IN = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
knobs = {{k: v for k, v in os.environ.items() if k.startswith({KNOBS!r})}}
with open(os.environ["CALLS"], "a") as f:
    f.write(json.dumps({{"args": args, "knobs": knobs}}) + "\\n")
if os.environ.get("FAIL_ON") and os.environ["FAIL_ON"] in " ".join(args):
    sys.exit(1)
with open(args[args.index("--benchmark-json") + 1], "w") as f:
    f.write("{{}}")
"""


def run(tmp_path: Path, fail_on: str = "") -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    stand_in = tmp_path / "python"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    calls.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(KNOBS)}
    env |= {"PYTHON": str(stand_in), "CALLS": str(calls), "FAIL_ON": fail_on}
    proc = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    lines = calls.read_text().splitlines() if calls.exists() else []
    return proc, [json.loads(line) for line in lines]


def test_every_step_runs_a_benchmark_suite_with_settings_it_reads(tmp_path: Path) -> None:
    proc, calls = run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outs = [c["args"][c["args"].index("--benchmark-json") + 1] for c in calls]
    assert len(outs) == len(set(outs)) >= 16     # one result per step, none written twice
    suites = {c["args"][2] for c in calls}
    assert suites == {f"benchmarks/{p.name}" for p in (ROOT / "benchmarks").glob("bench_*.py")}
    for call in calls:
        source = (ROOT / call["args"][2]).read_text()
        for knob in call["knobs"]:
            assert f'"{knob}"' in source, f"{call['args'][2]} does not read {knob}"
    # the family grids write beside the step results, never over the committed record
    results = [v for c in calls for k, v in c["knobs"].items() if k == "FAMILY_RESULTS"]
    assert results and all(v.startswith(str(tmp_path / "out")) for v in results)
    assert "all done" in proc.stdout


def test_a_second_run_skips_what_is_done_and_a_failed_step_is_run_again(
    tmp_path: Path,
) -> None:
    proc, calls = run(tmp_path, fail_on="bench_wave.py")
    assert proc.returncode != 0
    assert [c["args"][2] for c in calls][-1] == "benchmarks/bench_wave.py"   # stopped there
    done = len(calls) - 1
    proc, calls = run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(re.findall(r"done before", proc.stdout)) == done
    assert calls[0]["args"][2] == "benchmarks/bench_wave.py"   # the failed step, again
