from __future__ import annotations

from decimal import Decimal

import pytest

from oms_sourcing.domain import from_units, parse_quantity, to_units
from oms_sourcing.errors import QuantityError


def test_fabric_by_the_metre_keeps_its_half_metre() -> None:
    assert parse_quantity("5.5", decimals=1) == Decimal("5.5")
    assert parse_quantity(5.5, decimals=1) == Decimal("5.5")
    assert to_units(Decimal("5.5"), 1) == 55
    assert from_units(55, 1) == Decimal("5.5")


def test_whole_units_accept_integers_and_trailing_zeros() -> None:
    assert parse_quantity(3) == 3
    assert parse_quantity("3.000") == 3
    assert parse_quantity(Decimal("2.50"), decimals=1) == Decimal("2.5")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("NaN", "finite"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("-Infinity", "finite"),
        (0, "greater than 0"),
        ("-2", "greater than 0"),
        ("1.5", "whole units"),
        ("two", "must be a number"),
        (True, "must be a number"),
        (None, "must be a number"),
        ([1], "must be a number"),
        ("1e309", "too large"),
        (10**12, "too large"),
    ],
)
def test_order_quantities_that_make_no_sense_are_rejected(value: object, fragment: str) -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity(value, where="order 1001 line 2")
    assert "order 1001 line 2: qty" in str(err.value)
    assert fragment in str(err.value)
    assert err.value.field == "qty"


def test_too_many_decimals_names_the_sku_setting_to_change() -> None:
    with pytest.raises(QuantityError, match=r"2\.55' has 2 decimal place\(s\).*at most 1"):
        parse_quantity("2.55", decimals=1, where="order 7 line 1")


def test_stock_may_be_zero_but_not_negative() -> None:
    assert parse_quantity("0", positive=False) == 0
    with pytest.raises(QuantityError, match="must not be negative"):
        parse_quantity("-1", positive=False)
    assert parse_quantity("-4", allow_negative=True) == -4


def test_to_units_refuses_to_round_silently() -> None:
    with pytest.raises(QuantityError):
        to_units(Decimal("1.25"), 1)
