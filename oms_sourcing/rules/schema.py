"""The ruleset file format as pydantic models (the edge); :mod:`oms_sourcing.rules.compile` turns
a validated :class:`RulesetFile` into plain domain objects.

Every model forbids unknown keys, so a misspelt key is an error with a "did you mean" instead of a
setting that silently does nothing. Values YAML reads surprisingly are refused with a hint:
``NO`` (Norway) read as ``false``, ``01067`` read as the number 567, ``yes`` read as ``true``.

A ruleset::

    id: eu-default
    version: 3
    zones:
      dach: {countries: [DE, AT, CH]}
    defaults:
      objective: {shipping_cost: 1, shipments: "2.50"}
    rules:
      - name: hazmat-only-from-certified
        when: {sku_tags: {any: [hazmat]}}
        sources:
          lines: [{when: {sku_tag: hazmat}, sources: {include: {tags: [hazmat_certified]}}}]
      - name: fallback                    # no `when`: matches every order
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from oms_sourcing.domain import MAX_DECIMALS, parse_quantity
from oms_sourcing.errors import QuantityError

__all__ = [
    "BundlesModel",
    "CountRange",
    "DeclineModel",
    "LineRestrictionModel",
    "LineSourcesModel",
    "LineWhenModel",
    "ObjectiveModel",
    "PolicyModel",
    "RuleModel",
    "RulesetFile",
    "SafetyModel",
    "SelectorModel",
    "SkuTagsModel",
    "SourcesModel",
    "SplitModel",
    "StockModel",
    "ValueRange",
    "WhenModel",
    "ZoneModel",
]

_FROZEN = ConfigDict(extra="forbid", frozen=True)

SourceKindName = Literal["warehouse", "store", "dropship", "virtual"]
RankKeyName = Literal["priority", "distance", "stock", "cost"]


# -- scalar types ----------------------------------------------------------------------------------


def _text(value: object) -> object:
    """Refuse the values YAML turns into something other than the text that was written."""
    if isinstance(value, bool):
        raise ValueError(
            "YAML reads unquoted yes/no/on/off/true/false (and NO, the code of Norway) as a "
            "boolean; put the value in quotes, e.g. 'NO'"
        )
    if isinstance(value, int | float):
        raise ValueError(
            "YAML read this as a number; put the value in quotes exactly as written "
            "(unquoted, leading zeros are lost: 01067 becomes 567)"
        )
    return value


def _listify(value: object) -> object:
    """Accept one name where a list of names is expected: ``country: DE`` = ``country: [DE]``."""
    return [value] if not isinstance(value, list | tuple) else value


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f"a country is a two-letter ISO 3166-1 code like 'DE', not {value!r}")
    return code


def _postcode(value: str) -> str:
    code = value.replace(" ", "").upper()
    if not code:
        raise ValueError("a postcode prefix must not be empty")
    return code


def _version(value: object) -> object:
    # Versions are labels; "3" and 3 mean the same. Floats (1.10 -> 1.1) would lie.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError("YAML read this version as a decimal number; quote it, e.g. '1.10'")
    return _text(value)


def _quantity(field: str, *, positive: bool) -> Any:
    def parse(value: object) -> Decimal:
        try:
            exact = parse_quantity(value, decimals=MAX_DECIMALS, field=field, positive=positive)
        except QuantityError as err:
            # The value itself is shown by the caller; say only what was expected.
            wanted = err.expected or "a decimal number"
            verb = "may have" if wanted.startswith("at most") else "must be"
            raise ValueError(f"{field} {verb} {wanted}") from None
        # Canonical form: "2.50" and 2.5 compare equal anyway; keep messages free of 2.500000.
        return Decimal(format(exact.normalize(), "f"))

    return parse


def _distance(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("max_distance_km must be a number of kilometres, e.g. 250")
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("max_distance_km must be a finite number greater than 0")
    return float(value)


_TEXT_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1}
_AMOUNT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]{1,6})?\s*$"},
    ]
}

Name = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=200)]
Country = Annotated[str, BeforeValidator(_text), AfterValidator(_country)]
Postcode = Annotated[str, BeforeValidator(_text), AfterValidator(_postcode)]


def _names_schema(item: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [item, {"type": "array", "items": item}]})


Names = Annotated[list[Name], BeforeValidator(_listify), _names_schema(_TEXT_SCHEMA)]
Countries = Annotated[
    list[Country],
    BeforeValidator(_listify),
    _names_schema({"type": "string", "pattern": "^[A-Za-z]{2}$"}),
]
Postcodes = Annotated[list[Postcode], BeforeValidator(_listify), _names_schema(_TEXT_SCHEMA)]
Kinds = Annotated[
    list[SourceKindName],
    BeforeValidator(_listify),
    _names_schema({"enum": ["warehouse", "store", "dropship", "virtual"]}),
]
Amount = Annotated[
    Decimal,
    BeforeValidator(_quantity("amount", positive=False)),
    WithJsonSchema(_AMOUNT_SCHEMA),
]
Weight = Annotated[
    Decimal,
    BeforeValidator(_quantity("weight", positive=False)),
    WithJsonSchema(_AMOUNT_SCHEMA),
]
Units = Annotated[
    Decimal,
    BeforeValidator(_quantity("safety stock", positive=False)),
    WithJsonSchema(_AMOUNT_SCHEMA),
]
Km = Annotated[
    float,
    BeforeValidator(_distance),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0}),
]
PositiveInt = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
Version = Annotated[
    str,
    BeforeValidator(_version),
    Field(min_length=1, max_length=100),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0}, _TEXT_SCHEMA]}),
]


# -- when ------------------------------------------------------------------------------------------


class ValueRange(BaseModel):
    """An inclusive range of order value, in the order's currency."""

    model_config = _FROZEN
    min: Amount | None = Field(None, description="Smallest order value that matches (inclusive).")
    max: Amount | None = Field(None, description="Largest order value that matches (inclusive).")


class CountRange(BaseModel):
    """An inclusive range of a count."""

    model_config = _FROZEN
    min: Count | None = Field(None, description="Smallest count that matches (inclusive).")
    max: Count | None = Field(None, description="Largest count that matches (inclusive).")


class SkuTagsModel(BaseModel):
    """Conditions on the catalog tags of the order's SKUs (the union over all lines)."""

    model_config = _FROZEN
    any: Names = Field([], description="Some line's SKU carries at least one of these tags.")
    all: Names = Field([], description="Each of these tags is carried by some line's SKU.")
    none: Names = Field([], description="No line's SKU carries any of these tags.")


class WhenModel(BaseModel):
    """Order conditions: the rule applies when *every* listed condition holds.

    A list means "any of these"; a single value is a list of one.
    """

    model_config = _FROZEN
    country: Countries = Field([], description="Destination country, ISO 3166-1 alpha-2.")
    zone: Names = Field([], description="Destination lies in one of these named zones.")
    region: Names = Field([], description="Destination region or state code, e.g. BY, CA.")
    postcode_prefix: Postcodes = Field(
        [], description="Destination postcode starts with one of these (spaces ignored)."
    )
    channel: Names = Field([], description="Sales channel of the order, e.g. web_eu.")
    customer_group: Names = Field([], description="Customer group, e.g. wholesale.")
    shipping_method: Names = Field([], description="Shipping method, e.g. express.")
    delivery: Literal["ship", "pickup"] | None = Field(
        None, description="ship: delivered to an address; pickup: collected in a store."
    )
    order_value: ValueRange | None = Field(
        None, description="Sum of qty * unit_price over the lines, inclusive bounds."
    )
    line_count: CountRange | None = Field(None, description="Number of order lines, inclusive.")
    sku_tags: SkuTagsModel | None = Field(None, description="Catalog tags of the ordered SKUs.")


# -- sources ---------------------------------------------------------------------------------------


class SelectorModel(BaseModel):
    """Sources by code, group, kind or tag; a source is selected if it matches *any* item."""

    model_config = _FROZEN
    sources: Names = Field([], description="Source codes, e.g. WH-BER.")
    groups: Names = Field([], description="Source groups from the network, e.g. eu, dc.")
    kinds: Kinds = Field([], description="warehouse | store | dropship | virtual.")
    tags: Names = Field([], description="Source tags from the network, e.g. hazmat_certified.")


class LineWhenModel(BaseModel):
    """Which lines a restriction applies to; every listed condition must hold."""

    model_config = _FROZEN
    sku_tag: Names = Field([], description="The line's SKU carries one of these catalog tags.")
    sku: Names = Field([], description="The line's SKU is one of these (case-insensitive).")


class LineSourcesModel(BaseModel):
    """Which sources may ship a line."""

    model_config = _FROZEN
    include: SelectorModel | None = Field(
        None, description="Only these sources; omitted: every source of the network."
    )
    exclude: SelectorModel | None = Field(None, description="Never these sources.")
    max_distance_km: Km | None = Field(
        None, description="Only sources at most this far from the destination (great circle)."
    )


class LineRestrictionModel(BaseModel):
    """Narrows the sources for some lines; it never widens the rule's own source filter."""

    model_config = _FROZEN
    when: LineWhenModel = Field(description="Which lines this restriction applies to.")
    sources: LineSourcesModel = Field(description="Sources allowed for those lines.")


class SourcesModel(LineSourcesModel):
    """Which sources may ship the order, and per-line restrictions."""

    lines: list[LineRestrictionModel] = Field(
        [], description="Per-line restrictions; every restriction whose `when` holds applies."
    )


# -- stock, split, bundles -------------------------------------------------------------------------


class SafetyModel(BaseModel):
    """Units held back from sourcing at a source (per SKU). The most specific entry wins: a
    source's code, then its groups (the largest value if several match), then its kind, then
    ``default``."""

    model_config = _FROZEN
    default: Units | None = Field(None, description="Safety stock of every other source.")
    kinds: dict[SourceKindName, Units] = Field({}, description="Per source kind.")
    groups: dict[Name, Units] = Field({}, description="Per source group.")
    sources: dict[Name, Units] = Field({}, description="Per source code.")


class StockModel(BaseModel):
    """How much of a source's stock this rule may use."""

    model_config = _FROZEN
    safety: SafetyModel | None = Field(None, description="Units each source keeps back.")
    respect_reservations: StrictBool = Field(
        True, description="Stock reserved by other orders is not available (false: ignore them)."
    )


class SplitModel(BaseModel):
    """How an order may be divided into shipments."""

    model_config = _FROZEN
    mode: Literal["allow", "ship_complete", "hold_until_complete"] = Field(
        "allow",
        description=(
            "allow: lines may ship from several sources, what is short follows `backorder`. "
            "ship_complete: the whole order in one shipment from one source, or held. "
            "hold_until_complete: nothing ships until every line can be sourced."
        ),
    )
    max_shipments: PositiveInt | None = Field(
        None, description="At most this many shipments (sources) for the order."
    )
    min_shipment_value: Amount | None = Field(
        None, description="No shipment worth less than this (order currency)."
    )
    one_source_per_line: bool = Field(
        False, description="Each line ships whole from one source (a line is never split "
                           "across sources; different lines may still ship from different "
                           "sources). What no single source holds follows `backorder`.",
    )


class BundlesModel(BaseModel):
    """How the components of a bundle ship (Magento Order Management's bundle restriction)."""

    model_config = _FROZEN
    mode: Literal["together", "simultaneous", "separate"] = Field(
        "together",
        description=(
            "together: one source, one shipment. simultaneous: several sources allowed, shipped "
            "at the same time. separate: components are sourced like any other line."
        ),
    )
    split_after_attempts: PositiveInt | None = Field(
        None, description="After this many failed sourcing attempts the bundle may split."
    )


# -- objective, rank, backorder, decline -----------------------------------------------------------


class ObjectiveModel(BaseModel):
    """Weights of the optimiser's objective (all default to 0; at least one should be > 0)."""

    model_config = _FROZEN
    shipping_cost: Weight = Field(Decimal(0), description="Per unit of currency of lane cost.")
    distance: Weight = Field(Decimal(0), description="Per kilometre, source to destination.")
    shipments: Weight = Field(Decimal(0), description="Per shipment (parcel) created.")
    source_priority: Weight = Field(
        Decimal(0), description="Per step of source priority (lower priority values preferred)."
    )
    transfer_cost: Weight = Field(Decimal(0), description="Per unit of currency of transfers.")
    transfer_days: Weight = Field(Decimal(0), description="Per day a ship-to-store transfer takes.")
    capacity_use: Weight = Field(
        Decimal(0), description="Per percent of a source's daily capacity used."
    )
    stock_value: Weight = Field(
        Decimal(0),
        description="Per unit of currency of the bid price of the stock a plan consumes "
                    "(look-ahead for scarce stock; bid prices are passed to allocate, e.g. "
                    "from oms_sourcing.allocation.lookahead.solve_dlp). Without bid prices the "
                    "term is zero.",
    )


class DeclineModel(BaseModel):
    """What happens to a line its sources keep declining."""

    model_config = _FROZEN
    attempts: PositiveInt = Field(
        3, description="Declines after which the line is no longer re-sourced."
    )
    then: Literal["hold", "cancel"] = Field(
        "hold", description="hold: wait for a person; cancel: cancel the line."
    )


class PolicyModel(BaseModel):
    """The sections a rule (or ``defaults``) may set. A section a rule sets replaces the same
    section of ``defaults`` as a whole."""

    model_config = _FROZEN
    sources: SourcesModel | None = Field(None, description="Which sources may ship.")
    stock: StockModel | None = Field(None, description="Safety stock and reservations.")
    split: SplitModel | None = Field(None, description="How the order may split.")
    bundles: BundlesModel | None = Field(None, description="How bundle components ship.")
    objective: ObjectiveModel | None = Field(
        None, description="Optimise these weights (exclusive with `rank`)."
    )
    rank: list[RankKeyName] | None = Field(
        None,
        description=(
            "Greedy fill: sources ordered by these keys, first fills first (exclusive with "
            "`objective`). priority: lower first; distance: nearer first; stock: more "
            "available first; cost: cheaper lane first. Ties: priority, then code."
        ),
        min_length=1,
    )
    backorder: Literal["allow", "cancel", "hold"] | None = Field(
        None, description="What to do with quantity no source can ship (narrowed by the SKU)."
    )
    decline: DeclineModel | None = Field(None, description="Handling of declined lines.")


class RuleModel(PolicyModel):
    """One rule: the first rule (top to bottom) whose ``when`` holds decides the policy."""

    name: Name = Field(description="Unique name, shown in every decision's explanation.")
    description: str = Field("", description="Why the rule exists.")
    when: WhenModel | None = Field(
        None, description="Conditions; omitted or empty: the rule matches every order."
    )


class ZoneModel(BaseModel):
    """A named destination area (same shape as the zones of network.yaml)."""

    model_config = _FROZEN
    countries: Countries = Field([], description="ISO 3166-1 alpha-2 codes; omitted: any.")
    regions: Names = Field([], description="Region or state codes within those countries.")
    postcodes: Postcodes = Field([], description="Postcode prefixes, e.g. IV, 10.")


class RulesetFile(BaseModel):
    """A sourcing ruleset: named zones, defaults and rules evaluated top to bottom."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="oms_sourcing ruleset")
    id: Name = Field(description="Identifier recorded with every decision, e.g. eu-default.")
    version: Version = Field(description="Version label recorded with every decision.")
    description: str = Field("", description="What this ruleset is for.")
    currency: Annotated[str, BeforeValidator(_text), Field(pattern="^[A-Z]{3}$")] | None = Field(
        None,
        description="ISO 4217 currency of order_value amounts; orders in another currency "
        "never match an order_value condition.",
    )
    zones: dict[Name, ZoneModel] = Field({}, description="Named destination zones.")
    defaults: PolicyModel | None = Field(
        None, description="Sections every rule gets unless it sets its own."
    )
    rules: list[RuleModel] = Field(
        description="Evaluated top to bottom; the first whose `when` holds applies.",
        json_schema_extra={"minItems": 1},
    )
