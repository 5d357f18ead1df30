"""Stock records applied to the ledger: their value types and the versioned cells (private).

The rules are in :mod:`oms_sourcing.inventory.stock`'s docstring; :class:`RecordsMixin` is the
part of :class:`~oms_sourcing.inventory.stock.StockLedger` that applies records. Split out of
``stock.py`` by responsibility; everything public is re-exported there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple, Protocol

from oms_sourcing.domain import MAX_DECIMALS, Catalog, from_units, to_units
from oms_sourcing.errors import InputError, QuantityError

if TYPE_CHECKING:
    from oms_sourcing.inventory.stock import _SkuEntry

#: The largest magnitude of one quantity in smallest units. Far below the int64 limit, so sums of
#: many cells and reservations can never overflow the ledger's arrays.
MAX_UNITS = 10**15

_SCALE = tuple(10**d for d in range(MAX_DECIMALS + 1))


class Version(NamedTuple):
    """When a stock record takes effect; ties broken by its id. Compared as a tuple."""

    effective_at: datetime
    record_id: str


class StockFact(Protocol):
    """What the ledger reads from a stock record (:class:`StockRecord` and feed rows have it)."""

    @property
    def source(self) -> str: ...
    @property
    def sku(self) -> str: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def effective_at(self) -> datetime: ...
    @property
    def record_id(self) -> str: ...
    @property
    def adjust(self) -> bool: ...
    @property
    def in_stock(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class StockRecord:
    """One stock fact about one (source, SKU) cell.

    ``adjust=False``: an absolute quantity on hand (``qty >= 0``); ``adjust=True``: a signed
    change. ``in_stock``: the stock status the record states; ``None`` means "not stated" (an
    absolute record then states ``in_stock``, an adjustment leaves the status as it is).
    """

    source: str
    sku: str
    qty: Decimal
    effective_at: datetime
    record_id: str
    adjust: bool = False
    in_stock: bool | None = None

    @property
    def version(self) -> Version:
        return Version(self.effective_at, self.record_id)


class RecordOutcome(StrEnum):
    """What applying a stock record did."""

    APPLIED = "APPLIED"
    STALE = "STALE"          # older than the absolute record the cell already holds: ignored
    DUPLICATE = "DUPLICATE"  # its record id was seen before: no-op


@dataclass(frozen=True, slots=True)
class RecordResult:
    """The outcome of one record; ``superseded_by`` is the newer version that made it stale."""

    record: StockFact
    outcome: RecordOutcome
    superseded_by: Version | None = None


@dataclass(frozen=True, slots=True, eq=False)
class StockUpdate:
    """What :meth:`StockLedger.apply_records` did.

    ``outcomes[n]`` is the outcome of ``records[n]``; ``superseded_by[n]`` the newer version that
    made record ``n`` stale. (Parallel tuples rather than one result object per record: feeds of
    100,000 rows should not pay for 100,000 extra objects; :attr:`results` builds them.)
    ``zeroed``: the absolute zero records the ledger made for ``zero_unlisted`` sources, for
    the SKUs it knew (none for a statement seen before).
    ``unlisted``: ``(source, sku)`` cells of the ``report_unlisted`` sources that hold stock
    records but were not in the batch.
    """

    records: tuple[StockFact, ...]
    outcomes: tuple[RecordOutcome, ...]
    superseded_by: Mapping[int, Version]
    zeroed: tuple[RecordResult, ...] = ()
    unlisted: tuple[tuple[str, str], ...] = ()

    @property
    def results(self) -> tuple[RecordResult, ...]:
        """One :class:`RecordResult` per record, in input order."""
        return tuple(
            RecordResult(rec, outcome, self.superseded_by.get(n))
            for n, (rec, outcome) in enumerate(zip(self.records, self.outcomes, strict=True))
        )


class _Cell:
    """Version history of one (source, SKU) cell."""

    __slots__ = ("adjustments", "base_units", "base_version", "status_version")

    def __init__(self) -> None:
        self.base_version: Version | None = None
        self.base_units = 0
        self.adjustments: list[tuple[Version, int]] | None = None  # newer than the base
        self.status_version: Version | None = None


def _zero_id(source: str, sku: str, tag: str) -> str:
    """The record id of the implicit 0 a NONZERO reset ``tag`` gives an unlisted SKU. (Resets
    of one source compare alike for every SKU: the ids share the prefix before the tag.)"""
    return f"{source}:{sku}:nonzero:{tag}"


def _aware(at: datetime, field: str) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError(
            f"{field} {at!r} has no time zone; add one, e.g. '+00:00'",
            field=field, value=at, expected="a timezone-aware datetime",
        )


def _scaled(qty: Decimal, decimals: int, *, field: str, where: str | None) -> int:
    units = to_units(qty, decimals)
    if abs(units) > MAX_UNITS:
        raise QuantityError(
            f"{where + ': ' if where else ''}{field} {qty} is too large "
            f"(at most {from_units(MAX_UNITS, decimals)})",
            field=field, value=qty, expected=f"at most {from_units(MAX_UNITS, decimals)}",
            where=where,
        )
    return units



class RecordsMixin:
    """Applying stock records; the ledger's state it works on is declared here."""

    _lock: threading.Lock
    _codes: tuple[str, ...]
    _index: dict[str, int]
    _catalog: Catalog
    _entries: dict[str, _SkuEntry]
    _known: list[set[str]]
    _seen_ids: set[str]
    _resets: list[tuple[datetime, str] | None]
    _seen_resets: list[set[tuple[datetime, str]]]
    _ever_out: set[str]

    if TYPE_CHECKING:
        def index(self, source: str) -> int: ...
        def _entry(self, sku: str) -> _SkuEntry: ...

    def apply_records(
        self,
        records: Sequence[StockFact],
        *,
        zero_unlisted: Mapping[str, tuple[datetime, str]] | None = None,
        report_unlisted: Iterable[str] = (),
    ) -> StockUpdate:
        """Apply stock records atomically (all are checked before any is applied).

        Args:
            records: absolute quantities and adjustments, in any order.
            zero_unlisted: ``{source: (effective_at, tag)}`` (NONZERO feeds): every
                stock-managed SKU of ``source`` absent from ``records`` for that source is 0
                at version ``(effective_at, f"{source}:{sku}:nonzero:{tag}")`` — the SKUs known
                now, and those whose first record arrives later. ``tag`` names the statement
                (the feed applies a digest of the source's rows): the same source and tag
                again is a no-op.
            report_unlisted: sources whose known SKUs absent from ``records`` are listed in the
                result, untouched (FULL feeds).

        Returns:
            A :class:`StockUpdate` with one result per record.

        Raises:
            UnknownReferenceError, QuantityError, InputError: naming the first bad record;
                nothing is applied.
        """
        zero = dict(zero_unlisted or {})
        report = sorted({self.index(s) for s in report_unlisted})
        for source, (at, _tag) in zero.items():
            self.index(source)
            _aware(at, f"zero_unlisted[{source!r}]")
        batch = tuple(records)
        positions, amounts = self._prepare(batch)

        with self._lock:
            outcomes: list[RecordOutcome] = []
            superseded: dict[int, Version] = {}
            seen = self._seen_ids
            entry_of = self._entry
            for n, rec in enumerate(batch):
                rid = rec.record_id
                if rid in seen:
                    outcomes.append(RecordOutcome.DUPLICATE)
                    continue
                seen.add(rid)
                adjust = rec.adjust
                status = rec.in_stock
                if status is None and not adjust:
                    status = True
                outcome, newer = self._apply_one(
                    entry_of(rec.sku), positions[n], Version(rec.effective_at, rid),
                    amounts[n], adjust, status,
                )
                outcomes.append(outcome)
                if newer is not None:
                    superseded[n] = newer
            zeroed: list[RecordResult] = []
            unlisted: tuple[tuple[str, str], ...] = ()
            if zero or report:
                listed: list[set[str]] = [set() for _ in self._codes]
                for i, rec in zip(positions, batch, strict=True):
                    listed[i].add(rec.sku)
                for source in sorted(zero):
                    at, tag = zero[source]
                    i = self._index[source]
                    if (at, tag) in self._seen_resets[i]:  # the same statement again: a no-op
                        continue
                    self._seen_resets[i].add((at, tag))
                    latest = self._resets[i]
                    if latest is None or (at, tag) > latest:
                        self._resets[i] = (at, tag)
                    for sku in sorted(self._known[i] - listed[i]):
                        entry = self._entries[sku]
                        if not entry.managed:
                            continue
                        record = StockRecord(
                            source, sku, Decimal(0), at, _zero_id(source, sku, tag)
                        )
                        outcome, newer = self._apply_one(
                            entry, i, record.version, 0, False, True
                        )
                        zeroed.append(RecordResult(record, outcome, newer))
                unlisted = tuple(
                    (self._codes[i], sku)
                    for i in report for sku in sorted(self._known[i] - listed[i])
                )
        return StockUpdate(
            batch, tuple(outcomes), MappingProxyType(superseded), tuple(zeroed), unlisted
        )

    def _prepare(self, records: Sequence[StockFact]) -> tuple[list[int], list[int]]:
        """Check every record; their source indexes and quantities in units (plain int lists:
        no per-record objects for the garbage collector to walk)."""
        positions: list[int] = []
        amounts: list[int] = []
        index = self._index
        decimals_of: dict[str, int] = {}
        checked_at: datetime | None = None
        for rec in records:
            i = index.get(rec.source)
            if i is None:
                i = self.index(rec.source)  # raises, with a suggestion
            sku = rec.sku
            if not isinstance(sku, str) or not sku:
                raise InputError(
                    f"record {rec.record_id!r}: sku must be a non-empty string",
                    field="sku", value=sku, expected="a non-empty string",
                )
            if not isinstance(rec.record_id, str) or not rec.record_id:
                raise InputError(
                    f"record for {rec.source}/{sku}: record_id must be a non-empty string",
                    field="record_id", value=rec.record_id, expected="a non-empty string",
                )
            at = rec.effective_at
            if at is not checked_at:  # feed rows share one datetime per distinct timestamp
                _aware(at, f"record {rec.record_id!r}: effective_at")
                checked_at = at
            decimals = decimals_of.get(sku)
            if decimals is None:
                decimals = decimals_of[sku] = self._catalog.decimals(sku)
            qty = rec.qty
            if not isinstance(qty, Decimal) or not qty.is_finite():
                where = f"record {rec.record_id!r}"
                raise QuantityError(
                    f"{where}: qty must be a finite Decimal, got {qty!r}",
                    field="qty", value=qty, expected="a finite Decimal", where=where,
                )
            if qty < 0 and not rec.adjust:
                where = f"record {rec.record_id!r}"
                raise QuantityError(
                    f"{where}: an absolute qty must not be negative, got {qty}",
                    field="qty", value=qty, expected=">= 0", where=where,
                )
            scaled = qty * _SCALE[decimals]
            units = int(scaled)
            if units != scaled:
                where = f"record {rec.record_id!r}"
                allowed = "whole units" if decimals == 0 else f"{decimals} decimal place(s)"
                raise QuantityError(
                    f"{where}: qty {qty} is more precise than SKU {sku!r} allows ({allowed})",
                    field="qty", value=qty, expected=allowed, where=where,
                )
            if units > MAX_UNITS or units < -MAX_UNITS:
                _scaled(qty, decimals, field="qty", where=f"record {rec.record_id!r}")  # raises
            positions.append(i)
            amounts.append(units)
        return positions, amounts

    def _apply_one(
        self,
        entry: _SkuEntry,
        i: int,
        version: Version,
        units: int,
        adjust: bool,
        in_stock: bool | None,
    ) -> tuple[RecordOutcome, Version | None]:
        cell = entry.cells.get(i)
        if cell is None:
            cell = entry.cells[i] = _Cell()
            self._known[i].add(entry.sku)
            reset = self._resets[i]
            if reset is not None and entry.managed:
                # a SKU first seen after a NONZERO feed of the source: that feed did not list
                # it (every listed SKU got its cell then), so it holds the feed's implicit 0
                cell.base_version = cell.status_version = Version(
                    reset[0], _zero_id(self._codes[i], entry.sku, reset[1])
                )
        base = cell.base_version
        if base is not None and version < base:
            return RecordOutcome.STALE, base
        if adjust:
            if cell.adjustments is None:
                cell.adjustments = []
            cell.adjustments.append((version, units))
            entry.on_hand[i] += units
        else:
            cell.base_version = version
            cell.base_units = units
            newer = cell.adjustments
            if newer:
                newer = cell.adjustments = [(v, d) for v, d in newer if v > version] or None
            entry.on_hand[i] = units + (sum(d for _, d in newer) if newer else 0)
        if in_stock is not None and (cell.status_version is None or version > cell.status_version):
            cell.status_version = version
            entry.in_stock[i] = in_stock
            if not in_stock:
                self._ever_out.add(entry.sku)
        entry.cached = None
        return RecordOutcome.APPLIED, None
