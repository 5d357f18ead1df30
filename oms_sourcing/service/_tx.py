"""What every handler shares: the environment (network, catalog, settings), lookups that name
what is missing, and applying an ``OrderUpdate`` (its stock effects and its events) in the unit
of work (private)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime

from oms_sourcing.domain import Catalog, LineId, Sku, SourceCode
from oms_sourcing.errors import UnknownReferenceError
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.lifecycle import (
    Event,
    OrderUpdate,
    StockChanged,
    StockEffect,
)
from oms_sourcing.service.model import OrderRecord, RequestRecord, Settings
from oms_sourcing.service.ports import UnitOfWork

__all__ = ["Environment", "Tx", "network_fingerprint"]


def network_fingerprint(network: SourceNetwork) -> str:
    """A SHA-256 over everything in the network that sourcing reads."""
    text = repr((
        network.sources, network.shipping_lanes, network.transfer_lanes,
        sorted(network.zones.items()), sorted(network.stocks.items()), network.currency,
        network.minor_digits,
    ))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Environment:
    """What the handlers read besides the store: the network, the catalog, the settings."""

    network: SourceNetwork
    catalog: Catalog | None = None
    settings: Settings = field(default_factory=Settings)
    fingerprint: str = field(default="")

    @classmethod
    def of(cls, network: SourceNetwork, catalog: Catalog | None = None,
           settings: Settings | None = None) -> Environment:
        return cls(network, catalog, settings or Settings(), network_fingerprint(network))


class Tx:
    """One command's view of a unit of work and the environment."""

    def __init__(self, uow: UnitOfWork, env: Environment) -> None:
        self.uow = uow
        self.env = env

    # ------------------------------------------------------------------ lookups

    def order(self, order_id: str) -> OrderRecord:
        record = self.uow.orders.get(order_id)
        if record is None:
            raise UnknownReferenceError(
                f"no order {order_id!r} is known to the service; source it first "
                "(SourceOrder)", field="order_id", value=order_id, known=(),
            )
        return record

    def request(self, request_id: str) -> RequestRecord:
        record = self.uow.requests.get(request_id)
        if record is None:
            raise UnknownReferenceError(
                f"no shipment request {request_id!r} is known to the service; request ids "
                "look like '<order id>-R<n>' and are listed in the order's answer",
                field="request_id", value=request_id, known=(),
            )
        return record

    # ------------------------------------------------------------------ writing

    def emit(self, order_id: str | None, events: tuple[Event, ...] | list[Event]) -> None:
        for event in events:
            self.uow.outbox.add(order_id, event)

    def stock_changed(self, source: str, sku: str, delta: object, at: datetime,
                      reason: str) -> None:
        from decimal import Decimal
        self.uow.outbox.add(None, StockChanged(
            source=SourceCode(source), sku=Sku(sku), delta=Decimal(str(delta)),
            on_hand=self.uow.stock.on_hand(source, sku), at=at, reason=reason))

    def apply(self, record: OrderRecord, update: OrderUpdate) -> OrderRecord:
        """Apply ``update``'s stock effects (releases) and write its events; return the record
        with the new state (saved)."""
        for move in update.transitions:
            if move.effect is StockEffect.RELEASE:
                key = record.reservation_keys.get(LineId(move.state.line_id))
                if key is not None:
                    self.uow.stock.release(record.order_id, key)
        self.emit(record.order_id, update.events)
        return self.uow.orders.save(replace(record, state=update.order))

    def save_request(self, record: RequestRecord, events: tuple[Event, ...] = ()) -> None:
        self.uow.requests.save(record)
        self.emit(record.order_id, events)
