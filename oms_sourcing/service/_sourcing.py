"""Sourcing inside a unit of work: select → allocate → reserve (all lines or none, retried on a
fresh snapshot when the stock moved), the decision stored with its inputs, the lines moved, and
shipment requests opened once the order's holds are released (private)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_sourcing.allocation.allocate import AllocationResult, allocate
from oms_sourcing.domain import LineId, LineKind, Order, Reason, SourceCode
from oms_sourcing.errors import InputError, ReservationConflictError
from oms_sourcing.formats.orders import order_to_dict
from oms_sourcing.inventory.stock import AllocationCheck, StockSnapshot
from oms_sourcing.lifecycle import (
    Action,
    CancelReason,
    LineStatus,
    RequestId,
    RequestKind,
    RequestState,
    act,
    cancel_lines,
    new_request,
)
from oms_sourcing.rules.model import Ruleset
from oms_sourcing.service._tx import Tx
from oms_sourcing.service.answers import ReservationConflict
from oms_sourcing.service.model import DecisionRecord, OrderRecord, RequestRecord, SkuCells

__all__ = ["NO_SOURCE", "active_ruleset", "cells_of", "request_shipments", "source_lines"]

#: The source named on the request of a line that needs none (a virtual, not stock-managed SKU).
NO_SOURCE = SourceCode("(no source)")

_SOURCEABLE = frozenset({LineStatus.NEW, LineStatus.BACKORDERED, LineStatus.HELD,
                         LineStatus.DECLINED})
_CANCEL_REASONS = {r.value for r in CancelReason}


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one decision does with one line."""

    outcome: str                          # sourced | backorder | hold | cancel
    reason: str = ""
    route: RequestKind | None = None
    source: SourceCode | None = None
    allocations: tuple[tuple[str, str, Decimal], ...] = ()


def active_ruleset(tx: Tx) -> Ruleset:
    active = tx.uow.rulesets.active()
    if active is None:
        raise InputError("the service has no active ruleset; activate one (ActivateRuleset)",
                         field="ruleset", value=None, expected="an active ruleset version")
    return active.ruleset


def _plans(result: AllocationResult) -> dict[str, _Plan]:
    parts: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for s in result.shipments:
        for lq in s.lines:
            parts[lq.line_id].append(("ship", s))
    for t in result.transfers:
        for lq in t.lines:
            parts[lq.line_id].append(("transfer", t))
    for b in result.backorders:
        parts[b.line.line_id].append(("backorder", b.reason))
    for h in result.held:
        parts[h.line.line_id].append(("hold", h.reason))
    for c in result.cancelled:
        parts[c.line.line_id].append(("cancel", c.reason))
    reserve = result.reservations()
    out: dict[str, _Plan] = {}
    for line_id, got in parts.items():
        kinds = {k for k, _ in got}
        if "hold" in kinds:           # a line waits whole: part of it is not there yet
            reason = next(r for k, r in got if k == "hold")
            out[line_id] = _Plan("hold", Reason(reason).value)
        elif "backorder" in kinds:
            out[line_id] = _Plan("backorder", Reason.BACKORDERED.value)
        elif kinds <= {"cancel"}:
            reason = next(r for k, r in got if k == "cancel")
            value = Reason(reason).value
            out[line_id] = _Plan("cancel", value if value in _CANCEL_REASONS
                                 else CancelReason.UNFILLABLE.value)
        else:                          # sourced (a part cancelled out of stock is dropped)
            transfer = next((t for k, t in got if k == "transfer"), None)
            ship = next((s for k, s in got if k == "ship"), None)
            if transfer is not None:
                route, source = RequestKind.TRANSFER, transfer.from_source
            elif ship is not None and ship.reason is Reason.PICKUP_IN_STORE:
                route, source = RequestKind.PICKUP, ship.source
            else:
                route = RequestKind.SHIP
                source = ship.source if ship is not None and ship.source else NO_SOURCE
            out[line_id] = _Plan("sourced", route=route, source=source,
                                 allocations=tuple(reserve.get(line_id, ())))
    return out


def cells_of(snapshot: StockSnapshot) -> tuple[SkuCells, ...]:
    return tuple(
        SkuCells(s.sku, s.decimals, s.stock_managed, s.backorder_floor,
                 tuple(int(x) for x in s.available), tuple(bool(x) for x in s.in_stock),
                 tuple(int(x) for x in s.reserved), tuple(int(x) for x in s.safety))
        for s in (snapshot.skus[k] for k in sorted(snapshot.skus))
    )


def fingerprint_inputs(
    order: Order, ruleset_id: str, version: str, declined: dict[str, frozenset[str]],
    attempts: int, source_codes: tuple[str, ...], cells: tuple[SkuCells, ...],
    network: str, now: datetime, solver: object,
) -> str:
    doc = {
        "order": order_to_dict(order), "ruleset": [ruleset_id, version],
        "declined": {k: sorted(v) for k, v in sorted(declined.items())}, "attempts": attempts,
        "sources": list(source_codes), "cells": [repr(c) for c in cells], "network": network,
        "now": now.isoformat(), "solver": repr(solver),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _key(line_id: str, run: int) -> str:
    return line_id if run == 0 else f"{line_id}~{run}"


def source_lines(
    tx: Tx, record: OrderRecord, line_ids: list[str], at: datetime
) -> tuple[OrderRecord, str | None] | ReservationConflict:
    """Source ``line_ids`` of the order (those that can be: NEW, BACKORDERED, HELD, DECLINED)
    and move them; returns the record and the decision's id, or the conflict."""
    order = record.order
    wanted = [order.line(i) for i in line_ids]
    lines = [ln for ln in wanted if ln.kind is not LineKind.PRESHIPPED
             and record.state.line(ln.id).status in _SOURCEABLE]
    if not lines:
        return record, None
    ruleset = active_ruleset(tx)
    env, stock = tx.env, tx.uow.stock
    sub = replace(order, lines=tuple(lines))
    declined: dict[str, frozenset[str]] = {
        ln.id: frozenset(record.state.line(ln.id).declined_by) for ln in lines
        if record.state.line(ln.id).declined_by}
    run = record.attempts
    shortfalls: tuple[AllocationCheck, ...] = ()
    tries = 1 + max(env.settings.reserve_retries, 0)
    for _ in range(tries):
        snapshot = stock.snapshot(sorted({ln.sku for ln in lines}))
        result = allocate(sub, ruleset, env.network, snapshot, at, catalog=env.catalog,
                          config=env.settings.solver, declined=declined, attempts=run)
        plans = _plans(result)
        mapping = {_key(lid, run): list(p.allocations) for lid, p in plans.items()
                   if p.outcome == "sourced" and p.allocations}
        if not mapping:
            break
        try:
            reserved = stock.reserve_order(order.id, mapping)
        except ReservationConflictError:
            shortfalls = ()
            continue
        if reserved.ok:
            break
        shortfalls = reserved.shortfalls
    else:
        return ReservationConflict(order.id, tries, shortfalls)

    decision_id = _record_decision(tx, sub, ruleset, declined, run, snapshot, at, result)
    keys = dict(record.reservation_keys)
    for lid, p in plans.items():
        if p.outcome == "sourced" and p.allocations:
            keys[LineId(lid)] = _key(lid, run)
    record = replace(record, reservation_keys=keys, attempts=run + 1)
    cancels: dict[str, list[str]] = defaultdict(list)
    for ln in lines:
        p = plans[ln.id]
        state = record.state.line(ln.id)
        if state.status is LineStatus.CANCELLED:   # cancelled with its bundle just now
            continue
        if p.outcome == "sourced":
            action = Action.RESOURCE if state.status is LineStatus.DECLINED else Action.SOURCE
            update = act(record.state, ln.id, action, at=at, source=p.source, route=p.route)
        elif p.outcome == "backorder":
            if state.status is LineStatus.BACKORDERED:
                continue
            update = act(record.state, ln.id, Action.BACKORDER, at=at, reason=p.reason)
        elif p.outcome == "hold":
            if state.status is LineStatus.HELD:
                continue
            update = act(record.state, ln.id, Action.HOLD, at=at, reason=p.reason)
        else:
            cancels[p.reason].append(ln.id)
            continue
        record = tx.apply(record, update)
    for reason, ids in cancels.items():
        open_ids = [i for i in ids if record.state.line(i).status is not LineStatus.CANCELLED]
        if open_ids:
            record = tx.apply(record, cancel_lines(record.state, open_ids, reason, at=at))
    record = tx.uow.orders.save(record)
    if record.state.holds_released:
        record = request_shipments(tx, record, at)
    return record, decision_id


def _record_decision(
    tx: Tx, sub: Order, ruleset: Ruleset, declined: dict[str, frozenset[str]], run: int,
    snapshot: StockSnapshot, at: datetime, result: AllocationResult,
) -> str:
    env = tx.env
    cells = cells_of(snapshot)
    fp = fingerprint_inputs(sub, ruleset.id, ruleset.version, declined, run,
                            tuple(snapshot.source_codes), cells, env.fingerprint, at,
                            env.settings.solver)
    n = len(tx.uow.decisions.for_order(sub.id)) + 1
    decision_id = f"{sub.id}-D{n}"
    tx.uow.decisions.add(DecisionRecord(
        decision_id, sub.id, at, ruleset.id, ruleset.version, sub, declined, run,
        tuple(snapshot.source_codes), cells, env.fingerprint, env.settings.solver, fp,
        result.to_dict(explain=env.settings.explain),
    ))
    return decision_id


def _new_request_id(tx: Tx, order_id: str, taken: int) -> RequestId:
    n = len(tx.uow.requests.for_order(order_id)) + 1 + taken
    return RequestId(f"{order_id}-R{n}")


def request_shipments(tx: Tx, record: OrderRecord, at: datetime) -> OrderRecord:
    """Open shipment requests for the order's SOURCED / RESOURCED lines and pre-shipped lines
    still NEW (one request per source and kind; ship-to-store: a transfer request and the
    pickup store's pending-arrival request, paired)."""
    order, stock = record.order, tx.uow.stock
    groups: dict[tuple[RequestKind, str], list[tuple[LineId, str, Decimal]]] = defaultdict(list)
    for ln in order.lines:
        state = record.state.line(ln.id)
        if ln.kind is LineKind.PRESHIPPED and state.status is LineStatus.NEW:
            record = tx.apply(record, act(record.state, ln.id, Action.PRESHIP, at=at,
                                          source=ln.preshipped_source))
            groups[(RequestKind.PRESHIPPED, str(ln.preshipped_source))].append(
                (ln.id, ln.sku, ln.qty))
            continue
        if state.status not in (LineStatus.SOURCED, LineStatus.RESOURCED):
            continue
        route = state.route or RequestKind.SHIP
        key = record.reservation_keys.get(ln.id)
        held = stock.reservation(order.id, key) if key is not None else None
        if held is None or not held.allocations:
            groups[(route, str(state.source))].append((ln.id, ln.sku, ln.qty))
            continue
        per_source: dict[str, Decimal] = defaultdict(Decimal)
        for a in held.allocations:
            per_source[a.source] += a.qty
        for source, qty in per_source.items():
            groups[(route, source)].append((ln.id, ln.sku, qty))
    made = 0
    pickup = order.pickup_source
    for (kind, source), items in groups.items():
        rid = _new_request_id(tx, order.id, made)
        made += 1
        pair: RequestId | None = None
        if kind is RequestKind.TRANSFER:
            pair = _new_request_id(tx, order.id, made)
            made += 1
        line_ids = tuple(i for i, _, _ in items)
        opened = new_request(RequestState(
            order.id, rid, kind, SourceCode(source), line_ids,
            to_source=pickup if kind is RequestKind.TRANSFER else None), at=at)
        tx.save_request(RequestRecord(
            opened.state, {i: q for i, _, q in items}, {i: s for i, s, _ in items}, at,
            pair=pair), opened.events)
        if pair is not None and pickup is not None:
            waiting = new_request(
                RequestState(order.id, pair, RequestKind.PICKUP, pickup, line_ids),
                at=at, awaiting_transfer=True)
            tx.save_request(RequestRecord(
                waiting.state, {i: q for i, _, q in items}, {i: s for i, s, _ in items}, at,
                pair=rid), waiting.events)
        for line_id in line_ids:
            ls = record.state.line(line_id)
            if ls.status in (LineStatus.SOURCED, LineStatus.RESOURCED):
                record = tx.apply(record, act(record.state, line_id, Action.REQUEST_SHIPMENT,
                                              at=at, request_id=rid))
    return record
