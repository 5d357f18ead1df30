from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from oms_sourcing.domain import BackorderMode, LineKind
from oms_sourcing.errors import CatalogFileError, OrderFileError
from oms_sourcing.formats.catalog import load_catalog, parse_catalog
from oms_sourcing.formats.orders import load_orders, order_to_dict, parse_order

CATALOG = """\
skus:
  - {sku: TEE-RED-M, tags: [apparel]}
  - sku: FABRIC-LINEN
    decimal_qty: 1
    backorders: {allow_until: 10}
  - {sku: GIFTCARD-50, stock_managed: false}
  - {sku: SPRAY-PAINT, tags: [hazmat], backorders: allow}
  - {sku: PAN-24}
  - {sku: LID-24}
bundles:
  - sku: KIT-PAN
    components: [{sku: PAN-24, qty: 1}, {sku: LID-24, qty: 1}]
"""


def good_order(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "1001",
        "created_at": "2026-11-01T10:00:00+00:00",
        "channel": "web_eu",
        "shipping": {"method": "express", "address": {"country": "de", "postcode": 10115}},
        "lines": [{"id": "1", "sku": "FABRIC-LINEN", "qty": Decimal("2.5"),
                   "unit_price": "12.90"}],
    }
    base.update(changes)
    return base


def test_the_catalog_compiles_settings_and_bundles() -> None:
    catalog = parse_catalog(CATALOG, "catalog.yaml")
    assert catalog.decimals("FABRIC-LINEN") == 1
    assert catalog.info("FABRIC-LINEN").backorders.mode is BackorderMode.ALLOW_UNTIL
    assert catalog.info("FABRIC-LINEN").backorders.floor == Decimal(-10)
    assert not catalog.stock_managed("GIFTCARD-50")
    assert catalog.info("SPRAY-PAINT").tags == {"hazmat"}
    assert [c.sku for c in catalog.bundle("KIT-PAN").components] == ["PAN-24", "LID-24"]
    # A SKU the catalog does not list gets the defaults: whole units, stock-managed.
    assert catalog.decimals("UNLISTED") == 0 and catalog.stock_managed("UNLISTED")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skus:\n  - {sku: A, decimal_qty: 9}\n", "catalog.yaml:2:27: skus[0].decimal_qty"),
        ("skus:\n  - {sku: A, stok_managed: false}\n",
         "catalog.yaml:2:14: skus[0]: unknown key 'stok_managed'; did you mean 'stock_managed'?"),
        ("skus:\n  - {sku: A}\n  - {sku: A}\n",
         "catalog.yaml:3:11: skus[1].sku: 'A' is listed twice (first at line 2)"),
        ("skus:\n  - {sku: PAN}\nbundles:\n  - sku: KIT\n    components: [{sku: PAM}]\n",
         "catalog.yaml:5:24: bundles[0].components[0].sku: 'PAM' is not in skus; "
         "did you mean 'PAN'?"),
        ("skus:\n  - {sku: A, backorders: sometimes}\n",
         "catalog.yaml:2:26: skus[0].backorders: Input should be 'none' or 'allow'"),
        ("skus: [\n", "catalog.yaml:2:1: YAML syntax error"),
        ("", "catalog.yaml:0:0: file is empty"),
    ],
)
def test_catalog_mistakes_are_reported_with_their_position(text: str, expected: str) -> None:
    with pytest.raises(CatalogFileError) as err:
        parse_catalog(text, "catalog.yaml")
    assert str(err.value.problems[0]).startswith(expected), str(err.value)


def test_an_order_loads_with_exact_decimal_quantities() -> None:
    catalog = parse_catalog(CATALOG)
    order = parse_order(good_order(), catalog)
    assert order.lines[0].qty == Decimal("2.5")
    assert order.shipping.address.country == "DE"
    assert order.shipping.address.postcode == "10115"
    assert order.value == Decimal("32.25")


def test_an_order_round_trips_through_json() -> None:
    catalog = parse_catalog(CATALOG)
    order = parse_order(good_order(), catalog)
    again = parse_order(json.loads(json.dumps(order_to_dict(order))), catalog)
    assert again == order


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"created_at": "2026-11-01T10:00:00"}, "order 1001: created_at"),
        ({"lines": []}, "order 1001: lines: "),
        ({"lines": [{"id": "1", "sku": "TEE-RED-M", "qty": "1.5"}]},
         "order 1001 line 1: qty '1.5' has 1 decimal place(s)"),
        ({"lines": [{"id": "1", "sku": "TEE-RED-M", "qty": "NaN"}]},
         "order 1001 line 1: qty must be a finite number"),
        ({"lines": [{"id": "1", "sku": "TEE-RED-M", "qty": -1}]},
         "order 1001 line 1: qty must be greater than 0, got -1"),
        ({"lines": [{"id": "1", "sku": "TEE-RED-M", "qty": 1, "knd": "virtual"}]},
         "unknown field lines[0].knd; did you mean 'kind'?"),
        ({"delivery": "pickup"}, "pickup_source is empty"),
        ({"lines": [{"id": "1", "sku": "TEE-RED-M", "qty": 1, "kind": "preshipped"}]},
         "needs preshipped_source"),
        ({"shipping": {"address": {"country": "Germany"}}}, "two-letter ISO code"),
    ],
)
def test_bad_orders_name_the_order_line_field_and_value(
    changes: dict[str, object], fragment: str
) -> None:
    with pytest.raises(OrderFileError) as err:
        parse_order(good_order(**changes), parse_catalog(CATALOG), path="orders.jsonl", line=4)
    message = str(err.value)
    assert message.startswith("orders.jsonl:4:1: "), message
    assert fragment in message, message


def test_a_jsonl_file_reports_every_bad_order_and_returns_none(tmp_path: Path) -> None:
    rows = [good_order(id="1"), good_order(id="2", lines=[]), good_order(id="1"), "{not json"]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, default=str)
                              for r in rows) + "\n")
    with pytest.raises(OrderFileError) as err:
        load_orders(path, parse_catalog(CATALOG))
    lines = [p.line for p in err.value.problems]
    assert lines == [2, 3, 4]
    assert "id is used again (first at line 1)" in str(err.value)


def test_a_json_array_of_orders_reports_lines_of_each_element(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([good_order(id="1"), good_order(id="2", lines=[])], indent=2,
                               default=str))
    with pytest.raises(OrderFileError) as err:
        load_orders(path, parse_catalog(CATALOG))
    assert err.value.problems[0].line > 2
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(good_order(), default=str))
    [order] = load_orders(ok, parse_catalog(CATALOG))
    assert order.lines[0].kind is LineKind.REGULAR


def test_a_missing_catalog_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogFileError, match="cannot read file"):
        load_catalog(tmp_path / "nope.yaml")


def test_one_order_per_line_is_read_as_jsonl_whatever_the_file_is_called(tmp_path: Path) -> None:
    path = tmp_path / "orders.txt"
    path.write_text("\n".join(json.dumps(good_order(id=str(i)), default=str) for i in (1, 2)))
    assert [o.id for o in load_orders(path, parse_catalog(CATALOG))] == ["1", "2"]


def test_an_order_in_a_json_array_is_reported_at_the_line_of_the_bad_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([
        good_order(id="1"),
        good_order(id="2", lines=[{"id": "1", "sku": "FABRIC-LINEN", "qty": "2.55"}]),
        good_order(id="3", lines=[{"id": "1", "sku": "TEE-RED-M", "qty": 1, "knd": "virtual"}]),
    ], indent=2, default=str))
    text = path.read_text().splitlines()
    with pytest.raises(OrderFileError) as err:
        load_orders(path, parse_catalog(CATALOG))
    at = {p.message.split(": ")[0]: (p.line, p.column) for p in err.value.problems}

    def where(needle: str) -> tuple[int, int]:
        line = next(n for n, t in enumerate(text, 1) if needle in t)
        return line, text[line - 1].index(needle) + 1

    assert at["order 2 line 1"] == where('"2.55"')
    assert at["order 3"] == where('"knd"')


@pytest.mark.parametrize(
    ("raw", "needle", "expected"),
    [
        ('"channel": ["web", "app"]', '["web"',
         "order 1001: channel: Input should be a valid string (got ['web', 'app'])"),
        ('"shipping": {"method": {"name": "express"}}', '{"name"',
         "order 1001: shipping.method: Input should be a valid string (got {'name': 'express'})"),
        ('"lines": []', "[]", "order 1001: lines: an order needs at least one line"),
        ('"lines": [{"id": "1", "sku": "TEE-RED-M", "qty": 1, "unit_price": NaN}]', "NaN",
         "order 1001: lines[0].unit_price must be a finite number (got NaN)"),
        ('"lines": [{"id": "1", "sku": "TEE-RED-M", "qty": [1]}]', "[1]",
         'order 1001: lines[0].qty must be a number or a decimal string like "2.5" (got [1])'),
        ('"created_at": 0', '0, "lines"',
         'order 1001: created_at must be an ISO-8601 string with a time zone, '
         'e.g. "2026-11-02T06:02:31+00:00" (got 0)'),
        ('"created_at": "0"', '"0"',
         'order 1001: created_at is not an ISO-8601 timestamp; write e.g. '
         '"2026-11-02T06:02:31+00:00" (got \'0\')'),
    ],
    ids=["list-value", "dict-value", "no-lines", "nan-price", "list-qty", "epoch-number",
         "epoch-string"],
)
def test_each_problem_of_an_order_is_one_message_a_person_understands_at_its_field(
    tmp_path: Path, raw: str, needle: str, expected: str
) -> None:
    fields = {"id": '"1001"', "created_at": '"2026-11-01T10:00:00+00:00"',
              "lines": '[{"id": "1", "sku": "TEE-RED-M", "qty": 1}]'}
    key = raw.split('"')[1]
    fields[key] = raw.split(": ", 1)[1]
    path = tmp_path / "orders.jsonl"
    path.write_text("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}\n")
    with pytest.raises(OrderFileError) as err:
        load_orders(path, parse_catalog(CATALOG))
    [problem] = err.value.problems
    assert problem.message == expected
    assert (problem.line, problem.column) == (1, path.read_text().index(needle) + 1)


def test_a_cut_short_jsonl_line_says_so_in_a_whole_sentence(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps(good_order(), default=str)[:60] + "\n")
    with pytest.raises(OrderFileError) as err:
        load_orders(path, parse_catalog(CATALOG))
    [problem] = err.value.problems
    assert problem.line == 1
    assert problem.message.startswith("invalid JSON: unterminated string starting at column ")
    assert problem.message.endswith("the line ends before the JSON value does (was it cut short?)")
