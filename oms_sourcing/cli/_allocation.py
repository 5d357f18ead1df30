"""Commands that source orders: ``source`` (JSON per order), ``wave`` (all orders jointly) and
``explain`` (one order, for a person)."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from oms_sourcing.cli._inventory import reported_errors

if TYPE_CHECKING:
    from oms_sourcing.allocation.allocate import AllocationResult
    from oms_sourcing.allocation.lookahead import BidPrices
    from oms_sourcing.domain import Catalog, LineQty, Order
    from oms_sourcing.inventory.network import SourceNetwork
    from oms_sourcing.inventory.stock import StockLedger
    from oms_sourcing.rules.model import Ruleset

__all__ = ["Loaded", "bid_prices", "explain", "load_inputs", "read_bid_prices", "register",
           "reserve_result", "source", "source_orders", "wave"]

@dataclass(frozen=True, slots=True)
class Loaded:
    """Everything ``source`` and ``explain`` read from files."""

    network: SourceNetwork
    catalog: Catalog
    ledger: StockLedger
    ruleset: Ruleset
    orders: list[Order]


def load_inputs(
    network_path: Path, feed_path: Path, catalog_path: Path | None, rules_path: Path,
    orders_path: Path,
) -> Loaded:
    """Load the network, catalog, stock feed (into a fresh ledger), ruleset and orders.

    Raises:
        FileError: a file with problems (each one positioned).
    """
    from oms_sourcing.domain import Catalog
    from oms_sourcing.formats.catalog import load_catalog
    from oms_sourcing.formats.network import load_network
    from oms_sourcing.formats.orders import load_orders
    from oms_sourcing.inventory.feeds import apply_feed, read_feed
    from oms_sourcing.inventory.stock import StockLedger
    from oms_sourcing.rules import load_ruleset

    network = load_network(network_path)
    catalog = load_catalog(catalog_path) if catalog_path else Catalog()
    ledger = StockLedger(network.codes, catalog)
    apply_feed(ledger, read_feed(feed_path))
    ruleset = load_ruleset(rules_path, network, catalog)
    orders = load_orders(orders_path, catalog)
    return Loaded(network, catalog, ledger, ruleset, orders)


def reserve_result(ledger: StockLedger, result: AllocationResult) -> list[str]:
    """Reserve what ``result`` ships and transfers: one reservation per order line, all of a
    line's sources together, and every line of the order or none
    (:meth:`StockLedger.reserve_order`). Rejected results, pre-shipped lines and stock-free
    shipments reserve nothing.

    Returns:
        The ids of lines the ledger did not reserve: when some line does not fit, every line
        the order did not already hold.
    """
    reserved = ledger.reserve_order(result.order_id, result.reservations())
    return [line.line_id for line in reserved.lines if not line.ok]


def source_orders(
    orders: Iterable[Order], ruleset: Ruleset, network: SourceNetwork, ledger: StockLedger,
    catalog: Catalog, *, now: datetime | None = None, apply: bool = False,
    on_refused: Callable[[str, list[str]], None] | None = None,
    bid_prices: BidPrices | None = None,
) -> Iterator[AllocationResult]:
    """Source ``orders`` in order, each against a fresh snapshot of ``ledger``.

    Args:
        now: the decision time; ``None`` uses each order's ``created_at``.
        apply: reserve each result in ``ledger`` before sourcing the next order.
        on_refused: called with the order id and line ids the ledger would not reserve.
        bid_prices: stock prices for rules that weigh ``stock_value``.
    """
    from oms_sourcing.allocation.allocate import allocate

    for order in orders:
        snapshot = ledger.snapshot({line.sku for line in order.lines})
        result = allocate(order, ruleset, network, snapshot, now or order.created_at,
                          catalog=catalog, bid_prices=bid_prices)
        if apply:
            refused = reserve_result(ledger, result)
            if refused and on_refused is not None:
                on_refused(order.id, refused)
        yield result


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 date and time") from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a time zone, e.g. {value}+00:00")
    return parsed


NetworkOpt = Annotated[Path, typer.Option("--network", help="network.yaml")]
StockOpt = Annotated[Path, typer.Option("--stock", help="Stock feed (CSV or JSONL).")]
CatalogOpt = Annotated[Path | None, typer.Option("--catalog", help="catalog.yaml")]
RulesOpt = Annotated[Path, typer.Option("--rules", help="Ruleset YAML file.")]
OrdersArg = Annotated[Path, typer.Argument(help="Orders (JSONL, or JSON object/list).")]
BidPricesOpt = Annotated[Path | None, typer.Option(
    "--bid-prices", help="CSV of source,sku,price (from bid-prices) for rules that weigh "
                         "stock_value.")]


def source(
    orders_path: OrdersArg,
    network_path: NetworkOpt,
    feed_path: StockOpt,
    rules_path: RulesOpt,
    catalog_path: CatalogOpt = None,
    now: Annotated[str | None, typer.Option(
        "--now", help="Decision time (ISO-8601 with zone); default: each order's created_at.",
    )] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Reserve each order's stock before sourcing the next.",
    )] = False,
    brief: Annotated[bool, typer.Option(
        "--brief", help="Leave out the per-line explanations (candidates, alternatives).",
    )] = False,
    prices_path: BidPricesOpt = None,
) -> None:
    """Source every order and print one JSON result per order, in file order
    (schemas/allocation-result.schema.json)."""
    decided_at = _parse_now(now)
    err_console = Console(stderr=True, highlight=False)
    with reported_errors(err_console):
        loaded = load_inputs(network_path, feed_path, catalog_path, rules_path, orders_path)
        out = sys.stdout

        def warn(order_id: str, line_ids: list[str]) -> None:
            err_console.print(f"warning: order {order_id}: the ledger refused to reserve lines "
                              f"{', '.join(line_ids)} (insufficient stock; no line of the "
                              "order was newly reserved)", markup=False, soft_wrap=True)

        prices = read_bid_prices(prices_path) if prices_path else None
        for result in source_orders(loaded.orders, loaded.ruleset, loaded.network,
                                    loaded.ledger, loaded.catalog, now=decided_at, apply=apply,
                                    on_refused=warn, bid_prices=prices):
            out.write(json.dumps(result.to_dict(explain=not brief), sort_keys=False) + "\n")


def wave(
    orders_path: OrdersArg,
    network_path: NetworkOpt,
    feed_path: StockOpt,
    rules_path: RulesOpt,
    catalog_path: CatalogOpt = None,
    now: Annotated[str | None, typer.Option(
        "--now", help="Decision time (ISO-8601 with zone); default: the last order's "
                      "created_at.",
    )] = None,
    neighbourhoods: Annotated[int | None, typer.Option(
        "--neighbourhoods", min=0, help="Neighbourhood-search steps: the work budget (the "
                                        "same inputs always give the same plans); default "
                                        "600, or 0 with --large.",
    )] = None,
    large: Annotated[bool, typer.Option(
        "--large", help="The settings for large waves (WaveConfig.large): column generation "
                        "within 0.3 % of its bound, the master MIP's plan, no local search.",
    )] = False,
    proven: Annotated[bool, typer.Option(
        "--proven", help="The settings for a proven gap (WaveConfig.proven): column "
                         "generation to the end, the master MIP, then the proof step within "
                         "--proof-gap (default 0.003).",
    )] = False,
    mip: Annotated[bool, typer.Option(
        "--mip", help="Also solve the whole wave as one MIP (SCIP; slow on large waves).",
    )] = False,
    proof_gap: Annotated[float | None, typer.Option(
        "--proof-gap", min=0.0, max=0.999, help="Prove the plan within this fraction of its "
                                                "cost (e.g. 0.003) by solving the wave exactly "
                                                "over every plan near the bound; 0: skip "
                                                "(the default, but 0.003 with --proven).",
    )] = None,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", min=0.0, help="A wall-clock safety stop in seconds (plans then may "
                                      "differ from run to run); default: none.",
    )] = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Processes that solve orders alone (e.g. the machine's "
                                 "cores); the plans are the same for any number.",
    )] = 1,
    brief: Annotated[bool, typer.Option(
        "--brief", help="Leave out the per-line explanations (candidates, alternatives).",
    )] = False,
    prices_path: BidPricesOpt = None,
) -> None:
    """Source every order as one wave, jointly against the stock: one JSON result per order
    (as ``source``), then the wave's cost, bound and gap next to one-by-one sourcing on
    stderr."""
    from oms_sourcing.allocation.wave import WaveConfig, allocate_wave

    if large and proven:
        raise typer.BadParameter("--large and --proven are two sets of settings; use one "
                                 "(and change single settings with their own options)")
    decided_at = _parse_now(now)
    err_console = Console(stderr=True, highlight=False)
    with reported_errors(err_console):
        loaded = load_inputs(network_path, feed_path, catalog_path, rules_path, orders_path)
        if not loaded.orders:
            err_console.print("no orders to source", markup=False)
            return
        skus = {line.sku for order in loaded.orders for line in order.lines}
        at = decided_at or max(order.created_at for order in loaded.orders)
        chosen: dict[str, Any] = {"mip": mip, "time_limit_s": time_limit or None}
        if neighbourhoods is not None:
            chosen["neighbourhoods"] = neighbourhoods
        if proof_gap is not None:
            chosen["proof_gap"] = proof_gap
        config = (WaveConfig.large(workers, **chosen) if large
                  else WaveConfig.proven(workers=workers, **chosen) if proven
                  else WaveConfig(workers=workers, **chosen))
        prices = read_bid_prices(prices_path) if prices_path else None
        result = allocate_wave(loaded.orders, loaded.ruleset, loaded.network,
                               loaded.ledger.snapshot(skus), at, catalog=loaded.catalog,
                               config=config, bid_prices=prices)
        for one in result.results:
            sys.stdout.write(json.dumps(one.to_dict(explain=not brief)) + "\n")
        currency = loaded.network.currency
        err_console.print(
            f"wave of {len(loaded.orders)} orders ({result.joint_orders} sourced jointly): "
            f"{_money(result.cost, currency)} and {result.short_units} units short; one by "
            f"one: {_money(result.per_order_cost, currency)} and "
            f"{result.per_order_short_units} short; {result.status}, gap "
            f"{result.gap:.2%} to the bound; {result.seconds:.1f} s", markup=False,
            soft_wrap=True)


def bid_prices(
    history_path: Annotated[Path, typer.Argument(help="Past orders (JSONL) like the demand to "
                                                      "come.")],
    network_path: NetworkOpt,
    feed_path: StockOpt,
    unfilled_cost: Annotated[str, typer.Option(
        "--unfilled-cost", help="What a unit that cannot ship costs you (currency), e.g. a "
                                "lost margin.")],
    catalog_path: CatalogOpt = None,
    scale: Annotated[float, typer.Option(
        "--scale", min=0.0, help="Expected orders over the coming horizon per order in the "
                                 "history (e.g. 0.25 for one week from four).")] = 1.0,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the CSV here.")] = None,
) -> None:
    """Bid prices of the stock for the coming horizon: the DLP of the history's demand
    (scaled) against the stock; a CSV of source, sku, price for ``--bid-prices``."""
    from oms_sourcing.allocation.lookahead import Unfilled, demand_from_orders, solve_dlp
    from oms_sourcing.domain import Catalog, parse_money
    from oms_sourcing.formats.catalog import load_catalog
    from oms_sourcing.formats.network import load_network
    from oms_sourcing.formats.orders import load_orders
    from oms_sourcing.inventory.feeds import apply_feed, read_feed
    from oms_sourcing.inventory.stock import StockLedger

    err_console = Console(stderr=True, highlight=False)
    with reported_errors(err_console):
        per_unit = parse_money(unfilled_cost, minor_digits=6, field="--unfilled-cost")
        network = load_network(network_path)
        catalog = load_catalog(catalog_path) if catalog_path else Catalog()
        ledger = StockLedger(network.codes, catalog)
        apply_feed(ledger, read_feed(feed_path))
        history = load_orders(history_path, catalog)
        classes = demand_from_orders(history, scale)
        skus = sorted({sku for c in classes for sku in c.skus})
        snap = ledger.snapshot(skus)
        stock: dict[tuple[str, str], float] = {
            (str(code), sku): float(int(snap[sku].available[k])) / 10 ** snap[sku].decimals
            for sku in skus if sku in snap for k, code in enumerate(network.codes)
            if snap[sku].available[k] > 0}
        result = solve_dlp(classes, network, stock,
                           unfilled=Unfilled(per_order=Decimal(0), per_unit=per_unit))
        lines = ["source,sku,price"] + [
            f"{source},{sku},{price}"
            for (source, sku), price in sorted(result.bid_prices.prices.items())]
        text = "\n".join(lines) + "\n"
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
        err_console.print(
            f"{len(classes)} demand classes from {len(history)} orders; DLP "
            f"{result.status}, expected cost {result.value:,.2f} {network.currency}; "
            f"{len(result.bid_prices.prices)} priced (source, SKU) pairs", markup=False,
            soft_wrap=True)


def read_bid_prices(path: Path) -> BidPrices:
    """A ``source,sku,price`` CSV (as ``bid-prices`` writes) as :class:`BidPrices`.

    Raises:
        InputError: a malformed row (with its line number).
    """
    import csv

    from oms_sourcing.allocation.lookahead import BidPrices
    from oms_sourcing.errors import InputError

    prices: dict[tuple[str, str], Decimal] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            try:
                prices[(row["source"], row["sku"])] = Decimal(row["price"])
            except (KeyError, TypeError, ArithmeticError) as err:
                raise InputError(f"{path}:{n}: expected columns source,sku,price with a "
                                 f"number, got {row}", field="price", value=row,
                                 expected="source,sku,price") from err
    return BidPrices.of(prices)


def _money(d: Decimal, currency: str) -> str:
    return f"{d.quantize(Decimal('0.01'))} {currency}"


def _qty(d: Decimal) -> str:
    return str(d.quantize(Decimal(1))) if d == d.to_integral_value() else format(d.normalize(), "f")


def _print_result(console: Console, result: AllocationResult) -> None:
    colour = {"sourced": "green", "partial": "yellow", "waiting": "yellow"}.get(result.status,
                                                                              "red")
    console.print(f"[bold]order {result.order_id}[/bold]: [{colour}]{result.status}[/{colour}]")
    if result.errors:
        for error in result.errors:
            console.print(f"  rejected: {error}", markup=False)
    console.print(f"ruleset  {result.ruleset_id} v{result.ruleset_version}, "
                  f"rule [bold]{result.rule}[/bold]")
    for step in result.rule_trace:
        console.print(f"  {step}", markup=False)

    def lines(lqs: Iterable[LineQty]) -> str:
        return ", ".join(f"line {x.line_id} {_qty(x.qty)} × {x.sku}" for x in lqs)

    for s in result.shipments:
        console.print(f"ship     from {s.source} ({s.reason.value}): {lines(s.lines)}",
                      markup=False)
    for t in result.transfers:
        console.print(f"transfer {t.from_source} → {t.to_source} in {t.days} d "
                      f"({t.reason.value}): {lines(t.lines)}", markup=False)
    for b in result.backorders:
        console.print(f"backorder ({b.reason.value}): {lines([b.line])}", markup=False)
    for h in result.held:
        console.print(f"held     ({h.reason.value}): {lines([h.line])}", markup=False)
    for c in result.cancelled:
        console.print(f"cancel   ({c.reason.value}): {lines([c.line])}", markup=False)
    console.print(
        f"cost     {_money(result.objective, result.currency)}"
        + (" (" + ", ".join(f"{k} {_money(v, result.currency)}"
                            for k, v in result.breakdown.items()) + ")"
           if result.breakdown else "")
    )
    console.print(f"solver   {result.solver} ({result.solver_status}, "
                  f"{result.solve_ms:.1f} ms)")

    used: dict[str, set[str]] = defaultdict(set)
    for s in result.shipments:
        for lq in s.lines:
            if s.source is not None:
                used[lq.line_id].add(s.source)
    for t in result.transfers:
        for lq in t.lines:
            used[lq.line_id].add(t.from_source)
    for line in result.lines:
        table = Table(title=escape(f"line {line.line_id}: {_qty(line.qty)} × {line.sku} — "
                                   f"{line.outcome or 'no outcome'}"), title_justify="left")
        table.add_column("")
        table.add_column("source")
        table.add_column("status")
        table.add_column("available", justify="right")
        table.add_column("shipment cost", justify="right")
        table.add_column("km", justify="right")
        for cand in line.candidates:
            status = cand.exclusion.value if cand.exclusion else "candidate"
            if cand.detail:
                status += f" ({cand.detail})"
            table.add_row(
                "[green]✔[/green]" if cand.source in used[line.line_id] else "",
                escape(cand.source),
                escape(status) if cand.exclusion else f"[green]{escape(status)}[/green]",
                "" if cand.available is None else _qty(cand.available),
                "" if cand.shipment_cost is None else _money(cand.shipment_cost, result.currency),
                "" if cand.distance_km is None else f"{cand.distance_km:,.0f}",
            )
        if not line.candidates:
            table.add_row("", "—", "no sources considered", "", "", "")
        console.print(table)
        alt = line.alternative
        if alt is not None:
            without = ", ".join(alt.without)
            if alt.cost_difference is None:
                console.print(f"  without {without}: {_qty(alt.short)} would not ship at all",
                              markup=False)
            else:
                instead = ", ".join(alt.sources) or "nowhere"
                console.print(f"  without {without}: from {instead}, "
                              f"{_money(alt.cost_difference, result.currency)} more",
                              markup=False)


def explain(
    orders_path: OrdersArg,
    order_id: Annotated[str, typer.Argument(help="The order to explain.")],
    network_path: NetworkOpt,
    feed_path: StockOpt,
    rules_path: RulesOpt,
    catalog_path: CatalogOpt = None,
    now: Annotated[str | None, typer.Option(
        "--now", help="Decision time (ISO-8601 with zone); default: the order's created_at.",
    )] = None,
) -> None:
    """Show one order's sourcing decision: rule, outcomes, cost and every source considered.

    Stock is the feed as loaded; earlier orders in the file reserve nothing.
    """
    from oms_sourcing._suggest import suggest

    decided_at = _parse_now(now)
    console = Console(highlight=False)
    err_console = Console(stderr=True, highlight=False)
    with reported_errors(err_console):
        loaded = load_inputs(network_path, feed_path, catalog_path, rules_path, orders_path)
        match = [o for o in loaded.orders if o.id == order_id]
        if not match:
            hint = suggest(order_id, (o.id for o in loaded.orders))
            err_console.print(
                f"error: no order {order_id!r} in {orders_path}"
                + (f"; did you mean {hint!r}?" if hint else ""),
                markup=False, soft_wrap=True,
            )
            raise typer.Exit(1)
        result = next(source_orders(match[:1], loaded.ruleset, loaded.network, loaded.ledger,
                                    loaded.catalog, now=decided_at))
    _print_result(console, result)


def register(app: typer.Typer) -> None:
    app.command()(source)
    app.command()(explain)
    app.command()(wave)
    app.command("bid-prices")(bid_prices)
