"""Commands that load a network, a catalog and stock: ``demo`` and ``stock``."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from oms_sourcing.errors import FileError, OmsSourcingError

__all__ = ["register"]


@contextmanager
def reported_errors(console: Console) -> Iterator[None]:
    """Turn library errors into readable messages and exit code 1, never a traceback."""
    try:
        yield
    except FileError as err:
        for problem in err.problems:
            console.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from None
    except OmsSourcingError as err:
        console.print(f"error: {err}", markup=False, highlight=False)
        raise typer.Exit(1) from None


def _fmt(q: Decimal) -> str:
    return f"{q:,.0f}" if q == q.to_integral_value() else f"{q.normalize():,f}"


def demo(
    folder: Annotated[Path, typer.Argument(help="Folder with network.yaml, catalog.yaml, "
                                           "stock.csv and orders.jsonl.")] = Path("examples"),
    top: Annotated[int, typer.Option(help="How many SKUs to show.")] = 15,
) -> None:
    """Load the example data, apply the stock feed and show salable stock against demand."""
    from oms_sourcing.formats.catalog import load_catalog
    from oms_sourcing.formats.network import load_network
    from oms_sourcing.formats.orders import load_orders
    from oms_sourcing.inventory.feeds import apply_feed, read_feed
    from oms_sourcing.inventory.stock import StockLedger

    console = Console(highlight=False)
    err_console = Console(stderr=True, highlight=False)
    with reported_errors(err_console):
        network = load_network(folder / "network.yaml")
        catalog = load_catalog(folder / "catalog.yaml")
        ledger = StockLedger(network.codes, catalog)
        report = apply_feed(ledger, read_feed(folder / "stock.csv"))
        orders = load_orders(folder / "orders.jsonl", catalog)

    kinds = Counter(s.kind.value for s in network.sources)
    console.print(f"[bold]oms_sourcing demo[/bold] — {folder}/")
    console.print(
        f"network  {len(network)} sources ("
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + f"), stocks: {', '.join(sorted(network.stocks)) or 'none'}"
    )
    console.print(f"catalog  {len(catalog)} SKUs, {len(catalog.bundles)} bundles")
    console.print(
        f"feed     {len(report.applied):,} records applied, {len(report.ignored_stale)} stale, "
        f"{len(report.duplicates)} duplicates"
    )
    line_kinds = Counter(line.kind.value for o in orders for line in o.lines)
    pickups = sum(1 for o in orders if o.delivery.value == "pickup")
    bundled = sum(1 for o in orders for line in o.lines if line.bundle)
    console.print(
        f"orders   {len(orders)} ({pickups} pickup), "
        f"{sum(line_kinds.values())} lines ("
        + ", ".join(f"{n} {k}" for k, n in sorted(line_kinds.items()))
        + f"; {bundled} bundle components)"
    )

    # Demand per (stock, SKU) from the orders' channels, against that stock's salable quantity.
    demand: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for order in orders:
        stock = network.stock_for_channel(order.channel)
        if stock is None:
            continue
        for line in order.lines:
            if line.kind.value == "regular" and catalog.stock_managed(line.sku):
                demand[(stock.name, line.sku)] += line.qty
    table = Table(title=f"Salable stock against ordered quantity — the {top} most ordered SKUs")
    table.add_column("stock")
    table.add_column("SKU")
    table.add_column("ordered", justify="right")
    table.add_column("salable", justify="right")
    table.add_column("sources", justify="right")
    table.add_column("")
    ranked = sorted(demand.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    short = 0
    for (stock_name, sku), qty in ranked:
        definition = network.stocks[stock_name]
        sources = network.stock_sources(stock_name)
        salable = ledger.salable(sku, sources, definition.out_of_stock_threshold)
        holding = sum(1 for code in sources if ledger.available(code, sku) > 0)
        flag = "[red]short[/red]" if salable < qty else ""
        short += salable < qty
        table.add_row(stock_name, sku, _fmt(qty), _fmt(salable), str(holding), flag)
    console.print(table)
    console.print(f"{short} of {len(ranked)} shown SKUs cannot cover their orders from salable "
                  "stock alone: sourcing will split, transfer or backorder them.")


def stock(
    network_path: Annotated[Path, typer.Option("--network", help="network.yaml")],
    feeds: Annotated[list[Path], typer.Argument(help="Stock feeds (CSV or JSONL), in order.")],
    catalog_path: Annotated[Path | None, typer.Option("--catalog", help="catalog.yaml")] = None,
    sku: Annotated[list[str] | None, typer.Option(help="Only these SKUs.")] = None,
    partial: Annotated[bool, typer.Option(help="Apply good rows of a feed with bad rows.")]
    = False,
) -> None:
    """Apply stock feeds and print salable quantity per stock and SKU as TSV."""
    from oms_sourcing.domain import Catalog
    from oms_sourcing.formats.catalog import load_catalog
    from oms_sourcing.formats.network import load_network
    from oms_sourcing.inventory.feeds import apply_feed, read_feed
    from oms_sourcing.inventory.stock import StockLedger

    err_console = Console(stderr=True, highlight=False)
    with reported_errors(err_console):
        network = load_network(network_path)
        catalog = load_catalog(catalog_path) if catalog_path else Catalog()
        ledger = StockLedger(network.codes, catalog)
        for feed_path in feeds:
            report = apply_feed(ledger, read_feed(feed_path), partial=partial)
            err_console.print(report.summary(), markup=False)
            for problem in report.bad_rows:
                err_console.print(f"skipped {problem}", markup=False)
    wanted = sorted(set(sku)) if sku else sorted(ledger.skus())
    out = sys.stdout
    out.write("stock\tsku\tsalable\n")
    for name in sorted(network.stocks):
        definition = network.stocks[name]
        sources = network.stock_sources(name)
        for item in wanted:
            salable = ledger.salable(item, sources, definition.out_of_stock_threshold)
            out.write(f"{name}\t{item}\t{salable}\n")


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(stock)
