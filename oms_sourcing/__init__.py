"""oms_sourcing: decide which source ships each order line, and keep stock honest.

The common path needs only this package's top level::

    from oms_sourcing import (load_network, load_catalog, load_ruleset, read_feed, apply_feed,
                              load_orders, StockLedger, allocate, allocate_wave)

Importing the package is cheap: those functions and classes are looked up in their modules
(``oms_sourcing.formats``, ``.inventory``, ``.rules``, ``.allocation``) when first used, and
OR-Tools, SQLAlchemy and FastAPI are imported only by the modules that use them, when they are
used. The domain types and the errors below are imported at once (standard library only).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from oms_sourcing.domain import (
    Catalog,
    Delivery,
    LineKind,
    Location,
    Order,
    OrderLine,
    Source,
    SourceKind,
)
from oms_sourcing.errors import (
    FeedError,
    FileError,
    InputError,
    OmsSourcingError,
    Problem,
    QuantityError,
    ReservationConflictError,
    RulesetError,
    UnknownReferenceError,
)

if TYPE_CHECKING:
    from oms_sourcing.allocation.allocate import AllocationResult, allocate
    from oms_sourcing.allocation.wave import WaveConfig, WaveResult, allocate_wave
    from oms_sourcing.formats.catalog import load_catalog
    from oms_sourcing.formats.network import load_network
    from oms_sourcing.formats.orders import load_orders
    from oms_sourcing.inventory.feeds import apply_feed, read_feed
    from oms_sourcing.inventory.network import SourceNetwork
    from oms_sourcing.inventory.stock import StockLedger
    from oms_sourcing.rules import load_ruleset

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: The common path's names, each with the module it lives in (imported on first use).
_LAZY = {
    "load_network": "oms_sourcing.formats.network",
    "load_catalog": "oms_sourcing.formats.catalog",
    "load_orders": "oms_sourcing.formats.orders",
    "load_ruleset": "oms_sourcing.rules",
    "read_feed": "oms_sourcing.inventory.feeds",
    "apply_feed": "oms_sourcing.inventory.feeds",
    "StockLedger": "oms_sourcing.inventory.stock",
    "SourceNetwork": "oms_sourcing.inventory.network",
    "allocate": "oms_sourcing.allocation.allocate",
    "AllocationResult": "oms_sourcing.allocation.allocate",
    "allocate_wave": "oms_sourcing.allocation.wave",
    "WaveConfig": "oms_sourcing.allocation.wave",
    "WaveResult": "oms_sourcing.allocation.wave",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oms_sourcing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AllocationResult",
    "Catalog",
    "Delivery",
    "FeedError",
    "FileError",
    "InputError",
    "LineKind",
    "Location",
    "OmsSourcingError",
    "Order",
    "OrderLine",
    "Problem",
    "QuantityError",
    "ReservationConflictError",
    "RulesetError",
    "Source",
    "SourceKind",
    "SourceNetwork",
    "StockLedger",
    "UnknownReferenceError",
    "WaveConfig",
    "WaveResult",
    "__version__",
    "allocate",
    "allocate_wave",
    "apply_feed",
    "load_catalog",
    "load_network",
    "load_orders",
    "load_ruleset",
    "read_feed",
]
