"""Use cases after the first decision: reship, exchange, returns, feeds and backorders, holds,
rulesets (private; the handlers are listed in ``handlers``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import cast

from oms_sourcing.domain import LineKind, Order, OrderId, OrderLine, Sku
from oms_sourcing.errors import InputError
from oms_sourcing.inventory.feeds import apply_feed
from oms_sourcing.inventory.stock import StockLedger, StockRecord
from oms_sourcing.lifecycle import (
    Action,
    HoldReason,
    LineStatus,
    act,
    complete_hold,
    expire_order_holds,
    place_hold,
    skip_hold,
)
from oms_sourcing.rules.loader import parse_ruleset
from oms_sourcing.rules.model import Ruleset
from oms_sourcing.service import commands as c
from oms_sourcing.service._sourcing import request_shipments, source_lines
from oms_sourcing.service._tx import Tx
from oms_sourcing.service.answers import (
    FeedAnswer,
    OrderView,
    ReleaseAnswer,
    ReservationConflict,
    RulesetAnswer,
)
from oms_sourcing.service.handlers import new_order, view
from oms_sourcing.service.model import OrderRecord, RulesetVersion

RETURN_HOLD = "return"
_WAITING = frozenset({LineStatus.BACKORDERED, LineStatus.HELD})


def _moves(tx: Tx, record: OrderRecord, line_ids: tuple[str, ...], action: Action,
           at: datetime, source: str | None = None) -> OrderRecord:
    """Move every line by ``action``; all are checked before any is written."""
    state = record.state
    updates = []
    for line_id in dict.fromkeys(line_ids):
        update = act(state, line_id, action, at=at, source=source)   # type: ignore[arg-type]
        state = update.order
        updates.append(update)
    for update in updates:
        record = tx.apply(record, update)
    return record


def _linked(record: OrderRecord, new_id: str, lines: tuple[OrderLine, ...], at: datetime) -> Order:
    return replace(record.order, id=OrderId(new_id), created_at=at, lines=lines,
                   parent_order=record.order.id)


def reship(cmd: c.Reship, tx: Tx) -> OrderView | ReservationConflict:
    record = tx.order(cmd.order_id)
    if not cmd.line_ids:
        raise InputError(f"order {cmd.order_id}: name the lines to reship",
                         field="line_ids", value=(), expected="at least one line id")
    record = _moves(tx, record, cmd.line_ids, Action.RESHIP, cmd.at)
    lines = tuple(replace(record.order.line(i), unit_price=Decimal(0), kind=LineKind.REGULAR,
                          preshipped_source=None) for i in dict.fromkeys(cmd.line_ids))
    return new_order(tx, _linked(record, cmd.new_order_id, lines, cmd.at), cmd.at, kind="reship")


def exchange(cmd: c.Exchange, tx: Tx) -> OrderView | ReservationConflict:
    record = tx.order(cmd.order_id)
    record = _moves(tx, record, (cmd.line_id,), Action.EXCHANGE, cmd.at)
    old = record.order.line(cmd.line_id)
    line = OrderLine(old.id, Sku(cmd.sku), cmd.qty if cmd.qty is not None else old.qty,
                     unit_price=old.unit_price)
    holds = (c.HoldSpec(RETURN_HOLD, HoldReason.PENDING_RETURN),) if cmd.wait_for_return else ()
    awaits = (cmd.order_id, cmd.line_id) if cmd.wait_for_return else None
    return new_order(tx, _linked(record, cmd.new_order_id, (line,), cmd.at), cmd.at, holds,
                     kind="exchange", awaits_return=awaits)


def start_return(cmd: c.StartReturn, tx: Tx) -> OrderView:
    record = _moves(tx, tx.order(cmd.order_id), cmd.line_ids, Action.REQUEST_RETURN, cmd.at)
    return view(tx, record)


def receive_return(cmd: c.ReceiveReturn, tx: Tx) -> OrderView:
    record = tx.order(cmd.order_id)
    source = tx.env.network.source(cmd.source)      # UnknownReferenceError with a suggestion
    if not source.capabilities.accepts_returns:
        takers = [s.code for s in tx.env.network.sources if s.capabilities.accepts_returns]
        raise InputError(
            f"order {cmd.order_id}: {cmd.source} does not accept returns; sources that do: "
            f"{', '.join(takers) or 'none'}",
            field="source", value=cmd.source, expected="a source that accepts returns",
        )
    record = _moves(tx, record, cmd.line_ids, Action.RETURN_RECEIVED, cmd.at, cmd.source)
    skus: set[str] = set()
    if cmd.sellable and tx.env.settings.restock_returns:
        for line_id in dict.fromkeys(cmd.line_ids):
            line = record.order.line(line_id)
            tx.uow.stock.apply_records([StockRecord(
                cmd.source, line.sku, line.qty, cmd.at,
                f"return:{cmd.order_id}:{line_id}", adjust=True)])
            tx.stock_changed(cmd.source, line.sku, line.qty, cmd.at, "return restocked")
            skus.add(line.sku)
    if cmd.sellable:
        for line_id in dict.fromkeys(cmd.line_ids):
            for waiting in tx.uow.orders.awaiting_return(cmd.order_id, line_id):
                if any(h.name == RETURN_HOLD and h.is_open for h in waiting.state.holds):
                    waiting = tx.apply(waiting, complete_hold(waiting.state, RETURN_HOLD,
                                                              at=cmd.at))
                    _released(tx, waiting, cmd.at)
    if skus:
        _release(tx, frozenset(skus), cmd.at)
    return view(tx, tx.order(cmd.order_id))


# ---------------------------------------------------------------------- stock


def _release(tx: Tx, skus: frozenset[str] | None, at: datetime) -> tuple[OrderView, ...]:
    """Source again every waiting line of the orders waiting for ``skus``, oldest first (all
    the order's waiting lines together, so bundles and ship-complete orders stay whole). A
    line held because sources declined it too often waits for a person, not for stock."""
    out: list[OrderView] = []
    for record in tx.uow.orders.waiting(skus):
        ids = [str(s.line_id) for s in record.state.lines
               if s.status in _WAITING and s.reason != HoldReason.DECLINE_LIMIT]
        if not ids:
            continue
        outcome = source_lines(tx, record, ids, at)
        if isinstance(outcome, ReservationConflict):
            continue          # stays waiting; the next release tries again
        out.append(view(tx, outcome[0], outcome[1]))
    return tuple(out)


def release_backorders(cmd: c.ReleaseBackorders, tx: Tx) -> ReleaseAnswer:
    return ReleaseAnswer(_release(tx, cmd.skus, cmd.at))


def apply_feed_command(cmd: c.ApplyFeed, tx: Tx) -> FeedAnswer:
    stock = tx.uow.stock
    before = {(r.source, r.sku): stock.on_hand(r.source, r.sku) for r in cmd.feed.rows
              if r.source in stock.source_codes}
    # apply_feed reads only source_codes, catalog and apply_records: the StockStore port
    report = apply_feed(cast(StockLedger, stock), cmd.feed, partial=cmd.partial)
    touched: set[str] = set()
    for source, sku in dict.fromkeys([(r.source, r.sku) for r in report.applied]
                                     + list(report.zeroed)):
        touched.add(sku)
        after = stock.on_hand(source, sku)
        delta = after - before.get((source, sku), after)
        tx.stock_changed(source, sku, delta, cmd.at, "feed")
    released = _release(tx, frozenset(touched), cmd.at) if touched else ()
    return FeedAnswer(len(report.applied), len(report.ignored_stale), len(report.duplicates),
                      released)


# ---------------------------------------------------------------------- holds


def _released(tx: Tx, record: OrderRecord, at: datetime) -> OrderRecord:
    if record.state.holds_released:
        record = request_shipments(tx, record, at)
    return record


def place_hold_command(cmd: c.PlaceHold, tx: Tx) -> OrderView:
    record = tx.order(cmd.order_id)
    record = tx.apply(record, place_hold(record.state, cmd.name, cmd.reason, at=cmd.at,
                                         until=cmd.until))
    return view(tx, record)


def complete_hold_command(cmd: c.CompleteHold, tx: Tx) -> OrderView:
    record = tx.order(cmd.order_id)
    record = tx.apply(record, complete_hold(record.state, cmd.name, at=cmd.at))
    return view(tx, _released(tx, record, cmd.at))


def skip_hold_command(cmd: c.SkipHold, tx: Tx) -> OrderView:
    record = tx.order(cmd.order_id)
    record = tx.apply(record, skip_hold(record.state, cmd.name, at=cmd.at))
    return view(tx, _released(tx, record, cmd.at))


def expire_holds_command(cmd: c.ExpireHolds, tx: Tx) -> ReleaseAnswer:
    out = []
    for record in tx.uow.orders.with_open_holds(cmd.now):
        record = tx.apply(record, expire_order_holds(record.state, cmd.now))
        out.append(view(tx, _released(tx, record, cmd.now)))
    return ReleaseAnswer(tuple(out))


# ---------------------------------------------------------------------- rulesets


def activate_ruleset(cmd: c.ActivateRuleset, tx: Tx) -> RulesetAnswer:
    if (cmd.text is None) == (cmd.ruleset is None):
        raise InputError("ActivateRuleset needs exactly one of text and ruleset",
                         field="text", value=None, expected="YAML text or a loaded Ruleset")
    if cmd.text is not None:      # RulesetError, with path:line:col, when it does not check
        ruleset = parse_ruleset(cmd.text, cmd.path, tx.env.network, tx.env.catalog)
    else:
        ruleset = cast(Ruleset, cmd.ruleset)
    repo = tx.uow.rulesets
    previous = repo.active()
    known = repo.get(ruleset.id, ruleset.version)
    if known is not None and known.ruleset != ruleset:
        raise InputError(
            f"ruleset {ruleset.id!r} version {ruleset.version!r} is known with other rules; "
            "give the changed ruleset a new version (earlier versions are kept for replay)",
            field="version", value=ruleset.version, expected="a new version",
        )
    if known is None:
        repo.add(RulesetVersion(ruleset, text=cmd.text))
    repo.activate(ruleset.id, ruleset.version, cmd.at)
    return RulesetAnswer(ruleset.id, ruleset.version,
                         previous.key if previous is not None else None)

