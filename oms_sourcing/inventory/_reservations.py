"""The ledger's record of one order line's reservation, open or closed (private).

A line keeps its reservation's identity (the cells it was reserved with) for good: once shipped
or released it is *closed*, and a late retry of the reservation, the shipment or the release
finds it and changes nothing. Guarded by the ledger's lock; never handed out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

Cell = tuple[int, str, int]  # (source index, sku, units)


class LineState(Enum):
    OPEN = "open"          # some units still reserved (maybe part shipped)
    SHIPPED = "shipped"    # every unit shipped
    RELEASED = "released"  # released (what had shipped before stays shipped)


@dataclass(frozen=True, slots=True)
class Shipment:
    """A shipment made with a ``shipment_id``, kept for its retries.

    ``source``/``qty``: what the call asked for (``None``: everything still reserved there /
    anywhere), compared with a retry's; ``shipped``: ``(cell position, units)``; ``counted``:
    the positions whose deduction a newer count already held.
    """

    source: int | None
    qty: Decimal | None
    shipped: tuple[tuple[int, int], ...]
    counted: tuple[int, ...]


@dataclass(slots=True, eq=False)
class Line:
    """One line's reservation: ``cells`` (sorted) is its identity; ``open[n]`` and
    ``shipped[n]`` are the units of ``cells[n]`` still reserved and shipped."""

    cells: tuple[Cell, ...]
    open: list[int]
    shipped: list[int]
    state: LineState = LineState.OPEN
    shipments: dict[str, Shipment] = field(default_factory=dict)

    @classmethod
    def reserved(cls, cells: tuple[Cell, ...]) -> Line:
        return cls(cells, [units for _, _, units in cells], [0] * len(cells))

    def still_reserved(self) -> tuple[Cell, ...]:
        """The cells with units still reserved, with those units."""
        return tuple(
            (i, sku, left) for (i, sku, _), left in zip(self.cells, self.open, strict=True) if left
        )

    def shipped_cells(self, picks: tuple[tuple[int, int], ...] | None = None) -> tuple[Cell, ...]:
        """``picks`` as cells; every shipped unit of the line without them."""
        if picks is None:
            picks = tuple((n, units) for n, units in enumerate(self.shipped) if units)
        return tuple((self.cells[n][0], self.cells[n][1], units) for n, units in picks)
