"""The exact fast path: the optimal plan for orders without side constraints, proven.

For a *fixed* set of sources the best plan is easy: each SKU's demand fills from the set's
cheapest units first (a transportation problem with one commodity per SKU and linear costs,
which greedy solves exactly), and whatever costs more than leaving it short stays short. So the
question is which set of sources ships. Four methods answer it:

* **Subset DP** (orders of up to ``_DP_MAX_COMMODITIES`` SKUs). If each offer either serves a
  SKU's whole demand or nothing, a dynamic programme over subsets of SKUs is exact: the cheapest
  source for each subset comes from two matrix products, then subsets combine. Counting only
  offers that hold the whole demand gives a plan; treating every offer as whole gives a lower
  bound. Most orders have only whole offers; then both agree and the plan is proven at once.
* **Every source set** (orders of more SKUs than the subset DP takes, from few sources, every
  offer whole: ten items from ten fulfilment centres). A set's best plan serves each SKU from
  the set's cheapest source offering it, so all ``2**K`` sets of the ``K`` sources that can
  beat a known plan cost one array minimum per source to evaluate.
* **Lattice DP** (orders of few units), for the rest when the subset DP cannot prove its plan:
  a dynamic programme over the units filled per SKU, source by source, exact for partial
  offers; it applies while the product of (demand + 1) over the SKUs stays small. Only
  sources that can ship in a plan no dearer than the subset DP's enter it: a per-source lower
  bound from the subset DP's relaxation (the source serves some subset, the rest is served
  or left short as cheaply as the relaxation allows) rules out four in five at 500 sources.
* **Branch and bound** over source sets, for the rest. A node has ``chosen`` sources and
  sources ruled out. With few SKUs it is bounded by the same DP over the still-open sources,
  where a chosen source's partial offer covers its units (charged at the cheapest unit cost
  still admitted) and the rest of that demand must come from others; when the DP's own plan
  leans on stock a source does not hold, the search branches on that source (use it, or rule it
  out). Otherwise, or for more SKUs, it bounds with the unit-cost relaxation plus the set-cover
  LP dual (every SKU the chosen sources cannot fill as well must pay for one more source) and
  branches on the SKU the fewest open sources offer, cheapest bound first.

Every node's own set is a plan, so the search always holds an upper bound, and it stops once
that meets the root's lower bound. The fast path answers problems without side constraints
(``AllocationProblem.has_side_constraints``) whose lines of one SKU share costs; it returns
``None`` for anything else and for searches beyond ``node_limit`` nodes (a deterministic work
budget), so the caller can fall back to CP-SAT. A plan it returns is proven optimal; among
equal plans the DP prefers sources earlier in tie-break order (priority, then code).

The modules, in the order :func:`solve_exact` (``_solve``) tries them:

1. ``_subset_dp`` — the subset DP (a plan and a bound; proven at once when they agree);
2. ``_source_sets`` — every source set of the candidate sources;
3. ``_lattice`` — the units lattice (with pools of single-SKU sources);
4. ``_branch_and_bound`` — branch and bound, within ``node_limit``;

over the commodities and offers of ``_matrices``, with the per-source bounds of ``_floors``
(which rule sources out of steps 2 and 3, and give the wave :func:`source_floors`).
"""

from __future__ import annotations

from oms_sourcing.allocation.exact._floors import source_floors
from oms_sourcing.allocation.exact._solve import ExactSolver, solve_exact

__all__ = ["ExactSolver", "solve_exact", "source_floors"]
