"""The academic family's cost / DLP table, from the results files of its grids.

``python benchmarks/family_table.py benchmarks/results/*.jsonl`` prints one Markdown table per
(family, way with uncarried items, sequences, horizon) — the reference family, and apart from it
the ``random-fc`` variant (items no FC carries stocked at a random FC; every line written before
2026-12-07 whose instance has such items) — for each policy, the mean over instances of its
mean cost over the sequences / the instance's DLP, ± the standard deviation over instances, how many
instances it covers, and its mean difference from per-order optimal sourcing over the
instances both cover (so a grid still running compares like with like). Grids of different
policies on the same instances (a base grid and one of the wave alone, ``FAMILY_ADDED_ONLY``)
are joined by instance; a wave or re-solving policy is named with its wave size or re-solves.
The figures are those ``bench_fulfillment_family`` prints for each grid.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _fulfillment_family import SPECS, upgrade_result

#: the order of the columns; other policies follow in the order first seen
ORDER = ("static myopic", "nearest in stock", "per-order optimal", "wave", "bid-price",
         "bid-price re-solved")
#: how a table names the way with items no FC carries
WAYS = {"dummy": "", "random-fc": " — variant: items no FC carries stocked at a random FC"}
#: the policy the others are compared with, instance by instance
BASELINE = "per-order optimal"


def _policy(name: str, one: dict[str, Any]) -> str:
    if name == "wave":
        return f"wave ({one['wave']} arrivals)"
    if name == "bid-price re-solved":
        return f"bid-price re-solved x{one['resolve']}"
    return name


def ratios(paths: Iterable[Path]) -> dict[tuple[Any, ...], dict[str, dict[int, float]]]:
    """Each policy's cost / DLP on each instance, from the results files ``paths``.

    Returns:
        Per (family, way with uncarried items, sequences, horizon) — the horizon as a number,
        whether the file wrote it or left it to the family — per policy, per instance seed:
        mean cost / DLP.

    Raises:
        ValueError: a line that is not an instance's result, two files with different DLP
            values for one instance, or one instance's policy measured twice differently.
    """
    table: dict[tuple[Any, ...], dict[str, dict[int, float]]] = {}
    dlps: dict[tuple[Any, ...], float] = {}
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                one = upgrade_result(json.loads(line))
                family, way = one["family"], one["uncarried"]
                horizon = one["horizon"] or SPECS[family].horizon
                seed, dlp = int(one["seed"]), float(one["dlp"])
                costs = {_policy(name, one): float(np.mean(values)) / dlp
                         for name, values in one["costs"].items()}
                key = (family, way, one["sequences"], horizon)
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{number}: not an instance's result ({err!r})") from err
            known = dlps.setdefault((family, way, horizon, seed), dlp)
            if not np.isclose(known, dlp, rtol=1e-9, atol=0):
                raise ValueError(f"{path}:{number}: instance {seed} of {family} ({way}) has DLP "
                                 f"{dlp}, "
                                 f"another file {known}: not the same instance")
            policies = table.setdefault(key, {})
            for name, ratio in costs.items():
                per_seed = policies.setdefault(name, {})
                if not np.isclose(per_seed.setdefault(seed, ratio), ratio, rtol=1e-9, atol=0):
                    raise ValueError(f"{path}:{number}: instance {seed}'s {name} differs from "
                                     "an earlier file's (the same run, measured twice?)")
    return table


def _rank(name: str) -> int:
    base = name.split(" (")[0].split(" x")[0]
    return ORDER.index(base) if base in ORDER else len(ORDER)


def markdown(table: dict[tuple[Any, ...], dict[str, dict[int, float]]]) -> str:
    """One Markdown table per (family, way, sequences, horizon) of :func:`ratios`: per policy, the
    instances, the mean and standard deviation over them, and the mean paired difference
    from :data:`BASELINE` over the instances both have (with their count)."""
    out: list[str] = []
    for (family, way, sequences, horizon), policies in table.items():
        names = sorted(policies, key=_rank)
        plural = "" if sequences == 1 else "s"
        out.append(f"{family}, {sequences} sequence{plural}, T = {horizon:,}"
                   f"{WAYS.get(way, f' — uncarried items: {way}')}")
        out.append("")
        out.append("| policy | instances | cost / DLP | ± (std over instances) | "
                   f"− {BASELINE} on the same instances |")
        out.append("|---|---|---|---|---|")
        baseline = policies.get(BASELINE, {})
        for name in names:
            mine = policies[name]
            values = list(mine.values())
            both = [seed for seed in mine if seed in baseline]
            paired = (f"{np.mean([mine[s] - baseline[s] for s in both]):+.4f} ({len(both)})"
                      if both and name != BASELINE else "")
            out.append(f"| {name} | {len(values)} | {np.mean(values):.4f} | "
                       f"{np.std(values):.4f} | {paired} |")
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str]) -> int:
    """Print the tables of the results files named in ``argv``; 2 (usage) without any."""
    usage = "usage: python benchmarks/family_table.py RESULTS.jsonl..."
    if any(a in ("-h", "--help") for a in argv):
        print(usage)
        return 0
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    missing = [a for a in argv if not Path(a).is_file()]
    if missing:
        print(f"{usage}\nno such results file: {', '.join(missing)}", file=sys.stderr)
        return 2
    print(markdown(ratios(Path(a) for a in argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
