"""What the commands share: consoles, error reporting, loading the input files, the shared
options, and sourcing a file of orders in turn.

Every command module imports from here and none from another, so no two command modules depend
on each other.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from oms_sourcing.errors import FileError, OmsSourcingError

if TYPE_CHECKING:
    from oms_sourcing.allocation.allocate import AllocationResult
    from oms_sourcing.allocation.lookahead import BidPrices
    from oms_sourcing.domain import Catalog, Order
    from oms_sourcing.inventory.network import SourceNetwork
    from oms_sourcing.inventory.stock import StockLedger
    from oms_sourcing.rules.model import Ruleset

__all__ = [
    "BidPricesOpt",
    "CatalogOpt",
    "Loaded",
    "NetworkOpt",
    "OrdersArg",
    "RulesOpt",
    "StockOpt",
    "console",
    "load_inputs",
    "parse_now",
    "reported_errors",
    "reserve_result",
    "source_orders",
    "warn_unknown_skus",
]

#: Width of output that does not go to a terminal: wide enough that no line is ever cut.
UNBOUNDED = 10_000

#: Said when files fail to load and no catalog was given.
NO_CATALOG_HINT = (
    "hint: no --catalog was given, so every SKU counts in whole units and none is a bundle; "
    "data with fractional quantities (the bundled examples sell fabric in tenths of a "
    "metre) needs its catalog, e.g. --catalog examples/catalog.yaml"
)


class _Console(Console):
    """rich's console, but a reader that goes away (``| head``) raises ``BrokenPipeError`` for
    the command wrapper to end quietly with status 0 (rich's own handler exits with 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def console(*, stderr: bool = False) -> Console:
    """A console for stdout (or stderr): wrapped to the terminal's width on a terminal, never
    cut when written to a file or a pipe."""
    stream: TextIO = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return _Console(file=stream, stderr=stderr, highlight=False,
                   width=None if terminal else UNBOUNDED, soft_wrap=not terminal)


@contextmanager
def reported_errors(out: Console, *, hint: str | None = None) -> Iterator[None]:
    """Turn library errors into readable messages and exit code 1, never a traceback.

    ``hint`` is printed after the problems (e.g. what a missing option may have caused).
    """
    try:
        yield
    except FileError as err:
        for problem in err.problems:
            out.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        if hint:
            out.print(hint, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except OmsSourcingError as err:
        out.print(f"error: {err}", markup=False, highlight=False, soft_wrap=True)
        if hint:
            out.print(hint, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def catalog_hint(catalog_path: Path | None) -> str | None:
    """The hint to print when loading fails: only when no catalog was given."""
    return NO_CATALOG_HINT if catalog_path is None else None


@dataclass(frozen=True, slots=True)
class Loaded:
    """Everything ``source``, ``wave`` and ``explain`` read from files."""

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


def warn_unknown_skus(err: Console, result: AllocationResult) -> None:
    """A warning on stderr for each line cancelled because the catalog does not know its SKU."""
    from oms_sourcing.domain import Reason

    for c in result.cancelled:
        if c.reason is Reason.UNKNOWN_SKU:
            err.print(f"warning: order {result.order_id} line {c.line.line_id}: SKU "
                      f"{c.line.sku!r} is not in the catalog; the line is cancelled "
                      f"({Reason.UNKNOWN_SKU.value})", markup=False, soft_wrap=True)


def parse_now(value: str | None) -> datetime | None:
    """``--now`` as an aware datetime (``None`` when not given).

    Raises:
        typer.BadParameter: not ISO 8601, or without a time zone (the message suggests the
            same time in UTC, written so that ``--now`` accepts it).
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 date and time, e.g. "
                                 "2026-11-05T12:00:00+00:00") from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no time zone; try "
                                 f"{parsed.replace(tzinfo=UTC).isoformat()}")
    return parsed


CATALOG_HELP = ("catalog.yaml: needed when some SKU is sold in fractions (the bundled "
                "examples' fabric), is a bundle, allows backorders or is not stock-managed; "
                "without it every SKU counts in whole units")

NetworkOpt = Annotated[Path, typer.Option("--network", help="network.yaml")]
StockOpt = Annotated[Path, typer.Option("--stock", help="Stock feed (CSV or JSONL).")]
CatalogOpt = Annotated[Path | None, typer.Option("--catalog", help=CATALOG_HELP)]
RulesOpt = Annotated[Path, typer.Option("--rules", help="Ruleset YAML file.")]
OrdersArg = Annotated[Path, typer.Argument(help="Orders (JSONL, or JSON object/list).")]
BidPricesOpt = Annotated[Path | None, typer.Option(
    "--bid-prices", help="CSV of source,sku,price (from bid-prices) for rules that weigh "
                         "stock_value.")]
