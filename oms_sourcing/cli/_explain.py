"""One sourcing decision in words a support agent reads: what ships from where, the money it
costs, the rule's score apart from that money, why each line's source won, and every source
considered with why it was or was not used.

Money spent is the network's lane prices for the parcels and transfers of the decision; the
*score* is the rule's weighted objective (shipping cost, distance, parcels, priority … each
times its weight), which is what the optimiser compares and is not money.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oms_sourcing.domain import Reason, SourceKind

if TYPE_CHECKING:
    from oms_sourcing.allocation.allocate import AllocationResult, LineExplanation
    from oms_sourcing.allocation.builder import Candidate
    from oms_sourcing.domain import LineQty, Order
    from oms_sourcing.inventory.network import SourceNetwork
    from oms_sourcing.rules.model import Policy

__all__ = ["REASON_TEXT", "Spent", "print_explanation", "reason", "spent", "why_line"]

#: Each reason code in plain language; the code itself (Magento's token where there is one)
#: is shown next to it.
REASON_TEXT: Mapping[Reason, str] = {
    Reason.SOURCED: "shipped from this source to the customer",
    Reason.PRESHIPPED: "already handed over at this source (a sale at the till); only the "
                       "shipment record is made",
    Reason.NOT_STOCK_MANAGED: "needs no stock and no source (a product that is not "
                              "stock-managed)",
    Reason.PICKUP_IN_STORE: "the customer collects it from the store's own stock",
    Reason.SHIP_TO_STORE: "sent to the pickup store, where the customer collects it",
    Reason.OUTOFSTOCK: "cancelled: no source the rule allows has it, and it may not be "
                       "backordered",
    Reason.BACKORDERED: "backordered: it ships when stock arrives",
    Reason.UNFILLABLE: "cannot be filled from any source",
    Reason.HOLD_UNTIL_COMPLETE: "held: the rule ships this order only when all of it can ship",
    Reason.BUNDLE_NOT_FROM_ONE_SOURCE: "held: the bundle must ship from one source, and no "
                                       "single source holds all of its parts",
    Reason.WAITING_FOR_STOCK: "held until stock arrives; sourced again at the next attempt",
    Reason.DECLINE_LIMIT: "held: sources declined this line as often as the rule allows",
    Reason.ASSOCIATEDITEMCANCELLED: "cancelled because an item it belongs with was cancelled",
    Reason.NOTHINGTOSHIP: "cancelled: nothing is left to ship",
    Reason.CUSTOMERREQ: "cancelled at the customer's request",
    Reason.UNKNOWN_SKU: "cancelled: the catalog does not know this SKU",
    Reason.INVALID_LINE: "refused: the line is not valid as given",
    Reason.NO_PICKUP_SOURCE: "refused: the pickup store is unknown or does not offer pickup",
}


def reason(code: Reason) -> str:
    """``CODE: plain text``."""
    return f"{code.value}: {REASON_TEXT.get(code, code.value)}"


def _money(d: Decimal, currency: str) -> str:
    return f"{d.quantize(Decimal('0.01'))} {currency}"


def _qty(d: Decimal) -> str:
    return str(d.quantize(Decimal(1))) if d == d.to_integral_value() else format(d.normalize(), "f")


def _score(d: Decimal) -> str:
    return str(d.quantize(Decimal("0.01")))


@dataclass(frozen=True, slots=True)
class Spent:
    """The money a decision costs at the network's lane prices: ``shipping`` for parcels to the
    customer, ``transfer`` for transfers to a pickup store; ``parts`` says what each is for.
    ``unpriced`` lists parcels no lane prices (none in a decision the allocator made)."""

    shipping: Decimal
    transfer: Decimal
    parts: tuple[tuple[str, Decimal], ...]
    unpriced: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return self.shipping + self.transfer


def _units(lines: Iterable[LineQty]) -> Decimal:
    return sum((lq.qty for lq in lines), Decimal(0))


def spent(result: AllocationResult, order: Order, network: SourceNetwork) -> Spent:
    """What ``result``'s parcels and transfers cost at ``network``'s lane prices."""
    shipping = transfer = Decimal(0)
    parts: list[tuple[str, Decimal]] = []
    unpriced: list[str] = []
    for s in result.shipments:
        if s.source is None or s.reason is not Reason.SOURCED:
            continue  # pre-shipped, not stock-managed, handed over in the store: no parcel
        if network.source(s.source).kind is SourceKind.VIRTUAL:
            continue
        cost = network.shipping_cost(s.source, order.destination, _units(s.lines))
        if cost is None:
            unpriced.append(s.source)
            continue
        shipping += cost
        parts.append((f"parcel from {s.source}", cost))
    for t in result.transfers:
        lane = network.transfer_lane(t.from_source, t.to_source)
        if lane is None:
            unpriced.append(f"{t.from_source} → {t.to_source}")
            continue
        cost = lane.cost(_units(t.lines))
        transfer += cost
        parts.append((f"transfer {t.from_source} → {t.to_source}", cost))
    return Spent(shipping, transfer, tuple(parts), tuple(unpriced))


def _line_money(network: SourceNetwork, order: Order, code: str, qty: Decimal) -> Decimal | None:
    """What shipping ``qty`` of a line from ``code`` alone costs (to a pickup store: the
    transfer; from the pickup store itself: nothing)."""
    store = order.pickup_source
    if store:
        if code == store:
            return Decimal(0)
        lane = network.transfer_lane(code, store) if code in network and store in network \
            else None
        return None if lane is None else lane.cost(qty)
    if code not in network or network.source(code).kind is SourceKind.VIRTUAL:
        return Decimal(0)
    return network.shipping_cost(code, order.destination, qty)


def why_line(le: LineExplanation, used: set[str], lines_from: Mapping[str, set[str]],
             policy: Policy | None, currency: str) -> str | None:
    """In words, why line ``le`` ships from the sources ``used`` (``None``: it ships from
    none; its outcome says why)."""
    if not used:
        return None
    names = ", ".join(sorted(used))
    holders = [c for c in le.candidates if c.exclusion is None and (c.available or 0) > 0]
    if len(holders) <= len(used):
        if len(used) == 1:
            return f"only {names} holds {le.sku} among the sources the rule allows"
        return (f"no single source the rule allows holds {_qty(le.qty)} × {le.sku}; only "
                f"{names} hold it")
    if policy is not None and policy.uses_rank:
        keys = ", then ".join(k.value for k in policy.rank)
        verb = "comes" if len(used) == 1 else "come"
        return (f"the rule fills from sources in order of {keys} (Magento MSI's way); {names} "
                f"{verb} first of the {len(holders)} sources that hold {le.sku}")
    parts: list[str] = []
    whole = {c.source: c.shipment_cost for c in holders
             if c.shipment_cost is not None and (c.available or 0) >= le.qty}
    cheapest = min(whole, key=lambda code: (whole[code], code)) if whole else None
    others = sorted({lid for code in used for lid in lines_from.get(code, ())
                     if lid != le.line_id})
    if len(used) == 1 and cheapest in used:
        parts.append(f"{names} is the cheapest source for this line by the rule's score")
    elif others:
        word = "line" if len(others) == 1 else "lines"
        parts.append(f"{names} also ships {word} {', '.join(others)} of this order, so they "
                     "travel together")
        if cheapest is not None and cheapest not in used:
            parts.append(f"on its own this line would score less from {cheapest}")
    elif len(used) > 1:
        parts.append(f"the line is split: no single source the rule allows serves all "
                     f"{_qty(le.qty)} as cheaply")
    alt = le.alternative
    if alt is not None:
        without = ", ".join(alt.without)
        if alt.cost_difference is None:
            if alt.short > 0:
                parts.append(f"without {without}, {_qty(alt.short)} of it could not ship at all")
            else:
                parts.append(f"without {without}, part of the order could not ship at all")
        else:
            instead = ", ".join(alt.sources) or "nowhere"
            parts.append(f"the best plan without {without} (from {instead}) scores "
                         f"{_score(alt.cost_difference)} more")
    return "; ".join(parts) or None


def print_explanation(
    console: Console, result: AllocationResult, order: Order, network: SourceNetwork,
    policy: Policy | None, *, stock_note: str, all_sources: bool = False,
) -> None:
    """Print ``result`` for a person: outcomes with their reasons, money spent, the rule's score,
    and per line why its source won and every source considered (those outside the sales
    channel's stock only with ``all_sources``)."""
    currency = result.currency
    colour = {"sourced": "green", "partial": "yellow", "waiting": "yellow"}.get(result.status,
                                                                              "red")
    console.print(f"[bold]order {escape(result.order_id)}[/bold]: "
                  f"[{colour}]{result.status}[/{colour}]")
    console.print(f"stock    {stock_note}", markup=False)
    for error in result.errors:
        console.print(f"  refused: {error}", markup=False)
    console.print(f"ruleset  {result.ruleset_id} v{result.ruleset_version}, "
                  f"rule {result.rule or '(defaults)'}", markup=False)
    for step in result.rule_trace:
        console.print(f"  {step}", markup=False)

    def lines(lqs: Iterable[LineQty]) -> str:
        return ", ".join(f"line {x.line_id} {_qty(x.qty)} × {x.sku}" for x in lqs)

    for s in result.shipments:
        where = f"from {s.source}" if s.source else "without a source"
        console.print(f"ship     {where}: {lines(s.lines)} ({reason(s.reason)})", markup=False)
    for t in result.transfers:
        console.print(f"transfer {t.from_source} → {t.to_source} in {t.days} d: "
                      f"{lines(t.lines)} ({reason(t.reason)})", markup=False)
    for b in result.backorders:
        console.print(f"backorder {lines([b.line])} ({reason(b.reason)})", markup=False)
    for h in result.held:
        console.print(f"held     {lines([h.line])} ({reason(h.reason)})", markup=False)
    for c in result.cancelled:
        console.print(f"cancel   {lines([c.line])} ({reason(c.reason)})", markup=False)

    money = spent(result, order, network)
    if money.parts:
        detail = ", ".join(f"{what} {_money(v, currency)}" for what, v in money.parts)
        kinds = [f"shipping {_money(money.shipping, currency)}"] if money.shipping or not \
            money.transfer else []
        if money.transfer:
            kinds.append(f"transfers {_money(money.transfer, currency)}")
        console.print(f"spent    {_money(money.total, currency)} at the network's lane prices "
                      f"({'; '.join(kinds)}: {detail})", markup=False)
    else:
        console.print("spent    nothing: no parcel and no transfer", markup=False)
    for code in money.unpriced:
        console.print(f"  no lane prices {code}", markup=False)
    if policy is not None and policy.uses_rank:
        keys = ", ".join(k.value for k in policy.rank)
        console.print(f"score    none: the rule ranks sources ({keys}) instead of scoring "
                      "plans", markup=False)
    else:
        terms = " + ".join(f"{k} {_score(v)}" for k, v in result.breakdown.items())
        console.print(f"score    {_score(result.objective)}: the rule's weighted sum of its "
                      f"terms, which the optimiser keeps as low as it can, not money"
                      + (f" ({terms})" if terms else ""), markup=False)
    console.print(f"solver   {result.solver} ({result.solver_status}, "
                  f"{result.solve_ms:.1f} ms)", markup=False)

    used: dict[str, set[str]] = defaultdict(set)
    lines_from: dict[str, set[str]] = defaultdict(set)
    for s in result.shipments:
        for lq in s.lines:
            if s.source is not None:
                used[lq.line_id].add(s.source)
                lines_from[s.source].add(lq.line_id)
    for t in result.transfers:
        for lq in t.lines:
            used[lq.line_id].add(t.from_source)
            lines_from[t.from_source].add(lq.line_id)
    for le in result.lines:
        _print_line(console, le, used[le.line_id], lines_from, order, network, policy,
                    currency, all_sources)


def _print_line(console: Console, le: LineExplanation, used: set[str],
                lines_from: Mapping[str, set[str]], order: Order, network: SourceNetwork,
                policy: Policy | None, currency: str, all_sources: bool) -> None:
    from oms_sourcing.allocation.builder import Exclusion

    shown: list[Candidate] = [c for c in le.candidates if all_sources
                              or c.exclusion is not Exclusion.NOT_IN_CHANNEL_STOCK]
    hidden = len(le.candidates) - len(shown)
    table = Table(title=escape(f"line {le.line_id}: {_qty(le.qty)} × {le.sku} — "
                               f"{le.outcome or 'no outcome'}"), title_justify="left")
    table.add_column("")
    table.add_column("source")
    table.add_column("status")
    table.add_column("available", justify="right")
    table.add_column(f"shipping alone ({currency})", justify="right")
    table.add_column("score alone", justify="right")
    table.add_column("km", justify="right")
    for cand in shown:
        status = cand.exclusion.value if cand.exclusion else "candidate"
        if cand.detail:
            status += f" ({cand.detail})"
        cost = None if cand.exclusion else _line_money(network, order, cand.source, le.qty)
        table.add_row(
            "[green]✔[/green]" if cand.source in used else "",
            escape(cand.source),
            escape(status) if cand.exclusion else f"[green]{escape(status)}[/green]",
            "" if cand.available is None else _qty(cand.available),
            "" if cost is None else str(cost.quantize(Decimal("0.01"))),
            "" if cand.shipment_cost is None else _score(cand.shipment_cost),
            "" if cand.distance_km is None else f"{cand.distance_km:,.0f}",
        )
    if not shown:
        table.add_row("", "—", "no sources considered", "", "", "", "")
    console.print(table)
    if hidden:
        console.print(f"  {hidden} sources outside the sales channel's stock not shown "
                      "(--all-sources shows them)", markup=False)
    why = why_line(le, used, lines_from, policy, currency)
    if why:
        console.print(f"  why: {why}", markup=False)
