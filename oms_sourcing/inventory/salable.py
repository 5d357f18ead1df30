"""Salable quantity per stock and Magento MSI's "is this SKU salable for qty Q on stock S".

Magento MSI (``GetProductSalableQty``) sums, over the *enabled* sources linked to a stock, the
quantities of the source items in stock, adds the reservations (negative while orders are
open) and subtracts the product's out-of-stock threshold; a negative threshold allows limited
backorders. Here:

* the sources counted are the stock's :meth:`~oms_sourcing.inventory.network.SourceNetwork.
  salable_sources` — linked, enabled, and able to ship or hand over — the same sources sourcing
  draws on;
* the threshold is the SKU's (``backorders: {allow_until: N}`` in the catalog is ``-N``;
  ``allow`` is 0), else the stock's ``out_of_stock_threshold``;
* safety stock is left out, as sourcing leaves it out.

:func:`is_salable_for_qty` follows MSI's ``IsProductSalableForRequestedQty`` chain as used on
add to cart: the required conditions first (a correct quantity; some source item in stock),
then the sufficient ones (backorders without limit; stock not managed; the salable quantity
covers the request). A quantity that is not salable is a result with the reason — MSI's code
and message — never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

import numpy as np

from oms_sourcing.domain import MAX_DECIMALS, SkuInfo, parse_quantity
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockLedger, StockSnapshot

__all__ = [
    "SalabilityCode",
    "SalabilityError",
    "SalableResult",
    "is_salable_for_qty",
    "salable_qty",
    "snapshot_salable_units",
]


class SalabilityCode(StrEnum):
    """Why a quantity is not salable: Magento MSI's error codes."""

    QTY_DECIMAL = "is_correct_qty-is_qty_decimal"
    NO_SOURCE_ITEMS_IN_STOCK = "is_any_source_item_in_stock-no_source_items_in_stock"
    NOT_ASSIGNED = "is_salable_with_reservations-no_data"
    NOT_ENOUGH_QTY = "is_salable_with_reservations-not_enough_qty"


#: MSI's message for each code (``NOT_ENOUGH_QTY``: MSI's long-standing text; Magento 2.4.8
#: says "Not enough items for sale").
MESSAGES: dict[SalabilityCode, str] = {
    SalabilityCode.QTY_DECIMAL: "You cannot use decimal quantity for this product.",
    SalabilityCode.NO_SOURCE_ITEMS_IN_STOCK: "There are no source items with the in stock "
                                             "status",
    SalabilityCode.NOT_ASSIGNED: "The requested sku is not assigned to given stock",
    SalabilityCode.NOT_ENOUGH_QTY: "The requested qty is not available",
}


@dataclass(frozen=True, slots=True)
class SalabilityError:
    """One reason a quantity is not salable: MSI's code and message, and our figures."""

    code: SalabilityCode
    message: str
    detail: str

    def __str__(self) -> str:
        return f"{self.message} ({self.code.value}): {self.detail}"


@dataclass(frozen=True, slots=True)
class SalableResult:
    """The answer to "is ``sku`` salable for ``requested`` on ``stock``".

    ``salable_qty``: the stock's salable quantity of the SKU (``Infinity`` when its stock is
    not managed); ``threshold``: the out-of-stock threshold it subtracts. ``errors`` is empty
    when the quantity is salable; ``why`` then says which condition made it so
    (``"salable quantity"``, ``"backorders without limit"`` or ``"stock not managed"``).
    """

    stock: str
    sku: str
    requested: Decimal
    salable_qty: Decimal
    threshold: Decimal
    errors: tuple[SalabilityError, ...] = ()
    why: str = ""

    @property
    def is_salable(self) -> bool:
        return not self.errors

    def __bool__(self) -> bool:
        return self.is_salable

    @property
    def reason(self) -> str:
        """One line for a person: why it is salable, or every reason it is not."""
        if self.is_salable:
            return self.why
        return "; ".join(str(e) for e in self.errors)


def _plain(q: Decimal) -> Decimal:
    """``2.500000`` -> ``2.5``, ``10.000000`` -> ``10`` (never ``1E+1``)."""
    return q.quantize(Decimal(1)) if q == q.to_integral_value() else q.normalize()


def _fmt(q: Decimal) -> str:
    if not q.is_finite():
        return "unlimited"
    return f"{q:f}" if q != q.to_integral_value() else f"{q.to_integral_value():f}"


def salable_qty(ledger: StockLedger, network: SourceNetwork, stock: str, sku: str) -> Decimal:
    """The salable quantity of ``sku`` on stock ``stock`` (see the module docstring).

    Raises:
        UnknownReferenceError: no stock has that name, or the ledger lacks one of its sources.
    """
    sources = network.salable_sources(stock)  # raises for an unknown stock, with a suggestion
    return ledger.salable(sku, sources, network.stocks[stock].out_of_stock_threshold)


def is_salable_for_qty(
    ledger: StockLedger, network: SourceNetwork, stock: str, sku: str, qty: Decimal | int | str
) -> SalableResult:
    """Whether ``qty`` of ``sku`` can be sold on stock ``stock`` now, and why not.

    The conditions, in MSI's order (the first failing required one answers):

    1. the quantity suits the SKU: no more decimals than its ``decimal_qty``
       (``is_correct_qty-is_qty_decimal``);
    2. stock not managed (``stock_managed: false``): salable;
    3. some salable source of the stock holds a stock record of the SKU
       (``is_salable_with_reservations-no_data``) and one of them has it in stock
       (``is_any_source_item_in_stock-no_source_items_in_stock``);
    4. backorders without limit (``backorders: allow``): salable;
    5. the salable quantity is at least ``qty``
       (``is_salable_with_reservations-not_enough_qty``).

    Raises:
        QuantityError: ``qty`` is not a number greater than zero.
        UnknownReferenceError: no stock has that name.
    """
    requested = _plain(parse_quantity(qty, decimals=MAX_DECIMALS, field="qty"))
    sources = network.salable_sources(stock)  # raises for an unknown stock, with a suggestion
    figure = ledger.salable_detail(sku, sources, network.stocks[stock].out_of_stock_threshold)
    info = ledger.catalog.info(sku)

    def result(*errors: SalabilityError, why: str = "") -> SalableResult:
        return SalableResult(stock, sku, requested, figure.qty, figure.threshold, errors, why)

    def error(code: SalabilityCode, detail: str) -> SalableResult:
        return result(SalabilityError(code, MESSAGES[code], detail))

    step = Decimal(1).scaleb(-info.decimals)
    if requested % step:
        sold = "in whole units" if info.decimals == 0 else f"in steps of {step}"
        return error(SalabilityCode.QTY_DECIMAL,
                     f"{sku} is sold {sold}, {_fmt(requested)} requested")
    if not info.stock_managed:
        return result(why="stock not managed")
    if not figure.assigned:
        return error(SalabilityCode.NOT_ASSIGNED,
                     f"no source of stock {stock!r} that can ship or hand over holds {sku}"
                     + ("" if sources else
                        " (the stock has no enabled source that ships or hands over)"))
    if not figure.in_stock:
        return error(SalabilityCode.NO_SOURCE_ITEMS_IN_STOCK,
                     f"every source of stock {stock!r} holding {sku} has it out of stock")
    if info.backorders.unlimited:
        return result(why="backorders without limit")
    if figure.qty >= requested:
        return result(why="salable quantity")
    return error(SalabilityCode.NOT_ENOUGH_QTY,
                 f"{_fmt(requested)} requested, {_fmt(figure.qty)} salable on stock {stock!r} "
                 f"(out-of-stock threshold {_fmt(figure.threshold)})")


def snapshot_salable_units(
    network: SourceNetwork, snapshot: StockSnapshot, channel: str, info: SkuInfo
) -> int:
    """The salable quantity of SKU ``info`` for sales channel ``channel`` from a stock
    snapshot, in the SKU's smallest units (the threshold rounded towards less salable).

    Counted as :func:`salable_qty` counts, over the channel's stock's salable sources; a
    channel without a stock counts every enabled source that ships or hands over, with a
    default threshold of 0. Sourcing uses it to bound limited backorders.
    """
    stock = network.stock_for_channel(channel)
    if stock is not None:
        codes = network.salable_sources(stock.name)
        default = stock.out_of_stock_threshold
    else:
        codes = tuple(s.code for s in network.sources if s.enabled
                      and (s.capabilities.ships or s.capabilities.pickup))
        default = Decimal(0)
    threshold = info.backorders.threshold(default)
    limit = int((threshold * Decimal(10) ** info.decimals).to_integral_value(
        rounding=ROUND_CEILING))
    if info.sku not in snapshot:
        return -limit
    st = snapshot[info.sku]
    members = np.array([network.index(c) for c in codes], dtype=np.intp)
    # in-stock sources: on hand - reserved - safety; out-of-stock ones: only their reservations
    held = np.where(st.in_stock[members], st.available[members], -st.reserved[members])
    return int(held.sum()) - limit
