"""An independent feasibility checker: the specification of a valid plan.

Written from the model in :mod:`oms_sourcing.allocation.problem`, with plain Python loops and no
code shared with any solver, so a solver bug cannot hide behind the same bug in its checker.
Every solver result in the tests passes through :func:`check_plan`.
"""

from __future__ import annotations

from oms_sourcing.allocation.problem import AllocationProblem, Plan

__all__ = ["check_plan"]


def check_plan(problem: AllocationProblem, plan: Plan) -> list[str]:
    """Every violated constraint of ``plan`` as a readable sentence; empty when feasible."""
    p = problem
    out: list[str] = []
    n_l, n_k = p.n_lines, p.n_sources
    if plan.x.shape != (n_l, n_k) or plan.short.shape != (n_l,):
        return [f"plan has shapes {plan.x.shape}/{plan.short.shape}, "
                f"expected {(n_l, n_k)}/{(n_l,)}"]
    x = [[int(plan.x[i, k]) for k in range(n_k)] for i in range(n_l)]
    short = [int(plan.short[i]) for i in range(n_l)]

    for i in range(n_l):
        line = p.lines[i]
        if short[i] < 0:
            out.append(f"coverage: line {line} has negative short {short[i]}")
        for k in range(n_k):
            if x[i][k] < 0:
                out.append(f"coverage: line {line} takes {x[i][k]} from {p.sources[k]}")
            if x[i][k] > 0 and not p.allowed[i, k]:
                out.append(f"allowed: line {line} ships from {p.sources[k]}, which it may not")
        total = sum(x[i]) + short[i]
        if total != int(p.demand[i]):
            out.append(f"coverage: line {line} has {sum(x[i])} allocated + {short[i]} short "
                       f"= {total} units, demand is {int(p.demand[i])}")

    for u, sku in enumerate(p.skus):
        for k in range(n_k):
            taken = sum(x[i][k] for i in range(n_l) if int(p.line_sku[i]) == u)
            if taken > int(p.stock[u, k]):
                out.append(f"stock: {p.sources[k]} ships {taken} of {sku}, "
                           f"has {int(p.stock[u, k])}")

    used = [k for k in range(n_k) if any(x[i][k] > 0 for i in range(n_l))]
    parcels = [k for k in used if not p.exempt[k]]
    if p.max_shipments is not None and len(parcels) > p.max_shipments:
        out.append(f"split: {len(parcels)} shipments, at most {p.max_shipments} allowed")

    for i in range(n_l):
        if p.single_source[i] and sum(1 for k in range(n_k) if x[i][k] > 0) > 1:
            out.append(f"split: line {p.lines[i]} must come from one source")

    for group in p.bundles:
        names = ", ".join(p.lines[i] for i in group)
        origins = {k for i in group for k in range(n_k) if x[i][k] > 0}
        if len(origins) > 1:
            out.append(f"bundle: lines {names} ship from {len(origins)} sources, must be one")
        shorts = [short[i] > 0 for i in group]
        if any(shorts) and not all(short[i] == int(p.demand[i]) for i in group):
            out.append(f"bundle: lines {names} are partly short; a bundle is whole or waits")

    for group in p.whole_groups:
        names = ", ".join(p.lines[i] for i in group)
        if any(short[i] > 0 for i in group) and not all(
            short[i] == int(p.demand[i]) for i in group
        ):
            out.append(f"bundle: lines {names} are partly short; they ship together or wait")

    for k in used:
        units = sum(x[i][k] for i in range(n_l))
        cap_u = int(p.capacity_units[k])
        if cap_u >= 0 and units > cap_u:
            out.append(f"capacity: {p.sources[k]} ships {units} units, {cap_u} left today")
        lines = sum(1 for i in range(n_l) if x[i][k] > 0)
        cap_l = int(p.capacity_lines[k])
        if cap_l >= 0 and lines > cap_l:
            out.append(f"capacity: {p.sources[k]} ships {lines} lines, {cap_l} left today")
        value = sum(int(p.unit_value[i]) * x[i][k] for i in range(n_l))
        if value < p.min_shipment_value:
            out.append(f"split: shipment from {p.sources[k]} is worth {value}, "
                       f"below the minimum {p.min_shipment_value}")

    if p.all_or_nothing:
        partly = any(s > 0 for s in short) and not all(
            short[i] == int(p.demand[i]) for i in range(n_l)
        )
        if partly:
            out.append("split: the order must ship complete or wait, but it is partly short")

    recomputed = (
        sum(int(p.fixed_cost[k]) for k in used)
        + sum(int(p.unit_cost[i, k]) * x[i][k] for i in range(n_l) for k in range(n_k))
        + sum(int(p.short_cost[i]) * short[i] for i in range(n_l))
    )
    if recomputed != plan.objective:
        out.append(f"objective: plan says {plan.objective}, its quantities cost {recomputed}")
    if plan.bound > plan.objective:
        out.append(f"bound: {plan.bound} is above the objective {plan.objective}")
    return out
