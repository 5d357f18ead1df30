"""Answers: what a handler returns, as frozen values (the order's state after the command …)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oms_sourcing.inventory.stock import AllocationCheck
from oms_sourcing.lifecycle import Hold
from oms_sourcing.service.model import OrderRecord, RequestRecord

__all__ = [
    "FeedAnswer",
    "LineView",
    "OrderView",
    "ReleaseAnswer",
    "RequestView",
    "ReservationConflict",
    "RulesetAnswer",
    "order_view",
]


@dataclass(frozen=True, slots=True)
class LineView:
    line_id: str
    sku: str
    qty: Decimal
    status: str
    reason: str
    source: str | None
    request_id: str | None
    attempts: int
    declined_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequestView:
    request_id: str
    kind: str
    source: str
    status: str
    line_ids: tuple[str, ...]
    to_source: str | None
    quantities: tuple[tuple[str, Decimal], ...]
    shipped: tuple[tuple[str, Decimal], ...]
    pair: str | None


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order after a command: its derived status and reason, lines, holds and requests.

    ``decision_id``: the sourcing decision the command made, if it made one.
    """

    order_id: str
    status: str
    reason: str
    lines: tuple[LineView, ...]
    requests: tuple[RequestView, ...]
    holds: tuple[Hold, ...]
    parent_order: str | None
    kind: str
    decision_id: str | None = None

    def line(self, line_id: str) -> LineView:
        return next(ln for ln in self.lines if ln.line_id == line_id)

    def request(self, request_id: str) -> RequestView:
        return next(r for r in self.requests if r.request_id == request_id)

    def requests_of(self, kind: str) -> tuple[RequestView, ...]:
        return tuple(r for r in self.requests if r.kind == kind)


@dataclass(frozen=True, slots=True)
class ReservationConflict:
    """Sourcing found a plan, but its reservation did not fit ``attempts`` times running (other
    commands took the stock in between). Nothing changed; send the command again."""

    order_id: str
    attempts: int
    shortfalls: tuple[AllocationCheck, ...]


@dataclass(frozen=True, slots=True)
class ReleaseAnswer:
    """Orders whose waiting lines were sourced again (oldest first)."""

    orders: tuple[OrderView, ...]


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """A feed applied: how many rows changed stock, were stale or duplicates; ``released``:
    the orders sourced again because of it."""

    applied: int
    stale: int
    duplicates: int
    released: tuple[OrderView, ...]


@dataclass(frozen=True, slots=True)
class RulesetAnswer:
    ruleset_id: str
    version: str
    previous: tuple[str, str] | None


def request_view(rec: RequestRecord) -> RequestView:
    s = rec.state
    return RequestView(
        s.request_id, s.kind.value, s.source, s.status.value, tuple(s.line_ids), s.to_source,
        tuple((str(k), v) for k, v in rec.quantities.items()),
        tuple((str(k), v) for k, v in rec.shipped.items()), rec.pair,
    )


def order_view(
    record: OrderRecord, requests: list[RequestRecord], decision_id: str | None = None
) -> OrderView:
    st = record.state
    lines = tuple(
        LineView(ln.id, ln.sku, ln.qty, s.status.value, s.reason, s.source, s.request_id,
                 s.attempts, s.declined_by)
        for ln, s in zip(record.order.lines, st.lines, strict=True)
    )
    return OrderView(
        record.order_id, st.status.value, st.reason, lines,
        tuple(request_view(r) for r in requests), st.holds, record.order.parent_order,
        record.kind, decision_id,
    )
