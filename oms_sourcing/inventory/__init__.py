"""Inventory: the source network (places and routes) and, separately, the stock held there.

Names are imported on first use, so ``from oms_sourcing.inventory.stock import StockLedger``
does not pay for networkx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oms_sourcing.inventory.feeds import FeedReport, apply_feed, read_feed
    from oms_sourcing.inventory.network import (
        ShippingLane,
        SourceNetwork,
        TransferLane,
        TransferLaneSpec,
    )
    from oms_sourcing.inventory.stock import StockLedger, StockSnapshot

__all__ = [
    "FeedReport",
    "ShippingLane",
    "SourceNetwork",
    "StockLedger",
    "StockSnapshot",
    "TransferLane",
    "TransferLaneSpec",
    "apply_feed",
    "read_feed",
]

_HOMES = {
    "ShippingLane": "network", "SourceNetwork": "network", "TransferLane": "network",
    "TransferLaneSpec": "network", "StockLedger": "stock", "StockSnapshot": "stock",
    "FeedReport": "feeds", "apply_feed": "feeds", "read_feed": "feeds",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'oms_sourcing.inventory' has no attribute {name!r}")
    return getattr(importlib.import_module(f"oms_sourcing.inventory.{home}"), name)
