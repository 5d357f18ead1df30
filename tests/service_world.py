"""A small world for the service tests: a network, a catalog, rulesets and stock built in code.

Sources (priority order): WH-NORTH (Hamburg), WH-SOUTH (Munich), STORE-CITY (Berlin: ships,
pickup, receives transfers), OUTLET-EAST (Frankfurt/Oder: ships, takes no returns). Every source
ships to Germany; WH-NORTH transfers to STORE-CITY for ship-to-store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from oms_sourcing.domain import (
    BackorderMode,
    Backorders,
    BundleComponent,
    BundleDefinition,
    Capabilities,
    Catalog,
    Delivery,
    LineKind,
    Location,
    Order,
    OrderLine,
    Shipping,
    Sku,
    SkuInfo,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
)
from oms_sourcing.domain.order import OrderId
from oms_sourcing.inventory.network import ShippingLane, SourceNetwork, TransferLane
from oms_sourcing.inventory.stock import StockLedger, StockRecord
from oms_sourcing.rules.model import (
    BackorderPolicy,
    BundlePolicy,
    DeclineAction,
    DeclinePolicy,
    Policy,
    Ruleset,
    SplitPolicy,
)
from oms_sourcing.service import MemoryStore, Settings, Sourcing
from oms_sourcing.service.ports import UnitOfWork

D = Decimal
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BERLIN = Location(lat=52.52, lon=13.405, country="DE", region="BE", postcode="10115",
                  city="Berlin")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


SOURCES = (
    Source(SourceCode("WH-NORTH"), SourceKind.WAREHOUSE, priority=1,
           location=Location(lat=53.55, lon=9.99, country="DE", city="Hamburg")),
    Source(SourceCode("WH-SOUTH"), SourceKind.WAREHOUSE, priority=2,
           location=Location(lat=48.14, lon=11.58, country="DE", city="Munich")),
    Source(SourceCode("STORE-CITY"), SourceKind.STORE, priority=3,
           location=Location(lat=52.52, lon=13.40, country="DE", city="Berlin"),
           capabilities=Capabilities(ships=True, pickup=True, receives_transfers=True)),
    Source(SourceCode("OUTLET-EAST"), SourceKind.STORE, priority=4,
           location=Location(lat=52.34, lon=14.55, country="DE", city="Frankfurt (Oder)"),
           capabilities=Capabilities(ships=True, accepts_returns=False)),
)


def _lane(code: str, per_shipment: str) -> ShippingLane:
    return ShippingLane(name=code.lower(), sources=SourceSelector(codes=frozenset({code})),
                        per_shipment=D(per_shipment), days=1)


NETWORK = SourceNetwork(
    SOURCES,
    shipping_lanes=(_lane("WH-NORTH", "4.00"), _lane("WH-SOUTH", "5.00"),
                    _lane("STORE-CITY", "9.00"), _lane("OUTLET-EAST", "7.00")),
    transfer_lanes=(TransferLane(SourceCode("WH-NORTH"), SourceCode("STORE-CITY"), D("2.00"),
                                 D("0.10"), days=2),),
)

CATALOG = Catalog(
    items=(
        SkuInfo(Sku("MUG")), SkuInfo(Sku("TEAPOT")), SkuInfo(Sku("PAN")), SkuInfo(Sku("LID")),
        SkuInfo(Sku("SCARF-RED")), SkuInfo(Sku("SCARF-BLUE")),
        SkuInfo(Sku("KETTLE"), backorders=Backorders(BackorderMode.ALLOW)),
    ),
    bundles=(BundleDefinition(Sku("KIT"), (BundleComponent(Sku("PAN"), D(1)),
                                           BundleComponent(Sku("LID"), D(1)))),),
)


def ruleset(version: str = "1", *, decline_attempts: int = 3,
            then: DeclineAction = DeclineAction.HOLD,
            backorder: BackorderPolicy = BackorderPolicy.ALLOW,
            split_after: int | None = None, rule_id: str = "service-test") -> Ruleset:
    policy = Policy(
        split=SplitPolicy(one_source_per_line=True),
        bundle=BundlePolicy(split_after_attempts=split_after),
        backorder=backorder,
        decline=DeclinePolicy(attempts=decline_attempts, then=then),
    )
    return Ruleset(rule_id, version, rules=(), defaults=policy)


def line(line_id: str, sku: str, qty: int | str = 1, **kw: Any) -> OrderLine:
    return OrderLine(line_id, Sku(sku), D(str(qty)), unit_price=D("10"), **kw)


def order(order_id: str, *lines: OrderLine, minute: int = 0, pickup: str | None = None) -> Order:
    return Order(OrderId(order_id), at(minute), tuple(lines),
                 delivery=Delivery.PICKUP if pickup else Delivery.SHIP,
                 pickup_source=SourceCode(pickup) if pickup else None,
                 shipping=Shipping(address=BERLIN))


def preshipped(line_id: str, sku: str, source: str) -> OrderLine:
    return line(line_id, sku, kind=LineKind.PRESHIPPED, preshipped_source=SourceCode(source))


def ledger(stock: Mapping[tuple[str, str], int]) -> StockLedger:
    led = StockLedger(NETWORK.codes, CATALOG)
    if stock:
        led.apply_records([StockRecord(src, sku, D(q), T0 - timedelta(days=1), f"{src}:{sku}")
                           for (src, sku), q in stock.items()])
    return led


StoreFactory = Callable[[StockLedger], Callable[[], UnitOfWork]]


def memory_store(led: StockLedger) -> Callable[[], UnitOfWork]:
    return MemoryStore(led).unit_of_work


STORES: dict[str, StoreFactory] = {"memory": memory_store}


def service(factory: StoreFactory, stock: Mapping[tuple[str, str], int],
            rules: Ruleset | None = None, *, settings: Settings | None = None,
            **kw: Any) -> tuple[Sourcing, StockLedger]:
    led = ledger(stock)
    svc = Sourcing(NETWORK, CATALOG, factory(led), settings=settings, **kw)
    svc.activate_ruleset(rules if rules is not None else ruleset(), at=T0 - timedelta(hours=1))
    return svc, led


def reserved(svc: Sourcing, source: str, sku: str) -> int:
    """Units of ``sku`` reserved at ``source``, read through the store's port."""
    with svc.uow_factory() as uow:
        return int(uow.stock.snapshot([sku])[sku].reserved[NETWORK.codes.index(source)])


def available(svc: Sourcing, source: str, sku: str) -> int:
    with svc.uow_factory() as uow:
        return int(uow.stock.snapshot([sku])[sku].available[NETWORK.codes.index(source)])


def iter_events(svc: Sourcing, order_id: str) -> Iterator[str]:
    for m in svc.events(order_id):
        yield m.name
