"""Replay a stored decision from its stored inputs: identical, or what another ruleset changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from oms_sourcing.allocation.allocate import allocate
from oms_sourcing.domain import Catalog
from oms_sourcing.errors import InputError
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import SkuStock, StockSnapshot
from oms_sourcing.rules.model import Ruleset
from oms_sourcing.service._tx import network_fingerprint
from oms_sourcing.service.model import DecisionRecord

__all__ = ["ReplayReport", "replay", "snapshot_of"]

_VOLATILE = ("solver",)   # the solver block carries wall-clock milliseconds


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """``identical``: the replay gave the stored result; ``differences``: ``path: stored ->
    replayed`` lines otherwise. ``ruleset``: the (id, version) replayed under."""

    decision_id: str
    identical: bool
    ruleset: tuple[str, str]
    differences: tuple[str, ...]
    result: Mapping[str, Any]


def snapshot_of(decision: DecisionRecord) -> StockSnapshot:
    """The stock snapshot the decision read, rebuilt from its stored cells."""
    def frozen(values: tuple[Any, ...], dtype: Any) -> Any:
        arr = np.asarray(values, dtype=dtype)
        arr.flags.writeable = False
        return arr

    skus = {
        c.sku: SkuStock(c.sku, c.decimals, c.stock_managed, c.backorder_floor,
                        frozen(c.available, np.int64), frozen(c.in_stock, np.bool_),
                        frozen(c.reserved, np.int64), frozen(c.safety, np.int64))
        for c in decision.cells
    }
    return StockSnapshot(decision.source_codes, MappingProxyType(skus))


def _diff(path: str, a: Any, b: Any, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _diff(f"{path}.{k}" if path else str(k), a.get(k), b.get(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(f"{path}[{i}]", x, y, out)
    elif a != b:
        out.append(f"{path}: {a!r} -> {b!r}")


def replay(decision: DecisionRecord, ruleset: Ruleset, network: SourceNetwork,
           catalog: Catalog | None = None) -> ReplayReport:
    """Run ``decision`` again from its stored inputs under ``ruleset`` (the stored version for an
    exact replay, another to see what it changes).

    Raises:
        InputError: ``network`` is not the network the decision was made on.
    """
    if network_fingerprint(network) != decision.network_fingerprint:
        raise InputError(
            f"decision {decision.decision_id} was made on another network (fingerprint "
            f"{decision.network_fingerprint[:12]}…); replay it on that network",
            field="network", value=network_fingerprint(network)[:12],
            expected=decision.network_fingerprint[:12],
        )
    result = allocate(decision.order, ruleset, network, snapshot_of(decision), decision.now,
                      catalog=catalog, config=decision.solver, declined=dict(decision.declined),
                      attempts=decision.attempts)
    got = result.to_dict(explain="lines" in decision.result)
    stored = {k: v for k, v in decision.result.items() if k not in _VOLATILE}
    new = {k: v for k, v in got.items() if k not in _VOLATILE}
    differences: list[str] = []
    _diff("", stored, new, differences)
    return ReplayReport(decision.decision_id, not differences, (ruleset.id, ruleset.version),
                        tuple(differences), got)
