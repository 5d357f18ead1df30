"""Commands that source orders: ``source`` (JSON per order), ``wave`` (all orders jointly) and
``explain`` (one order, for a person)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from oms_sourcing.cli._common import (
    BidPricesOpt,
    CatalogOpt,
    Loaded,
    NetworkOpt,
    OrdersArg,
    RulesOpt,
    StockOpt,
    catalog_hint,
    console,
    load_inputs,
    parse_now,
    reported_errors,
    reserve_result,
    source_orders,
    warn_unknown_skus,
)

if TYPE_CHECKING:
    from oms_sourcing.allocation.lookahead import BidPrices
    from oms_sourcing.allocation.wave import WaveResult
    from oms_sourcing.rules.model import Ruleset

__all__ = ["Loaded", "bid_prices", "explain", "load_inputs", "read_bid_prices", "register",
           "reserve_result", "source", "source_orders", "wave"]


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
    decided_at = parse_now(now)
    err_console = console(stderr=True)
    with reported_errors(err_console, hint=catalog_hint(catalog_path)):
        loaded = load_inputs(network_path, feed_path, catalog_path, rules_path, orders_path)
        if not loaded.orders:
            err_console.print(f"no orders in {orders_path}", markup=False, soft_wrap=True)
            return
        out = sys.stdout

        def warn(order_id: str, line_ids: list[str]) -> None:
            err_console.print(f"warning: order {order_id}: the ledger refused to reserve lines "
                              f"{', '.join(line_ids)} (insufficient stock; no line of the "
                              "order was newly reserved)", markup=False, soft_wrap=True)

        prices = read_bid_prices(prices_path) if prices_path else None
        for result in source_orders(loaded.orders, loaded.ruleset, loaded.network,
                                    loaded.ledger, loaded.catalog, now=decided_at, apply=apply,
                                    on_refused=warn, bid_prices=prices):
            warn_unknown_skus(err_console, result)
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
    decided_at = parse_now(now)
    err_console = console(stderr=True)
    with reported_errors(err_console, hint=catalog_hint(catalog_path)):
        loaded = load_inputs(network_path, feed_path, catalog_path, rules_path, orders_path)
        if not loaded.orders:
            err_console.print(f"no orders in {orders_path}", markup=False, soft_wrap=True)
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
            warn_unknown_skus(err_console, one)
            sys.stdout.write(json.dumps(one.to_dict(explain=not brief)) + "\n")
        err_console.print(wave_summary(result, loaded.ruleset, loaded.network.currency),
                          markup=False, soft_wrap=True)


def _qty(d: Decimal) -> str:
    return str(d.quantize(Decimal(1))) if d == d.to_integral_value() else format(d.normalize(), "f")


def wave_summary(result: WaveResult, ruleset: Ruleset, currency: str) -> str:
    """The wave in two sentences: its joint part against one-by-one sourcing (quantities in
    each SKU's own unit, e.g. metres), and why the other orders were not sourced jointly."""
    n = len(result.results)
    ranked = 0
    for one in result.results:
        policy = ruleset.defaults if one.rule is None else next(
            (r.policy for r in ruleset.rules if r.name == one.rule), ruleset.defaults)
        ranked += policy.uses_rank
    joint = result.joint_orders
    head = f"wave of {n} orders, {joint} sourced jointly"
    if joint:
        head += (f": score {result.cost:,.2f} (the rules' weighted terms, not {currency}) "
                 f"and {_qty(result.short_qty)} units "
                 f"short (each SKU in its own unit, e.g. metres); the same {joint} one by "
                 f"one: score {result.per_order_cost:,.2f} "
                 f"and {_qty(result.per_order_short_qty)} short; {result.status}, gap "
                 f"{result.gap:.2%} to the bound; {result.seconds:.1f} s")
    else:
        head += f"; {result.seconds:.1f} s"
    rest = n - joint
    if not rest:
        return head
    why: list[str] = []
    if ranked:
        why.append(f"{ranked} under a rank: rule, which fills sources in a fixed order one "
                   "order at a time (Magento MSI's way), so there is nothing to optimise "
                   "jointly")
    if rest > ranked:
        why.append(f"{rest - ranked} with bundles, one source per line, minimum shipment "
                   "values, hold-until-complete, virtual lines, a refusal, or a source whose "
                   "capacity the wave could exhaust")
    return head + f". The other {rest} kept their one-by-one plans: " + "; ".join(why) + "."


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

    err_console = console(stderr=True)
    with reported_errors(err_console, hint=catalog_hint(catalog_path)):
        per_unit = parse_money(unfilled_cost, minor_digits=6, field="--unfilled-cost")
        network = load_network(network_path)
        catalog = load_catalog(catalog_path) if catalog_path else Catalog()
        ledger = StockLedger(network.codes, catalog)
        apply_feed(ledger, read_feed(feed_path))
        history = load_orders(history_path, catalog)
        if not history:
            err_console.print(f"no orders in {history_path}", markup=False, soft_wrap=True)
            raise typer.Exit(1)
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


def explain(
    orders_path: OrdersArg,
    order_id: Annotated[str, typer.Argument(help="The order to explain.")],
    network_path: NetworkOpt,
    feed_path: StockOpt,
    rules_path: RulesOpt,
    catalog_path: CatalogOpt = None,
    now: Annotated[str | None, typer.Option(
        "--now", help="Decision time (ISO-8601 with zone); default: each order's created_at.",
    )] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="The decision source --apply makes: the orders before this one in the "
                        "file are sourced first and reserve their stock.",
    )] = False,
    all_sources: Annotated[bool, typer.Option(
        "--all-sources", help="Also list the sources outside the sales channel's stock.",
    )] = False,
) -> None:
    """Show one order's sourcing decision for a person: outcomes and their reasons, the money
    spent, the rule's score, why each line's source won, and the sources considered.

    Without --apply this is the decision source makes without --apply (stock as the feed
    left it); with --apply, the one source --apply makes (earlier orders reserve first).
    """
    from oms_sourcing._suggest import suggest
    from oms_sourcing.cli._explain import print_explanation
    from oms_sourcing.rules.select import select

    decided_at = parse_now(now)
    out = console()
    err_console = console(stderr=True)
    with reported_errors(err_console, hint=catalog_hint(catalog_path)):
        loaded = load_inputs(network_path, feed_path, catalog_path, rules_path, orders_path)
        position = next((n for n, o in enumerate(loaded.orders) if o.id == order_id), None)
        if position is None:
            hint = suggest(order_id, (o.id for o in loaded.orders))
            err_console.print(
                f"error: no order {order_id!r} in {orders_path}"
                + (f"; did you mean {hint!r}?" if hint else ""),
                markup=False, soft_wrap=True,
            )
            raise typer.Exit(1)
        order = loaded.orders[position]
        if apply:
            for _ in source_orders(loaded.orders[:position], loaded.ruleset, loaded.network,
                                   loaded.ledger, loaded.catalog, now=decided_at, apply=True):
                pass
            note = (f"the feed, less what the {position} orders before this one in the file "
                    "reserved (the decision source --apply makes)") if position else (
                    "the feed as loaded; no order comes before this one in the file (the "
                    "decision source --apply makes)")
        else:
            note = ("the feed as loaded; orders before this one in the file reserve nothing "
                    "(the decision source makes; add --apply for source --apply's)")
        result = next(source_orders([order], loaded.ruleset, loaded.network, loaded.ledger,
                                    loaded.catalog, now=decided_at))
        warn_unknown_skus(err_console, result)
        policy = select(order, loaded.ruleset, loaded.catalog).policy
        print_explanation(out, result, order, loaded.network, policy, stock_note=note,
                          all_sources=all_sources)


def register(app: typer.Typer) -> None:
    app.command()(source)
    app.command()(explain)
    app.command()(wave)
    app.command("bid-prices")(bid_prices)
