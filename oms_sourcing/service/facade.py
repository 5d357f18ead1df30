"""``Sourcing``: the one object an OMS embeds — network, catalog, active ruleset and store — with
the use cases as methods. ``in_memory(network, catalog, ruleset)`` builds one on the in-memory
store."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from oms_sourcing.domain import Catalog, Order
from oms_sourcing.errors import UnknownReferenceError
from oms_sourcing.inventory.feeds import Feed
from oms_sourcing.inventory.network import SourceNetwork
from oms_sourcing.inventory.stock import StockLedger
from oms_sourcing.lifecycle import HoldReason
from oms_sourcing.lifecycle.statuses import CancelReason
from oms_sourcing.rules.model import Ruleset
from oms_sourcing.service import commands as c
from oms_sourcing.service._tx import Environment, Tx
from oms_sourcing.service.answers import (
    FeedAnswer,
    OrderView,
    ReleaseAnswer,
    ReservationConflict,
    RulesetAnswer,
)
from oms_sourcing.service.bus import MessageBus, Subscriber, dispatch
from oms_sourcing.service.handlers import view
from oms_sourcing.service.memory import MemoryStore
from oms_sourcing.service.model import DecisionRecord, OutboxMessage, Settings
from oms_sourcing.service.ports import UnitOfWork
from oms_sourcing.service.replay import ReplayReport, replay

__all__ = ["FlowEntry", "Sourcing", "in_memory"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FlowEntry:
    """One step of an order's flow: an event from the outbox, or a decision."""

    seq: int
    kind: str           # "event" or "decision"
    name: str           # the event's class name, or the decision id
    at: datetime
    detail: Any


class Sourcing:
    """The sourcing part of an OMS in one object.

    Args:
        network, catalog: the sources and SKU settings (fixed for the object's life).
        uow_factory: makes a unit of work on the store (``MemoryStore.unit_of_work``, or the SQL
            adapter's).
        settings: see :class:`~oms_sourcing.service.model.Settings`.
        subscribers: called with every outbox message after each commit (at least once).

    Every method is one command in one transaction and returns a frozen answer; an illegal
    action raises ``TransitionError`` / ``InputError`` naming the id, the status and what is
    allowed, and changes nothing. ``idempotency_key`` on any method: a retry returns the first
    answer.
    """

    def __init__(self, network: SourceNetwork, catalog: Catalog | None,
                 uow_factory: Callable[[], UnitOfWork], *, settings: Settings | None = None,
                 subscribers: Sequence[Subscriber] = ()) -> None:
        self.env = Environment.of(network, catalog, settings)
        self.uow_factory = uow_factory
        self.bus = MessageBus(uow_factory, self.env, subscribers)
        self.store: MemoryStore | None = None   # set by in_memory(), for tests and inspection

    @property
    def network(self) -> SourceNetwork:
        return self.env.network

    @property
    def catalog(self) -> Catalog | None:
        return self.env.catalog

    def handle(self, command: c.Command) -> object:
        """Run any command (see ``oms_sourcing.service.commands``)."""
        return self.bus.handle(command)

    # -------------------------------------------------------------- rulesets

    def activate_ruleset(self, ruleset: Ruleset | str, *, at: datetime, path: str = "<ruleset>",
                         idempotency_key: str | None = None) -> RulesetAnswer:
        """Activate a loaded ruleset, or YAML text (validated against network and catalog)."""
        cmd = (c.ActivateRuleset(at=at, text=ruleset, path=path, idempotency_key=idempotency_key)
               if isinstance(ruleset, str) else
               c.ActivateRuleset(at=at, ruleset=ruleset, idempotency_key=idempotency_key))
        return self._run(cmd, RulesetAnswer)

    def active_ruleset(self) -> Ruleset | None:
        with self.uow_factory() as uow:
            active = uow.rulesets.active()
            return active.ruleset if active is not None else None

    # -------------------------------------------------------------- orders

    def source(self, order: Order, *, at: datetime, holds: Iterable[c.HoldSpec] = (),
               idempotency_key: str | None = None) -> OrderView | ReservationConflict:
        return self._sourced(c.SourceOrder(order=order, at=at, holds=tuple(holds),
                                           idempotency_key=idempotency_key))

    def accept(self, request_id: str, *, at: datetime, idempotency_key: str | None = None
               ) -> OrderView:
        return self._run(c.AcceptRequest(request_id=request_id, at=at,
                                         idempotency_key=idempotency_key), OrderView)

    def decline(self, request_id: str, *, at: datetime, reason: str = "",
                idempotency_key: str | None = None) -> OrderView | ReservationConflict:
        return self._sourced(c.DeclineRequest(request_id=request_id, at=at, reason=reason,
                                              idempotency_key=idempotency_key))

    def ship(self, request_id: str, *, shipment_id: str, at: datetime,
             lines: Iterable[tuple[str, Decimal | int | str | None]] = (), tracking: str = "",
             idempotency_key: str | None = None) -> OrderView:
        parts = tuple(c.ShipLine(i, None if q is None else Decimal(str(q))) for i, q in lines)
        return self._run(c.ShipRequest(request_id=request_id, shipment_id=shipment_id, at=at,
                                       lines=parts, tracking=tracking,
                                       idempotency_key=idempotency_key), OrderView)

    def mark_ready(self, request_id: str, *, at: datetime) -> OrderView:
        return self._run(c.MarkReady(request_id=request_id, at=at), OrderView)

    def confirm_arrival(self, request_id: str, *, at: datetime) -> OrderView:
        return self._run(c.ConfirmArrival(request_id=request_id, at=at), OrderView)

    def confirm_pickup(self, request_id: str, *, at: datetime) -> OrderView:
        return self._run(c.ConfirmPickup(request_id=request_id, at=at), OrderView)

    def cancel(self, order_id: str, line_ids: Iterable[str] | None = None, *, at: datetime,
               reason: CancelReason = CancelReason.CUSTOMERREQ,
               idempotency_key: str | None = None) -> OrderView:
        cmd: c.Command = (
            c.CancelOrder(order_id=order_id, at=at, reason=reason,
                          idempotency_key=idempotency_key)
            if line_ids is None else
            c.CancelLines(order_id=order_id, line_ids=tuple(line_ids), at=at, reason=reason,
                          idempotency_key=idempotency_key))
        return self._run(cmd, OrderView)

    def reship(self, order_id: str, line_ids: Iterable[str], *, new_order_id: str,
               at: datetime) -> OrderView | ReservationConflict:
        return self._sourced(c.Reship(order_id=order_id, line_ids=tuple(line_ids),
                                      new_order_id=new_order_id, at=at))

    def exchange(self, order_id: str, line_id: str, *, sku: str, new_order_id: str,
                 at: datetime, wait_for_return: bool = False
                 ) -> OrderView | ReservationConflict:
        return self._sourced(c.Exchange(order_id=order_id, line_id=line_id, sku=sku,
                                        new_order_id=new_order_id, at=at,
                                        wait_for_return=wait_for_return))

    def start_return(self, order_id: str, line_ids: Iterable[str], *, at: datetime) -> OrderView:
        return self._run(c.StartReturn(order_id=order_id, line_ids=tuple(line_ids), at=at),
                         OrderView)

    def receive_return(self, order_id: str, line_ids: Iterable[str], *, source: str,
                       at: datetime, sellable: bool = True) -> OrderView:
        return self._run(c.ReceiveReturn(order_id=order_id, line_ids=tuple(line_ids),
                                         source=source, at=at, sellable=sellable), OrderView)

    # -------------------------------------------------------------- stock and holds

    def apply_feed(self, feed: Feed, *, at: datetime, partial: bool = False,
                   idempotency_key: str | None = None) -> FeedAnswer:
        return self._run(c.ApplyFeed(feed=feed, at=at, partial=partial,
                                     idempotency_key=idempotency_key), FeedAnswer)

    def release_backorders(self, *, at: datetime, skus: Iterable[str] | None = None
                           ) -> ReleaseAnswer:
        return self._run(c.ReleaseBackorders(
            at=at, skus=None if skus is None else frozenset(skus)), ReleaseAnswer)

    def place_hold(self, order_id: str, name: str, reason: HoldReason, *, at: datetime,
                   until: datetime | None = None) -> OrderView:
        return self._run(c.PlaceHold(order_id=order_id, name=name, reason=reason, at=at,
                                     until=until), OrderView)

    def complete_hold(self, order_id: str, name: str, *, at: datetime) -> OrderView:
        return self._run(c.CompleteHold(order_id=order_id, name=name, at=at), OrderView)

    def skip_hold(self, order_id: str, name: str, *, at: datetime) -> OrderView:
        return self._run(c.SkipHold(order_id=order_id, name=name, at=at), OrderView)

    def expire_holds(self, *, now: datetime) -> ReleaseAnswer:
        return self._run(c.ExpireHolds(now=now), ReleaseAnswer)

    # -------------------------------------------------------------- reading

    def order(self, order_id: str) -> OrderView:
        """The order's state now."""
        with self.uow_factory() as uow:
            return view(Tx(uow, self.env), Tx(uow, self.env).order(order_id))

    def decisions(self, order_id: str) -> list[DecisionRecord]:
        with self.uow_factory() as uow:
            Tx(uow, self.env).order(order_id)
            return uow.decisions.for_order(order_id)

    def events(self, order_id: str) -> list[OutboxMessage]:
        with self.uow_factory() as uow:
            return uow.outbox.for_order(order_id)

    def flow(self, order_id: str) -> list[FlowEntry]:
        """The order's flow: its decisions and events (statuses, requests) in the order they
        happened (decisions and outbox messages share one sequence)."""
        with self.uow_factory() as uow:
            Tx(uow, self.env).order(order_id)
            entries = [FlowEntry(m.seq, "event", m.name, m.event.at, m.event)
                       for m in uow.outbox.for_order(order_id)]
            entries += [FlowEntry(d.seq, "decision", d.decision_id, d.now, d)
                        for d in uow.decisions.for_order(order_id)]
        return sorted(entries, key=lambda e: e.seq)

    def replay(self, decision_id: str, ruleset: Ruleset | None = None) -> ReplayReport:
        """Re-run a stored decision: under the version it used (expect identical), or another."""
        with self.uow_factory() as uow:
            decision = uow.decisions.get(decision_id)
            if decision is None:
                raise UnknownReferenceError(f"no decision {decision_id!r} is stored",
                                            field="decision_id", value=decision_id, known=())
            if ruleset is None:
                stored = uow.rulesets.get(decision.ruleset_id, decision.ruleset_version)
                if stored is None:
                    raise UnknownReferenceError(
                        f"decision {decision_id} used ruleset {decision.ruleset_id!r} version "
                        f"{decision.ruleset_version!r}, which the store does not hold",
                        field="ruleset", value=decision.ruleset_id, known=())
                ruleset = stored.ruleset
        return replay(decision, ruleset, self.env.network, self.env.catalog)

    def dispatch(self, subscribers: Sequence[Subscriber] | None = None) -> int:
        """Deliver pending outbox messages (to ``subscribers`` or the object's own)."""
        return dispatch(self.uow_factory, list(subscribers or self.bus.subscribers))

    # -------------------------------------------------------------- internals

    def _run(self, command: c.Command, kind: type[T]) -> T:
        return cast(T, self.bus.handle(command))

    def _sourced(self, command: c.Command) -> OrderView | ReservationConflict:
        return cast(OrderView | ReservationConflict, self.bus.handle(command))


def in_memory(network: SourceNetwork, catalog: Catalog | None, ruleset: Ruleset, *,
              ledger: StockLedger | None = None, settings: Settings | None = None,
              subscribers: Sequence[Subscriber] = (), at: datetime | None = None) -> Sourcing:
    """A :class:`Sourcing` on the in-memory store, with ``ruleset`` active.

    Args:
        ledger: the stock (default: an empty ``StockLedger`` of the network's sources).
        at: when the ruleset is activated (default: the epoch; time is never read).
    """
    from datetime import UTC
    store = MemoryStore(ledger if ledger is not None else StockLedger(network.codes, catalog))
    service = Sourcing(network, catalog, store.unit_of_work, settings=settings,
                       subscribers=subscribers)
    service.store = store
    service.activate_ruleset(ruleset, at=at or datetime(1970, 1, 1, tzinfo=UTC))
    return service
