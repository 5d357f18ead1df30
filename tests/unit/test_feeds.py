"""Stock feeds: reading CSV / JSONL, the four modes, versioning, and bad rows with positions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from oms_sourcing.domain import Catalog, Sku, SkuInfo
from oms_sourcing.errors import FeedError
from oms_sourcing.formats.feed import FeedRecord, feed_record_schema
from oms_sourcing.inventory.feeds import (
    FEED_COLUMNS,
    REQUIRED_COLUMNS,
    Feed,
    FeedMode,
    FeedReport,
    apply_feed,
    check_feed,
    parse_feed_rows,
    read_feed,
)
from oms_sourcing.inventory.stock import StockLedger, Version

DATA = Path(__file__).parent.parent / "data" / "feeds"
SOURCES = ("WH-BER", "WH-MUC", "ST-HAM")
CATALOG = Catalog(
    [
        SkuInfo(Sku("FABRIC-LINEN"), decimals=1),
        SkuInfo(Sku("GIFT-CARD"), stock_managed=False),
    ]
)


def at(hour: int) -> datetime:
    return datetime(2026, 11, 1, hour, tzinfo=UTC)


def row(
    source: str, sku: str, qty: object, mode: str, hour: int, record_id: str,
    status: str | None = None,
) -> dict[str, object]:
    out: dict[str, object] = {
        "source": source, "sku": sku, "qty": qty, "mode": mode,
        "effective_at": f"2026-11-01T{hour:02d}:00:00+00:00", "record_id": record_id,
    }
    if status is not None:
        out["status"] = status
    return out


def feed(*rows: Mapping[str, object]) -> Feed:
    return parse_feed_rows(rows, "memory")


@pytest.fixture
def ledger() -> StockLedger:
    """Berlin knows three SKUs (one of them not stock-managed); Munich knows one."""
    ledger = StockLedger(SOURCES, CATALOG)
    apply_feed(ledger, feed(
        row("WH-BER", "TEE-RED-M", 10, "DELTA", 5, "seed-1"),
        row("WH-BER", "MUG-BLUE", 6, "DELTA", 5, "seed-2"),
        row("WH-BER", "GIFT-CARD", 100, "DELTA", 5, "seed-3"),
        row("WH-MUC", "MUG-BLUE", 3, "DELTA", 5, "seed-4"),
    ))
    return ledger


def state(ledger: StockLedger) -> list[tuple[str, str, Decimal, bool]]:
    return [
        (s, sku, ledger.on_hand(s, sku), ledger.in_stock(s, sku))
        for sku in ledger.skus()
        for s in ledger.source_codes
    ]


# ------------------------------------------------------------------ modes


def test_a_full_feed_sets_listed_skus_and_reports_known_skus_it_left_out(
    ledger: StockLedger,
) -> None:
    report = apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 12, "FULL", 6, "f-1")))
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 12
    assert ledger.on_hand("WH-BER", "MUG-BLUE") == 6
    assert report.missing_from_full == (("WH-BER", "GIFT-CARD"), ("WH-BER", "MUG-BLUE"))
    assert [r.record_id for r in report.applied] == ["f-1"]
    assert report.zeroed == ()


def test_a_nonzero_feed_sets_unlisted_stock_managed_skus_of_its_sources_to_zero(
    ledger: StockLedger,
) -> None:
    report = apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 12, "NONZERO", 6, "nz-1")))
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 12
    assert ledger.on_hand("WH-BER", "MUG-BLUE") == 0
    assert report.zeroed == (("WH-BER", "MUG-BLUE"),)
    assert ledger.on_hand("WH-BER", "GIFT-CARD") == 100  # not stock-managed: left alone
    assert ledger.on_hand("WH-MUC", "MUG-BLUE") == 3  # no NONZERO rows for Munich


def test_a_nonzero_zero_is_versioned_at_the_feeds_effective_time(ledger: StockLedger) -> None:
    apply_feed(ledger, feed(row("WH-BER", "MUG-BLUE", 9, "DELTA", 8, "late-count")))
    report = apply_feed(ledger, feed(
        row("WH-BER", "TEE-RED-M", 12, "NONZERO", 6, "nz-1"),
        row("WH-BER", "FABRIC-LINEN", 3, "NONZERO", 7, "nz-2"),
        row("WH-BER", "TEE-RED-M", 1, "ADJUST", 9, "adj-1"),
    ))
    # the zeros take the newest NONZERO time (07:00); MUG-BLUE was counted at 08:00: stale
    assert ledger.on_hand("WH-BER", "MUG-BLUE") == 9
    (stale,) = report.ignored_stale
    assert (stale.row.sku, stale.row.line, stale.row.effective_at) == ("MUG-BLUE", 0, at(7))
    assert stale.row.record_id.startswith("WH-BER:MUG-BLUE:nonzero:")
    assert stale.superseded_by == Version(at(8), "late-count")


def test_a_source_with_full_and_nonzero_rows_has_its_unlisted_skus_zeroed(
    ledger: StockLedger,
) -> None:
    report = apply_feed(ledger, feed(
        row("WH-BER", "TEE-RED-M", 12, "FULL", 6, "f-1"),
        row("WH-BER", "FABRIC-LINEN", 1, "NONZERO", 6, "nz-1"),
    ))
    assert report.zeroed == (("WH-BER", "MUG-BLUE"),)
    assert report.missing_from_full == ()


def test_a_delta_feed_changes_only_the_listed_skus(ledger: StockLedger) -> None:
    report = apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 2, "DELTA", 6, "d-1")))
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 2
    assert ledger.on_hand("WH-BER", "MUG-BLUE") == 6
    assert report.missing_from_full == () and report.zeroed == ()


def test_an_adjust_feed_changes_stock_relatively(ledger: StockLedger) -> None:
    apply_feed(ledger, feed(
        row("WH-BER", "TEE-RED-M", -3, "ADJUST", 6, "a-1"),
        row("WH-BER", "TEE-RED-M", "2", "ADJUST", 7, "a-2"),
        row("ST-HAM", "FABRIC-LINEN", "0.5", "ADJUST", 7, "a-3"),
    ))
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 9
    assert ledger.on_hand("ST-HAM", "FABRIC-LINEN") == Decimal("0.5")


def test_the_status_column_sets_the_stock_status(ledger: StockLedger) -> None:
    apply_feed(ledger, feed(row("WH-BER", "MUG-BLUE", 6, "DELTA", 6, "s-1", "out_of_stock")))
    assert ledger.in_stock("WH-BER", "MUG-BLUE") is False
    apply_feed(ledger, feed(row("WH-BER", "MUG-BLUE", 6, "DELTA", 7, "s-2")))
    assert ledger.in_stock("WH-BER", "MUG-BLUE") is True


def test_applying_the_same_feed_twice_changes_nothing_the_second_time(
    ledger: StockLedger,
) -> None:
    stock_feed = feed(
        row("WH-BER", "TEE-RED-M", 12, "NONZERO", 6, "nz-1"),
        row("WH-MUC", "MUG-BLUE", 2, "ADJUST", 6, "adj-1"),
        row("ST-HAM", "TEE-RED-M", 4, "FULL", 6, "full-1"),
    )
    apply_feed(ledger, stock_feed)
    once = state(ledger)
    again = apply_feed(ledger, stock_feed)
    assert state(ledger) == once
    assert again.applied == () and again.zeroed == ()
    assert [r.record_id for r in again.duplicates] == ["nz-1", "adj-1", "full-1"]


def test_a_nonzero_feed_also_zeroes_a_sku_whose_older_delta_arrives_after_it(
    ledger: StockLedger,
) -> None:
    nonzero = feed(row("WH-BER", "TEE-RED-M", 12, "NONZERO", 9, "nz-9"))
    late_delta = feed(row("WH-BER", "LAMP-OAK", 4, "DELTA", 7, "lamp-07"))
    apply_feed(ledger, nonzero)
    report = apply_feed(ledger, late_delta)
    # in effective_at order the 07:00 count came first and the 09:00 NONZERO zeroed it
    assert ledger.on_hand("WH-BER", "LAMP-OAK") == 0
    (stale,) = report.ignored_stale
    assert stale.row.record_id == "lamp-07"
    assert stale.superseded_by.effective_at == at(9)
    in_order = StockLedger(SOURCES, CATALOG)
    apply_feed(in_order, late_delta)
    apply_feed(in_order, nonzero)
    assert in_order.on_hand("WH-BER", "LAMP-OAK") == 0


def test_a_nonzero_feed_does_not_zero_a_sku_first_counted_after_it(ledger: StockLedger) -> None:
    apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 12, "NONZERO", 9, "nz-9")))
    apply_feed(ledger, feed(row("WH-BER", "LAMP-OAK", 4, "DELTA", 10, "lamp-10")))
    apply_feed(ledger, feed(row("WH-BER", "LAMP-OAK", 1, "ADJUST", 11, "lamp-sold")))
    assert ledger.on_hand("WH-BER", "LAMP-OAK") == 5


def test_an_adjustment_of_a_new_sku_after_a_nonzero_feed_counts_from_its_zero(
    ledger: StockLedger,
) -> None:
    apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 12, "NONZERO", 9, "nz-9")))
    apply_feed(ledger, feed(row("WH-BER", "LAMP-OAK", 2, "ADJUST", 8, "lamp-return-08")))
    apply_feed(ledger, feed(row("WH-BER", "LAMP-OAK", 3, "ADJUST", 10, "lamp-return-10")))
    assert ledger.on_hand("WH-BER", "LAMP-OAK") == 3  # the 08:00 return is in the 09:00 zero


def test_a_nonzero_feed_sent_again_after_other_feeds_changes_nothing(
    ledger: StockLedger,
) -> None:
    nonzero = feed(row("WH-BER", "TEE-RED-M", 12, "NONZERO", 9, "nz-9"))
    apply_feed(ledger, nonzero)
    apply_feed(ledger, feed(row("WH-BER", "LAMP-OAK", 4, "DELTA", 7, "lamp-07")))
    apply_feed(ledger, feed(row("WH-BER", "VASE-TALL", 2, "DELTA", 10, "vase-10")))
    before = state(ledger)
    again = apply_feed(ledger, nonzero)
    assert state(ledger) == before
    assert ledger.on_hand("WH-BER", "VASE-TALL") == 2
    assert again.zeroed == () and again.applied == () and again.ignored_stale == ()


def test_a_nonzero_feed_with_its_rows_in_another_order_is_the_same_feed(
    ledger: StockLedger,
) -> None:
    rows = (row("WH-BER", "TEE-RED-M", 12, "NONZERO", 9, "nz-a"),
            row("WH-BER", "FABRIC-LINEN", 3, "NONZERO", 9, "nz-b"))
    apply_feed(ledger, feed(*rows))
    apply_feed(ledger, feed(row("WH-BER", "LAMP-OAK", 4, "DELTA", 7, "lamp-07")))
    before = state(ledger)
    again = apply_feed(ledger, feed(*reversed(rows)))
    assert state(ledger) == before
    assert again.zeroed == () and again.ignored_stale == ()


def test_the_stock_status_of_a_full_row_older_than_a_nonzero_feed_is_superseded(
    ledger: StockLedger,
) -> None:
    apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 12, "NONZERO", 9, "nz-9")))
    apply_feed(ledger, feed(row("WH-BER", "LAMP-OAK", 4, "FULL", 8, "lamp-08", "out_of_stock")))
    assert ledger.in_stock("WH-BER", "LAMP-OAK") is True  # the 09:00 zero states in_stock
    assert ledger.on_hand("WH-BER", "LAMP-OAK") == 0


def test_a_row_older_than_the_last_count_is_ignored_and_reported(ledger: StockLedger) -> None:
    report = apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 99, "FULL", 4, "old")))
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 10
    (stale,) = report.ignored_stale
    assert stale.row.record_id == "old"
    assert stale.superseded_by == Version(at(5), "seed-1")


def test_a_repeated_row_inside_one_feed_is_applied_once(ledger: StockLedger) -> None:
    report = apply_feed(ledger, feed(
        row("WH-BER", "TEE-RED-M", 1, "ADJUST", 6, "same"),
        row("WH-BER", "TEE-RED-M", "1", "ADJUST", 6, "same"),
    ))
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 11
    assert [r.line for r in report.duplicates] == [2]


def test_a_report_sums_itself_up_in_one_line(ledger: StockLedger) -> None:
    report = apply_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 12, "FULL", 6, "f-1")))
    assert report.summary() == (
        "memory: applied 1, stale 0, duplicates 0, missing from FULL 2, zeroed 0, bad rows 0"
    )


# ------------------------------------------------------------------ reading files


def test_a_csv_feed_is_read_with_its_header() -> None:
    stock_feed = read_feed(DATA / "berlin_full.csv")
    assert stock_feed.ok
    assert [(r.line, r.sku, r.qty, r.mode, r.in_stock) for r in stock_feed.rows] == [
        (2, "TEE-RED-M", Decimal(12), FeedMode.FULL, True),
        (3, "FABRIC-LINEN", Decimal("7.5"), FeedMode.FULL, None),
        (4, "MUG-BLUE", Decimal(0), FeedMode.FULL, False),
    ]
    ledger = StockLedger(SOURCES, CATALOG)
    apply_feed(ledger, stock_feed)
    assert ledger.on_hand("WH-BER", "FABRIC-LINEN") == Decimal("7.5")
    assert ledger.in_stock("WH-BER", "MUG-BLUE") is False


def test_a_jsonl_feed_takes_exact_json_numbers_and_skips_blank_lines() -> None:
    stock_feed = read_feed(DATA / "munich_mixed.jsonl")
    assert stock_feed.ok
    assert [(r.line, r.qty) for r in stock_feed.rows] == [
        (1, Decimal(5)), (2, Decimal("2.5")), (4, Decimal(-2)),
    ]
    assert stock_feed.rows[0].effective_at == at(6)  # 07:00+01:00


def test_an_ndjson_suffix_is_read_as_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "feed.ndjson"
    path.write_text((DATA / "munich_mixed.jsonl").read_text())
    assert len(read_feed(path).rows) == 3


def test_a_csv_header_may_carry_a_byte_order_mark_and_capitals(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(
        "\ufeffSource,SKU,Qty,Mode,Effective_At,Record_Id\n"
        "WH-BER,TEE-RED-M,3,delta,2026-11-01T06:00:00Z,x-1\n",
        encoding="utf-8",
    )
    stock_feed = read_feed(path)
    assert stock_feed.ok
    assert stock_feed.rows[0].mode is FeedMode.DELTA


def test_a_quoted_field_spanning_lines_keeps_later_line_numbers_right(tmp_path: Path) -> None:
    path = tmp_path / "multiline.csv"
    path.write_text(
        "source,sku,qty,mode,effective_at,record_id\n"
        'WH-BER,"TEE\nRED",1,DELTA,2026-11-01T06:00:00Z,q-1\n'
        "WH-BRE,TEE-RED-M,1,DELTA,2026-11-01T06:00:00Z,q-2\n"
    )
    stock_feed = read_feed(path)
    assert stock_feed.rows[0].line == 2
    problems = check_feed(StockLedger(SOURCES), stock_feed)
    assert [str(p).split(": ")[0] for p in problems] == [f"{path}:4:1"]


def test_a_header_only_feed_is_empty_and_valid(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(",".join(FEED_COLUMNS) + "\n")
    stock_feed = read_feed(path)
    assert stock_feed.ok and stock_feed.rows == ()


def test_an_unknown_feed_suffix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feed.xlsx"
    path.write_text("x")
    with pytest.raises(FeedError, match=r"unknown feed format '\.xlsx'"):
        read_feed(path)


def test_a_missing_feed_file_is_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read feed"):
        read_feed(tmp_path / "nowhere.csv")


def test_a_feed_that_is_not_utf8_is_a_feed_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("source,sku\nWH-BER,T\xe9\n".encode("latin-1"))
    with pytest.raises(FeedError, match="not UTF-8"):
        read_feed(path)


# ------------------------------------------------------------------ bad rows

BAD_CSV = [
    (3, 1, "unknown source 'WH-BRE'; did you mean 'WH-BER'?"),
    (4, 3, "qty must be a number, got 'three'"),
    (5, 3, "qty must be a finite number"),
    (6, 3, "must not be negative"),
    (7, 3, "qty 1.5 is too precise for SKU 'TEE-RED-M', which allows whole units"),
    (8, 4, "unknown mode 'FUL'; did you mean 'FULL'?"),
    (9, 5, "effective_at 'yesterday' is not an ISO-8601 timestamp"),
    (10, 5, "has no time zone"),
    (11, 6, "missing value for 'record_id'"),
    (12, 6, "record_id 'ber-1' was already used on line 2 for a different record"),
    (13, 7, "unknown status 'sold_out'"),
    (14, 5, "missing value for 'effective_at'"),
    (14, 6, "missing value for 'record_id'"),
    (15, 8, "row has 8 fields but the header has 7"),
]


@pytest.mark.parametrize(("line", "col", "fragment"), BAD_CSV)
def test_each_bad_csv_row_is_reported_at_its_line_and_column(
    ledger: StockLedger, line: int, col: int, fragment: str
) -> None:
    path = str(DATA / "bad_rows.csv")
    before = state(ledger)
    with pytest.raises(FeedError) as info:
        apply_feed(ledger, read_feed(path))
    found = [str(p) for p in info.value.problems if (p.line, p.column) == (line, col)]
    assert len(found) == 1
    assert found[0].startswith(f"{path}:{line}:{col}: ")
    assert fragment in found[0]
    assert state(ledger) == before


def test_a_feed_error_lists_every_bad_row_and_nothing_else(ledger: StockLedger) -> None:
    with pytest.raises(FeedError) as info:
        apply_feed(ledger, read_feed(DATA / "bad_rows.csv"))
    assert [(p.line, p.column) for p in info.value.problems] == [(ln, c) for ln, c, _ in BAD_CSV]
    assert str(info.value).splitlines()[0].endswith(
        "bad_rows.csv:3:1: unknown source 'WH-BRE'; did you mean 'WH-BER'?"
    )


def test_a_partial_application_applies_the_good_rows_and_reports_the_bad(
    ledger: StockLedger,
) -> None:
    report = apply_feed(ledger, read_feed(DATA / "bad_rows.csv"), partial=True)
    assert [r.line for r in report.applied] == [2, 16]
    assert ledger.on_hand("WH-BER", "TEE-RED-M") == 12
    assert ledger.on_hand("WH-MUC", "MUG-BLUE") == 4
    assert ledger.on_hand("WH-BER", "MUG-BLUE") == 6
    assert [(p.line, p.column) for p in report.bad_rows] == [(ln, c) for ln, c, _ in BAD_CSV]
    assert report.missing_from_full == (("WH-BER", "GIFT-CARD"), ("WH-BER", "MUG-BLUE"))


BAD_JSONL = [
    (2, "missing field 'record_id'"),
    (3, "invalid JSON"),
    (5, "unknown field 'warehouse'"),
    (6, "qty must be a finite number"),
    (7, "qty 2.5 is too precise for SKU 'TEE-RED-M'"),
    (8, "a feed record must be an object"),
    (9, "effective_at must be an ISO-8601 string, got 1762000000"),
    (10, "source must be a string, got 7"),
    (10, "qty must be a number, got True"),
]


@pytest.mark.parametrize(("line", "fragment"), BAD_JSONL)
def test_each_bad_jsonl_line_is_reported_at_its_line(
    ledger: StockLedger, line: int, fragment: str
) -> None:
    path = str(DATA / "bad_rows.jsonl")
    before = state(ledger)
    with pytest.raises(FeedError) as info:
        apply_feed(ledger, read_feed(path))
    found = [str(p) for p in info.value.problems if p.line == line and fragment in p.message]
    assert len(found) == 1
    assert found[0].startswith(f"{path}:{line}:1: ")
    assert state(ledger) == before


def test_every_bad_jsonl_line_is_listed(ledger: StockLedger) -> None:
    problems = check_feed(ledger, read_feed(DATA / "bad_rows.jsonl"))
    assert [p.line for p in problems] == [ln for ln, _ in BAD_JSONL]


def test_a_csv_header_missing_a_column_is_reported_on_line_one(
    ledger: StockLedger, tmp_path: Path
) -> None:
    path = tmp_path / "no_mode.csv"
    path.write_text(
        "source,sku,qty,effective_at,record_id\nWH-BER,TEE-RED-M,1,2026-11-01T06:00:00Z,m-1\n"
    )
    before = state(ledger)
    with pytest.raises(FeedError) as info:
        apply_feed(ledger, read_feed(path))
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{path}:1:1: missing column(s) mode")
    assert state(ledger) == before


def test_an_unknown_csv_column_suggests_the_one_meant(
    ledger: StockLedger, tmp_path: Path
) -> None:
    path = tmp_path / "quantity.csv"
    path.write_text(
        "source,sku,quantity,mode,effective_at,record_id\n"
        "WH-BER,TEE-RED-M,1,DELTA,2026-11-01T06:00:00Z,m-1\n"
    )
    with pytest.raises(FeedError) as info:
        apply_feed(ledger, read_feed(path))
    messages = [str(p) for p in info.value.problems]
    assert f"{path}:1:3: unknown column 'quantity'; did you mean 'qty'?" in messages
    assert any(m.startswith(f"{path}:1:1: missing column(s) qty") for m in messages)


def test_an_empty_csv_file_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    (problem,) = read_feed(path).problems
    assert str(problem).startswith(f"{path}:1:1: empty feed")


def test_in_memory_rows_are_numbered_from_one(ledger: StockLedger) -> None:
    problems = check_feed(ledger, feed(
        row("WH-BER", "TEE-RED-M", 1, "DELTA", 6, "ok"),
        row("WH-BER", "TEE-RED-M", 1, "SNAPSHOT", 6, "bad"),
        {"source": "WH-BER"},
    ))
    assert [str(p).split(": ")[0] for p in problems] == ["memory:2:1"] + ["memory:3:1"] * 5


def test_an_absolute_row_may_not_be_negative_but_an_adjustment_may(ledger: StockLedger) -> None:
    problems = check_feed(ledger, feed(
        row("WH-BER", "TEE-RED-M", -1, "DELTA", 6, "neg-delta"),
        row("WH-BER", "TEE-RED-M", -1, "ADJUST", 6, "neg-adjust"),
    ))
    assert [(p.line, "only ADJUST rows may be negative" in p.message) for p in problems] == [
        (1, True)
    ]


def test_a_too_large_quantity_is_a_bad_row(ledger: StockLedger) -> None:
    (problem,) = check_feed(ledger, feed(row("WH-BER", "TEE-RED-M", 10**16, "DELTA", 6, "big")))
    assert "too large" in problem.message


def test_a_bad_feed_applied_partially_reports_an_empty_result_when_no_row_is_good(
    ledger: StockLedger,
) -> None:
    before = state(ledger)
    report = apply_feed(ledger, feed(row("NOWHERE", "TEE-RED-M", 1, "DELTA", 6, "x")),
                        partial=True)
    assert isinstance(report, FeedReport)
    assert report.applied == () and len(report.bad_rows) == 1
    assert state(ledger) == before


# ------------------------------------------------------------------ the documented format


def test_the_feed_record_model_has_the_parsers_columns() -> None:
    assert tuple(FeedRecord.model_fields) == FEED_COLUMNS
    schema = feed_record_schema()
    assert tuple(schema["required"]) == REQUIRED_COLUMNS
    assert schema["additionalProperties"] is False
    assert schema["properties"]["mode"]["enum"] == [m.value for m in FeedMode]


def test_the_documented_examples_are_valid_feed_rows(ledger: StockLedger) -> None:
    examples = feed_record_schema()["examples"]
    for example in examples:
        FeedRecord.model_validate(example)
    stock_feed = parse_feed_rows(examples, "examples")
    assert stock_feed.ok
    assert check_feed(ledger, stock_feed) == ()
