"""``SqlStock``: the :class:`~oms_sourcing.inventory.stock.StockLedger` interface over SQL.

The database is the truth. Each call loads the few rows it touches (cells, lines, sources) into
a fresh ``StockLedger``, runs the call there — so versions, NONZERO statements, closed lines and
every answer follow the in-memory ledger's rules exactly — and writes back what changed:

* **reservations** add to a cell's ``reserved`` with a *guarded* update: the cell's available
  quantity is checked in the same statement,
  ``UPDATE stock_cells SET reserved = reserved + :q WHERE ... AND
  effective_on_hand - reserved - safety - :q >= :floor``, and the row count checked. A guard
  that fails (another transaction took the stock since the cells were read) undoes the call and
  runs it again on fresh rows; from the third attempt on it reads the cells ``FOR UPDATE``, so
  its answer — reserved, or ``INSUFFICIENT`` with the checks that fell short — is then exact.
  All lines of an order are reserved in one transaction, or none.

  On PostgreSQL, READ COMMITTED is enough for this: an ``UPDATE`` locks the row it changes and,
  when another transaction changed it first, waits for that one to end and evaluates its
  ``WHERE`` again on the newest committed row. Two transactions can therefore never both pass
  the guard for the last unit, whatever they read before. A new line's key is unique in
  ``reservation_lines``: the second of two concurrent reservations of one line waits for the
  first and is then run again, and finds the line reserved (one reservation per line).
* **stock records and shipments** rewrite a cell's on hand and version history from what was
  read, so they lock what they read: the rows of their sources (``stock_sources``; feeds and
  shipments of one source take turns) and of their cells (``SELECT ... FOR UPDATE``, rows made
  first where missing). They never write ``reserved`` but as a difference, so they do not undo a
  concurrent reservation.
* On SQLite every writing transaction begins ``BEGIN IMMEDIATE`` (see
  :mod:`oms_sourcing.store.engine`): writers take turns on the whole file.

Two ways to use it: ``SqlStock(connection, codes, catalog)`` joins the caller's transaction (a
unit of work commits it; each call runs in a savepoint, so a call that raises or retries leaves
the rest of the transaction alone), and :meth:`SqlStock.open` runs each call in a transaction of
its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import BigInteger, Connection, Engine, bindparam, case, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from oms_sourcing.domain import Catalog
from oms_sourcing.errors import OmsSourcingError
from oms_sourcing.inventory._state import (
    CellState,
    LineRecord,
    StockState,
    cells_of,
    lines_of,
)
from oms_sourcing.inventory.stock import (
    OrderReserveResult,
    ReleaseResult,
    Reservation,
    ReserveResult,
    SalableQty,
    ShipResult,
    StockFact,
    StockLedger,
    StockSnapshot,
    StockUpdate,
)
from oms_sourcing.store._rows import (
    cell_from_row,
    empty_cell_row,
    line_from_rows,
    record_columns,
    shipments_json,
)
from oms_sourcing.store.engine import READ_ONLY, create_store_engine
from oms_sourcing.store.schema import (
    reservation_cells,
    reservation_lines,
    stock_cells,
    stock_record_ids,
    stock_sources,
    stock_statements,
)

if TYPE_CHECKING:
    from oms_sourcing.inventory.feeds import Feed, FeedReport

T = TypeVar("T")
Key = tuple[str, str]

#: Attempts of one call; from ``_LOCK_FROM`` on, a reservation reads its cells FOR UPDATE.
_ATTEMPTS = 8
_LOCK_FROM = 2
_CHUNK = 500  # values per IN (...) list
#: PostgreSQL's deadlock and serialisation failures: the transaction is run again.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


# The hot path's statements, built once (SQLAlchemy then only looks up their compiled form).
_C = stock_cells.c
_CELL = (_C.source == bindparam("s")) & (_C.sku == bindparam("k"))
#: what the cell can still promise: on hand (at most 0 where out of stock) - reserved - safety
_AVAILABLE = case((or_(_C.in_stock, _C.on_hand < 0), _C.on_hand), else_=0) - _C.reserved - _C.safety
_ADD_RESERVED = update(stock_cells).where(_CELL).values(
    reserved=_C.reserved + bindparam("d", type_=BigInteger))
#: the guarded reservation: the stock is checked in the statement that takes it
_RESERVE_GUARDED = _ADD_RESERVED.where(
    _AVAILABLE - bindparam("d", type_=BigInteger) >= bindparam("floor", type_=BigInteger))
_RECORD_COLUMNS = ("on_hand", "in_stock", "known", "base_at", "base_id", "base_units",
                   "adjustments", "status_at", "status_id")
_SET_RECORDS = update(stock_cells).where(_CELL).values(
    {name: bindparam(f"v_{name}") for name in _RECORD_COLUMNS})
_SET_SAFETY = update(stock_cells).where(_CELL).values(safety=bindparam("v_safety"))
_SELECT_CELLS = (select(stock_cells)
                 .where(_C.sku.in_(bindparam("skus", expanding=True)),
                        _C.source.in_(bindparam("sources", expanding=True)))
                 .order_by(_C.source, _C.sku))
_SELECT_CELLS_LOCKED = _SELECT_CELLS.with_for_update()
_SELECT_LINES = (select(reservation_lines)
                 .where(reservation_lines.c.order_id.in_(bindparam("orders", expanding=True)))
                 .order_by(reservation_lines.c.id))
_SELECT_LINES_LOCKED = _SELECT_LINES.with_for_update()
_SELECT_LINE_CELLS = select(reservation_cells).where(
    reservation_cells.c.line.in_(bindparam("ids", expanding=True)))

#: a new line, per dialect (INSERT ... ON CONFLICT DO NOTHING RETURNING id), and its cells
_NEW_LINE: dict[str, Any] = {}
_NEW_LINE_CELLS = insert(reservation_cells)
_SET_LINE = update(reservation_lines).where(reservation_lines.c.id == bindparam("row")).values(
    state=bindparam("v_state"), shipments=bindparam("v_shipments"))
_SET_LINE_CELL = (
    update(reservation_cells)
    .where(reservation_cells.c.line == bindparam("row"),
           reservation_cells.c.source == bindparam("s"), reservation_cells.c.sku == bindparam("k"))
    .values(open=bindparam("v_open"), shipped=bindparam("v_shipped"))
)


class StoreBusyError(OmsSourcingError):
    """A call found its rows changed under it on every attempt (extreme contention)."""


class _Retry(Exception):
    """A guard failed or a concurrent transaction made the same row first: run the call again."""


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


class SqlStock:
    """Stock of a set of sources, kept in a SQLite or PostgreSQL database.

    The same interface as :class:`~oms_sourcing.inventory.stock.StockLedger` (the same
    arguments, answers and errors): ``snapshot``, ``reserve`` / ``reserve_order``,
    ``release``, ``ship``, ``apply_records`` / :meth:`apply_feed`, ``reservation(s)``,
    ``salable_detail``, ``on_hand`` / ``reserved`` / ``available`` ...

    Args:
        connection: a connection of an engine from
            :func:`~oms_sourcing.store.engine.create_store_engine`, in a transaction the caller
            commits; each call runs in a savepoint of it.
        source_codes, catalog: as for ``StockLedger``; every process sharing a database must
            use the same catalog (quantities are stored in the SKU's smallest units).
    """

    def __init__(
        self, connection: Connection, source_codes: Sequence[str], catalog: Catalog | None = None
    ) -> None:
        self._probe = StockLedger(source_codes, catalog)  # validates the codes
        self._codes = self._probe.source_codes
        self._catalog = self._probe.catalog
        self._conn: Connection | None = connection
        self._engine: Engine | None = None
        self._owned = False

    @classmethod
    def open(
        cls, store: str | Engine, source_codes: Sequence[str], catalog: Catalog | None = None
    ) -> SqlStock:
        """A ``SqlStock`` that runs each call in a transaction of its own.

        Args:
            store: a URL (``sqlite:///path.db``, ``postgresql+psycopg://...``; the schema is
                migrated on first use) or an engine from ``create_store_engine``.
        """
        engine = create_store_engine(store) if isinstance(store, str) else store
        self = cls.__new__(cls)
        self._probe = StockLedger(source_codes, catalog)
        self._codes = self._probe.source_codes
        self._catalog = self._probe.catalog
        self._conn = None
        self._engine = engine
        self._owned = isinstance(store, str)
        return self

    def close(self) -> None:
        """Close the connections of the engine :meth:`open` made from a URL (an engine or a
        connection passed in is the caller's to close)."""
        if self._owned and self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> SqlStock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- plumbing

    @property
    def source_codes(self) -> tuple[str, ...]:
        return self._codes

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def index(self, source: str) -> int:
        """As :meth:`StockLedger.index`."""
        return self._probe.index(source)

    def _ledger(self, state: StockState) -> StockLedger:
        ledger = StockLedger(self._codes, self._catalog)
        ledger.import_state(state)
        return ledger

    def _own_engine(self) -> Engine:
        """The engine of a store opened with :meth:`open` (one transaction per call)."""
        if self._engine is None:  # a store on a connection has no engine of its own
            raise RuntimeError("internal error: SqlStock has neither a connection nor an engine")
        return self._engine

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
            return
        with self._own_engine().connect() as conn:
            options: dict[str, Any] = {READ_ONLY: True}
            if conn.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"  # one view over every query
            conn.execution_options(**options)
            with conn.begin():
                yield conn

    def _writing(self, op: Callable[[Connection, bool], T]) -> T:
        """Run ``op(connection, lock)`` in a savepoint or a transaction of its own, again when
        it asks (``_Retry``), a key it inserts was made concurrently, or PostgreSQL chose it as
        a deadlock's victim; ``lock``: from the third attempt on, lock what it reads."""
        for attempt in range(_ATTEMPTS):
            lock = attempt >= _LOCK_FROM
            try:
                if self._conn is not None:
                    with self._conn.begin_nested():
                        return op(self._conn, lock)
                with self._own_engine().begin() as conn:
                    return op(conn, lock)
            except (_Retry, IntegrityError):
                continue
            except DBAPIError as err:
                if getattr(err.orig, "sqlstate", None) not in _RETRY_SQLSTATES:
                    raise
        raise StoreBusyError(
            f"the stock rows of this call changed under it {_ATTEMPTS} times in a row; "
            "try again (the call changed nothing)"
        )

    def _insert(self, conn: Connection) -> Any:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert

    # ---------------------------------------------------------------- loading

    def _select_cells(
        self, conn: Connection, keys: Iterable[Key], *, lock: bool
    ) -> dict[Key, CellState]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        if lock:  # rows first, so there is a row to lock
            conn.execute(
                self._insert(conn)(stock_cells).on_conflict_do_nothing(),
                [empty_cell_row(source, sku) for source, sku in wanted],
            )
        skus = sorted({sku for _, sku in wanted})
        sources = sorted({source for source, _ in wanted})
        if len(sources) >= _CHUNK:  # pragma: no cover - more sources than an IN list holds
            sources = list(self._codes)
        found: dict[Key, CellState] = {}
        query = _SELECT_CELLS_LOCKED if lock else _SELECT_CELLS
        for part in _chunks(skus):
            for row in conn.execute(query, {"skus": list(part), "sources": sources}).mappings():
                found[(row["source"], row["sku"])] = cell_from_row(row)
        chosen = set(wanted)
        return {key: cell for key, cell in found.items() if key in chosen}

    def _select_known(
        self, conn: Connection, sources: Iterable[str], *, lock: bool
    ) -> dict[Key, CellState]:
        codes = sorted(set(sources))
        if not codes:
            return {}
        query = (select(stock_cells)
                 .where(stock_cells.c.source.in_(codes), stock_cells.c.known)
                 .order_by(stock_cells.c.source, stock_cells.c.sku))
        if lock:
            query = query.with_for_update()
        return {(r["source"], r["sku"]): cell_from_row(r) for r in conn.execute(query).mappings()}

    def _lock_sources(
        self, conn: Connection, sources: Iterable[str]
    ) -> dict[str, tuple[datetime, str]]:
        codes = sorted(set(sources))
        if not codes:
            return {}
        conn.execute(
            self._insert(conn)(stock_sources).on_conflict_do_nothing(),
            [{"source": s, "reset_at": None, "reset_tag": None} for s in codes],
        )
        query = (select(stock_sources).where(stock_sources.c.source.in_(codes))
                 .order_by(stock_sources.c.source).with_for_update())
        return {
            r["source"]: (datetime.fromisoformat(r["reset_at"]), r["reset_tag"])
            for r in conn.execute(query).mappings() if r["reset_at"] is not None
        }

    def _select_lines(
        self, conn: Connection, keys: Iterable[Key] | None, *, lock: bool = False,
        open_only: bool = False,
    ) -> dict[Key, tuple[int, LineRecord]]:
        """Lines by key with their row ids, in the order they were made; ``keys=None``: all."""
        chosen: set[Key] | None = None
        if keys is None:
            query = select(reservation_lines).order_by(reservation_lines.c.id)
            if open_only:
                query = query.where(reservation_lines.c.state == "open")
            found = list(conn.execute(query).mappings())
        else:
            chosen = set(keys)
            orders = sorted({o for o, _ in chosen})
            found = []
            for part in _chunks(orders):
                found.extend(conn.execute(_SELECT_LINES_LOCKED if lock else _SELECT_LINES,
                                          {"orders": list(part)}).mappings())
            found.sort(key=lambda r: int(r["id"]))
        rows = [r for r in found if chosen is None or (r["order_id"], r["line_id"]) in chosen]
        cells: dict[int, list[Mapping[Any, Any]]] = {r["id"]: [] for r in rows}
        ids = sorted(cells)
        for some in _chunks(ids):
            for c in conn.execute(_SELECT_LINE_CELLS, {"ids": list(some)}).mappings():
                cells[c["line"]].append(c)
        return {
            (r["order_id"], r["line_id"]): (r["id"], line_from_rows(r, cells[r["id"]]))
            for r in rows
        }

    # ---------------------------------------------------------------- writing back

    def _write_back(
        self, conn: Connection, before: StockState, ledger: StockLedger,
        line_ids: Mapping[Key, int], present: set[Key],
    ) -> None:
        """Write what ``ledger`` changed since it held ``before``; ``present``: the cells that
        have a row. Raises ``_Retry`` when a guard fails or a new line's key was taken."""
        after = ledger.export_state()
        old_lines = lines_of(before)
        new_lines: list[LineRecord] = []
        for key, line in lines_of(after).items():
            old = old_lines.get(key)
            if old == line:
                continue
            if old is None:
                new_lines.append(line)
            else:
                self._update_line(conn, line_ids[key], line)
        if new_lines:
            self._insert_lines(conn, new_lines)
        old_cells = cells_of(before)
        new_cells = cells_of(after)
        floors: dict[str, int | None] = {}
        guarded: list[dict[str, Any]] = []
        plain: list[dict[str, Any]] = []
        for key in sorted(old_cells.keys() | new_cells.keys()):
            b = old_cells.get(key) or CellState(*key)
            a = new_cells.get(key) or CellState(*key)
            if a == b:
                continue
            records, old_records = record_columns(a), record_columns(b)
            delta = a.reserved - b.reserved
            if records == old_records and a.safety == b.safety and not delta:
                continue
            where = {"s": key[0], "k": key[1]}
            if key not in present:
                conn.execute(self._insert(conn)(stock_cells).on_conflict_do_nothing(),
                             [empty_cell_row(*key)])
            if records != old_records:
                conn.execute(_SET_RECORDS, {**where, **{f"v_{k}": v for k, v in records.items()}})
            if a.safety != b.safety:
                conn.execute(_SET_SAFETY, {**where, "v_safety": a.safety})
            if delta:
                sku = key[1]
                if sku not in floors:
                    floors[sku] = ledger.snapshot([sku])[sku].backorder_floor
                floor = floors[sku]
                if delta > 0 and floor is not None:  # the guard (see the module docstring)
                    guarded.append({**where, "d": delta, "floor": floor})
                else:
                    plain.append({**where, "d": delta})
        # one statement each, executed for every cell; a cell whose guard fails matches no row
        for statement, params in ((_RESERVE_GUARDED, guarded), (_ADD_RESERVED, plain)):
            if params and conn.execute(statement, params).rowcount != len(params):
                raise _Retry
        new_ids = sorted(after.record_ids - before.record_ids)
        for part in _chunks(new_ids):
            conn.execute(insert(stock_record_ids), [{"record_id": rid} for rid in part])
        for source, (at, tag) in after.resets.items():
            if before.resets.get(source) != (at, tag):
                conn.execute(
                    update(stock_sources).where(stock_sources.c.source == source)
                    .values(reset_at=at.isoformat(), reset_tag=tag)
                )
        statements = sorted(after.statements - before.statements)
        if statements:
            conn.execute(insert(stock_statements), [
                {"source": s, "effective_at": at.isoformat(), "tag": tag}
                for s, at, tag in statements
            ])

    def _insert_lines(self, conn: Connection, lines: Sequence[LineRecord]) -> None:
        """New lines (one statement) and their cells (one more)."""
        statement = _NEW_LINE.get(conn.dialect.name)
        if statement is None:
            statement = _NEW_LINE[conn.dialect.name] = (
                self._insert(conn)(reservation_lines)
                .on_conflict_do_nothing(index_elements=["order_id", "line_id"])
                .returning(reservation_lines.c.id, reservation_lines.c.order_id,
                           reservation_lines.c.line_id)
            )
        made = {(o, line): int(i) for i, o, line in conn.execute(statement, [
            {"order_id": line.order_id, "line_id": line.line_id, "state": line.state,
             "shipments": shipments_json(line.shipments)}
            for line in lines
        ])}
        if len(made) != len(lines):  # a concurrent call reserved one of them first
            raise _Retry
        conn.execute(_NEW_LINE_CELLS, [
            {"line": made[(line.order_id, line.line_id)], "source": c.source, "sku": c.sku,
             "units": c.units, "open": c.open, "shipped": c.shipped}
            for line in lines for c in line.cells
        ])

    def _update_line(self, conn: Connection, row_id: int, line: LineRecord) -> None:
        conn.execute(_SET_LINE, {"row": row_id, "v_state": line.state,
                                 "v_shipments": shipments_json(line.shipments)})
        conn.execute(_SET_LINE_CELL, [
            {"row": row_id, "s": c.source, "k": c.sku, "v_open": c.open, "v_shipped": c.shipped}
            for c in line.cells
        ])

    # ---------------------------------------------------------------- reads

    def _cells_ledger(self, keys: Iterable[Key]) -> StockLedger:
        with self._reading() as conn:
            cells = self._select_cells(conn, keys, lock=False)
        return self._ledger(StockState(tuple(cells.values())))

    def on_hand(self, source: str, sku: str) -> Decimal:
        """As :meth:`StockLedger.on_hand`."""
        self.index(source)
        return self._cells_ledger([(source, sku)]).on_hand(source, sku)

    def reserved(self, source: str, sku: str) -> Decimal:
        """As :meth:`StockLedger.reserved`."""
        self.index(source)
        return self._cells_ledger([(source, sku)]).reserved(source, sku)

    def safety_stock(self, source: str, sku: str) -> Decimal:
        """As :meth:`StockLedger.safety_stock`."""
        self.index(source)
        return self._cells_ledger([(source, sku)]).safety_stock(source, sku)

    def in_stock(self, source: str, sku: str) -> bool:
        """As :meth:`StockLedger.in_stock`."""
        self.index(source)
        return self._cells_ledger([(source, sku)]).in_stock(source, sku)

    def available(self, source: str, sku: str) -> Decimal:
        """As :meth:`StockLedger.available`."""
        self.index(source)
        return self._cells_ledger([(source, sku)]).available(source, sku)

    def snapshot(self, skus: Iterable[str]) -> StockSnapshot:
        """As :meth:`StockLedger.snapshot`: the cells of ``skus``, read in one transaction."""
        wanted = list(skus)
        ledger = self._cells_ledger((code, sku) for sku in set(wanted) for code in self._codes)
        return ledger.snapshot(wanted)

    def salable_detail(
        self, sku: str, sources: Iterable[str], threshold: Decimal = Decimal(0)
    ) -> SalableQty:
        """As :meth:`StockLedger.salable_detail`."""
        codes = list(sources)
        for code in codes:
            self.index(code)
        return self._cells_ledger((code, sku) for code in codes).salable_detail(
            sku, codes, threshold
        )

    def salable(self, sku: str, sources: Iterable[str], threshold: Decimal = Decimal(0)) -> Decimal:
        """As :meth:`StockLedger.salable`."""
        return self.salable_detail(sku, sources, threshold).qty

    def known_skus(self, source: str) -> tuple[str, ...]:
        """As :meth:`StockLedger.known_skus`."""
        self.index(source)
        with self._reading() as conn:
            return tuple(conn.execute(
                select(stock_cells.c.sku)
                .where(stock_cells.c.source == source, stock_cells.c.known)
                .order_by(stock_cells.c.sku)
            ).scalars())

    def reservation(self, order_id: str, line_id: str) -> Reservation | None:
        """As :meth:`StockLedger.reservation`."""
        with self._reading() as conn:
            found = self._select_lines(conn, [(order_id, line_id)])
        ledger = self._ledger(StockState(lines=tuple(rec for _, rec in found.values())))
        return ledger.reservation(order_id, line_id)

    def reservations(self) -> tuple[Reservation, ...]:
        """As :meth:`StockLedger.reservations`: every open reservation, in the order made."""
        with self._reading() as conn:
            found = self._select_lines(conn, None, open_only=True)
        return self._ledger(StockState(lines=tuple(r for _, r in found.values()))).reservations()

    # ---------------------------------------------------------------- writes

    def reserve(
        self, order_id: str, line_id: str, allocations: Sequence[tuple[str, str, Decimal]]
    ) -> ReserveResult:
        """As :meth:`StockLedger.reserve`."""
        StockLedger._key(order_id, line_id)
        return self.reserve_order(order_id, {line_id: allocations}).lines[0]

    def reserve_order(
        self, order_id: str, lines: Mapping[str, Sequence[tuple[str, str, Decimal]]]
    ) -> OrderReserveResult:
        """As :meth:`StockLedger.reserve_order`: every line or none, in one transaction, each
        cell's stock checked by a guarded update (see the module docstring)."""
        # bad input raises here, before any row is read (an empty ledger checks it all)
        StockLedger(self._codes, self._catalog).reserve_order(order_id, lines)
        keys = [(order_id, line_id) for line_id in lines]
        cells = sorted({(str(a[0]), str(a[1])) for allocations in lines.values()
                        for a in allocations})

        def op(conn: Connection, lock: bool) -> OrderReserveResult:
            found = self._select_lines(conn, keys)
            held = {(c.source, c.sku) for _, rec in found.values() for c in rec.cells}
            rows = self._select_cells(conn, sorted(set(cells) | held), lock=lock)
            before = StockState(tuple(rows.values()), tuple(rec for _, rec in found.values()))
            ledger = self._ledger(before)
            result = ledger.reserve_order(order_id, lines)
            self._write_back(conn, before, ledger, {k: i for k, (i, _) in found.items()},
                             set(rows))
            return result

        return self._writing(op)

    def release(self, order_id: str, line_id: str) -> ReleaseResult:
        """As :meth:`StockLedger.release`."""
        StockLedger(self._codes, self._catalog).release(order_id, line_id)  # checks the ids

        def op(conn: Connection, lock: bool) -> ReleaseResult:
            found = self._select_lines(conn, [(order_id, line_id)], lock=True)
            cells = {(c.source, c.sku) for _, rec in found.values() for c in rec.cells}
            rows = self._select_cells(conn, cells, lock=False)  # writes `reserved` by difference
            before = StockState(tuple(rows.values()), tuple(rec for _, rec in found.values()))
            ledger = self._ledger(before)
            result = ledger.release(order_id, line_id)
            self._write_back(conn, before, ledger, {k: i for k, (i, _) in found.items()},
                             set(rows))
            return result

        return self._writing(op)

    def ship(
        self, order_id: str, line_id: str, *, at: datetime, qty: Decimal | None = None,
        source: str | None = None, shipment_id: str | None = None,
    ) -> ShipResult:
        """As :meth:`StockLedger.ship`."""
        StockLedger(self._codes, self._catalog).ship(  # checks the arguments
            order_id, line_id, at=at, qty=qty, source=source, shipment_id=shipment_id
        )

        def op(conn: Connection, lock: bool) -> ShipResult:
            found = self._select_lines(conn, [(order_id, line_id)], lock=True)
            cells = {(c.source, c.sku) for _, rec in found.values() for c in rec.cells}
            resets = self._lock_sources(conn, {s for s, _ in cells})
            rows = self._select_cells(conn, cells, lock=True)
            before = StockState(tuple(rows.values()), tuple(rec for _, rec in found.values()),
                                resets=resets)
            ledger = self._ledger(before)
            result = ledger.ship(order_id, line_id, at=at, qty=qty, source=source,
                                 shipment_id=shipment_id)
            self._write_back(conn, before, ledger, {k: i for k, (i, _) in found.items()},
                             set(rows))
            return result

        return self._writing(op)

    def set_safety_stock(self, source: str, sku: str, qty: Decimal) -> None:
        """As :meth:`StockLedger.set_safety_stock`."""
        StockLedger(self._codes, self._catalog).set_safety_stock(source, sku, qty)

        def op(conn: Connection, lock: bool) -> None:
            rows = self._select_cells(conn, [(source, sku)], lock=True)
            before = StockState(tuple(rows.values()))
            ledger = self._ledger(before)
            ledger.set_safety_stock(source, sku, qty)
            self._write_back(conn, before, ledger, {}, set(rows))

        self._writing(op)

    def apply_records(
        self,
        records: Sequence[StockFact],
        *,
        zero_unlisted: Mapping[str, tuple[datetime, str]] | None = None,
        report_unlisted: Iterable[str] = (),
    ) -> StockUpdate:
        """As :meth:`StockLedger.apply_records`, in one transaction."""
        batch = tuple(records)
        zero = dict(zero_unlisted or {})
        report = tuple(report_unlisted)
        for code in (*report, *zero):  # in the ledger's order, so the same error comes first
            self.index(code)
        # a record of an unknown source is refused by the ledger, before anything is written
        record_sources = {r.source for r in batch} & set(self._codes)
        keys = {(r.source, r.sku) for r in batch}
        ids = sorted({r.record_id for r in batch if isinstance(r.record_id, str)})

        def op(conn: Connection, lock: bool) -> StockUpdate:
            resets = self._lock_sources(conn, record_sources | zero.keys() | set(report))
            rows = self._select_cells(conn, keys, lock=True)
            rows.update(self._select_known(conn, zero.keys() | set(report), lock=True))
            seen: set[str] = set()
            for part in _chunks(ids):
                seen.update(conn.execute(
                    select(stock_record_ids.c.record_id)
                    .where(stock_record_ids.c.record_id.in_(part))
                ).scalars())
            statements: set[tuple[str, datetime, str]] = set()
            for source, (at, tag) in zero.items():
                if conn.execute(select(stock_statements.c.tag).where(
                    stock_statements.c.source == source,
                    stock_statements.c.effective_at == at.isoformat(),
                    stock_statements.c.tag == tag,
                )).first() is not None:
                    statements.add((source, at, tag))
            before = StockState(tuple(rows.values()), (), frozenset(seen), resets,
                                frozenset(statements))
            ledger = self._ledger(before)
            update_ = ledger.apply_records(
                batch, zero_unlisted=zero, report_unlisted=report
            )
            self._write_back(conn, before, ledger, {}, set(rows))
            return update_

        return self._writing(op)

    def apply_feed(self, feed: Feed, *, partial: bool = False) -> FeedReport:
        """:func:`oms_sourcing.inventory.feeds.apply_feed` on this store, in one transaction."""
        from oms_sourcing.inventory.feeds import apply_feed

        # apply_feed reads source_codes and catalog and calls apply_records, which SqlStock has
        return apply_feed(cast(StockLedger, self), feed, partial=partial)
