"""``oms-sourcing source``, ``explain`` and ``demo`` on the example data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from oms_sourcing.cli import build_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RULES = ROOT / "rulesets"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return build_app()


def invoke(app: typer.Typer, *args: str | Path) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def example_orders(n: int) -> list[dict[str, Any]]:
    with (EXAMPLES / "orders.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line, _ in zip(f, range(n), strict=False)]


def write_jsonl(path: Path, orders: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in orders), encoding="utf-8")
    return path


def data_args(feed: Path = EXAMPLES / "stock.csv",
              rules: Path = RULES / "priority.yaml") -> list[str | Path]:
    return ["--network", EXAMPLES / "network.yaml", "--stock", feed,
            "--catalog", EXAMPLES / "catalog.yaml", "--rules", rules]


def test_source_prints_one_json_result_per_order_in_file_order(
    app: typer.Typer, tmp_path: Path
) -> None:
    orders = example_orders(5)
    path = write_jsonl(tmp_path / "orders.jsonl", orders)

    result = invoke(app, "source", *data_args(rules=RULES / "cost.yaml"), path)

    assert result.exit_code == 0, result.output
    decided = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["order_id"] for d in decided] == [o["id"] for o in orders]
    assert all(d["status"] in {"sourced", "partial", "waiting", "cancelled", "rejected"}
               for d in decided)
    # --now defaults to each order's own creation time, never the clock.
    assert [d["decided_at"] for d in decided] == [o["created_at"] for o in orders]


def test_source_with_now_decides_every_order_at_that_time(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(2))

    result = invoke(app, "source", *data_args(), "--now", "2026-11-05T12:00:00+00:00", path)

    assert result.exit_code == 0, result.output
    stamps = {json.loads(line)["decided_at"] for line in result.stdout.splitlines()}
    assert stamps == {"2026-11-05T12:00:00+00:00"}


def scarce_linen_setup(tmp_path: Path) -> tuple[Path, Path]:
    """Three navy tees in Berlin, and two orders that each want two of them."""
    feed = tmp_path / "stock.csv"
    feed.write_text(
        "source,sku,qty,mode,effective_at,record_id\n"
        "WH-BER,TEE-NAVY-L,3,FULL,2026-11-01T06:00:00+00:00,r1\n",
        encoding="utf-8",
    )
    template = example_orders(1)[0]
    line = {**template["lines"][0], "sku": "TEE-NAVY-L", "qty": "2"}
    first = {**template, "id": "first-tees", "lines": [line]}
    second = {**first, "id": "second-tees"}
    return feed, write_jsonl(tmp_path / "orders.jsonl", [first, second])


def shipped_units(decision: dict[str, Any]) -> int:
    return sum(int(x["qty"]) for s in decision["shipments"] for x in s["lines"])


def test_source_without_apply_lets_every_order_see_the_whole_feed(
    app: typer.Typer, tmp_path: Path
) -> None:
    feed, orders = scarce_linen_setup(tmp_path)

    result = invoke(app, "source", *data_args(feed=feed), orders)

    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["status"], shipped_units(first)) == ("sourced", 2)
    assert (second["status"], shipped_units(second)) == ("sourced", 2)


def test_source_with_apply_leaves_a_later_order_only_what_earlier_ones_did_not_reserve(
    app: typer.Typer, tmp_path: Path
) -> None:
    feed, orders = scarce_linen_setup(tmp_path)

    result = invoke(app, "source", *data_args(feed=feed), "--apply", orders)

    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["status"], shipped_units(first)) == ("sourced", 2)
    assert (second["status"], shipped_units(second)) == ("partial", 1)
    berlin = next(c for c in second["lines"][0]["candidates"] if c["source"] == "WH-BER")
    assert berlin["available"] == "1"


def test_source_reports_a_bad_orders_file_with_its_position_and_exits_1(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text('{"id": "broken"\n', encoding="utf-8")

    result = invoke(app, "source", *data_args(), path)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}:1:" in result.output
    assert "Traceback" not in result.output


def test_explain_shows_the_rule_and_a_candidate_table_per_line(
    app: typer.Typer, tmp_path: Path
) -> None:
    orders = example_orders(3)
    path = write_jsonl(tmp_path / "orders.jsonl", orders)
    wanted = orders[0]

    result = invoke(app, "explain", *data_args(), path, wanted["id"])

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"order {wanted['id']}" in out
    assert "rule " in out and "spent " in out and "score " in out and "solver " in out
    for line in wanted["lines"]:
        assert f"line {line['id']}: {line['qty']} × {line['sku']}" in out
    assert "shipping alone" in out and "candidate" in out and "WH-BER" in out
    assert "✔" in out and "why: " in out


def test_explain_of_an_unknown_order_suggests_the_closest_id_and_exits_1(
    app: typer.Typer, tmp_path: Path
) -> None:
    orders = example_orders(3)
    path = write_jsonl(tmp_path / "orders.jsonl", orders)
    typo = orders[1]["id"][:-1] + "9"

    result = invoke(app, "explain", *data_args(), path, typo)

    assert result.exit_code == 1
    assert f"no order '{typo}'" in result.output
    assert "did you mean" in result.output


def test_demo_compares_the_priority_and_the_cost_ruleset(app: typer.Typer) -> None:
    result = invoke(app, "demo", EXAMPLES)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "msi-priority" in out and "cost-optimal" in out
    assert "split rate" in out and "shipping and transfers" in out and "cost vs priority" in out


def test_demo_compares_the_money_spent_not_the_rules_weighted_scores(
    app: typer.Typer, tmp_path: Path
) -> None:
    import shutil

    from oms_sourcing import load_network
    from oms_sourcing.formats.orders import load_orders

    folder, rules = tmp_path / "data", tmp_path / "rulesets"
    folder.mkdir()
    rules.mkdir()
    for name in ("network.yaml", "catalog.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    shutil.copy(RULES / "priority.yaml", rules / "priority.yaml")
    # the cost rule charges 100 per parcel in its score: no money is spent on that
    (rules / "cost.yaml").write_text("id: heavy\nversion: 1\ndefaults:\n  objective: "
                                     "{shipping_cost: 1, shipments: 100}\nrules:\n"
                                     "  - name: all\n", encoding="utf-8")
    (folder / "stock.csv").write_text("source,sku,qty,mode,effective_at,record_id\n"
                                      "WH-BER,TEE-NAVY-S,5,FULL,2026-11-01T06:00:00+00:00,r1\n",
                                      encoding="utf-8")
    orders = one_tee_order(tmp_path)
    shutil.copy(orders, folder / "orders.jsonl")
    price = load_network(EXAMPLES / "network.yaml").shipping_cost(
        "WH-BER", load_orders(orders)[0].destination, 1)

    out = invoke(app, "demo", folder, "--rules-dir", rules).stdout

    row = next(line for line in out.splitlines() if "shipping and transfers" in line)
    assert row.split("│")[2:4] == [f" {price:,.2f} ".rjust(len(row.split("│")[2])),
                                   f" {price:,.2f} ".rjust(len(row.split("│")[3]))]


def test_demo_with_a_missing_rules_folder_names_the_file_and_exits_1(
    app: typer.Typer, tmp_path: Path
) -> None:
    result = invoke(app, "demo", EXAMPLES, "--rules-dir", tmp_path)

    assert result.exit_code == 1
    assert "priority.yaml" in result.output
    assert "Traceback" not in result.output


def test_wave_sources_the_orders_together_and_says_how_it_compares(
    app: typer.Typer, tmp_path: Path
) -> None:
    from oms_sourcing.formats.result import AllocationResultModel

    orders = example_orders(40)
    path = write_jsonl(tmp_path / "orders.jsonl", orders)

    result = invoke(app, "wave", *data_args(rules=RULES / "cost.yaml"), path,
                    "--time-limit", "5", "--brief")

    assert result.exit_code == 0, result.output
    decided = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["order_id"] for d in decided] == [o["id"] for o in orders]
    for d in decided:
        AllocationResultModel.model_validate(d)
        assert "lines" not in d
    assert "wave of 40 orders" in result.stderr and "one by one" in result.stderr


def test_wave_large_and_proven_use_their_settings_with_what_the_command_line_overrides(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oms_sourcing.allocation import wave as wave_module

    seen: list[wave_module.WaveConfig] = []
    real = wave_module.allocate_wave

    def spy(*args: Any, config: wave_module.WaveConfig, **kw: Any) -> wave_module.WaveResult:
        seen.append(config)
        return real(*args, config=config, **kw)

    monkeypatch.setattr(wave_module, "allocate_wave", spy)
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(20))
    for extra in (("--large",), ("--large", "--neighbourhoods", "5", "--proof-gap", "0.003"),
                  ("--proven",), ("--proven", "--proof-gap", "0.01")):
        result = invoke(app, "wave", *data_args(rules=RULES / "cost.yaml"), path, "--brief",
                        *extra)
        assert result.exit_code == 0, result.output
    assert seen == [wave_module.WaveConfig.large(1),
                    wave_module.WaveConfig.large(1, neighbourhoods=5, proof_gap=0.003),
                    wave_module.WaveConfig.proven(workers=1),
                    wave_module.WaveConfig.proven(0.01, workers=1)]
    assert seen[0].neighbourhoods == 0 and not seen[0].price_directed
    assert seen[2].proof_gap == 0.003 and seen[2].pricing_tolerance == 0
    both = invoke(app, "wave", *data_args(rules=RULES / "cost.yaml"), path, "--large",
                  "--proven")
    assert both.exit_code != 0 and "use one" in both.output


def test_bid_prices_from_a_history_feed_a_rule_that_weighs_stock_value(
    app: typer.Typer, tmp_path: Path
) -> None:
    history = write_jsonl(tmp_path / "history.jsonl", example_orders(120))
    prices = tmp_path / "prices.csv"
    made = invoke(app, "bid-prices", history, "--network", EXAMPLES / "network.yaml",
                  "--stock", EXAMPLES / "stock.csv", "--catalog", EXAMPLES / "catalog.yaml",
                  "--unfilled-cost", "30", "-o", prices)
    assert made.exit_code == 0, made.output
    rows = prices.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "source,sku,price" and all(float(r.split(",")[2]) > 0 for r in rows[1:])
    assert "demand classes from 120 orders" in made.stderr
    rules = tmp_path / "scarce.yaml"
    rules.write_text("id: scarce\nversion: 1\ndefaults:\n  objective: {shipping_cost: 1, "
                     "stock_value: 1}\nrules:\n  - name: all\n", encoding="utf-8")
    orders = write_jsonl(tmp_path / "orders.jsonl", example_orders(5))
    sourced = invoke(app, "source", *data_args(rules=rules), orders, "--bid-prices", prices,
                     "--brief")
    assert sourced.exit_code == 0, sourced.output
    assert len(sourced.stdout.splitlines()) == 5


def test_a_wave_charges_the_bid_prices_it_is_given_to_rules_that_weigh_stock_value(
    app: typer.Typer, tmp_path: Path
) -> None:
    orders = write_jsonl(tmp_path / "orders.jsonl", example_orders(40))
    rules = tmp_path / "scarce.yaml"
    rules.write_text("id: scarce\nversion: 1\ndefaults:\n  objective: {shipping_cost: 1, "
                     "stock_value: 1}\nrules:\n  - name: all\n", encoding="utf-8")

    def units_by_source(*extra: object) -> dict[str, float]:
        run = invoke(app, "wave", *data_args(rules=rules), orders, "--brief",
                     "--neighbourhoods", "10", *extra)
        assert run.exit_code == 0, run.output
        used: dict[str, float] = {}
        for line in run.stdout.splitlines():
            for shipment in json.loads(line)["shipments"]:
                for item in shipment["lines"]:
                    used[shipment["source"]] = used.get(shipment["source"], 0) + float(
                        item["qty"])
        return used

    plain = units_by_source()
    busiest = max(plain, key=lambda code: plain[code])
    skus = {line["sku"] for order in example_orders(40) for line in order["lines"]}
    prices = tmp_path / "prices.csv"
    prices.write_text("source,sku,price\n" + "".join(f"{busiest},{sku},500\n"
                                                     for sku in sorted(skus)), encoding="utf-8")
    priced = units_by_source("--bid-prices", prices)
    assert priced.get(busiest, 0) < plain[busiest]


def test_a_malformed_bid_price_file_is_reported_with_its_line(
    app: typer.Typer, tmp_path: Path
) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("source,sku,price\nWH-X,MUG,lots\n", encoding="utf-8")
    orders = write_jsonl(tmp_path / "orders.jsonl", example_orders(1))
    result = invoke(app, "source", *data_args(), orders, "--bid-prices", prices)
    assert result.exit_code != 0
    assert "prices.csv:2" in result.stderr


def test_wave_in_two_processes_writes_the_same_results(app: typer.Typer, tmp_path: Path) -> None:
    # 150 orders, of which over 100 are sourced jointly: enough for the worker to take part
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(150))
    runs = [invoke(app, "wave", *data_args(rules=RULES / "cost.yaml"), path, "--brief",
                   "--neighbourhoods", "20", "--workers", workers) for workers in ("1", "2")]

    assert [r.exit_code for r in runs] == [0, 0], runs[1].output
    one, two = ([{k: v for k, v in json.loads(line).items() if k != "solver"}
                 for line in r.stdout.splitlines()] for r in runs)
    assert one == two and len(one) == 150


def test_an_order_the_ledger_cannot_fully_reserve_reserves_none_of_its_lines() -> None:
    from oms_sourcing.cli._allocation import load_inputs, reserve_result, source_orders

    loaded = load_inputs(EXAMPLES / "network.yaml", EXAMPLES / "stock.csv",
                         EXAMPLES / "catalog.yaml", RULES / "priority.yaml",
                         EXAMPLES / "orders.jsonl")
    ledger = loaded.ledger
    result = next(r for r in source_orders(loaded.orders, loaded.ruleset, loaded.network,
                                           ledger, loaded.catalog)
                  if len(r.reservations()) >= 2)
    per_line = result.reservations()
    # between the decision and its reservation, another order takes the last line's stock
    source, sku, _ = list(per_line.values())[-1][0]
    assert ledger.reserve("someone-else", "1", [(source, sku, ledger.available(source, sku))]).ok

    assert reserve_result(ledger, result) == list(per_line)
    assert all(ledger.reservation(result.order_id, line) is None for line in per_line)


# -- explain, for a support agent ----------------------------------------------------------


def one_tee_order(tmp_path: Path, sku: str = "TEE-NAVY-S") -> Path:
    template = example_orders(1)[0]
    order = {**template, "id": "one-tee", "lines": [{**template["lines"][0], "sku": sku,
                                                     "qty": "1"}]}
    return write_jsonl(tmp_path / "orders.jsonl", [order])


def test_explain_shows_the_money_spent_apart_from_the_rules_weighted_score(
    app: typer.Typer, tmp_path: Path
) -> None:
    from oms_sourcing import load_network

    rules = tmp_path / "double.yaml"
    rules.write_text("id: double\nversion: 1\ndefaults:\n  objective: {shipping_cost: 2, "
                     "shipments: 3}\nrules:\n  - name: all\n", encoding="utf-8")
    orders = one_tee_order(tmp_path)

    out = invoke(app, "explain", *data_args(rules=rules), orders, "one-tee").stdout

    # only Berlin holds the small navy tee; the parcel's price is the lane's, once
    order = json.loads(orders.read_text(encoding="utf-8"))
    network = load_network(EXAMPLES / "network.yaml")
    from oms_sourcing.formats.orders import load_orders

    parsed = load_orders(orders)[0]
    price = network.shipping_cost("WH-BER", parsed.destination, 1)
    assert price is not None and order["id"] == "one-tee"
    spent = next(line for line in out.splitlines() if line.startswith("spent "))
    score = next(line for line in out.splitlines() if line.startswith("score "))
    assert f"{price:.2f} EUR" in spent and f"{2 * price:.2f}" not in spent
    # the score weighs shipping twice and adds 3 per parcel: it is not money
    assert f"shipping_cost {2 * price:.2f}" in score and "shipments 3.00" in score
    assert "EUR" not in score


def test_explain_says_in_words_why_each_lines_source_won(app: typer.Typer, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(1))

    out = invoke(app, "explain", *data_args(rules=RULES / "cost.yaml"), path, "100001").stdout

    whys = [line.strip() for line in out.splitlines() if line.strip().startswith("why: ")]
    assert len(whys) == 3
    assert whys[2] == "why: only WH-BER holds TEE-NAVY-S among the sources the rule allows"
    assert whys[0].startswith("why: WH-BER also ships lines 2, 3 of this order")
    assert "on its own this line would score less from WH-MKY" in whys[0]


def test_explain_under_a_rank_rule_says_the_fill_order_decided(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(1))

    out = invoke(app, "explain", *data_args(), path, "100001").stdout

    assert "order of priority" in out
    assert "score    none: the rule ranks sources (priority)" in out


def test_explain_hides_sources_outside_the_channels_stock_unless_all_sources_is_given(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(1))   # a web_eu order

    short = invoke(app, "explain", *data_args(), path, "100001").stdout
    full = invoke(app, "explain", *data_args(), path, "100001", "--all-sources").stdout

    assert "WH-MEM" not in short and "ST-NYC" not in short
    assert "sources outside the sales channel's stock not shown (--all-sources" in short
    assert "WH-MEM" in full and "not in the sales channel's stock" in full


def test_every_reason_code_has_a_plain_text_shown_next_to_it(
    app: typer.Typer, tmp_path: Path
) -> None:
    from oms_sourcing.cli._explain import REASON_TEXT
    from oms_sourcing.domain import Reason

    assert set(REASON_TEXT) == set(Reason)
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(1))
    out = invoke(app, "explain", *data_args(), path, "100001").stdout
    assert "(SOURCED: shipped from this source to the customer)" in out


def test_explain_with_apply_shows_the_decision_source_apply_makes(
    app: typer.Typer, tmp_path: Path
) -> None:
    feed, orders = scarce_linen_setup(tmp_path)
    applied = [json.loads(line) for line in invoke(
        app, "source", *data_args(feed=feed), "--apply", orders).stdout.splitlines()]

    plain = invoke(app, "explain", *data_args(feed=feed), orders, "second-tees").stdout
    after = invoke(app, "explain", *data_args(feed=feed), orders, "second-tees",
                   "--apply").stdout

    assert applied[1]["status"] == "partial"
    assert "order second-tees: partial" in after
    assert "less what the 1 orders before this one in the file reserved" in after
    # without --apply it says plainly that the earlier order reserved nothing
    assert "order second-tees: sourced" in plain
    assert "orders before this one in the file reserve nothing" in plain


def test_explain_output_to_a_file_or_pipe_is_not_cut_at_80_columns(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(1))

    out = invoke(app, "explain", *data_args(rules=RULES / "cost.yaml"), path, "100001").stdout

    assert ("  us-offshore: skipped: destination (GB, region ENG, postcode LS14DY) is in none "
            "of the zones us_offshore\n") in out


# -- waves ---------------------------------------------------------------------------------


def test_wave_counts_units_short_in_each_skus_own_unit(app: typer.Typer, tmp_path: Path) -> None:
    # 1.5 m of linen in Berlin, and two orders that each want a metre: half a metre short
    feed = tmp_path / "stock.csv"
    feed.write_text("source,sku,qty,mode,effective_at,record_id\n"
                    "WH-BER,FABRIC-LINEN-NATURAL,1.5,FULL,2026-11-01T06:00:00+00:00,r1\n",
                    encoding="utf-8")
    template = example_orders(1)[0]
    line = {**template["lines"][0], "sku": "FABRIC-LINEN-NATURAL", "qty": "1"}
    orders = write_jsonl(tmp_path / "orders.jsonl",
                         [{**template, "id": f"linen-{n}", "lines": [line]} for n in (1, 2)])

    result = invoke(app, "wave", *data_args(feed=feed, rules=RULES / "cost.yaml"), orders,
                    "--brief")

    assert result.exit_code == 0, result.output
    assert "wave of 2 orders, 2 sourced jointly" in result.stderr
    assert "and 0.5 units short" in result.stderr and " 5 units short" not in result.stderr
    # the wave's cost is the rules' weighted score, not money: it is not labelled as money
    assert "score " in result.stderr and " EUR and" not in result.stderr


def test_wave_under_a_rank_ruleset_says_why_no_order_is_sourced_jointly(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "orders.jsonl", example_orders(10))

    result = invoke(app, "wave", *data_args(), path, "--brief")   # priority: rank [priority]

    assert result.exit_code == 0, result.output
    assert "0 sourced jointly" in result.stderr
    assert "10 under a rank: rule, which fills sources in a fixed order" in result.stderr


# -- the command line, tried as a new user would ----------------------------------------


def test_the_bundled_examples_without_a_catalog_are_refused_with_a_hint_to_pass_it(
    app: typer.Typer, tmp_path: Path
) -> None:
    orders = write_jsonl(tmp_path / "orders.jsonl", example_orders(2))
    stock = invoke(app, "stock", "--network", EXAMPLES / "network.yaml", EXAMPLES / "stock.csv")
    source = invoke(app, "source", "--network", EXAMPLES / "network.yaml", "--stock",
                    EXAMPLES / "stock.csv", "--rules", RULES / "cost.yaml", orders)

    for result in (stock, source):
        assert result.exit_code == 1
        assert "too precise for SKU 'FABRIC-LINEN-NATURAL'" in result.stderr
        assert result.stderr.rstrip().endswith(
            "needs its catalog, e.g. --catalog examples/catalog.yaml")


def test_an_empty_orders_file_says_no_orders_on_stderr(app: typer.Typer, tmp_path: Path) -> None:
    empty = tmp_path / "orders.jsonl"
    empty.write_text("", encoding="utf-8")

    for command in ("source", "wave"):
        result = invoke(app, command, *data_args(), empty)
        assert (result.exit_code, result.stdout) == (0, ""), command
        assert f"no orders in {empty}" in result.stderr


def test_a_sku_the_catalog_does_not_know_is_warned_about_and_cancelled_unknown_sku(
    app: typer.Typer, tmp_path: Path
) -> None:
    orders = one_tee_order(tmp_path, sku="TEE-PLAID-XXL")

    result = invoke(app, "source", *data_args(), orders)

    assert result.exit_code == 0, result.output
    decided = json.loads(result.stdout)
    assert [c["reason"] for c in decided["cancelled"]] == ["UNKNOWN_SKU"]
    assert ("warning: order one-tee line 1: SKU 'TEE-PLAID-XXL' is not in the catalog"
            in result.stderr)


def test_stock_partial_applies_the_good_rows_exits_0_and_lists_the_rejected_ones(
    app: typer.Typer, tmp_path: Path
) -> None:
    feed = tmp_path / "stock.csv"
    feed.write_text("source,sku,qty,mode,effective_at,record_id\n"
                    "WH-BER,TEE-NAVY-L,3,FULL,2026-11-01T06:00:00+00:00,r1\n"
                    "WH-NOPE,TEE-NAVY-L,3,FULL,2026-11-01T06:00:00+00:00,r2\n",
                    encoding="utf-8")

    result = invoke(app, "stock", "--network", EXAMPLES / "network.yaml", "--catalog",
                    EXAMPLES / "catalog.yaml", "--partial", feed)

    assert result.exit_code == 0, result.output
    assert "eu\tTEE-NAVY-L\t3" in result.stdout
    assert f"skipped {feed}:3:1: unknown source 'WH-NOPE'" in result.stderr


def test_the_now_hint_is_a_value_that_now_then_accepts(app: typer.Typer, tmp_path: Path) -> None:
    import re

    orders = write_jsonl(tmp_path / "orders.jsonl", example_orders(1))
    refused = invoke(app, "source", *data_args(), "--now", "2026-11-05", orders)
    assert refused.exit_code == 2
    said = " ".join(refused.output.replace("│", " ").split())   # typer may draw a box
    hint = re.search(r"has no time zone; try (\S+)", said)
    assert hint is not None

    accepted = invoke(app, "source", *data_args(), "--now", hint.group(1), orders)

    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout)["decided_at"] == "2026-11-05T00:00:00+00:00"


def test_output_into_a_closed_pipe_ends_quietly_with_status_0() -> None:
    import subprocess
    import sys

    # the example orders with explanations: megabytes, far more than a pipe buffers
    command = [sys.executable, "-c", "from oms_sourcing.cli import main; main()", "source",
               *map(str, data_args()), str(EXAMPLES / "orders.jsonl")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()                      # as `| head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0, err
    assert json.loads(first)["order_id"] == "100001"
    assert err == ""


@pytest.mark.parametrize("command", ["explain", "demo"])
def test_rich_output_into_a_closed_pipe_ends_quietly_with_status_0_too(command: str) -> None:
    import shlex
    import subprocess
    import sys

    # explain and demo print through rich, whose own broken-pipe handler exits with 1
    args = ([*map(str, data_args()), str(EXAMPLES / "orders.jsonl"), "100001"]
            if command == "explain" else [str(EXAMPLES)])
    run = shlex.join([sys.executable, "-c", "from oms_sourcing.cli import main; main()",
                      command, *args])
    proc = subprocess.run(["bash", "-c", f"{run} | head -c 1 >/dev/null; "
                           "exit ${PIPESTATUS[0]}"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_the_command_modules_do_not_import_each_other() -> None:
    import ast

    package = ROOT / "oms_sourcing" / "cli"
    commands = {"_allocation", "_inventory", "_rules"}
    for name in commands:
        tree = ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}
        assert not {f"oms_sourcing.cli.{other}" for other in commands} & imported, name
