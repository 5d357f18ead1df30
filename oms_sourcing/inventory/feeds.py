"""Stock feeds: read CSV / JSONL stock messages and apply them to a :class:`StockLedger`.

A feed is a list of records ``source, sku, qty, mode, effective_at, record_id[, status]``:

* ``FULL``: the listed (source, SKU) cells are set; known SKUs of the source missing from the
  feed are left untouched and reported (``missing_from_full``), as MOM warns about them.
* ``NONZERO``: the listed cells are set; every stock-managed SKU of a source that has
  NONZERO rows but is missing from the feed is 0 as of the newest NONZERO row's
  ``effective_at``: the SKUs the ledger knows are set to 0 (reported as ``zeroed``), and a SKU
  whose first record arrives later starts from that 0 (its record is stale if older).
* ``DELTA``: only the listed cells are set.
* ``ADJUST``: the listed cells change by the signed ``qty``.

Header names, modes and statuses are read case-insensitively; ``status`` is ``in_stock`` (the
default for absolute rows) or ``out_of_stock``; an ADJUST row without one keeps the status.

Each record is versioned by ``(effective_at, record_id)`` (see
:mod:`oms_sourcing.inventory.stock`), and a NONZERO feed's zeros by the digest of the source's
rows, so applying a feed twice changes nothing the second time and feeds may arrive in any
order: the state is that of applying every record in ``effective_at`` order.

Bad rows are never applied silently: :func:`apply_feed` raises
:class:`~oms_sourcing.errors.FeedError` listing every bad row as ``path:line:col`` and applies
nothing, unless ``partial=True`` asks for the good rows to be applied and the bad ones reported.
Lines are physical lines of the file (the CSV header is line 1); the column is the 1-based CSV
column of the field (always 1 for JSONL).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final

from oms_sourcing._json import JsonProblem, loads
from oms_sourcing._suggest import suggest
from oms_sourcing.domain import MAX_DECIMALS, parse_quantity
from oms_sourcing.domain.quantity import MAX_DIGITS
from oms_sourcing.errors import FeedError, Problem, QuantityError
from oms_sourcing.inventory.stock import (
    MAX_UNITS,
    RecordOutcome,
    StockLedger,
    Version,
    unknown_source_message,
)

__all__ = [
    "FEED_COLUMNS",
    "REQUIRED_COLUMNS",
    "Feed",
    "FeedMode",
    "FeedReport",
    "FeedRow",
    "StaleRow",
    "apply_feed",
    "check_feed",
    "parse_feed_rows",
    "read_feed",
]

#: The fields of a feed record, in the order of a CSV header. ``status`` is optional.
FEED_COLUMNS: Final[tuple[str, ...]] = (
    "source", "sku", "qty", "mode", "effective_at", "record_id", "status",
)
REQUIRED_COLUMNS: Final[tuple[str, ...]] = FEED_COLUMNS[:6]

_SCALE = tuple(10**d for d in range(MAX_DECIMALS + 1))


class FeedMode(StrEnum):
    FULL = "FULL"
    NONZERO = "NONZERO"
    DELTA = "DELTA"
    ADJUST = "ADJUST"


_MODES: Final = {m.value: m for m in FeedMode}
_STATUSES: Final[Mapping[str, bool]] = {"in_stock": True, "out_of_stock": False}


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One valid feed record. ``line``: where it is in the file (0 for records the ledger made,
    such as the zeros of a NONZERO feed). ``in_stock``: ``None`` when the row states no status."""

    line: int
    source: str
    sku: str
    qty: Decimal
    mode: FeedMode
    effective_at: datetime
    record_id: str
    in_stock: bool | None = None

    @property
    def version(self) -> Version:
        return Version(self.effective_at, self.record_id)

    @property
    def adjust(self) -> bool:
        """True for a relative change (ADJUST); the ledger reads feed rows as stock records."""
        return self.mode is FeedMode.ADJUST


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed: its valid rows and the problems of the others, in file order.

    ``columns``: the 1-based column of each field (CSV header order; 1 for JSONL), used to place
    the problems :func:`check_feed` finds against a ledger.
    """

    path: str
    rows: tuple[FeedRow, ...]
    problems: tuple[Problem, ...] = ()
    columns: Mapping[str, int] = dataclasses.field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(FEED_COLUMNS, 1))
    )

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class StaleRow:
    """A row ignored because the cell holds a newer absolute record (``superseded_by``)."""

    row: FeedRow
    superseded_by: Version


@dataclass(frozen=True, slots=True)
class FeedReport:
    """What :func:`apply_feed` did.

    Attributes:
        applied: rows that changed the ledger.
        ignored_stale: rows older than the absolute record their cell holds.
        duplicates: rows whose record id the ledger had seen before (no-ops).
        missing_from_full: ``(source, sku)`` cells known to the ledger, of sources with FULL
            rows (and no NONZERO rows), that the feed did not list; left untouched.
        zeroed: ``(source, sku)`` cells a NONZERO feed set to 0.
        bad_rows: problems of rows not applied (only with ``partial=True``).
    """

    path: str
    applied: tuple[FeedRow, ...] = ()
    ignored_stale: tuple[StaleRow, ...] = ()
    duplicates: tuple[FeedRow, ...] = ()
    missing_from_full: tuple[tuple[str, str], ...] = ()
    zeroed: tuple[tuple[str, str], ...] = ()
    bad_rows: tuple[Problem, ...] = ()

    def summary(self) -> str:
        """One line for a log: counts of each outcome."""
        return (
            f"{self.path}: applied {len(self.applied)}, stale {len(self.ignored_stale)}, "
            f"duplicates {len(self.duplicates)}, missing from FULL {len(self.missing_from_full)},"
            f" zeroed {len(self.zeroed)}, bad rows {len(self.bad_rows)}"
        )


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _tidy(qty: Decimal) -> Decimal:
    """``5.000000`` -> ``5``, ``2.500000`` -> ``2.5`` (parse_quantity pads to six places)."""
    if qty == qty.to_integral_value():
        return qty.quantize(Decimal(1)) if qty else Decimal(0)
    return qty.normalize()


class _Parser:
    """Validates rows one at a time, collecting problems; caches what repeats (timestamps)."""

    def __init__(self, path: str, columns: Mapping[str, int]) -> None:
        self.path = path
        self.columns = columns
        self.rows: list[FeedRow] = []
        self.problems: list[Problem] = []
        self._times: dict[str, datetime | str] = {}
        self._ids: dict[str, int] = {}  # record id -> index of its first row

    def problem(self, line: int, field: str | None, message: str) -> None:
        col = self.columns.get(field, 1) if field else 1
        self.problems.append(Problem(self.path, line, col, message))

    def _text(self, line: int, field: str, value: object) -> str | None:
        if value is None or value == "":
            self.problem(line, field, f"missing value for {field!r}")
            return None
        if not isinstance(value, str):
            self.problem(line, field, f"{field} must be a string, got {value!r}")
            return None
        text = value.strip()
        if not text:
            self.problem(line, field, f"missing value for {field!r}")
            return None
        return text

    def _time(self, line: int, value: object) -> datetime | None:
        if not isinstance(value, str) or not value.strip():
            if value is None or value == "" or isinstance(value, str):
                self.problem(line, "effective_at", "missing value for 'effective_at'")
            else:
                self.problem(
                    line, "effective_at", f"effective_at must be an ISO-8601 string, got {value!r}"
                )
            return None
        found = self._times.get(value)
        if found is None:
            try:
                at = datetime.fromisoformat(value.strip())
            except ValueError:
                found = (
                    f"effective_at {value!r} is not an ISO-8601 timestamp; "
                    "write e.g. 2026-11-01T10:00:00+00:00"
                )
            else:
                if at.tzinfo is None or at.utcoffset() is None:
                    found = (
                        f"effective_at {value!r} has no time zone; add one, e.g. '+00:00' or 'Z'"
                    )
                else:
                    found = at
            self._times[value] = found
        if isinstance(found, str):
            self.problem(line, "effective_at", found)
            return None
        return found

    def row(
        self,
        line: int,
        source: object,
        sku: object,
        qty: object,
        mode: object,
        effective_at: object,
        record_id: object,
        status: object,
    ) -> None:
        before = len(self.problems)
        src = self._text(line, "source", source)
        code = self._text(line, "sku", sku)

        kind: FeedMode | None = None
        mode_text = self._text(line, "mode", mode)
        if mode_text is not None:
            kind = _MODES.get(mode_text.upper())
            if kind is None:
                hint = suggest(mode_text.upper(), list(_MODES))
                self.problem(
                    line, "mode",
                    f"unknown mode {mode_text!r}"
                    + (f"; did you mean {hint!r}?" if hint else "")
                    + f" (expected one of {', '.join(_MODES)})",
                )

        amount: Decimal | None = None
        if qty is None or (isinstance(qty, str) and not qty.strip()):
            self.problem(line, "qty", "missing value for 'qty'")
        elif isinstance(qty, str) and qty.isascii() and qty.isdigit() and len(qty) <= MAX_DIGITS:
            amount = Decimal(qty)  # the common case: a plain count, no sign, no point
        else:
            try:
                amount = _tidy(parse_quantity(
                    qty, decimals=MAX_DECIMALS, positive=False,
                    allow_negative=kind is FeedMode.ADJUST,
                ))
            except QuantityError as err:
                message = str(err)
                if kind is not FeedMode.ADJUST and "negative" in message:
                    message += " (only ADJUST rows may be negative)"
                self.problem(line, "qty", message)

        at = self._time(line, effective_at)
        rid = self._text(line, "record_id", record_id)

        in_stock: bool | None = None
        if status is not None and status != "":
            if not isinstance(status, str):
                self.problem(line, "status", f"status must be a string, got {status!r}")
            else:
                key = status.strip().lower()
                if key:
                    found = _STATUSES.get(key)
                    if found is None:
                        hint = suggest(key, list(_STATUSES))
                        self.problem(
                            line, "status",
                            f"unknown status {status!r}"
                            + (f"; did you mean {hint!r}?" if hint else "")
                            + " (expected in_stock or out_of_stock)",
                        )
                    in_stock = found

        if (
            len(self.problems) != before
            or src is None or code is None or kind is None
            or amount is None or at is None or rid is None
        ):
            return
        row = FeedRow(line, src, code, amount, kind, at, rid, in_stock)
        first = self._ids.get(rid)
        if first is None:
            self._ids[rid] = len(self.rows)
        else:
            earlier = self.rows[first]
            if (earlier.source, earlier.sku, earlier.qty, earlier.mode, earlier.effective_at,
                    earlier.in_stock) != (src, code, amount, kind, at, in_stock):
                self.problem(
                    line, "record_id",
                    f"record_id {rid!r} was already used on line {earlier.line} for a "
                    "different record; record ids must be unique",
                )
                return
        self.rows.append(row)

    def feed(self) -> Feed:
        self.problems.sort(key=lambda p: (p.line, p.column))
        return Feed(
            self.path, tuple(self.rows), tuple(self.problems), MappingProxyType(dict(self.columns))
        )


#: Names other systems use for feed columns, for the "did you mean" of an unknown column.
_ALIASES: Final[Mapping[str, str]] = {
    "quantity": "qty", "quantity_on_hand": "qty", "on_hand": "qty", "source_code": "source",
    "warehouse": "source", "location": "source", "timestamp": "effective_at",
    "effective_date": "effective_at", "id": "record_id", "stock_status": "status",
}


def _unknown_key_message(key: str, what: str) -> str:
    hint = _ALIASES.get(key.lower()) or suggest(key, list(FEED_COLUMNS))
    if hint is not None:
        return f"unknown {what} {key!r}; did you mean {hint!r}?"
    return f"unknown {what} {key!r} (allowed: {', '.join(FEED_COLUMNS)})"


def _csv_problem(path: str, line: int, err: csv.Error) -> Problem:
    # a field over the csv module's limit (131,072 characters), most often a quote that is never
    # closed and swallows the rest of the file; nothing after it can be read
    what = (
        f"a field longer than {csv.field_size_limit():,} characters"
        if "field limit" in str(err) else f"unreadable CSV ({err})"
    )
    return Problem(path, line, 1, f"{what}; is a quote (\") left open? Nothing after it was read")


def _parse_csv(lines: Iterable[str], path: str) -> Feed:
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        problem = Problem(path, 1, 1, f"empty feed; the first line must be the header "
                                      f"{','.join(REQUIRED_COLUMNS)}[,status]")
        return Feed(path, (), (problem,))
    except csv.Error as err:
        return Feed(path, (), (_csv_problem(path, 1, err),))
    names = [h.strip().lower() for h in header]
    header_problems: list[Problem] = []
    columns: dict[str, int] = {}
    for col, name in enumerate(names, 1):
        if name in columns:
            header_problems.append(
                Problem(path, 1, col, f"column {name!r} appears twice (also column "
                                      f"{columns[name]})")
            )
        elif name not in FEED_COLUMNS:
            header_problems.append(Problem(path, 1, col, _unknown_key_message(name, "column")))
        else:
            columns[name] = col
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        header_problems.append(
            Problem(path, 1, 1, f"missing column(s) {', '.join(missing)}; the header must name "
                                f"{','.join(REQUIRED_COLUMNS)}[,status]")
        )
        return Feed(path, (), tuple(sorted(header_problems, key=lambda p: p.column)))

    parser = _Parser(path, columns)
    parser.problems.extend(header_problems)
    pos = [columns[c] - 1 for c in REQUIRED_COLUMNS]
    status_pos = columns.get("status", 0) - 1
    width = len(names)
    i_src, i_sku, i_qty, i_mode, i_at, i_id = pos
    last = reader.line_num
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            parser.problems.append(_csv_problem(path, last + 1, err))
            break
        line = last + 1  # a quoted field may span lines: report where the record starts
        last = reader.line_num
        n = len(fields)
        if n == 0:
            continue
        if n != width:
            if n > width:
                parser.problems.append(Problem(
                    path, line, width + 1,
                    f"row has {n} fields but the header has {width}",
                ))
                continue
            fields = fields + [""] * (width - n)
        parser.row(
            line, fields[i_src], fields[i_sku], fields[i_qty], fields[i_mode], fields[i_at],
            fields[i_id], fields[status_pos] if status_pos >= 0 else None,
        )
    return parser.feed()


def _parse_objects(items: Iterable[tuple[int, object]], path: str) -> Feed:
    parser = _Parser(path, dict.fromkeys(FEED_COLUMNS, 1))
    allowed = frozenset(FEED_COLUMNS)
    for line, item in items:
        if not isinstance(item, Mapping):
            parser.problem(line, None, f"a feed record must be an object, got {item!r:.60}")
            continue
        bad = False
        for key in item:
            if key not in allowed:
                parser.problem(line, None, _unknown_key_message(str(key), "field"))
                bad = True
        for key in REQUIRED_COLUMNS:
            if key not in item:
                parser.problem(line, None, f"missing field {key!r}")
                bad = True
        if bad:
            continue
        parser.row(
            line, item["source"], item["sku"], item["qty"], item["mode"], item["effective_at"],
            item["record_id"], item.get("status"),
        )
    return parser.feed()


def _jsonl_items(lines: Iterable[str], path: str, problems: list[Problem]) -> Iterable[
    tuple[int, object]
]:
    for line, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            yield line, loads(text, unit="line")
        except JsonProblem as err:
            problems.append(Problem(path, line, 1, f"{err.message} (at character {err.pos + 1})"))


def parse_feed_rows(rows: Iterable[Mapping[str, object]], path: str = "<rows>") -> Feed:
    """Validate in-memory records (mappings with the keys of :data:`FEED_COLUMNS`).

    Row ``n`` (1-based) is reported as line ``n``, column 1.
    """
    return _parse_objects(enumerate(rows, 1), path)


def read_feed(path: str | os.PathLike[str]) -> Feed:
    """Read a stock feed: ``.csv`` (with a header) or ``.jsonl`` / ``.ndjson``.

    Problems of single rows are collected in :attr:`Feed.problems`, not raised; they stop
    :func:`apply_feed` (or are skipped with ``partial=True``).

    Raises:
        FeedError: the file cannot be read, is not UTF-8, or has an unknown suffix.
    """
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise FeedError(
            [Problem(name, 0, 0, f"unknown feed format {suffix or '(no suffix)'!r}; "
                                 "use .csv, .jsonl or .ndjson")]
        )
    try:
        with open(name, encoding="utf-8-sig", newline="") as handle:
            if suffix == ".csv":
                return _parse_csv(handle, name)
            problems: list[Problem] = []
            feed = _parse_objects(_jsonl_items(handle, name, problems), name)
    except UnicodeDecodeError as err:
        raise FeedError([Problem(name, 0, 0, f"not UTF-8 text: {err.reason}")]) from err
    except OSError as err:
        raise FeedError([Problem(name, 0, 0, f"cannot read feed: {err.strerror}")]) from err
    if problems:
        merged = sorted((*feed.problems, *problems), key=lambda p: (p.line, p.column))
        feed = Feed(feed.path, feed.rows, tuple(merged), feed.columns)
    return feed


# --------------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------------


def _context_problems(ledger: StockLedger, feed: Feed) -> tuple[list[Problem], set[int]]:
    """Problems that need the ledger: unknown sources and quantities too precise for the SKU."""
    problems: list[Problem] = []
    bad: set[int] = set()
    codes = ledger.source_codes
    known = frozenset(codes)
    catalog = ledger.catalog
    unknown: dict[str, str] = {}
    decimals_of: dict[str, int] = {}
    src_col = feed.columns.get("source", 1)
    qty_col = feed.columns.get("qty", 1)
    for n, row in enumerate(feed.rows):
        if row.source not in known:
            message = unknown.get(row.source)
            if message is None:
                message = unknown[row.source] = unknown_source_message(row.source, codes)
            problems.append(Problem(feed.path, row.line, src_col, message))
            bad.add(n)
        decimals = decimals_of.get(row.sku)
        if decimals is None:
            decimals = decimals_of[row.sku] = catalog.decimals(row.sku)
        scaled = row.qty * _SCALE[decimals]
        units = int(scaled)
        if units != scaled:
            allowed = "whole units" if decimals == 0 else f"at most {decimals} decimal place(s)"
            problems.append(Problem(
                feed.path, row.line, qty_col,
                f"qty {row.qty} is too precise for SKU {row.sku!r}, which allows {allowed}; "
                "round it or raise the SKU's decimal_qty in the catalog",
            ))
            bad.add(n)
        elif abs(units) > MAX_UNITS:
            problems.append(Problem(
                feed.path, row.line, qty_col, f"qty {row.qty} is too large for one record"
            ))
            bad.add(n)
    return problems, bad


def check_feed(ledger: StockLedger, feed: Feed) -> tuple[Problem, ...]:
    """Every problem :func:`apply_feed` would refuse, in file order, without applying anything."""
    problems, _ = _context_problems(ledger, feed)
    return tuple(sorted((*feed.problems, *problems), key=lambda p: (p.line, p.column)))


def _digest(rows: Sequence[FeedRow]) -> str:
    """The identity of a NONZERO statement: a digest of the set of one source's rows, so the
    same rows sent again, in any order, are the same statement (and a no-op)."""
    h = hashlib.sha256()
    for line in sorted(
        f"{r.source}\t{r.sku}\t{r.qty}\t{r.mode.value}\t{r.effective_at.isoformat()}\t"
        f"{r.record_id}\t{r.in_stock}\n" for r in rows
    ):
        h.update(line.encode())
    return h.hexdigest()[:16]


def apply_feed(ledger: StockLedger, feed: Feed, *, partial: bool = False) -> FeedReport:
    """Apply a parsed feed to ``ledger``.

    Args:
        ledger: the ledger to update.
        feed: from :func:`read_feed` or :func:`parse_feed_rows`.
        partial: apply the good rows even if some are bad, and report the bad ones.

    Returns:
        A :class:`FeedReport`.

    Raises:
        FeedError: with every problem found, when a row is bad and ``partial`` is false; nothing
            is applied.
    """
    context, bad = _context_problems(ledger, feed)
    problems = tuple(sorted((*feed.problems, *context), key=lambda p: (p.line, p.column)))
    if problems and not partial:
        raise FeedError(problems, path=feed.path)
    rows = [r for n, r in enumerate(feed.rows) if n not in bad] if bad else list(feed.rows)

    zero_at: dict[str, datetime] = {}
    full_sources: set[str] = set()
    for r in rows:
        if r.mode is FeedMode.NONZERO:
            at = zero_at.get(r.source)
            if at is None or r.effective_at > at:
                zero_at[r.source] = r.effective_at
        elif r.mode is FeedMode.FULL:
            full_sources.add(r.source)
    of_source: dict[str, list[FeedRow]] = {source: [] for source in zero_at}
    if zero_at:
        for r in rows:
            if r.source in of_source:
                of_source[r.source].append(r)
    update = ledger.apply_records(
        rows,
        zero_unlisted={
            source: (at, _digest(of_source[source])) for source, at in zero_at.items()
        },
        # a source with NONZERO rows has its unlisted SKUs zeroed, so they are not "untouched"
        report_unlisted=full_sources - zero_at.keys(),
    )

    applied: list[FeedRow] = []
    stale: list[StaleRow] = []
    duplicates: list[FeedRow] = []
    superseded = update.superseded_by
    for n, (row, outcome) in enumerate(zip(rows, update.outcomes, strict=True)):
        if outcome is RecordOutcome.APPLIED:
            applied.append(row)
        elif outcome is RecordOutcome.DUPLICATE:
            duplicates.append(row)
        else:
            stale.append(StaleRow(row, superseded[n]))
    zeroed: list[tuple[str, str]] = []
    for result in update.zeroed:
        rec = result.record
        if result.outcome is RecordOutcome.APPLIED:
            zeroed.append((rec.source, rec.sku))
        elif result.outcome is RecordOutcome.STALE and result.superseded_by is not None:
            made = FeedRow(
                0, rec.source, rec.sku, rec.qty, FeedMode.NONZERO, rec.effective_at,
                rec.record_id, rec.in_stock,
            )
            stale.append(StaleRow(made, result.superseded_by))
    return FeedReport(
        feed.path, tuple(applied), tuple(stale), tuple(duplicates), update.unlisted,
        tuple(zeroed), problems,
    )
