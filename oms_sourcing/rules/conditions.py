"""Compiled ``when`` conditions and the facts of an order they are checked against.

Each condition is a small frozen object that answers three questions: does this order match
(:meth:`matches`, on the hot path, so every comparison is against a precomputed frozenset or
tuple), why not (:meth:`explain`, a sentence for the decision's explanation) and does it follow
from another condition (:meth:`implies`, used by the linter to find rules that can never match).

:class:`OrderFacts` normalises an order once per selection (upper-case country, postcode without
spaces, case-folded channel) and computes the expensive facts (order value, SKU tags) only when a
condition asks for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from oms_sourcing.domain import Catalog, Order, Zone

__all__ = [
    "CONDITION_KEYS",
    "Condition",
    "FieldIn",
    "InZone",
    "LineCount",
    "OrderFacts",
    "OrderValue",
    "PostcodePrefix",
    "SkuTags",
]

#: The ``when`` keys in the order conditions are checked: cheapest first, so most orders are
#: rejected by a set lookup before anything is summed or looked up in the catalog.
CONDITION_KEYS = (
    "delivery",
    "channel",
    "customer_group",
    "shipping_method",
    "country",
    "region",
    "line_count",
    "postcode_prefix",
    "zone",
    "order_value",
    "sku_tags",
)
_COST: Mapping[str, int] = {key: i for i, key in enumerate(CONDITION_KEYS)}


def condition_cost(key: str) -> int:
    """Evaluation rank of the condition on ``key`` (lower runs first)."""
    return _COST[key]


def _listed(values: Iterable[str]) -> str:
    """Values for a message: sets sorted, tuples (already ordered) as they are."""
    items = list(values) if isinstance(values, tuple) else sorted(values)
    return ", ".join(items) if items else "(none)"


def _amount(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


class OrderFacts:
    """What conditions look at, normalised once per order.

    Args:
        order: the order being sourced.
        catalog: where SKU tags come from; without one, every SKU reads as untagged.
    """

    __slots__ = (
        "_tags",
        "_value",
        "catalog",
        "channel",
        "country",
        "currency",
        "customer_group",
        "delivery",
        "line_count",
        "order",
        "postcode",
        "region",
        "shipping_method",
    )

    def __init__(self, order: Order, catalog: Catalog | None = None) -> None:
        address = order.shipping.address
        self.order = order
        self.catalog = catalog
        self.delivery: str = order.delivery.value
        self.channel: str = order.channel.casefold()
        self.customer_group: str = order.customer_group.casefold()
        self.shipping_method: str = order.shipping.method.casefold()
        self.country: str = (address.country or "").strip().upper()
        self.region: str = (address.region or "").strip().upper()
        self.postcode: str = (address.postcode or "").replace(" ", "").upper()
        self.currency: str = order.currency.strip().upper()
        self.line_count: int = len(order.lines)
        self._value: Decimal | None = None
        self._tags: frozenset[str] | None = None

    @property
    def value(self) -> Decimal:
        """Sum of ``qty * unit_price`` over the lines (computed on first use)."""
        if self._value is None:
            self._value = self.order.value
        return self._value

    @property
    def tags(self) -> frozenset[str]:
        """Union of the catalog tags of every line's SKU (computed on first use)."""
        if self._tags is None:
            catalog = self.catalog
            if catalog is None:
                self._tags = frozenset()
            else:
                found: set[str] = set()
                for line in self.order.lines:
                    found.update(catalog.info(line.sku).tags)
                self._tags = frozenset(found)
        return self._tags

    def field(self, key: str) -> str:
        """The normalised value of a plain field (``country``, ``channel`` ...)."""
        value: str = getattr(self, key)
        return value

    def in_zone(self, zone: Zone) -> bool:
        """:meth:`Zone.contains` on the normalised address (the zone must be normalised too)."""
        if zone.countries and self.country not in zone.countries:
            return False
        if zone.regions and self.region not in zone.regions:
            return False
        return not zone.postcode_prefixes or self.postcode.startswith(zone.postcode_prefixes)

    def address(self) -> str:
        parts = [self.country or "no country"]
        if self.region:
            parts.append(f"region {self.region}")
        if self.postcode:
            parts.append(f"postcode {self.postcode}")
        return ", ".join(parts)


class Condition(Protocol):
    """One compiled ``when`` condition."""

    @property
    def key(self) -> str:
        """The ``when`` key it was written under (``country``, ``sku_tags`` ...)."""
        ...

    def matches(self, facts: OrderFacts) -> bool:
        """Whether the order holds this condition."""
        ...

    def explain(self, facts: OrderFacts) -> str:
        """Why the order fails this condition, e.g. ``country is FR, rule wants AT, DE``."""
        ...

    def describe(self) -> str:
        """What the condition asks for, e.g. ``country in AT, DE``."""
        ...

    def implies(self, other: Condition) -> bool:
        """True only if every order holding ``self`` surely holds ``other`` (sound, not
        complete: ``False`` means "not known to")."""
        ...

    def to_data(self) -> Any:
        """The value to write under :attr:`key` to get this condition back."""
        ...


@dataclass(frozen=True, slots=True)
class FieldIn:
    """A plain field of the order is one of ``values`` (normalised like :class:`OrderFacts`)."""

    key: str
    values: frozenset[str]

    def matches(self, facts: OrderFacts) -> bool:
        return getattr(facts, self.key) in self.values

    def explain(self, facts: OrderFacts) -> str:
        actual = facts.field(self.key) or "missing"
        return f"{self.key} is {actual}, rule wants {_listed(self.values)}"

    def describe(self) -> str:
        if len(self.values) == 1:
            return f"{self.key} is {next(iter(self.values))}"
        return f"{self.key} in {_listed(self.values)}"

    def implies(self, other: Condition) -> bool:
        return isinstance(other, FieldIn) and other.key == self.key and self.values <= other.values

    def to_data(self) -> Any:
        if self.key == "delivery":
            return next(iter(self.values))
        return sorted(self.values)


@dataclass(frozen=True, slots=True)
class PostcodePrefix:
    """The destination postcode starts with one of ``prefixes`` (upper case, no spaces)."""

    prefixes: tuple[str, ...]

    @property
    def key(self) -> str:
        return "postcode_prefix"

    def matches(self, facts: OrderFacts) -> bool:
        return facts.postcode.startswith(self.prefixes)

    def explain(self, facts: OrderFacts) -> str:
        if not facts.postcode:
            return f"postcode is missing, rule wants a prefix of {_listed(self.prefixes)}"
        return f"postcode {facts.postcode} starts with none of {_listed(self.prefixes)}"

    def describe(self) -> str:
        return f"postcode starts with {_listed(self.prefixes)}"

    def implies(self, other: Condition) -> bool:
        return isinstance(other, PostcodePrefix) and all(
            mine.startswith(other.prefixes) for mine in self.prefixes
        )

    def to_data(self) -> Any:
        return list(self.prefixes)


@dataclass(frozen=True, slots=True)
class InZone:
    """The destination lies in at least one of ``zones`` (normalised zones)."""

    zones: tuple[Zone, ...]

    @property
    def key(self) -> str:
        return "zone"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(z.name for z in self.zones)

    def matches(self, facts: OrderFacts) -> bool:
        return any(facts.in_zone(zone) for zone in self.zones)

    def explain(self, facts: OrderFacts) -> str:
        return f"destination ({facts.address()}) is in none of the zones {_listed(self.names)}"

    def describe(self) -> str:
        return f"destination in zone {_listed(self.names)}"

    def implies(self, other: Condition) -> bool:
        return isinstance(other, InZone) and set(self.names) <= set(other.names)

    def to_data(self) -> Any:
        return list(self.names)


@dataclass(frozen=True, slots=True)
class OrderValue:
    """``minimum <= order value <= maximum``; with ``currency``, only orders in that currency."""

    minimum: Decimal | None = None
    maximum: Decimal | None = None
    currency: str | None = None

    @property
    def key(self) -> str:
        return "order_value"

    def matches(self, facts: OrderFacts) -> bool:
        if self.currency is not None and facts.currency != self.currency:
            return False
        value = facts.value
        return (self.minimum is None or value >= self.minimum) and (
            self.maximum is None or value <= self.maximum
        )

    def explain(self, facts: OrderFacts) -> str:
        if self.currency is not None and facts.currency != self.currency:
            return (
                f"order currency is {facts.currency or 'missing'}, the ruleset's amounts are in "
                f"{self.currency}"
            )
        value = facts.value
        if self.minimum is not None and value < self.minimum:
            return f"order value {_amount(value)} is below the minimum {_amount(self.minimum)}"
        if self.maximum is not None:
            return f"order value {_amount(value)} is above the maximum {_amount(self.maximum)}"
        return f"order value {_amount(value)} is outside {self.describe()}"

    def describe(self) -> str:
        return f"order value {_range(self.minimum, self.maximum)}"

    def implies(self, other: Condition) -> bool:
        if not isinstance(other, OrderValue):
            return False
        if other.currency is not None and other.currency != self.currency:
            return False
        return _within(self.minimum, self.maximum, other.minimum, other.maximum)

    def to_data(self) -> Any:
        return _range_data(self.minimum, self.maximum)


@dataclass(frozen=True, slots=True)
class LineCount:
    """``minimum <= number of order lines <= maximum``."""

    minimum: int | None = None
    maximum: int | None = None

    @property
    def key(self) -> str:
        return "line_count"

    def matches(self, facts: OrderFacts) -> bool:
        n = facts.line_count
        return (self.minimum is None or n >= self.minimum) and (
            self.maximum is None or n <= self.maximum
        )

    def explain(self, facts: OrderFacts) -> str:
        n = facts.line_count
        lines = "line" if n == 1 else "lines"
        if self.minimum is not None and n < self.minimum:
            return f"order has {n} {lines}, rule wants at least {self.minimum}"
        return f"order has {n} {lines}, rule wants at most {self.maximum}"

    def describe(self) -> str:
        return f"line count {_range(self.minimum, self.maximum)}"

    def implies(self, other: Condition) -> bool:
        return isinstance(other, LineCount) and _within(
            self.minimum, self.maximum, other.minimum, other.maximum
        )

    def to_data(self) -> Any:
        return _range_data(self.minimum, self.maximum)


@dataclass(frozen=True, slots=True)
class SkuTags:
    """Tags of the ordered SKUs (the union over the lines): some of ``any_of``, each of
    ``all_of``, none of ``none_of``. Tags come from the catalog given to ``select``."""

    any_of: frozenset[str] = frozenset()
    all_of: frozenset[str] = frozenset()
    none_of: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return "sku_tags"

    def matches(self, facts: OrderFacts) -> bool:
        tags = facts.tags
        return (
            (not self.any_of or not tags.isdisjoint(self.any_of))
            and self.all_of <= tags
            and tags.isdisjoint(self.none_of)
        )

    def explain(self, facts: OrderFacts) -> str:
        tags = facts.tags
        if facts.catalog is None:
            has = "no tags (no catalog was given)"
        else:
            has = f"tags {_listed(tags)}" if tags else "no tags"
        if self.any_of and tags.isdisjoint(self.any_of):
            return f"no SKU carries {_either(self.any_of)}; the order's SKUs have {has}"
        missing = self.all_of - tags
        if missing:
            return f"no SKU carries {_listed(missing)}; the order's SKUs have {has}"
        return f"a SKU carries {_listed(tags & self.none_of)}, which the rule excludes"

    def describe(self) -> str:
        parts = []
        if self.any_of:
            parts.append(f"some SKU tagged {_either(self.any_of)}")
        if self.all_of:
            parts.append(f"SKUs tagged {' and '.join(sorted(self.all_of))}")
        if self.none_of:
            parts.append(f"no SKU tagged {_either(self.none_of)}")
        return "; ".join(parts)

    def implies(self, other: Condition) -> bool:
        if not isinstance(other, SkuTags):
            return False
        any_follows = (
            not other.any_of
            or (bool(self.any_of) and self.any_of <= other.any_of)
            or not self.all_of.isdisjoint(other.any_of)
        )
        return any_follows and other.all_of <= self.all_of and other.none_of <= self.none_of

    def to_data(self) -> Any:
        out: dict[str, list[str]] = {}
        for name, tags in (("any", self.any_of), ("all", self.all_of), ("none", self.none_of)):
            if tags:
                out[name] = sorted(tags)
        return out


def _either(values: frozenset[str]) -> str:
    return " or ".join(sorted(values))


def _show(value: object) -> str:
    return _amount(value) if isinstance(value, Decimal) else str(value)


def _range(low: object | None, high: object | None) -> str:
    show = _show
    if low is not None and high is not None:
        return f"from {show(low)} to {show(high)}"
    if low is not None:
        return f">= {show(low)}"
    return f"<= {show(high)}"


def _range_data(low: Decimal | int | None, high: Decimal | int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in (("min", low), ("max", high)):
        if v is not None:
            out[name] = _amount(v) if isinstance(v, Decimal) else v
    return out


def _within(
    low: Decimal | int | None,
    high: Decimal | int | None,
    outer_low: Decimal | int | None,
    outer_high: Decimal | int | None,
) -> bool:
    """Whether ``[low, high]`` lies inside ``[outer_low, outer_high]`` (None: unbounded)."""
    low_ok = outer_low is None or (low is not None and low >= outer_low)
    high_ok = outer_high is None or (high is not None and high <= outer_high)
    return low_ok and high_ok
