"""Orders and order lines as the engine sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NewType

from oms_sourcing.domain.catalog import Catalog, Sku
from oms_sourcing.domain.quantity import parse_quantity
from oms_sourcing.domain.source import Location, SourceCode
from oms_sourcing.errors import InputError

__all__ = [
    "Delivery",
    "LineId",
    "LineKind",
    "Order",
    "OrderId",
    "OrderLine",
    "Shipping",
    "validate_order",
]

OrderId = NewType("OrderId", str)
LineId = NewType("LineId", str)


class Delivery(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"


class LineKind(StrEnum):
    """How a line is sourced.

    ``regular``: sourced from stock. ``virtual``: a virtual product; needs no source unless its SKU
    is stock-managed, then it draws from the virtual source. ``preshipped``: already handed over
    (a store sale); sourcing and reservation are skipped but a shipment from ``preshipped_source``
    is still produced.
    """

    REGULAR = "regular"
    VIRTUAL = "virtual"
    PRESHIPPED = "preshipped"


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order.

    ``bundle``: the id of the bundle instance this line is a component of; every line with the
    same ``bundle`` belongs to one bundle bought once, and ``bundle_sku`` names the bundle product.
    ``allow_backorder``: the per-line override of the channel's backorder setting (``None``: use
    the SKU's and the rule's setting).
    """

    id: LineId
    sku: Sku
    qty: Decimal
    kind: LineKind = LineKind.REGULAR
    unit_price: Decimal = Decimal(0)
    bundle: str | None = None
    bundle_sku: Sku | None = None
    preshipped_source: SourceCode | None = None
    allow_backorder: bool | None = None

    @property
    def value(self) -> Decimal:
        return self.qty * self.unit_price


@dataclass(frozen=True, slots=True)
class Shipping:
    method: str = "standard"
    address: Location = field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class Order:
    """An order to source. ``created_at`` is timezone-aware; the engine never reads the clock."""

    id: OrderId
    created_at: datetime
    lines: tuple[OrderLine, ...]
    channel: str = "default"
    customer_group: str = "general"
    delivery: Delivery = Delivery.SHIP
    pickup_source: SourceCode | None = None
    shipping: Shipping = field(default_factory=Shipping)
    currency: str = "EUR"
    parent_order: OrderId | None = None

    @property
    def value(self) -> Decimal:
        return sum((line.value for line in self.lines), Decimal(0))

    @property
    def destination(self) -> Location:
        return self.shipping.address

    def line(self, line_id: str) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise InputError(
            f"order {self.id} has no line {line_id!r}",
            field="line_id", value=line_id, expected=f"one of {[ln.id for ln in self.lines]}",
        )


def validate_order(order: Order, catalog: Catalog | None = None) -> None:
    """Check what the type system cannot: ids, quantities and line-kind fields.

    Raises:
        InputError / QuantityError: naming the order, the line, the field and the value.
    """
    where = f"order {order.id}"
    if not order.id:
        raise InputError("order id must not be empty", field="id", value=order.id)
    if order.created_at.tzinfo is None:
        raise InputError(
            f"{where}: created_at {order.created_at.isoformat()!r} has no time zone; "
            "add one, e.g. '+00:00'",
            field="created_at", value=order.created_at, where=where,
        )
    if not order.lines:
        raise InputError(f"{where}: an order needs at least one line", field="lines", value=[])
    if order.delivery is Delivery.PICKUP and not order.pickup_source:
        raise InputError(
            f"{where}: delivery is 'pickup' but pickup_source is empty; name the store",
            field="pickup_source", value=None, expected="a source code", where=where,
        )
    seen: set[str] = set()
    for line in order.lines:
        lwhere = f"{where} line {line.id}"
        if not line.id:
            raise InputError(f"{where}: a line has an empty id", field="lines.id", value=line.id)
        if line.id in seen:
            raise InputError(
                f"{where}: line id {line.id!r} is used twice; line ids must be unique",
                field="lines.id", value=line.id, where=where,
            )
        seen.add(line.id)
        if not line.sku:
            raise InputError(f"{lwhere}: sku is empty", field="sku", value=line.sku, where=lwhere)
        decimals = catalog.decimals(line.sku) if catalog is not None else 0
        parse_quantity(line.qty, decimals=decimals, where=lwhere)
        if line.unit_price < 0 or not line.unit_price.is_finite():
            raise InputError(
                f"{lwhere}: unit_price must be a finite amount >= 0, got {line.unit_price}",
                field="unit_price", value=line.unit_price, where=lwhere,
            )
        if line.kind is LineKind.PRESHIPPED and not line.preshipped_source:
            raise InputError(
                f"{lwhere}: a preshipped line needs preshipped_source (the source that "
                "already handed it over)",
                field="preshipped_source", value=None, where=lwhere,
            )
        if line.kind is not LineKind.PRESHIPPED and line.preshipped_source:
            raise InputError(
                f"{lwhere}: preshipped_source is set but kind is {line.kind.value!r}; "
                "set kind: preshipped or drop preshipped_source",
                field="preshipped_source", value=line.preshipped_source, where=lwhere,
            )
