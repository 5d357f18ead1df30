"""Commands that load a network, a catalog and stock: ``demo`` and ``stock``."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from oms_sourcing.cli._common import CatalogOpt, catalog_hint, reported_errors
from oms_sourcing.cli._common import console as make_console

if TYPE_CHECKING:
    from oms_sourcing.allocation.allocate import AllocationResult

__all__ = ["register"]


def _fmt(q: Decimal) -> str:
    return f"{q:,.0f}" if q == q.to_integral_value() else f"{q.normalize():,f}"


def demo(
    folder: Annotated[Path, typer.Argument(help="Folder with network.yaml, catalog.yaml, "
                                           "stock.csv and orders.jsonl.")] = Path("examples"),
    rules_dir: Annotated[Path | None, typer.Option(
        "--rules-dir", help="Folder with priority.yaml and cost.yaml "
        "[default: FOLDER/../rulesets]")] = None,
) -> None:
    """Source the example orders with the priority and the cost ruleset and compare them."""
    from oms_sourcing.cli._common import source_orders
    from oms_sourcing.cli._explain import spent
    from oms_sourcing.formats.catalog import load_catalog
    from oms_sourcing.formats.network import load_network
    from oms_sourcing.formats.orders import load_orders
    from oms_sourcing.inventory.feeds import apply_feed, read_feed
    from oms_sourcing.inventory.stock import StockLedger
    from oms_sourcing.rules import load_ruleset

    console = make_console()
    err_console = make_console(stderr=True)
    rules_folder = rules_dir if rules_dir is not None else folder.resolve().parent / "rulesets"
    names = ("priority", "cost")
    with reported_errors(err_console):
        network = load_network(folder / "network.yaml")
        catalog = load_catalog(folder / "catalog.yaml")
        feed = read_feed(folder / "stock.csv")
        ledger = StockLedger(network.codes, catalog)
        report = apply_feed(ledger, feed)
        orders = load_orders(folder / "orders.jsonl", catalog)
        rulesets = [load_ruleset(rules_folder / f"{name}.yaml", network, catalog)
                    for name in names]

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
    console.print(
        f"orders   {len(orders)} ({pickups} pickup), {sum(line_kinds.values())} lines"
    )

    rows: list[_RunSummary] = []
    with reported_errors(err_console):
        for name, ruleset in zip(names, rulesets, strict=True):
            # Each ruleset starts from the feed's stock and reserves as it goes.
            fresh = StockLedger(network.codes, catalog)
            apply_feed(fresh, feed)
            summary = _RunSummary(f"{name}\n({ruleset.id})")
            decided = source_orders(orders, ruleset, network, fresh, catalog, apply=True)
            for order, result in zip(orders, decided, strict=True):
                # money at the lanes' prices, not the rule's weighted score: the two
                # rulesets weigh different terms, so only money compares
                summary.add(result, spent(result, order, network).total)
            rows.append(summary)

    table = Table(title=f"Sourcing {len(orders)} orders, reserving stock as each is decided")
    table.add_column("")
    for row in rows:
        table.add_column(row.name, justify="right")
    base = rows[0].cost

    def metric(label: str, cell: Callable[[_RunSummary], str]) -> None:
        table.add_row(label, *(cell(row) for row in rows))

    metric("orders", lambda r: str(r.orders))
    metric("shipments per order", lambda r: f"{r.shipments / max(r.orders, 1):.2f}")
    metric("split rate (>1 shipment)", lambda r: f"{r.split / max(r.orders, 1):.1%}")
    metric("backordered units", lambda r: _fmt(r.backordered))
    metric("held lines", lambda r: str(r.held_lines))
    metric("units shipped or transferred", lambda r: _fmt(r.shipped))
    metric(f"shipping and transfers ({network.currency})", lambda r: f"{r.cost:,.2f}")
    metric(f"cost per unit ({network.currency})",
           lambda r: f"{r.cost / r.shipped:,.3f}" if r.shipped else "—")
    metric(f"cost vs {names[0]}", lambda r: "—" if r is rows[0] or not base
           else f"{(r.cost - base) / base * 100:+.1f} %")
    console.print(table)
    for name, row in zip(names, rows, strict=True):
        counts = ", ".join(f"{n} {k}" for k, n in sorted(row.statuses.items()))
        console.print(f"{name}: {counts}")


class _RunSummary:
    """Totals of one ruleset's run over the demo orders."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.orders = 0
        self.shipments = 0
        self.split = 0
        self.backordered = Decimal(0)
        self.held_lines = 0
        self.cost = Decimal(0)
        self.shipped = Decimal(0)
        self.statuses: Counter[str] = Counter()

    def add(self, result: AllocationResult, money: Decimal) -> None:
        parcels = len(result.shipments) + len(result.transfers)
        self.orders += 1
        self.shipments += parcels
        self.split += parcels > 1
        self.backordered += sum((b.line.qty for b in result.backorders), Decimal(0))
        self.held_lines += len({h.line.line_id for h in result.held})
        self.cost += money
        self.shipped += sum((lq.qty for s in result.shipments if s.source is not None
                             for lq in s.lines), Decimal(0))
        self.shipped += sum((lq.qty for t in result.transfers for lq in t.lines), Decimal(0))
        self.statuses[result.status] += 1


def stock(
    network_path: Annotated[Path, typer.Option("--network", help="network.yaml")],
    feeds: Annotated[list[Path], typer.Argument(help="Stock feeds (CSV or JSONL), in order.")],
    catalog_path: CatalogOpt = None,
    sku: Annotated[list[str] | None, typer.Option(help="Only these SKUs.")] = None,
    partial: Annotated[bool, typer.Option(help="Apply good rows of a feed with bad rows.")]
    = False,
    stock_names: Annotated[list[str] | None, typer.Option(
        "--stock", help="Only these stocks.")] = None,
    qty: Annotated[str | None, typer.Option(
        "--qty", help="Also say whether this quantity is salable (Magento MSI's is-salable "
        "for a quantity), and why not.")] = None,
) -> None:
    """Apply stock feeds and print salable quantity per stock and SKU as TSV.

    Salable quantity counts the stock's enabled sources that ship or hand over, less
    reservations and the SKU's out-of-stock threshold (the catalog's backorder limit, else the
    stock's). With --qty, three more columns: the quantity, whether it is salable, and why.
    """
    from oms_sourcing.domain import MAX_DECIMALS, Catalog, parse_quantity
    from oms_sourcing.formats.catalog import load_catalog
    from oms_sourcing.formats.network import load_network
    from oms_sourcing.inventory.feeds import apply_feed, read_feed
    from oms_sourcing.inventory.salable import is_salable_for_qty, salable_qty
    from oms_sourcing.inventory.stock import StockLedger

    err_console = make_console(stderr=True)
    with reported_errors(err_console, hint=catalog_hint(catalog_path)):
        network = load_network(network_path)
        catalog = load_catalog(catalog_path) if catalog_path else Catalog()
        ledger = StockLedger(network.codes, catalog)
        for feed_path in feeds:
            report = apply_feed(ledger, read_feed(feed_path), partial=partial)
            err_console.print(report.summary(), markup=False)
            for problem in report.bad_rows:
                err_console.print(f"skipped {problem}", markup=False)
    wanted = sorted(set(sku)) if sku else sorted(ledger.skus())
    with reported_errors(err_console):
        names = sorted(set(stock_names)) if stock_names else sorted(network.stocks)
        for name in names:
            network.stock_sources(name)  # an unknown stock: an error with a suggestion
        requested = parse_quantity(qty, decimals=MAX_DECIMALS, field="--qty") \
            if qty is not None else None
    out = sys.stdout
    out.write("stock\tsku\tsalable" + ("\tqty\tis_salable\treason\n" if requested else "\n"))
    for name in names:
        for item in wanted:
            if requested is None:
                out.write(f"{name}\t{item}\t{salable_qty(ledger, network, name, item)}\n")
                continue
            check = is_salable_for_qty(ledger, network, name, item, requested)
            out.write(f"{name}\t{item}\t{check.salable_qty}\t{check.requested}\t"
                      f"{'yes' if check.is_salable else 'no'}\t{check.reason}\n")


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(stock)
