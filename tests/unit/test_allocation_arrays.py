"""Exact integer arithmetic behind the builder's cost terms."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from oms_sourcing.allocation._arrays import UNLIMITED, Rate, capacity_limits, round_div
from oms_sourcing.domain import Capacity


def test_halves_round_to_the_even_neighbour() -> None:
    num = np.array([5, 15, 25, -5, -15, 14, 16], dtype=np.int64)
    assert round_div(num, 10).tolist() == [0, 2, 2, 0, -2, 1, 2]


@given(st.lists(st.integers(-10**12, 10**12), min_size=1, max_size=20), st.integers(0, 6))
def test_round_div_agrees_with_decimal_half_even(values: list[int], places: int) -> None:
    den = 10**places
    got = round_div(np.array(values, dtype=np.int64), den).tolist()
    want = [int((Decimal(v) / den).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
            for v in values]
    assert got == want


@given(st.lists(st.integers(-2**52, 2**52) | st.integers(2**51 - 2000, 2**51 + 2000)
                .map(lambda v: v if v % 2 else -v), min_size=1, max_size=20),
       st.integers(1, 9))
def test_round_div_is_exact_on_both_sides_of_its_floating_point_shortcut(
    values: list[int], places: int
) -> None:
    den = 10**places
    # halves just below the shortcut's limit as well
    values = [*values, (2**51 // den - 1) * den + den // 2, -((2**51 // den - 1) * den + den // 2)]
    got = round_div(np.array(values, dtype=np.int64), den).tolist()
    want = [int((Decimal(v) / den).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
            for v in values]
    assert got == want


def test_rates_use_the_smallest_denominator_trailing_zeros_included() -> None:
    rate = Rate.of([Decimal("2.4000"), Decimal("3")])
    assert rate.den == 10 and rate.num.tolist() == [24, 30]
    assert rate.num.dtype == np.int64


def test_huge_rates_stay_exact_in_python_integers() -> None:
    rate = Rate.of([Decimal("123456789.123456789")], max_factor=20_000_000)
    assert rate.num.dtype == object
    metres = np.array([19_999_999], dtype=np.int64)
    exact = (Decimal("123456789.123456789") * 19_999_999).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN)
    assert rate.times(metres).tolist() == [int(exact)]


def test_capacity_left_below_zero_is_none_left_and_no_limit_is_unlimited() -> None:
    assert capacity_limits(Capacity(orders=-3, lines=None, units=Decimal("7.9"))) == (
        0, UNLIMITED, 7)
