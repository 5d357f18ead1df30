"""oms_sourcing: decide which source ships each order line, and keep stock honest.

Importing the package is cheap: OR-Tools, SQLAlchemy and FastAPI are imported only by the modules
that use them, when they are used.
"""

from __future__ import annotations

import logging

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

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
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
    "UnknownReferenceError",
    "__version__",
]
