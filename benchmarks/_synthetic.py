"""Seeded synthetic worlds for the allocation benchmarks: a network, a catalog, a stock ledger,
and orders. Everything is generated at run time and is identical for the same seed.

* Sources sit near European and US cities (jittered), about 1 in 5 a warehouse, the rest
  stores; warehouses have lower (better) priority numbers than stores, as an MSI stock would.
* Each source has one shipping lane per destination region (``DACH``, ``FR`` …, ``US``):
  per shipment 3–9 EUR, per unit 0.10–0.60 EUR, per km 0.0005–0.003 EUR.
* Each SKU is stocked at a random ~20 % of the sources with 0–50 units (numpy RNG), applied to a
  :class:`StockLedger` as absolute :class:`StockRecord` facts.
* Orders have 1–5 lines of random SKUs (qty 1–3) and ship to a point near a random source, in
  that source's country.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from oms_sourcing.domain import (
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

__all__ = ["REGIONS", "World", "make_orders", "make_world"]

#: Destination regions: one shipping lane per source per region.
REGIONS: dict[str, tuple[str, ...]] = {
    "DACH": ("DE", "AT", "CH"),
    "BENELUX": ("NL", "BE", "LU"),
    "FR": ("FR",),
    "IBERIA": ("ES", "PT"),
    "IT": ("IT",),
    "UK": ("GB", "IE"),
    "NORDICS": ("SE", "DK", "NO", "FI"),
    "CEE": ("PL", "CZ", "HU"),
    "US": ("US",),
}

# (lat, lon, country): anchor cities sources are scattered around.
_CITIES: tuple[tuple[float, float, str], ...] = (
    (52.52, 13.40, "DE"), (48.14, 11.58, "DE"), (50.94, 6.96, "DE"), (53.55, 9.99, "DE"),
    (48.21, 16.37, "AT"), (47.37, 8.54, "CH"), (52.37, 4.90, "NL"), (51.92, 4.48, "NL"),
    (50.85, 4.35, "BE"), (49.61, 6.13, "LU"), (48.86, 2.35, "FR"), (45.76, 4.84, "FR"),
    (43.30, 5.37, "FR"), (40.42, -3.70, "ES"), (41.39, 2.17, "ES"), (38.72, -9.14, "PT"),
    (41.90, 12.50, "IT"), (45.46, 9.19, "IT"), (51.51, -0.13, "GB"), (53.48, -2.24, "GB"),
    (53.35, -6.26, "IE"), (59.33, 18.07, "SE"), (55.68, 12.57, "DK"), (59.91, 10.75, "NO"),
    (60.17, 24.94, "FI"), (52.23, 21.01, "PL"), (50.08, 14.44, "CZ"), (47.50, 19.04, "HU"),
    (40.71, -74.01, "US"), (34.05, -118.24, "US"), (41.88, -87.63, "US"), (29.76, -95.37, "US"),
    (33.75, -84.39, "US"), (47.61, -122.33, "US"),
)

_CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class World:
    network: SourceNetwork
    catalog: Catalog
    ledger: StockLedger
    skus: tuple[str, ...]
    seed: int

    def __iter__(self) -> Iterator[object]:
        # so ``network, catalog, ledger = make_world(...)`` works
        return iter((self.network, self.catalog, self.ledger))


def _dec(value: float, places: int) -> Decimal:
    return Decimal(str(round(float(value), places)))


def make_world(n_sources: int, n_skus: int, seed: int, max_qty: int = 50) -> World:
    """A network of ``n_sources`` sources, a catalog of ``n_skus`` SKUs and their stock
    (0..``max_qty`` units where stocked; a small ``max_qty`` makes stock scarce).

    Unpacks as ``(network, catalog, ledger)``; ``world.skus`` lists the SKU codes.
    """
    rng = np.random.default_rng(seed)
    anchors = rng.integers(0, len(_CITIES), size=n_sources)
    jitter = rng.uniform(-0.6, 0.6, size=(n_sources, 2))
    is_warehouse = rng.random(n_sources) < 0.2
    is_warehouse[0] = True
    sources: list[Source] = []
    for k in range(n_sources):
        lat, lon, country = _CITIES[int(anchors[k])]
        warehouse = bool(is_warehouse[k])
        priority = int(rng.integers(1, 10)) if warehouse else int(rng.integers(10, 100))
        sources.append(Source(
            code=SourceCode(f"{'WH' if warehouse else 'ST'}-{k:04d}"),
            kind=SourceKind.WAREHOUSE if warehouse else SourceKind.STORE,
            priority=priority,
            location=Location(lat=round(lat + jitter[k, 0], 4), lon=round(lon + jitter[k, 1], 4),
                              country=country),
        ))
    zones = [Zone(name=name, countries=frozenset(cs)) for name, cs in REGIONS.items()]
    per_shipment = rng.uniform(3.0, 9.0, size=(n_sources, len(zones)))
    per_unit = rng.uniform(0.1, 0.6, size=(n_sources, len(zones)))
    per_km = rng.uniform(0.0005, 0.003, size=(n_sources, len(zones)))
    lanes = [
        ShippingLane(
            name=f"{src.code}->{zone.name}",
            sources=SourceSelector(codes=frozenset({src.code})),
            destination=zone,
            per_shipment=_dec(per_shipment[k, z], 2),
            per_unit=_dec(per_unit[k, z], 2),
            per_km=_dec(per_km[k, z], 4),
            days=1 + z % 3,
            position=k * len(zones) + z,
        )
        for k, src in enumerate(sources)
        for z, zone in enumerate(zones)
    ]
    network = SourceNetwork(sources, zones=zones, shipping_lanes=lanes)

    skus = tuple(f"SKU-{i:06d}" for i in range(n_skus))
    catalog = Catalog(SkuInfo(sku=Sku(s)) for s in skus)

    stocked = rng.random((n_skus, n_sources)) < 0.2
    qty = rng.integers(0, max_qty + 1, size=(n_skus, n_sources))
    codes = network.codes
    at = _CREATED.replace(hour=0)
    rows, cols = np.nonzero(stocked)
    records = [
        StockRecord(codes[k], skus[u], Decimal(int(qty[u, k])), at, f"init:{u}:{k}")
        for u, k in zip(rows.tolist(), cols.tolist(), strict=True)
    ]
    ledger = StockLedger(codes, catalog)
    ledger.apply_records(records)
    return World(network, catalog, ledger, skus, seed)


def make_orders(n: int, world: World, seed: int) -> list[Order]:
    """``n`` orders of 1–5 lines (distinct random SKUs, qty 1–3), each shipping to a point near a
    random source, in that source's country."""
    rng = np.random.default_rng(seed)
    sources = world.network.sources
    skus = world.skus
    orders: list[Order] = []
    for o in range(n):
        near = sources[int(rng.integers(0, len(sources)))].location
        d_lat, d_lon = rng.uniform(-0.3, 0.3, size=2)
        n_lines = int(rng.integers(1, 6))
        picks = rng.choice(len(skus), size=n_lines, replace=False)
        lines = tuple(
            OrderLine(
                id=LineId(str(j + 1)),
                sku=Sku(skus[int(u)]),
                qty=Decimal(int(rng.integers(1, 4))),
                unit_price=Decimal("19.99"),
            )
            for j, u in enumerate(picks)
        )
        assert near.lat is not None and near.lon is not None
        orders.append(Order(
            id=OrderId(f"{seed}-{o:06d}"),
            created_at=_CREATED,
            lines=lines,
            shipping=Shipping(address=Location(
                lat=round(near.lat + float(d_lat), 4), lon=round(near.lon + float(d_lon), 4),
                country=near.country, postcode="10115",
            )),
        ))
    return orders
