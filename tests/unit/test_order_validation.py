from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oms_sourcing.domain import (
    Catalog,
    Delivery,
    LineId,
    LineKind,
    Order,
    OrderId,
    OrderLine,
    Sku,
    SkuInfo,
    SourceCode,
    validate_order,
)
from oms_sourcing.errors import InputError, QuantityError

NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def line(lid: str = "1", sku: str = "TEE-RED-M", qty: str = "1", **kw: object) -> OrderLine:
    return OrderLine(id=LineId(lid), sku=Sku(sku), qty=Decimal(qty), **kw)  # type: ignore[arg-type]


def order(*lines: OrderLine, **kw: object) -> Order:
    return Order(id=OrderId("1001"), created_at=NOW, lines=lines, **kw)  # type: ignore[arg-type]


def test_a_plain_order_is_valid_and_knows_its_value() -> None:
    o = order(line(unit_price=Decimal("19.99"), qty="2"), line("2", "MUG", "1"))
    validate_order(o)
    assert o.value == Decimal("39.98")


def test_an_order_without_a_time_zone_is_rejected() -> None:
    o = Order(id=OrderId("1"), created_at=datetime(2026, 11, 1), lines=(line(),))
    with pytest.raises(InputError, match="no time zone"):
        validate_order(o)


def test_duplicate_line_ids_are_named() -> None:
    with pytest.raises(InputError, match="line id '1' is used twice"):
        validate_order(order(line(), line()))


def test_pickup_needs_a_store() -> None:
    with pytest.raises(InputError, match="pickup_source is empty"):
        validate_order(order(line(), delivery=Delivery.PICKUP))


def test_preshipped_lines_need_their_source_and_only_they_have_one() -> None:
    with pytest.raises(InputError, match="needs preshipped_source"):
        validate_order(order(line(kind=LineKind.PRESHIPPED)))
    with pytest.raises(InputError, match="set kind: preshipped"):
        validate_order(order(line(preshipped_source=SourceCode("ST-BER"))))
    validate_order(order(line(kind=LineKind.PRESHIPPED, preshipped_source=SourceCode("ST-BER"))))


def test_decimal_quantities_follow_the_catalog() -> None:
    catalog = Catalog([SkuInfo(Sku("FABRIC-LINEN"), decimals=1)])
    validate_order(order(line(sku="FABRIC-LINEN", qty="2.5")), catalog)
    with pytest.raises(QuantityError, match=r"order 1001 line 1: qty 2\.5 has"):
        validate_order(order(line(sku="TEE", qty="2.5")), catalog)


def test_zero_and_negative_lines_are_rejected_with_their_line() -> None:
    with pytest.raises(QuantityError, match="order 1001 line 3: qty must be greater than 0"):
        validate_order(order(line("3", qty="0")))
