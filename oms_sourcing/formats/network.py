"""network.yaml: sources, zones, shipping lanes, transfer lanes and stocks.

Example::

    currency: EUR
    zones:
      dach: {countries: [DE, AT, CH]}
    sources:
      - code: WH-BER
        kind: warehouse
        priority: 10
        location: {lat: 52.52, lon: 13.405, country: DE, postcode: "10115"}
        groups: [eu, dc]
    shipping_lanes:
      - name: de-domestic
        from: {sources: [WH-BER]}
        to: {countries: [DE]}
        cost: {per_shipment: "4.90", per_unit: "0.25"}
        days: 1
    stocks:
      - {name: eu, channels: [web_eu], sources: {groups: [eu]}, priorities: {WH-BER: 1}}

Loading checks the shape with pydantic, then every cross-reference (source codes, groups, tags,
zones named by lanes and stocks; duplicate codes and names; transfer lanes whose ends cannot take
part), and reports every problem found as ``path:line:col: message`` with a "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from oms_sourcing.domain import (
    MAX_DECIMALS,
    Capabilities,
    Capacity,
    Location,
    Source,
    SourceCode,
    SourceKind,
    SourceSelector,
    StockDefinition,
    Zone,
    parse_quantity,
)
from oms_sourcing.errors import InputError, NetworkFileError, Problem
from oms_sourcing.formats._validate import dotted, suggest, validate_document
from oms_sourcing.formats._yaml import YamlDocument, YamlLoadError, load_yaml, parse_yaml
from oms_sourcing.inventory.network import (
    ShippingLane,
    SourceNetwork,
    TransferLaneSpec,
)

__all__ = [
    "CostModel",
    "LaneTargetModel",
    "LocationModel",
    "NetworkFile",
    "SelectorModel",
    "ShippingLaneModel",
    "SourceModel",
    "StockModel",
    "TransferCostModel",
    "TransferLaneModel",
    "ZoneModel",
    "load_network",
    "network_from_model",
    "parse_network",
]

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_ALIASED = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise ValueError("a country is a two-letter ISO 3166-1 code like 'DE'")
    return code


def _upper(value: str) -> str:
    return value.strip().upper()


def _strip(value: str) -> str:
    return value.strip()


def _text_only(value: object) -> object:
    # YAML reads an unquoted 01067 as the octal number 567: a postcode must be quoted to be kept.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            "postcodes and regions must be quoted strings: YAML read this one as the number "
            f'{value} (an unquoted 01067 even becomes 567); write it in quotes, e.g. "01067"'
        )
    return value


def _cost(value: object) -> Decimal:
    """A cost rate, exact: strings and numbers, >= 0, finite, at most MAX_DECIMALS places."""
    if isinstance(value, bool) or value is None:
        raise ValueError('a cost must be an amount like 4.90 or "4.90"')
    try:
        if isinstance(value, float):
            amount = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            amount = Decimal(value)
        elif isinstance(value, str):
            amount = Decimal(value.strip())
        else:
            raise ValueError('a cost must be an amount like 4.90 or "4.90"')
    except InvalidOperation:
        raise ValueError('a cost must be an amount like 4.90 or "4.90"') from None
    if not amount.is_finite():
        raise ValueError("a cost must be a finite amount, not NaN or infinity")
    if amount < 0:
        raise ValueError("a cost must not be negative")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValueError(f"a cost may have at most {MAX_DECIMALS} decimal places")
    return amount


Country = Annotated[str, AfterValidator(_country)]
Region = Annotated[str, BeforeValidator(_text_only), AfterValidator(_upper)]
Postcode = Annotated[str, BeforeValidator(_text_only), AfterValidator(_strip)]
Cost = Annotated[Decimal, BeforeValidator(_cost)]
Count = Annotated[StrictInt, Field(ge=0)]


class ZoneModel(BaseModel):
    """A destination zone: countries, optionally narrowed to regions or postcode prefixes."""

    model_config = _FROZEN
    countries: tuple[Country, ...] = Field(default=(), description="ISO 3166-1 alpha-2 codes.")
    regions: tuple[Region, ...] = Field(default=(), description="Region/state codes, e.g. BE, CA.")
    postcodes: tuple[Postcode, ...] = Field(default=(), description="Postcode prefixes: IV, 10.")

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (self.countries or self.regions or self.postcodes):
            raise ValueError("a zone must list countries, regions or postcodes")
        return self


class LocationModel(BaseModel):
    model_config = _FROZEN
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False,
                              description="Latitude in degrees.")
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False,
                              description="Longitude in degrees.")
    country: Country | None = Field(default=None, description="ISO 3166-1 alpha-2, e.g. DE.")
    region: Region | None = None
    postcode: Postcode | None = None
    city: str | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class CapabilitiesModel(BaseModel):
    model_config = _FROZEN
    ships: bool = Field(default=True, description="Ships parcels to customers.")
    pickup: bool = Field(default=False, description="Customers can pick up orders here.")
    receives_transfers: bool = Field(
        default=False, description="Can receive transfers from other sources (ship-to-store)."
    )
    accepts_returns: bool = Field(default=True, description="Takes returned items.")


class CapacityModel(BaseModel):
    model_config = _FROZEN
    orders: Count | None = Field(default=None, description="Orders per day; omitted = unlimited.")
    lines: Count | None = Field(default=None, description="Lines per day; omitted = unlimited.")
    units: Count | None = Field(default=None, description="Units per day; omitted = unlimited.")


class SourceModel(BaseModel):
    """A warehouse, store, drop-shipper or virtual location stock ships from."""

    model_config = _FROZEN
    code: Name = Field(description="Unique source code, e.g. WH-BER.")
    name: str = ""
    kind: SourceKind = Field(default=SourceKind.WAREHOUSE,
                             description="warehouse | store | dropship | virtual")
    enabled: bool = Field(default=True, description="Disabled sources are never used.")
    priority: StrictInt = Field(default=0, description="Lower ships first in priority rules.")
    location: LocationModel = LocationModel()
    groups: tuple[Name, ...] = Field(default=(), description="Groups lanes, rules select.")
    tags: tuple[Name, ...] = Field(default=(), description="Tags rules and lanes select on.")
    capabilities: CapabilitiesModel = CapabilitiesModel()
    capacity: CapacityModel = CapacityModel()


class SelectorModel(BaseModel):
    """Sources picked by code, group, kind or tag: a source matches if any listed item does."""

    model_config = _FROZEN
    sources: tuple[Name, ...] = Field(default=(), description="Source codes.")
    groups: tuple[Name, ...] = Field(default=(), description="Group names.")
    kinds: tuple[SourceKind, ...] = Field(default=(), description="Source kinds.")
    tags: tuple[Name, ...] = Field(default=(), description="Source tags.")

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (self.sources or self.groups or self.kinds or self.tags):
            raise ValueError(
                "a selector must list at least one of sources, groups, kinds, tags "
                "(on a lane, omit it to mean every source)"
            )
        return self


class LaneTargetModel(BaseModel):
    """Where a shipping lane goes: an inline zone, or named zones."""

    model_config = _FROZEN
    countries: tuple[Country, ...] = Field(default=(), description="ISO 3166-1 alpha-2 codes.")
    regions: tuple[Region, ...] = ()
    postcodes: tuple[Postcode, ...] = Field(default=(), description="Postcode prefixes.")
    zones: tuple[Name, ...] = Field(default=(), description="Names of zones defined under `zones`.")

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        inline = bool(self.countries or self.regions or self.postcodes)
        if inline and self.zones:
            raise ValueError("list either zones or countries/regions/postcodes, not both")
        if not inline and not self.zones:
            raise ValueError(
                "list countries, regions, postcodes or zones (omit `to` to mean anywhere)"
            )
        return self


class CostModel(BaseModel):
    model_config = _FROZEN
    per_shipment: Cost = Field(default=Decimal(0), description="Per parcel, in currency.")
    per_unit: Cost = Field(default=Decimal(0), description="Per unit shipped.")
    per_km: Cost = Field(default=Decimal(0), description="Per great-circle km.")


class TransferCostModel(BaseModel):
    model_config = _FROZEN
    per_shipment: Cost = Field(default=Decimal(0), description="Per transfer, in currency.")
    per_unit: Cost = Field(default=Decimal(0), description="Per unit transferred.")


class ShippingLaneModel(BaseModel):
    """Sources (``from``) ship to a destination (``to``) at a cost and in some days."""

    model_config = _ALIASED
    name: Name | None = Field(default=None, description="Optional label, unique if given.")
    from_: SelectorModel | None = Field(
        default=None, alias="from", description="Sources it ships from; omitted = every source."
    )
    to: LaneTargetModel | None = Field(default=None, description="Destination; omitted = anywhere.")
    cost: CostModel = CostModel()
    days: Count = Field(default=0, description="Transit days.")


class TransferLaneModel(BaseModel):
    """Sources (``from``) send transfers to sources that receive them (``to``), for
    ship-to-store."""

    model_config = _ALIASED
    from_: SelectorModel | None = Field(
        default=None, alias="from", description="Senders; omitted = every source that ships."
    )
    to: SelectorModel | None = Field(
        default=None, description="Receivers; omitted = every source that receives transfers."
    )
    cost: TransferCostModel = TransferCostModel()
    days: Count = Field(default=0, description="Transit days.")


class StockModel(BaseModel):
    """A Magento-MSI-style stock: the sources serving some sales channels."""

    model_config = _FROZEN
    name: Name = Field(description="Unique stock name.")
    channels: tuple[Name, ...] = Field(default=(), description="Sales channels this stock serves.")
    sources: SelectorModel = Field(description="The sources linked to this stock.")
    out_of_stock_threshold: Decimal = Field(
        default=Decimal(0),
        description="Subtracted from salable qty; < 0: limited backorders. The default of the "
                    "stock's SKUs: a SKU's catalog backorders setting overrides it.",
    )
    priorities: dict[Name, StrictInt] = Field(
        default_factory=dict,
        description="Priority of linked sources in this stock (source code: priority, lower "
                    "first), as MSI's stock-source links; unlisted sources keep their own.",
    )

    @field_validator("out_of_stock_threshold", mode="before")
    @classmethod
    def _exact(cls, v: object) -> Decimal:
        qty = parse_quantity(v, decimals=MAX_DECIMALS, field="out_of_stock_threshold",
                             allow_negative=True)
        # parse_quantity pads to six places; keep the number as written (-2, not -2.000000).
        return qty.quantize(Decimal(1)) if qty == qty.to_integral_value() else qty.normalize()


class NetworkFile(BaseModel):
    """network.yaml: the sources, destination zones, lanes and stocks of one merchant."""

    model_config = _FROZEN
    currency: str = Field(default="EUR", description="ISO 4217 currency of every cost.")
    minor_digits: StrictInt = Field(
        default=2, ge=0, le=MAX_DECIMALS, description="Decimal places of the currency's minor unit."
    )
    zones: dict[Name, ZoneModel] = Field(
        default_factory=dict, description="Named destination zones lanes and rulesets use."
    )
    sources: tuple[SourceModel, ...] = Field(description="Every source; at least one.")
    shipping_lanes: tuple[ShippingLaneModel, ...] = Field(
        default=(), description="Shipping lanes; with none, every shipping source ships anywhere."
    )
    transfer_lanes: tuple[TransferLaneModel, ...] = Field(
        default=(), description="Transfer lanes between sources, for ship-to-store."
    )
    stocks: tuple[StockModel, ...] = Field(default=(), description="Stocks serving sales channels.")

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        code = v.strip().upper()
        if len(code) != 3 or not code.isalpha() or not code.isascii():
            raise ValueError("currency must be a three-letter ISO 4217 code like 'EUR'")
        return code

    @field_validator("sources")
    @classmethod
    def _some_sources(cls, v: tuple[SourceModel, ...]) -> tuple[SourceModel, ...]:
        # A validator, not min_length: min_length also fires when an item is invalid.
        if not v:
            raise ValueError("a network needs at least one source")
        return v


# -- compiling -------------------------------------------------------------------------------


def _picks(model: SelectorModel) -> SourceSelector:
    return SourceSelector(
        codes=frozenset(model.sources), groups=frozenset(model.groups),
        kinds=frozenset(model.kinds), tags=frozenset(model.tags),
    )


def _selector(model: SelectorModel | None) -> SourceSelector | None:
    """``None`` (every source) for an omitted selector."""
    return None if model is None else _picks(model)


def _source(m: SourceModel) -> Source:
    loc = m.location
    return Source(
        code=SourceCode(m.code), kind=m.kind, name=m.name, enabled=m.enabled,
        priority=m.priority,
        location=Location(lat=loc.lat, lon=loc.lon, country=loc.country, region=loc.region,
                          postcode=loc.postcode, city=loc.city),
        groups=frozenset(m.groups), tags=frozenset(m.tags),
        capabilities=Capabilities(
            ships=m.capabilities.ships, pickup=m.capabilities.pickup,
            receives_transfers=m.capabilities.receives_transfers,
            accepts_returns=m.capabilities.accepts_returns,
        ),
        capacity=Capacity(
            orders=m.capacity.orders, lines=m.capacity.lines,
            units=Decimal(m.capacity.units) if m.capacity.units is not None else None,
        ),
    )


def _zone(name: str, m: ZoneModel | LaneTargetModel) -> Zone:
    return Zone(
        name=name, countries=frozenset(m.countries), regions=frozenset(m.regions),
        postcode_prefixes=tuple(p.replace(" ", "").upper() for p in m.postcodes),
    )


def _compile(model: NetworkFile) -> SourceNetwork:
    zones = {name: _zone(name, z) for name, z in model.zones.items()}
    lanes: list[ShippingLane] = []
    for i, lane in enumerate(model.shipping_lanes):
        if lane.to is None:
            targets: list[Zone | None] = [None]
        elif lane.to.zones:
            targets = [zones[z] for z in dict.fromkeys(lane.to.zones)]
        else:
            targets = [_zone(f"shipping_lanes[{i}].to", lane.to)]
        lanes.extend(
            ShippingLane(
                name=lane.name, sources=_selector(lane.from_), destination=target,
                per_shipment=lane.cost.per_shipment, per_unit=lane.cost.per_unit,
                per_km=lane.cost.per_km, days=lane.days, position=i,
            )
            for target in targets
        )
    transfers = [
        TransferLaneSpec(
            from_sources=_selector(t.from_), to_sources=_selector(t.to),
            per_shipment=t.cost.per_shipment, per_unit=t.cost.per_unit, days=t.days,
            position=i,
        )
        for i, t in enumerate(model.transfer_lanes)
    ]
    stocks = [
        StockDefinition(
            name=s.name, sources=_picks(s.sources),
            channels=frozenset(s.channels), out_of_stock_threshold=s.out_of_stock_threshold,
            priorities=tuple(s.priorities.items()),
        )
        for s in model.stocks
    ]
    return SourceNetwork(
        [_source(s) for s in model.sources], zones=zones, shipping_lanes=lanes,
        transfer_lanes=transfers, stocks=stocks, currency=model.currency,
        minor_digits=model.minor_digits,
    )


# -- cross-references --------------------------------------------------------------------------


def _known(what: str, names: Iterable[str]) -> str:
    pool = sorted(set(names))
    if not pool:
        return f"no {what} are defined"
    shown = ", ".join(pool[:20]) + (", …" if len(pool) > 20 else "")
    return f"known {what}: {shown}"


class _Checker:
    """Collects positioned problems about cross-references in one network file."""

    def __init__(self, model: NetworkFile, doc: YamlDocument | None, path: str) -> None:
        self.model = model
        self.doc = doc
        self.path = path
        self.problems: list[Problem] = []
        self.sources = [_source(s) for s in model.sources]
        self.by_code: dict[str, Source] = {}
        self.groups = {g for s in model.sources for g in s.groups}
        self.tags = {t for s in model.sources for t in s.tags}

    def at(self, *loc: str | int, key: bool = False) -> tuple[int, int]:
        return self.doc.position(loc, key=key) if self.doc is not None else (0, 0)

    def add(self, loc: Sequence[str | int], message: str, *, key: bool = False) -> None:
        line, col = self.at(*loc, key=key)
        self.problems.append(Problem(self.path, line, col, message, code="reference"))

    def unknown(self, loc: Sequence[str | int], what: str, plural: str, value: str,
                known: Iterable[str]) -> None:
        pool = sorted(set(known))
        hint = suggest(value, pool)
        where = dotted(loc)
        self.add(loc, f"{where}: unknown {what} {value!r}"
                      + (f"; did you mean {hint!r}?" if hint else "")
                      + f" ({_known(plural, pool)})")

    def run(self) -> list[Problem]:
        self.check_sources()
        self.check_shipping_lanes()
        self.check_transfer_lanes()
        self.check_stocks()
        self.problems.sort(key=lambda p: (p.line, p.column))
        return self.problems

    def check_sources(self) -> None:
        first: dict[str, int] = {}
        for i, src in enumerate(self.model.sources):
            if src.code in first:
                line = self.at("sources", first[src.code], "code")[0]
                self.add(("sources", i, "code"),
                         f"sources[{i}].code: source code {src.code!r} is used twice (first at "
                         f"line {line}); source codes must be unique")
                continue
            first[src.code] = i
            self.by_code[src.code] = self.sources[i]

    def selector(self, sel: SelectorModel, loc: tuple[str | int, ...]) -> bool:
        """Report unknown names in ``sel``; whether every name is known."""
        ok = True
        for j, code in enumerate(sel.sources):
            if code not in self.by_code:
                self.unknown((*loc, "sources", j), "source", "sources", code, self.by_code)
                ok = False
        for j, group in enumerate(sel.groups):
            if group not in self.groups:
                self.unknown((*loc, "groups", j), "group", "groups", group, self.groups)
                ok = False
        for j, tag in enumerate(sel.tags):
            if tag not in self.tags:
                self.unknown((*loc, "tags", j), "tag", "tags", tag, self.tags)
                ok = False
        return ok

    def senders_by_code(self, sel: SelectorModel, loc: tuple[str | int, ...]) -> None:
        for j, code in enumerate(sel.sources):
            src = self.by_code.get(code)
            if src is not None and not src.capabilities.ships:
                self.add((*loc, "sources", j),
                         f"{dotted((*loc, 'sources', j))}: source {code!r} cannot ship "
                         "(capabilities.ships is false); drop it here or let it ship")

    def check_shipping_lanes(self) -> None:
        names: dict[str, int] = {}
        for i, lane in enumerate(self.model.shipping_lanes):
            loc: tuple[str | int, ...] = ("shipping_lanes", i)
            if lane.name is not None:
                if lane.name in names:
                    line = self.at("shipping_lanes", names[lane.name], "name")[0]
                    self.add((*loc, "name"),
                             f"shipping_lanes[{i}].name: lane name {lane.name!r} is used twice "
                             f"(first at line {line}); lane names must be unique")
                else:
                    names[lane.name] = i
            if lane.from_ is not None:
                self.selector(lane.from_, (*loc, "from"))
                self.senders_by_code(lane.from_, (*loc, "from"))
            if lane.to is not None:
                for j, zone in enumerate(lane.to.zones):
                    if zone not in self.model.zones:
                        self.unknown((*loc, "to", "zones", j), "zone", "zones", zone,
                                     self.model.zones)

    def check_transfer_lanes(self) -> None:
        for i, lane in enumerate(self.model.transfer_lanes):
            loc: tuple[str | int, ...] = ("transfer_lanes", i)
            known = True
            if lane.from_ is not None:
                known = self.selector(lane.from_, (*loc, "from")) and known
                self.senders_by_code(lane.from_, (*loc, "from"))
            if lane.to is not None:
                known = self.selector(lane.to, (*loc, "to")) and known
                for j, code in enumerate(lane.to.sources):
                    src = self.by_code.get(code)
                    if src is not None and not src.capabilities.receives_transfers:
                        self.add((*loc, "to", "sources", j),
                                 f"transfer_lanes[{i}].to.sources[{j}]: source {code!r} does "
                                 "not receive transfers; set capabilities.receives_transfers: "
                                 "true on it or drop it here")
                        known = False
            if known:
                self.transfer_pairs(lane, loc)

    def transfer_pairs(self, lane: TransferLaneModel, loc: tuple[str | int, ...]) -> None:
        from_sel, to_sel = _selector(lane.from_), _selector(lane.to)
        senders = [s for s in self.by_code.values() if s.capabilities.ships
                   and (from_sel is None or from_sel.matches(s))]
        receivers = [s for s in self.by_code.values() if s.capabilities.receives_transfers
                     and (to_sel is None or to_sel.matches(s))]
        if not any(f is not t for f in senders for t in receivers):
            self.add(loc, f"{dotted(loc)}: no source that ships matches `from` together with "
                          "another source that receives transfers matching `to`; this lane "
                          "would never be used")

    def stock_priorities(self, stock: StockModel, sel: SourceSelector,
                         loc: tuple[str | int, ...]) -> None:
        linked = [code for code, src in self.by_code.items() if sel.matches(src)]
        for code in stock.priorities:
            where = (*loc, "priorities", code)
            if code not in self.by_code:
                self.add(where, f"{dotted(loc)}.priorities: unknown source {code!r}"
                         + (f"; did you mean {hint!r}?" if (hint := suggest(code, linked))
                            else "")
                         + f" ({_known('sources of this stock', linked)})", key=True)
            elif code not in linked:
                self.add(where, f"{dotted(loc)}.priorities: source {code!r} is not linked to "
                         f"stock {stock.name!r} (its sources selector does not pick it; "
                         f"{_known('sources of this stock', linked)}); add it to the stock's "
                         "sources or drop its priority", key=True)

    def check_stocks(self) -> None:
        names: dict[str, int] = {}
        channels: dict[str, str] = {}
        for i, stock in enumerate(self.model.stocks):
            loc: tuple[str | int, ...] = ("stocks", i)
            if stock.name in names:
                line = self.at("stocks", names[stock.name], "name")[0]
                self.add((*loc, "name"),
                         f"stocks[{i}].name: stock {stock.name!r} is defined twice (first at "
                         f"line {line})")
            else:
                names[stock.name] = i
            if self.selector(stock.sources, (*loc, "sources")):
                sel = _picks(stock.sources)
                if not any(sel.matches(s) for s in self.by_code.values()):
                    self.add((*loc, "sources"),
                             f"stocks[{i}].sources: matches no source", key=True)
                else:
                    self.stock_priorities(stock, sel, loc)
            for j, channel in enumerate(stock.channels):
                other = channels.get(channel)
                if other is not None and other != stock.name:
                    self.add((*loc, "channels", j),
                             f"stocks[{i}].channels[{j}]: channel {channel!r} is already "
                             f"served by stock {other!r}; a sales channel has exactly one stock")
                else:
                    channels[channel] = stock.name


# -- entry points ------------------------------------------------------------------------------


def _build(model: NetworkFile, doc: YamlDocument | None, path: str) -> SourceNetwork:
    problems = _Checker(model, doc, path).run()
    if problems:
        raise NetworkFileError(problems, path=path)
    try:
        return _compile(model)
    except InputError as err:
        # The checks above mirror the network's own; this keeps the file API's one error type
        # should the two ever disagree.
        raise NetworkFileError([Problem(path, 0, 0, str(err))], path=path) from err


def network_from_model(model: NetworkFile, *, path: str = "<network>") -> SourceNetwork:
    """Compile a validated :class:`NetworkFile` into a :class:`SourceNetwork`.

    Raises:
        NetworkFileError: every cross-reference problem (positions are 0:0 without a file).
    """
    return _build(model, None, path)


def _from_document(doc: YamlDocument) -> SourceNetwork:
    if not isinstance(doc.data, dict):
        raise NetworkFileError(
            [Problem(doc.path, 1, 1, "a network file is a mapping with 'sources' (and "
                     "optionally currency, zones, shipping_lanes, transfer_lanes, stocks)")],
            path=doc.path,
        )
    result = validate_document(NetworkFile, doc)
    if isinstance(result, list):
        raise NetworkFileError(result, path=doc.path)
    return _build(result, doc, doc.path)


def load_network(path: str | Path) -> SourceNetwork:
    """Load and check ``network.yaml``.

    Raises:
        NetworkFileError: every problem found, each as ``path:line:col: message``; nothing is
            built unless the whole file is valid.
    """
    try:
        doc = load_yaml(path)
    except YamlLoadError as err:
        raise NetworkFileError(err.problems, path=str(path)) from None
    return _from_document(doc)


def parse_network(text: str, path: str = "<string>") -> SourceNetwork:
    """Like :func:`load_network` for YAML text; ``path`` labels the problems."""
    try:
        doc = parse_yaml(text, path)
    except YamlLoadError as err:
        raise NetworkFileError(err.problems, path=path) from None
    return _from_document(doc)
