"""Steps 1 and 2: the orders of a wave, each alone and in turn (the per-order pass), and which
of them may join the joint model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from oms_sourcing.allocation.allocate import AllocationResult
from oms_sourcing.allocation.builder import SourcingProblem
from oms_sourcing.allocation.problem import AllocationProblem, Plan
from oms_sourcing.domain import Capacity, Order
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import SkuStock, StockSnapshot
from oms_sourcing.rules.model import Policy


@dataclass(frozen=True, slots=True)
class _Entry:
    order: Order
    policy: Policy
    trace: tuple[str, ...]
    rule: str | None
    full: SourcingProblem          # against the full stock


@dataclass(frozen=True, slots=True)
class _Joint:
    """An order in the joint model: its physical problem against the full stock, and its
    per-order plan on that problem's columns."""

    index: int
    problem: AllocationProblem
    plan: Plan      # the per-order pass's
    ms: float       # and the milliseconds it took
    best: Plan      # the order's optimum alone, against the full stock

    @property
    def x(self) -> np.ndarray:
        return np.asarray(self.plan.x)


def _remaining(snapshot: StockSnapshot, used: Mapping[str, np.ndarray],
               skus: Sequence[str]) -> StockSnapshot:
    out: dict[str, SkuStock] = {}
    for sku in skus:
        st = snapshot[sku]
        if sku in used:
            out[sku] = replace(st, available=st.available - used[sku])
        else:
            out[sku] = st
    return StockSnapshot(snapshot.source_codes, out)


class _Capacity:
    """The capacity left per limited source as the per-order pass uses it."""

    def __init__(self, network: SourceNetwork, start: Mapping[str, Capacity] | None) -> None:
        self.remaining: dict[str, list[Decimal | None]] = {}
        for source in network.sources:
            cap = source.capacity
            if start is not None and source.code in start:
                cap = start[source.code]
            if cap.is_limited:
                self.remaining[source.code] = [None if v is None else Decimal(v)
                                               for v in (cap.orders, cap.lines, cap.units)]

    def at_risk(self, problems: Sequence[SourcingProblem]) -> set[str]:
        """The limited sources the orders of ``problems`` could together ask more of than
        is left (each order once, every line it may send there, all its units)."""
        if not self.remaining:
            return set()
        asked: dict[str, list[Decimal]] = {code: [Decimal(0)] * 3 for code in self.remaining}
        for sp in problems:
            for part in (sp.physical, sp.virtual):
                if part is None:
                    continue
                for k, code in enumerate(part.sources):
                    lines = part.allowed[:, k]
                    if code not in asked or not lines.any():
                        continue
                    asked[code][0] += 1
                    asked[code][1] += int(lines.sum())
                    asked[code][2] += sum(Decimal(int(d)).scaleb(-sp.line_decimals[line])
                                          for d, line, ok in zip(part.demand, part.lines, lines,
                                                                 strict=True) if ok)
        return {code for code, limit in self.remaining.items()
                if any(lim is not None and need > lim
                       for lim, need in zip(limit, asked[code], strict=True))}

    def left(self) -> dict[str, Capacity]:
        return {code: Capacity(orders=None if o is None else max(int(o), 0),
                               lines=None if li is None else max(int(li), 0),
                               units=None if u is None else max(u, Decimal(0)))
                for code, (o, li, u) in self.remaining.items()}

    def take(self, result: AllocationResult) -> None:
        """Count what ``result``'s shipments use."""
        for shipment in result.shipments:
            if shipment.source is None or shipment.source not in self.remaining:
                continue
            cap = self.remaining[shipment.source]
            deltas = (Decimal(1), Decimal(len(shipment.lines)),
                      sum((lq.qty for lq in shipment.lines), Decimal(0)))
            for i, delta in enumerate(deltas):
                value = cap[i]
                if value is not None:
                    cap[i] = value - delta


def _joinable(sp: SourcingProblem, policy: Policy) -> AllocationProblem | None:
    """The problem of an order that may join the joint model (unless capacity keeps it out:
    physical lines only, no ranks, no side constraints), else ``None``."""
    whole = sp.physical
    if (whole is None or sp.virtual is not None or sp.rejected or policy.uses_rank
            or whole.has_side_constraints):
        return None
    return whole


def _fits(p: AllocationProblem, x: np.ndarray, stock: np.ndarray) -> bool:
    """Whether quantities ``x`` of ``p`` fit ``stock`` (shaped like ``p.stock``)."""
    need = np.zeros_like(p.stock)
    np.add.at(need, p.line_sku, x)
    return bool((need <= stock).all())


def _taken(p: AllocationProblem, used: Mapping[str, np.ndarray], columns: np.ndarray,
           managed: Callable[[str], bool]) -> np.ndarray | None:
    """The units of each of ``p``'s stock cells (SKU, source) that ``used`` (units per SKU
    and source, in network order; ``columns`` is the network position of ``p``'s sources)
    took; ``None`` if none."""
    out: np.ndarray | None = None
    for u, sku in enumerate(p.skus):
        arr = used.get(sku)
        if arr is None or not managed(sku):
            continue
        got = np.minimum(arr[columns], p.stock[u])
        if got.any():
            if out is None:
                out = np.zeros_like(p.stock)
            out[u] = got
    return out
