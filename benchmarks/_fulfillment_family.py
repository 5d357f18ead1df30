"""The academic multi-item fulfilment instance family (Jasin & Sinha 2015; Ma 2023; Amil,
Makhdoumi & Wei 2025) on its US city / fulfilment-centre network, as oms_sourcing objects.

``data/fulfillment-benchmark/README.md`` gives the definition; in short: one arrival per period
over ``T`` periods, an arrival is an order type (the first ``s`` items of a random permutation)
at a city (by population); FC ``k`` carries item ``i`` with probability ``p_carry``, each city's
demand for an item is routed to its nearest carrying FC and stocked at
``round(T d + 0.5 sqrt(T d (1 - d)))``; an item no FC carries has no stock at all (see
:data:`UNCARRIED`). A shipment costs 8.759 per FC used plus
0.423 + 0.000541 x miles per item; an unfilled item goes to a dummy facility costing twice that
(2 x 8.759 once per order with unfilled items, 2 x the per-item cost from the city's farthest FC).

In oms_sourcing terms: the FCs are warehouses, each city is a shipping zone (postcode ``C007``
…) with one lane per FC carrying the literature's cost exactly (per-item cost to 6 decimals),
and the dummy facility is one more source (``DUMMY``) with unlimited stock and the dummy's
lanes, so the per-order optimiser weighs "unfilled" exactly as the literature's cost does.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from oms_sourcing.allocation.allocate import AllocationResult, allocate
from oms_sourcing.allocation.lookahead import (
    BidPrices,
    DemandClass,
    DlpResult,
    Unfilled,
    solve_dlp,
)
from oms_sourcing.allocation.wave import WaveConfig, allocate_wave
from oms_sourcing.domain import (
    BackorderMode,
    Backorders,
    Catalog,
    LineId,
    Location,
    Order,
    OrderId,
    OrderLine,
    Shipping,
    Sku,
    SkuInfo,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
    Zone,
)
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork
from oms_sourcing.inventory.stock import StockLedger, StockRecord
from oms_sourcing.rules.model import Objective, Policy

DATA = Path(__file__).resolve().parent / "data" / "fulfillment-benchmark"
EARTH_RADIUS_MI = 3957.0
PER_SHIPMENT = Decimal("8.759")
PER_ITEM = Decimal("0.423")
PER_MILE = Decimal("0.000541")
DUMMY = "DUMMY"
START = datetime(2026, 1, 1, tzinfo=UTC)

#: What becomes of an item that no FC carries (each FC carries an item with probability
#: ``p_carry``, so at p = 0.25 about 100 x 0.75^10 = 5.6 items of an instance, 0.1 at p = 0.5):
#:
#: * ``"dummy"`` (the default) as the reference code, Ma's ``corr_rounding.jl``
#:   (Willmasaur/multi_item_e_commerce_fulfillment): the region's closest carrying FC is
#:   ``K+1``, the dummy, so the item has no stock anywhere and every unit of it goes unfilled;
#: * ``"random-fc"``, the variant this bench ran until 2026-12-07: the item is carried by one
#:   FC drawn at random, and routed and stocked there like any other item.
UNCARRIED = ("dummy", "random-fc")


@dataclass(frozen=True, slots=True)
class FamilySpec:
    """One member of the family: network size, items, order sizes and stocking."""

    name: str
    cities_file: str
    fcs_file: str
    items: int
    max_size: int
    types_per_size: int
    horizon: int
    p_carry: float


SPECS = {
    "warmup": FamilySpec("warmup", "cities_warmup.csv", "fulfillment_centers_warmup.csv",
                         items=20, max_size=5, types_per_size=5, horizon=10_000, p_carry=0.75),
    "large-0.5": FamilySpec("large-0.5", "cities.csv", "fulfillment_centers.csv", items=100,
                            max_size=10, types_per_size=10, horizon=100_000, p_carry=0.5),
    "large-0.25": FamilySpec("large-0.25", "cities.csv", "fulfillment_centers.csv", items=100,
                             max_size=10, types_per_size=10, horizon=100_000, p_carry=0.25),
}


def sku_name(item: int) -> str:
    """Item ``item``'s SKU (``ITEM-007``)."""
    return f"ITEM-{item:03d}"


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles (haversine, Earth radius 3,957 mi), as the literature."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_MI * math.asin(min(1.0, math.sqrt(a)))


def item_cost(distance_mi: float) -> Decimal:
    """Per-item cost over ``distance_mi``, exact to 6 decimals."""
    return (PER_ITEM + PER_MILE * Decimal(repr(float(distance_mi)))).quantize(Decimal("0.000001"))


@dataclass(frozen=True, slots=True, eq=False)
class Instance:
    """One seeded instance: network, catalog, order types and their probabilities, stock."""

    spec: FamilySpec
    seed: int
    horizon: int
    network: SourceNetwork
    catalog: Catalog
    cities: tuple[Location, ...]
    city_share: np.ndarray               # (cities,) population share
    types: tuple[tuple[str, ...], ...]   # order types (item SKUs); () is the empty order
    type_prob: np.ndarray                # (types,)
    stock: dict[tuple[str, str], int]    # (FC code, SKU) -> units at the start
    unit_cost: np.ndarray                # (FCs, cities) per-item cost
    dummy_unit: np.ndarray               # (cities,) dummy per-item cost
    routed: np.ndarray                   # (items, cities) the FC (index) a city's demand for
    #                                      the item was stocked at: its nearest carrier; -1 none
    uncarried: str                       # what became of items no FC carries (UNCARRIED)

    @property
    def fcs(self) -> tuple[str, ...]:
        return tuple(c for c in self.network.codes if c != DUMMY)

    def demand_classes(self, horizon: int | None = None) -> list[DemandClass]:
        """Expected orders of each (type, city) over ``horizon`` periods (default: all)."""
        t = self.horizon if horizon is None else horizon
        return [
            DemandClass(skus, city, float(t * p * share))
            for skus, p in zip(self.types, self.type_prob.tolist(), strict=True) if skus
            for city, share in zip(self.cities, self.city_share.tolist(), strict=True)
        ]

    def unfilled(self, cls: DemandClass) -> Unfilled:
        c = self.cities.index(cls.destination)
        return Unfilled(per_order=2 * PER_SHIPMENT,
                        per_unit=Decimal(str(self.dummy_unit[c])))

    def arrivals(self, sequence: int) -> Iterator[Order]:
        """The arrival sequence ``sequence``: one (possibly empty) arrival per period; empty
        arrivals are skipped."""
        rng = np.random.default_rng([self.seed, sequence])
        joint = np.outer(self.type_prob, self.city_share).ravel()
        draws = rng.choice(joint.size, size=self.horizon, p=joint / joint.sum())
        n_cities = len(self.cities)
        for t, j in enumerate(draws.tolist()):
            skus = self.types[j // n_cities]
            if not skus:
                continue
            city = self.cities[j % n_cities]
            yield Order(
                OrderId(f"{self.seed}-{sequence}-{t:06d}"), START,
                tuple(OrderLine(LineId(str(n + 1)), Sku(sku), Decimal(1))
                      for n, sku in enumerate(skus)),
                shipping=Shipping(address=city),
            )


def _draw(spec: FamilySpec, seed: int, n_fc: int
          ) -> tuple[np.random.Generator, list[tuple[str, ...]], list[float], np.ndarray]:
    """The random part of instance ``seed``, in the order it is drawn: the order types, their
    probabilities, and which FC carries which item; then the generator, at that point."""
    rng = np.random.default_rng(seed)
    skus = [sku_name(i) for i in range(spec.items)]
    types: list[tuple[str, ...]] = [()]
    size_weight = rng.random(spec.max_size + 1)
    size_prob = size_weight / size_weight.sum()
    probs: list[float] = [float(size_prob[0])]
    for s in range(1, spec.max_size + 1):
        weights = rng.random(spec.types_per_size)
        weights = weights / weights.sum()
        for w in weights.tolist():
            perm = rng.permutation(spec.items)
            types.append(tuple(skus[i] for i in sorted(perm[:s].tolist())))
            probs.append(float(size_prob[s]) * w)
    carries = rng.random((n_fc, spec.items)) < spec.p_carry
    return rng, types, probs, carries


@functools.cache
def uncarried_items(family: str, seed: int) -> tuple[str, ...]:
    """The items no FC carries in instance ``seed`` of ``family`` (either way of
    :data:`UNCARRIED` gives the same instance when there are none)."""
    spec = SPECS[family]
    _, _, _, carries = _draw(spec, seed, len(_read(spec.fcs_file)))
    return tuple(sku_name(i) for i in np.flatnonzero(~carries.any(axis=0)).tolist())


def upgrade_result(one: dict[str, Any]) -> dict[str, Any]:
    """One instance's line of a grid's results file, in today's terms.

    Lines written before 2026-12-07 have no ``uncarried``: their instances were made the
    ``random-fc`` way, which is the reference's own instance where no item went uncarried
    (every warm-up instance 0-29, 25 of 30 at p = 0.5, none at p = 0.25); and they call the
    nearest-in-stock policy ``myopic``. Such a line is read with ``uncarried`` set to what its
    instance is, and ``myopic`` renamed; a newer line is returned as it is.
    """
    if "uncarried" in one:
        return one
    way = "random-fc" if uncarried_items(one["family"], int(one["seed"])) else "dummy"
    costs = {("nearest in stock" if name == "myopic" else name): values
             for name, values in one["costs"].items()}
    return {**one, "uncarried": way, "costs": costs}


def make_instance(spec: FamilySpec, seed: int, horizon: int | None = None,
                  uncarried: str = "dummy") -> Instance:
    """Instance ``seed`` of ``spec`` (``horizon`` overrides T, for small test runs;
    ``uncarried``: what becomes of items no FC carries, one of :data:`UNCARRIED`)."""
    if uncarried not in UNCARRIED:
        raise ValueError(f"uncarried {uncarried!r} is not a way of the family; use one of "
                         f"{', '.join(UNCARRIED)} ('dummy': the reference's)")
    t_max = spec.horizon if horizon is None else horizon
    city_rows = _read(spec.cities_file)
    fc_rows = _read(spec.fcs_file)
    cities = tuple(
        Location(lat=float(r["lat"]), lon=float(r["lon"]), country="US", postcode=f"C{c:03d}",
                 city=r["city"], region=r["state"])
        for c, r in enumerate(city_rows)
    )
    pop = np.array([float(r["population"]) for r in city_rows])
    share = pop / pop.sum()
    fc_loc = [(float(r["lat"]), float(r["lon"])) for r in fc_rows]
    fc_codes = [r["facility"] for r in fc_rows]
    n_fc, n_city = len(fc_rows), len(cities)
    dist = np.array([[miles(fa, fo, c.lat or 0.0, c.lon or 0.0) for c in cities]
                     for fa, fo in fc_loc])
    unit = np.array([[float(item_cost(dist[k, c])) for c in range(n_city)]
                     for k in range(n_fc)])
    far = dist.max(axis=0)
    dummy_unit = np.array([float(2 * item_cost(far[c])) for c in range(n_city)])

    skus = [sku_name(i) for i in range(spec.items)]
    rng, types, probs, carries = _draw(spec, seed, n_fc)
    type_prob = np.array(probs)
    if uncarried == "random-fc":
        for i in np.flatnonzero(~carries.any(axis=0)).tolist():
            carries[int(rng.integers(n_fc)), i] = True      # every item somewhere
    # per-period probability that an arrival at city c asks for item i
    item_prob = np.zeros(spec.items)
    for ts, p in zip(types, probs, strict=True):
        for sku in ts:
            item_prob[skus.index(sku)] += p
    demand_share = np.zeros((n_fc, spec.items))
    order = np.argsort(dist, axis=0, kind="stable")  # FCs by distance, per city
    routed = np.full((spec.items, n_city), -1)
    for i in range(spec.items):
        for c in range(n_city):
            k = next((int(k) for k in order[:, c] if carries[k, i]), -1)
            if k >= 0:                              # (none: the dummy's, and not stocked)
                routed[i, c] = k
                demand_share[k, i] += share[c] * item_prob[i]
    stock: dict[tuple[str, str], int] = {}
    for k in range(n_fc):
        for i in range(spec.items):
            d = demand_share[k, i]
            if carries[k, i] and d > 0:
                stock[(fc_codes[k], skus[i])] = round(t_max * d + 0.5 * math.sqrt(
                    t_max * d * (1 - d)))

    sources = [Source(SourceCode(code), SourceKind.WAREHOUSE, priority=k + 1,
                      location=Location(lat=lat, lon=lon, country="US"))
               for k, (code, (lat, lon)) in enumerate(zip(fc_codes, fc_loc, strict=True))]
    sources.append(Source(SourceCode(DUMMY), SourceKind.DROPSHIP, priority=1000,
                          location=Location(country="US")))
    zones = [Zone(name=f"city-{c:03d}", postcode_prefixes=(f"C{c:03d}",))
             for c in range(n_city)]
    lanes = [
        ShippingLane(name=f"{code}->{c:03d}", sources=SourceSelector(codes=frozenset({code})),
                     destination=zones[c], per_shipment=PER_SHIPMENT,
                     per_unit=item_cost(dist[k, c]), position=k * n_city + c)
        for k, code in enumerate(fc_codes) for c in range(n_city)
    ] + [
        ShippingLane(name=f"dummy->{c:03d}", sources=SourceSelector(codes=frozenset({DUMMY})),
                     destination=zones[c], per_shipment=2 * PER_SHIPMENT,
                     per_unit=2 * item_cost(far[c]), position=n_fc * n_city + c)
        for c in range(n_city)
    ]
    network = SourceNetwork(sources, zones=zones, shipping_lanes=lanes, currency="USD")
    catalog = Catalog(SkuInfo(Sku(s), backorders=Backorders(BackorderMode.ALLOW)) for s in skus)
    return Instance(spec, seed, t_max, network, catalog, cities, share, tuple(types), type_prob,
                    stock, unit, dummy_unit, routed, uncarried)


def plan_cost(instance: Instance, city: int, shipments: dict[str, int]) -> float:
    """The literature's cost of one order: ``shipments`` maps each facility used (``DUMMY``
    for unfilled items) to its item count."""
    total = 0.0
    fcs = instance.fcs
    for code, items in shipments.items():
        if not items:
            continue
        if code == DUMMY:
            total += 2 * float(PER_SHIPMENT) + items * float(instance.dummy_unit[city])
        else:
            total += float(PER_SHIPMENT) + items * float(instance.unit_cost[fcs.index(code),
                                                                            city])
    return total


# -- policies -----------------------------------------------------------------------------------


def _city(order: Order) -> int:
    return int((order.destination.postcode or "C0")[1:])


def run_static_myopic(instance: Instance, sequence: int) -> float:
    """The literature's static myopic policy (``myopic`` in the reference code): each item
    from the FC its city's demand for it was stocked at — its nearest carrier — while that FC
    has some left, else unfilled (the dummy); it never turns to another FC."""
    stock = dict(instance.stock)
    fcs = instance.fcs
    sku_index = {sku_name(i): i for i in range(instance.spec.items)}
    total = 0.0
    for order in instance.arrivals(sequence):
        c = _city(order)
        used: dict[str, int] = {}
        for line in order.lines:
            source = DUMMY
            k = int(instance.routed[sku_index[line.sku], c])
            if k >= 0 and stock.get((fcs[k], line.sku), 0) > 0:
                stock[(fcs[k], line.sku)] -= 1
                source = fcs[k]
            used[source] = used.get(source, 0) + 1
        total += plan_cost(instance, c, used)
    return total


def run_nearest_in_stock(instance: Instance, sequence: int) -> float:
    """Each item from its nearest FC that still holds it, else unfilled: a myopic policy that,
    unlike the literature's static one (:func:`run_static_myopic`), falls back to the
    next-nearest FC with stock. (This bench's tables called it "myopic" until 2026-12-07.)"""
    stock = dict(instance.stock)
    fcs = instance.fcs
    nearest = np.argsort(instance.unit_cost, axis=0, kind="stable")   # (FCs, cities)
    total = 0.0
    for order in instance.arrivals(sequence):
        c = _city(order)
        used: dict[str, int] = {}
        for line in order.lines:
            source = DUMMY
            for k in nearest[:, c].tolist():
                key = (fcs[k], line.sku)
                if stock.get(key, 0) > 0:
                    stock[key] -= 1
                    source = fcs[k]
                    break
            used[source] = used.get(source, 0) + 1
        total += plan_cost(instance, c, used)
    return total


def run_allocator(instance: Instance, sequence: int, policy: Policy,
                  bid_prices: BidPrices | None = None) -> float:
    """Per-order sourcing with live inventory: ``allocate`` each arrival against the ledger,
    reserve what it decided, and cost the decision with the literature's formula."""
    ledger = _ledger(instance)
    total = 0.0
    for order in instance.arrivals(sequence):
        snap = ledger.snapshot({line.sku for line in order.lines})
        result = allocate(order, policy, instance.network, snap, START,
                          catalog=instance.catalog, bid_prices=bid_prices)
        total += _reserve_and_cost(instance, ledger, order, result)
    return total


# plans only (no column generation) and a short neighbourhood search: a horizon has 100+ waves
WAVE_CONFIG = WaveConfig(pricing_rounds=0, neighbourhoods=100)


def run_waves(instance: Instance, sequence: int, size: int,
              config: WaveConfig = WAVE_CONFIG, policy: Policy | None = None,
              bid_prices: BidPrices | None = None) -> float:
    """The wave policy: arrivals gathered into waves of ``size`` orders, each wave sourced
    jointly (``allocate_wave``) against the live inventory, then reserved (with ``policy``
    and ``bid_prices``: waves that also price the stock)."""
    ledger = _ledger(instance)
    total = 0.0
    orders = list(instance.arrivals(sequence))
    for start in range(0, len(orders), size):
        chunk = orders[start:start + size]
        skus = {line.sku for o in chunk for line in o.lines}
        wave = allocate_wave(chunk, policy or OPTIMAL, instance.network,
                             ledger.snapshot(skus), START, catalog=instance.catalog,
                             config=config, bid_prices=bid_prices)
        for order, result in zip(chunk, wave.results, strict=True):
            total += _reserve_and_cost(instance, ledger, order, result)
    return total


def _ledger(instance: Instance) -> StockLedger:
    ledger = StockLedger(instance.network.codes, instance.catalog)
    records = [StockRecord(code, sku, Decimal(q), START, f"{code}:{sku}")
               for (code, sku), q in sorted(instance.stock.items())]
    per_sku = instance.spec.max_size * instance.horizon
    records += [StockRecord(DUMMY, sku, Decimal(per_sku), START, f"dummy:{sku}")
                for sku in instance.catalog.items]
    ledger.apply_records(records)
    return ledger


def _reserve_and_cost(instance: Instance, ledger: StockLedger, order: Order,
                      result: AllocationResult) -> float:
    used: dict[str, int] = {}
    lines: dict[str, list[tuple[str, str, Decimal]]] = {}
    for shipment in result.shipments:
        code = shipment.source or DUMMY
        for lq in shipment.lines:
            used[code] = used.get(code, 0) + int(lq.qty)
            lines.setdefault(lq.line_id, []).append((code, lq.sku, lq.qty))
    if not ledger.reserve_order(order.id, lines).ok:
        raise RuntimeError(f"order {order.id}: its plan does not fit the stock it was made on; "
                           "the allocator and the ledger disagree, which is a bug to report "
                           "with the family, seed and order id")
    unfilled = sum(int(b.line.qty) for b in result.backorders)
    if unfilled:
        used[DUMMY] = used.get(DUMMY, 0) + unfilled
    return plan_cost(instance, _city(order), used)


OPTIMAL = Policy(objective=Objective(shipping_cost=Decimal(1)))
BID_PRICE = Policy(objective=Objective(shipping_cost=Decimal(1), stock_value=Decimal(1)))


def run_resolving(instance: Instance, sequence: int, resolves: int) -> float:
    """The bid-price policy with its prices re-solved ``resolves`` times over the horizon: at
    each re-solve, the DLP of the remaining periods against the stock left."""
    ledger = _ledger(instance)
    orders = list(instance.arrivals(sequence))
    every = max(1, instance.horizon // (resolves + 1))
    prices = dlp(instance).bid_prices
    next_resolve, total = every, 0.0
    for order in orders:
        period = int(order.id.rsplit("-", 1)[1])
        if resolves and period >= next_resolve:
            left = instance.horizon - period
            stock = {(code, sku): float(ledger.available(code, sku))
                     for (code, sku) in instance.stock}
            prices = _dlp(instance, instance.demand_classes(left), stock).bid_prices
            next_resolve += every
        snap = ledger.snapshot({line.sku for line in order.lines})
        result = allocate(order, BID_PRICE, instance.network, snap, START,
                          catalog=instance.catalog, bid_prices=prices)
        total += _reserve_and_cost(instance, ledger, order, result)
    return total


def _dlp(instance: Instance, classes: list[DemandClass], stock: dict[tuple[str, str], float]
         ) -> DlpResult:
    solver = "glop" if instance.spec.items <= 20 else "pdlp"
    return solve_dlp(classes, instance.network, stock, unfilled=instance.unfilled,
                     solver=solver)


def dlp(instance: Instance) -> DlpResult:
    """The DLP of the whole horizon against the starting stock (the lower bound, and the bid
    prices of the look-ahead policy): simplex (GLOP, exact) for the warm-up network, PDLP
    (first-order, relative tolerance 1e-4) for the large one, where the LP has ~400,000 rows."""
    stock = {key: float(q) for key, q in instance.stock.items()}
    return _dlp(instance, instance.demand_classes(), stock)
