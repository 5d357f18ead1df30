"""Exact quantities and money.

Quantities are ``Decimal`` at the edges, each SKU with its own precision (``decimals``: 0 for
pieces, 1 for 5.5 m of fabric). Inside the engine a quantity is an integer count of the SKU's
smallest unit (``to_units``), so the solver and the ledger never see a float. Money works the same
way with the currency's minor units.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from oms_sourcing.errors import QuantityError

__all__ = [
    "MAX_DECIMALS",
    "MAX_DIGITS",
    "from_units",
    "parse_money",
    "parse_quantity",
    "to_units",
]

#: The finest precision a SKU (or a cost rate) may declare. Six decimals exceed every unit of
#: measure in retail and keep scaled quantities far inside int64.
MAX_DECIMALS = 6
#: Quantities and rates have fewer integer digits than this: scaled by ``10**MAX_DECIMALS``
#: they stay inside int64 (about 9.2e18).
MAX_DIGITS = 12

_SCALE = tuple(10**d for d in range(MAX_DECIMALS + 1))


def _where(where: str | None) -> str:
    return f"{where}: " if where else ""


def _show(value: object) -> str:
    """How a received value is quoted in messages: ``'2.55'`` for strings, ``2.55`` otherwise."""
    return repr(value) if isinstance(value, str) or value is None else str(value)


def parse_quantity(
    value: object,
    *,
    decimals: int = 0,
    field: str = "qty",
    where: str | None = None,
    positive: bool = True,
    allow_negative: bool = False,
) -> Decimal:
    """Turn a user-supplied quantity into an exact ``Decimal``.

    Args:
        value: an ``int``, ``Decimal`` or decimal string. Floats are accepted only when their
            shortest repr is exact at ``decimals`` (``5.5`` is fine, ``0.1 + 0.2`` is not).
        decimals: how many decimal places the SKU allows.
        field: the field name used in the error message.
        where: what the value belongs to, e.g. ``"order 1001 line 2"``.
        positive: require ``> 0`` (order lines); otherwise ``>= 0`` (stock on hand).
        allow_negative: accept any sign (relative adjustments).

    Returns:
        The quantity as a ``Decimal`` with no more than ``decimals`` places.

    Raises:
        QuantityError: naming ``where``, the field and the value, for NaN, infinities, booleans,
            non-numbers, values of ``MAX_DIGITS`` or more integer digits, a wrong sign or too
            many decimals.
    """
    prefix = _where(where)
    if isinstance(value, bool) or value is None:
        raise QuantityError(
            f"{prefix}{field} must be a number, got {_show(value)}",
            field=field, value=value, expected="a decimal number", where=where,
        )
    try:
        if isinstance(value, float):
            qty = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            qty = Decimal(value)
        elif isinstance(value, str):
            qty = Decimal(value.strip())
        else:
            raise InvalidOperation
    except (InvalidOperation, ValueError) as err:
        raise QuantityError(
            f"{prefix}{field} must be a number, got {_show(value)}",
            field=field, value=value, expected="a decimal number", where=where,
        ) from err
    if not qty.is_finite():
        raise QuantityError(
            f"{prefix}{field} must be a finite number, got {_show(value)}",
            field=field, value=value, expected="a finite decimal number", where=where,
        )
    if qty.adjusted() >= MAX_DIGITS:
        raise QuantityError(
            f"{prefix}{field} {_show(value)} is too large; use a value below 10^{MAX_DIGITS}",
            field=field, value=value, expected=f"less than 10^{MAX_DIGITS}", where=where,
        )
    if not allow_negative:
        if positive and qty <= 0:
            raise QuantityError(
                f"{prefix}{field} must be greater than 0, got {_show(value)}; "
                "remove the line instead of ordering nothing",
                field=field, value=value, expected="> 0", where=where,
            )
        if not positive and qty < 0:
            raise QuantityError(
                f"{prefix}{field} must not be negative, got {_show(value)}",
                field=field, value=value, expected=">= 0", where=where,
            )
    exponent = qty.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > decimals:
        allowed = "whole units" if decimals == 0 else f"at most {decimals} decimal place(s)"
        raise QuantityError(
            f"{prefix}{field} {_show(value)} has {places} decimal place(s) but this SKU allows "
            f"{allowed}; round it or raise the SKU's decimal_qty in the catalog",
            field=field, value=value, expected=allowed, where=where,
        )
    if qty == 0:
        return Decimal(0)
    return qty.quantize(Decimal(1).scaleb(-decimals)) if decimals else qty.to_integral_value()


def to_units(qty: Decimal, decimals: int) -> int:
    """Scale an exact quantity to integer units of ``10**-decimals`` (exact; raises if not)."""
    scaled = qty * _SCALE[decimals]
    units = int(scaled)
    if units != scaled:
        raise QuantityError(
            f"quantity {qty} is not a whole number of 1/{_SCALE[decimals]} units",
            field="qty", value=qty, expected=f"at most {decimals} decimal place(s)",
        )
    return units


def from_units(units: int, decimals: int) -> Decimal:
    """Inverse of :func:`to_units`."""
    return Decimal(units).scaleb(-decimals) if decimals else Decimal(units)


def parse_money(
    value: object, *, minor_digits: int = 2, field: str = "cost", where: str | None = None
) -> Decimal:
    """Parse a non-negative amount of money with at most ``minor_digits`` decimals."""
    return parse_quantity(
        value, decimals=minor_digits, field=field, where=where, positive=False
    )
