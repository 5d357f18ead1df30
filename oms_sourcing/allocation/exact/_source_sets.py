"""Step 2 of the exact path: every set of the candidate sources, for orders of many SKUs from
few sources whose offers are all whole."""

from __future__ import annotations

import numpy as np

from oms_sourcing.allocation.exact._floors import _candidates
from oms_sourcing.allocation.exact._matrices import _INF, _Matrices
from oms_sourcing.allocation.problem import AllocationProblem

#: Most (source set x commodity) cells the enumeration of source sets may take.
_SETS_MAX_CELLS = 1 << 16


def _solve_sets(p: AllocationProblem, m: _Matrices, upper: int) -> list[int] | None:
    """The optimal source set by trying every set of the sources that can beat ``upper`` (see
    :func:`_candidates`), or ``None`` where that does not apply: some offer holds less than
    its commodity's whole demand, a cost is negative, or the sets are too many.

    With whole offers only, a set's best plan serves each commodity from the set's cheapest
    source offering it (offers are cheaper than leaving units short), so a set costs its fixed
    costs plus one minimum per commodity. The sets are built by doubling: adding source ``j``
    to the first ``2**j`` sets takes one array minimum. Orders of many SKUs from few sources
    (ten items from ten FCs) cost a few dozen array operations here, where the lattice DP
    needs a few hundred. Among equal sets the one without the latest sources (the smallest
    bit mask, bit ``j`` for the ``j``-th source in tie-break order) wins.
    """
    n = len(m.demand)
    if n == 0 or (m.offers & (m.stock < m.demand[:, None])).any():
        return None
    if (p.fixed_cost < 0).any() or (m.cost < 0).any():
        return None
    ks = np.flatnonzero(_candidates(p, m, upper))
    size = 1 << len(ks)
    if size * n > _SETS_MAX_CELLS:
        return None
    whole = np.where(m.offers[:, ks], m.cost[:, ks] * m.demand[:, None],
                     (m.short * m.demand)[:, None])      # (commodity, source)
    best = np.empty((size, n), dtype=np.int64)           # per set: each commodity's cost
    best[0] = m.short * m.demand
    fixed = np.zeros(size, dtype=np.int64)
    for j, k in enumerate(ks.tolist()):
        low = 1 << j
        np.minimum(best[:low], whole[:, j], out=best[low:2 * low])
        fixed[low:2 * low] = fixed[:low] + int(p.fixed_cost[k])
    total = best.sum(axis=1) + fixed
    if p.max_shipments is not None and p.max_shipments < len(ks):
        sizes = np.zeros(size, dtype=np.int64)
        for j in range(len(ks)):
            sizes[1 << j:2 << j] = sizes[:1 << j] + 1
        total[sizes > p.max_shipments] = _INF
    at = int(np.argmin(total))
    return [int(k) for j, k in enumerate(ks.tolist()) if at >> j & 1]
