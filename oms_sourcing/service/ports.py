"""The ports of the service layer: the unit of work and its repositories, as Protocols.

A handler sees only these. ``memory`` implements them in memory (tests, simulation); a SQL
adapter implements the same Protocols over a database. One unit of work is one transaction:
everything a command changes — stock, orders, requests, decisions, outbox, idempotency — is
committed together or not at all.

``StockStore`` is exactly the part of :class:`~oms_sourcing.inventory.stock.StockLedger` the
service uses, so a ``StockLedger`` is the in-memory stock adapter as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol

from oms_sourcing.domain import Catalog
from oms_sourcing.inventory.stock import (
    OrderReserveResult,
    ReleaseResult,
    Reservation,
    SalableQty,
    ShipResult,
    StockFact,
    StockSnapshot,
    StockUpdate,
)
from oms_sourcing.lifecycle import Event, StockChanged
from oms_sourcing.service.model import (
    DecisionRecord,
    IdempotencyRecord,
    OrderRecord,
    OutboxMessage,
    RequestRecord,
    RulesetVersion,
)

__all__ = [
    "DecisionRepository",
    "IdempotencyRepository",
    "OrderRepository",
    "OutboxRepository",
    "RequestRepository",
    "RulesetRepository",
    "StockStore",
    "UnitOfWork",
]


class StockStore(Protocol):
    """Stock, reservations and feeds: the public methods of ``StockLedger`` the service calls
    (same signatures, same semantics; see ``oms_sourcing.inventory.stock``)."""

    @property
    def source_codes(self) -> tuple[str, ...]: ...

    @property
    def catalog(self) -> Catalog: ...

    def snapshot(self, skus: Iterable[str]) -> StockSnapshot: ...

    def reserve_order(
        self, order_id: str, lines: Mapping[str, Sequence[tuple[str, str, Decimal]]]
    ) -> OrderReserveResult: ...

    def release(self, order_id: str, line_id: str) -> ReleaseResult: ...

    def ship(
        self, order_id: str, line_id: str, *, at: datetime, qty: Decimal | None = None,
        source: str | None = None, shipment_id: str | None = None,
    ) -> ShipResult: ...

    def apply_records(
        self,
        records: Sequence[StockFact],
        *,
        zero_unlisted: Mapping[str, tuple[datetime, str]] | None = None,
        report_unlisted: Iterable[str] = (),
    ) -> StockUpdate: ...

    def reservation(self, order_id: str, line_id: str) -> Reservation | None: ...

    def on_hand(self, source: str, sku: str) -> Decimal: ...

    def salable_detail(
        self, sku: str, sources: Iterable[str], threshold: Decimal = Decimal(0)
    ) -> SalableQty: ...


class OrderRepository(Protocol):
    """Orders with their line states and holds (``OrderRecord``)."""

    def get(self, order_id: str) -> OrderRecord | None: ...

    def save(self, record: OrderRecord) -> OrderRecord:
        """Add or replace the record; returns it as stored (``seq`` assigned on the first
        save)."""

    def waiting(self, skus: frozenset[str] | None) -> list[OrderRecord]:
        """Orders with a BACKORDERED or HELD line of one of ``skus`` (``None``: any), oldest
        first (by ``created_at``, then arrival)."""

    def with_open_holds(self, now: datetime) -> list[OrderRecord]:
        """Orders with an open hold whose ``until`` is at or before ``now``, oldest first."""

    def awaiting_return(self, order_id: str, line_id: str) -> list[OrderRecord]:
        """Exchange orders held until the return of that line."""

    def children(self, order_id: str) -> list[OrderRecord]:
        """Orders whose ``parent_order`` is ``order_id`` (reships, exchanges), oldest first."""


class RequestRepository(Protocol):
    def get(self, request_id: str) -> RequestRecord | None: ...

    def save(self, record: RequestRecord) -> None: ...

    def for_order(self, order_id: str) -> list[RequestRecord]:
        """The order's requests in the order they were made."""


class DecisionRepository(Protocol):
    def add(self, record: DecisionRecord) -> DecisionRecord:
        """Store a decision; returns it with its ``seq``."""

    def get(self, decision_id: str) -> DecisionRecord | None: ...

    def for_order(self, order_id: str) -> list[DecisionRecord]: ...

    def count(self) -> int:
        """How many decisions are stored (for ids)."""


class OutboxRepository(Protocol):
    def add(self, order_id: str | None, event: Event | StockChanged) -> OutboxMessage:
        """Append an event; it gets a unique id."""

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        """Undelivered messages, oldest first."""

    def mark_delivered(self, message_id: str) -> None: ...

    def for_order(self, order_id: str) -> list[OutboxMessage]:
        """The order's events, in the order they were written."""


class IdempotencyRepository(Protocol):
    def get(self, key: str) -> IdempotencyRecord | None: ...

    def add(self, record: IdempotencyRecord) -> None: ...


class RulesetRepository(Protocol):
    def add(self, version: RulesetVersion) -> None:
        """Keep a version (earlier ones are kept too)."""

    def get(self, ruleset_id: str, version: str) -> RulesetVersion | None: ...

    def active(self) -> RulesetVersion | None: ...

    def activate(self, ruleset_id: str, version: str, at: datetime) -> None: ...

    def versions(self) -> list[RulesetVersion]:
        """Every version, in the order they were added."""


class UnitOfWork(Protocol):
    """One transaction. Use as a context manager; ``commit()`` makes the changes durable, leaving
    the block without it (or with an exception) rolls every change back — stock included."""

    orders: OrderRepository
    requests: RequestRepository
    stock: StockStore
    decisions: DecisionRepository
    outbox: OutboxRepository
    idempotency: IdempotencyRepository
    rulesets: RulesetRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
