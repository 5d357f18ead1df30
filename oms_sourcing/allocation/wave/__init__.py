"""Wave optimisation: source a batch of orders jointly against shared stock.

Per-order sourcing is greedy across orders: the first order takes the cheap unit a later order
needed more. :func:`allocate_wave` sources a wave together:

1. **Each order alone** against the full stock (its optimum: the sum of them is a bound).
2. **Per-order pass** — every order sourced in turn against the stock the earlier ones left,
   as live sourcing would (the baseline, and the warm start: the wave result is never worse
   than it). An order whose own optimum still fits the stock left keeps it without a solve.
3. **Column generation** (Dantzig-Wolfe) — a master LP picks, per order, a convex mix of
   known plans within the shared stock; its stock duals price every cell, and each order solved
   alone against its priced stock (exactly, by the per-order solver) yields new plans. Every
   round gives a Lagrangian bound, ``Σ_o min_o(cost + λ·use) − λ·stock``, which at the end is
   the best bound that prices stock instead of enforcing it — above the LP relaxation of the
   compact model (each order's plans are integral). Prices are smoothed (Wentges) towards the
   best so far, and only orders whose dual exceeds their optimum alone are priced.
4. **Master MIP** — one generated plan per order, within the stock (CP-SAT, deterministic),
   warm-started with the per-order plan: usually most of the saving.
5. **Local search** — each order in turn gives its stock back and re-takes its best plan
   against what the others leave; then a **large-neighbourhood search** frees a dozen orders
   competing for the same stock and re-solves them jointly (a small SCIP MIP).
6. **Proof** (``WaveConfig.proof_gap``) — at column generation's best prices, each order's
   plans within a margin ``δ`` of its priced optimum are few: all of them are listed and the
   wave is solved exactly over those (CP-SAT). Any wave plan that uses another costs more
   than the Lagrangian bound plus ``δ``, so the step proves the least of that and its MIP's
   bound, past the Dantzig-Wolfe bound, and its plan is often better too.
7. Optionally the LP relaxation of the compact model (GLOP) and the **whole-wave MIP** over it,
   with reduced-cost fixing (a shipment whose reduced cost lifts the LP bound above the
   per-order plan's cost cannot be in a better plan).

The objective is each order's own (shipping cost terms of its policy) plus a common penalty per
unit left short, larger than any order's shipping, so the wave first ships as many units as the
stock allows, then at least cost. Orders whose problems carry side constraints (bundles, one
source per line, minimum values, binding capacities, hold-until-complete), virtual lines or
``rank`` policies keep their per-order plans, and their stock is taken out before the joint
model. So do orders that may ship from a source whose capacity left (orders, lines, units)
the wave's orders could together exceed: the per-order pass counts what each of them uses,
so the wave never ships more than a source can take, but the joint model does not yet trade
capacity between orders. Each stock cell (source, SKU) holds what the joint orders' policies let
them take (safety stock held back, stock status, reservations), the least of them where their
policies differ, so no order's safety stock is spent by another. Every budget is work
(rounds, nodes, CP-SAT's deterministic time), so a wave gets the same plan on any machine;
``WaveConfig.time_limit_s`` is an optional wall-clock stop. Steps 1 and 3 solve thousands of
orders independently: ``WaveConfig.workers`` shares them with worker processes, with the same
plans for any number of them.

The steps live in one module each, in the order ``_pipeline`` (:func:`allocate_wave`) runs them:

* ``_per_order`` — steps 1 and 2, each order alone and the per-order pass;
* ``_joint`` — the joint model the later steps share (stock cells, each order's view of them);
* ``_compact`` — the LP relaxation of the compact model (run before column generation: its
  duals are the first prices) and the whole-wave MIP of step 7;
* ``_column_generation`` — step 3, the master LP and the pricing of orders (the Lagrangian bound);
* ``_master_mip`` — step 4;
* ``_local_search`` and ``_neighbourhoods`` — step 5;
* ``_proof`` — step 6;

and ``_config`` holds :class:`WaveConfig` and :class:`WaveResult`.
"""

from __future__ import annotations

from oms_sourcing.allocation.wave._config import WaveConfig, WaveResult
from oms_sourcing.allocation.wave._pipeline import allocate_wave

__all__ = ["WaveConfig", "WaveResult", "allocate_wave"]
