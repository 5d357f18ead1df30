"""What sourcing decides for each line, and the statuses lines and orders move through.

Every unit of every line ends in exactly one outcome: shipped from a source (``Shipment``),
transferred to the pickup store then handed over (``Transfer`` + a pickup ``Shipment``),
backordered, held for a later attempt, or cancelled. Each outcome carries a reason code; the
names follow Magento Order Management where it has one (``OUTOFSTOCK``, ``ASSOCIATEDITEMCANCELLED``)
and are explicit where it expresses the state through queues (``BACKORDERED``, ``UNFILLABLE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from oms_sourcing.domain.catalog import Sku
from oms_sourcing.domain.order import LineId
from oms_sourcing.domain.source import SourceCode

__all__ = [
    "Backorder",
    "Cancelled",
    "Held",
    "LineQty",
    "LineStatus",
    "OrderStatus",
    "Reason",
    "Shipment",
    "Transfer",
]


class Reason(StrEnum):
    """Why a line (or part of it) ended where it did."""

    # shipped
    SOURCED = "SOURCED"
    PRESHIPPED = "PRESHIPPED"
    NOT_STOCK_MANAGED = "NOT_STOCK_MANAGED"
    PICKUP_IN_STORE = "PICKUP_IN_STORE"
    SHIP_TO_STORE = "SHIP_TO_STORE"
    # short
    OUTOFSTOCK = "OUTOFSTOCK"
    BACKORDERED = "BACKORDERED"
    UNFILLABLE = "UNFILLABLE"
    # held
    HOLD_UNTIL_COMPLETE = "HOLD_UNTIL_COMPLETE"
    BUNDLE_NOT_FROM_ONE_SOURCE = "FilterSourceBundleFromOneSource"
    WAITING_FOR_STOCK = "WAITING_FOR_STOCK"
    DECLINE_LIMIT = "DECLINE_LIMIT"
    # cancelled / rejected
    ASSOCIATEDITEMCANCELLED = "ASSOCIATEDITEMCANCELLED"
    NOTHINGTOSHIP = "NOTHINGTOSHIP"
    CUSTOMERREQ = "CUSTOMERREQ"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    INVALID_LINE = "INVALID_LINE"
    NO_PICKUP_SOURCE = "NO_PICKUP_SOURCE"


@dataclass(frozen=True, slots=True)
class LineQty:
    """A quantity of one order line."""

    line_id: LineId
    sku: Sku
    qty: Decimal


@dataclass(frozen=True, slots=True)
class Shipment:
    """Lines (or parts of lines) one source ships in one parcel, or hands over at pickup.

    ``source`` is ``None`` for lines that need no source (virtual products that are not
    stock-managed).
    """

    source: SourceCode | None
    lines: tuple[LineQty, ...]
    reason: Reason = Reason.SOURCED


@dataclass(frozen=True, slots=True)
class Transfer:
    """The first leg of ship-to-store: ``from_source`` sends lines to the pickup store."""

    from_source: SourceCode
    to_source: SourceCode
    lines: tuple[LineQty, ...]
    days: int = 0
    reason: Reason = Reason.SHIP_TO_STORE


@dataclass(frozen=True, slots=True)
class Backorder:
    line: LineQty
    reason: Reason = Reason.BACKORDERED


@dataclass(frozen=True, slots=True)
class Held:
    line: LineQty
    reason: Reason = Reason.WAITING_FOR_STOCK


@dataclass(frozen=True, slots=True)
class Cancelled:
    line: LineQty
    reason: Reason = Reason.OUTOFSTOCK


class LineStatus(StrEnum):
    """Order line statuses (Magento Order Management names, plus explicit short-stock states)."""

    NEW = "NEW"
    ALLOCATEDSHIP = "ALLOCATEDSHIP"
    RECEIVEDBYLOGISTICS = "RECEIVEDBYLOGISTICS"
    SHIPPED = "SHIPPED"
    ITEM_PENDING_PICKING = "ITEM_PENDING_PICKING"
    PICKREADY = "PICKREADY"
    PICKCONFIRMED = "PICKCONFIRMED"
    PICKDECLINED = "PICKDECLINED"
    RESOURCED = "RESOURCED"
    BACKORDERED = "BACKORDERED"
    ONHOLD = "ONHOLD"
    CANCELLED = "CANCELLED"
    PRESHIPPED = "PRESHIPPED"


class OrderStatus(StrEnum):
    NEW = "NEW"
    RECEIVED = "RECEIVED"
    ONHOLD = "ONHOLD"
    LOGISTICS = "LOGISTICS"
    LOGISTICSCOMPLETE = "LOGISTICSCOMPLETE"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"
    REJECTED = "REJECTED"
