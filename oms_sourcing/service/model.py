"""What the service stores: orders with their lifecycle state, shipment requests, decisions,
outbox messages, idempotency records and ruleset versions. Frozen values; a repository stores
and returns them whole (the SQL adapter maps them to rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from oms_sourcing.allocation.allocate import SolverConfig
from oms_sourcing.domain import LineId, Order
from oms_sourcing.lifecycle import (
    Event,
    HoldReason,
    LineState,
    OrderState,
    RequestState,
    StockChanged,
)
from oms_sourcing.rules.model import Ruleset

__all__ = [
    "DecisionRecord",
    "DefaultHold",
    "IdempotencyRecord",
    "OrderRecord",
    "OutboxMessage",
    "RequestRecord",
    "RulesetVersion",
    "Settings",
    "SkuCells",
]


@dataclass(frozen=True, slots=True)
class DefaultHold:
    """A hold every new order gets (rulesets have no holds yet, so the service sets them):
    ``lasts``: it times out that long after the order is sourced (``None``: until released)."""

    name: str
    reason: HoldReason
    lasts: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """How the service behaves, beyond the rules.

    ``restock_returns``: a return received in sellable condition goes back on hand at the
    source that received it. Off by default, as in Magento Order Management (stock comes back
    with the next feed). The network file has no such field yet, so it is a service setting.
    ``reserve_retries``: how many times sourcing is tried again on a fresh snapshot when the
    reservation does not fit (another command took the stock meanwhile).
    ``explain``: store each decision's per-line explanation (one extra solve per sourced line).
    ``order_holds``: holds placed on every new order (not on reships and exchanges), e.g.
    ``DefaultHold("remorse", HoldReason.PENDING_REMORSE_TIME, timedelta(minutes=30))``.
    """

    restock_returns: bool = False
    reserve_retries: int = 3
    explain: bool = True
    solver: SolverConfig = field(default_factory=SolverConfig)
    order_holds: tuple[DefaultHold, ...] = ()


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order as the service keeps it.

    ``reservation_keys``: per line, the line id its current reservation is held under in the
    stock ledger (the line's own id first, ``<line>~<n>`` after each re-sourcing: a ledger key is
    reserved once). ``attempts``: how many times the order was sourced (the engine's
    ``attempts``). ``kind``: ``order``, ``reship`` or ``exchange``; ``awaits_return``: for an
    exchange held until the return, the ``(order id, line id)`` returned.
    ``seq``: arrival order in the store (oldest first when stock arrives).
    """

    order: Order
    state: OrderState
    reservation_keys: Mapping[LineId, str] = field(default_factory=dict)
    attempts: int = 0
    kind: str = "order"
    awaits_return: tuple[str, str] | None = None
    seq: int = 0

    @property
    def order_id(self) -> str:
        return self.order.id

    def line_state(self, line_id: str) -> LineState:
        return self.state.line(line_id)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One shipment request: its lifecycle state, the quantities per line it asks for, what
    shipped so far (per line) and the shipments made (``shipment_id`` -> units per line).

    ``pair``: the other request of a ship-to-store pair (transfer <-> pending-arrival pickup).
    """

    state: RequestState
    quantities: Mapping[LineId, Decimal]
    skus: Mapping[LineId, str]
    created_at: datetime
    shipped: Mapping[LineId, Decimal] = field(default_factory=dict)
    shipments: Mapping[str, tuple[tuple[LineId, Decimal], ...]] = field(default_factory=dict)
    tracking: Mapping[str, str] = field(default_factory=dict)
    pair: str | None = None

    @property
    def request_id(self) -> str:
        return self.state.request_id

    @property
    def order_id(self) -> str:
        return self.state.order_id

    def left(self, line_id: LineId) -> Decimal:
        return self.quantities[line_id] - self.shipped.get(line_id, Decimal(0))


@dataclass(frozen=True, slots=True)
class SkuCells:
    """The stock cells of one SKU a decision read (the snapshot's arrays, as integer units, in
    the network's source order)."""

    sku: str
    decimals: int
    stock_managed: bool
    backorder_floor: int | None
    available: tuple[int, ...]
    in_stock: tuple[bool, ...]
    reserved: tuple[int, ...]
    safety: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One sourcing decision with every input needed to replay it.

    ``order``: the order as sourced (only the lines sourced in this decision); ``declined`` /
    ``attempts``: the engine's arguments; ``cells``: the stock read; ``fingerprint``: a SHA-256
    over every input (``network_fingerprint`` included); ``result``: ``AllocationResult.to_dict``
    (with ``lines``, the explanation, when the settings ask for it).
    """

    decision_id: str
    order_id: str
    now: datetime
    ruleset_id: str
    ruleset_version: str
    order: Order
    declined: Mapping[str, frozenset[str]]
    attempts: int
    source_codes: tuple[str, ...]
    cells: tuple[SkuCells, ...]
    network_fingerprint: str
    solver: SolverConfig
    fingerprint: str
    result: Mapping[str, Any]
    seq: int = 0


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An event written in the same transaction as the change it reports. ``id`` is unique
    (consumers deduplicate by it); ``order_id`` is ``None`` for stock events."""

    id: str
    seq: int
    order_id: str | None
    event: Event | StockChanged
    delivered: bool = False

    @property
    def name(self) -> str:
        return type(self.event).__name__


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """An idempotency key, the fingerprint of the command it was first used with and the answer
    given then."""

    key: str
    fingerprint: str
    answer: object


@dataclass(frozen=True, slots=True)
class RulesetVersion:
    """A ruleset version the service knows; ``text``: its YAML when it was given as text."""

    ruleset: Ruleset
    activated_at: datetime | None = None
    text: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.ruleset.id, self.ruleset.version)
