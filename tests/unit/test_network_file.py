"""network.yaml: a valid file compiles; every invalid one is reported at its file:line:col."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from oms_sourcing.domain import Location, SourceKind
from oms_sourcing.errors import NetworkFileError
from oms_sourcing.formats.network import (
    NetworkFile,
    load_network,
    network_from_model,
    parse_network,
)

NETWORKS = Path(__file__).resolve().parents[1] / "data" / "networks"
VALID = NETWORKS / "valid.yaml"


def problems_of(text: str) -> list[str]:
    with pytest.raises(NetworkFileError) as err:
        parse_network(text, "network.yaml")
    return [str(p) for p in err.value.problems]


def test_the_valid_fixture_loads() -> None:
    net = load_network(VALID)
    assert net.currency == "EUR" and net.minor_digits == 2
    assert net.codes == ("WH-BER", "WH-PAR", "ST-HAM", "ST-MUC", "DS-TILBURG")
    ber = net.source("WH-BER")
    assert ber.location.postcode == "10115" and ber.capacity.units == Decimal(25000)
    assert ber.tags == {"hazmat_certified"}
    assert not net.source("ST-MUC").capabilities.ships
    assert set(net.zones) == {"benelux", "dach", "scottish_highlands"}
    assert net.zones["scottish_highlands"].postcode_prefixes == ("IV", "HS", "KW", "PH")
    assert net.stocks["de_pickup"].out_of_stock_threshold == Decimal(-2)
    assert net.stock_for_channel("web_eu") is net.stocks["eu"]


def test_lanes_from_the_file_resolve_by_specificity() -> None:
    net = load_network(VALID)
    munich = Location(lat=48.1374, lon=11.5755, country="DE", postcode="80331")
    amsterdam = Location(lat=52.3676, lon=4.9041, country="NL")
    names = {code: getattr(net.shipping_lane(code, munich), "name", None) for code in net.codes}
    assert names == {"WH-BER": "de-domestic", "WH-PAR": "dc-europe", "ST-HAM": "stores-local",
                     "ST-MUC": None, "DS-TILBURG": "partner-anywhere"}
    # dc-europe lists two zones; both are served by the one lane.
    assert net.shipping_lane("WH-BER", amsterdam).name == "dc-europe"  # type: ignore[union-attr]
    assert net.shipping_lane("ST-HAM", amsterdam) is None
    lane = net.shipping_lane("WH-PAR", munich)
    assert lane is not None and lane.per_km == Decimal("0.0008")
    assert lane.per_shipment == Decimal("7.5")


def test_transfer_lanes_from_the_file_prefer_the_entry_naming_both_sources() -> None:
    net = load_network(VALID)
    ranked = [(code, lane.per_shipment) for code, lane in net.transfer_sources("ST-MUC")]
    assert ranked == [("WH-PAR", Decimal("1.50")), ("WH-BER", Decimal("2.00"))]
    assert net.transfer_lane("WH-PAR", "ST-HAM").days == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fixture", "prefix", "fragment"),
    [
        ("invalid_unknown_key.yaml", "3:5", "sources[0]: unknown key 'prority'; "
         "did you mean 'priority'?"),
        ("invalid_unknown_group.yaml", "6:21", "shipping_lanes[0].from.groups[0]: unknown group "
         "'dcs'; did you mean 'dc'? (known groups: dc)"),
        ("invalid_unknown_zone.yaml", "7:18", "shipping_lanes[0].to.zones[0]: unknown zone "
         "'dahc'; did you mean 'dach'?"),
        ("invalid_duplicate_code.yaml", "5:11", "source code 'WH-BER' is used twice (first at "
         "line 2)"),
        ("invalid_bad_kind.yaml", "3:11", "sources[0].kind: Input should be 'warehouse', "
         "'store', 'dropship' or 'virtual' (got 'warehose'); did you mean 'warehouse'?"),
        ("invalid_negative_cost.yaml", "5:44", "shipping_lanes[0].cost.per_unit: a cost must "
         "not be negative (got '-0.10')"),
        ("invalid_lat_out_of_range.yaml", "3:21", "sources[0].location.lat: Input should be less "
         "than or equal to 90"),
        ("invalid_transfer_to_non_receiver.yaml", "8:20", "transfer_lanes[0].to.sources[0]: "
         "source 'ST-MUC' does not receive transfers"),
        ("invalid_yaml_syntax.yaml", "4:9", "YAML syntax error"),
    ],
)
def test_each_invalid_fixture_is_reported_at_its_position(
    fixture: str, prefix: str, fragment: str
) -> None:
    path = NETWORKS / fixture
    with pytest.raises(NetworkFileError) as err:
        load_network(path)
    assert len(err.value.problems) == 1, err.value.problems
    problem = str(err.value.problems[0])
    assert problem.startswith(f"{path}:{prefix}: "), problem
    assert fragment in problem
    assert err.value.path == str(path)


def test_every_invalid_fixture_is_covered() -> None:
    assert len(list(NETWORKS.glob("invalid_*.yaml"))) == 9


def test_all_cross_reference_problems_are_reported_together_in_file_order() -> None:
    found = problems_of("""\
sources:
  - {code: WH-BER, groups: [dc]}
  - {code: ST-MUC, kind: store}
shipping_lanes:
  - {name: a, from: {sources: [WH-BRE]}}
  - {name: a, from: {tags: [hazmat]}}
transfer_lanes:
  - {from: {groups: [dcc]}, to: {sources: [ST-MUC]}}
stocks:
  - {name: eu, channels: [web], sources: {groups: [dc]}}
  - {name: de, channels: [web], sources: {kinds: [virtual]}}
""")
    assert found == [
        "network.yaml:5:32: shipping_lanes[0].from.sources[0]: unknown source 'WH-BRE'; "
        "did you mean 'WH-BER'? (known sources: ST-MUC, WH-BER)",
        "network.yaml:6:12: shipping_lanes[1].name: lane name 'a' is used twice (first at "
        "line 5); lane names must be unique",
        "network.yaml:6:29: shipping_lanes[1].from.tags[0]: unknown tag 'hazmat' "
        "(no tags are defined)",
        "network.yaml:8:22: transfer_lanes[0].from.groups[0]: unknown group 'dcc'; did you mean "
        "'dc'? (known groups: dc)",
        "network.yaml:8:44: transfer_lanes[0].to.sources[0]: source 'ST-MUC' does not receive "
        "transfers; set capabilities.receives_transfers: true on it or drop it here",
        "network.yaml:11:27: stocks[1].channels[0]: channel 'web' is already served by stock "
        "'eu'; a sales channel has exactly one stock",
        "network.yaml:11:33: stocks[1].sources: matches no source",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: []\n", "network.yaml:1:10: sources: a network needs at least one source"),
        ("- {code: A}\n", "network.yaml:1:1: a network file is a mapping with 'sources'"),
        ("currency: EURO\nsources: [{code: A}]\n",
         "network.yaml:1:11: currency: currency must be a three-letter ISO 4217 code"),
        ("sources:\n  - {code: A, location: {country: DEU}}\n",
         "network.yaml:2:35: sources[0].location.country: a country is a two-letter ISO "
         "3166-1 code like 'DE' (got 'DEU')"),
        ("sources:\n  - {code: A, location: {lat: 52.5}}\n",
         "network.yaml:2:25: sources[0].location: give both lat and lon, or neither"),
        ("sources:\n  - {code: A, location: {lat: .nan, lon: 0}}\n",
         "network.yaml:2:31: sources[0].location.lat: Input should be a finite number"),
        ("sources:\n  - {code: A, location: {postcode: 01067}}\n",
         "network.yaml:2:36: sources[0].location.postcode: postcodes and regions must be "
         "quoted strings: YAML read this one as the number 567"),
        ("sources:\n  - {code: A, priority: high}\n",
         "network.yaml:2:25: sources[0].priority: Input should be a valid integer"),
        ("sources:\n  - {code: A, capacity: {orders: -1}}\n",
         "network.yaml:2:34: sources[0].capacity.orders: Input should be greater than or equal "
         "to 0"),
        ("sources: [{code: A}]\nshipping_lanes:\n  - cost: {per_km: .nan}\n",
         "network.yaml:3:20: shipping_lanes[0].cost.per_km: a cost must be a finite amount"),
        ("sources: [{code: A}]\nshipping_lanes:\n  - cost: {per_unit: '0.0000001'}\n",
         "shipping_lanes[0].cost.per_unit: a cost may have at most 6 decimal places"),
        ("sources: [{code: A}]\nshipping_lanes:\n  - cost: {per_unit: 'cheap'}\n",
         "network.yaml:3:22: shipping_lanes[0].cost.per_unit: a cost must be an amount"),
        ("sources: [{code: A}]\nshipping_lanes:\n  - {from: {}}\n",
         "network.yaml:3:12: shipping_lanes[0].from: a selector must list at least one of "
         "sources, groups, kinds, tags"),
        ("sources: [{code: A}]\nshipping_lanes:\n  - {to: {zones: [x], countries: [DE]}}\n",
         "shipping_lanes[0].to: list either zones or countries/regions/postcodes, not both"),
        ("sources: [{code: A}]\nshipping_lanes:\n  - {form: {sources: [A]}}\n",
         "network.yaml:3:6: shipping_lanes[0]: unknown key 'form'; did you mean 'from'?"),
        ("sources: [{code: A}]\ntransfer_lanes:\n  - {cost: {per_km: 1}}\n",
         "network.yaml:3:13: transfer_lanes[0].cost: unknown key 'per_km' (allowed: per_shipment, "
         "per_unit)"),
        ("sources: [{code: A, capabilities: {receives_transfers: true}}]\n"
         "transfer_lanes:\n  - {days: 1}\n",
         "network.yaml:3:5: transfer_lanes[0]: no source that ships matches `from` together "
         "with another source that receives transfers"),
        ("sources: [{code: A, capabilities: {ships: false}}]\n"
         "shipping_lanes:\n  - {from: {sources: [A]}}\n",
         "network.yaml:3:23: shipping_lanes[0].from.sources[0]: source 'A' cannot ship"),
        ("zones:\n  everywhere: {}\nsources: [{code: A}]\n",
         "network.yaml:2:15: zones.everywhere: a zone must list countries, regions or postcodes"),
    ],
)
def test_shape_and_reference_problems_are_positioned(text: str, expected: str) -> None:
    found = problems_of(text)
    assert any(expected in p for p in found), found


def test_costs_are_read_exactly_from_strings_and_numbers() -> None:
    net = parse_network("""\
sources: [{code: A}]
shipping_lanes:
  - cost: {per_shipment: 0.1, per_unit: "0.30", per_km: 1e-4}
""")
    lane = net.shipping_lanes[0]
    assert (lane.per_shipment, lane.per_unit, lane.per_km) == (
        Decimal("0.1"), Decimal("0.30"), Decimal("0.0001"))


def test_an_inline_destination_may_name_regions_and_postcodes() -> None:
    net = parse_network("""\
sources: [{code: A}]
shipping_lanes:
  - {name: bavaria, to: {countries: [de], regions: [by]}, days: 2}
  - {name: highlands, to: {countries: [GB], postcodes: ["iv", "HS "]}, days: 4}
""")
    assert net.shipping_lane("A", Location(country="DE", region="BY")).name == "bavaria"  # type: ignore[union-attr]
    assert net.shipping_lane("A", Location(country="DE", region="BE")) is None
    highlands = net.shipping_lane("A", Location(country="GB", postcode="IV1 1AA"))
    assert highlands is not None and highlands.days == 4


def test_a_model_built_in_code_compiles_with_the_python_field_name_for_from() -> None:
    model = NetworkFile.model_validate({
        "sources": [{"code": "WH-BER", "kind": "warehouse"}, {"code": "ST-MUC", "kind": "store"}],
        "shipping_lanes": [{"from_": {"kinds": ["store"]}, "cost": {"per_shipment": "3"}}],
    })
    net = network_from_model(model)
    assert net.shipping_lane("WH-BER", Location(country="DE")) is None
    assert net.shipping_lane("ST-MUC", Location(country="DE")) is not None
    assert net.source("ST-MUC").kind is SourceKind.STORE


def test_network_from_model_reports_cross_reference_problems_without_positions() -> None:
    model = NetworkFile.model_validate({
        "sources": [{"code": "A"}],
        "stocks": [{"name": "eu", "sources": {"groups": ["eu"]}}],
    })
    with pytest.raises(NetworkFileError, match=r"<network>:0:0: stocks\[0\]\.sources\.groups"):
        network_from_model(model)


def test_the_json_schema_describes_the_file() -> None:
    schema = NetworkFile.model_json_schema()
    text = json.dumps(schema)
    assert "from" in schema["$defs"]["ShippingLaneModel"]["properties"]
    assert schema["required"] == ["sources"]
    assert "warehouse | store | dropship | virtual" in text
    assert schema["$defs"]["ShippingLaneModel"]["additionalProperties"] is False


def test_a_missing_file_is_a_network_file_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match="cannot read file"):
        load_network(tmp_path / "nope.yaml")
