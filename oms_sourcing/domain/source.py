"""Sources: the warehouses, stores, drop-shippers and virtual locations that ship order lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NewType

__all__ = [
    "Capabilities",
    "Capacity",
    "GroupName",
    "Location",
    "Source",
    "SourceCode",
    "SourceKind",
    "SourceSelector",
    "StockDefinition",
    "Zone",
]

SourceCode = NewType("SourceCode", str)
GroupName = NewType("GroupName", str)


class SourceKind(StrEnum):
    """What a source is. ``virtual`` holds stock-managed virtual goods (gift cards, licences)."""

    WAREHOUSE = "warehouse"
    STORE = "store"
    DROPSHIP = "dropship"
    VIRTUAL = "virtual"


@dataclass(frozen=True, slots=True)
class Location:
    """A place: a source's address or an order's destination.

    Coordinates are optional: a source without them is sorted after the others by distance rules
    (as Magento MSI does), and a destination without them can only be costed by lanes.
    ``country`` is an ISO 3166-1 alpha-2 code in upper case.
    """

    lat: float | None = None
    lon: float | None = None
    country: str | None = None
    region: str | None = None
    postcode: str | None = None
    city: str | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a source can do. Defaults fit a warehouse."""

    ships: bool = True
    pickup: bool = False
    receives_transfers: bool = False
    accepts_returns: bool = True


@dataclass(frozen=True, slots=True)
class Capacity:
    """Optional daily limits; ``None`` means unlimited."""

    orders: int | None = None
    lines: int | None = None
    units: Decimal | None = None

    @property
    def is_limited(self) -> bool:
        return self.orders is not None or self.lines is not None or self.units is not None


@dataclass(frozen=True, slots=True)
class Source:
    """A place stock ships from.

    ``priority``: lower ships first in priority rules (Magento MSI's order of sources in a stock).
    ``groups`` and ``tags`` are free-form names rules select on (``eu``, ``hazmat_certified``).
    """

    code: SourceCode
    kind: SourceKind = SourceKind.WAREHOUSE
    name: str = ""
    enabled: bool = True
    priority: int = 0
    location: Location = field(default_factory=Location)
    groups: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    capabilities: Capabilities = field(default_factory=Capabilities)
    capacity: Capacity = field(default_factory=Capacity)


@dataclass(frozen=True, slots=True)
class SourceSelector:
    """Picks sources by code, group, kind or tag: a source matches if *any* listed item matches.

    An empty selector matches nothing; callers decide what "nothing listed" means (an ``include``
    that lists nothing usually means every source, an ``exclude`` that lists nothing, none).
    """

    codes: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    kinds: frozenset[SourceKind] = frozenset()
    tags: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not (self.codes or self.groups or self.kinds or self.tags)

    def matches(self, source: Source) -> bool:
        return (
            source.code in self.codes
            or source.kind in self.kinds
            or not self.groups.isdisjoint(source.groups)
            or not self.tags.isdisjoint(source.tags)
        )


@dataclass(frozen=True, slots=True)
class Zone:
    """A named destination area: countries, optionally narrowed to regions or postcode prefixes.

    A location is in the zone when its country is listed (or no countries are listed), and, if
    regions or postcode prefixes are listed, its region or postcode matches one of them.
    Comparisons ignore case and surrounding spaces.
    """

    name: str
    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    postcode_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Normalise once here so ``contains`` compares like with like, whoever built the zone.
        object.__setattr__(self, "countries",
                           frozenset(c.strip().upper() for c in self.countries))
        object.__setattr__(self, "regions", frozenset(r.strip().upper() for r in self.regions))
        object.__setattr__(self, "postcode_prefixes",
                           tuple(p.replace(" ", "").upper() for p in self.postcode_prefixes))

    @property
    def specificity(self) -> int:
        """0 for the narrowest zones (regions/postcodes), 1 for country lists, 2 for anywhere."""
        if self.regions or self.postcode_prefixes:
            return 0
        return 1 if self.countries else 2

    def contains(self, location: Location) -> bool:
        country = (location.country or "").strip().upper()
        if self.countries and country not in self.countries:
            return False
        if self.regions and (location.region or "").strip().upper() not in self.regions:
            return False
        if self.postcode_prefixes:
            postcode = (location.postcode or "").replace(" ", "").upper()
            if not any(postcode.startswith(p) for p in self.postcode_prefixes):
                return False
        return True


@dataclass(frozen=True, slots=True)
class StockDefinition:
    """A named stock (Magento MSI's term): the sources serving one or more sales channels.

    ``out_of_stock_threshold`` is the default out-of-stock threshold of the stock's SKUs,
    subtracted from the salable quantity; a negative threshold lets the channel sell a limited
    quantity beyond stock (limited backorders). A SKU's own catalog setting
    (``backorders: {allow_until: N}`` or ``allow``) overrides it, as a product's setting does in
    MSI.

    ``priorities``: ``(source code, priority)`` pairs, the priority of the link between this
    stock and a linked source (MSI's ``StockSourceLink``; lower first). Linked sources not
    listed keep their own ``Source.priority``. Two stocks may rank the same sources in
    opposite orders.
    """

    name: str
    sources: SourceSelector
    channels: frozenset[str] = frozenset()
    out_of_stock_threshold: Decimal = Decimal(0)
    priorities: tuple[tuple[str, int], ...] = ()

    def priority_of(self, source: Source) -> int:
        """The priority of ``source`` in this stock: its link priority, else its own."""
        for code, priority in self.priorities:
            if code == source.code:
                return priority
        return source.priority
