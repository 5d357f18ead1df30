"""Generated rulesets survive YAML both ways, and selection agrees with a plain reading of them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from oms_sourcing.domain import (
    Catalog,
    Delivery,
    LineId,
    Location,
    Order,
    OrderId,
    OrderLine,
    Shipping,
    Sku,
    SkuInfo,
    Zone,
)
from oms_sourcing.errors import RulesetError
from oms_sourcing.rules import dump_ruleset, parse_ruleset, select

# Pools include the values YAML reads treacherously when unquoted (NO, ON, 01, 0).
COUNTRIES = ["DE", "AT", "FR", "NO", "ON", "GB", "US"]
REGIONS = ["BY", "BE", "CA", "TX"]
POSTCODES = ["10", "101", "80", "IV", "01", "0"]
CHANNELS = ["web_eu", "app_eu", "web_us"]
GROUPS = ["general", "vip", "wholesale"]
METHODS = ["standard", "express"]
TAGS = ["hazmat", "oversize", "apparel"]
SKU_TAGS = {"SPRAY": {"hazmat"}, "SOFA": {"oversize"}, "TEE": {"apparel"}, "MUG": set()}
CATALOG = Catalog(SkuInfo(sku=Sku(s), tags=frozenset(t)) for s, t in SKU_TAGS.items())
ZONE_NAMES = ["north", "south", "islands"]

names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=10)
amounts = st.decimals(min_value=0, max_value=1000, places=2).map(str)
weights = st.one_of(st.integers(0, 20), st.decimals(0, 10, places=3).map(str))


def one_or_list(values: list[str]) -> st.SearchStrategy[Any]:
    item = st.sampled_from(values)
    return st.one_of(item, st.lists(item, min_size=1, max_size=3, unique=True))


@st.composite
def ranges(draw: st.DrawFn, bound: st.SearchStrategy[Any]) -> dict[str, Any]:
    low, high = draw(bound), draw(bound)
    if Decimal(str(low)) > Decimal(str(high)):
        low, high = high, low
    keep = draw(st.sampled_from(["min", "max", "both"]))
    return {"min": low} if keep == "min" else {"max": high} if keep == "max" else {
        "min": low, "max": high
    }


@st.composite
def sku_tags(draw: st.DrawFn) -> dict[str, list[str]]:
    shuffled = draw(st.permutations(TAGS))
    cut1 = draw(st.integers(0, 3))
    cut2 = draw(st.integers(cut1, 3))
    parts = {"any": shuffled[:cut1], "all": shuffled[cut1:cut2], "none": shuffled[cut2:]}
    out = {k: v for k, v in parts.items() if v and draw(st.booleans())}
    return out or {"any": [shuffled[0]]}


@st.composite
def whens(draw: st.DrawFn, zones: list[str]) -> dict[str, Any]:
    makers: dict[str, st.SearchStrategy[Any]] = {
        "country": one_or_list(COUNTRIES),
        "region": one_or_list(REGIONS),
        "postcode_prefix": one_or_list(POSTCODES),
        "channel": one_or_list(CHANNELS),
        "customer_group": one_or_list(GROUPS),
        "shipping_method": one_or_list(METHODS),
        "delivery": st.sampled_from(["ship", "pickup"]),
        "order_value": ranges(amounts),
        "line_count": ranges(st.integers(0, 4)),
        "sku_tags": sku_tags(),
    }
    if zones:
        makers["zone"] = one_or_list(zones)
    keys = draw(st.lists(st.sampled_from(sorted(makers)), max_size=3, unique=True))
    return {k: draw(makers[k]) for k in keys}


selectors = st.fixed_dictionaries(
    {},
    optional={
        "sources": st.lists(st.sampled_from(["WH-BER", "WH-VEN", "ST-BER"]), min_size=1,
                            unique=True),
        "groups": st.lists(st.sampled_from(["eu", "dc", "stores"]), min_size=1, unique=True),
        "kinds": st.lists(st.sampled_from(["warehouse", "store", "dropship", "virtual"]),
                          min_size=1, unique=True),
        "tags": st.lists(st.sampled_from(["hazmat_certified", "oversize_partner"]), min_size=1,
                         unique=True),
    },
).filter(bool)
distances = st.one_of(st.integers(1, 3000), st.sampled_from([0.5, 12.5, 250.75]))


@st.composite
def line_restrictions(draw: st.DrawFn) -> dict[str, Any]:
    when = draw(st.fixed_dictionaries(
        {}, optional={"sku_tag": one_or_list(TAGS), "sku": one_or_list(["SPRAY", "sofa"])}
    ).filter(bool))
    sources = draw(st.fixed_dictionaries(
        {}, optional={"include": selectors, "exclude": selectors, "max_distance_km": distances}
    ).filter(bool))
    return {"when": when, "sources": sources}


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["sources"] = draw(st.fixed_dictionaries({}, optional={
            "include": selectors, "exclude": selectors, "max_distance_km": distances,
            "lines": st.lists(line_restrictions(), max_size=2),
        }))
    if draw(st.booleans()):
        out["stock"] = draw(st.fixed_dictionaries({}, optional={
            "safety": st.fixed_dictionaries({}, optional={
                "default": amounts,
                "kinds": st.dictionaries(st.sampled_from(["store", "warehouse"]), amounts),
                "groups": st.dictionaries(st.sampled_from(["stores", "eu"]), amounts),
                "sources": st.dictionaries(st.sampled_from(["ST-BER", "WH-BER"]), amounts),
            }),
            "respect_reservations": st.booleans(),
        }))
    if draw(st.booleans()):
        mode = draw(st.sampled_from(["allow", "ship_complete", "hold_until_complete"]))
        split: dict[str, Any] = {"mode": mode}
        if draw(st.booleans()):
            split["max_shipments"] = 1 if mode == "ship_complete" else draw(st.integers(1, 5))
        if draw(st.booleans()):
            split["min_shipment_value"] = draw(amounts)
        if draw(st.booleans()):
            split["one_source_per_line"] = True
        out["split"] = split
    if draw(st.booleans()):
        bundle_mode = draw(st.sampled_from(["together", "simultaneous", "separate"]))
        out["bundles"] = {"mode": bundle_mode}
        if bundle_mode != "separate" and draw(st.booleans()):
            out["bundles"]["split_after_attempts"] = draw(st.integers(1, 9))
    ranking = draw(st.sampled_from(["none", "objective", "rank"]))
    if ranking == "objective":
        out["objective"] = draw(st.dictionaries(
            st.sampled_from(["shipping_cost", "distance", "shipments", "source_priority",
                             "transfer_cost", "transfer_days", "capacity_use",
                             "stock_value"]),
            weights, min_size=1,
        ))
    elif ranking == "rank":
        out["rank"] = draw(st.lists(st.sampled_from(["priority", "distance", "stock", "cost"]),
                                    min_size=1, unique=True))
    if draw(st.booleans()):
        out["backorder"] = draw(st.sampled_from(["allow", "cancel", "hold"]))
    if draw(st.booleans()):
        out["decline"] = {"attempts": draw(st.integers(1, 5)),
                          "then": draw(st.sampled_from(["hold", "cancel"]))}
    return out


zone_bodies = st.fixed_dictionaries({"countries": st.lists(st.sampled_from(COUNTRIES),
                                                           min_size=1, max_size=3, unique=True)},
                                    optional={"regions": st.lists(st.sampled_from(REGIONS),
                                                                  min_size=1, unique=True),
                                              "postcodes": st.lists(st.sampled_from(POSTCODES),
                                                                    min_size=1, unique=True)})


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    zones = draw(st.dictionaries(st.sampled_from(ZONE_NAMES), zone_bodies, max_size=3))
    rule_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    rules = []
    for name in rule_names:
        rule: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            rule["description"] = draw(st.text(max_size=30))
        when = draw(whens(sorted(zones)))
        if when or draw(st.booleans()):
            rule["when"] = when
        rule.update(draw(policies()))
        rules.append(rule)
    doc: dict[str, Any] = {"id": draw(names), "version": draw(st.one_of(st.integers(0, 99),
                                                                         names))}
    if zones:
        doc["zones"] = zones
    if draw(st.booleans()):
        doc["defaults"] = draw(policies())
    doc["rules"] = rules
    return doc


@st.composite
def orders(draw: st.DrawFn) -> Order:
    skus = draw(st.lists(st.sampled_from(sorted(SKU_TAGS)), min_size=1, max_size=5))
    price = draw(st.sampled_from(["0", "9.99", "120.00", "999.99"]))
    delivery = draw(st.sampled_from([Delivery.SHIP, Delivery.PICKUP]))
    return Order(
        id=OrderId("1"),
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
        lines=tuple(
            OrderLine(id=LineId(str(i)), sku=Sku(s), qty=Decimal(draw(st.integers(1, 3))),
                      unit_price=Decimal(price))
            for i, s in enumerate(skus)
        ),
        channel=draw(st.sampled_from([*CHANNELS, "WEB_EU"])),
        customer_group=draw(st.sampled_from(GROUPS)),
        delivery=delivery,
        shipping=Shipping(
            method=draw(st.sampled_from(METHODS)),
            address=Location(
                country=draw(st.sampled_from([*COUNTRIES, "de", None])),
                region=draw(st.sampled_from([*REGIONS, None])),
                postcode=draw(st.sampled_from(["10115", "80331", "IV2 3AB", "01067", None])),
            ),
        ),
    )


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def reference_holds(when: dict[str, Any], zones: dict[str, Any], order: Order) -> bool:
    """The meaning of a `when`, read straight from the document (no compiled objects)."""
    address = order.shipping.address
    country = (address.country or "").upper()
    postcode = (address.postcode or "").replace(" ", "").upper()
    tags = set().union(*(SKU_TAGS[line.sku] for line in order.lines))
    plain = {
        "country": country,
        "region": (address.region or "").upper(),
        "channel": order.channel.lower(),
        "customer_group": order.customer_group.lower(),
        "shipping_method": order.shipping.method.lower(),
    }
    for key, value in when.items():
        if key in plain:
            ok = plain[key] in {v.lower() if key not in ("country", "region") else v.upper()
                                for v in _as_list(value)}
        elif key == "delivery":
            ok = order.delivery.value == value
        elif key == "postcode_prefix":
            ok = any(postcode.startswith(p) for p in _as_list(value))
        elif key == "zone":
            ok = any(
                Zone(z, frozenset(zones[z]["countries"]), frozenset(zones[z].get("regions", [])),
                     tuple(zones[z].get("postcodes", []))).contains(address)
                for z in _as_list(value)
            )
        elif key in ("order_value", "line_count"):
            amount = sum(line.qty * line.unit_price for line in order.lines)
            actual = amount if key == "order_value" else Decimal(len(order.lines))
            ok = Decimal(str(value.get("min", actual))) <= actual <= Decimal(
                str(value.get("max", actual))
            )
        else:  # sku_tags
            ok = (not value.get("any") or bool(tags & set(value["any"]))) and set(
                value.get("all", [])
            ) <= tags and not tags & set(value.get("none", []))
        if not ok:
            return False
    return True


@given(documents())
def test_a_generated_ruleset_round_trips_through_yaml(doc: dict[str, Any]) -> None:
    first = parse_ruleset(yaml.safe_dump(doc, sort_keys=False), "generated.yaml")
    text = dump_ruleset(first)
    second = parse_ruleset(text, "dumped.yaml")
    assert second == first
    assert dump_ruleset(second) == text
    assert [r.name for r in second.rules] == [r["name"] for r in doc["rules"]]


@given(documents(), st.lists(orders(), min_size=1, max_size=5))
def test_selection_picks_the_first_rule_a_plain_reading_of_the_file_matches(
    doc: dict[str, Any], batch: list[Order]
) -> None:
    ruleset = parse_ruleset(yaml.safe_dump(doc, sort_keys=False), "generated.yaml")
    zones = doc.get("zones", {})
    for order in batch:
        expected = next(
            (r["name"] for r in doc["rules"] if reference_holds(r.get("when", {}), zones, order)),
            None,
        )
        chosen = select(order, ruleset, CATALOG)
        assert chosen.rule_name == expected
        assert select(order, ruleset, CATALOG) == chosen
        tried = chosen.trace
        assert [t.rule for t in tried] == [r.name for r in ruleset.rules][: len(tried)]
        if expected is None:
            assert len(tried) == len(ruleset.rules)
            assert not any(t.matched for t in tried)
        else:
            assert [t.matched for t in tried] == [False] * (len(tried) - 1) + [True]


EXAMPLE_TEXTS = [
    p.read_text(encoding="utf-8")
    for p in sorted((Path(__file__).resolve().parents[2] / "rulesets").glob("*.yaml"))
]
ODD_VALUES = ["1", "null", "[]", "{}", "[1, 2]", "!!binary aGVsbG8=", "2024-01-01", "-1", "1e309",
              ".nan", "{a: b}", "*nope", "!!python/object:os.system", "~", "NO", "[[[[]]]]"]


@st.composite
def damaged_rulesets(draw: st.DrawFn) -> str:
    """An example ruleset with a few lines deleted, duplicated, re-valued or cut."""
    lines = draw(st.sampled_from(EXAMPLE_TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "value", "cut"]))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[draw(st.integers(0, len(lines) - 1))])
        elif action == "value" and ":" in lines[i]:
            lines[i] = lines[i][: lines[i].index(":") + 1] + " " + draw(st.sampled_from(ODD_VALUES))
        else:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "\n".join(lines) + "\n"


@given(damaged_rulesets(), st.booleans())
def test_a_damaged_ruleset_loads_or_fails_with_positioned_problems_never_a_crash(
    text: str, collect: bool
) -> None:
    try:
        parse_ruleset(text, "damaged.yaml", collect=collect)
    except RulesetError as err:
        assert err.problems
        assert all(str(p).startswith("damaged.yaml:") for p in err.problems)
        assert any(p.severity == "error" for p in err.problems)
