"""The source network: lookups, lane resolution, transfers, distances and stocks."""

from __future__ import annotations

import inspect
import math
import pickle
import typing
from collections.abc import Iterable
from decimal import Decimal

import networkx as nx
import numpy as np
import pytest

from oms_sourcing.domain import (
    Capabilities,
    Location,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
    StockDefinition,
    Zone,
)
from oms_sourcing.errors import InputError, QuantityError, UnknownReferenceError
from oms_sourcing.inventory import ShippingLane, SourceNetwork, TransferLane, TransferLaneSpec

BERLIN = Location(lat=52.52, lon=13.405, country="DE", region="BE", postcode="10115")
PARIS = Location(lat=48.8566, lon=2.3522, country="FR", postcode="75001")
MUNICH = Location(lat=48.1374, lon=11.5755, country="DE", region="BY", postcode="80331")
HAMBURG = Location(lat=53.5511, lon=9.9937, country="DE", postcode="20095")
INVERNESS = Location(lat=57.4778, lon=-4.2247, country="GB", postcode="IV1 1AA")
EDINBURGH = Location(lat=55.9533, lon=-3.1883, country="GB", postcode="EH1 1YZ")
VIENNA = Location(lat=48.2082, lon=16.3738, country="AT")

STORE = Capabilities(ships=True, pickup=True, receives_transfers=True)
PICKUP_ONLY = Capabilities(ships=False, pickup=True, receives_transfers=True)


def sel(
    codes: Iterable[str] = (), groups: Iterable[str] = (), kinds: Iterable[SourceKind] = (),
    tags: Iterable[str] = (),
) -> SourceSelector:
    return SourceSelector(frozenset(codes), frozenset(groups), frozenset(kinds), frozenset(tags))


def src(code: str, **kw: object) -> Source:
    return Source(code=SourceCode(code), **kw)  # type: ignore[arg-type]


def sources() -> list[Source]:
    return [
        src("WH-PAR", priority=20, location=PARIS, groups=frozenset({"eu", "dc"})),
        src("WH-BER", priority=10, location=BERLIN, groups=frozenset({"eu", "dc"}),
            tags=frozenset({"hazmat_certified"})),
        src("ST-MUC", kind=SourceKind.STORE, priority=30, location=MUNICH,
            groups=frozenset({"eu", "de_stores"}), capabilities=PICKUP_ONLY),
        src("ST-HAM", kind=SourceKind.STORE, priority=30, location=HAMBURG,
            groups=frozenset({"eu", "de_stores"}), capabilities=STORE),
        src("DS-TILBURG", kind=SourceKind.DROPSHIP, priority=40,
            groups=frozenset({"eu"}), tags=frozenset({"partner"})),
    ]


DE = Zone("de", countries=frozenset({"DE"}))
DACH = Zone("dach", countries=frozenset({"DE", "AT", "CH"}))
BERLIN_CITY = Zone("berlin_city", countries=frozenset({"DE"}), postcode_prefixes=("10",))
HIGHLANDS = Zone("scottish_highlands", countries=frozenset({"GB"}),
                 postcode_prefixes=("IV", "HS", "KW", "PH"))


def lane(name: str, position: int, *, sources: SourceSelector | None = None,
         to: Zone | None = None, **costs: object) -> ShippingLane:
    return ShippingLane(name=name, sources=sources, destination=to, position=position,
                        **costs)  # type: ignore[arg-type]


def network(**kw: object) -> SourceNetwork:
    kw.setdefault("zones", [DE, DACH, BERLIN_CITY, HIGHLANDS])
    return SourceNetwork(sources(), **kw)  # type: ignore[arg-type]


# -- sources and selections --------------------------------------------------------------------


def test_sources_are_indexed_by_priority_then_code() -> None:
    net = network()
    assert net.codes == ("WH-BER", "WH-PAR", "ST-HAM", "ST-MUC", "DS-TILBURG")
    assert [net.index(c) for c in net.codes] == [0, 1, 2, 3, 4]
    assert net.source("ST-MUC").kind is SourceKind.STORE
    assert len(net) == 5 and list(net) == list(net.sources)
    assert "WH-BER" in net and "WH-XXX" not in net


def test_an_unknown_source_code_is_refused_with_a_suggestion_and_the_known_codes() -> None:
    net = network()
    with pytest.raises(UnknownReferenceError, match=r"'WH-BRE'; did you mean 'WH-BER'\?") as err:
        net.source("WH-BRE")
    assert "WH-BER" in err.value.known and "ST-MUC" in err.value.known


def test_groups_and_tags_are_collected_from_the_sources() -> None:
    net = network()
    assert net.groups["dc"] == {"WH-BER", "WH-PAR"}
    assert net.groups["de_stores"] == {"ST-MUC", "ST-HAM"}
    assert list(net.groups) == sorted(net.groups)
    assert net.tags == {"hazmat_certified", "partner"}


def test_a_selector_picks_any_listed_code_group_kind_or_tag_in_index_order() -> None:
    net = network()
    picked = net.select(sel(codes={"DS-TILBURG"}, groups={"de_stores"}, tags={"hazmat_certified"}))
    assert [s.code for s in picked] == ["WH-BER", "ST-HAM", "ST-MUC", "DS-TILBURG"]
    assert [s.code for s in net.select(sel(kinds={SourceKind.DROPSHIP}))] == ["DS-TILBURG"]


def test_an_empty_selector_picks_nothing() -> None:
    assert network().select(SourceSelector()) == ()


def test_lookups_by_group_kind_and_tag() -> None:
    net = network()
    assert [s.code for s in net.by_group("dc")] == ["WH-BER", "WH-PAR"]
    assert [s.code for s in net.by_kind("store")] == ["ST-HAM", "ST-MUC"]
    assert net.by_kind(SourceKind.VIRTUAL) == ()
    assert [s.code for s in net.by_tag("partner")] == ["DS-TILBURG"]


def test_lookups_by_an_unknown_group_tag_or_kind_say_what_exists() -> None:
    net = network()
    with pytest.raises(UnknownReferenceError, match=r"did you mean 'de_stores'\?"):
        net.by_group("de_store")
    with pytest.raises(UnknownReferenceError, match="known: hazmat_certified, partner"):
        net.by_tag("fragile")
    with pytest.raises(InputError, match=r"did you mean 'warehouse'\?"):
        net.by_kind("warehose")


def test_check_selector_names_the_first_unknown_reference() -> None:
    net = network()
    net.check_selector(sel(codes={"WH-BER"}, groups={"dc"}, tags={"partner"}))
    with pytest.raises(UnknownReferenceError, match=r"rule 7: unknown group 'dcc'") as err:
        net.check_selector(sel(groups={"dcc"}), where="rule 7")
    assert err.value.known == ("dc", "de_stores", "eu")


def test_zones_of_lists_the_zones_containing_a_location_narrowest_first() -> None:
    net = network()
    assert net.zones_of(BERLIN) == ("berlin_city", "dach", "de")
    assert net.zones_of(VIENNA) == ("dach",)
    assert net.zones_of(INVERNESS) == ("scottish_highlands",)
    assert net.zones_of(EDINBURGH) == ()


def test_zones_compare_countries_regardless_of_case() -> None:
    net = network(zones=[Zone("benelux", countries=frozenset({"nl", "be "}))])
    assert net.zones_of(Location(country="NL")) == ("benelux",)


# -- shipping lanes ----------------------------------------------------------------------------


def specificity_network() -> SourceNetwork:
    """Four lanes can serve WH-BER to Germany; each test removes the most specific one."""
    return network(shipping_lanes=[
        lane("anyone-anywhere", 0, per_shipment=Decimal("20")),
        lane("hazmat-de", 1, sources=sel(tags={"hazmat_certified"}), to=DE,
             per_shipment=Decimal("12")),
        lane("warehouses-de", 2, sources=sel(kinds={SourceKind.WAREHOUSE}), to=DE,
             per_shipment=Decimal("9")),
        lane("dc-de", 3, sources=sel(groups={"dc"}), to=DE, per_shipment=Decimal("7")),
        lane("ber-de", 4, sources=sel(codes={"WH-BER"}), to=DE, per_shipment=Decimal("5")),
    ])


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        ((), "ber-de"),
        (("ber-de",), "dc-de"),
        (("ber-de", "dc-de"), "warehouses-de"),
        (("ber-de", "dc-de", "warehouses-de"), "hazmat-de"),
        (("ber-de", "dc-de", "warehouses-de", "hazmat-de"), "anyone-anywhere"),
    ],
)
def test_a_lane_naming_the_source_beats_group_kind_tag_and_any(
    dropped: tuple[str, ...], expected: str
) -> None:
    full = specificity_network()
    net = network(shipping_lanes=[ln for ln in full.shipping_lanes if ln.name not in dropped])
    found = net.shipping_lane("WH-BER", MUNICH)
    assert found is not None and found.name == expected


def test_among_equally_specific_lanes_the_narrower_zone_wins_then_file_order() -> None:
    net = network(shipping_lanes=[
        lane("dc-de", 0, sources=sel(groups={"dc"}), to=DE, per_shipment=Decimal("7")),
        lane("dc-dach", 1, sources=sel(groups={"dc"}), to=DACH, per_shipment=Decimal("8")),
        lane("dc-de-again", 2, sources=sel(groups={"dc"}), to=DE, per_shipment=Decimal("1")),
        lane("dc-berlin", 3, sources=sel(groups={"dc"}), to=BERLIN_CITY,
             per_shipment=Decimal("3")),
    ])
    # A postcode zone is narrower than a country list, however late it comes.
    assert net.shipping_lane("WH-PAR", BERLIN).name == "dc-berlin"  # type: ignore[union-attr]
    # Two country lists are equally narrow (DE and DACH alike): the first lane wins.
    assert net.shipping_lane("WH-PAR", MUNICH).name == "dc-de"  # type: ignore[union-attr]
    assert net.shipping_lane("WH-PAR", VIENNA).name == "dc-dach"  # type: ignore[union-attr]


def test_with_lanes_defined_a_source_without_a_lane_to_the_destination_cannot_ship_there() -> None:
    net = network(shipping_lanes=[
        lane("de-domestic", 0, sources=sel(codes={"WH-BER"}), to=DE, per_shipment=Decimal("4.90")),
        lane("highlands", 1, sources=sel(groups={"dc"}), to=HIGHLANDS,
             per_shipment=Decimal("19")),
    ])
    assert net.has_shipping_lanes
    assert net.shipping_lane("WH-BER", MUNICH) is not None
    assert net.shipping_lane("WH-PAR", MUNICH) is None
    assert net.shipping_lane("WH-PAR", INVERNESS) is not None
    assert net.shipping_lane("WH-PAR", EDINBURGH) is None
    assert net.shipping_cost("WH-PAR", MUNICH) is None
    _, _, mask = net.shipping_costs(MUNICH)
    assert mask.tolist() == [True, False, False, False, False]


def test_without_any_lanes_every_shipping_source_ships_anywhere_at_no_lane_cost() -> None:
    net = network()
    assert not net.has_shipping_lanes
    assert net.shipping_lane("WH-PAR", INVERNESS) is SourceNetwork.OPEN_LANE
    assert net.shipping_lane("DS-TILBURG", EDINBURGH) is SourceNetwork.OPEN_LANE
    # ST-MUC is pickup-only: no lane, however open the network is.
    assert net.shipping_lane("ST-MUC", MUNICH) is None
    cost, days, mask = net.shipping_costs(MUNICH, 3)
    assert mask.tolist() == [True, True, True, False, True]
    assert cost.tolist() == [0, 0, 0, 0, 0] and days.tolist() == [0, 0, 0, 0, 0]


def test_a_source_that_does_not_ship_never_gets_a_lane() -> None:
    net = network(shipping_lanes=[lane("stores", 0, sources=sel(groups={"de_stores"}))])
    assert net.shipping_lane("ST-HAM", BERLIN) is not None
    assert net.shipping_lane("ST-MUC", BERLIN) is None


def test_a_shipment_costs_per_shipment_plus_per_unit_plus_per_km_rounded_half_up() -> None:
    net = network(shipping_lanes=[
        lane("dc-europe", 0, sources=sel(groups={"dc"}), per_shipment=Decimal("4.90"),
             per_unit=Decimal("0.25"), per_km=Decimal("0.0008"), days=3),
    ])
    km = float(net.distances_km(MUNICH)[net.index("WH-BER")])
    metres = math.floor(km * 1000 + 0.5)
    exact = Decimal("4.90") + Decimal("0.25") * 3 + Decimal("0.0008") * metres / 1000
    assert net.shipping_cost("WH-BER", MUNICH, 3) == exact.quantize(Decimal("0.01"))
    cost, days, mask = net.shipping_costs(MUNICH, 3)
    assert cost.dtype == np.int64 and days.dtype == np.int64 and mask.dtype == np.bool_
    assert cost[0] == int(exact.quantize(Decimal("0.01")) * 100)
    assert days.tolist() == [3, 3, 0, 0, 0]
    # The vectorised helper and the one-source call agree for every source.
    for i, code in enumerate(net.codes):
        one = net.shipping_cost(code, MUNICH, 3)
        assert (one is None) == (not mask[i])
        if one is not None:
            assert one == Decimal(int(cost[i])) / 100


def test_costs_round_half_up_to_the_minor_unit() -> None:
    net = network(shipping_lanes=[lane("half", 0, per_unit=Decimal("0.005"))])
    assert net.shipping_cost("WH-BER", Location(country="DE"), 1) == Decimal("0.01")
    assert net.shipping_cost("WH-BER", Location(country="DE"), 3) == Decimal("0.02")
    cost, _, _ = net.shipping_costs(Location(country="DE"), 1)
    assert cost[0] == 1


def test_decimal_quantities_are_costed_exactly() -> None:
    net = network(shipping_lanes=[lane("fabric", 0, per_unit=Decimal("1.30"))],
                  minor_digits=3)
    assert net.shipping_cost("WH-BER", BERLIN, Decimal("2.5")) == Decimal("3.250")
    cost, _, _ = net.shipping_costs(BERLIN, Decimal("2.5"))
    assert cost[0] == 3250


def test_an_unknown_distance_adds_no_per_km_cost() -> None:
    net = network(shipping_lanes=[lane("km", 0, per_shipment=Decimal("1"),
                                       per_km=Decimal("1"))])
    assert net.shipping_cost("DS-TILBURG", BERLIN) == Decimal("1.00")
    assert net.shipping_cost("WH-BER", Location(country="DE")) == Decimal("1.00")


def test_a_negative_or_nan_quantity_is_refused_by_the_cost_helpers() -> None:
    net = network(shipping_lanes=[lane("x", 0)])
    with pytest.raises(QuantityError):
        net.shipping_costs(BERLIN, Decimal(-1))
    with pytest.raises(QuantityError):
        net.shipping_cost("WH-BER", BERLIN, Decimal("NaN"))


def test_costs_beyond_the_fast_int64_path_are_still_exact() -> None:
    net = network(shipping_lanes=[lane("freight", 0, per_shipment=Decimal("5000000.01"))])
    cost, _, _ = net.shipping_costs(BERLIN)
    assert cost[0] == 500_000_001
    assert net.shipping_cost("WH-BER", BERLIN) == Decimal("5000000.01")


def test_a_cost_beyond_int64_minor_units_is_refused() -> None:
    # each figure is below the 10^12 every quantity and rate must stay under; the product
    # is not
    net = network(shipping_lanes=[lane("absurd", 0, per_unit=Decimal(10) ** 11)])
    with pytest.raises(InputError, match="does not fit in int64"):
        net.shipping_costs(BERLIN, Decimal(10) ** 11)


def test_repeated_destinations_resolve_to_the_same_lanes() -> None:
    net = specificity_network()
    first = [net.shipping_lane(c, MUNICH) for c in net.codes]
    same_zone_elsewhere = Location(country="de", city="Köln", postcode="50667")
    assert [net.shipping_lane(c, same_zone_elsewhere) for c in net.codes] == first
    assert [net.shipping_lane(c, MUNICH) for c in net.codes] == first


def test_lane_rates_must_be_exact_non_negative_amounts() -> None:
    with pytest.raises(InputError, match="per_unit must be a finite amount >= 0"):
        network(shipping_lanes=[lane("bad", 0, per_unit=Decimal("-0.10"))])
    with pytest.raises(InputError, match="per_km"):
        network(shipping_lanes=[lane("bad", 0, per_km=Decimal("NaN"))])
    with pytest.raises(InputError, match="per_shipment must be a Decimal"):
        network(shipping_lanes=[lane("bad", 0, per_shipment=4.9)])
    with pytest.raises(InputError, match="days"):
        network(shipping_lanes=[lane("bad", 0, days=-1)])


def test_a_lane_naming_an_unknown_group_is_refused_with_the_known_groups() -> None:
    with pytest.raises(UnknownReferenceError, match=r"unknown group 'dcs'; did you mean 'dc'\?") \
            as err:
        network(shipping_lanes=[lane("eu", 0, sources=sel(groups={"dcs"}))])
    assert err.value.known == ("dc", "de_stores", "eu")
    assert "shipping lane 'eu'" in str(err.value)


def test_a_lane_naming_a_source_that_cannot_ship_is_refused() -> None:
    with pytest.raises(InputError, match="'ST-MUC' ships from this lane but"):
        network(shipping_lanes=[lane("muc", 0, sources=sel(codes={"ST-MUC"}))])


# -- transfer lanes ----------------------------------------------------------------------------


def transfer_network(*extra: TransferLane | TransferLaneSpec) -> SourceNetwork:
    return network(transfer_lanes=[
        TransferLaneSpec(from_sources=sel(groups={"dc"}), to_sources=sel(groups={"de_stores"}),
                         per_shipment=Decimal("2.00"), per_unit=Decimal("0.10"), days=2,
                         position=0),
        *extra,
    ])


def test_transfer_lanes_expand_selectors_into_explicit_pairs() -> None:
    net = transfer_network()
    pairs = [(t.from_source, t.to_source) for t in net.transfer_lanes]
    assert pairs == [("WH-BER", "ST-HAM"), ("WH-BER", "ST-MUC"),
                     ("WH-PAR", "ST-HAM"), ("WH-PAR", "ST-MUC")]
    found = net.transfer_lane("WH-BER", "ST-MUC")
    assert found == TransferLane(SourceCode("WH-BER"), SourceCode("ST-MUC"), Decimal("2.00"),
                                 Decimal("0.10"), 2, 0)
    assert net.transfer_lane("ST-MUC", "WH-BER") is None


def test_sources_a_selector_matches_that_cannot_take_part_are_skipped() -> None:
    # "every source" on both ends: ST-MUC cannot ship, only the stores receive, no self-transfer.
    net = network(transfer_lanes=[TransferLaneSpec(position=0)])
    pairs = {(t.from_source, t.to_source) for t in net.transfer_lanes}
    assert pairs == {("WH-BER", "ST-HAM"), ("WH-PAR", "ST-HAM"), ("DS-TILBURG", "ST-HAM"),
                     ("WH-BER", "ST-MUC"), ("WH-PAR", "ST-MUC"), ("DS-TILBURG", "ST-MUC"),
                     ("ST-HAM", "ST-MUC")}


def test_the_most_specific_transfer_entry_wins_for_a_pair() -> None:
    net = transfer_network(
        TransferLaneSpec(from_sources=sel(codes={"WH-PAR"}), to_sources=sel(codes={"ST-MUC"}),
                         per_shipment=Decimal("1.50"), days=4, position=1),
        TransferLaneSpec(from_sources=sel(kinds={SourceKind.WAREHOUSE}),
                         to_sources=sel(codes={"ST-HAM"}), per_shipment=Decimal("9"),
                         position=2),
    )
    assert net.transfer_lane("WH-PAR", "ST-MUC").per_shipment == Decimal("1.50")  # type: ignore[union-attr]
    # group (from) beats kind (from), whatever the `to` side says
    assert net.transfer_lane("WH-BER", "ST-HAM").per_shipment == Decimal("2.00")  # type: ignore[union-attr]


def test_equally_specific_transfer_entries_are_decided_by_file_order() -> None:
    net = transfer_network(
        TransferLaneSpec(from_sources=sel(groups={"dc"}), to_sources=sel(groups={"de_stores"}),
                         per_shipment=Decimal("0.50"), position=1),
    )
    assert net.transfer_lane("WH-BER", "ST-HAM").per_shipment == Decimal("2.00")  # type: ignore[union-attr]


def test_explicit_transfer_lanes_are_accepted_as_the_most_specific() -> None:
    net = transfer_network(
        TransferLane(SourceCode("WH-BER"), SourceCode("ST-HAM"), Decimal("0.75"), days=1,
                     position=5),
    )
    assert net.transfer_lane("WH-BER", "ST-HAM").per_shipment == Decimal("0.75")  # type: ignore[union-attr]


def test_transfer_sources_are_sorted_by_cost_then_days_then_priority_then_code() -> None:
    net = transfer_network(
        TransferLaneSpec(from_sources=sel(codes={"DS-TILBURG"}), to_sources=sel(codes={"ST-MUC"}),
                         per_shipment=Decimal("2.00"), days=1, position=1),
        TransferLaneSpec(from_sources=sel(codes={"ST-HAM"}), to_sources=sel(codes={"ST-MUC"}),
                         per_shipment=Decimal("2.00"), days=2, position=2),
    )
    order = [code for code, _ in net.transfer_sources("ST-MUC")]
    # DS-TILBURG is faster; WH-BER, ST-HAM and WH-PAR tie on cost and days -> priority, code.
    assert order == ["DS-TILBURG", "WH-BER", "WH-PAR", "ST-HAM"]
    assert net.transfer_sources("WH-BER") == ()


def test_transfer_lookups_refuse_unknown_codes() -> None:
    net = transfer_network()
    with pytest.raises(UnknownReferenceError, match="did you mean 'ST-MUC'"):
        net.transfer_lane("WH-BER", "ST-MUK")
    with pytest.raises(UnknownReferenceError):
        net.transfer_sources("ST-MUK")


def test_a_transfer_to_a_source_that_does_not_receive_transfers_is_refused() -> None:
    with pytest.raises(InputError, match="'WH-PAR', which does not receive transfers"):
        transfer_network(TransferLaneSpec(from_sources=sel(codes={"WH-BER"}),
                                          to_sources=sel(codes={"WH-PAR"}), position=1))


def test_a_transfer_from_a_source_that_cannot_ship_is_refused() -> None:
    with pytest.raises(InputError, match="from 'ST-MUC', which cannot ship"):
        transfer_network(TransferLane(SourceCode("ST-MUC"), SourceCode("ST-HAM")))


def test_a_transfer_lane_that_matches_no_pair_is_refused() -> None:
    with pytest.raises(InputError, match="matches no pair"):
        transfer_network(TransferLaneSpec(from_sources=sel(kinds={SourceKind.VIRTUAL})))
    with pytest.raises(InputError, match="to itself"):
        transfer_network(TransferLane(SourceCode("ST-HAM"), SourceCode("ST-HAM")))


# -- distances ---------------------------------------------------------------------------------


def test_distances_follow_the_great_circle() -> None:
    net = network()
    km = net.distances_km(PARIS)
    assert km.dtype == np.float64 and km.shape == (5,)
    assert km[net.index("WH-BER")] == pytest.approx(878, abs=5)
    assert km[net.index("WH-PAR")] == pytest.approx(0, abs=1e-9)
    assert net.distances_km(MUNICH)[net.index("WH-BER")] == pytest.approx(504, abs=5)
    assert net.distances_km(HAMBURG)[net.index("WH-BER")] == pytest.approx(255, abs=5)


def test_a_source_without_coordinates_has_no_distance() -> None:
    km = network().distances_km(PARIS)
    assert math.isnan(km[4]) and not np.isnan(km[:4]).any()


def test_a_destination_without_coordinates_has_no_distance_to_anyone() -> None:
    assert np.isnan(network().distances_km(Location(country="DE"))).all()


# -- stocks ------------------------------------------------------------------------------------


def stock_network() -> SourceNetwork:
    return network(stocks=[
        StockDefinition("eu", sel(groups={"eu"}), channels=frozenset({"web_eu", "app_eu"})),
        StockDefinition("pickup", sel(kinds={SourceKind.STORE}),
                        channels=frozenset({"pickup_de"}),
                        out_of_stock_threshold=Decimal(-2)),
    ])


def test_stocks_list_their_sources_in_index_order_and_serve_their_channels() -> None:
    net = stock_network()
    assert net.stock_sources("eu") == ("WH-BER", "WH-PAR", "ST-HAM", "ST-MUC", "DS-TILBURG")
    assert net.stock_sources("pickup") == ("ST-HAM", "ST-MUC")
    assert net.stock_for_channel("app_eu") is net.stocks["eu"]
    assert net.stock_for_channel("marketplace") is None
    with pytest.raises(UnknownReferenceError, match="did you mean 'pickup'"):
        net.stock_sources("pickups")


def test_a_channel_served_by_two_stocks_is_refused() -> None:
    with pytest.raises(InputError, match="channel 'web_eu' is already served by stock 'eu'"):
        network(stocks=[
            StockDefinition("eu", sel(groups={"eu"}), channels=frozenset({"web_eu"})),
            StockDefinition("de", sel(groups={"dc"}), channels=frozenset({"web_eu"})),
        ])


def test_a_stock_naming_an_unknown_source_is_refused() -> None:
    with pytest.raises(UnknownReferenceError,
                       match=r"stock 'eu'\.sources: unknown source 'WH-BRE'"):
        network(stocks=[StockDefinition("eu", sel(codes={"WH-BRE"}))])
    with pytest.raises(InputError, match="matches no source"):
        network(stocks=[StockDefinition("virtual", sel(kinds={SourceKind.VIRTUAL}))])


# -- construction and immutability -------------------------------------------------------------


def test_duplicate_source_codes_are_refused() -> None:
    with pytest.raises(InputError, match="'WH-BER' is used twice"):
        SourceNetwork([src("WH-BER"), src("WH-BER", priority=3)])
    with pytest.raises(InputError, match="non-empty"):
        SourceNetwork([src(" ")])


def test_a_pickup_source_of_any_kind_is_fine() -> None:
    net = SourceNetwork([src("WH-BER", capabilities=Capabilities(pickup=True))])
    assert net.source("WH-BER").capabilities.pickup


def test_currency_and_minor_digits_are_checked() -> None:
    assert SourceNetwork([src("A")], currency="chf").currency == "CHF"
    with pytest.raises(InputError, match="currency"):
        SourceNetwork([src("A")], currency="EURO")
    with pytest.raises(InputError, match="minor_digits"):
        SourceNetwork([src("A")], minor_digits=7)


def test_the_network_cannot_be_changed_after_it_is_built() -> None:
    net = transfer_network()
    with pytest.raises(nx.NetworkXError):
        net._graph.add_edge("WH-BER", "WH-PAR")
    with pytest.raises(AttributeError):
        net.sources = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        net.groups["dc"] = frozenset()  # type: ignore[index]
    with pytest.raises(ValueError, match="read-only"):
        net._lat[0] = 0.0


def test_a_network_survives_pickling_for_worker_processes() -> None:
    net = network(
        shipping_lanes=specificity_network().shipping_lanes,
        transfer_lanes=transfer_network().transfer_lanes,
        stocks=stock_network().stocks.values(),
    )
    copy = pickle.loads(pickle.dumps(net))
    assert copy.sources == net.sources and copy.zones == net.zones
    assert copy.shipping_lanes == net.shipping_lanes
    assert copy.transfer_lanes == net.transfer_lanes
    assert copy.stocks == net.stocks
    assert copy.shipping_lane("WH-BER", MUNICH) == net.shipping_lane("WH-BER", MUNICH)


def test_no_public_attribute_or_signature_exposes_networkx() -> None:
    net = stock_network()
    for name in dir(net):
        if name.startswith("_"):
            continue
        value = getattr(net, name)
        assert not isinstance(value, nx.Graph), name
        if callable(value):
            hints = typing.get_type_hints(value)
            assert "networkx" not in repr(hints), name
            assert "networkx" not in str(inspect.signature(value)), name
