"""Feeds of all four modes end in one state whatever order they arrive in (hypothesis).

The specification is :func:`expected_state`, computed from the set of records alone: per
(source, SKU) cell the newest absolute statement — a FULL / NONZERO / DELTA row, or the implicit
0 of a NONZERO feed of that source that does not list the SKU — plus the adjustments newer than
it; the stock status of the newest record that states one. Each feed covers its own band of hours
(feed ``k``: hours ``4k`` to ``4k + 3``), so applying the feeds in list order is applying them in
``effective_at`` order.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from oms_sourcing.domain import Catalog, Sku, SkuInfo
from oms_sourcing.inventory.feeds import Feed, apply_feed, parse_feed_rows
from oms_sourcing.inventory.stock import StockLedger

SOURCES = ("WH-BER", "ST-HAM")
SKUS = ("TEE-RED-M", "MUG-BLUE", "GIFT-CARD")  # the gift card's stock is not managed
CATALOG = Catalog([SkuInfo(Sku("GIFT-CARD"), stock_managed=False)])
STATUS = {None: None, "in_stock": True, "out_of_stock": False}

Row = tuple[str, str, str, int, int, str | None]  # mode, source, sku, qty, hour offset, status


def at(hour: int) -> datetime:
    return datetime(2026, 11, 1, hour, tzinfo=UTC)


def parsed(k: int, rows: list[Row]) -> Feed:
    stock_feed = parse_feed_rows([
        {
            "source": source, "sku": sku, "mode": mode,
            "qty": str(qty if mode == "ADJUST" else abs(qty)),
            "effective_at": at(4 * k + offset).isoformat(), "record_id": f"f{k}-{n}",
            "status": status,
        }
        for n, (mode, source, sku, qty, offset, status) in enumerate(rows)
    ], f"feed-{k}")
    assert stock_feed.ok
    return stock_feed


def state(ledger: StockLedger) -> list[tuple[Any, ...]]:
    return [
        (s, sku, ledger.on_hand(s, sku), ledger.in_stock(s, sku)) for s in SOURCES for sku in SKUS
    ] + [ledger.known_skus(s) for s in SOURCES]


def expected_state(feeds: list[list[Row]]) -> list[tuple[Any, ...]]:
    """The state the records call for, from the set of records alone (no ledger)."""
    # per cell: (version, qty, status, is_absolute); versions (hour, record id) never tie
    # across feeds (disjoint hours) and a NONZERO zero never meets a row of its own feed
    facts: dict[tuple[str, str], list[tuple[tuple[int, str], int, bool | None, bool]]] = {}
    for k, rows in enumerate(feeds):
        for n, (mode, source, sku, qty, offset, status) in enumerate(rows):
            absolute = mode != "ADJUST"
            stated = STATUS[status]
            if absolute and stated is None:
                stated = True
            facts.setdefault((source, sku), []).append(
                ((4 * k + offset, f"f{k}-{n}"), qty if not absolute else abs(qty), stated,
                 absolute)
            )
    for k, rows in enumerate(feeds):
        for source in SOURCES:
            hours = [4 * k + r[4] for r in rows if r[0] == "NONZERO" and r[1] == source]
            if not hours:
                continue
            listed = {r[2] for r in rows if r[1] == source}
            for sku in SKUS:
                if sku != "GIFT-CARD" and sku not in listed and (source, sku) in facts:
                    facts[(source, sku)].append(((max(hours), "~zero"), 0, True, True))
    out: list[tuple[Any, ...]] = []
    for source in SOURCES:
        for sku in SKUS:
            cell = facts.get((source, sku), [])
            bases = [f for f in cell if f[3]]
            base = max(bases) if bases else None
            on_hand = base[1] if base else 0
            on_hand += sum(q for v, q, _, a in cell if not a and (base is None or v > base[0]))
            stating = [f for f in cell if f[2] is not None]
            in_stock = max(stating)[2] if stating else True
            out.append((source, sku, Decimal(on_hand), in_stock))
    return out + [
        tuple(sorted(sku for (s, sku), cell in facts.items() if s == source and cell))
        for source in SOURCES
    ]


feed_row = st.tuples(
    st.sampled_from(["FULL", "NONZERO", "DELTA", "ADJUST"]),
    st.sampled_from(SOURCES),
    st.sampled_from(SKUS),
    st.integers(-5, 9),
    st.integers(0, 3),
    st.sampled_from([None, "in_stock", "out_of_stock"]),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(feed_row, min_size=1, max_size=4), min_size=1, max_size=4),
    st.lists(st.integers(0, 3), max_size=3),
)
def test_feeds_of_every_mode_in_every_order_and_sent_again_end_in_one_state(
    feeds: list[list[Row]], resent: list[int],
) -> None:
    parsed_feeds = [parsed(k, rows) for k, rows in enumerate(feeds)]
    expected = expected_state(feeds)
    by_time = StockLedger(SOURCES, CATALOG)
    for stock_feed in parsed_feeds:
        apply_feed(by_time, stock_feed)
    assert state(by_time) == expected
    for order in itertools.permutations(parsed_feeds):
        ledger = StockLedger(SOURCES, CATALOG)
        for stock_feed in order:
            apply_feed(ledger, stock_feed)
        assert state(ledger) == expected, [f.path for f in order]
        for k in resent:  # a feed sent again, after the others, changes nothing
            again = apply_feed(ledger, order[k % len(order)])
            assert state(ledger) == expected
            assert again.applied == () and again.zeroed == ()
