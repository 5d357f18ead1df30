"""The in-memory adapter: a store of dicts and a ``StockLedger``, and its unit of work.

One unit of work at a time holds the store's lock (transactions are serialisable). Writes go
straight into the store and are journaled: ``rollback()`` (or leaving the block without
``commit()``) undoes them in reverse order, and restores the stock ledger to the state it had
before the transaction's first stock write (a copy taken lazily, so commands that do not touch
stock pay nothing). A command that fails midway therefore leaves nothing half done.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Any

from oms_sourcing.domain import Catalog
from oms_sourcing.inventory.stock import (
    OrderReserveResult,
    ReleaseResult,
    Reservation,
    SalableQty,
    ShipResult,
    StockFact,
    StockLedger,
    StockSnapshot,
    StockUpdate,
)
from oms_sourcing.lifecycle import Event, LineStatus, StockChanged
from oms_sourcing.service.model import (
    DecisionRecord,
    IdempotencyRecord,
    OrderRecord,
    OutboxMessage,
    RequestRecord,
    RulesetVersion,
)
from oms_sourcing.service.ports import (
    DecisionRepository,
    IdempotencyRepository,
    OrderRepository,
    OutboxRepository,
    RequestRepository,
    RulesetRepository,
    StockStore,
)

__all__ = ["JournaledStock", "MemoryStore", "MemoryUnitOfWork"]

_MISSING = object()
_FIXED = frozenset({"_lock", "_catalog", "_codes", "_index"})
_WAITING = frozenset({LineStatus.BACKORDERED, LineStatus.HELD})


class MemoryStore:
    """Everything the service keeps, in memory. ``ledger``: the stock (a ``StockLedger``)."""

    def __init__(self, ledger: StockLedger) -> None:
        self.ledger = ledger
        self.lock = threading.RLock()
        self.orders: dict[str, OrderRecord] = {}
        self.waiting: dict[str, set[str]] = {}        # sku -> orders with a waiting line of it
        self.requests: dict[str, RequestRecord] = {}
        self.requests_of: dict[str, list[str]] = {}   # order id -> its request ids, in order
        self.decisions: dict[str, DecisionRecord] = {}
        self.decisions_of: dict[str, list[str]] = {}  # order id -> its decision ids, in order
        self.outbox: list[OutboxMessage] = []
        self.outbox_of: dict[str | None, list[OutboxMessage]] = {}
        self.delivered: set[str] = set()
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.rulesets: dict[tuple[str, str], RulesetVersion] = {}
        self.active: list[tuple[str, str]] = []      # activation history; the last is active
        self.counters: dict[str, int] = {}

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


def _drop_last(items: list[Any]) -> None:
    items.pop()


def _waiting_skus(record: OrderRecord) -> set[str]:
    return {line.sku for line, state in zip(record.order.lines, record.state.lines, strict=True)
            if state.status in _WAITING}


class _Journal:
    """Undo records of one transaction, applied in reverse on rollback."""

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []

    def put(self, mapping: MutableMapping[Any, Any], key: object, value: object) -> None:
        old = mapping.get(key, _MISSING)
        mapping[key] = value

        def restore() -> None:
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old

        self.undo.append(restore)

    def call(self, undo: Callable[[], None]) -> None:
        self.undo.append(undo)

    def roll_back(self) -> None:
        while self.undo:
            self.undo.pop()()


class _Repo:
    def __init__(self, store: MemoryStore, journal: _Journal) -> None:
        self._store = store
        self._journal = journal

    def _next(self, name: str) -> int:
        n = self._store.counters.get(name, 0) + 1
        self._journal.put(self._store.counters, name, n)
        return n


class MemoryOrders(_Repo):
    def get(self, order_id: str) -> OrderRecord | None:
        return self._store.orders.get(order_id)

    def save(self, record: OrderRecord) -> OrderRecord:
        if record.seq == 0:
            record = replace(record, seq=self._next("orders"))
        old = self._store.orders.get(record.order_id)
        self._journal.put(self._store.orders, record.order_id, record)
        before = _waiting_skus(old) if old is not None else set()
        after = _waiting_skus(record)
        if before != after:
            index, order_id = self._store.waiting, record.order_id
            for sku in before - after:
                members = index[sku]
                members.discard(order_id)
                self._journal.call(partial(members.add, order_id))
            for sku in after - before:
                members = index.setdefault(sku, set())
                members.add(order_id)
                self._journal.call(partial(members.discard, order_id))
        return record

    def _sorted(self, records: Iterable[OrderRecord]) -> list[OrderRecord]:
        return sorted(records, key=lambda r: (r.order.created_at, r.seq))

    def waiting(self, skus: frozenset[str] | None) -> list[OrderRecord]:
        index = self._store.waiting
        wanted = index if skus is None else skus
        ids = {order_id for sku in wanted for order_id in index.get(sku, ())}
        return self._sorted(self._store.orders[i] for i in ids)

    def with_open_holds(self, now: datetime) -> list[OrderRecord]:
        return self._sorted(
            r for r in self._store.orders.values()
            if any(h.is_open and h.until is not None and h.until <= now for h in r.state.holds)
        )

    def awaiting_return(self, order_id: str, line_id: str) -> list[OrderRecord]:
        return self._sorted(r for r in self._store.orders.values()
                            if r.awaits_return == (order_id, line_id))

    def children(self, order_id: str) -> list[OrderRecord]:
        return self._sorted(r for r in self._store.orders.values()
                            if r.order.parent_order == order_id)


class MemoryRequests(_Repo):
    def get(self, request_id: str) -> RequestRecord | None:
        return self._store.requests.get(request_id)

    def save(self, record: RequestRecord) -> None:
        store = self._store
        if record.request_id not in store.requests:
            ids = store.requests_of.setdefault(record.order_id, [])
            ids.append(record.request_id)
            self._journal.call(partial(_drop_last, ids))
        self._journal.put(store.requests, record.request_id, record)

    def for_order(self, order_id: str) -> list[RequestRecord]:
        store = self._store
        return [store.requests[i] for i in store.requests_of.get(order_id, ())]


class MemoryDecisions(_Repo):
    def add(self, record: DecisionRecord) -> DecisionRecord:
        self._next("decisions")
        # one sequence with the outbox, so an order's flow reads back in order
        record = replace(record, seq=self._next("outbox"))
        store = self._store
        if record.decision_id not in store.decisions:
            ids = store.decisions_of.setdefault(record.order_id, [])
            ids.append(record.decision_id)
            self._journal.call(partial(_drop_last, ids))
        self._journal.put(store.decisions, record.decision_id, record)
        return record

    def get(self, decision_id: str) -> DecisionRecord | None:
        return self._store.decisions.get(decision_id)

    def for_order(self, order_id: str) -> list[DecisionRecord]:
        store = self._store
        return [store.decisions[i] for i in store.decisions_of.get(order_id, ())]

    def count(self) -> int:
        return self._store.counters.get("decisions", 0)


class MemoryOutbox(_Repo):
    def add(self, order_id: str | None, event: Event | StockChanged) -> OutboxMessage:
        n = self._next("outbox")
        message = OutboxMessage(f"evt-{n:09d}", n, order_id, event)
        store = self._store
        store.outbox.append(message)
        self._journal.call(partial(_drop_last, store.outbox))
        of_order = store.outbox_of.setdefault(order_id, [])
        of_order.append(message)
        self._journal.call(partial(_drop_last, of_order))
        return message

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        store = self._store
        out: list[OutboxMessage] = []
        for message in store.outbox[store.counters.get("delivered_upto", 0):]:
            if len(out) >= limit:
                break
            if message.id not in store.delivered:
                out.append(message)
        return out

    def mark_delivered(self, message_id: str) -> None:
        store = self._store
        if message_id in store.delivered:
            return
        store.delivered.add(message_id)
        self._journal.call(partial(store.delivered.discard, message_id))
        upto = store.counters.get("delivered_upto", 0)
        while upto < len(store.outbox) and store.outbox[upto].id in store.delivered:
            upto += 1      # everything before is delivered: pending() starts here
        self._journal.put(store.counters, "delivered_upto", upto)

    def for_order(self, order_id: str) -> list[OutboxMessage]:
        return list(self._store.outbox_of.get(order_id, ()))


class MemoryIdempotency(_Repo):
    def get(self, key: str) -> IdempotencyRecord | None:
        return self._store.idempotency.get(key)

    def add(self, record: IdempotencyRecord) -> None:
        self._journal.put(self._store.idempotency, record.key, record)


class MemoryRulesets(_Repo):
    def add(self, version: RulesetVersion) -> None:
        self._journal.put(self._store.rulesets, version.key, version)

    def get(self, ruleset_id: str, version: str) -> RulesetVersion | None:
        return self._store.rulesets.get((ruleset_id, version))

    def active(self) -> RulesetVersion | None:
        return self._store.rulesets[self._store.active[-1]] if self._store.active else None

    def activate(self, ruleset_id: str, version: str, at: datetime) -> None:
        key = (ruleset_id, version)
        self._journal.put(self._store.rulesets, key,
                          replace(self._store.rulesets[key], activated_at=at))
        history = self._store.active
        history.append(key)
        self._journal.call(lambda: history.remove(key))

    def versions(self) -> list[RulesetVersion]:
        return list(self._store.rulesets.values())


def _copied(value: Any) -> Any:
    return value if value is _MISSING else copy.deepcopy(value)


def _copied_entry(entry: Any) -> Any:
    """A copy of a ledger's per-SKU entry: its arrays and cells (its cached snapshot dropped)."""
    if entry is _MISSING:
        return entry
    new = copy.copy(entry)
    for name in ("on_hand", "reserved", "safety", "in_stock"):
        setattr(new, name, getattr(entry, name).copy())
    new.cells = copy.deepcopy(entry.cells)
    new.cached = None
    return new


class JournaledStock:
    """The store's ``StockLedger`` seen through a transaction, with undo.

    Before a write, the part of the ledger it can touch is copied once per transaction: for a
    reservation, release or shipment the SKUs and the order lines it names (and, for a
    shipment, the sources' known SKUs); for stock records the whole ledger. ``restore()``
    puts the copies back into the same ledger object, so references to it stay valid. (This
    reads the ledger's private state: it is the in-memory adapter's own business; a database
    rolls back by itself.)
    """

    def __init__(self, ledger: StockLedger) -> None:
        self._ledger = ledger
        self._full: dict[str, Any] | None = None
        self._entries: dict[str, Any] = {}
        self._reserved: dict[str, Any] = {}   # a reservation or release moves only these
        self._keys: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._known: dict[int, set[str]] = {}

    def _state(self) -> dict[str, Any]:
        return vars(self._ledger)

    def _save_all(self) -> None:
        if self._full is None:
            memo: dict[int, Any] = {id(self._ledger.catalog): self._ledger.catalog}
            self._full = {k: copy.deepcopy(v, memo) for k, v in self._state().items()
                          if k not in _FIXED}

    def _save(self, order_id: str, line_ids: Iterable[str], skus: Iterable[str],
              sources: Iterable[int] = (), *, whole: bool = False) -> None:
        """``whole``: the SKUs' entries entirely (a shipment moves on hand and records too);
        otherwise only their reserved quantities."""
        state = self._state()
        entries, held, closed = state["_entries"], state["_held"], state["_closed"]
        for sku in skus:
            entry = entries.get(sku, _MISSING)
            if whole and sku not in self._entries:
                self._entries[sku] = _copied_entry(entry)
            elif not whole and sku not in self._reserved:
                self._reserved[sku] = entry if entry is _MISSING else entry.reserved.copy()
        for line_id in line_ids:
            key = (order_id, line_id)
            if key not in self._keys:
                self._keys[key] = (_copied(held.get(key, _MISSING)),
                                   _copied(closed.get(key, _MISSING)))
        for i in sources:
            if i not in self._known:
                self._known[i] = set(state["_known"][i])

    def _line_cells(self, order_id: str, line_id: str) -> tuple[tuple[int, str, int], ...]:
        state = self._state()
        line = state["_held"].get((order_id, line_id)) or state["_closed"].get(
            (order_id, line_id))
        return tuple(line.cells) if line is not None else ()

    def restore(self) -> None:
        state = self._state()
        if self._full is not None:
            for k, v in self._full.items():
                setattr(self._ledger, k, v)
        entries, held, closed = state["_entries"], state["_held"], state["_closed"]
        for sku, entry in self._entries.items():
            if entry is _MISSING:
                entries.pop(sku, None)
            else:
                entries[sku] = entry
        for sku, reserved in self._reserved.items():   # saved before any whole entry
            if reserved is _MISSING:
                entries.pop(sku, None)
            elif sku in entries:
                entries[sku].reserved = reserved
                entries[sku].cached = None
        for key, (was_held, was_closed) in self._keys.items():
            for mapping, old in ((held, was_held), (closed, was_closed)):
                if old is _MISSING:
                    mapping.pop(key, None)
                else:
                    mapping[key] = old
        for i, known in self._known.items():
            state["_known"][i] = known
        self.forget()

    def forget(self) -> None:
        self._full = None
        self._entries, self._reserved, self._keys, self._known = {}, {}, {}, {}

    @property
    def source_codes(self) -> tuple[str, ...]:
        return self._ledger.source_codes

    @property
    def catalog(self) -> Catalog:
        return self._ledger.catalog

    def snapshot(self, skus: Iterable[str]) -> StockSnapshot:
        return self._ledger.snapshot(skus)

    def reserve_order(
        self, order_id: str, lines: Mapping[str, Sequence[tuple[str, str, Decimal]]]
    ) -> OrderReserveResult:
        skus = [a[1] for allocations in lines.values() for a in allocations]
        self._save(order_id, lines, skus)
        return self._ledger.reserve_order(order_id, lines)

    def release(self, order_id: str, line_id: str) -> ReleaseResult:
        self._save(order_id, [line_id], [c[1] for c in self._line_cells(order_id, line_id)])
        return self._ledger.release(order_id, line_id)

    def ship(
        self, order_id: str, line_id: str, *, at: datetime, qty: Decimal | None = None,
        source: str | None = None, shipment_id: str | None = None,
    ) -> ShipResult:
        cells = self._line_cells(order_id, line_id)
        self._save(order_id, [line_id], [c[1] for c in cells], [c[0] for c in cells],
                   whole=True)
        return self._ledger.ship(order_id, line_id, at=at, qty=qty, source=source,
                                 shipment_id=shipment_id)

    def apply_records(
        self,
        records: Sequence[StockFact],
        *,
        zero_unlisted: Mapping[str, tuple[datetime, str]] | None = None,
        report_unlisted: Iterable[str] = (),
    ) -> StockUpdate:
        self._save_all()
        return self._ledger.apply_records(records, zero_unlisted=zero_unlisted,
                                          report_unlisted=report_unlisted)

    def reservation(self, order_id: str, line_id: str) -> Reservation | None:
        return self._ledger.reservation(order_id, line_id)

    def on_hand(self, source: str, sku: str) -> Decimal:
        return self._ledger.on_hand(source, sku)

    def salable_detail(
        self, sku: str, sources: Iterable[str], threshold: Decimal = Decimal(0)
    ) -> SalableQty:
        return self._ledger.salable_detail(sku, sources, threshold)


class MemoryUnitOfWork:
    """A transaction over a :class:`MemoryStore` (see the module docstring)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._journal = _Journal()
        self._stock = JournaledStock(store.ledger)
        self.stock: StockStore = self._stock
        self.orders: OrderRepository = MemoryOrders(store, self._journal)
        self.requests: RequestRepository = MemoryRequests(store, self._journal)
        self.decisions: DecisionRepository = MemoryDecisions(store, self._journal)
        self.outbox: OutboxRepository = MemoryOutbox(store, self._journal)
        self.idempotency: IdempotencyRepository = MemoryIdempotency(store, self._journal)
        self.rulesets: RulesetRepository = MemoryRulesets(store, self._journal)
        self._entered = False

    def __enter__(self) -> MemoryUnitOfWork:
        self._store.lock.acquire()
        self._entered = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._entered:
                self._entered = False
                self._store.lock.release()

    def commit(self) -> None:
        self._journal.undo.clear()
        self._stock.forget()

    def rollback(self) -> None:
        self._journal.roll_back()
        self._stock.restore()
